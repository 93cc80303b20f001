/*
 * bwctl trace ADDRESS: what a host at ADDRESS would get, without a
 * connection and without mail.  controld sends TRACE_REQ; smtpd makes a
 * probe (smtpd_session_probe_new(): a session with no socket, flagged
 * probe, so that nothing is written and nothing counted), starts its
 * lookups as the admission does for a connection (reverse DNS and
 * reputation through dnscached, each within its own deadline), and at
 * smtpd_session_lookups_done() the host access table decides as for a
 * connection and the admission hands the probe to smtpd_trace_done().
 * That asks each SMTP step the session's own questions -- the banner and
 * its delay (smtpd_admit.c), the policy's refusal, EHLO's keywords and
 * the checks of MAIL and RCPT (smtpd_session.c), the command parser --
 * and answers with one TRACE_REPLY.  Nothing here decides anything a
 * session decides elsewhere.
 *
 * What a trace cannot know it does not guess: queued's answers to MAIL
 * and RCPT (a full queue: 452), the per-host counts at the counter owner
 * (a host over its connections gets 421 instead of the banner).  RCPT
 * rows are the answers once a MAIL has been accepted.
 *
 * Trust: the request comes from controld (the catalog checked its size);
 * its strings are terminated here, the address must be numeric, the
 * listener must exist.  Limits: SMTPD_TRACE_MAX probes in flight; a
 * probe lives at most its lookups' deadline plus SMTPD_TRACE_MARGIN_MS.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "smtpd_hat.h"

#define SMTPD_TRACE_LINE_MAX	(BW_CTL_ARG_MAX + 16)	/* "RCPT TO:<...>" */

struct smtpd_trace {
	TAILQ_ENTRY(smtpd_trace) entry;
	struct smtpd_env	*env;
	uint32_t		 reqid;		/* controld's, echoed */
	struct bw_trace_req	 req;
	struct smtpd_session	*s;		/* the probe */
	struct event		*ev;		/* deadline, then the free */
	int			 answered;
};

/* Send r to controld; the link may have gone (controld times out). */
static void
smtpd_trace_send(struct smtpd_env *env, uint32_t reqid,
    const struct bw_trace_reply *r)
{
	if (!bw_status_link_is_up(env->controld) ||
	    bw_peer_send(bw_status_link_peer(env->controld),
	    BW_IMSG_TRACE_REPLY, reqid, -1, r, sizeof(*r)) == -1)
		log_warnx("trace: cannot send the answer to controld");
}

/* A trace that cannot be made: the reason, and nothing else. */
static void
smtpd_trace_error(struct smtpd_env *env, uint32_t reqid, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
smtpd_trace_error(struct smtpd_env *env, uint32_t reqid, const char *fmt,
    ...)
{
	struct bw_trace_reply	*r;
	va_list			 ap;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("trace: cannot answer");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	log_info("trace refused: %s", r->error);
	smtpd_trace_send(env, reqid, r);
	free(r);
}

static void
smtpd_trace_free(struct smtpd_trace *t)
{
	TAILQ_REMOVE(&t->env->traces, t, entry);
	t->env->ntraces--;
	if (t->ev != NULL)
		event_free(t->ev);
	if (t->s != NULL)
		smtpd_session_free(t->s);	/* cancels its lookups */
	free(t);
}

/* The deadline passed before the lookups settled, or the answer left. */
static void
smtpd_trace_ev_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_trace	*t = arg;

	if (!t->answered) {
		log_warnx("trace session=%llu addr=%s: the lookups did not "
		    "settle in time", (unsigned long long)t->s->id, t->s->addr);
		smtpd_trace_error(t->env, t->reqid, "the lookups of %s did "
		    "not settle in time", t->s->addr);
	}
	smtpd_trace_free(t);
}

/* --listener NAME, else the first public listener, else the only one. */
static struct smtpd_listener *
smtpd_trace_listener(struct smtpd_env *env, const char *name, char *err,
    size_t errsz)
{
	struct smtpd_listener	*l, *only = NULL;
	int			 n = 0;

	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (name[0] != '\0' && strcmp(l->conf->name, name) == 0)
			return l;
		if (name[0] == '\0' && l->conf->public)
			return l;
		only = l;
		n++;
	}
	if (name[0] != '\0')
		snprintf(err, errsz, "no listener \"%s\"", name);
	else if (n == 1)
		return only;
	else
		snprintf(err, errsz, "no public listener: name one with "
		    "--listener");
	return NULL;
}

