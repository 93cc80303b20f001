/*
 * bwctl metrics and /metrics: the Prometheus text format (exposition
 * 0.0.4) of controld's figures, rendered by ctl_out_prom.c:
 *
 *   breakwater_process_*      every daemon counter, from the rows of
 *                             "status" (run inside controld, fresh):
 *                             counters _total, gauges (ctl_metric.c)
 *                             bare, labels name= (deliverd[N]) and state=
 *   breakwater_queue_*        queues and messages by queue state
 *   breakwater_work_*         the work queue: ready, deferred, parked,
 *                             in flight
 *   breakwater_spool_free_bytes
 *   breakwater_destination_*  the top queues (the sampler's two sets of
 *                             monitor_top_domains: busiest, most
 *                             deferred), labels gateway= domain= state=
 *   breakwater_delivery_latency_seconds  a histogram, arrival to final
 *                             delivery, since queued started
 *   breakwater_alert_*        the alerts (active 1/0, notices told)
 *
 * The queue figures are the sampler's last sample (mon_sample_last, at
 * most monitor_sample_interval old), its age in
 * breakwater_monitor_sample_age_seconds; without a sample they are left
 * out.  The text is the same for bwctl and for the web.
 *
 * Limits: what the sample holds (bounded by monitor_top_domains) and
 * CTL_PROM_FAMILIES_MAX families.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_mon.h"
#include "controld_hist.h"

#define CTL_METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

struct ctl_metrics_priv {
	uint32_t		 sub;		/* the status run; 0: over */
	struct evbuffer		*status;	/* its Prometheus text */
};

/* The status run's answer: kept for the render. */
static void
ctl_metrics_status_done(void *arg, uint32_t subid, int exitcode,
    struct evbuffer *out)
{
	struct ctl_req		*req = ctl_req_find((uint32_t)(uintptr_t)arg);
	struct ctl_metrics_priv	*p;

	if (req == NULL || req->ops != &ctl_metrics_ops)
		return;		/* it timed out or its caller went away */
	p = req->priv;
	p->sub = 0;
	if (exitcode == 0 && p->status != NULL)
		evbuffer_add_buffer(p->status, out);
	else
		log_warnx("metrics: status answered %d; left out", exitcode);
	ctl_req_done(req);
}

static void
ctl_metrics_start(struct ctl_req *req)
{
	static char		 cmd[] = "status";
	char			*argv[] = { cmd };
	struct ctl_metrics_priv	*p = req->priv;
	uint32_t		 id = req->id, sub;

	p->sub = 0;
	if ((p->status = evbuffer_new()) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	sub = ctl_cmd_run(ctl_metrics_status_done, (void *)(uintptr_t)id,
	    &req->who, CTL_FMT_PROM, 1, argv);
	/* the run may have answered at once, and this request is over */
	if ((req = ctl_req_find(id)) == NULL || req->ops != &ctl_metrics_ops)
		return;
	p = req->priv;
	if (p->sub == 0 && sub != 0)
		p->sub = sub;
	else if (sub == 0)	/* it could not start: no status part */
		ctl_req_done(req);
}

static const struct ctl_col ctl_mq_state_cols[] = {
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 0, NULL },
	{ "queues", "QUEUES", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0,
	    NULL },
	{ "messages", "MESSAGES", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0,
	    NULL },
};
static const struct ctl_table ctl_mq_state_table = { "queues",
    ctl_mq_state_cols, CTL_NCOLS(ctl_mq_state_cols), "queue" };

