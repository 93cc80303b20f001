/*
 * deliverd: outbound delivery.  This entry file runs the daemon life
 * cycle (daemon.c: command line, config, pid file, signals, event loop),
 * drops privileges and hands over to the supervisor (common/super.c),
 * which forks the workers.
 *
 * Trust: deliverd trusts queued for jobs (next issue) and dnscached for
 * answers; it talks to remote SMTP servers, whose replies are untrusted.
 * It runs as user_deliverd without a chroot (it needs the sockets in
 * runtime_dir); the only files it writes are domain debug transcripts
 * in debug_dir (deliverd_debug.c), made its own here before the drop.
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "super.h"
#include "util.h"
#include "deliverd.h"

/*
 * SIGHUP checked the file for the supervisor (it needs it only to start
 * workers); each worker reloads it on the SIGHUP passed on here.
 */
static int
dlv_super_reload(struct bw_daemon *d, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz, void *arg)
{
	bw_super_signal_all(arg, SIGHUP);
	return 0;
}

static void
dlv_super_worker(struct bw_super *sup, int index, int parent_fd,
    uint64_t restarts, void *arg)
{
	dlv_worker_main(sup->d->cfg, sup->d->basedir, index, parent_fd,
	    restarts);
}

int
main(int argc, char *argv[])
{
	static struct bw_daemon	 d;
	static struct bw_super	 sup;
	char			 extra[sizeof("workers=") + 16];

	bw_daemon_init(&d, "deliverd");
	bw_daemon_args(&d, argc, argv, NULL, NULL, NULL, NULL);
	bw_daemon_setup(&d);

	sup.d = &d;
	sup.nslots = bw_super_count(d.cfg->deliverd_workers);
	sup.worker_main = dlv_super_worker;

	/* As root in production: the workers' transcript directory. */
	dlv_debug_dir_setup(d.cfg, d.production);

	/* Workers inherit the dropped privileges. */
	bw_daemon_privdrop(&d, d.cfg->user_deliverd, NULL);

	d.on_reload = dlv_super_reload;
	d.on_reload_arg = &sup;
	bw_daemon_events(&d);

	/* SIGTERM/SIGINT: stop the workers, end the loop when all are gone. */
	bw_super_start(&sup);
	snprintf(extra, sizeof(extra), "workers=%d", sup.nslots);
	bw_daemon_run(&d, extra);
	bw_super_stop(&sup);
	bw_daemon_cleanup(&d);
	return 0;
}
