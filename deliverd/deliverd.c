/*
 * deliverd: outbound delivery.  This entry file runs the daemon life
 * cycle (daemon.c: command line, config, pid file, signals, event loop),
 * drops privileges and hands over to the supervisor, which forks the
 * workers.
 *
 * Trust: deliverd trusts queued for jobs (next issue) and dnscached for
 * answers; it talks to remote SMTP servers, whose replies are untrusted.
 * It runs as user_deliverd without a chroot (it needs the sockets in
 * runtime_dir); the only files it writes are domain debug transcripts
 * in debug_dir (deliverd_debug.c), made its own here before the drop.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"
#include "deliverd.h"

int
main(int argc, char *argv[])
{
	struct dlv_super sup;
	char		 extra[sizeof("workers=") + 16];
	long		 n;

	memset(&sup, 0, sizeof(sup));
	bw_daemon_init(&sup.d, "deliverd");
	bw_daemon_args(&sup.d, argc, argv, NULL, NULL, NULL, NULL);
	bw_daemon_setup(&sup.d);

	if ((n = sup.d.cfg->deliverd_workers) <= 0 &&
	    (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > DLV_WORKERS_MAX)
		n = DLV_WORKERS_MAX;
	sup.nslots = (int)n;

	/* As root in production: the workers' transcript directory. */
	dlv_debug_dir_setup(sup.d.cfg, sup.d.production);

	/* Workers inherit the dropped privileges. */
	bw_daemon_privdrop(&sup.d, sup.d.cfg->user_deliverd, NULL);

	/* SIGTERM/SIGINT: stop the workers, end the loop when all are gone. */
	sup.d.on_shutdown = dlv_super_shutdown;
	sup.d.on_shutdown_arg = &sup;
	sup.d.on_reload = dlv_super_reload;
	sup.d.on_reload_arg = &sup;
	bw_daemon_events(&sup.d);

	dlv_super_start(&sup);
	snprintf(extra, sizeof(extra), "workers=%d", sup.nslots);
	bw_daemon_run(&sup.d, extra);
	dlv_super_stop(&sup);
	bw_daemon_cleanup(&sup.d);
	return 0;
}
