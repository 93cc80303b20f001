/*
 * Request lifecycle: a bwctl command becomes a struct ctl_req with an id
 * and a deadline; its output is built in an evbuffer and sent, when the
 * request finishes, as CTL_OUTPUT chunks followed by CTL_DONE.  A request
 * whose client went away is freed without sending anything.
 *
 * Limits: CTL_REQUESTS_MAX requests in flight, ctl_timeout each, rows per
 * request capped by the ctl_rows ceilings.
 */
#include "bw_autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"
#include "controld_alert_src.h"

void
ctl_rows_init(struct ctl_rows *r, size_t elsz, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->elsz = elsz;
	r->max = max;
}

/* Append a copy of row; 0, or -1 when the ceiling or memory ran out. */
int
ctl_rows_add(struct ctl_rows *r, const void *row)
{
	void	*nv;
	size_t	 ncap;

	if (r->n >= r->max) {
		r->truncated = 1;
		return -1;
	}
	if (r->n == r->cap) {
		ncap = r->cap == 0 ? 16 : r->cap * 2;
		if (ncap > r->max)
			ncap = r->max;
		if ((nv = reallocarray(r->v, ncap, r->elsz)) == NULL) {
			r->truncated = 1;
			return -1;
		}
		r->v = nv;
		r->cap = ncap;
	}
	memcpy((char *)r->v + r->n * r->elsz, row, r->elsz);
	r->n++;
	return 0;
}

void
ctl_rows_free(struct ctl_rows *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/* Deadline (or, for status, the end of the collection window). */
static void
ctl_req_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_req	*req = arg;

	if (req->kind == CTL_REQ_STATUS) {
		ctl_status_render(req);
		return;
	}
	if (req->kind == CTL_REQ_DNS_SHOW || req->kind == CTL_REQ_DNS_FLUSH) {
		ctl_dns_timeout(req);
		return;
	}
	if (req->kind == CTL_REQ_DOMAIN) {
		ctl_domain_timeout(req);
		return;
	}
	if (req->kind == CTL_REQ_RELOAD) {
		ctl_reload_timeout(req);
		return;
	}
	if (req->kind == CTL_REQ_TRACE) {
		ctl_trace_timeout(req);
		return;
	}
	if (req->kind == CTL_REQ_QACT) {
		ctl_qact_timeout(req);
		return;
	}
	if (req->kind == CTL_REQ_VERIFY) {
		ctl_env->c_requests_timeout++;
		ctl_req_fail(req, 1, "queued did not finish within the time "
		    "allowed (ctl_verify_timeout for verify and repair)");
		return;
	}
	ctl_queue_timeout(req);
}

struct ctl_req *
ctl_req_new(struct bw_peer *client, enum ctl_req_kind kind, int json)
{
	struct controld	*env = ctl_env;
	struct ctl_req	*req;

	if (env->nreqs >= CTL_REQUESTS_MAX) {
		if (client == NULL)	/* internal: the caller answers */
			return NULL;
		ctl_reply_error(client, 1, "controld is busy (%d requests in "
		    "flight), try again", CTL_REQUESTS_MAX);
		return NULL;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL ||
	    (req->out = evbuffer_new()) == NULL ||
	    (req->timer = evtimer_new(env->d.base, ctl_req_timer_cb,
	    req)) == NULL) {
		log_warn("ctl request: out of memory");
		if (req != NULL && req->out != NULL)
			evbuffer_free(req->out);
		free(req);
		if (client != NULL)
			ctl_reply_error(client, 1, "controld: out of memory");
		return NULL;
	}
	/* Ids are never 0 and wrap around; a live one is skipped. */
	do {
		req->id = env->next_reqid++;
	} while (req->id == 0 || req->id == CTL_ALERT_POLL_ID ||
	    ctl_req_find(req->id) != NULL);
	req->client = client;
	req->kind = kind;
	req->json = json;
	req->started_ms = bw_now_ms();
	ctl_rows_init(&req->status, sizeof(struct ctl_status_row),
	    CTL_DAEMONS_MAX);
	ctl_rows_init(&req->queues, sizeof(struct bw_queue_entry),
	    CTL_QUEUE_ROWS_MAX);
	ctl_rows_init(&req->agents, sizeof(struct bw_agent_entry),
	    CTL_QUEUE_ROWS_MAX);
	ctl_rows_init(&req->rcpts, sizeof(struct bw_message_rcpt),
	    CTL_RCPTS_MAX);
	ctl_rows_init(&req->msgs, sizeof(struct bw_message_list_entry),
	    CTL_LIST_MAX);
	ctl_rows_init(&req->dqueues, sizeof(struct bw_domain_cmd_reply),
	    CTL_DOMAIN_ROWS_MAX);
	ctl_rows_init(&req->dinfos, sizeof(struct bw_domain_info),
	    CTL_DOMAIN_ROWS_MAX);
	ctl_rows_init(&req->dhosts, sizeof(struct bw_domain_host),
	    CTL_DOMAIN_ROWS_MAX);
	ctl_rows_init(&req->reloads, sizeof(struct ctl_reload_row),
	    CTL_DAEMONS_MAX);
	ctl_rows_init(&req->rerrors, sizeof(struct ctl_reload_error),
	    BW_CONFIG_ERRORS_MAX);
	ctl_rows_init(&req->vrows, sizeof(struct bw_queue_verify_row),
	    CTL_VERIFY_ROWS_MAX);
	ctl_rows_init(&req->senders, sizeof(struct bw_hostcount_entry),
	    CTL_SENDERS_MAX);
	TAILQ_INSERT_TAIL(&env->reqs, req, entry);
	env->nreqs++;
	env->c_requests++;
	ctl_req_arm(req, (uint64_t)BW_LIMIT(env->d.cfg, LIM_CTL_TIMEOUT));
	return req;
}

