/*
 * One SMTP session: the state machine from banner to QUIT, command
 * dispatch, replies, timeouts (RFC 5321 4.5.3.2), SMTP synchronization
 * (pregreet, RFC 2920 pipelining) and policy (relay, RAT, sender-specified
 * routing, recipient and message limits).  DATA and BDAT bytes are handled
 * in smtpd_data.c, TLS set-up in smtpd_tls.c, the queued side in
 * smtpd_queue.c.
 *
 * Trust: every byte comes from an untrusted client.  Command lines are
 * bounded by smtpd_max_command_line and must be complete within their
 * timeout, unread input by smtpd_max_input_buffer (the read
 * high-watermark), unsent replies by SMTPD_OUTPUT_MAX (we stop reading
 * commands until the client reads), errors by smtpd_max_errors, junk
 * commands by smtpd_junk_command_limit.  Peer text is escaped with
 * log_escape() before it is logged.
 *
 * Sessions are never freed under a caller: smtpd_session_close() marks the
 * session closing and the free runs from a zero-delay event.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "log.h"
#include "util.h"
#include "nettab.h"
#include "smtpd.h"

static void	 smtpd_session_read_cb(struct bufferevent *, void *);
static void	 smtpd_session_write_cb(struct bufferevent *, void *);
static void	 smtpd_session_event_cb(struct bufferevent *, short, void *);
static void	 smtpd_session_timer_cb(evutil_socket_t, short, void *);
static void	 smtpd_session_flush_cb(evutil_socket_t, short, void *);
static void	 smtpd_session_starttls_go(struct smtpd_session *);

/*
 * Callbacks, input bound and events of the session's (new) bufferevent.
 *
 * In plaintext the replies are written by smtpd_session_flush_cb(), once
 * per event-loop turn, straight to the socket; EV_WRITE is enabled only
 * while a write left something behind (a client that does not read), and
 * libevent then finishes it with the write timeout.  With EV_WRITE always
 * on, every reply armed and disarmed the write event: two epoll_ctl and
 * one more loop turn per reply, about 12 system calls per message.  TLS
 * sessions leave writing to bufferevent_openssl.
 */
void
smtpd_session_setup_bev(struct smtpd_session *s)
{
	bufferevent_setcb(s->bev, smtpd_session_read_cb, smtpd_session_write_cb,
	    smtpd_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    (size_t)SMTPD_LIM(s, LIM_SMTPD_MAX_INPUT_BUFFER));
	if (s->fd_owned) {
		/* a new bufferevent starts with EV_WRITE enabled */
		bufferevent_disable(s->bev, EV_WRITE);
		bufferevent_enable(s->bev, EV_READ);
	} else
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* Plaintext: have the replies queued so far written this loop turn. */
static void
smtpd_session_flush_later(struct smtpd_session *s)
{
	if (!s->fd_owned || s->flush_pending || s->free_scheduled)
		return;
	s->flush_pending = 1;
	event_active(s->ev_flush, EV_TIMEOUT, 0);
}

static const char *const smtpd_phase_names[] = {
	"delay", "tls-implicit", "command", "wait-open", "data",
	"wait-commit", "starttls", "closing", "bdat", "tarpit",
	"wait-host", "proxy",
};

static const char *
smtpd_phase_name(enum smtpd_phase ph)
{
	if ((size_t)ph >= sizeof(smtpd_phase_names) /
	    sizeof(smtpd_phase_names[0]))
		return "?";
	return smtpd_phase_names[ph];
}

static void
smtpd_ms_to_tv(long long ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

/* The session's one timer: greeting delay, queued waits, data deadline. */
void
smtpd_session_timer_arm(struct smtpd_session *s, long long ms)
{
	struct timeval	 tv;

	smtpd_ms_to_tv(ms, &tv);
	evtimer_add(s->ev_timer, &tv);
}

/* Re-run processing from a deferred callback, never from under a caller. */
void
smtpd_session_resume(struct smtpd_session *s)
{
	if (s->phase == SMTPD_PH_CLOSING || s->free_scheduled)
		return;
	bufferevent_trigger(s->bev, EV_READ,
	    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * The deadline of the command line the session waits for: it runs from
 * the previous command (its reply goes out in the same loop turn) or the
 * banner, to the CRLF, however the bytes trickle in.  A read timeout
 * alone restarts with every byte: one byte a minute held a session for
 * ever.  Re-armed as each line is taken; other phases replace it.
 */
static void
smtpd_session_cmd_deadline(struct smtpd_session *s)
{
	long long	 ms = s->helo_seen ?
			    SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_COMMAND) :
			    SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_GREETING);

	/* between BDAT chunks the whole-data deadline may come first; the
	 * timer says which one it was (it may fire a millisecond before
	 * bw_now_ms() reaches the deadline) */
	s->timer_bdat = s->bdat && smtpd_bdat_left_ms(s) < ms;
	if (s->timer_bdat)
		ms = smtpd_bdat_left_ms(s);
	smtpd_session_timer_arm(s, ms);
}

/*
 * Read and write timeouts of the current phase (RFC 5321 4.5.3.2).  A
 * command line and a TLS handshake have a deadline on ev_timer instead of
 * a read timeout; DATA has both, per read and in total.
 */
void
smtpd_session_set_timeouts(struct smtpd_session *s)
{
	struct timeval	 rtv, wtv, *r = &rtv;
	long long	 rms = 0;

	smtpd_ms_to_tv(SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_COMMAND), &wtv);
	switch (s->phase) {
	case SMTPD_PH_TLS:
	case SMTPD_PH_TLS_IMPLICIT:
		smtpd_ms_to_tv(SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_TLS_HANDSHAKE),
		    &wtv);
		r = NULL;
		smtpd_session_timer_arm(s, SMTPD_LIM(s,
		    LIM_SMTPD_TIMEOUT_TLS_HANDSHAKE));
		break;
	case SMTPD_PH_CMD:
		r = NULL;
		smtpd_session_cmd_deadline(s);
		break;
	case SMTPD_PH_DATA:
	case SMTPD_PH_BDAT:
		rms = SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_DATA_BLOCK);
		break;
	case SMTPD_PH_CLOSING:
		r = NULL;
		wtv.tv_sec = SMTPD_CLOSE_TIMEOUT_S;
		wtv.tv_usec = 0;
		break;
	default:
		/* the greeting delay and queued waits have their own timer */
		r = NULL;
		break;
	}
	if (r != NULL)
		smtpd_ms_to_tv(rms, r);
	bufferevent_set_timeouts(s->bev, r, &wtv);
}

void
smtpd_session_reply(struct smtpd_session *s, const char *fmt, ...)
{
	char	 buf[SMTPD_REPLY_MAX];
	va_list	 ap;
	int	 n;

	if (s->probe)		/* no client: nothing is ever written */
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	log_debug("session=%llu >>> %.*s", (unsigned long long)s->id, n, buf);
	buf[n++] = '\r';
	buf[n++] = '\n';
	bufferevent_write(s->bev, buf, (size_t)n);
	smtpd_session_flush_later(s);
}

