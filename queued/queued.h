/*
 * queued: the queue manager.  Private header.
 *
 * queued owns the spool: a transactional Berkeley DB environment that no
 * other process opens.  smtpd submits messages over queued.sock
 * (MSG_OPEN, MSG_RCPT, MSG_DATA, MSG_COMMIT/MSG_ABORT); a message is
 * buffered here until its commit, written in one transaction, made durable
 * by the group-commit flusher (queued_commit.c), and only then acknowledged.
 * controld asks for status and listings over controld.sock.
 *
 * Files: queued.c (main), queued_store.c (environment and databases),
 * queued_queue.c (per-(gateway, domain) records), queued_msg.c (open
 * messages), queued_segment.c (body files), queued_space.c (free space), queued_smtpd.c
 * (submission protocol), queued_ctl.c (status and listings),
 * queued_commit.c (group commit, no DB knowledge), queued_sched.c
 * (per-(gateway, domain) queues in memory, states, timers),
 * queued_dispatch.c (jobs to deliverd workers), queued_result.c
 * (results, deletion, DSN storage), queued_bounce.c (DSN text, pure),
 * queued_retry.c (retry policy, pure), queued_domain.c (DOMAIN_CMD),
 * queued_idle.c (forgetting empty queues), queued_fail.c (leaving after a
 * storage failure), queued_record.c (record layouts, pure),
 * queued_pressure.c and queued_pressure_mark.c (queue pressure told to
 * smtpd), queued_hostcount.c (the per-host counters smtpd asks),
 * queued_quarantine.c and queued_action.c (messages held, deleted or
 * damaged, out of their queues; bwctl delete, bounce, hold, release).
 */
#ifndef QUEUED_H
#define QUEUED_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <db.h>
#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "hashtab.h"
#include "imsg_catalog.h"
#include "status_link.h"
#include "queued_segment.h"

struct bw_peer;
struct bw_imsg;
struct qcommit;

#define QUEUED_GATEWAY_DEFAULT	"default"	/* when rules give none */
#define QSTORE_BODY_CHUNK	(64 * 1024)	/* body bytes per piece, at most */
#define QSTORE_VERSION		6		/* of the record layouts below */
#define QSTORE_VERSION_PACKED	6	/* envelopes and recipients packed */
#define QSTORE_LOG_BUFFER	(8 * 1024 * 1024)	/* DB log buffer */
#define QUEUED_LIST_STEP	500	/* rows per event-loop turn in listings */
#define QUEUED_QUEUE_ROWS_MAX	10000	/* QUEUE_ENTRY rows per listing */
#define QUEUED_RCPT_ROWS_MAX	10000	/* MESSAGE_RCPT rows per show */
#define QUEUED_LIST_MAX		1000000	/* MESSAGE_LIST_ENTRY rows, limit 0 */
#define QUEUED_EXIT_STORAGE	75	/* exit status after a storage failure
					   (EX_TEMPFAIL): restart, recover */
#define QSTORE_FAIL_MAX		256	/* text of the first storage failure */

/*
 * ---- store records (native byte order: the spool never moves) ----
 *
 * A layout grows only at its end, and QSTORE_VERSION with it.  Readers
 * take a record of any size up to the struct's: what an older release
 * did not write reads as zero (version 2 records have no DSN fields: no
 * parameters, no delay warning due; version 3 envelopes no scan flags).
 * Since version 6 envelopes and recipients are stored packed (their
 * numbers, then each string with its NUL: qstore_env_pack) and read back
 * into these structs (qstore_env_load); a record read is rewritten in
 * this release's layout.  Which sizes each version may have is said in
 * one place, queued_record.c.
 */

