/*
 * bwctl show history [SERIES | domain D] [--range 1h|1d|1w|90d] [--json]
 *
 * Without an argument: the store (size, series), the last minute's
 * overview series and its top-N domain sets.  With SERIES (a name of
 * "bwctl show history", or one of the short names below): its points,
 * per minute for 1h and 1d, per hour for 1w and 90d; a counter's point is
 * what it grew by in the interval, a gauge's its mean.  With domain D:
 * the domain's points while it was in a top-N set.  Answered at once from
 * the store (no daemon is asked).
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "ctl_out.h"
#include "ctl_cmdtab.h"
#include "ctl_fmt.h"
#include "controld.h"
#include "controld_hist.h"

#define MON_ESC_MAX	(BW_DOMAIN_MAX * 4 + 1)

/* Short names for the overview series. */
static const struct {
	const char	*alias;
	const char	*series;
} mon_aliases[] = {
	{ "received", "smtpd.messages_accepted" },
	{ "rejected", "smtpd.messages_rejected" },
	{ "delivered", "queued.rcpt_delivered" },
	{ "deferred", "queued.rcpt_deferred" },
	{ "bounced", "queued.rcpt_bounced" },
	{ "queued", "queued.queued_messages" },
	{ "work_ready", "queue.work_ready" },
	{ "work_deferred", "queue.work_deferred" },
	{ "work_parked", "queue.work_parked" },
	{ "work_inflight", "queue.work_inflight" },
	{ "hosts_connected", "queued.hosts_connected" },
	{ "spool_free", "queue.spool_free_bytes" },
};
#define MON_NALIASES	(sizeof(mon_aliases) / sizeof(mon_aliases[0]))

static const struct {
	const char	*name;
	int64_t		 seconds;
	int		 res;
} mon_ranges[] = {
	{ "1h", 3600, MON_RES_MINUTE },
	{ "1d", 86400, MON_RES_MINUTE },
	{ "1w", 7 * 86400, MON_RES_HOUR },
	{ "90d", 90 * 86400, MON_RES_HOUR },
};
#define MON_NRANGES	(sizeof(mon_ranges) / sizeof(mon_ranges[0]))

/* The request's arguments (req->priv). */
struct mon_histcmd {
	char		 series[MON_SERIES_NAME_MAX];	/* "" none */
	char		 domain[BW_DOMAIN_MAX + 1];	/* "" none */
	size_t		 range;				/* in mon_ranges */
};

/* While a range is read: where the rows go. */
struct mon_walk {
	struct ctl_out	*o;
	uint64_t	 npoints;
	uint64_t	 sum;
};

#define MON_NUM	(CTL_COL_BOTH | CTL_COL_RIGHT | CTL_COL_AUTO)
#define MON_TXT	(CTL_COL_BOTH | CTL_COL_AUTO | CTL_COL_DASH)

static const struct ctl_col mon_point_cols[] = {
	{ "t", "TIME", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "v", "VALUE", CTL_T_UINT, MON_NUM, 0, NULL },
};
static const struct ctl_table mon_point_table = { "points", mon_point_cols,
    CTL_NCOLS(mon_point_cols), NULL };

