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

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "smtpd_hat.h"

/* The banner of an admitted host: 220, or 554 under a reject policy. */
const char *
smtpd_admit_banner_text(const struct smtpd_session *s, char *buf,
    size_t bufsz)
{
	if (s->hat_reject)
		snprintf(buf, bufsz, "554 5.7.1 %s Access denied",
		    s->env->d.cfg->hostname);
	else
		snprintf(buf, bufsz, "220 %s ESMTP Breakwater",
		    s->env->d.cfg->hostname);
	return buf;
}

/* The greeting delay is over and the host admitted: 220 or 554. */
static void
smtpd_admit_banner(struct smtpd_session *s)
{
	char	 buf[SMTPD_REPLY_MAX];

	s->banner_sent = 1;
	s->phase = SMTPD_PH_CMD;
	smtpd_session_reply(s, "%s", smtpd_admit_banner_text(s, buf,
	    sizeof(buf)));
	smtpd_session_set_timeouts(s);
}

/* The policy lets the host send to any domain. */
int
smtpd_admit_relay_policy(const struct smtpd_session *s)
{
	return s->hat != NULL && s->hat->policy != NULL &&
	    s->hat->policy->action == BW_POLICY_RELAY;
}

/*
 * A delay grows as the score falls: the policy's base, plus its tarpit
 * times -score/10 for a negative score (none: the base only -- a host
 * the lists did not answer for is not punished for the resolver).  This
 * is the score's part.
 */
static long long
smtpd_admit_tarpit_part(const struct smtpd_session *s, long long tarpit)
{
	if (tarpit > 0 && s->score.known && s->score.tenths < 0)
		return tarpit * (long long)-s->score.tenths /
		    (long long)-SMTPD_SCORE_MIN;
	return 0;
}

long long
smtpd_admit_command_tarpit(const struct smtpd_session *s)
{
	return smtpd_admit_tarpit_part(s,
	    SMTPD_LIM(s, LIM_SMTPD_TARPIT_COMMAND_DELAY));
}

long long
smtpd_admit_greeting_tarpit(const struct smtpd_session *s)
{
	return smtpd_admit_tarpit_part(s,
	    SMTPD_LIM(s, LIM_SMTPD_TARPIT_GREETING_DELAY));
}

long long
smtpd_admit_command_delay(const struct smtpd_session *s)
{
	return SMTPD_LIM(s, LIM_SMTPD_COMMAND_DELAY) +
	    smtpd_admit_command_tarpit(s);
}

long long
smtpd_admit_greeting_delay(const struct smtpd_session *s)
{
	return SMTPD_LIM(s, LIM_SMTPD_GREETING_DELAY) +
	    smtpd_admit_greeting_tarpit(s);
}

/*
 * The connect line, once the client's name is settled (or the session
 * ends first): its name and the reverse DNS state (smtpd_dns.c), and the
 * balancer it came through (smtpd_proxy_session.c).
 */
void
smtpd_admit_log_connect(struct smtpd_session *s)
{
	int	 unconfirmed = s->rdns.state == SMTPD_RDNS_UNCONFIRMED;
	char	 score[16];

	if (s->connect_logged)
		return;
	s->connect_logged = 1;
	log_info("session=%llu connect addr=%s name=%s rdns=%s%s%s "
	    "listener=%s%s%s score=%s group=%s policy=%s",
	    (unsigned long long)s->id, s->addr, s->name,
	    smtpd_rdns_state_name(s->rdns.state), unconfirmed ? " ptr=" : "",
	    unconfirmed ? s->rdns.names[0] : "", s->lconf->name,
	    s->proxied ? " proxy=" : "", s->proxied ? s->proxy_peer : "",
	    smtpd_reputation_text(s, score, sizeof(score)),
	    smtpd_hat_group_name(s->hat), smtpd_hat_policy_name(s->hat));
}

