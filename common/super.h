/*
 * A supervisor of worker processes (deliverd's and smtpd's): it forks
 * nslots workers, restarts one that dies (backoff from
 * BW_SUPER_BACKOFF_MIN_MS doubling to BW_SUPER_BACKOFF_MAX_MS, reset once
 * a worker has lived BW_SUPER_STABLE_MS; every restart is counted and
 * logged), and on SIGTERM or SIGINT (daemon.c's signal events, through
 * bw_super_shutdown) passes SIGTERM to the workers and ends the loop when
 * all are gone (SIGKILL after BW_SUPER_STOP_TIMEOUT_MS).
 *
 * Each worker holds the read end of a pipe whose write end only the
 * supervisor keeps: EOF there tells a worker that the supervisor died, so
 * no worker outlives it (the worker watches parent_fd).
 *
 * In a new worker everything of the supervisor's event base is dropped
 * (bw_super_forget) before worker_main runs: d->base is NULL then, the
 * pid file is the supervisor's and left alone, the configuration and
 * whatever else the caller set up before bw_super_start is inherited.
 */
#ifndef BW_SUPER_H
#define BW_SUPER_H

#include <sys/types.h>
#include <stdint.h>

#define BW_SUPER_WORKERS_MAX	256	/* workers, whatever the core count */
#define BW_SUPER_BACKOFF_MIN_MS	100	/* first restart delay */
#define BW_SUPER_BACKOFF_MAX_MS	5000	/* restart delay ceiling */
#define BW_SUPER_STABLE_MS	10000	/* a worker that lived this long
					   restarts without delay growth */
#define BW_SUPER_STOP_TIMEOUT_MS 10000	/* SIGTERM to SIGKILL for workers */

struct bw_daemon;
struct bw_config;
struct event;
struct bw_super;

/* Runs in the new worker; never returns (exit() at its end). */
typedef void (*bw_super_worker_fn)(struct bw_super *, int index,
	    int parent_fd, uint64_t restarts, void *arg);

struct bw_super_slot {
	struct bw_super		*sup;
	int			 index;
	pid_t			 pid;		/* 0: not running */
	int			 pipe_w;	/* parent's end; EOF = parent gone */
	uint64_t		 started_ms;
	uint64_t		 backoff_ms;
	uint64_t		 restarts;
	struct event		*restart_ev;
};

struct bw_super {
	struct bw_daemon	*d;	/* base, cfg, shutting_down, signals */
	int			 nslots;
	bw_super_worker_fn	 worker_main;
	void			*arg;	/* for worker_main */
	struct bw_super_slot	*slots;
	uint64_t		 total_restarts;
	struct event		*ev_sigchld;
	struct event		*ev_stop;	/* SIGKILL deadline */
};

/* A configured worker count: 0 or less means one per core; at most
 * BW_SUPER_WORKERS_MAX. */
int	 bw_super_count(long configured);
/* The slots, SIGCHLD and the stop timer on d's base; fork all.  Also sets
 * d's shutdown hook to bw_super_shutdown. */
void	 bw_super_start(struct bw_super *);
/* daemon.c shutdown hook: SIGTERM to the workers (1: wait for them). */
int	 bw_super_shutdown(struct bw_daemon *, int sig, void *arg);
/* sig to every live worker. */
void	 bw_super_signal_all(struct bw_super *, int sig);
/* Live workers now. */
int	 bw_super_live(const struct bw_super *);
/* After the loop: every worker is gone; free what _start made. */
void	 bw_super_stop(struct bw_super *);

#endif /* BW_SUPER_H */
