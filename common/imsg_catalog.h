/*
 * The one catalog of interprocess messages: every type, the roles that may
 * send it and its payload size range, plus the payload structs.  The receiver
 * calls bw_imsg_check() before any handler runs.  Bump BW_IMSG_VERSION
 * whenever the enum or a payload struct changes.
 *
 * Strings in payloads are fixed-size char arrays; receivers must not assume
 * they are terminated: use bw_imsg_str() to copy them out.
 */
#ifndef BW_IMSG_CATALOG_H
#define BW_IMSG_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#define BW_IMSG_VERSION		19

/* Sizes shared by every process. */
#define BW_QID_LEN		16	/* hex digits of a queue id */
#define BW_ADDR_MAX		256	/* RFC 5321 4.5.3.1.3: path incl. <> */
#define BW_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define BW_NAME_MAX		32	/* process, listener, gateway names */
#define BW_HOSTADDR_MAX		64	/* textual IPv4/IPv6 address */
#define BW_DATA_CHUNK_MAX	(32 * 1024)	/* body bytes per MSG_DATA */
#define BW_CTL_ARGC_MAX		32	/* bwctl trace: 4 options and 12 --rcpt */
#define BW_CTL_ARG_MAX		256
#define BW_CTL_TEXT_MAX		(16 * 1024)	/* one CTL_OUTPUT chunk */
#define BW_STATUS_COUNTERS_MAX	96	/* queued alone has 30-odd */
#define BW_STATUS_INFO_MAX	4	/* words of state per STATUS */
#define BW_STATUS_INFO_TEXT_MAX	96	/* one of them, NUL included */
#define BW_REPLY_TEXT_MAX	512	/* a remote SMTP reply kept for logs */
#define BW_LIMIT_REASON_MAX	192	/* why a connection limit changed */

/*
 * DSN parameters (RFC 3461), carried from smtpd through queued's store to
 * deliverd.  ENVID and ORCPT travel decoded from xtext (printable US-ASCII
 * only, checked by smtpd and again where they are used); ORCPT as
 * "addr-type;address".
 */
#define BW_DSN_ENVID_MAX	100	/* RFC 3461 4.4: ENVID value */
#define BW_DSN_ORCPT_MAX	500	/* RFC 3461 4.2: ORCPT value */
#define BW_DSN_NOTIFY_NEVER	0x01	/* NOTIFY bits; 0: no NOTIFY given */
#define BW_DSN_NOTIFY_SUCCESS	0x02
#define BW_DSN_NOTIFY_FAILURE	0x04
#define BW_DSN_NOTIFY_DELAY	0x08
#define BW_DSN_NOTIFY_ALL	0x0f
enum bw_dsn_ret {
	BW_DSN_RET_NONE = 0,	/* no RET: headers only */
	BW_DSN_RET_FULL,
	BW_DSN_RET_HDRS,
};
/* "FULL", "HDRS", "" */
const char	*bw_dsn_ret_name(int);
/* "SUCCESS,FAILURE", "NEVER", "" into dst (at least 32 bytes) */
const char	*bw_dsn_notify_text(char *dst, size_t dstsz, uint32_t notify);
/* Does this NOTIFY ask for a DSN of that kind (one BW_DSN_NOTIFY_ bit)?
 * No NOTIFY means FAILURE,DELAY (RFC 3461 4.1). */
int		 bw_dsn_notify_wants(uint32_t notify, uint32_t kind);

/* Roles: one bit each, so that a catalog row can allow several. */
enum bw_role {
	BW_ROLE_NONE		= 0,
	BW_ROLE_SMTPD		= 1 << 0,
	BW_ROLE_QUEUED		= 1 << 1,
	BW_ROLE_DELIVERD	= 1 << 2,
	BW_ROLE_DNSCACHED	= 1 << 3,
	BW_ROLE_CONTROLD	= 1 << 4,
	BW_ROLE_BWCTL		= 1 << 5,
};
#define BW_ROLE_ANY	(BW_ROLE_SMTPD | BW_ROLE_QUEUED | BW_ROLE_DELIVERD | \
			 BW_ROLE_DNSCACHED | BW_ROLE_CONTROLD | BW_ROLE_BWCTL)
const char	*bw_role_name(int role);	/* "smtpd", ...; "none", "?" */
int		 bw_role_from_name(const char *);	/* BW_ROLE_NONE if unknown */

