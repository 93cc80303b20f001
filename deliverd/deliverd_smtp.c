/*
 * The SMTP client: one connection of an agent's pool, on a libevent
 * bufferevent.  Connect (bound to a source address of the gateway when it
 * has any), greeting, EHLO (HELO when EHLO gets 5xx), STARTTLS as the
 * destination's TLS policy says, then transactions: MAIL (SIZE=, BODY=8BITMIME or BINARYMIME,
 * and the DSN parameters RET and ENVID when the server offers DSN) and the
 * RCPTs (NOTIFY and ORCPT likewise; deliverd_dsn.c), and DATA, sent
 * together when the server offers PIPELINING, the body dot-stuffed,
 * per-recipient results.  A server that
 * offers CHUNKING gets the body in BDAT chunks of deliver_bdat_chunk_size
 * instead (RFC 3030; deliverd_body.c): with PIPELINING the first chunk
 * goes with MAIL and RCPT (a message of one chunk takes one round trip),
 * the rest once a recipient is accepted, so that a server refusing every
 * recipient costs at most one chunk; without PIPELINING one chunk per
 * reply.  A BODY=BINARYMIME message goes only to a server that offers
 * both CHUNKING and BINARYMIME; elsewhere its recipients fail for good
 * with 5.6.3 (conversion required but not supported) and the sender gets
 * a DSN.  A connection serves up to
 * LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION transactions; between jobs it
 * waits LIM_DELIVER_IDLE_KEEP, then QUITs.
 *
 * A greeting or EHLO/HELO reply naming our own hostname marks the host as
 * this gateway (dlv_mx_self) and the connection QUITs.
 *
 * Failures before the connection is ready (refused, timeout, 4xx/5xx
 * greeting, EHLO and HELO refused) count against the host: it is marked
 * down and the agent picks another.  TLS follows the connection's policy
 * (deliverd_tlspolicy.c): at may a failed TLS handshake, or a TLS
 * session that fails before it is ready, marks the host "no TLS" for
 * DLV_NOTLS_MS and the agent reconnects in plaintext; above may a
 * requirement not met fails the host with its reason, never plaintext.  A
 * failure during a transaction gives its recipients a temporary failure.
 * RSET follows only an aborted transaction (a completed one resets the
 * server's state).  A host that refuses one more connection while others
 * to it work is not marked down: the agent holds the domain at what works.
 *
 * Trust: the remote server is untrusted.  Reply lines are bounded by
 * DLV_REPLY_LINE_MAX (partial lines too) and parsed by deliverd_reply.c;
 * every wait has its LIM_DELIVER_TIMEOUT_*, twice: as an idle timeout on
 * the socket (nothing received for that long) and as a deadline for the
 * whole reply, counted from our last byte out (a server that sends one
 * byte at a time, a TLS handshake that crawls, do not hold the connection
 * for ever); a reply of a class the command cannot have (2xx to DATA, 3xx
 * to MAIL, RCPT, BDAT or the final dot) means the session is out of step: the
 * connection is dropped and its recipients are deferred, never counted as
 * delivered; nothing the server sends can end the process.  Bytes left in the input after the STARTTLS reply end
 * the connection (no command injection into the TLS session).
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"

static const char *dlv_cs_names[] = {
	"connect", "greeting", "EHLO", "HELO", "STARTTLS", "TLS handshake",
	"idle", "MAIL/RCPT", "DATA", "end of data", "DATA (aborted)",
	"dot (aborted)", "BDAT", "BDAT (aborted)", "RSET", "QUIT", "closed",
};

/* The state's name for logs. */
static const char *
dlv_conn_state_name(enum dlv_conn_state s)
{
	if ((unsigned)s >= sizeof(dlv_cs_names) / sizeof(dlv_cs_names[0]))
		return "?";
	return dlv_cs_names[s];
}

static void	dlv_smtp_read_cb(struct bufferevent *, void *);
static void	dlv_smtp_write_cb(struct bufferevent *, void *);
static void	dlv_smtp_event_cb(struct bufferevent *, short, void *);
static void	dlv_smtp_fail(struct dlv_conn *, const char *);
static void	dlv_smtp_close(struct dlv_conn *, int);

static struct dlv_host *
dlv_conn_host(struct dlv_conn *c)
{
	return &c->agent->hosts[c->host];
}

int
dlv_smtp_is_idle(const struct dlv_conn *c)
{
	return c->state == DLV_CS_IDLE;
}

int
dlv_smtp_host(const struct dlv_conn *c)
{
	return c->host;
}

int
dlv_smtp_has_job(const struct dlv_conn *c)
{
	return c->job != NULL;
}

