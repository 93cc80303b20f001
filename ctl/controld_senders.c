/*
 * bwctl show senders [-n N] [--json]: the top connecting hosts, from the
 * per-host counters queued owns (queued_hostcount.c).  controld forwards
 * HOSTCOUNT_LIST_REQ with the request id in hdr.peerid, collects the
 * HOSTCOUNT_ENTRY rows (queued sends them best first: connections now,
 * then lifetime connections) until HOSTCOUNT_END, and renders them as a
 * table or as JSON.
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
#include "ctl_json.h"
#include "controld.h"

#define CTL_TERM(field)	((field)[sizeof(field) - 1] = '\0')
#define CTL_ESC_MAX	(BW_LOG_PEER_TEXT_MAX * 4 + 1)	/* escaped text */

static const char *
ctl_senders_esc(char *dst, size_t dstsz, const char *s)
{
	if (s[0] == '\0')
		return "-";
	return log_escape(dst, dstsz, s, strlen(s));
}

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
void
ctl_senders_cmd(struct bw_peer *client, const struct bw_ctl_cmd *cmd,
    int json)
{
	struct bw_hostcount_list_req	 lr;
	struct ctl_daemon		*d;
	struct ctl_req			*req;
	char				 e1[64];
	uint32_t			 i, n = CTL_SENDERS_DEFAULT;

	for (i = 2; i < cmd->argc; i++) {
		if (strcmp(cmd->argv[i], "--json") == 0 ||
		    strcmp(cmd->argv[i], "-j") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(cmd->argv[i], "-n") == 0 && i + 1 < cmd->argc &&
		    ctl_senders_count(cmd->argv[i + 1], &n) == 0) {
			i++;
			continue;
		}
		ctl_reply_error(client, 2, "usage: show senders [-n N] "
		    "[--json] (N from 1 to %d; '%s' not understood)",
		    CTL_SENDERS_MAX, log_escape(e1, sizeof(e1), cmd->argv[i],
		    strlen(cmd->argv[i])));
		return;
	}
	if ((req = ctl_req_new(client, CTL_REQ_SENDERS, json)) == NULL)
		return;
	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL) {
		ctl_req_fail(req, 1, "queued is not running (not connected "
		    "to controld)");
		return;
	}
	memset(&lr, 0, sizeof(lr));
	lr.limit = n;
	if (bw_peer_send(d->peer, BW_IMSG_HOSTCOUNT_LIST_REQ, req->id, -1,
	    &lr, sizeof(lr)) == -1)
		ctl_req_fail(req, 1, "cannot send the request to queued");
}

static void
ctl_senders_render_json(struct ctl_req *req, int64_t now_ms)
{
	const struct bw_hostcount_entry	*e = req->senders.v;
	struct ctl_json			 j;
	size_t				 i;

	ctl_json_init(&j, req->out);
	ctl_json_obj_open(&j, NULL);
	ctl_json_arr_open(&j, "senders");
	for (i = 0; i < req->senders.n; i++) {
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "address", e[i].addr);
		ctl_json_uint(&j, "connections", e[i].conns);
		ctl_json_uint(&j, "connections_total", e[i].total_conns);
		ctl_json_uint(&j, "messages", e[i].total_msgs);
		ctl_json_uint(&j, "messages_window", e[i].win_msgs);
		ctl_json_uint(&j, "recipients", e[i].total_rcpts);
		ctl_json_uint(&j, "recipients_window", e[i].win_rcpts);
		ctl_json_uint(&j, "refused", e[i].refused);
		ctl_json_str(&j, "group", e[i].group);
		ctl_json_str(&j, "policy", e[i].policy);
		ctl_json_str(&j, "score", e[i].score);
		ctl_json_int(&j, "last_seen", e[i].last_seen / 1000);
		ctl_json_int(&j, "idle", now_ms > e[i].last_seen ?
		    (now_ms - e[i].last_seen) / 1000 : 0);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_uint(&j, "hosts", req->send.hosts);
	ctl_json_uint(&j, "overflow", req->send.overflow);
	ctl_json_bool(&j, "truncated", req->senders.truncated);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
}

