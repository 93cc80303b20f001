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
 *   (with no demand beyond the limit, more connections prove nothing), and
 *   a limit is judged by the median of DLV_NB_JUDGE_PERIODS such periods
 *   in a row: one period's rate on a busy machine swings by half with a
 *   stall anywhere (a disk sync, the scheduler), and a verdict on one
 *   sample stopped growth at 3 connections where 20 delivered half again
 *   as much.  Once judged, the limit is raised; the raise is judged in
 *   turn against the best rate of the limits below it, each limit's rate
 *   being the mean of its judged medians (DLV_NB_LEVELS limits kept,
 *   forgotten after DLV_NB_REF_MAX_MS): the best single median is a lucky
 *   one on a noisy machine, and one lucky median blocked every later
 *   raise.  The raise is kept when its median rose by more than
 *   DLV_NB_GAIN_MIN_PCT and by more than DLV_NB_NOISE_TIMES the noise,
 *   undone when it fell by that much, and measured longer while within
 *   the noise either way (up to DLV_NB_JUDGE_MAX_PERIODS, then undone):
 *   on a machine shared with the senders a raise from 4 to 6 connections
 *   that paid 20 % measured 7 % less over three periods, and undoing it
 *   at once held bulk relay at 4-6 connections and 30 % below a fixed 20.
 *   The noise is the spread of a limit's median measured again (the
 *   spread of three periods alone reads low), or of the periods until a
 *   limit has been judged twice.  An undone raise ("no gain") holds the
 *   count for DLV_NB_HOLD_NO_GAIN_MS, doubled for each undone raise in a
 *   row up to DLV_NB_HOLD_NO_GAIN_MAX_MS, before it is tried again
 *   (DESIGN.md "Good Neighbor": when a new connection no longer raises
 *   the aggregate rate, the newest connection is dropped and the count
 *   holds); a saturated destination is probed less and less often.
 *   Each raise doubles the limit (DLV_NB_FAST_GROW_PCT; 2, 4, 8, 16,
 *   20): bulk relay at 100 KiB on a 2-core machine shared with the
 *   senders measured 3 connections 51,400 msgs/min, 4 connections 55,100
 *   (+7 %, below the noise), 8 connections 84,100 and 16 87,800; steps of
 *   one, or of half the limit (3 -> 4), never saw a gain and stayed at 3-4
 *   with a third of the CPU idle (847 msg/s, where a fixed 20 delivered
 *   1,557 and doubling reaches 20 in 12 s and 1,455).  A refusal, slow
 *   reply or pause ends the doubling: from then on one at a time, near
 *   what the destination told us it takes.
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
 *   before a connection works doubles the pause, up to the destination's
 *   bounce profile retry_max within DLV_NB_PAUSE_MIN_MS and
 *   DLV_NB_PAUSE_MAX_MS: a down domain's probes wait out a pause
 *   (deliverd_agent.c), so a longer pause would override the retries the
 *   administrator's profile schedules, where the pause is there to keep a
 *   fast profile from hammering.  A connection that works ends the pause.
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
	/* the destination changed: what we measured is no reference */
	if (limit < nb->limit && reason != DLV_NB_R_NO_GAIN)
		memset(nb->levels, 0, sizeof(nb->levels));
	nb->limit = limit;
	nb->reason = reason;
	nb->changed_ms = now;
	snprintf(nb->why, sizeof(nb->why), "%s", why);
	nb->nsamples = 0;
	dlv_nb_period_reset(nb, now);
}

/* Trouble (refusal, slow reply, pause, a lower control): no raise is
 * being judged any more, and growth goes one at a time from now on. */
static void
dlv_nb_growth_stop(struct dlv_nb *nb)
{
	nb->probe_from = 0;
	nb->fast = 0;
	nb->no_gains = 0;	/* a changed destination: probe as new */
}

void
dlv_nb_init(struct dlv_nb *nb, int max, uint64_t now)
{
	memset(nb, 0, sizeof(*nb));
	nb->max = max < 1 ? 1 : max;
	nb->bucket_epoch = now / DLV_NB_RATE_BUCKET_MS;
	nb->fast = 1;
	nb->pause_max_ms = DLV_NB_PAUSE_MAX_MS;
	dlv_nb_set(nb, DLV_NB_START, DLV_NB_R_START, now, "new destination");
}