enum bw_imsg_type {
	BW_IMSG_NONE = 0,
	/* any connecting peer, first frame on a connection */
	BW_IMSG_HELLO,
	/* smtpd -> queued: one message being received */
	BW_IMSG_MSG_OPEN,
	BW_IMSG_MSG_RCPT,
	BW_IMSG_MSG_DATA,
	BW_IMSG_MSG_COMMIT,
	BW_IMSG_MSG_ABORT,
	/* queued -> smtpd */
	BW_IMSG_MSG_OPEN_REPLY,
	BW_IMSG_MSG_COMMIT_REPLY,
	/* controld -> daemons, daemons -> controld */
	BW_IMSG_STATUS_REQ,
	BW_IMSG_STATUS,
	/* controld -> queued, queued -> controld */
	BW_IMSG_QUEUE_LIST_REQ,
	BW_IMSG_QUEUE_ENTRY,
	BW_IMSG_QUEUE_END,
	BW_IMSG_MESSAGE_SHOW_REQ,
	BW_IMSG_MESSAGE_INFO,
	BW_IMSG_MESSAGE_RCPT,
	BW_IMSG_MESSAGE_END,
	BW_IMSG_MESSAGE_LIST_REQ,
	BW_IMSG_MESSAGE_LIST_ENTRY,
	BW_IMSG_MESSAGE_LIST_END,
	/* bwctl -> controld, controld -> bwctl */
	BW_IMSG_CTL_CMD,
	BW_IMSG_CTL_OUTPUT,
	BW_IMSG_CTL_DONE,
	/* smtpd, deliverd -> dnscached, dnscached -> smtpd, deliverd */
	BW_IMSG_DNS_QUERY,
	BW_IMSG_DNS_ANSWER,
	/* controld -> dnscached, dnscached -> controld */
	BW_IMSG_DNS_FLUSH,
	BW_IMSG_DNS_FLUSH_DONE,
	/* queued -> deliverd: one message for one (gateway, domain) */
	BW_IMSG_DLV_JOB,
	BW_IMSG_DLV_RCPT,
	BW_IMSG_DLV_BODY,
	BW_IMSG_DLV_END,
	/* queued -> deliverd: bwctl retry D (ends a Good Neighbor pause) */
	BW_IMSG_DLV_RETRY,
	/* deliverd -> queued: per-recipient results, then the job's end */
	BW_IMSG_DLV_RESULT,
	BW_IMSG_DLV_DONE,
	/* controld -> deliverd, deliverd -> controld: bwctl show domain */
	BW_IMSG_DOMAIN_INFO_REQ,
	BW_IMSG_DOMAIN_INFO,
	BW_IMSG_DOMAIN_HOST,
	BW_IMSG_DOMAIN_INFO_END,
	/* controld -> queued, queued -> controld: retry, suspend, resume,
	 * and the queue's side of show domain */
	BW_IMSG_DOMAIN_CMD,
	BW_IMSG_DOMAIN_CMD_REPLY,
	/* controld -> daemons: apply the config file passed with the frame;
	 * daemons -> controld: the outcome; a daemon that cannot open the
	 * file itself (smtpd, chrooted) asks for it on SIGHUP */
	BW_IMSG_CONFIG_RELOAD,
	BW_IMSG_CONFIG_RELOAD_RESULT,
	BW_IMSG_CONFIG_REQ,
	/* smtpd -> queued: did this commit, whose reply was lost with a
	 * previous connection, make it?  Answered with MSG_COMMIT_REPLY. */
	BW_IMSG_MSG_COMMIT_CHECK,
	/* controld -> queued, queued -> controld: bwctl queue verify, repair,
	 * quarantine, release, delete */
	BW_IMSG_QUEUE_VERIFY_REQ,
	BW_IMSG_QUEUE_VERIFY_ROW,
	BW_IMSG_QUEUE_VERIFY_END,
	/* queued -> smtpd: the queue's pressure, on every change and when
	 * smtpd links (struct bw_queue_pressure) */
	BW_IMSG_QUEUE_PRESSURE,
	/* smtpd -> queued: per-host counters (queued owns them);
	 * queued -> smtpd: the answer to a take */
	BW_IMSG_HOSTCOUNT_TAKE,
	BW_IMSG_HOSTCOUNT_REPLY,
	BW_IMSG_HOSTCOUNT_RELEASE,
	/* controld -> queued, queued -> controld: bwctl show senders */
	BW_IMSG_HOSTCOUNT_LIST_REQ,
	BW_IMSG_HOSTCOUNT_ENTRY,
	BW_IMSG_HOSTCOUNT_END,
	/* controld -> smtpd, smtpd -> controld: bwctl trace */
	BW_IMSG_TRACE_REQ,
	BW_IMSG_TRACE_REPLY,
	/* controld -> deliverd: the domains in debug now (bwctl debug), the
	 * whole table on every change and when a worker links */
	BW_IMSG_DEBUG_TABLE,
	/* controld -> deliverd, deliverd -> controld: show queue's
	 * connections and limits (struct bw_agent_entry rows) */
	BW_IMSG_AGENT_LIST_REQ,
	BW_IMSG_AGENT_ENTRY,
	BW_IMSG_AGENT_END,
	/* controld -> queued, queued -> controld: bwctl delete, undelete,
	 * bounce, hold, release, show held (struct bw_queue_action_*) */
	BW_IMSG_QUEUE_ACTION_REQ,
	BW_IMSG_QUEUE_ACTION_ROW,
	BW_IMSG_QUEUE_ACTION_END,
	/* controld -> deliverd: the runtime redirects (bwctl redirect), the
	 * whole table on every change and when a worker links */
	BW_IMSG_REDIRECT_TABLE,
	/* queued -> controld, unsolicited (peerid 0): a queue went down or
	 * came up (alerts; struct bw_queue_event) */
	BW_IMSG_QUEUE_EVENT,
	/* controld -> queued: an alert mail to store on the bounce gateway
	 * (struct bw_admin_mail and the text); queued answers
	 * ADMIN_MAIL_DONE with the same peerid */
	BW_IMSG_ADMIN_MAIL,
	BW_IMSG_ADMIN_MAIL_DONE,
	/* controld -> queued, queued -> controld: the top-N queues and the
	 * queue's totals (the monitor's sampler; struct bw_queue_top_*) */
	BW_IMSG_QUEUE_TOP_REQ,
	BW_IMSG_QUEUE_TOP_ENTRY,
	BW_IMSG_QUEUE_TOP_END,
	BW_IMSG__COUNT
};
const char	*bw_imsg_type_name(uint32_t type);

enum bw_imsg_check_result {
	BW_IMSG_OK = 0,
	BW_IMSG_EUNKNOWN,	/* type not in the catalog */
	BW_IMSG_EROLE,		/* sender's role may not send it */
	BW_IMSG_EBADLEN,	/* payload size out of range */
};
const char	*bw_imsg_check_name(int);

struct bw_imsg_def {
	uint32_t	 type;
	const char	*name;
	int		 senders;	/* mask of enum bw_role */
	size_t		 minlen;
	size_t		 maxlen;
};
const struct bw_imsg_def *bw_imsg_def(uint32_t type);
int		 bw_imsg_check(uint32_t type, int sender_role, size_t len);

/* Copy a fixed-size payload string into dst (size dstsz), terminated. */
void		 bw_imsg_str(char *dst, size_t dstsz, const char *src, size_t srcsz);
#define BW_IMSG_STR(dst, field) bw_imsg_str((dst), sizeof(dst), (field), sizeof(field))

/* ---- payloads ---- */

struct bw_hello {
	uint32_t	 version;	/* BW_IMSG_VERSION */
	uint32_t	 role;		/* one enum bw_role bit */
	uint32_t	 pid;
	uint32_t	 worker;	/* deliverd worker index, else 0 */
};

/* Flags of a message being received. */
#define BW_MSGF_8BITMIME	0x01
#define BW_MSGF_SMTPUTF8	0x02
#define BW_MSGF_TLS		0x04
#define BW_MSGF_BODY_BINARY	0x08	/* BODY=BINARYMIME (RFC 3030): the
					   body is octets, not lines */

/*
 * Content scans a message's mail flow policy asks for (issue 11): set by
 * smtpd from the session's policy (s->scan_flags), kept in the envelope
 * for later filters, shown by bwctl show message.  Nothing scans yet.
 */
#define BW_SCAN_SPAM		0x01
#define BW_SCAN_VIRUS		0x02
#define BW_SCAN_ALL		0x03
#define BW_SCAN_TEXT_MAX	16	/* "spam,virus" */
/* "spam,virus", "spam", "none" into dst; unknown bits are left out */
const char	*bw_scan_text(char *dst, size_t dstsz, uint32_t flags);

