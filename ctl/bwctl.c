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
#include "ctl_cmdtab.h"
#include "ctl_trace.h"
#include "bwctl.h"

static const char bwctl_usage_head[] =
"usage: bwctl [-f config] [-b basedir] [-s socket] [--json] command [args]\n"
"\n";

static const char bwctl_usage_tail[] =
"\n"
"options:\n"
"  -f config   configuration file (default: built-in)\n"
"  -b basedir  development base directory (socket in basedir/run)\n"
"  -s socket   path of controld's control socket\n"
"  -j, --json  machine-readable output\n"
"\n"
"exit status: 0 success, 1 the command failed, 2 usage error,\n"
"  3 queue verify found damage (or repair left some in place)\n";

/* The commands come from the table controld dispatches with. */
static void
bwctl_usage(FILE *f)
{
	fputs(bwctl_usage_head, f);
	ctl_cmdtab_help(f);
	fputs(bwctl_usage_tail, f);
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

/*
 * A word that starts commands bwctl answers itself (config check,
 * config limits), with wrong words or arguments: the usage of each, on
 * one line.  -1 if the word starts none.
 */
static int
bwctl_group_usage(const char *word)
{
	size_t	 i;
	int	 n = 0, local = 0;

	for (i = 0; i < ctl_cmdtab_n; i++)
		if ((ctl_cmdtab[i].flags & CTL_CMD_LOCAL) &&
		    ctl_cmdtab[i].words[1] != NULL &&
		    strcmp(ctl_cmdtab[i].words[0], word) == 0)
			local = 1;
	for (i = 0; local && i < ctl_cmdtab_n; i++) {
		if (strcmp(ctl_cmdtab[i].words[0], word) != 0)
			continue;
		fprintf(stderr, "%s bwctl %s", n++ == 0 ? "bwctl: usage:" :
		    " |", ctl_cmdtab[i].usage);
	}
	if (n > 0)
		fputc('\n', stderr);
	return n > 0 ? 0 : -1;
}

/*
 * delete, bounce, hold, ... by a selector other than a queue id: queued
 * walks the spool, so bwctl waits as long as for queue verify.
 */
static int
bwctl_walk_command(const struct ctl_cmd_def *def, int argc, char *argv[])
{
	int	 j;

	if (def == NULL || !(def->flags & CTL_CMD_WALK))
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
	const struct ctl_cmd_def *def;
	int			 ch, json = 0, i, ret, reload = 0, nwords;

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
	def = ctl_cmdtab_find(argc, argv, &nwords);
	if (def != NULL && (def->flags & CTL_CMD_LOCAL)) {
		if (!ctl_cmdtab_nargs_ok(def, argc - nwords)) {
			if (bwctl_group_usage(argv[0]) == -1)
				fprintf(stderr, "bwctl: usage: bwctl %s\n",
				    def->usage);
			return BWCTL_EXIT_USAGE;
		}
		switch (def->id) {
		case CTL_CMD_HELP:
			bwctl_usage(stdout);
			return BWCTL_EXIT_OK;
		case CTL_CMD_PASSWD:
			return bwctl_passwd(argc, argv);
		case CTL_CMD_CONFIG_CHECK:
			return bwctl_config_check(argc == 3 ? argv[2] :
			    conffile, basedir, json);
		case CTL_CMD_CONFIG_LIMITS:
			return bwctl_config_limits(argc == 3 ? argv[2] :
			    conffile, basedir, json);
		default:
			break;
		}
	}
	/* Words controld knows go there (it tells what is wrong with the
	 * rest); a group of bwctl's own commands gets its usage here. */
	if (def == NULL && bwctl_group_usage(argv[0]) == 0)
		return BWCTL_EXIT_USAGE;
	if (def == NULL && !ctl_cmdtab_remote_word(argv[0])) {
		fprintf(stderr, "bwctl: unknown command '%s'\n", argv[0]);
		bwctl_usage(stderr);
		return BWCTL_EXIT_USAGE;
	}
	if (def != NULL && def->id == CTL_CMD_CONFIG_RELOAD)
		reload = 1;
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
	if ((def != NULL && (def->flags & CTL_CMD_LONG)) ||
	    bwctl_walk_command(def, argc, argv))
		ret = bwctl_request(sockpath, cfg.admin_group, BW_LIMIT(&cfg,
		    LIM_CTL_VERIFY_TIMEOUT), json, argc, argv);
	else
		ret = bwctl_request(sockpath, cfg.admin_group,
		    BW_LIMIT(&cfg, LIM_CTL_TIMEOUT) +
		    (reload ? BWCTL_RELOAD_MARGIN_MS : 0), json, argc, argv);
	config_free(&cfg);
	return ret;
}
