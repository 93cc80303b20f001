/*
 * The monitor's cheap view of the queue (QUEUE_TOP_REQ, asked by
 * controld's sampler every monitor_sample_interval): the n busiest and the
 * n most deferred (gateway, domain) queues with the last full minute's
 * deliveries, deferrals and bounces, the totals by queue state, the work
 * queue, the spool's free space and the delivery latency buckets.
 *
 * Everything comes from memory: each queue counts its results in a window
 * per minute (qtop_note, called with the results), and one walk over the
 * queues in memory with two heaps of n picks the sets, O(queues log n);
 * queues.db is read only for the rows sent (oldest message, lifetime
 * counts), at most 2n gets.  QUEUE_LIST_REQ walks queues.db instead and
 * stops at QUEUED_QUEUE_ROWS_MAX rows: too heavy for every few seconds.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

#define QTOP_MINUTE	60	/* seconds in a window */

/* Upper bounds of the latency buckets, seconds; the last one is +Inf. */
static const int64_t qtop_lat_le[BW_LAT_BUCKETS - 1] = {
	1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400
};

static struct qtop_win	 qtop_all;	/* every queue together */
static uint64_t		 qtop_answer_us;	/* the last answer took */
static uint64_t		 qtop_lat_sum_ms;
static uint64_t		 qtop_lat_count;

int
qtop_lat_bucket(int64_t seconds)
{
	int	 i;

	for (i = 0; i < BW_LAT_BUCKETS - 1; i++)
		if (seconds <= qtop_lat_le[i])
			return i;
	return BW_LAT_BUCKETS - 1;
}

/* Move the window to now's minute: the minute before becomes "last". */
void
qtop_win_roll(struct qtop_win *w, int64_t now)
{
	int64_t	 m = now - now % QTOP_MINUTE;
	int	 i;

	if (m == w->minute)
		return;
	for (i = 0; i < QTOP_WIN_KINDS; i++) {
		w->last[i] = m == w->minute + QTOP_MINUTE ? w->cur[i] : 0;
		w->cur[i] = 0;
	}
	w->minute = m;
}

static void
qtop_win_add(struct qtop_win *w, int64_t now, uint32_t delivered,
    uint32_t deferred, uint32_t bounced)
{
	qtop_win_roll(w, now);
	w->cur[QTOP_DELIVERED] += delivered;
	w->cur[QTOP_DEFERRED] += deferred;
	w->cur[QTOP_BOUNCED] += bounced;
}

/* Results of one job in q: delivered recipients waited latency seconds. */
void
qtop_note(struct qsq *q, uint32_t delivered, uint32_t deferred,
    uint32_t bounced, int64_t latency)
{
	int64_t	 now = bw_time();
	int	 b;

	qtop_win_add(&q->top, now, delivered, deferred, bounced);
	qtop_win_add(&qtop_all, now, delivered, deferred, bounced);
	if (delivered == 0)
		return;
	if (latency < 0)
		latency = 0;
	b = qtop_lat_bucket(latency);
	q->top.lat[b] += delivered;
	qtop_all.lat[b] += delivered;
	qtop_lat_sum_ms += (uint64_t)latency * 1000 * delivered;
	qtop_lat_count += delivered;
}

/* a - b, 0 when b is larger (a queue forgotten since) */
static uint64_t
qtop_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Messages of q waiting for a retry: deferred, or parked in a queue that
 * is down or suspended. */
static uint64_t
qtop_waiting(const struct qsq *q)
{
	return q->nheap + (q->state != BW_QUEUE_ACTIVE ? q->nready : 0);
}

/* Is a ahead of b in the set? */
static int
qtop_ahead(const struct qsq *a, const struct qsq *b, int set)
{
	uint64_t	 ka, kb;

	if (set == BW_TOP_DEFERRED) {
		ka = qtop_waiting(a);
		kb = qtop_waiting(b);
		if (ka != kb)
			return ka > kb;
		if (a->top.last[QTOP_DEFERRED] != b->top.last[QTOP_DEFERRED])
			return a->top.last[QTOP_DEFERRED] >
			    b->top.last[QTOP_DEFERRED];
	} else {
		if (a->nitems != b->nitems)
			return a->nitems > b->nitems;
		if (a->top.last[QTOP_DELIVERED] != b->top.last[QTOP_DELIVERED])
			return a->top.last[QTOP_DELIVERED] >
			    b->top.last[QTOP_DELIVERED];
		if (a->delivered != b->delivered)
			return a->delivered > b->delivered;
	}
	/* a fixed order, so that equal queues do not swap between samples */
	return strcmp(a->domain, b->domain) < 0;
}

/* A heap of at most n queues whose root is the last of the set. */
struct qtop_heap {
	struct qsq	**v;
	size_t		 n;
	size_t		 max;
	int		 set;
};

