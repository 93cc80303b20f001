/*
 * bwctl show senders [-n N] [--json]: the top connecting hosts, from the
 * per-host counters queued owns (queued_hostcount.c).  controld forwards
 * HOSTCOUNT_LIST_REQ with the request id in hdr.peerid, collects the
 * HOSTCOUNT_ENTRY rows (queued sends them best first: connections now,
 * then lifetime connections) until HOSTCOUNT_END, and renders them as a
 * table (text or JSON).
 *
 * Trust: the labels (group, policy, score) came from smtpd, which faces
 * the Internet: every string is terminated on receipt and escaped on
 * output.  Rows are capped at CTL_SENDERS_MAX; the request has the
 * ctl_timeout deadline and fails when queued goes away.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"

#define CTL_TERM(field)	((field)[sizeof(field) - 1] = '\0')

struct ctl_senders_priv {
	uint32_t		 n;		/* rows asked for */
	struct ctl_rows		 rows;		/* bw_hostcount_entry */
	struct bw_hostcount_end	 end;
};

/* "-n N": 1..CTL_SENDERS_MAX; -1 otherwise. */
static int
ctl_senders_count(const char *arg, uint32_t *n)
{
	char			*end;
	unsigned long		 v;

	if (!isdigit((unsigned char)arg[0]))
		return -1;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > CTL_SENDERS_MAX)
		return -1;
	*n = (uint32_t)v;
	return 0;
}

/* show senders [-n N] [--json | -j]: argv[0] "show", argv[1] "senders". */
static int
ctl_senders_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_senders_priv	*p = arg;
	char			 e1[64];
	int			 i;

	p->n = CTL_SENDERS_DEFAULT;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			if (pc->fmt == CTL_FMT_TEXT)
				pc->fmt = CTL_FMT_JSON;
			continue;
		}
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc &&
		    ctl_senders_count(argv[i + 1], &p->n) == 0) {
			i++;
			continue;
		}
		snprintf(pc->err, sizeof(pc->err), "usage: show senders "
		    "[-n N] [--json] (N from 1 to %d; '%s' not understood)",
		    CTL_SENDERS_MAX, log_escape(e1, sizeof(e1), argv[i],
		    strlen(argv[i])));
		return -1;
	}
	return 0;
}

static void
ctl_senders_start(struct ctl_req *req)
{
	struct ctl_senders_priv		*p = req->priv;
	struct bw_hostcount_list_req	 lr;

	ctl_rows_init(&p->rows, sizeof(struct bw_hostcount_entry),
	    CTL_SENDERS_MAX);
	memset(&lr, 0, sizeof(lr));
	lr.limit = p->n;
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_HOSTCOUNT_LIST_REQ, &lr,
	    sizeof(lr));
}

static void
ctl_senders_free(void *arg)
{
	struct ctl_senders_priv	*p = arg;

	ctl_rows_free(&p->rows);
}

static const struct ctl_col ctl_senders_cols[] = {
	{ "address", "ADDRESS", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO |
	    CTL_COL_DASH | CTL_COL_LABEL, 7, NULL },
	{ "connections", "CONNS", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_GAUGE, 5, NULL },
	{ "connections_total", "TOTAL", CTL_T_UINT, CTL_COL_BOTH |
	    CTL_COL_RIGHT | CTL_COL_COUNTER, 8, NULL },
	{ "messages", "MESSAGES", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 8, NULL },
	{ "messages_window", "MSGS/WIN", CTL_T_UINT, CTL_COL_BOTH |
	    CTL_COL_RIGHT | CTL_COL_GAUGE, 8, NULL },
	{ "recipients", "RCPTS", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 9, NULL },
	{ "recipients_window", "RCPTS/WIN", CTL_T_UINT, CTL_COL_BOTH |
	    CTL_COL_RIGHT | CTL_COL_GAUGE, 9, NULL },
	{ "refused", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "group", "GROUP", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH |
	    CTL_COL_LABEL, 16, NULL },
	{ "policy", "POLICY", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH |
	    CTL_COL_LABEL, 16, NULL },
	{ "score", "SCORE", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH |
	    CTL_COL_RIGHT | CTL_COL_LABEL, 5, NULL },
	{ "last_seen", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "idle", "LAST SEEN", CTL_T_AGE, CTL_COL_BOTH, 0, " ago" },
};
static const struct ctl_table ctl_senders_table = { "senders",
    ctl_senders_cols, CTL_NCOLS(ctl_senders_cols), "sender" };

static int
ctl_senders_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_senders_priv		*p = req->priv;
	const struct bw_hostcount_entry	*e = p->rows.v;
	int64_t				 now_ms = bw_time() * 1000;
	size_t				 i;

	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &ctl_senders_table);
	ctl_out_table_empty(o, "no sender seen (%" PRIu64 " hosts "
	    "remembered)", p->end.hosts);
	for (i = 0; i < p->rows.n; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "address", e[i].addr);
		ctl_out_uint(o, "connections", e[i].conns);
		ctl_out_uint(o, "connections_total", e[i].total_conns);
		ctl_out_uint(o, "messages", e[i].total_msgs);
		ctl_out_uint(o, "messages_window", e[i].win_msgs);
		ctl_out_uint(o, "recipients", e[i].total_rcpts);
		ctl_out_uint(o, "recipients_window", e[i].win_rcpts);
		ctl_out_uint(o, "refused", e[i].refused);
		ctl_out_str(o, "group", e[i].group);
		ctl_out_str(o, "policy", e[i].policy);
		ctl_out_str(o, "score", e[i].score);
		ctl_out_int(o, "last_seen", e[i].last_seen / 1000);
		ctl_out_int(o, "idle", now_ms > e[i].last_seen ?
		    (now_ms - e[i].last_seen) / 1000 : 0);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_uint(o, "hosts", p->end.hosts);
	ctl_out_uint(o, "overflow", p->end.overflow);
	ctl_out_bool(o, "truncated", p->rows.truncated);
	if (p->rows.n > 0)
		ctl_out_note(o, "%zu of %" PRIu64 " hosts%s", p->rows.n,
		    p->end.hosts, p->end.overflow > 0 ? " (the table was "
		    "full at times: see hostcount_overflow)" : "");
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_senders_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_senders_priv		*p = req->priv;
	struct bw_hostcount_entry	 e;

	switch (imsg->hdr.type) {
	case BW_IMSG_HOSTCOUNT_ENTRY:
		ctl_payload(&e, sizeof(e), imsg);
		CTL_TERM(e.addr);
		CTL_TERM(e.group);
		CTL_TERM(e.policy);
		CTL_TERM(e.score);
		(void)ctl_rows_add(&p->rows, &e);
		return;
	case BW_IMSG_HOSTCOUNT_END:
		ctl_payload(&p->end, sizeof(p->end), imsg);
		ctl_req_done(req);
		return;
	default:
		break;
	}
	log_warnx("ctl request id=%u: unexpected %s from queued", req->id,
	    bw_imsg_type_name(imsg->hdr.type));
	ctl_req_fail(req, 1, "controld: unexpected %s from queued",
	    bw_imsg_type_name(imsg->hdr.type));
}

const struct ctl_cmd_ops ctl_senders_ops = {
	.privsz = sizeof(struct ctl_senders_priv),
	.parse = ctl_senders_parse,
	.start = ctl_senders_start,
	.on_imsg = ctl_senders_msg,
	.render = ctl_senders_render,
	.timeout = ctl_queued_timeout,
	.daemon_gone = ctl_req_queued_gone,
	.free = ctl_senders_free,
};
