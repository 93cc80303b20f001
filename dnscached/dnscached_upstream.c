/*
 * Upstream transport: one struct dns_upstream per distinct question in
 * flight.  Each attempt sends the query from a fresh UDP socket (the kernel
 * picks a random source port) with a fresh random id (RAND_bytes), to
 * server attempt % nservers; an answer is accepted only from that server's
 * address, with that id and our question.  A truncated answer (TC) is
 * asked again over TCP to the same server.  A timeout, SERVFAIL, REFUSED
 * or socket error moves on to the next attempt; DNS_TRIES_PER_SERVER
 * attempts per server within dns_query_deadline in all.
 *
 * Trust: none for packets (see dnscached_parse.c).  A forged or broken
 * datagram is counted (malformed, mismatched) and dropped, and the attempt
 * keeps waiting for the real answer; on TCP, where the stream cannot be
 * resynchronised, it ends the attempt.
 *
 * Limits: dns_attempt_timeout (config) per attempt, DNS_UDP_READS_PER_CB
 * datagrams per read callback, DNS_TCP_MSG_MAX per TCP answer.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "util.h"
#include "dnscached.h"

#define DNS_UDP_READS_PER_CB	16	/* datagrams read per callback */
#define DNS_PORT_DEFAULT	"53"
#define DNS_RESOLV_LINE_MAX	512	/* resolv.conf line */

struct dns_upstream {
	TAILQ_ENTRY(dns_upstream) entry;
	uint16_t		 qtype;
	uint16_t		 qflags;	/* BW_DNS_QF_* */
	char			 name[BW_DOMAIN_MAX + 1];
	dns_upstream_done_fn	 done;
	void			*arg;
	uint64_t		 deadline_ms;
	unsigned int		 attempt;	/* attempts begun */
	unsigned int		 maxattempts;
	unsigned int		 ntimeouts;
	unsigned int		 nservfail;
	unsigned int		 nformerr;
	/* the attempt under way */
	int			 active;
	int			 tcp;
	size_t			 server;
	uint16_t		 id;
	uint8_t			*wire;
	size_t			 wirelen;
	int			 fd;		/* UDP */
	struct event		*ev_read;	/* UDP */
	struct bufferevent	*bev;		/* TCP */
	struct event		*timer;
};
TAILQ_HEAD(dns_upstream_list, dns_upstream);

static struct dns_upstream_list	 dns_upstreams =
    TAILQ_HEAD_INITIALIZER(dns_upstreams);

static void	 dns_upstream_next(struct dns_upstream *);
static int	 dns_upstream_tcp(struct dns_upstream *);

/* ---- server list ---- */

static void
dns_server_text(struct dns_server *s)
{
	char	 host[BW_HOSTADDR_MAX], port[8];

	if (getnameinfo((struct sockaddr *)&s->ss, s->sslen, host,
	    sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strlcpy(s->text, "?", sizeof(s->text));
		return;
	}
	snprintf(s->text, sizeof(s->text), s->ss.ss_family == AF_INET6 ?
	    "[%s]:%s" : "%s:%s", host, port);
}

/* "ADDR", "ADDR:PORT", "[V6ADDR]:PORT" or a bare IPv6 address; 0 or -1. */
int
dns_server_parse(const char *text, struct dns_server *s)
{
	struct addrinfo	 hints, *res = NULL;
	char		 buf[BW_HOSTADDR_MAX + 8], *host, *port = NULL, *p;
	int		 error;

	if (strlcpy(buf, text, sizeof(buf)) >= sizeof(buf))
		return -1;
	host = buf;
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) == NULL)
			return -1;
		*p++ = '\0';
		host = buf + 1;
		if (*p == ':')
			port = p + 1;
		else if (*p != '\0')
			return -1;
	} else if ((p = strchr(buf, ':')) != NULL && strchr(p + 1, ':') ==
	    NULL) {
		*p = '\0';
		port = p + 1;
	}
	if (port != NULL && *port == '\0')
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port ? port : DNS_PORT_DEFAULT, &hints,
	    &res)) != 0 || res == NULL)
		return -1;
	memset(s, 0, sizeof(*s));
	if (res->ai_addrlen > sizeof(s->ss)) {
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&s->ss, res->ai_addr, res->ai_addrlen);
	s->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	dns_server_text(s);
	return 0;
}

/* "nameserver ADDR" lines; returns how many were read (0..max). */
int
dns_servers_from_resolv_conf(const char *path, struct dns_server *s,
    size_t max)
{
	FILE	*f;
	char	 line[DNS_RESOLV_LINE_MAX], *p, *addr;
	size_t	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "nameserver", 10) != 0 ||
		    (line[10] != ' ' && line[10] != '\t'))
			continue;
		addr = line + 10;
		addr += strspn(addr, " \t");
		p = addr + strcspn(addr, " \t\r\n#;");
		*p = '\0';
		if (*addr == '\0' || dns_server_parse(addr, &s[n]) == -1) {
			log_warnx("%s: ignoring nameserver line", path);
			continue;
		}
		n++;
	}
	fclose(f);
	return (int)n;
}

