/*
 * Unit tests for common/domain_debug.c (bwctl debug): the duration syntax
 * and its bounds, domain patterns (normalized, refused, matched), their
 * file names, and the escaping and cutting of one transcript line.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "imsg_catalog.h"
#include "domain_debug.h"

static const struct {
	const char	*in;
	int		 want_ok;
	uint64_t	 want_ms;
	const char	*want_err;	/* a part of the reason */
} durations[] = {
	{ "30s", 1, 30000, NULL },
	{ "1s", 1, 1000, NULL },
	{ "45", 1, 45000, NULL },		/* seconds without a unit */
	{ "5m", 1, 300000, NULL },
	{ "2h", 1, 7200000, NULL },
	{ "24h", 1, BW_DEBUG_DURATION_MAX_MS, NULL },
	{ "1440m", 1, BW_DEBUG_DURATION_MAX_MS, NULL },
	{ "86400s", 1, BW_DEBUG_DURATION_MAX_MS, NULL },
	{ "86401s", 0, 0, "longer than the maximum of 24h" },
	{ "25h", 0, 0, "longer than the maximum" },
	{ "99999999999999999999999h", 0, 0, "longer than the maximum" },
	{ "18446744073709551615s", 0, 0, "longer than the maximum" },
	{ "0s", 0, 0, "at least 1s" },
	{ "0", 0, 0, "at least 1s" },
	{ "", 0, 0, "not a duration" },
	{ "s", 0, 0, "not a duration" },
	{ "-5m", 0, 0, "not a duration" },
	{ "+5m", 0, 0, "not a duration" },
	{ " 5m", 0, 0, "not a duration" },
	{ "5d", 0, 0, "not a duration" },
	{ "5mm", 0, 0, "not a duration" },
	{ "5 m", 0, 0, "not a duration" },
	{ "5M", 0, 0, "not a duration" },
	{ "1.5h", 0, 0, "not a duration" },
};

START_TEST(duration_table)
{
	char		 err[96] = "";
	uint64_t	 ms = 12345;
	int		 r;

	r = bw_debug_duration_parse(durations[_i].in, &ms, err, sizeof(err));
	if (durations[_i].want_ok) {
		ck_assert_msg(r == 0, "%s: %s", durations[_i].in, err);
		ck_assert_uint_eq(ms, durations[_i].want_ms);
	} else {
		ck_assert_msg(r == -1, "%s accepted", durations[_i].in);
		ck_assert_uint_eq(ms, 12345);	/* untouched */
		ck_assert_msg(strstr(err, durations[_i].want_err) != NULL,
		    "%s: '%s'", durations[_i].in, err);
	}
}
END_TEST

static char long_label[80];
static char long_name[BW_DOMAIN_MAX + 8];
static char max_name[BW_DOMAIN_MAX + 2];

static const struct {
	const char	*in;
	const char	*want;		/* NULL: refused */
} patterns[] = {
	{ "example.org", "example.org" },
	{ "Example.ORG", "example.org" },
	{ "example.org.", "example.org" },
	{ "*.Example.org", "*.example.org" },
	{ "mx-1.a0.example", "mx-1.a0.example" },
	{ "localhost", "localhost" },
	{ "", NULL },
	{ ".", NULL },
	{ "*", NULL },
	{ "*.", NULL },
	{ "*.*.example.org", NULL },
	{ "a.*.example.org", NULL },
	{ "*example.org", NULL },
	{ ".example.org", NULL },
	{ "example..org", NULL },
	{ "example.org..", NULL },
	{ "ex_ample.org", NULL },	/* '_' names the files of "*." */
	{ "ex ample.org", NULL },
	{ "exa/mple.org", NULL },
	{ "../etc", NULL },
	{ "a@example.org", NULL },
	{ "ex\nample.org", NULL },
	{ "ex\xc3\xa9mple.org", NULL },
	{ long_label, NULL },
	{ long_name, NULL },
	{ max_name, max_name },
};

static void
patterns_setup(void)
{
	size_t	 i;

	memset(long_label, 'a', 64);
	memcpy(long_label + 64, ".org", 5);
	/* labels of 3 and dots up to one byte past BW_DOMAIN_MAX */
	for (i = 0; i < BW_DOMAIN_MAX + 1; i++)
		long_name[i] = (i % 4 == 3) ? '.' : 'b';
	long_name[BW_DOMAIN_MAX + 1] = '\0';
	if (long_name[BW_DOMAIN_MAX] == '.')
		long_name[BW_DOMAIN_MAX] = 'b';
	memcpy(max_name, long_name, BW_DOMAIN_MAX);
	max_name[BW_DOMAIN_MAX] = '\0';
	if (max_name[BW_DOMAIN_MAX - 1] == '.')
		max_name[BW_DOMAIN_MAX - 1] = 'b';
}

START_TEST(pattern_table)
{
	char	 out[BW_DOMAIN_MAX + 1];
	int	 r;

	patterns_setup();
	r = bw_debug_pattern_norm(patterns[_i].in, out, sizeof(out));
	if (patterns[_i].want == NULL)
		ck_assert_msg(r == -1, "'%s' accepted as '%s'",
		    patterns[_i].in, out);
	else {
		ck_assert_msg(r == 0, "'%s' refused", patterns[_i].in);
		ck_assert_str_eq(out, patterns[_i].want);
	}
}
END_TEST

