/*
 * bwctl: the admin's tool.  `config check` runs here; every other command
 * is sent to controld over control.sock (in runtime_dir from the config,
 * BASEDIR/run with -b, or the path given with -s), and controld's answer is
 * printed: on stdout when the command succeeded, on stderr otherwise, and
 * bwctl exits with controld's exit code.
 *
 * Trust: the command line is the admin's; it is still bounded by
 * BW_CTL_ARGC_MAX arguments of less than BW_CTL_ARG_MAX bytes each.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "util.h"
#include "ctl_trace.h"
#include "bwctl.h"

static const char bwctl_usage_text[] =
"usage: bwctl [-f config] [-b basedir] [-s socket] [--json] command [args]\n"
"\n"
"commands:\n"
"  status                  every Breakwater process: state, pid, uptime,\n"
"                          counters\n"
"  show queue              queues by (gateway, domain): state, queued,\n"
"                          oldest, active jobs, delivered, hard and soft\n"
"                          bounces, last error\n"
"  show message QID        envelope and recipients of one message\n"
"  show senders [-n N] [--json]\n"
"                          the top connecting hosts (default 20, at most\n"
"                          1000) by connections now, then in all:\n"
"                          messages and recipients in all and in the\n"
"                          current window, sender group, policy, score,\n"
"                          last seen\n"
"  show alerts             alerts now and those cleared in the last day:\n"
"                          kind, subject, since, notices told\n"
"  list messages [LIMIT]   queued messages, oldest first (default 1000)\n"
"  show dns                dnscached's counters: queries, hits, misses,\n"
"                          coalesced, upstream errors, cache entries\n"
"  dns flush               empty dnscached's cache\n"
"  show domain D           one destination domain: queue state, next\n"
"                          retry, oldest, counters; MX hosts and\n"
"                          connections from deliverd\n"
"  retry D                 retry D now (a down domain: its probe)\n"
"  suspend D               no deliveries to D until resume\n"
"  resume D                deliver to D again; its queue drains\n"
"  queue verify            read and check every stored piece of the spool\n"
"                          (CRC of body pieces, envelopes, recipients,\n"
"                          index entries) while mail flows; damage is\n"
"                          reported by queue id, exit status 3\n"
"  queue repair            the same, and damaged messages go to the\n"
"                          quarantine (out of the queues, kept)\n"
"  queue quarantine        the quarantined messages\n"
"  queue release QID       a quarantined message back to its queues\n"
"  queue delete QID        a quarantined message removed for good\n"
"  delete SEL [--dry-run]  messages out of their queues into the hold area\n"
"                          for queue_undelete_window (default 1h), then\n"
"                          purged; SEL is QID | --domain D [--gateway G]\n"
"                          | --sender ADDR | --older-than DURATION (with\n"
"                          --limit N); --dry-run says what would be done\n"
"  undelete SEL [--dry-run] deleted messages back to their queues, within\n"
"                          the window\n"
"  bounce SEL [--dry-run]  a DSN (5.0.0, removed by the administrator) to\n"
"                          each sender, then the messages are removed\n"
"  hold SEL [--dry-run]    messages out of their queues until released\n"
"  release SEL [--dry-run] held messages back to their queues (not the\n"
"                          quarantine: that is queue release QID)\n"
"  show held               the held and deleted messages\n"
"  redirect                the redirected domains\n"
"  redirect D HOST[:PORT]  all mail for D goes to HOST (a name or\n"
"                          [address]) instead of its MX or route, from now\n"
"                          on (kept across restarts); D's queue is retried\n"
"  redirect D off          end it\n"
"  config check [FILE]     check a configuration file (default: the -f\n"
"                          file, else the built-in default); no daemon\n"
"                          needed\n"
"  config limits [FILE]    every limit: its value at the top level, the\n"
"                          scopes where it may be set, and what each\n"
"                          listener and destination block sets\n"
"  config reload           every running process checks the file it was\n"
"                          started with and applies it, or keeps its\n"
"                          configuration and says why (file:line)\n"
"  trace ADDRESS [--listener NAME] [--helo NAME] [--from ADDR]\n"
"        [--rcpt ADDR]... [--json]\n"
"                          what a host at ADDRESS would get, without mail:\n"
"                          reverse DNS, score, group and policy, and the\n"
"                          reply to the connection, EHLO, MAIL and each\n"
"                          RCPT (default listener: the first public one)\n"
"  debug                   the domains in debug: time left, transcript\n"
"                          file\n"
"  debug D on [DURATION]   write the SMTP dialogue of every delivery to D\n"
"                          (commands and replies, never bodies) to a file\n"
"                          of its own in debug_dir for DURATION (30s, 5m,\n"
"                          2h; default 10m, at most 24h); *.D for its\n"
"                          subdomains\n"
"  debug D off             stop it now\n"
"  passwd USER [view|act]  a line for the monitor's password file\n"
"                          (monitor_password_file) with the password\n"
"                          read from stdin; view (default) may look,\n"
"                          act may also act on mail; no daemon needed\n"
"  help                    this text\n"
"\n"
"options:\n"
"  -f config   configuration file (default: built-in)\n"
"  -b basedir  development base directory (socket in basedir/run)\n"
"  -s socket   path of controld's control socket\n"
"  -j, --json  machine-readable output\n"
"\n"
"exit status: 0 success, 1 the command failed, 2 usage error,\n"
"  3 queue verify found damage (or repair left some in place)\n";

static void
bwctl_usage(FILE *f)
{
	fputs(bwctl_usage_text, f);
}

int
bwctl_flush(struct evbuffer *buf, int fd)
{
	while (evbuffer_get_length(buf) > 0)
		if (evbuffer_write(buf, fd) == -1 && errno != EINTR)
			return -1;
	return 0;
}

/* Errors of the file bwctl reads to find controld: see main(). */
static void
bwctl_config_quiet_cb(const char *msg, void *arg)
{
}

