/*
 * smtpd: the Internet-facing ESMTP server.  Private header shared by the
 * smtpd_*.c files.
 *
 * Trust: everything a client sends is hostile (commands, addresses, body
 * bytes, TLS records); nothing it sends can grow a buffer past a named
 * limit of the session's set (its listener's, s->lim).  queued is trusted
 * to answer, but its answers are matched against what we asked (reqid,
 * qid) before they touch a session.
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "config.h"
#include "daemon.h"
#include "imsg_catalog.h"
#include "peer.h"
#include "status_link.h"
#include "smtpd_parse.h"
#include "smtpd_hdrscan.h"
#include "smtpd_score.h"
#include "smtpd_hostcount.h"

#define SMTPD_OUTPUT_MAX	(64 * 1024)	/* unsent replies before we stop reading commands */
#define SMTPD_REPLY_MAX		1024	/* one reply line we build */
#define SMTPD_QUEUE_WPENDING_MAX (16 * 1024 * 1024)	/* unsent bytes to queued before DATA reading pauses */
#define SMTPD_LIBEVENT_READ	4096		/* libevent 2.1's most per read event */
#define SMTPD_DATA_READ_MAX	(64 * 1024)	/* one extra read of DATA bytes */
#define SMTPD_HASH_SIZE		4096	/* buckets of the reqid and qid tables */
#define SMTPD_RECEIVED_MAX	2048	/* the Received: header we prepend */
#define SMTPD_PAUSE_CHECK_MS	20	/* re-check of paused DATA sessions */
#define SMTPD_CLOSE_TIMEOUT_S	10	/* flushing the last reply before close */
#define SMTPD_EHLO_EXT_MAX	16	/* extension lines in the EHLO reply */
#define SMTPD_RDNS_NAMES_MAX	4	/* PTR names of a client checked forward;
					   more are ignored (a host has one or
					   two, a long list is a trick) */

struct smtpd_env;
struct smtpd_trace;
struct bw_dns_client;

/* SMTP synchronization violations (smtpd_session.c). */
enum smtpd_sync {
	SMTPD_SYNC_PREGREET,	/* input before the banner */
	SMTPD_SYNC_PIPELINING,	/* input behind a command that must wait */
	SMTPD_SYNC_EARLY_DATA,	/* message text behind DATA, before 354 */
};

struct smtpd_listener {
	TAILQ_ENTRY(smtpd_listener) entry;
	struct smtpd_env	*env;
	struct bw_listener_conf	*conf;
	int			 fd;
	/* the supervisor's: one socket per worker (SO_REUSEPORT), kept
	 * for a worker started again; a worker keeps its own as fd */
	int			*worker_fds;
	int			 nworker_fds;
	struct evconnlistener	*evl;
	SSL_CTX			*ssl_ctx;	/* NULL: no TLS */
	struct event		*ev_resume;	/* accept paused after EMFILE */
	unsigned int		 nsessions;	/* open sessions it accepted */
	int			 retired;	/* removed by a reload */
	struct bw_config	*cfg_hold;	/* retired: conf's configuration */
};

enum smtpd_phase {
	SMTPD_PH_DELAY = 0,	/* greeting delay: client must be silent */
	SMTPD_PH_TLS_IMPLICIT,	/* handshake before the banner */
	SMTPD_PH_CMD,		/* reading commands */
	SMTPD_PH_WAIT_OPEN,	/* MSG_OPEN sent, commands stay buffered */
	SMTPD_PH_DATA,		/* reading the body */
	SMTPD_PH_WAIT_COMMIT,	/* MSG_COMMIT sent */
	SMTPD_PH_TLS,		/* STARTTLS handshake */
	SMTPD_PH_CLOSING,	/* last reply being flushed */
	SMTPD_PH_BDAT,		/* reading the octets of a BDAT chunk */
	SMTPD_PH_TARPIT,	/* the policy's pause before a command */
	SMTPD_PH_WAIT_HOST,	/* the counter owner's answer (smtpd_rate.c) */
	SMTPD_PH_PROXY,		/* a balancer's PROXY header, before all
				   else (smtpd_proxy_session.c) */
};

