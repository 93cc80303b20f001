/*
 * Per-host rates of a session's policy: messages per minute (at MAIL)
 * and recipients per hour (at each RCPT), counted by the counter owner
 * (smtpd_hostcount.c, in queued) so that every smtpd process sees the
 * same counts and they outlive an smtpd restart.  The command waits for
 * the owner's answer in SMTPD_PH_WAIT_HOST with the client's next lines
 * buffered; the answer goes on with the command (smtpd_session.c) or
 * refuses it:
 *
 *   MAIL over smtpd_max_messages_per_minute: 421 4.7.0, the session ends
 *     (a host over its rate should come back later, not keep trying);
 *   RCPT over smtpd_max_recipients_per_hour: 452 4.5.3 with the time the
 *     window reopens (RFC 5321 4.5.3.1.10: the client tries that
 *     recipient again later), the session goes on.
 *
 * A limit of 0 asks nothing: no round trip for the policies that do not
 * limit.  An owner that cannot be asked grants (fail open,
 * smtpd_hostcount.c).
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "smtpd_hostcount.h"

/* "12:34:56 UTC (in 73 s)" for a unix-ms reopen time. */
static void
smtpd_rate_reopen_text(int64_t reopen_at, char *buf, size_t bufsz)
{
	struct tm	 tm;
	time_t		 when = (time_t)(reopen_at / 1000);
	long long	 left = reopen_at / 1000 - (long long)time(NULL);

	if (left < 1)
		left = 1;
	if (reopen_at <= 0 || gmtime_r(&when, &tm) == NULL ||
	    strftime(buf, bufsz, "%H:%M:%S UTC", &tm) == 0)
		snprintf(buf, bufsz, "later (in %lld s)", left);
	else
		snprintf(buf + strlen(buf), bufsz - strlen(buf),
		    " (in %lld s)", left);
}

static void
smtpd_rate_back(struct smtpd_session *s)
{
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
}

static void
smtpd_rate_mail_cb(struct smtpd_session *s,
    const struct smtpd_hostcount_answer *a)
{
	char	 buf[SMTPD_REPLY_MAX], when[64] = "";

	if (s->phase != SMTPD_PH_WAIT_HOST)
		return;
	smtpd_rate_back(s);
	if (!a->granted) {
		smtpd_rate_reopen_text(a->reopen_at, when, sizeof(when));
		s->env->c.host_rate_rejects++;
		s->env->c.limit_closes++;
		log_info("session=%llu addr=%s from=<%s> rejected: messages per "
		    "window count=%llu limit=%lld reopens %s",
		    (unsigned long long)s->id, s->addr, s->sender,
		    (unsigned long long)a->count,
		    SMTPD_LIM(s, LIM_SMTPD_MAX_MESSAGES_PER_MINUTE), when);
		snprintf(buf, sizeof(buf), "421 4.7.0 %s Too many messages "
		    "from your host, try again at %s", s->env->d.cfg->hostname,
		    when);
		smtpd_session_tx_reset(s);
		smtpd_session_fail(s, buf, "messages per minute limit");
		return;
	}
	smtpd_session_mail_open(s);
}

/* MAIL: 1 if the session now waits for the owner (or was answered). */
int
smtpd_rate_mail(struct smtpd_session *s)
{
	long long	 limit = SMTPD_LIM(s, LIM_SMTPD_MAX_MESSAGES_PER_MINUTE);

	if (limit <= 0)
		return 0;
	if (smtpd_hostcount_take(s, BW_HC_MSG, 1, limit,
	    SMTPD_LIM(s, LIM_SMTPD_MESSAGES_WINDOW), smtpd_rate_mail_cb) == -1)
		return 0;	/* no request: fail open */
	s->phase = SMTPD_PH_WAIT_HOST;
	smtpd_session_set_timeouts(s);
	return 1;
}

/* A recipient and its parameters while the owner counts it. */
struct smtpd_rate_wait {
	char			 rcpt[BW_ADDR_MAX];
	struct smtp_rcpt_params	 rp;
};

void
smtpd_rate_free(struct smtpd_session *s)
{
	free(s->rate_wait);
	s->rate_wait = NULL;
}

static void
smtpd_rate_rcpt_cb(struct smtpd_session *s,
    const struct smtpd_hostcount_answer *a)
{
	struct smtpd_rate_wait	*w = s->rate_wait;
	char			 when[64] = "";

	if (s->phase != SMTPD_PH_WAIT_HOST || w == NULL)
		return;
	s->rate_wait = NULL;
	smtpd_rate_back(s);
	if (!a->granted) {
		smtpd_rate_reopen_text(a->reopen_at, when, sizeof(when));
		s->env->c.rcpt_rejected++;
		s->env->c.host_rate_rejects++;
		log_info("%s session=%llu addr=%s to=<%s> rejected: recipients "
		    "per window count=%llu limit=%lld reopens %s", s->qid,
		    (unsigned long long)s->id, s->addr, w->rcpt,
		    (unsigned long long)a->count,
		    SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS_PER_HOUR), when);
		smtpd_session_reply(s, "452 4.5.3 Too many recipients from "
		    "your host; the window reopens at %s", when);
	} else
		smtpd_session_rcpt_accept(s, w->rcpt, &w->rp);
	free(w);
	smtpd_session_resume(s);
}

/* RCPT, after every other check: 1 if the session waits for the owner. */
int
smtpd_rate_rcpt(struct smtpd_session *s, const char *rcpt,
    const struct smtp_rcpt_params *rp)
{
	long long	 limit = SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS_PER_HOUR);

	if (limit <= 0)
		return 0;
	if ((s->rate_wait = calloc(1, sizeof(*s->rate_wait))) == NULL) {
		/* fail open, as when the owner cannot be asked */
		log_warn("session=%llu: recipient count", (unsigned long long)
		    s->id);
		return 0;
	}
	strlcpy(s->rate_wait->rcpt, rcpt, sizeof(s->rate_wait->rcpt));
	s->rate_wait->rp = *rp;
	if (smtpd_hostcount_take(s, BW_HC_RCPT, 1, limit,
	    SMTPD_LIM(s, LIM_SMTPD_RECIPIENTS_WINDOW), smtpd_rate_rcpt_cb) == -1) {
		smtpd_rate_free(s);
		return 0;
	}
	s->phase = SMTPD_PH_WAIT_HOST;
	smtpd_session_set_timeouts(s);
	return 1;
}
