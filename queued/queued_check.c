/*
 * MSG_COMMIT_CHECK: smtpd lost its connection to queued (queued was
 * killed, or left after a storage failure) while a commit's reply was
 * outstanding, and asks the queued it reconnected to whether that
 * message made it.  The answer comes from durable state only: a message
 * in the store after recovery is durable (qstore_open syncs whatever
 * recovery kept before anyone is served), and one committed by this
 * process is answered only once its flush is done.
 *
 * A message recovered at start may be delivered, and deleted, before
 * smtpd gets to ask; so for as long as smtpd may still be waiting
 * (smtpd_timeout_queue_reply after our start) the qids of messages from
 * before our start that were deleted are remembered here, in an array
 * that grows with deliveries in that window only and is freed after it.
 *
 * Trust: the qid comes from smtpd, which may be hostile; it is checked
 * for form and only looked up.  What a hostile smtpd learns is whether a
 * queue id exists, which it could learn by its own submissions anyway.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QCHECK_GONE_MAX	(1024 * 1024)	/* qids remembered, at most */

static uint64_t	 qcheck_start_us;	/* qids below: an earlier process */
static uint64_t	 qcheck_until_ms;	/* monotonic end of the window */
static uint64_t	*qcheck_gone;
static size_t	 qcheck_ngone;
static size_t	 qcheck_cap;

void
qcheck_init(long long window_ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	qcheck_start_us = (uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000;
	qcheck_until_ms = bw_now_ms() + (uint64_t)window_ms;
}

static uint64_t
qcheck_qid_value(const char *qid)
{
	return strtoull(qid, NULL, 16);
}

/* The message qid left the store (delivered, bounced, or removed). */
void
qcheck_note_gone(const char *qid)
{
	uint64_t	*v, id = qcheck_qid_value(qid);
	size_t		 n;

	if (qcheck_until_ms == 0 || bw_now_ms() > qcheck_until_ms) {
		qcheck_shutdown();	/* the window is over */
		return;
	}
	if (id >= qcheck_start_us || qcheck_ngone >= QCHECK_GONE_MAX)
		return;
	if (qcheck_ngone == qcheck_cap) {
		n = qcheck_cap ? qcheck_cap * 2 : 256;
		if ((v = reallocarray(qcheck_gone, n, sizeof(*v))) == NULL)
			return;		/* XXX: a late check may get 451 */
		qcheck_gone = v;
		qcheck_cap = n;
	}
	qcheck_gone[qcheck_ngone++] = id;
}

/* 1 when qid is (or, since our start, was) in the durable store. */
int
qcheck_committed(const char *qid)
{
	struct qenv_rec	 e;
	uint64_t	 id = qcheck_qid_value(qid);
	size_t		 i;

	/* looked up in a short window after a restart: a scan is enough */
	for (i = 0; i < qcheck_ngone; i++)
		if (qcheck_gone[i] == id)
			return 1;
	return qstore_msg_get(&q_env->store, qid, &e) == 0;
}

void
qcheck_shutdown(void)
{
	free(qcheck_gone);
	qcheck_gone = NULL;
	qcheck_ngone = qcheck_cap = 0;
	qcheck_until_ms = 0;
}