START_TEST(pattern_small_buffer)
{
	char	 out[8];

	ck_assert_int_eq(bw_debug_pattern_norm("example.org", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(bw_debug_pattern_norm("a.org", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a.org");
}
END_TEST

static const struct {
	const char	*pattern;
	const char	*domain;
	int		 want;
} matches[] = {
	{ "example.org", "example.org", 1 },
	{ "example.org", "EXAMPLE.org", 1 },
	{ "example.org", "example.org.", 1 },
	{ "example.org", "mx.example.org", 0 },	/* no subdomains */
	{ "example.org", "example.org.uk", 0 },
	{ "example.org", "xexample.org", 0 },
	{ "example.org", "example.or", 0 },
	{ "example.org", "", 0 },
	{ "*.example.org", "a.example.org", 1 },
	{ "*.example.org", "b.a.Example.org", 1 },
	{ "*.example.org", "example.org", 0 },	/* not itself */
	{ "*.example.org", "xexample.org", 0 },
	{ "*.example.org", ".example.org", 0 },
	{ "*.example.org", "a.example.org.", 1 },
	{ "*.example.org", "a.example.com", 0 },
};

START_TEST(match_table)
{
	ck_assert_msg(bw_debug_pattern_match(matches[_i].pattern,
	    matches[_i].domain) == matches[_i].want, "%s vs %s",
	    matches[_i].pattern, matches[_i].domain);
}
END_TEST

START_TEST(file_names)
{
	char	 out[BW_DOMAIN_MAX + 8], small[12];

	ck_assert_int_eq(bw_debug_file_name("example.org", out, sizeof(out)),
	    0);
	ck_assert_str_eq(out, "example.org.log");
	ck_assert_int_eq(bw_debug_file_name("*.example.org", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "_.example.org.log");
	ck_assert_int_eq(bw_debug_file_name("example.org", small,
	    sizeof(small)), -1);
	patterns_setup();
	ck_assert_int_eq(bw_debug_file_name(max_name, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), BW_DOMAIN_MAX + 4);
}
END_TEST

START_TEST(escape_plain_and_control)
{
	char	 out[BW_DEBUG_ESCAPED_MAX];
	size_t	 n;

	n = bw_debug_escape(out, sizeof(out), "250 OK", 6);
	ck_assert_str_eq(out, "250 OK");
	ck_assert_uint_eq(n, 6);
	n = bw_debug_escape(out, sizeof(out), "a\tb\x1b[1m\\c\x7f\xff\r", 12);
	ck_assert_str_eq(out, "a\\x09b\\x1b[1m\\x5cc\\x7f\\xff\\x0d");
	ck_assert_uint_eq(n, strlen(out));
	/* a NUL inside the line is a byte like another */
	n = bw_debug_escape(out, sizeof(out), "a\0b", 3);
	ck_assert_str_eq(out, "a\\x00b");
	n = bw_debug_escape(out, sizeof(out), "", 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(escape_cut_long_line)
{
	static char	 in[BW_DEBUG_LINE_MAX * 3];
	char		 out[BW_DEBUG_ESCAPED_MAX], want[64];
	size_t		 n;

	memset(in, 'x', sizeof(in));
	n = bw_debug_escape(out, sizeof(out), in, BW_DEBUG_LINE_MAX);
	ck_assert_uint_eq(n, BW_DEBUG_LINE_MAX);	/* exactly fits */
	n = bw_debug_escape(out, sizeof(out), in, sizeof(in));
	snprintf(want, sizeof(want), " [... %zu bytes]", sizeof(in));
	ck_assert_uint_eq(n, BW_DEBUG_LINE_MAX + strlen(want));
	ck_assert_str_eq(out + BW_DEBUG_LINE_MAX, want);
	/* all escaped, all cut: still within BW_DEBUG_ESCAPED_MAX */
	memset(in, '\x01', sizeof(in));
	n = bw_debug_escape(out, sizeof(out), in, sizeof(in));
	ck_assert_uint_eq(n, BW_DEBUG_LINE_MAX * 4 + strlen(want));
	ck_assert_uint_lt(n, sizeof(out));
	ck_assert_uint_eq(strlen(out), n);
}
END_TEST

START_TEST(escape_small_buffer)
{
	char	 out[8];
	size_t	 n;

	/* never a half escape, always terminated */
	n = bw_debug_escape(out, sizeof(out), "ab\x01\x02", 4);
	ck_assert_str_eq(out, "ab\\x01");
	ck_assert_uint_eq(n, 6);
	n = bw_debug_escape(out, sizeof(out), "abcdefghijkl", 12);
	ck_assert_uint_lt(n, sizeof(out));
	ck_assert_uint_eq(strlen(out), n);
	ck_assert_int_eq(strncmp(out, "abcdefg", n < 7 ? n : 7), 0);
	n = bw_debug_escape(out, 0, "abc", 3);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *
domain_debug_suite(void)
{
	Suite	*s = suite_create("domain_debug");
	TCase	*tc;

	tc = tcase_create("duration");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, duration_table, 0,
	    sizeof(durations) / sizeof(durations[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("pattern");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, pattern_table, 0,
	    sizeof(patterns) / sizeof(patterns[0]));
	tcase_add_test(tc, pattern_small_buffer);
	tcase_add_loop_test(tc, match_table, 0,
	    sizeof(matches) / sizeof(matches[0]));
	tcase_add_test(tc, file_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, escape_plain_and_control);
	tcase_add_test(tc, escape_cut_long_line);
	tcase_add_test(tc, escape_small_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(domain_debug_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