struct bw_msg_open {
	uint64_t	 reqid;			/* smtpd's id, echoed back */
	uint64_t	 size_hint;		/* SIZE= or 0 */
	uint32_t	 flags;			/* BW_MSGF_* */
	char		 sender[BW_ADDR_MAX];	/* without <>; "" null sender */
	char		 helo[BW_DOMAIN_MAX + 1];
	char		 client_addr[BW_HOSTADDR_MAX];
	char		 client_name[BW_DOMAIN_MAX + 1];
	char		 listener[BW_NAME_MAX];
	/* version 8: DSN (RFC 3461) */
	uint32_t	 dsn_ret;		/* enum bw_dsn_ret */
	char		 envid[BW_DSN_ENVID_MAX + 1];	/* decoded; "" none */
	/* version 9: the session's mail flow policy ("" none): its limits */
	char		 policy[BW_NAME_MAX];
	/* version 10: content scans the session's policy asks for */
	uint32_t	 scan_flags;		/* BW_SCAN_* */
};

/* Submission status: one table in smtpd maps each to an SMTP reply. */
enum bw_submit_status {
	BW_SUBMIT_OK = 0,
	BW_SUBMIT_TEMPFAIL,	/* 451 4.3.0 */
	BW_SUBMIT_NOSPACE,	/* 452 4.3.1 */
	BW_SUBMIT_TOOBIG,	/* 552 5.3.4 */
	BW_SUBMIT_TOOMANY,	/* 452 4.5.3 */
	BW_SUBMIT_BUSY,		/* 421 4.3.2 */
	BW_SUBMIT__COUNT
};
const char	*bw_submit_status_name(int);

struct bw_msg_open_reply {
	uint64_t	 reqid;
	uint32_t	 status;		/* enum bw_submit_status */
	char		 qid[BW_QID_LEN + 1];
};

struct bw_msg_rcpt {
	char		 qid[BW_QID_LEN + 1];
	char		 rcpt[BW_ADDR_MAX];	/* without <> */
	uint32_t	 notify;		/* BW_DSN_NOTIFY_*, 0 none */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];	/* "" none */
};

/* Followed by 1..BW_DATA_CHUNK_MAX body bytes (CRLF lines, dot-unstuffed;
 * any octets with BW_MSGF_BODY_BINARY). */
struct bw_msg_data {
	char		 qid[BW_QID_LEN + 1];
};

struct bw_msg_commit {
	char		 qid[BW_QID_LEN + 1];
	uint64_t	 size;			/* body bytes smtpd sent */
	uint32_t	 nrcpt;			/* recipients smtpd sent */
};

struct bw_msg_abort {
	char		 qid[BW_QID_LEN + 1];
};

/* MSG_COMMIT_CHECK: queued answers MSG_COMMIT_REPLY OK when the message
 * is in its durable store, TEMPFAIL when it is not. */
struct bw_msg_commit_check {
	char		 qid[BW_QID_LEN + 1];
};

struct bw_msg_commit_reply {
	char		 qid[BW_QID_LEN + 1];
	uint32_t	 status;		/* enum bw_submit_status */
};

struct bw_status_counter {
	char		 name[BW_NAME_MAX];
	uint64_t	 value;
};

/* A word of state that is not a number (pressure=soft). */
struct bw_status_info {
	char		 name[BW_NAME_MAX];
	char		 value[BW_STATUS_INFO_TEXT_MAX];
};

struct bw_status {
	char		 proc[BW_NAME_MAX];	/* "smtpd", "deliverd[1]" */
	uint32_t	 pid;
	int64_t		 started;		/* unix time */
	uint32_t	 ncounters;
	struct bw_status_counter counters[BW_STATUS_COUNTERS_MAX];
	/* version 10 */
	uint32_t	 ninfo;
	struct bw_status_info info[BW_STATUS_INFO_MAX];
};

/* Queue states (per gateway, domain). */
enum bw_queue_state {
	BW_QUEUE_ACTIVE = 0,
	BW_QUEUE_DOWN,
	BW_QUEUE_SUSPENDED,
	BW_QUEUE_STATE__COUNT
};
const char	*bw_queue_state_name(int);

struct bw_queue_entry {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 state;			/* enum bw_queue_state */
	uint64_t	 messages;		/* recipients waiting, in fact */
	int64_t		 oldest;		/* unix time, 0 if empty */
	/* version 4 (issue 3) */
	uint64_t	 delivered;
	uint64_t	 hard_bounces;
	uint64_t	 soft_bounces;
	int64_t		 next_retry;		/* unix time, 0 = none */
	uint32_t	 active_jobs;		/* jobs at deliverd now */
	uint32_t	 pad;
	char		 last_error[BW_REPLY_TEXT_MAX];
};

struct bw_queue_end {
	uint64_t	 queues;
	uint64_t	 messages;
};

struct bw_message_show_req {
	char		 qid[BW_QID_LEN + 1];
};

struct bw_message_info {
	char		 qid[BW_QID_LEN + 1];
	uint32_t	 found;
	uint32_t	 flags;			/* BW_MSGF_* */
	int64_t		 created;		/* unix time */
	uint64_t	 size;			/* from the envelope */
	uint64_t	 body_stored;		/* bytes actually in the store */
	uint32_t	 nrcpt;
	char		 sender[BW_ADDR_MAX];
	char		 helo[BW_DOMAIN_MAX + 1];
	char		 client_addr[BW_HOSTADDR_MAX];
	char		 listener[BW_NAME_MAX];
	char		 gateway[BW_NAME_MAX];
	/* version 8: DSN */
	uint32_t	 dsn_ret;		/* enum bw_dsn_ret */
	uint32_t	 delay_warned;		/* the delay DSN went out */
	int64_t		 delay_due;		/* unix time; 0: none due */
	char		 envid[BW_DSN_ENVID_MAX + 1];
	/* version 10 */
	uint32_t	 scan_flags;		/* BW_SCAN_* from the envelope */
};

/* Recipient states. */
enum bw_rcpt_state {
	BW_RCPT_QUEUED = 0,
	BW_RCPT_DELIVERED,
	BW_RCPT_DEFERRED,
	BW_RCPT_BOUNCED,
	BW_RCPT_STATE__COUNT
};
const char	*bw_rcpt_state_name(int);

struct bw_message_rcpt {
	char		 qid[BW_QID_LEN + 1];
	char		 rcpt[BW_ADDR_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 state;			/* enum bw_rcpt_state */
	uint32_t	 attempts;
	char		 last_reply[BW_REPLY_TEXT_MAX];
	/* version 8: DSN */
	uint32_t	 notify;		/* BW_DSN_NOTIFY_* */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];
};

struct bw_message_list_req {
	uint64_t	 limit;			/* 0: no limit */
};

struct bw_message_list_entry {
	char		 qid[BW_QID_LEN + 1];
	int64_t		 created;
	uint64_t	 size;
	uint64_t	 body_stored;
	uint32_t	 nrcpt;
	uint32_t	 rcpt_stored;
};

struct bw_message_list_end {
	uint64_t	 count;
	uint32_t	 truncated;
};

