/*
 * controld: the admin side of Breakwater.  Private header.
 *
 * controld serves two sockets.  controld.sock takes the daemons (smtpd,
 * queued, deliverd workers, dnscached), which answer STATUS_REQ; control.sock
 * takes bwctl, whose CTL_CMD requests controld answers itself (status) or
 * forwards to queued (queue and message listings).  Every bwctl request has
 * an id, carried to queued in hdr.peerid so that replies of concurrent
 * requests are matched, and a deadline (ctl_timeout).
 */
#ifndef CONTROLD_H
#define CONTROLD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "imsg_catalog.h"

struct bw_imsg;
struct bw_peer;
struct event;
struct event_base;
struct evbuffer;

#define CTL_STATUS_WAIT_MS	2000	/* status waits this long for daemons */
#define CTL_REQUESTS_MAX	64	/* bwctl requests in flight at once */
#define CTL_QUEUE_ROWS_MAX	100000	/* show queue: rows kept for sorting */
#define CTL_RCPTS_MAX		10000	/* show message: recipients listed */
#define CTL_LIST_DEFAULT	1000	/* list messages without a LIMIT */
#define CTL_LIST_MAX		100000	/* list messages: largest LIMIT */
#define CTL_DAEMONS_MAX		1024	/* status rows (workers on big hosts) */

/* A daemon connected on controld.sock. */
struct ctl_daemon {
	TAILQ_ENTRY(ctl_daemon)	 entry;
	struct bw_peer		*peer;
	uint32_t		 peerid;	/* bw_peer_id() */
	int			 role;
	pid_t			 pid;
	uint32_t		 worker;
	char			 proc[BW_NAME_MAX];	/* from its last STATUS */
};
TAILQ_HEAD(ctl_daemon_list, ctl_daemon);

/* A growable array of fixed-size rows with a ceiling. */
struct ctl_rows {
	void			*v;
	size_t			 n;
	size_t			 cap;
	size_t			 elsz;
	size_t			 max;
	int			 truncated;	/* rows beyond max were dropped */
};

enum ctl_req_kind {
	CTL_REQ_STATUS,
	CTL_REQ_QUEUE,
	CTL_REQ_MESSAGE,
	CTL_REQ_LIST,
	CTL_REQ_DNS_SHOW,	/* show dns: dnscached's STATUS */
	CTL_REQ_DNS_FLUSH,	/* dns flush */
	CTL_REQ_DOMAIN,		/* show domain, retry, suspend, resume */
	CTL_REQ_RELOAD,		/* config reload */
	CTL_REQ_VERIFY,		/* queue verify, repair, quarantine, ... */
	CTL_REQ_SENDERS,	/* show senders: queued's per-host counters */

	CTL_REQ_TRACE,		/* trace ADDRESS: smtpd's probe */
	CTL_REQ_DEBUG,		/* debug: answered at once */
	CTL_REQ_QACT,		/* delete, bounce, hold, ...: queued's */
	CTL_REQ_ALERTS,		/* show alerts: answered at once */
};

/* One daemon's answer to a reload. */
struct ctl_reload_row {
	uint32_t			 peerid;
	char				 proc[BW_NAME_MAX];
	struct bw_config_reload_result	 res;
};

/* One error of a configuration that did not check. */
struct ctl_reload_error {
	char			 text[BW_CONFIG_LINE_MAX];
};

/* One status answer and who gave it. */
struct ctl_status_row {
	uint32_t		 peerid;
	struct bw_status	 st;
};

