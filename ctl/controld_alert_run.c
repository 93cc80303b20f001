/*
 * Alerts in controld: what feeds the state machine (controld_alert.c),
 * how alerts are told, and bwctl show alerts.
 *
 * Fed by: the figures (controld_alert_src.h) at each alert_check_interval
 * -- work queue, recipients per queue, the oldest message, free space of
 * the spool, latency -- against the limit rows alert_* (per destination
 * where the row has that scope); queued's QUEUE_EVENT (a queue down or
 * up again); and the daemon links: a daemon (a deliverd worker by its
 * index) that links again with another pid was restarted.  A restart
 * alert ends when that daemon stayed put for alert_repeat_interval.
 *
 * Told: each raise, repeat and end is one line at LOG_ALERT and, when
 * alert_mail_to is set, part of one mail per check (all notices due then,
 * at most CTL_ALERT_MAIL_NOTICES_MAX) that queued stores on the bounce
 * gateway (ADMIN_MAIL).  Mails wait here, at most CTL_ALERT_OUTBOX_MAX,
 * while queued is not linked; the oldest goes first when more come.
 *
 * Trust: QUEUE_EVENT comes from queued, its strings terminated here; the
 * state machine makes every text printable.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_alert_src.h"

#define CTL_ALERT_OUTBOX_MAX	16	/* mails waiting for queued */
#define CTL_ALERT_TELL_SOON_MS	500	/* an event is told this soon,
					   with whatever else comes then */

struct ctl_alert_out {
	size_t		 len;
	char		*text;
};

static struct ctl_alert_table	 ctl_alerts;
static struct event		*ctl_alert_tick_ev;
static struct event		*ctl_alert_soon_ev;
static uint64_t			 ctl_alert_fig_seq;	/* figures checked */
static const struct ctl_alert_figures *ctl_alert_fig_src;	/* whose */
static uint64_t			 ctl_alert_mail_seq;
static struct ctl_alert_out	 ctl_alert_outbox[CTL_ALERT_OUTBOX_MAX];
static size_t			 ctl_alert_nout;
static uint64_t			 ctl_alert_c_mails;	/* stored by queued */
static uint64_t			 ctl_alert_c_mail_errors;
static uint64_t			 ctl_alert_c_mails_dropped;

/* A daemon seen linked, to tell a restart from a first link. */
struct ctl_alert_daemon {
	int		 role;
	uint32_t	 worker;
	pid_t		 pid;
};
static struct ctl_alert_daemon	 ctl_alert_daemons[CTL_DAEMONS_MAX];
static size_t			 ctl_alert_ndaemons;

/* Notices of one telling, for the mail. */
static struct ctl_alert_mail_notice ctl_alert_notices[
	    CTL_ALERT_MAIL_NOTICES_MAX];
static size_t			 ctl_alert_nnotices;

/* show alerts: "from F to A B ...", the footer's mail part */
#define CTL_ALERT_TO_TEXT_MAX	(CTL_ALERT_FROM_MAX + 16 + \
	BW_ALERT_MAIL_TO_MAX * (BW_ADDR_MAX + 1))

/* alert_mail_from, else postmaster@hostname */
#define CTL_ALERT_FROM_MAX	(sizeof("postmaster@") + BW_DOMAIN_MAX + 1)
static void
ctl_alert_from(char *dst, size_t dstsz)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;

	if (cfg->alert_mail_from[0] != '\0')
		strlcpy(dst, cfg->alert_mail_from, dstsz);
	else
		snprintf(dst, dstsz, "postmaster@%s", cfg->hostname);
}

static int64_t
ctl_alert_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ctl_alert_subject_queue(char *dst, size_t dstsz, const char *gw,
    const char *dom)
{
	snprintf(dst, dstsz, "%s/%s", gw, dom);
}

