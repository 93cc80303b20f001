/*
 * Where a domain's mail goes: a runtime redirect (bwctl redirect,
 * deliverd_redirect.c) wins, then an SMTP route from the config; else the
 * MX records from dnscached, hosts ordered by preference; no MX (NODATA):
 * the implicit MX, the domain itself; a null MX (RFC 7505) or NXDOMAIN: a
 * permanent failure at once; a DNS failure: a temporary one.  Host
 * addresses (A, then AAAA) are looked up through dnscached as well; a
 * destination with "ipv6 no" (or a gateway with only IPv4 sources) asks
 * for A only and skips a route's IPv6 literals; with "ipv6 no" a domain
 * left without an address is deferred (4.4.4), not bounced: the cause may
 * be our setting.
 *
 * A CNAME loop (or a chain longer than dnscached follows) is a temporary
 * DNS failure like SERVFAIL, for the MX and for the addresses.
 *
 * Mail loops (Postfix's rule): when a host of the list is this gateway
 * (deliverd_self.c: one of our listeners' address and port, or, once
 * connected, a greeting or EHLO naming our hostname), only hosts with a
 * better preference than ours are used: we are a backup MX and hold the
 * mail for them.  When no better host is left, we are the best MX and
 * the mail would come straight back: every recipient bounces with 5.4.6
 * "mail for D loops back to myself".  Bounce, not defer: the cause is a
 * DNS or route misconfiguration that retrying does not fix, and the
 * sender learns at once.
 *
 * Host choice for a new connection (dlv_mx_pick): the best preference
 * that has a usable host (addresses, not marked down, not us or worse),
 * round robin across the hosts of that preference.
 *
 * Lookups go through the process's dnscached client (common/dns_client.c),
 * which matches answers to queries and fails every query in flight when
 * dnscached goes away; the agent's own deadline (mx_timer,
 * DLV_DNS_WAIT_MS for the whole resolution) cancels what is left.
 *
 * Trust: dnscached's answers have passed the catalog's size check and the
 * client's record-count check; record text is copied with an explicit
 * bound.  At most DLV_MX_HOSTS_MAX hosts (the best
 * preferences, whatever the order of the answer) and DLV_HOST_ADDRS_MAX
 * addresses per host are kept; the rest are ignored.
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "dns_client.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_mtasts.h"
#include "deliverd_dane.h"

/* An address or MX query in flight. */
struct dlv_dnsq {
	TAILQ_ENTRY(dlv_dnsq)	 entry;
	struct bw_dns_req	*req;		/* the client's handle */
	uint32_t		 gen;
	int			 host;		/* -1: the MX query */
	uint16_t		 qtype;
	char			 gateway[BW_NAME_MAX];
	char			 domain[BW_DOMAIN_MAX + 1];
};
static TAILQ_HEAD(, dlv_dnsq) dlv_dnsqs = TAILQ_HEAD_INITIALIZER(dlv_dnsqs);

/* Stable sort by preference (insertion sort; n is small). */
void
dlv_mx_sort(struct dlv_host *h, int n)
{
	struct dlv_host	 tmp;
	int		 i, j;

	for (i = 1; i < n; i++) {
		if (h[i - 1].pref <= h[i].pref)
			continue;
		tmp = h[i];
		for (j = i; j > 0 && h[j - 1].pref > tmp.pref; j--)
			h[j] = h[j - 1];
		h[j] = tmp;
	}
}

int
dlv_mx_add(struct dlv_host *h, int *n, int max, const char *name, int pref)
{
	int	 i, at;

	for (at = *n; at > 0 && h[at - 1].pref > pref; at--)
		;
	if (at >= max)
		return -1;
	i = *n < max ? *n : max - 1;	/* the last one falls off when full */
	for (; i > at; i--)
		h[i] = h[i - 1];
	if (*n < max)
		(*n)++;
	memset(&h[at], 0, sizeof(h[at]));
	strlcpy(h[at].name, name, sizeof(h[at].name));
	h[at].pref = pref;
	h[at].port = 25;
	return at;
}

