/*
 * The PROXY protocol on a listener that takes it (proxy_protocol yes).
 *
 * A connection from one of the listener's balancers (proxy_from) starts
 * in SMTPD_PH_PROXY: the header is read straight from the socket, never a
 * byte past its end (peek, parse with smtpd_proxy.c, then take exactly
 * the header's bytes), so that what follows -- the client's SMTP, or the
 * TLS handshake of an implicit-TLS listener -- stays in the kernel for
 * the reader after us.  Then the session takes the client's address
 * (s->ss, s->addr; a LOCAL or UNKNOWN header, a balancer's health check,
 * keeps the balancer's, as the protocol says), notes the balancer
 * (s->proxied, s->proxy_peer) and goes on exactly as a direct connection
 * from the client would (smtpd_admit_start(): reverse DNS, the host
 * access table, limits, banner; logs and Received: name the client).
 *
 * A connection from anywhere else is an ordinary SMTP client.  Its first
 * bytes are watched: a PROXY header there (v1 "PROXY " or the v2
 * signature) is a client trying to choose its own address, and ends the
 * session.
 *
 * Trust: the balancers are trusted to name the client, nobody else is.
 * The header is bounded by SMTPD_PROXY_V2_MAX bytes (the reader's buffer,
 * allocated only during this phase) and by smtpd_proxy_timeout.  A
 * malformed header, one not complete in time or cut by a close, and
 * bytes behind the header before the banner each end that session with
 * one log line (the disconnect line, no connect line: no SMTP session
 * began), counted in proxy_rejects.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netdb.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "smtpd_proxy.h"

#define SMTPD_PROXY_WHY_MAX	256	/* the reason on the disconnect line */

/* The header being read (SMTPD_PH_PROXY only). */
struct smtpd_proxy_read {
	struct event	*ev;		/* the socket is readable */
	size_t		 have;		/* header bytes taken so far */
	unsigned char	 buf[SMTPD_PROXY_V2_MAX];
};

/* Does a connection from sa to this listener start with a header? */
int
smtpd_proxy_expected(const struct bw_listener_conf *lc,
    const struct sockaddr *sa)
{
	return lc->proxy_protocol &&
	    bw_net_match(lc->proxy_from, lc->nproxy_from, sa);
}

void
smtpd_proxy_session_free(struct smtpd_session *s)
{
	struct smtpd_proxy_read	*pr = s->proxy;

	if (pr == NULL)
		return;
	if (pr->ev != NULL)
		event_free(pr->ev);
	free(pr);
	s->proxy = NULL;
}

/*
 * End a session in the PROXY phase (or a spoofing client's): one line,
 * counted.  reply: what an SMTP client is told, or NULL for a balancer.
 */
static void
smtpd_proxy_refuse(struct smtpd_session *s, const char *reply,
    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
smtpd_proxy_refuse(struct smtpd_session *s, const char *reply,
    const char *fmt, ...)
{
	char	 why[SMTPD_PROXY_WHY_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->env->c.proxy_rejects++;
	if (s->phase == SMTPD_PH_PROXY)
		s->connect_logged = 1;	/* no session began: one line */
	smtpd_proxy_session_free(s);
	if (reply != NULL)
		smtpd_session_fail(s, reply, why);
	else
		smtpd_session_close(s, why);
}

/* An IPv4-mapped IPv6 address (a balancer's TCP6 line) as IPv4. */
static void
smtpd_proxy_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	 s6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&s6, ss, sizeof(s6));
	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = s6.sin6_port;
	memcpy(&sin->sin_addr, (const unsigned char *)&s6.sin6_addr + 12, 4);
}

static socklen_t
smtpd_proxy_salen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

/* Implicit TLS: the handshake starts on the socket after the header. */
static int
smtpd_proxy_tls_begin(struct smtpd_session *s)
{
	struct bufferevent	*bev;

	if ((bev = smtpd_tls_bev_implicit(s, s->fd)) == NULL)
		return -1;
	bufferevent_free(s->bev);	/* plaintext, no CLOSE_ON_FREE */
	s->bev = bev;
	s->fd_owned = 0;		/* closed with the TLS bufferevent */
	s->phase = SMTPD_PH_TLS_IMPLICIT;
	smtpd_session_setup_bev(s);
	return 0;
}