/* Send the mails waiting, oldest first, while queued is linked. */
static void
ctl_alert_outbox_flush(void)
{
	struct ctl_daemon	*d;
	struct bw_admin_mail	 hdr;
	const struct bw_config	*cfg = ctl_env->d.cfg;
	int			 i;

	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL)
		return;
	memset(&hdr, 0, sizeof(hdr));
	for (i = 0; i < cfg->nalert_mail_to && i < BW_ADMIN_MAIL_RCPTS_MAX;
	    i++)
		strlcpy(hdr.rcpt[i], cfg->alert_mail_to[i],
		    sizeof(hdr.rcpt[i]));
	hdr.nrcpt = (uint32_t)i;
	while (ctl_alert_nout > 0) {
		struct ctl_alert_out	*o = &ctl_alert_outbox[0];

		if (hdr.nrcpt == 0) {
			/* alert_mail_to went away with a reload */
			ctl_alert_c_mails_dropped++;
		} else {
			hdr.textlen = (uint32_t)o->len;
			if (bw_peer_send2(d->peer, BW_IMSG_ADMIN_MAIL, 0, -1,
			    &hdr, sizeof(hdr), o->text, o->len) == -1) {
				log_warnx("alerts: cannot send a mail to "
				    "queued; it waits");
				return;
			}
		}
		free(o->text);
		memmove(&ctl_alert_outbox[0], &ctl_alert_outbox[1],
		    (ctl_alert_nout - 1) * sizeof(ctl_alert_outbox[0]));
		ctl_alert_nout--;
	}
}

/* Compose the mail of the notices collected and put it in the outbox. */
static void
ctl_alert_mail(int64_t now)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;
	struct ctl_alert_mail	 m;
	const char		*to[BW_ALERT_MAIL_TO_MAX];
	char			 from[CTL_ALERT_FROM_MAX], *text;
	long			 len;
	int			 i;

	if (ctl_alert_nnotices == 0 || cfg->nalert_mail_to == 0)
		return;
	if ((text = malloc(BW_ADMIN_MAIL_TEXT_MAX)) == NULL) {
		log_warnx("alerts: no memory for the mail; told in the log "
		    "only");
		ctl_alert_c_mails_dropped++;
		return;
	}
	ctl_alert_from(from, sizeof(from));
	for (i = 0; i < cfg->nalert_mail_to; i++)
		to[i] = cfg->alert_mail_to[i];
	memset(&m, 0, sizeof(m));
	m.hostname = cfg->hostname;
	m.from = from;
	m.to = to;
	m.nto = (size_t)cfg->nalert_mail_to;
	m.now = now;
	m.seq = ++ctl_alert_mail_seq;
	m.notices = ctl_alert_notices;
	m.nnotices = ctl_alert_nnotices;
	m.repeat = BW_LIMIT(cfg, LIM_ALERT_REPEAT_INTERVAL);
	if ((len = ctl_alert_mail_compose(&m, text,
	    BW_ADMIN_MAIL_TEXT_MAX)) <= 0) {
		/* CTL_ALERT_MAIL_NOTICES_MAX lines fit: a broken invariant */
		log_warnx("alerts: the mail does not fit; told in the log "
		    "only");
		ctl_alert_c_mails_dropped++;
		free(text);
		return;
	}
	if (ctl_alert_nout == CTL_ALERT_OUTBOX_MAX) {
		log_warnx("alerts: %d mails wait for queued; the oldest is "
		    "dropped", CTL_ALERT_OUTBOX_MAX);
		free(ctl_alert_outbox[0].text);
		memmove(&ctl_alert_outbox[0], &ctl_alert_outbox[1],
		    (ctl_alert_nout - 1) * sizeof(ctl_alert_outbox[0]));
		ctl_alert_nout--;
		ctl_alert_c_mails_dropped++;
	}
	ctl_alert_outbox[ctl_alert_nout].text = text;
	ctl_alert_outbox[ctl_alert_nout].len = (size_t)len;
	ctl_alert_nout++;
	ctl_alert_outbox_flush();
}