static void
dlv_ms_tv(struct timeval *tv, long long ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Bytes of ours not yet on the wire (under TLS: in either layer). */
static size_t
dlv_smtp_output_pending(struct dlv_conn *c)
{
	struct bufferevent	*under;
	size_t			 n;

	if (c->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(c->bev));
	if ((under = bufferevent_get_underlying(c->bev)) != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/*
 * (Re)start the deadline of the reply waited for: reply_ms from now if
 * everything we queued has gone out, else from when it has (write cb).
 */
static void
dlv_smtp_deadline(struct dlv_conn *c)
{
	struct timeval	 tv;

	evtimer_del(c->deadline_ev);
	if (c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		c->deadline_drain = 1;
		return;
	}
	c->deadline_drain = 0;
	c->wait_ms = bw_now_ms();
	dlv_ms_tv(&tv, c->reply_ms);
	evtimer_add(c->deadline_ev, &tv);
}

/* Read and write deadlines for the current wait. */
static void
dlv_smtp_timeouts(struct dlv_conn *c, int rlim, int wlim)
{
	struct timeval	 r, w;

	dlv_ms_tv(&r, c->lim->v[rlim]);
	dlv_ms_tv(&w, c->lim->v[wlim]);
	bufferevent_set_timeouts(c->bev, &r, &w);
	c->reply_ms = c->lim->v[rlim];
	dlv_smtp_deadline(c);
}

/* Our output has drained: the reply's deadline starts now. */
static void
dlv_smtp_write_cb(struct bufferevent *bev, void *arg)
{
	struct dlv_conn	*c = arg;

	if (c->deadline_drain && c->state != DLV_CS_IDLE &&
	    c->state != DLV_CS_CLOSED)
		dlv_smtp_deadline(c);
}

/* The whole reply did not come in time (however it trickled). */
static void
dlv_smtp_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_conn	*c = arg;
	char		 why[64];

	if (c->state == DLV_CS_IDLE || c->state == DLV_CS_CLOSED)
		return;
	if (c->state == DLV_CS_QUIT && c->quit_answered) {
		dlv_smtp_close(c, 1);	/* the receiver kept it open */
		return;
	}
	if (dlv_smtp_output_pending(c) > 0) {
		/*
		 * A long body still going out (under TLS the filter's output
		 * drains into the socket's at once): the write timeout
		 * watches that; the reply's time starts once it is out.
		 */
		c->deadline_drain = 0;
		dlv_smtp_deadline(c);
		return;
	}
	snprintf(why, sizeof(why), "timeout (no complete reply in %llds)",
	    c->reply_ms / 1000);
	dlv_smtp_fail(c, why);
}

/* Queue one command line. */
static void __attribute__((format(printf, 2, 3)))
dlv_smtp_cmd(struct dlv_conn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[DLV_CMD_LINE_MAX];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 3;
	log_debug("domain=%s relay=%s > %.*s", c->agent->domain, c->relay, n,
	    line);
	dlv_debug_send(c, line, (size_t)n);
	line[n++] = '\r';
	line[n++] = '\n';
	evbuffer_add(bufferevent_get_output(c->bev), line, (size_t)n);
}

static void
dlv_smtp_free_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_conn	*c = arg;

	config_unref(c->cfg);
	free(c);
}

/*
 * Close: unlink from the agent, free the bufferevent, free the struct
 * later (a caller up the stack may still hold it), tell the agent.
 */
static void
dlv_smtp_close(struct dlv_conn *c, int notify)
{
	struct dlv_agent	*a = c->agent;
	struct timeval		 tv = { 0, 0 };

	if (c->state == DLV_CS_CLOSED)
		return;
	dlv_debug_end(c, NULL);
	c->state = DLV_CS_CLOSED;
	TAILQ_REMOVE(&a->conns, c, entry);
	a->nconns--;
	if (!c->setup_done)
		a->nsetup--;
	if (a->hosts[c->host].connections > 0)
		a->hosts[c->host].connections--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	event_free(c->idle_ev);
	c->idle_ev = NULL;
	event_free(c->deadline_ev);
	c->deadline_ev = NULL;
	if (event_base_once(dlv_env->base, -1, EV_TIMEOUT, dlv_smtp_free_cb,
	    c, &tv) == -1) {
		config_unref(c->cfg);
		free(c);	/* XXX: only if libevent cannot allocate */
	}
	if (notify)
		dlv_agent_conn_gone(a, NULL);
}

/* Finish the current job (results already set for its recipients). */
static void
dlv_smtp_job_done(struct dlv_conn *c)
{
	struct dlv_job	*j = c->job;

	c->job = NULL;
	/* recipients left (deliverd_pace.c): the next transaction */
	if (j != NULL) {
		dlv_nbh_job_done(c, j);
		if (!dlv_pace_requeue(c->agent, j))
			dlv_job_finish(j, 0, NULL);
	}
}

/*
 * The connection does not meet its TLS requirement (deliverd_tlspolicy.c):
 * the host is not used for DLV_HOST_DOWN_MS, its last error says why
 * (the jobs' reply when every host failed so, with 4.7.5), the agent
 * tries the next one.  quit: the session is usable, end it with QUIT.
 * Never plaintext.
 */
static void
dlv_smtp_tls_policy_fail(struct dlv_conn *c, enum dlv_tls_fail kind,
    const char *why, int quit)
{
	struct dlv_host	*h = dlv_conn_host(c);
	char		 esc[BW_REPLY_TEXT_MAX];

	dlv_env->c_tls_fail[kind]++;
	h->tls_failed = 1;
	h->down_until = bw_now_ms() + DLV_HOST_DOWN_MS;
	h->last_error_time = bw_time();
	strlcpy(h->last_error, why, sizeof(h->last_error));
	log_escape(esc, sizeof(esc), why, strlen(why));
	log_info("domain=%s gateway=%s relay=%s TLS %s (%s) not met: %s",
	    c->agent->domain, c->agent->gateway, c->relay,
	    dlv_tls_level_name(c->tlsinfo.want.level),
	    c->tlsinfo.want.why ? c->tlsinfo.want.why : "config", esc);
	if (!quit || c->bev == NULL) {
		dlv_smtp_close(c, !c->in_open);
		return;
	}
	dlv_smtp_cmd(c, "QUIT");
	c->state = DLV_CS_QUIT;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/*
 * TLS failed: the handshake, or the session before it was ready (garbage
 * or a timeout inside TLS, the server gone; a 4xx or 5xx reply is the
 * host's answer, not this).  At level may (deliverd_tlspolicy.c) TLS is
 * opportunistic: the host is spoken to in plaintext for DLV_NOTLS_MS
 * (Postfix falls back after a TLS session failure too); the agent
 * reconnects.  Above may the host fails.
 */
static void
dlv_smtp_tls_fail(struct dlv_conn *c, const char *what, const char *why)
{
	struct dlv_host	*h = dlv_conn_host(c);
	char		 reason[BW_REPLY_TEXT_MAX];

	if (!dlv_tls_may_fallback(c)) {
		snprintf(reason, sizeof(reason), "%s failed: %s", what, why);
		dlv_smtp_tls_policy_fail(c, DLV_TLS_FAIL_HANDSHAKE, reason, 0);
		return;
	}
	dlv_env->c_tls_fail[DLV_TLS_FAIL_PLAINTEXT]++;
	h->notls_until = bw_now_ms() + DLV_NOTLS_MS;
	h->last_error_time = bw_time();
	h->tls_failed = 0;
	snprintf(h->last_error, sizeof(h->last_error), "%s: %s", what, why);
	log_info("domain=%s relay=%s %s failed (%s); retrying in plaintext",
	    c->agent->domain, c->relay, what, why);
	dlv_smtp_close(c, 1);
}

/* The host failed before the connection was ready: mark it down. */
static void
dlv_smtp_host_fail(struct dlv_conn *c, const char *why)
{
	struct dlv_agent	*a = c->agent;
	struct dlv_host		*h = dlv_conn_host(c);
	struct dlv_conn		*o;
	char			 esc[BW_REPLY_TEXT_MAX];
	int			 working = 0;

	h->last_error_time = bw_time();
	h->tls_failed = 0;
	snprintf(h->last_error, sizeof(h->last_error), "%s: %s",
	    dlv_conn_state_name(c->state), why);
	dlv_env->c_connect_failures++;
	dlv_nbh_refused(c, why);
	log_escape(esc, sizeof(esc), why, strlen(why));
	TAILQ_FOREACH(o, &a->conns, entry)
		if (o != c && o->host == c->host &&
		    o->state > DLV_CS_GREETING && o->state < DLV_CS_QUIT)
			working++;
	if (working > 0) {
		/*
		 * The host serves our other connections: it refuses one
		 * more, not us.  Good Neighbor's limit came down to what
		 * works; the host is not marked down (which could park a
		 * domain that accepts mail).
		 */
		log_info("domain=%s gateway=%s relay=%s refused another "
		    "connection at %s: %s; %d work, connection limit %d",
		    a->domain, a->gateway, c->relay,
		    dlv_conn_state_name(c->state), esc, working, a->nb.limit);
	} else {
		h->down_until = bw_now_ms() + DLV_HOST_DOWN_MS;
		log_info("domain=%s gateway=%s relay=%s host failed at %s: "
		    "%s", a->domain, a->gateway, c->relay,
		    dlv_conn_state_name(c->state), esc);
	}
	dlv_smtp_close(c, !c->in_open);
}

/* The relay text and the sockaddr of the address being tried. */
static int
dlv_smtp_sockaddr(struct dlv_conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct dlv_host		*h = dlv_conn_host(c);
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*addr = h->addrs[c->addr];

	memset(ss, 0, sizeof(*ss));
	snprintf(c->relay, sizeof(c->relay), "%s[%s]:%d", h->name, addr,
	    h->port);
	strlcpy(h->last_addr, addr, sizeof(h->last_addr));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)h->port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)h->port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* A source address of the gateway for this family (round robin). */
static int
dlv_smtp_source(struct dlv_agent *a, int family,
    struct sockaddr_storage *src, socklen_t *len)
{
	int	 i, n, k;

	if (a->gw == NULL || a->gw->nsources == 0)
		return 0;
	n = a->gw->nsources;
	for (i = 0; i < n; i++) {
		k = (int)((a->src_rr + (unsigned)i) % (unsigned)n);
		if (a->gw->sources[k].ss_family != family)
			continue;
		a->src_rr = (unsigned)k + 1;
		*src = a->gw->sources[k];
		if (family == AF_INET) {
			((struct sockaddr_in *)src)->sin_port = 0;
			*len = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)src)->sin6_port = 0;
			*len = sizeof(struct sockaddr_in6);
		}
		return 1;
	}
	return -1;
}

