/*
 * deliverd: the delivery agents.  Private header.
 *
 * The main process only supervises: it forks deliverd_workers workers
 * (0: one per core), restarts one that dies (with backoff) and stops them
 * on SIGTERM.  Each worker connects to queued, dnscached and controld.
 *
 * In a worker, queued's DLV_* frames are assembled into jobs
 * (deliverd_job.c) and handed to the agent of their (gateway, domain)
 * (deliverd_agent.c), which resolves the destination (deliverd_mx.c) and
 * runs a pool of SMTP client connections (deliverd_smtp.c, replies parsed
 * by deliverd_reply.c, TLS in deliverd_tls.c).  deliverd_self.c tells
 * whether a next hop is this gateway (mail that would loop).  Results are
 * logged by deliverd_log.c and sent back to queued per recipient.
 */
#ifndef DELIVERD_H
#define DELIVERD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "deliverd_neighbor.h"

/* glibc's sys/queue.h lacks the _SAFE iterators. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif
#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = LIST_FIRST(head);					\
	    (var) != NULL && ((tvar) = LIST_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct bw_peer;
struct bw_imsg;
struct bw_status_link;
struct bw_dns_client;
struct event;
struct event_base;
struct evbuffer;
struct bufferevent;
struct ssl_st;

/* Delivery limits that are not (yet) in the config's limits table. */
#define DLV_MX_HOSTS_MAX	16	/* MX hosts (or route hosts) kept */
#define DLV_HOST_ADDRS_MAX	8	/* addresses kept per host */
#define DLV_JOB_RCPTS_MAX	10000	/* recipients in one job */
#define DLV_REPLY_LINE_MAX	2048	/* one reply line (RFC 5321: 512) */
#define DLV_REPLY_LINES_MAX	100	/* lines of one multi-line reply */
#define DLV_CMD_LINE_MAX	(BW_ADDR_MAX + BW_DSN_ORCPT_MAX + 128)
					/* one command we send: RCPT with
					   NOTIFY and ORCPT (RFC 3461 5) */
#define DLV_DSN_PARAMS_MAX	(BW_DSN_ORCPT_MAX + 64)	/* their text */
#define DLV_AGENT_BUCKETS	1024	/* agent hash table size */
#define DLV_HOST_DOWN_MS	30000	/* a failed host is skipped this long */
#define DLV_MX_MAX_AGE_MS	300000	/* resolved hosts reused this long */
#define DLV_DNS_WAIT_MS		30000	/* dnscached must answer in time */
#define DLV_AGENT_IDLE_FREE_MS	600000	/* an unused agent is freed */
#define DLV_AGENT_GC_MS		60000	/* agent garbage collection period */
#define DLV_AGENT_LIST_MAX	100000	/* agents listed for show queue (as
					   controld's CTL_QUEUE_ROWS_MAX) */
#define DLV_NOTLS_MS		600000	/* after a failed TLS handshake, the
					   host is spoken to in plaintext */
#define DLV_QUIT_LINGER_MS	1000	/* after the 221 to QUIT, wait this
					   long at most for the receiver to
					   close: until it has, it still counts
					   the session, and a replacement that
					   took the slot at once met "421 too
					   many connections" at receivers that
					   take K of ours (bench/relay
					   --neighbor) */
#define DLV_SETUP_MAX		2	/* connections of an agent being set
					   up at once: the pool grows while
					   jobs wait, not all at once */
#define DLV_SELF_IFADDRS_MAX	256	/* interface addresses remembered for
					   the loop check; more are ignored */
#define DLV_SELF_IFADDRS_MS	60000	/* the interface addresses are read
					   again after this (DHCP, new IPs) */

/* ---- SMTP replies (deliverd_reply.c, pure) ---- */

enum dlv_reply_feed_result {
	DLV_REPLY_MORE = 0,	/* a continuation line; feed the next */
	DLV_REPLY_DONE,		/* the reply is complete */
	DLV_REPLY_BAD,		/* malformed: the connection is broken */
};