/* messages: qid (BW_QID_LEN bytes) -> envelope */
struct qenv_rec {
	uint32_t	 version;
	uint32_t	 flags;			/* BW_MSGF_* */
	int64_t		 created;		/* unix time of arrival */
	uint64_t	 size;			/* body bytes */
	uint32_t	 nrcpt;
	uint32_t	 nchunks;		/* body pieces (body.db records) */
	char		 sender[BW_ADDR_MAX];
	char		 helo[BW_DOMAIN_MAX + 1];
	char		 client_addr[BW_HOSTADDR_MAX];
	char		 client_name[BW_DOMAIN_MAX + 1];
	char		 listener[BW_NAME_MAX];
	char		 gateway[BW_NAME_MAX];
	/* version 3: DSN (RFC 3461) */
	uint32_t	 dsn_ret;		/* enum bw_dsn_ret */
	uint32_t	 dsn_flags;		/* QENV_DSN_* */
	int64_t		 delay_due;		/* delays.db key; 0: none */
	char		 envid[BW_DSN_ENVID_MAX + 1];	/* decoded */
	/* version 4: content scans (issue 11), past the end of a version 3
	 * record (its tail padding is too short to hold them) */
	uint32_t	 scan;			/* BW_SCAN_* */
	uint32_t	 pad4;			/* 0 */
};
#define QENV_DSN_DELAY_SENT	0x01	/* the delay warning went out */
#define QENV_REC_V2_SIZE	offsetof(struct qenv_rec, dsn_ret)
#define QENV_REC_V3_SIZE	offsetof(struct qenv_rec, scan)

/* recipients: qid + index (big-endian u32) -> recipient */
struct qrcpt_rec {
	uint32_t	 version;
	uint32_t	 state;			/* enum bw_rcpt_state */
	uint32_t	 attempts;
	uint32_t	 pad;
	int64_t		 next_try;		/* issue 3 */
	char		 rcpt[BW_ADDR_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	char		 gateway[BW_NAME_MAX];
	char		 last_reply[BW_REPLY_TEXT_MAX];
	/* version 3: DSN; written only up to the end of orcpt's text */
	uint32_t	 notify;		/* BW_DSN_NOTIFY_*, 0 none */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];	/* decoded */
};
#define QRCPT_REC_V2_SIZE	offsetof(struct qrcpt_rec, notify)
#define QRCPT_REC_V3_MIN	(offsetof(struct qrcpt_rec, orcpt) + 1)
/* How versions 3 to 5 stored rr: up to the end of its orcpt text. */
#define QRCPT_REC_SIZE(rr)	(offsetof(struct qrcpt_rec, orcpt) + \
				 strnlen((rr)->orcpt, sizeof((rr)->orcpt) - 1) + 1)

/* queues: gateway NUL domain -> counts; domidx: gateway NUL domain NUL qid
 * -> uint32_t recipients of that message in that queue */
struct qqueue_rec {
	uint32_t	 version;
	uint32_t	 state;			/* enum bw_queue_state */
	uint64_t	 messages;
	uint64_t	 recipients;
	int64_t		 oldest;		/* 0 when empty */
	/* scheduling state (issue 3), written in the same transactions */
	int64_t		 next_retry;		/* unix time; down: the probe */
	int64_t		 interval_ms;		/* current domain retry step */
	uint32_t	 retries;		/* domain-level, since down */
	uint32_t	 pad;
	uint64_t	 delivered;
	uint64_t	 hard_bounces;
	uint64_t	 soft_bounces;
	char		 last_error[BW_REPLY_TEXT_MAX];
};
#define QQUEUE_KEY_MAX	(BW_NAME_MAX + 1 + BW_DOMAIN_MAX + 1 + BW_QID_LEN)

/* quarantine: qid -> why the message is out of its queues: bwctl queue
 * repair found it damaged, or an admin held or deleted it
 * (queued_quarantine.c, queued_action.c); its records and pieces stay */
struct qquar_rec {
	uint32_t	 version;
	uint32_t	 kind;			/* QQUAR_*; version 4: pad, 0 */
	int64_t		 when;			/* unix time */
	char		 why[BW_VERIFY_TEXT_MAX];
	/* version 5: held and deleted messages (bwctl hold, delete) */
	int64_t		 expires;		/* deleted: purged then (holdexp
						   key); 0: none */
	char		 who[BW_ACTOR_MAX];	/* who asked */
};
#define QQUAR_DAMAGED		0	/* bwctl queue repair */
#define QQUAR_HELD		1	/* bwctl hold */
#define QQUAR_DELETED		2	/* bwctl delete, until expires */
#define QQUAR_REC_V4_SIZE	offsetof(struct qquar_rec, expires)

/* Body pieces waiting to be released (queued_store.c). */
struct qstore_rel {
	struct qseg_ext	 x;
	uint64_t	 flush;		/* released once this flush is done */
};
struct qstore_rels {
	struct qstore_rel *v;
	size_t		 head;		/* first not yet released */
	size_t		 n;
	size_t		 cap;
};

