/*
 * Alerts: conditions watched by controld, each raised once, told again
 * at most every alert_repeat_interval while it lasts, and told when it
 * ends.  controld_alert.c is the state machine (pure: no events, no I/O,
 * times passed in, so that tests/check_alert.c drives it); the rest of
 * controld feeds it (controld_alert_run.c) and reads it (show alerts).
 */
#ifndef CONTROLD_ALERT_H
#define CONTROLD_ALERT_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "imsg_catalog.h"

enum ctl_alert_kind {
	CTL_ALERT_WORK_QUEUE = 0,	/* recipients waiting, all queues */
	CTL_ALERT_DOMAIN_QUEUED,	/* recipients waiting for one queue */
	CTL_ALERT_OLDEST_AGE,		/* the oldest message waiting */
	CTL_ALERT_DISK_FREE,		/* free space of the spool */
	CTL_ALERT_LATENCY_P95,		/* delivery latency of one queue */
	CTL_ALERT_DAEMON_RESTART,	/* a daemon linked with a new pid */
	CTL_ALERT_DOMAIN_DOWN,		/* a queue is down */
	CTL_ALERT__COUNT
};
/* "work_queue", ...; "?" */
const char	*ctl_alert_kind_name(int kind);
/* the limit row of the kind ("alert_work_queue") */
const char	*ctl_alert_kind_limit(int kind);

#define CTL_ALERTS_MAX		256	/* active and recently cleared: one
					   per kind and subject; a queue
					   outage of more domains than this
					   is told for the first ones */
#define CTL_ALERT_SUBJECT_MAX	(BW_NAME_MAX + BW_DOMAIN_MAX + 2)
					/* "gateway/domain", "deliverd[3]" */
#define CTL_ALERT_DETAIL_MAX	256	/* escaped, printable */
#define CTL_ALERT_CLEARED_KEEP_MS (24LL * 3600 * 1000)	/* show alerts
					   lists cleared ones this long */

enum ctl_alert_state {
	CTL_ALERT_ACTIVE = 0,
	CTL_ALERT_CLEARED,
};

enum ctl_alert_notice {
	CTL_ALERT_N_RAISED = 0,
	CTL_ALERT_N_REPEAT,
	CTL_ALERT_N_CLEARED,
};
const char	*ctl_alert_notice_name(int);	/* "raised", ... */

struct ctl_alert {
	int		 kind;
	char		 subject[CTL_ALERT_SUBJECT_MAX];	/* "" global */
	int		 state;
	int64_t		 raised;	/* ms, wall clock */
	int64_t		 updated;	/* last time the condition held */
	int64_t		 cleared;	/* 0 while active */
	int64_t		 told;		/* last raise or repeat told; 0:
					   not yet */
	int		 clear_told;
	uint32_t	 notices;	/* raise and repeats told */
	uint32_t	 count;		/* times it was set (restarts) */
	uint64_t	 value;		/* last seen, the kind's unit */
	uint64_t	 threshold;
	char		 detail[CTL_ALERT_DETAIL_MAX];
	int		 seen;		/* set in the current round */
};

struct ctl_alert_table {
	struct ctl_alert rows[CTL_ALERTS_MAX];
	size_t		 n;
	uint64_t	 refused;	/* sets refused: the table was full */
};

void	 ctl_alert_table_init(struct ctl_alert_table *);
struct ctl_alert *ctl_alert_find(struct ctl_alert_table *, int kind,
	    const char *subject);
/*
 * The condition (kind, subject) holds now: a new alert, or the active
 * one updated (value, threshold, detail), or a cleared one raised again.
 * NULL only when the table is full of active alerts.
 */
struct ctl_alert *ctl_alert_set(struct ctl_alert_table *, int kind,
	    const char *subject, uint64_t value, uint64_t threshold,
	    const char *detail, int64_t now);
/* The condition (kind, subject) ended; nothing if it is not active. */
void	 ctl_alert_clear(struct ctl_alert_table *, int kind,
	    const char *subject, int64_t now);
/*
 * A round: every condition of kind is looked at anew; the active alerts
 * of kind not set between begin and end are cleared at end.
 */
void	 ctl_alert_round_begin(struct ctl_alert_table *, int kind);
void	 ctl_alert_round_end(struct ctl_alert_table *, int kind, int64_t now);
/* Clear the active alerts of kind not set for quiet ms (events such as
 * a restart, which have no "ended" of their own). */
void	 ctl_alert_clear_quiet(struct ctl_alert_table *, int kind,
	    int64_t quiet, int64_t now);
/* Clear every active alert of kind (its switch went off). */
void	 ctl_alert_clear_kind(struct ctl_alert_table *, int kind, int64_t now);

/*
 * What is to be told now, in table order: a raise not yet told, a repeat
 * when repeat ms passed since the last, an end not yet told.  cb gets
 * each (at most max; 0: no cap) and the row is marked told.  Returns the
 * number told; more are left for the next call.
 */
typedef void (*ctl_alert_notice_cb)(const struct ctl_alert *, int notice,
	    void *arg);
size_t	 ctl_alert_due(struct ctl_alert_table *, int64_t now, int64_t repeat,
	    size_t max, ctl_alert_notice_cb, void *arg);
/* Forget cleared alerts told keep ms ago or longer. */
void	 ctl_alert_expire(struct ctl_alert_table *, int64_t keep, int64_t now);
size_t	 ctl_alert_active(const struct ctl_alert_table *);

/*
 * The alert mail (pure, for the tests): headers and a body listing the
 * notices, CRLF lines of 7-bit text, into dst (at most dstsz bytes, NUL
 * terminated); returns the length, or -1 when it does not fit.
 */
#define CTL_ALERT_MAIL_NOTICES_MAX 64	/* notices in one mail; more wait
					   for the next */
struct ctl_alert_mail_notice {
	int		 notice;	/* enum ctl_alert_notice */
	struct ctl_alert a;
};
struct ctl_alert_mail {
	const char	*hostname;
	const char	*from;
	const char	*const *to;
	size_t		 nto;
	int64_t		 now;		/* ms */
	uint64_t	 seq;		/* Message-ID */
	const struct ctl_alert_mail_notice *notices;
	size_t		 nnotices;
	int64_t		 repeat;	/* ms, said in the body */
};
long	 ctl_alert_mail_compose(const struct ctl_alert_mail *, char *dst,
	    size_t dstsz);
/* One line about an alert ("domain_queued default/example.org: 5
 * recipients waiting, threshold 3"), for logs and mails. */
void	 ctl_alert_describe(const struct ctl_alert *, char *dst, size_t dstsz);
/* "1h2m3s" */
void	 ctl_alert_fmt_ms(char *dst, size_t dstsz, int64_t ms);

/* controld_alert_run.c: alerts in controld (not pure). */
struct bw_imsg;
struct bw_peer;
void	 ctl_alert_start(void);
void	 ctl_alert_stop(void);
void	 ctl_alert_daemon_up(int role, uint32_t worker, pid_t pid);
void	 ctl_alert_daemon_down(int role);
void	 ctl_alert_queue_event(struct bw_imsg *);
void	 ctl_alert_mail_done(struct bw_imsg *);
void	 ctl_alert_status(struct bw_status *);
struct ctl_out;
void	 ctl_alert_rows(struct ctl_out *);	/* the alerts table */

#endif
