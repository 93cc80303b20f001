/*
 * `show queue`, answered by queued.  controld forwards the request with the
 * request id in hdr.peerid, collects the rows queued streams back until the
 * end frame, and writes them as one table (text or JSON).  It also asks
 * every deliverd worker for its agents (AGENT_LIST_REQ): their open
 * connections and Good Neighbor limits go beside queued's queues.  They
 * are joined here rather than reported to queued on every change: the
 * numbers are live when asked, cost nothing on the delivery path, and
 * vanish with a worker that dies instead of staying stale in queued.  A
 * worker that does not answer in time is left out (the output says so).
 *
 * Trust: queued's rows carry text that came from the Internet (senders,
 * HELO names, remote replies); each string is terminated on receipt and
 * escaped on output (by the renderers of ctl_out).  Rows are capped
 * (CTL_QUEUE_ROWS_MAX) and the whole request has the ctl_timeout deadline.
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
#include "controld.h"

#define CTL_TERM(field)	((field)[sizeof(field) - 1] = '\0')

struct ctl_queue_priv {
	struct ctl_rows		 queues;	/* struct bw_queue_entry */
	struct bw_queue_end	 qend;
	struct ctl_rows		 agents;	/* bw_agent_entry, deliverd's */
	int			 queued_done;	/* QUEUE_END came */
	size_t			 workers_left;	/* AGENT_END due */
	int			 partial;	/* a worker did not answer */
};

static void
ctl_queue_start(struct ctl_req *req)
{
	struct ctl_queue_priv	*p = req->priv;
	struct ctl_daemon	*d;
	uint32_t		 id = req->id;

	ctl_rows_init(&p->queues, sizeof(struct bw_queue_entry),
	    CTL_QUEUE_ROWS_MAX);
	ctl_rows_init(&p->agents, sizeof(struct bw_agent_entry),
	    CTL_QUEUE_ROWS_MAX);
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_QUEUE_LIST_REQ, NULL, 0);
	if (ctl_req_find(id) == NULL)
		return;		/* failed and freed */
	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->role == BW_ROLE_DELIVERD &&
		    bw_peer_send(d->peer, BW_IMSG_AGENT_LIST_REQ, req->id, -1,
		    NULL, 0) == 0)
			p->workers_left++;
}

static void
ctl_queue_free(void *arg)
{
	struct ctl_queue_priv	*p = arg;

	ctl_rows_free(&p->queues);
	ctl_rows_free(&p->agents);
}

/* A request to queued timed out (show message, list messages too). */
void
ctl_queued_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: queued did not answer within %lld ms",
	    req->id, BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
	ctl_req_fail(req, 1, "queued did not answer within %lld ms",
	    BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
}

static void
ctl_queue_timeout(struct ctl_req *req)
{
	struct ctl_queue_priv	*p = req->priv;

	if (p->queued_done) {
		/* only deliverd workers are missing: show what we have */
		p->partial = 1;
		ctl_req_done(req);
		return;
	}
	ctl_queued_timeout(req);
}

static int
ctl_queue_cmp(const void *a, const void *b)
{
	const struct bw_queue_entry	*x = a, *y = b;
	int				 c;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	if ((c = strcmp(x->domain, y->domain)) != 0)
		return c;
	return strcmp(x->gateway, y->gateway);
}

static int
ctl_agent_cmp(const void *a, const void *b)
{
	const struct bw_agent_entry	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->gateway, y->gateway)) != 0)
		return c;
	return strcmp(x->domain, y->domain);
}