struct qstore {
	DB_ENV		*env;
	DB		*messages;
	DB		*body;		/* qid + piece -> struct qseg_ext */
	DB		*rcpts;
	DB		*queues;
	DB		*domidx;
	DB		*quarantine;	/* qid -> struct qquar_rec */
	DB		*delays;	/* delay warnings due (queued_delay.c) */
	DB		*holdexp;	/* deleted messages' purge times
					   (queued_action.c) */
	int		 lockfd;
	struct qseg	*seg;		/* the bodies */
	struct qstore_rels staged;	/* deleted in the open transaction */
	struct qstore_rels deferred;	/* deleted, waiting for a log flush */
	uint64_t	 flush_started;	/* flusher thread; atomic */
	uint64_t	 flush_done;	/* last flush that succeeded; atomic */
	int		 failed;	/* a sync failed: sticky; atomic */
};

/* ---- messages being received ---- */

enum qmsg_state {
	QMSG_OPEN,		/* between MSG_OPEN and MSG_COMMIT */
	QMSG_COMMITTING,	/* stored, waiting for the log flush */
};

struct qpeer;

struct qmsg {
	struct bw_hlink		 hlink;		/* by qid */
	TAILQ_ENTRY(qmsg)	 pentry;	/* in its peer's list */
	struct qpeer		*qp;		/* NULL: peer gone */
	enum qmsg_state		 state;
	int			 fail;		/* enum bw_submit_status */
	char			 qid[BW_QID_LEN + 1];
	uint64_t		 reqid;
	int64_t			 created;
	uint32_t		 flags;
	char			 sender[BW_ADDR_MAX];
	char			 helo[BW_DOMAIN_MAX + 1];
	char			 client_addr[BW_HOSTADDR_MAX];
	char			 client_name[BW_DOMAIN_MAX + 1];
	char			 listener[BW_NAME_MAX];
	char			 gateway[BW_NAME_MAX];	/* gateway rules */
	struct bw_config	*cfg;		/* limits it was opened under */
	const struct bw_limit_set *lim;	/* its listener's set in cfg */
	char			**rcpts;
	uint32_t		*notify;	/* per recipient; NULL: none */
	char			**orcpt;	/* per recipient; NULL: none */
	uint32_t		 nrcpt;
	uint32_t		 rcpt_alloc;
	uint32_t		 dsn_ret;	/* enum bw_dsn_ret */
	char			 envid[BW_DSN_ENVID_MAX + 1];
	uint32_t		 scan_flags;	/* BW_SCAN_*, checked */
	unsigned char		*mem;		/* body not yet in a segment */
	size_t			 memlen;
	size_t			 memcap;
	struct qseg_ext		*exts;		/* pieces written, not committed */
	uint32_t		 nexts;
	uint32_t		 exts_cap;
	uint64_t		 size;		/* body bytes received */
};
TAILQ_HEAD(qmsg_list, qmsg);

/* One smtpd connection. */
struct qpeer {
	struct bw_peer		*peer;
	uint32_t		 id;
	struct qmsg_list	 msgs;
};

/* ---- the process ---- */

struct queued {
	struct bw_daemon	 d;	/* base, cfg, started, shutting_down */
	struct bw_status_link	*controld;
	struct qstore		 store;
	struct qcommit		*commit;
	struct event		*ev_commit;
	/* counters (STATUS) */
	uint64_t		 c_messages_accepted;
	uint64_t		 c_messages_aborted;
	uint64_t		 c_commits;		/* from the batcher */
	uint64_t		 c_log_flushes;		/* from the batcher */
	uint64_t		 c_flush_errors;
	uint64_t		 c_largest_batch;
	uint64_t		 c_open_messages;
	uint64_t		 c_committing;		/* waiting for a flush */
	uint64_t		 c_queued_messages;
	uint64_t		 c_queued_recipients;
	uint64_t		 c_nospace_rejects;
	uint64_t		 c_busy_rejects;
	uint64_t		 c_tempfails;
	uint64_t		 c_peers_dropped;
	uint64_t		 c_smtpd_connects;
	uint64_t		 c_bounces;		/* DSNs queued */
	uint64_t		 c_admin_mails;		/* alert mails queued */
	uint64_t		 c_jobs_sent;
	uint64_t		 c_jobs_done;
	uint64_t		 c_jobs_lost;		/* worker gone */
	uint64_t		 c_rcpt_delivered;
	uint64_t		 c_rcpt_deferred;	/* and parked */
	uint64_t		 c_rcpt_bounced;
	uint64_t		 c_domains_down;	/* transitions */
};
extern struct queued *q_env;

