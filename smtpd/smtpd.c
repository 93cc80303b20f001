/*
 * smtpd: entry file.  Parse the command line and the config, bind every
 * listener and load TLS keys while still privileged, drop to user_smtpd in
 * an empty chroot, connect to queued and controld, then run the event loop.
 *
 * Trust: smtpd faces the Internet and is assumed compromisable; it holds no
 * spool access (queued writes the store), only its listening sockets, its
 * TLS keys (loaded before the drop) and its peers' sockets.
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"
#include "smtpd.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: smtpd [-dnv] [-b basedir] [-f config]\n");
	exit(2);
}

static void
smtpd_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct smtpd_env	*env = arg;

	log_info("signal %d: shutting down", (int)sig);
	env->shutting_down = 1;
	event_base_loopbreak(env->base);
}

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
	size_t	 n = strlen(env->cfg.chroot_dir);

	if (config_runtime_path(&env->cfg, name, full, sizeof(full)) == -1)
		return -1;
	if (env->cfg.dev_mode || geteuid() != 0 || n == 0)
		return strlcpy(dst, full, dstsz) < dstsz ? 0 : -1;
	while (n > 1 && env->cfg.chroot_dir[n - 1] == '/')
		n--;
	if (strncmp(full, env->cfg.chroot_dir, n) != 0 || full[n] != '/')
		return -1;
	return strlcpy(dst, full + (n == 1 ? 0 : n), dstsz) < dstsz ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	static struct smtpd_env	 env;
	struct event		*ev_term, *ev_int;
	const char		*conffile = NULL, *basedir = NULL;
	char			 pidfile[PATH_MAX], sockpath[PATH_MAX];
	int			 ch, foreground = 0, verbose = 0, checkonly = 0;

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

	TAILQ_INIT(&env.listeners);
	TAILQ_INIT(&env.sessions);
	log_init("smtpd", 1);
	log_set_verbose(verbose);
	if (config_load(&env.cfg, conffile, basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    conffile ? conffile : "built-in default");
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_free(&env.cfg);
		return 0;
	}
	log_init("smtpd", foreground);
	signal(SIGPIPE, SIG_IGN);
	tzset();	/* Received: dates need the zone before chroot */

	if (bw_mkdirs(env.cfg.runtime_dir, 0755) == -1)
		fatal("runtime directory %s", env.cfg.runtime_dir);
	if (env.cfg.dev_mode && bw_mkdirs(env.cfg.chroot_dir, 0755) == -1)
		fatal("chroot directory %s", env.cfg.chroot_dir);
	if (config_runtime_path(&env.cfg, "smtpd.pid", pidfile,
	    sizeof(pidfile)) == -1 || bw_pidfile_write(pidfile) == -1)
		fatal("pid file %s", pidfile);

	if (smtpd_peer_path(&env, BW_SOCK_QUEUED, sockpath,
	    sizeof(sockpath)) == -1)
		fatalx("runtime_dir %s must be inside chroot_dir %s: smtpd "
		    "reaches queued and controld by path after chroot",
		    env.cfg.runtime_dir, env.cfg.chroot_dir);

	/* Privileged part: ports below 1024 and the TLS keys. */
	if (smtpd_listeners_open(&env) == -1)
		fatalx("cannot open listeners");
	bw_privdrop(env.cfg.user_smtpd, env.cfg.chroot_dir, env.cfg.dev_mode);

	if ((env.base = bw_event_base_new()) == NULL)
		fatalx("event_base_new failed");
	env.started = bw_time();
	env.next_reqid = 1;
	env.next_sid = 1;
	if ((ev_term = evsignal_new(env.base, SIGTERM, smtpd_signal_cb,
	    &env)) == NULL || (ev_int = evsignal_new(env.base, SIGINT,
	    smtpd_signal_cb, &env)) == NULL ||
	    evsignal_add(ev_term, NULL) == -1 || evsignal_add(ev_int, NULL) == -1)
		fatalx("cannot set up signal events");
	if ((env.ev_pause = evtimer_new(env.base, smtpd_data_pause_cb,
	    &env)) == NULL)
		fatalx("evtimer_new failed");

	/* reconnecting after a peer restart goes by path, inside the chroot */
	smtpd_queue_connect(&env);
	smtpd_status_connect(&env);
	if (smtpd_listeners_start(&env) == -1)
		fatalx("cannot start listeners");

	log_info("started pid=%ld config=%s", (long)getpid(),
	    env.cfg.path[0] ? env.cfg.path : "built-in");
	if (event_base_dispatch(env.base) == -1 || !env.shutting_down)
		fatalx("event loop ended unexpectedly");

	smtpd_sessions_free_all(&env);
	smtpd_listeners_close(&env);
	bw_peer_close(env.queued);
	bw_peer_close(env.controld);
	event_free(ev_term);
	event_free(ev_int);
	event_free(env.ev_pause);
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	event_base_free(env.base);
	bw_pidfile_remove(pidfile);
	config_free(&env.cfg);
	log_info("stopped");
	return 0;
}
