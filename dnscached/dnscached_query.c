/*
 * Client requests: each DNS_QUERY is checked, answered from the cache, or
 * joined to the identical question already in flight (coalescing), or
 * starts one upstream query.  When the upstream finishes, the answer is
 * cached (OK, NXDOMAIN, NODATA) and sent to every client still waiting,
 * each with its own reqid and hdr.peerid.
 *
 * Trust: the query comes from smtpd (assumed compromisable) or deliverd;
 * the name is copied with its length bounded and must be a valid host
 * name, the type one of those we answer; of the flags only
 * BW_DNS_QF_DNSSEC counts (the rest are ignored).  A client cannot make us hold
 * more than DNS_CLIENT_PENDING_MAX unanswered queries, one question more
 * than DNS_WAITERS_MAX waiters, or the process more than DNS_INFLIGHT_MAX
 * upstream queries: over a limit the answer is SERVFAIL at once.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "dnscached.h"

/* Per client connection (bw_peer_set_data). */
struct dns_client {
	struct bw_peer		*peer;
	size_t			 npending;
};

struct dns_waiter {
	TAILQ_ENTRY(dns_waiter)	 entry;
	struct bw_peer		*peer;
	uint32_t		 peerid;
	uint64_t		 reqid;
};
TAILQ_HEAD(dns_waiter_list, dns_waiter);

struct dns_query {
	struct bw_hlink		 hlink;		/* dns_inflight */
	uint16_t		 qtype;
	uint16_t		 qflags;	/* BW_DNS_QF_*: part of the key */
	char			 name[BW_DOMAIN_MAX + 1];
	struct dns_upstream	*up;
	struct dns_waiter_list	 waiters;
	size_t			 nwaiters;
};
/*
 * The questions in flight, by (qtype, qflags, name) (a client chooses
 * names): a DNSSEC question never joins a plain one (its answer would
 * lack the AD bit) nor the other way round.
 */
static void
dns_query_key(const void *entry, struct bw_hkey *k)
{
	const struct dns_query	*q = entry;

	bw_hkey_bytes(k, &q->qtype, sizeof(q->qtype));
	bw_hkey_bytes(k, &q->qflags, sizeof(q->qflags));
	bw_hkey_str(k, q->name);
}

static const struct bw_htab_type dns_query_htype = {
	.name = "dns in flight",
	.link_off = offsetof(struct dns_query, hlink),
	.key = dns_query_key,
};
static struct bw_htab	 dns_inflight =
    BW_HTAB_INITIALIZER(&dns_query_htype, DNS_INFLIGHT_MAX);

static struct dns_query *
dns_query_find(uint16_t qtype, uint16_t qflags, const char *name)
{
	struct bw_hkey	 k;

	bw_hkey_init(&k);
	bw_hkey_bytes(&k, &qtype, sizeof(qtype));
	bw_hkey_bytes(&k, &qflags, sizeof(qflags));
	bw_hkey_str(&k, name);
	return bw_htab_find(&dns_inflight, &k);
}

/* An answer with no records (failures, refusals). */
static void
dns_query_fail(struct bw_peer *peer, uint32_t peerid, uint64_t reqid,
    uint16_t qtype, const char *name, uint32_t status)
{
	struct dns_result	 res;

	memset(&res, 0, offsetof(struct dns_result, rr));
	res.status = status;
	dns_answer_send(peer, peerid, reqid, qtype, name, &res);
}

static void
dns_query_free(struct dns_query *q)
{
	struct dns_waiter	*w;
	struct dns_client	*c;

	while ((w = TAILQ_FIRST(&q->waiters)) != NULL) {
		TAILQ_REMOVE(&q->waiters, w, entry);
		if ((c = bw_peer_get_data(w->peer)) != NULL &&
		    c->npending > 0)
			c->npending--;
		free(w);
	}
	bw_htab_remove(&dns_inflight, q);
	free(q);
}

/* The upstream finished: cache, answer every waiter, forget the query. */
static void
dns_query_done_cb(void *arg, const struct dns_result *in)
{
	struct dns_query	*q = arg;
	struct dns_result	*res;
	struct dns_waiter	*w;

	q->up = NULL;
	if ((res = malloc(sizeof(*res))) == NULL) {
		log_warn("dns answer name=%s: out of memory", q->name);
		TAILQ_FOREACH(w, &q->waiters, entry)
			dns_query_fail(w->peer, w->peerid, w->reqid, q->qtype,
			    q->name, BW_DNS_SERVFAIL);
		dns_query_free(q);
		return;
	}
	*res = *in;
	res->ttl = dns_cache_ttl_clamp(res->status, res->ttl);
	if (res->ttl > 0 && dns_cache_put(dns_env->cache, q->qtype, q->qflags,
	    q->name, res) == -1)
		log_debug("dns cache: not stored name=%s", q->name);
	log_debug("dns answer name=%s type=%s status=%s nrr=%u ttl=%u "
	    "ad=%d waiters=%zu", q->name, dns_qtype_name(q->qtype),
	    bw_dns_status_name((int)res->status), res->nrr, res->ttl,
	    (res->flags & DNS_RESF_AD) != 0, q->nwaiters);
	TAILQ_FOREACH(w, &q->waiters, entry)
		dns_answer_send(w->peer, w->peerid, w->reqid, q->qtype,
		    q->name, res);
	free(res);
	dns_query_free(q);
}