/* ms still to wait before the banner: the delay runs from connect. */
static long long
smtpd_admit_delay_left(const struct smtpd_session *s)
{
	uint64_t	 due, now;

	due = s->connect_ms + (uint64_t)smtpd_admit_greeting_delay(s);

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

/* queued answered the connection count (or could not: granted). */
static void
smtpd_admit_count_cb(struct smtpd_session *s,
    const struct smtpd_hostcount_answer *a)
{
	if (!a->granted)
		log_info("session=%llu addr=%s refused: %llu connections from "
		    "this host (limit %lld)", (unsigned long long)s->id,
		    s->addr, (unsigned long long)a->count,
		    SMTPD_LIM(s, LIM_SMTPD_MAX_CONNECTIONS_PER_IP));
	smtpd_admit_counted(s, a->granted);
}

/*
 * The per-host connection count, at the counter owner (queued, through
 * smtpd_hostcount.c): every smtpd process sees the same count.  Without
 * memory for the request the session is admitted: a counter never stops
 * mail.
 */
static void
smtpd_admit_count(struct smtpd_session *s)
{
	char	 score[BW_SCORE_TEXT_MAX];

	/* what bwctl show senders tells about the host */
	smtpd_hostcount_set_labels(s, smtpd_hat_group_name(s->hat),
	    smtpd_hat_policy_name(s->hat),
	    smtpd_score_text(&s->score, score, sizeof(score)));
	if (smtpd_hostcount_take(s, BW_HC_CONN, 1,
	    SMTPD_LIM(s, LIM_SMTPD_MAX_CONNECTIONS_PER_IP), 0,
	    smtpd_admit_count_cb) == -1)
		smtpd_admit_counted(s, 1);
}

/*
 * Is the client listed in zone?  The reputation lookups keep the
 * answers of every zone a group names (smtpd_reputation.c); a zone that
 * did not answer, or a client not looked up, has no answer (-1).
 */
static int
smtpd_admit_listed(void *arg, const char *zone, const uint32_t *addrs,
    size_t naddrs)
{
	return smtpd_reputation_listed(arg, zone, addrs, naddrs);
}

static enum smtpd_hat_rdns
smtpd_admit_rdns(enum smtpd_rdns_state st)
{
	switch (st) {
	case SMTPD_RDNS_CONFIRMED:
		return SMTPD_HAT_RDNS_CONFIRMED;
	case SMTPD_RDNS_UNKNOWN:
		return SMTPD_HAT_RDNS_MISSING;
	case SMTPD_RDNS_UNCONFIRMED:
		return SMTPD_HAT_RDNS_UNCONFIRMED;
	case SMTPD_RDNS_TEMPFAIL:
		return SMTPD_HAT_RDNS_TEMPFAIL;
	default:
		return SMTPD_HAT_RDNS_OFF;
	}
}

/*
 * The host access table: group and policy, and what follows from them
 * for the rest of the session (limits, TLS, scan flags, behaviour).
 */
static void
smtpd_admit_decide(struct smtpd_session *s)
{
	const struct bw_listener_conf	*lc = s->lconf;
	const struct bw_policy_conf	*po;
	struct smtpd_hat_facts		 f;

	memset(&f, 0, sizeof(f));
	f.sa = (const struct sockaddr *)&s->ss;
	f.rdns = smtpd_admit_rdns(s->rdns.state);
	f.name = s->rdns.state == SMTPD_RDNS_CONFIRMED ? s->name : NULL;
	f.score_known = s->score.known;
	f.score_off = s->rep.phase == SMTPD_REPUTE_OFF;
	f.score = s->score.tenths;
	f.listed = smtpd_admit_listed;
	f.arg = s;
	s->hat = smtpd_hat_match(lc, &f);
	s->lim = &s->hat->limits;
	po = s->hat->policy;
	s->scan_flags = po != NULL ? po->scan : 0;
	/* TLS: the listener must have it to offer it (config_hat.c makes
	 * "required" on a listener without TLS an error) */
	s->tls_offer = lc->tls == BW_TLS_STARTTLS && s->l->ssl_ctx != NULL;
	s->tls_need = lc->tls_required;
	if (po != NULL && po->tls == BW_POLICY_TLS_OFF)
		s->tls_offer = s->tls_need = 0;
	else if (po != NULL && po->tls == BW_POLICY_TLS_OFFERED)
		s->tls_need = 0;
	else if (po != NULL && po->tls == BW_POLICY_TLS_REQUIRED)
		s->tls_need = lc->tls != BW_TLS_NONE;
	s->hat_reject = po != NULL && po->action == BW_POLICY_REJECT;
}

/* The policy closes the connection before the banner. */
int
smtpd_admit_tcprefuse(const struct smtpd_session *s)
{
	return s->hat != NULL && s->hat->policy != NULL &&
	    s->hat->policy->action == BW_POLICY_TCPREFUSE;
}

/*
 * Resource conservation: while queued reports pressure, hosts whose
 * policy may be shed get 421 -- at soft pressure (message counts over
 * their marks) those with a known negative score, at hard pressure (the
 * spool's disk) all of them -- while relay policies (trusted hosts,
 * shed_under_pressure no) and private listeners keep flowing.  A
 * listener without a table sheds like an accept policy.  A host whose
 * score is none is not shed at soft pressure: a resolver outage is no
 * reason to refuse it.  The pressure level at which this host is shed,
 * or BW_PRESSURE_NONE.
 */
int
smtpd_admit_shed_level(const struct smtpd_session *s)
{
	const struct bw_policy_conf	*po = s->hat != NULL ?
					    s->hat->policy : NULL;
	int				 level = smtpd_pressure_level(s->env);

	if (level == BW_PRESSURE_NONE || !s->lconf->public)
		return BW_PRESSURE_NONE;
	if (po != NULL && !po->shed)
		return BW_PRESSURE_NONE;
	if (level < BW_PRESSURE_HARD && !(s->score.known &&
	    s->score.tenths < 0))
		return BW_PRESSURE_NONE;
	return level;
}

const char *
smtpd_admit_shed_reply(const struct smtpd_session *s, char *buf,
    size_t bufsz)
{
	snprintf(buf, bufsz, "421 4.3.2 %s Service busy, try again later",
	    s->env->d.cfg->hostname);
	return buf;
}

/*
 * Shed the host if its time has come: count, log, 421 and close; 1 if
 * it was.  when: "connect" or "mail", for the log line.
 */
int
smtpd_admit_shed(struct smtpd_session *s, const char *when)
{
	int	 level;
	char	 buf[SMTPD_REPLY_MAX], score[16];

	if ((level = smtpd_admit_shed_level(s)) == BW_PRESSURE_NONE)
		return 0;
	s->env->c.pressure_sheds++;
	s->env->c.limit_closes++;
	log_info("%s%ssession=%llu addr=%s shed at %s: queue pressure=%s "
	    "reason=\"%s\" score=%s group=%s policy=%s",
	    s->tx ? s->qid : "", s->tx ? " " : "",
	    (unsigned long long)s->id, s->addr, when,
	    level >= BW_PRESSURE_HARD ? "hard" : "soft",
	    s->env->pressure_reason,
	    smtpd_score_text(&s->score, score, sizeof(score)),
	    smtpd_hat_group_name(s->hat), smtpd_hat_policy_name(s->hat));
	smtpd_session_fail(s, smtpd_admit_shed_reply(s, buf, sizeof(buf)),
	    "queue pressure");
	return 1;
}

/* Every lookup has settled: decide, then count. */
void
smtpd_session_lookups_done(struct smtpd_session *s)
{
	if (s->admit_decided || s->free_scheduled ||
	    s->phase == SMTPD_PH_CLOSING)
		return;
	if (s->lookups_starting || s->rdns.state == SMTPD_RDNS_PENDING ||
	    smtpd_reputation_pending(s))
		return;
	s->admit_decided = 1;
	smtpd_admit_decide(s);
	if (s->probe) {
		/* bwctl trace: no client to greet, nothing to count */
		smtpd_trace_done(s);
		return;
	}
	if (s->hat_reject)
		s->env->c.policy_reject++;
	else if (smtpd_admit_relay_policy(s))
		s->env->c.policy_relay++;
	smtpd_admit_log_connect(s);
	if (smtpd_admit_tcprefuse(s)) {
		/* no banner, no count: the host is not worth a descriptor */
		s->env->c.policy_tcprefuse++;
		smtpd_session_close(s, "policy tcprefuse");
		return;
	}
	if (smtpd_admit_shed(s, "connect"))
		return;
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
	smtpd_admit_lookups_start(s);
}

/*
 * The lookups of a new host, a connection's or a bwctl trace probe's:
 * reverse DNS and reputation, in parallel.  Either may settle at once,
 * and smtpd_session_lookups_done() decides when both have (it waits for
 * both starts).
 */
void
smtpd_admit_lookups_start(struct smtpd_session *s)
{
	s->lookups_starting = 1;
	smtpd_rdns_start(s);
	smtpd_reputation_start(s);
	s->lookups_starting = 0;
	smtpd_session_lookups_done(s);
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
