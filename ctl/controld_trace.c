/*
 * bwctl trace ADDRESS: what a host at ADDRESS would get from smtpd,
 * without a connection and without mail.  controld checks the arguments
 * (ctl_trace.c), sends TRACE_REQ to smtpd with the request id in
 * hdr.peerid, and renders smtpd's one TRACE_REPLY as text or JSON.  smtpd
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
#include "ctl_json.h"
#include "controld.h"

#define CTL_TRACE_ESC_MAX	(BW_REPLY_TEXT_MAX * 4 + 1)
#define CTL_TRACE_CMD_WIDTH	30	/* the command column of the text */
#define CTLT_TERM(field)	((field)[sizeof(field) - 1] = '\0')

void
ctl_trace_start(struct ctl_req *req, const struct bw_trace_req *tr)
{
	struct ctl_daemon	*d;

	if ((d = ctl_daemon_find_role(BW_ROLE_SMTPD)) == NULL) {
		ctl_req_fail(req, 1, "smtpd is not running (not connected to "
		    "controld)");
		return;
	}
	if (bw_peer_send(d->peer, BW_IMSG_TRACE_REQ, req->id, -1, tr,
	    sizeof(*tr)) == -1)
		ctl_req_fail(req, 1, "cannot send the request to smtpd");
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

static void
ctl_trace_json(struct ctl_req *req, const struct bw_trace_reply *r)
{
	const struct bw_trace_step	*st;
	struct ctl_json			 j;
	char				 ext[BW_TRACE_TEXT_MAX], *w, *save;
	uint32_t			 i;
	int				 code;

	ctl_json_init(&j, req->out);
	ctl_json_obj_open(&j, NULL);
	ctl_json_str(&j, "address", r->addr);
	ctl_json_str(&j, "listener", r->listener);
	ctl_json_obj_open(&j, "rdns");
	ctl_json_str(&j, "state", r->rdns);
	ctl_json_str(&j, "name", r->name);
	if (r->ptr[0] != '\0')
		ctl_json_str(&j, "ptr", r->ptr);
	else
		ctl_json_null(&j, "ptr");
	ctl_json_obj_close(&j);
	ctl_json_str(&j, "score", r->score);
	if (r->score_known)
		ctl_json_int(&j, "score_tenths", r->score_tenths);
	else
		ctl_json_null(&j, "score_tenths");
	ctl_json_str(&j, "group", r->group);
	ctl_json_str(&j, "policy", r->policy);
	ctl_json_str(&j, "behaviour", r->behaviour);
	ctl_json_str(&j, "tls", r->tls);
	ctl_json_obj_open(&j, "pressure");
	ctl_json_str(&j, "level", r->pressure);
	if (r->pressure_reason[0] != '\0')
		ctl_json_str(&j, "reason", r->pressure_reason);
	else
		ctl_json_null(&j, "reason");
	ctl_json_obj_close(&j);
	ctl_json_arr_open(&j, "scan");
	if (r->scan & BW_SCAN_SPAM)
		ctl_json_str(&j, NULL, "spam");
	if (r->scan & BW_SCAN_VIRUS)
		ctl_json_str(&j, NULL, "virus");
	ctl_json_arr_close(&j);
	ctl_json_obj_open(&j, "limits");
	ctl_json_uint(&j, "message_size_limit", r->message_size_limit);
	ctl_json_uint(&j, "smtpd_max_recipients", r->max_recipients);
	ctl_json_uint(&j, "smtpd_max_messages_per_connection",
	    r->max_messages);
	ctl_json_uint(&j, "smtpd_max_connections_per_ip", r->max_connections);
	ctl_json_uint(&j, "greeting_delay_ms", r->greeting_delay_ms);
	ctl_json_uint(&j, "greeting_tarpit_ms", r->greeting_tarpit_ms);
	ctl_json_uint(&j, "command_delay_ms", r->command_delay_ms);
	ctl_json_uint(&j, "command_tarpit_ms", r->command_tarpit_ms);
	ctl_json_obj_close(&j);
	ctl_json_arr_open(&j, "steps");
	for (i = 0; i < r->nsteps; i++) {
		st = &r->steps[i];
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "step", bw_trace_step_name((int)st->kind));
		if (st->command[0] != '\0')
			ctl_json_str(&j, "command", st->command);
		else
			ctl_json_null(&j, "command");
		if ((code = ctl_trace_code(st->reply)) != -1)
			ctl_json_int(&j, "code", code);
		else
			ctl_json_null(&j, "code");
		ctl_json_str(&j, "reply", st->reply);
		ctl_json_uint(&j, "delay_ms", st->delay_ms);
		ctl_json_bool(&j, "closed", st->closed != 0);
		if (st->kind == BW_TRACE_EHLO && code == 250) {
			ctl_json_arr_open(&j, "extensions");
			strlcpy(ext, st->ext, sizeof(ext));
			/* "PIPELINING, SIZE 1048576, ..." */
			for (w = strtok_r(ext, ",", &save); w != NULL;
			    w = strtok_r(NULL, ",", &save)) {
				w += strspn(w, " ");
				if (*w != '\0')
					ctl_json_str(&j, NULL, w);
			}
			ctl_json_arr_close(&j);
		}
		ctl_json_str(&j, "why", st->why);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
}

static void
ctl_trace_text(struct ctl_req *req, const struct bw_trace_reply *r)
{
	const struct bw_trace_step	*st;
	struct evbuffer			*o = req->out;
	char				 e1[CTL_TRACE_ESC_MAX];
	char				 e2[CTL_TRACE_ESC_MAX];
	const char			*cmd;
	uint32_t			 i;

	evbuffer_add_printf(o, "address:   %s\n", r->addr);
	evbuffer_add_printf(o, "listener:  %s\n", r->listener);
	evbuffer_add_printf(o, "rdns:      %s, name %s", r->rdns,
	    ctl_trace_esc(e1, sizeof(e1), r->name));
	if (r->ptr[0] != '\0')
		evbuffer_add_printf(o, " (PTR %s does not resolve back)",
		    ctl_trace_esc(e1, sizeof(e1), r->ptr));
	evbuffer_add_printf(o, "\nscore:     %s\n", r->score);
	evbuffer_add_printf(o, "group:     %s\n", r->group);
	evbuffer_add_printf(o, "policy:    %s (%s, tls %s, scan %s%s%s)\n",
	    r->policy, r->behaviour, r->tls,
	    r->scan == 0 ? "none" : "",
	    (r->scan & BW_SCAN_SPAM) ? "spam" : "",
	    (r->scan & BW_SCAN_VIRUS) ? ((r->scan & BW_SCAN_SPAM) ?
	    " virus" : "virus") : "");
	evbuffer_add_printf(o, "pressure:  %s%s%s%s\n", r->pressure,
	    r->pressure_reason[0] != '\0' ? " (" : "",
	    ctl_trace_esc(e1, sizeof(e1), r->pressure_reason),
	    r->pressure_reason[0] != '\0' ? ")" : "");
	evbuffer_add_printf(o, "limits:    message_size_limit %" PRIu64
	    ", smtpd_max_recipients %" PRIu64 ", "
	    "smtpd_max_messages_per_connection %" PRIu64 ", "
	    "smtpd_max_connections_per_ip %" PRIu64 "\n",
	    r->message_size_limit, r->max_recipients, r->max_messages,
	    r->max_connections);
	evbuffer_add_printf(o, "delays:    banner %" PRIu64 " ms (tarpit %"
	    PRIu64 " ms), each command %" PRIu64 " ms (tarpit %" PRIu64
	    " ms)\n\n", r->greeting_delay_ms, r->greeting_tarpit_ms,
	    r->command_delay_ms, r->command_tarpit_ms);
	for (i = 0; i < r->nsteps; i++) {
		st = &r->steps[i];
		cmd = st->kind == BW_TRACE_CONNECT ? "connect" :
		    ctl_trace_esc(e1, sizeof(e1), st->command);
		/* a long command gets a line of its own */
		if (strlen(cmd) >= CTL_TRACE_CMD_WIDTH) {
			evbuffer_add_printf(o, "%s\n", cmd);
			cmd = "";
		}
		evbuffer_add_printf(o, "%-*s %s\n", CTL_TRACE_CMD_WIDTH, cmd,
		    st->reply[0] != '\0' ? ctl_trace_esc(e2, sizeof(e2),
		    st->reply) : "(closed, no reply)");
		if (st->ext[0] != '\0')
			evbuffer_add_printf(o, "%-*s %s\n",
			    CTL_TRACE_CMD_WIDTH, "",
			    ctl_trace_esc(e1, sizeof(e1), st->ext));
		if (st->why[0] != '\0')
			evbuffer_add_printf(o, "%-*s %s\n",
			    CTL_TRACE_CMD_WIDTH, "",
			    ctl_trace_esc(e1, sizeof(e1), st->why));
	}
}

/* smtpd's TRACE_REPLY. */
void
ctl_trace_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_trace_reply	*r;

	if (imsg->hdr.type != BW_IMSG_TRACE_REPLY)
		return;
	/* ~21 KB: not on the stack */
	if ((r = malloc(sizeof(*r))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	memcpy(r, imsg->data, sizeof(*r));
	ctl_trace_terminate(r);
	if (!r->ok) {
		ctl_req_fail(req, 1, "trace: %s", r->error);
		free(r);
		return;
	}
	if (req->json)
		ctl_trace_json(req, r);
	else
		ctl_trace_text(req, r);
	free(r);
	ctl_req_finish(req, 0);
}

void
ctl_trace_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: smtpd did not answer the trace",
	    req->id);
	ctl_req_fail(req, 1, "smtpd did not answer in time");
}

/* smtpd went away: its traces will not be answered. */
void
ctl_trace_smtpd_gone(void)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind == CTL_REQ_TRACE)
			ctl_req_fail(req, 1, "smtpd went away while "
			    "answering; try again");
	}
}
