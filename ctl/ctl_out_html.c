/*
 * ctl_out's HTML renderer (the monitor's pages): the same rows bwctl
 * --json shows, as an HTML fragment that a page puts between its header
 * and footer.
 *
 *   values of an object	<dl class="kv"> of key and value
 *   an object with a key	<section data-obj="key"><h2>key</h2>...
 *   a list			<ul data-list="key"><li>...
 *   a table			<table data-table="key"> with the DATA
 *				columns (as JSON has them), headers that are
 *				sort links ?sort=KEY&dir=asc|desc, cells
 *				<td data-key="key" data-v="raw value">
 *   notes			<p class="note">; raw text (TEXT only) is not
 *				shown
 *
 * Every string is escaped (ctl_html.c); times show as local time, ages as
 * bwctl shows them, and data-v keeps the figure as JSON has it, for
 * scripts and tests.  With a view (ctl_out_html_view) a table's rows are
 * buffered, sorted by one column and written at its close; cells of named
 * columns become links (a domain to its page, a queue id to its message).
 * At most CTL_HTML_ROWS_MAX rows of a table are shown: the rest are
 * counted in a note (the JSON has them all).
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "util.h"
#include "ctl_html.h"
#include "ctl_out.h"
#include "ctl_out_html.h"

/* A rendered row, kept for sorting. */
struct ctl_hrow {
	struct ctl_val	 key;	/* the sort column's value (s owned) */
	size_t		 seq;	/* arrival order: ties keep it */
	char		*html;
	size_t		 len;
};

/* One group of a summary: its name, rows, and the sums per column. */
struct ctl_hgroup {
	char		 name[CTL_HTML_GROUP_NAME_MAX];
	uint64_t	 rows;
	int64_t		*sum;		/* ncols of the table */
};

struct ctl_hsum {
	long			 col;	/* the column grouped by */
	struct ctl_hgroup	 g[CTL_HTML_GROUPS_MAX + 1];	/* + other */
	size_t			 n;
};

struct ctl_hr {
	struct ctl_html_view	 view;
	int			 have_view;
	int			 dl_open;	/* a <dl> of values is open */
	int			 depth;		/* objects and lists open */
	int			 in_list[CTL_OUT_DEPTH_MAX + 1];
	/* the open table */
	long			 sortcol;	/* -1: rows as they come */
	struct ctl_hrow		*rows;
	size_t			 nrows, caprows;
	size_t			 nseen;		/* rows the command wrote */
	struct ctl_hsum		 sums[CTL_HTML_GROUPINGS_MAX];
};

static struct ctl_hr *
ctl_hr(struct ctl_out *o)
{
	return ctl_out_rstate(o);
}

void
ctl_out_html_view(struct ctl_out *o, const struct ctl_html_view *v)
{
	struct ctl_hr	*hr;

	if (o == NULL || ctl_out_fmt(o) != CTL_FMT_HTML ||
	    (hr = ctl_hr(o)) == NULL)
		return;
	hr->view = *v;
	hr->have_view = 1;
}

static int
ctl_hr_begin(struct ctl_out *o)
{
	struct ctl_hr	*hr;
	size_t		 i;

	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		return -1;
	hr->sortcol = -1;
	for (i = 0; i < CTL_HTML_GROUPINGS_MAX; i++)
		hr->sums[i].col = -1;	/* no summaries without a view */
	ctl_out_set_rstate(o, hr);
	return 0;
}

static void
ctl_hr_rows_free(struct ctl_hr *hr)
{
	size_t	 i;

	for (i = 0; i < hr->nrows; i++) {
		if (hr->rows[i].key.kind == CTL_V_STR)
			free((char *)hr->rows[i].key.s);
		free(hr->rows[i].html);
	}
	free(hr->rows);
	hr->rows = NULL;
	hr->nrows = hr->caprows = 0;
	for (i = 0; i < CTL_HTML_GROUPINGS_MAX; i++) {
		size_t	 g;

		for (g = 0; g < hr->sums[i].n; g++)
			free(hr->sums[i].g[g].sum);
		memset(&hr->sums[i], 0, sizeof(hr->sums[i]));
		hr->sums[i].col = -1;
	}
}