/* One bwctl request in flight. */
struct ctl_req {
	TAILQ_ENTRY(ctl_req)	 entry;
	uint32_t		 id;		/* hdr.peerid towards queued */
	struct bw_peer		*client;	/* NULL once bwctl went away */
	enum ctl_req_kind	 kind;
	int			 json;
	uint64_t		 started_ms;
	struct event		*timer;
	struct evbuffer		*out;
	/* status */
	uint32_t		*asked;		/* daemon peer ids asked */
	size_t			 nasked;
	struct ctl_rows		 status;	/* struct ctl_status_row */
	/* show queue */
	struct ctl_rows		 queues;	/* struct bw_queue_entry */
	struct bw_queue_end	 qend;
	struct ctl_rows		 agents;	/* bw_agent_entry, deliverd's;
						   also queued_done and
						   workers_left below */
	/* show message */
	char			 qid[BW_QID_LEN + 1];
	struct bw_message_info	 info;
	int			 have_info;
	struct ctl_rows		 rcpts;		/* struct bw_message_rcpt */
	/* list messages */
	struct ctl_rows		 msgs;		/* struct bw_message_list_entry */
	struct bw_message_list_end lend;
	/* domain commands (controld_domain.c) */
	uint32_t		 dop;		/* enum bw_domain_cmd_op */
	char			 domain[BW_DOMAIN_MAX + 1];
	int			 queued_done;	/* its last reply came */
	size_t			 workers_left;	/* deliverd INFO_END due */
	struct ctl_rows		 dqueues;	/* bw_domain_cmd_reply */
	struct ctl_rows		 dinfos;	/* bw_domain_info */
	struct ctl_rows		 dhosts;	/* bw_domain_host */
	/* config reload */
	struct bw_config_reload_result self;	/* controld's own */
	struct ctl_rows		 reloads;	/* struct ctl_reload_row */
	struct ctl_rows		 rerrors;	/* struct ctl_reload_error */
	/* queue verify and friends (controld_verify.c) */
	uint32_t		 vop;		/* enum bw_verify_op */
	struct ctl_rows		 vrows;		/* bw_queue_verify_row */
	/* show senders (controld_senders.c) */
	struct ctl_rows		 senders;	/* bw_hostcount_entry */
	struct bw_hostcount_end	 send;
	/* delete, bounce, hold, ... (controld_qact.c) */
	struct ctl_qact		*qact;
	/* an internal caller (the monitor's pages) instead of bwctl: gets
	 * the output when the request finishes */
	void			(*done_cb)(struct evbuffer *, int exitcode,
				    void *);
	void			*done_arg;
};
TAILQ_HEAD(ctl_req_list, ctl_req);

struct controld {
	struct bw_daemon	 d;	/* cfg, base, started, shutting_down */
	struct ctl_daemon_list	 daemons;
	struct ctl_req_list	 reqs;
	size_t			 nreqs;
	uint32_t		 next_reqid;
	gid_t			 admin_gid;	/* (gid_t)-1: no admin group */
	int			 have_admin_gid;
	struct ctl_req		*reload_req;	/* the reload in progress */
	/* counters */
	uint64_t		 c_requests;
	uint64_t		 c_requests_failed;
	uint64_t		 c_requests_timeout;
	uint64_t		 c_clients;
	uint64_t		 c_clients_denied;
};
extern struct controld *ctl_env;

/* controld_imsg.c: one dispatch function per kind of peer. */
void	 ctl_daemon_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 ctl_daemon_state_cb(struct bw_peer *, int, void *);
void	 ctl_client_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 ctl_client_state_cb(struct bw_peer *, int, void *);
struct ctl_daemon *ctl_daemon_find_role(int role);
int	 ctl_client_allowed(pid_t pid, const char **why);
int	 ctl_client_uid(pid_t pid, uid_t *uid);

