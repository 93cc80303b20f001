/*
 * The alert state machine.  Each alert is one (kind, subject): subject is
 * "" for the global conditions (work queue, oldest message, disk free),
 * "gateway/domain" for a queue, "proc" for a daemon.  An alert is raised
 * when its condition is set, stays active while it is set again, and is
 * cleared when a round no longer sets it (figures), when it is cleared
 * (events), or when it was quiet long enough (restarts).  Telling is
 * separate: ctl_alert_due() hands out the raise, the repeats (at most
 * every repeat ms) and the end, each once, so that the caller can log and
 * mail them in one go.
 *
 * Pure: no events, no I/O; times are ms of the wall clock passed in.
 * Input text (domains and reasons from queued) is made printable here.
 *
 * Limits: CTL_ALERTS_MAX rows; a set that finds the table full of active
 * alerts is refused and counted (cleared ones make room first).
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "controld_alert.h"

static const struct {
	const char	*name;
	const char	*limit;
} ctl_alert_kinds[CTL_ALERT__COUNT] = {
	[CTL_ALERT_WORK_QUEUE] = { "work_queue", "alert_work_queue" },
	[CTL_ALERT_DOMAIN_QUEUED] = { "domain_queued", "alert_domain_queued" },
	[CTL_ALERT_OLDEST_AGE] = { "oldest_age", "alert_oldest_age" },
	[CTL_ALERT_DISK_FREE] = { "disk_free", "alert_disk_free" },
	[CTL_ALERT_LATENCY_P95] = { "latency_p95", "alert_latency_p95" },
	[CTL_ALERT_DAEMON_RESTART] = { "daemon_restart",
	    "alert_daemon_restart" },
	[CTL_ALERT_DOMAIN_DOWN] = { "domain_down", "alert_domain_down" },
};

const char *
ctl_alert_kind_name(int kind)
{
	if (kind < 0 || kind >= CTL_ALERT__COUNT)
		return "?";
	return ctl_alert_kinds[kind].name;
}

const char *
ctl_alert_kind_limit(int kind)
{
	if (kind < 0 || kind >= CTL_ALERT__COUNT)
		return "?";
	return ctl_alert_kinds[kind].limit;
}

const char *
ctl_alert_notice_name(int n)
{
	switch (n) {
	case CTL_ALERT_N_RAISED:
		return "raised";
	case CTL_ALERT_N_REPEAT:
		return "repeated";
	case CTL_ALERT_N_CLEARED:
		return "cleared";
	}
	return "?";
}

/* Printable ASCII only: the text goes into log lines and mail headers. */
static void
ctl_alert_text(char *dst, size_t dstsz, const char *src)
{
	size_t	 i;

	if (dstsz == 0)
		return;
	for (i = 0; i + 1 < dstsz && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

void
ctl_alert_table_init(struct ctl_alert_table *t)
{
	memset(t, 0, sizeof(*t));
}

struct ctl_alert *
ctl_alert_find(struct ctl_alert_table *t, int kind, const char *subject)
{
	char	 s[CTL_ALERT_SUBJECT_MAX];
	size_t	 i;

	ctl_alert_text(s, sizeof(s), subject);
	for (i = 0; i < t->n; i++)
		if (t->rows[i].kind == kind &&
		    strcmp(t->rows[i].subject, s) == 0)
			return &t->rows[i];
	return NULL;
}

/* A free row: a new one, else the cleared one told longest ago. */
static struct ctl_alert *
ctl_alert_row_new(struct ctl_alert_table *t)
{
	struct ctl_alert	*a, *old = NULL;
	size_t			 i;

	if (t->n < CTL_ALERTS_MAX)
		return &t->rows[t->n++];
	for (i = 0; i < t->n; i++) {
		a = &t->rows[i];
		/* an end not yet told is kept until it is */
		if (a->state != CTL_ALERT_CLEARED || !a->clear_told)
			continue;
		if (old == NULL || a->cleared < old->cleared)
			old = a;
	}
	return old;
}

struct ctl_alert *
ctl_alert_set(struct ctl_alert_table *t, int kind, const char *subject,
    uint64_t value, uint64_t threshold, const char *detail, int64_t now)
{
	struct ctl_alert	*a;

	if (kind < 0 || kind >= CTL_ALERT__COUNT)
		return NULL;
	if ((a = ctl_alert_find(t, kind, subject)) == NULL) {
		if ((a = ctl_alert_row_new(t)) == NULL) {
			t->refused++;
			return NULL;
		}
		memset(a, 0, sizeof(*a));
		a->kind = kind;
		ctl_alert_text(a->subject, sizeof(a->subject), subject);
		a->state = CTL_ALERT_CLEARED;
	}
	if (a->state == CTL_ALERT_CLEARED) {
		if (a->raised != 0 && !a->clear_told) {
			/* back before its end was told: it never ended */
			a->cleared = 0;
		} else {
			a->raised = now;
			a->told = 0;
			a->notices = 0;
			a->count = 0;
			a->cleared = 0;
		}
		a->state = CTL_ALERT_ACTIVE;
		a->clear_told = 0;
	}
	a->updated = now;
	a->value = value;
	a->threshold = threshold;
	a->count++;
	a->seen = 1;
	ctl_alert_text(a->detail, sizeof(a->detail), detail != NULL ?
	    detail : "");
	return a;
}

static void
ctl_alert_end(struct ctl_alert *a, int64_t now)
{
	if (a->state != CTL_ALERT_ACTIVE)
		return;
	a->state = CTL_ALERT_CLEARED;
	a->cleared = now;
	/* an alert never told ends without a word */
	a->clear_told = a->told == 0;
}

void
ctl_alert_clear(struct ctl_alert_table *t, int kind, const char *subject,
    int64_t now)
{
	struct ctl_alert	*a;

	if ((a = ctl_alert_find(t, kind, subject)) != NULL)
		ctl_alert_end(a, now);
}

void
ctl_alert_round_begin(struct ctl_alert_table *t, int kind)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].kind == kind)
			t->rows[i].seen = 0;
}

