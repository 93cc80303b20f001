/*
 * Good Neighbor: how many connections one agent (gateway, domain) may
 * hold open, adapted to how the destination answers.  Pure: the caller
 * feeds events with the time (milliseconds of a monotonic clock).
 *
 * - A new agent may open DLV_NB_START connections (never more than the
 *   destination control, deliver_max_connections_per_domain of its set).
 * - Growth: the acceptance rate (messages accepted per minute) is measured
 *   over periods of at least DLV_NB_PERIOD_MS and DLV_NB_PERIOD_MSGS
 *   messages.  A period counts only when the limit held a waiting job back
 *   (with no demand beyond the limit, more connections prove nothing).
 *   After such a period the limit goes up by one; the next period judges
 *   that connection: kept (and the next one tried) when the rate rose by
 *   DLV_NB_GAIN_SHARE_PCT of what one more connection adds when the rate
 *   grows in proportion, else dropped again -- the count holds there for
 *   DLV_NB_HOLD_NO_GAIN_MS before it is tried again (DESIGN.md "Good
 *   Neighbor": when a new connection no longer raises the aggregate rate,
 *   the newest connection is dropped and the count holds).
 * - Shrinking: a new connection refused (connect refused or timed out, a
 *   4xx/5xx greeting such as 421 "too many connections", EHLO refused)
 *   sets the limit to the sessions the destination holds of ours (in
 *   setup, working or closing), at most one less than before, and holds it there for DLV_NB_HOLD_REFUSED_MS -- unless that
 *   many connections worked at once before and no other such refusal
 *   came within DLV_NB_HOLD_REFUSED_MS: then it is a session of ours still
 *   closing at the server (a connection replaced after its last message)
 *   or a blip; the count holds without growth instead.  A reply slower
 *   than DLV_NB_SLOW_FACTOR times its kind's baseline (and at least
 *   DLV_NB_SLOW_MIN_MS) takes one connection off, at most once per
 *   DLV_NB_SLOW_GAP_MS, and holds growth for DLV_NB_HOLD_SLOW_MS.
 *   The baseline is a moving average of the replies of that kind (command
 *   replies, replies to the end of data), which slow replies move only a
 *   little: a destination that stays slow keeps the count down for a
 *   while, then becomes the new normal.
 * - Pause: DLV_NB_PAUSE_AFTER refusals of service in a row (greeting or
 *   EHLO refused) while no connection works and no other host is left to
 *   try (a destination that answers 421 to every new connection) pause
 *   every new connection for DLV_NB_PAUSE_MIN_MS; each further refusal
 *   before a connection works doubles the pause, up to
 *   DLV_NB_PAUSE_MAX_MS.  A connection that works ends the pause.
 * - Never above the destination control, never below 1.  Every change
 *   records its reason, a text with the numbers, and the time.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "deliverd_neighbor.h"

static const char *dlv_nb_reason_names[DLV_NB_R__COUNT] = {
	"start", "grow", "no gain", "refused", "slow", "destination control",
	"pause",
};

static const char *dlv_nb_refusal_names[DLV_NB_REFUSAL__COUNT] = {
	"connection refused", "connect timeout", "greeting", "EHLO/HELO",
};

const char *
dlv_nb_reason_name(int r)
{
	if (r < 0 || r >= DLV_NB_R__COUNT)
		return "?";
	return dlv_nb_reason_names[r];
}

const char *
dlv_nb_refusal_name(int r)
{
	if (r < 0 || r >= DLV_NB_REFUSAL__COUNT)
		return "?";
	return dlv_nb_refusal_names[r];
}

/* A new measurement period starts now. */
static void
dlv_nb_period_reset(struct dlv_nb *nb, uint64_t now)
{
	nb->period_start = now;
	nb->period_msgs = 0;
	nb->period_blocked = 0;
}

/* Set the limit (clamped to 1..max) and record why and when. */
static void
dlv_nb_set(struct dlv_nb *nb, int limit, enum dlv_nb_reason reason,
    uint64_t now, const char *why)
{
	if (limit > nb->max)
		limit = nb->max;
	if (limit < 1)
		limit = 1;
	if (limit < nb->limit && nb->peak > limit)
		nb->peak = limit;	/* what worked then proves nothing now */
	nb->limit = limit;
	nb->reason = reason;
	nb->changed_ms = now;
	snprintf(nb->why, sizeof(nb->why), "%s", why);
	dlv_nb_period_reset(nb, now);
}

void
dlv_nb_init(struct dlv_nb *nb, int max, uint64_t now)
{
	memset(nb, 0, sizeof(*nb));
	nb->max = max < 1 ? 1 : max;
	nb->bucket_epoch = now / DLV_NB_RATE_BUCKET_MS;
	dlv_nb_set(nb, DLV_NB_START, DLV_NB_R_START, now, "new destination");
}