/* The agent of a queue (deliverd's view), or NULL (none now). */
static const struct bw_agent_entry *
ctl_queue_agent(struct ctl_queue_priv *p, const struct bw_queue_entry *q)
{
	struct bw_agent_entry	 key;

	/* no deliverd rows: the array was never allocated (bsearch on NULL
	 * is undefined even with no elements) */
	if (p->agents.n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	strlcpy(key.gateway, q->gateway, sizeof(key.gateway));
	strlcpy(key.domain, q->domain, sizeof(key.domain));
	return bsearch(&key, p->agents.v, p->agents.n,
	    sizeof(struct bw_agent_entry), ctl_agent_cmp);
}

/* "3/5", "0/paused", "-" (no agent): open connections / limit. */
static const char *
ctl_queue_conns(char *dst, size_t dstsz, const struct bw_agent_entry *a)
{
	if (a == NULL)
		snprintf(dst, dstsz, "-");
	else if (a->paused)
		snprintf(dst, dstsz, "%u/paused", a->connections);
	else
		snprintf(dst, dstsz, "%u/%u", a->connections, a->conn_limit);
	return dst;
}

static const struct ctl_col ctl_queue_cols[] = {
	{ "gateway", "GATEWAY", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO |
	    CTL_COL_LABEL, 7, NULL },
	{ "domain", "DOMAIN", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO |
	    CTL_COL_LABEL, 6, NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 9, NULL },
	{ "messages", "QUEUED", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_GAUGE, 8, NULL },
	{ "oldest", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "oldest_age", "OLDEST", CTL_T_AGE, CTL_COL_BOTH | CTL_COL_GAUGE, 8,
	    NULL },
	{ "active", "ACTIVE", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_GAUGE, 6, NULL },
	{ "connections", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "conn_limit", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0,
	    NULL },
	{ "conn_limit_max", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "paused", NULL, CTL_T_BOOL, CTL_COL_DATA, 0, NULL },
	{ "conns", "CONNS/LIMIT", CTL_T_STR, CTL_COL_TEXT, 11, NULL },
	{ "delivered", "DELIVERED", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 9, NULL },
	{ "hard_bounces", "HARD", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 6, NULL },
	{ "soft_bounces", "SOFT", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 6, NULL },
	{ "next_retry", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "last_error", "LAST ERROR", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH,
	    0, NULL },
};
static const struct ctl_table ctl_queue_table = { "queues", ctl_queue_cols,
    CTL_NCOLS(ctl_queue_cols), "queue" };

static void
ctl_queue_row(struct ctl_out *o, struct ctl_queue_priv *p,
    const struct bw_queue_entry *q, int64_t now)
{
	const struct bw_agent_entry	*a;
	char				 conns[32];

	ctl_out_row_open(o);
	ctl_out_str(o, "gateway", q->gateway);
	ctl_out_str(o, "domain", q->domain);
	ctl_out_str(o, "state", bw_queue_state_name((int)q->state));
	ctl_out_uint(o, "messages", q->messages);
	if (q->oldest > 0) {
		ctl_out_int(o, "oldest", q->oldest);
		ctl_out_int(o, "oldest_age", now - q->oldest);
	} else {
		ctl_out_null(o, "oldest");
		ctl_out_null(o, "oldest_age");
	}
	ctl_out_uint(o, "active", q->active_jobs);
	if ((a = ctl_queue_agent(p, q)) != NULL) {
		ctl_out_uint(o, "connections", a->connections);
		ctl_out_uint(o, "conn_limit", a->conn_limit);
		ctl_out_uint(o, "conn_limit_max", a->conn_limit_max);
		ctl_out_bool(o, "paused", a->paused != 0);
	} else {
		ctl_out_null(o, "connections");
		ctl_out_null(o, "conn_limit");
		ctl_out_null(o, "conn_limit_max");
		ctl_out_null(o, "paused");
	}
	ctl_out_str(o, "conns", ctl_queue_conns(conns, sizeof(conns), a));
	ctl_out_uint(o, "delivered", q->delivered);
	ctl_out_uint(o, "hard_bounces", q->hard_bounces);
	ctl_out_uint(o, "soft_bounces", q->soft_bounces);
	if (q->next_retry > 0)
		ctl_out_int(o, "next_retry", q->next_retry);
	else
		ctl_out_null(o, "next_retry");
	ctl_out_str(o, "last_error", q->last_error);
	ctl_out_row_close(o);
}

static int
ctl_queue_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_queue_priv	*p = req->priv;
	struct bw_queue_entry	*q = p->queues.v;
	int64_t			 now = bw_time();
	size_t			 i;

	if (p->queues.n > 1)
		qsort(q, p->queues.n, sizeof(*q), ctl_queue_cmp);
	if (p->agents.n > 1)
		qsort(p->agents.v, p->agents.n,
		    sizeof(struct bw_agent_entry), ctl_agent_cmp);
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &ctl_queue_table);
	ctl_out_table_empty(o, "queue is empty");
	for (i = 0; i < p->queues.n; i++)
		ctl_queue_row(o, p, &q[i], now);
	ctl_out_table_close(o);
	ctl_out_obj_open(o, "total");
	ctl_out_uint(o, "queues", p->qend.queues);
	ctl_out_uint(o, "messages", p->qend.messages);
	ctl_out_obj_close(o);
	ctl_out_bool(o, "truncated", p->queues.truncated);
	ctl_out_bool(o, "partial", p->partial);
	if (p->queues.n > 0) {
		ctl_out_note(o, "total: %" PRIu64 " queues, %" PRIu64
		    " messages%s", p->qend.queues, p->qend.messages,
		    p->queues.truncated ? " (listing truncated)" : "");
		if (p->partial)
			ctl_out_note(o, "(some deliverd workers did not "
			    "answer: their connections are not shown)");
	}
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_queue_check_done(struct ctl_req *req)
{
	struct ctl_queue_priv	*p = req->priv;

	if (p->queued_done && p->workers_left == 0)
		ctl_req_done(req);
}