/* Reverse DNS of the client (smtpd_dns.c). */
enum smtpd_rdns_state {
	SMTPD_RDNS_OFF = 0,	/* not looked up (reverse_dns, loopback) */
	SMTPD_RDNS_PENDING,
	SMTPD_RDNS_CONFIRMED,	/* a PTR name resolves back to the address */
	SMTPD_RDNS_UNKNOWN,	/* no PTR record */
	SMTPD_RDNS_UNCONFIRMED,	/* PTR names, none resolves back */
	SMTPD_RDNS_TEMPFAIL,	/* DNS failure, dnscached down, budget over */
};

struct bw_dns_req;
struct smtpd_proxy_read;

struct smtpd_rdns {
	enum smtpd_rdns_state	 state;
	uint64_t		 deadline;	/* bw_now_ms(): smtpd_dns_timeout
						   from connect */
	int			 family;	/* of the address compared */
	unsigned char		 bin[16];
	struct bw_dns_req	*ptr_req;
	struct bw_dns_req	*fwd_req[SMTPD_RDNS_NAMES_MAX];
	/* the PTR names while they are checked (heap: most sessions never
	 * hold them, an idle session stays small); after the lookup only an
	 * unconfirmed name is kept, as names[0] */
	char			(*names)[BW_DOMAIN_MAX + 1];
	int			 nnames;
	int			 npending;	/* forward queries in flight */
	int			 ftemp;		/* one failed temporarily */
};

/* Reputation lookups of the client (smtpd_reputation.c). */
enum smtpd_rep_phase {
	SMTPD_REPUTE_OFF = 0,	/* not looked up (reputation, loopback, no
				   zones) */
	SMTPD_REPUTE_PENDING,
	SMTPD_REPUTE_DONE,	/* every zone answered, failed or timed out */
};

/* One zone of s->cfg's table (config_rep_zone_at, same index). */
struct smtpd_rep_zone {
	struct smtpd_session	*s;
	struct bw_dns_req	*req;		/* in flight */
	enum smtpd_rep_state	 state;
	uint32_t		 answers[SMTPD_SCORE_ANSWERS_MAX];	/* host
						   order, in 127/8, none an
						   error code */
	size_t			 nanswers;
};

struct smtpd_rep {
	enum smtpd_rep_phase	 phase;
	uint64_t		 deadline;	/* bw_now_ms(): the budget,
						   smtpd_reputation_timeout
						   from connect */
	size_t			 nzones;
	size_t			 npending;	/* queries in flight */
	struct smtpd_rep_zone	*z;		/* nzones; NULL when off */
};

struct smtpd_rate_wait;