/* Start connecting to the current address, or the next ones; 0 or -1. */
static int
dlv_smtp_connect(struct dlv_conn *c, char *err, size_t errsz)
{
	struct dlv_host		*h = dlv_conn_host(c);
	struct sockaddr_storage	 ss, src;
	socklen_t		 sslen = 0, srclen = 0;
	int			 fd, have_src;

	for (; c->addr < h->naddrs; c->addr++) {
		if (dlv_smtp_sockaddr(c, &ss, &sslen) == -1) {
			snprintf(err, errsz, "bad address %s",
			    h->addrs[c->addr]);
			continue;
		}
		if ((have_src = dlv_smtp_source(c->agent, ss.ss_family, &src,
		    &srclen)) == -1) {
			snprintf(err, errsz, "gateway %s has no source address "
			    "of this family", c->agent->gateway);
			continue;
		}
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1) {
			snprintf(err, errsz, "socket: %s", strerror(errno));
			continue;
		}
		if (have_src &&
		    bind(fd, (struct sockaddr *)&src, srclen) == -1) {
			snprintf(err, errsz, "bind to the gateway's source "
			    "address: %s", strerror(errno));
			log_warnx("domain=%s gateway=%s: %s", c->agent->domain,
			    c->agent->gateway, err);
			close(fd);
			continue;
		}
		if ((c->bev = bufferevent_socket_new(dlv_env->base, fd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			close(fd);
			snprintf(err, errsz, "out of memory");
			continue;
		}
		bufferevent_setcb(c->bev, dlv_smtp_read_cb, dlv_smtp_write_cb,
		    dlv_smtp_event_cb, c);
		dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_CONNECT,
		    LIM_DELIVER_TIMEOUT_CONNECT);
		if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
		    (int)sslen) == -1) {
			snprintf(err, errsz, "connect: %s", strerror(errno));
			bufferevent_free(c->bev);
			c->bev = NULL;
			continue;
		}
		c->state = DLV_CS_CONNECTING;
		return 0;
	}
	return -1;
}

