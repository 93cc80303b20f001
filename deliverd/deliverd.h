/*
 * deliverd: the delivery agents.  Private header.
 *
 * The main process only supervises: it forks deliverd_workers workers
 * (0: one per core), restarts one that dies (with backoff) and stops them
 * on SIGTERM.  Each worker connects to queued, dnscached and controld.
 * Delivery itself (jobs, SMTP client, connection pools) comes next.
 */
#ifndef DELIVERD_H
#define DELIVERD_H

#include <sys/types.h>
#include <stdint.h>

#include "config.h"

struct bw_peer;
struct bw_imsg;
struct event;
struct event_base;

#define DLV_WORKERS_MAX		256	/* workers, whatever the core count */
#define DLV_BACKOFF_MIN_MS	100	/* first restart delay */
#define DLV_BACKOFF_MAX_MS	5000	/* restart delay ceiling */
#define DLV_STABLE_MS		10000	/* a worker that lived this long
					   restarts without delay growth */
#define DLV_STOP_TIMEOUT_MS	10000	/* SIGTERM to SIGKILL for workers */

/* One worker slot in the supervisor. */
struct dlv_slot {
	int			 index;
	pid_t			 pid;		/* 0: not running */
	int			 pipe_w;	/* parent's end; EOF = parent gone */
	uint64_t		 started_ms;
	uint64_t		 backoff_ms;
	uint64_t		 restarts;
	struct event		*restart_ev;
};

struct dlv_super {
	struct event_base	*base;
	struct bw_config	 cfg;
	int			 nslots;
	struct dlv_slot		*slots;
	int			 shutting_down;
	uint64_t		 total_restarts;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct event		*ev_sigchld;
	struct event		*ev_stop;	/* SIGKILL deadline */
};

/* A worker process. */
struct dlv_worker {
	struct event_base	*base;
	const struct bw_config	*cfg;
	int			 index;
	char			 proc[BW_NAME_MAX];	/* "deliverd[N]" */
	int64_t			 started;
	int			 shutting_down;
	int			 parent_fd;
	struct event		*ev_parent;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct bw_peer		*queued;
	struct bw_peer		*dnscached;
	struct bw_peer		*controld;
	/* counters */
	uint64_t		 c_restarts;	/* of this slot, before us */
	uint64_t		 c_queued_connects;
	uint64_t		 c_dnscached_connects;
	uint64_t		 c_controld_connects;
	uint64_t		 c_jobs;
};

/* deliverd_super.c */
int	 dlv_super_run(struct dlv_super *);

/* deliverd_worker.c: never returns. */
void	 dlv_worker_main(const struct bw_config *, int index, int parent_fd,
	    uint64_t restarts) __attribute__((noreturn));

/* deliverd_imsg.c: the worker's dispatch, one function per peer. */
void	 dlv_queued_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dlv_dnscached_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dlv_controld_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dlv_queued_state_cb(struct bw_peer *, int, void *);
void	 dlv_dnscached_state_cb(struct bw_peer *, int, void *);
void	 dlv_controld_state_cb(struct bw_peer *, int, void *);

#endif