static int
dlv_mx_usable(const struct dlv_host *h, uint64_t now)
{
	return h->naddrs > 0 && h->down_until <= now && !h->self &&
	    !h->sts_excluded;
}

/* What a failed lookup was, for the reply text. */
static const char *
dlv_mx_dns_why(int status)
{
	switch (status) {
	case BW_DNS_TIMEOUT:
		return "timed out";
	case BW_DNS_FORMERR:
		return "refused (FORMERR)";
	case BW_DNS_CNAME_LOOP:
		return "failed: CNAME loop or chain too long";
	default:
		return "failed (SERVFAIL)";
	}
}

/* A temporary DNS failure: SERVFAIL, timeout, CNAME loop. */
static int
dlv_mx_dns_temp(int status)
{
	return status == BW_DNS_SERVFAIL || status == BW_DNS_TIMEOUT ||
	    status == BW_DNS_CNAME_LOOP;
}

/* The host for a new connection; -1 if none is usable now. */
int
dlv_mx_pick(const struct dlv_host *h, int n, unsigned *rr, uint64_t now)
{
	int	 i, best = -1, cnt = 0, want;

	for (i = 0; i < n; i++) {
		if (!dlv_mx_usable(&h[i], now))
			continue;
		if (best == -1 || h[i].pref < h[best].pref) {
			best = i;
			cnt = 1;
		} else if (h[i].pref == h[best].pref)
			cnt++;
	}
	if (best == -1)
		return -1;
	want = (int)(*rr % (unsigned)cnt);
	(*rr)++;
	for (i = 0; i < n; i++) {
		if (!dlv_mx_usable(&h[i], now) || h[i].pref != h[best].pref)
			continue;
		if (want-- == 0)
			return i;
	}
	return best;	/* not reached */
}

/* Forget every query of an agent (a new resolution or a deadline). */
static void
dlv_mx_forget(struct dlv_agent *a)
{
	struct dlv_dnsq	*q, *tq;

	TAILQ_FOREACH_SAFE(q, &dlv_dnsqs, entry, tq) {
		if (strcmp(q->gateway, a->gateway) != 0 ||
		    strcmp(q->domain, a->domain) != 0)
			continue;
		TAILQ_REMOVE(&dlv_dnsqs, q, entry);
		bw_dns_client_cancel(dlv_env->dns, q->req);
		free(q);
	}
	a->mx_pending = 0;
	evtimer_del(a->mx_timer);
}

static void	 dlv_mx_answer_cb(const struct bw_dns_result *, void *);

/* No client deadline: the agent's mx_timer covers the whole resolution. */
static int
dlv_mx_query(struct dlv_agent *a, int host, uint16_t qtype, const char *name)
{
	struct dlv_dnsq		*q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warn("domain=%s: dns query", a->domain);
		return -1;
	}
	q->gen = a->mx_gen;
	q->host = host;
	q->qtype = qtype;
	strlcpy(q->gateway, a->gateway, sizeof(q->gateway));
	strlcpy(q->domain, a->domain, sizeof(q->domain));
	/* under tls dane: DNSSEC questions (deliverd_dane.c) */
	if ((q->req = bw_dns_client_query_flags(dlv_env->dns, name, qtype,
	    dlv_dane_qflags(a), 0, dlv_mx_answer_cb, q)) == NULL) {
		free(q);
		return -1;
	}
	TAILQ_INSERT_TAIL(&dlv_dnsqs, q, entry);
	a->mx_pending++;
	if (host >= 0)
		a->hosts[host].pending++;
	return 0;
}

/* Does the gateway have a source address of this family (or none at all),
 * and does the destination use it ("ipv6 no": no AAAA)? */
static int
dlv_mx_family_ok(const struct dlv_agent *a, int family)
{
	int	 i;

	if (family == AF_INET6 && !config_dest_opts(dlv_env->cfg, a->gateway,
	    a->domain)->ipv6)
		return 0;
	if (a->gw == NULL || a->gw->nsources == 0)
		return 1;
	for (i = 0; i < a->gw->nsources; i++)
		if (a->gw->sources[i].ss_family == family)
			return 1;
	return 0;
}