static void
dlv_smtp_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_conn	*c = arg;

	if (c->state != DLV_CS_IDLE)
		return;
	dlv_smtp_cmd(c, "QUIT");
	c->state = DLV_CS_QUIT;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/* A new connection to host h of the agent; NULL if it failed at once. */
struct dlv_conn *
dlv_smtp_open(struct dlv_agent *a, int h)
{
	struct dlv_conn	*c;
	char		 err[256];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	if ((c->idle_ev = evtimer_new(dlv_env->base, dlv_smtp_idle_cb,
	    c)) == NULL) {
		free(c);
		goto nomem;
	}
	if ((c->deadline_ev = evtimer_new(dlv_env->base, dlv_smtp_deadline_cb,
	    c)) == NULL) {
		event_free(c->idle_ev);
		free(c);
		goto nomem;
	}
	c->agent = a;
	c->cfg = config_ref(dlv_env->cfg);
	c->lim = a->lim;
	c->host = h;
	dlv_tls_want_for(a, h, &c->tlsinfo.want);
	dlv_reply_init(&c->reply);
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	a->nconns++;
	a->nsetup++;
	a->hosts[h].connections++;
	snprintf(err, sizeof(err), "no address");
	c->in_open = 1;
	if (dlv_smtp_connect(c, err, sizeof(err)) == -1) {
		dlv_smtp_host_fail(c, err);
		return NULL;
	}
	c->in_open = 0;
	return c;
nomem:
	log_warn("domain=%s: connection", a->domain);
	a->hosts[h].down_until = bw_now_ms() + DLV_HOST_DOWN_MS;
	return NULL;
}

/* No job for now: wait LIM_DELIVER_IDLE_KEEP for one. */
void
dlv_smtp_idle(struct dlv_conn *c)
{
	struct timeval	 tv;

	c->state = DLV_CS_IDLE;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	evtimer_del(c->deadline_ev);
	c->deadline_drain = 0;
	dlv_ms_tv(&tv, c->lim->v[LIM_DELIVER_IDLE_KEEP]);
	evtimer_add(c->idle_ev, &tv);
}

void
dlv_smtp_quit(struct dlv_conn *c)
{
	evtimer_del(c->idle_ev);
	dlv_smtp_cmd(c, "QUIT");
	c->state = DLV_CS_QUIT;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/* Setup done, or a transaction ended: take the next job or go idle. */
static void
dlv_smtp_ready(struct dlv_conn *c)
{
	if (!c->setup_done) {
		c->setup_done = 1;
		c->agent->nsetup--;
		dlv_nbh_ready(c);
		/* The host works (whatever a parallel attempt said). */
		dlv_conn_host(c)->down_until = 0;
		log_debug("domain=%s relay=%s ready tls=%d pipelining=%d "
		    "size=%llu", c->agent->domain, c->relay, c->tls,
		    c->ext.pipelining, (unsigned long long)c->ext.size_max);
	}
	if (c->nmsgs >= c->lim->v[LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION]) {
		dlv_smtp_cmd(c, "QUIT");
		c->state = DLV_CS_QUIT;
		dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
		    LIM_DELIVER_TIMEOUT_COMMAND);
		dlv_agent_conn_gone(c->agent, c);	/* open another */
		return;
	}
	c->state = DLV_CS_IDLE;
	dlv_agent_conn_ready(c->agent, c);
}

static void
dlv_smtp_rset(struct dlv_conn *c)
{
	dlv_smtp_cmd(c, "RSET");
	c->state = DLV_CS_RSET;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/* RCPT for the k-th recipient still to deliver. */
static void
dlv_smtp_rcpt(struct dlv_conn *c, uint32_t k)
{
	struct dlv_rcpt	*r = &c->job->rcpts[c->job->order[k]];
	char		 dsn[DLV_DSN_PARAMS_MAX];

	/* accepted with these, the next hop takes the DSN request over */
	r->dsn_passed = c->ext.dsn &&
	    dlv_dsn_rcpt_params(r->notify, r->orcpt, dsn, sizeof(dsn)) == 0;
	if (!r->dsn_passed)
		dsn[0] = '\0';
	dlv_smtp_cmd(c, "RCPT TO:<%s>%s", r->addr, dsn);
	c->sent++;
}

/*
 * BDAT chunks: with PIPELINING all that are left (first, only one: the
 * RCPT replies are not in), else one once the previous one is answered.
 */
static void
dlv_smtp_bdat_send(struct dlv_conn *c, int first)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 max = (size_t)c->lim->v[LIM_DELIVER_BDAT_CHUNK_SIZE];
	size_t		 before;
	size_t		 size = evbuffer_get_length(c->job->body);

	if (!c->ext.pipelining && c->chunks_sent > c->chunks_answered)
		return;
	do {
		if (c->chunks_sent > 0 && c->body_off == size)
			return;		/* LAST is out */
		before = c->body_off;
		if (dlv_body_bdat(out, c->job->body, &c->body_off, max) == -1) {
			dlv_smtp_fail(c, "out of memory");
			return;
		}
		c->chunks_sent++;
		dlv_debug_bdat(c, c->body_off - before, c->body_off == size);
		log_debug("domain=%s relay=%s > BDAT %zu%s", c->agent->domain,
		    c->relay, c->body_off - before,
		    c->body_off == size ? " LAST" : "");
	} while (c->ext.pipelining && !first);
}

