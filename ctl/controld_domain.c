/*
 * Domain commands: `show domain D`, `retry D`, `suspend D`, `resume D`.
 * queued answers DOMAIN_CMD with one DOMAIN_CMD_REPLY per (gateway, D)
 * queue (the last one flagged); for `show domain` every connected deliverd
 * worker is also asked (DOMAIN_INFO_REQ) and answers DOMAIN_INFO and
 * DOMAIN_HOST rows, then DOMAIN_INFO_END.  The two views are merged here.
 * A worker that does not answer before ctl_timeout is left out (the
 * output says so); queued not answering fails the command.  The answer
 * is three data tables (queue, delivery, hosts) whose text is a layout
 * of its own (row notes).
 *
 * Trust: rows carry remote replies and host names from the Internet; they
 * are escaped for text output and quoted for JSON.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
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

struct ctl_domain_priv {
	uint32_t		 dop;		/* enum bw_domain_cmd_op */
	char			 domain[BW_DOMAIN_MAX + 1];
	int			 queued_done;	/* its last reply came */
	size_t			 workers_left;	/* deliverd INFO_END due */
	int			 partial;
	struct ctl_rows		 dqueues;	/* bw_domain_cmd_reply */
	struct ctl_rows		 dinfos;	/* bw_domain_info */
	struct ctl_rows		 dhosts;	/* bw_domain_host */
};

/* show domain D | retry D | suspend D | resume D */
static int
ctl_domain_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_domain_priv	*p = arg;
	const char		*dom = argv[argc - 1];
	char			 e1[64];

	p->dop = BW_DOMAIN_SHOW;
	if (strcmp(argv[0], "retry") == 0)
		p->dop = BW_DOMAIN_RETRY;
	else if (strcmp(argv[0], "suspend") == 0)
		p->dop = BW_DOMAIN_SUSPEND;
	else if (strcmp(argv[0], "resume") == 0)
		p->dop = BW_DOMAIN_RESUME;
	if (dom[0] == '\0' || strlen(dom) > BW_DOMAIN_MAX ||
	    strchr(dom, '@') != NULL) {
		snprintf(pc->err, sizeof(pc->err), "invalid domain '%s'",
		    log_escape(e1, sizeof(e1), dom, strlen(dom)));
		return -1;
	}
	bw_lowercase(p->domain, dom, sizeof(p->domain));
	return 0;
}

static void
ctl_domain_start(struct ctl_req *req)
{
	struct ctl_domain_priv		*p = req->priv;
	struct bw_domain_cmd		 c;
	struct bw_domain_info_req	 ir;
	struct ctl_daemon		*d;
	uint32_t			 id = req->id;

	ctl_rows_init(&p->dqueues, sizeof(struct bw_domain_cmd_reply),
	    CTL_DOMAIN_ROWS_MAX);
	ctl_rows_init(&p->dinfos, sizeof(struct bw_domain_info),
	    CTL_DOMAIN_ROWS_MAX);
	ctl_rows_init(&p->dhosts, sizeof(struct bw_domain_host),
	    CTL_DOMAIN_ROWS_MAX);
	memset(&c, 0, sizeof(c));
	c.op = p->dop;
	strlcpy(c.domain, p->domain, sizeof(c.domain));
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_DOMAIN_CMD, &c, sizeof(c));
	if (ctl_req_find(id) == NULL || p->dop != BW_DOMAIN_SHOW)
		return;
	memset(&ir, 0, sizeof(ir));
	strlcpy(ir.domain, p->domain, sizeof(ir.domain));
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (d->role != BW_ROLE_DELIVERD)
			continue;
		if (bw_peer_send(d->peer, BW_IMSG_DOMAIN_INFO_REQ, req->id,
		    -1, &ir, sizeof(ir)) == 0)
			p->workers_left++;
	}
}

static void
ctl_domain_free(void *arg)
{
	struct ctl_domain_priv	*p = arg;

	ctl_rows_free(&p->dqueues);
	ctl_rows_free(&p->dinfos);
	ctl_rows_free(&p->dhosts);
}