void
dlv_nb_set_pause_max(struct dlv_nb *nb, uint64_t ms)
{
	if (ms < DLV_NB_PAUSE_MIN_MS)
		ms = DLV_NB_PAUSE_MIN_MS;
	if (ms > DLV_NB_PAUSE_MAX_MS)
		ms = DLV_NB_PAUSE_MAX_MS;
	nb->pause_max_ms = ms;
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
	dlv_nb_growth_stop(nb);
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

/*
 * The relative spread of one limit's median: measured directly when a
 * limit is judged again (med_noise), else from the periods' spread (the
 * median distance of three values is the smaller of two and reads low).
 */
static double
dlv_nb_noise(const struct dlv_nb *nb)
{
	return nb->med_noise > nb->noise ? nb->med_noise : nb->noise;
}

/* The best mean rate of the limits below limit judged recently; 0 none. */
static double
dlv_nb_best_below(const struct dlv_nb *nb, int limit, uint64_t now)
{
	const struct dlv_nb_level *lv;
	double	 best = 0.0;
	int	 i;

	for (i = 0; i < DLV_NB_LEVELS; i++) {
		lv = &nb->levels[i];
		if (lv->n == 0 || lv->limit >= limit ||
		    now - lv->at > DLV_NB_REF_MAX_MS)
			continue;
		if (lv->mean > best)
			best = lv->mean;
	}
	return best;
}

/*
 * A judged median of limit: into its level's mean (a plain mean of the
 * first DLV_NB_LEVEL_WEIGHT, then a moving average that follows the
 * destination), and its distance from that mean into med_noise.  A new
 * limit takes the oldest slot.
 */
static void
dlv_nb_level_add(struct dlv_nb *nb, int limit, double median, uint64_t now)
{
	struct dlv_nb_level	*lv = NULL, *old = &nb->levels[0];
	double			 dev;
	int			 i;

	for (i = 0; i < DLV_NB_LEVELS; i++) {
		if (nb->levels[i].n > 0 && nb->levels[i].limit == limit &&
		    now - nb->levels[i].at <= DLV_NB_REF_MAX_MS)
			lv = &nb->levels[i];
		if (nb->levels[i].n == 0 || nb->levels[i].at < old->at)
			old = &nb->levels[i];
	}
	if (median <= 0.0)
		return;
	if (lv == NULL) {
		lv = old;
		lv->limit = limit;
		lv->n = 1;
		lv->mean = median;
		lv->at = now;
		return;
	}
	dev = median > lv->mean ? median - lv->mean : lv->mean - median;
	nb->med_noise += (dev / lv->mean - nb->med_noise) /
	    (double)(1u << DLV_NB_NOISE_SHIFT);
	if (lv->n < DLV_NB_LEVEL_WEIGHT)
		lv->n++;
	lv->mean += (median - lv->mean) / (double)lv->n;
	lv->at = now;
}

/*
 * How the median of the periods measured at the raised limit compares
 * with best: 1 rose, -1 fell, each by more than DLV_NB_GAIN_MIN_PCT and
 * by more than the noise; 0 within it.  The noise is of one median of
 * DLV_NB_JUDGE_PERIODS; the median of n periods varies about as
 * 1/sqrt(n) of a period's spread, compared squared here.
 */
static int
dlv_nb_compare(const struct dlv_nb *nb, double median, double best)
{
	double	 change, noise;

	if (best <= 0.0)	/* nothing below to compare with */
		return median > 0.0 ? 1 : 0;
	if (median <= 0.0)
		return -1;
	change = median / best - 1.0;
	if (change * change <= (DLV_NB_GAIN_MIN_PCT / 100.0) *
	    (DLV_NB_GAIN_MIN_PCT / 100.0))
		return 0;
	noise = DLV_NB_NOISE_TIMES * dlv_nb_noise(nb);
	if (change * change * (double)nb->nsamples <=
	    noise * noise * (double)DLV_NB_JUDGE_PERIODS)
		return 0;
	return change > 0.0 ? 1 : -1;
}

/*
 * The median of the judged periods' rates, and their spread: the median
 * of their distances from it, relative to it (one stalled period of
 * three moves neither).
 */
static double
dlv_nb_median(const struct dlv_nb *nb, double *spread)
{
	double	 v[DLV_NB_JUDGE_MAX_PERIODS], t;
	int	 i, j, n = nb->nsamples;

	for (i = 0; i < n; i++) {
		v[i] = nb->samples[i];
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
	t = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	*spread = 0.0;
	if (t > 0.0 && n >= 3) {
		double	 d[DLV_NB_JUDGE_MAX_PERIODS], u;

		for (i = 0; i < n; i++) {
			d[i] = v[i] > t ? v[i] - t : t - v[i];
			for (j = i; j > 0 && d[j - 1] > d[j]; j--) {
				u = d[j];
				d[j] = d[j - 1];
				d[j - 1] = u;
			}
		}
		*spread = (n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) /
		    2.0) / t;
	}
	return t;
}

/* The raise from probe_from did not pay: back there, and hold. */
static void
dlv_nb_undo(struct dlv_nb *nb, double median, double best, uint64_t now)
{
	char		 why[DLV_NB_WHY_MAX];
	uint64_t	 hold;
	int		 from = nb->probe_from, i;

	snprintf(why, sizeof(why), "%.0f msgs/min with %d connections "
	    "(median of %d periods), not clearly above %.0f with %d "
	    "or fewer (spread %.0f%%)", median, nb->limit,
	    nb->nsamples, best, from, dlv_nb_noise(nb) * 100.0);
	hold = DLV_NB_HOLD_NO_GAIN_MS;
	for (i = 0; i < nb->no_gains && hold < DLV_NB_HOLD_NO_GAIN_MAX_MS; i++)
		hold *= 2;
	if (hold > DLV_NB_HOLD_NO_GAIN_MAX_MS)
		hold = DLV_NB_HOLD_NO_GAIN_MAX_MS;
	nb->no_gains++;
	nb->probe_from = 0;
	nb->hold_until = now + hold;
	dlv_nb_set(nb, from, DLV_NB_R_NO_GAIN, now, why);
}

int
dlv_nb_tick(struct dlv_nb *nb, int blocked, uint64_t now)
{
	uint64_t	 elapsed;
	double		 rate, median, best, spread;
	char		 why[DLV_NB_WHY_MAX];
	int		 from, step, verdict;

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
		/* no demand beyond the limit, or holding: nothing learnt,
		 * and the periods judged must come in a row */
		nb->nsamples = 0;
		dlv_nb_period_reset(nb, now);
		return 0;
	}
	nb->samples[nb->nsamples++] = rate;
	dlv_nb_period_reset(nb, now);
	if (nb->nsamples % DLV_NB_JUDGE_PERIODS != 0)
		return 0;
	median = dlv_nb_median(nb, &spread);
	nb->noise += (spread - nb->noise) / (double)(1u << DLV_NB_NOISE_SHIFT);
	best = dlv_nb_best_below(nb, nb->limit, now);
	from = nb->probe_from;
	verdict = from > 0 ? dlv_nb_compare(nb, median, best) : 1;
	if (verdict <= 0) {
		if (verdict == 0 &&
		    nb->nsamples + DLV_NB_JUDGE_PERIODS <=
		    DLV_NB_JUDGE_MAX_PERIODS)
			return 0;	/* within the noise: measure longer */
		dlv_nb_level_add(nb, nb->limit, median, now);
		dlv_nb_undo(nb, median, best, now);
		return 1;
	}
	if (from > 0)
		nb->no_gains = 0;	/* that raise paid */
	dlv_nb_level_add(nb, nb->limit, median, now);
	nb->nsamples = 0;
	nb->probe_from = 0;
	if (median <= 0.0 || nb->limit >= nb->max)
		return 0;
	step = nb->fast ? nb->limit * DLV_NB_FAST_GROW_PCT / 100 : 1;
	if (step < 1)
		step = 1;
	if (step > nb->max - nb->limit)
		step = nb->max - nb->limit;
	if (from > 0)
		snprintf(why, sizeof(why), "%.0f msgs/min with %d connections, "
		    "up from %.0f with %d or fewer: trying %d", median,
		    nb->limit, best, from, nb->limit + step);
	else
		snprintf(why, sizeof(why), "%.0f msgs/min with %d connections "
		    "and jobs waiting: trying %d", median, nb->limit,
		    nb->limit + step);
	nb->probe_from = nb->limit;
	dlv_nb_set(nb, nb->limit + step, DLV_NB_R_GROW, now, why);
	return 1;
}

/* The operator asked for a retry now: this pause ends, its length and
 * the refusals in a row stay (a refusal again pauses twice as long). */
void
dlv_nb_pause_end(struct dlv_nb *nb)
{
	nb->pause_until = 0;
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
		if (nb->pause_ms > nb->pause_max_ms)
			nb->pause_ms = nb->pause_max_ms;
		nb->pause_until = now + nb->pause_ms;
		nb->pauses++;
		snprintf(why, sizeof(why), "%u new connections refused in a "
		    "row, paused %llus; last %s: %s", nb->refusals_in_row,
		    (unsigned long long)(nb->pause_ms / 1000),
		    dlv_nb_refusal_name(kind), detail ? detail : "");
		dlv_nb_growth_stop(nb);
		nb->hold_until = nb->pause_until + DLV_NB_HOLD_REFUSED_MS;
		dlv_nb_set(nb, 1, DLV_NB_R_PAUSE, now, why);
		return 1;
	}
	dlv_nb_growth_stop(nb);
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
	dlv_nb_growth_stop(nb);
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