#define BW_CTL_F_JSON		0x01
struct bw_ctl_cmd {
	uint32_t	 version;		/* BW_IMSG_VERSION */
	uint32_t	 flags;			/* BW_CTL_F_* */
	uint32_t	 argc;
	char		 argv[BW_CTL_ARGC_MAX][BW_CTL_ARG_MAX];
};

/* CTL_OUTPUT: 1..BW_CTL_TEXT_MAX bytes of text, no struct. */

struct bw_ctl_done {
	int32_t		 exitcode;
};

/*
 * DNS lookups through dnscached.  The client picks reqid and echoes nothing
 * else; dnscached answers with the same reqid and the same hdr.peerid.
 * DNS_ANSWER is a struct bw_dns_answer followed by nrr struct bw_dns_rr.
 */
#define BW_DNS_RR_MAX		32	/* records in one answer; more are cut (BW_DNS_ANSF_TRUNCATED) */
#define BW_DNS_RDATA_TEXT_MAX	1024	/* one record as text, NUL included */

/* Query types dnscached answers (the DNS type codes). */
#define BW_DNS_T_A		1
#define BW_DNS_T_PTR		12
#define BW_DNS_T_MX		15
#define BW_DNS_T_TXT		16
#define BW_DNS_T_AAAA		28
#define BW_DNS_T_TLSA		52

enum bw_dns_status {
	BW_DNS_OK = 0,		/* nrr >= 1 records of the type asked */
	BW_DNS_NXDOMAIN,	/* the name does not exist */
	BW_DNS_NODATA,		/* the name exists, no record of that type */
	BW_DNS_SERVFAIL,	/* every upstream failed or refused */
	BW_DNS_TIMEOUT,		/* no upstream answered in time */
	BW_DNS_FORMERR,		/* the query itself was not acceptable */
	BW_DNS_CNAME_LOOP,	/* a CNAME loop, or a chain longer than
				   dnscached follows: temporary, not cached */
	BW_DNS_STATUS__COUNT
};
const char	*bw_dns_status_name(int);

struct bw_dns_query {
	uint64_t	 reqid;			/* client's id, echoed */
	uint16_t	 qtype;			/* BW_DNS_T_* */
	uint16_t	 flags;			/* BW_DNS_QF_*; others ignored */
	char		 name[BW_DOMAIN_MAX + 1];	/* trailing dot optional */
};

#define BW_DNS_QF_DNSSEC	0x0001	/* ask upstream with DO and AD: the
					   answer may be BW_DNS_ANSF_SECURE
					   (cached apart from plain ones) */

#define BW_DNS_ANSF_TRUNCATED	0x01	/* more than BW_DNS_RR_MAX records (MX:
						   the lowest preferences are kept) */
#define BW_DNS_ANSF_CACHED	0x02	/* answered from the cache */
#define BW_DNS_ANSF_SECURE	0x04	/* asked with BW_DNS_QF_DNSSEC, the
					   upstream set AD and the config
					   trusts it (dns_upstream_validates
					   yes): DNSSEC-validated */

struct bw_dns_answer {
	uint64_t	 reqid;
	uint32_t	 status;		/* enum bw_dns_status */
	uint32_t	 ttl;			/* seconds the answer stays valid */
	uint32_t	 nrr;			/* records following, <= BW_DNS_RR_MAX */
	uint32_t	 flags;			/* BW_DNS_ANSF_* */
	uint16_t	 qtype;			/* echoed */
	uint16_t	 reserved;
	char		 name[BW_DOMAIN_MAX + 1];	/* normalised query name */
};

#define BW_DNS_RRF_TRUNCATED	0x01	/* data cut to BW_DNS_RDATA_TEXT_MAX - 1 */

/*
 * data: MX exchange / PTR target as a lower-case name without the trailing
 * dot ("." is the null MX of RFC 7505); A / AAAA address text; TXT strings
 * concatenated, control bytes as '?'; TLSA "usage selector mtype hex".
 */
struct bw_dns_rr {
	uint16_t	 type;			/* BW_DNS_T_* */
	uint16_t	 preference;		/* MX only */
	uint32_t	 ttl;
	uint32_t	 flags;			/* BW_DNS_RRF_* */
	char		 data[BW_DNS_RDATA_TEXT_MAX];
};

struct bw_dns_flush_done {
	uint64_t	 flushed;		/* cache entries removed */
};

/*
 * Delivery: queued hands deliverd one message for one (gateway, domain) as
 * DLV_JOB, then nrcpt DLV_RCPT, then the body in DLV_BODY chunks (size
 * bytes in all, CRLF lines as stored, not dot-stuffed), then DLV_END.  The
 * worker is chosen by queued: one worker owns a (gateway, domain).  deliverd
 * answers each recipient with DLV_RESULT (in any order) and then DLV_DONE;
 * a job whose results never come is retried by queued after deliverd's
 * connection is lost (at-least-once).  hdr.peerid is unused (0).
 */
#define BW_DLVF_PROBE		0x0100	/* the one retry of a down domain */
#define BW_DLVF_BOUNCE		0x0200	/* a DSN: never bounced itself */
#define BW_DSN_CODE_MAX		16	/* "5.1.1" */
#define BW_RELAY_TEXT_MAX	(BW_DOMAIN_MAX + BW_HOSTADDR_MAX + 16)
#define BW_TLS_TEXT_MAX		128	/* "tls=TLSv1.3 cipher=... verify=ok" */

struct bw_dlv_job {
	uint64_t	 jobid;			/* queued's, echoed */
	char		 qid[BW_QID_LEN + 1];
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	char		 sender[BW_ADDR_MAX];	/* "" null sender */
	uint64_t	 size;			/* body bytes that follow */
	int64_t		 created;		/* unix time of arrival */
	uint32_t	 nrcpt;
	uint32_t	 flags;			/* BW_MSGF_*, BW_DLVF_* */
	uint32_t	 attempts;		/* before this one */
	/* version 8: DSN, passed on to a next hop that offers it */
	uint32_t	 dsn_ret;		/* enum bw_dsn_ret */
	char		 envid[BW_DSN_ENVID_MAX + 1];	/* decoded; "" none */
};

struct bw_dlv_rcpt {
	uint64_t	 jobid;
	uint32_t	 index;			/* 0..nrcpt-1, echoed in results */
	char		 rcpt[BW_ADDR_MAX];
	uint32_t	 notify;		/* BW_DSN_NOTIFY_*, 0 none */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];	/* decoded; "" none */
};

/* Followed by 1..BW_DATA_CHUNK_MAX body bytes. */
struct bw_dlv_body {
	uint64_t	 jobid;
};

struct bw_dlv_end {
	uint64_t	 jobid;
};

/* An operator's retry of a (gateway, domain): sent to the worker that owns
 * it before the retry's jobs; the agent ends a Good Neighbor pause. */
struct bw_dlv_retry {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
};

