/*
 * `show message QID` and `list messages [LIMIT]`, answered by queued.
 * controld forwards the request with the request id in hdr.peerid,
 * collects the rows queued streams back until the end frame, and writes
 * them: the recipients and the message list as tables, the envelope of
 * one message as values (its text block is a layout of its own).
 *
 * Trust: queued's rows carry text that came from the Internet (senders,
 * HELO names, remote replies); each string is terminated on receipt and
 * escaped on output.  Rows are capped (CTL_RCPTS_MAX, CTL_LIST_MAX) and
 * the request has the ctl_timeout deadline.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"

#define CTL_TERM(field)	((field)[sizeof(field) - 1] = '\0')
#define CTL_ESC_MAX	(BW_LOG_PEER_TEXT_MAX * 4 + 1)	/* escaped text */

static const char *
ctl_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

static void
ctl_message_bad_reply(struct ctl_req *req, uint32_t type)
{
	log_warnx("ctl request id=%u: unexpected %s from queued", req->id,
	    bw_imsg_type_name(type));
	ctl_req_fail(req, 1, "controld: unexpected %s from queued",
	    bw_imsg_type_name(type));
}

/* ---- show message ---- */

struct ctl_message_priv {
	char			 qid[BW_QID_LEN + 1];
	struct bw_message_info	 info;
	int			 have_info;
	struct ctl_rows		 rcpts;		/* struct bw_message_rcpt */
};

static int
ctl_message_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_message_priv	*p = arg;
	char			 e1[64];

	if (ctl_cmd_qid(argv[2], p->qid) == -1) {
		snprintf(pc->err, sizeof(pc->err), "invalid queue id '%s': "
		    "%d hex digits expected", log_escape(e1, sizeof(e1),
		    argv[2], strlen(argv[2])), BW_QID_LEN);
		return -1;
	}
	return 0;
}

static void
ctl_message_start(struct ctl_req *req)
{
	struct ctl_message_priv		*p = req->priv;
	struct bw_message_show_req	 m;

	ctl_rows_init(&p->rcpts, sizeof(struct bw_message_rcpt),
	    CTL_RCPTS_MAX);
	memset(&m, 0, sizeof(m));
	strlcpy(m.qid, p->qid, sizeof(m.qid));
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_MESSAGE_SHOW_REQ, &m,
	    sizeof(m));
}

static void
ctl_message_free(void *arg)
{
	struct ctl_message_priv	*p = arg;

	ctl_rows_free(&p->rcpts);
}

