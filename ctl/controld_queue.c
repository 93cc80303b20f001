/*
 * Requests answered by queued: `show queue`, `show message QID` and
 * `list messages [LIMIT]`.  controld forwards the request with the request
 * id in hdr.peerid, collects the rows queued streams back until the end
 * frame, and renders them as a table or as JSON.  `show queue` also asks
 * every deliverd worker for its agents (AGENT_LIST_REQ): their open
 * connections and Good Neighbor limits go beside queued's queues.  They
 * are joined here rather than reported to queued on every change: the
 * numbers are live when asked, cost nothing on the delivery path, and
 * vanish with a worker that dies instead of staying stale in queued.  A
 * worker that does not answer in time is left out (the output says so).
 *
 * Trust: queued's rows carry text that came from the Internet (senders,
 * HELO names, remote replies); each string is terminated on receipt and
 * escaped on output (log_escape for tables, ctl_json for JSON).  Rows are
 * capped (CTL_QUEUE_ROWS_MAX, CTL_RCPTS_MAX, CTL_LIST_MAX) and the whole
 * request has the ctl_timeout deadline.
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

#define CTL_TERM(field)	((field)[sizeof(field) - 1] = '\0')
#define CTL_ESC_MAX	(BW_LOG_PEER_TEXT_MAX * 4 + 1)	/* escaped text */

/* Copy a fixed-size payload into an aligned struct (zero-filled). */
static void
ctl_payload(void *dst, size_t dstsz, const struct bw_imsg *imsg)
{
	memset(dst, 0, dstsz);
	memcpy(dst, imsg->data, imsg->datalen < dstsz ? imsg->datalen : dstsz);
}

static const char *
ctl_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

/* The connected queued, or fail the request; NULL then. */
static struct bw_peer *
ctl_queued_peer(struct ctl_req *req)
{
	struct ctl_daemon	*d;

	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL) {
		ctl_req_fail(req, 1, "queued is not running (not connected "
		    "to controld)");
		return NULL;
	}
	return d->peer;
}

static void
ctl_queued_send(struct ctl_req *req, uint32_t type, const void *data,
    size_t len)
{
	struct bw_peer	*peer;

	if ((peer = ctl_queued_peer(req)) == NULL)
		return;
	if (bw_peer_send(peer, type, req->id, -1, data, len) == -1)
		ctl_req_fail(req, 1, "cannot send the request to queued");
}

void
ctl_queue_start(struct ctl_req *req)
{
	struct ctl_daemon	*d;
	uint32_t		 id = req->id;

	ctl_queued_send(req, BW_IMSG_QUEUE_LIST_REQ, NULL, 0);
	if (ctl_req_find(id) == NULL)
		return;		/* failed and freed */
	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->role == BW_ROLE_DELIVERD &&
		    bw_peer_send(d->peer, BW_IMSG_AGENT_LIST_REQ, req->id, -1,
		    NULL, 0) == 0)
			req->workers_left++;
}

void
ctl_message_start(struct ctl_req *req, const char *qid)
{
	struct bw_message_show_req	 m;

	memset(&m, 0, sizeof(m));
	strlcpy(m.qid, qid, sizeof(m.qid));
	strlcpy(req->qid, qid, sizeof(req->qid));
	ctl_queued_send(req, BW_IMSG_MESSAGE_SHOW_REQ, &m, sizeof(m));
}

void
ctl_list_start(struct ctl_req *req, uint64_t limit)
{
	struct bw_message_list_req	 m;

	memset(&m, 0, sizeof(m));
	m.limit = limit;
	ctl_queued_send(req, BW_IMSG_MESSAGE_LIST_REQ, &m, sizeof(m));
}

static void	ctl_queue_render(struct ctl_req *, int partial);

