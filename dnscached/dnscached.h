/*
 * dnscached: the DNS cache.  Private header.
 *
 * dnscached serves dnscached.sock to smtpd and the deliverd workers: each
 * DNS_QUERY is answered from the cache or, on a miss, by one upstream
 * query shared by every identical query in flight (coalescing).  The
 * upstream side builds and parses packets with ldns and carries them over
 * UDP on a fresh socket per attempt (random source port, random id), over
 * TCP when the answer is truncated.
 *
 * Module map:
 *   dnscached_cache.c     cache by TTL, negative entries, LRU eviction (pure)
 *   dnscached_parse.c     packet building and answer parsing (pure)
 *   dnscached_upstream.c  UDP/TCP transport, timeouts, retries over servers
 *   dnscached_query.c     client requests, coalescing, answers
 *   dnscached_imsg.c      message dispatch for clients and controld
 *   dnscached.c           process entry, arguments, upstream list
 */
#ifndef DNSCACHED_H
#define DNSCACHED_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "imsg_catalog.h"
#include "status_link.h"

struct bw_peer;
struct bw_imsg;
struct event_base;

/* ---- limits (named, with the reason) ---- */
#define DNS_SERVERS_MAX		8	/* upstreams; resolv.conf allows 3 */
#define DNS_TRIES_PER_SERVER	2	/* attempts per upstream per query */
/* One attempt and a whole query: dns_attempt_timeout, dns_query_deadline. */
#define DNS_UDP_RECV_MAX	65535	/* largest datagram read */
#define DNS_TCP_MSG_MAX		65535	/* DNS over TCP: 16-bit length */
#define DNS_INFLIGHT_MAX	2048	/* distinct upstream queries at once */
#define DNS_WAITERS_MAX		1024	/* clients waiting on one query */
#define DNS_CLIENT_PENDING_MAX	4096	/* unanswered queries per client */
#define DNS_CNAME_CHAIN_MAX	8	/* CNAMEs followed in one answer; a
					   longer chain (or a loop) is
					   BW_DNS_CNAME_LOOP, temporary */
/* Cache size: dns_cache_max_entries, dns_cache_max_bytes (config). */
#define DNS_TTL_MIN		5	/* s: floor for positive answers */
#define DNS_TTL_MAX		86400	/* s: ceiling unless dns_ttl_max */
#define DNS_NEG_TTL_MIN		5	/* s: floor for NXDOMAIN / NODATA */
#define DNS_NEG_TTL_MAX		3600	/* s: unless dns_negative_ttl_max */
#define DNS_NEG_TTL_NOSOA	60	/* s: negative answer without an SOA */

/*
 * The upstream set AD in its answer to a BW_DNS_QF_DNSSEC query.  Kept in
 * dns_result.flags and in the cache, never sent as it is: dns_answer_send
 * turns it into BW_DNS_ANSF_SECURE only while the config says the
 * upstream validates (dns_upstream_validates yes), so that a reload to
 * "no" takes effect for cached answers at once.
 */
#define DNS_RESF_AD		0x80000000u

/* One answer: what is cached and what a client receives. */
struct dns_result {
	uint32_t		 status;	/* enum bw_dns_status */
	uint32_t		 ttl;		/* s */
	uint32_t		 flags;		/* BW_DNS_ANSF_* */
	uint32_t		 nrr;
	struct bw_dns_rr	 rr[BW_DNS_RR_MAX];
};

/* ---- dnscached_cache.c ---- */
typedef uint64_t (*dns_clock_fn)(void);	/* milliseconds, monotonic */
struct dns_cache;

struct dns_cache *dns_cache_new(size_t max_entries, size_t max_bytes,
	    dns_clock_fn);
void	 dns_cache_free(struct dns_cache *);
/*
 * 1 hit (res filled, TTLs reduced by the age), 0 miss or expired.  The
 * key is (qtype, qflags, name): a DNSSEC answer (BW_DNS_QF_DNSSEC) and a
 * plain one are different entries, so that neither stands in for the
 * other.
 */
int	 dns_cache_get(struct dns_cache *, uint16_t qtype, uint16_t qflags,
	    const char *name, struct dns_result *res);
/* Store a copy (OK, NXDOMAIN, NODATA only; TTL clamped); 0 or -1. */
int	 dns_cache_put(struct dns_cache *, uint16_t qtype, uint16_t qflags,
	    const char *name, const struct dns_result *res);
size_t	 dns_cache_flush(struct dns_cache *);	/* entries removed */
size_t	 dns_cache_entries(const struct dns_cache *);
size_t	 dns_cache_bytes(const struct dns_cache *);
uint64_t dns_cache_evictions(const struct dns_cache *);
/* The TTL an answer is cached for (clamps applied). */
uint32_t dns_cache_ttl_clamp(uint32_t status, uint32_t ttl);
/* Set the ceilings (s) of positive and negative TTLs (config limits). */
void	 dns_cache_ttl_limits(uint32_t ttl_max, uint32_t neg_ttl_max);