struct smtpd_session {
	TAILQ_ENTRY(smtpd_session) entry;
	struct smtpd_session	*req_next;	/* reqid table chain */
	struct smtpd_session	*qid_next;	/* qid table chain */
	int			 in_reqtab;
	int			 in_qidtab;
	struct smtpd_env	*env;
	struct smtpd_listener	*l;
	struct bw_config	*cfg;		/* the one it started under */
	const struct bw_listener_conf *lconf;	/* l's block in cfg */
	const struct bw_limit_set *lim;	/* its listener's set in cfg; its
					   policy's once admitted */
	const struct bw_hat_entry *hat;	/* group and policy (admission) */
	struct smtpd_score	 score;		/* reputation; none unless
						   looked up */
	unsigned int		 scan_flags;	/* BW_SCAN_* of its policy: sent
						   with MSG_OPEN into the
						   envelope; 0 by default */
	int			 tls_offer;	/* STARTTLS in the EHLO reply */
	int			 tls_need;	/* no MAIL before STARTTLS */
	int			 hat_reject;	/* reject policy: 554 to every
						   command but QUIT */
	struct smtpd_rate_wait	*rate_wait;	/* RCPT waiting for its count
						   (smtpd_rate.c; heap: an
						   idle session stays small) */
	int			 cmd_delayed;
	int			 timer_bdat;	/* the command timer is BDAT's
						   whole-data deadline */	/* the tarpit pause before the
						   next command is over */
	uint64_t		 id;		/* for logs */
	int			 probe;		/* bwctl trace: no client, no
						   socket, no bufferevent;
						   smtpd_trace.c owns it */
	struct smtpd_trace	*trace;		/* probe: its request */
	struct bufferevent	*bev;
	int			 fd;
	int			 fd_owned;	/* plaintext bev: we close fd */
	int			 tls_pending;	/* STARTTLS: 220 being flushed */
	struct event		*ev_timer;	/* delay, command line, TLS handshake
						   and DATA deadlines, queue reply */
	struct event		*ev_flush;	/* plaintext: replies go out */
	int			 flush_pending;	/* ev_flush is active */
	struct sockaddr_storage	 ss;		/* the client: a balancer's
						   PROXY header replaces the
						   peer's address */
	char			 addr[BW_HOSTADDR_MAX];
	int			 proxied;	/* came through a balancer */
	char			 proxy_peer[BW_HOSTADDR_MAX];	/* ... this one */
	struct smtpd_proxy_read	*proxy;		/* SMTPD_PH_PROXY: the header
						   being read */
	int			 proxy_watch;	/* a non-balancer on a PROXY
						   listener: its first bytes
						   are checked */
	char			*name;		/* confirmed reverse DNS, or
						   smtpd_str_unknown (heap:
						   smtpd_session_str) */
	struct smtpd_rdns	 rdns;
	uint64_t		 connect_ms;	/* bw_now_ms() at accept: the
						   greeting delay runs from it */
	int			 admit_decided;	/* lookups done, HAT decided */
	int			 admitted;	/* ... and counted: may greet */
	struct smtpd_rep	 rep;		/* reputation lookups */
	int			 lookups_starting;	/* rdns and rep being
						   started: no decision yet */
	int			 hostcount_conn;	/* queued granted its
						   connection: released at
						   the end (smtpd_hostcount.c) */
	struct smtpd_hostcount_sess hostcount;	/* takes in flight, labels */
	int			 connect_logged;
	enum smtpd_phase	 phase;
	int			 free_scheduled;
	int			 out_blocked;	/* output over SMTPD_OUTPUT_MAX */
	int			 paused;	/* DATA reading paused (queued backlog) */
	int			 cmd_skip;	/* discarding an overlong command line */
	int			 banner_sent;
	int			 helo_seen;
	int			 esmtp;
	char			*helo;		/* smtpd_str_empty until
						   HELO/EHLO (heap) */
	int			 tls;
	char			 tls_proto[32];
	char			 tls_cipher[64];
	int			 tls_bits;	/* secret bits of the cipher */
	int			 tls_alg_bits;	/* the algorithm's bits */
	unsigned int		 nerrors;	/* since the last message */
	unsigned int		 njunk;		/* NOOP, RSET, ... since then */
	unsigned int		 nmessages;
	/* the transaction */
	int			 tx;		/* MAIL accepted, qid valid */
	int			 tx_dead;	/* queued lost it: 451 until RSET */
	int			 commit_doubt;	/* queued went away before the
						   commit reply: MSG_COMMIT_CHECK */
	uint64_t		 reqid;
	char			 qid[BW_QID_LEN + 1];
	char			 sender[BW_ADDR_MAX];
	struct smtp_params	 params;
	unsigned int		 nrcpt;
	char			 rcpt1[BW_ADDR_MAX];
	/* DATA */
	struct evbuffer		*chunk;		/* body bytes not yet sent */
	uint64_t		 data_size;	/* bytes sent or counted */
	int			 data_bol;	/* next byte starts a line after CRLF */
	int			 data_midline;	/* part of this line was drained */
	int			 data_lastcr;	/* last drained byte was CR */
	size_t			 data_seen;	/* input left after the last pass */
	struct smtp_hdrscan	 hdrs;		/* Received: count (hop limit) */
	const char		*data_reject;	/* reply when the message is refused */
	const char		*data_reject_why;
	/* BDAT (RFC 3030) */
	int			 bdat;		/* this transaction uses BDAT */
	int			 bdat_last;	/* the chunk being read is LAST */
	uint64_t		 bdat_left;	/* its octets still to read */
	unsigned int		 bdat_chunks;	/* chunks of this message */
	uint64_t		 bdat_deadline;	/* bw_now_ms(): data total */
	const char		*bdat_refuse;	/* chunk discarded, then this */
	int			 bdat_refuse_err;	/* ... counted as an error */
	struct smtp_body_scan	 bdat_scan;	/* line check (not binary) */
};
TAILQ_HEAD(smtpd_session_list, smtpd_session);

/*
 * What a command gets before queued is asked (smtpd_session.c): the
 * checks a session makes, also asked by bwctl trace on a probe.
 */