void
ctl_queue_timeout(struct ctl_req *req)
{
	if (req->kind == CTL_REQ_QUEUE && req->queued_done) {
		/* only deliverd workers are missing: show what we have */
		ctl_queue_render(req, 1);
		ctl_req_finish(req, 0);
		return;
	}
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: queued did not answer within %lld ms",
	    req->id, BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
	ctl_req_fail(req, 1, "queued did not answer within %lld ms",
	    BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
}

/* ---- show queue ---- */

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
ctl_queue_agent(struct ctl_req *req, const struct bw_queue_entry *q)
{
	struct bw_agent_entry	 key;

	/* no deliverd rows: the array was never allocated (bsearch on NULL
	 * is undefined even with no elements) */
	if (req->agents.n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	strlcpy(key.gateway, q->gateway, sizeof(key.gateway));
	strlcpy(key.domain, q->domain, sizeof(key.domain));
	return bsearch(&key, req->agents.v, req->agents.n,
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

static void
ctl_queue_render(struct ctl_req *req, int partial)
{
	struct bw_queue_entry	*q = req->queues.v;
	const struct bw_agent_entry *a;
	struct ctl_json		 j;
	char			 gw[CTL_ESC_MAX], dom[CTL_ESC_MAX], age[32];
	char			 err[CTL_ESC_MAX], conns[32];
	int64_t			 now = bw_time();
	size_t			 i, gww = 7, domw = 6;

	if (req->queues.n > 1)
		qsort(q, req->queues.n, sizeof(*q), ctl_queue_cmp);
	if (req->agents.n > 1)
		qsort(req->agents.v, req->agents.n,
		    sizeof(struct bw_agent_entry), ctl_agent_cmp);
	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_arr_open(&j, "queues");
		for (i = 0; i < req->queues.n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "gateway", q[i].gateway);
			ctl_json_str(&j, "domain", q[i].domain);
			ctl_json_str(&j, "state",
			    bw_queue_state_name((int)q[i].state));
			ctl_json_uint(&j, "messages", q[i].messages);
			if (q[i].oldest > 0) {
				ctl_json_int(&j, "oldest", q[i].oldest);
				ctl_json_int(&j, "oldest_age",
				    now - q[i].oldest);
			} else {
				ctl_json_null(&j, "oldest");
				ctl_json_null(&j, "oldest_age");
			}
			ctl_json_uint(&j, "active", q[i].active_jobs);
			if ((a = ctl_queue_agent(req, &q[i])) != NULL) {
				ctl_json_uint(&j, "connections",
				    a->connections);
				ctl_json_uint(&j, "conn_limit", a->conn_limit);
				ctl_json_uint(&j, "conn_limit_max",
				    a->conn_limit_max);
				ctl_json_bool(&j, "paused", a->paused != 0);
			} else {
				ctl_json_null(&j, "connections");
				ctl_json_null(&j, "conn_limit");
				ctl_json_null(&j, "conn_limit_max");
				ctl_json_null(&j, "paused");
			}
			ctl_json_uint(&j, "delivered", q[i].delivered);
			ctl_json_uint(&j, "hard_bounces", q[i].hard_bounces);
			ctl_json_uint(&j, "soft_bounces", q[i].soft_bounces);
			if (q[i].next_retry > 0)
				ctl_json_int(&j, "next_retry", q[i].next_retry);
			else
				ctl_json_null(&j, "next_retry");
			ctl_json_str(&j, "last_error", q[i].last_error);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_obj_open(&j, "total");
		ctl_json_uint(&j, "queues", req->qend.queues);
		ctl_json_uint(&j, "messages", req->qend.messages);
		ctl_json_obj_close(&j);
		ctl_json_bool(&j, "truncated", req->queues.truncated);
		ctl_json_bool(&j, "partial", partial);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	if (req->queues.n == 0) {
		evbuffer_add_printf(req->out, "queue is empty\n");
		return;
	}
	for (i = 0; i < req->queues.n; i++) {
		if (strlen(ctl_esc(gw, sizeof(gw), q[i].gateway)) > gww)
			gww = strlen(gw);
		if (strlen(ctl_esc(dom, sizeof(dom), q[i].domain)) > domw)
			domw = strlen(dom);
	}
	evbuffer_add_printf(req->out, "%-*s  %-*s  %-9s  %8s  %-8s  %6s  "
	    "%-11s  %9s  %6s  %6s  %s\n", (int)gww, "GATEWAY", (int)domw,
	    "DOMAIN", "STATE", "QUEUED", "OLDEST", "ACTIVE", "CONNS/LIMIT",
	    "DELIVERED", "HARD", "SOFT", "LAST ERROR");
	for (i = 0; i < req->queues.n; i++) {
		if (q[i].oldest > 0)
			ctl_fmt_age(age, sizeof(age), now - q[i].oldest);
		else
			strlcpy(age, "-", sizeof(age));
		evbuffer_add_printf(req->out,
		    "%-*s  %-*s  %-9s  %8" PRIu64 "  %-8s  %6u  %-11s  %9"
		    PRIu64 "  %6" PRIu64 "  %6" PRIu64 "  %s\n", (int)gww,
		    ctl_esc(gw, sizeof(gw), q[i].gateway), (int)domw,
		    ctl_esc(dom, sizeof(dom), q[i].domain),
		    bw_queue_state_name((int)q[i].state), q[i].messages, age,
		    q[i].active_jobs, ctl_queue_conns(conns, sizeof(conns),
		    ctl_queue_agent(req, &q[i])), q[i].delivered,
		    q[i].hard_bounces,
		    q[i].soft_bounces, q[i].last_error[0] ?
		    ctl_esc(err, sizeof(err), q[i].last_error) : "-");
	}
	evbuffer_add_printf(req->out, "total: %" PRIu64 " queues, %" PRIu64
	    " messages%s\n", req->qend.queues, req->qend.messages,
	    req->queues.truncated ? " (listing truncated)" : "");
	if (partial)
		evbuffer_add_printf(req->out, "(some deliverd workers did not "
		    "answer: their connections are not shown)\n");
}

static void
ctl_queue_check_done(struct ctl_req *req)
{
	if (!req->queued_done || req->workers_left > 0)
		return;
	ctl_queue_render(req, 0);
	ctl_req_finish(req, 0);
}

/* A deliverd worker's agents for show queue. */
void
ctl_queue_agent_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_agent_entry	 e;

	if (imsg->hdr.type == BW_IMSG_AGENT_ENTRY) {
		ctl_payload(&e, sizeof(e), imsg);
		CTL_TERM(e.gateway);
		CTL_TERM(e.domain);
		ctl_rows_add(&req->agents, &e);
		return;
	}
	if (req->workers_left > 0)
		req->workers_left--;
	ctl_queue_check_done(req);
}

/* A deliverd worker went away: show queue stops waiting for it. */
void
ctl_queue_worker_gone(void)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind != CTL_REQ_QUEUE || req->workers_left == 0)
			continue;
		req->workers_left--;
		ctl_queue_check_done(req);
	}
}

