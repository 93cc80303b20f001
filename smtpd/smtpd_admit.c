/*
 * Admission of a new connection: everything between accept and the
 * banner, in one place, as stages that each may wait:
 *
 *   smtpd_admit_start()        at accept (after a PROXY header, when the
 *                              listener takes one): the lookups start --
 *                              reverse DNS (smtpd_dns.c) and reputation --
 *                              and the session waits in SMTPD_PH_DELAY
 *                              (the client must be silent; anything it
 *                              sends is a pregreet violation)
 *   smtpd_session_lookups_done() every lookup has settled (or its budget
 *                              is over): the host access table decides
 *                              the group and the mail flow policy, and
 *                              the session takes its policy's limit set
 *   smtpd_admit_count()        the per-host connection count at the
 *                              counter owner (asked after the decision,
 *                              because the limit is the policy's)
 *   smtpd_admit_counted()      then the behaviour: tcprefuse closes,
 *                              the others get their banner once the
 *                              policy's delay since connect is over
 *
 * Implicit TLS: the handshake runs beside the lookups; the banner waits
 * for both (smtpd_admit_tls_done()).
 *
 * Why the banner waits for the lookups: the policy decides the banner
 * (220, 554, none at all) and its delay, and a client that does not wait
 * for it is the cheapest spam engine to recognise.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

/* The greeting delay is over or the lookups settled: 220 or 554. */
static void
smtpd_admit_banner(struct smtpd_session *s)
{
	s->banner_sent = 1;
	s->phase = SMTPD_PH_CMD;
	smtpd_session_reply(s, "220 %s ESMTP Breakwater",
	    s->env->d.cfg->hostname);
	smtpd_session_set_timeouts(s);
}

/*
 * The connect line, once the client's name is settled (or the session
 * ends first): its name and the reverse DNS state (smtpd_dns.c).
 */
void
smtpd_admit_log_connect(struct smtpd_session *s)
{
	int	 unconfirmed = s->rdns.state == SMTPD_RDNS_UNCONFIRMED;

	if (s->connect_logged)
		return;
	s->connect_logged = 1;
	log_info("session=%llu connect addr=%s name=%s rdns=%s%s%s "
	    "listener=%s", (unsigned long long)s->id, s->addr, s->name,
	    smtpd_rdns_state_name(s->rdns.state), unconfirmed ? " ptr=" : "",
	    unconfirmed ? s->rdns.names[0] : "", s->l->conf->name);
}

/* ms still to wait before the banner: the delay runs from connect. */
static long long
smtpd_admit_delay_left(const struct smtpd_session *s)
{
	long long	 delay = SMTPD_LIM(s, LIM_SMTPD_GREETING_DELAY);
	uint64_t	 due = s->connect_ms + (uint64_t)delay, now;

	now = bw_now_ms();
	return due > now ? (long long)(due - now) : 0;
}

/*
 * Admitted and not in a handshake: banner now, or arm the rest of the
 * greeting delay (smtpd_admit_timer() comes back here).
 */
static void
smtpd_admit_greet(struct smtpd_session *s)
{
	long long	 left;

	s->phase = SMTPD_PH_DELAY;
	smtpd_session_set_timeouts(s);
	if ((left = smtpd_admit_delay_left(s)) > 0) {
		smtpd_session_timer_arm(s, left);
		return;
	}
	if (smtpd_session_talked_early(s)) {
		smtpd_session_sync_violation(s, SMTPD_SYNC_PREGREET,
		    SMTP_CMD_UNKNOWN);
		return;
	}
	smtpd_admit_banner(s);
}

/* The connection count answered: granted (1) or over the limit (0). */
void
smtpd_admit_counted(struct smtpd_session *s, int granted)
{
	if (s->free_scheduled || s->phase == SMTPD_PH_CLOSING)
		return;
	if (!granted) {
		s->env->c.limit_closes++;
		smtpd_session_fail(s, "421 4.7.0 Too many connections from "
		    "your host", "too many connections from host");
		return;
	}
	s->admitted = 1;
	if (s->phase == SMTPD_PH_TLS_IMPLICIT)
		return;		/* smtpd_admit_tls_done() greets */
	smtpd_admit_greet(s);
}

/*
 * The per-host connection count.  Counted at accept today
 * (smtpd_listener.c's table); the counter owner takes it over here.
 */
static void
smtpd_admit_count(struct smtpd_session *s)
{
	smtpd_admit_counted(s, 1);
}

/* Every lookup has settled: decide, then count. */
void
smtpd_session_lookups_done(struct smtpd_session *s)
{
	if (s->admit_decided || s->free_scheduled ||
	    s->phase == SMTPD_PH_CLOSING)
		return;
	if (s->rdns.state == SMTPD_RDNS_PENDING)
		return;
	s->admit_decided = 1;
	smtpd_admit_log_connect(s);
	smtpd_admit_count(s);
}

/* At accept: the lookups start, the client waits in silence. */
void
smtpd_admit_start(struct smtpd_session *s)
{
	s->connect_ms = bw_now_ms();
	if (s->phase == SMTPD_PH_TLS_IMPLICIT)
		smtpd_session_set_timeouts(s);
	else {
		s->phase = SMTPD_PH_DELAY;
		smtpd_session_set_timeouts(s);
	}
	/* may settle at once and run smtpd_session_lookups_done() */
	smtpd_rdns_start(s);
}

/* The implicit-TLS handshake is done: greet once admitted. */
void
smtpd_admit_tls_done(struct smtpd_session *s)
{
	s->phase = SMTPD_PH_DELAY;
	smtpd_session_set_timeouts(s);
	if (s->admitted)
		smtpd_admit_greet(s);
}

/* The session's timer in SMTPD_PH_DELAY: the greeting delay is over. */
void
smtpd_admit_timer(struct smtpd_session *s)
{
	if (smtpd_session_talked_early(s)) {
		smtpd_session_sync_violation(s, SMTPD_SYNC_PREGREET,
		    SMTP_CMD_UNKNOWN);
		return;
	}
	if (!s->admitted)
		return;		/* lookups still running: they greet */
	smtpd_admit_greet(s);
}
