/*
 * bwctl redirect: the runtime redirects.  `redirect DOMAIN HOST[:PORT]`
 * sends all mail queued for DOMAIN to HOST (a name, or [address]) instead
 * of its MX or configured route -- to a server that can hold it while the
 * domain's own is away; `redirect DOMAIN off` ends it; `redirect` lists
 * them.  controld owns the table: it is kept in monitor_dir/redirect (one
 * "domain host port" line each, written whole to a temporary file and
 * renamed, so a crash leaves the old table or the new one), read at
 * start, and sent whole to every deliverd worker on each change and when
 * a worker links (REDIRECT_TABLE, as the debug table is).  After a change
 * controld asks queued to retry that domain's queues (DOMAIN_CMD RETRY,
 * no answer awaited), so parked mail leaves at once.
 *
 * Limits: BW_REDIRECT_MAX rows.  Trust: arguments come from an admin's
 * bwctl and are checked for form (domain, host, port) here and again by
 * the workers; the file is controld's own, read as root at start from a
 * directory only user_controld writes, and checked line by line like the
 * arguments (a bad line is logged and skipped).
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "domain_debug.h"
#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "util.h"
#include "controld.h"

#define CTL_REDIRECT_FILE	"redirect"
#define CTL_REDIRECT_LINE_MAX	(2 * BW_DOMAIN_MAX + 32)	/* one row */
#define CTL_REDIRECT_ESC_MAX	(BW_DOMAIN_MAX * 4 + 1)

static struct bw_redirect_row	 ctl_redir[BW_REDIRECT_MAX];
static size_t			 ctl_nredir;
static char			 ctl_redir_path[PATH_MAX];	/* "": none */

/* A domain as redirect takes it: a name (no pattern), lower-cased. */
static int
ctl_redirect_domain(const char *in, char *out, size_t outsz)
{
	if (strncmp(in, "*.", 2) == 0)
		return -1;
	return bw_debug_pattern_norm(in, out, outsz);
}

/*
 * HOST[:PORT] into host ("mx.example.org" or "[192.0.2.1]", "[::1]") and
 * port (0: none given); -1 if it is neither.
 */
static int
ctl_redirect_host(const char *in, char *host, size_t hostsz, uint32_t *port)
{
	char		 buf[BW_DOMAIN_MAX + 16], name[BW_DOMAIN_MAX + 1];
	char		*p, *end;
	unsigned long	 v;

	*port = 0;
	if (strlcpy(buf, in, sizeof(buf)) >= sizeof(buf) || buf[0] == '\0')
		return -1;
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) == NULL)
			return -1;
		p++;
	} else
		p = strrchr(buf, ':');
	if (p != NULL && *p == ':') {
		errno = 0;
		v = strtoul(p + 1, &end, 10);
		if (!isdigit((unsigned char)p[1]) || errno != 0 ||
		    *end != '\0' || v == 0 || v > 65535)
			return -1;
		*port = (uint32_t)v;
		*p = '\0';
	} else if (p != NULL && *p != '\0')
		return -1;
	if (buf[0] == '[') {
		/* an address literal: checked by the workers' inet_pton */
		if (strlen(buf) < 3 || strlen(buf) >= hostsz ||
		    strspn(buf + 1, "0123456789abcdefABCDEF.:") !=
		    strlen(buf) - 2)
			return -1;
		strlcpy(host, buf, hostsz);
		return 0;
	}
	if (ctl_redirect_domain(buf, name, sizeof(name)) == -1)
		return -1;
	strlcpy(host, name, hostsz);
	return 0;
}

static struct bw_redirect_row *
ctl_redirect_find(const char *domain)
{
	size_t	 i;

	for (i = 0; i < ctl_nredir; i++)
		if (strcmp(ctl_redir[i].domain, domain) == 0)
			return &ctl_redir[i];
	return NULL;
}