enum smtpd_verdict {
	SMTPD_V_OK = 0,
	SMTPD_V_TLS_FIRST,		/* MAIL: 530, STARTTLS first */
	SMTPD_V_SHED,			/* MAIL: 421, queue pressure */
	SMTPD_V_TOO_MANY_MESSAGES,	/* MAIL: 421 and close */
	SMTPD_V_SYNTAX,			/* the parser's reply */
	SMTPD_V_TOO_BIG,		/* MAIL: SIZE over the limit, 552 */
	SMTPD_V_TOO_MANY_RCPTS,		/* RCPT: 452 */
	SMTPD_V_RELAY,			/* RCPT: 550, not ours (RAT) */
	SMTPD_V_SOURCE_ROUTE,		/* RCPT: 550, public listener */
	SMTPD_V_ROUTING,		/* RCPT: 550, user%host@ours */
};

/* Why a recipient is taken (SMTPD_V_OK of RCPT). */
enum smtpd_rcpt_ok {
	SMTPD_RCPT_NONE = 0,		/* not taken */
	SMTPD_RCPT_POSTMASTER,		/* <Postmaster>: always ours */
	SMTPD_RCPT_RELAY_POLICY,	/* the policy relays anywhere */
	SMTPD_RCPT_RAT,			/* accept_domains, accept_recipients */
	SMTPD_RCPT_RELAY_NETWORKS,	/* private listener, client's network */
};

#define SMTPD_REPLY_MAX		1024	/* one reply line we build */
#define SMTPD_REPLY_RCPT_OK	"250 2.1.5 Ok"

struct smtpd_check {
	enum smtpd_verdict	 v;
	enum smtpd_rcpt_ok	 ok;	/* RCPT taken: why */
	const char		*reply;	/* the reply (SMTPD_V_OK: NULL) */
	char			 buf[SMTPD_REPLY_MAX];	/* reply built here */
};

struct smtpd_counters {
	uint64_t	 connections;
	uint64_t	 connections_active;
	uint64_t	 messages_accepted;
	uint64_t	 messages_rejected;
	uint64_t	 rcpt_rejected;
	uint64_t	 tls_sessions;
	uint64_t	 limit_closes;
	uint64_t	 timeouts;
	uint64_t	 queue_connects;
	uint64_t	 commands;
	uint64_t	 protocol_errors;
	uint64_t	 bare_lf_rejects;
	uint64_t	 pregreet_rejects;	/* talked before the banner */
	uint64_t	 pipelining_rejects;	/* input behind a waiting command */
	uint64_t	 early_data_rejects;	/* text behind DATA before 354 */
	uint64_t	 hopcount_rejects;	/* over hopcount_limit */
	uint64_t	 routing_rejects;	/* user%host@ours on public */
	uint64_t	 relay_rejects;	/* not ours (RAT) or not our client */
	uint64_t	 data_pauses;	/* DATA/BDAT reading paused for queued */
	uint64_t	 dnscached_connects;
	uint64_t	 rdns_confirmed;	/* reverse DNS outcomes */
	uint64_t	 rdns_unknown;
	uint64_t	 rdns_unconfirmed;
	uint64_t	 rdns_tempfail;
	uint64_t	 policy_tcprefuse;	/* closed before the banner */
	uint64_t	 policy_reject;	/* sessions given the 554 banner */
	uint64_t	 policy_relay;	/* sessions under a relay policy */
	uint64_t	 tarpit_delays;	/* commands held by a tarpit */
	uint64_t	 pressure_sheds;	/* 421 to a host under pressure */
	uint64_t	 host_rate_rejects;	/* over messages per minute or
						   recipients per hour */
	uint64_t	 pressure_changes;	/* queued's pressure changed */
	uint64_t	 proxy_connections;	/* PROXY headers taken */
	uint64_t	 proxy_rejects;	/* malformed, cut, late, spoofed */
	uint64_t	 rep_lookups;	/* reputation queries sent */
	uint64_t	 rep_timeouts;	/* ... not answered within the budget */
	uint64_t	 rep_listed;	/* ... that found the address */
	uint64_t	 rep_hostile;	/* answers ignored (hostile, broken) */
};

