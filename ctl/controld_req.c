/*
 * Request lifecycle: a command becomes a struct ctl_req with an id, a
 * deadline and the command's private state; its answer is rendered into
 * an evbuffer (ctl_req_done: the command's render handler writes a
 * ctl_out document) and sent, when the request finishes, to its target
 * (controld_target.c).  A request whose target went away is freed without
 * sending anything.
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
#include "controld_hist.h"
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

	if (req->ops->timeout != NULL) {
		req->ops->timeout(req);
		return;
	}
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: no answer within the deadline",
	    req->id);
	ctl_req_fail(req, 1, "no answer in time");
}

/* A request for def; it takes priv (freed with it, or here on failure). */
struct ctl_req *
ctl_req_new(const struct ctl_target *target, const struct ctl_principal *who,
    const struct ctl_cmd_def *def, const struct ctl_cmd_ops *ops, void *priv,
    enum ctl_fmt fmt)
{
	struct controld	*env = ctl_env;
	struct ctl_target t = *target;
	struct ctl_req	*req;

	if (env->nreqs >= CTL_REQUESTS_MAX) {
		if (ops->free != NULL)
			ops->free(priv);
		free(priv);
		ctl_reply_error(&t, 1, "controld is busy (%d requests in "
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
		if (ops->free != NULL)
			ops->free(priv);
		free(priv);
		ctl_reply_error(&t, 1, "controld: out of memory");
		return NULL;
	}
	/* Ids are never 0 and wrap around; a live one is skipped. */
	do {
		req->id = env->next_reqid++;
	} while (req->id == 0 || req->id == CTL_ALERT_POLL_ID ||
	    MON_SAMPLE_ID(req->id) || ctl_req_find(req->id) != NULL);
	req->target = t;
	req->who = *who;
	req->def = def;
	req->ops = ops;
	req->priv = priv;
	req->fmt = fmt;
	req->started_ms = bw_now_ms();
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
	if (ctl_env->reload_req == req)
		ctl_env->reload_req = NULL;
	event_free(req->timer);
	evbuffer_free(req->out);
	if (req->ops->free != NULL)
		req->ops->free(req->priv);
	free(req->priv);
	free(req);
}

/* Send what the request produced and free it. */
void
ctl_req_finish(struct ctl_req *req, int exitcode)
{
	if (exitcode != 0)
		ctl_env->c_requests_failed++;
	if (!ctl_target_gone(&req->target)) {
		log_debug("ctl request id=%u done exit=%d bytes=%zu ms=%llu",
		    req->id, exitcode, evbuffer_get_length(req->out),
		    (unsigned long long)(bw_now_ms() - req->started_ms));
		(void)ctl_target_send(&req->target, req->id, req->out,
		    exitcode);
	}
	ctl_req_free(req);
}

/* Render the answer in the request's format and finish. */
void
ctl_req_done(struct ctl_req *req)
{
	struct ctl_out	*o;
	int		 exitcode;

	if ((o = ctl_out_new(req->fmt, req->out)) == NULL) {
		ctl_req_fail(req, 1, "controld: cannot write %s output",
		    ctl_fmt_name(req->fmt));
		return;
	}
	ctl_out_html_view(o, &req->target.view);
	exitcode = req->ops->render(req, o);
	if (ctl_out_end(o) == -1) {
		log_warnx("ctl request id=%u %s: output error: %s", req->id,
		    req->def->usage, ctl_out_error(o));
		ctl_req_fail(req, 1, "controld: output error: %s",
		    ctl_out_error(o));
		ctl_out_free(o);
		return;
	}
	ctl_out_free(o);
	ctl_req_finish(req, exitcode);
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
ctl_reply_error(struct ctl_target *t, int exitcode, const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;

	ctl_env->c_requests_failed++;
	if ((buf = evbuffer_new()) == NULL) {
		if (t->kind == CTL_TARGET_BWCTL && t->peer != NULL)
			bw_peer_drop(t->peer, "out of memory");
		return;
	}
	va_start(ap, fmt);
	evbuffer_add_vprintf(buf, fmt, ap);
	va_end(ap);
	evbuffer_add(buf, "\n", 1);
	(void)ctl_target_send(t, 0, buf, exitcode);
	evbuffer_free(buf);
}

/* The bwctl peer went away (NULL: controld stops, drop every request). */
void
ctl_req_target_gone(struct bw_peer *client)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (client == NULL || (req->target.kind == CTL_TARGET_BWCTL &&
		    req->target.peer == client)) {
			log_debug("ctl request id=%u abandoned: client gone",
			    req->id);
			req->target.peer = NULL;
			req->target.cb = NULL;
			ctl_req_free(req);
		}
	}
}

/* A daemon went away: every request that cares is told. */
void
ctl_req_daemon_gone(int role)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->ops->daemon_gone != NULL)
			req->ops->daemon_gone(req, role);
	}
}

/* daemon_gone of commands answered by queued: they fail now. */
void
ctl_req_queued_gone(struct ctl_req *req, int role)
{
	if (role == BW_ROLE_QUEUED)
		ctl_req_fail(req, 1, "queued went away while answering; try "
		    "again");
}

/* The connected daemon of role, or fail the request; NULL then. */
struct bw_peer *
ctl_req_peer(struct ctl_req *req, int role)
{
	struct ctl_daemon	*d;

	if ((d = ctl_daemon_find_role(role)) == NULL) {
		ctl_req_fail(req, 1, "%s is not running (not connected to "
		    "controld)", bw_role_name(role));
		return NULL;
	}
	return d->peer;
}

/* Send one frame with the request's id to the daemon of role, or fail. */
void
ctl_req_send(struct ctl_req *req, int role, uint32_t type, const void *data,
    size_t len)
{
	struct bw_peer	*peer;

	if ((peer = ctl_req_peer(req, role)) == NULL)
		return;
	if (bw_peer_send(peer, type, req->id, -1, data, len) == -1)
		ctl_req_fail(req, 1, "cannot send the request to %s",
		    bw_role_name(role));
}

/* Copy a fixed-size payload into an aligned struct (zero-filled). */
void
ctl_payload(void *dst, size_t dstsz, const struct bw_imsg *imsg)
{
	memset(dst, 0, dstsz);
	memcpy(dst, imsg->data, imsg->datalen < dstsz ? imsg->datalen : dstsz);
}
