/*
 * Unit tests for ctl/ctl_out.c and its renderers (ctl_out_text.c,
 * ctl_out_json.c): one document written once and rendered as text (tables
 * with widths, alignment, empty text, row notes) and as JSON (objects,
 * lists, tables as arrays of rows, cells left out or null, KV and list
 * cells); escaping in both; and every misuse of the nesting, which must
 * stop the document with an error instead of writing a broken one.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "ctl_out.h"

/* The evbuffer's contents as a NUL-terminated string (caller frees). */
static char *
buf_string(struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	return s;
}

static const struct ctl_col t_cols[] = {
	{ "name", "NAME", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO, 4, NULL },
	{ "n", "N", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT | CTL_COL_GAP1, 3,
	    NULL },
	{ "when", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "age", "AGE", CTL_T_AGE, CTL_COL_BOTH, 6, " ago" },
	{ "conns", "CONNS", CTL_T_STR, CTL_COL_TEXT, 0, NULL },
	{ "kv", NULL, CTL_T_KV, CTL_COL_DATA, 0, NULL },
	{ "list", NULL, CTL_T_LIST, CTL_COL_DATA, 0, NULL },
	{ "err", "ERROR", CTL_T_STR, CTL_COL_BOTH | CTL_COL_DASH, 0, NULL },
};
static const struct ctl_table t_table = { "rows", t_cols, CTL_NCOLS(t_cols),
    NULL };

/* The same document for every format: two rows, values, notes. */
static void
write_doc(struct ctl_out *o, int nrows)
{
	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "title", "a \"quoted\"\x1b title");
	ctl_out_table_open(o, &t_table);
	ctl_out_table_empty(o, "nothing (%d)", 0);
	if (nrows > 0) {
		ctl_out_row_open(o);
		ctl_out_str(o, "name", "example.org");
		ctl_out_uint(o, "n", 7);
		ctl_out_int(o, "when", 1700000000);
		ctl_out_int(o, "age", 187);
		ctl_out_str(o, "conns", "0/1");
		ctl_out_obj_open(o, "kv");
		ctl_out_uint(o, "a", 1);
		ctl_out_str(o, "b", "x y");
		ctl_out_obj_close(o);
		ctl_out_list_open(o, "list");
		ctl_out_str(o, NULL, "p");
		ctl_out_list_close(o);
		ctl_out_str(o, "err", "");
		ctl_out_note(o, "  note of %s", "row 1");
		ctl_out_row_close(o);
	}
	if (nrows > 1) {
		ctl_out_row_open(o);
		ctl_out_str(o, "name", "a\x01");
		ctl_out_null(o, "n");
		ctl_out_null(o, "age");
		ctl_out_str(o, "err", "bad\tthing");
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_list_open(o, "ids");
	ctl_out_str(o, NULL, "x");
	ctl_out_int(o, NULL, -2);
	ctl_out_list_close(o);
	ctl_out_obj_open(o, "total");
	ctl_out_bool(o, "ok", 1);
	ctl_out_null(o, "none");
	ctl_out_obj_close(o);
	ctl_out_note(o, "total: %d rows", nrows);
	ctl_out_raw(o, "raw%s", "\n");
	ctl_out_obj_close(o);
}

static char *
render(enum ctl_fmt fmt, int nrows)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o;
	char		*s;

	ck_assert_ptr_nonnull(b);
	o = ctl_out_new(fmt, b);
	ck_assert_ptr_nonnull(o);
	write_doc(o, nrows);
	ck_assert_msg(ctl_out_end(o) == 0, "error: %s", ctl_out_error(o));
	ctl_out_free(o);
	s = buf_string(b);
	evbuffer_free(b);
	return s;
}

START_TEST(text_table_layout)
{
	char	*got = render(CTL_FMT_TEXT, 2);

	ck_assert_str_eq(got,
	    "NAME          N  AGE     CONNS  ERROR\n"
	    "example.org   7  3m07s ago  0/1  -\n"
	    "  note of row 1\n"
	    "a\\x01         -  -         bad\\x09thing\n"
	    "total: 2 rows\n"
	    "raw\n");
	free(got);
}
END_TEST

START_TEST(text_table_empty)
{
	char	*got = render(CTL_FMT_TEXT, 0);

	ck_assert_str_eq(got, "nothing (0)\ntotal: 0 rows\nraw\n");
	free(got);
}
END_TEST