/* The table to monitor_dir: whole, through a temporary file; 0 or -1. */
static int
ctl_redirect_save(void)
{
	char	 tmp[PATH_MAX];
	FILE	*f;
	size_t	 i;
	int	 fd;

	if (ctl_redir_path[0] == '\0')
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", ctl_redir_path) >=
	    sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		log_warn("redirect: %s", tmp);
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(f, "# bwctl redirect: domain host port (0: 25)\n");
	for (i = 0; i < ctl_nredir; i++)
		fprintf(f, "%s %s %u\n", ctl_redir[i].domain,
		    ctl_redir[i].host, ctl_redir[i].port);
	if (fflush(f) != 0 || fsync(fileno(f)) == -1) {
		log_warn("redirect: %s", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, ctl_redir_path) == -1) {
		log_warn("redirect: %s", ctl_redir_path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The table from monitor_dir (start). */
static void
ctl_redirect_load(void)
{
	struct bw_redirect_row	 r;
	char			 line[CTL_REDIRECT_LINE_MAX];
	char			 dom[BW_DOMAIN_MAX + 1], host[BW_DOMAIN_MAX + 1];
	char			 hostport[BW_DOMAIN_MAX + 16];
	unsigned int		 port;
	uint32_t		 p2;
	FILE			*f;
	int			 lineno = 0;

	if ((f = fopen(ctl_redir_path, "re")) == NULL) {
		if (errno != ENOENT)
			log_warn("redirect: %s", ctl_redir_path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%255s %255s %u", dom, host, &port) != 3 ||
		    port > 65535 || ctl_redirect_domain(dom, r.domain,
		    sizeof(r.domain)) == -1 ||
		    ctl_redirect_host(host, r.host, sizeof(r.host), &p2) ==
		    -1 || p2 != 0 || ctl_nredir >= BW_REDIRECT_MAX ||
		    ctl_redirect_find(r.domain) != NULL) {
			snprintf(hostport, sizeof(hostport), "line %d",
			    lineno);
			log_warnx("redirect: %s %s: not a redirect, skipped",
			    ctl_redir_path, hostport);
			continue;
		}
		r.port = port;
		ctl_redir[ctl_nredir++] = r;
	}
	fclose(f);
	if (ctl_nredir > 0)
		log_info("redirect: %zu domains redirected (%s)", ctl_nredir,
		    ctl_redir_path);
}

/* monitor_dir belongs to user_controld (mode 0700); as root, at start. */
void
ctl_redirect_start(const struct bw_config *cfg)
{
	struct bw_user	 u;

	ctl_nredir = 0;
	ctl_redir_path[0] = '\0';
	if (bw_mkdirs(cfg->monitor_dir, 0700) == -1) {
		log_warn("redirect: monitor_dir %s", cfg->monitor_dir);
		return;
	}
	if (!cfg->dev_mode && geteuid() == 0) {
		if (bw_user_lookup(cfg->user_controld, &u) == -1)
			log_warnx("redirect: unknown user %s for controld",
			    cfg->user_controld);
		else if (chown(cfg->monitor_dir, u.uid, u.gid) == -1 ||
		    chmod(cfg->monitor_dir, 0700) == -1)
			log_warn("redirect: monitor_dir %s", cfg->monitor_dir);
	}
	if (bw_path(ctl_redir_path, sizeof(ctl_redir_path), cfg->monitor_dir,
	    CTL_REDIRECT_FILE) == -1) {
		log_warnx("redirect: monitor_dir path too long");
		ctl_redir_path[0] = '\0';
		return;
	}
	ctl_redirect_load();
}

/* Send the table to one deliverd worker (peer), or to all (NULL). */
static void
ctl_redirect_push(struct bw_peer *peer)
{
	struct bw_redirect_table	 t;
	struct ctl_daemon		*d;
	size_t				 len;

	memset(&t, 0, sizeof(t));
	memcpy(t.rows, ctl_redir, ctl_nredir * sizeof(t.rows[0]));
	t.n = (uint32_t)ctl_nredir;
	len = offsetof(struct bw_redirect_table, rows) + t.n *
	    sizeof(t.rows[0]);
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (d->role != BW_ROLE_DELIVERD || !bw_peer_is_up(d->peer) ||
		    (peer != NULL && d->peer != peer))
			continue;
		if (bw_peer_send(d->peer, BW_IMSG_REDIRECT_TABLE, 0, -1, &t,
		    len) == -1)
			log_warnx("redirect: cannot send the table to deliverd "
			    "worker=%u", d->worker);
	}
}

/* A deliverd worker linked: it gets the table (empty or not). */
void
ctl_redirect_worker_up(struct bw_peer *peer)
{
	ctl_redirect_push(peer);
}

/* queued retries the domain's queues (every gateway); no answer awaited. */
static int
ctl_redirect_retry(const char *domain)
{
	struct bw_domain_cmd	 m;
	struct ctl_daemon	*d;

	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	m.op = BW_DOMAIN_RETRY;
	strlcpy(m.domain, domain, sizeof(m.domain));
	return bw_peer_send(d->peer, BW_IMSG_DOMAIN_CMD, 0, -1, &m,
	    sizeof(m));
}

struct ctl_redirect_priv {
	int			 set;		/* 0: list */
	int			 off;
	struct bw_redirect_row	 r;
	int			 unsaved;	/* monitor_dir not written */
};

static const struct ctl_col ctl_redirect_cols[] = {
	{ "domain", "DOMAIN", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 40,
	    NULL },
	{ "host", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "port", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "to", "TO", CTL_T_STR, CTL_COL_TEXT, 0, NULL },
};
static const struct ctl_table ctl_redirect_table = { "redirects",
    ctl_redirect_cols, CTL_NCOLS(ctl_redirect_cols), NULL };

static int
ctl_redirect_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_redirect_priv	*p = req->priv;
	char				 to[BW_DOMAIN_MAX + 16];
	size_t				 i;

	ctl_out_obj_open(o, NULL);
	if (p->unsaved)
		ctl_out_note(o, "warning: the table could not be saved in "
		    "monitor_dir (see controld's log): it ends with controld");
	ctl_out_table_open(o, &ctl_redirect_table);
	ctl_out_table_empty(o, "no domain is redirected");
	for (i = 0; i < ctl_nredir; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "domain", ctl_redir[i].domain);
		ctl_out_str(o, "host", ctl_redir[i].host);
		ctl_out_uint(o, "port", ctl_redir[i].port ?
		    ctl_redir[i].port : 25);
		snprintf(to, sizeof(to), "%s:%u", ctl_redir[i].host,
		    ctl_redir[i].port ? ctl_redir[i].port : 25);
		ctl_out_str(o, "to", to);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	return 0;
}

/* redirect | redirect DOMAIN HOST[:PORT] | redirect DOMAIN off */
static int
ctl_redirect_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_redirect_priv	*p = arg;
	char				 e1[64];

	if (argc == 1)
		return 0;
	if (argc != 3) {
		snprintf(pc->err, sizeof(pc->err), "usage: redirect | redirect "
		    "DOMAIN HOST[:PORT] | redirect DOMAIN off");
		return -1;
	}
	p->set = 1;
	pc->need = CTL_MAY_ACT;
	if (ctl_redirect_domain(argv[1], p->r.domain,
	    sizeof(p->r.domain)) == -1) {
		snprintf(pc->err, sizeof(pc->err), "redirect: invalid domain "
		    "'%s'", log_escape(e1, sizeof(e1), argv[1],
		    strlen(argv[1])));
		return -1;
	}
	p->off = strcmp(argv[2], "off") == 0;
	if (!p->off && ctl_redirect_host(argv[2], p->r.host,
	    sizeof(p->r.host), &p->r.port) == -1) {
		snprintf(pc->err, sizeof(pc->err), "redirect: invalid host "
		    "'%s' (mx.example.org, [192.0.2.1], [2001:db8::1], with "
		    ":PORT or not)", log_escape(e1, sizeof(e1), argv[2],
		    strlen(argv[2])));
		return -1;
	}
	return 0;
}