struct dlv_reply {
	int		 code;		/* 3 digits; 0 until the 1st line */
	int		 nlines;
	int		 done;
	char		 enh[BW_DSN_CODE_MAX];	/* "5.1.1" or "" */
	char		 text[BW_REPLY_TEXT_MAX];	/* lines joined */
};

/* ESMTP extensions announced in an EHLO reply. */
struct dlv_ext {
	int		 esmtp;
	int		 pipelining;
	int		 size;
	uint64_t	 size_max;	/* 0: no limit announced */
	int		 eightbitmime;
	int		 starttls;
	int		 enhanced;
	int		 smtputf8;
	int		 chunking;	/* RFC 3030: BDAT */
	int		 binarymime;	/* RFC 3030: BODY=BINARYMIME */
	int		 dsn;		/* RFC 3461 */
};

void	 dlv_reply_init(struct dlv_reply *);
int	 dlv_reply_feed(struct dlv_reply *, const char *line, size_t len);
void	 dlv_ehlo_line(struct dlv_ext *, const char *line, size_t len);
/* Status and DSN code for a complete reply. */
int	 dlv_reply_status(const struct dlv_reply *);
void	 dlv_reply_dsn(const struct dlv_reply *, char *dst, size_t dstsz);
/* Append in (len bytes) to out with dot-stuffing; *bol: at line start.
 * out NULL: 1 if in needs stuffing, nothing copied. */
int	 dlv_dotstuff(struct evbuffer *out, const char *in, size_t len,
	    int *bol);

/* ---- message bodies on the wire (deliverd_body.c) ---- */

/* DATA: body dot-stuffed, then the final dot; 0 or -1 (no memory). */
int	 dlv_body_data(struct evbuffer *out, struct evbuffer *body,
	    int *stuffed);
/* BDAT: the next chunk of at most max bytes from *off, LAST on the last
 * one, by reference (the body may be freed before out is sent); 0 or -1. */
int	 dlv_body_bdat(struct evbuffer *out, struct evbuffer *body,
	    size_t *off, size_t max);
/* ---- DSN parameters for a next hop that offers DSN (deliverd_dsn.c) ---- */

/* " RET=... ENVID=..." for MAIL, or "": 0, -1 when it cannot be said. */
int	 dlv_dsn_mail_params(uint32_t ret, const char *envid, char *dst,
	    size_t dstsz);
/* " NOTIFY=... ORCPT=..." for RCPT, or "": 0, -1 likewise. */
int	 dlv_dsn_rcpt_params(uint32_t notify, const char *orcpt, char *dst,
	    size_t dstsz);

/* ---- jobs (deliverd_job.c) ---- */

struct dlv_rcpt {
	char		 addr[BW_ADDR_MAX];
	int		 have;		/* DLV_RCPT received */
	int		 status;	/* enum bw_dlv_status, -1: none yet */
	int		 accepted;	/* RCPT 2xx in this transaction */
	char		 dsn[BW_DSN_CODE_MAX];
	char		 reply[BW_REPLY_TEXT_MAX];
	uint32_t	 notify;	/* BW_DSN_NOTIFY_*, 0 none */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];	/* decoded; "" */
	int		 dsn_passed;	/* RCPT sent with DSN parameters */
};