START_TEST(json_document)
{
	char	*got = render(CTL_FMT_JSON, 2);

	ck_assert_str_eq(got,
	    "{\"title\":\"a \\\"quoted\\\"\\u001b title\",\"rows\":["
	    "{\"name\":\"example.org\",\"n\":7,\"when\":1700000000,"
	    "\"age\":187,\"kv\":{\"a\":1,\"b\":\"x y\"},\"list\":[\"p\"],"
	    "\"err\":\"\"},"
	    "{\"name\":\"a\\u0001\",\"n\":null,\"age\":null,"
	    "\"err\":\"bad\\tthing\"}],"
	    "\"ids\":[\"x\",-2],\"total\":{\"ok\":true,\"none\":null}}\n");
	free(got);
}
END_TEST

START_TEST(json_empty_table)
{
	char	*got = render(CTL_FMT_JSON, 0);

	ck_assert_str_eq(got, "{\"title\":\"a \\\"quoted\\\"\\u001b title\","
	    "\"rows\":[],\"ids\":[\"x\",-2],\"total\":{\"ok\":true,"
	    "\"none\":null}}\n");
	free(got);
}
END_TEST

/* A KV cell as text: name=value, strings quoted when empty or spaced. */
static const struct ctl_col kv_cols[] = {
	{ "c", "COUNTERS", CTL_T_KV, CTL_COL_TEXT, 0, NULL },
};
static const struct ctl_table kv_table = { "t", kv_cols, 1, NULL };

START_TEST(text_kv_cell)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o = ctl_out_new(CTL_FMT_TEXT, b);
	char		*got;

	ck_assert_ptr_nonnull(o);
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &kv_table);
	ctl_out_row_open(o);
	ctl_out_obj_open(o, "c");
	ctl_out_str(o, "state", "two words");
	ctl_out_str(o, "empty", "");
	ctl_out_str(o, "plain", "x");
	ctl_out_uint(o, "n", 42);
	ctl_out_obj_close(o);
	ctl_out_row_close(o);
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	ck_assert_int_eq(ctl_out_end(o), 0);
	ctl_out_free(o);
	got = buf_string(b);
	ck_assert_str_eq(got, "COUNTERS\nstate=\"two words\" empty=\"\" "
	    "plain=x n=42\n");
	free(got);
	evbuffer_free(b);
}
END_TEST

/* Peer text is cut at BW_LOG_PEER_TEXT_MAX (200); controld's own is not. */
static const struct ctl_col long_cols[] = {
	{ "peer", "P", CTL_T_STR, CTL_COL_TEXT, 0, NULL },
	{ "own", "O", CTL_T_STR, CTL_COL_TEXT | CTL_COL_LONG, 0, NULL },
};
static const struct ctl_table long_table = { "t", long_cols, 2, NULL };

START_TEST(text_long_cell)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o = ctl_out_new(CTL_FMT_TEXT, b);
	char		 big[301], *got, *line;

	memset(big, 'x', 300);
	big[300] = '\0';
	ck_assert_ptr_nonnull(o);
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &long_table);
	ctl_out_row_open(o);
	ctl_out_str(o, "peer", big);
	ctl_out_str(o, "own", big);
	ctl_out_row_close(o);
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	ck_assert_int_eq(ctl_out_end(o), 0);
	ctl_out_free(o);
	got = buf_string(b);
	line = strchr(got, '\n') + 1;
	/* 200 x, two spaces, 300 x, newline */
	ck_assert_uint_eq(strlen(line), 200 + 2 + 300 + 1);
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(no_renderer_for_format)
{
	struct evbuffer	*b = evbuffer_new();

	ck_assert_ptr_null(ctl_out_new(CTL_FMT__COUNT, b));
	evbuffer_free(b);
}
END_TEST

/* Misuses: each must fail the document, not write a broken one. */
enum misuse {
	M_VALUE_AT_TOP,
	M_KEYLESS_IN_OBJECT,
	M_KEY_IN_LIST,
	M_ROW_OUTSIDE_TABLE,
	M_TABLE_IN_LIST,
	M_NOTE_IN_TABLE,
	M_UNKNOWN_COLUMN,
	M_WRONG_TYPE,
	M_KV_ON_STR_COLUMN,
	M_VALUE_IN_TABLE,
	M_UNCLOSED,
	M_SECOND_DOCUMENT,
	M_TOO_DEEP,
	M_CLOSE_WITHOUT_OPEN,
	M_RAW_IN_ROW,
	M__COUNT
};

static const char *const misuse_names[M__COUNT] = {
	"value at top", "keyless in object", "key in list",
	"row outside table", "table in list", "note in table",
	"unknown column", "wrong type", "kv on str column",
	"value in table", "unclosed", "second document", "too deep",
	"close without open", "raw in row",
};