static void
qtop_heap_down(struct qtop_heap *h, size_t i)
{
	size_t		 l, r, m;
	struct qsq	*t;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < h->n && qtop_ahead(h->v[m], h->v[l], h->set))
			m = l;
		if (r < h->n && qtop_ahead(h->v[m], h->v[r], h->set))
			m = r;
		if (m == i)
			return;
		t = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = t;
		i = m;
	}
}

static void
qtop_heap_offer(struct qtop_heap *h, struct qsq *q)
{
	size_t		 i, p;
	struct qsq	*t;

	if (h->n == h->max) {
		if (h->max == 0 || !qtop_ahead(q, h->v[0], h->set))
			return;
		h->v[0] = q;
		qtop_heap_down(h, 0);
		return;
	}
	i = h->n++;
	h->v[i] = q;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!qtop_ahead(h->v[p], h->v[i], h->set))
			break;
		t = h->v[p];
		h->v[p] = h->v[i];
		h->v[i] = t;
		i = p;
	}
}

/* Sort the heap's queues, first of the set first. */
static void
qtop_heap_sort(struct qtop_heap *h)
{
	size_t		 n = h->n;
	struct qsq	*t;

	while (h->n > 1) {
		t = h->v[0];
		h->v[0] = h->v[h->n - 1];
		h->v[h->n - 1] = t;
		h->n--;
		qtop_heap_down(h, 0);
	}
	h->n = n;
}

/* The work queue and the totals by state, over every queue in memory. */
void
qtop_totals(struct bw_queue_top_end *end)
{
	struct qsq	*q;
	uint64_t	 rest;

	for (q = qsched_first(); q != NULL; q = qsched_next(q)) {
		if (strcmp(q->gateway, QSCHED_ALL_GATEWAYS) == 0)
			continue;
		end->nqueues++;
		if (q->state < BW_QUEUE_STATE__COUNT) {
			end->queues[q->state]++;
			end->msgs[q->state] += q->nitems;
		}
		if (q->state == BW_QUEUE_ACTIVE)
			end->ready += q->nready;
		else
			end->parked += q->nready;
		end->deferred += q->nheap;
		rest = q->nready + q->nheap;
		end->inflight += q->nitems > rest ? q->nitems - rest : 0;
	}
}

/* STATUS gauges: the work queue and the spool's free space. */
void
qtop_status(struct bw_status *st)
{
	struct bw_queue_top_end	 end;
	uint64_t		 free_bytes = 0;

	memset(&end, 0, sizeof(end));
	qtop_totals(&end);
	bw_status_add(st, "work_ready", end.ready);
	bw_status_add(st, "work_deferred", end.deferred);
	bw_status_add(st, "work_parked", end.parked);
	bw_status_add(st, "work_inflight", end.inflight);
	(void)qspace_free(q_env->d.cfg->spool_dir, &free_bytes);
	bw_status_add(st, "spool_free_bytes", free_bytes);
	bw_status_add(st, "top_answer_us", qtop_answer_us);
}

static uint64_t
qtop_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The row of q: its record in queues.db, what memory knows on top. */
static void
qtop_entry_fill(struct qsq *q, struct bw_queue_top_entry *te, int64_t now)
{
	struct qstore	*st = &q_env->store;
	struct qqueue_rec rec;
	char		 kbuf[QQUEUE_KEY_MAX];
	DBT		 key, data;
	size_t		 klen;
	int		 r, i;

	memset(te, 0, sizeof(*te));
	klen = qqueue_key(kbuf, sizeof(kbuf), q->gateway, q->domain);
	memset(&key, 0, sizeof(key));
	key.data = kbuf;
	key.size = (uint32_t)klen;
	qstore_dbt_user(&data, &rec, sizeof(rec));
	if (klen > 0 && (r = st->queues->get(st->queues, NULL, &key, &data,
	    0)) == 0)
		(void)qqueue_entry_from(&key, &data, &te->q);
	else if (klen > 0 && r != DB_NOTFOUND)
		log_warnx("top: queue %s/%s: %s", q->gateway, q->domain,
		    db_strerror(r));
	strlcpy(te->q.gateway, q->gateway, sizeof(te->q.gateway));
	strlcpy(te->q.domain, q->domain, sizeof(te->q.domain));
	te->q.state = q->state;
	te->q.active_jobs = q->inflight;
	te->q.next_retry = q->state == BW_QUEUE_DOWN ? q->next_retry : 0;
	te->q.delivered = q->delivered;
	te->q.hard_bounces = q->hard_bounces;
	te->q.soft_bounces = q->soft_bounces;
	strlcpy(te->q.last_error, q->last_error, sizeof(te->q.last_error));
	te->queued = q->nitems;
	te->waiting = qtop_waiting(q);
	qtop_win_roll(&q->top, now);
	te->win_delivered = q->top.last[QTOP_DELIVERED];
	te->win_deferred = q->top.last[QTOP_DEFERRED];
	te->win_bounced = q->top.last[QTOP_BOUNCED];
	for (i = 0; i < BW_LAT_BUCKETS; i++)
		te->lat_buckets[i] = q->top.lat[i];
}

