/*
 * smtpd's client of the per-host counters queued owns (smtpd_hostcount.h
 * says what it promises).
 *
 * A take is a request with a reqid, in one of three states:
 *
 *   waiting   sent to queued: in the reqid table, on the wait list (in
 *             deadline order: every deadline is SMTPD_HOSTCOUNT_WAIT_MS
 *             after its send, so the list is a FIFO and one timer for its
 *             head does) and on its session's list;
 *   ready     answered here (queued not linked): on the ready list and its
 *             session's list, delivered from a zero-delay event, so that
 *             no callback runs inside smtpd_hostcount_take();
 *   orphan    a connection take still at queued whose session went away
 *             (or stopped waiting): in the reqid table only.  If queued
 *             grants it, the connection is released at once, so a count
 *             never outlives its session.
 *
 * The counts stay exact across the failures the suite tests: an smtpd
 * that dies loses its link, and queued releases every connection taken on
 * it; a queued that restarts starts empty, and when the link is back each
 * live session that holds a connection takes it again (limit 0, no
 * reply).  Only a queued that is linked but does not answer within
 * SMTPD_HOSTCOUNT_WAIT_MS leaves its session uncounted (fail open).
 *
 * Trust: queued's replies passed the catalog check; a reply is matched by
 * reqid and kind against what we asked before it touches a session.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "smtpd.h"

#define SMTPD_HC_REQS_MAX	((size_t)1 << 20)	/* takes at queued at once */

enum smtpd_hc_state {
	SMTPD_HC_WAITING,
	SMTPD_HC_READY,
	SMTPD_HC_ORPHAN,
};

struct smtpd_hc_req {
	struct bw_hlink			 hlink;		/* by reqid */
	uint64_t			 reqid;
	TAILQ_ENTRY(smtpd_hc_req)	 sentry;	/* its session's */
	TAILQ_ENTRY(smtpd_hc_req)	 lentry;	/* wait or ready list */
	enum smtpd_hc_state		 state;
	struct smtpd_session		*s;		/* NULL: orphan */
	smtpd_hostcount_cb		 cb;
	int				 kind;
	struct bw_hc_addr		 addr;
	uint64_t			 deadline;	/* bw_now_ms() */
	struct smtpd_hostcount_answer	 ans;		/* ready */
};
TAILQ_HEAD(smtpd_hc_list, smtpd_hc_req);

static const struct bw_htab_type smtpd_hc_type = {
	.name = "hostcount requests",
	.link_off = offsetof(struct smtpd_hc_req, hlink),
	.key_off = offsetof(struct smtpd_hc_req, reqid),
	.key_len = sizeof(uint64_t),
};

static struct smtpd_env		*hc_env;
static struct bw_htab		 hc_reqs;	/* waiting and orphans */
static struct smtpd_hc_list	 hc_wait = TAILQ_HEAD_INITIALIZER(hc_wait);
static struct smtpd_hc_list	 hc_ready = TAILQ_HEAD_INITIALIZER(hc_ready);
static struct event		*hc_ev_timer;
static struct event		*hc_ev_ready;
static uint64_t			 hc_next_reqid;
static size_t			 hc_orphans;
static size_t			 hc_nready;	/* on hc_ready */
/* counters */
static uint64_t			 hc_c_takes;		/* sent to queued */
static uint64_t			 hc_c_unavailable;	/* answered here */
static uint64_t			 hc_c_timeouts;		/* queued too slow */
static uint64_t			 hc_c_retakes;		/* after a reconnect */
static uint64_t			 hc_c_late;		/* granted to a session
							   gone: released */

static void	 smtpd_hc_timer_cb(evutil_socket_t, short, void *);
static void	 smtpd_hc_ready_cb(evutil_socket_t, short, void *);

void
smtpd_hostcount_init(struct smtpd_env *env)
{
	hc_env = env;
	bw_htab_init(&hc_reqs, &smtpd_hc_type, SMTPD_HC_REQS_MAX);
	if ((hc_ev_timer = evtimer_new(env->d.base, smtpd_hc_timer_cb,
	    NULL)) == NULL || (hc_ev_ready = event_new(env->d.base, -1, 0,
	    smtpd_hc_ready_cb, NULL)) == NULL)
		fatalx("hostcount: cannot create events");
}

void
smtpd_hostcount_session_init(struct smtpd_session *s)
{
	TAILQ_INIT(&s->hostcount.reqs);
	s->hostcount_conn = 0;
}