struct ctl_req *
ctl_req_find(uint32_t id)
{
	struct ctl_req	*req;

	TAILQ_FOREACH(req, &ctl_env->reqs, entry)
		if (req->id == id)
			return req;
	return NULL;
}

void
ctl_req_arm(struct ctl_req *req, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(req->timer, &tv);
}

static void
ctl_req_free(struct ctl_req *req)
{
	TAILQ_REMOVE(&ctl_env->reqs, req, entry);
	ctl_env->nreqs--;
	event_free(req->timer);
	evbuffer_free(req->out);
	free(req->asked);
	ctl_rows_free(&req->status);
	ctl_rows_free(&req->queues);
	ctl_rows_free(&req->agents);
	ctl_rows_free(&req->rcpts);
	ctl_rows_free(&req->msgs);
	ctl_rows_free(&req->dqueues);
	ctl_rows_free(&req->dinfos);
	ctl_rows_free(&req->dhosts);
	ctl_rows_free(&req->reloads);
	ctl_rows_free(&req->rerrors);
	if (ctl_env->reload_req == req)
		ctl_env->reload_req = NULL;
	ctl_rows_free(&req->vrows);
	ctl_rows_free(&req->senders);
	ctl_qact_free(req);
	free(req);
}

/* Send buf as CTL_OUTPUT chunks then CTL_DONE; -1 if the peer failed. */
static int
ctl_send_output(struct bw_peer *client, uint32_t id, struct evbuffer *buf,
    int exitcode)
{
	struct bw_ctl_done	 done;
	char			 chunk[BW_CTL_TEXT_MAX];
	int			 n;

	while ((n = evbuffer_remove(buf, chunk, sizeof(chunk))) > 0)
		if (bw_peer_send(client, BW_IMSG_CTL_OUTPUT, id, -1, chunk,
		    (size_t)n) == -1)
			return -1;
	memset(&done, 0, sizeof(done));
	done.exitcode = exitcode;
	return bw_peer_send(client, BW_IMSG_CTL_DONE, id, -1, &done,
	    sizeof(done));
}

/* Send what the request produced and free it. */
void
ctl_req_finish(struct ctl_req *req, int exitcode)
{
	if (exitcode != 0)
		ctl_env->c_requests_failed++;
	if (req->client != NULL) {
		log_debug("ctl request id=%u done exit=%d bytes=%zu ms=%llu",
		    req->id, exitcode, evbuffer_get_length(req->out),
		    (unsigned long long)(bw_now_ms() - req->started_ms));
		if (ctl_send_output(req->client, req->id, req->out,
		    exitcode) == -1)
			bw_peer_drop(req->client, "cannot queue ctl output");
	}
	if (req->done_cb != NULL)
		req->done_cb(req->out, exitcode, req->done_arg);
	ctl_req_free(req);
}

/* Replace any output with one error line and finish. */
void
ctl_req_fail(struct ctl_req *req, int exitcode, const char *fmt, ...)
{
	va_list	 ap;

	evbuffer_drain(req->out, evbuffer_get_length(req->out));
	va_start(ap, fmt);
	evbuffer_add_vprintf(req->out, fmt, ap);
	va_end(ap);
	evbuffer_add(req->out, "\n", 1);
	ctl_req_finish(req, exitcode);
}

/* An error before any request exists (bad command, busy). */
void
ctl_reply_error(struct bw_peer *client, int exitcode, const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;

	ctl_env->c_requests_failed++;
	if ((buf = evbuffer_new()) == NULL) {
		bw_peer_drop(client, "out of memory");
		return;
	}
	va_start(ap, fmt);
	evbuffer_add_vprintf(buf, fmt, ap);
	va_end(ap);
	evbuffer_add(buf, "\n", 1);
	if (ctl_send_output(client, 0, buf, exitcode) == -1)
		bw_peer_drop(client, "cannot queue ctl output");
	evbuffer_free(buf);
}

/* The bwctl peer went away (NULL: controld stops, drop every request). */
void
ctl_req_client_gone(struct bw_peer *client)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (client == NULL || req->client == client) {
			log_debug("ctl request id=%u abandoned: client gone",
			    req->id);
			req->client = NULL;
			ctl_req_free(req);
		}
	}
}

/* queued disconnected: every request waiting on it fails now. */
void
ctl_req_queued_gone(void)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind != CTL_REQ_STATUS &&
		    req->kind != CTL_REQ_DNS_SHOW &&
		    req->kind != CTL_REQ_DNS_FLUSH &&
		    req->kind != CTL_REQ_RELOAD &&
		    req->kind != CTL_REQ_TRACE)
			ctl_req_fail(req, 1, "queued went away while "
			    "answering; try again");
	}
}
