/*
 * The message catalog: who may send what, and how big it may be.  Checked
 * by the peer layer before any handler sees a frame.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>

#include "imsg_catalog.h"
#include "util.h"

#define FIXED(t)	sizeof(t), sizeof(t)

static const struct bw_imsg_def imsg_defs[BW_IMSG__COUNT] = {
	[BW_IMSG_HELLO] = { BW_IMSG_HELLO, "HELLO", BW_ROLE_ANY,
	    FIXED(struct bw_hello) },
	[BW_IMSG_MSG_OPEN] = { BW_IMSG_MSG_OPEN, "MSG_OPEN", BW_ROLE_SMTPD,
	    FIXED(struct bw_msg_open) },
	[BW_IMSG_MSG_RCPT] = { BW_IMSG_MSG_RCPT, "MSG_RCPT", BW_ROLE_SMTPD,
	    FIXED(struct bw_msg_rcpt) },
	[BW_IMSG_MSG_DATA] = { BW_IMSG_MSG_DATA, "MSG_DATA", BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_data) + 1,
	    sizeof(struct bw_msg_data) + BW_DATA_CHUNK_MAX },
	[BW_IMSG_MSG_COMMIT] = { BW_IMSG_MSG_COMMIT, "MSG_COMMIT",
	    BW_ROLE_SMTPD, FIXED(struct bw_msg_commit) },
	[BW_IMSG_MSG_ABORT] = { BW_IMSG_MSG_ABORT, "MSG_ABORT", BW_ROLE_SMTPD,
	    FIXED(struct bw_msg_abort) },
	[BW_IMSG_MSG_OPEN_REPLY] = { BW_IMSG_MSG_OPEN_REPLY, "MSG_OPEN_REPLY",
	    BW_ROLE_QUEUED, FIXED(struct bw_msg_open_reply) },
	[BW_IMSG_MSG_COMMIT_REPLY] = { BW_IMSG_MSG_COMMIT_REPLY,
	    "MSG_COMMIT_REPLY", BW_ROLE_QUEUED,
	    FIXED(struct bw_msg_commit_reply) },
	[BW_IMSG_STATUS_REQ] = { BW_IMSG_STATUS_REQ, "STATUS_REQ",
	    BW_ROLE_CONTROLD, 0, 0 },
	[BW_IMSG_STATUS] = { BW_IMSG_STATUS, "STATUS",
	    BW_ROLE_SMTPD | BW_ROLE_QUEUED | BW_ROLE_DELIVERD |
	    BW_ROLE_DNSCACHED, FIXED(struct bw_status) },
	[BW_IMSG_QUEUE_LIST_REQ] = { BW_IMSG_QUEUE_LIST_REQ, "QUEUE_LIST_REQ",
	    BW_ROLE_CONTROLD, 0, 0 },
	[BW_IMSG_QUEUE_ENTRY] = { BW_IMSG_QUEUE_ENTRY, "QUEUE_ENTRY",
	    BW_ROLE_QUEUED, FIXED(struct bw_queue_entry) },
	[BW_IMSG_QUEUE_END] = { BW_IMSG_QUEUE_END, "QUEUE_END",
	    BW_ROLE_QUEUED, FIXED(struct bw_queue_end) },
	[BW_IMSG_MESSAGE_SHOW_REQ] = { BW_IMSG_MESSAGE_SHOW_REQ,
	    "MESSAGE_SHOW_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_message_show_req) },
	[BW_IMSG_MESSAGE_INFO] = { BW_IMSG_MESSAGE_INFO, "MESSAGE_INFO",
	    BW_ROLE_QUEUED, FIXED(struct bw_message_info) },
	[BW_IMSG_MESSAGE_RCPT] = { BW_IMSG_MESSAGE_RCPT, "MESSAGE_RCPT",
	    BW_ROLE_QUEUED, FIXED(struct bw_message_rcpt) },
	[BW_IMSG_MESSAGE_END] = { BW_IMSG_MESSAGE_END, "MESSAGE_END",
	    BW_ROLE_QUEUED, 0, 0 },
	[BW_IMSG_MESSAGE_LIST_REQ] = { BW_IMSG_MESSAGE_LIST_REQ,
	    "MESSAGE_LIST_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_message_list_req) },
	[BW_IMSG_MESSAGE_LIST_ENTRY] = { BW_IMSG_MESSAGE_LIST_ENTRY,
	    "MESSAGE_LIST_ENTRY", BW_ROLE_QUEUED,
	    FIXED(struct bw_message_list_entry) },
	[BW_IMSG_MESSAGE_LIST_END] = { BW_IMSG_MESSAGE_LIST_END,
	    "MESSAGE_LIST_END", BW_ROLE_QUEUED,
	    FIXED(struct bw_message_list_end) },
	[BW_IMSG_CTL_CMD] = { BW_IMSG_CTL_CMD, "CTL_CMD", BW_ROLE_BWCTL,
	    FIXED(struct bw_ctl_cmd) },
	[BW_IMSG_CTL_OUTPUT] = { BW_IMSG_CTL_OUTPUT, "CTL_OUTPUT",
	    BW_ROLE_CONTROLD, 1, BW_CTL_TEXT_MAX },
	[BW_IMSG_CTL_DONE] = { BW_IMSG_CTL_DONE, "CTL_DONE", BW_ROLE_CONTROLD,
	    FIXED(struct bw_ctl_done) },
	[BW_IMSG_DNS_QUERY] = { BW_IMSG_DNS_QUERY, "DNS_QUERY",
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, FIXED(struct bw_dns_query) },
	[BW_IMSG_DNS_ANSWER] = { BW_IMSG_DNS_ANSWER, "DNS_ANSWER",
	    BW_ROLE_DNSCACHED, sizeof(struct bw_dns_answer),
	    sizeof(struct bw_dns_answer) +
	    BW_DNS_RR_MAX * sizeof(struct bw_dns_rr) },
	[BW_IMSG_DNS_FLUSH] = { BW_IMSG_DNS_FLUSH, "DNS_FLUSH",
	    BW_ROLE_CONTROLD, 0, 0 },
	[BW_IMSG_DNS_FLUSH_DONE] = { BW_IMSG_DNS_FLUSH_DONE, "DNS_FLUSH_DONE",
	    BW_ROLE_DNSCACHED, FIXED(struct bw_dns_flush_done) },
	[BW_IMSG_DLV_JOB] = { BW_IMSG_DLV_JOB, "DLV_JOB", BW_ROLE_QUEUED,
	    FIXED(struct bw_dlv_job) },
	[BW_IMSG_DLV_RCPT] = { BW_IMSG_DLV_RCPT, "DLV_RCPT", BW_ROLE_QUEUED,
	    FIXED(struct bw_dlv_rcpt) },
	[BW_IMSG_DLV_BODY] = { BW_IMSG_DLV_BODY, "DLV_BODY", BW_ROLE_QUEUED,
	    sizeof(struct bw_dlv_body) + 1,
	    sizeof(struct bw_dlv_body) + BW_DATA_CHUNK_MAX },
	[BW_IMSG_DLV_END] = { BW_IMSG_DLV_END, "DLV_END", BW_ROLE_QUEUED,
	    FIXED(struct bw_dlv_end) },
	[BW_IMSG_DLV_RETRY] = { BW_IMSG_DLV_RETRY, "DLV_RETRY",
	    BW_ROLE_QUEUED, FIXED(struct bw_dlv_retry) },
	[BW_IMSG_DLV_RESULT] = { BW_IMSG_DLV_RESULT, "DLV_RESULT",
	    BW_ROLE_DELIVERD, FIXED(struct bw_dlv_result) },
	[BW_IMSG_DLV_DONE] = { BW_IMSG_DLV_DONE, "DLV_DONE", BW_ROLE_DELIVERD,
	    FIXED(struct bw_dlv_done) },
	[BW_IMSG_DOMAIN_INFO_REQ] = { BW_IMSG_DOMAIN_INFO_REQ,
	    "DOMAIN_INFO_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_domain_info_req) },
	[BW_IMSG_DOMAIN_INFO] = { BW_IMSG_DOMAIN_INFO, "DOMAIN_INFO",
	    BW_ROLE_DELIVERD, FIXED(struct bw_domain_info) },
	[BW_IMSG_DOMAIN_HOST] = { BW_IMSG_DOMAIN_HOST, "DOMAIN_HOST",
	    BW_ROLE_DELIVERD, FIXED(struct bw_domain_host) },
	[BW_IMSG_DOMAIN_INFO_END] = { BW_IMSG_DOMAIN_INFO_END,
	    "DOMAIN_INFO_END", BW_ROLE_DELIVERD, 0, 0 },
	[BW_IMSG_DOMAIN_CMD] = { BW_IMSG_DOMAIN_CMD, "DOMAIN_CMD",
	    BW_ROLE_CONTROLD, FIXED(struct bw_domain_cmd) },
	[BW_IMSG_DOMAIN_CMD_REPLY] = { BW_IMSG_DOMAIN_CMD_REPLY,
	    "DOMAIN_CMD_REPLY", BW_ROLE_QUEUED,
	    FIXED(struct bw_domain_cmd_reply) },
	[BW_IMSG_CONFIG_RELOAD] = { BW_IMSG_CONFIG_RELOAD, "CONFIG_RELOAD",
	    BW_ROLE_CONTROLD, FIXED(struct bw_config_reload) },
	[BW_IMSG_CONFIG_RELOAD_RESULT] = { BW_IMSG_CONFIG_RELOAD_RESULT,
	    "CONFIG_RELOAD_RESULT", BW_ROLE_SMTPD | BW_ROLE_QUEUED |
	    BW_ROLE_DELIVERD | BW_ROLE_DNSCACHED,
	    FIXED(struct bw_config_reload_result) },
	[BW_IMSG_CONFIG_REQ] = { BW_IMSG_CONFIG_REQ, "CONFIG_REQ",
	    BW_ROLE_SMTPD | BW_ROLE_QUEUED | BW_ROLE_DELIVERD |
	    BW_ROLE_DNSCACHED, 0, 0 },
	[BW_IMSG_MSG_COMMIT_CHECK] = { BW_IMSG_MSG_COMMIT_CHECK,
	    "MSG_COMMIT_CHECK", BW_ROLE_SMTPD,
	    FIXED(struct bw_msg_commit_check) },
	[BW_IMSG_QUEUE_VERIFY_REQ] = { BW_IMSG_QUEUE_VERIFY_REQ,
	    "QUEUE_VERIFY_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_queue_verify_req) },
	[BW_IMSG_QUEUE_VERIFY_ROW] = { BW_IMSG_QUEUE_VERIFY_ROW,
	    "QUEUE_VERIFY_ROW", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_verify_row) },
	[BW_IMSG_QUEUE_VERIFY_END] = { BW_IMSG_QUEUE_VERIFY_END,
	    "QUEUE_VERIFY_END", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_verify_end) },
	[BW_IMSG_QUEUE_PRESSURE] = { BW_IMSG_QUEUE_PRESSURE,
	    "QUEUE_PRESSURE", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_pressure) },
	[BW_IMSG_HOSTCOUNT_TAKE] = { BW_IMSG_HOSTCOUNT_TAKE,
	    "HOSTCOUNT_TAKE", BW_ROLE_SMTPD,
	    FIXED(struct bw_hostcount_take) },
	[BW_IMSG_HOSTCOUNT_REPLY] = { BW_IMSG_HOSTCOUNT_REPLY,
	    "HOSTCOUNT_REPLY", BW_ROLE_QUEUED,
	    FIXED(struct bw_hostcount_reply) },
	[BW_IMSG_HOSTCOUNT_RELEASE] = { BW_IMSG_HOSTCOUNT_RELEASE,
	    "HOSTCOUNT_RELEASE", BW_ROLE_SMTPD,
	    FIXED(struct bw_hostcount_release) },
	[BW_IMSG_HOSTCOUNT_LIST_REQ] = { BW_IMSG_HOSTCOUNT_LIST_REQ,
	    "HOSTCOUNT_LIST_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_hostcount_list_req) },
	[BW_IMSG_HOSTCOUNT_ENTRY] = { BW_IMSG_HOSTCOUNT_ENTRY,
	    "HOSTCOUNT_ENTRY", BW_ROLE_QUEUED,
	    FIXED(struct bw_hostcount_entry) },
	[BW_IMSG_HOSTCOUNT_END] = { BW_IMSG_HOSTCOUNT_END,
	    "HOSTCOUNT_END", BW_ROLE_QUEUED,
	    FIXED(struct bw_hostcount_end) },
	[BW_IMSG_TRACE_REQ] = { BW_IMSG_TRACE_REQ, "TRACE_REQ",
	    BW_ROLE_CONTROLD, FIXED(struct bw_trace_req) },
	[BW_IMSG_TRACE_REPLY] = { BW_IMSG_TRACE_REPLY, "TRACE_REPLY",
	    BW_ROLE_SMTPD, FIXED(struct bw_trace_reply) },
	[BW_IMSG_DEBUG_TABLE] = { BW_IMSG_DEBUG_TABLE, "DEBUG_TABLE",
	    BW_ROLE_CONTROLD, offsetof(struct bw_debug_table, rows),
	    sizeof(struct bw_debug_table) },
	[BW_IMSG_AGENT_LIST_REQ] = { BW_IMSG_AGENT_LIST_REQ, "AGENT_LIST_REQ",
	    BW_ROLE_CONTROLD, 0, 0 },
	[BW_IMSG_AGENT_ENTRY] = { BW_IMSG_AGENT_ENTRY, "AGENT_ENTRY",
	    BW_ROLE_DELIVERD, FIXED(struct bw_agent_entry) },
	[BW_IMSG_AGENT_END] = { BW_IMSG_AGENT_END, "AGENT_END",
	    BW_ROLE_DELIVERD, 0, 0 },
	[BW_IMSG_QUEUE_ACTION_REQ] = { BW_IMSG_QUEUE_ACTION_REQ,
	    "QUEUE_ACTION_REQ", BW_ROLE_CONTROLD,
	    FIXED(struct bw_queue_action_req) },
	[BW_IMSG_QUEUE_ACTION_ROW] = { BW_IMSG_QUEUE_ACTION_ROW,
	    "QUEUE_ACTION_ROW", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_action_row) },
	[BW_IMSG_QUEUE_ACTION_END] = { BW_IMSG_QUEUE_ACTION_END,
	    "QUEUE_ACTION_END", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_action_end) },
	[BW_IMSG_REDIRECT_TABLE] = { BW_IMSG_REDIRECT_TABLE, "REDIRECT_TABLE",
	    BW_ROLE_CONTROLD, offsetof(struct bw_redirect_table, rows),
	    sizeof(struct bw_redirect_table) },
	[BW_IMSG_QUEUE_EVENT] = { BW_IMSG_QUEUE_EVENT, "QUEUE_EVENT",
	    BW_ROLE_QUEUED, FIXED(struct bw_queue_event) },
	[BW_IMSG_ADMIN_MAIL] = { BW_IMSG_ADMIN_MAIL, "ADMIN_MAIL",
	    BW_ROLE_CONTROLD, sizeof(struct bw_admin_mail),
	    sizeof(struct bw_admin_mail) + BW_ADMIN_MAIL_TEXT_MAX },
	[BW_IMSG_ADMIN_MAIL_DONE] = { BW_IMSG_ADMIN_MAIL_DONE,
	    "ADMIN_MAIL_DONE", BW_ROLE_QUEUED,
	    FIXED(struct bw_admin_mail_done) },
	[BW_IMSG_QUEUE_TOP_REQ] = { BW_IMSG_QUEUE_TOP_REQ, "QUEUE_TOP_REQ",
	    BW_ROLE_CONTROLD, FIXED(struct bw_queue_top_req) },
	[BW_IMSG_QUEUE_TOP_ENTRY] = { BW_IMSG_QUEUE_TOP_ENTRY,
	    "QUEUE_TOP_ENTRY", BW_ROLE_QUEUED,
	    FIXED(struct bw_queue_top_entry) },
	[BW_IMSG_QUEUE_TOP_END] = { BW_IMSG_QUEUE_TOP_END, "QUEUE_TOP_END",
	    BW_ROLE_QUEUED, FIXED(struct bw_queue_top_end) },
};

static const struct {
	int		 role;
	const char	*name;
} role_names[] = {
	{ BW_ROLE_SMTPD,	"smtpd" },
	{ BW_ROLE_QUEUED,	"queued" },
	{ BW_ROLE_DELIVERD,	"deliverd" },
	{ BW_ROLE_DNSCACHED,	"dnscached" },
	{ BW_ROLE_CONTROLD,	"controld" },
	{ BW_ROLE_BWCTL,	"bwctl" },
};

const char *
bw_role_name(int role)
{
	size_t	 i;

	if (role == BW_ROLE_NONE)
		return "none";
	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (role_names[i].role == role)
			return role_names[i].name;
	return "?";
}

int
bw_role_from_name(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(role_names[i].name, name) == 0)
			return role_names[i].role;
	return BW_ROLE_NONE;
}

const struct bw_imsg_def *
bw_imsg_def(uint32_t type)
{
	if (type == BW_IMSG_NONE || type >= BW_IMSG__COUNT)
		return NULL;
	if (imsg_defs[type].name == NULL)
		return NULL;
	return &imsg_defs[type];
}

const char *
bw_imsg_type_name(uint32_t type)
{
	const struct bw_imsg_def *def = bw_imsg_def(type);

	return def ? def->name : "UNKNOWN";
}

int
bw_imsg_check(uint32_t type, int sender_role, size_t len)
{
	const struct bw_imsg_def *def = bw_imsg_def(type);

	if (def == NULL)
		return BW_IMSG_EUNKNOWN;
	/* exactly one role bit, and one the catalog allows */
	if (sender_role == 0 || (sender_role & (sender_role - 1)) != 0 ||
	    (def->senders & sender_role) == 0)
		return BW_IMSG_EROLE;
	if (len < def->minlen || len > def->maxlen)
		return BW_IMSG_EBADLEN;
	return BW_IMSG_OK;
}