static void
smtpd_session_free_cb(evutil_socket_t fd, short ev, void *arg)
{
	smtpd_session_free(arg);
}

static void
smtpd_session_schedule_free(struct smtpd_session *s)
{
	struct timeval	 tv = { 0, 0 };

	if (s->free_scheduled)
		return;
	s->free_scheduled = 1;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	if (event_base_once(s->env->d.base, -1, EV_TIMEOUT,
	    smtpd_session_free_cb, s, &tv) == -1) {
		log_warnx("session=%llu: cannot schedule free; leaking it",
		    (unsigned long long)s->id);
	}
}

char	 smtpd_str_empty[] = "";
char	 smtpd_str_unknown[] = "unknown";

/* Free *p unless it is one of the constants; *p = NULL. */
static void
smtpd_session_str_clear(char **p)
{
	if (*p != NULL && *p != smtpd_str_empty && *p != smtpd_str_unknown)
		free(*p);
	*p = NULL;
}

int
smtpd_session_str(struct smtpd_session *s, char **dst, const char *src,
    size_t len, char *fallback)
{
	char	*copy;

	smtpd_session_str_clear(dst);
	if ((copy = malloc(len + 1)) == NULL) {
		log_warn("session=%llu: a text of %zu bytes",
		    (unsigned long long)s->id, len);
		*dst = fallback;
		return -1;
	}
	memcpy(copy, src, len);
	copy[len] = '\0';
	*dst = copy;
	return 0;
}

void
smtpd_session_free(struct smtpd_session *s)
{
	struct smtpd_env	*env = s->env;

	smtpd_proxy_session_free(s);
	smtpd_rdns_free(s);
	smtpd_session_str_clear(&s->helo);
	smtpd_session_str_clear(&s->name);
	smtpd_rate_free(s);
	smtpd_reputation_free(s);
	smtpd_queue_abort(s);
	smtpd_hostcount_release(s);	/* a probe took nothing */
	if (!s->probe) {	/* a probe is in none of these */
		if (s->paused && env->npaused > 0)
			env->npaused--;
		TAILQ_REMOVE(&env->sessions, s, entry);
		env->nsessions--;
	}
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->fd_owned && s->fd != -1)
		close(s->fd);
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->ev_flush != NULL)
		event_free(s->ev_flush);
	if (s->chunk != NULL)
		evbuffer_free(s->chunk);
	config_unref(s->cfg);
	smtpd_listener_session_gone(s->l);
	free(s);
}

/* At shutdown: free every session not already on its way out. */
void
smtpd_sessions_free_all(struct smtpd_env *env)
{
	struct smtpd_session	*s, *next;

	for (s = TAILQ_FIRST(&env->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!s->free_scheduled)
			smtpd_session_free(s);
	}
}

/* End the session after flushing what is queued for the client. */
void
smtpd_session_close(struct smtpd_session *s, const char *why)
{
	if (s->phase == SMTPD_PH_CLOSING || s->free_scheduled)
		return;
	smtpd_rdns_cancel(s);
	smtpd_reputation_cancel(s);
	smtpd_admit_log_connect(s);
	log_info("session=%llu addr=%s disconnect reason=%s messages=%u",
	    (unsigned long long)s->id, s->addr, why, s->nmessages);
	smtpd_queue_abort(s);
	evtimer_del(s->ev_timer);
	s->phase = SMTPD_PH_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	smtpd_session_set_timeouts(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		smtpd_session_schedule_free(s);
	else if (!s->flush_pending)	/* else the flush ends the session */
		bufferevent_enable(s->bev, EV_WRITE);
}

void
smtpd_session_fail(struct smtpd_session *s, const char *reply,
    const char *why)
{
	smtpd_session_reply(s, "%s", reply);
	smtpd_session_close(s, why);
}

/* Count a client error; end the session after too many of them. */
static void
smtpd_session_error_count(struct smtpd_session *s)
{
	char	 buf[SMTPD_REPLY_MAX];

	if (++s->nerrors >= (unsigned long long)
	    SMTPD_LIM(s, LIM_SMTPD_MAX_ERRORS)) {
		s->env->c.limit_closes++;
		snprintf(buf, sizeof(buf), "421 4.7.0 %s Too many errors",
		    s->env->d.cfg->hostname);
		smtpd_session_fail(s, buf, "too many errors");
	}
}

/* A client error: reply, and end the session after too many of them. */
void
smtpd_session_error(struct smtpd_session *s, const char *reply)
{
	s->env->c.protocol_errors++;
	smtpd_session_reply(s, "%s", reply);
	smtpd_session_error_count(s);
}

/*
 * NOOP, RSET, VRFY, HELP: answered as usual, but past
 * smtpd_junk_command_limit since the last accepted message each one
 * also counts as an error, so that a session kept open with them alone
 * ends (Postfix's smtpd_junk_command_limit).
 */
static void
smtpd_session_junk(struct smtpd_session *s)
{
	if (++s->njunk > (unsigned long long)
	    SMTPD_LIM(s, LIM_SMTPD_JUNK_COMMAND_LIMIT))
		smtpd_session_error_count(s);
}

/*
 * SMTP synchronization: a client that does not wait for our replies
 * where it must (RFC 5321 4.3.1 before the banner, RFC 2920 3.1 behind
 * EHLO, HELO, DATA, and behind anything without PIPELINING) is a spam
 * engine or a broken client, and what it sent ahead cannot be told
 * apart: commands or message text.  Refuse, log one line, count it, drop
 * the unread input and end the session (an open message is aborted), as
 * Postfix's postscreen does for pregreet and pipelining.
 */
void
smtpd_session_sync_violation(struct smtpd_session *s, enum smtpd_sync v,
    int cmd)
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	size_t		 pending = evbuffer_get_length(in);
	char		 buf[SMTPD_REPLY_MAX];
	const char	*why;

	/* a PROXY header from a client that is not a balancer says more */
	if (v == SMTPD_SYNC_PREGREET && s->proxy_watch &&
	    smtpd_proxy_session_spoofed(s))
		return;
	switch (v) {
	case SMTPD_SYNC_PREGREET:
		s->env->c.pregreet_rejects++;
		why = "pregreet";
		snprintf(buf, sizeof(buf), "554 5.5.1 %s Protocol error: "
		    "talked before greeting", s->env->d.cfg->hostname);
		break;
	case SMTPD_SYNC_EARLY_DATA:
		s->env->c.early_data_rejects++;
		why = "early-data";
		strlcpy(buf, "503 5.5.0 Improper use of SMTP command "
		    "pipelining: message text sent before the 354 reply",
		    sizeof(buf));
		break;
	case SMTPD_SYNC_PIPELINING:
	default:
		s->env->c.pipelining_rejects++;
		why = "pipelining";
		strlcpy(buf, "503 5.5.0 Improper use of SMTP command "
		    "pipelining", sizeof(buf));
		break;
	}
	s->env->c.protocol_errors++;
	s->env->c.limit_closes++;
	log_info("%s%ssession=%llu addr=%s sync violation=%s after=%s "
	    "pending=%zu greeting=%s", s->tx ? s->qid : "", s->tx ? " " : "",
	    (unsigned long long)s->id, s->addr, why,
	    v == SMTPD_SYNC_PREGREET ? "connect" : smtp_cmd_name(cmd),
	    pending, !s->helo_seen ? "none" : s->esmtp ? "ehlo" : "helo");
	evbuffer_drain(in, pending);
	smtpd_session_fail(s, buf, why);
}

