/*
 * The figures the alerts are checked against, from one function
 * (ctl_alert_figures), whatever gathers them: the monitor's sampler
 * (controld_alert_sample.c), or, while it has no sample, controld's own
 * look at queued's queue listing (controld_alert_poll.c).
 */
#ifndef CONTROLD_ALERT_SRC_H
#define CONTROLD_ALERT_SRC_H

#include <stddef.h>
#include <stdint.h>

#include "imsg_catalog.h"
#include "controld_alert.h"

struct bw_imsg;

/* One queue (gateway, domain). */
struct ctl_alert_dom {
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint32_t	 state;			/* enum bw_queue_state */
	uint64_t	 queued;		/* recipients waiting */
	int64_t		 oldest;		/* unix time; 0: empty */
	uint64_t	 p95_ms;		/* delivery latency; 0: unknown */
	char		 last_error[CTL_ALERT_DETAIL_MAX];
};

struct ctl_alert_figures {
	uint64_t	 seq;		/* +1 per sample; 0: none yet */
	int64_t		 when;		/* ms, wall clock */
	int		 have_work;
	uint64_t	 work_queue;	/* recipients waiting, all queues */
	int		 have_disk;
	uint64_t	 disk_free;	/* bytes, the spool's file system */
	int64_t		 oldest;	/* unix time; 0: nothing waits */
	int		 have_latency;	/* p95_ms of the queues is known */
	int		 complete;	/* doms holds every queue */
	size_t		 ndoms;
	const struct ctl_alert_dom *doms;
};

/* The latest figures (seq 0: none yet), the sampler's when it has any,
 * else the poll's; valid until the next tick. */
const struct ctl_alert_figures *ctl_alert_figures(void);
/* A tick of the alert timer: without a sample, the poll asks queued
 * (want_queues 0: no threshold needs the queues, disk free only); when
 * figures come in, ctl_alert_figures_ready() runs. */
void	 ctl_alert_src_tick(int want_queues);
void	 ctl_alert_src_free(void);
/* controld_alert_run.c: new figures are in. */
void	 ctl_alert_figures_ready(void);

/* controld_alert_sample.c: from mon_sample_last(); NULL without one. */
const struct ctl_alert_figures *ctl_alert_sample_figures(void);
void	 ctl_alert_sample_free(void);

/* controld_alert_poll.c: controld's own queue listing. */
const struct ctl_alert_figures *ctl_alert_poll_figures(void);
void	 ctl_alert_poll_tick(int want_queues);
void	 ctl_alert_poll_free(void);
/* Frames of the poll (hdr.peerid CTL_ALERT_POLL_ID): 1 if it was one. */
int	 ctl_alert_src_msg(struct bw_imsg *);
void	 ctl_alert_src_queued_gone(void);

/* hdr.peerid of controld's own queue listing; ctl_req_new never gives
 * it to a bwctl request. */
#define CTL_ALERT_POLL_ID	UINT32_MAX
#define CTL_ALERT_POLL_ROWS_MAX	10000	/* queued's QUEUED_QUEUE_ROWS_MAX */

#endif
