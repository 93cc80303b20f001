/*
 * The monitor's sampler: every monitor_sample_interval controld asks
 * every daemon for its counters (STATUS_REQ) and queued for the top-N
 * queues (QUEUE_TOP_REQ, monitor_top_domains per set), with the request
 * id MON_SAMPLE_PEERID + round so that bwctl's requests and late answers
 * of an earlier round are told apart.  A round ends when every answer is
 * in, or after CTL_STATUS_WAIT_MS (or the interval, if shorter) with what
 * came.
 *
 * A round becomes series "proc.counter" (workers summed: "deliverd.jobs")
 * and "queue.*" (queued's top-N totals).  A counter counts what it grew
 * by since the same process's previous round (a process started since
 * then, or since controld started, counts from zero; one older than
 * that seen for the first time by this controld counts nothing, its
 * counts having been stored by the controld before); a gauge
 * (mon_series_is_gauge) is its value.  Rounds fill the minute
 * (mon_rec.c's accumulator); the first round of a new minute closes
 * the old one with the domains of its QUEUE_TOP answer (whose windows
 * are the minute just closed) and hands it to the store.
 *
 * Limits: CTL_DAEMONS_MAX answers per round, 2 x monitor_top_domains
 * rows, MON_SERIES_MAX series.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "controld.h"
#include "controld_hist.h"


/* The previous round of one process, for counters' deltas. */
struct mon_prev {
	char		 proc[BW_NAME_MAX];
	uint32_t	 pid;
	int64_t		 seen;		/* round time */
	struct bw_status st;
};

struct mon_round {
	uint64_t		 seq;
	int64_t			 t;
	size_t			 want;		/* answers still due */
	int			 open;
	struct mon_sample	 s;
	size_t			 topcap;
};

static struct event	*mon_ev_tick;
static struct event	*mon_ev_wait;
static struct mon_round	 mon_cur;
static struct mon_sample mon_last;		/* the last round finished */
static int		 mon_have_last;
static uint64_t		 mon_seq;
static struct mon_prev	*mon_prevs;
static size_t		 mon_nprevs;
static struct mon_acc	*mon_acc;		/* the minute being filled */
static struct mon_point	*mon_minute;		/* the minute closed */
static uint64_t		 mon_sval[MON_SERIES_MAX];	/* one round's */
static uint8_t		 mon_skind[MON_SERIES_MAX];

/* Counters that are levels, not counts (by name, any process). */
static const char *const mon_gauges[] = {
	"connections_active", "pressure_level", "open_messages",
	"queued_messages", "queued_recipients", "jobs_active",
	"queues_in_memory", "body_segments", "body_pieces", "body_bytes",
	"commits_pending", "largest_batch", "hostcount_hosts",
	"hosts_connected", "work_ready", "work_deferred", "work_parked",
	"work_inflight", "spool_free_bytes", "top_answer_us", "agents", "jobs_held",
	"inflight", "clients_active", "cache_entries", "cache_bytes",
	"daemons_connected", "requests_in_flight", "config_generation",
	"config_digest",
};

int
mon_series_is_gauge(const char *name)
{
	const char	*c = strchr(name, '.');
	size_t		 i;

	if (c == NULL)
		c = name;
	else
		c++;
	/* queued's top-N totals are levels, but for the latency counts */
	if (strncmp(name, "queue.", 6) == 0)
		return strncmp(c, "lat_", 4) != 0;
	for (i = 0; i < sizeof(mon_gauges) / sizeof(mon_gauges[0]); i++)
		if (strcmp(c, mon_gauges[i]) == 0)
			return 1;
	return 0;
}

const struct mon_sample *
mon_sample_last(void)
{
	return mon_have_last ? &mon_last : NULL;
}

static void
mon_sample_clear(struct mon_sample *s)
{
	free(s->status);
	free(s->top);
	memset(s, 0, sizeof(*s));
}

/* ---- a round into series ---- */

static struct mon_prev *
mon_prev_find(const char *proc)
{
	struct mon_prev	*v;
	size_t		 i;

	for (i = 0; i < mon_nprevs; i++)
		if (strcmp(mon_prevs[i].proc, proc) == 0)
			return &mon_prevs[i];
	if (mon_nprevs >= CTL_DAEMONS_MAX)
		return NULL;
	if ((v = reallocarray(mon_prevs, mon_nprevs + 1, sizeof(*v))) == NULL)
		return NULL;
	mon_prevs = v;
	v = &mon_prevs[mon_nprevs++];
	memset(v, 0, sizeof(*v));
	strlcpy(v->proc, proc, sizeof(v->proc));
	return v;
}