void
smtpd_hostcount_set_labels(struct smtpd_session *s, const char *group,
    const char *policy, const char *score)
{
	strlcpy(s->hostcount.group, group ? group : "",
	    sizeof(s->hostcount.group));
	strlcpy(s->hostcount.policy, policy ? policy : "",
	    sizeof(s->hostcount.policy));
	strlcpy(s->hostcount.score, score ? score : "",
	    sizeof(s->hostcount.score));
}

static void
smtpd_hc_addr_wire(const struct bw_hc_addr *a, uint32_t *family,
    uint8_t addr[16])
{
	*family = a->family;
	memcpy(addr, a->addr, 16);
}

/* HOSTCOUNT_RELEASE of one connection at a, on the current link. */
static void
smtpd_hc_send_release(const struct bw_hc_addr *a)
{
	struct bw_hostcount_release	 rl;

	if (!smtpd_queue_up(hc_env))
		return;		/* queued released it with the link */
	memset(&rl, 0, sizeof(rl));
	smtpd_hc_addr_wire(a, &rl.family, rl.addr);
	rl.kind = BW_HC_CONN;
	if (bw_peer_send(hc_env->queued, BW_IMSG_HOSTCOUNT_RELEASE, 0, -1,
	    &rl, sizeof(rl)) == -1)
		log_warn("hostcount: cannot send HOSTCOUNT_RELEASE");
}

static int
smtpd_hc_send_take(const struct smtpd_session *s, uint64_t reqid,
    const struct bw_hc_addr *a, int kind, uint32_t n, long long limit,
    long long window_ms, uint32_t flags)
{
	struct bw_hostcount_take	 tk;

	memset(&tk, 0, sizeof(tk));
	tk.reqid = reqid;
	smtpd_hc_addr_wire(a, &tk.family, tk.addr);
	tk.kind = (uint32_t)kind;
	tk.n = n;
	tk.flags = flags;
	tk.limit = limit;
	tk.window_ms = window_ms;
	strlcpy(tk.group, s->hostcount.group, sizeof(tk.group));
	strlcpy(tk.policy, s->hostcount.policy, sizeof(tk.policy));
	strlcpy(tk.score, s->hostcount.score, sizeof(tk.score));
	return bw_peer_send(hc_env->queued, BW_IMSG_HOSTCOUNT_TAKE, 0, -1,
	    &tk, sizeof(tk));
}

static void
smtpd_hc_timer_arm(void)
{
	struct smtpd_hc_req	*r = TAILQ_FIRST(&hc_wait);
	uint64_t		 now = bw_now_ms();
	struct timeval		 tv;

	if (r == NULL) {
		evtimer_del(hc_ev_timer);
		return;
	}
	if (r->deadline > now) {
		tv.tv_sec = (time_t)((r->deadline - now) / 1000);
		tv.tv_usec = (suseconds_t)((r->deadline - now) % 1000) * 1000;
	} else
		tv.tv_sec = tv.tv_usec = 0;
	evtimer_add(hc_ev_timer, &tv);
}

/*
 * Answer r here, on the next loop turn: granted, fail open.  A connection
 * answered so while queued is not linked is the session's to give back,
 * and is taken again when the link comes back.
 */
static void
smtpd_hc_answer_here(struct smtpd_hc_req *r)
{
	hc_c_unavailable++;
	r->state = SMTPD_HC_READY;
	memset(&r->ans, 0, sizeof(r->ans));
	r->ans.kind = r->kind;
	r->ans.granted = 1;
	r->ans.unavailable = 1;
	if (r->kind == BW_HC_CONN && !smtpd_queue_up(hc_env))
		r->s->hostcount_conn = 1;
	TAILQ_INSERT_TAIL(&hc_ready, r, lentry);
	hc_nready++;
	event_active(hc_ev_ready, EV_TIMEOUT, 0);
}

int
smtpd_hostcount_take(struct smtpd_session *s, int kind, uint32_t n,
    long long limit, long long window_ms, smtpd_hostcount_cb cb)
{
	struct smtpd_hc_req	*r;
	int			 addr_ok;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("session=%llu hostcount", (unsigned long long)s->id);
		return -1;
	}
	r->s = s;
	r->cb = cb;
	r->kind = kind;
	addr_ok = bw_hc_addr_from_sockaddr(&r->addr,
	    (const struct sockaddr *)&s->ss) == 0;
	TAILQ_INSERT_TAIL(&s->hostcount.reqs, r, sentry);
	if (addr_ok && smtpd_queue_up(hc_env)) {
		do {
			r->reqid = ++hc_next_reqid;
		} while (r->reqid == 0);
		if (bw_htab_insert(&hc_reqs, r) == 0) {
			/* may drop the link (over its queue), answering
			 * every waiting take: r is not waiting yet */
			if (smtpd_hc_send_take(s, r->reqid, &r->addr, kind, n,
			    limit, window_ms, 0) == 0) {
				hc_c_takes++;
				r->state = SMTPD_HC_WAITING;
				r->deadline = bw_now_ms() +
				    SMTPD_HOSTCOUNT_WAIT_MS;
				TAILQ_INSERT_TAIL(&hc_wait, r, lentry);
				if (TAILQ_FIRST(&hc_wait) == r)
					smtpd_hc_timer_arm();
				return 0;
			}
			bw_htab_remove(&hc_reqs, r);
		}
	}
	smtpd_hc_answer_here(r);
	return 0;
}

