/*
 * Unit tests for ctl/ctl_json.c, the JSON writer behind every --json
 * output: string escaping (quotes, control bytes, UTF-8 that is valid or
 * not), comma and nesting bookkeeping, and the sanity checks that fire on
 * a misuse.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "ctl_json.h"

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

static const struct {
	const char	*name;
	const char	*in;
	const char	*want;
} quote_cases[] = {
	{ "plain", "example.org", "\"example.org\"" },
	{ "empty", "", "\"\"" },
	{ "quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "named controls", "\n\r\t", "\"\\n\\r\\t\"" },
	{ "other controls", "\x01\x1b\x1f", "\"\\u0001\\u001b\\u001f\"" },
	{ "delete", "\x7f", "\"\\u007f\"" },
	{ "valid 2-byte", "\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"" },
	{ "valid 3-byte", "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
	{ "valid 4-byte", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
	{ "lone 0xff", "a\xff" "b", "\"a\\u00ffb\"" },
	{ "overlong slash", "\xc0\xaf", "\"\\u00c0\\u00af\"" },
	{ "overlong 3-byte", "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"" },
	{ "surrogate", "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"" },
	{ "beyond U+10FFFF", "\xf4\x90\x80\x80",
	    "\"\\u00f4\\u0090\\u0080\\u0080\"" },
	{ "truncated at end", "\xe2\x82", "\"\\u00e2\\u0082\"" },
	{ "continuation alone", "\x80", "\"\\u0080\"" },
};

START_TEST(json_quote_escapes)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	ck_assert_ptr_nonnull(b);
	ctl_json_quote(b, quote_cases[_i].in);
	got = buf_string(b);
	ck_assert_msg(strcmp(got, quote_cases[_i].want) == 0,
	    "%s: got %s want %s", quote_cases[_i].name, got,
	    quote_cases[_i].want);
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(json_document_structure)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_json	 j;
	char		*got;

	ck_assert_ptr_nonnull(b);
	ctl_json_init(&j, b);
	ctl_json_obj_open(&j, NULL);
	ctl_json_arr_open(&j, "queues");
	ctl_json_obj_open(&j, NULL);
	ctl_json_str(&j, "domain", "a\"b");
	ctl_json_uint(&j, "messages", UINT64_MAX);
	ctl_json_obj_close(&j);
	ctl_json_obj_open(&j, NULL);
	ctl_json_int(&j, "age", -5);
	ctl_json_null(&j, "oldest");
	ctl_json_obj_close(&j);
	ctl_json_arr_close(&j);
	ctl_json_arr_open(&j, "empty");
	ctl_json_arr_close(&j);
	ctl_json_arr_open(&j, "list");
	ctl_json_str(&j, NULL, "x");
	ctl_json_bool(&j, NULL, 1);
	ctl_json_bool(&j, NULL, 0);
	ctl_json_arr_close(&j);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
	got = buf_string(b);
	ck_assert_str_eq(got, "{\"queues\":[{\"domain\":\"a\\\"b\","
	    "\"messages\":18446744073709551615},{\"age\":-5,\"oldest\":null}],"
	    "\"empty\":[],\"list\":[\"x\",true,false]}\n");
	free(got);
	evbuffer_free(b);
}
END_TEST

/* Kept reachable so that the exit in fatalx() leaves no leak report. */
static struct evbuffer	*fatal_buf;

START_TEST(json_close_without_open_is_fatal)
{
	struct ctl_json	 j;

	fatal_buf = evbuffer_new();
	ctl_json_init(&j, fatal_buf);
	ctl_json_obj_close(&j);
}
END_TEST

START_TEST(json_unclosed_end_is_fatal)
{
	struct ctl_json	 j;

	fatal_buf = evbuffer_new();
	ctl_json_init(&j, fatal_buf);
	ctl_json_obj_open(&j, NULL);
	ctl_json_end(&j);
}
END_TEST

START_TEST(json_too_deep_is_fatal)
{
	struct ctl_json	 j;
	int		 i;

	fatal_buf = evbuffer_new();
	ctl_json_init(&j, fatal_buf);
	for (i = 0; i <= CTL_JSON_DEPTH_MAX; i++)
		ctl_json_arr_open(&j, NULL);
}
END_TEST

static Suite *
ctl_json_suite(void)
{
	Suite	*s = suite_create("ctl_json");
	TCase	*tc;

	tc = tcase_create("quote");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, json_quote_escapes, 0,
	    sizeof(quote_cases) / sizeof(quote_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, json_document_structure);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 10);
	tcase_add_exit_test(tc, json_close_without_open_is_fatal, 1);
	tcase_add_exit_test(tc, json_unclosed_end_is_fatal, 1);
	tcase_add_exit_test(tc, json_too_deep_is_fatal, 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ctl_json_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