/* TRACE_REQ: make the probe and start its lookups. */
static void
smtpd_trace_start(struct smtpd_env *env, uint32_t reqid,
    const struct bw_trace_req *in)
{
	struct smtpd_trace	*t;
	struct smtpd_listener	*l;
	struct addrinfo		 hints, *ai = NULL;
	struct timeval		 tv;
	char			 err[BW_TRACE_TEXT_MAX];
	long long		 ms;
	uint32_t		 i;

	if (env->ntraces >= SMTPD_TRACE_MAX) {
		smtpd_trace_error(env, reqid, "smtpd is busy: %d traces in "
		    "flight", SMTPD_TRACE_MAX);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		smtpd_trace_error(env, reqid, "smtpd: out of memory");
		return;
	}
	t->env = env;
	t->reqid = reqid;
	BW_IMSG_STR(t->req.addr, in->addr);
	BW_IMSG_STR(t->req.listener, in->listener);
	BW_IMSG_STR(t->req.helo, in->helo);
	BW_IMSG_STR(t->req.from, in->from);
	t->req.nrcpt = in->nrcpt;
	if (t->req.nrcpt > BW_TRACE_RCPT_MAX) {
		smtpd_trace_error(env, reqid, "more than %d recipients",
		    BW_TRACE_RCPT_MAX);
		free(t);
		return;
	}
	for (i = 0; i < t->req.nrcpt; i++)
		BW_IMSG_STR(t->req.rcpt[i], in->rcpt[i]);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(t->req.addr, NULL, &hints, &ai) != 0 || ai == NULL) {
		smtpd_trace_error(env, reqid, "not a numeric address");
		free(t);
		return;
	}
	if ((l = smtpd_trace_listener(env, t->req.listener, err,
	    sizeof(err))) == NULL) {
		smtpd_trace_error(env, reqid, "%s", err);
		freeaddrinfo(ai);
		free(t);
		return;
	}
	if ((t->ev = evtimer_new(env->d.base, smtpd_trace_ev_cb, t)) == NULL ||
	    (t->s = smtpd_session_probe_new(l, ai->ai_addr,
	    ai->ai_addrlen)) == NULL) {
		freeaddrinfo(ai);
		if (t->ev != NULL)
			event_free(t->ev);
		free(t);
		smtpd_trace_error(env, reqid, "smtpd: out of memory");
		return;
	}
	freeaddrinfo(ai);
	t->s->trace = t;
	TAILQ_INSERT_TAIL(&env->traces, t, entry);
	env->ntraces++;
	/* the lookups end by their own deadlines; this one is a backstop */
	ms = SMTPD_LIM(t->s, LIM_SMTPD_DNS_TIMEOUT);
	if (ms < SMTPD_LIM(t->s, LIM_SMTPD_REPUTATION_TIMEOUT))
		ms = SMTPD_LIM(t->s, LIM_SMTPD_REPUTATION_TIMEOUT);
	ms += SMTPD_TRACE_MARGIN_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->ev, &tv);
	/* may settle at once and run smtpd_trace_done() */
	smtpd_admit_lookups_start(t->s);
}

/* A controld request (status_link.c hands over what it does not know). */
int
smtpd_trace_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct smtpd_env	*env = arg;
	struct bw_trace_req	*req;

	if (imsg->hdr.type != BW_IMSG_TRACE_REQ)
		return 0;
	/* the catalog checked the size; copied out for alignment */
	if ((req = malloc(sizeof(*req))) == NULL) {
		smtpd_trace_error(env, imsg->hdr.peerid, "smtpd: out of "
		    "memory");
		return 1;
	}
	memcpy(req, imsg->data, sizeof(*req));
	smtpd_trace_start(env, imsg->hdr.peerid, req);
	free(req);
	return 1;
}

/* "<path> params" as a client writes it: ADDR alone gets its brackets. */
static void
smtpd_trace_line(char *dst, size_t dstsz, const char *verb, const char *arg)
{
	size_t	 n;

	if (arg[0] == '<') {
		snprintf(dst, dstsz, "%s%s", verb, arg);
		return;
	}
	n = strcspn(arg, " ");
	snprintf(dst, dstsz, "%s<%.*s>%s", verb, (int)n, arg, arg + n);
}

/*
 * One command through the session's parser and the policy's refusal:
 * NULL and c filled when the command's own checks come next, else the
 * reply (and why says whose).
 */