enum bw_dlv_status {
	BW_DLV_DELIVERED = 0,
	BW_DLV_TEMPFAIL,
	BW_DLV_PERMFAIL,
	BW_DLV_STATUS__COUNT
};
const char	*bw_dlv_status_name(int);

struct bw_dlv_result {
	uint64_t	 jobid;
	uint32_t	 index;
	uint32_t	 status;		/* enum bw_dlv_status */
	char		 dsn[BW_DSN_CODE_MAX];	/* "2.0.0", "4.4.1", "5.1.1" */
	char		 relay[BW_RELAY_TEXT_MAX];	/* host[addr]:port or "" */
	char		 reply[BW_REPLY_TEXT_MAX];	/* the remote reply or why */
	uint32_t	 flags;			/* BW_DLVR_* */
	char		 tls[BW_TLS_TEXT_MAX];	/* the connection's TLS, for
						   the log line; "" none */
};
/* Delivered to a next hop that offers DSN, with the parameters: the
 * responsibility for success DSNs went with it (RFC 3461 6.2.1). */
#define BW_DLVR_DSN_PASSED	0x01

/*
 * unreachable: the domain as a whole could not be reached (every MX host
 * refused, timed out or greeted with 4xx): queued marks the queue down.
 * Results for every recipient have been sent before DLV_DONE.
 */
struct bw_dlv_done {
	uint64_t	 jobid;
	uint32_t	 unreachable;
	uint32_t	 connections;		/* opened for this job, for counters */
	char		 reason[BW_REPLY_TEXT_MAX];
};

/* bwctl show domain D: deliverd's view (the worker owning it answers). */
struct bw_domain_info_req {
	char		 gateway[BW_NAME_MAX];	/* "" = every gateway */
	char		 domain[BW_DOMAIN_MAX + 1];
};

struct bw_domain_info {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 found;			/* the worker has an agent */
	uint32_t	 connections;		/* open now */
	uint32_t	 routed;		/* an SMTP route, not MX */
	uint64_t	 delivered;
	uint64_t	 tempfail;
	uint64_t	 permfail;
	int64_t		 last_attempt;		/* unix time */
	char		 last_result[BW_REPLY_TEXT_MAX];
	/* version 13: Good Neighbor (deliverd_neighbor.c) */
	uint32_t	 conn_limit;		/* connections allowed now */
	uint32_t	 conn_limit_max;	/* the destination control */
	int64_t		 limit_changed;		/* unix time */
	int64_t		 paused_until;		/* unix time, 0 = not paused */
	uint32_t	 accept_rate;		/* messages/min, last minute */
	uint32_t	 pad;
	char		 limit_reason[BW_LIMIT_REASON_MAX];	/* "grow: ..." */
};

/*
 * bwctl show queue: every deliverd worker lists its agents (AGENT_LIST_REQ,
 * no payload; AGENT_ENTRY rows, AGENT_END) and controld puts their
 * connections and limits beside queued's queues.
 */
struct bw_agent_entry {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 connections;		/* open now */
	uint32_t	 conn_limit;		/* Good Neighbor's limit */
	uint32_t	 conn_limit_max;	/* the destination control */
	uint32_t	 paused;		/* new connections paused */
};

struct bw_domain_host {
	char		 domain[BW_DOMAIN_MAX + 1];
	char		 host[BW_DOMAIN_MAX + 1];
	char		 addr[BW_HOSTADDR_MAX];	/* "" not resolved */
	uint32_t	 preference;
	uint32_t	 port;
	uint32_t	 connections;
	int64_t		 last_error_time;
	char		 last_error[BW_REPLY_TEXT_MAX];
};

enum bw_domain_cmd_op {
	BW_DOMAIN_SHOW = 0,	/* queue state, next retry, oldest, counts */
	BW_DOMAIN_RETRY,	/* retry now (a down domain: its probe) */
	BW_DOMAIN_SUSPEND,
	BW_DOMAIN_RESUME,
	BW_DOMAIN_CMD__COUNT
};

struct bw_domain_cmd {
	uint32_t	 op;			/* enum bw_domain_cmd_op */
	char		 gateway[BW_NAME_MAX];	/* "" = every gateway */
	char		 domain[BW_DOMAIN_MAX + 1];
};

/* One per matching queue; found 0 and an empty gateway when none. */
struct bw_domain_cmd_reply {
	uint32_t	 found;
	uint32_t	 last;			/* last reply of this command */
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 state;			/* enum bw_queue_state */
	uint64_t	 messages;		/* recipients waiting */
	int64_t		 oldest;
	int64_t		 next_retry;		/* unix time, 0 = none */
	uint32_t	 retries;		/* domain-level, since down */
	uint64_t	 delivered;
	uint64_t	 hard_bounces;
	uint64_t	 soft_bounces;
	uint32_t	 active_jobs;
	char		 last_error[BW_REPLY_TEXT_MAX];
	char		 profile[BW_NAME_MAX];
};

/*
 * Reload.  CONFIG_RELOAD carries the configuration file as a descriptor
 * (SCM_RIGHTS), one opened for each daemon; hdr.peerid is controld's
 * request id (0: the daemon asked with CONFIG_REQ after a SIGHUP), echoed
 * in CONFIG_RELOAD_RESULT.
 */
struct bw_config_reload {
	uint32_t	 flags;			/* reserved, 0 */
};

#define BW_RELOAD_TEXT_MAX	1024	/* the first error, file:line: ... */

struct bw_config_reload_result {
	uint32_t	 ok;			/* 1 applied, 0 refused */
	uint32_t	 generation;		/* the configuration now running */
	uint32_t	 digest;		/* its text's FNV-1a */
	uint32_t	 kept;			/* settings that need a restart */
	char		 text[BW_RELOAD_TEXT_MAX];	/* why refused, or notes */
};

/*
 * bwctl queue verify / repair / quarantine / release QID / delete QID:
 * one QUEUE_VERIFY_REQ, any number of rows, one QUEUE_VERIFY_END.
 */
enum bw_verify_op {
	BW_VERIFY_CHECK = 0,	/* read every stored piece, report */
	BW_VERIFY_REPAIR,	/* the same, quarantining damaged messages */
	BW_VERIFY_LIST,		/* the quarantined messages */
	BW_VERIFY_RELEASE,	/* a quarantined message back to its queues */
	BW_VERIFY_DELETE,	/* a quarantined message removed for good */
	BW_VERIFY_OP__COUNT
};

enum bw_verify_row_kind {
	BW_VROW_DAMAGED = 0,	/* a problem of message qid */
	BW_VROW_ORPHAN,		/* a record naming qid, whose envelope is gone */
	BW_VROW_QUARANTINED,	/* repair quarantined it; or a listing row */
	BW_VROW_SKIPPED,	/* damaged, but in delivery now: not moved */
	BW_VROW_REMOVED,	/* repair removed an orphan record */
	BW_VROW_RELEASED,	/* release or delete done */
	BW_VROW_KIND__COUNT
};
const char	*bw_verify_row_kind_name(int);

