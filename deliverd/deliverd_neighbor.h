/*
 * Good Neighbor: the adaptive connection limit of one delivery agent
 * (gateway, domain).  Pure: no sockets, no libevent, no globals; time is
 * given by the caller (bw_now_ms() in deliverd, a fake clock in
 * tests/check_neighbor.c).  See deliverd_neighbor.c for the rules.
 */
#ifndef DELIVERD_NEIGHBOR_H
#define DELIVERD_NEIGHBOR_H

#include <stddef.h>
#include <stdint.h>

#define DLV_NB_START		2	/* connections a new agent may open:
					   a stranger starts politely */
#define DLV_NB_PERIOD_MS	1000	/* a measurement period lasts at
					   least this long ... */
#define DLV_NB_PERIOD_MSGS	10	/* ... and counts this many accepted
					   messages (fewer is noise) ... */
#define DLV_NB_PERIOD_MAX_MS	60000	/* ... or ends after this (a slow
					   destination), judged as it is */
#define DLV_NB_JUDGE_PERIODS	3	/* a limit is judged by the median of
					   this many periods in a row with
					   jobs waiting: one stall elsewhere
					   on the machine is not a verdict */
#define DLV_NB_JUDGE_MAX_PERIODS 9	/* a rise within the noise is measured
					   longer, in steps of the above, up
					   to this many periods */
#define DLV_NB_GAIN_MIN_PCT	3	/* a raised limit is kept when the
					   median rose by more than this over
					   the best seen with fewer connections
					   ... */
#define DLV_NB_NOISE_TIMES	2	/* ... and by more than this many times
					   the measured spread of one period's
					   rate, shrunk as the square root of
					   the periods measured (the median of
					   9 is steadier than of 3) */
#define DLV_NB_NOISE_SHIFT	2	/* that spread: a moving average, 1/4
					   of each judged limit's */
#define DLV_NB_FAST_GROW_PCT	100	/* a raise adds this share of the
					   limit (at least one) until the
					   destination objects: doubling, as
					   the measured curve needs */
#define DLV_NB_REF_MAX_MS	600000	/* a limit's measured rate is
					   forgotten after this: the
					   destination and our load change */
#define DLV_NB_LEVELS		8	/* limits whose rates are kept: a
					   raise is judged against the best
					   mean rate of those below it (the
					   best single median is a lucky one
					   on a noisy machine) */
#define DLV_NB_LEVEL_WEIGHT	4	/* a limit's rate: the mean of its
					   first medians, then a moving
					   average of 1/this */
#define DLV_NB_HOLD_NO_GAIN_MS	10000	/* no growth for this long after a
					   connection that did not raise the
					   rate ... */
#define DLV_NB_HOLD_NO_GAIN_MAX_MS 160000 /* ... doubled after each such
					   raise in a row, up to this: a
					   saturated destination is probed
					   less and less often */
#define DLV_NB_HOLD_REFUSED_MS	30000	/* ... after a refused connection:
					   about two probes a minute past what
					   the destination takes */
#define DLV_NB_HOLD_SLOW_MS	30000	/* ... after a slow reply */
#define DLV_NB_SLOW_FACTOR	4	/* a reply is slow at this many times
					   its kind's baseline ... */
#define DLV_NB_SLOW_MIN_MS	500	/* ... and at least this long (on a
					   LAN 4x of 1 ms is no sign) */
#define DLV_NB_SLOW_GAP_MS	2000	/* one shrink per this long for slow
					   replies (they come in bunches, one
					   per connection) */
#define DLV_NB_BASE_SAMPLES	5	/* replies before slowness is judged */
#define DLV_NB_BASE_SHIFT	3	/* baseline: moving average, 1/8 of
					   each normal reply ... */
#define DLV_NB_BASE_SLOW_SHIFT	8	/* ... and 1/256 of a slow one: a
					   destination that stays slow becomes
					   the new normal, slowly */
#define DLV_NB_PAUSE_AFTER	2	/* refusals of service in a row, with
					   no working connection and no other
					   host to try, before a pause */
#define DLV_NB_PAUSE_MIN_MS	10000	/* the first pause ... */
#define DLV_NB_PAUSE_MAX_MS	300000	/* ... doubles while refusals go on,
					   up to this */
#define DLV_NB_RATE_BUCKETS	12	/* the shown acceptance rate: the last
					   minute in buckets of ... */
#define DLV_NB_RATE_BUCKET_MS	5000	/* ... this */
#define DLV_NB_WHY_MAX		160	/* the reason text of a change */

/* What happened to a new connection before it was ready. */
enum dlv_nb_refusal {
	DLV_NB_REFUSED = 0,	/* connect() refused (RST) or failed */
	DLV_NB_CONNECT_TIMEOUT,
	DLV_NB_GREETING,	/* 4xx/5xx greeting (421: too many) */
	DLV_NB_SETUP,		/* EHLO/HELO refused, timeout, closed */
	DLV_NB_REFUSAL__COUNT
};
const char *dlv_nb_refusal_name(int);

/* Kinds of reply latency, each with its own baseline. */
enum dlv_nb_lat {
	DLV_NB_LAT_CMD = 0,	/* greeting, EHLO, MAIL, RCPT, DATA, RSET */
	DLV_NB_LAT_DATA,	/* the reply to the end of the message */
	DLV_NB_LAT__COUNT
};

