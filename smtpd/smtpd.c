/*
 * smtpd: entry file.  Parse the command line and the config, bind every
 * listener (one socket per worker) and load TLS keys while still
 * privileged, drop to user_smtpd in an empty chroot, then supervise the
 * workers (common/super.c), each of which connects to queued, dnscached
 * and controld and serves SMTP (smtpd_worker.c).
 *
 * Trust: smtpd faces the Internet and is assumed compromisable; it holds no
 * spool access (queued writes the store), only its listening sockets, its
 * TLS keys (loaded before the drop) and its peers' sockets.
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "privdrop.h"
#include "super.h"
#include "util.h"
#include "smtpd.h"

/*
 * Path of a runtime socket as smtpd sees it after chroot: runtime_dir
 * must be chroot_dir or below it (production); in development mode there
 * is no chroot.  -1 if the socket would be unreachable.
 */
int
smtpd_peer_path(const struct smtpd_env *env, const char *name, char *dst,
    size_t dstsz)
{
	char	 full[PATH_MAX];
	size_t	 n = strlen(env->d.cfg->chroot_dir);

	if (config_runtime_path(env->d.cfg, name, full, sizeof(full)) == -1)
		return -1;
	if (!env->d.production || n == 0)
		return strlcpy(dst, full, dstsz) < dstsz ? 0 : -1;
	while (n > 1 && env->d.cfg->chroot_dir[n - 1] == '/')
		n--;
	if (strncmp(full, env->d.cfg->chroot_dir, n) != 0 || full[n] != '/')
		return -1;
	return strlcpy(dst, full + (n == 1 ? 0 : n), dstsz) < dstsz ? 0 : -1;
}

/* SIGHUP in the supervisor: each worker asks controld for the file. */
static void
smtpd_super_sighup(struct bw_daemon *d, void *arg)
{
	bw_super_signal_all(arg, SIGHUP);
}

int
main(int argc, char *argv[])
{
	static struct smtpd_env	 env;
	static struct bw_super	 sup;
	char			 sockpath[PATH_MAX];
	char			 extra[sizeof("workers=") + 16];

	bw_daemon_init(&env.d, "smtpd");
	bw_daemon_args(&env.d, argc, argv, NULL, NULL, NULL, NULL);
	TAILQ_INIT(&env.listeners);
	TAILQ_INIT(&env.retired_listeners);
	TAILQ_INIT(&env.sessions);
	TAILQ_INIT(&env.traces);
	bw_daemon_setup(&env.d);
	tzset();	/* Received: dates need the zone before chroot */
	env.worker = -1;
	env.nworkers = bw_super_count(env.d.cfg->smtpd_workers);

	if (env.d.cfg->dev_mode && bw_mkdirs(env.d.cfg->chroot_dir, 0755) == -1)
		fatal("chroot directory %s", env.d.cfg->chroot_dir);
	if (smtpd_peer_path(&env, BW_SOCK_QUEUED, sockpath,
	    sizeof(sockpath)) == -1)
		fatalx("runtime_dir %s must be inside chroot_dir %s: smtpd "
		    "reaches queued, dnscached and controld by path after "
		    "chroot",
		    env.d.cfg->runtime_dir, env.d.cfg->chroot_dir);

	/* Privileged part: ports below 1024 (a socket per worker) and the
	 * TLS keys. */
	if (smtpd_listeners_open(&env) == -1)
		fatalx("cannot open listeners");
	bw_daemon_privdrop(&env.d, env.d.cfg->user_smtpd,
	    env.d.cfg->chroot_dir);

	/* The supervisor: forks the workers (smtpd_worker.c), restarts one
	 * that dies, stops them on SIGTERM. */
	bw_daemon_events(&env.d);
	env.d.on_sighup = smtpd_super_sighup;
	env.d.on_reload_arg = &sup;
	sup.d = &env.d;
	sup.nslots = env.nworkers;
	sup.worker_main = smtpd_worker_main;
	sup.arg = &env;
	bw_super_start(&sup);
	snprintf(extra, sizeof(extra), "workers=%d", sup.nslots);
	bw_daemon_run(&env.d, extra);
	bw_super_stop(&sup);
	smtpd_listeners_close(&env);
	bw_daemon_cleanup(&env.d);
	return 0;
}