int
dlv_nb_set_max(struct dlv_nb *nb, int max, uint64_t now)
{
	char	 why[DLV_NB_WHY_MAX];

	if (max < 1)
		max = 1;
	if (max == nb->max)
		return 0;
	nb->max = max;
	if (nb->limit <= max)
		return 0;
	snprintf(why, sizeof(why), "destination control lowered to %d", max);
	nb->probing = 0;
	dlv_nb_set(nb, max, DLV_NB_R_MAX, now, why);
	return 1;
}

int
dlv_nb_paused(const struct dlv_nb *nb, uint64_t now)
{
	return now < nb->pause_until;
}

int
dlv_nb_may_open(const struct dlv_nb *nb, int nconns, uint64_t now)
{
	return !dlv_nb_paused(nb, now) && nconns < nb->limit;
}

/* Bring the rate buckets up to now (older ones are zeroed). */
static void
dlv_nb_buckets_advance(struct dlv_nb *nb, uint64_t now)
{
	uint64_t	 epoch = now / DLV_NB_RATE_BUCKET_MS;
	uint64_t	 e;

	if (epoch <= nb->bucket_epoch)
		return;
	if (epoch - nb->bucket_epoch >= DLV_NB_RATE_BUCKETS)
		memset(nb->bucket, 0, sizeof(nb->bucket));
	else
		for (e = nb->bucket_epoch + 1; e <= epoch; e++)
			nb->bucket[e % DLV_NB_RATE_BUCKETS] = 0;
	nb->bucket_epoch = epoch;
}

uint32_t
dlv_nb_rate(const struct dlv_nb *nb, uint64_t now)
{
	uint64_t	 epoch = now / DLV_NB_RATE_BUCKET_MS, e;
	uint32_t	 sum = 0;
	int		 k;

	/* buckets newer than bucket_epoch were never written: zero */
	for (k = 0; k < DLV_NB_RATE_BUCKETS; k++) {
		if (epoch < (uint64_t)k)
			break;
		e = epoch - (uint64_t)k;
		if (e > nb->bucket_epoch ||
		    e + DLV_NB_RATE_BUCKETS <= nb->bucket_epoch)
			continue;
		sum += nb->bucket[e % DLV_NB_RATE_BUCKETS];
	}
	return sum;	/* DLV_NB_RATE_BUCKETS x 5 s: one minute */
}

void
dlv_nb_accepted(struct dlv_nb *nb, uint64_t now)
{
	dlv_nb_buckets_advance(nb, now);
	nb->bucket[nb->bucket_epoch % DLV_NB_RATE_BUCKETS]++;
	nb->period_msgs++;
}

int
dlv_nb_tick(struct dlv_nb *nb, int blocked, uint64_t now)
{
	uint64_t	 elapsed;
	double		 rate, need;
	char		 why[DLV_NB_WHY_MAX];

	if (blocked)
		nb->period_blocked = 1;
	elapsed = now - nb->period_start;
	if (elapsed < DLV_NB_PERIOD_MS)
		return 0;
	if (nb->period_msgs < DLV_NB_PERIOD_MSGS &&
	    elapsed < DLV_NB_PERIOD_MAX_MS)
		return 0;
	rate = (double)nb->period_msgs * 60000.0 / (double)elapsed;
	if (!nb->period_blocked || now < nb->hold_until) {
		/* no demand beyond the limit, or holding: nothing learnt */
		dlv_nb_period_reset(nb, now);
		return 0;
	}
	if (nb->probing) {
		/* limit - 1 gave prev_rate: did the newest connection help? */
		need = nb->prev_rate * (1.0 + DLV_NB_GAIN_SHARE_PCT / 100.0 /
		    (double)(nb->limit > 1 ? nb->limit - 1 : 1));
		if (rate <= 0.0 || rate <= nb->prev_rate || rate < need) {
			snprintf(why, sizeof(why), "%.0f msgs/min with %d "
			    "connections, not above %.0f with %d", rate,
			    nb->limit, nb->prev_rate, nb->limit - 1);
			nb->probing = 0;
			nb->hold_until = now + DLV_NB_HOLD_NO_GAIN_MS;
			dlv_nb_set(nb, nb->limit - 1, DLV_NB_R_NO_GAIN, now,
			    why);
			return 1;
		}
	}
	if (rate <= 0.0 || nb->limit >= nb->max) {
		nb->probing = 0;
		dlv_nb_period_reset(nb, now);
		return 0;
	}
	if (nb->probing)
		snprintf(why, sizeof(why), "%.0f msgs/min with %d connections, "
		    "up from %.0f with %d", rate, nb->limit, nb->prev_rate,
		    nb->limit - 1);
	else
		snprintf(why, sizeof(why), "%.0f msgs/min with %d connections "
		    "and jobs waiting: trying %d", rate, nb->limit,
		    nb->limit + 1);
	nb->prev_rate = rate;
	nb->probing = 1;
	dlv_nb_set(nb, nb->limit + 1, DLV_NB_R_GROW, now, why);
	return 1;
}

