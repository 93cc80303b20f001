/*
 * ctl_out's core: the nesting of a document (objects, lists, tables, rows,
 * KV and list cells), the type of each cell against its column, one row
 * buffered at a time, and the renderer of the chosen format called in
 * document order.  The first error (a command's bug: a value outside an
 * object, a row outside a table, a cell of the wrong type, nesting deeper
 * than CTL_OUT_DEPTH_MAX, out of memory) stops the document; ctl_out_end()
 * reports it and the request layer answers with one error line instead.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_out.h"
#include "ctl_out_html.h"

/* The renderers; HTML and PROM are added with their files. */
static const struct ctl_out_ops *const ctl_out_renderers[CTL_FMT__COUNT] = {
	[CTL_FMT_TEXT] = &ctl_out_text_ops,
	[CTL_FMT_JSON] = &ctl_out_json_ops,
	[CTL_FMT_HTML] = &ctl_out_html_ops,
	[CTL_FMT_PROM] = &ctl_out_prom_ops,
};

enum ctl_frame_kind {
	CTL_F_OBJ,
	CTL_F_LIST,
	CTL_F_TABLE,
	CTL_F_ROW,
	CTL_F_KV,	/* a KV cell of the open row */
	CTL_F_LCELL,	/* a LIST cell of the open row */
};

struct ctl_frame {
	enum ctl_frame_kind	 kind;
	size_t			 col;	/* KV, LCELL: the cell */
};

struct ctl_out {
	enum ctl_fmt		 fmt;
	const struct ctl_out_ops *ops;
	struct evbuffer		*buf;
	void			*rstate;
	struct ctl_frame	 st[CTL_OUT_DEPTH_MAX];
	int			 depth;
	int			 had_doc;	/* the top object was opened */
	int			 failed;
	char			 err[CTL_OUT_ERR_MAX];
	/* the open table and its row */
	const struct ctl_table	*t;
	struct ctl_row		 row;
	size_t			 lastcol;	/* where the next key is looked */
	char			*empty;
};

const char *
ctl_fmt_name(enum ctl_fmt f)
{
	switch (f) {
	case CTL_FMT_TEXT:
		return "text";
	case CTL_FMT_JSON:
		return "json";
	case CTL_FMT_HTML:
		return "html";
	case CTL_FMT_PROM:
		return "prometheus";
	case CTL_FMT__COUNT:
		break;
	}
	return "?";
}