/* queued_store.c */
void	 qstore_open(struct qstore *, const struct bw_config *);
void	 qstore_close(struct qstore *);
int	 qstore_flush(void *);		/* qcommit_flush_fn: log_flush */
void	 qstore_fail(struct qstore *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 qstore_failed(struct qstore *);
void	 qstore_fail_reason(char *dst, size_t dstsz);
int	 qstore_msg_put(struct qstore *, struct qmsg *);
int	 qstore_msg_delete(struct qstore *, const char *qid);
int	 qstore_msg_delete_txn(struct qstore *, DB_TXN *, const char *qid);
void	 qstore_txn_end(struct qstore *, int committed);
void	 qstore_release_flushed(struct qstore *);
void	 qstore_punch_schedule(struct qstore *, struct event_base *);
void	 qstore_punch_shutdown(struct qstore *);
int	 qstore_msg_get(struct qstore *, const char *qid, struct qenv_rec *);
ssize_t	 qstore_body_chunk(struct qstore *, const char *qid, uint32_t idx,
	    void *, size_t);
int	 qstore_rcpt_get(struct qstore *, const char *qid, uint32_t idx,
	    struct qrcpt_rec *);
uint64_t qstore_body_stored(struct qstore *, const char *qid,
	    uint32_t nchunks);
uint32_t qstore_rcpt_stored(struct qstore *, const char *qid,
	    uint32_t nrcpt);
int	 qstore_count(struct qstore *, uint64_t *msgs, uint64_t *rcpts);
int	 qstore_quarantined(struct qstore *, const char *qid);
/*
 * queued_record.c: the record layouts this release reads (0, or -1 with
 * why filled) and the envelope it writes.
 */
int	 qstore_env_read(const DBT *, struct qenv_rec *, char *why, size_t);
int	 qstore_rcpt_read(const DBT *, struct qrcpt_rec *, char *why, size_t);
size_t	 qstore_env_pack(const struct qenv_rec *, void *buf);
size_t	 qstore_rcpt_pack(const struct qrcpt_rec *, void *buf);
int	 qstore_env_load(struct qenv_rec *, size_t size);
int	 qstore_rcpt_load(struct qrcpt_rec *, size_t size);
int	 qstore_ext_read(const DBT *, struct qseg_ext *, char *why, size_t);
int	 qstore_quar_read(const DBT *, struct qquar_rec *, char *why, size_t);
void	 qstore_env_fill(struct qenv_rec *, const struct qmsg *);
void	 qstore_env_upgrade(struct qenv_rec *, size_t size);
void	 qstore_dbt_user(DBT *, void *, uint32_t);
#define QSTORE_KEY_MAX	(BW_QID_LEN + 4)	/* qid + big-endian index */
void	 qstore_key_idx(DBT *, unsigned char kbuf[QSTORE_KEY_MAX],
	    const char *qid, uint32_t idx);
void	 qstore_put_u32be(unsigned char *, uint32_t);
uint32_t qstore_get_u32be(const unsigned char *);

/* queued_queue.c */
size_t	 qqueue_key(char *dst, size_t dstsz, const char *gw,
	    const char *domain);
void	 qqueue_rcpt_domain(char *dst, size_t dstsz, const char *rcpt,
	    const char *fallback);
int	 qqueue_add(struct qstore *, DB_TXN *, const char *gw,
	    const char *domain, const char *qid, uint32_t nrcpt,
	    int64_t created);
int	 qqueue_remove(struct qstore *, DB_TXN *, const char *gw,
	    const char *domain, const char *qid);
int	 qqueue_entry_from(const DBT *key, const DBT *data,
	    struct bw_queue_entry *);
struct qsq;
int	 qqueue_state_put(struct qstore *, DB_TXN *, const struct qsq *);

/* ---- scheduling (issue 3) ---- */

#define QSCHED_DISPATCH_STEP	200	/* jobs sent per event-loop turn */
#define QSCHED_EXPIRE_STEP	500	/* parked messages expired per turn */
#define QSCHED_HEADERS_MAX	(32 * 1024)	/* original headers in a DSN */
#define QSCHED_RETURN_FULL_MAX	(1024 * 1024)	/* RET=FULL returns a message
					   up to this size whole, a larger one
					   by its headers (Postfix and Exim
					   cut at tens of KiB) */
#define QSCHED_FLUSH_MS		200	/* result txns flushed this often */

enum qsitem_where {
	QSI_READY,		/* in q->ready (or parked: q not active) */
	QSI_DEFERRED,		/* in q->heap until next_try */
	QSI_INFLIGHT,		/* a job holds it */
};

/* One message in one (gateway, domain) queue. */
struct qsitem {
	TAILQ_ENTRY(qsitem)	 entry;
	struct qsq		*q;
	char			 qid[BW_QID_LEN + 1];
	int			 where;		/* enum qsitem_where */
	int64_t			 created;
	int64_t			 next_try;	/* deferred: unix time */
	uint32_t		 attempts;
	size_t			 heapidx;
};
TAILQ_HEAD(qsitem_list, qsitem);

/* queued_top.c: a queue's results per minute, for the monitor. */
enum { QTOP_DELIVERED, QTOP_DEFERRED, QTOP_BOUNCED, QTOP_WIN_KINDS };
struct qtop_win {
	int64_t		 minute;		/* unix time cur began */
	uint64_t	 cur[QTOP_WIN_KINDS];	/* recipients, this minute */
	uint64_t	 last[QTOP_WIN_KINDS];	/* the minute before */
	uint64_t	 lat[BW_LAT_BUCKETS];	/* delivered, by latency */
	uint32_t	 sent;			/* BW_TOP_*, during a reply */
};

/* One (gateway, domain) queue, in memory; queues.db mirrors its state. */
struct qsq {
	struct bw_hlink		 hlink;		/* by (gateway, domain) */
	TAILQ_ENTRY(qsq)	 allentry;	/* every queue */
	TAILQ_ENTRY(qsq)	 runentry;	/* run list or a worker's wait */
	int			 onrun;		/* 0, 1 run list, 2 waiting */
	char			 gateway[BW_NAME_MAX];
	char			 domain[BW_DOMAIN_MAX + 1];
	uint32_t		 state;		/* enum bw_queue_state */
	int64_t			 next_retry;
	int64_t			 interval_ms;
	uint32_t		 retries;
	uint64_t		 delivered;
	uint64_t		 hard_bounces;
	uint64_t		 soft_bounces;
	char			 last_error[BW_REPLY_TEXT_MAX];
	struct qsitem_list	 ready;
	size_t			 nready;
	struct qsitem		**heap;		/* deferred, by next_try */
	size_t			 nheap;
	size_t			 heapcap;
	size_t			 nitems;	/* all its items */
	uint32_t		 inflight;	/* jobs */
	const struct bw_limit_set *lim;	/* its destination's set, in
					   q_env->d.cfg (a reload re-points) */
	int			 probing;	/* the probe job is out */
	int			 expiring;	/* a retry walk in progress */
	struct event		*ev_retry;	/* domain retry (down) */
	struct event		*ev_defer;	/* earliest deferred item */
	uint64_t		 idle_since;	/* ms, queued_idle.c; 0: busy */
	struct qtop_win		 top;		/* queued_top.c */
};

/* queued_retry.c: pure policy */
enum qretry_decision { QRETRY_DEFER, QRETRY_BOUNCE_RETRIES,
	QRETRY_BOUNCE_AGE };
long long qretry_interval(long long initial, long long max, uint32_t n);
int	 qretry_expired(int64_t created, int64_t now, long long max_age_ms);
int	 qretry_decide(uint32_t attempts, int max_retries, int64_t created,
	    int64_t now, long long max_age_ms);

/* queued_bounce.c: RFC 3464 text, pure */
enum qbounce_action {		/* RFC 3464 2.3.3 Action */
	QBOUNCE_FAILED = 0,
	QBOUNCE_DELAYED,
	QBOUNCE_RELAYED,	/* to a next hop without DSN (RFC 3461 6.2.2) */
	QBOUNCE_DELIVERED,	/* final delivery: none in a pure relay */
};
struct qbounce_rcpt {
	const char	*rcpt;
	const char	*dsn;		/* "5.1.1", "4.4.1", "2.0.0" */
	const char	*relay;		/* host[addr]:port or "" */
	const char	*reply;		/* remote reply or reason */
	const char	*note;		/* our reason to give up, or NULL */
	int		 action;	/* enum qbounce_action */
	const char	*orcpt;		/* "type;address" (decoded) or NULL */
	int64_t		 retry_until;	/* delayed: unix time; 0 none */
};
struct qbounce_in {
	const char		*hostname;	/* Reporting-MTA */
	const char		*qid;		/* original message */
	const char		*sender;	/* the DSN goes to it */
	int64_t			 arrival;
	int64_t			 now;
	const struct qbounce_rcpt *rcpts;
	size_t			 nrcpt;
	const char		*headers;	/* original header block */
	size_t			 headerslen;
	const char		*boundary;	/* unique per DSN */
	const char		*envid;		/* Original-Envelope-Id or NULL */
	const char		*body;		/* RET=FULL: the whole message */
	size_t			 bodylen;	/* (then headers are not used) */
};
char	*qbounce_build(const struct qbounce_in *, size_t *lenp);

/* The gateway of a domain's "suspended on every gateway" record. */
#define QSCHED_ALL_GATEWAYS	"*"

/* queued_sched.c */
void	 qsched_init(struct event_base *);
void	 qsched_load(void);
int	 qsched_suspended_everywhere(const struct qsq *);
void	 qsched_shutdown(void);
struct qsq *qsched_queue_find(const char *gw, const char *domain);
struct qsq *qsched_queue_get(const char *gw, const char *domain);
void	 qsched_msg_added(const char *qid, int64_t created, const char *gw,
	    char **rcpts, uint32_t nrcpt);
void	 qsched_item_ready(struct qsitem *, int front);
void	 qsched_item_defer(struct qsitem *, int64_t when);
void	 qsched_item_free(struct qsitem *);
void	 qsched_queue_down(struct qsq *, const char *reason);
void	 qsched_queue_up(struct qsq *);
void	 qsched_queue_retry_now(struct qsq *);
void	 qsched_queue_suspend(struct qsq *);
void	 qsched_queue_resume(struct qsq *);
void	 qsched_queue_kick(struct qsq *);
int	 qsched_queue_persist(struct qsq *);
const struct bw_profile_conf *qsched_profile(const struct qsq *);
void	 qsched_flush_request(void);
int	 qsched_flush_cookie(void *);
uint32_t qsched_queue_worker(const struct qsq *);
struct qsq *qsched_first(void);
struct qsq *qsched_next(struct qsq *);
int	 qsched_queue_idle(const struct qsq *);
void	 qsched_queue_free(struct qsq *);
size_t	 qsched_count(void);
struct qsitem *qsched_item_find(struct qsq *, const char *qid);
int	 qsched_item_add(const char *qid, int64_t created, const char *gw,
	    const char *domain);

/* queued_idle.c: forget queues that stay empty */
void	 qidle_init(struct event_base *, long long forget_ms);
void	 qidle_shutdown(void);
uint64_t qidle_forgotten(void);

/* queued_dispatch.c */
void	 qdispatch_init(struct event_base *, uint32_t nworkers);
void	 qdispatch_shutdown(void);
void	 qdispatch_state_cb(struct bw_peer *, int up);
void	 qdispatch_msg_cb(struct bw_peer *, struct bw_imsg *);
void	 qdispatch_run(struct qsq *);
void	 qdispatch_probe(struct qsq *);
void	 qdispatch_retry(struct qsq *);
uint32_t qdispatch_nworkers(void);
int	 qdispatch_busy(const char *qid);

/* One job out to a deliverd worker: one message, one queue. */
struct qjres {
	int		 status;		/* enum bw_dlv_status; -1 none */
	char		 dsn[BW_DSN_CODE_MAX];
	char		 relay[BW_RELAY_TEXT_MAX];
	char		 reply[BW_REPLY_TEXT_MAX];
	uint32_t	 flags;			/* BW_DLVR_* */
	char		 tls[BW_TLS_TEXT_MAX];	/* "tls=..." or "" */
};
struct qjob {
	TAILQ_ENTRY(qjob)	 entry;
	uint64_t		 jobid;
	struct qsitem		*it;
	uint32_t		 worker;
	uint32_t		 flags;		/* BW_DLVF_* of the job */
	uint32_t		 nrcpt;
	uint32_t		*ridx;		/* store index of job rcpt i */
	struct qjres		*res;
};

/* queued_result.c */
void	 qresult_job_done(struct qjob *, const struct bw_dlv_done *);
void	 qresult_item_bounce_all(struct qsitem *, const char *why,
	    const char *dsn);
int	 qresult_dsn_send(const struct qenv_rec *, const char *qid,
	    const struct qbounce_rcpt *, size_t n);

/* queued_delay.c: delay warnings, one timer over a time-ordered index */
#define QDELAY_STEP		200	/* warnings sent per event-loop turn */
#define QDELAY_ERROR_RETRY_MS	60000	/* after a store error */
void	 qdelay_init(struct event_base *);
void	 qdelay_shutdown(void);
int64_t	 qdelay_due(const struct qmsg *);
int	 qdelay_index_put(struct qstore *, DB_TXN *, const char *qid,
	    int64_t due);
int	 qdelay_index_del(struct qstore *, DB_TXN *, const char *qid,
	    int64_t due);
void	 qdelay_note(int64_t due);

/* queued_domain.c */
void	 qdomain_cmd(struct bw_peer *, uint32_t reqid, struct bw_imsg *);

/* queued_msg.c */
void	 qmsg_init(size_t max_open);
void	 qmsg_table_free(void);
struct qmsg *qmsg_new(struct qpeer *, const struct bw_msg_open *);
struct qmsg *qmsg_find(const char *qid);
int	 qmsg_rcpt_add(struct qmsg *, const char *rcpt, uint32_t notify,
	    const char *orcpt);
int	 qmsg_data_add(struct qmsg *, const void *, size_t);
int	 qmsg_body_flush(struct qmsg *);
void	 qmsg_body_release(struct qmsg *);
void	 qmsg_detach(struct qmsg *);
void	 qmsg_free(struct qmsg *);
size_t	 qmsg_open_count(void);

/* queued_space.c */
int	 qspace_ok(const char *spool, long long min_free);
int	 qspace_free(const char *spool, uint64_t *free_bytes);
void	 qspace_recheck(void);

/* ---- queue pressure (issue 11): told to smtpd, which sheds load ---- */

#define QPRESSURE_CHECK_MS	1000	/* the conditions are checked this
					   often (statvfs is cached as long) */
#define QPRESSURE_MARGIN_PCT	10	/* a condition ends this far (of its
					   mark) on the good side of it */