/* Unlink r from its session and its list; the reqid table is the
 * caller's business. */
static void
smtpd_hc_unlink(struct smtpd_hc_req *r)
{
	if (r->s != NULL)
		TAILQ_REMOVE(&r->s->hostcount.reqs, r, sentry);
	if (r->state == SMTPD_HC_WAITING)
		TAILQ_REMOVE(&hc_wait, r, lentry);
	else if (r->state == SMTPD_HC_READY) {
		TAILQ_REMOVE(&hc_ready, r, lentry);
		hc_nready--;
	}
	r->state = SMTPD_HC_ORPHAN;	/* on no list */
}

/* r stops waiting for its session; a connection take stays an orphan. */
static void
smtpd_hc_orphan(struct smtpd_hc_req *r)
{
	smtpd_hc_unlink(r);
	r->s = NULL;
	r->cb = NULL;
	if (r->kind != BW_HC_CONN) {
		/* a late answer changes nothing: forget it */
		bw_htab_remove(&hc_reqs, r);
		free(r);
		return;
	}
	hc_orphans++;
}

/* Deliver the answer: r is freed first, the callback may do anything. */
static void
smtpd_hc_deliver(struct smtpd_hc_req *r,
    const struct smtpd_hostcount_answer *ans)
{
	struct smtpd_session		*s = r->s;
	smtpd_hostcount_cb		 cb = r->cb;
	struct smtpd_hostcount_answer	 a = *ans;

	smtpd_hc_unlink(r);
	free(r);
	if (cb != NULL)
		cb(s, &a);
}

void
smtpd_hostcount_release(struct smtpd_session *s)
{
	struct smtpd_hc_req	*r;
	struct bw_hc_addr	 a;

	while ((r = TAILQ_FIRST(&s->hostcount.reqs)) != NULL) {
		if (r->state == SMTPD_HC_WAITING)
			smtpd_hc_orphan(r);
		else {
			smtpd_hc_unlink(r);
			free(r);
		}
	}
	if (!s->hostcount_conn)
		return;
	s->hostcount_conn = 0;
	if (bw_hc_addr_from_sockaddr(&a, (const struct sockaddr *)&s->ss) == 0)
		smtpd_hc_send_release(&a);
}

static void
smtpd_hc_ready_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_hc_req	*r;
	size_t			 n = hc_nready;

	/* as many as were ready: answers made by the callbacks wait for
	 * the next turn (event_active again) */
	while (n-- > 0 && (r = TAILQ_FIRST(&hc_ready)) != NULL)
		smtpd_hc_deliver(r, &r->ans);
}

/* Waiting takes past their deadline: queued is stuck; fail open. */
static void
smtpd_hc_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_hostcount_answer	 a;
	struct smtpd_session		*s;
	smtpd_hostcount_cb		 cb;
	struct smtpd_hc_req		*r;
	uint64_t			 now = bw_now_ms();

	while ((r = TAILQ_FIRST(&hc_wait)) != NULL && r->deadline <= now) {
		hc_c_timeouts++;
		hc_c_unavailable++;
		s = r->s;
		cb = r->cb;
		memset(&a, 0, sizeof(a));
		a.kind = r->kind;
		a.granted = 1;
		a.unavailable = 1;
		log_warnx("session=%llu addr=%s: queued did not answer the "
		    "%s count in %d ms; admitted uncounted",
		    (unsigned long long)s->id, s->addr,
		    bw_hc_kind_name(r->kind), SMTPD_HOSTCOUNT_WAIT_MS);
		/* XXX: the session stays uncounted even if queued answers
		 * later (a late grant is released at once) */
		smtpd_hc_orphan(r);
		if (cb != NULL)
			cb(s, &a);
	}
	smtpd_hc_timer_arm();
}