/* Why the limit last changed. */
enum dlv_nb_reason {
	DLV_NB_R_START = 0,
	DLV_NB_R_GROW,		/* the last connection raised the rate */
	DLV_NB_R_NO_GAIN,	/* it did not: dropped, the count holds */
	DLV_NB_R_REFUSED,	/* a new connection was refused */
	DLV_NB_R_SLOW,		/* a reply was slow */
	DLV_NB_R_MAX,		/* the destination control is lower */
	DLV_NB_R_PAUSE,		/* every new connection refused: paused */
	DLV_NB_R__COUNT
};
const char *dlv_nb_reason_name(int);

struct dlv_nb {
	int		 limit;		/* connections allowed now, >= 1 */
	int		 max;		/* the destination control */
	enum dlv_nb_reason reason;
	char		 why[DLV_NB_WHY_MAX];
	uint64_t	 changed_ms;	/* when limit/reason last changed */
	uint64_t	 hold_until;	/* no growth before */
	/* the current measurement period, at this limit */
	uint64_t	 period_start;
	uint32_t	 period_msgs;
	int		 period_blocked;	/* the limit held a job back */
	double		 samples[DLV_NB_JUDGE_MAX_PERIODS];	/* msgs/min of the
					   last periods in a row at this limit
					   with jobs waiting */
	int		 nsamples;
	double		 noise;		/* relative spread of the periods'
					   rates at one limit (0.1: 10 %) */
	int		 fast;		/* every step so far raised the rate:
					   grow by DLV_NB_FAST_GROW_PCT */
	int		 no_gains;	/* raises undone in a row */
	int		 probe_from;	/* the limit before the last raise,
					   while that raise is judged; 0 none */
	struct dlv_nb_level {		/* the limits judged lately */
		int		 limit;
		uint32_t	 n;	/* medians in the mean (capped) */
		double		 mean;	/* msgs/min */
		uint64_t	 at;	/* last judged */
	}		 levels[DLV_NB_LEVELS];
	double		 med_noise;	/* relative spread of one limit's
					   median, from limits judged again */
	/* reply latency baselines */
	double		 base_ms[DLV_NB_LAT__COUNT];
	uint32_t	 base_n[DLV_NB_LAT__COUNT];
	uint64_t	 last_slow_shrink;
	/* refusals and pauses */
	int		 peak;		/* most connections working at once
					   (since the limit last fell) */
	uint64_t	 last_transient;	/* a refusal last held the count */
	uint32_t	 refusals_in_row;	/* with nothing working */
	uint64_t	 pause_ms;	/* the last pause; 0 none */
	uint64_t	 pause_max_ms;	/* the doubling stops here */
	uint64_t	 pause_until;
	uint64_t	 refusals;	/* counters, for logs and tests */
	uint64_t	 pauses;
	/* the shown rate: accepted messages per bucket */
	uint32_t	 bucket[DLV_NB_RATE_BUCKETS];
	uint64_t	 bucket_epoch;	/* now / DLV_NB_RATE_BUCKET_MS of the
					   newest bucket */
};

/* A new agent; max is the destination control (>= 1). */
void	 dlv_nb_init(struct dlv_nb *, int max, uint64_t now);
/* The destination control (a reload); 1 if the limit changed. */
int	 dlv_nb_set_max(struct dlv_nb *, int max, uint64_t now);
/* May the agent open one more connection, having nconns? */
int	 dlv_nb_may_open(const struct dlv_nb *, int nconns, uint64_t now);
/* 1 while paused. */
int	 dlv_nb_paused(const struct dlv_nb *, uint64_t now);
/* End the current pause (an operator's retry). */
void	 dlv_nb_pause_end(struct dlv_nb *);
/* The longest pause: the destination's bounce profile retry_max (a down
 * domain's probes wait out a pause), within DLV_NB_PAUSE_MIN_MS and
 * DLV_NB_PAUSE_MAX_MS. */
void	 dlv_nb_set_pause_max(struct dlv_nb *, uint64_t ms);
/*
 * The agent looked at opening connections: blocked is 1 when jobs waited
 * that the limit (not the setup pace) held back.  Ends a measurement
 * period when it is due; 1 if the limit changed.
 */
int	 dlv_nb_tick(struct dlv_nb *, int blocked, uint64_t now);
/* A message was accepted by the destination (2xx to its data). */
void	 dlv_nb_accepted(struct dlv_nb *, uint64_t now);
/* A new connection is ready (greeted, EHLO done): refusals end;
 * held: the sessions the destination holds of ours, this one included. */
void	 dlv_nb_ready(struct dlv_nb *, int held, uint64_t now);
/*
 * A new connection failed before it was ready; working: the agent's other
 * connections that work (set up, not closing); held: the other sessions
 * the destination holds of ours (connected: in setup, working or
 * closing); others: another host can be tried at once (a refusal then
 * does not count towards a pause).  detail: the reply or error (may be
 * NULL).  1 if the limit changed or a pause began.
 */
int	 dlv_nb_refused(struct dlv_nb *, enum dlv_nb_refusal, int working,
	    int held, int others, const char *detail, uint64_t now);
/* A complete reply took ms; 1 if it was slow and the limit shrank. */
int	 dlv_nb_latency(struct dlv_nb *, enum dlv_nb_lat, uint64_t ms,
	    uint64_t now);
/* Accepted messages per minute over the last minute. */
uint32_t dlv_nb_rate(const struct dlv_nb *, uint64_t now);

#endif