/* Forget the transaction (RSET, HELO, STARTTLS, after a message). */
void
smtpd_session_tx_reset(struct smtpd_session *s)
{
	smtpd_queue_abort(s);
	s->tx = 0;
	s->tx_dead = 0;
	s->qid[0] = '\0';
	s->sender[0] = '\0';
	s->rcpt1[0] = '\0';
	s->nrcpt = 0;
	memset(&s->params, 0, sizeof(s->params));
	if (s->chunk != NULL)
		evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
	s->data_size = 0;
	s->data_reject = NULL;
	s->data_reject_why = NULL;
	s->bdat_chunks = 0;
	if (s->bdat) {
		s->bdat = 0;
		/* the timer may hold the whole-data deadline: now a command's */
		if (s->phase == SMTPD_PH_CMD)
			smtpd_session_cmd_deadline(s);
	}
}

/* 421 and close: a deadline passed (reason goes to the log). */
static void
smtpd_session_timeout(struct smtpd_session *s, const char *why)
{
	char	 buf[SMTPD_REPLY_MAX];

	s->env->c.timeouts++;
	s->env->c.limit_closes++;
	snprintf(buf, sizeof(buf), "421 4.4.2 %s Error: timeout exceeded",
	    s->env->d.cfg->hostname);
	smtpd_session_fail(s, buf, why);
}

/* The TLS handshake did not finish in time: nothing can be said in TLS. */
static void
smtpd_session_tls_timeout(struct smtpd_session *s)
{
	s->env->c.timeouts++;
	s->env->c.limit_closes++;
	smtpd_session_close(s, "TLS handshake timeout");
	smtpd_session_schedule_free(s);
}

/*
 * At the end of the greeting delay: did the client say anything?  Bytes
 * that arrived in this loop turn may not have been read yet, so a
 * plaintext socket is peeked as well (one system call per delayed
 * session; TLS records are left to the TLS layer).
 */