/* The header is complete: become the client's session. */
static void
smtpd_proxy_done(struct smtpd_session *s,
    const struct smtpd_proxy_result *res, size_t behind)
{
	struct sockaddr_storage	 client;
	char			 caddr[BW_HOSTADDR_MAX];

	smtpd_proxy_session_free(s);
	evtimer_del(s->ev_timer);
	client = res->local ? s->ss : res->src;
	smtpd_proxy_unmap(&client);
	if (getnameinfo((const struct sockaddr *)&client,
	    smtpd_proxy_salen(&client), caddr, sizeof(caddr), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(caddr, "?", sizeof(caddr));
	/*
	 * The client talked before its banner could exist (a balancer
	 * connects first and sends the header alone); with implicit TLS
	 * these are its handshake and belong to it.
	 */
	if (behind > 0 && s->lconf->tls != BW_TLS_IMPLICIT) {
		smtpd_proxy_refuse(s, NULL, "PROXY v%d header with %zu bytes "
		    "behind it before the banner (client %s)", res->version,
		    behind, caddr);
		return;
	}
	s->proxied = 1;
	strlcpy(s->proxy_peer, s->addr, sizeof(s->proxy_peer));
	s->env->c.proxy_connections++;
	/* from here on the client is the host: admission counts its
	 * connection at queued (smtpd_admit_count()), never the balancer */
	if (!res->local) {
		s->ss = client;
		strlcpy(s->addr, caddr, sizeof(s->addr));
	}
	log_debug("session=%llu PROXY v%d%s from %s: client %s",
	    (unsigned long long)s->id, res->version, res->local ?
	    " (local)" : "", s->proxy_peer, s->addr);
	if (s->lconf->tls == BW_TLS_IMPLICIT) {
		if (smtpd_proxy_tls_begin(s) == -1) {
			log_warnx("session=%llu addr=%s: cannot start TLS",
			    (unsigned long long)s->id, s->addr);
			smtpd_session_close(s, "cannot start TLS");
			return;
		}
	} else
		bufferevent_enable(s->bev, EV_READ);
	smtpd_admit_start(s);
}

/*
 * The socket is readable: peek at what is there, parse the header so
 * far, and take only bytes that belong to it -- all of them while the
 * parser wants more (a valid prefix is all header), exactly the rest of
 * the header once it is complete.
 */
static void
smtpd_proxy_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_session		*s = arg;
	struct smtpd_proxy_read		*pr = s->proxy;
	struct smtpd_proxy_result	 res;
	enum smtpd_proxy_status		 st;
	const char			*why = NULL;
	size_t				 room, take;
	ssize_t				 n, got;

	if (pr == NULL || s->phase != SMTPD_PH_PROXY || s->free_scheduled)
		return;
	room = sizeof(pr->buf) - pr->have;
	if (room == 0) {	/* the parser decides within the buffer */
		smtpd_proxy_refuse(s, NULL, "PROXY header longer than %zu "
		    "bytes", sizeof(pr->buf));
		return;
	}
	n = recv(fd, pr->buf + pr->have, room, MSG_PEEK);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		smtpd_proxy_refuse(s, NULL, "PROXY header: read error: %s",
		    strerror(errno));
		return;
	}
	if (n == 0) {
		smtpd_proxy_refuse(s, NULL, "PROXY header cut short: peer "
		    "closed after %zu bytes", pr->have);
		return;
	}
	st = smtpd_proxy_parse(pr->buf, pr->have + (size_t)n, &res, &why);
	if (st == SMTPD_PROXY_BAD) {
		smtpd_proxy_refuse(s, NULL, "PROXY header malformed: %s", why);
		return;
	}
	take = st == SMTPD_PROXY_DONE ? res.length - pr->have : (size_t)n;
	/* the bytes were peeked: this takes them, no more, at once */
	got = recv(fd, pr->buf + pr->have, take, 0);
	if (got != (ssize_t)take) {
		smtpd_proxy_refuse(s, NULL, "PROXY header: read error: %s",
		    got == -1 ? strerror(errno) : "short read");
		return;
	}
	pr->have += take;
	if (st == SMTPD_PROXY_DONE)
		smtpd_proxy_done(s, &res, (size_t)n - take);
}

/*
 * At accept, before any byte is read: 1 if the session starts in the
 * PROXY phase (smtpd_admit_start() follows the header), 0 if it goes on
 * as it is (a client that is not a balancer is watched).
 */