/* One notice: its log line, and a line of the mail. */
static void
ctl_alert_notice_one(const struct ctl_alert *a, int notice, void *arg)
{
	char	 text[512], dur[32];
	int64_t	 now = *(const int64_t *)arg;

	ctl_alert_describe(a, text, sizeof(text));
	if (notice == CTL_ALERT_N_CLEARED) {
		ctl_alert_fmt_ms(dur, sizeof(dur), a->cleared - a->raised);
		log_alert("alert cleared kind=%s subject=%s after=%s",
		    ctl_alert_kind_name(a->kind), a->subject[0] ?
		    a->subject : "-", dur);
	} else {
		ctl_alert_fmt_ms(dur, sizeof(dur), now - a->raised);
		log_alert("alert %s kind=%s subject=%s value=%" PRIu64
		    " threshold=%" PRIu64 " since=%s: %s",
		    ctl_alert_notice_name(notice),
		    ctl_alert_kind_name(a->kind), a->subject[0] ?
		    a->subject : "-", a->value, a->threshold, dur, text);
	}
	if (ctl_alert_nnotices < CTL_ALERT_MAIL_NOTICES_MAX) {
		ctl_alert_notices[ctl_alert_nnotices].notice = notice;
		ctl_alert_notices[ctl_alert_nnotices].a = *a;
		ctl_alert_nnotices++;
	}
}

static void	ctl_alert_soon(void);

/* Tell what is due: log lines and one mail. */
static void
ctl_alert_tell(void)
{
	int64_t	 now = ctl_alert_now();
	size_t	 n;

	ctl_alert_nnotices = 0;
	n = ctl_alert_due(&ctl_alerts, now,
	    BW_LIMIT(ctl_env->d.cfg, LIM_ALERT_REPEAT_INTERVAL),
	    CTL_ALERT_MAIL_NOTICES_MAX, ctl_alert_notice_one, &now);
	ctl_alert_mail(now);
	ctl_alert_expire(&ctl_alerts, CTL_ALERT_CLEARED_KEEP_MS, now);
	/* more than one mail holds: the rest in the next */
	if (n == CTL_ALERT_MAIL_NOTICES_MAX)
		ctl_alert_soon();
}

static void
ctl_alert_soon_cb(evutil_socket_t fd, short ev, void *arg)
{
	ctl_alert_tell();
}

/* Tell soon (an event came): events close together make one mail. */
static void
ctl_alert_soon(void)
{
	struct timeval	 tv = { 0, CTL_ALERT_TELL_SOON_MS * 1000 };

	if (ctl_alert_soon_ev == NULL)
		return;
	if (!evtimer_pending(ctl_alert_soon_ev, NULL))
		evtimer_add(ctl_alert_soon_ev, &tv);
}