/* Ask for the addresses of every host that has none. */
static int
dlv_mx_query_hosts(struct dlv_agent *a)
{
	char	 tlsa[DLV_TLSA_NAME_MAX];
	int	 i;

	for (i = 0; i < a->nhosts; i++) {
		if (a->hosts[i].naddrs > 0 || a->hosts[i].sts_excluded)
			continue;
		/* RFC 7672 2.2: TLSA of the hosts of a secure MX RRset,
		 * asked with the addresses; the agent waits for all */
		if (dlv_dane_tlsa_wanted(a, i, tlsa, sizeof(tlsa)) &&
		    dlv_mx_query(a, i, BW_DNS_T_TLSA, tlsa) == -1)
			return -1;
		if (dlv_mx_family_ok(a, AF_INET) &&
		    dlv_mx_query(a, i, BW_DNS_T_A, a->hosts[i].name) == -1)
			return -1;
		if (dlv_mx_family_ok(a, AF_INET6) &&
		    dlv_mx_query(a, i, BW_DNS_T_AAAA, a->hosts[i].name) == -1)
			return -1;
	}
	return 0;
}

void
dlv_mx_self(struct dlv_agent *a, int hostidx, const char *relay,
    const char *why)
{
	struct dlv_host	*h = &a->hosts[hostidx];
	int		 i, pref = h->pref;

	if (a->self_pref < 0 || pref < a->self_pref) {
		a->self_pref = pref;
		strlcpy(a->self_relay, relay, sizeof(a->self_relay));
	}
	h->last_error_time = bw_time();
	snprintf(h->last_error, sizeof(h->last_error), "this gateway (%s)",
	    why);
	for (i = 0; i < a->nhosts; i++) {
		if (a->hosts[i].pref < a->self_pref || a->hosts[i].self)
			continue;
		a->hosts[i].self = 1;
		if (i != hostidx)
			snprintf(a->hosts[i].last_error,
			    sizeof(a->hosts[i].last_error), "not used: "
			    "preference %d is not better than this "
			    "gateway's (%d)", a->hosts[i].pref, a->self_pref);
	}
	h->self = 1;
	log_warnx("domain=%s gateway=%s relay=%s is this gateway (%s): %s",
	    a->domain, a->gateway, relay, why, dlv_mx_loops(a) ?
	    "mail loops back to myself" : "only better preferences are used");
}

int
dlv_mx_loops(const struct dlv_agent *a)
{
	int	 i;

	if (a->self_pref < 0)
		return 0;
	for (i = 0; i < a->nhosts; i++)
		if (a->hosts[i].pref < a->self_pref)
			return 0;
	return 1;
}

/* Hosts whose address is one of our listeners (before any connection). */
static void
dlv_mx_find_self(struct dlv_agent *a)
{
	const struct dlv_ifaddrs	*ifa = dlv_self_ifaddrs();
	char				 relay[BW_RELAY_TEXT_MAX];
	int				 i, k;

	for (i = 0; i < a->nhosts; i++) {
		struct dlv_host *h = &a->hosts[i];

		for (k = 0; k < h->naddrs; k++) {
			if (!dlv_self_addr(dlv_env->cfg, ifa, h->addrs[k],
			    h->port))
				continue;
			snprintf(relay, sizeof(relay), "%s[%s]:%d", h->name,
			    h->addrs[k], h->port);
			dlv_mx_self(a, i, relay, "its address is one of our "
			    "listeners");
			break;
		}
	}
}