struct dlv_job {
	TAILQ_ENTRY(dlv_job)	 entry;
	uint64_t		 jobid;
	char			 qid[BW_QID_LEN + 1];
	char			 gateway[BW_NAME_MAX];
	char			 domain[BW_DOMAIN_MAX + 1];
	char			 sender[BW_ADDR_MAX];
	uint64_t		 size;
	int64_t			 created;
	uint32_t		 flags;
	uint32_t		 attempts;
	uint32_t		 dsn_ret;	/* enum bw_dsn_ret */
	char			 envid[BW_DSN_ENVID_MAX + 1];	/* decoded */
	uint32_t		 nrcpt;
	uint32_t		 nrcpt_have;
	struct dlv_rcpt		*rcpts;
	uint32_t		*order;		/* rcpts to send, by index */
	uint32_t		 norder;
	struct evbuffer		*body;
	int			 complete;	/* DLV_END seen */
	char			 relay[BW_RELAY_TEXT_MAX];	/* last tried */
	uint32_t		 connections;	/* opened for this job */
	uint64_t		 pause_wait;	/* a probe that arrived in a Good
						   Neighbor pause: its end
						   (bw_now_ms()); 0 none */
	uint32_t		 order_next;	/* first of order[] not yet in a
						   transaction (deliverd_pace.c) */
	char			 tls[BW_TLS_TEXT_MAX];	/* of the last
					   connection: dlv_tls_log_text() */
};
TAILQ_HEAD(dlv_job_list, dlv_job);

void	 dlv_job_msg(struct bw_imsg *);
int	 dlv_addr_ok(const char *);
void	 dlv_job_set_result(struct dlv_job *, uint32_t idx, int status,
	    const char *dsn, const char *reply);
/* Every recipient without a result gets this one. */
void	 dlv_job_set_rest(struct dlv_job *, int status, const char *dsn,
	    const char *reply);
/* Send results and DLV_DONE, log, count, free. */
void	 dlv_job_finish(struct dlv_job *, int unreachable, const char *reason);
void	 dlv_job_free(struct dlv_job *);
void	 dlv_job_drop_all(void);

/* ---- destinations (deliverd_mx.c) ---- */

enum dlv_mx_state {
	DLV_MX_NONE = 0,	/* not resolved (or expired) */
	DLV_MX_RESOLVING,
	DLV_MX_READY,
};

struct dlv_host {
	char		 name[BW_DOMAIN_MAX + 1];
	int		 pref;
	int		 port;
	char		 addrs[DLV_HOST_ADDRS_MAX][BW_HOSTADDR_MAX];
	int		 naddrs;
	int		 pending;	/* address queries in flight */
	int		 dns_temp;	/* an address query failed (temp) */
	int		 dns_status;	/* its enum bw_dns_status */
	int		 self;		/* this gateway, or a preference not
					   better than this gateway's: never
					   used (until the next resolution) */
	uint64_t	 notls_until;	/* TLS handshake failed: plaintext
					   until then (bw_now_ms()) */
	uint64_t	 down_until;	/* bw_now_ms(); 0 = usable */
	int		 sts_excluded;	/* not in the MTA-STS policy
					   (enforce): never used */
	uint32_t	 connections;	/* open now */
	int64_t		 last_error_time;
	char		 last_error[BW_REPLY_TEXT_MAX];
	char		 last_addr[BW_HOSTADDR_MAX];
	int		 tls_failed;	/* the last failure was the TLS
					   policy's (4.7.5 when all are) */
};

void	 dlv_mx_sort(struct dlv_host *, int n);
/* Insert a host by preference (after equal ones) into h[0..*n), keeping
 * the max best; its index, or -1 when it is worse than all of a full
 * list.  The new entry is zeroed but for name, pref and port 25. */
int	 dlv_mx_add(struct dlv_host *h, int *n, int max, const char *name,
	    int pref);
/* Index of the host for a new connection, or -1: none usable now. */
int	 dlv_mx_pick(const struct dlv_host *, int n, unsigned *rr,
	    uint64_t now);
struct dlv_agent;
void	 dlv_mx_resolve(struct dlv_agent *);
void	 dlv_mx_timeout_cb(int, short, void *);
/* Host hostidx is this gateway (why): it and every host of its preference
 * or worse are no longer used. */
void	 dlv_mx_self(struct dlv_agent *, int hostidx, const char *relay,
	    const char *why);