/* Start a transaction for job j on an idle connection. */
void
dlv_smtp_job_start(struct dlv_conn *c, struct dlv_job *j)
{
	char		 params[64], dsn[DLV_DSN_PARAMS_MAX];
	uint32_t	 i;

	evtimer_del(c->idle_ev);
	c->job = j;
	strlcpy(j->relay, c->relay, sizeof(j->relay));
	dlv_tls_log_text(&c->tlsinfo, j->tls, sizeof(j->tls));
	if (c->nmsgs > 0)
		dlv_env->c_connections_reused++;
	else
		j->connections = 1;
	c->nmsgs++;
	if (c->ext.size_max > 0 && j->size > c->ext.size_max) {
		char reply[BW_REPLY_TEXT_MAX];

		snprintf(reply, sizeof(reply), "message size %llu exceeds "
		    "the limit of %s (%llu)", (unsigned long long)j->size,
		    c->relay, (unsigned long long)c->ext.size_max);
		dlv_job_set_rest(j, BW_DLV_PERMFAIL, "5.3.4", reply);
		dlv_smtp_job_done(c);
		dlv_smtp_ready(c);
		return;
	}
	if ((j->flags & BW_MSGF_BODY_BINARY) &&
	    (!c->ext.chunking || !c->ext.binarymime)) {
		char reply[BW_REPLY_TEXT_MAX];

		/* RFC 3030 3: no conversion of a binary body into lines */
		snprintf(reply, sizeof(reply), "%s does not offer BINARYMIME "
		    "and CHUNKING; the binary message cannot be converted",
		    c->relay);
		dlv_job_set_rest(j, BW_DLV_PERMFAIL, "5.6.3", reply);
		dlv_smtp_job_done(c);
		dlv_smtp_ready(c);
		return;
	}
	params[0] = '\0';
	if (c->ext.size)
		snprintf(params, sizeof(params), " SIZE=%llu",
		    (unsigned long long)j->size);
	if (j->flags & BW_MSGF_BODY_BINARY)
		strlcat(params, " BODY=BINARYMIME", sizeof(params));
	else if (c->ext.eightbitmime && (j->flags & BW_MSGF_8BITMIME))
		strlcat(params, " BODY=8BITMIME", sizeof(params));
	if (c->ext.smtputf8 && (j->flags & BW_MSGF_SMTPUTF8))
		strlcat(params, " SMTPUTF8", sizeof(params));
	c->sent = 0;
	c->replies = 0;
	c->naccepted = 0;
	c->mail_ok = 0;
	c->data_sent = 0;
	c->bdat = c->ext.chunking;
	c->body_off = 0;
	c->chunks_sent = 0;
	c->chunks_answered = 0;
	for (i = 0; i < j->nrcpt; i++)
		j->rcpts[i].accepted = 0;
	dlv_pace_slice(c, j);
	if (!c->ext.dsn ||
	    dlv_dsn_mail_params(j->dsn_ret, j->envid, dsn, sizeof(dsn)) == -1)
		dsn[0] = '\0';
	c->state = DLV_CS_MAIL;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
	dlv_smtp_cmd(c, "MAIL FROM:<%s>%s%s", j->sender, params, dsn);
	c->sent++;
	if (c->ext.pipelining) {
		for (i = 0; i < c->rcpt_count; i++)
			dlv_smtp_rcpt(c, c->rcpt_first + i);
		if (c->bdat)	/* RFC 3030 4.2: BDAT may be pipelined */
			dlv_smtp_bdat_send(c, 1);	/* may fail the job */
		else {
			/* RFC 2920 3.1: DATA may end the group. */
			dlv_smtp_cmd(c, "DATA");
			c->data_sent = 1;
		}
	}
}

/* The reply text, with the class's generic code where it has none. */
static void
dlv_smtp_result_all(struct dlv_conn *c, int accepted_only)
{
	struct dlv_job	*j = c->job;
	char		 dsn[BW_DSN_CODE_MAX];
	int		 st = dlv_reply_status(&c->reply);
	uint32_t	 i;

	dlv_reply_dsn(&c->reply, dsn, sizeof(dsn));
	if (!accepted_only) {	/* this transaction's recipients */
		for (i = 0; i < c->rcpt_count; i++)
			dlv_job_set_result(j, j->order[c->rcpt_first + i], st,
			    dsn, c->reply.text);
		return;
	}
	for (i = 0; i < j->nrcpt; i++)
		if (j->rcpts[i].accepted)
			dlv_job_set_result(j, i, st, dsn, c->reply.text);
}