void
dlv_nb_ready(struct dlv_nb *nb, int held, uint64_t now)
{
	if (held > nb->peak)
		nb->peak = held;
	nb->refusals_in_row = 0;
	nb->pause_ms = 0;
	nb->pause_until = 0;
	(void)now;
}

int
dlv_nb_refused(struct dlv_nb *nb, enum dlv_nb_refusal kind, int working,
    int held, int others, const char *detail, uint64_t now)
{
	char		 why[DLV_NB_WHY_MAX];
	int		 limit, counts, transient;

	if (working < 0)
		working = 0;
	if (held < working)
		held = working;
	nb->refusals++;
	transient = held > 0 && held + 1 <= nb->peak &&
	    (nb->last_transient == 0 ||
	    now - nb->last_transient >= DLV_NB_HOLD_REFUSED_MS);
	/*
	 * Towards a pause: the service refused (the server accepted and said
	 * no: 421) while nothing works and no other host is left to try.  A
	 * host that refuses TCP or never answers is marked down and queued
	 * parks the domain; its probes cost the destination nothing much.
	 */
	counts = working == 0 && !others &&
	    (kind == DLV_NB_GREETING || kind == DLV_NB_SETUP);
	if (counts)
		nb->refusals_in_row++;
	if (counts && nb->refusals_in_row >= DLV_NB_PAUSE_AFTER) {
		nb->pause_ms = nb->pause_ms == 0 ? DLV_NB_PAUSE_MIN_MS :
		    nb->pause_ms * 2;
		if (nb->pause_ms > DLV_NB_PAUSE_MAX_MS)
			nb->pause_ms = DLV_NB_PAUSE_MAX_MS;
		nb->pause_until = now + nb->pause_ms;
		nb->pauses++;
		snprintf(why, sizeof(why), "%u new connections refused in a "
		    "row, paused %llus; last %s: %s", nb->refusals_in_row,
		    (unsigned long long)(nb->pause_ms / 1000),
		    dlv_nb_refusal_name(kind), detail ? detail : "");
		nb->probing = 0;
		nb->hold_until = nb->pause_until + DLV_NB_HOLD_REFUSED_MS;
		dlv_nb_set(nb, 1, DLV_NB_R_PAUSE, now, why);
		return 1;
	}
	nb->probing = 0;
	nb->hold_until = now + DLV_NB_HOLD_REFUSED_MS;
	if (transient) {
		/* that many worked before: one of ours still closing there */
		nb->last_transient = now;
		snprintf(why, sizeof(why), "%s with %d connection%s open "
		    "(%d worked before: held at %d): %s",
		    dlv_nb_refusal_name(kind), held, held == 1 ? "" : "s",
		    nb->peak, nb->limit, detail ? detail : "");
		dlv_nb_set(nb, nb->limit, DLV_NB_R_REFUSED, now, why);
		return 1;
	}
	limit = nb->limit - 1;
	if (held < limit)
		limit = held;
	snprintf(why, sizeof(why), "%s with %d connection%s open: %s",
	    dlv_nb_refusal_name(kind), held, held == 1 ? "" : "s",
	    detail ? detail : "");
	dlv_nb_set(nb, limit, DLV_NB_R_REFUSED, now, why);
	return 1;
}

int
dlv_nb_latency(struct dlv_nb *nb, enum dlv_nb_lat kind, uint64_t ms,
    uint64_t now)
{
	double		*base;
	char		 why[DLV_NB_WHY_MAX];
	int		 slow;

	if ((int)kind < 0 || kind >= DLV_NB_LAT__COUNT)
		return 0;
	base = &nb->base_ms[kind];
	if (nb->base_n[kind] < DLV_NB_BASE_SAMPLES) {
		/* a plain average of the first replies */
		nb->base_n[kind]++;
		*base += ((double)ms - *base) / (double)nb->base_n[kind];
		return 0;
	}
	slow = ms >= DLV_NB_SLOW_MIN_MS &&
	    (double)ms > *base * DLV_NB_SLOW_FACTOR;
	*base += ((double)ms - *base) / (double)(1u << (slow ?
	    DLV_NB_BASE_SLOW_SHIFT : DLV_NB_BASE_SHIFT));
	if (!slow)
		return 0;
	nb->hold_until = now + DLV_NB_HOLD_SLOW_MS;
	nb->probing = 0;
	if (nb->limit <= 1 || (nb->last_slow_shrink != 0 &&
	    now - nb->last_slow_shrink < DLV_NB_SLOW_GAP_MS))
		return 0;
	nb->last_slow_shrink = now;
	snprintf(why, sizeof(why), "%s reply took %llu ms, baseline %.0f ms",
	    kind == DLV_NB_LAT_DATA ? "end-of-data" : "command",
	    (unsigned long long)ms, *base);
	dlv_nb_set(nb, nb->limit - 1, DLV_NB_R_SLOW, now, why);
	return 1;
}