static void
qtop_send(struct bw_peer *peer, uint32_t type, uint32_t reqid,
    const void *data, size_t len)
{
	if (bw_peer_send(peer, type, reqid, -1, data, len) == -1)
		log_warn("top: cannot send %s to controld",
		    bw_imsg_type_name(type));
}

/* QUEUE_TOP_REQ: the two sets, then the totals. */
void
qtop_req(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_queue_top_req		 req;
	struct bw_queue_top_entry	 te;
	struct bw_queue_top_end		 end;
	struct qtop_heap		 hb, hd;
	struct qsq			*q, **v = NULL;
	int64_t				 now = bw_time();
	size_t				 i, j, n;
	uint64_t			 free_bytes, t0 = qtop_now_us();

	memcpy(&req, imsg->data, sizeof(req));
	n = req.n == 0 ? 1 : req.n > BW_QUEUE_TOP_MAX ? BW_QUEUE_TOP_MAX :
	    req.n;
	memset(&end, 0, sizeof(end));
	memset(&hb, 0, sizeof(hb));
	memset(&hd, 0, sizeof(hd));
	if ((v = calloc(2 * n, sizeof(*v))) == NULL)
		log_warn("top: no memory for %zu rows: totals only", n);
	else {
		hb.v = v;
		hb.max = n;
		hb.set = BW_TOP_BUSIEST;
		hd.v = v + n;
		hd.max = n;
		hd.set = BW_TOP_DEFERRED;
	}
	qtop_totals(&end);
	for (q = qsched_first(); q != NULL; q = qsched_next(q)) {
		if (strcmp(q->gateway, QSCHED_ALL_GATEWAYS) == 0)
			continue;
		qtop_win_roll(&q->top, now);
		q->top.sent = 0;
		if (q->nitems > 0 || q->top.last[QTOP_DELIVERED] > 0 ||
		    q->top.last[QTOP_DEFERRED] > 0 ||
		    q->top.last[QTOP_BOUNCED] > 0)
			qtop_heap_offer(&hb, q);
		if (qtop_waiting(q) > 0 || q->top.last[QTOP_DEFERRED] > 0)
			qtop_heap_offer(&hd, q);
	}
	qtop_heap_sort(&hb);
	qtop_heap_sort(&hd);
	for (i = 0; i < hb.n; i++)
		hb.v[i]->top.sent = BW_TOP_BUSIEST;
	for (i = 0; i < hd.n; i++)
		hd.v[i]->top.sent |= BW_TOP_DEFERRED;
	/* the busiest in order, then the deferred ones not yet sent */
	for (j = 0; j < 2; j++) {
		struct qtop_heap *h = j == 0 ? &hb : &hd;

		for (i = 0; i < h->n; i++) {
			q = h->v[i];
			if (j == 1 && (q->top.sent & BW_TOP_BUSIEST))
				continue;
			qtop_entry_fill(q, &te, now);
			te.sets = q->top.sent;
			end.listed++;
			end.rest_queued += te.queued;	/* taken off below */
			end.rest_waiting += te.waiting;
			end.rest_win_delivered += te.win_delivered;
			end.rest_win_deferred += te.win_deferred;
			end.rest_win_bounced += te.win_bounced;
			qtop_send(peer, BW_IMSG_QUEUE_TOP_ENTRY, reqid, &te,
			    sizeof(te));
		}
	}
	for (i = 0; i < hb.n; i++)
		hb.v[i]->top.sent = 0;
	for (i = 0; i < hd.n; i++)
		hd.v[i]->top.sent = 0;
	free(v);

	/* the rest: every queue less the ones listed */
	qtop_win_roll(&qtop_all, now);
	end.minute = qtop_all.minute - QTOP_MINUTE;
	end.win_delivered = qtop_all.last[QTOP_DELIVERED];
	end.win_deferred = qtop_all.last[QTOP_DEFERRED];
	end.win_bounced = qtop_all.last[QTOP_BOUNCED];
	end.rest_queued = qtop_sub(end.msgs[0] + end.msgs[1] + end.msgs[2],
	    end.rest_queued);
	end.rest_waiting = qtop_sub(end.deferred + end.parked,
	    end.rest_waiting);
	end.rest_win_delivered = qtop_sub(end.win_delivered,
	    end.rest_win_delivered);
	end.rest_win_deferred = qtop_sub(end.win_deferred,
	    end.rest_win_deferred);
	end.rest_win_bounced = qtop_sub(end.win_bounced,
	    end.rest_win_bounced);
	for (i = 0; i < BW_LAT_BUCKETS; i++)
		end.lat_buckets[i] = qtop_all.lat[i];
	end.lat_sum_ms = qtop_lat_sum_ms;
	end.lat_count = qtop_lat_count;
	end.spool_free = qspace_free(q_env->d.cfg->spool_dir,
	    &free_bytes) == 0 ? free_bytes : UINT64_MAX;
	qtop_send(peer, BW_IMSG_QUEUE_TOP_END, reqid, &end, sizeof(end));
	qtop_answer_us = qtop_now_us() - t0;
}