static void
ctl_senders_render(struct ctl_req *req)
{
	const struct bw_hostcount_entry	*e = req->senders.v;
	char				 a[CTL_ESC_MAX], g[CTL_ESC_MAX];
	char				 p[CTL_ESC_MAX], sc[CTL_ESC_MAX];
	char				 age[32];
	int64_t				 now_ms = bw_time() * 1000;
	size_t				 i, aw = 7;

	if (req->json) {
		ctl_senders_render_json(req, now_ms);
		return;
	}
	if (req->senders.n == 0) {
		evbuffer_add_printf(req->out, "no sender seen (%" PRIu64
		    " hosts remembered)\n", req->send.hosts);
		return;
	}
	for (i = 0; i < req->senders.n; i++)
		if (strlen(e[i].addr) > aw)
			aw = strlen(e[i].addr);
	evbuffer_add_printf(req->out, "%-*s  %5s  %8s  %8s  %8s  %9s  %9s  "
	    "%-16s  %-16s  %5s  %s\n", (int)aw, "ADDRESS", "CONNS", "TOTAL",
	    "MESSAGES", "MSGS/WIN", "RCPTS", "RCPTS/WIN", "GROUP", "POLICY",
	    "SCORE", "LAST SEEN");
	for (i = 0; i < req->senders.n; i++) {
		ctl_fmt_age(age, sizeof(age), now_ms > e[i].last_seen ?
		    (now_ms - e[i].last_seen) / 1000 : 0);
		evbuffer_add_printf(req->out, "%-*s  %5" PRIu64 "  %8" PRIu64
		    "  %8" PRIu64 "  %8" PRIu64 "  %9" PRIu64 "  %9" PRIu64
		    "  %-16s  %-16s  %5s  %s ago\n", (int)aw,
		    ctl_senders_esc(a, sizeof(a), e[i].addr), e[i].conns,
		    e[i].total_conns, e[i].total_msgs, e[i].win_msgs,
		    e[i].total_rcpts, e[i].win_rcpts,
		    ctl_senders_esc(g, sizeof(g), e[i].group),
		    ctl_senders_esc(p, sizeof(p), e[i].policy),
		    ctl_senders_esc(sc, sizeof(sc), e[i].score), age);
	}
	evbuffer_add_printf(req->out, "%zu of %" PRIu64 " hosts%s\n",
	    req->senders.n, req->send.hosts, req->send.overflow > 0 ?
	    " (the table was full at times: see hostcount_overflow)" : "");
}

void
ctl_senders_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_hostcount_entry	 e;
	size_t				 len;

	len = imsg->datalen < sizeof(e) ? imsg->datalen : sizeof(e);
	switch (imsg->hdr.type) {
	case BW_IMSG_HOSTCOUNT_ENTRY:
		memset(&e, 0, sizeof(e));
		memcpy(&e, imsg->data, len);
		CTL_TERM(e.addr);
		CTL_TERM(e.group);
		CTL_TERM(e.policy);
		CTL_TERM(e.score);
		(void)ctl_rows_add(&req->senders, &e);
		return;
	case BW_IMSG_HOSTCOUNT_END:
		memset(&req->send, 0, sizeof(req->send));
		memcpy(&req->send, imsg->data, imsg->datalen <
		    sizeof(req->send) ? imsg->datalen : sizeof(req->send));
		ctl_senders_render(req);
		ctl_req_finish(req, 0);
		return;
	default:
		break;
	}
	log_warnx("ctl request id=%u: unexpected %s from queued", req->id,
	    bw_imsg_type_name(imsg->hdr.type));
	ctl_req_fail(req, 1, "controld: unexpected %s from queued",
	    bw_imsg_type_name(imsg->hdr.type));
}
