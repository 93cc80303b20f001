/*
 * Queue pressure, the decision (pure; queued_pressure.c runs it every
 * QPRESSURE_CHECK_MS and tells smtpd): three conditions, each with a
 * mark, each entered at its mark and left only a margin on the good side
 * of it, so that a count hovering at the mark does not flip the state
 * (and smtpd's shedding) on every check.
 *
 *   disk_free        free bytes on the spool file system below twice
 *                    queue_min_free_space: level hard.  Twice, not a row
 *                    of its own: the mark must stay above the point where
 *                    MAIL is refused (452 4.3.1), and the room between
 *                    the two -- as much again as the operator chose to
 *                    keep -- is what shedding the worst senders buys time
 *                    with; one knob cannot be set so that the order is
 *                    wrong.  queue_min_free_space 0 turns it off.
 *   queued_messages  messages in the queue at or over
 *                    queue_pressure_messages (0: off): level soft.
 *   open_messages    messages being received at or over
 *                    queue_pressure_open_messages (0: off): level soft.
 *
 * The level is the highest of the conditions that hold; the reason is the
 * first of them in the order above, with the numbers seen when it became
 * the reason ("queued_messages 10500>=10000").
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "queued.h"

static const struct {
	const char	*name;
	int		 level;
} qpressure_conds[QPRESSURE_COND__COUNT] = {
	[QPRESSURE_DISK] = { "disk_free", BW_PRESSURE_HARD },
	[QPRESSURE_QUEUED] = { "queued_messages", BW_PRESSURE_SOFT },
	[QPRESSURE_OPEN] = { "open_messages", BW_PRESSURE_SOFT },
};

const char *
qpressure_cond_name(int cond)
{
	if (cond < 0 || cond >= QPRESSURE_COND__COUNT)
		return "none";
	return qpressure_conds[cond].name;
}

/* The margin below a count's mark: a tenth of it, at least one. */
static uint64_t
qpressure_count_margin(uint64_t mark)
{
	uint64_t	 m = mark * QPRESSURE_MARGIN_PCT / 100;

	return m > 0 ? m : 1;
}

/* A count condition: on at mark, off below mark - margin; 0 mark: off. */
static int
qpressure_count(int was, uint64_t n, long long mark)
{
	uint64_t	 m;

	if (mark <= 0)
		return 0;
	m = (uint64_t)mark;
	if (n >= m)
		return 1;
	if (was && n + qpressure_count_margin(m) >= m)
		return 1;	/* not far enough below yet */
	return 0;
}

/* The disk: on below mark, off at mark + a tenth; unknown: as it was. */
static int
qpressure_disk(int was, const struct qpressure_in *in)
{
	uint64_t	 mark;

	if (in->min_free <= 0)
		return 0;
	if (!in->free_known)
		return was;
	mark = (uint64_t)in->min_free * QPRESSURE_DISK_FACTOR;
	if (in->free_bytes < mark)
		return 1;
	if (was && in->free_bytes < mark + mark * QPRESSURE_MARGIN_PCT / 100)
		return 1;
	return 0;
}

static void
qpressure_reason(char *dst, size_t dstsz, int cond,
    const struct qpressure_in *in)
{
	switch (cond) {
	case QPRESSURE_DISK:
		snprintf(dst, dstsz, "%s %" PRIu64 "<%llu",
		    qpressure_cond_name(cond), in->free_bytes,
		    (unsigned long long)in->min_free * QPRESSURE_DISK_FACTOR);
		break;
	case QPRESSURE_QUEUED:
		snprintf(dst, dstsz, "%s %" PRIu64 ">=%lld",
		    qpressure_cond_name(cond), in->queued, in->queued_mark);
		break;
	case QPRESSURE_OPEN:
		snprintf(dst, dstsz, "%s %" PRIu64 ">=%lld",
		    qpressure_cond_name(cond), in->open, in->open_mark);
		break;
	default:
		dst[0] = '\0';
		break;
	}
}

/*
 * One check: update each condition and the level.  1 when the level or
 * the condition that gives the reason changed (log it, tell smtpd), else
 * 0.  p starts zeroed (no pressure).
 */
int
qpressure_eval(struct qpressure *p, const struct qpressure_in *in)
{
	int	 on[QPRESSURE_COND__COUNT], i, level = BW_PRESSURE_NONE;
	int	 cond = -1, was_cond = p->level == BW_PRESSURE_NONE ? -1 :
		    p->cond;

	on[QPRESSURE_DISK] = qpressure_disk(p->on[QPRESSURE_DISK], in);
	on[QPRESSURE_QUEUED] = qpressure_count(p->on[QPRESSURE_QUEUED],
	    in->queued, in->queued_mark);
	on[QPRESSURE_OPEN] = qpressure_count(p->on[QPRESSURE_OPEN], in->open,
	    in->open_mark);
	for (i = 0; i < QPRESSURE_COND__COUNT; i++) {
		p->on[i] = on[i];
		if (on[i] && qpressure_conds[i].level > level) {
			level = qpressure_conds[i].level;
			cond = i;
		}
	}
	if (level == p->level && cond == was_cond)
		return 0;
	p->level = level;
	p->cond = cond;
	qpressure_reason(p->reason, sizeof(p->reason), cond, in);
	return 1;
}