/* A MAIL or RCPT reply (in order). */
static void
dlv_smtp_mail_reply(struct dlv_conn *c)
{
	struct dlv_job	*j = c->job;
	uint32_t	 idx = c->replies++;
	char		 dsn[BW_DSN_CODE_MAX];

	if (c->reply.code / 100 == 3) {
		/* MAIL and RCPT have no intermediate reply: out of step */
		dlv_smtp_fail(c, "unexpected 3xx reply to MAIL/RCPT");
		return;
	}
	if (idx == 0) {
		c->mail_ok = c->reply.code / 100 == 2;
		if (!c->mail_ok)
			dlv_smtp_result_all(c, 0);
	} else if (c->mail_ok && idx - 1 < c->rcpt_count) {
		uint32_t r = j->order[c->rcpt_first + idx - 1];

		if (c->reply.code / 100 == 2) {
			j->rcpts[r].accepted = 1;
			c->naccepted++;
		} else {
			dlv_reply_dsn(&c->reply, dsn, sizeof(dsn));
			dlv_job_set_result(j, r, dlv_reply_status(&c->reply),
			    dsn, c->reply.text);
		}
	}
	if (!c->ext.pipelining && c->mail_ok && idx < c->rcpt_count) {
		dlv_smtp_rcpt(c, c->rcpt_first + idx);
		return;
	}
	if (c->replies < c->sent)
		return;
	if (!c->mail_ok || c->naccepted == 0) {
		dlv_smtp_job_done(c);
		if (c->chunks_sent > 0) {
			/* Their replies (503 or 554, normally) are due. */
			c->state = DLV_CS_BDAT_DISCARD;
			dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_FINAL,
			    LIM_DELIVER_TIMEOUT_DATA_BLOCK);
		} else if (c->data_sent) {
			/* Its reply (503 or 554, normally) is still due. */
			c->state = DLV_CS_DATA_DISCARD;
			dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_INIT,
			    LIM_DELIVER_TIMEOUT_COMMAND);
		} else
			dlv_smtp_rset(c);
		return;
	}
	if (c->bdat) {
		c->state = DLV_CS_BDAT;
		dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_FINAL,
		    LIM_DELIVER_TIMEOUT_DATA_BLOCK);
		dlv_smtp_bdat_send(c, 0);
		return;
	}
	if (!c->data_sent)
		dlv_smtp_cmd(c, "DATA");
	c->state = DLV_CS_DATA;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_INIT,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/*
 * 354: the body, dot-stuffed, and the final dot.  Most bodies have no line
 * that starts with '.': they go out by reference to the job's buffer, not
 * copied (the job keeps it until the final reply).
 */
static void
dlv_smtp_body(struct dlv_conn *c)
{
	int	 stuffed;

	if (dlv_body_data(bufferevent_get_output(c->bev), c->job->body,
	    &stuffed) == -1) {
		dlv_smtp_fail(c, "out of memory");
		return;
	}
	log_debug("domain=%s relay=%s > (%llu body bytes%s) .",
	    c->agent->domain, c->relay, (unsigned long long)c->job->size,
	    stuffed ? ", dot-stuffed" : "");
	dlv_debug_data(c, (size_t)c->job->size);
	c->state = DLV_CS_BODY;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_FINAL,
	    LIM_DELIVER_TIMEOUT_DATA_BLOCK);
}

/*
 * A reply to a BDAT chunk (RFC 3030 2).  2xx: the next chunk, or after
 * LAST the recipients' results.  Else the transaction failed: the
 * accepted recipients get this reply, and the replies to chunks already
 * sent are awaited before RSET.
 */
static void
dlv_smtp_bdat_reply(struct dlv_conn *c)
{
	c->chunks_answered++;
	if (c->reply.code / 100 != 2) {
		dlv_smtp_result_all(c, 1);
		dlv_smtp_job_done(c);
		if (c->chunks_answered < c->chunks_sent)
			c->state = DLV_CS_BDAT_DISCARD;
		else
			dlv_smtp_rset(c);
		return;
	}
	if (c->chunks_answered == c->chunks_sent &&
	    c->body_off == evbuffer_get_length(c->job->body)) {
		dlv_smtp_result_all(c, 1);
		dlv_smtp_job_done(c);
		dlv_smtp_ready(c);
		return;
	}
	dlv_smtp_bdat_send(c, 0);
}