static const char *
smtpd_trace_command(struct smtpd_session *s, char *line,
    struct smtp_command *c, char *why, size_t whysz)
{
	const char	*reply;
	int		 r;

	if ((r = smtp_parse_command(line, strlen(line), c)) != SMTP_PARSE_OK) {
		snprintf(why, whysz, "the command does not parse");
		return smtp_parse_reply(r);
	}
	if ((reply = smtpd_session_refused(s, c->cmd)) != NULL) {
		snprintf(why, whysz, "policy %s refuses the host: 554 to "
		    "every command but QUIT", smtpd_hat_policy_name(s->hat));
		return reply;
	}
	return NULL;
}

/*
 * A per-host rate of the policy (smtpd_rate.c) is counted at the counter
 * owner when the command comes; a trace takes nothing there, so the row
 * names the limit instead of a count.
 */
static void
smtpd_trace_rate(char *why, size_t whysz, const char *code,
    long long limit, const char *name, long long window_ms)
{
	size_t	 n = strlen(why);

	if (limit <= 0 || n >= whysz)
		return;
	snprintf(why + n, whysz - n, "; %s instead once the host is over "
	    "%s %lld in its window of %lld ms (counted at queued)", code,
	    name, limit, window_ms);
}

/* Why queue pressure sheds the host (smtpd_admit_shed_level() said so). */
static void
smtpd_trace_shed_why(const struct smtpd_session *s, char *why, size_t whysz)
{
	char	 score[16];

	snprintf(why, whysz, "queue pressure %s (%s): policy %s may be "
	    "shed%s%s",
	    bw_pressure_level_name(smtpd_pressure_level(s->env)),
	    s->env->pressure_reason, smtpd_hat_policy_name(s->hat),
	    smtpd_pressure_level(s->env) < BW_PRESSURE_HARD ?
	    " and the score is negative: " : "",
	    smtpd_pressure_level(s->env) < BW_PRESSURE_HARD ?
	    smtpd_reputation_text(s, score, sizeof(score)) : "");
}

static void
smtpd_trace_ehlo(struct smtpd_trace *t, struct bw_trace_step *st)
{
	struct smtpd_session	*s = t->s;
	struct smtp_command	 c;
	const char		*ext[SMTPD_EHLO_EXT_MAX], *reply;
	char			 line[SMTPD_TRACE_LINE_MAX], size[64];
	size_t			 n, i;

	st->kind = BW_TRACE_EHLO;
	st->delay_ms = (uint64_t)smtpd_admit_command_delay(s);
	if (t->req.helo[0] != '\0')
		snprintf(line, sizeof(line), "EHLO %s", t->req.helo);
	else
		snprintf(line, sizeof(line), "EHLO [%s%s]",
		    strchr(s->addr, ':') != NULL ? "IPv6:" : "", s->addr);
	strlcpy(st->command, line, sizeof(st->command));
	if ((reply = smtpd_trace_command(s, line, &c, st->why,
	    sizeof(st->why))) != NULL) {
		strlcpy(st->reply, reply, sizeof(st->reply));
		return;
	}
	n = smtpd_session_ehlo_ext(s, ext, SMTPD_EHLO_EXT_MAX, size,
	    sizeof(size));
	snprintf(st->reply, sizeof(st->reply), "250 %s",
	    s->env->d.cfg->hostname);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(st->ext, ", ", sizeof(st->ext));
		strlcat(st->ext, ext[i], sizeof(st->ext));
	}
	snprintf(st->why, sizeof(st->why), "SIZE of %s %s; STARTTLS %s",
	    s->hat->policy != NULL ? "policy" : "listener",
	    s->hat->policy != NULL ? s->hat->policy->name : s->lconf->name,
	    !s->tls_offer ? "not offered" : s->tls_need ?
	    "offered and required before MAIL" : "offered");
	s->helo_seen = 1;
	s->esmtp = 1;
}