struct smtpd_env {
	struct bw_daemon	 d;	/* cfg, base, started, shutting_down */
	/* workers (smtpd_worker.c): the supervisor has worker -1 */
	int			 nworkers;
	int			 worker;
	uint64_t		 restarts;	/* of this worker's slot */
	char			 proc[BW_NAME_MAX];	/* "smtpd[1]" */
	struct event		*ev_parent;	/* EOF: the supervisor died */
	int			 config_stale;	/* restarted: ask controld */
	TAILQ_HEAD(, smtpd_listener) listeners;
	TAILQ_HEAD(, smtpd_listener) retired_listeners;	/* reload removed
						   them; sessions remain */
	struct smtpd_session_list sessions;
	TAILQ_HEAD(, smtpd_trace) traces;	/* bwctl trace probes */
	unsigned int		 ntraces;
	struct bw_peer		*queued;
	struct bw_peer		*dnscached;
	struct bw_dns_client	*dns;		/* lookups over dnscached */
	struct bw_status_link	*controld;
	struct event		*ev_pause;	/* paused sessions check */
	unsigned int		 npaused;
	uint64_t		 next_reqid;
	uint64_t		 next_sid;
	unsigned long		 nsessions;
	struct smtpd_session	*reqtab[SMTPD_HASH_SIZE];
	struct smtpd_session	*qidtab[SMTPD_HASH_SIZE];
	struct smtpd_counters	 c;
	/* queued's last word on queue pressure (smtpd_pressure.c): kept
	 * while the link is down, replaced when it comes back */
	int			 pressure;	/* enum bw_pressure_level */
	char			 pressure_reason[BW_PRESSURE_REASON_MAX];
};

/*
 * A session keeps the limits its listener had in the configuration it
 * started under (s->cfg holds them): one load per use, no lookup.
 */
#define SMTPD_LIM(s, id)	((s)->lim->v[(id)])

/* smtpd_reload.c */
void	 smtpd_reload_init(struct smtpd_env *);

/* smtpd_worker.c: a worker's life, from the fork to exit(). */
struct bw_super;
void	 smtpd_worker_main(struct bw_super *, int index, int parent_fd,
	    uint64_t restarts, void *arg) __attribute__((noreturn));
void	 smtpd_reload_link_cb(int, struct bw_config_reload_result *, void *);

/* smtpd_listener.c */
struct smtpd_listener *smtpd_listener_new(struct smtpd_env *,
	    const struct bw_config *, struct bw_listener_conf *);
int	 smtpd_listener_start(struct smtpd_listener *);
void	 smtpd_listener_stop(struct smtpd_listener *);
void	 smtpd_listener_free(struct smtpd_listener *);
void	 smtpd_listener_session_gone(struct smtpd_listener *);
int	 smtpd_listeners_reload(struct smtpd_env *, struct bw_config *nc,
	    struct bw_config *oc, char *err, size_t errsz);
int	 smtpd_listeners_open(struct smtpd_env *);
void	 smtpd_listeners_take(struct smtpd_env *, int worker);
unsigned long smtpd_worker_max_connections(const struct smtpd_env *);
int	 smtpd_listeners_start(struct smtpd_env *);
void	 smtpd_listeners_close(struct smtpd_env *);

/* smtpd_session.c */
void	 smtpd_session_new(struct smtpd_listener *, int fd,
	    const struct sockaddr *, socklen_t);
/* A session without a client (bwctl trace): NULL without memory. */
struct smtpd_session *smtpd_session_probe_new(struct smtpd_listener *,
	    const struct sockaddr *, socklen_t);
/* The policy's 554 to a command other than QUIT, or NULL. */
const char *smtpd_session_refused(const struct smtpd_session *, int cmd);
/* EHLO's keywords, n of them (size: room for "SIZE n"). */
size_t	 smtpd_session_ehlo_ext(const struct smtpd_session *,
	    const char **ext, size_t max, char *size, size_t sizesz);
/* MAIL and RCPT after the transaction's state checks. */
void	 smtpd_session_mail_check(struct smtpd_session *, const char *arg,
	    struct smtp_path *, struct smtpd_check *);
void	 smtpd_session_rcpt_check(const struct smtpd_session *, const char *arg,
	    struct smtp_path *, struct smtp_rcpt_params *,
	    struct smtpd_check *);