void
smtpd_hostcount_reply(struct smtpd_env *env, struct bw_imsg *imsg)
{
	struct bw_hostcount_reply	 rp;
	struct smtpd_hostcount_answer	 a;
	struct smtpd_hc_req		*r;
	struct bw_hkey			 k;

	memcpy(&rp, imsg->data, sizeof(rp));
	bw_hkey_init(&k);
	bw_hkey_bytes(&k, &rp.reqid, sizeof(rp.reqid));
	if ((r = bw_htab_find(&hc_reqs, &k)) == NULL) {
		log_debug("hostcount: reply for no request (reqid %llu)",
		    (unsigned long long)rp.reqid);
		return;
	}
	if (rp.kind != (uint32_t)r->kind || rp.granted > 1) {
		log_warnx("hostcount: reply does not match the request "
		    "(kind %u for %s); dropping the link", rp.kind,
		    bw_hc_kind_name(r->kind));
		/* its takes are answered here as the link goes down */
		bw_peer_drop(env->queued, "bad HOSTCOUNT_REPLY");
		return;
	}
	bw_htab_remove(&hc_reqs, r);
	if (r->state == SMTPD_HC_ORPHAN) {
		hc_orphans--;
		if (rp.granted) {
			hc_c_late++;
			smtpd_hc_send_release(&r->addr);
		}
		free(r);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.kind = r->kind;
	a.granted = rp.granted != 0;
	a.count = rp.count;
	a.reopen_at = rp.reopen_at;
	if (r->kind == BW_HC_CONN && a.granted)
		r->s->hostcount_conn = 1;
	smtpd_hc_deliver(r, &a);
}

/*
 * The link to queued went down: queued forgets this link's connections,
 * so waiting takes are granted here and orphans forgotten.  It came up:
 * every live session that holds a connection takes it again.
 */
void
smtpd_hostcount_link(struct smtpd_env *env, int up)
{
	struct smtpd_session	*s;
	struct smtpd_hc_req	*r;
	struct bw_htab_iter	 it;
	struct bw_hc_addr	 a;

	if (hc_ev_ready == NULL)
		return;		/* not initialised (shutdown) */
	if (up) {
		TAILQ_FOREACH(s, &env->sessions, entry) {
			if (!s->hostcount_conn || bw_hc_addr_from_sockaddr(&a,
			    (const struct sockaddr *)&s->ss) == -1)
				continue;
			if (smtpd_hc_send_take(s, 0, &a, BW_HC_CONN, 1, 0, 0,
			    BW_HOSTCOUNT_F_NOREPLY) == -1)
				break;	/* the link went again */
			hc_c_retakes++;
		}
		return;
	}
	while ((r = TAILQ_FIRST(&hc_wait)) != NULL) {
		TAILQ_REMOVE(&hc_wait, r, lentry);
		bw_htab_remove(&hc_reqs, r);
		smtpd_hc_answer_here(r);
	}
	/* what is left in the table are orphans */
	for (r = bw_htab_first(&hc_reqs, &it); r != NULL;
	    r = bw_htab_next(&it)) {
		bw_htab_remove(&hc_reqs, r);
		free(r);
	}
	hc_orphans = 0;
	smtpd_hc_timer_arm();
}

/* After every session is freed: orphans and events. */
void
smtpd_hostcount_shutdown(void)
{
	struct smtpd_hc_req	*r;
	struct bw_htab_iter	 it;

	while ((r = TAILQ_FIRST(&hc_ready)) != NULL) {
		smtpd_hc_unlink(r);
		free(r);
	}
	for (r = bw_htab_first(&hc_reqs, &it); r != NULL;
	    r = bw_htab_next(&it)) {
		if (r->state == SMTPD_HC_WAITING)
			smtpd_hc_unlink(r);
		bw_htab_remove(&hc_reqs, r);
		free(r);
	}
	bw_htab_free(&hc_reqs);
	if (hc_ev_timer != NULL)
		event_free(hc_ev_timer);
	if (hc_ev_ready != NULL)
		event_free(hc_ev_ready);
	hc_ev_timer = hc_ev_ready = NULL;
}

void
smtpd_hostcount_status(struct bw_status *st)
{
	bw_status_add(st, "hostcount_takes", hc_c_takes);
	bw_status_add(st, "hostcount_unavailable", hc_c_unavailable);
	bw_status_add(st, "hostcount_timeouts", hc_c_timeouts);
	bw_status_add(st, "hostcount_retakes", hc_c_retakes);
	bw_status_add(st, "hostcount_late_releases", hc_c_late);
	bw_status_add(st, "hostcount_pending", (uint64_t)bw_htab_count(
	    &hc_reqs) - hc_orphans);
}
