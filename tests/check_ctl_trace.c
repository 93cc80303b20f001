/*
 * Unit tests for ctl/ctl_trace.c, the arguments of `bwctl trace` that
 * bwctl and controld both read: every option in both forms, the address,
 * the bounds of each field and of the recipients, and every malformed
 * shape (missing value, unknown option, twice given, control bytes,
 * overlong values) refused with a reason.
 */
#include "bw_autoconf.h"

#include <string.h>

#include <check.h>

#include "ctl_trace.h"

#define ARGS_MAX	40	/* argv of one case */

static char long_name[BW_NAME_MAX + 8];
static char long_arg[BW_CTL_ARG_MAX + 8];
static char fit_arg[BW_CTL_ARG_MAX];

static const struct {
	const char	*name;
	const char	*argv[ARGS_MAX];	/* after "trace", NULL-ended */
	int		 want_ok;
	const char	*want_err;		/* a part of the reason */
	const char	*want_addr;
	const char	*want_listener;
	const char	*want_helo;
	const char	*want_from;
	unsigned int	 want_nrcpt;
	int		 want_json;
} cases[] = {
	{ "address alone", { "192.0.2.1" }, 1, NULL, "192.0.2.1", "", "",
	    "", 0, 0 },
	{ "IPv6", { "2001:db8::25" }, 1, NULL, "2001:db8::25", "", "", "",
	    0, 0 },
	{ "every option", { "127.0.0.2", "--listener", "public", "--helo",
	    "client.example", "--from", "a@b.example", "--rcpt",
	    "x@example.org", "--rcpt", "y@example.org", "--json" }, 1, NULL,
	    "127.0.0.2", "public", "client.example", "a@b.example", 2, 1 },
	{ "= forms, options first", { "--listener=named", "--helo=h.example",
	    "--from=<a@b.example> SIZE=10", "--rcpt=<x@example.org>",
	    "10.1.2.3", "-j" }, 1, NULL, "10.1.2.3", "named", "h.example",
	    "<a@b.example> SIZE=10", 1, 1 },
	{ "null sender", { "10.0.0.1", "--from", "" }, 1, NULL, "10.0.0.1",
	    "", "", "", 0, 0 },
	{ "value that looks like an option", { "10.0.0.1", "--rcpt",
	    "--json" }, 1, NULL, "10.0.0.1", "", "", "", 1, 0 },
	{ "twelve recipients", { "10.0.0.1", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a" }, 1, NULL, "10.0.0.1", "", "", "",
	    BW_TRACE_RCPT_MAX, 0 },
	{ "thirteen recipients", { "10.0.0.1", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a", "--rcpt", "a", "--rcpt", "a",
	    "--rcpt", "a", "--rcpt", "a", "--rcpt", "a" }, 0, "at most 12",
	    NULL, NULL, NULL, NULL, 0, 0 },
	{ "no address", { "--helo", "x" }, 0, "usage: trace ADDRESS", NULL,
	    NULL, NULL, NULL, 0, 0 },
	{ "nothing", { NULL }, 0, "usage: trace ADDRESS", NULL, NULL, NULL,
	    NULL, 0, 0 },
	{ "a name for an address", { "mx.example.org" }, 0,
	    "invalid address 'mx.example.org'", NULL, NULL, NULL, NULL, 0, 0 },
	{ "a network for an address", { "10.0.0.0/8" }, 0,
	    "invalid address", NULL, NULL, NULL, NULL, 0, 0 },
	{ "two addresses", { "10.0.0.1", "10.0.0.2" }, 0, "one ADDRESS only",
	    NULL, NULL, NULL, NULL, 0, 0 },
	{ "unknown option", { "10.0.0.1", "--to", "x" }, 0,
	    "unknown option '--to'", NULL, NULL, NULL, NULL, 0, 0 },
	{ "prefix of an option", { "10.0.0.1", "--rc", "x" }, 0,
	    "unknown option", NULL, NULL, NULL, NULL, 0, 0 },
	{ "missing value", { "10.0.0.1", "--helo" }, 0,
	    "--helo needs a value", NULL, NULL, NULL, NULL, 0, 0 },
	{ "listener twice", { "10.0.0.1", "--listener", "a", "--listener",
	    "b" }, 0, "--listener given twice", NULL, NULL, NULL, NULL, 0, 0 },
	{ "from twice", { "10.0.0.1", "--from", "a", "--from=b" }, 0,
	    "--from given twice", NULL, NULL, NULL, NULL, 0, 0 },
	{ "empty helo", { "10.0.0.1", "--helo=" }, 0, "--helo: an empty "
	    "value", NULL, NULL, NULL, NULL, 0, 0 },
	{ "empty recipient", { "10.0.0.1", "--rcpt", "" }, 0,
	    "--rcpt: an empty value", NULL, NULL, NULL, NULL, 0, 0 },
	{ "space in helo", { "10.0.0.1", "--helo", "a b" }, 0,
	    "--helo: control bytes", NULL, NULL, NULL, NULL, 0, 0 },
	{ "CRLF in a recipient", { "10.0.0.1", "--rcpt",
	    "a@b\r\nDATA" }, 0, "--rcpt: control bytes", NULL, NULL, NULL,
	    NULL, 0, 0 },
	{ "8-bit sender", { "10.0.0.1", "--from", "j\xc3\xb6@b" }, 0,
	    "--from: control bytes", NULL, NULL, NULL, NULL, 0, 0 },
	{ "long listener name", { "10.0.0.1", "--listener", long_name }, 0,
	    "--listener: longer than 31 bytes", NULL, NULL, NULL, NULL, 0, 0 },
	{ "long recipient", { "10.0.0.1", "--rcpt", long_arg }, 0,
	    "--rcpt: longer than 255 bytes", NULL, NULL, NULL, NULL, 0, 0 },
	{ "recipient at the bound", { "10.0.0.1", "--rcpt", fit_arg }, 1,
	    NULL, "10.0.0.1", "", "", "", 1, 0 },
};

static void
fill(char *buf, size_t len)
{
	memset(buf, 'a', len);
	buf[len] = '\0';
}

START_TEST(trace_args_table)
{
	struct bw_trace_req	 req;
	char			*argv[ARGS_MAX + 1];
	char			 err[CTL_TRACE_ERR_MAX];
	int			 argc = 0, json = 0, r;

	fill(long_name, BW_NAME_MAX);
	fill(long_arg, BW_CTL_ARG_MAX);
	fill(fit_arg, BW_CTL_ARG_MAX - 1);
	argv[argc++] = (char *)"trace";
	while (argc <= ARGS_MAX && cases[_i].argv[argc - 1] != NULL)
		argv[argc] = (char *)cases[_i].argv[argc - 1], argc++;
	r = ctl_trace_args(argc, argv, &req, &json, err, sizeof(err));
	if (!cases[_i].want_ok) {
		ck_assert_msg(r == -1, "%s: accepted", cases[_i].name);
		ck_assert_msg(strstr(err, cases[_i].want_err) != NULL,
		    "%s: error '%s', want '%s'", cases[_i].name, err,
		    cases[_i].want_err);
		return;
	}
	ck_assert_msg(r == 0, "%s: refused: %s", cases[_i].name, err);
	ck_assert_str_eq(req.addr, cases[_i].want_addr);
	ck_assert_str_eq(req.listener, cases[_i].want_listener);
	ck_assert_str_eq(req.helo, cases[_i].want_helo);
	ck_assert_str_eq(req.from, cases[_i].want_from);
	ck_assert_uint_eq(req.nrcpt, cases[_i].want_nrcpt);
	ck_assert_int_eq(json, cases[_i].want_json);
}
END_TEST

/* Every recipient lands in its own slot, terminated. */
START_TEST(trace_args_rcpts_in_order)
{
	struct bw_trace_req	 req;
	char			*argv[] = { "trace", "10.0.0.1", "--rcpt",
				    "a@x", "--rcpt=<b@y> NOTIFY=NEVER",
				    "--rcpt", "Postmaster" };
	char			 err[CTL_TRACE_ERR_MAX];
	int			 json = 0;

	ck_assert_int_eq(ctl_trace_args(7, argv, &req, &json, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(req.nrcpt, 3);
	ck_assert_str_eq(req.rcpt[0], "a@x");
	ck_assert_str_eq(req.rcpt[1], "<b@y> NOTIFY=NEVER");
	ck_assert_str_eq(req.rcpt[2], "Postmaster");
	ck_assert_str_eq(req.rcpt[3], "");
}
END_TEST

static Suite *
ctl_trace_suite(void)
{
	Suite	*s = suite_create("ctl_trace");
	TCase	*tc;

	tc = tcase_create("args");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, trace_args_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, trace_args_rcpts_in_order);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ctl_trace_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