void	 smtpd_session_reply(struct smtpd_session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 smtpd_session_close(struct smtpd_session *, const char *why);
void	 smtpd_session_fail(struct smtpd_session *, const char *reply,
	    const char *why);
void	 smtpd_session_error(struct smtpd_session *, const char *reply);
void	 smtpd_session_process(struct smtpd_session *);
void	 smtpd_session_set_timeouts(struct smtpd_session *);
void	 smtpd_session_timer_arm(struct smtpd_session *, long long ms);
void	 smtpd_session_tx_reset(struct smtpd_session *);
void	 smtpd_session_open_reply(struct smtpd_session *, int status,
	    const char *qid);
void	 smtpd_session_commit_reply(struct smtpd_session *, int status);
void	 smtpd_session_queue_lost(struct smtpd_session *);
void	 smtpd_session_tls_done(struct smtpd_session *);
void	 smtpd_session_resume(struct smtpd_session *);
void	 smtpd_session_mail_open(struct smtpd_session *);
void	 smtpd_session_rcpt_accept(struct smtpd_session *, const char *rcpt,
	    const struct smtp_rcpt_params *);

/* smtpd_rate.c: the policy's per-host rates at MAIL and RCPT */
int	 smtpd_rate_mail(struct smtpd_session *);
void	 smtpd_rate_free(struct smtpd_session *);
int	 smtpd_rate_rcpt(struct smtpd_session *, const char *rcpt,
	    const struct smtp_rcpt_params *);
int	 smtpd_session_talked_early(struct smtpd_session *);
void	 smtpd_session_sync_violation(struct smtpd_session *,
	    enum smtpd_sync, int cmd);

/* smtpd_admit.c: from accept to the banner */
void	 smtpd_admit_start(struct smtpd_session *);
/* The lookups of a new host (reverse DNS, reputation); then
 * smtpd_session_lookups_done(). */
void	 smtpd_admit_lookups_start(struct smtpd_session *);
/* Every lookup (reverse DNS, reputation) has settled: decide. */
void	 smtpd_session_lookups_done(struct smtpd_session *);
void	 smtpd_admit_counted(struct smtpd_session *, int granted);
void	 smtpd_admit_tls_done(struct smtpd_session *);
void	 smtpd_admit_timer(struct smtpd_session *);
void	 smtpd_admit_log_connect(struct smtpd_session *);
/* The policy's pause before a command (0: none) and its score scaling. */
long long smtpd_admit_command_delay(const struct smtpd_session *);
/* The banner's delay from connect, the same way. */
long long smtpd_admit_greeting_delay(const struct smtpd_session *);
/* The parts of those two that the score adds (tarpit). */
long long smtpd_admit_command_tarpit(const struct smtpd_session *);
long long smtpd_admit_greeting_tarpit(const struct smtpd_session *);
/* The banner of an admitted host: 220, or 554 under a reject policy. */
const char *smtpd_admit_banner_text(const struct smtpd_session *, char *buf,
	    size_t bufsz);
/* The policy closes the connection before the banner. */
int	 smtpd_admit_tcprefuse(const struct smtpd_session *);
int	 smtpd_admit_relay_policy(const struct smtpd_session *);
/*
 * Queue pressure: the level at which the host is shed now (0: it is
 * not), and the 421 it gets then.
 */
int	 smtpd_admit_shed_level(const struct smtpd_session *);
const char *smtpd_admit_shed_reply(const struct smtpd_session *, char *buf,
	    size_t bufsz);
/* ... counted, logged and told: 1 if the session is closing. */
int	 smtpd_admit_shed(struct smtpd_session *, const char *when);
void	 smtpd_sessions_free_all(struct smtpd_env *);
void	 smtpd_session_free(struct smtpd_session *);
/* A session's short texts (helo, name) live on the heap at their length,
 * or are one of these constants, never freed. */
extern char smtpd_str_empty[];
extern char smtpd_str_unknown[];
/* *dst = a copy of src[0..len); the old one freed.  -1 (logged) when out
 * of memory: *dst is then fallback. */
int	 smtpd_session_str(struct smtpd_session *, char **dst,
	    const char *src, size_t len, char *fallback);

/* smtpd_data.c */
int	 smtpd_data_begin(struct smtpd_session *);
int	 smtpd_data_process(struct smtpd_session *);
void	 smtpd_bdat_start(struct smtpd_session *, uint64_t size, int last,
	    const char *refuse, int refuse_is_error);
int	 smtpd_bdat_process(struct smtpd_session *);
long long smtpd_bdat_left_ms(const struct smtpd_session *);
void	 smtpd_data_pause_cb(evutil_socket_t, short, void *);

/* smtpd_tls.c */
SSL_CTX	*smtpd_tls_ctx_new(const struct bw_config *,
	    const struct bw_listener_conf *);
struct bufferevent *smtpd_tls_bev_implicit(struct smtpd_session *, int fd);
int	 smtpd_tls_starttls(struct smtpd_session *);
void	 smtpd_session_setup_bev(struct smtpd_session *);
void	 smtpd_tls_info(struct smtpd_session *);

/* smtpd_queue.c */
void	 smtpd_queue_connect(struct smtpd_env *);
int	 smtpd_peer_path(const struct smtpd_env *, const char *name,
	    char *dst, size_t dstsz);
int	 smtpd_queue_up(struct smtpd_env *);
int	 smtpd_queue_open(struct smtpd_session *);
int	 smtpd_queue_rcpt(struct smtpd_session *, const char *rcpt,
	    const struct smtp_rcpt_params *);
int	 smtpd_queue_data(struct smtpd_session *, const void *, size_t);
int	 smtpd_queue_commit(struct smtpd_session *);
void	 smtpd_queue_abort(struct smtpd_session *);
void	 smtpd_queue_forget(struct smtpd_session *);
const char *smtpd_submit_reply(int status);

/* smtpd_dns.c */
void	 smtpd_dns_connect(struct smtpd_env *);
int	 smtpd_dns_up(struct smtpd_env *);
void	 smtpd_dns_close(struct smtpd_env *);
const char *smtpd_rdns_state_name(int);
int	 smtpd_rdns_addr(const struct sockaddr_storage *, int *family,
	    unsigned char bin[16]);
int	 smtpd_rdns_wanted(const struct bw_listener_conf *,
	    const struct sockaddr_storage *);
void	 smtpd_rdns_start(struct smtpd_session *);
void	 smtpd_rdns_cancel(struct smtpd_session *);
void	 smtpd_rdns_free(struct smtpd_session *);

/* smtpd_pressure.c */
void	 smtpd_pressure_recv(struct smtpd_env *, struct bw_imsg *);
int	 smtpd_pressure_level(const struct smtpd_env *);
void	 smtpd_pressure_status(const struct smtpd_env *, struct bw_status *);
/* smtpd_proxy_session.c */
int	 smtpd_proxy_expected(const struct bw_listener_conf *,
	    const struct sockaddr *);
int	 smtpd_proxy_session_start(struct smtpd_session *);
int	 smtpd_proxy_session_watch(struct smtpd_session *);
int	 smtpd_proxy_session_spoofed(struct smtpd_session *);
void	 smtpd_proxy_session_timeout(struct smtpd_session *);
void	 smtpd_proxy_session_free(struct smtpd_session *);
/* smtpd_reputation.c */
int	 smtpd_reputation_wanted(const struct bw_listener_conf *,
	    const struct sockaddr_storage *);
void	 smtpd_reputation_start(struct smtpd_session *);
int	 smtpd_reputation_pending(const struct smtpd_session *);
void	 smtpd_reputation_cancel(struct smtpd_session *);
void	 smtpd_reputation_free(struct smtpd_session *);
/*
 * Is the client listed in zone (any usable answer when naddrs is 0, else
 * one of addrs, host order)?  1 listed, 0 not, -1 no answer (the zone
 * failed or timed out, answered only hostile records, is not in the
 * session's configuration, or the session was not looked up).
 */
int	 smtpd_reputation_listed(const struct smtpd_session *,
	    const char *zone, const uint32_t *addrs, size_t naddrs);
/* The same by the zone's index in the session's configuration. */
int	 smtpd_reputation_listed_at(const struct smtpd_session *, size_t zone,
	    const uint32_t *addrs, size_t naddrs);
/* "-3.5", "+10.0", "none" (nothing answered) or "off" (not looked up). */
const char *smtpd_reputation_text(const struct smtpd_session *, char *buf,
	    size_t bufsz);

/* smtpd_trace.c: bwctl trace */
#define SMTPD_TRACE_MAX		8	/* probes in flight; one bwctl each */
#define SMTPD_TRACE_MARGIN_MS	1000	/* past the lookups' own deadline */
int	 smtpd_trace_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
/* The probe's lookups are done and the HAT decided: answer, free it. */
void	 smtpd_trace_done(struct smtpd_session *);
void	 smtpd_trace_free_all(struct smtpd_env *);

/* smtpd_status.c */
void	 smtpd_status_connect(struct smtpd_env *);

#endif