static void
ctl_hr_free(struct ctl_out *o)
{
	struct ctl_hr	*hr = ctl_hr(o);

	if (hr == NULL)
		return;
	ctl_hr_rows_free(hr);
	free(hr);
}

static void
ctl_hr_dl_close(struct ctl_out *o)
{
	struct ctl_hr	*hr = ctl_hr(o);

	if (hr->dl_open)
		evbuffer_add_printf(ctl_out_buf(o), "</dl>\n");
	hr->dl_open = 0;
}

/* A key as a heading: "hard_bounces" -> "hard bounces". */
static void
ctl_hr_key_words(struct evbuffer *b, const char *key)
{
	char	 buf[128];
	size_t	 i;

	strlcpy(buf, key, sizeof(buf));
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '_')
			buf[i] = ' ';
	ctl_html_esc(b, buf);
}

static void
ctl_hr_obj_open(struct ctl_out *o, const char *key)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);

	ctl_hr_dl_close(o);
	if (hr->depth < CTL_OUT_DEPTH_MAX)
		hr->depth++;
	hr->in_list[hr->depth] = 0;
	if (hr->depth == 1)
		return;		/* the document */
	if (hr->in_list[hr->depth - 1])
		evbuffer_add_printf(b, "<li>");
	evbuffer_add_printf(b, "<section");
	if (key != NULL) {
		evbuffer_add_printf(b, " data-obj=\"");
		ctl_html_esc(b, key);
		evbuffer_add_printf(b, "\"><h2>");
		ctl_hr_key_words(b, key);
		evbuffer_add_printf(b, "</h2>\n");
	} else
		evbuffer_add_printf(b, ">\n");
}

static void
ctl_hr_obj_close(struct ctl_out *o)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);

	ctl_hr_dl_close(o);
	if (hr->depth > 1) {
		evbuffer_add_printf(b, "</section>\n");
		if (hr->in_list[hr->depth - 1])
			evbuffer_add_printf(b, "</li>\n");
	}
	if (hr->depth > 0)
		hr->depth--;
}

static void
ctl_hr_list_open(struct ctl_out *o, const char *key)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);

	ctl_hr_dl_close(o);
	if (hr->depth >= 1 && !hr->in_list[hr->depth] && key != NULL) {
		evbuffer_add_printf(b, "<h2>");
		ctl_hr_key_words(b, key);
		evbuffer_add_printf(b, "</h2>\n");
	}
	if (hr->in_list[hr->depth])
		evbuffer_add_printf(b, "<li>");
	evbuffer_add_printf(b, "<ul");
	if (key != NULL) {
		evbuffer_add_printf(b, " data-list=\"");
		ctl_html_esc(b, key);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(b, ">\n");
	if (hr->depth < CTL_OUT_DEPTH_MAX)
		hr->depth++;
	hr->in_list[hr->depth] = 1;
}

static void
ctl_hr_list_close(struct ctl_out *o)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);

	evbuffer_add_printf(b, "</ul>\n");
	if (hr->depth > 0)
		hr->depth--;
	if (hr->in_list[hr->depth])
		evbuffer_add_printf(b, "</li>\n");
}