#define QPRESSURE_DISK_FACTOR	2	/* hard below this many times
					   queue_min_free_space */

enum qpressure_cond {
	QPRESSURE_DISK = 0,	/* hard */
	QPRESSURE_QUEUED,	/* soft */
	QPRESSURE_OPEN,		/* soft */
	QPRESSURE_COND__COUNT
};

struct qpressure_in {
	uint64_t	 free_bytes;
	int		 free_known;	/* 0: statvfs failed, keep the state */
	long long	 min_free;	/* queue_min_free_space; 0: off */
	uint64_t	 queued;
	long long	 queued_mark;	/* queue_pressure_messages; 0: off */
	uint64_t	 open;
	long long	 open_mark;	/* queue_pressure_open_messages */
};

struct qpressure {
	int		 on[QPRESSURE_COND__COUNT];
	int		 level;		/* enum bw_pressure_level */
	int		 cond;		/* the reason's; -1 at none */
	char		 reason[BW_PRESSURE_REASON_MAX];
};

/* queued_pressure_mark.c: the decision, pure */
int	 qpressure_eval(struct qpressure *, const struct qpressure_in *);
const char *qpressure_cond_name(int);

/* queued_pressure.c: the periodic check, its log line, the push */
void	 qpressure_init(struct event_base *);
void	 qpressure_shutdown(void);
void	 qpressure_check(void);
void	 qpressure_send(struct bw_peer *);
void	 qpressure_status(struct bw_status *);

