/*
 * Runtime redirects in a deliverd worker (`bwctl redirect DOMAIN
 * HOST[:PORT]`, controld's REDIRECT_TABLE): a redirected domain's mail
 * goes to that host, ahead of the configured routes and the MX records
 * (dlv_mx_resolve asks here first), and MTA-STS leaves it alone as it
 * does a routed domain.  The table comes whole on every change and when
 * the worker links.  The agents of a domain whose row came, went or
 * changed resolve again at their next job, their idle connections say
 * QUIT and a connection in a transaction QUITs after it, so the mail that
 * follows goes the new way.
 *
 * Limits: BW_REDIRECT_MAX rows.  Trust: the table comes from controld; a
 * malformed one (count, domain, host or port out of form) ends the link
 * (peer.c reconnects and controld sends the table again) and the table in
 * force stays.
 */
#include "bw_autoconf.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "domain_debug.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"

static struct bw_route_conf	 dlv_redir[BW_REDIRECT_MAX];
static size_t			 dlv_nredir;

/* An agent of a domain whose way changed: new hosts from its next job. */
static void
dlv_redirect_agent(struct dlv_agent *a, void *arg)
{
	struct dlv_conn	*c;

	a->mx_expires = 0;	/* resolved again once no connection is open
				   (connections index its host list) */
	TAILQ_FOREACH(c, &a->conns, entry) {
		if (c->state == DLV_CS_QUIT)
			continue;
		if (dlv_smtp_is_idle(c))
			dlv_smtp_quit(c);
		else	/* retires after its transaction */
			c->nmsgs = (int)c->lim->v[
			    LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION];
	}
}

/* The row of domain in v[0..n), or NULL. */
static const struct bw_route_conf *
dlv_redirect_in(const struct bw_route_conf *v, size_t n, const char *domain)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].domain, domain) == 0)
			return &v[i];
	return NULL;
}

/* Every domain whose row differs between the two tables. */
static void
dlv_redirect_changed(const struct bw_route_conf *old, size_t nold,
    const struct bw_route_conf *nr, size_t nnew)
{
	const struct bw_route_conf	*o;
	size_t				 i;

	for (i = 0; i < nnew; i++)
		if ((o = dlv_redirect_in(old, nold, nr[i].domain)) == NULL ||
		    memcmp(o, &nr[i], sizeof(*o)) != 0)
			dlv_agent_foreach_domain(nr[i].domain,
			    dlv_redirect_agent, NULL);
	for (i = 0; i < nold; i++)
		if (dlv_redirect_in(nr, nnew, old[i].domain) == NULL)
			dlv_agent_foreach_domain(old[i].domain,
			    dlv_redirect_agent, NULL);
}

/* One row into a one-host route; -1 if it is out of form. */
static int
dlv_redirect_row(const struct bw_redirect_row *row, struct bw_route_conf *rt)
{
	char			 dom[BW_DOMAIN_MAX + 1];
	char			 host[BW_DOMAIN_MAX + 1];
	unsigned char		 addr[sizeof(struct in6_addr)];
	struct bw_route_host	*h = &rt->hosts[0];
	size_t			 len;

	BW_IMSG_STR(dom, row->domain);
	BW_IMSG_STR(host, row->host);
	memset(rt, 0, sizeof(*rt));
	if (bw_debug_pattern_norm(dom, rt->domain, sizeof(rt->domain)) == -1 ||
	    rt->domain[0] == '*' || row->port > 65535)
		return -1;
	len = strlen(host);
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']')
			return -1;
		host[len - 1] = '\0';
		if (inet_pton(AF_INET, host + 1, addr) != 1 &&
		    inet_pton(AF_INET6, host + 1, addr) != 1)
			return -1;
		strlcpy(h->host, host + 1, sizeof(h->host));
		h->literal = 1;
	} else if (bw_debug_pattern_norm(host, h->host, sizeof(h->host)) ==
	    -1 || h->host[0] == '*')
		return -1;
	h->port = (int)row->port;	/* 0: 25 (dlv_mx_route) */
	rt->nhosts = 1;
	return 0;
}

/* REDIRECT_TABLE from controld: the whole table.  0, or -1. */
int
dlv_redirect_table(const struct bw_imsg *imsg)
{
	struct bw_redirect_table	 t;
	struct bw_route_conf		 nr[BW_REDIRECT_MAX];
	struct bw_route_conf		 old[BW_REDIRECT_MAX];
	size_t				 i, rows, nold;

	memset(&t, 0, sizeof(t));
	memcpy(&t, imsg->data, imsg->datalen < sizeof(t) ? imsg->datalen :
	    sizeof(t));
	rows = (imsg->datalen - offsetof(struct bw_redirect_table, rows)) /
	    sizeof(t.rows[0]);
	if (t.n > BW_REDIRECT_MAX || t.n > rows) {
		log_warnx("worker=%d redirect: table of %u rows in %zu bytes",
		    dlv_env->index, t.n, imsg->datalen);
		return -1;
	}
	for (i = 0; i < t.n; i++)
		if (dlv_redirect_row(&t.rows[i], &nr[i]) == -1) {
			log_warnx("worker=%d redirect: bad table row %zu",
			    dlv_env->index, i);
			return -1;
		}
	if (t.n == dlv_nredir && memcmp(nr, dlv_redir, t.n *
	    sizeof(nr[0])) == 0)
		return 0;	/* the same (a relink) */
	memcpy(old, dlv_redir, dlv_nredir * sizeof(old[0]));
	nold = dlv_nredir;
	memcpy(dlv_redir, nr, t.n * sizeof(nr[0]));
	dlv_nredir = t.n;
	log_info("worker=%d redirect: %zu domains redirected", dlv_env->index,
	    dlv_nredir);
	dlv_redirect_changed(old, nold, dlv_redir, dlv_nredir);
	return 0;
}

/* The redirect of domain, as a route, or NULL. */
const struct bw_route_conf *
dlv_redirect_find(const char *domain)
{
	size_t	 i;

	for (i = 0; i < dlv_nredir; i++)
		if (strcasecmp(dlv_redir[i].domain, domain) == 0)
			return &dlv_redir[i];
	return NULL;
}