/* ---- show message ---- */

static void
ctl_message_render(struct ctl_req *req)
{
	const struct bw_message_info	*m = &req->info;
	const struct bw_message_rcpt	*r = req->rcpts.v;
	struct ctl_json			 j;
	char				 a[CTL_ESC_MAX], b[CTL_ESC_MAX];
	char				 c[CTL_ESC_MAX], d[CTL_ESC_MAX], tbuf[64], age[32];
	char				 nt[64], scan[BW_SCAN_TEXT_MAX];
	size_t				 i;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "qid", m->qid);
		ctl_json_str(&j, "sender", m->sender);
		ctl_json_int(&j, "created", m->created);
		ctl_json_uint(&j, "size", m->size);
		ctl_json_uint(&j, "body_stored", m->body_stored);
		ctl_json_uint(&j, "nrcpt", m->nrcpt);
		ctl_json_str(&j, "listener", m->listener);
		ctl_json_str(&j, "client_addr", m->client_addr);
		ctl_json_str(&j, "helo", m->helo);
		ctl_json_str(&j, "gateway", m->gateway);
		ctl_json_uint(&j, "flags", m->flags);
		ctl_json_str(&j, "dsn_ret", bw_dsn_ret_name((int)m->dsn_ret));
		ctl_json_str(&j, "envid", m->envid);
		ctl_json_int(&j, "delay_warning_due", m->delay_due);
		ctl_json_bool(&j, "delay_warning_sent", m->delay_warned != 0);
		ctl_json_str(&j, "scan", bw_scan_text(scan, sizeof(scan),
		    m->scan_flags));
		ctl_json_arr_open(&j, "recipients");
		for (i = 0; i < req->rcpts.n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "rcpt", r[i].rcpt);
			ctl_json_str(&j, "domain", r[i].domain);
			ctl_json_str(&j, "state",
			    bw_rcpt_state_name((int)r[i].state));
			ctl_json_uint(&j, "attempts", r[i].attempts);
			ctl_json_str(&j, "last_reply", r[i].last_reply);
			ctl_json_str(&j, "notify", bw_dsn_notify_text(nt,
			    sizeof(nt), r[i].notify));
			ctl_json_str(&j, "orcpt", r[i].orcpt);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_bool(&j, "truncated", req->rcpts.truncated);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	ctl_fmt_time(tbuf, sizeof(tbuf), m->created);
	ctl_fmt_age(age, sizeof(age), bw_time() - m->created);
	evbuffer_add_printf(req->out,
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
	evbuffer_add_printf(req->out, "gateway:     %s\n",
	    ctl_esc(a, sizeof(a), m->gateway));
	/* DSN (RFC 3461): what the sender asked for, the delay warning */
	evbuffer_add_printf(req->out, "dsn:         ret=%s envid=%s\n",
	    m->dsn_ret ? bw_dsn_ret_name((int)m->dsn_ret) : "-",
	    m->envid[0] ? ctl_esc(a, sizeof(a), m->envid) : "-");
	/* content scans its policy asked for (issue 11) */
	evbuffer_add_printf(req->out, "content:     scan=%s\n",
	    bw_scan_text(scan, sizeof(scan), m->scan_flags));
	if (m->delay_warned)
		evbuffer_add_printf(req->out, "delay warning: sent\n\n");
	else if (m->delay_due > 0) {
		ctl_fmt_time(tbuf, sizeof(tbuf), m->delay_due);
		evbuffer_add_printf(req->out, "delay warning: due %s\n\n",
		    tbuf);
	} else
		evbuffer_add_printf(req->out, "delay warning: none\n\n");
	evbuffer_add_printf(req->out, "%-40s  %-9s  %8s  %s\n", "RECIPIENT",
	    "STATE", "ATTEMPTS", "LAST REPLY");
	for (i = 0; i < req->rcpts.n; i++) {
		evbuffer_add_printf(req->out, "%-40s  %-9s  %8u  %s\n",
		    ctl_esc(a, sizeof(a), r[i].rcpt),
		    bw_rcpt_state_name((int)r[i].state), r[i].attempts,
		    r[i].last_reply[0] ? ctl_esc(b, sizeof(b),
		    r[i].last_reply) : "-");
		if (r[i].notify == 0 && r[i].orcpt[0] == '\0')
			continue;
		evbuffer_add_printf(req->out, "  notify=%s orcpt=%s\n",
		    r[i].notify ? bw_dsn_notify_text(nt, sizeof(nt),
		    r[i].notify) : "-", r[i].orcpt[0] ? ctl_esc(b, sizeof(b),
		    r[i].orcpt) : "-");
	}
	if (req->rcpts.truncated)
		evbuffer_add_printf(req->out, "(recipient list truncated at "
		    "%d)\n", CTL_RCPTS_MAX);
}