static int
dns_sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return 0;
}

/* ---- one attempt ---- */

static const struct dns_server *
dns_upstream_server(const struct dns_upstream *u)
{
	return &dns_env->servers[u->server];
}

/* Close whatever the current attempt holds. */
static void
dns_upstream_attempt_end(struct dns_upstream *u)
{
	if (u->ev_read != NULL) {
		event_free(u->ev_read);
		u->ev_read = NULL;
	}
	if (u->fd != -1) {
		close(u->fd);
		u->fd = -1;
	}
	if (u->bev != NULL) {
		bufferevent_free(u->bev);
		u->bev = NULL;
	}
	free(u->wire);
	u->wire = NULL;
	u->active = 0;
	u->tcp = 0;
}

static void
dns_upstream_free(struct dns_upstream *u)
{
	dns_upstream_attempt_end(u);
	event_free(u->timer);
	TAILQ_REMOVE(&dns_upstreams, u, entry);
	dns_env->c_inflight--;
	free(u);
}

/* Report the result and free the upstream. */
static void
dns_upstream_finish(struct dns_upstream *u, const struct dns_result *res)
{
	dns_upstream_attempt_end(u);
	u->done(u->arg, res);
	dns_upstream_free(u);
}

/* Every attempt failed: TIMEOUT if they all timed out, else the failure. */
static void
dns_upstream_fail(struct dns_upstream *u)
{
	struct dns_result	 res;

	memset(&res, 0, offsetof(struct dns_result, rr));
	if (u->nservfail == 0 && u->nformerr == 0 && u->ntimeouts > 0)
		res.status = BW_DNS_TIMEOUT;
	else if (u->nformerr > 0 && u->nservfail == 0)
		res.status = BW_DNS_FORMERR;
	else
		res.status = BW_DNS_SERVFAIL;
	log_info("dns lookup failed name=%s type=%s status=%s attempts=%u "
	    "timeouts=%u servfail=%u", u->name, dns_qtype_name(u->qtype),
	    bw_dns_status_name((int)res.status), u->attempt, u->ntimeouts,
	    u->nservfail);
	dns_upstream_finish(u, &res);
}

static void
dns_upstream_arm(struct dns_upstream *u, uint64_t ms)
{
	struct timeval	 tv;
	uint64_t	 now = bw_now_ms();

	if (now + ms > u->deadline_ms)
		ms = u->deadline_ms > now ? u->deadline_ms - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(u->timer, &tv);
}

/*
 * Records whose text was cut (a TLSA record of absurd size, a huge TXT):
 * one line per answer from upstream, which the cache then holds for its
 * TTL, so a hostile zone cannot make us log per lookup.  The record goes
 * to the client flagged BW_DNS_RRF_TRUNCATED; what that means is the
 * client's (deliverd treats such a TLSA record as unusable).
 */
static void
dns_upstream_cut_note(const struct dns_upstream *u,
    const struct dns_result *res)
{
	uint32_t	 i, ncut = 0;

	for (i = 0; i < res->nrr; i++)
		if (res->rr[i].flags & BW_DNS_RRF_TRUNCATED)
			ncut++;
	if (ncut == 0)
		return;
	dns_env->c_rdata_cut += ncut;
	log_warnx("dns answer name=%s type=%s: %u record%s longer than %d "
	    "octets of text, cut (unusable as %s)", u->name,
	    dns_qtype_name(u->qtype), ncut, ncut == 1 ? "" : "s",
	    BW_DNS_RDATA_TEXT_MAX - 1, u->qtype == BW_DNS_T_TLSA ?
	    "TLSA" : "it was");
}

/*
 * What a parsed packet means for the attempt.  Returns 1 when the upstream
 * is finished (freed), 0 when the attempt goes on waiting, -1 when the
 * attempt failed and the next one should start.
 */