static void ctl_out_fail(struct ctl_out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_out_fail(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;

	if (o->failed)
		return;
	o->failed = 1;
	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
}

struct ctl_out *
ctl_out_new(enum ctl_fmt fmt, struct evbuffer *buf)
{
	struct ctl_out	*o;

	if ((unsigned)fmt >= CTL_FMT__COUNT || ctl_out_renderers[fmt] == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->fmt = fmt;
	o->ops = ctl_out_renderers[fmt];
	o->buf = buf;
	if (o->ops->begin(o) == -1) {
		free(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

static void
ctl_val_clear(struct ctl_val *v)
{
	size_t	 i;

	if (v->kind == CTL_V_STR)
		free((char *)v->s);
	for (i = 0; i < v->nitems; i++) {
		free(v->items[i].key);
		ctl_val_clear(&v->items[i].v);
	}
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static void
ctl_row_clear(struct ctl_out *o)
{
	size_t	 i;

	for (i = 0; o->t != NULL && i < o->t->ncols; i++)
		ctl_val_clear(&o->row.cells[i]);
	for (i = 0; i < o->row.nnotes; i++)
		free(o->row.notes[i]);
	free(o->row.notes);
	o->row.notes = NULL;
	o->row.nnotes = 0;
}

void
ctl_out_free(struct ctl_out *o)
{
	if (o == NULL)
		return;
	ctl_row_clear(o);
	free(o->row.cells);
	free(o->empty);
	o->ops->free(o);
	free(o);
}

int
ctl_out_end(struct ctl_out *o)
{
	if (!o->failed && o->depth != 0)
		ctl_out_fail(o, "document ends at depth %d", o->depth);
	if (o->failed)
		return -1;
	o->ops->end(o);
	return 0;
}

const char *
ctl_out_error(const struct ctl_out *o)
{
	return o->failed ? o->err : NULL;
}

enum ctl_fmt
ctl_out_fmt(const struct ctl_out *o)
{
	return o->fmt;
}

struct evbuffer *
ctl_out_buf(struct ctl_out *o)
{
	return o->buf;
}

void *
ctl_out_rstate(struct ctl_out *o)
{
	return o->rstate;
}

void
ctl_out_set_rstate(struct ctl_out *o, void *r)
{
	o->rstate = r;
}

/* The kind of the innermost frame; -1 outside the document. */
static int
ctl_out_top(const struct ctl_out *o)
{
	return o->depth == 0 ? -1 : (int)o->st[o->depth - 1].kind;
}

static int
ctl_out_push(struct ctl_out *o, enum ctl_frame_kind kind, size_t col)
{
	if (o->depth >= CTL_OUT_DEPTH_MAX) {
		ctl_out_fail(o, "nesting deeper than %d", CTL_OUT_DEPTH_MAX);
		return -1;
	}
	o->st[o->depth].kind = kind;
	o->st[o->depth].col = col;
	o->depth++;
	return 0;
}

/* The column of the open table named key; -1 (failed) if none. */
static ssize_t
ctl_out_col(struct ctl_out *o, const char *key)
{
	size_t	 i, n = o->t->ncols, c;

	if (key == NULL) {
		ctl_out_fail(o, "a cell without a column name");
		return -1;
	}
	/* cells come mostly in column order: look from the last one on */
	for (i = 0; i < n; i++) {
		c = (o->lastcol + i) % n;
		if (strcmp(o->t->cols[c].key, key) == 0) {
			o->lastcol = (c + 1) % n;
			return (ssize_t)c;
		}
	}
	ctl_out_fail(o, "table %s has no column %s", o->t->key, key);
	return -1;
}

/* Does a value of kind k fit a column of type t? */
static int
ctl_out_fits(enum ctl_type t, enum ctl_vkind k)
{
	if (k == CTL_V_NULL)
		return 1;
	switch (t) {
	case CTL_T_STR:
		return k == CTL_V_STR;
	case CTL_T_INT:
	case CTL_T_UINT:
	case CTL_T_TIME:
	case CTL_T_AGE:
		return k == CTL_V_INT || k == CTL_V_UINT;
	case CTL_T_BOOL:
		return k == CTL_V_BOOL;
	case CTL_T_KV:
	case CTL_T_LIST:
		break;
	}
	return 0;
}

/* A copy of v whose string is owned; -1 (failed) without memory. */
static int
ctl_out_copy(struct ctl_out *o, struct ctl_val *dst, const struct ctl_val *v)
{
	*dst = *v;
	if (v->kind == CTL_V_STR && (dst->s = strdup(v->s)) == NULL) {
		dst->kind = CTL_V_NONE;
		ctl_out_fail(o, "out of memory");
		return -1;
	}
	return 0;
}

/* Append an item (key may be NULL) to a KV or list cell. */
static void
ctl_out_item(struct ctl_out *o, struct ctl_val *cell, const char *key,
    const struct ctl_val *v)
{
	struct ctl_item	*ni, *it;

	if ((ni = reallocarray(cell->items, cell->nitems + 1,
	    sizeof(*ni))) == NULL) {
		ctl_out_fail(o, "out of memory");
		return;
	}
	cell->items = ni;
	it = &ni[cell->nitems];
	memset(it, 0, sizeof(*it));
	if (key != NULL && (it->key = strdup(key)) == NULL) {
		ctl_out_fail(o, "out of memory");
		return;
	}
	if (ctl_out_copy(o, &it->v, v) == -1) {
		free(it->key);
		return;
	}
	cell->nitems++;
}

static void
ctl_out_value(struct ctl_out *o, const char *key, const struct ctl_val *v)
{
	struct ctl_val	*cell;
	ssize_t		 c;

	if (o->failed)
		return;
	switch (ctl_out_top(o)) {
	case CTL_F_OBJ:
		if (key == NULL) {
			ctl_out_fail(o, "a value without a key in an object");
			return;
		}
		o->ops->value(o, key, v);
		return;
	case CTL_F_LIST:
		if (key != NULL) {
			ctl_out_fail(o, "a value with a key (%s) in a list",
			    key);
			return;
		}
		o->ops->value(o, NULL, v);
		return;
	case CTL_F_ROW:
		if ((c = ctl_out_col(o, key)) == -1)
			return;
		if (!ctl_out_fits(o->t->cols[c].type, v->kind)) {
			ctl_out_fail(o, "cell %s.%s: wrong type", o->t->key,
			    key);
			return;
		}
		cell = &o->row.cells[c];
		ctl_val_clear(cell);
		ctl_out_copy(o, cell, v);
		return;
	case CTL_F_KV:
		if (key == NULL) {
			ctl_out_fail(o, "a value without a key in a KV cell");
			return;
		}
		ctl_out_item(o, &o->row.cells[o->st[o->depth - 1].col], key,
		    v);
		return;
	case CTL_F_LCELL:
		if (key != NULL) {
			ctl_out_fail(o, "a value with a key (%s) in a list "
			    "cell", key);
			return;
		}
		ctl_out_item(o, &o->row.cells[o->st[o->depth - 1].col], NULL,
		    v);
		return;
	default:
		ctl_out_fail(o, "value %s outside an object, list or row",
		    key != NULL ? key : "(no key)");
		return;
	}
}

void
ctl_out_str(struct ctl_out *o, const char *key, const char *s)
{
	struct ctl_val	 v = { .kind = CTL_V_STR, .s = s };

	ctl_out_value(o, key, &v);
}

void
ctl_out_int(struct ctl_out *o, const char *key, int64_t i)
{
	struct ctl_val	 v = { .kind = CTL_V_INT, .i = i };

	ctl_out_value(o, key, &v);
}

void
ctl_out_uint(struct ctl_out *o, const char *key, uint64_t u)
{
	struct ctl_val	 v = { .kind = CTL_V_UINT, .u = u };

	ctl_out_value(o, key, &v);
}

void
ctl_out_bool(struct ctl_out *o, const char *key, int b)
{
	struct ctl_val	 v = { .kind = CTL_V_BOOL, .i = b != 0 };

	ctl_out_value(o, key, &v);
}

void
ctl_out_null(struct ctl_out *o, const char *key)
{
	struct ctl_val	 v = { .kind = CTL_V_NULL };

	ctl_out_value(o, key, &v);
}

/* obj_open or list_open: cell says which column type opens a cell. */
static void
ctl_out_open(struct ctl_out *o, const char *key, int list)
{
	enum ctl_frame_kind	 kind = list ? CTL_F_LIST : CTL_F_OBJ;
	const char		*what = list ? "list" : "object";
	ssize_t			 c;

	if (o->failed)
		return;
	switch (ctl_out_top(o)) {
	case -1:
		if (key != NULL || list || o->had_doc) {
			ctl_out_fail(o, "the document is one object");
			return;
		}
		o->had_doc = 1;
		break;
	case CTL_F_OBJ:
		if (key == NULL) {
			ctl_out_fail(o, "%s without a key in an object", what);
			return;
		}
		break;
	case CTL_F_LIST:
		if (key != NULL) {
			ctl_out_fail(o, "%s with a key (%s) in a list", what,
			    key);
			return;
		}
		break;
	case CTL_F_ROW:
		if ((c = ctl_out_col(o, key)) == -1)
			return;
		if (o->t->cols[c].type != (list ? CTL_T_LIST : CTL_T_KV)) {
			ctl_out_fail(o, "cell %s.%s is not a %s", o->t->key,
			    key, list ? "list" : "KV cell");
			return;
		}
		ctl_val_clear(&o->row.cells[c]);
		o->row.cells[c].kind = CTL_V_ITEMS;
		ctl_out_push(o, list ? CTL_F_LCELL : CTL_F_KV, (size_t)c);
		return;
	default:
		ctl_out_fail(o, "%s %s in a table or cell", what,
		    key != NULL ? key : "(no key)");
		return;
	}
	if (ctl_out_push(o, kind, 0) == -1)
		return;
	if (list)
		o->ops->list_open(o, key);
	else
		o->ops->obj_open(o, key);
}

void
ctl_out_obj_open(struct ctl_out *o, const char *key)
{
	ctl_out_open(o, key, 0);
}

void
ctl_out_list_open(struct ctl_out *o, const char *key)
{
	ctl_out_open(o, key, 1);
}

void
ctl_out_obj_close(struct ctl_out *o)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) == CTL_F_KV) {
		o->depth--;
		return;
	}
	if (ctl_out_top(o) != CTL_F_OBJ) {
		ctl_out_fail(o, "object close without an open object");
		return;
	}
	o->depth--;
	o->ops->obj_close(o);
}

void
ctl_out_list_close(struct ctl_out *o)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) == CTL_F_LCELL) {
		o->depth--;
		return;
	}
	if (ctl_out_top(o) != CTL_F_LIST) {
		ctl_out_fail(o, "list close without an open list");
		return;
	}
	o->depth--;
	o->ops->list_close(o);
}

