/*
 * controld: the admin side of Breakwater.  Private header.
 *
 * controld serves two sockets.  controld.sock takes the daemons (smtpd,
 * queued, deliverd workers, dnscached), which answer STATUS_REQ; control.sock
 * takes bwctl, whose CTL_CMD requests controld answers itself (status) or
 * forwards to the daemons.  Commands are rows of one table (ctl_cmdtab.c:
 * names, rights, arguments, help) with handlers here (ctl_cmd_ops[]); a
 * command writes its answer to a ctl_out document, rendered as text or
 * JSON (or HTML, Prometheus) for a target: bwctl or a caller inside
 * controld.  Every request has an id, carried to the daemons in
 * hdr.peerid so that replies of concurrent requests are matched, and a
 * deadline (ctl_timeout).
 */
#ifndef CONTROLD_H
#define CONTROLD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "imsg_catalog.h"
#include "ctl_cmdtab.h"
#include "ctl_fmt.h"
#include "ctl_out.h"
#include "ctl_out_html.h"

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

/* Who asked, for rights and for log lines ("who asked"). */
#define CTL_WHO_MAX		192	/* "web user=U addr=A": both bounded */
struct ctl_principal {
	char			 name[CTL_WHO_MAX];	/* "bwctl uid=0 pid=42" */
	unsigned		 may;			/* CTL_MAY_* */
};

/* A bwctl connection admitted at HELLO, and what it may do. */
struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct bw_peer		*peer;
	struct ctl_principal	 who;
};
TAILQ_HEAD(ctl_client_list, ctl_client);

/*
 * Where an answer goes (controld_target.c): a bwctl connection (CTL_OUTPUT
 * chunks, then CTL_DONE) or a caller inside controld (the web pages,
 * /metrics), whose callback gets the whole answer once.  The buffer is
 * the caller's only during the call.
 */
typedef void (*ctl_done_cb)(void *arg, uint32_t reqid, int exitcode,
    struct evbuffer *out);
enum ctl_target_kind {
	CTL_TARGET_BWCTL,
	CTL_TARGET_INTERNAL,
};
struct ctl_target {
	enum ctl_target_kind	 kind;
	struct bw_peer		*peer;	/* BWCTL; NULL once it went away */
	ctl_done_cb		 cb;	/* INTERNAL; NULL once cancelled */
	void			*arg;
	struct ctl_html_view	 view;	/* HTML: sorting, links, summaries */
};

/* What a command's parse handler may learn and say. */
#define CTL_PARSE_ERR_MAX	512
struct ctl_parse {
	enum ctl_fmt		 fmt;	/* --json among the arguments */
	unsigned		 need;	/* rights the arguments need beyond
					   the command's own (debug D on) */
	char			 err[CTL_PARSE_ERR_MAX];	/* usage error */
};

struct ctl_req;

/*
 * A command's handlers (controld_cmd.c, ctl_cmd_ops[], indexed by
 * enum ctl_cmd_id).  Only start and render are required.
 *   parse	check the arguments (argv[0] is the first word) into priv;
 *		-1 with pc->err: a usage error, exit 2, no request made
 *   start	send what the command asks the daemons; may finish at once
 *   on_imsg	a frame carrying this request's id (hdr.peerid)
 *   render	write the answer (rows) to o; returns the exit code
 *   timeout	the deadline passed (default: fail, "no answer in time")
 *   daemon_gone a daemon of this role went away
 *   free	free what priv holds (priv itself is freed by the caller)
 */
struct ctl_cmd_ops {
	size_t		 privsz;
	int	(*parse)(void *priv, int argc, char *argv[],
		    struct ctl_parse *pc);
	void	(*start)(struct ctl_req *);
	void	(*on_imsg)(struct ctl_req *, struct bw_peer *,
		    struct bw_imsg *);
	int	(*render)(struct ctl_req *, struct ctl_out *o);
	void	(*timeout)(struct ctl_req *);
	void	(*daemon_gone)(struct ctl_req *, int role);
	void	(*free)(void *priv);
};

