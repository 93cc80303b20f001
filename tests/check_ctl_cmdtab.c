/*
 * Unit tests for ctl/ctl_cmdtab.c, the table of bwctl commands shared by
 * bwctl and controld: the longest match of the words, the argument
 * counts, the words bwctl sends on, one row per id, rights on every row,
 * and the help built from it.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ctl_cmdtab.h"

static const struct {
	const char	*argv[4];
	int		 argc;
	int		 want_id;	/* -1: no command */
	int		 want_words;
} find_cases[] = {
	{ { "status" }, 1, CTL_CMD_STATUS, 1 },
	{ { "status", "extra" }, 2, CTL_CMD_STATUS, 1 },
	{ { "show", "queue" }, 2, CTL_CMD_SHOW_QUEUE, 2 },
	{ { "show", "message", "X" }, 3, CTL_CMD_SHOW_MESSAGE, 2 },
	{ { "show" }, 1, -1, 0 },
	{ { "show", "nonsense" }, 2, -1, 0 },
	{ { "queue", "release", "Q" }, 3, CTL_CMD_QUEUE_RELEASE, 2 },
	{ { "config", "reload" }, 2, CTL_CMD_CONFIG_RELOAD, 2 },
	{ { "config", "check", "f" }, 3, CTL_CMD_CONFIG_CHECK, 2 },
	{ { "debug", "x.test", "on" }, 3, CTL_CMD_DEBUG, 1 },
	{ { "frobnicate" }, 1, -1, 0 },
};

START_TEST(cmdtab_find)
{
	const struct ctl_cmd_def	*d;
	int				 n = -1;

	d = ctl_cmdtab_find(find_cases[_i].argc,
	    (char *const *)find_cases[_i].argv, &n);
	if (find_cases[_i].want_id == -1) {
		ck_assert_ptr_null(d);
		return;
	}
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->id, find_cases[_i].want_id);
	ck_assert_int_eq(n, find_cases[_i].want_words);
}
END_TEST

START_TEST(cmdtab_rows)
{
	size_t	 i, j;

	ck_assert_uint_eq(ctl_cmdtab_n, CTL_CMD__COUNT);
	for (i = 0; i < ctl_cmdtab_n; i++) {
		ck_assert_ptr_eq(ctl_cmdtab_get(ctl_cmdtab[i].id),
		    &ctl_cmdtab[i]);
		ck_assert_msg(ctl_cmdtab[i].may & CTL_MAY_VIEW, "%s: no right",
		    ctl_cmdtab[i].usage);
		ck_assert(ctl_cmdtab[i].usage != NULL &&
		    ctl_cmdtab[i].help != NULL);
		/* a usage error prints the usage on one line */
		ck_assert_msg(strchr(ctl_cmdtab[i].usage, '\n') == NULL ||
		    ctl_cmdtab[i].argmax == -1, "%s: several forms, fixed "
		    "counts", ctl_cmdtab[i].usage);
		for (j = 0; j < i; j++)
			ck_assert_msg(ctl_cmdtab[j].id != ctl_cmdtab[i].id,
			    "id %d twice", ctl_cmdtab[i].id);
	}
	/* what changes the system needs the right to act */
	ck_assert(ctl_cmdtab_get(CTL_CMD_RETRY)->may & CTL_MAY_ACT);
	ck_assert(ctl_cmdtab_get(CTL_CMD_CONFIG_RELOAD)->may & CTL_MAY_ACT);
	ck_assert(!(ctl_cmdtab_get(CTL_CMD_SHOW_QUEUE)->may & CTL_MAY_ACT));
	ck_assert_str_eq(ctl_may_name(CTL_MAY_VIEW | CTL_MAY_ACT),
	    "view,act");
}
END_TEST

START_TEST(cmdtab_nargs_and_words)
{
	const struct ctl_cmd_def	*d;

	d = ctl_cmdtab_get(CTL_CMD_LIST_MESSAGES);
	ck_assert(ctl_cmdtab_nargs_ok(d, 0));
	ck_assert(ctl_cmdtab_nargs_ok(d, 1));
	ck_assert(!ctl_cmdtab_nargs_ok(d, 2));
	d = ctl_cmdtab_get(CTL_CMD_TRACE);
	ck_assert(ctl_cmdtab_nargs_ok(d, 20));
	ck_assert(ctl_cmdtab_remote_word("show"));
	ck_assert(ctl_cmdtab_remote_word("config"));	/* config reload */
	ck_assert(!ctl_cmdtab_remote_word("help"));
	ck_assert(!ctl_cmdtab_remote_word("frobnicate"));
}
END_TEST

START_TEST(cmdtab_help)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ctl_cmdtab_help(f);
	fclose(f);
	/* side by side when the usage fits, below it when it does not */
	ck_assert(strstr(text, "\n  status                  every Breakwater "
	    "process: state, pid, uptime,\n                          "
	    "counters\n") != NULL);
	ck_assert(strstr(text, "\n  show senders [-n N] [--json]\n"
	    "                          the top connecting hosts") != NULL);
	ck_assert(strstr(text, "\n  debug D off             stop it now\n")
	    != NULL);
	free(text);
}
END_TEST

static Suite *
ctl_cmdtab_suite(void)
{
	Suite	*s = suite_create("ctl_cmdtab");
	TCase	*tc;

	tc = tcase_create("table");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, cmdtab_find, 0,
	    sizeof(find_cases) / sizeof(find_cases[0]));
	tcase_add_test(tc, cmdtab_rows);
	tcase_add_test(tc, cmdtab_nargs_and_words);
	tcase_add_test(tc, cmdtab_help);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ctl_cmdtab_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