/* Every query has been answered: decide. */
static void
dlv_mx_settle(struct dlv_agent *a)
{
	const struct dlv_host	*tf = NULL;
	char			 why[BW_REPLY_TEXT_MAX];
	int			 i, usable = 0, sts = 0, dane_failed;
	uint64_t		 age;

	evtimer_del(a->mx_timer);
	dlv_mx_find_self(a);
	dane_failed = dlv_dane_settle(a);
	for (i = 0; i < a->nhosts; i++) {
		sts += a->hosts[i].sts_excluded;
		if (a->hosts[i].self || a->hosts[i].sts_excluded)
			continue;
		if (a->hosts[i].naddrs > 0)
			usable++;
		if (a->hosts[i].dns_temp && tf == NULL)
			tf = &a->hosts[i];
	}
	if (usable == 0 && !dlv_mx_loops(a)) {
		if (dane_failed >= 0 && tf == NULL) {
			/* RFC 7672 2.2: never around a TLSA we cannot see */
			strlcpy(why, a->hosts[dane_failed].last_error,
			    sizeof(why));
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.7.5", why);
		} else if (tf != NULL) {
			snprintf(why, sizeof(why), "address lookup for %s %s",
			    tf->name, dlv_mx_dns_why(tf->dns_status));
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3", why);
		} else if (a->self_pref >= 0) {
			/* a backup MX holds the mail for its primaries */
			snprintf(why, sizeof(why), "unable to find primary "
			    "relay for %s (no address for a mail exchanger "
			    "better than this gateway)", a->domain);
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.4", why);
		} else if (sts > 0)	/* the others are not allowed */
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.7.5",
			    "no address for the mail exchangers the MTA-STS "
			    "policy allows");
		else if (!config_dest_opts(dlv_env->cfg, a->gateway,
		    a->domain)->ipv6)
			/* our choice, not the domain's fault: wait for the
			 * administrator (or the message's max age) */
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.4",
			    "no IPv4 address for any mail exchanger (IPv6 "
			    "not used for this destination: ipv6 no)");
		else
			dlv_agent_resolved(a, BW_DLV_PERMFAIL, "5.4.4",
			    "no address for any mail exchanger "
			    "(host or domain name not found)");
		return;
	}
	age = (uint64_t)a->mx_ttl * 1000;
	if (age > DLV_MX_MAX_AGE_MS || a->mx_ttl <= 0)
		age = DLV_MX_MAX_AGE_MS;
	a->mx_expires = bw_now_ms() + age;
	dlv_agent_resolved(a, 0, NULL, NULL);
}

/* Ask for the addresses of the hosts now known (MX or route); with
 * nothing to wait for, decide at once. */
static void
dlv_mx_resolve_hosts(struct dlv_agent *a)
{
	if (dlv_mx_query_hosts(a) == -1) {
		dlv_mx_forget(a);
		dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3",
		    "DNS service unavailable (dnscached)");
		return;
	}
	if (a->mx_pending == 0)
		dlv_mx_settle(a);
}

/* dnscached did not answer in time. */
void
dlv_mx_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_agent	*a = arg;

	log_warnx("domain=%s gateway=%s: no answer from dnscached in %d ms",
	    a->domain, a->gateway, DLV_DNS_WAIT_MS);
	dlv_mx_forget(a);
	a->mx_gen++;
	dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3",
	    "DNS lookup timed out (dnscached)");
}

/* Copy a host's state kept across resolutions (down marks, errors). */
static void
dlv_mx_keep(struct dlv_host *nh, const struct dlv_host *old, int nold)
{
	int	 i;

	for (i = 0; i < nold; i++) {
		if (strcmp(old[i].name, nh->name) != 0)
			continue;
		nh->down_until = old[i].down_until;
		nh->notls_until = old[i].notls_until;
		nh->connections = old[i].connections;
		nh->last_error_time = old[i].last_error_time;
		strlcpy(nh->last_error, old[i].last_error,
		    sizeof(nh->last_error));
		return;
	}
}

/* Route hosts: literal addresses at once, names through A/AAAA. */
static void
dlv_mx_route(struct dlv_agent *a, const struct bw_route_conf *rt)
{
	struct dlv_host	 old[DLV_MX_HOSTS_MAX];
	int		 i, nold = a->nhosts;

	memcpy(old, a->hosts, sizeof(old));
	a->nhosts = 0;
	a->routed = 1;
	for (i = 0; i < rt->nhosts && a->nhosts < DLV_MX_HOSTS_MAX; i++) {
		struct dlv_host *h = &a->hosts[a->nhosts++];

		memset(h, 0, sizeof(*h));
		strlcpy(h->name, rt->hosts[i].host, sizeof(h->name));
		dlv_mx_keep(h, old, nold);
		h->pref = rt->hosts[i].priority;
		h->port = rt->hosts[i].port > 0 ? rt->hosts[i].port : 25;
		if (rt->hosts[i].literal && strchr(rt->hosts[i].host, ':') &&
		    !dlv_mx_family_ok(a, AF_INET6)) {
			a->nhosts--;	/* ipv6 no: not a host for us */
			continue;
		}
		if (rt->hosts[i].literal) {
			strlcpy(h->addrs[0], rt->hosts[i].host,
			    sizeof(h->addrs[0]));
			h->naddrs = 1;
		}
	}
	dlv_mx_sort(a->hosts, a->nhosts);
}

