/*
 * The dnscached client: queries in flight by request id, their deadlines,
 * answers matched back, and the failure of everything in flight when the
 * link goes down.  See dns_client.h for the contract and what is trusted.
 *
 * Request ids count up from 1 in each process and never repeat, so an
 * answer for a query that was cancelled or timed out finds nothing and is
 * dropped, even after a reconnect.  The table is a fixed array of buckets
 * indexed by the low bits of the id (ids are sequential, so the buckets
 * fill evenly), plus one list in sending order for "down".
 * XXX: move to common/hashtab once it lands (issue 11).
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "dns_client.h"

struct bw_dns_req {
	LIST_ENTRY(bw_dns_req)	 hentry;
	TAILQ_ENTRY(bw_dns_req)	 entry;
	struct bw_dns_client	*client;
	uint64_t		 reqid;
	uint16_t		 qtype;
	char			 name[BW_DOMAIN_MAX + 1];
	struct event		*ev_deadline;	/* NULL: no deadline */
	bw_dns_cb		 cb;
	void			*arg;
};
LIST_HEAD(dnsc_bucket, bw_dns_req);
TAILQ_HEAD(dnsc_list, bw_dns_req);

struct bw_dns_client {
	struct event_base	*base;
	struct bw_peer		*peer;
	uint64_t		 next_reqid;
	size_t			 npending;
	int			 closing;
	struct dnsc_list	 all;
	struct dnsc_bucket	 buckets[BW_DNS_CLIENT_BUCKETS];
};

static const char *const dnsc_outcome_names[] = {
	[BW_DNSC_ANSWERED] = "answered",
	[BW_DNSC_TIMEDOUT] = "timed-out",
	[BW_DNSC_DOWN] = "dnscached-down",
};

const char *
bw_dns_outcome_name(int o)
{
	if (o < 0 || (size_t)o >= sizeof(dnsc_outcome_names) /
	    sizeof(dnsc_outcome_names[0]))
		return "?";
	return dnsc_outcome_names[o];
}

static struct dnsc_bucket *
dnsc_bucket(struct bw_dns_client *c, uint64_t reqid)
{
	return &c->buckets[reqid & (BW_DNS_CLIENT_BUCKETS - 1)];
}

struct bw_dns_client *
bw_dns_client_new(struct event_base *base, struct bw_peer *dnscached)
{
	struct bw_dns_client	*c;
	size_t			 i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->peer = dnscached;
	c->next_reqid = 1;
	TAILQ_INIT(&c->all);
	for (i = 0; i < BW_DNS_CLIENT_BUCKETS; i++)
		LIST_INIT(&c->buckets[i]);
	return c;
}

/* Take a query out of the table and stop its timer. */
static void
dnsc_unlink(struct bw_dns_client *c, struct bw_dns_req *r)
{
	LIST_REMOVE(r, hentry);
	TAILQ_REMOVE(&c->all, r, entry);
	c->npending--;
	if (r->ev_deadline != NULL) {
		event_free(r->ev_deadline);
		r->ev_deadline = NULL;
	}
}

/*
 * The one way a query ends with a callback: out of the table and freed
 * first, so that the callback may query, cancel or free at will.
 */
static void
dnsc_finish(struct bw_dns_client *c, struct bw_dns_req *r,
    enum bw_dns_outcome outcome, const struct bw_dns_answer *ans,
    const unsigned char *rrs)
{
	struct bw_dns_result	 res;
	char			 name[BW_DOMAIN_MAX + 1];
	bw_dns_cb		 cb = r->cb;
	void			*arg = r->arg;

	dnsc_unlink(c, r);
	strlcpy(name, r->name, sizeof(name));
	memset(&res, 0, sizeof(res));
	res.outcome = outcome;
	res.qtype = r->qtype;
	res.name = name;
	if (outcome == BW_DNSC_ANSWERED && ans != NULL) {
		res.status = (int)ans->status;
		res.ttl = ans->ttl;
		res.flags = ans->flags;
		res.nrr = ans->nrr;
		res.rrs = rrs;
	} else
		res.status = outcome == BW_DNSC_TIMEDOUT ? BW_DNS_TIMEOUT :
		    BW_DNS_SERVFAIL;
	free(r);
	cb(&res, arg);
}