void
ctl_out_table_open(struct ctl_out *o, const struct ctl_table *t)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) != CTL_F_OBJ || t->key == NULL || t->ncols == 0) {
		ctl_out_fail(o, "table %s not a member of an object",
		    t->key != NULL ? t->key : "(no key)");
		return;
	}
	if ((o->row.cells = calloc(t->ncols, sizeof(*o->row.cells))) ==
	    NULL) {
		ctl_out_fail(o, "out of memory");
		return;
	}
	if (ctl_out_push(o, CTL_F_TABLE, 0) == -1)
		return;
	o->t = t;
	o->lastcol = 0;
	o->ops->table_open(o, t);
}

void
ctl_out_table_empty(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	if (o->failed)
		return;
	if (ctl_out_top(o) != CTL_F_TABLE) {
		ctl_out_fail(o, "empty text outside a table");
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s == NULL) {
		ctl_out_fail(o, "out of memory");
		return;
	}
	free(o->empty);
	o->empty = s;
}

void
ctl_out_row_open(struct ctl_out *o)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) != CTL_F_TABLE) {
		ctl_out_fail(o, "row outside a table");
		return;
	}
	ctl_out_push(o, CTL_F_ROW, 0);
	o->lastcol = 0;
}

void
ctl_out_row_close(struct ctl_out *o)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) != CTL_F_ROW) {
		ctl_out_fail(o, "row close without an open row");
		return;
	}
	o->depth--;
	o->ops->row(o, o->t, &o->row);
	ctl_row_clear(o);
}

