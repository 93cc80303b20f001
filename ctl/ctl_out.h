/*
 * ctl_out: what a controld command answers, written once and rendered for
 * whoever asked.  A command writes a document: objects with typed values,
 * lists, and tables whose columns are declared with a type and where each
 * shows (text, data); plus notes (lines for people) and raw text (the
 * escape hatch for a bespoke text layout).  A renderer, chosen by
 * enum ctl_fmt, turns it into bytes in an evbuffer:
 *
 *   TEXT   tables (header, aligned columns), notes and raw text; objects
 *          and values are data and are not shown (the command says in
 *          notes what a person should read)
 *   JSON   objects, lists, values and tables (an array of row objects
 *          with the DATA columns); notes and raw text are not shown
 *   HTML, PROM  added by their own files (ctl_out_html.c, ctl_out_prom.c):
 *          one struct ctl_out_ops each, named in ctl_out_renderers[] in
 *          ctl_out.c
 *
 * The core (ctl_out.c) checks the nesting and the cell types, buffers one
 * table row at a time (its cells, for the renderer), and stops writing at
 * the first error: ctl_out_end() then fails with its text.  Strings are
 * copied; the caller's may go away at once.
 */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define CTL_OUT_DEPTH_MAX	16	/* nesting; deeper is a command's bug */
#define CTL_OUT_ERR_MAX		128	/* text of the first error */
#define CTL_OUT_NOTE_MAX	16384	/* one note or raw piece */

enum ctl_fmt {
	CTL_FMT_TEXT,
	CTL_FMT_JSON,
	CTL_FMT_HTML,
	CTL_FMT_PROM,
	CTL_FMT__COUNT
};
const char *ctl_fmt_name(enum ctl_fmt);

/* A column's type: how TEXT shows it (the data formats show the value). */
enum ctl_type {
	CTL_T_STR,
	CTL_T_INT,
	CTL_T_UINT,
	CTL_T_BOOL,
	CTL_T_TIME,	/* unix seconds; TEXT: local time, "-" for 0 */
	CTL_T_AGE,	/* seconds; TEXT: 42s, 3m07s, 2h05m, 4d03h */
	CTL_T_KV,	/* an object of name -> value (counters) */
	CTL_T_LIST,	/* a list of values */
};

