/*
 * The alerts' figures, gathered by controld itself while the monitor's
 * sampler has none (its history could not open): every
 * alert_check_interval one QUEUE_LIST_REQ to queued (its answer: a row
 * per queue record, at most CTL_ALERT_POLL_ROWS_MAX) and statvfs() of
 * the spool directory (controld is not chrooted; statvfs needs no right
 * on the directory itself).  Latency is not known here.
 *
 * XXX: a full queue listing every interval costs about 1 KB per queue;
 * it is asked only without the sampler and with a queue threshold set.
 *
 * Trust: queued's rows, strings terminated before use (peer.c checked
 * the sizes).
 */
#include "bw_autoconf.h"

#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"
#include "controld_alert_src.h"

static struct ctl_alert_figures	 ctl_fig;	/* the last complete */
static void			 ctl_alert_poll_done(void);
static struct ctl_alert_dom	*ctl_fig_doms;	/* ctl_fig's */
static struct ctl_alert_dom	*ctl_poll_doms;	/* being gathered */
static size_t			 ctl_poll_n, ctl_poll_cap;
static int			 ctl_poll_truncated;
static int			 ctl_poll_asked;	/* the listing */
static int			 ctl_polling;
static uint64_t			 ctl_poll_started;	/* bw_now_ms() */

const struct ctl_alert_figures *
ctl_alert_poll_figures(void)
{
	return &ctl_fig;
}

void
ctl_alert_poll_tick(int want_queues)
{
	struct ctl_daemon	*d;
	uint64_t		 now = bw_now_ms();

	if (!want_queues) {
		/* no threshold on a queue figure: spare queued the listing */
		ctl_polling = 0;
		ctl_poll_n = 0;
		ctl_poll_asked = 0;
		ctl_alert_poll_done();
		return;
	}
	/* an answer lost with a queued restart: ask again after a while */
	if (ctl_polling && now - ctl_poll_started <
	    (uint64_t)BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT))
		return;
	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL)
		return;
	if (bw_peer_send(d->peer, BW_IMSG_QUEUE_LIST_REQ, CTL_ALERT_POLL_ID,
	    -1, NULL, 0) == -1) {
		log_warnx("alerts: cannot ask queued for its queues");
		return;
	}
	ctl_polling = 1;
	ctl_poll_started = now;
	ctl_poll_n = 0;
	ctl_poll_truncated = 0;
	ctl_poll_asked = 1;
}

static void
ctl_alert_poll_row(const struct bw_queue_entry *qe)
{
	struct ctl_alert_dom	*nd, *d;
	size_t			 ncap;

	if (ctl_poll_n >= CTL_ALERT_POLL_ROWS_MAX) {
		ctl_poll_truncated = 1;
		return;
	}
	if (ctl_poll_n == ctl_poll_cap) {
		ncap = ctl_poll_cap == 0 ? 64 : ctl_poll_cap * 2;
		if (ncap > CTL_ALERT_POLL_ROWS_MAX)
			ncap = CTL_ALERT_POLL_ROWS_MAX;
		if ((nd = reallocarray(ctl_poll_doms, ncap,
		    sizeof(*nd))) == NULL) {
			ctl_poll_truncated = 1;
			return;
		}
		ctl_poll_doms = nd;
		ctl_poll_cap = ncap;
	}
	d = &ctl_poll_doms[ctl_poll_n++];
	memset(d, 0, sizeof(*d));
	BW_IMSG_STR(d->gateway, qe->gateway);
	BW_IMSG_STR(d->domain, qe->domain);
	d->state = qe->state;
	d->queued = qe->messages;
	d->oldest = qe->oldest;
	bw_imsg_str(d->last_error, sizeof(d->last_error), qe->last_error,
	    sizeof(qe->last_error));
}

/* The listing is complete: it becomes the figures. */
static void
ctl_alert_poll_done(void)
{
	struct statvfs		 sv;
	struct ctl_alert_dom	*swap;
	size_t			 i, swapcap;
	static size_t		 figcap;

	ctl_fig.seq++;
	ctl_fig.when = (int64_t)bw_time() * 1000;
	ctl_fig.have_work = ctl_poll_asked;
	ctl_fig.work_queue = 0;
	ctl_fig.oldest = 0;
	for (i = 0; i < ctl_poll_n; i++) {
		ctl_fig.work_queue += ctl_poll_doms[i].queued;
		if (ctl_poll_doms[i].queued > 0 &&
		    ctl_poll_doms[i].oldest > 0 && (ctl_fig.oldest == 0 ||
		    ctl_poll_doms[i].oldest < ctl_fig.oldest))
			ctl_fig.oldest = ctl_poll_doms[i].oldest;
	}
	ctl_fig.have_disk = statvfs(ctl_env->d.cfg->spool_dir, &sv) == 0;
	ctl_fig.disk_free = ctl_fig.have_disk ?
	    (uint64_t)sv.f_bavail * sv.f_frsize : 0;
	ctl_fig.have_latency = 0;
	ctl_fig.complete = ctl_poll_asked && !ctl_poll_truncated;
	/* the gathered rows become the figures' (no copy) */
	swap = ctl_fig_doms;
	swapcap = figcap;
	ctl_fig_doms = ctl_poll_doms;
	figcap = ctl_poll_cap;
	ctl_poll_doms = swap;
	ctl_poll_cap = swapcap;
	ctl_fig.doms = ctl_fig_doms;
	ctl_fig.ndoms = ctl_poll_n;
	ctl_poll_n = 0;
	ctl_polling = 0;
	ctl_alert_figures_ready();
}

int
ctl_alert_src_msg(struct bw_imsg *imsg)
{
	struct bw_queue_entry	 qe;

	if (imsg->hdr.peerid != CTL_ALERT_POLL_ID)
		return 0;
	if (!ctl_polling)
		return 1;
	switch (imsg->hdr.type) {
	case BW_IMSG_QUEUE_ENTRY:
		memcpy(&qe, imsg->data, sizeof(qe));
		ctl_alert_poll_row(&qe);
		break;
	case BW_IMSG_QUEUE_END:
		ctl_alert_poll_done();
		break;
	default:
		break;
	}
	return 1;
}

void
ctl_alert_src_queued_gone(void)
{
	ctl_polling = 0;
	ctl_poll_n = 0;
}

void
ctl_alert_poll_free(void)
{
	free(ctl_poll_doms);
	free(ctl_fig_doms);
	ctl_poll_doms = ctl_fig_doms = NULL;
	ctl_poll_n = ctl_poll_cap = 0;
	memset(&ctl_fig, 0, sizeof(ctl_fig));
}
