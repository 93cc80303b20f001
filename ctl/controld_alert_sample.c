/*
 * The alerts' figures from the monitor's sampler (mon_sample_last, every
 * monitor_sample_interval): the work queue (messages ready for delivery,
 * in active queues), the top queues
 * (the busiest and the most deferred, monitor_top_domains each) with
 * their recipients waiting, oldest message and delivery latency, and the
 * spool's free space (statvfs here when queued does not know it).
 *
 * Latency p95 of a queue: queued counts its deliveries in buckets since
 * the queue was made (BW_LAT_BUCKETS, arrival to final delivery); the p95
 * is the upper bound of the bucket that holds the 95th percent of the
 * deliveries between a snapshot one to two windows old and now (a window:
 * CTL_ALERT_LAT_SAMPLES sample intervals, a minute by default; no
 * delivery in that time: not known, no alert).
 *
 * XXX: the oldest message and the queues are the top sets only, not
 * every queue: a small queue with an old message that is neither among
 * the busiest nor the most deferred is not seen (its domain is in the
 * "rest" of the sample).
 *
 * Limits: CTL_ALERT_SAMPLE_DOMS_MAX queues followed for latency.
 */
#include "bw_autoconf.h"

#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "controld.h"
#include "controld_alert_src.h"
#include "controld_hist.h"

#define CTL_ALERT_SAMPLE_DOMS_MAX (2 * BW_QUEUE_TOP_MAX)
#define CTL_ALERT_LAT_SAMPLES	6	/* a snapshot is kept this many
					   sample intervals (a minute) */

/* A queue's latency buckets at two moments, for the deliveries since. */
struct ctl_alert_lat {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	int64_t		 tm;			/* when mid was taken */
	uint64_t	 base[BW_LAT_BUCKETS];	/* the older */
	uint64_t	 mid[BW_LAT_BUCKETS];
};

static struct ctl_alert_figures	 ctl_fig;
static struct ctl_alert_dom	*ctl_fig_doms;
static struct ctl_alert_lat	*ctl_lats, *ctl_lats_next;
static size_t			 ctl_nlats;
static uint64_t			 ctl_fig_sample;	/* the sample's seq */

/* Upper bound (ms) of each bucket; the last stands for "over a day". */
static const uint64_t ctl_alert_lat_le_ms[BW_LAT_BUCKETS] = {
	1000, 5000, 15000, 30000, 60000, 300000, 900000, 3600000,
	4 * 3600000ULL, 12 * 3600000ULL, 86400000ULL, 7 * 86400000ULL,
};

/* p95 of the deliveries between base and now; 0 if there were none. */
static uint64_t
ctl_alert_p95(const uint64_t *now, const uint64_t *base)
{
	uint64_t	 d[BW_LAT_BUCKETS], total = 0, need, acc = 0;
	size_t		 i;

	for (i = 0; i < BW_LAT_BUCKETS; i++) {
		if (now[i] < base[i])
			return 0;	/* the queue was made again */
		d[i] = now[i] - base[i];
		total += d[i];
	}
	if (total == 0)
		return 0;
	need = (total * 95 + 99) / 100;
	for (i = 0; i < BW_LAT_BUCKETS; i++)
		if ((acc += d[i]) >= need)
			return ctl_alert_lat_le_ms[i];
	return ctl_alert_lat_le_ms[BW_LAT_BUCKETS - 1];
}

static struct ctl_alert_lat *
ctl_alert_lat_find(const char *gw, const char *dom)
{
	size_t	 i;

	for (i = 0; i < ctl_nlats; i++)
		if (strcmp(ctl_lats[i].domain, dom) == 0 &&
		    strcmp(ctl_lats[i].gateway, gw) == 0)
			return &ctl_lats[i];
	return NULL;
}

