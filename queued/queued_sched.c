/*
 * Scheduling: one in-memory queue per (gateway, domain) with its state
 * (active, down, suspended), the messages waiting in it, and its timers.
 *
 * - ready: messages waiting for a job, in arrival order.  For a queue that
 *   is down or suspended this is the parked list: nothing runs for it.
 * - heap: messages deferred after a temporary failure on an active queue,
 *   ordered by their next attempt; ONE timer per queue (ev_defer) fires
 *   for the earliest.
 * - ev_retry: the one domain-level retry of a down queue.  At it, parked
 *   messages past max_age (or all, past max_retries) are bounced in
 *   bounded steps, then one job goes out flagged BW_DLVF_PROBE.
 *
 * queues.db mirrors the state (qqueue_state_put) in the transaction that
 * changes it; at start the store is read once (queues.db, then domidx.db
 * with each message's envelope for its arrival time).
 *
 * Trust: everything here comes from our own store and from results that
 * queued_result.c has checked.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "queued.h"
#include "queued_commit.h"

/* The queues by (gateway, domain); a peer picks domains. */
static void
qsched_queue_key(const void *entry, struct bw_hkey *k)
{
	const struct qsq	*q = entry;

	bw_hkey_str(k, q->gateway);
	bw_hkey_str(k, q->domain);
}

static const struct bw_htab_type qs_htype = {
	.name = "queues",
	.link_off = offsetof(struct qsq, hlink),
	.key = qsched_queue_key,
};
static struct bw_htab		 qs_tab =
    BW_HTAB_INITIALIZER(&qs_htype, BW_HTAB_MAX);
static TAILQ_HEAD(, qsq)	 qs_all = TAILQ_HEAD_INITIALIZER(qs_all);
static size_t			 qs_count;	/* queues in qs_all */
static struct event_base	*qs_base;
static struct event		*qs_ev_flush;
static int			 qs_flush_token;	/* its address: a cookie */
static int			 qs_flush_pending;

/* The worker choice (not the table): gateway with its NUL, then domain,
 * so the same pair always goes to the same worker. */
static uint32_t
qsched_hash(const char *gw, const char *domain)
{
	return bw_fnv1a(bw_fnv1a(BW_FNV1A_INIT, gw, strlen(gw) + 1), domain,
	    strlen(domain));
}

/* The deliverd worker that owns this queue. */
uint32_t
qsched_queue_worker(const struct qsq *q)
{
	uint32_t	 n = qdispatch_nworkers();

	return n ? qsched_hash(q->gateway, q->domain) % n : 0;
}

struct qsq *
qsched_queue_find(const char *gw, const char *domain)
{
	struct bw_hkey	 k;

	bw_hkey_init(&k);
	bw_hkey_str(&k, gw);
	bw_hkey_str(&k, domain);
	return bw_htab_find(&qs_tab, &k);
}

static void	qsched_retry_cb(evutil_socket_t, short, void *);
static void	qsched_defer_cb(evutil_socket_t, short, void *);

/* Find or create; NULL: no memory (logged). */
/*
 * "bwctl suspend D" without a gateway holds D on every gateway, also on
 * queues created later: it is kept as the suspended queue (every gateway,
 * D), which never holds mail of its own and is persisted like any other.
 */
int
qsched_suspended_everywhere(const struct qsq *q)
{
	const struct qsq	*all;

	if (strcmp(q->gateway, QSCHED_ALL_GATEWAYS) == 0)
		return 0;
	all = qsched_queue_find(QSCHED_ALL_GATEWAYS, q->domain);
	return all != NULL && all->state == BW_QUEUE_SUSPENDED;
}