/* Commands controld knows; anything else is a usage error here. */
static int
bwctl_remote_command(const char *cmd)
{
	static const char *known[] = { "status", "show", "list", "dns",
	    "retry", "suspend", "resume", "queue", "trace", "debug",
	    "delete", "undelete", "bounce", "hold", "release", "redirect" };
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(cmd, known[i]) == 0)
			return 1;
	return 0;
}

/*
 * delete, bounce, hold, ... by a selector other than a queue id: queued
 * walks the spool, so bwctl waits as long as for queue verify.
 */
static int
bwctl_walk_command(int argc, char *argv[])
{
	static const char *ops[] = { "delete", "undelete", "bounce", "hold",
	    "release" };
	size_t	 i;
	int	 j;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(argv[0], ops[i]) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return 0;
	for (j = 1; j < argc; j++)
		if (strncmp(argv[j], "--", 2) == 0 &&
		    strcmp(argv[j], "--dry-run") != 0 &&
		    strcmp(argv[j], "--limit") != 0)
			return 1;
	return 0;
}

/*
 * trace: its arguments checked here as controld will check them, so that
 * a usage error is told without a daemon (--json among them is read by
 * both).  -1 after the message.
 */
static int
bwctl_trace_args(int argc, char *argv[], int *json)
{
	struct bw_trace_req	 tr;
	char			 err[CTL_TRACE_ERR_MAX];

	if (ctl_trace_args(argc, argv, &tr, json, err, sizeof(err)) == -1) {
		fprintf(stderr, "bwctl: trace: %s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bw_config	 cfg;
	const char		*conffile = NULL, *basedir = NULL;
	const char		*sockpath = NULL;
	char			 path[PATH_MAX];
	int			 ch, json = 0, i, ret, reload = 0;

	signal(SIGPIPE, SIG_IGN);
	log_init("bwctl", 1);
	/* '+': options end at the command, whose arguments are its own. */
	while ((ch = getopt_long(argc, argv, "+b:f:hjs:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			basedir = optarg;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'h':
			bwctl_usage(stdout);
			return BWCTL_EXIT_OK;
		case 'j':
			json = 1;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			bwctl_usage(stderr);
			return BWCTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		bwctl_usage(stderr);
		return BWCTL_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		bwctl_usage(stdout);
		return BWCTL_EXIT_OK;
	}
	if (strcmp(argv[0], "passwd") == 0)
		return bwctl_passwd(argc, argv);
	if (strcmp(argv[0], "config") == 0) {
		if (argc >= 2 && argc <= 3 && strcmp(argv[1], "check") == 0)
			return bwctl_config_check(argc == 3 ? argv[2] :
			    conffile, basedir, json);
		if (argc >= 2 && argc <= 3 && strcmp(argv[1], "limits") == 0)
			return bwctl_config_limits(argc == 3 ? argv[2] :
			    conffile, basedir, json);
		if (argc == 2 && strcmp(argv[1], "reload") == 0)
			reload = 1;
		else {
			fprintf(stderr, "bwctl: usage: bwctl config check "
			    "[FILE] | bwctl config limits [FILE] | "
			    "bwctl config reload\n");
			return BWCTL_EXIT_USAGE;
		}
	}
	if (!reload && !bwctl_remote_command(argv[0])) {
		fprintf(stderr, "bwctl: unknown command '%s'\n", argv[0]);
		bwctl_usage(stderr);
		return BWCTL_EXIT_USAGE;
	}
	if (strcmp(argv[0], "trace") == 0 &&
	    bwctl_trace_args(argc, argv, &json) == -1)
		return BWCTL_EXIT_USAGE;
	if (argc > BW_CTL_ARGC_MAX) {
		fprintf(stderr, "bwctl: too many arguments (at most %d)\n",
		    BW_CTL_ARGC_MAX);
		return BWCTL_EXIT_USAGE;
	}
	for (i = 0; i < argc; i++)
		if (strlen(argv[i]) >= BW_CTL_ARG_MAX) {
			fprintf(stderr, "bwctl: argument %d longer than %d "
			    "bytes\n", i + 1, BW_CTL_ARG_MAX - 1);
			return BWCTL_EXIT_USAGE;
		}

	/*
	 * The config tells where the socket is and how long to wait.  A file
	 * with errors (being edited, say) does not lock the admin out: what
	 * parsed still names the runtime directory.  For a reload controld
	 * itself reports the errors, with their lines, and changes nothing.
	 */
	if (config_load(&cfg, conffile, basedir, bwctl_config_quiet_cb,
	    NULL) != 0 && !reload)
		fprintf(stderr, "bwctl: warning: %s has errors (see 'bwctl "
		    "config check'); finding controld with what parsed\n",
		    conffile ? conffile : "the built-in default");
	if (sockpath == NULL) {
		if (config_runtime_path(&cfg, BW_SOCK_CONTROL, path,
		    sizeof(path)) == -1) {
			fprintf(stderr, "bwctl: control socket path too "
			    "long\n");
			config_free(&cfg);
			return BWCTL_EXIT_FAIL;
		}
		sockpath = path;
	}
	/* controld waits ctl_timeout for the daemons' answers, then replies;
	 * verify and repair read the whole spool */
	if ((argc == 2 && strcmp(argv[0], "queue") == 0 &&
	    (strcmp(argv[1], "verify") == 0 ||
	    strcmp(argv[1], "repair") == 0)) || bwctl_walk_command(argc, argv))
		ret = bwctl_request(sockpath, cfg.admin_group, BW_LIMIT(&cfg,
		    LIM_CTL_VERIFY_TIMEOUT), json, argc, argv);
	else
		ret = bwctl_request(sockpath, cfg.admin_group,
		    BW_LIMIT(&cfg, LIM_CTL_TIMEOUT) +
		    (reload ? BWCTL_RELOAD_MARGIN_MS : 0), json, argc, argv);
	config_free(&cfg);
	return ret;
}