/* Start resolving the agent's destination. */
void
dlv_mx_resolve(struct dlv_agent *a)
{
	const struct bw_route_conf	*rt;
	struct timeval			 tv;
	int				 i;

	if (dlv_sts_prepare(a))	/* the MTA-STS policy first: it calls
				   us again when it is settled */
		return;
	dlv_mx_forget(a);
	a->mx_gen++;
	a->routed = 0;
	a->mx_ttl = 0;
	a->self_pref = -1;
	a->self_relay[0] = '\0';
	(void)dlv_dane_begin(a);
	/* Keep down marks and per-host history of hosts we knew. */
	for (i = 0; i < a->nhosts; i++) {
		a->hosts[i].naddrs = 0;
		a->hosts[i].pending = 0;
		a->hosts[i].dns_temp = 0;
		a->hosts[i].self = 0;
		a->hosts[i].sts_excluded = 0;
	}
	a->mx_state = DLV_MX_RESOLVING;
	tv.tv_sec = DLV_DNS_WAIT_MS / 1000;
	tv.tv_usec = (DLV_DNS_WAIT_MS % 1000) * 1000;
	evtimer_add(a->mx_timer, &tv);

	/* a runtime redirect (bwctl redirect) first, then the config */
	if ((rt = dlv_redirect_find(a->domain)) != NULL ||
	    (rt = config_route_find(dlv_env->cfg, a->domain)) != NULL) {
		dlv_mx_route(a, rt);
		dlv_mx_resolve_hosts(a);
		return;
	}
	if (dlv_mx_query(a, -1, BW_DNS_T_MX, a->domain) == -1) {
		dlv_mx_forget(a);
		dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3",
		    "DNS service unavailable (dnscached)");
	}
}

/* The MX answer: the host list, or the domain's fate. */
static void
dlv_mx_answer_mx(struct dlv_agent *a, const struct bw_dns_result *ans)
{
	struct dlv_host	 old[DLV_MX_HOSTS_MAX];
	struct bw_dns_rr rr;
	char		 why[BW_REPLY_TEXT_MAX];
	int		 nold = a->nhosts, at;
	uint32_t	 i;
	int		 nullmx = 0;

	memcpy(old, a->hosts, sizeof(old));
	a->nhosts = 0;
	switch (ans->status) {
	case BW_DNS_OK:
		for (i = 0; bw_dns_result_rr(ans, i, &rr) == 0; i++) {
			char name[BW_DOMAIN_MAX + 1];

			if (rr.type != BW_DNS_T_MX)
				continue;
			BW_IMSG_STR(name, rr.data);
			if (strcmp(name, ".") == 0 || name[0] == '\0') {
				nullmx = 1;
				continue;
			}
			/* the best DLV_MX_HOSTS_MAX, whatever the order */
			if ((at = dlv_mx_add(a->hosts, &a->nhosts,
			    DLV_MX_HOSTS_MAX, name, rr.preference)) >= 0)
				dlv_mx_keep(&a->hosts[at], old, nold);
		}
		if (nullmx && a->nhosts == 0) {
			dlv_agent_resolved(a, BW_DLV_PERMFAIL, "5.1.10",
			    "domain does not accept mail (null MX)");
			return;
		}
		if (a->nhosts == 0) {
			dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3",
			    "MX answer without usable records");
			return;
		}
		dlv_dane_mx_answer(a, ans);
		break;
	case BW_DNS_NODATA:
		/* RFC 5321 5.1: the implicit MX. */
		memset(&a->hosts[0], 0, sizeof(a->hosts[0]));
		strlcpy(a->hosts[0].name, a->domain, sizeof(a->hosts[0].name));
		a->hosts[0].port = 25;
		dlv_mx_keep(&a->hosts[0], old, nold);
		a->nhosts = 1;
		dlv_dane_mx_answer(a, ans);
		break;
	case BW_DNS_NXDOMAIN:
		dlv_agent_resolved(a, BW_DLV_PERMFAIL, "5.1.2",
		    "domain not found (NXDOMAIN)");
		return;
	default:
		snprintf(why, sizeof(why), "MX lookup for %s %s", a->domain,
		    dlv_mx_dns_why((int)ans->status));
		dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3", why);
		return;
	}
	if (dlv_sts_mx_filter(a) == -1)
		return;
	dlv_mx_resolve_hosts(a);
}