struct qsq *
qsched_queue_get(const char *gw, const char *domain)
{
	struct qsq	*q;

	if ((q = qsched_queue_find(gw, domain)) != NULL)
		return q;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warn("sched: no memory for queue %s/%s", gw, domain);
		return NULL;
	}
	strlcpy(q->gateway, gw, sizeof(q->gateway));
	strlcpy(q->domain, domain, sizeof(q->domain));
	q->lim = config_limits_for_destination(q_env->d.cfg, gw, domain);
	q->state = BW_QUEUE_ACTIVE;
	TAILQ_INIT(&q->ready);
	if ((q->ev_retry = evtimer_new(qs_base, qsched_retry_cb, q)) == NULL ||
	    (q->ev_defer = evtimer_new(qs_base, qsched_defer_cb, q)) == NULL) {
		log_warnx("sched: no timer for queue %s/%s", gw, domain);
		if (q->ev_retry)
			event_free(q->ev_retry);
		free(q);
		return NULL;
	}
	if (qsched_suspended_everywhere(q))
		q->state = BW_QUEUE_SUSPENDED;
	if (bw_htab_insert(&qs_tab, q) == -1) {
		log_warn("sched: cannot add queue %s/%s", gw, domain);
		event_free(q->ev_retry);
		event_free(q->ev_defer);
		free(q);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&qs_all, q, allentry);
	qs_count++;
	return q;
}

/*
 * 1 when nothing refers to q but the hash and the list: active, no
 * message, no job, no timer, on no run or wait list, not the "suspended
 * everywhere" record.  Its counters are in memory only (queues.db drops
 * the record of an empty active queue), as after a restart.
 */
int
qsched_queue_idle(const struct qsq *q)
{
	return q->state == BW_QUEUE_ACTIVE && q->nitems == 0 &&
	    q->inflight == 0 && !q->probing && !q->expiring && q->onrun == 0 &&
	    strcmp(q->gateway, QSCHED_ALL_GATEWAYS) != 0 &&
	    !evtimer_pending(q->ev_retry, NULL) &&
	    !evtimer_pending(q->ev_defer, NULL);
}

/* Take an idle queue (qsched_queue_idle) out and free it. */
void
qsched_queue_free(struct qsq *q)
{
	bw_htab_remove(&qs_tab, q);
	TAILQ_REMOVE(&qs_all, q, allentry);
	qs_count--;
	free(q->heap);
	event_free(q->ev_retry);
	event_free(q->ev_defer);
	free(q);
}

size_t
qsched_count(void)
{
	return qs_count;
}

struct qsq *
qsched_first(void)
{
	return TAILQ_FIRST(&qs_all);
}

struct qsq *
qsched_next(struct qsq *q)
{
	return TAILQ_NEXT(q, allentry);
}

const struct bw_profile_conf *
qsched_profile(const struct qsq *q)
{
	return config_profile_for(q_env->d.cfg, q->domain);
}

/* ---- the deferred heap (min by next_try) ---- */

static void
qheap_swap(struct qsq *q, size_t a, size_t b)
{
	struct qsitem	*t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heapidx = a;
	q->heap[b]->heapidx = b;
}

static void
qheap_up(struct qsq *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->next_try > q->heap[i]->next_try) {
		qheap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
qheap_down(struct qsq *q, size_t i)
{
	size_t	 l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < q->nheap && q->heap[l]->next_try < q->heap[m]->next_try)
			m = l;
		if (r < q->nheap && q->heap[r]->next_try < q->heap[m]->next_try)
			m = r;
		if (m == i)
			return;
		qheap_swap(q, i, m);
		i = m;
	}
}

static void
qheap_remove(struct qsq *q, size_t i)
{
	q->nheap--;
	if (i != q->nheap) {
		q->heap[i] = q->heap[q->nheap];
		q->heap[i]->heapidx = i;
		qheap_down(q, i);
		qheap_up(q, i);
	}
}

static void
qsched_defer_arm(struct qsq *q)
{
	struct timeval	 tv;
	int64_t		 now = bw_time(), d;

	if (q->nheap == 0) {
		evtimer_del(q->ev_defer);
		return;
	}
	d = q->heap[0]->next_try - now;
	tv.tv_sec = d > 0 ? (time_t)d : 0;
	tv.tv_usec = 0;
	evtimer_add(q->ev_defer, &tv);
}