static void
ctl_hr_time(struct evbuffer *b, int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	char		 buf[32];

	if (t == 0 || localtime_r(&tt, &tm) == NULL) {
		evbuffer_add_printf(b, "-");
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	evbuffer_add_printf(b, "%s", buf);
}

/* As bwctl shows an age: 42s, 3m07s, 2h05m, 4d03h. */
static void
ctl_hr_age(struct evbuffer *b, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		evbuffer_add_printf(b, "%" PRId64 "s", s);
	else if (s < 3600)
		evbuffer_add_printf(b, "%" PRId64 "m%02" PRId64 "s", s / 60,
		    s % 60);
	else if (s < 86400)
		evbuffer_add_printf(b, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		evbuffer_add_printf(b, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
}

/* The value as JSON has it, for data-v (strings: not repeated). */
static void
ctl_hr_datav(struct evbuffer *b, const struct ctl_val *v)
{
	switch (v->kind) {
	case CTL_V_INT:
		evbuffer_add_printf(b, " data-v=\"%" PRId64 "\"", v->i);
		break;
	case CTL_V_UINT:
		evbuffer_add_printf(b, " data-v=\"%" PRIu64 "\"", v->u);
		break;
	case CTL_V_BOOL:
		evbuffer_add_printf(b, " data-v=\"%s\"", v->i ? "true" :
		    "false");
		break;
	default:
		break;
	}
}

/* The value as a person reads it. */
static void
ctl_hr_show(struct evbuffer *b, enum ctl_type type, const struct ctl_val *v)
{
	size_t	 i;
	int64_t	 n = v->kind == CTL_V_UINT ? (int64_t)v->u : v->i;

	switch (v->kind) {
	case CTL_V_NONE:
		break;
	case CTL_V_NULL:
		evbuffer_add_printf(b, "-");
		break;
	case CTL_V_STR:
		ctl_html_esc(b, v->s);
		break;
	case CTL_V_INT:
	case CTL_V_UINT:
		if (type == CTL_T_TIME)
			ctl_hr_time(b, n);
		else if (type == CTL_T_AGE)
			ctl_hr_age(b, n);
		else if (v->kind == CTL_V_INT)
			evbuffer_add_printf(b, "%" PRId64, v->i);
		else
			evbuffer_add_printf(b, "%" PRIu64, v->u);
		break;
	case CTL_V_BOOL:
		evbuffer_add_printf(b, "%s", v->i ? "yes" : "no");
		break;
	case CTL_V_ITEMS:
		for (i = 0; i < v->nitems; i++) {
			if (i > 0)
				evbuffer_add_printf(b, type == CTL_T_KV ?
				    "<br>" : ", ");
			if (v->items[i].key != NULL) {
				ctl_html_esc(b, v->items[i].key);
				evbuffer_add_printf(b, "=");
			}
			ctl_hr_show(b, CTL_T_STR, &v->items[i].v);
		}
		break;
	}
}

static void
ctl_hr_value(struct ctl_out *o, const char *key, const struct ctl_val *v)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);

	if (v->kind == CTL_V_NONE)
		return;
	if (hr->in_list[hr->depth] || key == NULL) {
		evbuffer_add_printf(b, "<li");
		ctl_hr_datav(b, v);
		evbuffer_add_printf(b, ">");
		ctl_hr_show(b, CTL_T_STR, v);
		evbuffer_add_printf(b, "</li>\n");
		return;
	}
	if (!hr->dl_open)
		evbuffer_add_printf(b, "<dl class=\"kv\">\n");
	hr->dl_open = 1;
	evbuffer_add_printf(b, "<dt>");
	ctl_hr_key_words(b, key);
	evbuffer_add_printf(b, "</dt><dd data-key=\"");
	ctl_html_esc(b, key);
	evbuffer_add_printf(b, "\"");
	ctl_hr_datav(b, v);
	evbuffer_add_printf(b, ">");
	/* a key that says what it holds shows as such */
	if ((v->kind == CTL_V_INT || v->kind == CTL_V_UINT) &&
	    (strcmp(key, "started") == 0 || strcmp(key, "created") == 0 ||
	    strcmp(key, "oldest") == 0 || strcmp(key, "next_retry") == 0 ||
	    strcmp(key, "time") == 0 || strcmp(key, "now") == 0))
		ctl_hr_show(b, CTL_T_TIME, v);
	else if ((v->kind == CTL_V_INT || v->kind == CTL_V_UINT) &&
	    (strcmp(key, "uptime") == 0 || strcmp(key, "age") == 0))
		ctl_hr_show(b, CTL_T_AGE, v);
	else
		ctl_hr_show(b, CTL_T_STR, v);
	evbuffer_add_printf(b, "</dd>\n");
}

static int
ctl_hr_numeric(enum ctl_type t)
{
	return t == CTL_T_INT || t == CTL_T_UINT || t == CTL_T_TIME ||
	    t == CTL_T_AGE;
}

static void
ctl_hr_table_open(struct ctl_out *o, const struct ctl_table *t)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);
	size_t		 c;

	ctl_hr_dl_close(o);
	ctl_hr_rows_free(hr);
	hr->nseen = 0;
	hr->sortcol = -1;
	if (hr->have_view && hr->view.sort[0] != '\0')
		for (c = 0; c < t->ncols; c++)
			if ((t->cols[c].flags & CTL_COL_DATA) &&
			    strcmp(t->cols[c].key, hr->view.sort) == 0)
				hr->sortcol = (long)c;
	for (c = 0; hr->have_view && c < t->ncols; c++) {
		size_t	 k;

		for (k = 0; k < CTL_HTML_GROUPINGS_MAX &&
		    hr->view.groupings[k].by != NULL; k++)
			if (strcmp(t->cols[c].key, hr->view.groupings[k].by) ==
			    0 && t->cols[c].type == CTL_T_STR)
				hr->sums[k].col = (long)c;
	}
	evbuffer_add_printf(b, "<table data-table=\"");
	ctl_html_esc(b, t->key);
	evbuffer_add_printf(b, "\"><thead><tr>");
	for (c = 0; c < t->ncols; c++) {
		const struct ctl_col	*col = &t->cols[c];
		int			 here = (long)c == hr->sortcol;
		int			 desc;

		if (!(col->flags & CTL_COL_DATA))
			continue;
		/* the first click on a figure shows the largest first */
		desc = here ? !hr->view.desc : ctl_hr_numeric(col->type) &&
		    col->type != CTL_T_TIME;
		evbuffer_add_printf(b, "<th%s data-key=\"", here ?
		    " class=\"sorted\"" : "");
		ctl_html_esc(b, col->key);
		evbuffer_add_printf(b, "\">");
		if (hr->have_view && !hr->view.nosort) {
			evbuffer_add_printf(b, "<a href=\"?sort=");
			ctl_html_url(b, col->key);
			evbuffer_add_printf(b, "&amp;dir=%s", desc ? "desc" :
			    "asc");
			if (hr->view.query[0] != '\0') {
				evbuffer_add_printf(b, "&amp;");
				ctl_html_esc(b, hr->view.query);
			}
			evbuffer_add_printf(b, "\">");
		}
		ctl_hr_key_words(b, col->key);
		if (here)
			evbuffer_add_printf(b, " %s", hr->view.desc ?
			    "&#9660;" : "&#9650;");
		if (hr->have_view && !hr->view.nosort)
			evbuffer_add_printf(b, "</a>");
		evbuffer_add_printf(b, "</th>");
	}
	evbuffer_add_printf(b, "</tr></thead>\n<tbody>\n");
}