static int
mon_prev_value(const struct bw_status *st, size_t hint, const char *name,
    uint64_t *v)
{
	uint32_t	 i;

	if (hint < st->ncounters && strcmp(st->counters[hint].name,
	    name) == 0) {
		*v = st->counters[hint].value;
		return 0;
	}
	for (i = 0; i < st->ncounters && i < BW_STATUS_COUNTERS_MAX; i++)
		if (strcmp(st->counters[i].name, name) == 0) {
			*v = st->counters[i].value;
			return 0;
		}
	return -1;
}

/* One process's answer: its counters into this round's series. */
static void
mon_round_status(const struct bw_status *st, int64_t t, int64_t prev_t)
{
	struct mon_prev	*p;
	char		 base[BW_NAME_MAX], name[MON_SERIES_NAME_MAX];
	uint64_t	 old, delta;
	uint32_t	 i, id, kind;
	int64_t		 since;
	int		 known;
	char		*br;

	strlcpy(base, st->proc, sizeof(base));
	if ((br = strchr(base, '[')) != NULL)	/* workers summed */
		*br = '\0';
	if (base[0] == '\0')
		return;
	p = mon_prev_find(st->proc);
	known = p != NULL && p->pid == st->pid && p->seen != 0;
	/* a process new to us counts from zero if it started after the
	 * round before (after controld, at the first): else its counts
	 * are older than us, and were stored by a controld before */
	since = prev_t != 0 ? prev_t : ctl_env->d.started;
	for (i = 0; i < st->ncounters && i < BW_STATUS_COUNTERS_MAX; i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s.%s", base,
		    st->counters[i].name) >= sizeof(name))
			continue;
		kind = mon_series_is_gauge(name) ? MON_GAUGE : MON_DELTA;
		if ((id = mon_hist_series_id(name, kind)) == 0)
			continue;
		if (kind == MON_GAUGE)
			delta = st->counters[i].value;
		else if (known && mon_prev_value(&p->st, i,
		    st->counters[i].name, &old) == 0 &&
		    st->counters[i].value >= old)
			delta = st->counters[i].value - old;
		else if (!known && st->started >= since)
			delta = st->counters[i].value;	/* started since */
		else
			delta = 0;
		mon_skind[id] = (uint8_t)kind;
		mon_sval[id] += delta;
	}
	if (p != NULL) {
		p->pid = st->pid;
		p->seen = t;
		p->st = *st;
	}
}

/* queued's top-N totals as a status row of their own ("queue"). */
static void
mon_top_status(const struct mon_sample *s, struct bw_status *st)
{
	const struct bw_queue_top_end	*e = &s->top_end;
	static const char *const le[BW_LAT_BUCKETS] = {
		"lat_le_1s", "lat_le_5s", "lat_le_15s", "lat_le_30s",
		"lat_le_1m", "lat_le_5m", "lat_le_15m", "lat_le_1h",
		"lat_le_4h", "lat_le_12h", "lat_le_1d", "lat_le_inf",
	};
	size_t				 i;

	memset(st, 0, sizeof(*st));
	strlcpy(st->proc, "queue", sizeof(st->proc));
	for (i = 0; i < s->nstatus; i++)
		if (strcmp(s->status[i].proc, "queued") == 0) {
			st->pid = s->status[i].pid;
			st->started = s->status[i].started;
		}
	bw_status_add(st, "queues", e->nqueues);
	bw_status_add(st, "queues_active", e->queues[BW_QUEUE_ACTIVE]);
	bw_status_add(st, "queues_down", e->queues[BW_QUEUE_DOWN]);
	bw_status_add(st, "queues_suspended", e->queues[BW_QUEUE_SUSPENDED]);
	bw_status_add(st, "msgs_active", e->msgs[BW_QUEUE_ACTIVE]);
	bw_status_add(st, "msgs_down", e->msgs[BW_QUEUE_DOWN]);
	bw_status_add(st, "msgs_suspended", e->msgs[BW_QUEUE_SUSPENDED]);
	bw_status_add(st, "work_ready", e->ready);
	bw_status_add(st, "work_deferred", e->deferred);
	bw_status_add(st, "work_parked", e->parked);
	bw_status_add(st, "work_inflight", e->inflight);
	if (e->spool_free != UINT64_MAX)
		bw_status_add(st, "spool_free_bytes", e->spool_free);
	for (i = 0; i < BW_LAT_BUCKETS; i++)
		bw_status_add(st, le[i], e->lat_buckets[i]);
	bw_status_add(st, "lat_sum_ms", e->lat_sum_ms);
	bw_status_add(st, "lat_count", e->lat_count);
}