static const struct ctl_col mon_dom_cols[] = {
	{ "t", "TIME", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "set", "SET", CTL_T_STR, MON_TXT, 0, NULL },
	{ "gateway", "GATEWAY", CTL_T_STR, MON_TXT, 0, NULL },
	{ "domain", "DOMAIN", CTL_T_STR, MON_TXT, 0, NULL },
	{ "state", "STATE", CTL_T_STR, MON_TXT, 0, NULL },
	{ "queued", "QUEUED", CTL_T_UINT, MON_NUM, 0, NULL },
	{ "waiting", "WAITING", CTL_T_UINT, MON_NUM, 0, NULL },
	{ "delivered", "DELIVERED", CTL_T_UINT, MON_NUM, 0, NULL },
	{ "deferred", "DEFERRED", CTL_T_UINT, MON_NUM, 0, NULL },
	{ "bounced", "BOUNCED", CTL_T_UINT, MON_NUM, 0, NULL },
	{ "oldest", "OLDEST", CTL_T_TIME, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table mon_dom_table = { "points", mon_dom_cols,
    CTL_NCOLS(mon_dom_cols), NULL };
/* the last minute's sets: the same columns but the time */
static const struct ctl_table mon_minute_table = { "domains",
    mon_dom_cols + 1, CTL_NCOLS(mon_dom_cols) - 1, NULL };

static const char *
mon_set_name(uint32_t set)
{
	if (set == MON_SET_REST)
		return "rest";
	if ((set & MON_SET_BUSIEST) && (set & MON_SET_DEFERRED))
		return "busiest,deferred";
	if (set & MON_SET_DEFERRED)
		return "deferred";
	return "busiest";
}

/* One domain row (t < 0: the table without a time column). */
static void
mon_dom_row(struct ctl_out *o, int64_t t, const struct mon_dom *d)
{
	int	 rest = d->set == MON_SET_REST;

	ctl_out_row_open(o);
	if (t >= 0)
		ctl_out_int(o, "t", t);
	ctl_out_str(o, "set", mon_set_name(d->set));
	ctl_out_str(o, "gateway", rest ? "" : d->gateway);
	ctl_out_str(o, "domain", rest ? "(rest)" : d->domain);
	ctl_out_str(o, "state", rest ? "" :
	    bw_queue_state_name((int)d->state));
	ctl_out_uint(o, "queued", d->queued);
	ctl_out_uint(o, "waiting", d->waiting);
	ctl_out_uint(o, "delivered", d->delivered);
	ctl_out_uint(o, "deferred", d->deferred);
	ctl_out_uint(o, "bounced", d->bounced);
	if (rest)
		ctl_out_null(o, "oldest");
	else
		ctl_out_int(o, "oldest", d->oldest);
	ctl_out_row_close(o);
}

static void
mon_series_cb(int64_t t, int have, uint64_t v, void *arg)
{
	struct mon_walk	*w = arg;

	ctl_out_row_open(w->o);
	ctl_out_int(w->o, "t", t);
	if (have)
		ctl_out_uint(w->o, "v", v);
	else
		ctl_out_null(w->o, "v");
	ctl_out_row_close(w->o);
	if (have) {
		w->npoints++;
		w->sum += v;
	}
}

static void
mon_domain_cb(int64_t t, const struct mon_dom *d, void *arg)
{
	struct mon_walk	*w = arg;

	if (d == NULL)
		return;		/* not in a set then: no row */
	w->npoints++;
	w->sum += d->delivered;
	mon_dom_row(w->o, t, d);
}

/* No argument: the store and the last minute. */
static int
mon_histcmd_overview(struct ctl_out *o)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;
	struct mon_point	*p;
	const struct mon_val	*v;
	int64_t			 t = mon_res_start(MON_RES_MINUTE, bw_time()) -
				    MON_MINUTE;
	size_t			 i, k;
	uint32_t		 id, kind;
	char			 ts[32];

	if ((p = malloc(sizeof(*p))) == NULL) {
		ctl_out_note(o, "controld: out of memory");
		return 1;
	}
	ctl_out_str(o, "dir", cfg->monitor_dir);
	ctl_out_uint(o, "bytes", mon_hist_bytes());
	ctl_out_uint(o, "max_bytes", (uint64_t)BW_LIMIT(cfg,
	    LIM_MONITOR_HISTORY_MAX_BYTES));
	ctl_out_uint(o, "interval_ms", (uint64_t)BW_LIMIT(cfg,
	    LIM_MONITOR_SAMPLE_INTERVAL));
	ctl_out_uint(o, "top_domains", (uint64_t)BW_LIMIT(cfg,
	    LIM_MONITOR_TOP_DOMAINS));
	ctl_out_list_open(o, "series");
	for (id = 1; id <= mon_hist_series_count(); id++)
		if (mon_hist_series_name(id) != NULL)
			ctl_out_str(o, NULL, mon_hist_series_name(id));
	ctl_out_list_close(o);
	ctl_out_raw(o, "history: %s, %llu bytes (limit %lld), %u series, a "
	    "sample every %lld ms, %lld domains per set\n", cfg->monitor_dir,
	    (unsigned long long)mon_hist_bytes(),
	    BW_LIMIT(cfg, LIM_MONITOR_HISTORY_MAX_BYTES),
	    mon_hist_series_count(),
	    BW_LIMIT(cfg, LIM_MONITOR_SAMPLE_INTERVAL),
	    BW_LIMIT(cfg, LIM_MONITOR_TOP_DOMAINS));
	if (mon_hist_get(MON_RES_MINUTE, t, p) != 0) {
		ctl_out_null(o, "minute");
		ctl_out_raw(o, "no point for the last minute yet\n");
		free(p);
		return 0;
	}
	ctl_fmt_time(ts, sizeof(ts), t);
	ctl_out_raw(o, "last minute: %s (%u samples)\n", ts, p->nsamples);
	ctl_out_obj_open(o, "minute");
	ctl_out_int(o, "t", t);
	ctl_out_uint(o, "samples", p->nsamples);
	ctl_out_obj_open(o, "values");
	for (k = 0; k < MON_NALIASES; k++)
		if (mon_hist_series_find(mon_aliases[k].series, &id,
		    &kind) == 0 && (v = mon_point_val(p, id)) != NULL) {
			ctl_out_uint(o, mon_aliases[k].alias, v->v);
			ctl_out_raw(o, "  %-16s %llu\n", mon_aliases[k].alias,
			    (unsigned long long)v->v);
		}
	ctl_out_obj_close(o);
	ctl_out_table_open(o, &mon_minute_table);
	for (i = 0; i < p->ndoms; i++)
		mon_dom_row(o, -1, &p->doms[i]);
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	free(p);
	return 0;
}

static int
mon_histcmd_render(struct ctl_req *req, struct ctl_out *o)
{
	struct mon_histcmd	*a = req->priv;
	struct mon_walk		 w;
	int64_t			 now = bw_time(), from;
	uint32_t		 id, kind = MON_DELTA;
	int			 res = mon_ranges[a->range].res, rc = 0;
	char			 esc[MON_ESC_MAX];

	ctl_out_obj_open(o, NULL);
	if (!mon_hist_ok()) {
		ctl_out_note(o, "history is off (see controld's log; "
		    "monitor_dir %s)", ctl_env->d.cfg->monitor_dir);
		ctl_out_obj_close(o);
		return 1;
	}
	if (a->series[0] == '\0' && a->domain[0] == '\0') {
		rc = mon_histcmd_overview(o);
		ctl_out_obj_close(o);
		return rc;
	}
	if (a->series[0] != '\0' && mon_hist_series_find(a->series, &id,
	    &kind) == -1) {
		ctl_out_note(o, "no series '%s' in the history (bwctl show "
		    "history lists them)", log_escape(esc, sizeof(esc),
		    a->series, strlen(a->series)));
		ctl_out_obj_close(o);
		return 1;
	}
	from = now - mon_ranges[a->range].seconds;
	memset(&w, 0, sizeof(w));
	w.o = o;
	if (a->series[0] != '\0') {
		ctl_out_str(o, "series", a->series);
		ctl_out_str(o, "kind", kind == MON_GAUGE ? "gauge" : "counter");
		ctl_out_raw(o, "%s (%s, per %s), last %s\n", a->series,
		    kind == MON_GAUGE ? "gauge: mean" : "counter: growth",
		    res == MON_RES_HOUR ? "hour" : "minute",
		    mon_ranges[a->range].name);
	} else
		ctl_out_str(o, "domain", a->domain);
	ctl_out_str(o, "range", mon_ranges[a->range].name);
	ctl_out_int(o, "step", mon_res_step(res));
	if (a->series[0] != '\0') {
		ctl_out_table_open(o, &mon_point_table);
		(void)mon_hist_series(a->series, res, from, now,
		    mon_series_cb, &w);
	} else {
		ctl_out_table_open(o, &mon_dom_table);
		ctl_out_table_empty(o, "(%s was in no top-N set in the last "
		    "%s)", log_escape(esc, sizeof(esc), a->domain,
		    strlen(a->domain)), mon_ranges[a->range].name);
		(void)mon_hist_domain(NULL, a->domain, res, from, now,
		    mon_domain_cb, &w);
	}
	ctl_out_table_close(o);
	ctl_out_uint(o, "npoints", w.npoints);
	ctl_out_uint(o, "sum", w.sum);
	ctl_out_obj_close(o);
	return 0;
}

/* show history [SERIES | domain D] [--range R] [--json] */
static int
mon_histcmd_parse(void *priv, int argc, char *argv[], struct ctl_parse *pc)
{
	struct mon_histcmd	*a = priv;
	const char		*series = NULL, *domain = NULL;
	size_t			 r, k;
	int			 i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i],
		    "-j") == 0) {
			if (pc->fmt == CTL_FMT_TEXT)
				pc->fmt = CTL_FMT_JSON;
		} else if (strcmp(argv[i], "--range") == 0 && i + 1 < argc) {
			for (r = 0; r < MON_NRANGES; r++)
				if (strcmp(argv[i + 1],
				    mon_ranges[r].name) == 0)
					break;
			if (r == MON_NRANGES)
				goto usage;
			a->range = r;
			i++;
		} else if (strcmp(argv[i], "domain") == 0 && i + 1 < argc &&
		    series == NULL && domain == NULL) {
			domain = argv[++i];
			if (domain[0] == '\0' || strlen(domain) > BW_DOMAIN_MAX)
				goto usage;
		} else if (argv[i][0] != '-' && series == NULL &&
		    domain == NULL && strlen(argv[i]) < MON_SERIES_NAME_MAX)
			series = argv[i];
		else
			goto usage;
	}
	if (series != NULL)
		for (k = 0; k < MON_NALIASES; k++)
			if (strcmp(series, mon_aliases[k].alias) == 0)
				series = mon_aliases[k].series;
	if (series != NULL)
		strlcpy(a->series, series, sizeof(a->series));
	if (domain != NULL)
		strlcpy(a->domain, domain, sizeof(a->domain));
	return 0;
usage:
	snprintf(pc->err, sizeof(pc->err), "usage: show history [SERIES | "
	    "domain D] [--range 1h|1d|1w|90d] [--json]");
	return -1;
}

/* Answered at once from the store: no daemon is asked. */
const struct ctl_cmd_ops mon_hist_ops = {
	.privsz = sizeof(struct mon_histcmd),
	.parse = mon_histcmd_parse,
	.start = ctl_req_done,
	.render = mon_histcmd_render,
};