int
smtpd_session_talked_early(struct smtpd_session *s)
{
	char	 c;

	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		return 1;
	return s->fd_owned && s->fd != -1 &&
	    recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/*
 * What a session and a bwctl trace probe share: the host's address, its
 * listener and the configuration it starts under.  NULL without memory.
 */
static struct smtpd_session *
smtpd_session_alloc(struct smtpd_listener *l, const struct sockaddr *sa,
    socklen_t salen)
{
	struct smtpd_env	*env = l->env;
	struct smtpd_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = -1;
	s->env = env;
	s->l = l;
	smtpd_hostcount_session_init(s);
	l->nsessions++;
	s->cfg = config_ref(env->d.cfg);
	/* l->conf is in env->d.cfg: a reload swaps both before new accepts */
	s->lconf = l->conf;
	s->lim = &l->conf->limits;
	s->id = env->next_sid;
	/* worker N numbers N+1, N+1+W, ...: unique across the W workers */
	env->next_sid += env->nworkers > 0 ? (uint64_t)env->nworkers : 1;
	if ((size_t)salen > sizeof(s->ss))
		salen = sizeof(s->ss);
	memcpy(&s->ss, sa, salen);
	if (getnameinfo(sa, salen, s->addr, sizeof(s->addr), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(s->addr, "?", sizeof(s->addr));
	s->name = smtpd_str_unknown;
	s->helo = smtpd_str_empty;
	return s;
}

/*
 * A session without a client, for bwctl trace (smtpd_trace.c): no socket,
 * no bufferevent, not among env->sessions, not counted anywhere.  It
 * goes through the admission's lookups and decision and the commands'
 * checks like a connection from its address, and is freed with
 * smtpd_session_free().
 */
struct smtpd_session *
smtpd_session_probe_new(struct smtpd_listener *l, const struct sockaddr *sa,
    socklen_t salen)
{
	struct smtpd_session	*s;

	if ((s = smtpd_session_alloc(l, sa, salen)) == NULL)
		return NULL;
	s->probe = 1;
	s->phase = SMTPD_PH_DELAY;
	s->connect_ms = bw_now_ms();
	return s;
}

void
smtpd_session_new(struct smtpd_listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct smtpd_env	*env = l->env;
	struct smtpd_session	*s;

	if ((s = smtpd_session_alloc(l, sa, salen)) == NULL)
		goto fail;
	s->fd = fd;
	if ((s->chunk = evbuffer_new()) == NULL ||
	    (s->ev_timer = evtimer_new(env->d.base, smtpd_session_timer_cb,
	    s)) == NULL || (s->ev_flush = event_new(env->d.base, -1, 0,
	    smtpd_session_flush_cb, s)) == NULL)
		goto fail;
	/* a balancer's PROXY header comes before the TLS handshake */
	if (l->conf->tls == BW_TLS_IMPLICIT &&
	    !smtpd_proxy_expected(l->conf, sa)) {
		s->phase = SMTPD_PH_TLS_IMPLICIT;
		s->bev = smtpd_tls_bev_implicit(s, fd);
	} else {
		/* no CLOSE_ON_FREE: STARTTLS reuses the socket */
		s->bev = bufferevent_socket_new(env->d.base, fd, 0);
		s->fd_owned = 1;
	}
	if (s->bev == NULL)
		goto fail;
	fd = -1;
	TAILQ_INSERT_TAIL(&env->sessions, s, entry);
	env->nsessions++;
	env->c.connections++;
	smtpd_session_setup_bev(s);
	if (!smtpd_proxy_session_start(s))	/* else after the header */
		smtpd_admit_start(s);
	return;
fail:
	log_warn("listener=%s: cannot set up a session", l->conf->name);
	if (fd != -1)
		close(fd);
	if (s != NULL) {
		if (s->ev_timer != NULL)
			event_free(s->ev_timer);
		if (s->ev_flush != NULL)
			event_free(s->ev_flush);
		if (s->chunk != NULL)
			evbuffer_free(s->chunk);
		config_unref(s->cfg);
		smtpd_listener_session_gone(s->l);
		free(s);
	}
}

/* ---- commands ---- */

/*
 * EHLO's keywords for this session: its policy's SIZE, STARTTLS when the
 * policy offers it and the session is not in TLS yet.  n of them in ext
 * (at most max); size holds the SIZE keyword.
 */
size_t
smtpd_session_ehlo_ext(const struct smtpd_session *s, const char **ext,
    size_t max, char *size, size_t sizesz)
{
	size_t	 n = 0;

	/* sanity checks */
	if (max < SMTPD_EHLO_EXT_MAX)
		fatalx("smtpd_session_ehlo_ext: room for %zu keywords", max);

	snprintf(size, sizesz, "SIZE %lld",
	    SMTPD_LIM(s, LIM_MESSAGE_SIZE_LIMIT));
	ext[n++] = "PIPELINING";
	ext[n++] = size;
	ext[n++] = "8BITMIME";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "SMTPUTF8";
	ext[n++] = "CHUNKING";
	ext[n++] = "BINARYMIME";
	ext[n++] = "DSN";
	if (s->tls_offer && !s->tls)
		ext[n++] = "STARTTLS";
	return n;
}

static void
smtpd_cmd_helo(struct smtpd_session *s, const char *arg, int esmtp)
{
	struct smtpd_env	*env = s->env;
	const char		*ext[SMTPD_EHLO_EXT_MAX];
	size_t			 n, i, len;
	char			 size[64];

	len = strcspn(arg, " ");
	if (len > BW_DOMAIN_MAX) {
		smtpd_session_error(s, "501 5.5.4 HELO argument too long");
		return;
	}
	smtpd_session_tx_reset(s);
	if (smtpd_session_str(s, &s->helo, arg, len, smtpd_str_empty) == -1) {
		smtpd_session_reply(s, "451 4.3.0 Out of memory, try again "
		    "later");
		return;
	}
	s->helo_seen = 1;
	s->esmtp = esmtp;
	smtpd_session_set_timeouts(s);
	if (!esmtp) {
		smtpd_session_reply(s, "250 %s", env->d.cfg->hostname);
		return;
	}
	n = smtpd_session_ehlo_ext(s, ext, SMTPD_EHLO_EXT_MAX, size,
	    sizeof(size));
	smtpd_session_reply(s, "250-%s", env->d.cfg->hostname);
	for (i = 0; i < n; i++)
		smtpd_session_reply(s, "250%c%s", i + 1 == n ? ' ' : '-',
		    ext[i]);
}

/*
 * MAIL's checks after the transaction's state (HELO seen, none open), in
 * the session's order: the policy's TLS, queue pressure, messages per
 * connection, the syntax (path and s->params filled), SIZE.  No side
 * effect on the session but s->params; bwctl trace asks the same on a
 * probe.
 */
void
smtpd_session_mail_check(struct smtpd_session *s, const char *arg,
    struct smtp_path *path, struct smtpd_check *c)
{
	int	 r;

	memset(c, 0, sizeof(*c));
	if (s->tls_need && !s->tls) {
		c->v = SMTPD_V_TLS_FIRST;
		c->reply = "530 5.7.0 Must issue a STARTTLS command first";
		return;
	}
	if (smtpd_admit_shed_level(s) != BW_PRESSURE_NONE) {
		c->v = SMTPD_V_SHED;
		c->reply = smtpd_admit_shed_reply(s, c->buf, sizeof(c->buf));
		return;
	}
	if (s->nmessages >= (unsigned long long)
	    SMTPD_LIM(s, LIM_SMTPD_MAX_MESSAGES_PER_CONNECTION)) {
		c->v = SMTPD_V_TOO_MANY_MESSAGES;
		snprintf(c->buf, sizeof(c->buf), "421 4.7.0 %s Too many "
		    "messages in this connection", s->env->d.cfg->hostname);
		c->reply = c->buf;
		return;
	}
	if ((r = smtp_parse_mail(arg, path, &s->params)) != SMTP_PARSE_OK) {
		c->v = SMTPD_V_SYNTAX;
		c->reply = smtp_parse_reply(r);
		return;
	}
	if (s->params.has_size && s->params.size > (unsigned long long)
	    SMTPD_LIM(s, LIM_MESSAGE_SIZE_LIMIT)) {
		c->v = SMTPD_V_TOO_BIG;
		c->reply = smtpd_submit_reply(BW_SUBMIT_TOOBIG);
		return;
	}
}

static void
smtpd_cmd_mail(struct smtpd_session *s, const char *arg)
{
	struct smtp_path	 path;
	struct smtpd_check	 c;

	if (!s->helo_seen) {
		smtpd_session_error(s, "503 5.5.1 Send HELO/EHLO first");
		return;
	}
	if (s->tx && !s->tx_dead) {
		smtpd_session_error(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	smtpd_session_tx_reset(s);
	smtpd_session_mail_check(s, arg, &path, &c);
	switch (c.v) {
	case SMTPD_V_OK:
		break;
	case SMTPD_V_SHED:
		(void)smtpd_admit_shed(s, "mail");	/* counts, logs, 421 */
		return;
	case SMTPD_V_TOO_MANY_MESSAGES:
		s->env->c.limit_closes++;
		smtpd_session_fail(s, c.reply, "messages per connection limit");
		return;
	case SMTPD_V_TOO_BIG:
		s->env->c.messages_rejected++;
		smtpd_session_reply(s, "%s", c.reply);
		memset(&s->params, 0, sizeof(s->params));
		return;
	default:		/* TLS first, syntax */
		smtpd_session_error(s, c.reply);
		return;
	}
	strlcpy(s->sender, path.addr, sizeof(s->sender));
	if (smtpd_rate_mail(s))
		return;		/* smtpd_session_mail_open() after the count */
	smtpd_session_mail_open(s);
}

/* MAIL passed its checks (and the host's message rate): open it. */
void
smtpd_session_mail_open(struct smtpd_session *s)
{
	if (!smtpd_queue_up(s->env) || smtpd_queue_open(s) == -1) {
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		smtpd_session_tx_reset(s);
		return;
	}
	s->phase = SMTPD_PH_WAIT_OPEN;
	smtpd_session_set_timeouts(s);
	smtpd_session_timer_arm(s, SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_QUEUE_REPLY));
}

void
smtpd_session_open_reply(struct smtpd_session *s, int status, const char *qid)
{
	char	 esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];

	if (s->phase != SMTPD_PH_WAIT_OPEN)
		return;
	evtimer_del(s->ev_timer);
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
	if (status != BW_SUBMIT_OK) {
		log_info("session=%llu addr=%s MAIL refused by queued "
		    "status=%s", (unsigned long long)s->id, s->addr,
		    bw_submit_status_name(status));
		if (status == BW_SUBMIT_BUSY) {
			smtpd_session_fail(s, smtpd_submit_reply(status),
			    "queue busy");
			return;
		}
		smtpd_session_reply(s, "%s", smtpd_submit_reply(status));
		smtpd_session_tx_reset(s);
		smtpd_session_resume(s);
		return;
	}
	strlcpy(s->qid, qid, sizeof(s->qid));
	s->tx = 1;
	s->nmessages++;
	log_info("%s session=%llu addr=%s helo=%s from=<%s> size=%llu "
	    "listener=%s%s", s->qid, (unsigned long long)s->id, s->addr,
	    log_escape(esc, sizeof(esc), s->helo, strlen(s->helo)),
	    s->sender, (unsigned long long)s->params.size, s->lconf->name,
	    s->tls ? " tls=yes" : "");
	smtpd_session_reply(s, "%s", smtpd_submit_reply(BW_SUBMIT_OK));
	smtpd_session_resume(s);
}

/*
 * A relay policy sends anywhere; else the RAT (accepted domains and
 * addresses), and relay_networks on private listeners.  Why the
 * recipient is taken, or SMTPD_RCPT_NONE.
 */
static enum smtpd_rcpt_ok
smtpd_session_relay_ok(const struct smtpd_session *s,
    const struct smtp_path *path)
{
	const struct bw_listener_conf	*lc = s->lconf;

	if (smtpd_admit_relay_policy(s))
		return SMTPD_RCPT_RELAY_POLICY;
	if (config_listener_accepts_rcpt(lc, path->addr, path->domain))
		return SMTPD_RCPT_RAT;
	if (!lc->public && lc->relay_tab != NULL &&
	    bw_nettab_match(lc->relay_tab, (const struct sockaddr *)&s->ss))
		return SMTPD_RCPT_RELAY_NETWORKS;
	return SMTPD_RCPT_NONE;
}

/*
 * Sender-specified routing (user%other@ours, other!user@ours,
 * "user@other"@ours, and a source route <@other:user@ours>) on a public
 * listener: a next hop that honours it would relay for anyone, and a
 * relay scanner sends every form, so it is refused unless the listener
 * says allow_untrusted_routing (Postfix's allow_untrusted_routing).  A
 * private listener's clients may relay anyway.  SMTPD_V_OK, or the
 * refusal.
 */
static enum smtpd_verdict
smtpd_session_routing_ok(const struct smtpd_session *s,
    const struct smtp_path *path)
{
	const struct bw_listener_conf	*lc = s->lconf;

	if (!lc->public || lc->allow_untrusted_routing ||
	    smtpd_admit_relay_policy(s))
		return SMTPD_V_OK;
	if (path->source_route)
		return SMTPD_V_SOURCE_ROUTE;
	if (smtp_addr_routed(path->addr))
		return SMTPD_V_ROUTING;
	return SMTPD_V_OK;
}

/*
 * RCPT's checks after the transaction's state (MAIL taken, queued still
 * has it), in the session's order: recipients per message, the syntax
 * (path and rp filled), then the RAT and sender-specified routing, both
 * skipped for <Postmaster>.  No side effect on the session; bwctl trace
 * asks the same on a probe.
 */
void
smtpd_session_rcpt_check(const struct smtpd_session *s, const char *arg,
    struct smtp_path *path, struct smtp_rcpt_params *rp,
    struct smtpd_check *c)
{
	int	 r;

	memset(c, 0, sizeof(*c));
	if (s->nrcpt >= (unsigned long long)
	    SMTPD_LIM(s, LIM_SMTPD_MAX_RECIPIENTS)) {
		c->v = SMTPD_V_TOO_MANY_RCPTS;
		c->reply = smtpd_submit_reply(BW_SUBMIT_TOOMANY);
		return;
	}
	if ((r = smtp_parse_rcpt(arg, s->params.smtputf8, path, rp)) !=
	    SMTP_PARSE_OK) {
		c->v = SMTPD_V_SYNTAX;
		c->reply = smtp_parse_reply(r);
		return;
	}
	if (path->postmaster) {
		/* RFC 5321 4.5.1: always accepted, it is ours */
		c->ok = SMTPD_RCPT_POSTMASTER;
		return;
	}
	if ((c->ok = smtpd_session_relay_ok(s, path)) == SMTPD_RCPT_NONE) {
		c->v = SMTPD_V_RELAY;
		c->reply = "550 5.7.1 Relay access denied";
		return;
	}
	switch ((c->v = smtpd_session_routing_ok(s, path))) {
	case SMTPD_V_SOURCE_ROUTE:
		c->reply = "550 5.7.1 Source routing denied";
		break;
	case SMTPD_V_ROUTING:
		c->reply = "550 5.7.1 Sender-specified routing denied";
		break;
	default:
		break;
	}
	if (c->v != SMTPD_V_OK)
		c->ok = SMTPD_RCPT_NONE;
}

static void
smtpd_cmd_rcpt(struct smtpd_session *s, const char *arg)
{
	struct smtp_path	 path;
	struct smtp_rcpt_params	 rp;
	struct smtpd_check	 c;
	char			 rcpt[BW_ADDR_MAX];
	char			 esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];

	if (!s->tx) {
		smtpd_session_error(s, "503 5.5.1 Need MAIL command");
		return;
	}
	if (s->tx_dead) {
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		return;
	}
	smtpd_session_rcpt_check(s, arg, &path, &rp, &c);
	switch (c.v) {
	case SMTPD_V_OK:
		break;
	case SMTPD_V_TOO_MANY_RCPTS:
		s->env->c.rcpt_rejected++;
		smtpd_session_reply(s, "%s", c.reply);
		return;
	case SMTPD_V_RELAY:
		s->env->c.rcpt_rejected++;
		s->env->c.relay_rejects++;
		log_info("%s session=%llu addr=%s to=<%s> rejected: relay "
		    "access denied listener=%s", s->qid,
		    (unsigned long long)s->id, s->addr, path.addr,
		    s->lconf->name);
		smtpd_session_error(s, c.reply);
		return;
	case SMTPD_V_SOURCE_ROUTE:
	case SMTPD_V_ROUTING:
		s->env->c.rcpt_rejected++;
		s->env->c.routing_rejects++;
		log_info("%s session=%llu addr=%s to=<%s> rejected: %s "
		    "listener=%s", s->qid, (unsigned long long)s->id, s->addr,
		    log_escape(esc, sizeof(esc), path.addr,
		    strlen(path.addr)), c.v == SMTPD_V_SOURCE_ROUTE ?
		    "source route" : "sender-specified routing",
		    s->lconf->name);
		smtpd_session_error(s, c.reply);
		return;
	default:		/* syntax */
		s->env->c.rcpt_rejected++;
		smtpd_session_error(s, c.reply);
		return;
	}
	if (c.ok == SMTPD_RCPT_POSTMASTER) {
		strlcpy(rcpt, "postmaster@", sizeof(rcpt));
		strlcat(rcpt, s->env->d.cfg->hostname, sizeof(rcpt));
	} else
		strlcpy(rcpt, path.addr, sizeof(rcpt));
	if (smtpd_rate_rcpt(s, rcpt, &rp))
		return;		/* smtpd_session_rcpt_accept() after the count */
	smtpd_session_rcpt_accept(s, rcpt, &rp);
}

/* RCPT passed every check: to queued, 250. */
void
smtpd_session_rcpt_accept(struct smtpd_session *s, const char *rcpt,
    const struct smtp_rcpt_params *rp)
{
	if (smtpd_queue_rcpt(s, rcpt, rp) == -1) {
		s->tx_dead = 1;
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		return;
	}
	if (s->nrcpt++ == 0)
		strlcpy(s->rcpt1, rcpt, sizeof(s->rcpt1));
	smtpd_session_reply(s, "%s", SMTPD_REPLY_RCPT_OK);
}

static void
smtpd_cmd_data(struct smtpd_session *s)
{
	if (!s->tx) {
		smtpd_session_error(s, "503 5.5.1 Need MAIL command");
		return;
	}
	if (s->tx_dead) {
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		smtpd_session_tx_reset(s);
		return;
	}
	/*
	 * RFC 3030 2 and 3: 503, and the transaction stays as it was (the
	 * client must RSET or go on with BDAT).
	 */
	if (s->bdat) {
		smtpd_session_error(s, "503 5.5.1 DATA not allowed after BDAT "
		    "in the same transaction");
		return;
	}
	if (s->params.body == SMTP_BODY_BINARYMIME) {
		smtpd_session_error(s, "503 5.6.1 BODY=BINARYMIME requires "
		    "BDAT, not DATA");
		return;
	}
	if (s->nrcpt == 0) {
		smtpd_session_error(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (smtpd_data_begin(s) == -1) {
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		smtpd_session_tx_reset(s);
		return;
	}
	smtpd_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->phase = SMTPD_PH_DATA;
	smtpd_session_set_timeouts(s);
	smtpd_session_timer_arm(s, SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_DATA_TOTAL));
}

/*
 * BDAT chunk-size [LAST] (RFC 3030 2).  Whatever the answer, once the size
 * is known its octets are read before the reply (smtpd_bdat_start), so a
 * pipelining client stays in sync: BDAT without a transaction is refused
 * 503, without a recipient 554, after queued lost the message 451, over
 * message_size_limit 552.  A size that is not a number cannot be skipped:
 * 501, the message in progress (if any) is aborted since its chunk
 * boundaries are lost, and what follows is read as commands.
 */
static void
smtpd_cmd_bdat(struct smtpd_session *s, const char *arg)
{
	uint64_t	 size;
	int		 last;

	if (smtp_parse_bdat(arg, &size, &last) != SMTP_PARSE_OK) {
		if (s->tx && s->bdat) {
			log_info("%s session=%llu addr=%s message refused: "
			    "malformed BDAT", s->qid,
			    (unsigned long long)s->id, s->addr);
			s->env->c.messages_rejected++;
			smtpd_session_tx_reset(s);
		}
		smtpd_session_error(s, "501 5.5.4 Syntax: BDAT chunk-size "
		    "[LAST]");
		return;
	}
	if (!s->tx) {
		smtpd_bdat_start(s, size, last, "503 5.5.1 Need MAIL command",
		    1);
		return;
	}
	if (s->tx_dead) {
		smtpd_session_tx_reset(s);
		smtpd_bdat_start(s, size, last,
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL), 0);
		return;
	}
	if (s->nrcpt == 0) {
		smtpd_bdat_start(s, size, last,
		    "554 5.5.1 No valid recipients", 1);
		return;
	}
	smtpd_bdat_start(s, size, last, NULL, 0);
}

void
smtpd_session_commit_reply(struct smtpd_session *s, int status)
{
	if (s->phase != SMTPD_PH_WAIT_COMMIT)
		return;
	evtimer_del(s->ev_timer);
	if (s->commit_doubt)
		log_info("%s session=%llu commit check: %s", s->qid,
		    (unsigned long long)s->id, status == BW_SUBMIT_OK ?
		    "queued has it" : "queued does not have it");
	s->commit_doubt = 0;
	if (status == BW_SUBMIT_OK) {
		s->env->c.messages_accepted++;
		log_info("%s accepted session=%llu size=%llu nrcpt=%u%s%s",
		    s->qid, (unsigned long long)s->id,
		    (unsigned long long)s->data_size, s->nrcpt,
		    s->bdat ? " bdat=yes" : "",
		    s->params.body == SMTP_BODY_BINARYMIME ?
		    " body=binarymime" : "");
		smtpd_session_reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
		/* the limits count what a client does without sending mail */
		s->nerrors = 0;
		s->njunk = 0;
	} else {
		s->env->c.messages_rejected++;
		log_info("%s refused by queued session=%llu status=%s", s->qid,
		    (unsigned long long)s->id, bw_submit_status_name(status));
		smtpd_session_reply(s, "%s", smtpd_submit_reply(status));
	}
	/* committed or discarded by queued: nothing to abort */
	s->tx = 0;
	smtpd_session_tx_reset(s);
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
	if (status == BW_SUBMIT_BUSY) {
		smtpd_session_close(s, "queue busy");
		return;
	}
	smtpd_session_resume(s);
}

/*
 * queued went away: whatever the session had open there is gone, except
 * a commit whose reply did not come: it may be in the store (queued died
 * after its log flush) or not.  Such a session keeps waiting, within its
 * queue-reply timeout, and asks the queued it reconnects to
 * (MSG_COMMIT_CHECK): 250 if the message is there, 451 if not, so that a
 * client is never told 451 for a message that will be delivered.
 */
void
smtpd_session_queue_lost(struct smtpd_session *s)
{
	if (s->phase == SMTPD_PH_WAIT_COMMIT) {
		if (!s->commit_doubt)
			log_info("%s session=%llu: queued went away before the "
			    "commit reply; asking again once it is back",
			    s->qid, (unsigned long long)s->id);
		s->commit_doubt = 1;
		return;
	}
	smtpd_queue_forget(s);
	switch (s->phase) {
	case SMTPD_PH_WAIT_OPEN:
		evtimer_del(s->ev_timer);
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		s->tx = 0;
		smtpd_session_tx_reset(s);
		s->phase = SMTPD_PH_CMD;
		smtpd_session_set_timeouts(s);
		smtpd_session_resume(s);
		break;
	case SMTPD_PH_BDAT:
		if (s->bdat_refuse != NULL) {	/* a chunk being discarded */
			if (s->tx)
				s->tx_dead = 1;
			break;
		}
		/* FALLTHROUGH */
	case SMTPD_PH_DATA:
		s->tx_dead = 1;
		if (s->data_reject == NULL) {
			s->data_reject = smtpd_submit_reply(BW_SUBMIT_TEMPFAIL);
			s->data_reject_why = "queued connection lost";
		}
		break;
	default:
		if (s->tx)
			s->tx_dead = 1;
		break;
	}
}

static void
smtpd_cmd_starttls(struct smtpd_session *s)
{
	if (!s->tls_offer || s->l->ssl_ctx == NULL) {
		smtpd_session_error(s, "502 5.5.1 STARTTLS not available");
		return;
	}
	if (s->tls) {
		smtpd_session_error(s, "503 5.5.1 TLS already active");
		return;
	}
	smtpd_session_tx_reset(s);
	smtpd_session_reply(s, "220 2.0.0 Ready to start TLS");
	/* read nothing more in plaintext; start once the 220 has left */
	bufferevent_disable(s->bev, EV_READ);
	s->phase = SMTPD_PH_TLS;
	s->tls_pending = 1;
	smtpd_session_set_timeouts(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		smtpd_session_starttls_go(s);
}

/* The 220 is out: switch the socket to TLS. */
static void
smtpd_session_starttls_go(struct smtpd_session *s)
{
	s->tls_pending = 0;
	if (smtpd_tls_starttls(s) == -1) {
		log_warnx("session=%llu addr=%s: cannot start TLS",
		    (unsigned long long)s->id, s->addr);
		smtpd_session_schedule_free(s);
		return;
	}
	smtpd_session_setup_bev(s);
	smtpd_session_set_timeouts(s);
}

/* The handshake finished (STARTTLS or implicit). */
void
smtpd_session_tls_done(struct smtpd_session *s)
{
	enum smtpd_phase	 was = s->phase;

	smtpd_tls_info(s);
	s->env->c.tls_sessions++;
	log_info("session=%llu addr=%s tls=%s cipher=%s bits=%d",
	    (unsigned long long)s->id, s->addr, s->tls_proto, s->tls_cipher,
	    s->tls_bits);
	if (was == SMTPD_PH_TLS_IMPLICIT) {
		smtpd_admit_tls_done(s);
		return;
	}
	/* RFC 3207 4.2: forget everything learned before TLS */
	s->helo_seen = 0;
	s->esmtp = 0;
	smtpd_session_str_clear(&s->helo);
	s->helo = smtpd_str_empty;
	smtpd_session_tx_reset(s);
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
	smtpd_session_resume(s);
}

/* The policy refuses the host: nothing but QUIT works. */
const char *
smtpd_session_refused(const struct smtpd_session *s, int cmd)
{
	if (s->hat_reject && cmd != SMTP_CMD_QUIT)
		return "554 5.7.1 Access denied";
	return NULL;
}

/*
 * more: input is already buffered behind this line, so the client sent it
 * before our reply to this command existed.
 */
static void
smtpd_session_command(struct smtpd_session *s, char *line, size_t len,
    int more)
{
	struct smtp_command	 c;
	char			 esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	const char		*refused;
	int			 r;

	s->env->c.commands++;
	if (log_get_verbose())
		log_debug("session=%llu <<< %s", (unsigned long long)s->id,
		    log_escape(esc, sizeof(esc), line, len));
	r = smtp_parse_command(line, len, &c);
	if (more && !smtp_cmd_may_pipeline(c.cmd, s->helo_seen && s->esmtp)) {
		smtpd_session_sync_violation(s, c.cmd == SMTP_CMD_DATA &&
		    r == SMTP_PARSE_OK ? SMTPD_SYNC_EARLY_DATA :
		    SMTPD_SYNC_PIPELINING, c.cmd);
		return;
	}
	if (r != SMTP_PARSE_OK) {
		smtpd_session_error(s, smtp_parse_reply(r));
		return;
	}
	if ((refused = smtpd_session_refused(s, c.cmd)) != NULL) {
		/* smtpd_max_errors of these end the session */
		smtpd_session_error(s, refused);
		return;
	}
	switch (c.cmd) {
	case SMTP_CMD_HELO:
		smtpd_cmd_helo(s, c.arg, 0);
		break;
	case SMTP_CMD_EHLO:
		smtpd_cmd_helo(s, c.arg, 1);
		break;
	case SMTP_CMD_MAIL:
		smtpd_cmd_mail(s, c.arg);
		break;
	case SMTP_CMD_RCPT:
		smtpd_cmd_rcpt(s, c.arg);
		break;
	case SMTP_CMD_DATA:
		smtpd_cmd_data(s);
		break;
	case SMTP_CMD_BDAT:
		smtpd_cmd_bdat(s, c.arg);
		break;
	case SMTP_CMD_RSET:
		smtpd_session_tx_reset(s);
		smtpd_session_reply(s, "250 2.0.0 Ok");
		smtpd_session_junk(s);
		break;
	case SMTP_CMD_NOOP:
		smtpd_session_reply(s, "250 2.0.0 Ok");
		smtpd_session_junk(s);
		break;
	case SMTP_CMD_QUIT:
		smtpd_session_fail(s, "221 2.0.0 Bye", "quit");
		break;
	case SMTP_CMD_HELP:
		smtpd_session_reply(s, "214-2.0.0 Commands: EHLO HELO MAIL "
		    "RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS");
		smtpd_session_reply(s, "214 2.0.0 See RFC 5321");
		smtpd_session_junk(s);
		break;
	case SMTP_CMD_VRFY:
		smtpd_session_reply(s, "252 2.5.0 Cannot VRFY user, but will "
		    "accept message and attempt delivery");
		smtpd_session_junk(s);
		break;
	case SMTP_CMD_STARTTLS:
		smtpd_cmd_starttls(s);
		break;
	default:
		smtpd_session_error(s, smtp_parse_reply(SMTP_PARSE_EUNKNOWN));
		break;
	}
}

/* One command line from the input; 1 if something was consumed. */
static int
smtpd_session_cmd_read(struct smtpd_session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr	 p;
	size_t			 n = 0, pending = evbuffer_get_length(in);
	size_t			 max = (size_t)SMTPD_LIM(s,
				    LIM_SMTPD_MAX_COMMAND_LINE);
	char			*line;

	if (pending == 0)
		return 0;
	if (s->cmd_skip) {
		p = evbuffer_search(in, "\n", 1, NULL);
		if (p.pos < 0) {
			evbuffer_drain(in, pending);
			return 0;
		}
		evbuffer_drain(in, (size_t)p.pos + 1);
		s->cmd_skip = 0;
		return 1;
	}
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
	if (line == NULL ? pending + 2 > max : n + 2 > max) {
		free(line);
		if (line == NULL) {
			evbuffer_drain(in, pending);
			s->cmd_skip = 1;
		}
		log_info("session=%llu addr=%s command line too long",
		    (unsigned long long)s->id, s->addr);
		smtpd_session_cmd_deadline(s);
		smtpd_session_error(s, "500 5.5.2 Line too long");
		return 1;
	}
	if (line == NULL)
		return 0;
	/* the next line's time starts with this one's reply */
	smtpd_session_cmd_deadline(s);
	s->cmd_delayed = 0;
	smtpd_session_command(s, line, n, evbuffer_get_length(in) > 0);
	free(line);
	return 1;
}

/*
 * The policy's tarpit: a whole command line waits its pause before it is
 * read, so its reply comes that much later; the client's other lines stay
 * buffered.  1 if the session now waits.
 */
static int
smtpd_session_tarpit(struct smtpd_session *s)
{
	struct evbuffer_ptr	 eol;
	long long		 ms;

	if (s->cmd_delayed || (ms = smtpd_admit_command_delay(s)) <= 0)
		return 0;
	eol = evbuffer_search_eol(bufferevent_get_input(s->bev), NULL, NULL,
	    EVBUFFER_EOL_LF);
	if (eol.pos == -1)
		return 0;	/* nothing to hold yet */
	s->env->c.tarpit_delays++;
	s->phase = SMTPD_PH_TARPIT;
	smtpd_session_set_timeouts(s);
	smtpd_session_timer_arm(s, ms);
	return 1;
}

void
smtpd_session_process(struct smtpd_session *s)
{
	struct evbuffer	*in;

	for (;;) {
		if (s->free_scheduled)
			return;
		if (s->proxy_watch && !smtpd_proxy_session_watch(s))
			return;
		in = bufferevent_get_input(s->bev);
		switch (s->phase) {
		case SMTPD_PH_DELAY:
			if (evbuffer_get_length(in) > 0)
				smtpd_session_sync_violation(s,
				    SMTPD_SYNC_PREGREET, SMTP_CMD_UNKNOWN);
			return;
		case SMTPD_PH_CMD:
			if (evbuffer_get_length(bufferevent_get_output(s->bev))
			    > SMTPD_OUTPUT_MAX) {
				/* the client is not reading; wait for it */
				s->out_blocked = 1;
				return;
			}
			if (smtpd_session_tarpit(s))
				return;
			if (!smtpd_session_cmd_read(s))
				return;
			break;
		case SMTPD_PH_DATA:
			if (!smtpd_data_process(s))
				return;
			break;
		case SMTPD_PH_BDAT:
			if (!smtpd_bdat_process(s))
				return;
			break;
		case SMTPD_PH_TLS:
		case SMTPD_PH_TLS_IMPLICIT:
			/* nothing arrives here in plaintext; see smtpd_tls.c */
			return;
		default:
			/* waiting for queued or closing: input stays buffered */
			return;
		}
	}
}

static void
smtpd_session_read_cb(struct bufferevent *bev, void *arg)
{
	smtpd_session_process(arg);
}

/* Everything queued for the client has been written. */
static void
smtpd_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session	*s = arg;

	if (s->fd_owned)	/* back to writing from smtpd_session_flush_cb */
		bufferevent_disable(s->bev, EV_WRITE);
	if (s->phase == SMTPD_PH_CLOSING) {
		smtpd_session_schedule_free(s);
		return;
	}
	if (s->tls_pending) {
		smtpd_session_starttls_go(s);
		return;
	}
	if (s->out_blocked) {
		s->out_blocked = 0;
		smtpd_session_process(s);
	}
}

/*
 * Plaintext: write the replies of this loop turn in one go.  What the
 * socket does not take (or a write error) goes to libevent with EV_WRITE:
 * it finishes the write under the write timeout or reports the error
 * through smtpd_session_event_cb(), as for any session.
 */
static void
smtpd_session_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_session	*s = arg;
	struct evbuffer		*out;

	s->flush_pending = 0;
	if (s->free_scheduled || !s->fd_owned)
		return;
	out = bufferevent_get_output(s->bev);
	if (bufferevent_get_enabled(s->bev) & EV_WRITE)
		return;		/* libevent is writing; it calls write_cb */
	if (evbuffer_get_length(out) > 0) {
		/* the bufferevent keeps its output's start frozen outside
		 * its own writes: evbuffer_write() would do nothing */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, s->fd);
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	smtpd_session_write_cb(s->bev, s);
}

static void
smtpd_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_session	*s = arg;
	char			 buf[SMTPD_REPLY_MAX];
	unsigned long		 e;

	if (what & BEV_EVENT_CONNECTED) {
		if (s->phase == SMTPD_PH_TLS ||
		    s->phase == SMTPD_PH_TLS_IMPLICIT)
			smtpd_session_tls_done(s);
		return;
	}
	if (s->phase == SMTPD_PH_CLOSING) {
		smtpd_session_schedule_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->phase == SMTPD_PH_TLS || s->phase ==
		    SMTPD_PH_TLS_IMPLICIT)
			smtpd_session_tls_timeout(s);
		else
			smtpd_session_timeout(s, "timeout");
		return;
	}
	if (s->phase == SMTPD_PH_TLS || s->phase == SMTPD_PH_TLS_IMPLICIT) {
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			ERR_error_string_n(e, buf, sizeof(buf));
			log_info("session=%llu addr=%s TLS handshake "
			    "failed: %s", (unsigned long long)s->id, s->addr,
			    buf);
		}
	}
	smtpd_session_close(s, (what & BEV_EVENT_EOF) ? "client closed" :
	    "connection error");
	/* nothing more can be written to a broken connection */
	smtpd_session_schedule_free(s);
}