static const struct ctl_col ctl_dq_cols[] = {
	{ "gateway", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "state", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "messages", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0, NULL },
	{ "oldest", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "oldest_age", NULL, CTL_T_AGE, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "next_retry", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "retries", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "active", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0, NULL },
	{ "delivered", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "hard_bounces", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "soft_bounces", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "last_error", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "profile", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_dq_table = { "queue", ctl_dq_cols,
    CTL_NCOLS(ctl_dq_cols), NULL };

static const struct ctl_col ctl_di_cols[] = {
	{ "gateway", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "connections", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "routed", NULL, CTL_T_BOOL, CTL_COL_DATA, 0, NULL },
	{ "delivered", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "tempfail", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "permfail", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "last_attempt", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "last_result", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "conn_limit", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "conn_limit_max", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "limit_reason", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "limit_changed", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "paused_until", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "accept_rate", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
};
static const struct ctl_table ctl_di_table = { "delivery", ctl_di_cols,
    CTL_NCOLS(ctl_di_cols), NULL };

static const struct ctl_col ctl_dh_cols[] = {
	{ "host", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "addr", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "preference", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "port", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "connections", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "last_error_time", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "last_error", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_dh_table = { "hosts", ctl_dh_cols,
    CTL_NCOLS(ctl_dh_cols), NULL };

/* An int column: the value, or null when it is 0 (never). */
static void
ctl_domain_time(struct ctl_out *o, const char *key, int64_t t)
{
	if (t > 0)
		ctl_out_int(o, key, t);
	else
		ctl_out_null(o, key);
}

/* One queue of the domain (queued's view), with its text. */
static void
ctl_domain_queue_row(struct ctl_out *o, const struct ctl_domain_priv *p,
    const struct bw_domain_cmd_reply *r, int64_t now)
{
	char	 esc[CTLD_ESC_MAX], t[64];

	ctl_out_row_open(o);
	ctl_out_str(o, "gateway", r->gateway);
	ctl_out_str(o, "state", bw_queue_state_name((int)r->state));
	ctl_out_uint(o, "messages", r->messages);
	ctl_domain_time(o, "oldest", r->oldest);
	if (r->oldest > 0)
		ctl_out_int(o, "oldest_age", now - r->oldest);
	else
		ctl_out_null(o, "oldest_age");
	ctl_domain_time(o, "next_retry", r->next_retry);
	ctl_out_uint(o, "retries", r->retries);
	ctl_out_uint(o, "active", r->active_jobs);
	ctl_out_uint(o, "delivered", r->delivered);
	ctl_out_uint(o, "hard_bounces", r->hard_bounces);
	ctl_out_uint(o, "soft_bounces", r->soft_bounces);
	ctl_out_str(o, "last_error", r->last_error);
	ctl_out_str(o, "profile", r->profile);
	if (p->dop != BW_DOMAIN_SHOW) {
		ctl_out_note(o, "%s gateway=%s: %s, %" PRIu64 " queued",
		    p->domain, r->gateway, bw_queue_state_name((int)r->state),
		    r->messages);
		ctl_out_row_close(o);
		return;
	}
	ctl_out_note(o, "domain:      %s", p->domain);
	ctl_out_note(o, "gateway:     %s", r->gateway);
	ctl_out_note(o, "state:       %s", bw_queue_state_name((int)r->state));
	ctl_out_note(o, "profile:     %s", r->profile);
	ctl_out_note(o, "queued:      %" PRIu64, r->messages);
	if (r->oldest > 0)
		ctl_fmt_age(t, sizeof(t), now - r->oldest);
	else
		strlcpy(t, "-", sizeof(t));
	ctl_out_note(o, "oldest:      %s", t);
	if (r->next_retry > 0)
		ctl_fmt_time(t, sizeof(t), r->next_retry);
	else
		strlcpy(t, "-", sizeof(t));
	ctl_out_note(o, "next retry:  %s (domain retries %u)", t, r->retries);
	ctl_out_note(o, "active jobs: %u", r->active_jobs);
	ctl_out_note(o, "delivered:   %" PRIu64 "  hard: %" PRIu64 "  soft: %"
	    PRIu64, r->delivered, r->hard_bounces, r->soft_bounces);
	ctl_out_note(o, "last error:  %s", r->last_error[0] ?
	    ctl_domain_esc(esc, sizeof(esc), r->last_error) : "-");
	ctl_out_row_close(o);
}

/* One deliverd worker's view of the domain, with its text. */
static void
ctl_domain_info_row(struct ctl_out *o, const struct bw_domain_info *di)
{
	char	 esc[CTLD_ESC_MAX], t[64];

	ctl_out_row_open(o);
	ctl_out_str(o, "gateway", di->gateway);
	ctl_out_uint(o, "connections", di->connections);
	ctl_out_bool(o, "routed", di->routed != 0);
	ctl_out_uint(o, "delivered", di->delivered);
	ctl_out_uint(o, "tempfail", di->tempfail);
	ctl_out_uint(o, "permfail", di->permfail);
	ctl_domain_time(o, "last_attempt", di->last_attempt);
	ctl_out_str(o, "last_result", di->last_result);
	ctl_out_uint(o, "conn_limit", di->conn_limit);
	ctl_out_uint(o, "conn_limit_max", di->conn_limit_max);
	ctl_out_str(o, "limit_reason", di->limit_reason);
	ctl_out_int(o, "limit_changed", di->limit_changed);
	ctl_domain_time(o, "paused_until", di->paused_until);
	ctl_out_uint(o, "accept_rate", di->accept_rate);
	if (di->last_attempt > 0)
		ctl_fmt_time(t, sizeof(t), di->last_attempt);
	else
		strlcpy(t, "-", sizeof(t));
	ctl_out_note(o, "delivery (gateway %s): %u connections%s, delivered %"
	    PRIu64 ", tempfail %" PRIu64 ", permfail %" PRIu64,
	    di->gateway, di->connections, di->routed ? " (route)" : "",
	    di->delivered, di->tempfail, di->permfail);
	ctl_out_note(o, "  last attempt %s: %s", t, di->last_result[0] ?
	    ctl_domain_esc(esc, sizeof(esc), di->last_result) : "-");
	ctl_fmt_time(t, sizeof(t), di->limit_changed);
	ctl_out_note(o, "  connection limit %u (max %u), changed %s: %s",
	    di->conn_limit, di->conn_limit_max, t, ctl_domain_esc(esc,
	    sizeof(esc), di->limit_reason));
	if (di->paused_until > 0) {
		ctl_fmt_time(t, sizeof(t), di->paused_until);
		ctl_out_note(o, "  new connections paused until %s", t);
	}
	ctl_out_note(o, "  acceptance rate %u messages/min (last minute)",
	    di->accept_rate);
	ctl_out_row_close(o);
}

static void
ctl_domain_host_row(struct ctl_out *o, const struct bw_domain_host *dh)
{
	char	 esc[CTLD_ESC_MAX];

	ctl_out_row_open(o);
	ctl_out_str(o, "host", dh->host);
	ctl_out_str(o, "addr", dh->addr);
	ctl_out_uint(o, "preference", dh->preference);
	ctl_out_uint(o, "port", dh->port);
	ctl_out_uint(o, "connections", dh->connections);
	ctl_domain_time(o, "last_error_time", dh->last_error_time);
	ctl_out_str(o, "last_error", dh->last_error);
	ctl_out_note(o, "  %-5u %s [%s]:%u  conns %u  %s", dh->preference,
	    dh->host, dh->addr[0] ? dh->addr : "unresolved", dh->port,
	    dh->connections, dh->last_error[0] ? ctl_domain_esc(esc,
	    sizeof(esc), dh->last_error) : "");
	ctl_out_row_close(o);
}

static int
ctl_domain_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_domain_priv		*p = req->priv;
	const struct bw_domain_cmd_reply *r = p->dqueues.v;
	const struct bw_domain_info	*di = p->dinfos.v;
	const struct bw_domain_host	*dh = p->dhosts.v;
	int64_t				 now = bw_time();
	size_t				 i, nq = 0;

	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "domain", p->domain);
	ctl_out_str(o, "command", ctl_domain_op_name(p->dop));
	ctl_out_table_open(o, &ctl_dq_table);
	for (i = 0; i < p->dqueues.n; i++) {
		if (!r[i].found)
			continue;
		nq++;
		ctl_domain_queue_row(o, p, &r[i], now);
	}
	ctl_out_table_close(o);
	if (nq == 0)
		ctl_out_note(o, "%s: no queue for this domain", p->domain);
	ctl_out_table_open(o, &ctl_di_table);
	for (i = 0; i < p->dinfos.n; i++)
		if (di[i].found)
			ctl_domain_info_row(o, &di[i]);
	ctl_out_table_close(o);
	if (p->dhosts.n > 0)
		ctl_out_note(o, "hosts:");
	ctl_out_table_open(o, &ctl_dh_table);
	for (i = 0; i < p->dhosts.n; i++)
		ctl_domain_host_row(o, &dh[i]);
	ctl_out_table_close(o);
	ctl_out_bool(o, "partial", p->partial);
	if (p->partial && p->dop == BW_DOMAIN_SHOW)
		ctl_out_note(o, "(some deliverd workers did not answer)");
	ctl_out_obj_close(o);
	/* retry/suspend/resume of an unknown domain: an error */
	return nq == 0 && p->dop != BW_DOMAIN_SHOW &&
	    p->dop != BW_DOMAIN_SUSPEND ? 1 : 0;
}

static void
ctl_domain_check_done(struct ctl_req *req)
{
	struct ctl_domain_priv	*p = req->priv;

	if (p->queued_done && p->workers_left == 0)
		ctl_req_done(req);
}

static void
ctl_domain_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_domain_priv		*p = req->priv;
	struct bw_domain_cmd_reply	 r;
	struct bw_domain_info		 di;
	struct bw_domain_host		 dh;

	switch (imsg->hdr.type) {
	case BW_IMSG_DOMAIN_CMD_REPLY:
		ctl_payload(&r, sizeof(r), imsg);
		CTLD_TERM(r.gateway);
		CTLD_TERM(r.domain);
		CTLD_TERM(r.last_error);
		CTLD_TERM(r.profile);
		ctl_rows_add(&p->dqueues, &r);
		if (r.last) {
			p->queued_done = 1;
			ctl_domain_check_done(req);
		}
		break;
	case BW_IMSG_DOMAIN_INFO:
		ctl_payload(&di, sizeof(di), imsg);
		CTLD_TERM(di.gateway);
		CTLD_TERM(di.domain);
		CTLD_TERM(di.last_result);
		CTLD_TERM(di.limit_reason);
		ctl_rows_add(&p->dinfos, &di);
		break;
	case BW_IMSG_DOMAIN_HOST:
		ctl_payload(&dh, sizeof(dh), imsg);
		CTLD_TERM(dh.domain);
		CTLD_TERM(dh.host);
		CTLD_TERM(dh.addr);
		CTLD_TERM(dh.last_error);
		ctl_rows_add(&p->dhosts, &dh);
		break;
	case BW_IMSG_DOMAIN_INFO_END:
		if (p->workers_left > 0)
			p->workers_left--;
		ctl_domain_check_done(req);
		break;
	default:
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), req->id);
		break;
	}
}

