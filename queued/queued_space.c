/*
 * Free space on the spool file system: statvfs at most once a second (the
 * answer is cached), compared with queue_min_free_space.  Below it new
 * messages get NOSPACE; what is already queued is untouched.  A change of
 * state is logged once, not every rejected message.  The same cached
 * answer feeds the queue pressure check (queued_pressure.c).
 */
#include "bw_autoconf.h"

#include <sys/statvfs.h>
#include <inttypes.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QSPACE_CHECK_MS		1000	/* statvfs at most this often */

static uint64_t	 qspace_checked_ms;
static int	 qspace_known;		/* qspace_free_now is an answer */
static int	 qspace_stale = 1;	/* ask statvfs at the next call */
static int	 qspace_low = -1;	/* unknown yet */
static uint64_t	 qspace_free_now;

/* Refresh the cached free space when it is old: 0, or -1 (none known). */
int
qspace_free(const char *spool, uint64_t *free_bytes)
{
	struct statvfs	 sv;
	uint64_t	 now = bw_now_ms();

	if (qspace_stale || now - qspace_checked_ms >= QSPACE_CHECK_MS) {
		qspace_checked_ms = now;
		qspace_stale = 0;
		if (statvfs(spool, &sv) == -1)
			log_warn("space: statvfs %s", spool);	/* keep the last */
		else {
			qspace_free_now = (uint64_t)sv.f_bavail *
			    (uint64_t)sv.f_frsize;
			qspace_known = 1;
		}
	}
	*free_bytes = qspace_free_now;
	return qspace_known ? 0 : -1;
}

/* 1 if the spool has at least min_free bytes available, else 0. */
int
qspace_ok(const char *spool, long long min_free)
{
	uint64_t	 free_bytes;
	int		 low;

	if (qspace_free(spool, &free_bytes) == -1)
		return qspace_low == 1 ? 0 : 1;	/* keep the last answer */
	low = min_free > 0 && free_bytes < (uint64_t)min_free;
	if (low != qspace_low && (low || qspace_low != -1))
		log_warnx("space: spool %s has %" PRIu64 " bytes free, "
		    "%s queue_min_free_space=%lld: %s", spool, free_bytes,
		    low ? "below" : "above", min_free,
		    low ? "new messages are refused" : "accepting again");
	qspace_low = low;
	return !low;
}

/* A write met a full disk: the next call asks statvfs again. */
void
qspace_recheck(void)
{
	qspace_stale = 1;
}