/* Deferred messages whose time came go back to the ready list. */
static void
qsched_defer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qsq	*q = arg;
	struct qsitem	*it;
	int64_t		 now = bw_time();

	while (q->nheap > 0 && q->heap[0]->next_try <= now) {
		it = q->heap[0];
		qheap_remove(q, 0);
		it->where = QSI_READY;
		TAILQ_INSERT_TAIL(&q->ready, it, entry);
		q->nready++;
	}
	qsched_defer_arm(q);
	qsched_queue_kick(q);
}

/* ---- items ---- */

void
qsched_item_ready(struct qsitem *it, int front)
{
	struct qsq	*q = it->q;

	it->where = QSI_READY;
	if (front)
		TAILQ_INSERT_HEAD(&q->ready, it, entry);
	else
		TAILQ_INSERT_TAIL(&q->ready, it, entry);
	q->nready++;
}

void
qsched_item_defer(struct qsitem *it, int64_t when)
{
	struct qsq	*q = it->q;
	struct qsitem	**nh;
	size_t		 ncap;

	if (q->nheap == q->heapcap) {
		ncap = q->heapcap ? q->heapcap * 2 : 16;
		if ((nh = reallocarray(q->heap, ncap, sizeof(*nh))) == NULL) {
			/* XXX: no memory: retry it at once instead */
			log_warn("%s sched: cannot defer", it->qid);
			qsched_item_ready(it, 0);
			return;
		}
		q->heap = nh;
		q->heapcap = ncap;
	}
	it->where = QSI_DEFERRED;
	it->next_try = when;
	it->heapidx = q->nheap;
	q->heap[q->nheap++] = it;
	qheap_up(q, it->heapidx);
	if (it->heapidx == 0 && q->state == BW_QUEUE_ACTIVE)
		qsched_defer_arm(q);
}

/* Forget an item (its queue entry is gone from the store). */
void
qsched_item_free(struct qsitem *it)
{
	struct qsq	*q = it->q;

	if (it->where == QSI_READY) {
		TAILQ_REMOVE(&q->ready, it, entry);
		q->nready--;
	} else if (it->where == QSI_DEFERRED)
		qheap_remove(q, it->heapidx);
	q->nitems--;
	free(it);
}

static struct qsitem *
qsched_item_new(struct qsq *q, const char *qid, int64_t created)
{
	struct qsitem	*it;

	if ((it = calloc(1, sizeof(*it))) == NULL) {
		log_warn("%s sched: no memory for queue %s/%s", qid,
		    q->gateway, q->domain);
		return NULL;
	}
	it->q = q;
	strlcpy(it->qid, qid, sizeof(it->qid));
	it->created = created;
	q->nitems++;
	qsched_item_ready(it, 0);
	return it;
}

/*
 * A message was committed: one item per distinct (gateway, domain) of its
 * recipients.  Parked queues just grow; active ones are kicked.
 */
void
qsched_msg_added(const char *qid, int64_t created, const char *gw,
    char **rcpts, uint32_t nrcpt)
{
	char		 dom[BW_DOMAIN_MAX + 1];
	struct qsq	*q;
	uint32_t	 i, j;
	char		 prev[BW_DOMAIN_MAX + 1];

	for (i = 0; i < nrcpt; i++) {
		qqueue_rcpt_domain(dom, sizeof(dom), rcpts[i],
		    q_env->d.cfg->hostname);
		/* seen before in this message? (nrcpt is bounded) */
		for (j = 0; j < i; j++) {
			qqueue_rcpt_domain(prev, sizeof(prev), rcpts[j],
			    q_env->d.cfg->hostname);
			if (strcmp(prev, dom) == 0)
				break;
		}
		if (j < i)
			continue;
		if ((q = qsched_queue_get(gw, dom)) == NULL ||
		    qsched_item_new(q, qid, created) == NULL)
			continue;	/* XXX: picked up at the next start */
		if (q->state != BW_QUEUE_ACTIVE)
			log_debug("%s parked gateway=%s domain=%s state=%s",
			    qid, gw, dom, bw_queue_state_name((int)q->state));
		qsched_queue_kick(q);
	}
}

