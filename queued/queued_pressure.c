/*
 * Queue pressure, the process side: every QPRESSURE_CHECK_MS the marks of
 * queued_pressure_mark.c are checked against the spool's free space (the
 * cached statvfs of queued_space.c) and the counts queued keeps anyway
 * (c_queued_messages, the open message table): no scan, constant cost.  A
 * change is logged in one line and pushed to every linked smtpd
 * (QUEUE_PRESSURE); an smtpd that links gets the state at once
 * (qsmtpd_state_cb), so a restarted one never sheds on stale news.
 * smtpd decides who gets 421; queued only says how bad it is.
 *
 * The marks are read from the current configuration at each check, so a
 * reload moves them at the next one.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "queued.h"

static struct qpressure	 qpressure;
static struct event	*qpressure_ev;
static uint64_t		 qpressure_changes;

static void
qpressure_msg(struct bw_queue_pressure *qp)
{
	memset(qp, 0, sizeof(*qp));
	qp->level = (uint32_t)qpressure.level;
	strlcpy(qp->reason, qpressure.reason, sizeof(qp->reason));
}

/* Check the marks now; log and push a change. */
void
qpressure_check(void)
{
	const struct bw_config	*cfg = q_env->d.cfg;
	struct qpressure_in	 in;
	struct bw_queue_pressure qp;
	int			 was = qpressure.level;

	memset(&in, 0, sizeof(in));
	in.min_free = BW_LIMIT(cfg, LIM_QUEUE_MIN_FREE_SPACE);
	if (in.min_free > 0)
		in.free_known = qspace_free(cfg->spool_dir,
		    &in.free_bytes) == 0;
	in.queued = q_env->c_queued_messages;
	in.queued_mark = BW_LIMIT(cfg, LIM_QUEUE_PRESSURE_MESSAGES);
	in.open = (uint64_t)qmsg_open_count();
	in.open_mark = BW_LIMIT(cfg, LIM_QUEUE_PRESSURE_OPEN_MESSAGES);
	if (!qpressure_eval(&qpressure, &in))
		return;
	qpressure_changes++;
	if (qpressure.level == BW_PRESSURE_NONE)
		log_info("pressure=none was=%s", bw_pressure_level_name(was));
	else
		log_warnx("pressure=%s reason=%s",
		    bw_pressure_level_name(qpressure.level), qpressure.reason);
	qpressure_msg(&qp);
	qsmtpd_broadcast(BW_IMSG_QUEUE_PRESSURE, &qp, sizeof(qp));
}

static void
qpressure_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	qpressure_check();
}

/* Start checking (after the store is counted); the first check is now. */
void
qpressure_init(struct event_base *base)
{
	struct timeval	 tv = { QPRESSURE_CHECK_MS / 1000,
	    (QPRESSURE_CHECK_MS % 1000) * 1000 };

	if ((qpressure_ev = event_new(base, -1, EV_PERSIST,
	    qpressure_tick_cb, NULL)) == NULL || event_add(qpressure_ev,
	    &tv) == -1)
		fatalx("cannot set up the pressure check");
	qpressure_check();
}

void
qpressure_shutdown(void)
{
	if (qpressure_ev != NULL)
		event_free(qpressure_ev);
	qpressure_ev = NULL;
}

/* The state to one smtpd (it just linked). */
void
qpressure_send(struct bw_peer *peer)
{
	struct bw_queue_pressure	 qp;

	qpressure_msg(&qp);
	if (bw_peer_send(peer, BW_IMSG_QUEUE_PRESSURE, 0, -1, &qp,
	    sizeof(qp)) == -1)
		log_warn("smtpd pid=%ld: cannot send QUEUE_PRESSURE",
		    (long)bw_peer_pid(peer));
}

/* bwctl status: the state and its reason, the level as a number. */
void
qpressure_status(struct bw_status *st)
{
	bw_status_add_info(st, "pressure",
	    bw_pressure_level_name(qpressure.level));
	if (qpressure.level != BW_PRESSURE_NONE)
		bw_status_add_info(st, "pressure_reason", qpressure.reason);
	bw_status_add(st, "pressure_level", (uint64_t)qpressure.level);
	bw_status_add(st, "pressure_changes", qpressure_changes);
}