/* controld_req.c: request lifecycle. */
struct ctl_req *ctl_req_new(struct bw_peer *client, enum ctl_req_kind, int json);
struct ctl_req *ctl_req_find(uint32_t id);
void	 ctl_req_arm(struct ctl_req *, uint64_t ms);
void	 ctl_req_finish(struct ctl_req *, int exitcode);
void	 ctl_req_fail(struct ctl_req *, int exitcode, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ctl_req_client_gone(struct bw_peer *);
void	 ctl_req_queued_gone(void);
void	 ctl_reply_error(struct bw_peer *, int exitcode, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ctl_rows_init(struct ctl_rows *, size_t elsz, size_t max);
int	 ctl_rows_add(struct ctl_rows *, const void *row);
void	 ctl_rows_free(struct ctl_rows *);

/* controld_cmd.c: parse a CTL_CMD and start the command. */
void	 ctl_cmd_dispatch(struct bw_peer *, const struct bw_ctl_cmd *);

/* controld_status.c */
void	 ctl_status_start(struct ctl_req *);
void	 ctl_status_reply(struct ctl_req *, uint32_t peerid,
	    const struct bw_status *);
void	 ctl_status_check_done(struct ctl_req *);
void	 ctl_status_render(struct ctl_req *);
void	 ctl_status_self(struct bw_status *);

/* controld_queue.c: requests forwarded to queued. */
void	 ctl_queue_start(struct ctl_req *);
void	 ctl_message_start(struct ctl_req *, const char *qid);
void	 ctl_list_start(struct ctl_req *, uint64_t limit);
void	 ctl_queue_msg(struct ctl_req *, struct bw_imsg *);
void	 ctl_queue_timeout(struct ctl_req *);
/* show queue: deliverd workers' AGENT_ENTRY/AGENT_END, a worker gone. */
void	 ctl_queue_agent_msg(struct ctl_req *, struct bw_imsg *);
void	 ctl_queue_worker_gone(void);

/* controld_dns.c: requests forwarded to dnscached. */
void	 ctl_dns_show_start(struct ctl_req *);
void	 ctl_dns_flush_start(struct ctl_req *);
void	 ctl_dns_status(struct ctl_req *, const struct bw_status *);
void	 ctl_dns_msg(struct ctl_req *, struct bw_imsg *);
void	 ctl_dns_timeout(struct ctl_req *);
void	 ctl_dns_gone(void);

/* controld_domain.c: show domain, retry, suspend, resume. */
#define CTL_DOMAIN_ROWS_MAX	1024	/* queue/info/host rows per domain */
void	 ctl_domain_start(struct ctl_req *, uint32_t op, const char *domain);
void	 ctl_domain_msg(struct ctl_req *, struct bw_peer *, struct bw_imsg *);
void	 ctl_domain_timeout(struct ctl_req *);
void	 ctl_domain_worker_gone(void);

/* controld_reload.c: config reload. */
void	 ctl_reload_start(struct ctl_req *);
void	 ctl_reload_result(struct bw_peer *, struct bw_imsg *);
void	 ctl_reload_request(struct bw_peer *);
void	 ctl_reload_check_done(struct ctl_req *);
void	 ctl_reload_timeout(struct ctl_req *);

/* controld_verify.c: bwctl queue verify, repair, quarantine, release,
 * delete. */
#define CTL_VERIFY_ROWS_MAX	100000	/* rows kept for one answer */
#define CTL_EXIT_DAMAGE		3	/* verify found damage (bwctl.h) */
void	 ctl_verify_start(struct ctl_req *, uint32_t op, const char *qid);
void	 ctl_verify_msg(struct ctl_req *, struct bw_imsg *);

/* controld_senders.c: show senders. */
#define CTL_SENDERS_DEFAULT	20	/* rows without -n */
#define CTL_SENDERS_MAX		1000	/* queued's QUEUED_SENDERS_MAX */
void	 ctl_senders_cmd(struct bw_peer *, const struct bw_ctl_cmd *, int json);
void	 ctl_senders_msg(struct ctl_req *, struct bw_imsg *);

/* controld_trace.c: bwctl trace, answered by smtpd. */
void	 ctl_trace_start(struct ctl_req *, const struct bw_trace_req *);
void	 ctl_trace_msg(struct ctl_req *, struct bw_imsg *);
void	 ctl_trace_timeout(struct ctl_req *);
void	 ctl_trace_smtpd_gone(void);

/* controld_debug.c: bwctl debug, the table deliverd's workers get. */
void	 ctl_debug_cmd(struct bw_peer *, const struct bw_ctl_cmd *, int json);
void	 ctl_debug_worker_up(struct bw_peer *);
void	 ctl_debug_free(void);

/* controld_qact.c: delete, undelete, bounce, hold, release, show held. */
#define CTL_QACT_ROWS_MAX	100000	/* messages told per request */
struct ctl_qact;
int	 ctl_qact_is_cmd(const struct bw_ctl_cmd *);
void	 ctl_qact_cmd(struct bw_peer *, const struct bw_ctl_cmd *, int json);
void	 ctl_qact_msg(struct ctl_req *, struct bw_imsg *);
void	 ctl_qact_timeout(struct ctl_req *);
void	 ctl_qact_free(struct ctl_req *);

/* controld_redirect.c: bwctl redirect, the table deliverd's workers get. */
void	 ctl_redirect_start(const struct bw_config *);
void	 ctl_redirect_cmd(struct bw_peer *, const struct bw_ctl_cmd *, int json);
void	 ctl_redirect_worker_up(struct bw_peer *);

/* controld_fmt.c: shared text formatting. */
void	 ctl_fmt_age(char *dst, size_t dstsz, int64_t seconds);
void	 ctl_fmt_time(char *dst, size_t dstsz, int64_t unixtime);

#endif