#define BW_VERIFY_TEXT_MAX	256	/* one problem, as text */

struct bw_queue_verify_req {
	uint32_t	 op;			/* enum bw_verify_op */
	char		 qid[BW_QID_LEN + 1];	/* release, delete */
};

struct bw_queue_verify_row {
	char		 qid[BW_QID_LEN + 1];
	uint32_t	 kind;			/* enum bw_verify_row_kind */
	int64_t		 when;			/* quarantined at (unix time) */
	char		 what[BW_VERIFY_TEXT_MAX];
};

enum bw_verify_status {
	BW_VERIFY_DONE = 0,
	BW_VERIFY_BUSY,		/* another verify or repair is running */
	BW_VERIFY_ERROR,	/* the store could not be read (logged) */
	BW_VERIFY_NOTFOUND,	/* release, delete: not quarantined */
};

struct bw_queue_verify_end {
	uint32_t	 status;		/* enum bw_verify_status */
	uint32_t	 pad;
	uint64_t	 messages;		/* envelopes read */
	uint64_t	 pieces;		/* body pieces read and checked */
	uint64_t	 bytes;			/* in those pieces */
	uint64_t	 records;		/* index and recipient records */
	uint64_t	 damaged;		/* messages with a problem */
	uint64_t	 orphans;		/* records without an envelope */
	uint64_t	 quarantined;		/* by this repair; listing: all */
	uint64_t	 skipped;		/* damaged, in delivery, not moved */
};

/*
 * Queue pressure (queued -> smtpd): the state queued decides from free
 * space on the spool and the counts of open and queued messages
 * (queued_pressure.c); smtpd sheds load by it.
 */
enum bw_pressure_level {
	BW_PRESSURE_NONE = 0,
	BW_PRESSURE_SOFT,	/* a count over its mark */
	BW_PRESSURE_HARD,	/* the spool's free space is running out */
	BW_PRESSURE__COUNT
};
const char	*bw_pressure_level_name(int);	/* "none", "soft", "hard" */
#define BW_PRESSURE_REASON_MAX	80	/* "queued_messages 10500>=10000" */

struct bw_queue_pressure {
	uint32_t	 level;			/* enum bw_pressure_level */
	uint32_t	 pad;
	char		 reason[BW_PRESSURE_REASON_MAX];	/* "" at none */
};

/*
 * Per-host counters (version 11; common/hostcount.h is the table).  smtpd
 * asks queued, which owns the counts: HOSTCOUNT_TAKE counts n of a kind
 * for the client's address and is answered with HOSTCOUNT_REPLY (same
 * reqid) unless BW_HOSTCOUNT_F_NOREPLY; HOSTCOUNT_RELEASE ends one
 * connection (no reply).  A connection belongs to the smtpd link it was
 * taken on: when that link closes, queued releases all of them.
 */
#define BW_HOSTCOUNT_F_NOREPLY	0x01	/* re-take after a reconnect */
#define BW_SCORE_TEXT_MAX	16	/* "-10.0", "none" */

struct bw_hostcount_take {
	uint64_t	 reqid;			/* smtpd's, echoed */
	uint32_t	 family;		/* 4 or 6 (BW_HC_FAMILY_*) */
	uint8_t		 addr[16];		/* IPv4: the first 4 bytes */
	uint32_t	 kind;			/* enum bw_hc_kind: conn, msg, rcpt */
	uint32_t	 n;			/* 1 for a connection */
	uint32_t	 flags;			/* BW_HOSTCOUNT_F_* */
	int64_t		 limit;			/* 0: count, never refuse */
	int64_t		 window_ms;		/* msg, rcpt: the window's length */
	char		 group[BW_NAME_MAX];	/* labels for bwctl show senders; */
	char		 policy[BW_NAME_MAX];	/* "" keeps what queued has */
	char		 score[BW_SCORE_TEXT_MAX];
};

struct bw_hostcount_reply {
	uint64_t	 reqid;
	uint32_t	 granted;		/* 1 counted (or not remembered) */
	uint32_t	 kind;			/* echoed */
	uint64_t	 count;			/* connections, or this window's */
	int64_t		 reopen_at;		/* refused window: unix ms; else 0 */
};

struct bw_hostcount_release {
	uint32_t	 family;
	uint8_t		 addr[16];
	uint32_t	 kind;			/* conn */
};

struct bw_hostcount_list_req {
	uint32_t	 limit;			/* rows wanted, 1..QUEUED_SENDERS_MAX */
};

struct bw_hostcount_entry {
	char		 addr[BW_HOSTADDR_MAX];
	uint64_t	 conns;			/* now */
	uint64_t	 total_conns;
	uint64_t	 total_msgs;
	uint64_t	 total_rcpts;
	uint64_t	 win_msgs;		/* in the open window, else 0 */
	uint64_t	 win_rcpts;
	uint64_t	 refused;		/* takes refused, lifetime */
	int64_t		 last_seen;		/* unix ms */
	char		 group[BW_NAME_MAX];
	char		 policy[BW_NAME_MAX];
	char		 score[BW_SCORE_TEXT_MAX];
};

struct bw_hostcount_end {
	uint64_t	 hosts;			/* remembered */
	uint64_t	 overflow;		/* takes granted, not remembered */
	uint32_t	 rows;			/* entries sent */
	uint32_t	 pad;
};

/*
 * bwctl trace ADDRESS: controld asks smtpd (TRACE_REQ, hdr.peerid its
 * request id) what a host at addr would get; smtpd makes the lookups a
 * connection makes and answers once (TRACE_REPLY, the same peerid): the
 * host's reverse DNS, score, group and policy, and what each SMTP step
 * would answer.  Strings are terminated by the receiver (bw_imsg_str).
 */
#define BW_TRACE_RCPT_MAX	12	/* --rcpt options of one trace */
#define BW_TRACE_STEPS_MAX	(3 + BW_TRACE_RCPT_MAX)	/* connect, EHLO,
					   MAIL and each RCPT */
#define BW_TRACE_TEXT_MAX	256	/* an error, a reason, EHLO keywords */

struct bw_trace_req {
	char		 addr[BW_HOSTADDR_MAX];	/* numeric IPv4 or IPv6 */
	char		 listener[BW_NAME_MAX];	/* "": the first public one */
	char		 helo[BW_DOMAIN_MAX + 1];	/* "": [addr] */
	char		 from[BW_CTL_ARG_MAX];	/* MAIL path [params]; "" <> */
	uint32_t	 nrcpt;			/* <= BW_TRACE_RCPT_MAX */
	char		 rcpt[BW_TRACE_RCPT_MAX][BW_CTL_ARG_MAX];
};