/* The closing minute's domains: the top answer whose windows are it. */
static void
mon_minute_doms(struct mon_point *p, const struct mon_sample *s)
{
	const struct bw_queue_top_end	*e = &s->top_end;
	int				 win = s->have_top && e->minute == p->t;
	size_t				 i;

	p->ndoms = 0;
	if (!s->have_top)
		return;
	for (i = 0; i < s->ntop && p->ndoms < MON_DOMS_MAX - 1; i++) {
		const struct bw_queue_top_entry	*te = &s->top[i];
		struct mon_dom			*d = &p->doms[p->ndoms++];

		memset(d, 0, sizeof(*d));
		d->set = te->sets & (MON_SET_BUSIEST | MON_SET_DEFERRED);
		d->state = te->q.state;
		strlcpy(d->gateway, te->q.gateway, sizeof(d->gateway));
		strlcpy(d->domain, te->q.domain, sizeof(d->domain));
		d->queued = te->queued;
		d->waiting = te->waiting;
		d->delivered = win ? te->win_delivered : 0;
		d->deferred = win ? te->win_deferred : 0;
		d->bounced = win ? te->win_bounced : 0;
		d->oldest = te->q.oldest;
	}
	p->doms[p->ndoms].set = MON_SET_REST;
	p->doms[p->ndoms].gateway[0] = '\0';
	p->doms[p->ndoms].domain[0] = '\0';
	p->doms[p->ndoms].state = 0;
	p->doms[p->ndoms].queued = e->rest_queued;
	p->doms[p->ndoms].waiting = e->rest_waiting;
	p->doms[p->ndoms].delivered = win ? e->rest_win_delivered : 0;
	p->doms[p->ndoms].deferred = win ? e->rest_win_deferred : 0;
	p->doms[p->ndoms].bounced = win ? e->rest_win_bounced : 0;
	p->doms[p->ndoms].oldest = 0;
	p->ndoms++;
}

/* A round is over: it becomes the last sample and goes into the minute. */
static void
mon_round_finish(void)
{
	struct mon_round	*r = &mon_cur;
	struct bw_status	 self, top;
	int64_t			 minute, prev_t;
	size_t			 i, topn;
	uint32_t		 id;

	if (!r->open)
		return;
	r->open = 0;
	evtimer_del(mon_ev_wait);
	prev_t = mon_have_last ? mon_last.t : 0;
	mon_sample_clear(&mon_last);
	mon_last = r->s;
	mon_have_last = 1;
	memset(&r->s, 0, sizeof(r->s));
	r->topcap = 0;
	if (!mon_hist_ok() || mon_acc == NULL)
		return;

	memset(mon_sval, 0, sizeof(mon_sval));
	memset(mon_skind, 0, sizeof(mon_skind));
	ctl_status_self(&self);
	mon_round_status(&self, mon_last.t, prev_t);
	for (i = 0; i < mon_last.nstatus; i++)
		mon_round_status(&mon_last.status[i], mon_last.t, prev_t);
	if (mon_last.have_top) {
		mon_top_status(&mon_last, &top);
		mon_round_status(&top, mon_last.t, prev_t);
	}

	topn = (size_t)BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_TOP_DOMAINS);
	minute = mon_res_start(MON_RES_MINUTE, mon_last.t);
	if (mon_acc->t != minute) {
		if (mon_acc->t != 0 && mon_acc->nsamples > 0) {
			mon_acc_point(mon_acc, mon_minute);
			mon_minute_doms(mon_minute, &mon_last);
			mon_hist_minute(mon_minute, topn);
		}
		mon_acc_reset(mon_acc, minute);
	}
	mon_acc->nsamples++;
	for (id = 1; id < MON_SERIES_MAX; id++)
		if (mon_skind[id] != 0)
			mon_acc_add(mon_acc, id, mon_skind[id], mon_sval[id]);
}

static void
mon_wait_cb(evutil_socket_t fd, short ev, void *arg)
{
	mon_round_finish();
}

static void
mon_round_answered(void)
{
	if (mon_cur.want > 0)
		mon_cur.want--;
	if (mon_cur.want == 0)
		mon_round_finish();
}

static uint32_t
mon_round_peerid(uint64_t seq)
{
	return MON_SAMPLE_PEERID + (uint32_t)(seq % MON_SAMPLE_IDS);
}