/* 1 when a host is this gateway and no host has a better preference. */
int	 dlv_mx_loops(const struct dlv_agent *);

struct dlv_conn;

/* ---- TLS policy (deliverd_tlspolicy.c) and sessions (deliverd_tls.c) ---- */

#define DLV_TLS_NAMES_MAX	8	/* names a certificate may match */
#define DLV_TLS_VERSION_MAX	16	/* "TLSv1.3" */
#define DLV_TLS_CIPHER_MAX	64	/* "TLS_AES_256_GCM_SHA384" */
#define DLV_TLS_VERIFY_MAX	16	/* "ok", "fail", "dane-ee", ... */
#define DLV_TLS_CTX_MAX		64	/* CA files with a client context in
					   one worker; more are not cached
					   (each refused, logged) */

/* What a connection needs from TLS, weakest first. */
enum dlv_tls_level {
	DLV_TLS_NONE = 0,	/* never STARTTLS */
	DLV_TLS_MAY,		/* opportunistic: plaintext when it fails */
	DLV_TLS_ENCRYPT,	/* TLS or no delivery, certificate unchecked */
	DLV_TLS_VERIFY,		/* chain and name checked */
	DLV_TLS_DANE,		/* TLSA records (RFC 7672; deliverd_dane.c) */
};

struct dlv_tlsa_set;		/* deliverd_dane.h */
struct dlv_dane;

struct dlv_tls_want {
	enum dlv_tls_level	 level;
	const char		*why;	/* "config", "dane", "mta-sts",
					   "mta-sts-testing" */
	int			 testing;	/* MTA-STS testing: a failure is
						   logged, not fatal */
	char			 names[DLV_TLS_NAMES_MAX][BW_DOMAIN_MAX + 1];
	int			 nnames;	/* verify: the certificate must
						   match one */
	const struct dlv_tlsa_set *tlsa;	/* dane: usable records */
	const char		*ca_file;	/* tls_ca_file, "": the system
					   store; in the configuration the
					   connection holds */
};

/* How TLS went on one connection (the delivery log's fields). */
struct dlv_tls_info {
	struct dlv_tls_want	 want;		/* decided when it opened */
	char			 version[DLV_TLS_VERSION_MAX];	/* "": none */
	char			 cipher[DLV_TLS_CIPHER_MAX];
	char			 verify[DLV_TLS_VERIFY_MAX];	/* "ok", "fail",
						   "none", "dane-ee", ... */
};

/* Kinds of TLS failure, counted in deliverd's status. */
enum dlv_tls_fail {
	DLV_TLS_FAIL_NOT_OFFERED = 0,	/* required, no STARTTLS in EHLO */
	DLV_TLS_FAIL_REFUSED,		/* STARTTLS answered without 220 */
	DLV_TLS_FAIL_HANDSHAKE,		/* handshake or session failed */
	DLV_TLS_FAIL_NO_CERT,		/* required, none presented */
	DLV_TLS_FAIL_CHAIN,		/* certificate not trusted */
	DLV_TLS_FAIL_NAME,		/* certificate name mismatch */
	DLV_TLS_FAIL_DANE,		/* no TLSA record matched */
	DLV_TLS_FAIL_SETUP,		/* our side: CA file, memory */
	DLV_TLS_FAIL_PLAINTEXT,		/* may: fell back to plaintext */
	DLV_TLS_FAIL__COUNT
};

/* What to do after a successful EHLO reply. */
enum dlv_tls_ehlo_act {
	DLV_TLS_ACT_PLAIN = 0,	/* go on without TLS */
	DLV_TLS_ACT_STARTTLS,
	DLV_TLS_ACT_FAIL,	/* TLS required and not offered */
};

/* The requirement for a new connection to agent->hosts[hostidx]. */
void	 dlv_tls_want_for(struct dlv_agent *, int hostidx,
	    struct dlv_tls_want *);