static int
dns_query_wait(struct dns_query *q, struct bw_peer *peer, uint32_t peerid,
    uint64_t reqid)
{
	struct dns_waiter	*w;
	struct dns_client	*c;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->peer = peer;
	w->peerid = peerid;
	w->reqid = reqid;
	TAILQ_INSERT_TAIL(&q->waiters, w, entry);
	q->nwaiters++;
	if ((c = bw_peer_get_data(peer)) != NULL)
		c->npending++;
	return 0;
}

void
dns_query_request(struct bw_peer *peer, uint32_t peerid,
    const struct bw_dns_query *in)
{
	struct dns_client	*c = bw_peer_get_data(peer);
	struct dns_query	*q;
	struct dns_result	*res;
	char			 name[BW_DOMAIN_MAX + 1];
	char			 esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	uint16_t		 qflags = in->flags & BW_DNS_QF_DNSSEC;

	dns_env->c_queries++;
	if (qflags & BW_DNS_QF_DNSSEC)
		dns_env->c_dnssec_queries++;
	if (dns_name_normalise(name, sizeof(name), in->name,
	    sizeof(in->name)) == -1 || strcmp(name, ".") == 0 ||
	    !dns_qtype_supported(in->qtype)) {
		dns_env->c_rejected++;
		log_debug("dns query rejected from pid=%ld type=%u name=%s",
		    (long)bw_peer_pid(peer), in->qtype, log_escape(esc,
		    sizeof(esc), in->name, strnlen(in->name,
		    sizeof(in->name))));
		dns_query_fail(peer, peerid, in->reqid, in->qtype, "",
		    BW_DNS_FORMERR);
		return;
	}
	if ((res = malloc(sizeof(*res))) == NULL) {
		dns_query_fail(peer, peerid, in->reqid, in->qtype, name,
		    BW_DNS_SERVFAIL);
		return;
	}
	if (dns_cache_get(dns_env->cache, in->qtype, qflags, name, res)) {
		dns_env->c_hits++;
		dns_answer_send(peer, peerid, in->reqid, in->qtype, name, res);
		free(res);
		return;
	}
	free(res);
	dns_env->c_misses++;

	if (c != NULL && c->npending >= DNS_CLIENT_PENDING_MAX) {
		dns_env->c_rejected++;
		log_warnx("dns client pid=%ld over %d pending queries",
		    (long)bw_peer_pid(peer), DNS_CLIENT_PENDING_MAX);
		goto servfail;
	}
	if ((q = dns_query_find(in->qtype, qflags, name)) != NULL) {
		if (q->nwaiters >= DNS_WAITERS_MAX) {
			dns_env->c_rejected++;
			goto servfail;
		}
		if (dns_query_wait(q, peer, peerid, in->reqid) == -1)
			goto servfail;
		dns_env->c_coalesced++;
		return;
	}
	if (bw_htab_count(&dns_inflight) >= DNS_INFLIGHT_MAX) {
		dns_env->c_rejected++;
		log_warnx("dns: %d queries in flight, refusing name=%s",
		    DNS_INFLIGHT_MAX, name);
		goto servfail;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto servfail;
	q->qtype = in->qtype;
	q->qflags = qflags;
	strlcpy(q->name, name, sizeof(q->name));
	TAILQ_INIT(&q->waiters);
	if (bw_htab_insert(&dns_inflight, q) == -1) {
		log_warn("dns: cannot track query name=%s", name);
		free(q);
		goto servfail;
	}
	if (dns_query_wait(q, peer, peerid, in->reqid) == -1 ||
	    (q->up = dns_upstream_start(q->qtype, q->qflags, q->name,
	    dns_query_done_cb, q)) == NULL) {
		dns_query_free(q);
		goto servfail;
	}
	return;
servfail:
	dns_query_fail(peer, peerid, in->reqid, in->qtype, name,
	    BW_DNS_SERVFAIL);
}

int
dns_query_client_up(struct bw_peer *peer)
{
	struct dns_client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->peer = peer;
	bw_peer_set_data(peer, c);
	return 0;
}

/* A client went away: its waiters go; the upstream queries go on. */
void
dns_query_client_gone(struct bw_peer *peer)
{
	struct bw_htab_iter	 it;
	struct dns_query	*q;
	struct dns_waiter	*w, *next;

	for (q = bw_htab_first(&dns_inflight, &it); q != NULL;
	    q = bw_htab_next(&it)) {
		for (w = TAILQ_FIRST(&q->waiters); w != NULL; w = next) {
			next = TAILQ_NEXT(w, entry);
			if (w->peer != peer)
				continue;
			TAILQ_REMOVE(&q->waiters, w, entry);
			q->nwaiters--;
			free(w);
		}
	}
	free(bw_peer_get_data(peer));
	bw_peer_set_data(peer, NULL);
}

/* At exit: cancel every upstream, free every query. */
void
dns_query_shutdown(void)
{
	struct bw_htab_iter	 it;
	struct dns_query	*q;

	for (q = bw_htab_first(&dns_inflight, &it); q != NULL;
	    q = bw_htab_next(&it)) {
		if (q->up != NULL)
			dns_upstream_cancel(q->up);
		q->up = NULL;
		dns_query_free(q);	/* the current entry: allowed */
	}
	bw_htab_free(&dns_inflight);
}
