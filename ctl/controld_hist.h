/*
 * The monitor's history in controld: the sampler (controld_sample.c), the
 * store (controld_hist.c, records in mon_rec.c) and bwctl show history
 * (controld_histcmd.c).  Other parts of controld (web pages, alerts,
 * /metrics) read history through mon_hist_series/mon_hist_domain and the
 * latest sample through mon_sample_last.
 */
#ifndef CONTROLD_HIST_H
#define CONTROLD_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "imsg_catalog.h"
#include "mon_rec.h"

struct bw_peer;
struct bw_imsg;
struct event_base;

/*
 * hdr.peerid of the sampler's requests, one per round in turn: request
 * ids (controld_req.c) skip the range, the alerts' poll (UINT32_MAX) is
 * above it.
 */
#define MON_SAMPLE_PEERID	0xfffff000u
#define MON_SAMPLE_IDS		0x800
#define MON_SAMPLE_ID(id)	((id) >= MON_SAMPLE_PEERID && \
				 (id) < MON_SAMPLE_PEERID + MON_SAMPLE_IDS)

/* controld_hist.c: the store */
int	 mon_hist_open(const struct bw_config *);	/* after the drop */
void	 mon_hist_close(void);
int	 mon_hist_ok(void);
uint32_t mon_hist_series_id(const char *name, uint32_t kind);	/* 0: full */
int	 mon_hist_series_find(const char *name, uint32_t *id, uint32_t *kind);
const char *mon_hist_series_name(uint32_t id);		/* NULL: none */
uint32_t mon_hist_series_count(void);			/* ids 1..count */
/* A finished minute: stored, and the hour before built when it ended. */
void	 mon_hist_minute(const struct mon_point *, size_t topn);
/* 0 found (p filled), 1 no point for t, -1 error. */
int	 mon_hist_get(int res, int64_t t, struct mon_point *p);
uint64_t mon_hist_bytes(void);		/* the files in monitor_dir */
/*
 * The points of a series from..to (interval starts, inclusive), each
 * interval once; have 0 where no point was stored.  0, or -1 (unknown
 * series: errno ENOENT; store closed: EIO).
 */
int	 mon_hist_series(const char *name, int res, int64_t from, int64_t to,
	    void (*cb)(int64_t t, int have, uint64_t v, void *), void *arg);
/* A domain's rows (gw NULL: any gateway; d NULL where it was not in the
 * sets, or no point). */
int	 mon_hist_domain(const char *gw, const char *dom, int res,
	    int64_t from, int64_t to,
	    void (*cb)(int64_t t, const struct mon_dom *d, void *), void *arg);

/* controld_sample.c: the sampler */
struct mon_sample {
	int64_t			 t;		/* when it was asked */
	uint64_t		 seq;
	size_t			 nstatus;
	struct bw_status	*status;	/* one per process that answered */
	int			 have_top;
	struct bw_queue_top_end	 top_end;
	size_t			 ntop;
	struct bw_queue_top_entry *top;
};
void	 mon_sample_start(void);
void	 mon_sample_stop(void);
const struct mon_sample *mon_sample_last(void);	/* NULL: none yet */
int	 mon_sample_status(struct bw_peer *, uint32_t peerid,
	    const struct bw_status *);		/* 1: the sampler's */
void	 mon_sample_top_msg(struct bw_peer *, struct bw_imsg *);
int	 mon_series_is_gauge(const char *name);

/* controld_histcmd.c: bwctl show history (ctl_cmd_ops[]) */
extern const struct ctl_cmd_ops mon_hist_ops;

#endif