/* The link rule of a column, or NULL. */
static const struct ctl_html_link *
ctl_hr_link(const struct ctl_hr *hr, const char *key)
{
	size_t	 i;

	if (!hr->have_view)
		return NULL;
	for (i = 0; i < CTL_HTML_LINKS_MAX && hr->view.links[i].key != NULL;
	    i++)
		if (strcmp(hr->view.links[i].key, key) == 0)
			return &hr->view.links[i];
	return NULL;
}

/* The value of column key in row (NULL: none). */
static const struct ctl_val *
ctl_hr_cell(const struct ctl_table *t, const struct ctl_row *row,
    const char *key)
{
	size_t	 c;

	for (c = 0; c < t->ncols; c++)
		if (strcmp(t->cols[c].key, key) == 0)
			return &row->cells[c];
	return NULL;
}

static void
ctl_hr_row_html(struct ctl_hr *hr, struct evbuffer *b,
    const struct ctl_table *t, const struct ctl_row *row)
{
	size_t	 c, i;

	evbuffer_add_printf(b, "<tr>");
	for (c = 0; c < t->ncols; c++) {
		const struct ctl_col		*col = &t->cols[c];
		const struct ctl_val		*v = &row->cells[c];
		const struct ctl_html_link	*ln;
		const struct ctl_val		*qv;

		if (!(col->flags & CTL_COL_DATA))
			continue;
		evbuffer_add_printf(b, "<td%s data-key=\"",
		    ctl_hr_numeric(col->type) ? " class=\"n\"" : "");
		ctl_html_esc(b, col->key);
		evbuffer_add_printf(b, "\"");
		ctl_hr_datav(b, v);
		if (v->kind == CTL_V_STR && col->key != NULL &&
		    strcmp(col->key, "state") == 0) {
			evbuffer_add_printf(b, " class=\"state-");
			ctl_html_esc(b, v->s);
			evbuffer_add_printf(b, "\"");
		}
		evbuffer_add_printf(b, ">");
		ln = v->kind == CTL_V_STR && v->s[0] != '\0' ?
		    ctl_hr_link(hr, col->key) : NULL;
		if (ln != NULL) {
			evbuffer_add_printf(b, "<a href=\"");
			ctl_html_esc(b, ln->prefix);
			ctl_html_url(b, v->s);
			if (ln->qkey != NULL &&
			    (qv = ctl_hr_cell(t, row, ln->qkey)) != NULL &&
			    qv->kind == CTL_V_STR) {
				evbuffer_add_printf(b, "?");
				ctl_html_esc(b, ln->qparam);
				evbuffer_add_printf(b, "=");
				ctl_html_url(b, qv->s);
			}
			evbuffer_add_printf(b, "\">");
		}
		ctl_hr_show(b, col->type, v);
		if (ln != NULL)
			evbuffer_add_printf(b, "</a>");
		evbuffer_add_printf(b, "</td>");
	}
	evbuffer_add_printf(b, "</tr>\n");
	for (i = 0; i < row->nnotes; i++) {
		evbuffer_add_printf(b, "<tr class=\"note\"><td colspan=\"%zu\">",
		    t->ncols);
		ctl_html_esc(b, row->notes[i]);
		evbuffer_add_printf(b, "</td></tr>\n");
	}
}