static const struct ctl_col ctl_mq_work_cols[] = {
	{ "ready", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "deferred", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "parked", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "inflight", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
};
static const struct ctl_table ctl_mq_work_table = { "work",
    ctl_mq_work_cols, CTL_NCOLS(ctl_mq_work_cols), "work" };

static const struct ctl_col ctl_mq_min_cols[] = {
	{ "delivered", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0,
	    NULL },
	{ "deferred", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "bounced", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
};
static const struct ctl_table ctl_mq_min_table = { "last_minute",
    ctl_mq_min_cols, CTL_NCOLS(ctl_mq_min_cols), "last_minute" };

static const struct ctl_col ctl_mq_mon_cols[] = {
	{ "spool_free_bytes", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE,
	    0, NULL },
	{ "sample_age_seconds", NULL, CTL_T_INT, CTL_COL_BOTH | CTL_COL_GAUGE,
	    0, NULL },
};
static const struct ctl_table ctl_mq_mon_table = { "monitor",
    ctl_mq_mon_cols, CTL_NCOLS(ctl_mq_mon_cols), "monitor" };

static const struct ctl_col ctl_mq_dest_cols[] = {
	{ "gateway", NULL, CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 0, NULL },
	{ "domain", NULL, CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 0, NULL },
	{ "state", NULL, CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 0, NULL },
	{ "queued", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "recipients", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0,
	    NULL },
	{ "waiting", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "oldest_age_seconds", NULL, CTL_T_INT, CTL_COL_BOTH | CTL_COL_GAUGE,
	    0, NULL },
	{ "active_jobs", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_GAUGE, 0,
	    NULL },
	{ "delivered", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_COUNTER, 0,
	    NULL },
	{ "hard_bounces", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_COUNTER, 0,
	    NULL },
	{ "soft_bounces", NULL, CTL_T_UINT, CTL_COL_BOTH | CTL_COL_COUNTER, 0,
	    NULL },
	{ "last_minute_delivered", NULL, CTL_T_UINT, CTL_COL_BOTH |
	    CTL_COL_GAUGE, 0, NULL },
	{ "last_minute_deferred", NULL, CTL_T_UINT, CTL_COL_BOTH |
	    CTL_COL_GAUGE, 0, NULL },
};
static const struct ctl_table ctl_mq_dest_table = { "destinations",
    ctl_mq_dest_cols, CTL_NCOLS(ctl_mq_dest_cols), "destination" };

static const struct ctl_col ctl_mq_lat_cols[] = {
	{ "buckets", NULL, CTL_T_KV, CTL_COL_DATA | CTL_COL_HIST, 0, NULL },
	{ "sum", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "count", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_mq_lat_table = { "latency",
    ctl_mq_lat_cols, CTL_NCOLS(ctl_mq_lat_cols), "delivery_latency_seconds" };

/* Upper bounds of queued's latency buckets (queued_top.c), seconds. */
static const char *const ctl_mq_le[BW_LAT_BUCKETS] = {
	"1", "5", "15", "30", "60", "300", "900", "3600", "14400", "43200",
	"86400", "+Inf",
};

/* The sampler's queue figures (none before its first sample). */
static void
ctl_metrics_queue_rows(struct ctl_out *o)
{
	const struct mon_sample		*s = mon_sample_last();
	const struct bw_queue_top_end	*e;
	const struct bw_queue_top_entry	*te;
	char				 gw[BW_NAME_MAX];
	char				 dom[BW_DOMAIN_MAX + 1], sum[32];
	int64_t				 now = bw_time();
	uint64_t			 acc;
	size_t				 i;

	if (s == NULL || !s->have_top)
		return;
	e = &s->top_end;
	ctl_out_table_open(o, &ctl_mq_state_table);
	for (i = 0; i < BW_QUEUE_STATE__COUNT; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "state", bw_queue_state_name((int)i));
		ctl_out_uint(o, "queues", e->queues[i]);
		ctl_out_uint(o, "messages", e->msgs[i]);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);

	ctl_out_table_open(o, &ctl_mq_work_table);
	ctl_out_row_open(o);
	ctl_out_uint(o, "ready", e->ready);
	ctl_out_uint(o, "deferred", e->deferred);
	ctl_out_uint(o, "parked", e->parked);
	ctl_out_uint(o, "inflight", e->inflight);
	ctl_out_row_close(o);
	ctl_out_table_close(o);

	ctl_out_table_open(o, &ctl_mq_min_table);
	ctl_out_row_open(o);
	ctl_out_uint(o, "delivered", e->win_delivered);
	ctl_out_uint(o, "deferred", e->win_deferred);
	ctl_out_uint(o, "bounced", e->win_bounced);
	ctl_out_row_close(o);
	ctl_out_table_close(o);

	ctl_out_table_open(o, &ctl_mq_mon_table);
	ctl_out_row_open(o);
	if (e->spool_free != UINT64_MAX)
		ctl_out_uint(o, "spool_free_bytes", e->spool_free);
	ctl_out_int(o, "sample_age_seconds", now - s->t);
	ctl_out_row_close(o);
	ctl_out_table_close(o);

	/* bounded: the sampler's two sets of monitor_top_domains */
	ctl_out_table_open(o, &ctl_mq_dest_table);
	for (i = 0; i < s->ntop; i++) {
		te = &s->top[i];
		BW_IMSG_STR(gw, te->q.gateway);
		BW_IMSG_STR(dom, te->q.domain);
		ctl_out_row_open(o);
		ctl_out_str(o, "gateway", gw);
		ctl_out_str(o, "domain", dom);
		ctl_out_str(o, "state", bw_queue_state_name((int)te->q.state));
		ctl_out_uint(o, "queued", te->queued);
		ctl_out_uint(o, "recipients", te->q.messages);
		ctl_out_uint(o, "waiting", te->waiting);
		ctl_out_int(o, "oldest_age_seconds", te->q.oldest > 0 &&
		    te->q.oldest < now ? now - te->q.oldest : 0);
		ctl_out_uint(o, "active_jobs", te->q.active_jobs);
		ctl_out_uint(o, "delivered", te->q.delivered);
		ctl_out_uint(o, "hard_bounces", te->q.hard_bounces);
		ctl_out_uint(o, "soft_bounces", te->q.soft_bounces);
		ctl_out_uint(o, "last_minute_delivered", te->win_delivered);
		ctl_out_uint(o, "last_minute_deferred", te->win_deferred);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);

	ctl_out_table_open(o, &ctl_mq_lat_table);
	ctl_out_row_open(o);
	ctl_out_obj_open(o, "buckets");
	for (i = 0, acc = 0; i < BW_LAT_BUCKETS; i++) {
		acc += e->lat_buckets[i];
		ctl_out_uint(o, ctl_mq_le[i], acc);
	}
	ctl_out_obj_close(o);
	snprintf(sum, sizeof(sum), "%llu.%03llu",
	    (unsigned long long)(e->lat_sum_ms / 1000),
	    (unsigned long long)(e->lat_sum_ms % 1000));
	ctl_out_str(o, "sum", sum);
	ctl_out_uint(o, "count", e->lat_count);
	ctl_out_row_close(o);
	ctl_out_table_close(o);
}

/* The document: the status text (PROM only), then our tables. */
static void
ctl_metrics_doc(struct ctl_out *o, struct ctl_metrics_priv *p)
{
	size_t	 len, n;
	char	*s;

	ctl_out_obj_open(o, NULL);
	if (ctl_out_fmt(o) == CTL_FMT_PROM && p->status != NULL &&
	    (len = evbuffer_get_length(p->status)) > 0) {
		evbuffer_add(p->status, "", 1);
		s = (char *)evbuffer_pullup(p->status, -1);
		/* raw pieces are cut at CTL_OUT_NOTE_MAX: whole lines */
		while (len > 0) {
			n = len < CTL_OUT_NOTE_MAX ? len : CTL_OUT_NOTE_MAX;
			while (n < len && n > 0 && s[n - 1] != '\n')
				n--;
			if (n == 0)
				n = len < CTL_OUT_NOTE_MAX ? len :
				    CTL_OUT_NOTE_MAX;
			ctl_out_raw(o, "%.*s", (int)n, s);
			s += n;
			len -= n;
		}
	}
	ctl_metrics_queue_rows(o);
	ctl_alert_rows(o);
	ctl_out_obj_close(o);
}

/*
 * bwctl metrics prints the Prometheus text (rendered here and passed on
 * as raw text); --json has our tables without the status part (bwctl
 * status --json has it).
 */
static int
ctl_metrics_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_metrics_priv	*p = req->priv;
	struct ctl_out		*po;
	struct evbuffer		*b;
	size_t			 len, n;
	char			*s;
	int			 ret = 0;

	if (ctl_out_fmt(o) != CTL_FMT_TEXT) {
		ctl_metrics_doc(o, p);
		return 0;
	}
	if ((b = evbuffer_new()) == NULL ||
	    (po = ctl_out_new(CTL_FMT_PROM, b)) == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		ctl_out_note(o, "controld: out of memory");
		return 1;
	}
	ctl_metrics_doc(po, p);
	if (ctl_out_end(po) == -1) {
		ctl_out_note(o, "metrics: %s", ctl_out_error(po));
		ret = 1;
	}
	ctl_out_free(po);
	ctl_out_obj_open(o, NULL);
	len = evbuffer_get_length(b);
	evbuffer_add(b, "", 1);
	s = (char *)evbuffer_pullup(b, -1);
	while (ret == 0 && len > 0) {
		n = len < CTL_OUT_NOTE_MAX ? len : CTL_OUT_NOTE_MAX;
		while (n < len && n > 0 && s[n - 1] != '\n')
			n--;
		if (n == 0)
			n = len < CTL_OUT_NOTE_MAX ? len : CTL_OUT_NOTE_MAX;
		ctl_out_raw(o, "%.*s", (int)n, s);
		s += n;
		len -= n;
	}
	ctl_out_obj_close(o);
	evbuffer_free(b);
	return ret;
}

static void
ctl_metrics_free(void *arg)
{
	struct ctl_metrics_priv	*p = arg;

	if (p->sub != 0)
		ctl_cmd_cancel(p->sub);
	if (p->status != NULL)
		evbuffer_free(p->status);
}

const struct ctl_cmd_ops ctl_metrics_ops = {
	.privsz = sizeof(struct ctl_metrics_priv),
	.start = ctl_metrics_start,
	.render = ctl_metrics_render,
	.free = ctl_metrics_free,
};

/* /metrics: the same text, for Prometheus (HTTP Basic or a session). */
static void
ctl_metrics_http_done(void *arg, uint32_t reqid, int exitcode,
    struct evbuffer *out)
{
	struct evhttp_request	*req = arg;

	mon_http_reply(req, exitcode == 0 ? 200 : 500, CTL_METRICS_CTYPE,
	    out);
}

static void
ctl_metrics_page(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static char		 cmd[] = "metrics";
	char			*argv[] = { cmd };
	struct ctl_principal	 who;

	if (rest[0] != '\0') {
		mon_http_error(req, 404, "no such page");
		return;
	}
	memset(&who, 0, sizeof(who));
	snprintf(who.name, sizeof(who.name), "web user=%s addr=%s", a->user,
	    a->addr);
	who.may = ((a->may & MON_MAY_VIEW) ? CTL_MAY_VIEW : 0) |
	    ((a->may & MON_MAY_ACT) ? CTL_MAY_ACT : 0);
	(void)ctl_cmd_run(ctl_metrics_http_done, req, &who, CTL_FMT_PROM, 1,
	    argv);
}

/* After mon_http_start: the route (nothing serves it without a
 * listener). */
void
ctl_metrics_routes(void)
{
	if (mon_http_route("/metrics", MON_MAY_VIEW, MON_GET,
	    ctl_metrics_page) == -1)
		log_warnx("metrics: no route for /metrics");
}
