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

/*
 * A reload: each queue takes its destination's set in the new
 * configuration (the old one goes when this returns).  Jobs in flight
 * count against the new limit; messages being received keep theirs.
 */
static int
q_reload_apply(struct bw_daemon *d, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz, void *arg)
{
	struct qsq	*q;

	for (q = qsched_first(); q != NULL; q = qsched_next(q))
		q->lim = config_limits_for_destination(nc, q->gateway,
		    q->domain);
	qhost_reload(nc);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct queued	 env;
	char		 path[PATH_MAX];
	char		 extra[PATH_MAX + sizeof("spool=")];
	uint64_t	 msgs, rcpts;

	memset(&env, 0, sizeof(env));
	env.store.lockfd = -1;
	q_env = &env;
	bw_daemon_init(&env.d, "queued");
	bw_daemon_args(&env.d, argc, argv, NULL, NULL, NULL, NULL);
	bw_daemon_setup(&env.d);
	env.d.on_reload = q_reload_apply;

	/* Production: only smtpd's and deliverd's users may connect. */
	bw_daemon_peer_uids(&env.d, BW_ROLE_SMTPD | BW_ROLE_DELIVERD);
	q_spool_prepare(env.d.cfg);
	bw_daemon_events(&env.d);

	/*
	 * Bound before recovery, while still privileged (the runtime
	 * directory may be root's); connections wait in the backlog until
	 * the store is open and the loop runs.
	 */
	if (config_runtime_path(env.d.cfg, BW_SOCK_QUEUED, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_QUEUED);
	if ((q_listener = bw_peer_listen(env.d.base, path,
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, 0666, (gid_t)-1,
	    qsmtpd_msg_cb, qsmtpd_state_cb, &env)) == NULL)
		fatal("listen on %s", path);

	bw_daemon_privdrop(&env.d, env.d.cfg->user_queued, NULL);

	/* Recovery first: nobody may submit before the store is sane. */
	qstore_open(&env.store, env.d.cfg);
	if (qstore_count(&env.store, &msgs, &rcpts) == 0) {
		env.c_queued_messages = msgs;
		env.c_queued_recipients = rcpts;
	}
	log_info("store: recovered messages=%llu recipients=%llu",
	    (unsigned long long)msgs, (unsigned long long)rcpts);
	qmsg_init((size_t)BW_LIMIT(env.d.cfg, LIM_QUEUE_MAX_OPEN_MESSAGES));
	/* smtpd waits this long for a commit reply lost with our predecessor */
	qcheck_init(BW_LIMIT(env.d.cfg, LIM_SMTPD_TIMEOUT_QUEUE_REPLY));
	qsched_init(env.d.base);
	qidle_init(env.d.base, BW_LIMIT(env.d.cfg, LIM_QUEUE_IDLE_FORGET));
	qhost_init(env.d.base, env.d.cfg);
	qdispatch_init(env.d.base, env.d.cfg->deliverd_workers > 0 ?
	    (uint32_t)env.d.cfg->deliverd_workers : 0);
	if ((env.commit = qcommit_new(qstore_flush, &env.store,
	    (size_t)BW_LIMIT(env.d.cfg, LIM_QUEUE_MAX_COMMIT_BATCH),
	    (unsigned int)BW_LIMIT(env.d.cfg, LIM_QUEUE_COMMIT_DELAY))) ==
	    NULL)
		fatal("group commit");
	if ((env.ev_commit = event_new(env.d.base, qcommit_fd(env.commit),
	    EV_READ | EV_PERSIST, qsmtpd_commit_cb, NULL)) == NULL ||
	    event_add(env.ev_commit, NULL) == -1)
		fatalx("cannot set up the commit event");
	/* after the batcher: loading may already kick off flushes */
	qsched_load();
	qdelay_init(env.d.base);
	qact_init(env.d.base);
	qpressure_init(env.d.base);

	qctl_connect(&env);

	snprintf(extra, sizeof(extra), "spool=%s", env.d.cfg->spool_dir);
	bw_daemon_run(&env.d, extra);

	/* Commits in flight get their flush and replies first. */
	qcommit_free(env.commit, qsmtpd_commit_done, NULL);
	env.commit = NULL;
	event_free(env.ev_commit);
	qsmtpd_flush_replies();
	qctl_shutdown();
	qsmtpd_shutdown();
	qcheck_shutdown();
	qdispatch_shutdown();
	qdelay_shutdown();
	qact_shutdown();
	qpressure_shutdown();
	qidle_shutdown();
	qsched_shutdown();
	qstore_punch_shutdown(&env.store);
	bw_status_link_close(env.controld);
	env.controld = NULL;
	bw_peer_listener_close(q_listener);
	/* The deferred frees of the peers may still use the store. */
	bw_daemon_base_free(&env.d);
	qhost_shutdown();
	qstore_close(&env.store);
	qmsg_table_free();
	bw_daemon_cleanup(&env.d);
	return 0;
}
