/*
 * queued: the queue manager.  It alone opens the spool, a transactional
 * Berkeley DB environment recovered at every start; smtpd submits messages
 * over queued.sock and gets its 250 only after the group commit made the
 * message durable.  See doc/queue.md.
 *
 * Trust: queued.sock admits smtpd and deliverd, each from its own uid
 * (production) or ours (development), checked by SO_PEERCRED in peer.c;
 * every frame passes the catalog before a handler runs, and the handlers
 * (queued_smtpd.c) treat smtpd as hostile: nothing it sends names a file
 * or a key, and a broken rule drops only that connection.  queued runs as
 * user_queued without a chroot (it reconnects to controld.sock by path).
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "util.h"
#include "queued.h"
#include "queued_commit.h"

struct queued			*q_env;

static struct bw_peer_listener	*q_listener;
static struct event		*q_ev_sigterm;
static struct event		*q_ev_sigint;
static char			 q_pidfile[PATH_MAX];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: queued [-dnv] [-b basedir] [-f config]\n");
	exit(2);
}

static void
q_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_info("shutting down on signal %d", (int)sig);
	q_env->shutting_down = 1;
	event_base_loopbreak(q_env->base);
}

/* Production: only smtpd's and deliverd's users may connect. */
static void
q_register_uids(const struct bw_config *cfg)
{
	struct bw_user	 u;

	if (cfg->dev_mode || geteuid() != 0)
		return;
	if (bw_user_lookup(cfg->user_smtpd, &u) == -1)
		fatalx("unknown user %s for smtpd", cfg->user_smtpd);
	bw_peer_role_uid(BW_ROLE_SMTPD, u.uid);
	if (bw_user_lookup(cfg->user_deliverd, &u) == -1)
		fatalx("unknown user %s for deliverd", cfg->user_deliverd);
	bw_peer_role_uid(BW_ROLE_DELIVERD, u.uid);
}

/* The spool belongs to user_queued alone (mode 0700). */
static void
q_spool_prepare(const struct bw_config *cfg)
{
	struct bw_user	 u;

	if (bw_mkdirs(cfg->spool_dir, 0700) == -1)
		fatal("spool directory %s", cfg->spool_dir);
	if (cfg->dev_mode || geteuid() != 0)
		return;
	if (bw_user_lookup(cfg->user_queued, &u) == -1)
		fatalx("unknown user %s for queued", cfg->user_queued);
	if (chown(cfg->spool_dir, u.uid, u.gid) == -1 ||
	    chmod(cfg->spool_dir, 0700) == -1)
		fatal("spool directory %s", cfg->spool_dir);
}

int
main(int argc, char *argv[])
{
	struct queued	 env;
	const char	*conffile = NULL, *basedir = NULL;
	char		 path[PATH_MAX];
	uint64_t	 msgs, rcpts;
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
	env.store.lockfd = -1;
	q_env = &env;
	log_init("queued", 1);
	log_set_verbose(verbose);
	if (config_load(&env.cfg, conffile, basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    conffile ? conffile : "built-in default");
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_free(&env.cfg);
		return 0;
	}
	log_init("queued", foreground);
	env.started = bw_time();
	signal(SIGPIPE, SIG_IGN);

	q_register_uids(&env.cfg);
	if (bw_mkdirs(env.cfg.runtime_dir, 0755) == -1)
		fatal("runtime directory %s", env.cfg.runtime_dir);
	q_spool_prepare(&env.cfg);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (config_runtime_path(&env.cfg, "queued.pid", q_pidfile,
	    sizeof(q_pidfile)) == -1 || bw_pidfile_write(q_pidfile) == -1)
		fatal("pid file %s", q_pidfile);

	/*
	 * Bound before recovery, while still privileged (the runtime
	 * directory may be root's); connections wait in the backlog until
	 * the store is open and the loop runs.
	 */
	if (config_runtime_path(&env.cfg, BW_SOCK_QUEUED, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_QUEUED);
	if ((q_listener = bw_peer_listen(env.base, path,
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, 0666, (gid_t)-1,
	    qsmtpd_msg_cb, qsmtpd_state_cb, &env)) == NULL)
		fatal("listen on %s", path);

	bw_privdrop(env.cfg.user_queued, NULL, env.cfg.dev_mode);

	/* Recovery first: nobody may submit before the store is sane. */
	qstore_open(&env.store, &env.cfg);
	if (qstore_count(&env.store, &msgs, &rcpts) == 0) {
		env.c_queued_messages = msgs;
		env.c_queued_recipients = rcpts;
	}
	log_info("store: recovered messages=%llu recipients=%llu",
	    (unsigned long long)msgs, (unsigned long long)rcpts);
	qmsg_init((size_t)BW_LIMIT(&env.cfg, LIM_QUEUE_MAX_OPEN_MESSAGES));
	qsched_init(env.base);
	qdispatch_init(env.base, env.cfg.deliverd_workers > 0 ?
	    (uint32_t)env.cfg.deliverd_workers : 0);
	if ((env.commit = qcommit_new(qstore_flush, &env.store,
	    (size_t)BW_LIMIT(&env.cfg, LIM_QUEUE_MAX_COMMIT_BATCH),
	    (unsigned int)BW_LIMIT(&env.cfg, LIM_QUEUE_COMMIT_DELAY))) == NULL)
		fatal("group commit");
	if ((env.ev_commit = event_new(env.base, qcommit_fd(env.commit),
	    EV_READ | EV_PERSIST, qsmtpd_commit_cb, NULL)) == NULL ||
	    event_add(env.ev_commit, NULL) == -1)
		fatalx("cannot set up the commit event");
	/* after the batcher: loading may already kick off flushes */
	qsched_load();

	if (config_runtime_path(&env.cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	env.controld = bw_peer_connect(env.base, path, BW_ROLE_QUEUED, 0,
	    qctl_msg_cb, qctl_state_cb, &env);
	if (env.controld == NULL)
		fatal("controld peer %s", path);

	q_ev_sigterm = evsignal_new(env.base, SIGTERM, q_signal_cb, NULL);
	q_ev_sigint = evsignal_new(env.base, SIGINT, q_signal_cb, NULL);
	if (q_ev_sigterm == NULL || q_ev_sigint == NULL ||
	    evsignal_add(q_ev_sigterm, NULL) == -1 ||
	    evsignal_add(q_ev_sigint, NULL) == -1)
		fatalx("cannot set up signal events");

	log_info("started pid=%ld config=%s spool=%s", (long)getpid(),
	    env.cfg.path[0] ? env.cfg.path : "built-in", env.cfg.spool_dir);
	ret = event_base_dispatch(env.base);
	if (!env.shutting_down)
		fatalx("event loop ended unexpectedly (ret=%d)", ret);

	/* Commits in flight get their flush and replies first. */
	qcommit_free(env.commit, qsmtpd_commit_done, NULL);
	env.commit = NULL;
	event_free(env.ev_commit);
	/*
	 * XXX: replies just produced are not written: the peers close now.
	 * Their messages are durable, so a client that retries after the
	 * lost 250 makes a duplicate (at-least-once).
	 */
	qctl_shutdown();
	qsmtpd_shutdown();
	qdispatch_shutdown();
	qsched_shutdown();
	bw_peer_close(env.controld);
	bw_peer_listener_close(q_listener);
	event_free(q_ev_sigterm);
	event_free(q_ev_sigint);
	/* Run the deferred frees of the peers just closed. */
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	event_base_free(env.base);
	qstore_close(&env.store);
	qmsg_table_free();
	bw_pidfile_remove(q_pidfile);
	config_free(&env.cfg);
	log_info("stopped");
	return 0;
}
