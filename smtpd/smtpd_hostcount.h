/*
 * smtpd's side of the per-host counters (issue 11): the counts live in
 * queued (queued_hostcount.c, common/hostcount.c), never in a session's
 * memory, so that every smtpd process sees the same counts and they
 * outlive an smtpd restart.  smtpd asks with smtpd_hostcount_take() and
 * gets its answer in a callback; a session gives its connection back with
 * smtpd_hostcount_release() when it ends.
 *
 * Fail open: when queued is not linked (or does not answer within
 * SMTPD_HOSTCOUNT_WAIT_MS), a take is granted and counted as
 * hostcount_unavailable -- mail flow never stops because of a counter,
 * and queued down means no mail anyway.  When the link comes back (queued
 * restarted), the connections of the live sessions are taken again
 * (limit 0) so that the counts stay exact.
 */
#ifndef SMTPD_HOSTCOUNT_H
#define SMTPD_HOSTCOUNT_H

#include <sys/queue.h>
#include <stdint.h>

#include "hostcount.h"
#include "imsg_catalog.h"

#define SMTPD_HOSTCOUNT_WAIT_MS	10000	/* queued answers a take from memory
					   in one loop turn; one not answered
					   by then is stuck: fail open */

struct smtpd_env;
struct smtpd_session;
struct bw_imsg;
struct bw_status;
struct smtpd_hc_req;

struct smtpd_hostcount_answer {
	int		 kind;		/* enum bw_hc_kind (hostcount.h) */
	int		 granted;
	int		 unavailable;	/* answered here, not by queued
					   (granted: fail open) */
	uint64_t	 count;		/* connections, or the window's count */
	int64_t		 reopen_at;	/* refused MSG/RCPT: unix ms the window
					   reopens; else 0 */
};

/* Called once per take, never from inside smtpd_hostcount_take(), and
 * not at all once the session is freed. */
typedef void (*smtpd_hostcount_cb)(struct smtpd_session *,
    const struct smtpd_hostcount_answer *);

/* A session's part (s->hostcount; its granted CONN is
 * s->hostcount_conn). */
struct smtpd_hostcount_sess {
	TAILQ_HEAD(, smtpd_hc_req) reqs;	/* takes not yet answered */
	/* labels sent with each take, for bwctl show senders */
	char		 group[BW_NAME_MAX];
	char		 policy[BW_NAME_MAX];
	char		 score[BW_SCORE_TEXT_MAX];
};

void	 smtpd_hostcount_init(struct smtpd_env *);
void	 smtpd_hostcount_shutdown(void);
/* The session's part, at its start. */
void	 smtpd_hostcount_session_init(struct smtpd_session *);

/*
 * Count n of kind (BW_HC_CONN: n = 1; BW_HC_MSG, BW_HC_RCPT: within a
 * window of window_ms) for the session's client; limit 0: count, never
 * refuse.  The answer comes to cb.  0, or -1 when no request could be
 * made (no memory): then cb is never called and the caller decides
 * (fail open).
 */
int	 smtpd_hostcount_take(struct smtpd_session *, int kind, uint32_t n,
	    long long limit, long long window_ms, smtpd_hostcount_cb);
/* The labels later takes carry (group, policy, score text; NULL ""). */
void	 smtpd_hostcount_set_labels(struct smtpd_session *, const char *group,
	    const char *policy, const char *score);
/* The session ends: its connection (if one was granted) is given back;
 * once, and only then.  Takes not yet answered are cancelled. */
void	 smtpd_hostcount_release(struct smtpd_session *);

/* From the queued link (smtpd_queue.c). */
void	 smtpd_hostcount_reply(struct smtpd_env *, struct bw_imsg *);
void	 smtpd_hostcount_link(struct smtpd_env *, int up);
/* bwctl status counters. */
void	 smtpd_hostcount_status(struct bw_status *);

#endif