/* The figures against the thresholds. */
static void
ctl_alert_check(const struct ctl_alert_figures *f, int64_t now)
{
	const struct bw_config		*cfg = ctl_env->d.cfg;
	const struct bw_limit_set	*lim;
	const struct ctl_alert_dom	*d;
	char				 subj[CTL_ALERT_SUBJECT_MAX];
	long long			 th;
	int64_t				 age;
	size_t				 i;

	ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_WORK_QUEUE);
	th = BW_LIMIT(cfg, LIM_ALERT_WORK_QUEUE);
	if (th > 0 && f->have_work && f->work_queue > (uint64_t)th)
		ctl_alert_set(&ctl_alerts, CTL_ALERT_WORK_QUEUE, "",
		    f->work_queue, (uint64_t)th, NULL, now);
	ctl_alert_round_end(&ctl_alerts, CTL_ALERT_WORK_QUEUE, now);

	ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_OLDEST_AGE);
	th = BW_LIMIT(cfg, LIM_ALERT_OLDEST_AGE);
	age = f->oldest > 0 ? f->when - f->oldest * 1000 : 0;
	if (th > 0 && f->oldest > 0 && age > th)
		ctl_alert_set(&ctl_alerts, CTL_ALERT_OLDEST_AGE, "",
		    (uint64_t)age, (uint64_t)th, NULL, now);
	ctl_alert_round_end(&ctl_alerts, CTL_ALERT_OLDEST_AGE, now);

	ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_DISK_FREE);
	th = BW_LIMIT(cfg, LIM_ALERT_DISK_FREE);
	if (th > 0 && f->have_disk && f->disk_free < (uint64_t)th)
		ctl_alert_set(&ctl_alerts, CTL_ALERT_DISK_FREE, "",
		    f->disk_free, (uint64_t)th, cfg->spool_dir, now);
	ctl_alert_round_end(&ctl_alerts, CTL_ALERT_DISK_FREE, now);

	ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_DOMAIN_QUEUED);
	ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_LATENCY_P95);
	if (f->complete)
		ctl_alert_round_begin(&ctl_alerts, CTL_ALERT_DOMAIN_DOWN);
	for (i = 0; i < f->ndoms; i++) {
		d = &f->doms[i];
		lim = config_limits_for_destination(cfg, d->gateway,
		    d->domain);
		ctl_alert_subject_queue(subj, sizeof(subj), d->gateway,
		    d->domain);
		th = lim->v[LIM_ALERT_DOMAIN_QUEUED];
		if (th > 0 && d->queued > (uint64_t)th)
			ctl_alert_set(&ctl_alerts, CTL_ALERT_DOMAIN_QUEUED,
			    subj, d->queued, (uint64_t)th, NULL, now);
		th = lim->v[LIM_ALERT_LATENCY_P95];
		if (th > 0 && f->have_latency && d->p95_ms > (uint64_t)th)
			ctl_alert_set(&ctl_alerts, CTL_ALERT_LATENCY_P95,
			    subj, d->p95_ms, (uint64_t)th, NULL, now);
		/* a queue down that queued did not tell (controld started
		 * after it went down, or the event was lost) */
		if (f->complete && d->state == BW_QUEUE_DOWN &&
		    lim->v[LIM_ALERT_DOMAIN_DOWN] != 0)
			ctl_alert_set(&ctl_alerts, CTL_ALERT_DOMAIN_DOWN,
			    subj, d->queued, 0, d->last_error, now);
	}
	ctl_alert_round_end(&ctl_alerts, CTL_ALERT_DOMAIN_QUEUED, now);
	ctl_alert_round_end(&ctl_alerts, CTL_ALERT_LATENCY_P95, now);
	if (f->complete)
		ctl_alert_round_end(&ctl_alerts, CTL_ALERT_DOMAIN_DOWN, now);
}

void
ctl_alert_figures_ready(void)
{
	const struct ctl_alert_figures	*f = ctl_alert_figures();

	/* two sources, each counting its own: the pair names a sample */
	if (f->seq == 0 || (f == ctl_alert_fig_src &&
	    f->seq == ctl_alert_fig_seq))
		return;
	ctl_alert_fig_src = f;
	ctl_alert_fig_seq = f->seq;
	ctl_alert_check(f, ctl_alert_now());
	ctl_alert_tell();
}

static void
ctl_alert_arm(void)
{
	struct timeval	 tv;
	long long	 ms = BW_LIMIT(ctl_env->d.cfg, LIM_ALERT_CHECK_INTERVAL);

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ctl_alert_tick_ev, &tv);
}

