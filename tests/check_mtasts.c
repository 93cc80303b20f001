/*
 * MTA-STS text formats (deliverd/deliverd_mtasts_parse.c): the _mta-sts TXT
 * record and the choice among several, the policy file in its good and
 * malformed shapes (HTML, truncated, oversized, NUL, bad fields), and the
 * MX pattern match.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "deliverd_mtasts.h"

/* ---- TXT records ---- */

static const struct {
	const char	*rec;
	int		 want;		/* dlv_sts_txt_parse() */
	const char	*want_id;
} txt_cases[] = {
	{ "v=STSv1; id=20160831085700Z;", 1, "20160831085700Z" },
	{ "v=STSv1; id=abc", 1, "abc" },
	{ "v=STSv1;id=abc", 1, "abc" },
	{ "v=STSv1 ; id=abc ;", 1, "abc" },
	{ "v=STSv1; id=abc; ext_1=x.y-z", 1, "abc" },
	{ "v=STSv1; foo=bar; id=Z9", 1, "Z9" },
	{ "v=STSv1; id=12345678901234567890123456789012", 1,
	    "12345678901234567890123456789012" },
	{ "v=STSv1; id=123456789012345678901234567890123", -1, NULL },
	{ "v=STSv1; id=", -1, NULL },
	{ "v=STSv1; id=a-b", -1, NULL },
	{ "v=STSv1; id=a; id=b", -1, NULL },
	{ "v=STSv1", -1, NULL },
	{ "v=STSv1;", -1, NULL },
	{ "v=STSv1; ;id=a", -1, NULL },
	{ "v=STSv1; id=a;;", -1, NULL },
	{ "v=STSv1; x=", -1, NULL },
	{ "v=STSv1; =x; id=a", -1, NULL },
	{ "v=STSv1 id=a", -1, NULL },
	{ "v=STSv10; id=a", 0, NULL },
	{ "v=spf1 -all", 0, NULL },
	{ "V=STSv1; id=a", 0, NULL },
	{ "", 0, NULL },
};

START_TEST(txt_parse)
{
	char	 id[DLV_STS_ID_MAX + 1], why[DLV_STS_WHY_MAX];
	int	 r;

	id[0] = '\0';
	why[0] = '\0';
	r = dlv_sts_txt_parse(txt_cases[_i].rec, id, why, sizeof(why));
	ck_assert_msg(r == txt_cases[_i].want, "\"%s\": %d, want %d (%s)",
	    txt_cases[_i].rec, r, txt_cases[_i].want, why);
	if (r == 1)
		ck_assert_str_eq(id, txt_cases[_i].want_id);
	if (r == -1)
		ck_assert(why[0] != '\0');
}
END_TEST

START_TEST(txt_select)
{
	const char *one[] = { "v=spf1 -all", "v=STSv1; id=a1" };
	const char *two[] = { "v=STSv1; id=a1", "v=STSv1; id=a2" };
	const char *bad[] = { "v=STSv1; id=", "hello" };
	const char *none[] = { "v=spf1 -all" };
	char	 id[DLV_STS_ID_MAX + 1], why[DLV_STS_WHY_MAX];

	ck_assert_int_eq(dlv_sts_txt_select(one, 2, id, why, sizeof(why)), 1);
	ck_assert_str_eq(id, "a1");
	ck_assert_int_eq(dlv_sts_txt_select(two, 2, id, why, sizeof(why)), 0);
	ck_assert(strstr(why, "2 v=STSv1") != NULL);
	ck_assert_int_eq(dlv_sts_txt_select(bad, 2, id, why, sizeof(why)), 0);
	ck_assert(strstr(why, "id") != NULL);
	ck_assert_int_eq(dlv_sts_txt_select(none, 1, id, why, sizeof(why)),
	    0);
	ck_assert_int_eq(dlv_sts_txt_select(NULL, 0, id, why, sizeof(why)),
	    0);
}
END_TEST

/* ---- policies ---- */