/* ---- states ---- */

void
qsched_queue_kick(struct qsq *q)
{
	if (q->state == BW_QUEUE_ACTIVE && q->nready > 0)
		qdispatch_run(q);
}

static void
qsched_retry_arm(struct qsq *q)
{
	struct timeval	 tv;
	int64_t		 d = q->next_retry - bw_time();

	tv.tv_sec = d > 0 ? (time_t)d : 0;
	tv.tv_usec = 0;
	evtimer_add(q->ev_retry, &tv);
}

/*
 * The queue is down (or stays down after a failed probe): one retry at
 * the next interval.  The caller persists the state.
 */
void
qsched_queue_down(struct qsq *q, const char *reason)
{
	const struct bw_profile_conf	*p = qsched_profile(q);
	char				 esc[BW_REPLY_TEXT_MAX * 4 + 1];
	int				 was = q->state;

	if (was != BW_QUEUE_DOWN)
		q_env->c_domains_down++;
	if (q->state != BW_QUEUE_DOWN || q->interval_ms <= 0) {
		q->interval_ms = p->retry_initial;
		q->retries = 0;
	} else
		q->interval_ms = q->interval_ms > p->retry_max / 2 ?
		    p->retry_max : q->interval_ms * 2;
	if (q->interval_ms > p->retry_max)
		q->interval_ms = p->retry_max;
	if (q->interval_ms < 1000)
		q->interval_ms = 1000;
	q->state = BW_QUEUE_DOWN;
	q->probing = 0;
	q->next_retry = bw_time() + (q->interval_ms + 999) / 1000;
	if (reason != NULL)
		strlcpy(q->last_error, reason, sizeof(q->last_error));
	evtimer_del(q->ev_defer);
	qsched_retry_arm(q);
	log_info("domain=%s gateway=%s %s: %s next_retry=%" PRId64
	    " interval=%llds retries=%u queued=%zu", q->domain, q->gateway,
	    was == BW_QUEUE_DOWN ? "still down" : "down",
	    log_escape(esc, sizeof(esc), q->last_error,
	    strlen(q->last_error)), q->next_retry,
	    (long long)(q->interval_ms / 1000), q->retries, q->nitems);
	if (was != BW_QUEUE_DOWN)
		qevent_queue_state(q);
}

/* The probe got through: drain.  The caller persists the state. */
void
qsched_queue_up(struct qsq *q)
{
	log_info("domain=%s gateway=%s up after retries=%u queued=%zu",
	    q->domain, q->gateway, q->retries, q->nitems);
	q->state = BW_QUEUE_ACTIVE;
	q->next_retry = 0;
	q->interval_ms = 0;
	q->retries = 0;
	q->probing = 0;
	evtimer_del(q->ev_retry);
	qevent_queue_state(q);
	qsched_defer_arm(q);
	qsched_queue_kick(q);
}