int
smtpd_proxy_session_start(struct smtpd_session *s)
{
	const struct bw_listener_conf	*lc = s->lconf;
	struct smtpd_proxy_read		*pr;

	if (!lc->proxy_protocol)
		return 0;
	if (!smtpd_proxy_expected(lc, (const struct sockaddr *)&s->ss)) {
		s->proxy_watch = 1;
		return 0;
	}
	s->phase = SMTPD_PH_PROXY;
	/* the header is read from the socket here, not by the bufferevent */
	bufferevent_disable(s->bev, EV_READ);
	smtpd_session_set_timeouts(s);
	if ((pr = calloc(1, sizeof(*pr))) == NULL ||
	    (pr->ev = event_new(s->env->d.base, s->fd, EV_READ | EV_PERSIST,
	    smtpd_proxy_read_cb, s)) == NULL ||
	    event_add(pr->ev, NULL) == -1) {
		log_warn("session=%llu addr=%s: cannot read a PROXY header",
		    (unsigned long long)s->id, s->addr);
		if (pr != NULL && pr->ev != NULL)
			event_free(pr->ev);
		free(pr);
		s->connect_logged = 1;
		smtpd_session_close(s, "out of memory");
		return 1;
	}
	s->proxy = pr;
	smtpd_session_timer_arm(s, SMTPD_LIM(s, LIM_SMTPD_PROXY_TIMEOUT));
	return 1;
}

/* smtpd_proxy_timeout is over and the header is not complete. */
void
smtpd_proxy_session_timeout(struct smtpd_session *s)
{
	size_t	 have = s->proxy != NULL ? s->proxy->have : 0;

	s->env->c.timeouts++;
	smtpd_proxy_refuse(s, NULL, "PROXY header not complete within "
	    "smtpd_proxy_timeout (%zu bytes)", have);
}

/*
 * The first bytes of a client that is not a balancer: its input, else
 * (plaintext) what waits in the socket, which the greeting delay's
 * pregreet check peeks at too.  The count of bytes copied to head.
 */
static size_t
smtpd_proxy_first_bytes(struct smtpd_session *s,
    unsigned char head[SMTPD_PROXY_V2_HEAD])
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	size_t		 n = evbuffer_get_length(in);
	ssize_t		 r;

	if (n > 0) {
		if (n > SMTPD_PROXY_V2_HEAD)
			n = SMTPD_PROXY_V2_HEAD;
		return evbuffer_copyout(in, head, n) == (ev_ssize_t)n ? n : 0;
	}
	if (!s->fd_owned || s->fd == -1)
		return 0;
	r = recv(s->fd, head, SMTPD_PROXY_V2_HEAD, MSG_PEEK | MSG_DONTWAIT);
	return r > 0 ? (size_t)r : 0;
}

/* A client chose its own address: 554, one line, counted. */
static void
smtpd_proxy_spoof(struct smtpd_session *s)
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	char		 buf[BW_DOMAIN_MAX + 128];

	s->proxy_watch = 0;
	evbuffer_drain(in, evbuffer_get_length(in));
	snprintf(buf, sizeof(buf), "554 5.7.1 %s Protocol error: PROXY "
	    "header not accepted from your address", s->env->d.cfg->hostname);
	smtpd_proxy_refuse(s, buf, "PROXY header from %s, not a balancer of "
	    "listener %s", s->addr, s->lconf->name);
}

/*
 * A client that is not a balancer, on a PROXY listener, sent something:
 * its first bytes must not be a PROXY header.  1: go on (they are not;
 * the watch ends), 0: stop here (too few bytes to tell yet, or refused).
 */
int
smtpd_proxy_session_watch(struct smtpd_session *s)
{
	unsigned char	 head[SMTPD_PROXY_V2_HEAD];
	size_t		 n;
	int		 r;

	if (evbuffer_get_length(bufferevent_get_input(s->bev)) == 0)
		return 1;
	n = smtpd_proxy_first_bytes(s, head);
	if ((r = smtpd_proxy_sniff(head, n)) == -1) {
		s->proxy_watch = 0;
		return 1;
	}
	if (r == 0)
		return 0;
	smtpd_proxy_spoof(s);
	return 0;
}

/*
 * The same client talked before its banner (the pregreet check): if what
 * it sent is a PROXY header, that is the refusal (1); else 0, and the
 * pregreet rule takes it.
 */
int
smtpd_proxy_session_spoofed(struct smtpd_session *s)
{
	unsigned char	 head[SMTPD_PROXY_V2_HEAD];
	size_t		 n = smtpd_proxy_first_bytes(s, head);

	if (smtpd_proxy_sniff(head, n) != 1)
		return 0;
	smtpd_proxy_spoof(s);
	return 1;
}