const char *
bw_imsg_check_name(int result)
{
	switch (result) {
	case BW_IMSG_OK:
		return "ok";
	case BW_IMSG_EUNKNOWN:
		return "unknown message type";
	case BW_IMSG_EROLE:
		return "message not allowed from this role";
	case BW_IMSG_EBADLEN:
		return "payload length out of range";
	}
	return "?";
}

void
bw_imsg_str(char *dst, size_t dstsz, const char *src, size_t srcsz)
{
	size_t	 n;

	if (dstsz == 0)
		return;
	n = strnlen(src, srcsz);
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *
bw_submit_status_name(int status)
{
	static const char *names[BW_SUBMIT__COUNT] = {
		"ok", "tempfail", "nospace", "toobig", "toomany", "busy"
	};

	if (status < 0 || status >= BW_SUBMIT__COUNT)
		return "?";
	return names[status];
}

const char *
bw_queue_state_name(int state)
{
	static const char *names[BW_QUEUE_STATE__COUNT] = {
		"active", "down", "suspended"
	};

	if (state < 0 || state >= BW_QUEUE_STATE__COUNT)
		return "?";
	return names[state];
}

const char *
bw_rcpt_state_name(int state)
{
	static const char *names[BW_RCPT_STATE__COUNT] = {
		"queued", "delivered", "deferred", "bounced"
	};

	if (state < 0 || state >= BW_RCPT_STATE__COUNT)
		return "?";
	return names[state];
}

const char *
bw_dns_status_name(int status)
{
	static const char *names[BW_DNS_STATUS__COUNT] = {
		"ok", "nxdomain", "nodata", "servfail", "timeout", "formerr",
		"cname_loop"
	};

	if (status < 0 || status >= BW_DNS_STATUS__COUNT)
		return "?";
	return names[status];
}

const char *
bw_dlv_status_name(int status)
{
	static const char *names[BW_DLV_STATUS__COUNT] = {
		"sent", "deferred", "bounced"
	};

	if (status < 0 || status >= BW_DLV_STATUS__COUNT)
		return "?";
	return names[status];
}

const char *
bw_trace_step_name(int kind)
{
	static const char *names[BW_TRACE_STEP__COUNT] = {
		"connect", "ehlo", "mail", "rcpt"
	};

	if (kind < 0 || kind >= BW_TRACE_STEP__COUNT)
		return "?";
	return names[kind];
}

const char *
bw_verify_row_kind_name(int kind)
{
	static const char *names[BW_VROW_KIND__COUNT] = {
		"damaged", "orphan", "quarantined", "skipped", "removed",
		"released"
	};

	if (kind < 0 || kind >= BW_VROW_KIND__COUNT)
		return "?";
	return names[kind];
}

const char *
bw_qact_op_name(int op)
{
	static const char *names[BW_QACT_OP__COUNT] = {
		"delete", "undelete", "bounce", "hold", "release", "list"
	};

	if (op < 0 || op >= BW_QACT_OP__COUNT)
		return "?";
	return names[op];
}

const char *
bw_qact_result_name(int result)
{
	static const char *names[BW_QACT_RESULT__COUNT] = {
		"done", "already", "busy", "notfound", "expired", "error",
		"notheld", "deleted", "quarantined"
	};

	if (result < 0 || result >= BW_QACT_RESULT__COUNT)
		return "?";
	return names[result];
}

const char *
bw_scan_text(char *dst, size_t dstsz, uint32_t flags)
{
	if (dstsz == 0)
		return dst;
	dst[0] = '\0';
	if (flags & BW_SCAN_SPAM)
		strlcat(dst, "spam", dstsz);
	if (flags & BW_SCAN_VIRUS) {
		if (dst[0] != '\0')
			strlcat(dst, ",", dstsz);
		strlcat(dst, "virus", dstsz);
	}
	if (dst[0] == '\0')
		strlcpy(dst, "none", dstsz);
	return dst;
}

const char *
bw_pressure_level_name(int level)
{
	static const char *names[BW_PRESSURE__COUNT] = {
		"none", "soft", "hard"
	};

	if (level < 0 || level >= BW_PRESSURE__COUNT)
		return "?";
	return names[level];
}

const char *
bw_dsn_ret_name(int ret)
{
	switch (ret) {
	case BW_DSN_RET_FULL:
		return "FULL";
	case BW_DSN_RET_HDRS:
		return "HDRS";
	}
	return "";
}

const char *
bw_dsn_notify_text(char *dst, size_t dstsz, uint32_t notify)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} names[] = {
		{ BW_DSN_NOTIFY_NEVER, "NEVER" },
		{ BW_DSN_NOTIFY_SUCCESS, "SUCCESS" },
		{ BW_DSN_NOTIFY_FAILURE, "FAILURE" },
		{ BW_DSN_NOTIFY_DELAY, "DELAY" },
	};
	size_t	 i;

	if (dstsz == 0)
		return dst;
	dst[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((notify & names[i].bit) == 0)
			continue;
		if (dst[0] != '\0')
			strlcat(dst, ",", dstsz);
		strlcat(dst, names[i].name, dstsz);
	}
	return dst;
}

int
bw_dsn_notify_wants(uint32_t notify, uint32_t kind)
{
	if (notify == 0)
		notify = BW_DSN_NOTIFY_FAILURE | BW_DSN_NOTIFY_DELAY;
	if (notify & BW_DSN_NOTIFY_NEVER)
		return 0;
	return (notify & kind) != 0;
}