/* The domain retry: expire in bounded steps, then one probe. */
static void
qsched_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qsq			*q = arg;
	const struct bw_profile_conf	*p = qsched_profile(q);
	struct qsitem			*it;
	struct timeval			 tv = { 0, 0 };
	int64_t				 now = bw_time();
	int				 n, d;

	if (q->state != BW_QUEUE_DOWN)
		return;
	if (!q->expiring) {
		q->expiring = 1;
		q->retries++;
	}
	for (n = 0; n < QSCHED_EXPIRE_STEP &&
	    (it = TAILQ_FIRST(&q->ready)) != NULL; n++) {
		d = qretry_decide(q->retries, p->max_retries, it->created,
		    now, p->max_age);
		if (d == QRETRY_DEFER)
			break;
		qresult_item_bounce_all(it, d == QRETRY_BOUNCE_AGE ?
		    "message expired in the queue (domain down)" :
		    "too many retries (domain down)", "5.4.7");
		if (TAILQ_FIRST(&q->ready) == it)
			break;	/* the store refused: not in a loop */
	}
	if (n == QSCHED_EXPIRE_STEP) {
		evtimer_add(q->ev_retry, &tv);	/* more next turn */
		return;
	}
	q->expiring = 0;
	if (q->nitems == 0) {
		/* nothing left to probe with */
		q->state = BW_QUEUE_ACTIVE;
		q->next_retry = 0;
		q->interval_ms = 0;
		q->retries = 0;
		log_info("domain=%s gateway=%s up: queue empty", q->domain,
		    q->gateway);
		qsched_queue_persist(q);
		return;
	}
	if (q->probing)
		return;		/* the probe's result decides */
	if (q->nready == 0 && q->nheap > 0) {
		/* only deferred ones: the earliest becomes the probe */
		it = q->heap[0];
		qheap_remove(q, 0);
		qsched_item_ready(it, 1);
	}
	if (q->nready == 0) {
		/* every message is out in a job: wait one more interval */
		q->next_retry = now + (q->interval_ms + 999) / 1000;
		qsched_retry_arm(q);
		return;
	}
	qdispatch_probe(q);
}

/* bwctl retry D: a down queue probes now (or its probe out goes once
 * deliverd's pause ends), an active one retries all. */
void
qsched_queue_retry_now(struct qsq *q)
{
	struct qsitem	*it;

	qdispatch_retry(q);
	if (q->state == BW_QUEUE_DOWN) {
		q->next_retry = bw_time();
		qsched_retry_arm(q);
		return;
	}
	while (q->nheap > 0) {
		it = q->heap[0];
		qheap_remove(q, 0);
		qsched_item_ready(it, 0);
	}
	qsched_defer_arm(q);
	qsched_queue_kick(q);
}

void
qsched_queue_suspend(struct qsq *q)
{
	q->state = BW_QUEUE_SUSPENDED;
	q->next_retry = 0;
	q->probing = 0;
	evtimer_del(q->ev_retry);
	evtimer_del(q->ev_defer);
	log_info("domain=%s gateway=%s suspended queued=%zu", q->domain,
	    q->gateway, q->nitems);
}

void
qsched_queue_resume(struct qsq *q)
{
	q->state = BW_QUEUE_ACTIVE;
	q->next_retry = 0;
	q->interval_ms = 0;
	q->retries = 0;
	log_info("domain=%s gateway=%s resumed queued=%zu", q->domain,
	    q->gateway, q->nitems);
	qsched_defer_arm(q);
	qsched_queue_kick(q);
}

/* Write the queue's state in a transaction of its own; -1 on error. */
int
qsched_queue_persist(struct qsq *q)
{
	struct qstore	*st = &q_env->store;
	DB_TXN		*txn = NULL;
	int		 r;

	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0 ||
	    (r = qqueue_state_put(st, txn, q)) != 0) {
		if (txn != NULL)
			txn->abort(txn);
		goto fail;
	}
	if ((r = txn->commit(txn, DB_TXN_NOSYNC)) != 0)
		goto fail;
	qsched_flush_request();
	return 0;
fail:
	log_warnx("domain=%s gateway=%s cannot store the queue state: %s",
	    q->domain, q->gateway, db_strerror(r));
	return -1;
}

/* ---- durability of result transactions: a flush now and then ---- */

static void
qsched_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	qs_flush_pending = 0;
	if (q_env->commit == NULL ||
	    qcommit_submit(q_env->commit, &qs_flush_token) == -1)
		log_warnx("sched: cannot submit a log flush");
}

void
qsched_flush_request(void)
{
	struct timeval	 tv = { 0, QSCHED_FLUSH_MS * 1000 };

	if (qs_flush_pending || qs_ev_flush == NULL)
		return;
	qs_flush_pending = 1;
	evtimer_add(qs_ev_flush, &tv);
}