const char *dlv_tls_level_name(enum dlv_tls_level);
const char *dlv_tls_fail_name(enum dlv_tls_fail);
/* After EHLO (not yet under TLS): STARTTLS, plaintext or fail (why). */
enum dlv_tls_ehlo_act dlv_tls_ehlo(const struct dlv_conn *, char *why,
	    size_t whysz);
/* 1 when a TLS failure of this connection may fall back to plaintext. */
int	 dlv_tls_may_fallback(const struct dlv_conn *);
/* After the handshake: fill info's fields; 0 when the session meets the
 * requirement (or the failure is only logged: testing), else -1 with
 * *kind and why set. */
int	 dlv_tls_check(struct dlv_conn *, struct ssl_st *,
	    enum dlv_tls_fail *kind, char *why, size_t whysz);
/* The DSN code for jobs of an agent whose hosts all failed: "4.7.5" when
 * the last failure of every host was the TLS policy's, else NULL. */
const char *dlv_tls_unreachable_dsn(const struct dlv_agent *);
/* "tls=TLSv1.3 cipher=... verify=ok" or "tls=none" */
void	 dlv_tls_log_text(const struct dlv_tls_info *, char *dst,
	    size_t dstsz);

int	 dlv_tls_init(void);
/* Contexts of the CA files in cfg, made again (a reload). */
void	 dlv_tls_reload(const struct bw_config *);
/* A new client session for want towards servername; NULL: why says. */
struct ssl_st *dlv_tls_new(const char *servername,
	    const struct dlv_tls_want *, char *why, size_t whysz);
void	 dlv_tls_free_ctx(void);

/* ---- agents (deliverd_agent.c) ---- */

enum dlv_conn_state {
	DLV_CS_CONNECTING = 0,
	DLV_CS_GREETING,
	DLV_CS_EHLO,
	DLV_CS_HELO,
	DLV_CS_STARTTLS,
	DLV_CS_TLS,		/* handshake */
	DLV_CS_IDLE,
	DLV_CS_MAIL,		/* MAIL and RCPT replies */
	DLV_CS_DATA,		/* 354 */
	DLV_CS_BODY,		/* reply to the final dot */
	DLV_CS_DATA_DISCARD,	/* pipelined DATA of an aborted transaction */
	DLV_CS_DOT_DISCARD,	/* its lone dot, if the server said 354 */
	DLV_CS_BDAT,		/* replies to BDAT chunks */
	DLV_CS_BDAT_DISCARD,	/* ... of a failed transaction */
	DLV_CS_RSET,
	DLV_CS_QUIT,
	DLV_CS_CLOSED,
};

/* One SMTP client connection of an agent (deliverd_smtp.c). */
struct dlv_conn {
	TAILQ_ENTRY(dlv_conn)	 entry;
	struct dlv_agent	*agent;
	struct bw_config	*cfg;		/* the one it opened under */
	const struct bw_limit_set *lim;	/* its destination's set in cfg:
					   a reload applies to the next
					   connection, not this one */
	int			 host;		/* index in agent->hosts */
	int			 addr;		/* index in the host's addrs */
	enum dlv_conn_state	 state;
	struct bufferevent	*bev;
	struct event		*idle_ev;
	struct event		*deadline_ev;	/* the whole reply waited for */
	long long		 reply_ms;	/* its limit, from our last byte */
	uint64_t		 wait_ms;	/* bw_now_ms() it started: the
					   reply's latency (Good Neighbor) */
	int			 deadline_drain;	/* armed when the output
						   has drained */
	int			 tls;
	int			 setup_done;
	int			 in_open;	/* inside dlv_smtp_open() */
	struct dlv_ext		 ext;
	struct dlv_reply	 reply;
	struct dlv_job		*job;
	uint32_t		 sent;		/* MAIL + RCPTs sent */
	uint32_t		 replies;	/* of those, answered */
	uint32_t		 naccepted;
	int			 mail_ok;
	int			 data_sent;	/* DATA pipelined with RCPTs */
	int			 bdat;		/* body goes with BDAT */
	size_t			 body_off;	/* body bytes sent in chunks */
	uint32_t		 chunks_sent;
	uint32_t		 chunks_answered;
	int			 nmsgs;
	int			 quit_answered;	/* 221 came: waiting for the
						   receiver to close */
	uint32_t		 rcpt_first;	/* this transaction's recipients: */
	uint32_t		 rcpt_count;	/* job->order[first..+count) */
	char			 relay[BW_RELAY_TEXT_MAX];
	uint64_t		 debug_id;	/* deliverd_debug.c: 0 until a
						   transcript names it */
	struct dlv_tls_info	 tlsinfo;
};
TAILQ_HEAD(dlv_conn_list, dlv_conn);