/* Count row in each summary under the table (every row, shown or not). */
static void
ctl_hr_group_add(struct ctl_hr *hr, const struct ctl_table *t,
    const struct ctl_row *row)
{
	size_t	 k, g, c;

	for (k = 0; k < CTL_HTML_GROUPINGS_MAX; k++) {
		struct ctl_hsum		*hs = &hr->sums[k];
		const struct ctl_val	*v;
		const char		*name;

		if (hs->col < 0)
			continue;
		v = &row->cells[hs->col];
		name = v->kind == CTL_V_STR && v->s[0] != '\0' ? v->s : "-";
		if (hr->view.groupings[k].bucket != NULL)
			name = hr->view.groupings[k].bucket(name);
		for (g = 0; g < hs->n; g++)
			if (strcmp(hs->g[g].name, name) == 0)
				break;
		if (g == hs->n && hs->n == CTL_HTML_GROUPS_MAX)
			name = "(other)";
		for (g = 0; g < hs->n; g++)
			if (strcmp(hs->g[g].name, name) == 0)
				break;
		if (g == hs->n) {
			if ((hs->g[g].sum = calloc(t->ncols,
			    sizeof(*hs->g[g].sum))) == NULL)
				continue;
			strlcpy(hs->g[g].name, name, sizeof(hs->g[g].name));
			hs->n++;
		}
		hs->g[g].rows++;
		for (c = 0; c < t->ncols; c++) {
			const struct ctl_val *cv = &row->cells[c];

			if (t->cols[c].type != CTL_T_UINT &&
			    t->cols[c].type != CTL_T_INT)
				continue;
			hs->g[g].sum[c] += cv->kind == CTL_V_UINT ?
			    (int64_t)cv->u : cv->kind == CTL_V_INT ? cv->i : 0;
		}
	}
}

