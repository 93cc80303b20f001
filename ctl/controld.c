/*
 * controld: the admin daemon.  It listens on controld.sock for the daemons
 * (which report their status to it) and on control.sock for bwctl.
 *
 * Trust: controld.sock admits only the daemon roles, each from its own uid
 * (production) or ours (development), checked by SO_PEERCRED in peer.c.
 * control.sock is mode 0660 with group admin_group (0600 without one), and
 * controld checks again that a bwctl peer is root, a member of admin_group,
 * or, in development mode, our own uid.  Every frame is checked against the
 * message catalog before a handler sees it; queued's replies are copied out
 * and their strings terminated before use.  controld keeps no files open and
 * runs as user_controld without a chroot.
 *
 * Limits: ctl_timeout per bwctl request, CTL_REQUESTS_MAX requests in
 * flight, and the row ceilings in controld.h.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "util.h"
#include "controld.h"

struct controld		*ctl_env;

static struct bw_peer_listener	*ctl_daemon_listener;
static struct bw_peer_listener	*ctl_client_listener;
static struct event		*ctl_ev_sigterm;
static struct event		*ctl_ev_sigint;
static char			 ctl_pidfile[PATH_MAX];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: controld [-dnv] [-b basedir] [-f config]\n");
	exit(2);
}

/* SIGTERM, SIGINT: stop listening, end the loop; exit status 0. */
static void
ctl_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_info("shutting down on signal %d", (int)sig);
	ctl_env->shutting_down = 1;
	event_base_loopbreak(ctl_env->base);
}

/*
 * Register the uid of each daemon's user so that peer.c admits only that
 * uid for the role (production).  In development mode every process runs
 * as us and peer.c admits our uid.
 */
static void
ctl_register_uids(const struct bw_config *cfg)
{
	static const struct {
		int		 role;
		size_t		 off;
	} users[] = {
		{ BW_ROLE_SMTPD, offsetof(struct bw_config, user_smtpd) },
		{ BW_ROLE_QUEUED, offsetof(struct bw_config, user_queued) },
		{ BW_ROLE_DELIVERD, offsetof(struct bw_config, user_deliverd) },
		{ BW_ROLE_DNSCACHED, offsetof(struct bw_config, user_dnscached) },
	};
	struct bw_user	 u;
	const char	*name;
	size_t		 i;

	if (cfg->dev_mode || geteuid() != 0)
		return;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		name = (const char *)cfg + users[i].off;
		if (bw_user_lookup(name, &u) == -1)
			fatalx("unknown user %s for %s", name,
			    bw_role_name(users[i].role));
		bw_peer_role_uid(users[i].role, u.uid);
	}
}

/* The admin group, if it exists: control.sock's group. */
static void
ctl_admin_group(struct controld *env)
{
	struct group	*gr;

	env->have_admin_gid = 0;
	env->admin_gid = (gid_t)-1;
	if (env->cfg.admin_group[0] == '\0')
		return;
	if ((gr = getgrnam(env->cfg.admin_group)) == NULL) {
		log_info("admin group %s does not exist: control socket is "
		    "for root only", env->cfg.admin_group);
		return;
	}
	env->admin_gid = gr->gr_gid;
	env->have_admin_gid = 1;
}

static void
ctl_listen(struct controld *env)
{
	char	 path[PATH_MAX];
	mode_t	 mode;

	if (bw_mkdirs(env->cfg.runtime_dir, 0755) == -1)
		fatal("runtime directory %s", env->cfg.runtime_dir);

	if (config_runtime_path(&env->cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	/* Each daemon runs as its own user; SO_PEERCRED does the check. */
	ctl_daemon_listener = bw_peer_listen(env->base, path,
	    BW_ROLE_SMTPD | BW_ROLE_QUEUED | BW_ROLE_DELIVERD |
	    BW_ROLE_DNSCACHED, 0666, (gid_t)-1,
	    ctl_daemon_msg_cb, ctl_daemon_state_cb, env);
	if (ctl_daemon_listener == NULL)
		fatal("listen on %s", path);

	if (config_runtime_path(&env->cfg, BW_SOCK_CONTROL, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROL);
	mode = env->have_admin_gid ? 0660 : 0600;
	ctl_client_listener = bw_peer_listen(env->base, path, BW_ROLE_BWCTL,
	    mode, env->admin_gid, ctl_client_msg_cb, ctl_client_state_cb, env);
	if (ctl_client_listener == NULL)
		fatal("listen on %s", path);
	log_info("listening on %s mode=%04o group=%s", path, (unsigned)mode,
	    env->have_admin_gid ? env->cfg.admin_group : "-");
}

int
main(int argc, char *argv[])
{
	struct controld	 env;
	const char	*conffile = NULL, *basedir = NULL;
	int		 ch, foreground = 0, verbose = 0, checkonly = 0, ret;

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

	memset(&env, 0, sizeof(env));
	ctl_env = &env;
	TAILQ_INIT(&env.daemons);
	TAILQ_INIT(&env.reqs);
	env.next_reqid = 1;

	log_init("controld", 1);
	log_set_verbose(verbose);
	if (config_load(&env.cfg, conffile, basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    conffile ? conffile : "built-in default");
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_free(&env.cfg);
		return 0;
	}
	log_init("controld", foreground);
	env.started = bw_time();
	signal(SIGPIPE, SIG_IGN);

	ctl_register_uids(&env.cfg);
	ctl_admin_group(&env);
	if ((env.base = bw_event_base_new()) == NULL)
		fatalx("event_base_new failed");
	ctl_listen(&env);

	if (config_runtime_path(&env.cfg, "controld.pid", ctl_pidfile,
	    sizeof(ctl_pidfile)) == -1 || bw_pidfile_write(ctl_pidfile) == -1)
		fatal("pid file %s", ctl_pidfile);

	bw_privdrop(env.cfg.user_controld, NULL, env.cfg.dev_mode);

	ctl_ev_sigterm = evsignal_new(env.base, SIGTERM, ctl_signal_cb, NULL);
	ctl_ev_sigint = evsignal_new(env.base, SIGINT, ctl_signal_cb, NULL);
	if (ctl_ev_sigterm == NULL || ctl_ev_sigint == NULL ||
	    evsignal_add(ctl_ev_sigterm, NULL) == -1 ||
	    evsignal_add(ctl_ev_sigint, NULL) == -1)
		fatalx("cannot set up signal events");

	log_info("started pid=%ld config=%s", (long)getpid(),
	    env.cfg.path[0] ? env.cfg.path : "built-in");
	ret = event_base_dispatch(env.base);
	if (!env.shutting_down)
		fatalx("event loop ended unexpectedly (ret=%d)", ret);

	/* Orderly teardown so that the sanitizers see no leak. */
	ctl_req_client_gone(NULL);
	bw_peer_listener_close(ctl_client_listener);
	bw_peer_listener_close(ctl_daemon_listener);
	event_free(ctl_ev_sigterm);
	event_free(ctl_ev_sigint);
	/* Run the deferred frees of the peers just closed. */
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	while (!TAILQ_EMPTY(&env.daemons)) {
		struct ctl_daemon *d = TAILQ_FIRST(&env.daemons);

		TAILQ_REMOVE(&env.daemons, d, entry);
		free(d);
	}
	event_base_free(env.base);
	bw_pidfile_remove(ctl_pidfile);
	config_free(&env.cfg);
	log_info("stopped");
	return 0;
}