struct dlv_agent {
	LIST_ENTRY(dlv_agent)	 hentry;
	char			 gateway[BW_NAME_MAX];
	char			 domain[BW_DOMAIN_MAX + 1];
	const struct bw_gateway_conf *gw;
	const struct bw_limit_set *lim;	/* its destination's set in the
					   worker's configuration; a
					   reload re-points it */
	int			 routed;
	enum dlv_mx_state	 mx_state;
	uint64_t		 mx_expires;	/* bw_now_ms() */
	uint32_t		 mx_gen;	/* stale answers are ignored */
	int			 mx_pending;	/* queries in flight */
	int			 mx_ttl;	/* smallest TTL seen, seconds */
	int			 self_pref;	/* this gateway's preference
						   in the host list; -1: not
						   in it */
	char			 self_relay[BW_RELAY_TEXT_MAX];	/* the host
						   found to be us */
	struct event		*mx_timer;	/* dnscached's deadline */
	int			 sts_wait;	/* waits for the MTA-STS
						   policy (deliverd_mtasts.c) */
	int			 sts_ready;	/* ... which is settled */
	struct dlv_dane		*dane;		/* TLSA state under tls dane
						   (deliverd_dane.c), NULL */
	struct dlv_host		 hosts[DLV_MX_HOSTS_MAX];
	int			 nhosts;
	unsigned		 rr;		/* round robin over hosts */
	unsigned		 src_rr;	/* round robin over sources */
	struct dlv_job_list	 jobs;		/* waiting for a connection */
	int			 njobs;
	struct dlv_conn_list	 conns;
	int			 nconns;
	int			 nsetup;	/* connections not ready yet */
	struct dlv_nb		 nb;		/* Good Neighbor: the limit */
	uint64_t		 last_used;	/* bw_now_ms() */
	uint64_t		 delivered;
	uint64_t		 tempfail;
	uint64_t		 permfail;
	int64_t			 last_attempt;
	char			 last_result[BW_REPLY_TEXT_MAX];
	uint64_t		 pace_last_ms;	/* last transaction start, when
						   paced (deliverd_pace.c) */
	struct event		*pace_timer;	/* runs the agent when the
						   next start is due */
};
LIST_HEAD(dlv_agent_head, dlv_agent);

struct dlv_agent *dlv_agent_find(const char *gateway, const char *domain);
void	 dlv_agent_job_add(struct dlv_job *);
void	 dlv_agent_run(struct dlv_agent *);
void	 dlv_agent_retry(const struct bw_dlv_retry *);
void	 dlv_agent_reload(const struct bw_config *);
/* Resolution ended: 0 ready, else every waiting job fails with this. */
void	 dlv_agent_resolved(struct dlv_agent *, int status, const char *dsn,
	    const char *reason);
void	 dlv_agent_conn_ready(struct dlv_agent *, struct dlv_conn *);
/* The host list leads back to this gateway: every waiting job bounces. */
void	 dlv_agent_loop(struct dlv_agent *);
void	 dlv_agent_conn_gone(struct dlv_agent *, struct dlv_conn *);
/* Call cb for every agent of domain (any gateway). */
void	 dlv_agent_foreach_domain(const char *domain,
	    void (*cb)(struct dlv_agent *, void *), void *arg);