static void
ctl_queue_bad_reply(struct ctl_req *req, uint32_t type)
{
	log_warnx("ctl request id=%u: unexpected %s from queued", req->id,
	    bw_imsg_type_name(type));
	ctl_req_fail(req, 1, "controld: unexpected %s from queued",
	    bw_imsg_type_name(type));
}

/* queued's QUEUE_ENTRY/END; deliverd workers' AGENT_ENTRY/END. */
static void
ctl_queue_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_queue_priv	*p = req->priv;
	struct bw_queue_entry	 qe;
	struct bw_agent_entry	 e;

	switch (imsg->hdr.type) {
	case BW_IMSG_QUEUE_ENTRY:
		ctl_payload(&qe, sizeof(qe), imsg);
		CTL_TERM(qe.gateway);
		CTL_TERM(qe.domain);
		CTL_TERM(qe.last_error);
		ctl_rows_add(&p->queues, &qe);
		return;
	case BW_IMSG_QUEUE_END:
		ctl_payload(&p->qend, sizeof(p->qend), imsg);
		p->queued_done = 1;
		ctl_queue_check_done(req);
		return;
	case BW_IMSG_AGENT_ENTRY:
		ctl_payload(&e, sizeof(e), imsg);
		CTL_TERM(e.gateway);
		CTL_TERM(e.domain);
		ctl_rows_add(&p->agents, &e);
		return;
	case BW_IMSG_AGENT_END:
		if (p->workers_left > 0)
			p->workers_left--;
		ctl_queue_check_done(req);
		return;
	case BW_IMSG_MESSAGE_INFO:
	case BW_IMSG_MESSAGE_RCPT:
	case BW_IMSG_MESSAGE_END:
	case BW_IMSG_MESSAGE_LIST_ENTRY:
	case BW_IMSG_MESSAGE_LIST_END:
		ctl_queue_bad_reply(req, imsg->hdr.type);
		return;
	default:
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), req->id);
		return;
	}
}

/* queued gone: fail; a deliverd worker gone: stop waiting for it. */
static void
ctl_queue_gone(struct ctl_req *req, int role)
{
	struct ctl_queue_priv	*p = req->priv;

	if (role == BW_ROLE_QUEUED) {
		ctl_req_queued_gone(req, role);
		return;
	}
	if (role != BW_ROLE_DELIVERD || p->workers_left == 0)
		return;
	p->workers_left--;
	ctl_queue_check_done(req);
}

const struct ctl_cmd_ops ctl_queue_ops = {
	.privsz = sizeof(struct ctl_queue_priv),
	.start = ctl_queue_start,
	.on_imsg = ctl_queue_msg,
	.render = ctl_queue_render,
	.timeout = ctl_queue_timeout,
	.daemon_gone = ctl_queue_gone,
	.free = ctl_queue_free,
};