/* ---- list messages ---- */

static void
ctl_list_render(struct ctl_req *req)
{
	const struct bw_message_list_entry	*e = req->msgs.v;
	struct ctl_json				 j;
	char					 tbuf[64];
	size_t					 i;
	int					 truncated;

	truncated = req->lend.truncated || req->msgs.truncated;
	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_arr_open(&j, "messages");
		for (i = 0; i < req->msgs.n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "qid", e[i].qid);
			ctl_json_int(&j, "created", e[i].created);
			ctl_json_uint(&j, "size", e[i].size);
			ctl_json_uint(&j, "body_stored", e[i].body_stored);
			ctl_json_uint(&j, "nrcpt", e[i].nrcpt);
			ctl_json_uint(&j, "rcpt_stored", e[i].rcpt_stored);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_uint(&j, "count", req->msgs.n);
		ctl_json_bool(&j, "truncated", truncated);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	evbuffer_add_printf(req->out, "%-16s  %-19s  %10s  %5s\n", "QUEUE ID",
	    "CREATED", "SIZE", "RCPTS");
	for (i = 0; i < req->msgs.n; i++) {
		ctl_fmt_time(tbuf, sizeof(tbuf), e[i].created);
		evbuffer_add_printf(req->out,
		    "%-16s  %-19s  %10" PRIu64 "  %5u\n", e[i].qid, tbuf,
		    e[i].size, e[i].nrcpt);
	}
	evbuffer_add_printf(req->out, "%zu messages%s\n", req->msgs.n,
	    truncated ? " (more in the queue; give a larger LIMIT)" : "");
}