static void
dnsc_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_dns_req	*r = arg;

	dnsc_finish(r->client, r, BW_DNSC_TIMEDOUT, NULL, NULL);
}

struct bw_dns_req *
bw_dns_client_query(struct bw_dns_client *c, const char *name,
    uint16_t qtype, uint64_t deadline_ms, bw_dns_cb cb, void *arg)
{
	return bw_dns_client_query_flags(c, name, qtype, 0, deadline_ms, cb,
	    arg);
}

struct bw_dns_req *
bw_dns_client_query_flags(struct bw_dns_client *c, const char *name,
    uint16_t qtype, uint16_t qflags, uint64_t deadline_ms, bw_dns_cb cb,
    void *arg)
{
	struct bw_dns_query	 q;
	struct bw_dns_req	*r;
	struct timeval		 tv;
	uint64_t		 now;

	if (c == NULL || c->closing || !bw_peer_is_up(c->peer)) {
		errno = ENOTCONN;
		return NULL;
	}
	if (strlen(name) > BW_DOMAIN_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (c->npending >= BW_DNS_CLIENT_PENDING_MAX) {
		errno = ENOBUFS;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (deadline_ms != 0 && (r->ev_deadline = evtimer_new(c->base,
	    dnsc_deadline_cb, r)) == NULL) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->client = c;
	r->reqid = c->next_reqid++;
	r->qtype = qtype;
	strlcpy(r->name, name, sizeof(r->name));
	r->cb = cb;
	r->arg = arg;
	memset(&q, 0, sizeof(q));
	q.reqid = r->reqid;
	q.qtype = qtype;
	q.flags = qflags;
	strlcpy(q.name, name, sizeof(q.name));
	if (bw_peer_send(c->peer, BW_IMSG_DNS_QUERY, 0, -1, &q,
	    sizeof(q)) == -1) {
		if (r->ev_deadline != NULL)
			event_free(r->ev_deadline);
		free(r);
		return NULL;
	}
	if (r->ev_deadline != NULL) {
		/* a deadline already past fires on the next loop turn, never
		 * under the caller */
		now = bw_now_ms();
		deadline_ms = deadline_ms > now ? deadline_ms - now : 0;
		tv.tv_sec = (time_t)(deadline_ms / 1000);
		tv.tv_usec = (suseconds_t)((deadline_ms % 1000) * 1000);
		evtimer_add(r->ev_deadline, &tv);
	}
	LIST_INSERT_HEAD(dnsc_bucket(c, r->reqid), r, hentry);
	TAILQ_INSERT_TAIL(&c->all, r, entry);
	c->npending++;
	return r;
}

void
bw_dns_client_cancel(struct bw_dns_client *c, struct bw_dns_req *r)
{
	if (c == NULL || r == NULL)
		return;
	dnsc_unlink(c, r);
	free(r);
}

static struct bw_dns_req *
dnsc_find(struct bw_dns_client *c, uint64_t reqid)
{
	struct bw_dns_req	*r;

	LIST_FOREACH(r, dnsc_bucket(c, reqid), hentry)
		if (r->reqid == reqid)
			return r;
	return NULL;
}

/* dnscached broke the protocol: drop the link, fail what is in flight. */
static void
dnsc_malformed(struct bw_dns_client *c, const char *why, uint64_t reqid)
{
	log_warnx("dnscached: malformed DNS_ANSWER reqid=%llu: %s",
	    (unsigned long long)reqid, why);
	bw_peer_drop(c->peer, "malformed DNS_ANSWER");
	/* the owner's state callback does the same; a second pass is empty */
	bw_dns_client_down(c);
}

int
bw_dns_client_dispatch(struct bw_dns_client *c, struct bw_imsg *imsg)
{
	struct bw_dns_answer	 ans;
	struct bw_dns_req	*r;
	const unsigned char	*rrs;

	if (imsg->hdr.type != BW_IMSG_DNS_ANSWER)
		return 0;
	if (imsg->datalen < sizeof(ans)) {
		dnsc_malformed(c, "short frame", 0);
		return 1;
	}
	/* the payload is not aligned: copy the header out */
	memcpy(&ans, imsg->data, sizeof(ans));
	if (ans.nrr > BW_DNS_RR_MAX || imsg->datalen != sizeof(ans) +
	    (size_t)ans.nrr * sizeof(struct bw_dns_rr)) {
		dnsc_malformed(c, "record count does not match the length",
		    ans.reqid);
		return 1;
	}
	if (ans.status >= BW_DNS_STATUS__COUNT) {
		dnsc_malformed(c, "unknown status", ans.reqid);
		return 1;
	}
	if ((r = dnsc_find(c, ans.reqid)) == NULL) {
		/* cancelled, timed out, or a duplicate: nobody waits */
		log_debug("dnscached: answer reqid=%llu matches no query",
		    (unsigned long long)ans.reqid);
		return 1;
	}
	if (ans.qtype != r->qtype) {
		dnsc_malformed(c, "answer type differs from the question",
		    ans.reqid);
		return 1;
	}
	rrs = (const unsigned char *)imsg->data + sizeof(ans);
	dnsc_finish(c, r, BW_DNSC_ANSWERED, &ans, rrs);
	return 1;
}

void
bw_dns_client_down(struct bw_dns_client *c)
{
	struct bw_dns_req	*r;

	if (c == NULL)
		return;
	/* a callback may cancel others: take the head again each time */
	while ((r = TAILQ_FIRST(&c->all)) != NULL)
		dnsc_finish(c, r, BW_DNSC_DOWN, NULL, NULL);
}

void
bw_dns_client_free(struct bw_dns_client *c)
{
	if (c == NULL)
		return;
	c->closing = 1;
	bw_dns_client_down(c);
	free(c);
}

int
bw_dns_client_is_up(const struct bw_dns_client *c)
{
	return c != NULL && !c->closing && bw_peer_is_up(c->peer);
}

size_t
bw_dns_client_pending(const struct bw_dns_client *c)
{
	return c != NULL ? c->npending : 0;
}

int
bw_dns_result_rr(const struct bw_dns_result *res, uint32_t i,
    struct bw_dns_rr *out)
{
	if (res->rrs == NULL || i >= res->nrr)
		return -1;
	memcpy(out, res->rrs + (size_t)i * sizeof(*out), sizeof(*out));
	out->data[sizeof(out->data) - 1] = '\0';
	return 0;
}

int
bw_dns_ptr_name(int family, const void *addr, char *dst, size_t dstsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*a = addr;
	size_t			 n = 0;
	int			 i, w;

	if (family == AF_INET) {
		w = snprintf(dst, dstsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return w < 0 || (size_t)w >= dstsz ? -1 : 0;
	}
	if (family != AF_INET6)
		return -1;
	/* 32 nibbles and dots, then "ip6.arpa" */
	if (dstsz < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		dst[n++] = hex[a[i] & 0x0f];
		dst[n++] = '.';
		dst[n++] = hex[a[i] >> 4];
		dst[n++] = '.';
	}
	strlcpy(dst + n, "ip6.arpa", dstsz - n);
	return 0;
}

int
bw_dns_list_name(int family, const void *addr, const char *zone, char *dst,
    size_t dstsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*a = addr;
	char			 rev[BW_DNS_LIST_PREFIX_MAX + 1];
	size_t			 n = 0;
	int			 i, w;

	if (family == AF_INET)
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.", a[3], a[2], a[1],
		    a[0]);
	else if (family == AF_INET6) {
		for (i = 15; i >= 0; i--) {
			rev[n++] = hex[a[i] & 0x0f];
			rev[n++] = '.';
			rev[n++] = hex[a[i] >> 4];
			rev[n++] = '.';
		}
		rev[n] = '\0';
	} else
		return -1;
	if (zone[0] == '\0' || strlen(rev) + strlen(zone) > BW_DNS_NAME_TEXT_MAX)
		return -1;
	w = snprintf(dst, dstsz, "%s%s", rev, zone);
	return w < 0 || (size_t)w >= dstsz ? -1 : 0;
}