static const struct ctl_col ctl_rcpt_cols[] = {
	{ "rcpt", "RECIPIENT", CTL_T_STR, CTL_COL_BOTH, 40, NULL },
	{ "domain", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH, 9, NULL },
	{ "attempts", "ATTEMPTS", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT, 8,
	    NULL },
	{ "last_reply", "LAST REPLY", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH,
	    0, NULL },
	{ "notify", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "orcpt", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_rcpt_table = { "recipients",
    ctl_rcpt_cols, CTL_NCOLS(ctl_rcpt_cols), NULL };

/* The envelope as text: a layout of its own. */
static void
ctl_message_text(struct ctl_out *o, const struct bw_message_info *m)
{
	char	 a[CTL_ESC_MAX], b[CTL_ESC_MAX], c[CTL_ESC_MAX];
	char	 d[CTL_ESC_MAX], tbuf[64], age[32], scan[BW_SCAN_TEXT_MAX];

	ctl_fmt_time(tbuf, sizeof(tbuf), m->created);
	ctl_fmt_age(age, sizeof(age), bw_time() - m->created);
	ctl_out_raw(o,
	    "queue id:    %s\n"
	    "sender:      <%s>\n"
	    "created:     %s (%s ago)\n"
	    "size:        %" PRIu64 " bytes (%" PRIu64 " stored)\n"
	    "recipients:  %u\n"
	    "listener:    %s\n"
	    "client:      %s helo=%s\n",
	    m->qid, ctl_esc(a, sizeof(a), m->sender), tbuf, age, m->size,
	    m->body_stored, m->nrcpt, ctl_esc(b, sizeof(b), m->listener),
	    ctl_esc(c, sizeof(c), m->client_addr),
	    ctl_esc(d, sizeof(d), m->helo));
	ctl_out_raw(o, "gateway:     %s\n", ctl_esc(a, sizeof(a), m->gateway));
	/* DSN (RFC 3461): what the sender asked for, the delay warning */
	ctl_out_raw(o, "dsn:         ret=%s envid=%s\n",
	    m->dsn_ret ? bw_dsn_ret_name((int)m->dsn_ret) : "-",
	    m->envid[0] ? ctl_esc(a, sizeof(a), m->envid) : "-");
	/* content scans its policy asked for (issue 11) */
	ctl_out_raw(o, "content:     scan=%s\n",
	    bw_scan_text(scan, sizeof(scan), m->scan_flags));
	if (m->delay_warned)
		ctl_out_raw(o, "delay warning: sent\n\n");
	else if (m->delay_due > 0) {
		ctl_fmt_time(tbuf, sizeof(tbuf), m->delay_due);
		ctl_out_raw(o, "delay warning: due %s\n\n", tbuf);
	} else
		ctl_out_raw(o, "delay warning: none\n\n");
}

static int
ctl_message_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_message_priv		*p = req->priv;
	const struct bw_message_info	*m = &p->info;
	const struct bw_message_rcpt	*r = p->rcpts.v;
	char				 b[CTL_ESC_MAX], nt[64];
	char				 scan[BW_SCAN_TEXT_MAX];
	size_t				 i;

	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "qid", m->qid);
	ctl_out_str(o, "sender", m->sender);
	ctl_out_int(o, "created", m->created);
	ctl_out_uint(o, "size", m->size);
	ctl_out_uint(o, "body_stored", m->body_stored);
	ctl_out_uint(o, "nrcpt", m->nrcpt);
	ctl_out_str(o, "listener", m->listener);
	ctl_out_str(o, "client_addr", m->client_addr);
	ctl_out_str(o, "helo", m->helo);
	ctl_out_str(o, "gateway", m->gateway);
	ctl_out_uint(o, "flags", m->flags);
	ctl_out_str(o, "dsn_ret", bw_dsn_ret_name((int)m->dsn_ret));
	ctl_out_str(o, "envid", m->envid);
	ctl_out_int(o, "delay_warning_due", m->delay_due);
	ctl_out_bool(o, "delay_warning_sent", m->delay_warned != 0);
	ctl_out_str(o, "scan", bw_scan_text(scan, sizeof(scan),
	    m->scan_flags));
	ctl_message_text(o, m);
	ctl_out_table_open(o, &ctl_rcpt_table);
	for (i = 0; i < p->rcpts.n; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "rcpt", r[i].rcpt);
		ctl_out_str(o, "domain", r[i].domain);
		ctl_out_str(o, "state", bw_rcpt_state_name((int)r[i].state));
		ctl_out_uint(o, "attempts", r[i].attempts);
		ctl_out_str(o, "last_reply", r[i].last_reply);
		ctl_out_str(o, "notify", bw_dsn_notify_text(nt, sizeof(nt),
		    r[i].notify));
		ctl_out_str(o, "orcpt", r[i].orcpt);
		if (r[i].notify != 0 || r[i].orcpt[0] != '\0')
			ctl_out_note(o, "  notify=%s orcpt=%s", r[i].notify ?
			    bw_dsn_notify_text(nt, sizeof(nt), r[i].notify) :
			    "-", r[i].orcpt[0] ? ctl_esc(b, sizeof(b),
			    r[i].orcpt) : "-");
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_bool(o, "truncated", p->rcpts.truncated);
	if (p->rcpts.truncated)
		ctl_out_note(o, "(recipient list truncated at %d)",
		    CTL_RCPTS_MAX);
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_message_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_message_priv	*p = req->priv;
	struct bw_message_rcpt	 mr;
	uint32_t		 type = imsg->hdr.type;

	if (type == BW_IMSG_MESSAGE_INFO && !p->have_info) {
		ctl_payload(&p->info, sizeof(p->info), imsg);
		CTL_TERM(p->info.qid);
		CTL_TERM(p->info.sender);
		CTL_TERM(p->info.helo);
		CTL_TERM(p->info.client_addr);
		CTL_TERM(p->info.listener);
		CTL_TERM(p->info.gateway);
		if (!p->info.found) {
			ctl_req_fail(req, 1, "message %s not found", p->qid);
			return;
		}
		p->have_info = 1;
		return;
	}
	if (type == BW_IMSG_MESSAGE_RCPT && p->have_info) {
		ctl_payload(&mr, sizeof(mr), imsg);
		CTL_TERM(mr.qid);
		CTL_TERM(mr.rcpt);
		CTL_TERM(mr.domain);
		CTL_TERM(mr.last_reply);
		ctl_rows_add(&p->rcpts, &mr);
		return;
	}
	if (type == BW_IMSG_MESSAGE_END) {
		if (!p->have_info) {
			ctl_req_fail(req, 1, "message %s not found", p->qid);
			return;
		}
		ctl_req_done(req);
		return;
	}
	ctl_message_bad_reply(req, type);
}

