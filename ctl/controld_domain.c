/*
 * Domain commands: `show domain D`, `retry D`, `suspend D`, `resume D`.
 * queued answers DOMAIN_CMD with one DOMAIN_CMD_REPLY per (gateway, D)
 * queue (the last one flagged); for `show domain` every connected deliverd
 * worker is also asked (DOMAIN_INFO_REQ) and answers DOMAIN_INFO and
 * DOMAIN_HOST rows, then DOMAIN_INFO_END.  The two views are merged here.
 * A worker that does not answer before ctl_timeout is left out (the
 * output says so); queued not answering fails the command.
 *
 * Trust: rows carry remote replies and host names from the Internet; they
 * are escaped for text output and quoted for JSON.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_json.h"
#include "controld.h"

#define CTLD_TERM(field)	((field)[sizeof(field) - 1] = '\0')
#define CTLD_ESC_MAX		(BW_REPLY_TEXT_MAX * 4 + 1)

static const char *
ctl_domain_op_name(uint32_t op)
{
	switch (op) {
	case BW_DOMAIN_SHOW:
		return "show";
	case BW_DOMAIN_RETRY:
		return "retry";
	case BW_DOMAIN_SUSPEND:
		return "suspend";
	case BW_DOMAIN_RESUME:
		return "resume";
	}
	return "?";
}

static const char *
ctl_domain_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

void
ctl_domain_start(struct ctl_req *req, uint32_t op, const char *domain)
{
	struct bw_domain_cmd		 c;
	struct bw_domain_info_req	 ir;
	struct ctl_daemon		*d, *q;

	req->dop = op;
	bw_lowercase(req->domain, domain, sizeof(req->domain));
	if ((q = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL) {
		ctl_req_fail(req, 1, "queued is not running (not connected "
		    "to controld)");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.op = op;
	strlcpy(c.domain, req->domain, sizeof(c.domain));
	if (bw_peer_send(q->peer, BW_IMSG_DOMAIN_CMD, req->id, -1, &c,
	    sizeof(c)) == -1) {
		ctl_req_fail(req, 1, "cannot send the request to queued");
		return;
	}
	if (op != BW_DOMAIN_SHOW)
		return;
	memset(&ir, 0, sizeof(ir));
	strlcpy(ir.domain, req->domain, sizeof(ir.domain));
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (d->role != BW_ROLE_DELIVERD)
			continue;
		if (bw_peer_send(d->peer, BW_IMSG_DOMAIN_INFO_REQ, req->id,
		    -1, &ir, sizeof(ir)) == 0)
			req->workers_left++;
	}
}

static void
ctl_domain_json(struct ctl_req *req, int partial)
{
	struct bw_domain_cmd_reply	*r = req->dqueues.v;
	struct bw_domain_info		*di = req->dinfos.v;
	struct bw_domain_host		*dh = req->dhosts.v;
	struct ctl_json			 j;
	int64_t				 now = bw_time();
	size_t				 i;

	ctl_json_init(&j, req->out);
	ctl_json_obj_open(&j, NULL);
	ctl_json_str(&j, "domain", req->domain);
	ctl_json_str(&j, "command", ctl_domain_op_name(req->dop));
	ctl_json_arr_open(&j, "queue");
	for (i = 0; i < req->dqueues.n; i++) {
		if (!r[i].found)
			continue;
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "gateway", r[i].gateway);
		ctl_json_str(&j, "state", bw_queue_state_name((int)r[i].state));
		ctl_json_uint(&j, "messages", r[i].messages);
		if (r[i].oldest > 0) {
			ctl_json_int(&j, "oldest", r[i].oldest);
			ctl_json_int(&j, "oldest_age", now - r[i].oldest);
		} else {
			ctl_json_null(&j, "oldest");
			ctl_json_null(&j, "oldest_age");
		}
		if (r[i].next_retry > 0)
			ctl_json_int(&j, "next_retry", r[i].next_retry);
		else
			ctl_json_null(&j, "next_retry");
		ctl_json_uint(&j, "retries", r[i].retries);
		ctl_json_uint(&j, "active", r[i].active_jobs);
		ctl_json_uint(&j, "delivered", r[i].delivered);
		ctl_json_uint(&j, "hard_bounces", r[i].hard_bounces);
		ctl_json_uint(&j, "soft_bounces", r[i].soft_bounces);
		ctl_json_str(&j, "last_error", r[i].last_error);
		ctl_json_str(&j, "profile", r[i].profile);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_arr_open(&j, "delivery");
	for (i = 0; i < req->dinfos.n; i++) {
		if (!di[i].found)
			continue;
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "gateway", di[i].gateway);
		ctl_json_uint(&j, "connections", di[i].connections);
		ctl_json_bool(&j, "routed", di[i].routed != 0);
		ctl_json_uint(&j, "delivered", di[i].delivered);
		ctl_json_uint(&j, "tempfail", di[i].tempfail);
		ctl_json_uint(&j, "permfail", di[i].permfail);
		if (di[i].last_attempt > 0)
			ctl_json_int(&j, "last_attempt", di[i].last_attempt);
		else
			ctl_json_null(&j, "last_attempt");
		ctl_json_str(&j, "last_result", di[i].last_result);
		ctl_json_uint(&j, "conn_limit", di[i].conn_limit);
		ctl_json_uint(&j, "conn_limit_max", di[i].conn_limit_max);
		ctl_json_str(&j, "limit_reason", di[i].limit_reason);
		ctl_json_int(&j, "limit_changed", di[i].limit_changed);
		if (di[i].paused_until > 0)
			ctl_json_int(&j, "paused_until", di[i].paused_until);
		else
			ctl_json_null(&j, "paused_until");
		ctl_json_uint(&j, "accept_rate", di[i].accept_rate);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_arr_open(&j, "hosts");
	for (i = 0; i < req->dhosts.n; i++) {
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "host", dh[i].host);
		ctl_json_str(&j, "addr", dh[i].addr);
		ctl_json_uint(&j, "preference", dh[i].preference);
		ctl_json_uint(&j, "port", dh[i].port);
		ctl_json_uint(&j, "connections", dh[i].connections);
		if (dh[i].last_error_time > 0)
			ctl_json_int(&j, "last_error_time",
			    dh[i].last_error_time);
		else
			ctl_json_null(&j, "last_error_time");
		ctl_json_str(&j, "last_error", dh[i].last_error);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_bool(&j, "partial", partial);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
}

static void
ctl_domain_text(struct ctl_req *req, int partial)
{
	struct bw_domain_cmd_reply	*r = req->dqueues.v;
	struct bw_domain_info		*di = req->dinfos.v;
	struct bw_domain_host		*dh = req->dhosts.v;
	struct evbuffer			*o = req->out;
	char				 esc[CTLD_ESC_MAX], t[64];
	int64_t				 now = bw_time();
	size_t				 i, nq = 0;

	for (i = 0; i < req->dqueues.n; i++) {
		if (!r[i].found)
			continue;
		nq++;
		if (req->dop != BW_DOMAIN_SHOW) {
			evbuffer_add_printf(o, "%s gateway=%s: %s, %" PRIu64
			    " queued\n", req->domain, r[i].gateway,
			    bw_queue_state_name((int)r[i].state),
			    r[i].messages);
			continue;
		}
		evbuffer_add_printf(o, "domain:      %s\n", req->domain);
		evbuffer_add_printf(o, "gateway:     %s\n", r[i].gateway);
		evbuffer_add_printf(o, "state:       %s\n",
		    bw_queue_state_name((int)r[i].state));
		evbuffer_add_printf(o, "profile:     %s\n", r[i].profile);
		evbuffer_add_printf(o, "queued:      %" PRIu64 "\n",
		    r[i].messages);
		if (r[i].oldest > 0)
			ctl_fmt_age(t, sizeof(t), now - r[i].oldest);
		else
			strlcpy(t, "-", sizeof(t));
		evbuffer_add_printf(o, "oldest:      %s\n", t);
		if (r[i].next_retry > 0)
			ctl_fmt_time(t, sizeof(t), r[i].next_retry);
		else
			strlcpy(t, "-", sizeof(t));
		evbuffer_add_printf(o, "next retry:  %s (domain retries %u)\n",
		    t, r[i].retries);
		evbuffer_add_printf(o, "active jobs: %u\n", r[i].active_jobs);
		evbuffer_add_printf(o, "delivered:   %" PRIu64 "  hard: %"
		    PRIu64 "  soft: %" PRIu64 "\n", r[i].delivered,
		    r[i].hard_bounces, r[i].soft_bounces);
		evbuffer_add_printf(o, "last error:  %s\n",
		    r[i].last_error[0] ? ctl_domain_esc(esc, sizeof(esc),
		    r[i].last_error) : "-");
	}
	if (nq == 0)
		evbuffer_add_printf(o, "%s: no queue for this domain\n",
		    req->domain);
	if (req->dop != BW_DOMAIN_SHOW)
		return;
	for (i = 0; i < req->dinfos.n; i++) {
		if (!di[i].found)
			continue;
		if (di[i].last_attempt > 0)
			ctl_fmt_time(t, sizeof(t), di[i].last_attempt);
		else
			strlcpy(t, "-", sizeof(t));
		evbuffer_add_printf(o, "delivery (gateway %s): %u connections"
		    "%s, delivered %" PRIu64 ", tempfail %" PRIu64
		    ", permfail %" PRIu64 "\n  last attempt %s: %s\n",
		    di[i].gateway, di[i].connections,
		    di[i].routed ? " (route)" : "", di[i].delivered,
		    di[i].tempfail, di[i].permfail, t,
		    di[i].last_result[0] ? ctl_domain_esc(esc, sizeof(esc),
		    di[i].last_result) : "-");
		ctl_fmt_time(t, sizeof(t), di[i].limit_changed);
		evbuffer_add_printf(o, "  connection limit %u (max %u), "
		    "changed %s: %s\n", di[i].conn_limit,
		    di[i].conn_limit_max, t, ctl_domain_esc(esc, sizeof(esc),
		    di[i].limit_reason));
		if (di[i].paused_until > 0) {
			ctl_fmt_time(t, sizeof(t), di[i].paused_until);
			evbuffer_add_printf(o, "  new connections paused until "
			    "%s\n", t);
		}
		evbuffer_add_printf(o, "  acceptance rate %u messages/min "
		    "(last minute)\n", di[i].accept_rate);
	}
	if (req->dhosts.n > 0)
		evbuffer_add_printf(o, "hosts:\n");
	for (i = 0; i < req->dhosts.n; i++)
		evbuffer_add_printf(o, "  %-5u %s [%s]:%u  conns %u  %s\n",
		    dh[i].preference, dh[i].host,
		    dh[i].addr[0] ? dh[i].addr : "unresolved", dh[i].port,
		    dh[i].connections, dh[i].last_error[0] ?
		    ctl_domain_esc(esc, sizeof(esc), dh[i].last_error) : "");
	if (partial)
		evbuffer_add_printf(o, "(some deliverd workers did not "
		    "answer)\n");
}

static void
ctl_domain_render(struct ctl_req *req, int partial)
{
	struct bw_domain_cmd_reply	*r = req->dqueues.v;
	size_t				 i, found = 0;

	for (i = 0; i < req->dqueues.n; i++)
		found += r[i].found ? 1 : 0;
	if (req->json)
		ctl_domain_json(req, partial);
	else
		ctl_domain_text(req, partial);
	/* retry/suspend/resume of an unknown domain: an error */
	ctl_req_finish(req, found == 0 && req->dop != BW_DOMAIN_SHOW &&
	    req->dop != BW_DOMAIN_SUSPEND ? 1 : 0);
}