void
ctl_alert_round_end(struct ctl_alert_table *t, int kind, int64_t now)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].kind == kind && !t->rows[i].seen)
			ctl_alert_end(&t->rows[i], now);
}

void
ctl_alert_clear_quiet(struct ctl_alert_table *t, int kind, int64_t quiet,
    int64_t now)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].kind == kind &&
		    t->rows[i].state == CTL_ALERT_ACTIVE &&
		    now - t->rows[i].updated >= quiet)
			ctl_alert_end(&t->rows[i], now);
}

void
ctl_alert_clear_kind(struct ctl_alert_table *t, int kind, int64_t now)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].kind == kind)
			ctl_alert_end(&t->rows[i], now);
}

size_t
ctl_alert_due(struct ctl_alert_table *t, int64_t now, int64_t repeat,
    size_t max, ctl_alert_notice_cb cb, void *arg)
{
	struct ctl_alert	*a;
	size_t			 i, n = 0;
	int			 notice;

	for (i = 0; i < t->n && (max == 0 || n < max); i++) {
		a = &t->rows[i];
		if (a->state == CTL_ALERT_ACTIVE) {
			if (a->told == 0)
				notice = CTL_ALERT_N_RAISED;
			else if (now - a->told >= repeat)
				notice = CTL_ALERT_N_REPEAT;
			else
				continue;
			a->told = now;
			a->notices++;
		} else {
			if (a->clear_told)
				continue;
			notice = CTL_ALERT_N_CLEARED;
			a->clear_told = 1;
		}
		n++;
		if (cb != NULL)
			cb(a, notice, arg);
	}
	return n;
}

void
ctl_alert_expire(struct ctl_alert_table *t, int64_t keep, int64_t now)
{
	size_t	 i = 0;

	while (i < t->n) {
		if (t->rows[i].state == CTL_ALERT_CLEARED &&
		    t->rows[i].clear_told && now - t->rows[i].cleared >= keep) {
			/* keep the order: show alerts lists by age */
			memmove(&t->rows[i], &t->rows[i + 1],
			    (t->n - i - 1) * sizeof(t->rows[0]));
			t->n--;
			continue;
		}
		i++;
	}
}

