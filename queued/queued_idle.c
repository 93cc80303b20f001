/*
 * Forgetting empty queues.  A queue per (gateway, domain) is created when
 * mail for the domain arrives; an MTA that sends to many domains would
 * otherwise keep one in memory for every domain it ever saw.  A sweep
 * every QIDLE_SWEEP_MAX_MS (or a fraction of queue_idle_forget, if that is
 * shorter) marks the queues that are idle (qsched_queue_idle: active,
 * empty, nothing in flight, no timer) and frees those that were still idle
 * queue_idle_forget later.  The cost is one walk over the queues per
 * sweep, never over messages.
 *
 * Trust: internal state only.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QIDLE_SWEEP_MAX_MS	(60 * 1000)	/* longest time between sweeps */
#define QIDLE_SWEEP_MIN_MS	200		/* shortest */

static struct event	*qidle_ev;
static long long	 qidle_forget_ms;
static uint64_t		 qidle_count;		/* queues forgotten */

static void
qidle_sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct qsq	*q, *next;
	uint64_t	 now = bw_now_ms();
	size_t		 n = 0;

	for (q = qsched_first(); q != NULL; q = next) {
		next = qsched_next(q);
		if (!qsched_queue_idle(q)) {
			q->idle_since = 0;
			continue;
		}
		if (q->idle_since == 0) {
			q->idle_since = now;
			continue;
		}
		if (now - q->idle_since < (uint64_t)qidle_forget_ms)
			continue;
		log_debug("sched: queue %s/%s idle, forgotten", q->gateway,
		    q->domain);
		qsched_queue_free(q);
		n++;
	}
	qidle_count += n;
	if (n > 0)
		log_debug("sched: %zu idle queues forgotten, %zu left", n,
		    qsched_count());
}

void
qidle_init(struct event_base *base, long long forget_ms)
{
	long long	 every = forget_ms / 2;
	struct timeval	 tv;

	if (every > QIDLE_SWEEP_MAX_MS)
		every = QIDLE_SWEEP_MAX_MS;
	if (every < QIDLE_SWEEP_MIN_MS)
		every = QIDLE_SWEEP_MIN_MS;
	qidle_forget_ms = forget_ms;
	tv.tv_sec = (time_t)(every / 1000);
	tv.tv_usec = (suseconds_t)(every % 1000) * 1000;
	if ((qidle_ev = event_new(base, -1, EV_PERSIST, qidle_sweep,
	    NULL)) == NULL || event_add(qidle_ev, &tv) == -1)
		fatalx("sched: cannot create the idle-queue timer");
}

void
qidle_shutdown(void)
{
	if (qidle_ev != NULL)
		event_free(qidle_ev);
	qidle_ev = NULL;
}

uint64_t
qidle_forgotten(void)
{
	return qidle_count;
}