/* queued_smtpd.c */
void	 qsmtpd_state_cb(struct bw_peer *, int, void *);
void	 qsmtpd_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 qsmtpd_commit_cb(evutil_socket_t, short, void *);
void	 qsmtpd_commit_done(void *cookie, int ok, void *arg);
void	 qsmtpd_flush_replies(void);
void	 qsmtpd_shutdown(void);
void	 qsmtpd_broadcast(uint32_t type, const void *, size_t);

/* queued_check.c: MSG_COMMIT_CHECK answers */
void	 qcheck_init(long long window_ms);
void	 qcheck_note_gone(const char *qid);
int	 qcheck_committed(const char *qid);
void	 qcheck_shutdown(void);

/* queued_quarantine.c: bwctl queue repair's quarantine, and the hold
 * area of held and deleted messages (the same records, another kind) */
#define QQUAR_QUEUES_MAX	64	/* distinct (gateway, domain) per message
					   handled here; more stay queued */
struct qquar_q {
	char		 gw[BW_NAME_MAX];
	char		 dom[BW_DOMAIN_MAX + 1];
	uint32_t	 nrcpt;		/* pending recipients in it */
};
size_t	 qquar_queues(const char *qid, struct qquar_q *, size_t max,
	    uint32_t *pending);
int	 qquar_get(const char *qid, struct qquar_rec *);
int	 qquar_put(const char *qid, const char *why);
int	 qquar_move(const char *qid, const struct qquar_rec *, int flush);
int	 qquar_rekind(const char *qid, const struct qquar_rec *old,
	    const struct qquar_rec *rec, int flush);