void
ctl_out_table_close(struct ctl_out *o)
{
	if (o->failed)
		return;
	if (ctl_out_top(o) != CTL_F_TABLE) {
		ctl_out_fail(o, "table close without an open table");
		return;
	}
	o->depth--;
	o->ops->table_close(o, o->t, o->empty);
	free(o->row.cells);
	o->row.cells = NULL;
	free(o->empty);
	o->empty = NULL;
	o->t = NULL;
}

/* Format a note or raw piece; NULL (failed) when it cannot. */
static char *
ctl_out_vfmt(struct ctl_out *o, const char *fmt, va_list ap)
{
	char	*s;

	if (vasprintf(&s, fmt, ap) == -1) {
		ctl_out_fail(o, "out of memory");
		return NULL;
	}
	if (strlen(s) > CTL_OUT_NOTE_MAX)
		s[CTL_OUT_NOTE_MAX] = '\0';
	return s;
}

void
ctl_out_note(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s, **nn;
	int	 top = ctl_out_top(o);

	if (o->failed)
		return;
	if (top == CTL_F_TABLE || top == CTL_F_KV || top == CTL_F_LCELL) {
		ctl_out_fail(o, "note in a table outside a row");
		return;
	}
	va_start(ap, fmt);
	s = ctl_out_vfmt(o, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return;
	if (top != CTL_F_ROW) {
		o->ops->note(o, s);
		free(s);
		return;
	}
	if ((nn = reallocarray(o->row.notes, o->row.nnotes + 1,
	    sizeof(*nn))) == NULL) {
		free(s);
		ctl_out_fail(o, "out of memory");
		return;
	}
	o->row.notes = nn;
	nn[o->row.nnotes++] = s;
}

void
ctl_out_raw(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 top = ctl_out_top(o);

	if (o->failed)
		return;
	if (top != -1 && top != CTL_F_OBJ && top != CTL_F_LIST) {
		ctl_out_fail(o, "raw text in a table or cell");
		return;
	}
	va_start(ap, fmt);
	s = ctl_out_vfmt(o, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return;
	o->ops->raw(o, s);
	free(s);
}