/* 1 when a commit-batcher cookie is ours (not a message). */
int
qsched_flush_cookie(void *cookie)
{
	return cookie == &qs_flush_token;
}

/* ---- start and stop ---- */

void
qsched_init(struct event_base *base)
{
	qs_base = base;
	if ((qs_ev_flush = evtimer_new(base, qsched_flush_cb, NULL)) == NULL)
		fatalx("sched: cannot create the flush timer");
}

/*
 * At start: the item's attempts and, when all its recipients in this
 * queue were deferred, their next attempt (the latest of them).
 */
static void
qsched_load_rcpts(struct qsitem *it, const struct qenv_rec *e)
{
	struct qsq		*q = it->q;
	struct qrcpt_rec	 rr;
	int64_t			 next = 0;
	uint32_t		 i, nq = 0, nd = 0;

	for (i = 0; i < e->nrcpt; i++) {
		if (qstore_rcpt_get(&q_env->store, it->qid, i, &rr) != 0)
			continue;
		rr.domain[sizeof(rr.domain) - 1] = '\0';
		rr.gateway[sizeof(rr.gateway) - 1] = '\0';
		if (strcmp(rr.domain, q->domain) != 0 ||
		    strcmp(rr.gateway, q->gateway) != 0)
			continue;
		if (rr.state == BW_RCPT_QUEUED)
			nq++;
		else if (rr.state == BW_RCPT_DEFERRED) {
			nd++;
			if (rr.next_try > next)
				next = rr.next_try;
		}
		if (rr.attempts > it->attempts)
			it->attempts = rr.attempts;
	}
	if (nq == 0 && nd > 0 && next > bw_time()) {
		TAILQ_REMOVE(&q->ready, it, entry);
		q->nready--;
		qsched_item_defer(it, next);
	}
}