static void
smtpd_trace_mail(struct smtpd_trace *t, struct bw_trace_step *st,
    int *mail_ok)
{
	struct smtpd_session	*s = t->s;
	struct smtp_command	 c;
	struct smtp_path	 path;
	struct smtpd_check	 chk;
	const char		*reply;
	char			 line[SMTPD_TRACE_LINE_MAX];

	st->kind = BW_TRACE_MAIL;
	st->delay_ms = (uint64_t)smtpd_admit_command_delay(s);
	if (t->req.from[0] == '\0')
		snprintf(line, sizeof(line), "MAIL FROM:<>");
	else
		smtpd_trace_line(line, sizeof(line), "MAIL FROM:", t->req.from);
	strlcpy(st->command, line, sizeof(st->command));
	if ((reply = smtpd_trace_command(s, line, &c, st->why,
	    sizeof(st->why))) != NULL) {
		strlcpy(st->reply, reply, sizeof(st->reply));
		return;
	}
	smtpd_session_mail_check(s, c.arg, &path, &chk);
	switch (chk.v) {
	case SMTPD_V_OK:
		*mail_ok = 1;
		strlcpy(st->reply, smtpd_submit_reply(BW_SUBMIT_OK),
		    sizeof(st->reply));
		snprintf(st->why, sizeof(st->why), "queued opens the message "
		    "(452 instead when the queue is short of space)");
		smtpd_trace_rate(st->why, sizeof(st->why), "421",
		    SMTPD_LIM(s, LIM_SMTPD_MAX_MESSAGES_PER_MINUTE),
		    "smtpd_max_messages_per_minute",
		    SMTPD_LIM(s, LIM_SMTPD_MESSAGES_WINDOW));
		return;
	case SMTPD_V_SHED:
		/* pressure came after the connection was admitted */
		smtpd_trace_shed_why(s, st->why, sizeof(st->why));
		st->closed = 1;
		break;
	case SMTPD_V_TLS_FIRST:
		snprintf(st->why, sizeof(st->why), "TLS required (policy "
		    "%s): MAIL only after STARTTLS",
		    smtpd_hat_policy_name(s->hat));
		break;
	case SMTPD_V_TOO_MANY_MESSAGES:
		snprintf(st->why, sizeof(st->why), "over "
		    "smtpd_max_messages_per_connection %lld, the connection "
		    "closes", SMTPD_LIM(s,
		    LIM_SMTPD_MAX_MESSAGES_PER_CONNECTION));
		st->closed = 1;
		break;
	case SMTPD_V_TOO_BIG:
		snprintf(st->why, sizeof(st->why), "SIZE=%llu over "
		    "message_size_limit %lld",
		    (unsigned long long)s->params.size,
		    SMTPD_LIM(s, LIM_MESSAGE_SIZE_LIMIT));
		break;
	default:
		snprintf(st->why, sizeof(st->why), "the sender does not "
		    "parse");
		break;
	}
	strlcpy(st->reply, chk.reply, sizeof(st->reply));
}

static void
smtpd_trace_rcpt(struct smtpd_trace *t, struct bw_trace_step *st,
    const char *rcpt, int mail_ok)
{
	struct smtpd_session	*s = t->s;
	struct smtp_command	 c;
	struct smtp_path	 path;
	struct smtp_rcpt_params	 rp;
	struct smtpd_check	 chk;
	const char		*reply, *pre = mail_ok ? "" :
				    "once a MAIL is accepted: ";
	char			 line[SMTPD_TRACE_LINE_MAX];

	st->kind = BW_TRACE_RCPT;
	st->delay_ms = (uint64_t)smtpd_admit_command_delay(s);
	smtpd_trace_line(line, sizeof(line), "RCPT TO:", rcpt);
	strlcpy(st->command, line, sizeof(st->command));
	if ((reply = smtpd_trace_command(s, line, &c, st->why,
	    sizeof(st->why))) != NULL) {
		strlcpy(st->reply, reply, sizeof(st->reply));
		return;
	}
	smtpd_session_rcpt_check(s, c.arg, &path, &rp, &chk);
	switch (chk.v) {
	case SMTPD_V_OK:
		strlcpy(st->reply, SMTPD_REPLY_RCPT_OK, sizeof(st->reply));
		s->nrcpt++;	/* the next one counts this one */
		break;
	case SMTPD_V_TOO_MANY_RCPTS:
		snprintf(st->why, sizeof(st->why), "%sover "
		    "smtpd_max_recipients %lld", pre,
		    SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS));
		break;
	case SMTPD_V_RELAY:
		snprintf(st->why, sizeof(st->why), "%snot a domain or address "
		    "listener %s accepts (RAT), and %s%s does not relay", pre,
		    s->lconf->name, s->hat->policy != NULL ? "policy " :
		    "the listener", s->hat->policy != NULL ?
		    s->hat->policy->name : "");
		break;
	case SMTPD_V_SOURCE_ROUTE:
		snprintf(st->why, sizeof(st->why), "%sa source route, refused "
		    "on a public listener", pre);
		break;
	case SMTPD_V_ROUTING:
		snprintf(st->why, sizeof(st->why), "%ssender-specified routing "
		    "('%%', '!' or a quoted '@'), refused on a public listener",
		    pre);
		break;
	default:
		snprintf(st->why, sizeof(st->why), "%sthe recipient does not "
		    "parse", pre);
		break;
	}
	if (chk.v != SMTPD_V_OK) {
		strlcpy(st->reply, chk.reply, sizeof(st->reply));
		return;
	}
	switch (chk.ok) {
	case SMTPD_RCPT_POSTMASTER:
		snprintf(st->why, sizeof(st->why), "%spostmaster is always "
		    "accepted (RFC 5321 4.5.1)", pre);
		break;
	case SMTPD_RCPT_RELAY_POLICY:
		snprintf(st->why, sizeof(st->why), "%spolicy %s relays to any "
		    "domain", pre, smtpd_hat_policy_name(s->hat));
		break;
	case SMTPD_RCPT_RELAY_NETWORKS:
		snprintf(st->why, sizeof(st->why), "%sthe host is in "
		    "relay_networks of private listener %s", pre,
		    s->lconf->name);
		break;
	default:
		snprintf(st->why, sizeof(st->why), "%slistener %s accepts it "
		    "(accept_domains, accept_recipients)", pre,
		    s->lconf->name);
		break;
	}
	smtpd_trace_rate(st->why, sizeof(st->why), "452",
	    SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS_PER_HOUR),
	    "smtpd_max_recipients_per_hour",
	    SMTPD_LIM(s, LIM_SMTPD_RECIPIENTS_WINDOW));
}