/* The summaries: one table each, its groups by rows, most first. */
static int
ctl_hr_group_cmp(const void *pa, const void *pb)
{
	const struct ctl_hgroup	*a = pa, *b = pb;

	if (a->rows != b->rows)
		return a->rows > b->rows ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void
ctl_hr_groups_render(struct ctl_hr *hr, struct evbuffer *b,
    const struct ctl_table *t)
{
	size_t	 k, g, c;

	for (k = 0; k < CTL_HTML_GROUPINGS_MAX; k++) {
		struct ctl_hsum		*hs = &hr->sums[k];
		const char		*by = hr->view.groupings[k].by;

		if (hs->col < 0)
			continue;
		qsort(hs->g, hs->n, sizeof(hs->g[0]), ctl_hr_group_cmp);
		evbuffer_add_printf(b, "<h2>");
		ctl_html_esc(b, hr->view.groupings[k].title != NULL ?
		    hr->view.groupings[k].title : by);
		evbuffer_add_printf(b, "</h2>\n<table data-table=\"");
		ctl_html_esc(b, t->key);
		evbuffer_add_printf(b, "_by_");
		ctl_html_esc(b, by);
		evbuffer_add_printf(b, "\"><thead><tr><th data-key=\"");
		ctl_html_esc(b, by);
		evbuffer_add_printf(b, "\">");
		ctl_hr_key_words(b, by);
		evbuffer_add_printf(b, "</th><th data-key=\"rows\">rows</th>");
		for (c = 0; c < t->ncols; c++)
			if ((t->cols[c].flags & CTL_COL_DATA) &&
			    (t->cols[c].type == CTL_T_UINT ||
			    t->cols[c].type == CTL_T_INT)) {
				evbuffer_add_printf(b, "<th data-key=\"");
				ctl_html_esc(b, t->cols[c].key);
				evbuffer_add_printf(b, "\">");
				ctl_hr_key_words(b, t->cols[c].key);
				evbuffer_add_printf(b, "</th>");
			}
		evbuffer_add_printf(b, "</tr></thead>\n<tbody>\n");
		for (g = 0; g < hs->n; g++) {
			evbuffer_add_printf(b, "<tr><td data-key=\"");
			ctl_html_esc(b, by);
			evbuffer_add_printf(b, "\">");
			ctl_html_esc(b, hs->g[g].name);
			evbuffer_add_printf(b, "</td><td class=\"n\" "
			    "data-key=\"rows\" data-v=\"%" PRIu64 "\">%" PRIu64
			    "</td>", hs->g[g].rows, hs->g[g].rows);
			for (c = 0; c < t->ncols; c++)
				if ((t->cols[c].flags & CTL_COL_DATA) &&
				    (t->cols[c].type == CTL_T_UINT ||
				    t->cols[c].type == CTL_T_INT)) {
					evbuffer_add_printf(b, "<td class=\"n\" "
					    "data-key=\"");
					ctl_html_esc(b, t->cols[c].key);
					evbuffer_add_printf(b, "\" data-v=\"%"
					    PRId64 "\">%" PRId64 "</td>",
					    hs->g[g].sum[c], hs->g[g].sum[c]);
				}
			evbuffer_add_printf(b, "</tr>\n");
		}
		if (hs->n == 0)
			evbuffer_add_printf(b, "<tr class=\"empty\"><td>none"
			    "</td></tr>\n");
		evbuffer_add_printf(b, "</tbody></table>\n");
	}
}

static void
ctl_hr_row(struct ctl_out *o, const struct ctl_table *t,
    const struct ctl_row *row)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*tmp;
	struct ctl_hrow	*r;
	const struct ctl_val *k;

	hr->nseen++;
	ctl_hr_group_add(hr, t, row);
	if (hr->nseen > CTL_HTML_ROWS_MAX)
		return;		/* counted at the close */
	if (hr->sortcol < 0) {
		ctl_hr_row_html(hr, ctl_out_buf(o), t, row);
		return;
	}
	if (hr->nrows == hr->caprows) {
		size_t	 ncap = hr->caprows ? 2 * hr->caprows : 64;
		void	*nv;

		if ((nv = reallocarray(hr->rows, ncap, sizeof(*hr->rows))) ==
		    NULL)
			return;
		hr->rows = nv;
		hr->caprows = ncap;
	}
	if ((tmp = evbuffer_new()) == NULL)
		return;
	ctl_hr_row_html(hr, tmp, t, row);
	r = &hr->rows[hr->nrows];
	memset(r, 0, sizeof(*r));
	r->len = evbuffer_get_length(tmp);
	if ((r->html = malloc(r->len + 1)) == NULL) {
		evbuffer_free(tmp);
		return;
	}
	evbuffer_remove(tmp, r->html, r->len);
	evbuffer_free(tmp);
	k = &row->cells[hr->sortcol];
	r->key = *k;
	r->key.items = NULL;
	r->key.nitems = 0;
	if (k->kind == CTL_V_STR && (r->key.s = strdup(k->s)) == NULL)
		r->key.kind = CTL_V_NONE;
	r->seq = hr->nrows++;
}