/* The figures of sample s; the latency snapshots move on. */
static void
ctl_alert_sample_build(const struct mon_sample *s)
{
	const struct bw_queue_top_entry	*te;
	struct ctl_alert_dom		*d;
	struct ctl_alert_lat		*old, *l, *swap;
	struct statvfs			 sv;
	size_t				 i, k, m, n;
	int64_t				 window;

	if (ctl_fig_doms == NULL && ((ctl_fig_doms = calloc(
	    CTL_ALERT_SAMPLE_DOMS_MAX, sizeof(*ctl_fig_doms))) == NULL ||
	    (ctl_lats = calloc(CTL_ALERT_SAMPLE_DOMS_MAX,
	    sizeof(*ctl_lats))) == NULL || (ctl_lats_next = calloc(
	    CTL_ALERT_SAMPLE_DOMS_MAX, sizeof(*ctl_lats_next))) == NULL)) {
		log_warnx("alerts: no memory for the figures");
		return;
	}
	window = BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_SAMPLE_INTERVAL) *
	    CTL_ALERT_LAT_SAMPLES / 1000;
	if (window < 1)
		window = 1;
	ctl_fig.seq++;
	ctl_fig.when = s->t * 1000;
	ctl_fig.have_work = s->have_top;
	ctl_fig.work_queue = s->have_top ? s->top_end.ready : 0;
	ctl_fig.have_disk = s->have_top && s->top_end.spool_free != UINT64_MAX;
	ctl_fig.disk_free = ctl_fig.have_disk ? s->top_end.spool_free : 0;
	if (!ctl_fig.have_disk &&
	    statvfs(ctl_env->d.cfg->spool_dir, &sv) == 0) {
		ctl_fig.have_disk = 1;
		ctl_fig.disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	}
	ctl_fig.have_latency = s->have_top;
	ctl_fig.complete = 0;
	ctl_fig.oldest = 0;
	n = 0;
	for (i = 0; s->have_top && i < s->ntop &&
	    n < CTL_ALERT_SAMPLE_DOMS_MAX; i++) {
		te = &s->top[i];
		d = &ctl_fig_doms[n];
		memset(d, 0, sizeof(*d));
		BW_IMSG_STR(d->gateway, te->q.gateway);
		BW_IMSG_STR(d->domain, te->q.domain);
		d->state = te->q.state;
		d->queued = te->queued;
		d->oldest = te->q.oldest;
		bw_imsg_str(d->last_error, sizeof(d->last_error),
		    te->q.last_error, sizeof(te->q.last_error));
		if (d->queued > 0 && d->oldest > 0 && (ctl_fig.oldest == 0 ||
		    d->oldest < ctl_fig.oldest))
			ctl_fig.oldest = d->oldest;
		/* latency: snapshots carried over to the next table */
		l = &ctl_lats_next[n];
		if ((old = ctl_alert_lat_find(d->gateway, d->domain)) != NULL)
			*l = *old;
		else {
			memset(l, 0, sizeof(*l));
			strlcpy(l->gateway, d->gateway, sizeof(l->gateway));
			strlcpy(l->domain, d->domain, sizeof(l->domain));
			memcpy(l->base, te->lat_buckets, sizeof(l->base));
			memcpy(l->mid, te->lat_buckets, sizeof(l->mid));
			l->tm = s->t;
		}
		if (s->t - l->tm >= window) {
			memcpy(l->base, l->mid, sizeof(l->base));
			memcpy(l->mid, te->lat_buckets, sizeof(l->mid));
			l->tm = s->t;
		}
		d->p95_ms = ctl_alert_p95(te->lat_buckets, l->base);
		n++;
	}
	/* a queue out of the top sets for now (empty, before its minute of
	 * deliveries is the last full one) keeps its snapshots a while */
	m = n;
	for (i = 0; i < ctl_nlats && m < CTL_ALERT_SAMPLE_DOMS_MAX; i++) {
		if (s->t - ctl_lats[i].tm >= 2 * window)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(ctl_lats_next[k].domain,
			    ctl_lats[i].domain) == 0 &&
			    strcmp(ctl_lats_next[k].gateway,
			    ctl_lats[i].gateway) == 0)
				break;
		if (k == n)
			ctl_lats_next[m++] = ctl_lats[i];
	}
	swap = ctl_lats;
	ctl_lats = ctl_lats_next;
	ctl_lats_next = swap;
	ctl_nlats = m;
	ctl_fig.doms = ctl_fig_doms;
	ctl_fig.ndoms = n;
}

const struct ctl_alert_figures *
ctl_alert_sample_figures(void)
{
	const struct mon_sample	*s = mon_sample_last();

	if (s == NULL)
		return NULL;
	if (s->seq != ctl_fig_sample) {
		ctl_fig_sample = s->seq;
		ctl_alert_sample_build(s);
	}
	return &ctl_fig;
}

void
ctl_alert_sample_free(void)
{
	free(ctl_fig_doms);
	free(ctl_lats);
	free(ctl_lats_next);
	ctl_fig_doms = NULL;
	ctl_lats = ctl_lats_next = NULL;
	ctl_nlats = 0;
	ctl_fig_sample = 0;
	memset(&ctl_fig, 0, sizeof(ctl_fig));
}

/*
 * The one source of figures: the sampler's; none before its first sample
 * (it runs when the history opened); the poll's without a history.
 */
const struct ctl_alert_figures *
ctl_alert_figures(void)
{
	static const struct ctl_alert_figures	 none;
	const struct ctl_alert_figures		*f;

	if ((f = ctl_alert_sample_figures()) != NULL)
		return f;
	if (mon_hist_ok())
		return &none;
	return ctl_alert_poll_figures();
}

void
ctl_alert_src_tick(int want_queues)
{
	if (!mon_hist_ok())
		ctl_alert_poll_tick(want_queues);
}

void
ctl_alert_src_free(void)
{
	ctl_alert_sample_free();
	ctl_alert_poll_free();
}
