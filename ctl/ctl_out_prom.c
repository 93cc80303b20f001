/*
 * ctl_out's Prometheus renderer (text exposition format 0.0.4): the
 * tables opened with a metric prefix (struct ctl_table.metric) become
 * metric families named breakwater_PREFIX_...; everything else (objects,
 * other tables, notes) is left out, and raw text is written as it is (a
 * document that embeds another's Prometheus text: /metrics).  In a row:
 *
 *   CTL_COL_LABEL    the cell is a label of every sample of the row
 *   CTL_COL_GAUGE    a gauge  PREFIX_KEY{labels} value
 *   CTL_COL_COUNTER  a counter PREFIX_KEY_total{labels} value
 *                    (a number, or a string that is one: "0.125")
 *   a KV cell marked GAUGE or COUNTER: one family per item,
 *                    PREFIX_ITEM[_total], gauge or counter by
 *                    ctl_metric_is_gauge(ITEM) (daemon counters)
 *   a KV cell marked CTL_COL_HIST: a histogram PREFIX, its items the
 *                    cumulative buckets by their upper bound ("+Inf"
 *                    last), with the row's "sum" and "count" cells
 *
 * The format wants every sample of a family together, under one TYPE
 * line: samples are kept per family and written at the end, families in
 * the order they first came.  Label values are escaped (\\, \", \n);
 * names are made of [a-zA-Z0-9_:] only.
 *
 * Limits: CTL_PROM_FAMILIES_MAX families (more are dropped, and a comment
 * at the end says how many), CTL_PROM_LABELS_MAX bytes of labels per
 * row.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util.h"
#include "ctl_metric.h"
#include "ctl_out.h"

#define CTL_PROM_FAMILIES_MAX	2048
#define CTL_PROM_LABELS_MAX	2048
#define CTL_PROM_NAMESPACE	"breakwater_"

enum ctl_prom_type { PROM_GAUGE, PROM_COUNTER, PROM_HISTOGRAM };

struct ctl_prom_family {
	char			 name[CTL_METRIC_NAME_MAX];
	enum ctl_prom_type	 type;
	struct evbuffer		*samples;
};

struct ctl_prom {
	struct ctl_prom_family	*fams;
	size_t			 n, cap;
	uint64_t		 dropped;
	struct evbuffer		*labels;	/* the row's, "k=\"v\",..." */
};

static const char *const ctl_prom_type_names[] = {
	[PROM_GAUGE] = "gauge", [PROM_COUNTER] = "counter",
	[PROM_HISTOGRAM] = "histogram",
};

static int
ctl_pr_begin(struct ctl_out *o)
{
	struct ctl_prom	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if ((p->labels = evbuffer_new()) == NULL) {
		free(p);
		return -1;
	}
	ctl_out_set_rstate(o, p);
	return 0;
}

static void
ctl_pr_free(struct ctl_out *o)
{
	struct ctl_prom	*p = ctl_out_rstate(o);
	size_t		 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		evbuffer_free(p->fams[i].samples);
	free(p->fams);
	evbuffer_free(p->labels);
	free(p);
}

/* The family of that name, made if new; NULL past the limit. */
static struct ctl_prom_family *
ctl_pr_family(struct ctl_prom *p, const char *name, enum ctl_prom_type type)
{
	struct ctl_prom_family	*f;
	size_t			 i, ncap;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->fams[i].name, name) == 0)
			return &p->fams[i];
	if (p->n == CTL_PROM_FAMILIES_MAX) {
		p->dropped++;
		return NULL;
	}
	if (p->n == p->cap) {
		ncap = p->cap == 0 ? 64 : p->cap * 2;
		if ((f = reallocarray(p->fams, ncap, sizeof(*f))) == NULL) {
			p->dropped++;
			return NULL;
		}
		p->fams = f;
		p->cap = ncap;
	}
	f = &p->fams[p->n];
	memset(f, 0, sizeof(*f));
	if ((f->samples = evbuffer_new()) == NULL) {
		p->dropped++;
		return NULL;
	}
	strlcpy(f->name, name, sizeof(f->name));
	f->type = type;
	p->n++;
	return f;
}

