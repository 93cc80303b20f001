/*
 * Unit tests of the daemon life cycle (common/daemon.c): the command line
 * with the standard and a daemon's own options, usage errors (exit 2),
 * -n (exit 0), the runtime directory and pid file, and the shutdown on
 * SIGTERM/SIGINT with and without an on_shutdown hook that delays it.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "daemon.h"
#include "util.h"

#define ARGV_MAX	8

/* -x (flag) and -r ARG (counted), the shape dnscached uses. */
struct extra {
	int	 x;
	int	 nr;
	char	 last_r[64];
};

static int
extra_cb(int ch, const char *arg, void *p)
{
	struct extra	*e = p;

	switch (ch) {
	case 'x':
		e->x = 1;
		return 0;
	case 'r':
		if (strcmp(arg, "bad") == 0)
			return -1;
		e->nr++;
		strlcpy(e->last_r, arg, sizeof(e->last_r));
		return 0;
	default:
		return -1;
	}
}

static void
args_run(struct bw_daemon *d, struct extra *e, const char *const *args)
{
	char	*argv[ARGV_MAX + 1];
	int	 argc;

	for (argc = 0; args[argc] != NULL && argc < ARGV_MAX; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	optind = 1;
	memset(e, 0, sizeof(*e));
	bw_daemon_init(d, "testd");
	bw_daemon_args(d, argc, argv, "xr:", extra_cb, e, NULL);
}

static const struct {
	const char	*args[ARGV_MAX];
	const char	*want_basedir;
	const char	*want_conffile;
	int		 want_foreground;
	int		 want_verbose;
	int		 want_checkonly;
	int		 want_x;
	int		 want_nr;
} args_cases[] = {
	{ { "testd", NULL }, NULL, NULL, 0, 0, 0, 0, 0 },
	{ { "testd", "-d", "-v", NULL }, NULL, NULL, 1, 1, 0, 0, 0 },
	{ { "testd", "-dnv", NULL }, NULL, NULL, 1, 1, 1, 0, 0 },
	{ { "testd", "-b", "/tmp/b", "-f", "/tmp/c", NULL }, "/tmp/b",
	    "/tmp/c", 0, 0, 0, 0, 0 },
	{ { "testd", "-x", "-r", "1.2.3.4", "-r", "5.6.7.8", NULL }, NULL,
	    NULL, 0, 0, 0, 1, 2 },
	{ { "testd", "-r", "::1", "-d", NULL }, NULL, NULL, 1, 0, 0, 0, 1 },
};

START_TEST(daemon_args_parse)
{
	struct bw_daemon	 d;
	struct extra		 e;

	args_run(&d, &e, args_cases[_i].args);
	if (args_cases[_i].want_basedir == NULL)
		ck_assert_ptr_null(d.basedir);
	else
		ck_assert_str_eq(d.basedir, args_cases[_i].want_basedir);
	if (args_cases[_i].want_conffile == NULL)
		ck_assert_ptr_null(d.conffile);
	else
		ck_assert_str_eq(d.conffile, args_cases[_i].want_conffile);
	ck_assert_int_eq(d.foreground, args_cases[_i].want_foreground);
	ck_assert_int_eq(d.verbose, args_cases[_i].want_verbose);
	ck_assert_int_eq(d.checkonly, args_cases[_i].want_checkonly);
	ck_assert_int_eq(e.x, args_cases[_i].want_x);
	ck_assert_int_eq(e.nr, args_cases[_i].want_nr);
}
END_TEST

/* Each of these is a usage error: exit status 2. */
static const struct {
	const char	*args[ARGV_MAX];
} usage_cases[] = {
	{ { "testd", "-q", NULL } },		/* unknown option */
	{ { "testd", "-f", NULL } },		/* missing argument */
	{ { "testd", "-r", NULL } },		/* missing extra argument */
	{ { "testd", "-r", "bad", NULL } },	/* rejected by the callback */
	{ { "testd", "extra", NULL } },		/* positional argument */
	{ { "testd", "-d", "--", "x", NULL } },
};

START_TEST(daemon_args_usage_exits_2)
{
	struct bw_daemon	 d;
	struct extra		 e;

	args_run(&d, &e, usage_cases[_i].args);
}
END_TEST

/* The extra letters without a handler are a programming error. */
START_TEST(daemon_args_extra_without_handler_dies)
{
	struct bw_daemon	 d;
	char			*argv[] = { "testd", NULL };

	optind = 1;
	bw_daemon_init(&d, "testd");
	bw_daemon_args(&d, 1, argv, "x", NULL, NULL, NULL);
}
END_TEST

#define TMPBASE_MAX	64	/* "/tmp/check_daemon.XXXXXX" */

static char	 tmpbase[TMPBASE_MAX];

static void
tmpbase_make(void)
{
	strlcpy(tmpbase, "/tmp/check_daemon.XXXXXX", sizeof(tmpbase));
	ck_assert_ptr_nonnull(mkdtemp(tmpbase));
}

static void
tmpbase_remove(void)
{
	char	 p[PATH_MAX];

	/* Deepest first: bw_daemon_setup() makes run/<name> for the pid file. */
	snprintf(p, sizeof(p), "%s/run/testd", tmpbase);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/run", tmpbase);
	rmdir(p);
	ck_assert_int_eq(rmdir(tmpbase), 0);
}

/* -n: "configuration OK" and exit 0, before any file is written. */
START_TEST(daemon_setup_checkonly_exits_0)
{
	struct bw_daemon	 d;

	tmpbase_make();
	tmpbase_remove();	/* -n must not need it */
	bw_daemon_init(&d, "testd");
	d.basedir = tmpbase;
	d.foreground = 1;
	d.checkonly = 1;
	bw_daemon_setup(&d);
}
END_TEST

/* Runtime directory and pid file; cleanup removes the pid file. */
START_TEST(daemon_setup_writes_pidfile)
{
	struct bw_daemon	 d;
	struct stat		 sb;
	char			 want[PATH_MAX];
	FILE			*f;
	long			 pid = 0;

	tmpbase_make();
	bw_daemon_init(&d, "testd");
	d.basedir = tmpbase;
	d.foreground = 1;
	bw_daemon_setup(&d);
	snprintf(want, sizeof(want), "%s/run/testd/testd.pid", tmpbase);
	ck_assert_str_eq(d.pidfile, want);
	ck_assert_ptr_nonnull(f = fopen(want, "r"));
	ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	ck_assert_int_eq(pid, (long)getpid());
	ck_assert_int_ne(d.started, 0);
	bw_daemon_cleanup(&d);
	ck_assert_int_eq(stat(want, &sb), -1);
	tmpbase_remove();
}
END_TEST

struct hook {
	int		 calls;
	int		 sig;
	int		 delay;		/* return 1: the test breaks the loop */
	struct event	*ev_break;
};

static int
hook_cb(struct bw_daemon *d, int sig, void *arg)
{
	struct hook	*h = arg;
	struct timeval	 tv = { 0, 10000 };

	h->calls++;
	h->sig = sig;
	if (h->delay)
		evtimer_add(h->ev_break, &tv);
	return h->delay;
}

static void
raise_cb(evutil_socket_t fd, short ev, void *arg)
{
	raise(*(int *)arg);
}

static void
break_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

static const struct {
	int	 sig;
	int	 delay;
} signal_cases[] = {
	{ SIGTERM, 0 },
	{ SIGINT, 0 },
	{ SIGTERM, 1 },
};

/* A signal ends bw_daemon_run(); a hook may end the loop itself later. */
START_TEST(daemon_run_stops_on_signal)
{
	struct bw_daemon	 d;
	struct hook		 h;
	struct event		*ev_raise;
	struct timeval		 tv = { 0, 1000 };
	int			 sig = signal_cases[_i].sig;

	tmpbase_make();
	memset(&h, 0, sizeof(h));
	h.delay = signal_cases[_i].delay;
	bw_daemon_init(&d, "testd");
	d.basedir = tmpbase;
	d.foreground = 1;
	d.on_shutdown = hook_cb;
	d.on_shutdown_arg = &h;
	bw_daemon_setup(&d);
	bw_daemon_events(&d);
	ck_assert_ptr_nonnull(h.ev_break = evtimer_new(d.base, break_cb,
	    d.base));
	ck_assert_ptr_nonnull(ev_raise = evtimer_new(d.base, raise_cb, &sig));
	evtimer_add(ev_raise, &tv);
	bw_daemon_run(&d, "extra=1");
	ck_assert_int_eq(d.shutting_down, 1);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_int_eq(h.sig, sig);
	event_free(ev_raise);
	event_free(h.ev_break);
	bw_daemon_cleanup(&d);
	tmpbase_remove();
}
END_TEST

/* The loop ending without a signal is fatal. */
START_TEST(daemon_run_without_signal_dies)
{
	struct bw_daemon	 d;

	bw_daemon_init(&d, "testd");
	d.foreground = 1;
	bw_daemon_events(&d);
	/* no events but the signals: remove them and the loop ends */
	event_del(d.ev_sigterm);
	event_del(d.ev_sigint);
	event_del(d.ev_sighup);
	bw_daemon_run(&d, NULL);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc;
	int	 n;

	tc = tcase_create("args");
	tcase_set_timeout(tc, 10);
	n = (int)(sizeof(args_cases) / sizeof(args_cases[0]));
	tcase_add_loop_test(tc, daemon_args_parse, 0, n);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_set_timeout(tc, 10);
	n = (int)(sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_loop_exit_test(tc, daemon_args_usage_exits_2, 2, 0, n);
	tcase_add_exit_test(tc, daemon_args_extra_without_handler_dies, 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_set_timeout(tc, 10);
	tcase_add_exit_test(tc, daemon_setup_checkonly_exits_0, 0);
	tcase_add_test(tc, daemon_setup_writes_pidfile);
	suite_add_tcase(s, tc);

	tc = tcase_create("run");
	tcase_set_timeout(tc, 10);
	n = (int)(sizeof(signal_cases) / sizeof(signal_cases[0]));
	tcase_add_loop_test(tc, daemon_run_stops_on_signal, 0, n);
	tcase_add_exit_test(tc, daemon_run_without_signal_dies, 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(daemon_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