static void
ctl_domain_check_done(struct ctl_req *req)
{
	if (req->queued_done && req->workers_left == 0)
		ctl_domain_render(req, 0);
}

void
ctl_domain_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct bw_domain_cmd_reply	 r;
	struct bw_domain_info		 di;
	struct bw_domain_host		 dh;

	switch (imsg->hdr.type) {
	case BW_IMSG_DOMAIN_CMD_REPLY:
		memcpy(&r, imsg->data, sizeof(r));
		CTLD_TERM(r.gateway);
		CTLD_TERM(r.domain);
		CTLD_TERM(r.last_error);
		CTLD_TERM(r.profile);
		ctl_rows_add(&req->dqueues, &r);
		if (r.last) {
			req->queued_done = 1;
			ctl_domain_check_done(req);
		}
		break;
	case BW_IMSG_DOMAIN_INFO:
		memcpy(&di, imsg->data, sizeof(di));
		CTLD_TERM(di.gateway);
		CTLD_TERM(di.domain);
		CTLD_TERM(di.last_result);
		CTLD_TERM(di.limit_reason);
		ctl_rows_add(&req->dinfos, &di);
		break;
	case BW_IMSG_DOMAIN_HOST:
		memcpy(&dh, imsg->data, sizeof(dh));
		CTLD_TERM(dh.domain);
		CTLD_TERM(dh.host);
		CTLD_TERM(dh.addr);
		CTLD_TERM(dh.last_error);
		ctl_rows_add(&req->dhosts, &dh);
		break;
	case BW_IMSG_DOMAIN_INFO_END:
		if (req->workers_left > 0)
			req->workers_left--;
		ctl_domain_check_done(req);
		break;
	default:
		break;
	}
}

void
ctl_domain_timeout(struct ctl_req *req)
{
	if (!req->queued_done) {
		log_warnx("ctl request id=%u: queued did not answer %s %s",
		    req->id, ctl_domain_op_name(req->dop), req->domain);
		ctl_req_fail(req, 1, "queued did not answer in time");
		return;
	}
	ctl_domain_render(req, 1);
}

/* A deliverd worker went away: requests stop waiting for one answer. */
void
ctl_domain_worker_gone(void)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind != CTL_REQ_DOMAIN || req->workers_left == 0)
			continue;
		req->workers_left--;
		ctl_domain_check_done(req);
	}
}
