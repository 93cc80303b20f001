/*
 * A small streaming JSON writer for controld's and bwctl's --json output.
 * It appends to an evbuffer, keeps track of commas and nesting, and escapes
 * every string (quotes, backslashes, control bytes; bytes that are not valid
 * UTF-8 are written as \u00XX, i.e. read as Latin-1), so that peer text that
 * reached the queue can never break the document.
 *
 * Usage: ctl_json_init(); then a top-level object or array; members inside
 * an object take a key, values inside an array take NULL.
 */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <stdint.h>

struct evbuffer;

#define CTL_JSON_DEPTH_MAX	16	/* nesting levels; deeper is a bug */

struct ctl_json {
	struct evbuffer	*out;
	int		 depth;
	int		 nitems[CTL_JSON_DEPTH_MAX];	/* values at each level */
};

void	ctl_json_init(struct ctl_json *, struct evbuffer *);
void	ctl_json_obj_open(struct ctl_json *, const char *key);
void	ctl_json_obj_close(struct ctl_json *);
void	ctl_json_arr_open(struct ctl_json *, const char *key);
void	ctl_json_arr_close(struct ctl_json *);
void	ctl_json_str(struct ctl_json *, const char *key, const char *val);
void	ctl_json_int(struct ctl_json *, const char *key, int64_t val);
void	ctl_json_uint(struct ctl_json *, const char *key, uint64_t val);
void	ctl_json_bool(struct ctl_json *, const char *key, int val);
void	ctl_json_null(struct ctl_json *, const char *key);
/* Ends the document with a newline; all levels must be closed. */
void	ctl_json_end(struct ctl_json *);

/* Append s as a quoted, escaped JSON string. */
void	ctl_json_quote(struct evbuffer *, const char *s);

#endif