/* queues.db into memory, then domidx.db: one read of the store. */
void
qsched_load(void)
{
	struct qstore		*st = &q_env->store;
	struct qqueue_rec	 rec;
	struct qenv_rec		 e;
	struct qsq		*q;
	struct qsitem		*it;
	char			 kbuf[QQUEUE_KEY_MAX + 1], gw[BW_NAME_MAX];
	char			 dom[BW_DOMAIN_MAX + 1], qid[BW_QID_LEN + 1];
	const char		*nul, *nul2;
	uint32_t		 n32;
	size_t			 nq = 0, ni = 0, gl, dl;
	DBC			*c = NULL;
	DBT			 key, data;
	int			 r;

	if ((r = st->queues->cursor(st->queues, NULL, &c, 0)) != 0)
		fatalx("sched: queues cursor: %s", db_strerror(r));
	qstore_dbt_user(&key, kbuf, sizeof(kbuf) - 1);
	qstore_dbt_user(&data, &rec, sizeof(rec));
	while (memset(&rec, 0, sizeof(rec)),
	    (r = c->get(c, &key, &data, DB_NEXT)) == 0) {
		if ((nul = memchr(kbuf, '\0', key.size)) == NULL)
			continue;
		gl = (size_t)(nul - kbuf);
		dl = key.size - gl - 1;
		if (gl >= sizeof(gw) || dl >= sizeof(dom))
			continue;
		memcpy(gw, kbuf, gl);
		gw[gl] = '\0';
		memcpy(dom, nul + 1, dl);
		dom[dl] = '\0';
		if ((q = qsched_queue_get(gw, dom)) == NULL)
			fatalx("sched: no memory loading the queues");
		q->state = rec.state < BW_QUEUE_STATE__COUNT ? rec.state :
		    BW_QUEUE_ACTIVE;
		q->next_retry = rec.next_retry;
		q->interval_ms = rec.interval_ms;
		q->retries = rec.retries;
		q->delivered = rec.delivered;
		q->hard_bounces = rec.hard_bounces;
		q->soft_bounces = rec.soft_bounces;
		rec.last_error[sizeof(rec.last_error) - 1] = '\0';
		strlcpy(q->last_error, rec.last_error, sizeof(q->last_error));
		nq++;
	}
	c->close(c);
	if (r != DB_NOTFOUND)
		fatalx("sched: reading queues: %s", db_strerror(r));

	if ((r = st->domidx->cursor(st->domidx, NULL, &c, 0)) != 0)
		fatalx("sched: domidx cursor: %s", db_strerror(r));
	data.data = &n32;
	data.ulen = sizeof(n32);
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0) {
		kbuf[key.size] = '\0';
		if ((nul = memchr(kbuf, '\0', key.size)) == NULL ||
		    (nul2 = memchr(nul + 1, '\0',
		    key.size - (size_t)(nul + 1 - kbuf))) == NULL ||
		    kbuf + key.size - (nul2 + 1) != BW_QID_LEN)
			continue;
		memcpy(qid, nul2 + 1, BW_QID_LEN);
		qid[BW_QID_LEN] = '\0';
		if (qstore_msg_get(st, qid, &e) != 0)
			continue;
		if ((q = qsched_queue_get(kbuf, nul + 1)) == NULL ||
		    (it = qsched_item_new(q, qid, e.created)) == NULL)
			fatalx("sched: no memory loading the queues");
		qsched_load_rcpts(it, &e);
		ni++;
	}
	c->close(c);
	if (r != DB_NOTFOUND)
		fatalx("sched: reading domidx: %s", db_strerror(r));

	TAILQ_FOREACH(q, &qs_all, allentry) {
		if (qsched_suspended_everywhere(q))
			q->state = BW_QUEUE_SUSPENDED;
		if (q->state == BW_QUEUE_DOWN) {
			if (q->interval_ms <= 0)
				q->interval_ms = qsched_profile(q)->retry_initial;
			log_info("domain=%s gateway=%s down (restart) "
			    "next_retry=%" PRId64 " queued=%zu", q->domain,
			    q->gateway, q->next_retry, q->nitems);
			qsched_retry_arm(q);
		} else {
			qsched_defer_arm(q);
			qsched_queue_kick(q);
		}
	}
	log_info("sched: loaded queues=%zu entries=%zu", nq, ni);
}

void
qsched_shutdown(void)
{
	struct qsq	*q;
	struct qsitem	*it;
	size_t		 i;

	while ((q = TAILQ_FIRST(&qs_all)) != NULL) {
		TAILQ_REMOVE(&qs_all, q, allentry);
		qs_count--;
		while ((it = TAILQ_FIRST(&q->ready)) != NULL) {
			TAILQ_REMOVE(&q->ready, it, entry);
			free(it);
		}
		for (i = 0; i < q->nheap; i++)
			free(q->heap[i]);
		free(q->heap);
		event_free(q->ev_retry);
		event_free(q->ev_defer);
		free(q);
	}
	bw_htab_free(&qs_tab);
	if (qs_ev_flush != NULL)
		event_free(qs_ev_flush);
	qs_ev_flush = NULL;
}

/* The item of qid in q, or NULL; a walk of the queue (bwctl queue repair
 * only, on damaged messages). */
struct qsitem *
qsched_item_find(struct qsq *q, const char *qid)
{
	struct qsitem	*it;
	size_t		 i;

	TAILQ_FOREACH(it, &q->ready, entry)
		if (strcmp(it->qid, qid) == 0)
			return it;
	for (i = 0; i < q->nheap; i++)
		if (strcmp(q->heap[i]->qid, qid) == 0)
			return q->heap[i];
	return NULL;
}

/* A message back in the queue (gw, domain): bwctl queue release. */
int
qsched_item_add(const char *qid, int64_t created, const char *gw,
    const char *domain)
{
	struct qsq	*q;

	if ((q = qsched_queue_get(gw, domain)) == NULL ||
	    qsched_item_new(q, qid, created) == NULL)
		return -1;
	qsched_queue_kick(q);
	return 0;
}