void	 dlv_agent_info(struct bw_peer *, uint32_t peerid,
	    const struct bw_domain_info_req *);
/* bwctl show queue: every agent's connections and limit. */
void	 dlv_agent_list(struct bw_peer *, uint32_t peerid);
void	 dlv_agent_init(void);
void	 dlv_agent_drop_jobs(void);
void	 dlv_agent_shutdown(void);

/* ---- recipients per message, messages per minute (deliverd_pace.c) ---- */

int	 dlv_pace_init(struct dlv_agent *);
void	 dlv_pace_free(struct dlv_agent *);
/* Pure: the earliest next start after one at last (0: at once). */
uint64_t dlv_pace_next_ms(uint64_t last, long long per_minute);
/* 1: start a transaction now (counted); 0: wait (the agent runs again). */
int	 dlv_pace_take(struct dlv_agent *);
int	 dlv_pace_may_open(struct dlv_agent *);
/* Set c's recipient slice for a transaction of j. */
void	 dlv_pace_slice(struct dlv_conn *, struct dlv_job *);
/* Recipients left: j back at the head of the agent's queue, 1. */
int	 dlv_pace_requeue(struct dlv_agent *, struct dlv_job *);

/* ---- Good Neighbor's hooks (deliverd_neighbor_agent.c) ---- */

void	 dlv_nbh_init(struct dlv_agent *);
/* May the agent open another connection now (limit, pause)? */
int	 dlv_nbh_may_open(struct dlv_agent *);
/* After the agent opened what it may: blocked, the limit held jobs back. */
void	 dlv_nbh_tick(struct dlv_agent *, int blocked);
/* More connections open than the limit allows: close one that frees. */
int	 dlv_nbh_over(const struct dlv_agent *);
void	 dlv_nbh_refused(struct dlv_conn *, const char *why);
void	 dlv_nbh_ready(struct dlv_conn *);
void	 dlv_nbh_reply(struct dlv_conn *);
void	 dlv_nbh_job_done(struct dlv_conn *, const struct dlv_job *);
struct bw_domain_info;
void	 dlv_nbh_info(struct dlv_agent *, struct bw_domain_info *);

/* ---- SMTP client (deliverd_smtp.c) ---- */

struct dlv_conn *dlv_smtp_open(struct dlv_agent *, int hostidx);
void	 dlv_smtp_job_start(struct dlv_conn *, struct dlv_job *);
void	 dlv_smtp_idle(struct dlv_conn *);
/* QUIT now (the agent holds more connections than it may). */
void	 dlv_smtp_quit(struct dlv_conn *);
/* Close at once (no QUIT); a job on it gets a temporary failure. */
void	 dlv_smtp_abort(struct dlv_conn *, const char *why);
int	 dlv_smtp_is_idle(const struct dlv_conn *);
int	 dlv_smtp_host(const struct dlv_conn *);
int	 dlv_smtp_has_job(const struct dlv_conn *);

/* ---- is a next hop this gateway? (deliverd_self.c) ---- */

struct dlv_ifaddrs {
	int		 n;
	struct {
		int		 family;	/* AF_INET, AF_INET6 */
		unsigned char	 a[16];
	}		 addr[DLV_SELF_IFADDRS_MAX];
	uint64_t	 loaded_ms;		/* bw_now_ms(); 0: never */
};

/* Pure: 1 if a connection to addr:port reaches one of cfg's listeners. */
int	 dlv_self_addr(const struct bw_config *, const struct dlv_ifaddrs *,
	    const char *addr, int port);
/* Pure: 1 if the first word of a greeting or EHLO/HELO reply (text as
 * dlv_reply keeps it, code first) is hostname. */
