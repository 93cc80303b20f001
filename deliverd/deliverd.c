/*
 * deliverd: outbound delivery.  This entry file parses the command line
 * and the config, writes the pid file, drops privileges and hands over to
 * the supervisor, which forks the workers.
 *
 * Trust: deliverd trusts queued for jobs (next issue) and dnscached for
 * answers; it talks to remote SMTP servers, whose replies are untrusted.
 * It runs as user_deliverd without a chroot (it needs the sockets in
 * runtime_dir) and holds no files.
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"
#include "deliverd.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: deliverd [-dnv] [-b basedir] [-f config]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct dlv_super sup;
	const char	*conffile = NULL, *basedir = NULL;
	char		 pidfile[PATH_MAX];
	int		 ch, foreground = 0, verbose = 0, checkonly = 0, ret;
	long		 n;

	while ((ch = getopt(argc, argv, "b:df:nv")) != -1) {
		switch (ch) {
		case 'b':
			basedir = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&sup, 0, sizeof(sup));
	log_init("deliverd", 1);
	log_set_verbose(verbose);
	if (config_load(&sup.cfg, conffile, basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    conffile ? conffile : "built-in default");
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_free(&sup.cfg);
		return 0;
	}
	log_init("deliverd", foreground);
	signal(SIGPIPE, SIG_IGN);

	if ((n = sup.cfg.deliverd_workers) <= 0 &&
	    (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > DLV_WORKERS_MAX)
		n = DLV_WORKERS_MAX;
	sup.nslots = (int)n;

	if (bw_mkdirs(sup.cfg.runtime_dir, 0755) == -1)
		fatal("runtime directory %s", sup.cfg.runtime_dir);
	if (config_runtime_path(&sup.cfg, "deliverd.pid", pidfile,
	    sizeof(pidfile)) == -1 || bw_pidfile_write(pidfile) == -1)
		fatal("pid file %s", pidfile);

	/* Workers inherit the dropped privileges. */
	bw_privdrop(sup.cfg.user_deliverd, NULL, sup.cfg.dev_mode);

	log_info("started pid=%ld workers=%d config=%s", (long)getpid(),
	    sup.nslots, sup.cfg.path[0] ? sup.cfg.path : "built-in");
	ret = dlv_super_run(&sup);
	bw_pidfile_remove(pidfile);
	config_free(&sup.cfg);
	log_info("stopped");
	return ret;
}
