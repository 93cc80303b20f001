/*
 * The history part of the monitor's pages: charts of the history
 * (mon_hist_series, mon_hist_domain; controld_hist.c) and the figures of
 * the latest sample (mon_sample_last; controld_sample.c).  See
 * controld_pages.h.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "imsg_catalog.h"
#include "util.h"
#include "controld_hist.h"
#include "controld_pages.h"
#include "controld_svg.h"
#include "ctl_json.h"

/* A range's resolution in the store. */
#define MON_RES(r)	((r)->hours ? MON_RES_HOUR : MON_RES_MINUTE)

/*
 * History.
 */

struct mon_chart_fill {
	struct svg_chart	*c;
	int			 s;
	struct ctl_json		*j;	/* JSON: [t, v] pairs */
};

static void
mon_chart_point_cb(int64_t t, int have, uint64_t v, void *arg)
{
	struct mon_chart_fill	*f = arg;

	if (!have)
		return;
	if (f->c != NULL)
		svg_chart_set(f->c, f->s, t, v);
	if (f->j != NULL) {
		ctl_json_arr_open(f->j, NULL);
		ctl_json_int(f->j, NULL, t);
		ctl_json_uint(f->j, NULL, v);
		ctl_json_arr_close(f->j);
	}
}

/* A chart of up to SVG_SERIES_MAX series over the page's range. */
void
mon_pages_chart(struct evbuffer *b, struct ctl_json *j,
    const struct mon_range *r, const char *title, enum svg_kind kind,
    const struct mon_series_ref *refs, size_t nrefs)
{
	int64_t			 now = time(NULL);
	int64_t			 to = now - now % r->step;
	int64_t			 from = to - r->span + r->step;
	struct mon_chart_fill	 f;
	size_t			 i, n = (size_t)(r->span / r->step);

	memset(&f, 0, sizeof(f));
	if (j != NULL) {
		for (i = 0; i < nrefs; i++) {
			f.j = j;
			ctl_json_arr_open(j, refs[i].name);
			(void)mon_hist_series(refs[i].series, MON_RES(r), from, to,
			    mon_chart_point_cb, &f);
			ctl_json_arr_close(j);
		}
		return;
	}
	if ((f.c = svg_chart_new(title, kind, from, r->step, n)) == NULL)
		return;
	for (i = 0; i < nrefs && i < SVG_SERIES_MAX; i++) {
		f.s = svg_chart_series(f.c, refs[i].name);
		(void)mon_hist_series(refs[i].series, MON_RES(r), from, to,
		    mon_chart_point_cb, &f);
	}
	svg_chart_render(f.c, b);
	svg_chart_free(f.c);
}

/* A domain's delivered and deferred recipients and its queue. */
struct mon_dom_fill {
	struct svg_chart	*flow, *queue;
	int			 sd, sf, sb, sq;
	struct ctl_json		*j;
};

static void
mon_dom_point_cb(int64_t t, const struct mon_dom *d, void *arg)
{
	struct mon_dom_fill	*f = arg;

	if (d == NULL)
		return;
	if (f->j != NULL) {
		ctl_json_obj_open(f->j, NULL);
		ctl_json_int(f->j, "t", t);
		ctl_json_uint(f->j, "delivered", d->delivered);
		ctl_json_uint(f->j, "deferred", d->deferred);
		ctl_json_uint(f->j, "bounced", d->bounced);
		ctl_json_uint(f->j, "queued", d->queued);
		ctl_json_obj_close(f->j);
		return;
	}
	svg_chart_set(f->flow, f->sd, t, d->delivered);
	svg_chart_set(f->flow, f->sf, t, d->deferred);
	svg_chart_set(f->flow, f->sb, t, d->bounced);
	svg_chart_set(f->queue, f->sq, t, d->queued);
}

void
mon_pages_domain_charts(struct evbuffer *b, struct ctl_json *j,
    const struct mon_range *r, const char *gw, const char *dom)
{
	int64_t			 now = time(NULL);
	int64_t			 to = now - now % r->step;
	int64_t			 from = to - r->span + r->step;
	size_t			 n = (size_t)(r->span / r->step);
	struct mon_dom_fill	 f;
	int			 rc;

	memset(&f, 0, sizeof(f));
	if (j != NULL) {
		f.j = j;
		ctl_json_arr_open(j, "points");
		(void)mon_hist_domain(gw != NULL && gw[0] ? gw : NULL, dom,
		    MON_RES(r), from, to, mon_dom_point_cb, &f);
		ctl_json_arr_close(j);
		return;
	}
	if ((f.flow = svg_chart_new("Recipients per interval", SVG_BARS, from,
	    r->step, n)) == NULL ||
	    (f.queue = svg_chart_new("Queued messages", SVG_LINE, from,
	    r->step, n)) == NULL) {
		svg_chart_free(f.flow);
		return;
	}
	f.sd = svg_chart_series(f.flow, "delivered");
	f.sf = svg_chart_series(f.flow, "deferred");
	f.sb = svg_chart_series(f.flow, "bounced");
	f.sq = svg_chart_series(f.queue, "queued");
	rc = mon_hist_domain(gw != NULL && gw[0] ? gw : NULL, dom, MON_RES(r), from,
	    to, mon_dom_point_cb, &f);
	svg_chart_render(f.flow, b);
	svg_chart_render(f.queue, b);
	if (rc == -1)
		evbuffer_add_printf(b, "<p class=\"note\">No history: the "
		    "monitor's history store is not open.</p>\n");
	else
		evbuffer_add_printf(b, "<p class=\"note\">History is kept for "
		    "the busiest and the most deferred destinations of each "
		    "interval (monitor_top_domains); an interval where this "
		    "one was in neither has no point.</p>\n");
	svg_chart_free(f.flow);
	svg_chart_free(f.queue);
}