/* The connection: closed, or the banner after its delay. */
static int
smtpd_trace_connect(struct smtpd_trace *t, struct bw_trace_step *st)
{
	struct smtpd_session	*s = t->s;
	char			 score[16];
	size_t			 n;

	st->kind = BW_TRACE_CONNECT;
	if (smtpd_admit_tcprefuse(s)) {
		st->closed = 1;
		snprintf(st->why, sizeof(st->why), "policy %s: tcprefuse, "
		    "closed before the banner", smtpd_hat_policy_name(s->hat));
		return 0;
	}
	if (smtpd_admit_shed_level(s) != BW_PRESSURE_NONE) {
		st->closed = 1;
		smtpd_admit_shed_reply(s, st->reply, sizeof(st->reply));
		smtpd_trace_shed_why(s, st->why, sizeof(st->why));
		return 0;
	}
	st->delay_ms = (uint64_t)smtpd_admit_greeting_delay(s);
	smtpd_admit_banner_text(s, st->reply, sizeof(st->reply));
	n = 0;
	if (s->hat_reject)
		n = (size_t)snprintf(st->why, sizeof(st->why), "policy %s: "
		    "reject; ", smtpd_hat_policy_name(s->hat));
	if (n < sizeof(st->why) && st->delay_ms > 0)
		n += (size_t)snprintf(st->why + n, sizeof(st->why) - n,
		    "after the greeting delay, %llu ms (%lld ms of it the "
		    "tarpit at score %s); ", (unsigned long long)st->delay_ms,
		    smtpd_admit_greeting_tarpit(s),
		    smtpd_reputation_text(s, score, sizeof(score)));
	if (n < sizeof(st->why) && s->lconf->tls == BW_TLS_IMPLICIT)
		n += (size_t)snprintf(st->why + n, sizeof(st->why) - n,
		    "after the TLS handshake; ");
	if (n < sizeof(st->why))
		snprintf(st->why + n, sizeof(st->why) - n, "421 instead "
		    "while the host has %lld connections open "
		    "(smtpd_max_connections_per_ip)",
		    SMTPD_LIM(s, LIM_SMTPD_MAX_CONNECTIONS_PER_IP));
	return 1;
}