/* Ask every daemon; queued for the top-N as well. */
static void
mon_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mon_round	*r = &mon_cur;
	struct ctl_daemon	*d;
	struct bw_queue_top_req	 tr;
	struct timeval		 tv;
	long long		 interval, wait;
	uint32_t		 peerid;

	interval = BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_SAMPLE_INTERVAL);
	tv.tv_sec = interval / 1000;
	tv.tv_usec = (interval % 1000) * 1000;
	evtimer_add(mon_ev_tick, &tv);

	mon_round_finish();	/* one still waiting: what came is kept */
	memset(r, 0, sizeof(*r));
	r->seq = ++mon_seq;
	r->t = bw_time();
	r->s.t = r->t;
	r->s.seq = r->seq;
	peerid = mon_round_peerid(r->seq);
	if ((r->s.status = calloc(CTL_DAEMONS_MAX,
	    sizeof(*r->s.status))) == NULL) {
		log_warn("monitor: sample");
		return;
	}
	r->open = 1;
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (!bw_peer_is_up(d->peer) || bw_peer_send(d->peer,
		    BW_IMSG_STATUS_REQ, peerid, -1, NULL, 0) == -1)
			continue;
		r->want++;
	}
	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) != NULL) {
		memset(&tr, 0, sizeof(tr));
		tr.n = (uint32_t)BW_LIMIT(ctl_env->d.cfg,
		    LIM_MONITOR_TOP_DOMAINS);
		r->topcap = 2 * (size_t)tr.n;
		if ((r->s.top = calloc(r->topcap, sizeof(*r->s.top))) != NULL &&
		    bw_peer_send(d->peer, BW_IMSG_QUEUE_TOP_REQ, peerid, -1,
		    &tr, sizeof(tr)) == 0)
			r->want++;
	}
	if (r->want == 0) {
		mon_round_finish();
		return;
	}
	wait = interval < CTL_STATUS_WAIT_MS ? interval * 9 / 10 :
	    CTL_STATUS_WAIT_MS;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(mon_ev_wait, &tv);
}

int
mon_sample_status(struct bw_peer *peer, uint32_t peerid,
    const struct bw_status *st)
{
	struct mon_round	*r = &mon_cur;

	if (!MON_SAMPLE_ID(peerid))
		return 0;
	if (!r->open || peerid != mon_round_peerid(r->seq))
		return 1;		/* a late answer: dropped */
	if (r->s.nstatus < CTL_DAEMONS_MAX)
		r->s.status[r->s.nstatus++] = *st;
	mon_round_answered();
	return 1;
}

/* QUEUE_TOP_ENTRY and QUEUE_TOP_END (the catalog let only queued send). */
void
mon_sample_top_msg(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct mon_round		*r = &mon_cur;
	struct bw_queue_top_entry	 te;

	if (!r->open || imsg->hdr.peerid != mon_round_peerid(r->seq) ||
	    r->s.top == NULL || r->s.have_top)
		return;
	if (imsg->hdr.type == BW_IMSG_QUEUE_TOP_ENTRY) {
		if (r->s.ntop >= r->topcap)
			return;
		memcpy(&te, imsg->data, sizeof(te));
		te.q.gateway[sizeof(te.q.gateway) - 1] = '\0';
		te.q.domain[sizeof(te.q.domain) - 1] = '\0';
		te.q.last_error[sizeof(te.q.last_error) - 1] = '\0';
		if (te.q.state >= BW_QUEUE_STATE__COUNT)
			te.q.state = BW_QUEUE_ACTIVE;
		r->s.top[r->s.ntop++] = te;
		return;
	}
	memcpy(&r->s.top_end, imsg->data, sizeof(r->s.top_end));
	r->s.have_top = 1;
	mon_round_answered();
}

void
mon_sample_start(void)
{
	struct timeval	 tv = { 1, 0 };	/* the first round soon */

	if ((mon_ev_tick = evtimer_new(ctl_env->d.base, mon_tick_cb,
	    NULL)) == NULL ||
	    (mon_ev_wait = evtimer_new(ctl_env->d.base, mon_wait_cb,
	    NULL)) == NULL ||
	    (mon_acc = calloc(1, sizeof(*mon_acc))) == NULL ||
	    (mon_minute = calloc(1, sizeof(*mon_minute))) == NULL) {
		log_warn("monitor: sampler not started");
		mon_sample_stop();
		return;
	}
	evtimer_add(mon_ev_tick, &tv);
}

void
mon_sample_stop(void)
{
	if (mon_ev_tick != NULL)
		event_free(mon_ev_tick);
	if (mon_ev_wait != NULL)
		event_free(mon_ev_wait);
	mon_ev_tick = NULL;
	mon_ev_wait = NULL;
	mon_cur.open = 0;	/* answers still coming are dropped */
	mon_sample_clear(&mon_cur.s);
	mon_sample_clear(&mon_last);
	mon_have_last = 0;
	free(mon_prevs);
	mon_prevs = NULL;
	mon_nprevs = 0;
	free(mon_acc);
	free(mon_minute);
	mon_acc = NULL;
	mon_minute = NULL;
}