/* 220 to STARTTLS: put TLS under the connection. */
static void
dlv_smtp_tls_start(struct dlv_conn *c)
{
	struct bufferevent	*nb;
	SSL			*ssl;
	char			 why[PATH_MAX + 64];

	/* Failures from here on count as a failed handshake. */
	c->state = DLV_CS_TLS;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		dlv_smtp_fail(c, "data after the STARTTLS reply");
		return;
	}
	if ((ssl = dlv_tls_new(dlv_conn_host(c)->name, &c->tlsinfo.want, why,
	    sizeof(why))) == NULL) {
		if (dlv_tls_may_fallback(c))
			dlv_smtp_fail(c, why);
		else
			dlv_smtp_tls_policy_fail(c, DLV_TLS_FAIL_SETUP, why, 0);
		return;
	}
	if ((nb = bufferevent_openssl_filter_new(dlv_env->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		dlv_smtp_fail(c, "cannot start TLS");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(nb, 1);
	c->bev = nb;
	bufferevent_setcb(c->bev, dlv_smtp_read_cb, dlv_smtp_write_cb,
	    dlv_smtp_event_cb, c);
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static const char *
dlv_smtp_helo_name(struct dlv_conn *c)
{
	const struct bw_gateway_conf	*gw = c->agent->gw;

	if (gw != NULL && gw->helo[0] != '\0')
		return gw->helo;
	return dlv_env->cfg->hostname;
}

static void
dlv_smtp_ehlo(struct dlv_conn *c)
{
	memset(&c->ext, 0, sizeof(c->ext));
	dlv_smtp_cmd(c, "EHLO %s", dlv_smtp_helo_name(c));
	c->state = DLV_CS_EHLO;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
}

/*
 * A greeting or EHLO/HELO reply that names our own hostname: the server
 * is this gateway (behind an address we do not know as ours) or hands
 * everything back to it.  The host is not used again (deliverd_mx.c
 * decides between a backup MX and a loop); the connection QUITs.
 */
static int
dlv_smtp_self(struct dlv_conn *c, const char *what)
{
	char	 why[BW_DOMAIN_MAX + 64];

	if (!dlv_self_name(c->reply.text, dlv_env->cfg->hostname))
		return 0;
	snprintf(why, sizeof(why), "%s with my own hostname %s", what,
	    dlv_env->cfg->hostname);
	dlv_mx_self(c->agent, c->host, c->relay, why);
	dlv_smtp_cmd(c, "QUIT");
	c->state = DLV_CS_QUIT;
	dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_COMMAND,
	    LIM_DELIVER_TIMEOUT_COMMAND);
	return 1;
}

/* EHLO or HELO done: STARTTLS, plaintext, or the policy fails the host. */
static void
dlv_smtp_tls_decide(struct dlv_conn *c)
{
	char	 why[BW_REPLY_TEXT_MAX];

	switch (dlv_tls_ehlo(c, why, sizeof(why))) {
	case DLV_TLS_ACT_STARTTLS:
		dlv_smtp_cmd(c, "STARTTLS");
		c->state = DLV_CS_STARTTLS;
		break;
	case DLV_TLS_ACT_FAIL:
		dlv_smtp_tls_policy_fail(c, DLV_TLS_FAIL_NOT_OFFERED, why, 1);
		break;
	default:
		dlv_smtp_ready(c);
		break;
	}
}

/* STARTTLS answered without 220 where TLS is required. */
static void
dlv_smtp_tls_refused(struct dlv_conn *c)
{
	char	 why[BW_REPLY_TEXT_MAX + BW_DOMAIN_MAX + 64];

	snprintf(why, sizeof(why), "TLS required but STARTTLS refused by %s: "
	    "%s", dlv_conn_host(c)->name, c->reply.text);
	dlv_smtp_tls_policy_fail(c, DLV_TLS_FAIL_REFUSED, why, 1);
}

/* A complete reply in the current state. */
static void
dlv_smtp_reply(struct dlv_conn *c)
{
	int	 cls = c->reply.code / 100;

	switch (c->state) {
	case DLV_CS_GREETING:
		if (cls != 2) {
			dlv_smtp_host_fail(c, c->reply.text);
			return;
		}
		if (dlv_smtp_self(c, "greeted me"))
			return;
		dlv_smtp_ehlo(c);
		break;
	case DLV_CS_EHLO:
		if (cls == 2 && dlv_smtp_self(c, "replied to EHLO"))
			return;
		if (cls == 2) {
			c->ext.esmtp = 1;
			dlv_smtp_tls_decide(c);
		} else if (cls == 5) {
			memset(&c->ext, 0, sizeof(c->ext));
			dlv_smtp_cmd(c, "HELO %s", dlv_smtp_helo_name(c));
			c->state = DLV_CS_HELO;
		} else
			dlv_smtp_host_fail(c, c->reply.text);
		break;
	case DLV_CS_HELO:
		if (cls == 2 && dlv_smtp_self(c, "replied to HELO"))
			return;
		if (cls == 2)
			dlv_smtp_tls_decide(c);	/* no STARTTLS after HELO */
		else
			dlv_smtp_host_fail(c, c->reply.text);
		break;
	case DLV_CS_STARTTLS:
		if (c->reply.code == 220)
			dlv_smtp_tls_start(c);
		else if (dlv_tls_may_fallback(c))
			dlv_smtp_ready(c);	/* refused: plaintext */
		else
			dlv_smtp_tls_refused(c);
		break;
	case DLV_CS_MAIL:
		dlv_smtp_mail_reply(c);
		break;
	case DLV_CS_DATA:
		if (c->reply.code == 354) {
			dlv_smtp_body(c);
			break;
		}
		if (cls != 4 && cls != 5) {
			/* 2xx to DATA: the body was never sent */
			dlv_smtp_fail(c, "unexpected reply to DATA");
			break;
		}
		dlv_smtp_result_all(c, 1);
		dlv_smtp_job_done(c);
		dlv_smtp_rset(c);
		break;
	case DLV_CS_BODY:
		if (cls == 3) {
			dlv_smtp_fail(c, "unexpected 3xx reply to the end of "
			    "data");
			break;
		}
		dlv_smtp_result_all(c, 1);
		dlv_smtp_job_done(c);
		dlv_smtp_ready(c);
		break;
	case DLV_CS_DATA_DISCARD:
		if (c->reply.code == 354) {
			/* A server that takes DATA without recipients. */
			evbuffer_add(bufferevent_get_output(c->bev), ".\r\n",
			    3);
			dlv_debug_send(c, ".", 1);
			c->state = DLV_CS_DOT_DISCARD;
			dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_DATA_FINAL,
			    LIM_DELIVER_TIMEOUT_DATA_BLOCK);
		} else
			dlv_smtp_rset(c);
		break;
	case DLV_CS_DOT_DISCARD:
		dlv_smtp_rset(c);
		break;
	case DLV_CS_BDAT:
		if (cls == 3) {
			/* BDAT has no intermediate reply: out of step */
			dlv_smtp_fail(c, "unexpected 3xx reply to BDAT");
			break;
		}
		dlv_smtp_bdat_reply(c);
		break;
	case DLV_CS_BDAT_DISCARD:
		if (++c->chunks_answered >= c->chunks_sent)
			dlv_smtp_rset(c);
		break;
	case DLV_CS_RSET:
		if (cls == 2)
			dlv_smtp_ready(c);
		else {
			dlv_smtp_cmd(c, "QUIT");
			c->state = DLV_CS_QUIT;
		}
		break;
	case DLV_CS_QUIT:
		if (!c->quit_answered && c->bev != NULL) {
			/* the slot frees when the receiver has closed */
			struct timeval	 tv;

			c->quit_answered = 1;
			dlv_ms_tv(&tv, DLV_QUIT_LINGER_MS);
			bufferevent_set_timeouts(c->bev, &tv, &tv);
			c->reply_ms = DLV_QUIT_LINGER_MS;
			dlv_smtp_deadline(c);
			break;
		}
		dlv_smtp_close(c, 1);
		break;
	case DLV_CS_IDLE:	/* unsolicited, e.g. 421 before a timeout */
		dlv_smtp_close(c, 1);
		break;
	default:
		dlv_smtp_fail(c, "unexpected reply");
		break;
	}
}

static void
dlv_smtp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dlv_conn	*c = arg;
	struct evbuffer	*in;
	char		*line, esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	size_t		 n;
	int		 r;

	while (c->state != DLV_CS_CLOSED && c->state != DLV_CS_TLS &&
	    c->state != DLV_CS_CONNECTING) {
		in = bufferevent_get_input(c->bev);
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) ==
		    NULL) {
			if (evbuffer_get_length(in) > DLV_REPLY_LINE_MAX)
				dlv_smtp_fail(c, "reply line too long");
			return;
		}
		if (n > DLV_REPLY_LINE_MAX) {
			free(line);
			dlv_smtp_fail(c, "reply line too long");
			return;
		}
		dlv_debug_recv(c, line, n);
		if (log_get_verbose()) {
			log_escape(esc, sizeof(esc), line, n);
			log_debug("domain=%s relay=%s < %s", c->agent->domain,
			    c->relay, esc);
		}
		if (c->state == DLV_CS_EHLO && c->reply.nlines > 0)
			dlv_ehlo_line(&c->ext, line, n);
		r = dlv_reply_feed(&c->reply, line, n);
		free(line);
		if (r == DLV_REPLY_BAD) {
			dlv_smtp_fail(c, "malformed reply");
			return;
		}
		if (r == DLV_REPLY_MORE)
			continue;
		dlv_nbh_reply(c);
		dlv_smtp_reply(c);
		dlv_reply_init(&c->reply);
		/* the next pipelined reply gets a deadline of its own */
		if (c->state != DLV_CS_CLOSED && c->state != DLV_CS_IDLE &&
		    c->state != DLV_CS_TLS && c->state != DLV_CS_CONNECTING)
			dlv_smtp_deadline(c);
	}
}

