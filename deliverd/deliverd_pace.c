/*
 * Destination limits on transactions: recipients per message and messages
 * per minute (deliver_max_recipients_per_message,
 * deliver_max_messages_per_minute of the destination's set).
 *
 * Recipients per message: a transaction carries at most the limit of its
 * connection's set; a job with more recipients is sent as several
 * transactions.  The job remembers how far its recipient list has gone
 * (order_next); when a transaction ends with recipients left, the job
 * goes back to the head of its agent's queue, and the next ready
 * connection -- normally the same one, right after the transaction --
 * starts the next transaction for it.  Every transaction moves order_next
 * on, so a job ends after at most norder / limit transactions whatever
 * the replies; each recipient keeps the result of its own transaction,
 * and a job answers queued once, when its last transaction ends.
 *
 * Messages per minute: transaction starts of one agent (a (gateway,
 * domain) pair: queued sends every job of a domain to one worker, so the
 * agent sees all of them) are spaced evenly, 60 s / limit apart, rather
 * than let through in a burst once a minute: a receiver that throttles by
 * rate sees a steady sender.  A job that may not start yet waits in the
 * agent's queue (it does not fail); a timer runs the agent when the next
 * start is due.  While the agent waits, it opens no more connections
 * than it has.  A split message counts once per transaction, for this
 * limit as for deliver_max_messages_per_connection: that is what the
 * receiver counts.
 *
 * Both read the agent's or the connection's current set, so a reload
 * applies at the next transaction start without a restart: the agent's
 * set is re-pointed at reload, a connection keeps the set it was opened
 * with until it closes.
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"

#define DLV_PACE_MINUTE_MS	60000

static void
dlv_pace_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_agent	*a = arg;

	dlv_agent_run(a);
}

int
dlv_pace_init(struct dlv_agent *a)
{
	a->pace_last_ms = 0;
	a->pace_timer = evtimer_new(dlv_env->base, dlv_pace_timer_cb, a);
	return a->pace_timer == NULL ? -1 : 0;
}

void
dlv_pace_free(struct dlv_agent *a)
{
	if (a->pace_timer != NULL)
		event_free(a->pace_timer);
	a->pace_timer = NULL;
}

/* Pure: when the next transaction may start after one at last (0: none
 * yet), at per_minute (0: no limit). */
uint64_t
dlv_pace_next_ms(uint64_t last, long long per_minute)
{
	if (per_minute <= 0 || last == 0)
		return 0;
	return last + (uint64_t)(DLV_PACE_MINUTE_MS / per_minute);
}

/* The agent must wait for its next start: arm the timer for it. */
static int
dlv_pace_blocked(struct dlv_agent *a, uint64_t now)
{
	uint64_t	 next;
	struct timeval	 tv;

	next = dlv_pace_next_ms(a->pace_last_ms,
	    a->lim->v[LIM_DELIVER_MAX_MESSAGES_PER_MINUTE]);
	if (next <= now)
		return 0;
	if (!evtimer_pending(a->pace_timer, NULL)) {
		tv.tv_sec = (time_t)((next - now) / 1000);
		tv.tv_usec = (suseconds_t)((next - now) % 1000) * 1000;
		evtimer_add(a->pace_timer, &tv);
	}
	return 1;
}

/* 1: a transaction may start now (counted); 0: it waits for the timer. */
int
dlv_pace_take(struct dlv_agent *a)
{
	uint64_t	 now = bw_now_ms();

	if (a->lim->v[LIM_DELIVER_MAX_MESSAGES_PER_MINUTE] <= 0)
		return 1;
	if (dlv_pace_blocked(a, now))
		return 0;
	a->pace_last_ms = now;
	return 1;
}

/* May the agent open another connection?  Not while it waits for its next
 * start and already has one to start it on. */
int
dlv_pace_may_open(struct dlv_agent *a)
{
	if (a->lim->v[LIM_DELIVER_MAX_MESSAGES_PER_MINUTE] <= 0 ||
	    a->nconns == 0)
		return 1;
	return !dlv_pace_blocked(a, bw_now_ms());
}

/* The recipients of the transaction c starts for j: the next slice of
 * j's list, at most the connection's limit. */
void
dlv_pace_slice(struct dlv_conn *c, struct dlv_job *j)
{
	long long	 max = c->lim->v[LIM_DELIVER_MAX_RECIPIENTS_PER_MESSAGE];
	uint32_t	 left;

	if (j->order_next > j->norder)
		j->order_next = j->norder;
	left = j->norder - j->order_next;
	c->rcpt_first = j->order_next;
	c->rcpt_count = max > 0 && (long long)left > max ? (uint32_t)max :
	    left;
	j->order_next += c->rcpt_count;
	if (c->rcpt_first > 0 || c->rcpt_count < left)
		log_debug("%s domain=%s relay=%s: recipients %u-%u of %u",
		    j->qid, c->agent->domain, c->relay, c->rcpt_first + 1,
		    c->rcpt_first + c->rcpt_count, j->norder);
}

/*
 * A transaction of j ended: 1 when recipients are left and j went back to
 * the head of the agent's queue for the next one, 0 when j is done.
 */
int
dlv_pace_requeue(struct dlv_agent *a, struct dlv_job *j)
{
	/* a failure may have answered the rest already */
	while (j->order_next < j->norder &&
	    j->rcpts[j->order[j->order_next]].status != -1)
		j->order_next++;
	if (j->order_next >= j->norder)
		return 0;
	TAILQ_INSERT_HEAD(&a->jobs, j, entry);
	a->njobs++;
	return 1;
}