/* A numeric cell's value; 0 if it has none. */
static int
ctl_pr_number(const struct ctl_val *v, char *dst, size_t dstsz)
{
	switch (v->kind) {
	case CTL_V_INT:
	case CTL_V_BOOL:
		snprintf(dst, dstsz, "%" PRId64, v->i);
		return 1;
	case CTL_V_UINT:
		snprintf(dst, dstsz, "%" PRIu64, v->u);
		return 1;
	case CTL_V_STR: {
		char	*end;
		double	 d;

		errno = 0;
		d = strtod(v->s, &end);
		if (errno != 0 || end == v->s || *end != '\0' || !isfinite(d))
			return 0;
		snprintf(dst, dstsz, "%.17g", d);
		return 1;
	}
	default:
		return 0;
	}
}

/* One sample: NAME{labels[,extra]} value. */
static void
ctl_pr_sample(struct ctl_prom *p, struct ctl_prom_family *f,
    const char *suffix, const char *extra_label, const char *extra_value,
    const char *value)
{
	size_t	 llen = evbuffer_get_length(p->labels);

	evbuffer_add_printf(f->samples, "%s%s", f->name, suffix);
	if (llen > 0 || extra_label != NULL) {
		evbuffer_add(f->samples, "{", 1);
		if (llen > 0)
			evbuffer_add(f->samples, evbuffer_pullup(p->labels,
			    -1), llen);
		if (extra_label != NULL) {
			evbuffer_add_printf(f->samples, "%s%s=",
			    llen > 0 ? "," : "", extra_label);
			ctl_metric_label(f->samples, extra_value);
		}
		evbuffer_add(f->samples, "}", 1);
	}
	evbuffer_add_printf(f->samples, " %s\n", value);
}

static void
ctl_pr_table_open(struct ctl_out *o, const struct ctl_table *t)
{
}

/* breakwater_PREFIX_KEY */
static void
ctl_pr_name(char *dst, size_t dstsz, const char *prefix, const char *key)
{
	char	 pk[CTL_METRIC_NAME_MAX];

	snprintf(pk, sizeof(pk), "%s_%s", prefix, key);
	ctl_metric_name(dst, dstsz, CTL_PROM_NAMESPACE, pk, NULL);
}

/* The row's labels, from its LABEL cells. */
static void
ctl_pr_labels(struct ctl_prom *p, const struct ctl_table *t,
    const struct ctl_row *row)
{
	char	 name[CTL_METRIC_NAME_MAX], num[32];
	size_t	 c;

	evbuffer_drain(p->labels, evbuffer_get_length(p->labels));
	for (c = 0; c < t->ncols; c++) {
		const struct ctl_val	*v = &row->cells[c];
		const char		*s = NULL;

		if (!(t->cols[c].flags & CTL_COL_LABEL))
			continue;
		if (v->kind == CTL_V_STR)
			s = v->s;
		else if (ctl_pr_number(v, num, sizeof(num)))
			s = num;
		if (s == NULL ||
		    evbuffer_get_length(p->labels) > CTL_PROM_LABELS_MAX)
			continue;
		ctl_metric_name(name, sizeof(name), NULL, t->cols[c].key,
		    NULL);
		evbuffer_add_printf(p->labels, "%s%s=",
		    evbuffer_get_length(p->labels) > 0 ? "," : "", name);
		ctl_metric_label(p->labels, s);
	}
}

/* A histogram: the KV cell's items are the buckets. */
static void
ctl_pr_hist(struct ctl_prom *p, const struct ctl_table *t,
    const struct ctl_row *row, const struct ctl_val *kv)
{
	struct ctl_prom_family	*f;
	char			 name[CTL_METRIC_NAME_MAX], num[32];
	size_t			 i, c;

	ctl_metric_name(name, sizeof(name), CTL_PROM_NAMESPACE, t->metric,
	    NULL);
	if ((f = ctl_pr_family(p, name, PROM_HISTOGRAM)) == NULL)
		return;
	for (i = 0; i < kv->nitems; i++)
		if (kv->items[i].key != NULL &&
		    ctl_pr_number(&kv->items[i].v, num, sizeof(num)))
			ctl_pr_sample(p, f, "_bucket", "le",
			    kv->items[i].key, num);
	for (c = 0; c < t->ncols; c++) {
		if (strcmp(t->cols[c].key, "sum") != 0 &&
		    strcmp(t->cols[c].key, "count") != 0)
			continue;
		if (ctl_pr_number(&row->cells[c], num, sizeof(num)))
			ctl_pr_sample(p, f, strcmp(t->cols[c].key, "sum") == 0 ?
			    "_sum" : "_count", NULL, NULL, num);
	}
}

