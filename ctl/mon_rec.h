/*
 * The monitor's history records, pure: slots, the record layout, a point
 * decoded, the minute accumulator and the hour made of minutes.  No I/O;
 * controld_hist.c stores what this builds, tests/check_hist.c tests it.
 *
 * A point is one interval (a minute or an hour) at a fixed slot of its
 * resolution: slot = (t / step) % slots, so a new point overwrites the one
 * of 48 hours (minutes) or 90 days (hours) before and the store's size is
 * bounded by slots x the largest record.  A reader drops a slot whose t is
 * not the one it expects (an old point, or a hole).
 *
 * Record (native byte order; the file never moves between machines):
 * struct mon_rec_hdr, nvals struct mon_val, then ndoms struct mon_rec_dom
 * each followed by its gateway and domain names, unterminated, padded to
 * 8 bytes.
 */
#ifndef MON_REC_H
#define MON_REC_H

#include <stddef.h>
#include <stdint.h>

#include "imsg_catalog.h"

#define MON_REC_VERSION		1
#define MON_MINUTE		60
#define MON_HOUR		3600
#define MON_MINUTE_SLOTS	2880	/* 48 hours */
#define MON_HOUR_SLOTS		2160	/* 90 days */
#define MON_SERIES_MAX		4096	/* series ids, 1..MON_SERIES_MAX - 1 */
#define MON_SERIES_NAME_MAX	(2 * BW_NAME_MAX)	/* "proc.counter" */
#define MON_TOP_MAX		BW_QUEUE_TOP_MAX	/* domains per set */
#define MON_DOMS_MAX		(2 * MON_TOP_MAX + 1)	/* both sets, rest */
#define MON_KEY_LEN		5	/* res, slot big-endian */

enum mon_res { MON_RES_MINUTE = 0, MON_RES_HOUR, MON_RES__COUNT };

/* How a series sums over an interval. */
enum mon_kind {
	MON_DELTA = 1,		/* a counter: what it grew by */
	MON_GAUGE = 2,		/* a level: the mean of the samples */
};

/* A domain's set in a point; MON_REST is everything else summed. */
#define MON_SET_BUSIEST		BW_TOP_BUSIEST
#define MON_SET_DEFERRED	BW_TOP_DEFERRED
#define MON_SET_REST		0x04

struct mon_rec_hdr {
	uint32_t	 version;
	uint32_t	 res;
	int64_t		 t;		/* interval start, unix time */
	uint32_t	 nsamples;	/* minutes: samples; hours: minutes */
	uint32_t	 nvals;
	uint32_t	 ndoms;
	uint32_t	 pad;
};

struct mon_val {
	uint32_t	 series;
	uint32_t	 kind;		/* enum mon_kind */
	uint64_t	 v;
};

struct mon_rec_dom {
	uint8_t		 set;		/* MON_SET_* */
	uint8_t		 state;		/* enum bw_queue_state */
	uint8_t		 gwlen;
	uint8_t		 domlen;
	uint32_t	 pad;
	uint64_t	 queued;	/* messages at the end */
	uint64_t	 waiting;	/* of which deferred or parked */
	uint64_t	 delivered;	/* recipients in the interval */
	uint64_t	 deferred;
	uint64_t	 bounced;
	int64_t		 oldest;	/* unix time; 0 none */
};

/* One domain of a point, decoded. */
struct mon_dom {
	uint32_t	 set;
	uint32_t	 state;
	char		 gateway[BW_NAME_MAX];
	char		 domain[BW_DOMAIN_MAX + 1];
	uint64_t	 queued;
	uint64_t	 waiting;
	uint64_t	 delivered;
	uint64_t	 deferred;
	uint64_t	 bounced;
	int64_t		 oldest;
};

/* One point, decoded (large: allocate it). */
struct mon_point {
	int		 res;
	int64_t		 t;
	uint32_t	 nsamples;
	size_t		 nvals;
	struct mon_val	 vals[MON_SERIES_MAX];
	size_t		 ndoms;
	struct mon_dom	 doms[MON_DOMS_MAX];
};

/* Largest record: what the size bound is made of. */
#define MON_REC_DOM_MAX	(sizeof(struct mon_rec_dom) + BW_NAME_MAX + \
			 BW_DOMAIN_MAX + 8)
size_t	 mon_rec_max(size_t nvals, size_t ndoms);

int64_t	 mon_res_step(int res);
uint32_t mon_res_slots(int res);
int64_t	 mon_res_start(int res, int64_t t);	/* t rounded down */
uint32_t mon_slot(int res, int64_t t);
void	 mon_key(unsigned char key[MON_KEY_LEN], int res, uint32_t slot);

/* Encode p into buf: its length, or 0 if bufsz is too small. */
size_t	 mon_rec_encode(const struct mon_point *p, unsigned char *buf,
	    size_t bufsz);
/* Decode a record (from disk: every length is checked): 0, or -1. */
int	 mon_rec_decode(const void *data, size_t len, struct mon_point *p);

const struct mon_val *mon_point_val(const struct mon_point *, uint32_t id);
/* Set or add (delta) a value; -1 when the point is full. */
int	 mon_point_put(struct mon_point *, uint32_t id, uint32_t kind,
	    uint64_t v);

/*
 * The minute being filled: sums per series over its samples.  A delta
 * series adds its deltas, a gauge averages over the samples that had it.
 */
struct mon_acc {
	int64_t		 t;		/* minute start; 0: empty */
	uint32_t	 nsamples;
	uint8_t		 kind[MON_SERIES_MAX];	/* 0: not seen */
	uint32_t	 count[MON_SERIES_MAX];
	uint64_t	 sum[MON_SERIES_MAX];
};
void	 mon_acc_reset(struct mon_acc *, int64_t t);
void	 mon_acc_add(struct mon_acc *, uint32_t id, uint32_t kind,
	    uint64_t v);
/* The minute's values into p (p->t, res, nsamples, vals). */
void	 mon_acc_point(const struct mon_acc *, struct mon_point *p);

/*
 * An hour from its minutes (any number, in any order), one at a time so
 * that only one minute is decoded at once: deltas summed, gauges averaged
 * over the minutes that had them; domains merged by (gateway, domain),
 * their counts summed and their levels taken from the latest minute; then
 * the top n of each set (busiest: delivered, then queued; deferred:
 * deferred, then waiting) and the rest summed into one MON_SET_REST row.
 */
struct mon_hour;
struct mon_hour *mon_hour_new(int64_t hour_t);		/* NULL: no memory */
int	 mon_hour_add(struct mon_hour *, const struct mon_point *minute);
int	 mon_hour_finish(struct mon_hour *, size_t n, struct mon_point *out);
void	 mon_hour_free(struct mon_hour *);

#endif