/* The answer's first part: what the admission learned and decided. */
static void
smtpd_trace_host(struct smtpd_session *s, struct bw_trace_reply *r)
{
	const struct bw_policy_conf	*po = s->hat->policy;

	r->ok = 1;
	strlcpy(r->addr, s->addr, sizeof(r->addr));
	strlcpy(r->listener, s->lconf->name, sizeof(r->listener));
	strlcpy(r->rdns, smtpd_rdns_state_name(s->rdns.state),
	    sizeof(r->rdns));
	strlcpy(r->name, s->name, sizeof(r->name));
	if (s->rdns.state == SMTPD_RDNS_UNCONFIRMED)
		strlcpy(r->ptr, s->rdns.names[0], sizeof(r->ptr));
	smtpd_reputation_text(s, r->score, sizeof(r->score));
	r->score_known = s->score.known ? 1 : 0;
	r->score_tenths = s->score.known ? s->score.tenths : 0;
	strlcpy(r->group, smtpd_hat_group_name(s->hat), sizeof(r->group));
	strlcpy(r->policy, smtpd_hat_policy_name(s->hat), sizeof(r->policy));
	strlcpy(r->behaviour, config_policy_action_name(po != NULL ?
	    po->action : BW_POLICY_ACCEPT), sizeof(r->behaviour));
	strlcpy(r->tls, s->lconf->tls == BW_TLS_IMPLICIT ? "implicit" :
	    s->tls_need ? "required" : s->tls_offer ? "offered" : "off",
	    sizeof(r->tls));
	strlcpy(r->pressure, bw_pressure_level_name(
	    smtpd_pressure_level(s->env)), sizeof(r->pressure));
	if (smtpd_pressure_level(s->env) != BW_PRESSURE_NONE)
		strlcpy(r->pressure_reason, s->env->pressure_reason,
		    sizeof(r->pressure_reason));
	r->scan = s->scan_flags;
	r->message_size_limit = (uint64_t)SMTPD_LIM(s, LIM_MESSAGE_SIZE_LIMIT);
	r->max_recipients = (uint64_t)SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS);
	r->max_messages = (uint64_t)SMTPD_LIM(s,
	    LIM_SMTPD_MAX_MESSAGES_PER_CONNECTION);
	r->max_connections = (uint64_t)SMTPD_LIM(s,
	    LIM_SMTPD_MAX_CONNECTIONS_PER_IP);
	r->greeting_delay_ms = (uint64_t)smtpd_admit_greeting_delay(s);
	r->greeting_tarpit_ms = (uint64_t)smtpd_admit_greeting_tarpit(s);
	r->command_delay_ms = (uint64_t)smtpd_admit_command_delay(s);
	r->command_tarpit_ms = (uint64_t)smtpd_admit_command_tarpit(s);
}

/*
 * The probe's lookups have settled and the host access table decided
 * (smtpd_session_lookups_done()): build the answer, send it, and free
 * the probe from the event loop (we may be inside a DNS callback).
 */
void
smtpd_trace_done(struct smtpd_session *s)
{
	struct smtpd_trace	*t = s->trace;
	struct bw_trace_reply	*r;
	struct timeval		 now = { 0, 0 };
	uint32_t		 i;
	int			 mail_ok = 0;

	/* sanity checks */
	if (t == NULL || !s->probe)
		fatalx("smtpd_trace_done: not a probe");

	if ((r = calloc(1, sizeof(*r))) == NULL)
		log_warn("trace session=%llu: cannot answer",
		    (unsigned long long)s->id);
	else {
		smtpd_trace_host(s, r);
		if (smtpd_trace_connect(t, &r->steps[r->nsteps++])) {
			smtpd_trace_ehlo(t, &r->steps[r->nsteps++]);
			smtpd_trace_mail(t, &r->steps[r->nsteps++], &mail_ok);
			for (i = 0; i < t->req.nrcpt &&
			    r->nsteps < BW_TRACE_STEPS_MAX; i++)
				smtpd_trace_rcpt(t, &r->steps[r->nsteps++],
				    t->req.rcpt[i], mail_ok);
		}
		log_info("trace session=%llu addr=%s listener=%s rdns=%s "
		    "name=%s score=%s group=%s policy=%s",
		    (unsigned long long)s->id, s->addr, s->lconf->name,
		    r->rdns, s->name, r->score, r->group, r->policy);
		smtpd_trace_send(s->env, t->reqid, r);
		free(r);
	}
	t->answered = 1;
	s->free_scheduled = 1;	/* nothing else runs on it */
	evtimer_add(t->ev, &now);
}

/* At shutdown, before the DNS client goes: every probe. */
void
smtpd_trace_free_all(struct smtpd_env *env)
{
	struct smtpd_trace	*t;

	while ((t = TAILQ_FIRST(&env->traces)) != NULL)
		smtpd_trace_free(t);
}