int	 qquar_release(const char *qid, int flush);
int	 qquar_remove_txn(DB_TXN *, const char *qid);
int	 qquar_commit(DB_TXN *, const char *qid, const char *what, int flush);
void	 qquar_cmd(struct bw_peer *, uint32_t reqid, uint32_t op,
	    const char *qid);

/* queued_action.c: bwctl delete, undelete, bounce, hold, release */
#define QUEUED_ACTION_MAX	100000	/* messages one request acts on */
#define QACT_STEP		200	/* records walked per event-loop turn */
#define QACT_WALKS_MAX		8	/* walks in progress at once */
#define QACT_PURGED_MAX		4096	/* purged qids remembered, to answer
					   a late undelete "expired" */
#define QACT_ERROR_RETRY_MS	60000	/* purge after a store error */
void	 qact_init(struct event_base *);
void	 qact_shutdown(void);
void	 qact_cmd(struct bw_peer *, uint32_t reqid, struct bw_imsg *);
void	 qact_peer_gone(void);
int	 qact_expiry_put(DB_TXN *, const char *qid, int64_t expires);
int	 qact_expiry_del(DB_TXN *, const char *qid, int64_t expires);
void	 qact_expiry_note(int64_t expires);

/* queued_verify.c: bwctl queue verify and repair */
#define QVERIFY_STEP_MSGS	200		/* envelopes per turn */
#define QVERIFY_STEP_BYTES	(4 * 1024 * 1024)	/* body read per turn */
#define QVERIFY_STEP_KEYS	2000		/* index records per turn */
#define QVERIFY_ROWS_PER_MSG	8		/* problems told per message */
#define QVERIFY_ROWS_MAX	100000		/* rows per run */
void	 qverify_cmd(struct bw_peer *, uint32_t reqid, struct bw_imsg *);
void	 qverify_shutdown(void);

