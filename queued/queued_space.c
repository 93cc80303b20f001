/*
 * Free space on the spool file system: statvfs at most once a second (the
 * answer is cached), compared with queue_min_free_space.  Below it new
 * messages get NOSPACE; what is already queued is untouched.  A change of
 * state is logged once, not every rejected message.
 */
#include "bw_autoconf.h"

#include <sys/statvfs.h>
#include <inttypes.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QSPACE_CHECK_MS		1000	/* statvfs at most this often */

static uint64_t	 qspace_checked_ms;
static int	 qspace_low = -1;	/* unknown yet */
static uint64_t	 qspace_free;

/* 1 if the spool has at least min_free bytes available, else 0. */
int
qspace_ok(const char *spool, long long min_free)
{
	struct statvfs	 sv;
	uint64_t	 now = bw_now_ms();
	int		 low;

	if (qspace_low != -1 && now - qspace_checked_ms < QSPACE_CHECK_MS)
		return !qspace_low;
	qspace_checked_ms = now;
	if (statvfs(spool, &sv) == -1) {
		log_warn("space: statvfs %s", spool);
		return qspace_low == 1 ? 0 : 1;	/* keep the last answer */
	}
	qspace_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	low = min_free > 0 && qspace_free < (uint64_t)min_free;
	if (low != qspace_low && (low || qspace_low != -1))
		log_warnx("space: spool %s has %" PRIu64 " bytes free, "
		    "%s queue_min_free_space=%lld: %s", spool, qspace_free,
		    low ? "below" : "above", min_free,
		    low ? "new messages are refused" : "accepting again");
	qspace_low = low;
	return !low;
}

/* A write met a full disk: the next qspace_ok() asks statvfs again. */
void
qspace_recheck(void)
{
	qspace_low = -1;
}