const struct ctl_cmd_ops ctl_message_ops = {
	.privsz = sizeof(struct ctl_message_priv),
	.parse = ctl_message_parse,
	.start = ctl_message_start,
	.on_imsg = ctl_message_msg,
	.render = ctl_message_render,
	.timeout = ctl_queued_timeout,
	.daemon_gone = ctl_req_queued_gone,
	.free = ctl_message_free,
};

/* ---- list messages ---- */

struct ctl_list_priv {
	uint64_t			 limit;
	struct ctl_rows			 msgs;	/* bw_message_list_entry */
	struct bw_message_list_end	 lend;
};

static int
ctl_list_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_list_priv	*p = arg;
	char			*end, e1[64];
	unsigned long long	 v;

	p->limit = CTL_LIST_DEFAULT;
	if (argc < 3)
		return 0;
	errno = 0;
	v = isdigit((unsigned char)argv[2][0]) ? strtoull(argv[2], &end, 10) :
	    0;
	if (v == 0 || errno != 0 || *end != '\0' || v > CTL_LIST_MAX) {
		snprintf(pc->err, sizeof(pc->err), "invalid limit '%s': a "
		    "number from 1 to %d expected", log_escape(e1, sizeof(e1),
		    argv[2], strlen(argv[2])), CTL_LIST_MAX);
		return -1;
	}
	p->limit = v;
	return 0;
}

static void
ctl_list_start(struct ctl_req *req)
{
	struct ctl_list_priv		*p = req->priv;
	struct bw_message_list_req	 m;

	ctl_rows_init(&p->msgs, sizeof(struct bw_message_list_entry),
	    CTL_LIST_MAX);
	memset(&m, 0, sizeof(m));
	m.limit = p->limit;
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_MESSAGE_LIST_REQ, &m,
	    sizeof(m));
}

static void
ctl_list_free(void *arg)
{
	struct ctl_list_priv	*p = arg;

	ctl_rows_free(&p->msgs);
}

static const struct ctl_col ctl_list_cols[] = {
	{ "qid", "QUEUE ID", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 16,
	    NULL },
	{ "created", "CREATED", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "size", "SIZE", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT, 10, NULL },
	{ "body_stored", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "nrcpt", "RCPTS", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT, 5,
	    NULL },
	{ "rcpt_stored", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_list_table = { "messages", ctl_list_cols,
    CTL_NCOLS(ctl_list_cols), NULL };

static int
ctl_list_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_list_priv			*p = req->priv;
	const struct bw_message_list_entry	*e = p->msgs.v;
	size_t					 i;
	int					 truncated;

	truncated = p->lend.truncated || p->msgs.truncated;
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &ctl_list_table);
	for (i = 0; i < p->msgs.n; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "qid", e[i].qid);
		ctl_out_int(o, "created", e[i].created);
		ctl_out_uint(o, "size", e[i].size);
		ctl_out_uint(o, "body_stored", e[i].body_stored);
		ctl_out_uint(o, "nrcpt", e[i].nrcpt);
		ctl_out_uint(o, "rcpt_stored", e[i].rcpt_stored);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_uint(o, "count", p->msgs.n);
	ctl_out_bool(o, "truncated", truncated);
	ctl_out_note(o, "%zu messages%s", p->msgs.n, truncated ?
	    " (more in the queue; give a larger LIMIT)" : "");
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_list_msg(struct ctl_req *req, struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_list_priv		*p = req->priv;
	struct bw_message_list_entry	 le;

	switch (imsg->hdr.type) {
	case BW_IMSG_MESSAGE_LIST_ENTRY:
		ctl_payload(&le, sizeof(le), imsg);
		CTL_TERM(le.qid);
		ctl_rows_add(&p->msgs, &le);
		return;
	case BW_IMSG_MESSAGE_LIST_END:
		ctl_payload(&p->lend, sizeof(p->lend), imsg);
		ctl_req_done(req);
		return;
	default:
		ctl_message_bad_reply(req, imsg->hdr.type);
		return;
	}
}

const struct ctl_cmd_ops ctl_list_ops = {
	.privsz = sizeof(struct ctl_list_priv),
	.parse = ctl_list_parse,
	.start = ctl_list_start,
	.on_imsg = ctl_list_msg,
	.render = ctl_list_render,
	.timeout = ctl_queued_timeout,
	.daemon_gone = ctl_req_queued_gone,
	.free = ctl_list_free,
};