enum bw_trace_step_kind {
	BW_TRACE_CONNECT = 0,
	BW_TRACE_EHLO,
	BW_TRACE_MAIL,
	BW_TRACE_RCPT,
	BW_TRACE_STEP__COUNT
};
const char	*bw_trace_step_name(int);	/* "connect", "ehlo", ... */

struct bw_trace_step {
	uint32_t	 kind;			/* enum bw_trace_step_kind */
	uint32_t	 closed;		/* the connection ends here */
	uint64_t	 delay_ms;		/* before the reply: the banner's
						   greeting delay, a command's
						   tarpit pause */
	char		 command[BW_CTL_ARG_MAX + 16];	/* as a client sends it;
						   "" for connect */
	char		 reply[BW_REPLY_TEXT_MAX];	/* first line; "" none */
	char		 ext[BW_TRACE_TEXT_MAX];	/* EHLO: the keywords */
	char		 why[BW_TRACE_TEXT_MAX];
};

struct bw_trace_reply {
	uint32_t	 ok;			/* 0: error says why */
	uint32_t	 nsteps;		/* <= BW_TRACE_STEPS_MAX */
	char		 error[BW_TRACE_TEXT_MAX];
	char		 addr[BW_HOSTADDR_MAX];
	char		 listener[BW_NAME_MAX];
	char		 rdns[BW_NAME_MAX];	/* off, confirmed, unknown, ... */
	char		 name[BW_DOMAIN_MAX + 1];	/* confirmed, or "unknown" */
	char		 ptr[BW_DOMAIN_MAX + 1];	/* unconfirmed: the PTR name */
	char		 score[BW_NAME_MAX];	/* "-3.5", "none" */
	char		 group[BW_NAME_MAX];	/* "none": no group matched */
	char		 policy[BW_NAME_MAX];	/* "none": the listener alone */
	char		 behaviour[BW_NAME_MAX];	/* accept relay reject ... */
	char		 tls[BW_NAME_MAX];	/* off offered required implicit */
	char		 pressure[BW_NAME_MAX];	/* queued's: none, soft, hard */
	char		 pressure_reason[BW_PRESSURE_REASON_MAX];
	uint32_t	 scan;			/* BW_SCAN_* */
	int32_t		 score_tenths;		/* when score_known */
	uint32_t	 score_known;
	uint32_t	 pad;
	uint64_t	 message_size_limit;	/* the policy's set */
	uint64_t	 max_recipients;
	uint64_t	 max_messages;		/* per connection */
	uint64_t	 max_connections;	/* per host */
	uint64_t	 greeting_delay_ms;	/* all of it ... */
	uint64_t	 greeting_tarpit_ms;	/* ... of which the score's */
	uint64_t	 command_delay_ms;
	uint64_t	 command_tarpit_ms;
	struct bw_trace_step steps[BW_TRACE_STEPS_MAX];
};

/*
 * bwctl debug DOMAIN on|off: controld keeps the table and sends all of it
 * to every deliverd worker (DEBUG_TABLE) on each change and when a worker
 * links.  A row's time left is relative (the worker counts it from the
 * frame's arrival on its own monotonic clock), so a worker that misses
 * the "off" still stops at the deadline.  The pattern is normalized by
 * controld (bw_debug_pattern_norm); the worker checks it again.
 */
#define BW_DEBUG_DOMAINS_MAX	32	/* domains in debug at once: a
					   transcript is for a few
					   destinations looked at by hand */

struct bw_debug_row {
	uint64_t	 left_ms;		/* > 0 */
	char		 pattern[BW_DOMAIN_MAX + 1];	/* "example.org",
						   "*.example.org" */
};

struct bw_debug_table {
	uint32_t	 n;			/* <= BW_DEBUG_DOMAINS_MAX */
	uint32_t	 pad;
	struct bw_debug_row rows[BW_DEBUG_DOMAINS_MAX];	/* sent up to n */
};

/*
 * Acting on queued mail (bwctl delete | undelete | bounce | hold | release
 * | show held): one QUEUE_ACTION_REQ, one QUEUE_ACTION_ROW per message
 * matched, one QUEUE_ACTION_END.  A deleted message waits in queued's
 * hold area for queue_undelete_window, then is purged; a held one waits
 * until released.  Selectors other than a queue id are walked by queued a
 * bounded number of records per event-loop turn.
 */
#define BW_ACTOR_MAX		96	/* who asked: "bwctl uid=0 pid=4242" */

enum bw_qact_op {
	BW_QACT_DELETE = 0,	/* to the hold area, undo window */
	BW_QACT_UNDELETE,	/* a deleted message back to its queues */
	BW_QACT_BOUNCE,		/* DSN to the sender, then removed */
	BW_QACT_HOLD,		/* out of its queues until released */
	BW_QACT_RELEASE,	/* a held message back to its queues */
	BW_QACT_LIST,		/* the held and deleted messages */
	BW_QACT_OP__COUNT
};
const char	*bw_qact_op_name(int);		/* "delete", ... */

enum bw_qact_sel {
	BW_QSEL_QID = 0,
	BW_QSEL_DOMAIN,		/* messages with recipients queued for it */
	BW_QSEL_SENDER,		/* envelope sender, "<>" the null sender */
	BW_QSEL_AGE,		/* arrived older_than seconds ago or more */
	BW_QSEL_ALL,		/* list only */
	BW_QSEL__COUNT
};

struct bw_queue_action_req {
	uint32_t	 op;			/* enum bw_qact_op */
	uint32_t	 sel;			/* enum bw_qact_sel */
	uint32_t	 dry_run;		/* 1: rows of what would be done */
	uint32_t	 pad;
	uint64_t	 limit;			/* rows; 0: QUEUED_ACTION_MAX */
	int64_t		 older_than;		/* seconds (BW_QSEL_AGE) */
	char		 qid[BW_QID_LEN + 1];
	char		 gateway[BW_NAME_MAX];	/* "" every gateway */
	char		 domain[BW_DOMAIN_MAX + 1];
	char		 sender[BW_ADDR_MAX];	/* without <>; "" null sender */
	char		 who[BW_ACTOR_MAX];	/* logged with each message */
};

enum bw_qact_result {
	BW_QACT_DONE = 0,	/* done (dry run: would be done) */
	BW_QACT_ALREADY,	/* in that state already */
	BW_QACT_BUSY,		/* in delivery now: left alone */
	BW_QACT_NOTFOUND,	/* no such message */
	BW_QACT_EXPIRED,	/* deleted, its undo window is over */
	BW_QACT_ERROR,		/* the store failed (logged) */
	BW_QACT_NOTHELD,	/* release/undelete of a message not held or
				   not deleted */
	BW_QACT_DELETED,	/* deleted: undelete it first */
	BW_QACT_QUARANTINED,	/* damaged (bwctl queue release | delete) */
	BW_QACT_RESULT__COUNT
};
const char	*bw_qact_result_name(int);	/* "done", "already", ... */