/* Column flags. */
#define CTL_COL_TEXT	0x0001	/* shown by TEXT */
#define CTL_COL_DATA	0x0002	/* shown by JSON, HTML, PROM */
#define CTL_COL_BOTH	(CTL_COL_TEXT | CTL_COL_DATA)
#define CTL_COL_RIGHT	0x0004	/* TEXT: right-aligned */
#define CTL_COL_AUTO	0x0008	/* TEXT: as wide as the widest cell */
#define CTL_COL_DASH	0x0010	/* TEXT: an empty string shows "-" */
#define CTL_COL_GAP1	0x0020	/* TEXT: one space before it, not two */
#define CTL_COL_LABEL	0x0040	/* PROM: a label of the row's samples */
#define CTL_COL_GAUGE	0x0080	/* PROM: a gauge */
#define CTL_COL_COUNTER	0x0100	/* PROM: a counter */
#define CTL_COL_LONG	0x0200	/* TEXT: escaped but not cut at
				   BW_LOG_PEER_TEXT_MAX (controld's own) */
#define CTL_COL_HIST	0x0400	/* PROM: a KV cell of cumulative buckets
				   (key: upper bound) with the row's "sum"
				   and "count": a histogram */

struct ctl_col {
	const char	*key;	/* JSON member; the name of the cell */
	const char	*head;	/* TEXT header; NULL: the key */
	enum ctl_type	 type;
	unsigned	 flags;	/* CTL_COL_* */
	int		 width;	/* TEXT: the least width (0: none) */
	const char	*suffix; /* TEXT: after the cell (" ago") */
};

struct ctl_table {
	const char		*key;	/* member of the enclosing object */
	const struct ctl_col	*cols;
	size_t			 ncols;
	const char		*metric;	/* PROM: family prefix; NULL:
						   not a metric table */
};
#define CTL_NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

/* A value as the renderers see it. */
enum ctl_vkind {
	CTL_V_NONE,	/* cell not set: JSON leaves the member out */
	CTL_V_NULL,	/* JSON null; TEXT "-" */
	CTL_V_STR,
	CTL_V_INT,
	CTL_V_UINT,
	CTL_V_BOOL,
	CTL_V_ITEMS,	/* a KV or LIST cell: items below */
};

struct ctl_item;
struct ctl_val {
	enum ctl_vkind		 kind;
	const char		*s;
	int64_t			 i;
	uint64_t		 u;
	struct ctl_item		*items;
	size_t			 nitems;
};
struct ctl_item {
	char			*key;	/* NULL in a list */
	struct ctl_val		 v;
};

/* One table row: a value per column, and the notes that follow it. */
struct ctl_row {
	struct ctl_val		*cells;		/* ncols of the table */
	char			**notes;
	size_t			 nnotes;
};

struct ctl_out;

/* A renderer: called by the core in document order, nesting checked. */
struct ctl_out_ops {
	const char	*name;
	int	(*begin)(struct ctl_out *);	/* -1: out of memory */
	void	(*obj_open)(struct ctl_out *, const char *key);
	void	(*obj_close)(struct ctl_out *);
	void	(*list_open)(struct ctl_out *, const char *key);
	void	(*list_close)(struct ctl_out *);
	void	(*value)(struct ctl_out *, const char *key,
		    const struct ctl_val *);
	void	(*table_open)(struct ctl_out *, const struct ctl_table *);
	void	(*row)(struct ctl_out *, const struct ctl_table *,
		    const struct ctl_row *);
	void	(*table_close)(struct ctl_out *, const struct ctl_table *,
		    const char *empty);
	void	(*note)(struct ctl_out *, const char *line);
	void	(*raw)(struct ctl_out *, const char *text);
	void	(*end)(struct ctl_out *);
	void	(*free)(struct ctl_out *);
};

/* Start a document for fmt into out; NULL (errno) without a renderer or
 * memory. */
struct ctl_out	*ctl_out_new(enum ctl_fmt, struct evbuffer *out);
/* 0, or -1 after an error (ctl_out_error says which); then out holds
 * part of a document and is the caller's to drop. */
int		 ctl_out_end(struct ctl_out *);
void		 ctl_out_free(struct ctl_out *);
const char	*ctl_out_error(const struct ctl_out *);	/* NULL: none */
enum ctl_fmt	 ctl_out_fmt(const struct ctl_out *);

/*
 * Objects and lists.  The document is one object (key NULL).  Inside an
 * object every value has a key, inside a list none.  Inside a table row
 * the key names a column; obj_open on a KV column and list_open on a LIST
 * column fill that cell, flat (no deeper nesting).
 */
void	ctl_out_obj_open(struct ctl_out *, const char *key);
void	ctl_out_obj_close(struct ctl_out *);
void	ctl_out_list_open(struct ctl_out *, const char *key);
void	ctl_out_list_close(struct ctl_out *);
void	ctl_out_str(struct ctl_out *, const char *key, const char *);
void	ctl_out_int(struct ctl_out *, const char *key, int64_t);
void	ctl_out_uint(struct ctl_out *, const char *key, uint64_t);
void	ctl_out_bool(struct ctl_out *, const char *key, int);
void	ctl_out_null(struct ctl_out *, const char *key);

/* Tables: a member of the enclosing object, then rows of cells. */
void	ctl_out_table_open(struct ctl_out *, const struct ctl_table *);
/* TEXT: this line instead of the header when the table has no row;
 * "" for nothing at all. */
void	ctl_out_table_empty(struct ctl_out *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ctl_out_row_open(struct ctl_out *);
void	ctl_out_row_close(struct ctl_out *);
void	ctl_out_table_close(struct ctl_out *);

/* A line for people (TEXT, HTML); inside a row it follows that row. */
void	ctl_out_note(struct ctl_out *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Text exactly as given, TEXT only: a bespoke layout. */
void	ctl_out_raw(struct ctl_out *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* For renderers: the evbuffer and a private pointer of their own. */
struct evbuffer	*ctl_out_buf(struct ctl_out *);
void		*ctl_out_rstate(struct ctl_out *);
void		 ctl_out_set_rstate(struct ctl_out *, void *);

/* The renderers this build has (ctl_out_text.c, ctl_out_json.c, ...). */
extern const struct ctl_out_ops ctl_out_text_ops;
extern const struct ctl_out_ops ctl_out_json_ops;
extern const struct ctl_out_ops ctl_out_prom_ops;

#endif