static void
ctl_alert_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;
	int64_t			 now = ctl_alert_now();

	if (BW_LIMIT(cfg, LIM_ALERT_DAEMON_RESTART) == 0)
		ctl_alert_clear_kind(&ctl_alerts, CTL_ALERT_DAEMON_RESTART,
		    now);
	ctl_alert_clear_quiet(&ctl_alerts, CTL_ALERT_DAEMON_RESTART,
	    BW_LIMIT(cfg, LIM_ALERT_REPEAT_INTERVAL), now);
	ctl_alert_tell();
	ctl_alert_src_tick(BW_LIMIT(cfg, LIM_ALERT_WORK_QUEUE) > 0 ||
	    BW_LIMIT(cfg, LIM_ALERT_OLDEST_AGE) > 0 ||
	    cfg->limits_max.v[LIM_ALERT_DOMAIN_QUEUED] > 0 ||
	    cfg->limits_max.v[LIM_ALERT_LATENCY_P95] > 0);
	/* figures that came in without an answer of ours (a sampler) */
	ctl_alert_figures_ready();
	ctl_alert_arm();
}

void
ctl_alert_start(void)
{
	ctl_alert_table_init(&ctl_alerts);
	if ((ctl_alert_tick_ev = evtimer_new(ctl_env->d.base,
	    ctl_alert_tick_cb, NULL)) == NULL ||
	    (ctl_alert_soon_ev = evtimer_new(ctl_env->d.base,
	    ctl_alert_soon_cb, NULL)) == NULL)
		fatal("alerts: timers");
	ctl_alert_arm();
}

void
ctl_alert_stop(void)
{
	size_t	 i;

	if (ctl_alert_tick_ev != NULL)
		event_free(ctl_alert_tick_ev);
	if (ctl_alert_soon_ev != NULL)
		event_free(ctl_alert_soon_ev);
	ctl_alert_tick_ev = ctl_alert_soon_ev = NULL;
	for (i = 0; i < ctl_alert_nout; i++)
		free(ctl_alert_outbox[i].text);
	ctl_alert_nout = 0;
	ctl_alert_src_free();
}

/* A daemon linked: a restart if its role and index linked before with
 * another pid. */
void
ctl_alert_daemon_up(int role, uint32_t worker, pid_t pid)
{
	struct ctl_alert_daemon	*d = NULL;
	char			 subj[CTL_ALERT_SUBJECT_MAX];
	char			 detail[96];
	pid_t			 was;
	size_t			 i;

	if (role == BW_ROLE_QUEUED)
		ctl_alert_outbox_flush();
	for (i = 0; i < ctl_alert_ndaemons; i++)
		if (ctl_alert_daemons[i].role == role &&
		    ctl_alert_daemons[i].worker == worker) {
			d = &ctl_alert_daemons[i];
			break;
		}
	if (d == NULL) {
		if (ctl_alert_ndaemons == CTL_DAEMONS_MAX)
			return;
		d = &ctl_alert_daemons[ctl_alert_ndaemons++];
		d->role = role;
		d->worker = worker;
		d->pid = pid;
		return;
	}
	was = d->pid;
	d->pid = pid;
	if (was == pid ||
	    BW_LIMIT(ctl_env->d.cfg, LIM_ALERT_DAEMON_RESTART) == 0)
		return;
	if (role == BW_ROLE_DELIVERD || role == BW_ROLE_SMTPD)
		snprintf(subj, sizeof(subj), "%s[%u]", bw_role_name(role),
		    worker);
	else
		strlcpy(subj, bw_role_name(role), sizeof(subj));
	snprintf(detail, sizeof(detail), "pid %ld, was %ld", (long)pid,
	    (long)was);
	ctl_alert_set(&ctl_alerts, CTL_ALERT_DAEMON_RESTART, subj,
	    (uint64_t)pid, 0, detail, ctl_alert_now());
	ctl_alert_soon();
}

void
ctl_alert_daemon_down(int role)
{
	if (role == BW_ROLE_QUEUED)
		ctl_alert_src_queued_gone();
}