static void
ctl_pr_row(struct ctl_out *o, const struct ctl_table *t,
    const struct ctl_row *row)
{
	struct ctl_prom		*p = ctl_out_rstate(o);
	struct ctl_prom_family	*f;
	const struct ctl_col	*col;
	const struct ctl_val	*v;
	char			 name[CTL_METRIC_NAME_MAX], num[32];
	size_t			 c, i;
	int			 gauge;

	if (t->metric == NULL)
		return;
	ctl_pr_labels(p, t, row);
	for (c = 0; c < t->ncols; c++) {
		col = &t->cols[c];
		v = &row->cells[c];
		if (col->flags & CTL_COL_HIST) {
			if (v->kind == CTL_V_ITEMS)
				ctl_pr_hist(p, t, row, v);
			continue;
		}
		if (!(col->flags & (CTL_COL_GAUGE | CTL_COL_COUNTER)))
			continue;
		if (v->kind == CTL_V_ITEMS) {
			/* daemon counters: the list says which are gauges */
			for (i = 0; i < v->nitems; i++) {
				if (v->items[i].key == NULL ||
				    !ctl_pr_number(&v->items[i].v, num,
				    sizeof(num)))
					continue;
				gauge = ctl_metric_is_gauge(v->items[i].key);
				ctl_pr_name(name, sizeof(name), t->metric,
				    v->items[i].key);
				if (!gauge)
					strlcat(name, "_total", sizeof(name));
				if ((f = ctl_pr_family(p, name, gauge ?
				    PROM_GAUGE : PROM_COUNTER)) != NULL)
					ctl_pr_sample(p, f, "", NULL, NULL,
					    num);
			}
			continue;
		}
		if (!ctl_pr_number(v, num, sizeof(num)))
			continue;
		gauge = (col->flags & CTL_COL_GAUGE) != 0;
		ctl_pr_name(name, sizeof(name), t->metric, col->key);
		if (!gauge)
			strlcat(name, "_total", sizeof(name));
		if ((f = ctl_pr_family(p, name, gauge ? PROM_GAUGE :
		    PROM_COUNTER)) != NULL)
			ctl_pr_sample(p, f, "", NULL, NULL, num);
	}
}

static void
ctl_pr_end(struct ctl_out *o)
{
	struct ctl_prom	*p = ctl_out_rstate(o);
	struct evbuffer	*out = ctl_out_buf(o);
	size_t		 i;

	/* TYPE names the samples as written (a counter's with _total, as
	 * the text format 0.0.4 has it) */
	for (i = 0; i < p->n; i++) {
		evbuffer_add_printf(out, "# TYPE %s %s\n", p->fams[i].name,
		    ctl_prom_type_names[p->fams[i].type]);
		evbuffer_add_buffer(out, p->fams[i].samples);
	}
	if (p->dropped > 0)
		evbuffer_add_printf(out, "# %" PRIu64 " metric families "
		    "dropped (at most %d)\n", p->dropped,
		    CTL_PROM_FAMILIES_MAX);
}

static void
ctl_pr_nothing(struct ctl_out *o)
{
}

static void
ctl_pr_key(struct ctl_out *o, const char *key)
{
}

static void
ctl_pr_value(struct ctl_out *o, const char *key, const struct ctl_val *v)
{
}

static void
ctl_pr_table_close(struct ctl_out *o, const struct ctl_table *t,
    const char *empty)
{
}

static void
ctl_pr_note(struct ctl_out *o, const char *text)
{
}

/* Another document's Prometheus text, as it is. */
static void
ctl_pr_raw(struct ctl_out *o, const char *text)
{
	evbuffer_add(ctl_out_buf(o), text, strlen(text));
}

const struct ctl_out_ops ctl_out_prom_ops = {
	.name = "prometheus",
	.begin = ctl_pr_begin,
	.obj_open = ctl_pr_key,
	.obj_close = ctl_pr_nothing,
	.list_open = ctl_pr_key,
	.list_close = ctl_pr_nothing,
	.value = ctl_pr_value,
	.table_open = ctl_pr_table_open,
	.row = ctl_pr_row,
	.table_close = ctl_pr_table_close,
	.note = ctl_pr_note,
	.raw = ctl_pr_raw,
	.end = ctl_pr_end,
	.free = ctl_pr_free,
};