START_TEST(nesting_errors)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o;
	int		 fmt, i;

	for (fmt = CTL_FMT_TEXT; fmt <= CTL_FMT_JSON; fmt++) {
		o = ctl_out_new((enum ctl_fmt)fmt, b);
		ck_assert_ptr_nonnull(o);
		if (_i != M_VALUE_AT_TOP)
			ctl_out_obj_open(o, NULL);
		switch (_i) {
		case M_VALUE_AT_TOP:
			ctl_out_str(o, "k", "v");
			break;
		case M_KEYLESS_IN_OBJECT:
			ctl_out_uint(o, NULL, 1);
			break;
		case M_KEY_IN_LIST:
			ctl_out_list_open(o, "l");
			ctl_out_uint(o, "k", 1);
			break;
		case M_ROW_OUTSIDE_TABLE:
			ctl_out_row_open(o);
			break;
		case M_TABLE_IN_LIST:
			ctl_out_list_open(o, "l");
			ctl_out_table_open(o, &t_table);
			break;
		case M_NOTE_IN_TABLE:
			ctl_out_table_open(o, &t_table);
			ctl_out_note(o, "x");
			break;
		case M_UNKNOWN_COLUMN:
			ctl_out_table_open(o, &t_table);
			ctl_out_row_open(o);
			ctl_out_str(o, "nosuch", "x");
			break;
		case M_WRONG_TYPE:
			ctl_out_table_open(o, &t_table);
			ctl_out_row_open(o);
			ctl_out_str(o, "n", "seven");
			break;
		case M_KV_ON_STR_COLUMN:
			ctl_out_table_open(o, &t_table);
			ctl_out_row_open(o);
			ctl_out_obj_open(o, "name");
			break;
		case M_VALUE_IN_TABLE:
			ctl_out_table_open(o, &t_table);
			ctl_out_uint(o, "n", 1);
			break;
		case M_UNCLOSED:
			ctl_out_obj_open(o, "inner");
			break;
		case M_SECOND_DOCUMENT:
			ctl_out_obj_close(o);
			ctl_out_obj_open(o, NULL);
			break;
		case M_TOO_DEEP:
			for (i = 0; i < CTL_OUT_DEPTH_MAX + 1; i++)
				ctl_out_obj_open(o, "d");
			break;
		case M_CLOSE_WITHOUT_OPEN:
			ctl_out_list_close(o);
			break;
		case M_RAW_IN_ROW:
			ctl_out_table_open(o, &t_table);
			ctl_out_row_open(o);
			ctl_out_raw(o, "x");
			break;
		}
		/* whatever follows is ignored once the document failed */
		ctl_out_obj_close(o);
		ck_assert_msg(ctl_out_end(o) == -1, "%s (%s): no error",
		    misuse_names[_i], fmt == CTL_FMT_TEXT ? "text" : "json");
		ck_assert_ptr_nonnull(ctl_out_error(o));
		ctl_out_free(o);
		evbuffer_drain(b, evbuffer_get_length(b));
	}
	evbuffer_free(b);
}
END_TEST

/* Many rows through the text renderer: widths from every row. */
START_TEST(text_many_rows)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o = ctl_out_new(CTL_FMT_TEXT, b);
	char		*got, name[32];
	int		 i;

	ck_assert_ptr_nonnull(o);
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &t_table);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "%.*s", i % 20 + 1,
		    "abcdefghijklmnopqrstuvwxyz");
		ctl_out_row_open(o);
		ctl_out_str(o, "name", name);
		ctl_out_uint(o, "n", (uint64_t)i);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	ck_assert_int_eq(ctl_out_end(o), 0);
	ctl_out_free(o);
	got = buf_string(b);
	/* the widest name (20) sets the column: header padded to it */
	ck_assert(strncmp(got, "NAME                  ", 22) == 0);
	ck_assert(strstr(got, "abcdefghijklmnopqrst 999") != NULL);
	free(got);
	evbuffer_free(b);
}
END_TEST

static Suite *
ctl_out_suite(void)
{
	Suite	*s = suite_create("ctl_out");
	TCase	*tc;

	tc = tcase_create("text");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, text_table_layout);
	tcase_add_test(tc, text_table_empty);
	tcase_add_test(tc, text_kv_cell);
	tcase_add_test(tc, text_many_rows);
	tcase_add_test(tc, text_long_cell);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, json_document);
	tcase_add_test(tc, json_empty_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, no_renderer_for_format);
	tcase_add_loop_test(tc, nesting_errors, 0, M__COUNT);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ctl_out_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
