/*
 * ctl_out's TEXT renderer, for people at a terminal (bwctl without
 * --json).  A table is kept until it closes, so that a column marked
 * CTL_COL_AUTO is as wide as its widest cell; then the header and the
 * rows are written with the columns' widths and alignment, each row
 * followed by its notes.  Objects, lists and values are data and are not
 * shown; notes are lines, raw text goes as it is.
 *
 * Every string cell is escaped (log_escape: bytes outside printable ASCII
 * and backslashes as \xNN, cut at BW_LOG_PEER_TEXT_MAX), so that text
 * that came from the Internet cannot move a terminal's cursor.  Limits:
 * CTL_OUT_TEXT_CELL_MAX per cell; the rows of one table are bounded by
 * the command's own row ceilings.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "util.h"
#include "ctl_fmt.h"
#include "ctl_out.h"

#define CTL_OUT_TEXT_CELL_MAX	(BW_LOG_PEER_TEXT_MAX * 4 + 1)	/* escaped */
#define CTL_OUT_TEXT_KV_MAX	2048	/* a KV or list cell as text */

/* One kept row: a string per column (NULL: not a TEXT column). */
struct ctl_text_row {
	char		**cells;
	char		**notes;
	size_t		  nnotes;
};

struct ctl_text {
	struct ctl_text_row	*rows;
	size_t			 nrows;
	size_t			 cap;
	size_t			 ncols;		/* of the open table */
	int			 failed;	/* out of memory: rows lost */
};

static int
ctl_text_begin(struct ctl_out *o)
{
	struct ctl_text	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	ctl_out_set_rstate(o, t);
	return 0;
}

static void
ctl_text_rows_free(struct ctl_text *t, size_t ncols)
{
	size_t	 r, c;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < ncols; c++)
			free(t->rows[r].cells[c]);
		free(t->rows[r].cells);
		for (c = 0; c < t->rows[r].nnotes; c++)
			free(t->rows[r].notes[c]);
		free(t->rows[r].notes);
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = t->cap = 0;
}

static void
ctl_text_free(struct ctl_out *o)
{
	struct ctl_text	*t = ctl_out_rstate(o);

	/* rows left by a document that failed inside a table */
	ctl_text_rows_free(t, t->ncols);
	free(t);
}

static void
ctl_text_nothing(struct ctl_out *o)
{
}

static void
ctl_text_nothing_key(struct ctl_out *o, const char *key)
{
}

static void
ctl_text_value(struct ctl_out *o, const char *key, const struct ctl_val *v)
{
}

static void
ctl_text_table_open(struct ctl_out *o, const struct ctl_table *tab)
{
	struct ctl_text	*t = ctl_out_rstate(o);

	t->ncols = tab->ncols;
}

/* A scalar as text, by the column's type; dst is returned. */
static const char *
ctl_text_scalar(char *dst, size_t dstsz, enum ctl_type type,
    const struct ctl_val *v)
{
	int64_t	 n;

	switch (v->kind) {
	case CTL_V_NONE:
		return "";
	case CTL_V_NULL:
		return "-";
	case CTL_V_STR:
		return log_escape(dst, dstsz, v->s, strlen(v->s));
	case CTL_V_BOOL:
		return v->i ? "yes" : "no";
	case CTL_V_INT:
	case CTL_V_UINT:
		n = v->kind == CTL_V_INT ? v->i : (int64_t)v->u;
		if (type == CTL_T_TIME)
			ctl_fmt_time(dst, dstsz, n);
		else if (type == CTL_T_AGE)
			ctl_fmt_age(dst, dstsz, n);
		else if (v->kind == CTL_V_INT)
			snprintf(dst, dstsz, "%" PRId64, v->i);
		else
			snprintf(dst, dstsz, "%" PRIu64, v->u);
		return dst;
	case CTL_V_ITEMS:
		break;
	}
	return "";
}

/* A KV or list cell: "name=value ...", values quoted when empty or when
 * they hold a space. */
static void
ctl_text_items(char *dst, size_t dstsz, const struct ctl_val *v)
{
	char		 k[CTL_OUT_TEXT_CELL_MAX], s[CTL_OUT_TEXT_CELL_MAX];
	char		 item[sizeof(k) + sizeof(s) + 8];
	const char	*q, *val;
	size_t		 i;

	dst[0] = '\0';
	for (i = 0; i < v->nitems; i++) {
		val = ctl_text_scalar(s, sizeof(s), CTL_T_STR, &v->items[i].v);
		q = v->items[i].v.kind == CTL_V_STR && (val[0] == '\0' ||
		    strchr(val, ' ') != NULL) ? "\"" : "";
		if (v->items[i].key != NULL)
			snprintf(item, sizeof(item), "%s%s=%s%s%s",
			    dst[0] ? " " : "", log_escape(k, sizeof(k),
			    v->items[i].key, strlen(v->items[i].key)), q, val,
			    q);
		else
			snprintf(item, sizeof(item), "%s%s%s%s",
			    dst[0] ? " " : "", q, val, q);
		if (strlcat(dst, item, dstsz) >= dstsz)
			return;
	}
}

static char *
ctl_text_cell(const struct ctl_col *col, const struct ctl_val *v)
{
	char		 buf[CTL_OUT_TEXT_KV_MAX + CTL_OUT_TEXT_CELL_MAX];
	char		 s[CTL_OUT_TEXT_KV_MAX];
	const char	*val;
	char		*out;
	size_t		 taken;

	if (v->kind == CTL_V_ITEMS) {
		ctl_text_items(s, sizeof(s), v);
		val = s;
	} else if (v->kind == CTL_V_STR && (col->flags & CTL_COL_LONG)) {
		log_escape_n(s, sizeof(s), v->s, strlen(v->s), &taken);
		val = s;
	} else
		val = ctl_text_scalar(s, sizeof(s), col->type, v);
	if (val[0] == '\0' && (col->flags & CTL_COL_DASH))
		val = "-";
	snprintf(buf, sizeof(buf), "%s%s", val, col->suffix != NULL &&
	    v->kind != CTL_V_NONE && v->kind != CTL_V_NULL ? col->suffix : "");
	out = strdup(buf);
	return out;
}