/* An A or AAAA answer for one host. */
static void
dlv_mx_answer_addr(struct dlv_host *h, const struct bw_dns_result *ans)
{
	struct bw_dns_rr rr;
	unsigned char	 bin[16];
	uint32_t	 i;
	int		 af;

	h->pending--;
	if (dlv_mx_dns_temp((int)ans->status)) {
		h->dns_temp = 1;
		h->dns_status = (int)ans->status;
		h->last_error_time = bw_time();
		snprintf(h->last_error, sizeof(h->last_error), "%s lookup %s",
		    ans->qtype == BW_DNS_T_A ? "A" : "AAAA",
		    dlv_mx_dns_why((int)ans->status));
		return;
	}
	if (ans->status != BW_DNS_OK)
		return;
	for (i = 0; h->naddrs < DLV_HOST_ADDRS_MAX &&
	    bw_dns_result_rr(ans, i, &rr) == 0; i++) {
		char	 addr[BW_HOSTADDR_MAX];

		if (rr.type != BW_DNS_T_A && rr.type != BW_DNS_T_AAAA)
			continue;
		af = rr.type == BW_DNS_T_A ? AF_INET : AF_INET6;
		BW_IMSG_STR(addr, rr.data);
		if (inet_pton(af, addr, bin) != 1)
			continue;
		strlcpy(h->addrs[h->naddrs++], addr, sizeof(h->addrs[0]));
	}
}

/*
 * The client's word on one query: dnscached's answer, or dnscached went
 * away (every question in flight fails now, as before the client).
 */
static void
dlv_mx_answer_cb(const struct bw_dns_result *ans, void *arg)
{
	struct dlv_dnsq		*q = arg;
	struct dlv_agent	*a;

	TAILQ_REMOVE(&dlv_dnsqs, q, entry);
	a = dlv_agent_find(q->gateway, q->domain);
	if (ans->outcome != BW_DNSC_ANSWERED) {
		free(q);
		if (a == NULL || a->mx_state != DLV_MX_RESOLVING)
			return;
		dlv_mx_forget(a);
		a->mx_gen++;
		dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.4.3",
		    ans->outcome == BW_DNSC_DOWN ?
		    "lost connection to dnscached" :
		    "DNS lookup timed out (dnscached)");
		return;
	}
	if (a == NULL || a->mx_gen != q->gen ||
	    a->mx_state != DLV_MX_RESOLVING || q->host >= a->nhosts) {
		free(q);
		return;
	}
	a->mx_pending--;
	if (ans->status == BW_DNS_OK && ans->ttl > 0 &&
	    (a->mx_ttl <= 0 || (int)ans->ttl < a->mx_ttl))
		a->mx_ttl = (int)ans->ttl;
	if (q->host < 0)
		dlv_mx_answer_mx(a, ans);
	else {
		if (q->qtype == BW_DNS_T_TLSA) {
			a->hosts[q->host].pending--;
			dlv_dane_tlsa_answer(a, q->host, ans);
		} else {
			dlv_dane_addr_answer(a, q->host, ans);
			dlv_mx_answer_addr(&a->hosts[q->host], ans);
		}
		if (a->mx_pending == 0)
			dlv_mx_settle(a);
	}
	free(q);
}
