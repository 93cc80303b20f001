/*
 * A storage failure: a sync of the log or of a body segment failed, or a
 * body piece could not be written (EIO).
 * After a failed fsync the kernel may have dropped the dirty pages and
 * cleared the error, so trying again and believing a success would be a
 * lie (PostgreSQL's fsyncgate).  queued therefore stops trusting the
 * store at once (qstore_flush() refuses every later flush), writes out
 * the replies that earlier, good flushes produced, says in one line what
 * happened, and exits with QUEUED_EXIT_STORAGE without closing the
 * environment (a close would checkpoint, that is sync again).  The init
 * system restarts it (systemd Restart=on-failure), Berkeley DB recovery
 * runs at start, the start-up check reads the newest body pieces from the
 * disk rather than the page cache, and whatever recovery kept is synced
 * before anyone is served.
 *
 * Commits waiting for the failed flush get no reply: whether they are in
 * the store is known only after recovery.  smtpd keeps those sessions
 * waiting and asks the restarted queued (MSG_COMMIT_CHECK), so a client
 * hears 250 exactly when its message survived, and 451 when not.  Open
 * messages are lost with the connection: smtpd answers them 451.
 *
 * Why exit rather than recover in-process: recovery must run with no
 * thread holding the environment, and the event loop holds state
 * (scheduler queues, jobs at deliverd, open messages) derived from a store
 * that is no longer known; a new process rebuilds all of it from what
 * recovery finds, through the same start-up path that a crash takes.
 */
#include "bw_autoconf.h"

#include <unistd.h>

#include "log.h"
#include "queued.h"

void
qfail_storage(void)
{
	char	 why[QSTORE_FAIL_MAX];
	size_t	 open_msgs;

	qstore_fail_reason(why, sizeof(why));
	open_msgs = qmsg_open_count() - (size_t)q_env->c_committing;
	log_warnx("store: storage failure (%s): no later sync is trusted; "
	    "commits_in_doubt=%llu open_messages=%zu (smtpd asks the next "
	    "queued about every commit it sent); exiting with status %d to "
	    "restart through recovery", why,
	    (unsigned long long)q_env->c_committing, open_msgs,
	    QUEUED_EXIT_STORAGE);
	/* the replies of earlier flushes may still be in our buffers */
	qsmtpd_flush_replies();
	_exit(QUEUED_EXIT_STORAGE);
}