static int
dns_upstream_handle(struct dns_upstream *u, const uint8_t *pkt, size_t len)
{
	struct dns_result	 res;
	enum dns_parse_code	 code;

	code = dns_answer_parse(pkt, len, u->id, u->qtype, u->name, &res);
	if (code != DNS_PARSE_OK)
		log_debug("dns answer name=%s type=%s server=%s tcp=%d: %s",
		    u->name, dns_qtype_name(u->qtype),
		    dns_upstream_server(u)->text, u->tcp,
		    dns_parse_code_name(code));
	switch (code) {
	case DNS_PARSE_OK:
		if (!(u->qflags & BW_DNS_QF_DNSSEC))
			res.flags &= ~DNS_RESF_AD;
		dns_upstream_cut_note(u, &res);
		dns_upstream_finish(u, &res);
		return 1;
	case DNS_PARSE_MALFORMED:
		dns_env->c_malformed++;
		return u->tcp ? -1 : 0;
	case DNS_PARSE_MISMATCH:
		dns_env->c_mismatched++;
		return u->tcp ? -1 : 0;
	case DNS_PARSE_TRUNCATED:
		if (u->tcp) {
			dns_env->c_malformed++;
			return -1;
		}
		dns_env->c_tcp_fallbacks++;
		if (dns_upstream_tcp(u) == -1) {
			dns_env->c_upstream_errors++;
			return -1;
		}
		return 0;
	case DNS_PARSE_FORMERR:
		dns_env->c_upstream_errors++;
		u->nformerr++;
		return -1;
	case DNS_PARSE_SERVFAIL:
		dns_env->c_upstream_errors++;
		u->nservfail++;
		return -1;
	}
	return -1;
}

static void
dns_upstream_udp_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_upstream	*u = arg;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	static uint8_t		 buf[DNS_UDP_RECV_MAX];
	ssize_t			 n;
	int			 i, r;

	for (i = 0; i < DNS_UDP_READS_PER_CB; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ECONNREFUSED: an ICMP port unreachable */
			log_debug("dns udp name=%s server=%s: %s", u->name,
			    dns_upstream_server(u)->text, strerror(errno));
			dns_env->c_upstream_errors++;
			u->nservfail++;
			dns_upstream_attempt_end(u);
			dns_upstream_next(u);
			return;
		}
		if (!dns_sa_equal(&from, &dns_upstream_server(u)->ss)) {
			dns_env->c_mismatched++;
			continue;
		}
		if ((r = dns_upstream_handle(u, buf, (size_t)n)) == 1)
			return;
		if (r == -1) {
			dns_upstream_attempt_end(u);
			dns_upstream_next(u);
			return;
		}
		if (u->tcp)	/* switched to TCP: the UDP socket is gone */
			return;
	}
}

static int
dns_upstream_udp(struct dns_upstream *u)
{
	const struct dns_server	*s = dns_upstream_server(u);
	uint8_t			 rnd[2];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		log_warnx("dns: RAND_bytes failed");
		return -1;
	}
	u->id = (uint16_t)(rnd[0] << 8 | rnd[1]);
	if (dns_query_build(u->id, u->qtype, u->qflags, u->name, &u->wire,
	    &u->wirelen) == -1) {
		log_warnx("dns: cannot build query name=%s", u->name);
		return -1;
	}
	/* A new socket per attempt: a new random source port. */
	if ((u->fd = socket(s->ss.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    bw_set_nonblock(u->fd) == -1 ||
	    connect(u->fd, (const struct sockaddr *)&s->ss, s->sslen) == -1 ||
	    send(u->fd, u->wire, u->wirelen, 0) != (ssize_t)u->wirelen) {
		log_warn("dns udp to %s", s->text);
		goto fail;
	}
	if ((u->ev_read = event_new(dns_env->d.base, u->fd, EV_READ | EV_PERSIST,
	    dns_upstream_udp_cb, u)) == NULL || event_add(u->ev_read,
	    NULL) == -1) {
		log_warnx("dns udp: cannot add event");
		goto fail;
	}
	dns_env->c_upstream_queries++;
	u->active = 1;
	dns_upstream_arm(u, (uint64_t)BW_LIMIT(dns_env->d.cfg,
	    LIM_DNS_ATTEMPT_TIMEOUT));
	log_debug("dns query name=%s type=%s%s server=%s id=%u attempt=%u",
	    u->name, dns_qtype_name(u->qtype), (u->qflags &
	    BW_DNS_QF_DNSSEC) ? " dnssec" : "", s->text, u->id, u->attempt);
	return 0;
fail:
	dns_upstream_attempt_end(u);
	return -1;
}

static void
dns_upstream_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_upstream	*u = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	uint8_t			 lenb[2], *pkt;
	size_t			 msglen;
	int			 r;

	if (evbuffer_get_length(in) < 2)
		return;
	evbuffer_copyout(in, lenb, 2);
	msglen = (size_t)lenb[0] << 8 | lenb[1];
	if (evbuffer_get_length(in) < 2 + msglen)
		return;
	if ((pkt = evbuffer_pullup(in, (ev_ssize_t)(2 + msglen))) == NULL)
		r = -1;
	else
		r = dns_upstream_handle(u, pkt + 2, msglen);
	if (r == 1)
		return;
	/* TCP carries one answer; anything but the right one ends it. */
	dns_upstream_attempt_end(u);
	dns_upstream_next(u);
}