static const struct {
	const char	*name;
	const char	*body;
	int		 want;		/* 0 or -1 */
	int		 want_mode;
	uint32_t	 want_age;
	int		 want_nmx;
	const char	*want_mx0;
	const char	*want_why;	/* a part of the reason, -1 only */
} policy_cases[] = {
	{ "RFC example", "version: STSv1\r\nmode: enforce\r\nmx: "
	    "mail.example.com\r\nmx: *.example.net\r\nmx: "
	    "backupmx.example.com\r\nmax_age: 604800\r\n", 0,
	    DLV_STS_MODE_ENFORCE, 604800, 3, "mail.example.com", NULL },
	{ "LF lines, no final newline", "version: STSv1\nmode: testing\n"
	    "mx: MX.Example.COM\nmax_age: 86400", 0, DLV_STS_MODE_TESTING,
	    86400, 1, "mx.example.com", NULL },
	{ "mode none without mx", "version: STSv1\nmode: none\n"
	    "max_age: 0\n", 0, DLV_STS_MODE_NONE, 0, 0, NULL, NULL },
	{ "unknown keys ignored", "version: STSv1\nmode: enforce\n"
	    "x-custom: whatever value\nmx: a.b\nmax_age: 10\nfoo_bar.1: "
	    "2\n", 0, DLV_STS_MODE_ENFORCE, 10, 1, "a.b", NULL },
	{ "blank lines and spaces", "\nversion:STSv1  \n\nmode:\tenforce\n"
	    "mx:   a.b  \nmax_age: 10\n\n\n", 0, DLV_STS_MODE_ENFORCE, 10,
	    1, "a.b", NULL },
	{ "max_age cut to a year", "version: STSv1\nmode: enforce\nmx: a.b\n"
	    "max_age: 9999999999\n", 0, DLV_STS_MODE_ENFORCE, 31557600, 1,
	    "a.b", NULL },
	{ "first mode counts", "version: STSv1\nmode: testing\nmode: "
	    "enforce\nmx: a.b\nmax_age: 1\n", 0, DLV_STS_MODE_TESTING, 1, 1,
	    "a.b", NULL },
	{ "HTML", "<!DOCTYPE html>\n<html><body>Not found</body></html>\n",
	    -1, 0, 0, 0, NULL, "key: value" },
	{ "empty", "", -1, 0, 0, 0, NULL, "no version" },
	{ "wrong version", "version: STSv2\nmode: enforce\nmx: a.b\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "STSv1" },
	{ "version case", "version: stsv1\nmode: enforce\nmx: a.b\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "STSv1" },
	{ "no version", "mode: enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, 0,
	    NULL, "no version" },
	{ "no mode", "version: STSv1\nmx: a.b\nmax_age: 1\n", -1, 0, 0, 0,
	    NULL, "no mode" },
	{ "bad mode", "version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n",
	    -1, 0, 0, 0, NULL, "mode" },
	{ "no max_age", "version: STSv1\nmode: enforce\nmx: a.b\n", -1, 0,
	    0, 0, NULL, "max_age" },
	{ "max_age not a number", "version: STSv1\nmode: enforce\nmx: a.b\n"
	    "max_age: 1d\n", -1, 0, 0, 0, NULL, "max_age" },
	{ "max_age 11 digits", "version: STSv1\nmode: enforce\nmx: a.b\n"
	    "max_age: 12345678901\n", -1, 0, 0, 0, NULL, "max_age" },
	{ "negative max_age", "version: STSv1\nmode: enforce\nmx: a.b\n"
	    "max_age: -1\n", -1, 0, 0, 0, NULL, "max_age" },
	{ "enforce without mx", "version: STSv1\nmode: enforce\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "without mx" },
	{ "bad mx", "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n",
	    -1, 0, 0, 0, NULL, "mx" },
	{ "mx wildcard in the middle", "version: STSv1\nmode: enforce\n"
	    "mx: a.*.b\nmax_age: 1\n", -1, 0, 0, 0, NULL, "mx" },
	{ "mx only *.", "version: STSv1\nmode: enforce\nmx: *.\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "mx" },
	{ "mx hyphen end", "version: STSv1\nmode: enforce\nmx: a-.b\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "mx" },
	{ "empty mx", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n",
	    -1, 0, 0, 0, NULL, "mx" },
	{ "line without colon", "version: STSv1\nmode: enforce\nmx: a.b\n"
	    "max_age: 1\ngarbage\n", -1, 0, 0, 0, NULL, "line 5" },
	{ "key with space", "version: STSv1\nmode enforce: x\n", -1, 0, 0, 0,
	    NULL, "line 2" },
	{ "control character", "version: STSv1\nmode: enforce\x01\nmx: a.b\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, "control" },
	{ "bare CR inside", "version: STSv1\rmode: enforce\nmx: a.b\n"
	    "max_age: 1\n", -1, 0, 0, 0, NULL, NULL },
};

START_TEST(policy_parse)
{
	struct dlv_sts_policy	 p;
	char			 why[DLV_STS_WHY_MAX];
	int			 r;

	why[0] = '\0';
	r = dlv_sts_policy_parse(policy_cases[_i].body,
	    strlen(policy_cases[_i].body), &p, why, sizeof(why));
	ck_assert_msg(r == policy_cases[_i].want, "%s: %d (%s)",
	    policy_cases[_i].name, r, why);
	if (r == 0) {
		ck_assert_int_eq(p.mode, policy_cases[_i].want_mode);
		ck_assert_uint_eq(p.max_age, policy_cases[_i].want_age);
		ck_assert_int_eq(p.nmx, policy_cases[_i].want_nmx);
		if (policy_cases[_i].want_mx0 != NULL)
			ck_assert_str_eq(p.mx[0], policy_cases[_i].want_mx0);
	} else {
		ck_assert(why[0] != '\0');
		if (policy_cases[_i].want_why != NULL)
			ck_assert_msg(strstr(why, policy_cases[_i].want_why)
			    != NULL, "%s: why \"%s\"", policy_cases[_i].name,
			    why);
		ck_assert_int_eq(p.nmx, 0);
	}
}
END_TEST

START_TEST(policy_nul_and_size)
{
	struct dlv_sts_policy	 p;
	char			 why[DLV_STS_WHY_MAX];
	const char		 nul[] = "version: STSv1\nmode: none\0x\n"
				    "max_age: 1\n";
	char			*big;
	size_t			 n;

	ck_assert_int_eq(dlv_sts_policy_parse(nul, sizeof(nul) - 1, &p, why,
	    sizeof(why)), -1);
	ck_assert(strstr(why, "NUL") != NULL);

	/* a valid policy padded with unknown keys past the limit */
	n = DLV_STS_POLICY_MAX + 100;
	ck_assert((big = malloc(n + 1)) != NULL);
	memset(big, 'x', n);
	memcpy(big, "version: STSv1\nmode: none\nmax_age: 1\nx: ", 40);
	big[n] = '\0';
	ck_assert_int_eq(dlv_sts_policy_parse(big, n, &p, why, sizeof(why)),
	    -1);
	ck_assert(strstr(why, "longer") != NULL);
	/* the same at the limit is a policy */
	ck_assert_int_eq(dlv_sts_policy_parse(big, DLV_STS_POLICY_MAX, &p, why,
	    sizeof(why)), 0);
	free(big);
}
END_TEST

START_TEST(policy_mx_count)
{
	struct dlv_sts_policy	 p;
	char			 why[DLV_STS_WHY_MAX], body[4096];
	int			 i;

	strlcpy(body, "version: STSv1\nmode: enforce\nmax_age: 5\n",
	    sizeof(body));
	for (i = 0; i < DLV_STS_MX_MAX; i++) {
		char line[64];

		snprintf(line, sizeof(line), "mx: mx%d.example.com\n", i);
		strlcat(body, line, sizeof(body));
	}
	ck_assert_int_eq(dlv_sts_policy_parse(body, strlen(body), &p, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(p.nmx, DLV_STS_MX_MAX);
	strlcat(body, "mx: one.more\n", sizeof(body));
	ck_assert_int_eq(dlv_sts_policy_parse(body, strlen(body), &p, why,
	    sizeof(why)), -1);
	ck_assert(strstr(why, "mx lines") != NULL);
}
END_TEST

/* ---- MX match ---- */

static const struct {
	const char	*host;
	int		 want;
} match_cases[] = {
	{ "mail.example.com", 1 },
	{ "MAIL.Example.Com", 1 },
	{ "mail.example.com.", 1 },
	{ "mx1.example.net", 1 },		/* *.example.net */
	{ "MX1.EXAMPLE.NET.", 1 },
	{ "a.mx1.example.net", 0 },		/* one label only */
	{ "example.net", 0 },
	{ ".example.net", 0 },
	{ "xexample.net", 0 },
	{ "mail.example.com.evil", 0 },
	{ "evilmail.example.com", 0 },
	{ "", 0 },
	{ ".", 0 },
};

START_TEST(mx_match)
{
	struct dlv_sts_policy	 p;
	char			 why[DLV_STS_WHY_MAX];
	const char		*body = "version: STSv1\nmode: enforce\n"
				    "mx: mail.example.com\nmx: *.example.net\n"
				    "max_age: 100\n";

	ck_assert_int_eq(dlv_sts_policy_parse(body, strlen(body), &p, why,
	    sizeof(why)), 0);
	ck_assert_msg(dlv_sts_mx_match(&p, match_cases[_i].host) ==
	    match_cases[_i].want, "\"%s\"", match_cases[_i].host);
}
END_TEST

START_TEST(mode_names)
{
	ck_assert_str_eq(dlv_sts_mode_name(DLV_STS_MODE_ENFORCE), "enforce");
	ck_assert_str_eq(dlv_sts_mode_name(DLV_STS_MODE_TESTING), "testing");
	ck_assert_str_eq(dlv_sts_mode_name(DLV_STS_MODE_NONE), "none");
	ck_assert_str_eq(dlv_sts_mode_name(42), "?");
}
END_TEST

static Suite *
mtasts_suite(void)
{
	Suite	*s = suite_create("mtasts");
	TCase	*tc;

	tc = tcase_create("txt");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, txt_parse, 0,
	    sizeof(txt_cases) / sizeof(txt_cases[0]));
	tcase_add_test(tc, txt_select);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, policy_parse, 0,
	    sizeof(policy_cases) / sizeof(policy_cases[0]));
	tcase_add_test(tc, policy_nul_and_size);
	tcase_add_test(tc, policy_mx_count);
	tcase_add_test(tc, mode_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("mx");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, mx_match, 0,
	    sizeof(match_cases) / sizeof(match_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(mtasts_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
