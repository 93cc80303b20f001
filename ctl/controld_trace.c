/*
 * bwctl trace ADDRESS: what a host at ADDRESS would get from smtpd,
 * without a connection and without mail.  controld checks the arguments
 * (ctl_trace.c), sends TRACE_REQ to smtpd with the request id in
 * hdr.peerid, and writes smtpd's one TRACE_REPLY: values and a table of
 * steps (JSON), a layout of its own for text.  smtpd
 * makes the lookups a connection makes (reverse DNS, reputation) within
 * their own deadlines, well inside ctl_timeout; smtpd going away fails
 * the request at once.
 *
 * Trust: the reply comes from smtpd, which faces the Internet: every
 * string is terminated here, nsteps bounded, and text that came from DNS
 * or the admin's arguments is escaped for text output and quoted for
 * JSON.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_trace.h"
#include "controld.h"

#define CTL_TRACE_ESC_MAX	(BW_REPLY_TEXT_MAX * 4 + 1)
#define CTL_TRACE_CMD_WIDTH	30	/* the command column of the text */
#define CTLT_TERM(field)	((field)[sizeof(field) - 1] = '\0')

struct ctl_trace_priv {
	struct bw_trace_req	 tr;
	struct bw_trace_reply	*reply;		/* ~21 KB: not on the stack */
};

/* trace ADDRESS [--listener NAME] [--helo NAME] [--from A] [--rcpt A]... */
static int
ctl_trace_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_trace_priv	*p = arg;
	char			 err[CTL_TRACE_ERR_MAX];
	int			 json = 0;

	if (ctl_trace_args(argc, argv, &p->tr, &json, err,
	    sizeof(err)) == -1) {
		snprintf(pc->err, sizeof(pc->err), "trace: %s", err);
		return -1;
	}
	if (json && pc->fmt == CTL_FMT_TEXT)
		pc->fmt = CTL_FMT_JSON;
	return 0;
}

static void
ctl_trace_start(struct ctl_req *req)
{
	struct ctl_trace_priv	*p = req->priv;

	ctl_req_send(req, BW_ROLE_SMTPD, BW_IMSG_TRACE_REQ, &p->tr,
	    sizeof(p->tr));
}

static void
ctl_trace_free(void *arg)
{
	struct ctl_trace_priv	*p = arg;

	free(p->reply);
}

/* Every string of the reply terminated, the step count bounded. */
static void
ctl_trace_terminate(struct bw_trace_reply *r)
{
	uint32_t	 i;

	CTLT_TERM(r->error);
	CTLT_TERM(r->addr);
	CTLT_TERM(r->listener);
	CTLT_TERM(r->rdns);
	CTLT_TERM(r->name);
	CTLT_TERM(r->ptr);
	CTLT_TERM(r->score);
	CTLT_TERM(r->group);
	CTLT_TERM(r->policy);
	CTLT_TERM(r->behaviour);
	CTLT_TERM(r->tls);
	CTLT_TERM(r->pressure);
	CTLT_TERM(r->pressure_reason);
	if (r->nsteps > BW_TRACE_STEPS_MAX)
		r->nsteps = BW_TRACE_STEPS_MAX;
	for (i = 0; i < r->nsteps; i++) {
		CTLT_TERM(r->steps[i].command);
		CTLT_TERM(r->steps[i].reply);
		CTLT_TERM(r->steps[i].ext);
		CTLT_TERM(r->steps[i].why);
	}
}

static const char *
ctl_trace_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

/* The reply's code (220, 550, ...), or -1 when there is none. */
static int
ctl_trace_code(const char *reply)
{
	if (reply[0] < '2' || reply[0] > '5' || reply[1] < '0' ||
	    reply[1] > '9' || reply[2] < '0' || reply[2] > '9')
		return -1;
	return (reply[0] - '0') * 100 + (reply[1] - '0') * 10 +
	    (reply[2] - '0');
}