/* One request in flight. */
struct ctl_req {
	TAILQ_ENTRY(ctl_req)	 entry;
	uint32_t		 id;		/* hdr.peerid towards daemons */
	const struct ctl_cmd_def *def;
	const struct ctl_cmd_ops *ops;
	void			*priv;		/* the command's own state */
	struct ctl_target	 target;
	struct ctl_principal	 who;
	enum ctl_fmt		 fmt;
	uint64_t		 started_ms;
	struct event		*timer;
	struct evbuffer		*out;
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
	struct ctl_client_list	 clients;	/* bwctl connections */
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
struct ctl_daemon *ctl_daemon_find_id(uint32_t peerid);
void	 ctl_clients_free(void);

/* controld_auth.c: who may use bwctl, and the rights it gets. */
int	 ctl_client_allowed(pid_t pid, struct ctl_principal *who,
	    const char **why);

/* controld_target.c: where answers go. */
int	 ctl_target_send(struct ctl_target *, uint32_t id, struct evbuffer *,
	    int exitcode);
int	 ctl_target_gone(const struct ctl_target *);

/* controld_req.c: request lifecycle. */
struct ctl_req *ctl_req_new(const struct ctl_target *,
	    const struct ctl_principal *, const struct ctl_cmd_def *,
	    const struct ctl_cmd_ops *, void *priv, enum ctl_fmt);
struct ctl_req *ctl_req_find(uint32_t id);
void	 ctl_req_arm(struct ctl_req *, uint64_t ms);
/* Render the answer (ops->render) and finish with its exit code. */
void	 ctl_req_done(struct ctl_req *);
void	 ctl_req_finish(struct ctl_req *, int exitcode);
void	 ctl_req_fail(struct ctl_req *, int exitcode, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ctl_req_target_gone(struct bw_peer *);
void	 ctl_req_daemon_gone(int role);
void	 ctl_reply_error(struct ctl_target *, int exitcode, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ctl_rows_init(struct ctl_rows *, size_t elsz, size_t max);
int	 ctl_rows_add(struct ctl_rows *, const void *row);
void	 ctl_rows_free(struct ctl_rows *);
/* Helpers for commands: the connected daemon of a role or fail. */
struct bw_peer *ctl_req_peer(struct ctl_req *, int role);
void	 ctl_req_send(struct ctl_req *, int role, uint32_t type,
	    const void *, size_t);
void	 ctl_req_queued_gone(struct ctl_req *, int role);	/* daemon_gone */
void	 ctl_payload(void *dst, size_t dstsz, const struct bw_imsg *);

/* controld_cmd.c: find, check and start a command. */
void	 ctl_cmd_dispatch(struct bw_peer *, const struct bw_ctl_cmd *);
/*
 * Run a command for a caller inside controld (web pages, /metrics):
 * argv as bwctl would send it, the caller's rights, the format.  The
 * callback may be called before this returns (a usage error, a command
 * answered at once).  Returns the request id (for ctl_cmd_cancel), 0 when
 * it was answered already.
 */
uint32_t ctl_cmd_run(ctl_done_cb, void *arg, const struct ctl_principal *,
	    enum ctl_fmt, int argc, char *argv[]);
/* The same for a web page: HTML with its tables as view says. */
uint32_t ctl_cmd_run_html(ctl_done_cb, void *arg, const struct ctl_principal *,
	    const struct ctl_html_view *, int argc, char *argv[]);
void	 ctl_cmd_cancel(uint32_t reqid);
void	 ctl_cmd_check_table(void);
extern const struct ctl_cmd_ops *const ctl_cmd_ops[CTL_CMD__COUNT];

/* The commands (one file each). */
extern const struct ctl_cmd_ops ctl_status_ops;
extern const struct ctl_cmd_ops ctl_queue_ops;
extern const struct ctl_cmd_ops ctl_message_ops;
extern const struct ctl_cmd_ops ctl_list_ops;
extern const struct ctl_cmd_ops ctl_senders_ops;
extern const struct ctl_cmd_ops ctl_dns_show_ops;
extern const struct ctl_cmd_ops ctl_dns_flush_ops;
extern const struct ctl_cmd_ops ctl_domain_ops;
extern const struct ctl_cmd_ops ctl_verify_ops;
extern const struct ctl_cmd_ops ctl_reload_ops;
extern const struct ctl_cmd_ops ctl_trace_ops;
extern const struct ctl_cmd_ops ctl_debug_ops;
extern const struct ctl_cmd_ops ctl_qact_ops;		/* controld_qact.c */
extern const struct ctl_cmd_ops ctl_redirect_ops;	/* controld_redirect.c */
extern const struct ctl_cmd_ops ctl_alert_ops;		/* controld_alert_run.c */
extern const struct ctl_cmd_ops ctl_metrics_ops;	/* controld_metrics.c */
void	 ctl_metrics_routes(void);	/* /metrics, after mon_http_start */

/* controld_status.c */
void	 ctl_status_self(struct bw_status *);
int	 ctl_status_parse(struct bw_peer *, const struct bw_imsg *,
	    struct bw_status *);

/* controld_cmd.c: the queue id argument of several commands. */
int	 ctl_cmd_qid(const char *arg, char qid[BW_QID_LEN + 1]);

/* controld_queue.c: a request to queued timed out. */
void	 ctl_queued_timeout(struct ctl_req *);

/* controld_domain.c */
#define CTL_DOMAIN_ROWS_MAX	1024	/* queue/info/host rows per domain */

/* controld_reload.c: config reload; a daemon's own SIGHUP reload. */
void	 ctl_reload_result(struct bw_peer *, struct bw_imsg *);
void	 ctl_reload_request(struct bw_peer *);

/* controld_verify.c */
#define CTL_VERIFY_ROWS_MAX	100000	/* rows kept for one answer */
#define CTL_EXIT_DAMAGE		3	/* verify found damage (bwctl.h) */

/* controld_senders.c */
#define CTL_SENDERS_DEFAULT	20	/* rows without -n */
#define CTL_SENDERS_MAX		1000	/* queued's QUEUED_SENDERS_MAX */

/* controld_debug.c: the table deliverd's workers get. */
void	 ctl_debug_worker_up(struct bw_peer *);
void	 ctl_debug_free(void);

/* controld_qact.c: delete, undelete, bounce, hold, release, show held. */
#define CTL_QACT_ROWS_MAX	100000	/* messages told per request */

/* controld_redirect.c: bwctl redirect, the table deliverd's workers get. */
void	 ctl_redirect_start(const struct bw_config *);
void	 ctl_redirect_worker_up(struct bw_peer *);

#endif
