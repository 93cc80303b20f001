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
 * messages, body spill), queued_space.c (free space), queued_smtpd.c
 * (submission protocol), queued_ctl.c (status and listings),
 * queued_commit.c (group commit, no DB knowledge).
 */
#ifndef QUEUED_H
#define QUEUED_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <db.h>
#include <event2/event.h>

#include "config.h"
#include "imsg_catalog.h"

struct bw_peer;
struct bw_imsg;
struct qcommit;

#define QUEUED_GATEWAY_DEFAULT	"default"	/* until gateway rules exist */
#define QSTORE_BODY_CHUNK	(64 * 1024)	/* body bytes per store record */
#define QSTORE_VERSION		1		/* of the record layouts below */
#define QSTORE_LOG_BUFFER	(8 * 1024 * 1024)	/* DB log buffer */
#define QUEUED_LIST_STEP	500	/* rows per event-loop turn in listings */
#define QUEUED_QUEUE_ROWS_MAX	10000	/* QUEUE_ENTRY rows per listing */
#define QUEUED_RCPT_ROWS_MAX	10000	/* MESSAGE_RCPT rows per show */
#define QUEUED_LIST_MAX		1000000	/* MESSAGE_LIST_ENTRY rows, limit 0 */

/* ---- store records (native byte order: the spool never moves) ---- */

/* messages: qid (BW_QID_LEN bytes) -> envelope */
struct qenv_rec {
	uint32_t	 version;
	uint32_t	 flags;			/* BW_MSGF_* */
	int64_t		 created;		/* unix time of arrival */
	uint64_t	 size;			/* body bytes */
	uint32_t	 nrcpt;
	uint32_t	 nchunks;		/* body records */
	char		 sender[BW_ADDR_MAX];
	char		 helo[BW_DOMAIN_MAX + 1];
	char		 client_addr[BW_HOSTADDR_MAX];
	char		 client_name[BW_DOMAIN_MAX + 1];
	char		 listener[BW_NAME_MAX];
	char		 gateway[BW_NAME_MAX];
};

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
};

/* queues: gateway NUL domain -> counts; domidx: gateway NUL domain NUL qid
 * -> uint32_t recipients of that message in that queue */
struct qqueue_rec {
	uint32_t	 version;
	uint32_t	 state;			/* enum bw_queue_state */
	uint64_t	 messages;
	uint64_t	 recipients;
	int64_t		 oldest;		/* 0 when empty */
};
#define QQUEUE_KEY_MAX	(BW_NAME_MAX + 1 + BW_DOMAIN_MAX + 1 + BW_QID_LEN)

struct qstore {
	DB_ENV		*env;
	DB		*messages;
	DB		*body;
	DB		*rcpts;
	DB		*queues;
	DB		*domidx;
	int		 lockfd;
};

/* ---- messages being received ---- */

enum qmsg_state {
	QMSG_OPEN,		/* between MSG_OPEN and MSG_COMMIT */
	QMSG_COMMITTING,	/* stored, waiting for the log flush */
};

struct qpeer;

struct qmsg {
	struct qmsg		*hnext;		/* qid hash chain */
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
	char			**rcpts;
	uint32_t		 nrcpt;
	uint32_t		 rcpt_alloc;
	unsigned char		*mem;		/* first part of the body */
	size_t			 memlen;
	size_t			 memcap;
	int			 spill_fd;	/* the rest; -1: none */
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
	struct event_base	*base;
	struct bw_config	 cfg;
	int64_t			 started;
	int			 shutting_down;
	struct bw_peer		*controld;
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
	uint64_t		 c_queued_messages;
	uint64_t		 c_queued_recipients;
	uint64_t		 c_nospace_rejects;
	uint64_t		 c_busy_rejects;
	uint64_t		 c_tempfails;
	uint64_t		 c_spills;
	uint64_t		 c_peers_dropped;
	uint64_t		 c_smtpd_connects;
	uint64_t		 c_controld_connects;
};
extern struct queued *q_env;

/* queued_store.c */
void	 qstore_open(struct qstore *, const struct bw_config *);
void	 qstore_close(struct qstore *);
int	 qstore_flush(void *);		/* qcommit_flush_fn: log_flush */
int	 qstore_msg_put(struct qstore *, struct qmsg *);
int	 qstore_msg_delete(struct qstore *, const char *qid);
int	 qstore_msg_get(struct qstore *, const char *qid, struct qenv_rec *);
int	 qstore_rcpt_get(struct qstore *, const char *qid, uint32_t idx,
	    struct qrcpt_rec *);
uint64_t qstore_body_stored(struct qstore *, const char *qid,
	    uint32_t nchunks);
uint32_t qstore_rcpt_stored(struct qstore *, const char *qid,
	    uint32_t nrcpt);
int	 qstore_count(struct qstore *, uint64_t *msgs, uint64_t *rcpts);
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

/* queued_msg.c */
void	 qmsg_init(size_t max_open);
void	 qmsg_table_free(void);
struct qmsg *qmsg_new(struct qpeer *, const struct bw_msg_open *);
struct qmsg *qmsg_find(const char *qid);
int	 qmsg_rcpt_add(struct qmsg *, const char *rcpt);
int	 qmsg_data_add(struct qmsg *, const void *, size_t);
ssize_t	 qmsg_body_read(struct qmsg *, uint64_t off, void *, size_t);
void	 qmsg_detach(struct qmsg *);
void	 qmsg_free(struct qmsg *);
size_t	 qmsg_open_count(void);

/* queued_space.c */
int	 qspace_ok(const char *spool, long long min_free);

/* queued_smtpd.c */
void	 qsmtpd_state_cb(struct bw_peer *, int, void *);
void	 qsmtpd_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 qsmtpd_commit_cb(evutil_socket_t, short, void *);
void	 qsmtpd_commit_done(void *cookie, int ok, void *arg);
void	 qsmtpd_shutdown(void);

/* queued_ctl.c */
void	 qctl_state_cb(struct bw_peer *, int, void *);
void	 qctl_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 qctl_shutdown(void);

#endif