/* queued_fail.c */
void	 qfail_storage(void) __attribute__((noreturn));

/* queued_hostcount.c: the per-host counters' owner */
#define QUEUED_SENDERS_MAX	1000	/* rows of one bwctl show senders */
void	 qhost_init(struct event_base *, const struct bw_config *);
void	 qhost_reload(const struct bw_config *);
void	 qhost_shutdown(void);
void	 qhost_take(struct bw_peer *, struct bw_imsg *);
void	 qhost_release(struct bw_peer *, struct bw_imsg *);
void	 qhost_owner_gone(struct bw_peer *);
void	 qhost_list(struct bw_peer *, uint32_t reqid, struct bw_imsg *);
void	 qhost_status(struct bw_status *);

/* queued_top.c: QUEUE_TOP_REQ, the monitor's view */
int	 qtop_lat_bucket(int64_t seconds);
void	 qtop_win_roll(struct qtop_win *, int64_t now);
void	 qtop_note(struct qsq *, uint32_t delivered, uint32_t deferred,
	    uint32_t bounced, int64_t latency);
void	 qtop_totals(struct bw_queue_top_end *);
void	 qtop_status(struct bw_status *);
void	 qtop_req(struct bw_peer *, uint32_t reqid, struct bw_imsg *);

/* queued_ctl.c */
/* queued_adminmail.c: controld's alert mail, stored like a DSN */
void	 qadmin_mail(struct bw_peer *, uint32_t reqid, struct bw_imsg *);

/* queued_event.c: a queue went down or came up (QUEUE_EVENT) */
void	 qevent_queue_state(const struct qsq *);

void	 qctl_connect(struct queued *);
void	 qctl_shutdown(void);

#endif