enum bw_qact_kind {
	BW_QKIND_LIVE = 0,	/* in its queues */
	BW_QKIND_HELD,
	BW_QKIND_DELETED,
};

struct bw_queue_action_row {
	char		 qid[BW_QID_LEN + 1];
	uint32_t	 result;		/* enum bw_qact_result */
	uint32_t	 kind;			/* enum bw_qact_kind, after */
	int64_t		 created;		/* arrival (unix time) */
	int64_t		 when;			/* held or deleted at; 0 */
	int64_t		 expires;		/* deleted: purged at; 0 */
	uint32_t	 nrcpt;			/* recipients still pending */
	uint32_t	 pad;
	char		 sender[BW_ADDR_MAX];
	char		 who[BW_ACTOR_MAX];	/* who held or deleted it */
};

enum bw_qact_status {
	BW_QACT_END_DONE = 0,
	BW_QACT_END_BUSY,	/* too many walks at once: try again */
	BW_QACT_END_ERROR,	/* the store could not be read (logged) */
};

struct bw_queue_action_end {
	uint32_t	 status;		/* enum bw_qact_status */
	uint32_t	 truncated;		/* the limit stopped the walk */
	uint64_t	 matched;		/* rows sent */
	uint64_t	 done;			/* result DONE */
	uint64_t	 skipped;		/* any other result */
};

/*
 * bwctl redirect DOMAIN HOST[:PORT]: controld keeps the table (persisted
 * in monitor_dir) and sends all of it to every deliverd worker on each
 * change and when a worker links; a worker routes a redirected domain to
 * the host before the configured routes.
 */
#define BW_REDIRECT_MAX		64	/* redirects at once: a few domains
					   sent elsewhere by hand */

struct bw_redirect_row {
	char		 domain[BW_DOMAIN_MAX + 1];	/* lower case */
	char		 host[BW_DOMAIN_MAX + 1];	/* name or [addr] */
	uint32_t	 port;			/* 0: the route's or 25 */
	uint32_t	 pad;
};

struct bw_redirect_table {
	uint32_t	 n;			/* <= BW_REDIRECT_MAX */
	uint32_t	 pad;
	struct bw_redirect_row rows[BW_REDIRECT_MAX];	/* sent up to n */
};

/*
 * Alerts (controld_alert.c).  queued tells controld when a queue goes
 * down or comes up again (QUEUE_EVENT, unsolicited, peerid 0), and stores
 * the alert mail controld composes like a DSN: on the bounce gateway,
 * from the null sender, never bounced itself (ADMIN_MAIL).  The mail is
 * the whole message text, headers and body, CRLF lines of 7-bit text;
 * queued checks it again (queued_adminmail.c).
 */
struct bw_queue_event {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 state;			/* enum bw_queue_state, new */
	uint32_t	 pad;
	uint64_t	 queued;		/* recipients waiting */
	char		 reason[BW_REPLY_TEXT_MAX];	/* down: last error */
};

#define BW_ADMIN_MAIL_RCPTS_MAX	8		/* alert_mail_to addresses */
#define BW_ADMIN_MAIL_TEXT_MAX	(32 * 1024)	/* headers and body */

struct bw_admin_mail {
	uint32_t	 nrcpt;			/* 1..BW_ADMIN_MAIL_RCPTS_MAX */
	uint32_t	 textlen;		/* bytes after this struct */
	char		 rcpt[BW_ADMIN_MAIL_RCPTS_MAX][BW_ADDR_MAX];	/* bare
						   local@domain */
};

struct bw_admin_mail_done {
	uint32_t	 ok;			/* 1 stored, 0 refused */
	char		 qid[BW_QID_LEN + 1];	/* ok: the new message */
	char		 why[BW_REPLY_TEXT_MAX];	/* refused: why */
};

/*
 * The monitor's cheap view of the queue (queued_top.c): the n busiest
 * (gateway, domain) queues and the n most deferred, with the last full
 * minute's counts, and totals over all queues, computed from queued's
 * memory (no queues.db walk).  A queue in both sets is sent once with both
 * bits.  Latency is arrival to final delivery, per recipient delivered.
 */
#define BW_QUEUE_TOP_MAX	1000	/* n per set, at most */
#define BW_TOP_BUSIEST		0x01	/* most messages queued, then the
					   last minute's deliveries */
#define BW_TOP_DEFERRED		0x02	/* most messages waiting for a retry
					   (deferred or parked) */
#define BW_LAT_BUCKETS		12	/* le 1s 5s 15s 30s 1m 5m 15m 1h 4h
					   12h 1d +Inf */

struct bw_queue_top_req {
	uint32_t	 n;			/* per set, 1..BW_QUEUE_TOP_MAX */
	uint32_t	 pad;
};

struct bw_queue_top_entry {
	struct bw_queue_entry q;		/* messages: recipients waiting */
	uint32_t	 sets;			/* BW_TOP_* */
	uint32_t	 pad;
	uint64_t	 queued;		/* messages in the queue now */
	uint64_t	 waiting;		/* of which deferred or parked */
	uint64_t	 win_delivered;		/* recipients, last full minute */
	uint64_t	 win_deferred;
	uint64_t	 win_bounced;
	uint64_t	 lat_buckets[BW_LAT_BUCKETS];	/* lifetime of the queue
						   in memory, cumulative */
};

struct bw_queue_top_end {
	int64_t		 minute;		/* start of the windows' minute */
	uint64_t	 nqueues;		/* queues in memory */
	uint64_t	 queues[BW_QUEUE_STATE__COUNT];	/* by state */
	uint64_t	 msgs[BW_QUEUE_STATE__COUNT];	/* messages queued, by
						   the state of their queue */
	uint64_t	 ready;			/* the work queue */
	uint64_t	 deferred;
	uint64_t	 parked;
	uint64_t	 inflight;
	uint64_t	 listed;		/* entries sent */
	uint64_t	 rest_queued;		/* queues not sent, summed */
	uint64_t	 rest_waiting;
	uint64_t	 rest_win_delivered;
	uint64_t	 rest_win_deferred;
	uint64_t	 rest_win_bounced;
	uint64_t	 win_delivered;		/* every queue, last full minute */
	uint64_t	 win_deferred;
	uint64_t	 win_bounced;
	uint64_t	 lat_buckets[BW_LAT_BUCKETS];	/* cumulative, since
						   queued started */
	uint64_t	 lat_sum_ms;
	uint64_t	 lat_count;
	uint64_t	 spool_free;		/* bytes; UINT64_MAX unknown */
};

#endif
