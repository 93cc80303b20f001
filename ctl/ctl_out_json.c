/*
 * ctl_out's JSON renderer (bwctl --json, the web pages' ?format=json):
 * objects, lists and values as they come, a table as an array of row
 * objects with the DATA columns in column order (a cell never set is left
 * out, a KV cell is an object, a list cell an array).  Notes and raw text
 * are for people and are not written.  The streaming writer ctl_json.c
 * escapes every string.
 */
#include "bw_autoconf.h"

#include <stdlib.h>

#include "ctl_json.h"
#include "ctl_out.h"

static int
ctl_jr_begin(struct ctl_out *o)
{
	struct ctl_json	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	ctl_json_init(j, ctl_out_buf(o));
	ctl_out_set_rstate(o, j);
	return 0;
}

static void
ctl_jr_free(struct ctl_out *o)
{
	free(ctl_out_rstate(o));
}

static void
ctl_jr_obj_open(struct ctl_out *o, const char *key)
{
	ctl_json_obj_open(ctl_out_rstate(o), key);
}

static void
ctl_jr_obj_close(struct ctl_out *o)
{
	ctl_json_obj_close(ctl_out_rstate(o));
}

static void
ctl_jr_list_open(struct ctl_out *o, const char *key)
{
	ctl_json_arr_open(ctl_out_rstate(o), key);
}

static void
ctl_jr_list_close(struct ctl_out *o)
{
	ctl_json_arr_close(ctl_out_rstate(o));
}

static void
ctl_jr_val(struct ctl_json *j, const char *key, enum ctl_type type,
    const struct ctl_val *v)
{
	size_t	 i;

	switch (v->kind) {
	case CTL_V_NONE:
		break;
	case CTL_V_NULL:
		ctl_json_null(j, key);
		break;
	case CTL_V_STR:
		ctl_json_str(j, key, v->s);
		break;
	case CTL_V_INT:
		ctl_json_int(j, key, v->i);
		break;
	case CTL_V_UINT:
		ctl_json_uint(j, key, v->u);
		break;
	case CTL_V_BOOL:
		ctl_json_bool(j, key, v->i != 0);
		break;
	case CTL_V_ITEMS:
		if (type == CTL_T_KV)
			ctl_json_obj_open(j, key);
		else
			ctl_json_arr_open(j, key);
		for (i = 0; i < v->nitems; i++)
			ctl_jr_val(j, v->items[i].key, CTL_T_STR,
			    &v->items[i].v);
		if (type == CTL_T_KV)
			ctl_json_obj_close(j);
		else
			ctl_json_arr_close(j);
		break;
	}
}

static void
ctl_jr_value(struct ctl_out *o, const char *key, const struct ctl_val *v)
{
	ctl_jr_val(ctl_out_rstate(o), key, CTL_T_STR, v);
}

static void
ctl_jr_table_open(struct ctl_out *o, const struct ctl_table *t)
{
	ctl_json_arr_open(ctl_out_rstate(o), t->key);
}

static void
ctl_jr_row(struct ctl_out *o, const struct ctl_table *t,
    const struct ctl_row *row)
{
	struct ctl_json	*j = ctl_out_rstate(o);
	size_t		 c;

	ctl_json_obj_open(j, NULL);
	for (c = 0; c < t->ncols; c++)
		if (t->cols[c].flags & CTL_COL_DATA)
			ctl_jr_val(j, t->cols[c].key, t->cols[c].type,
			    &row->cells[c]);
	ctl_json_obj_close(j);
}

static void
ctl_jr_table_close(struct ctl_out *o, const struct ctl_table *t,
    const char *empty)
{
	ctl_json_arr_close(ctl_out_rstate(o));
}

static void
ctl_jr_text(struct ctl_out *o, const char *text)
{
}

static void
ctl_jr_end(struct ctl_out *o)
{
	ctl_json_end(ctl_out_rstate(o));
}

const struct ctl_out_ops ctl_out_json_ops = {
	.name = "json",
	.begin = ctl_jr_begin,
	.obj_open = ctl_jr_obj_open,
	.obj_close = ctl_jr_obj_close,
	.list_open = ctl_jr_list_open,
	.list_close = ctl_jr_list_close,
	.value = ctl_jr_value,
	.table_open = ctl_jr_table_open,
	.row = ctl_jr_row,
	.table_close = ctl_jr_table_close,
	.note = ctl_jr_text,
	.raw = ctl_jr_text,
	.end = ctl_jr_end,
	.free = ctl_jr_free,
};