int	 dlv_self_name(const char *text, const char *hostname);
/* Pure: add one interface address (text) to the list; 0 or -1. */
int	 dlv_self_ifaddr_add(struct dlv_ifaddrs *, const char *addr);
/* This host's interface addresses, read again when old. */
const struct dlv_ifaddrs *dlv_self_ifaddrs(void);

/* ---- runtime redirects (deliverd_redirect.c, bwctl redirect) ---- */
int	 dlv_redirect_table(const struct bw_imsg *);	/* REDIRECT_TABLE */
const struct bw_route_conf *dlv_redirect_find(const char *domain);

/* ---- domain debug transcripts (deliverd_debug.c) ---- */

int	 dlv_debug_table(const struct bw_imsg *);	/* DEBUG_TABLE */
void	 dlv_debug_send(struct dlv_conn *, const char *line, size_t len);
void	 dlv_debug_recv(struct dlv_conn *, const char *line, size_t len);
void	 dlv_debug_data(struct dlv_conn *, size_t body_bytes);
void	 dlv_debug_bdat(struct dlv_conn *, size_t chunk_bytes, int last);
void	 dlv_debug_connect(struct dlv_conn *);
void	 dlv_debug_tls(struct dlv_conn *);
void	 dlv_debug_end(struct dlv_conn *, const char *why);	/* NULL:
							   closed */
void	 dlv_debug_shutdown(void);
void	 dlv_debug_dir_setup(const struct bw_config *, int production);

/* ---- logging (deliverd_log.c) ---- */

const char *dlv_status_log_name(int status);	/* sent, deferred, bounced */
void	 dlv_log_result(const struct dlv_job *, uint32_t idx);

/* A worker process. */
struct dlv_worker {
	struct event_base	*base;
	struct bw_config	*cfg;		/* reload replaces it */
	const char		*basedir;	/* -b, or NULL */
	int			 index;
	char			 proc[BW_NAME_MAX];	/* "deliverd[N]" */
	int64_t			 started;
	int			 shutting_down;
	int			 parent_fd;
	struct event		*ev_parent;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct event		*ev_sighup;
	struct bw_peer		*queued;
	struct bw_peer		*dnscached;
	struct bw_dns_client	*dns;		/* lookups over dnscached */
	struct bw_status_link	*controld;
	/* counters */
	uint64_t		 c_restarts;	/* of this slot, before us */
	uint64_t		 c_queued_connects;
	uint64_t		 c_dnscached_connects;
	uint64_t		 c_jobs;
	uint64_t		 c_delivered;
	uint64_t		 c_deferred;
	uint64_t		 c_bounced;
	uint64_t		 c_connections_opened;
	uint64_t		 c_connections_reused;
	uint64_t		 c_connect_failures;
	uint64_t		 c_tls_sessions;
	uint64_t		 c_tls_fail[DLV_TLS_FAIL__COUNT];
	uint64_t		 c_agents;	/* live agents */
	uint64_t		 c_reload_failures;
	/* delivery state */
	struct dlv_job_list	 assembling;	/* jobs before DLV_END */
	uint64_t		 njobs;		/* jobs held, all states */
	struct event		*gc_timer;
};

extern struct dlv_worker *dlv_env;

/* deliverd_worker.c: never returns. */
void	 dlv_worker_connect_queued(struct dlv_worker *);
int	 dlv_worker_reload(int fd, struct bw_config_reload_result *);
void	 dlv_worker_main(struct bw_config *, const char *basedir, int index,
	    int parent_fd,
	    uint64_t restarts) __attribute__((noreturn));

/* deliverd_imsg.c: the worker's dispatch, one function per peer. */
void	 dlv_queued_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dlv_dnscached_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dlv_queued_state_cb(struct bw_peer *, int, void *);
void	 dlv_dnscached_state_cb(struct bw_peer *, int, void *);
void	 dlv_controld_connect(struct dlv_worker *);

#endif