/* QUEUE_EVENT from queued. */
void
ctl_alert_queue_event(struct bw_imsg *imsg)
{
	struct bw_queue_event		 ev;
	const struct bw_limit_set	*lim;
	char				 gw[BW_NAME_MAX];
	char				 dom[BW_DOMAIN_MAX + 1];
	char				 reason[CTL_ALERT_DETAIL_MAX];
	char				 subj[CTL_ALERT_SUBJECT_MAX];
	int64_t				 now = ctl_alert_now();

	memcpy(&ev, imsg->data, sizeof(ev));
	BW_IMSG_STR(gw, ev.gateway);
	BW_IMSG_STR(dom, ev.domain);
	bw_imsg_str(reason, sizeof(reason), ev.reason, sizeof(ev.reason));
	ctl_alert_subject_queue(subj, sizeof(subj), gw, dom);
	lim = config_limits_for_destination(ctl_env->d.cfg, gw, dom);
	if (ev.state == BW_QUEUE_DOWN) {
		if (lim->v[LIM_ALERT_DOMAIN_DOWN] == 0)
			return;
		ctl_alert_set(&ctl_alerts, CTL_ALERT_DOMAIN_DOWN, subj,
		    ev.queued, 0, reason, now);
	} else
		ctl_alert_clear(&ctl_alerts, CTL_ALERT_DOMAIN_DOWN, subj, now);
	ctl_alert_soon();
}

/* ADMIN_MAIL_DONE from queued. */
void
ctl_alert_mail_done(struct bw_imsg *imsg)
{
	struct bw_admin_mail_done	 done;
	char				 qid[BW_QID_LEN + 1];
	char				 why[BW_REPLY_TEXT_MAX];
	char				 esc[BW_REPLY_TEXT_MAX * 4 + 1];

	memcpy(&done, imsg->data, sizeof(done));
	BW_IMSG_STR(qid, done.qid);
	BW_IMSG_STR(why, done.why);
	if (done.ok) {
		ctl_alert_c_mails++;
		log_info("alerts: mail stored as %s", qid);
		return;
	}
	ctl_alert_c_mail_errors++;
	log_warnx("alerts: queued refused the mail: %s",
	    log_escape(esc, sizeof(esc), why, strlen(why)));
}

/* Counters for controld's status. */
void
ctl_alert_status(struct bw_status *st)
{
	bw_status_add(st, "alerts_active", ctl_alert_active(&ctl_alerts));
	bw_status_add(st, "alert_mails", ctl_alert_c_mails);
	bw_status_add(st, "alert_mail_errors", ctl_alert_c_mail_errors);
	bw_status_add(st, "alert_mails_dropped", ctl_alert_c_mails_dropped);
}

static const struct ctl_col ctl_alert_cols[] = {
	{ "kind", "KIND", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 14, NULL },
	{ "subject", "SUBJECT", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO |
	    CTL_COL_DASH | CTL_COL_LABEL, 7, NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH, 7, NULL },
	{ "raised", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "updated", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "cleared", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "since_text", "SINCE", CTL_T_TIME, CTL_COL_TEXT, 19, NULL },
	{ "notices", "NOTICES", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_COUNTER, 7, NULL },
	/* /metrics: breakwater_alert_active{kind,subject} 1 or 0 */
	{ "active", NULL, CTL_T_UINT, CTL_COL_DATA | CTL_COL_GAUGE, 0, NULL },
	{ "count", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "value", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "threshold", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "detail", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "text", "WHAT", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LONG, 0, NULL },
};
static const struct ctl_table ctl_alert_table = { "alerts", ctl_alert_cols,
    CTL_NCOLS(ctl_alert_cols), "alert" };