/* ---- dnscached_parse.c ---- */
enum dns_parse_code {
	DNS_PARSE_OK = 0,	/* res holds an OK, NXDOMAIN or NODATA answer */
	DNS_PARSE_MALFORMED,	/* not a DNS response we can read */
	DNS_PARSE_MISMATCH,	/* not the answer to our question (id, name, type) */
	DNS_PARSE_TRUNCATED,	/* TC bit: ask again over TCP */
	DNS_PARSE_SERVFAIL,	/* SERVFAIL, REFUSED, NOTIMP...: try another server */
	DNS_PARSE_FORMERR,	/* the server did not like our query */
};
const char *dns_parse_code_name(int);

/* A normalised name: lower case, no trailing dot; -1 if not a valid name. */
int	 dns_name_normalise(char *dst, size_t dstsz, const char *src,
	    size_t srcsz);
int	 dns_qtype_supported(uint16_t qtype);
const char *dns_qtype_name(uint16_t qtype);
/* A query packet (RD set; with BW_DNS_QF_DNSSEC also AD and EDNS0 with
 * DO, DNS_EDNS_UDP_SIZE) in malloc'd wire format; 0 or -1. */
#define DNS_EDNS_UDP_SIZE	1232	/* advertised: no IP fragmentation
					   (DNS flag day 2020); larger
					   answers come over TCP */
int	 dns_query_build(uint16_t id, uint16_t qtype, uint16_t qflags,
	    const char *name, uint8_t **wire, size_t *len);
/*
 * MX records beyond BW_DNS_RR_MAX: keep the lowest preferences (ties: the
 * first in wire order); seq[] tracks wire positions, n counts records
 * offered.  dns_mx_sort orders what was kept.  Used by dns_answer_parse.
 */
void	 dns_mx_keep(struct dns_result *, uint32_t *seq,
	    const struct bw_dns_rr *, uint32_t n);
void	 dns_mx_sort(struct dns_result *, uint32_t *seq);
/* Parse an answer to (id, qtype, name); DNS_RESF_AD when the upstream
 * set AD (the caller keeps it only for a DNSSEC query). */
enum dns_parse_code dns_answer_parse(const uint8_t *wire, size_t len,
	    uint16_t id, uint16_t qtype, const char *name,
	    struct dns_result *res);

/* ---- dnscached_upstream.c ---- */
struct dns_server {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 text[BW_HOSTADDR_MAX + 8];	/* addr:port */
};

struct dns_upstream;
/* Called exactly once with the final result; the upstream is freed after. */
typedef void (*dns_upstream_done_fn)(void *arg, const struct dns_result *);

int	 dns_server_parse(const char *text, struct dns_server *);
int	 dns_servers_from_resolv_conf(const char *path, struct dns_server *,
	    size_t max);
struct dns_upstream *dns_upstream_start(uint16_t qtype, uint16_t qflags,
	    const char *name, dns_upstream_done_fn, void *arg);
void	 dns_upstream_cancel(struct dns_upstream *);
void	 dns_upstream_cancel_all(void);

/* ---- dnscached_query.c ---- */
void	 dns_query_request(struct bw_peer *, uint32_t peerid,
	    const struct bw_dns_query *);
int	 dns_query_client_up(struct bw_peer *);
void	 dns_query_client_gone(struct bw_peer *);
void	 dns_query_shutdown(void);

/* ---- dnscached_imsg.c ---- */
void	 dns_client_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dns_client_state_cb(struct bw_peer *, int, void *);
struct dnscached;
void	 dns_controld_connect(struct dnscached *);
void	 dns_answer_send(struct bw_peer *, uint32_t peerid, uint64_t reqid,
	    uint16_t qtype, const char *name, const struct dns_result *);

struct dnscached {
	struct bw_daemon	 d;	/* cfg, base, started, shutting_down */
	struct bw_status_link	*controld;
	struct dns_cache	*cache;
	struct dns_server	 servers[DNS_SERVERS_MAX];
	size_t			 nservers;
	/* counters */
	uint64_t		 c_clients;		/* connections accepted */
	uint64_t		 c_clients_active;
	uint64_t		 c_queries;		/* DNS_QUERY received */
	uint64_t		 c_hits;
	uint64_t		 c_misses;
	uint64_t		 c_coalesced;		/* misses that joined one in flight */
	uint64_t		 c_upstream_queries;	/* packets sent upstream */
	uint64_t		 c_upstream_errors;	/* SERVFAIL, REFUSED, socket errors */
	uint64_t		 c_timeouts;		/* attempts that timed out */
	uint64_t		 c_tcp_fallbacks;	/* truncated UDP answers */
	uint64_t		 c_malformed;		/* packets that did not parse */
	uint64_t		 c_mismatched;		/* answers to another question */
	uint64_t		 c_rejected;		/* bad queries, limits */
	uint64_t		 c_inflight;		/* upstream queries now */
	uint64_t		 c_dnssec_queries;	/* with BW_DNS_QF_DNSSEC */
	uint64_t		 c_secure_answers;	/* sent with ANSF_SECURE */
	uint64_t		 c_rdata_cut;		/* records cut to
						   BW_DNS_RDATA_TEXT_MAX */
};
extern struct dnscached *dns_env;

#endif