size_t
ctl_alert_active(const struct ctl_alert_table *t)
{
	size_t	 i, n = 0;

	for (i = 0; i < t->n; i++)
		n += t->rows[i].state == CTL_ALERT_ACTIVE;
	return n;
}

void
ctl_alert_fmt_ms(char *dst, size_t dstsz, int64_t ms)
{
	int64_t	 s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(dst, dstsz, "%" PRId64 "d%" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(dst, dstsz, "%" PRId64 "h%" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(dst, dstsz, "%" PRId64 "m%" PRId64 "s", s / 60,
		    s % 60);
	else
		snprintf(dst, dstsz, "%" PRId64 "s", s);
}

void
ctl_alert_describe(const struct ctl_alert *a, char *dst, size_t dstsz)
{
	char	 v[32], th[32];
	int	 n = 0;

	switch (a->kind) {
	case CTL_ALERT_WORK_QUEUE:
		n = snprintf(dst, dstsz, "work_queue: %" PRIu64 " waiting for "
		    "delivery, threshold %" PRIu64, a->value, a->threshold);
		break;
	case CTL_ALERT_DOMAIN_QUEUED:
		n = snprintf(dst, dstsz, "domain_queued %s: %" PRIu64
		    " waiting, threshold %" PRIu64, a->subject,
		    a->value, a->threshold);
		break;
	case CTL_ALERT_OLDEST_AGE:
		ctl_alert_fmt_ms(v, sizeof(v), (int64_t)a->value);
		ctl_alert_fmt_ms(th, sizeof(th), (int64_t)a->threshold);
		n = snprintf(dst, dstsz, "oldest_age: the oldest message "
		    "waits for %s, threshold %s", v, th);
		break;
	case CTL_ALERT_DISK_FREE:
		n = snprintf(dst, dstsz, "disk_free: %" PRIu64 " bytes free "
		    "in the spool, threshold %" PRIu64, a->value,
		    a->threshold);
		break;
	case CTL_ALERT_LATENCY_P95:
		ctl_alert_fmt_ms(v, sizeof(v), (int64_t)a->value);
		ctl_alert_fmt_ms(th, sizeof(th), (int64_t)a->threshold);
		n = snprintf(dst, dstsz, "latency_p95 %s: 95%% of deliveries "
		    "within %s, threshold %s", a->subject, v, th);
		break;
	case CTL_ALERT_DAEMON_RESTART:
		n = snprintf(dst, dstsz, "daemon_restart %s: linked again "
		    "%" PRIu32 " time%s", a->subject, a->count,
		    a->count == 1 ? "" : "s");
		break;
	case CTL_ALERT_DOMAIN_DOWN:
		n = snprintf(dst, dstsz, "domain_down %s: the queue is down",
		    a->subject);
		break;
	default:
		n = snprintf(dst, dstsz, "? %s", a->subject);
		break;
	}
	if (n >= 0 && (size_t)n < dstsz && a->detail[0] != '\0')
		snprintf(dst + n, dstsz - (size_t)n, " (%s)", a->detail);
}

/* Append to a bounded buffer; -1 once it overflowed. */
struct ctl_alert_buf {
	char	*p;
	size_t	 len, size;
	int	 over;
};

static void
ctl_alert_put(struct ctl_alert_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
ctl_alert_put(struct ctl_alert_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->size - b->len) {
		b->over = 1;
		return;
	}
	b->len += (size_t)n;
}

/* RFC 5322 3.3 date, in UTC, without the locale. */
static void
ctl_alert_date(char *dst, size_t dstsz, int64_t ms)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(dst, dstsz, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(dst, dstsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

long
ctl_alert_mail_compose(const struct ctl_alert_mail *m, char *dst,
    size_t dstsz)
{
	struct ctl_alert_buf		 b = { dst, 0, dstsz, 0 };
	const struct ctl_alert_mail_notice *n;
	char				 date[64], line[512], d[32];
	size_t				 i, nr = 0, nc = 0, np = 0;

	if (dstsz == 0)
		return -1;
	dst[0] = '\0';
	for (i = 0; i < m->nnotices; i++) {
		nr += m->notices[i].notice == CTL_ALERT_N_RAISED;
		np += m->notices[i].notice == CTL_ALERT_N_REPEAT;
		nc += m->notices[i].notice == CTL_ALERT_N_CLEARED;
	}
	ctl_alert_date(date, sizeof(date), m->now);
	ctl_alert_put(&b, "From: Breakwater alerts <%s>\r\n", m->from);
	for (i = 0; i < m->nto; i++)
		ctl_alert_put(&b, "%s%s%s", i == 0 ? "To: " : ",\r\n ",
		    m->to[i], i + 1 == m->nto ? "\r\n" : "");
	if (m->nnotices == 1) {
		n = &m->notices[0];
		ctl_alert_put(&b, "Subject: [%s] %s %s%s%s\r\n", m->hostname,
		    n->notice == CTL_ALERT_N_CLEARED ? "cleared:" :
		    n->notice == CTL_ALERT_N_REPEAT ? "ALERT (still):" :
		    "ALERT:", ctl_alert_kind_name(n->a.kind),
		    n->a.subject[0] ? " " : "", n->a.subject);
	} else
		ctl_alert_put(&b, "Subject: [%s] alerts: %zu raised, %zu still "
		    "active, %zu cleared\r\n", m->hostname, nr, np, nc);
	ctl_alert_put(&b, "Date: %s\r\n", date);
	ctl_alert_put(&b, "Message-ID: <%" PRId64 ".%" PRIu64 ".alert@%s>\r\n",
	    m->now, m->seq, m->hostname);
	/* RFC 3834: no automatic replies to this */
	ctl_alert_put(&b, "Auto-Submitted: auto-generated\r\n");
	for (i = 0; i < m->nnotices; i++) {
		n = &m->notices[i];
		ctl_alert_put(&b, "X-Breakwater-Alert: %s %s%s%s\r\n",
		    ctl_alert_notice_name(n->notice),
		    ctl_alert_kind_name(n->a.kind),
		    n->a.subject[0] ? " " : "", n->a.subject);
	}
	ctl_alert_put(&b, "MIME-Version: 1.0\r\n");
	ctl_alert_put(&b, "Content-Type: text/plain; charset=us-ascii\r\n");
	ctl_alert_put(&b, "\r\n");
	for (i = 0; i < m->nnotices; i++) {
		n = &m->notices[i];
		ctl_alert_describe(&n->a, line, sizeof(line));
		switch (n->notice) {
		case CTL_ALERT_N_RAISED:
			ctl_alert_put(&b, "RAISED   %s\r\n", line);
			break;
		case CTL_ALERT_N_REPEAT:
			ctl_alert_fmt_ms(d, sizeof(d), m->now - n->a.raised);
			ctl_alert_put(&b, "ACTIVE   %s, for %s\r\n", line, d);
			break;
		case CTL_ALERT_N_CLEARED:
			ctl_alert_fmt_ms(d, sizeof(d), n->a.cleared -
			    n->a.raised);
			ctl_alert_put(&b, "CLEARED  %s%s%s: over after %s\r\n",
			    ctl_alert_kind_name(n->a.kind),
			    n->a.subject[0] ? " " : "", n->a.subject, d);
			break;
		}
	}
	ctl_alert_fmt_ms(d, sizeof(d), m->repeat);
	ctl_alert_put(&b, "\r\nAn alert that lasts is told again every %s "
	    "(alert_repeat_interval); its end is told once.\r\n"
	    "bwctl show alerts lists the alerts now.\r\n-- \r\n"
	    "Breakwater on %s\r\n", d, m->hostname);
	if (b.over)
		return -1;
	return (long)b.len;
}