static void
dns_upstream_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_upstream	*u = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	log_debug("dns tcp name=%s server=%s: %s", u->name,
	    dns_upstream_server(u)->text,
	    (what & BEV_EVENT_EOF) ? "connection closed" : "error");
	dns_env->c_upstream_errors++;
	u->nservfail++;
	dns_upstream_attempt_end(u);
	dns_upstream_next(u);
}

/* Ask the same server the same question over TCP. */
static int
dns_upstream_tcp(struct dns_upstream *u)
{
	const struct dns_server	*s = dns_upstream_server(u);
	uint8_t			 lenb[2];

	if (u->ev_read != NULL) {
		event_free(u->ev_read);
		u->ev_read = NULL;
	}
	if (u->fd != -1) {
		close(u->fd);
		u->fd = -1;
	}
	u->tcp = 1;
	lenb[0] = (uint8_t)(u->wirelen >> 8);
	lenb[1] = (uint8_t)u->wirelen;
	if ((u->bev = bufferevent_socket_new(dns_env->d.base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return -1;
	bufferevent_setcb(u->bev, dns_upstream_tcp_read_cb, NULL,
	    dns_upstream_tcp_event_cb, u);
	bufferevent_setwatermark(u->bev, EV_READ, 0, 2 + DNS_TCP_MSG_MAX);
	if (bufferevent_write(u->bev, lenb, 2) == -1 ||
	    bufferevent_write(u->bev, u->wire, u->wirelen) == -1 ||
	    bufferevent_enable(u->bev, EV_READ | EV_WRITE) == -1 ||
	    bufferevent_socket_connect(u->bev, (const struct sockaddr *)&s->ss,
	    (int)s->sslen) == -1) {
		log_warnx("dns tcp to %s: cannot connect", s->text);
		return -1;	/* the caller's attempt_end frees u->bev */
	}
	dns_env->c_upstream_queries++;
	dns_upstream_arm(u, (uint64_t)BW_LIMIT(dns_env->d.cfg,
	    LIM_DNS_ATTEMPT_TIMEOUT));
	log_debug("dns query name=%s type=%s server=%s id=%u tcp", u->name,
	    dns_qtype_name(u->qtype), s->text, u->id);
	return 0;
}

/* Start the next attempt, or give up. */
static void
dns_upstream_next(struct dns_upstream *u)
{
	while (u->attempt < u->maxattempts && bw_now_ms() < u->deadline_ms) {
		u->server = u->attempt % dns_env->nservers;
		u->attempt++;
		if (dns_upstream_udp(u) == 0)
			return;
		dns_env->c_upstream_errors++;
		u->nservfail++;
	}
	dns_upstream_fail(u);
}

/* The attempt timed out (or, before the first attempt, it is time to go). */
static void
dns_upstream_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_upstream	*u = arg;

	if (u->active) {
		log_debug("dns timeout name=%s type=%s server=%s tcp=%d",
		    u->name, dns_qtype_name(u->qtype),
		    dns_upstream_server(u)->text, u->tcp);
		dns_env->c_timeouts++;
		u->ntimeouts++;
		dns_upstream_attempt_end(u);
	}
	dns_upstream_next(u);
}

/*
 * Start resolving; the first attempt begins from a zero-delay timer so
 * that done never runs under the caller.  NULL when out of memory.
 */
struct dns_upstream *
dns_upstream_start(uint16_t qtype, uint16_t qflags, const char *name,
    dns_upstream_done_fn done, void *arg)
{
	struct dns_upstream	*u;
	struct timeval		 tv = { 0, 0 };

	if (dns_env->nservers == 0 || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if ((u->timer = evtimer_new(dns_env->d.base, dns_upstream_timer_cb,
	    u)) == NULL) {
		free(u);
		return NULL;
	}
	u->qtype = qtype;
	u->qflags = qflags;
	strlcpy(u->name, name, sizeof(u->name));
	u->done = done;
	u->arg = arg;
	u->fd = -1;
	u->maxattempts = (unsigned int)(dns_env->nservers *
	    DNS_TRIES_PER_SERVER);
	u->deadline_ms = bw_now_ms() +
	    (uint64_t)BW_LIMIT(dns_env->d.cfg, LIM_DNS_QUERY_DEADLINE);
	TAILQ_INSERT_TAIL(&dns_upstreams, u, entry);
	dns_env->c_inflight++;
	evtimer_add(u->timer, &tv);
	return u;
}

/* Forget an upstream without calling done. */
void
dns_upstream_cancel(struct dns_upstream *u)
{
	dns_upstream_free(u);
}

void
dns_upstream_cancel_all(void)
{
	struct dns_upstream	*u;

	while ((u = TAILQ_FIRST(&dns_upstreams)) != NULL)
		dns_upstream_free(u);
}