static void
ctl_alert_row(struct ctl_out *o, const struct ctl_alert *a)
{
	char	 text[512];

	ctl_alert_describe(a, text, sizeof(text));
	ctl_out_row_open(o);
	ctl_out_str(o, "kind", ctl_alert_kind_name(a->kind));
	ctl_out_str(o, "subject", a->subject);
	ctl_out_str(o, "state", a->state == CTL_ALERT_ACTIVE ? "active" :
	    "cleared");
	ctl_out_int(o, "raised", a->raised / 1000);
	ctl_out_int(o, "updated", a->updated / 1000);
	if (a->cleared != 0)
		ctl_out_int(o, "cleared", a->cleared / 1000);
	else
		ctl_out_null(o, "cleared");
	ctl_out_int(o, "since_text", a->state == CTL_ALERT_ACTIVE ?
	    a->raised / 1000 : a->cleared / 1000);
	ctl_out_uint(o, "notices", a->notices);
	ctl_out_uint(o, "active", a->state == CTL_ALERT_ACTIVE);
	ctl_out_uint(o, "count", a->count);
	ctl_out_uint(o, "value", a->value);
	ctl_out_uint(o, "threshold", a->threshold);
	ctl_out_str(o, "detail", a->detail);
	ctl_out_str(o, "text", text);
	ctl_out_row_close(o);
}

/* The alerts table, active ones first (show alerts, /metrics). */
void
ctl_alert_rows(struct ctl_out *o)
{
	size_t	 i, pass;

	ctl_out_table_open(o, &ctl_alert_table);
	ctl_out_table_empty(o, "no alerts");
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ctl_alerts.n; i++)
			if ((ctl_alerts.rows[i].state == CTL_ALERT_ACTIVE) ==
			    (pass == 0))
				ctl_alert_row(o, &ctl_alerts.rows[i]);
	ctl_out_table_close(o);
}

/* bwctl show alerts: active ones, then the cleared ones kept. */
static int
ctl_alert_render(struct ctl_req *req, struct ctl_out *o)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;
	char			 from[CTL_ALERT_FROM_MAX];
	char			 to[CTL_ALERT_TO_TEXT_MAX];
	int			 k;

	ctl_alert_from(from, sizeof(from));
	ctl_out_obj_open(o, NULL);
	ctl_alert_rows(o);
	ctl_out_uint(o, "active", ctl_alert_active(&ctl_alerts));
	ctl_out_uint(o, "repeat_interval",
	    (uint64_t)BW_LIMIT(cfg, LIM_ALERT_REPEAT_INTERVAL) / 1000);
	ctl_out_list_open(o, "mail_to");
	for (k = 0; k < cfg->nalert_mail_to; k++)
		ctl_out_str(o, NULL, cfg->alert_mail_to[k]);
	ctl_out_list_close(o);
	ctl_out_str(o, "mail_from", from);
	ctl_out_uint(o, "mails", ctl_alert_c_mails);
	ctl_out_uint(o, "mail_errors", ctl_alert_c_mail_errors);
	ctl_out_uint(o, "mails_dropped", ctl_alert_c_mails_dropped);
	ctl_out_uint(o, "refused", ctl_alerts.refused);
	if (cfg->nalert_mail_to == 0)
		strlcpy(to, "to nobody (alert_mail_to)", sizeof(to));
	else {
		snprintf(to, sizeof(to), "from %s to", from);
		for (k = 0; k < cfg->nalert_mail_to; k++) {
			strlcat(to, " ", sizeof(to));
			strlcat(to, cfg->alert_mail_to[k], sizeof(to));
		}
	}
	ctl_out_note(o, "%zu active; told again every %lld s "
	    "(alert_repeat_interval); mail %s", ctl_alert_active(&ctl_alerts),
	    BW_LIMIT(cfg, LIM_ALERT_REPEAT_INTERVAL) / 1000, to);
	ctl_out_obj_close(o);
	return 0;
}

/* show alerts [--json] */
static int
ctl_alert_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	int	 i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			if (pc->fmt == CTL_FMT_TEXT)
				pc->fmt = CTL_FMT_JSON;
		} else {
			snprintf(pc->err, sizeof(pc->err), "usage: show "
			    "alerts");
			return -1;
		}
	}
	return 0;
}

const struct ctl_cmd_ops ctl_alert_ops = {
	.parse = ctl_alert_parse,
	.start = ctl_req_done,
	.render = ctl_alert_render,
};