static void
ctl_domain_timeout(struct ctl_req *req)
{
	struct ctl_domain_priv	*p = req->priv;

	if (!p->queued_done) {
		log_warnx("ctl request id=%u: queued did not answer %s %s",
		    req->id, ctl_domain_op_name(p->dop), p->domain);
		ctl_req_fail(req, 1, "queued did not answer in time");
		return;
	}
	p->partial = 1;
	ctl_req_done(req);
}

/* queued gone: fail; a deliverd worker gone: stop waiting for it. */
static void
ctl_domain_gone(struct ctl_req *req, int role)
{
	struct ctl_domain_priv	*p = req->priv;

	if (role == BW_ROLE_QUEUED) {
		ctl_req_queued_gone(req, role);
		return;
	}
	if (role != BW_ROLE_DELIVERD || p->workers_left == 0)
		return;
	p->workers_left--;
	ctl_domain_check_done(req);
}

const struct ctl_cmd_ops ctl_domain_ops = {
	.privsz = sizeof(struct ctl_domain_priv),
	.parse = ctl_domain_parse,
	.start = ctl_domain_start,
	.on_imsg = ctl_domain_msg,
	.render = ctl_domain_render,
	.timeout = ctl_domain_timeout,
	.daemon_gone = ctl_domain_gone,
	.free = ctl_domain_free,
};