/*
 * The latest sample: figures.
 */

/* A counter of the sample, summed over a process's rows (workers). */
static int
mon_sample_counter(const struct mon_sample *s, const char *proc,
    const char *name, uint64_t *v)
{
	size_t	 i, k;
	int	 found = 0;

	*v = 0;
	for (i = 0; s != NULL && i < s->nstatus; i++) {
		const struct bw_status	*st = &s->status[i];
		size_t			 n = strlen(proc);

		/* "smtpd[1]" is one of smtpd's workers */
		if (strncmp(st->proc, proc, n) != 0 ||
		    (st->proc[n] != '\0' && st->proc[n] != '['))
			continue;
		for (k = 0; k < st->ncounters && k < BW_STATUS_COUNTERS_MAX;
		    k++)
			if (strcmp(st->counters[k].name, name) == 0) {
				*v += st->counters[k].value;
				found = 1;
			}
	}
	return found ? 0 : -1;
}

static const struct {
	const char	*key;
	const char	*label;
	const char	*proc, *counter;
} mon_figures[] = {
	{ "received", "received", "smtpd", "messages_accepted" },
	{ "delivered", "delivered (rcpts)", "queued", "rcpt_delivered" },
	{ "bounced", "bounced (rcpts)", "queued", "rcpt_bounced" },
	{ "rejected_policy", "rejected by policy", "smtpd", "policy_reject" },
	{ "queued", "queued messages", "queued", "queued_messages" },
	{ "work_ready", "work queue: ready", "queued", "work_ready" },
	{ "work_deferred", "work queue: deferred", "queued", "work_deferred" },
	{ "hosts_connected", "hosts connected", "queued", "hosts_connected" },
};
#define MON_NFIGURES	(sizeof(mon_figures) / sizeof(mon_figures[0]))

void
mon_pages_figures(struct evbuffer *b, struct ctl_json *j)
{
	const struct mon_sample	*s = mon_sample_last();
	uint64_t		 v;
	size_t			 i;

	if (j != NULL) {
		if (s == NULL) {
			ctl_json_null(j, "sample");
			return;
		}
		ctl_json_obj_open(j, "sample");
		ctl_json_int(j, "time", s->t);
		for (i = 0; i < MON_NFIGURES; i++)
			if (mon_sample_counter(s, mon_figures[i].proc,
			    mon_figures[i].counter, &v) == 0)
				ctl_json_uint(j, mon_figures[i].key, v);
		ctl_json_obj_close(j);
		return;
	}
	if (s == NULL) {
		evbuffer_add_printf(b, "<p class=\"note\">No sample yet: the "
		    "monitor samples every monitor_sample_interval.</p>\n");
		return;
	}
	evbuffer_add_printf(b, "<div class=\"figures\" data-sample-time="
	    "\"%" PRId64 "\">\n", s->t);
	for (i = 0; i < MON_NFIGURES; i++) {
		if (mon_sample_counter(s, mon_figures[i].proc,
		    mon_figures[i].counter, &v) == -1)
			continue;
		evbuffer_add_printf(b, "<div class=\"figure\" data-key=\"%s\" "
		    "data-v=\"%" PRIu64 "\"><b>%" PRIu64 "</b>%s</div>\n",
		    mon_figures[i].key, v, v, mon_figures[i].label);
	}
	evbuffer_add_printf(b, "</div>\n<p class=\"note\">Totals since the "
	    "daemons started, as of the last sample (");
	{
		char		 tb[32];
		struct tm	 tm;
		time_t		 tt = (time_t)s->t;

		if (localtime_r(&tt, &tm) != NULL &&
		    strftime(tb, sizeof(tb), "%H:%M:%S", &tm) > 0)
			evbuffer_add_printf(b, "%s", tb);
	}
	evbuffer_add_printf(b, ").</p>\n");
}