/* smtpd_timeout_data_total is over: DATA, or BDAT from its first chunk. */
static void
smtpd_session_data_timeout(struct smtpd_session *s)
{
	char	 buf[SMTPD_REPLY_MAX];

	s->env->c.timeouts++;
	s->env->c.limit_closes++;
	snprintf(buf, sizeof(buf), "421 4.4.2 %s Error: DATA phase took too "
	    "long", s->env->d.cfg->hostname);
	smtpd_session_fail(s, buf, "data total timeout");
}

static void
smtpd_session_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_session	*s = arg;

	switch (s->phase) {
	case SMTPD_PH_DELAY:
		smtpd_admit_timer(s);
		break;
	case SMTPD_PH_TARPIT:
		s->cmd_delayed = 1;
		s->phase = SMTPD_PH_CMD;
		smtpd_session_set_timeouts(s);
		smtpd_session_process(s);
		break;
	case SMTPD_PH_CMD:
		if (s->bdat && (s->timer_bdat || smtpd_bdat_left_ms(s) == 0)) {
			/* between the chunks of a BDAT message */
			smtpd_session_data_timeout(s);
			break;
		}
		smtpd_session_timeout(s, evbuffer_get_length(
		    bufferevent_get_input(s->bev)) > 0 ? "command line not "
		    "completed in time" : s->helo_seen ? "command timeout" :
		    "greeting timeout");
		break;
	case SMTPD_PH_TLS:
	case SMTPD_PH_TLS_IMPLICIT:
		smtpd_session_tls_timeout(s);
		break;
	case SMTPD_PH_WAIT_OPEN:
		log_warnx("session=%llu addr=%s: no MSG_OPEN reply from "
		    "queued in time", (unsigned long long)s->id, s->addr);
		smtpd_queue_forget(s);
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		smtpd_session_tx_reset(s);
		s->phase = SMTPD_PH_CMD;
		smtpd_session_set_timeouts(s);
		smtpd_session_resume(s);
		break;
	case SMTPD_PH_WAIT_COMMIT:
		if (s->commit_doubt) {
			/* XXX: queued was not back in time; if it kept the
			 * message, the client's retry makes a duplicate */
			log_warnx("%s session=%llu: queued not back in time "
			    "to confirm the commit; 451, the message may "
			    "still be delivered", s->qid,
			    (unsigned long long)s->id);
			smtpd_queue_forget(s);
			s->commit_doubt = 0;
			s->tx_dead = 1;		/* no MSG_ABORT */
		} else
			log_warnx("%s session=%llu: no commit reply from "
			    "queued in time; aborted", s->qid,
			    (unsigned long long)s->id);
		s->env->c.messages_rejected++;
		smtpd_session_reply(s, "%s",
		    smtpd_submit_reply(BW_SUBMIT_TEMPFAIL));
		smtpd_session_tx_reset(s);	/* sends MSG_ABORT */
		s->phase = SMTPD_PH_CMD;
		smtpd_session_set_timeouts(s);
		smtpd_session_resume(s);
		break;
	case SMTPD_PH_DATA:
	case SMTPD_PH_BDAT:
		smtpd_session_data_timeout(s);
		break;
	case SMTPD_PH_PROXY:
		smtpd_proxy_session_timeout(s);
		break;
	default:
		log_debug("session=%llu: stray timer in phase %s",
		    (unsigned long long)s->id, smtpd_phase_name(s->phase));
		break;
	}
}
