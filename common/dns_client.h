/*
 * The dnscached client: one per process, shared by every caller in it
 * (deliverd's agents, smtpd's sessions).
 *
 * The process owns the link (a bw_peer to dnscached.sock, reconnected by
 * peer.c) and hands the client its frames and its state changes:
 * bw_dns_client_dispatch() for each frame, bw_dns_client_down() when the
 * link is lost.  A caller asks with bw_dns_client_query() and gets a handle;
 * its callback runs exactly once per handle, with one of three outcomes:
 * dnscached's answer, the caller's deadline passed (the client's own timer,
 * whatever dnscached does), or dnscached went away.  After the callback the
 * handle is gone; bw_dns_client_cancel() before it frees the query and no
 * callback runs.  A query that cannot be sent (dnscached down, no memory)
 * returns NULL at once and no callback runs.
 *
 * Trust: dnscached's frames passed the catalog check (type, sender role,
 * size range) in peer.c.  Here the record count is checked against the
 * frame length and the echoed type against the question; a frame that
 * fails either is malformed and drops the link (every query in flight then
 * fails "down").  An answer whose id is unknown (the caller cancelled, the
 * deadline passed, a duplicate) is ignored.  Record text is NUL-terminated
 * by bw_dns_result_rr().
 *
 * Limits: at most BW_DNS_CLIENT_PENDING_MAX queries in flight per process
 * (more get NULL); dnscached bounds what it holds per client as well.
 */
#ifndef BW_DNS_CLIENT_H
#define BW_DNS_CLIENT_H

#include <stdint.h>

#include "imsg.h"
#include "imsg_catalog.h"

#define BW_DNS_CLIENT_PENDING_MAX	65536	/* queries in flight; a
						   caller past it is stuck */
#define BW_DNS_CLIENT_BUCKETS		1024	/* reqid hash buckets */

struct event_base;
struct bw_peer;
struct bw_dns_client;
struct bw_dns_req;

/* How a query ended. */
enum bw_dns_outcome {
	BW_DNSC_ANSWERED = 0,	/* status, ttl and records are dnscached's */
	BW_DNSC_TIMEDOUT,	/* the caller's deadline passed first */
	BW_DNSC_DOWN,		/* dnscached went away (or sent garbage) */
};
const char	*bw_dns_outcome_name(int);

struct bw_dns_result {
	enum bw_dns_outcome	 outcome;
	int			 status;	/* enum bw_dns_status; TIMEDOUT:
						   BW_DNS_TIMEOUT, DOWN:
						   BW_DNS_SERVFAIL */
	uint16_t		 qtype;		/* the question's */
	const char		*name;		/* the question's */
	uint32_t		 ttl;
	uint32_t		 flags;		/* BW_DNS_ANSF_* */
	uint32_t		 nrr;		/* 0 unless ANSWERED */
	const unsigned char	*rrs;		/* nrr struct bw_dns_rr,
						   unaligned: use
						   bw_dns_result_rr() */
};

/* The callback owns nothing in res; it may query and cancel freely. */
typedef void (*bw_dns_cb)(const struct bw_dns_result *res, void *arg);

struct bw_dns_client *bw_dns_client_new(struct event_base *,
	    struct bw_peer *dnscached);
/* Every query in flight fails DOWN, then the client is freed. */
void	 bw_dns_client_free(struct bw_dns_client *);

/*
 * Ask for name (at most BW_DOMAIN_MAX octets) and qtype.  deadline_ms is a
 * bw_now_ms() time; 0: none (the caller cancels on its own deadline).
 */
struct bw_dns_req *bw_dns_client_query(struct bw_dns_client *,
	    const char *name, uint16_t qtype, uint64_t deadline_ms,
	    bw_dns_cb cb, void *arg);
/*
 * The same with query flags (BW_DNS_QF_DNSSEC: the answer's flags carry
 * BW_DNS_ANSF_SECURE when dnscached's upstream validated it and the
 * config trusts that upstream).
 */
struct bw_dns_req *bw_dns_client_query_flags(struct bw_dns_client *,
	    const char *name, uint16_t qtype, uint16_t qflags,
	    uint64_t deadline_ms, bw_dns_cb cb, void *arg);
void	 bw_dns_client_cancel(struct bw_dns_client *, struct bw_dns_req *);

/* A frame from dnscached: 1 handled, 0 not ours (the caller drops it). */
int	 bw_dns_client_dispatch(struct bw_dns_client *, struct bw_imsg *);
/* The link went down: every query in flight fails DOWN. */
void	 bw_dns_client_down(struct bw_dns_client *);

int	 bw_dns_client_is_up(const struct bw_dns_client *);
size_t	 bw_dns_client_pending(const struct bw_dns_client *);

/* Record i of an answer, copied out and terminated; -1 if i >= nrr. */
int	 bw_dns_result_rr(const struct bw_dns_result *, uint32_t i,
	    struct bw_dns_rr *out);

/*
 * The reverse-lookup name of an address (AF_INET: 4 bytes, AF_INET6: 16):
 * "4.3.2.1.in-addr.arpa" or the nibbles under ip6.arpa.  0, or -1 if it
 * does not fit or the family is unknown.
 */
int	 bw_dns_ptr_name(int family, const void *addr, char *dst,
	    size_t dstsz);

/*
 * The query name of an address in a DNS list or reputation zone (RFC 5782
 * 2.1, 2.4): "4.3.2.1.zone", or the 32 nibbles of an IPv6 address, least
 * significant first, then the zone.  0, or -1 if the family is unknown,
 * the zone empty, the name longer than BW_DNS_NAME_TEXT_MAX (255 octets on
 * the wire) or dst too small.
 */
#define BW_DNS_NAME_TEXT_MAX	253	/* a name as text, no trailing dot */
#define BW_DNS_LIST_PREFIX_MAX	64	/* "f.e.d....0." of an IPv6 address */
int	 bw_dns_list_name(int family, const void *addr, const char *zone,
	    char *dst, size_t dstsz);

#endif