static const struct ctl_col ctl_trace_cols[] = {
	{ "step", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "command", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "code", NULL, CTL_T_INT, CTL_COL_DATA, 0, NULL },
	{ "reply", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "delay_ms", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "closed", NULL, CTL_T_BOOL, CTL_COL_DATA, 0, NULL },
	{ "extensions", NULL, CTL_T_LIST, CTL_COL_DATA, 0, NULL },
	{ "why", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_trace_table = { "steps", ctl_trace_cols,
    CTL_NCOLS(ctl_trace_cols), NULL };

/* The reply's figures as values (not shown as text). */
static void
ctl_trace_values(struct ctl_out *o, const struct bw_trace_reply *r)
{
	ctl_out_str(o, "address", r->addr);
	ctl_out_str(o, "listener", r->listener);
	ctl_out_obj_open(o, "rdns");
	ctl_out_str(o, "state", r->rdns);
	ctl_out_str(o, "name", r->name);
	if (r->ptr[0] != '\0')
		ctl_out_str(o, "ptr", r->ptr);
	else
		ctl_out_null(o, "ptr");
	ctl_out_obj_close(o);
	ctl_out_str(o, "score", r->score);
	if (r->score_known)
		ctl_out_int(o, "score_tenths", r->score_tenths);
	else
		ctl_out_null(o, "score_tenths");
	ctl_out_str(o, "group", r->group);
	ctl_out_str(o, "policy", r->policy);
	ctl_out_str(o, "behaviour", r->behaviour);
	ctl_out_str(o, "tls", r->tls);
	ctl_out_obj_open(o, "pressure");
	ctl_out_str(o, "level", r->pressure);
	if (r->pressure_reason[0] != '\0')
		ctl_out_str(o, "reason", r->pressure_reason);
	else
		ctl_out_null(o, "reason");
	ctl_out_obj_close(o);
	ctl_out_list_open(o, "scan");
	if (r->scan & BW_SCAN_SPAM)
		ctl_out_str(o, NULL, "spam");
	if (r->scan & BW_SCAN_VIRUS)
		ctl_out_str(o, NULL, "virus");
	ctl_out_list_close(o);
	ctl_out_obj_open(o, "limits");
	ctl_out_uint(o, "message_size_limit", r->message_size_limit);
	ctl_out_uint(o, "smtpd_max_recipients", r->max_recipients);
	ctl_out_uint(o, "smtpd_max_messages_per_connection",
	    r->max_messages);
	ctl_out_uint(o, "smtpd_max_connections_per_ip", r->max_connections);
	ctl_out_uint(o, "greeting_delay_ms", r->greeting_delay_ms);
	ctl_out_uint(o, "greeting_tarpit_ms", r->greeting_tarpit_ms);
	ctl_out_uint(o, "command_delay_ms", r->command_delay_ms);
	ctl_out_uint(o, "command_tarpit_ms", r->command_tarpit_ms);
	ctl_out_obj_close(o);
}

/* The reply's figures as text: a layout of its own. */
static void
ctl_trace_head_text(struct ctl_out *o, const struct bw_trace_reply *r)
{
	char	 e1[CTL_TRACE_ESC_MAX];

	ctl_out_raw(o, "address:   %s\n", r->addr);
	ctl_out_raw(o, "listener:  %s\n", r->listener);
	ctl_out_raw(o, "rdns:      %s, name %s", r->rdns,
	    ctl_trace_esc(e1, sizeof(e1), r->name));
	if (r->ptr[0] != '\0')
		ctl_out_raw(o, " (PTR %s does not resolve back)",
		    ctl_trace_esc(e1, sizeof(e1), r->ptr));
	ctl_out_raw(o, "\nscore:     %s\n", r->score);
	ctl_out_raw(o, "group:     %s\n", r->group);
	ctl_out_raw(o, "policy:    %s (%s, tls %s, scan %s%s%s)\n",
	    r->policy, r->behaviour, r->tls,
	    r->scan == 0 ? "none" : "",
	    (r->scan & BW_SCAN_SPAM) ? "spam" : "",
	    (r->scan & BW_SCAN_VIRUS) ? ((r->scan & BW_SCAN_SPAM) ?
	    " virus" : "virus") : "");
	ctl_out_raw(o, "pressure:  %s%s%s%s\n", r->pressure,
	    r->pressure_reason[0] != '\0' ? " (" : "",
	    ctl_trace_esc(e1, sizeof(e1), r->pressure_reason),
	    r->pressure_reason[0] != '\0' ? ")" : "");
	ctl_out_raw(o, "limits:    message_size_limit %" PRIu64
	    ", smtpd_max_recipients %" PRIu64 ", "
	    "smtpd_max_messages_per_connection %" PRIu64 ", "
	    "smtpd_max_connections_per_ip %" PRIu64 "\n",
	    r->message_size_limit, r->max_recipients, r->max_messages,
	    r->max_connections);
	ctl_out_raw(o, "delays:    banner %" PRIu64 " ms (tarpit %"
	    PRIu64 " ms), each command %" PRIu64 " ms (tarpit %" PRIu64
	    " ms)\n\n", r->greeting_delay_ms, r->greeting_tarpit_ms,
	    r->command_delay_ms, r->command_tarpit_ms);
}

/* One step: its values, and its text lines as the row's notes. */
static void
ctl_trace_step(struct ctl_out *o, const struct bw_trace_step *st)
{
	char		 ext[BW_TRACE_TEXT_MAX], *w, *save;
	char		 e1[CTL_TRACE_ESC_MAX], e2[CTL_TRACE_ESC_MAX];
	const char	*cmd;
	int		 code;

	ctl_out_row_open(o);
	ctl_out_str(o, "step", bw_trace_step_name((int)st->kind));
	if (st->command[0] != '\0')
		ctl_out_str(o, "command", st->command);
	else
		ctl_out_null(o, "command");
	if ((code = ctl_trace_code(st->reply)) != -1)
		ctl_out_int(o, "code", code);
	else
		ctl_out_null(o, "code");
	ctl_out_str(o, "reply", st->reply);
	ctl_out_uint(o, "delay_ms", st->delay_ms);
	ctl_out_bool(o, "closed", st->closed != 0);
	if (st->kind == BW_TRACE_EHLO && code == 250) {
		ctl_out_list_open(o, "extensions");
		strlcpy(ext, st->ext, sizeof(ext));
		/* "PIPELINING, SIZE 1048576, ..." */
		for (w = strtok_r(ext, ",", &save); w != NULL;
		    w = strtok_r(NULL, ",", &save)) {
			w += strspn(w, " ");
			if (*w != '\0')
				ctl_out_str(o, NULL, w);
		}
		ctl_out_list_close(o);
	}
	ctl_out_str(o, "why", st->why);
	cmd = st->kind == BW_TRACE_CONNECT ? "connect" :
	    ctl_trace_esc(e1, sizeof(e1), st->command);
	/* a long command gets a line of its own */
	if (strlen(cmd) >= CTL_TRACE_CMD_WIDTH) {
		ctl_out_note(o, "%s", cmd);
		cmd = "";
	}
	ctl_out_note(o, "%-*s %s", CTL_TRACE_CMD_WIDTH, cmd,
	    st->reply[0] != '\0' ? ctl_trace_esc(e2, sizeof(e2), st->reply) :
	    "(closed, no reply)");
	if (st->ext[0] != '\0')
		ctl_out_note(o, "%-*s %s", CTL_TRACE_CMD_WIDTH, "",
		    ctl_trace_esc(e1, sizeof(e1), st->ext));
	if (st->why[0] != '\0')
		ctl_out_note(o, "%-*s %s", CTL_TRACE_CMD_WIDTH, "",
		    ctl_trace_esc(e1, sizeof(e1), st->why));
	ctl_out_row_close(o);
}

static int
ctl_trace_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_trace_priv		*p = req->priv;
	const struct bw_trace_reply	*r = p->reply;
	uint32_t			 i;

	ctl_out_obj_open(o, NULL);
	ctl_trace_values(o, r);
	ctl_trace_head_text(o, r);
	ctl_out_table_open(o, &ctl_trace_table);
	for (i = 0; i < r->nsteps; i++)
		ctl_trace_step(o, &r->steps[i]);
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	return 0;
}

/* smtpd's TRACE_REPLY. */
static void
ctl_trace_msg(struct ctl_req *req, struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_trace_priv	*p = req->priv;
	struct bw_trace_reply	*r;

	if (imsg->hdr.type != BW_IMSG_TRACE_REPLY || p->reply != NULL)
		return;
	if ((r = malloc(sizeof(*r))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	ctl_payload(r, sizeof(*r), imsg);
	ctl_trace_terminate(r);
	p->reply = r;
	if (!r->ok) {
		ctl_req_fail(req, 1, "trace: %s", r->error);
		return;
	}
	ctl_req_done(req);
}

static void
ctl_trace_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: smtpd did not answer the trace",
	    req->id);
	ctl_req_fail(req, 1, "smtpd did not answer in time");
}

/* smtpd went away: its traces will not be answered. */
static void
ctl_trace_gone(struct ctl_req *req, int role)
{
	if (role == BW_ROLE_SMTPD)
		ctl_req_fail(req, 1, "smtpd went away while answering; try "
		    "again");
}

const struct ctl_cmd_ops ctl_trace_ops = {
	.privsz = sizeof(struct ctl_trace_priv),
	.parse = ctl_trace_parse,
	.start = ctl_trace_start,
	.on_imsg = ctl_trace_msg,
	.render = ctl_trace_render,
	.timeout = ctl_trace_timeout,
	.daemon_gone = ctl_trace_gone,
	.free = ctl_trace_free,
};
