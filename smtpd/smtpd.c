/*
 * smtpd: entry file.  Parse the command line and the config, bind every
 * listener and load TLS keys while still privileged, drop to user_smtpd in
 * an empty chroot, connect to queued, dnscached and controld, then run the
 * event loop.
 *
 * Trust: smtpd faces the Internet and is assumed compromisable; it holds no
 * spool access (queued writes the store), only its listening sockets, its
 * TLS keys (loaded before the drop) and its peers' sockets.
 */
#include "bw_autoconf.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "privdrop.h"
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

int
main(int argc, char *argv[])
{
	static struct smtpd_env	 env;
	char			 sockpath[PATH_MAX];

	bw_daemon_init(&env.d, "smtpd");
	bw_daemon_args(&env.d, argc, argv, NULL, NULL, NULL, NULL);
	TAILQ_INIT(&env.listeners);
	TAILQ_INIT(&env.retired_listeners);
	TAILQ_INIT(&env.sessions);
	TAILQ_INIT(&env.traces);
	bw_daemon_setup(&env.d);
	tzset();	/* Received: dates need the zone before chroot */

	if (env.d.cfg->dev_mode && bw_mkdirs(env.d.cfg->chroot_dir, 0755) == -1)
		fatal("chroot directory %s", env.d.cfg->chroot_dir);
	if (smtpd_peer_path(&env, BW_SOCK_QUEUED, sockpath,
	    sizeof(sockpath)) == -1)
		fatalx("runtime_dir %s must be inside chroot_dir %s: smtpd "
		    "reaches queued, dnscached and controld by path after "
		    "chroot",
		    env.d.cfg->runtime_dir, env.d.cfg->chroot_dir);

	/* Privileged part: ports below 1024 and the TLS keys. */
	if (smtpd_listeners_open(&env) == -1)
		fatalx("cannot open listeners");
	bw_daemon_privdrop(&env.d, env.d.cfg->user_smtpd,
	    env.d.cfg->chroot_dir);

	bw_daemon_events(&env.d);
	smtpd_reload_init(&env);
	env.next_reqid = 1;
	env.next_sid = 1;
	if ((env.ev_pause = evtimer_new(env.d.base, smtpd_data_pause_cb,
	    &env)) == NULL)
		fatalx("evtimer_new failed");
	smtpd_hostcount_init(&env);

	/* reconnecting after a peer restart goes by path, inside the chroot */
	smtpd_queue_connect(&env);
	smtpd_dns_connect(&env);
	smtpd_status_connect(&env);
	if (smtpd_listeners_start(&env) == -1)
		fatalx("cannot start listeners");

	bw_daemon_run(&env.d, NULL);

	smtpd_sessions_free_all(&env);
	smtpd_trace_free_all(&env);
	smtpd_hostcount_shutdown();
	smtpd_listeners_close(&env);
	smtpd_dns_close(&env);
	bw_peer_close(env.queued);
	bw_status_link_close(env.controld);
	event_free(env.ev_pause);
	bw_daemon_cleanup(&env.d);
	return 0;
}