/*
 * A connection failed (error, EOF, timeout, bad reply): before it was
 * ready the host is at fault; during a transaction its recipients get a
 * temporary failure.
 */
static void
dlv_smtp_fail(struct dlv_conn *c, const char *why)
{
	struct dlv_host	*h = dlv_conn_host(c);
	char		 err[256], reply[BW_REPLY_TEXT_MAX];

	dlv_debug_end(c, why);
	switch (c->state) {
	case DLV_CS_CLOSED:
		return;
	case DLV_CS_CONNECTING:
		snprintf(h->last_error, sizeof(h->last_error), "connect: %s",
		    why);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		c->bev = NULL;
		if (c->addr + 1 < h->naddrs) {
			c->addr++;
			if (dlv_smtp_connect(c, err, sizeof(err)) == 0)
				return;
		}
		dlv_smtp_host_fail(c, why);
		return;
	case DLV_CS_TLS:
		dlv_smtp_tls_fail(c, "TLS handshake", why);
		return;
	case DLV_CS_GREETING:
	case DLV_CS_EHLO:
	case DLV_CS_HELO:
	case DLV_CS_STARTTLS:
		/* a reply (4xx, 5xx) is the host's answer; a broken session
		 * under TLS may be TLS's fault */
		if (c->tls)
			dlv_smtp_tls_fail(c, "TLS session", why);
		else
			dlv_smtp_host_fail(c, why);
		return;
	case DLV_CS_QUIT:
	case DLV_CS_IDLE:
	case DLV_CS_RSET:
		dlv_smtp_close(c, 1);
		return;
	default:
		break;
	}
	if (c->job != NULL) {
		snprintf(reply, sizeof(reply), "lost connection with %s "
		    "during %s: %s", c->relay, dlv_conn_state_name(c->state),
		    why);
		dlv_job_set_rest(c->job, BW_DLV_TEMPFAIL, "4.4.2", reply);
		h->last_error_time = bw_time();
		strlcpy(h->last_error, reply, sizeof(h->last_error));
		dlv_smtp_job_done(c);
	}
	dlv_smtp_close(c, 1);
}

static void
dlv_smtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dlv_conn	*c = arg;
	char		 why[256];
	unsigned long	 e;
	enum dlv_tls_fail kind;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == DLV_CS_CONNECTING) {
			dlv_env->c_connections_opened++;
			c->state = DLV_CS_GREETING;
			dlv_debug_connect(c);
			dlv_smtp_timeouts(c, LIM_DELIVER_TIMEOUT_GREETING,
			    LIM_DELIVER_TIMEOUT_COMMAND);
			bufferevent_enable(c->bev, EV_READ | EV_WRITE);
			return;
		}
		if (c->state == DLV_CS_TLS) {
			dlv_env->c_tls_sessions++;
			c->tls = 1;
			dlv_debug_tls(c);
			if (dlv_tls_check(c, bufferevent_openssl_get_ssl(c->bev),
			    &kind, why, sizeof(why)) == -1) {
				dlv_smtp_tls_policy_fail(c, kind, why, 1);
				return;
			}
			log_debug("domain=%s relay=%s TLS %s cipher=%s "
			    "verify=%s", c->agent->domain, c->relay,
			    c->tlsinfo.version, c->tlsinfo.cipher,
			    c->tlsinfo.verify);
			dlv_smtp_ehlo(c);
			return;
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the server");
	else if (c->state == DLV_CS_TLS &&
	    (e = bufferevent_get_openssl_error(c->bev)) != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	dlv_smtp_fail(c, why);
}

/* Close now; a job on it: temporary failure (if queued can hear it). */
void
dlv_smtp_abort(struct dlv_conn *c, const char *why)
{
	struct dlv_job	*j;

	if ((j = c->job) != NULL) {
		c->job = NULL;
		if (bw_peer_is_up(dlv_env->queued)) {
			dlv_job_set_rest(j, BW_DLV_TEMPFAIL, "4.3.0", why);
			dlv_job_finish(j, 0, why);
		} else
			dlv_job_free(j);
	}
	dlv_smtp_close(c, 0);
}