/* ---- replies from queued ---- */

static void
ctl_queue_bad_reply(struct ctl_req *req, uint32_t type)
{
	log_warnx("ctl request id=%u: unexpected %s from queued", req->id,
	    bw_imsg_type_name(type));
	ctl_req_fail(req, 1, "controld: unexpected %s from queued",
	    bw_imsg_type_name(type));
}

void
ctl_queue_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_queue_entry		 qe;
	struct bw_message_rcpt		 mr;
	struct bw_message_list_entry	 le;
	uint32_t			 type = imsg->hdr.type;

	switch (req->kind) {
	case CTL_REQ_QUEUE:
		if (type == BW_IMSG_QUEUE_ENTRY) {
			ctl_payload(&qe, sizeof(qe), imsg);
			CTL_TERM(qe.gateway);
			CTL_TERM(qe.domain);
			CTL_TERM(qe.last_error);
			ctl_rows_add(&req->queues, &qe);
			return;
		}
		if (type == BW_IMSG_QUEUE_END) {
			ctl_payload(&req->qend, sizeof(req->qend), imsg);
			req->queued_done = 1;
			ctl_queue_check_done(req);
			return;
		}
		break;
	case CTL_REQ_MESSAGE:
		if (type == BW_IMSG_MESSAGE_INFO && !req->have_info) {
			ctl_payload(&req->info, sizeof(req->info), imsg);
			CTL_TERM(req->info.qid);
			CTL_TERM(req->info.sender);
			CTL_TERM(req->info.helo);
			CTL_TERM(req->info.client_addr);
			CTL_TERM(req->info.listener);
			CTL_TERM(req->info.gateway);
			if (!req->info.found) {
				ctl_req_fail(req, 1, "message %s not found",
				    req->qid);
				return;
			}
			req->have_info = 1;
			return;
		}
		if (type == BW_IMSG_MESSAGE_RCPT && req->have_info) {
			ctl_payload(&mr, sizeof(mr), imsg);
			CTL_TERM(mr.qid);
			CTL_TERM(mr.rcpt);
			CTL_TERM(mr.domain);
			CTL_TERM(mr.last_reply);
			ctl_rows_add(&req->rcpts, &mr);
			return;
		}
		if (type == BW_IMSG_MESSAGE_END) {
			if (!req->have_info) {
				ctl_req_fail(req, 1, "message %s not found",
				    req->qid);
				return;
			}
			ctl_message_render(req);
			ctl_req_finish(req, 0);
			return;
		}
		break;
	case CTL_REQ_LIST:
		if (type == BW_IMSG_MESSAGE_LIST_ENTRY) {
			ctl_payload(&le, sizeof(le), imsg);
			CTL_TERM(le.qid);
			ctl_rows_add(&req->msgs, &le);
			return;
		}
		if (type == BW_IMSG_MESSAGE_LIST_END) {
			ctl_payload(&req->lend, sizeof(req->lend), imsg);
			ctl_list_render(req);
			ctl_req_finish(req, 0);
			return;
		}
		break;
	case CTL_REQ_STATUS:
	case CTL_REQ_DNS_SHOW:
	case CTL_REQ_DNS_FLUSH:
		break;
	case CTL_REQ_DOMAIN:
	case CTL_REQ_RELOAD:
	case CTL_REQ_VERIFY:
	case CTL_REQ_SENDERS:
	case CTL_REQ_TRACE:
	case CTL_REQ_DEBUG:
	case CTL_REQ_QACT:
	case CTL_REQ_ALERTS:
		break;
	}
	ctl_queue_bad_reply(req, type);
}