static void
ctl_text_row(struct ctl_out *o, const struct ctl_table *tab,
    const struct ctl_row *row)
{
	struct ctl_text		*t = ctl_out_rstate(o);
	struct ctl_text_row	*nr, *r;
	size_t			 c, ncap;

	if (t->failed)
		return;
	if (t->nrows == t->cap) {
		ncap = t->cap == 0 ? 16 : t->cap * 2;
		if ((nr = reallocarray(t->rows, ncap, sizeof(*nr))) == NULL)
			goto fail;
		t->rows = nr;
		t->cap = ncap;
	}
	r = &t->rows[t->nrows];
	memset(r, 0, sizeof(*r));
	if ((r->cells = calloc(tab->ncols, sizeof(*r->cells))) == NULL ||
	    (row->nnotes > 0 && (r->notes = calloc(row->nnotes,
	    sizeof(*r->notes))) == NULL)) {
		free(r->cells);
		goto fail;
	}
	t->nrows++;
	for (c = 0; c < tab->ncols; c++)
		if ((tab->cols[c].flags & CTL_COL_TEXT) &&
		    (r->cells[c] = ctl_text_cell(&tab->cols[c],
		    &row->cells[c])) == NULL)
			goto fail;
	for (c = 0; c < row->nnotes; c++) {
		if ((r->notes[c] = strdup(row->notes[c])) == NULL)
			goto fail;
		r->nnotes++;
	}
	return;
fail:
	/* out of memory: the table is cut short and says so */
	t->failed = 1;
}

/* One line: the TEXT columns of cells (or the headers) padded. */
static void
ctl_text_line(struct evbuffer *b, const struct ctl_table *tab,
    const int *width, char *const *cells)
{
	const struct ctl_col	*col;
	const char		*s;
	size_t			 c;
	int			 first = 1;

	for (c = 0; c < tab->ncols; c++) {
		col = &tab->cols[c];
		if (!(col->flags & CTL_COL_TEXT))
			continue;
		if (cells != NULL)
			s = cells[c] != NULL ? cells[c] : "";
		else
			s = col->head != NULL ? col->head : col->key;
		if (!first)
			evbuffer_add(b, "  ", (col->flags & CTL_COL_GAP1) ?
			    1 : 2);
		first = 0;
		if (col->flags & CTL_COL_RIGHT)
			evbuffer_add_printf(b, "%*s", width[c], s);
		else
			evbuffer_add_printf(b, "%-*s", width[c], s);
	}
	evbuffer_add(b, "\n", 1);
}

static void
ctl_text_table_close(struct ctl_out *o, const struct ctl_table *tab,
    const char *empty)
{
	struct ctl_text	*t = ctl_out_rstate(o);
	struct evbuffer	*b = ctl_out_buf(o);
	int		*width;
	size_t		 r, c, n, text_cols = 0;

	if (t->nrows == 0 && empty != NULL) {
		if (empty[0] != '\0')
			evbuffer_add_printf(b, "%s\n", empty);
		goto done;
	}
	if ((width = calloc(tab->ncols, sizeof(*width))) == NULL) {
		t->failed = 1;
		goto done;
	}
	for (c = 0; c < tab->ncols; c++) {
		if (!(tab->cols[c].flags & CTL_COL_TEXT))
			continue;
		text_cols++;
		width[c] = tab->cols[c].width;
		for (r = 0; (tab->cols[c].flags & CTL_COL_AUTO) &&
		    r < t->nrows; r++)
			if ((n = strlen(t->rows[r].cells[c] != NULL ?
			    t->rows[r].cells[c] : "")) > (size_t)width[c])
				width[c] = (int)n;
	}
	/* a table of data columns only shows its rows' notes */
	if (text_cols > 0)
		ctl_text_line(b, tab, width, NULL);
	for (r = 0; r < t->nrows; r++) {
		if (text_cols > 0 && t->rows[r].cells != NULL)
			ctl_text_line(b, tab, width, t->rows[r].cells);
		for (c = 0; c < t->rows[r].nnotes; c++)
			evbuffer_add_printf(b, "%s\n", t->rows[r].notes[c]);
	}
	free(width);
done:
	if (t->failed)
		evbuffer_add_printf(b, "(out of memory: the table is cut "
		    "short)\n");
	t->failed = 0;
	ctl_text_rows_free(t, tab->ncols);
}

static void
ctl_text_note(struct ctl_out *o, const char *line)
{
	evbuffer_add_printf(ctl_out_buf(o), "%s\n", line);
}

static void
ctl_text_raw(struct ctl_out *o, const char *text)
{
	evbuffer_add(ctl_out_buf(o), text, strlen(text));
}

const struct ctl_out_ops ctl_out_text_ops = {
	.name = "text",
	.begin = ctl_text_begin,
	.obj_open = ctl_text_nothing_key,
	.obj_close = ctl_text_nothing,
	.list_open = ctl_text_nothing_key,
	.list_close = ctl_text_nothing,
	.value = ctl_text_value,
	.table_open = ctl_text_table_open,
	.row = ctl_text_row,
	.table_close = ctl_text_table_close,
	.note = ctl_text_note,
	.raw = ctl_text_raw,
	.end = ctl_text_nothing,
	.free = ctl_text_free,
};