/* Missing values last either way; then by value, ties in arrival order. */
static int	 ctl_hr_desc;

static int
ctl_hr_cmp(const void *pa, const void *pb)
{
	const struct ctl_hrow	*a = pa, *b = pb;
	int			 ha, hb, c = 0;

	ha = a->key.kind != CTL_V_NONE && a->key.kind != CTL_V_NULL;
	hb = b->key.kind != CTL_V_NONE && b->key.kind != CTL_V_NULL;
	if (ha != hb)
		return hb - ha;
	if (ha) {
		if (a->key.kind == CTL_V_STR && b->key.kind == CTL_V_STR)
			c = strcmp(a->key.s, b->key.s);
		else if (a->key.kind == CTL_V_UINT && b->key.kind == CTL_V_UINT)
			c = a->key.u < b->key.u ? -1 : a->key.u > b->key.u;
		else {
			int64_t x = a->key.kind == CTL_V_UINT ?
			    (int64_t)a->key.u : a->key.i;
			int64_t y = b->key.kind == CTL_V_UINT ?
			    (int64_t)b->key.u : b->key.i;

			c = x < y ? -1 : x > y;
		}
		if (ctl_hr_desc)
			c = -c;
	}
	if (c == 0)
		c = a->seq < b->seq ? -1 : a->seq > b->seq;
	return c;
}

static void
ctl_hr_table_close(struct ctl_out *o, const struct ctl_table *t,
    const char *empty)
{
	struct ctl_hr	*hr = ctl_hr(o);
	struct evbuffer	*b = ctl_out_buf(o);
	size_t		 i, ncols = 0;

	if (hr->sortcol >= 0 && hr->nrows > 0) {
		ctl_hr_desc = hr->view.desc;
		qsort(hr->rows, hr->nrows, sizeof(*hr->rows), ctl_hr_cmp);
		for (i = 0; i < hr->nrows; i++)
			evbuffer_add(b, hr->rows[i].html, hr->rows[i].len);
	}
	for (i = 0; i < t->ncols; i++)
		if (t->cols[i].flags & CTL_COL_DATA)
			ncols++;
	if (hr->nseen == 0) {
		evbuffer_add_printf(b, "<tr class=\"empty\"><td colspan=\"%zu\">",
		    ncols);
		if (empty != NULL && empty[0] != '\0')
			ctl_html_esc(b, empty);
		else
			evbuffer_add_printf(b, "none");
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
	if (hr->nseen > CTL_HTML_ROWS_MAX)
		evbuffer_add_printf(b, "<p class=\"note\">%zu more rows not "
		    "shown (?format=json has them all)</p>\n",
		    hr->nseen - CTL_HTML_ROWS_MAX);
	ctl_hr_groups_render(hr, b, t);
	ctl_hr_rows_free(hr);
	hr->nseen = 0;
	hr->sortcol = -1;
}

static void
ctl_hr_note(struct ctl_out *o, const char *line)
{
	struct evbuffer	*b = ctl_out_buf(o);

	ctl_hr_dl_close(o);
	evbuffer_add_printf(b, "<p class=\"note\">");
	ctl_html_esc(b, line);
	evbuffer_add_printf(b, "</p>\n");
}

static void
ctl_hr_raw(struct ctl_out *o, const char *text)
{
}

static void
ctl_hr_end(struct ctl_out *o)
{
	ctl_hr_dl_close(o);
}

const struct ctl_out_ops ctl_out_html_ops = {
	.name = "html",
	.begin = ctl_hr_begin,
	.obj_open = ctl_hr_obj_open,
	.obj_close = ctl_hr_obj_close,
	.list_open = ctl_hr_list_open,
	.list_close = ctl_hr_list_close,
	.value = ctl_hr_value,
	.table_open = ctl_hr_table_open,
	.row = ctl_hr_row,
	.table_close = ctl_hr_table_close,
	.note = ctl_hr_note,
	.raw = ctl_hr_raw,
	.end = ctl_hr_end,
	.free = ctl_hr_free,
};