static void
ctl_redirect_run(struct ctl_req *req)
{
	struct ctl_redirect_priv	*p = req->priv;
	struct bw_redirect_row		*old;

	if (!p->set) {
		ctl_req_done(req);
		return;
	}
	old = ctl_redirect_find(p->r.domain);
	if (p->off && old == NULL) {
		ctl_req_fail(req, 1, "redirect: %s is not redirected",
		    p->r.domain);
		return;
	}
	if (!p->off && old == NULL && ctl_nredir >= BW_REDIRECT_MAX) {
		ctl_req_fail(req, 1, "redirect: already %d domains "
		    "redirected; end one first", BW_REDIRECT_MAX);
		return;
	}
	if (p->off) {
		*old = ctl_redir[--ctl_nredir];
		log_info("redirect domain=%s off by %s", p->r.domain,
		    req->who.name);
	} else {
		if (old != NULL)
			*old = p->r;
		else
			ctl_redir[ctl_nredir++] = p->r;
		log_info("redirect domain=%s to=%s:%u by %s", p->r.domain,
		    p->r.host, p->r.port ? p->r.port : 25, req->who.name);
	}
	p->unsaved = ctl_redirect_save() != 0;
	ctl_redirect_push(NULL);
	(void)ctl_redirect_retry(p->r.domain);
	ctl_req_done(req);
}

const struct ctl_cmd_ops ctl_redirect_ops = {
	.privsz = sizeof(struct ctl_redirect_priv),
	.parse = ctl_redirect_parse,
	.start = ctl_redirect_run,
	.render = ctl_redirect_render,
};
