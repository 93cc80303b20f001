/*
 * Listening sockets: bound (and TLS keys loaded) before the privilege drop,
 * accepted on with evconnlistener afterwards.  Each listener has one socket
 * per worker, all bound with SO_REUSEPORT to the same address: the kernel
 * spreads new connections over them, each worker accepts on its own, and
 * the supervisor keeps every socket so that a worker started again after
 * a crash gets the same one (what waited in its backlog meanwhile is
 * served then, not reset).  Each accepted connection is checked against
 * the worker's share of smtpd_max_connections before a session exists;
 * over it the client gets one 421 line and the socket is closed (a limit
 * close).  smtpd_max_connections_per_ip is counted by queued, the counter
 * owner, during admission (smtpd_admit.c, smtpd_hostcount.c).
 *
 * Trust: the peer address comes from accept(); nothing else is read here.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

#define SMTPD_LISTEN_BACKLOG	1024
#define SMTPD_ACCEPT_PAUSE_MS	100	/* after EMFILE/ENFILE */

/* Refuse a connection with one line; best effort, never blocks. */
static void
smtpd_refuse(struct smtpd_env *env, int fd, const char *reply)
{
	char	 buf[BW_DOMAIN_MAX + 160];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%s\r\n", reply);
	/* best effort: a client gone or not reading just misses it */
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(fd, buf, (size_t)n);
	close(fd);
	env->c.limit_closes++;
}

/*
 * No Nagle on sessions: replies are already written once per loop turn
 * (smtpd_session_flush_cb), but a pipelined MAIL waits for queued, so its
 * 250 goes out alone and the RCPT and DATA replies follow a moment later.
 * Nagle held that second segment until the client acknowledged the first,
 * and a client waiting for all three replies acknowledges only on its
 * delayed-ACK timer: 40 ms per pipelined transaction (measured with a
 * pipelining client: 44 ms per message, 0.9 ms without pipelining).
 */
static void
smtpd_nodelay(int fd)
{
	int	 on = 1;

	/* not TCP (a test's socketpair) or refused: Nagle stays, no harm */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
smtpd_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtpd_listener	*l = arg;
	struct smtpd_env	*env = l->env;
	char			 reply[BW_DOMAIN_MAX + 128];

	if (env->d.shutting_down) {
		close(fd);
		return;
	}
	if (env->nsessions >= smtpd_worker_max_connections(env)) {
		log_info("listener=%s refused: too many connections (%lu)",
		    l->conf->name, env->nsessions);
		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many "
		    "connections, try again later", env->d.cfg->hostname);
		smtpd_refuse(env, fd, reply);
		return;
	}
	smtpd_nodelay(fd);
	smtpd_session_new(l, fd, sa, (socklen_t)salen);
}

static void
smtpd_accept_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_listener	*l = arg;

	evconnlistener_enable(l->evl);
}

/* EMFILE and friends: stop accepting for a moment instead of spinning. */
static void
smtpd_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct smtpd_listener	*l = arg;
	struct timeval		 tv = { 0, SMTPD_ACCEPT_PAUSE_MS * 1000 };

	log_warn("listener=%s accept", l->conf->name);
	evconnlistener_disable(evl);
	evtimer_add(l->ev_resume, &tv);
}

/*
 * The worker's share of smtpd_max_connections, rounded up: the sockets
 * of the workers get connections by a hash of the client's address and
 * port, so the shares fill about evenly.
 */
unsigned long
smtpd_worker_max_connections(const struct smtpd_env *env)
{
	unsigned long long	 max;
	int			 n = env->nworkers > 0 ? env->nworkers : 1;

	max = BW_LIMIT(env->d.cfg, LIM_SMTPD_MAX_CONNECTIONS);
	return (unsigned long)((max + (unsigned long long)n - 1) / n);
}

/* Bind one socket of a listener (SO_REUSEPORT: one per worker); -1
 * logged. */
static int
smtpd_listener_bind(struct smtpd_listener *l)
{
	struct addrinfo	 hints, *res = NULL;
	char		 port[16];
	int		 fd = -1, on = 1, r;
	const char	*addr = l->conf->address;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", l->conf->port);
	if (addr[0] == '\0' || strcmp(addr, "*") == 0)
		addr = NULL;
	if ((r = getaddrinfo(addr, port, &hints, &res)) != 0) {
		log_warnx("listener=%s address %s: %s", l->conf->name,
		    l->conf->address, gai_strerror(r));
		return -1;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol))
	    == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, SMTPD_LISTEN_BACKLOG) == -1 || bw_set_nonblock(fd) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	log_warn("listener=%s bind %s port %d", l->conf->name,
	    l->conf->address, l->conf->port);
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/* One listener's text for the log. */
static void
smtpd_listener_log(const struct bw_listener_conf *lc, const char *what)
{
	log_info("listener=%s address=%s port=%d type=%s tls=%s%s", lc->name,
	    lc->address, lc->port, lc->public ? "public" : "private",
	    lc->tls == BW_TLS_NONE ? "none" :
	    lc->tls == BW_TLS_STARTTLS ? "starttls" : "implicit", what);
}

/* Bind a listener for lc and load its TLS context; NULL logged. */
struct smtpd_listener *
smtpd_listener_new(struct smtpd_env *env, const struct bw_config *cfg,
    struct bw_listener_conf *lc)
{
	struct smtpd_listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("listener=%s", lc->name);
		return NULL;
	}
	l->env = env;
	l->conf = lc;
	l->fd = -1;
	if (env->worker >= 0) {
		/* a worker's reload: its own socket only */
		if ((l->fd = smtpd_listener_bind(l)) == -1)
			goto fail;
	} else {
		if ((l->worker_fds = calloc(env->nworkers, sizeof(int))) ==
		    NULL) {
			log_warn("listener=%s", lc->name);
			goto fail;
		}
		for (; l->nworker_fds < env->nworkers; l->nworker_fds++)
			if ((l->worker_fds[l->nworker_fds] =
			    smtpd_listener_bind(l)) == -1)
				goto fail;
	}
	if (lc->tls != BW_TLS_NONE &&
	    (l->ssl_ctx = smtpd_tls_ctx_new(cfg, lc)) == NULL)
		goto fail;
	return l;
fail:
	smtpd_listener_free(l);
	return NULL;
}

/* The supervisor's sockets of l, closed. */
static void
smtpd_listener_close_worker_fds(struct smtpd_listener *l)
{
	int	 i;

	for (i = 0; i < l->nworker_fds; i++)
		if (l->worker_fds[i] != -1)
			close(l->worker_fds[i]);
	free(l->worker_fds);
	l->worker_fds = NULL;
	l->nworker_fds = 0;
}

/* 1 when fd still listens: a reload in an earlier worker of this slot
 * may have shut it down (smtpd_listener_stop). */
static int
smtpd_listener_listening(int fd)
{
	int		 on = 0;
	socklen_t	 len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
	    on != 0;
}

/*
 * In a new worker: keep this worker's socket of each listener, close the
 * others (they are the other workers').  A socket that no longer listens
 * belongs to a listener a reload removed; the listener is dropped here
 * and the worker asks controld for the configuration anyway.
 */
void
smtpd_listeners_take(struct smtpd_env *env, int worker)
{
	struct smtpd_listener	*l, *next;

	for (l = TAILQ_FIRST(&env->listeners); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (worker < l->nworker_fds) {
			l->fd = l->worker_fds[worker];
			l->worker_fds[worker] = -1;
		}
		smtpd_listener_close_worker_fds(l);
		if (l->fd == -1 || !smtpd_listener_listening(l->fd)) {
			log_info("listener=%s: removed by an earlier reload, "
			    "not started", l->conf->name);
			TAILQ_REMOVE(&env->listeners, l, entry);
			smtpd_listener_free(l);
		}
	}
}

/* Unprivileged, with an event base: start accepting on l. */
int
smtpd_listener_start(struct smtpd_listener *l)
{
	l->evl = evconnlistener_new(l->env->d.base, smtpd_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
	if (l->evl == NULL) {
		log_warnx("listener=%s: evconnlistener_new failed",
		    l->conf->name);
		return -1;
	}
	l->fd = -1;	/* owned by evl now */
	evconnlistener_set_error_cb(l->evl, smtpd_accept_error_cb);
	if ((l->ev_resume = evtimer_new(l->env->d.base,
	    smtpd_accept_resume_cb, l)) == NULL)
		return -1;
	return 0;
}

/* Stop accepting: the socket closes, sessions already open go on. */
void
smtpd_listener_stop(struct smtpd_listener *l)
{
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	l->evl = NULL;
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->ev_resume != NULL)
		event_free(l->ev_resume);
	l->ev_resume = NULL;
}

void
smtpd_listener_free(struct smtpd_listener *l)
{
	smtpd_listener_stop(l);
	smtpd_listener_close_worker_fds(l);
	if (l->ssl_ctx != NULL)
		SSL_CTX_free(l->ssl_ctx);
	config_unref(l->cfg_hold);
	free(l);
}

/*
 * A session of l ended: a listener removed by a reload goes with its last
 * session (its sessions still read its conf and TLS context).
 */
void
smtpd_listener_session_gone(struct smtpd_listener *l)
{
	if (l->nsessions > 0)
		l->nsessions--;
	if (l->retired && l->nsessions == 0) {
		TAILQ_REMOVE(&l->env->retired_listeners, l, entry);
		log_info("listener=%s: last session ended, removed",
		    l->conf->name);
		smtpd_listener_free(l);
	}
}

/* Privileged: bind every listener and load its TLS context. */
int
smtpd_listeners_open(struct smtpd_env *env)
{
	struct bw_listener_conf	*lc;
	struct smtpd_listener	*l;

	TAILQ_FOREACH(lc, &env->d.cfg->listeners, entry) {
		if ((l = smtpd_listener_new(env, env->d.cfg, lc)) == NULL)
			return -1;
		TAILQ_INSERT_TAIL(&env->listeners, l, entry);
		smtpd_listener_log(lc, "");
	}
	if (TAILQ_EMPTY(&env->listeners))
		log_warnx("no listener configured");
	return 0;
}

/* Unprivileged, with an event base: start accepting. */
int
smtpd_listeners_start(struct smtpd_env *env)
{
	struct smtpd_listener	*l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (smtpd_listener_start(l) == -1)
			return -1;
	return 0;
}

void
smtpd_listeners_close(struct smtpd_env *env)
{
	struct smtpd_listener	*l;

	while ((l = TAILQ_FIRST(&env->listeners)) != NULL) {
		TAILQ_REMOVE(&env->listeners, l, entry);
		smtpd_listener_free(l);
	}
	while ((l = TAILQ_FIRST(&env->retired_listeners)) != NULL) {
		TAILQ_REMOVE(&env->retired_listeners, l, entry);
		smtpd_listener_free(l);
	}
}

/*
 * Reload: listeners of nc matched to running ones by address and port
 * keep their socket (and their TLS context: the key files are outside
 * the chroot, so TLS settings of a running listener change at a restart);
 * new ones are bound now -- all or nothing, so a port that cannot be bound
 * (below 1024 after the privilege drop, or in use) refuses the reload;
 * running ones no longer named stop accepting and go with their last
 * session.
 */
static struct smtpd_listener *
smtpd_listener_match(struct smtpd_env *env, const struct bw_listener_conf *nl,
    struct smtpd_listener **matched, size_t nmatched)
{
	struct smtpd_listener	*l;
	size_t			 i;

	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (strcmp(l->conf->address, nl->address) != 0 ||
		    l->conf->port != nl->port)
			continue;
		for (i = 0; i < nmatched; i++)
			if (matched[i] == l)
				break;
		if (i == nmatched)
			return l;
	}
	return NULL;
}

static const char *
smtpd_listener_cert(const struct bw_config *cfg,
    const struct bw_listener_conf *lc, int key)
{
	if (key)
		return lc->tls_key[0] != '\0' ? lc->tls_key : cfg->tls_key;
	return lc->tls_cert[0] != '\0' ? lc->tls_cert : cfg->tls_cert;
}

/* A kept listener's TLS stays what it was loaded with. */
static void
smtpd_listener_keep_tls(struct bw_listener_conf *nl,
    const struct bw_config *nc, const struct smtpd_listener *l,
    const struct bw_config *oc)
{
	const struct bw_listener_conf	*ol = l->conf;

	if (nl->tls == ol->tls &&
	    strcmp(smtpd_listener_cert(nc, nl, 0),
	    smtpd_listener_cert(oc, ol, 0)) == 0 &&
	    strcmp(smtpd_listener_cert(nc, nl, 1),
	    smtpd_listener_cert(oc, ol, 1)) == 0)
		return;
	log_warnx("reload: listener=%s: TLS mode or key files changed: they "
	    "take effect at the next restart of smtpd; keeping tls=%s",
	    nl->name, ol->tls == BW_TLS_NONE ? "none" :
	    ol->tls == BW_TLS_STARTTLS ? "starttls" : "implicit");
	nl->tls = ol->tls;
	strlcpy(nl->tls_cert, smtpd_listener_cert(oc, ol, 0),
	    sizeof(nl->tls_cert));
	strlcpy(nl->tls_key, smtpd_listener_cert(oc, ol, 1),
	    sizeof(nl->tls_key));
}

int
smtpd_listeners_reload(struct smtpd_env *env, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz)
{
	struct smtpd_listener	*matched[BW_CONFIG_LISTENERS_MAX];
	struct smtpd_listener	*added[BW_CONFIG_LISTENERS_MAX];
	struct smtpd_listener	*l, *next;
	struct bw_listener_conf	*nl;
	size_t			 nmatched = 0, nadded = 0, i;

	TAILQ_FOREACH(nl, &nc->listeners, entry) {
		if (nmatched >= BW_CONFIG_LISTENERS_MAX)
			break;
		if ((l = smtpd_listener_match(env, nl, matched,
		    nmatched)) != NULL) {
			matched[nmatched++] = l;
			continue;
		}
		matched[nmatched++] = NULL;
		if ((l = smtpd_listener_new(env, nc, nl)) == NULL ||
		    smtpd_listener_start(l) == -1) {
			snprintf(err, errsz, "listener %s: cannot listen on "
			    "%s port %d (see the log; a port below 1024 or TLS "
			    "keys outside the chroot need a restart of smtpd)",
			    nl->name, nl->address, nl->port);
			if (l != NULL)
				smtpd_listener_free(l);
			for (i = 0; i < nadded; i++)
				smtpd_listener_free(added[i]);
			return -1;
		}
		added[nadded++] = l;
	}
	/* Everything could be bound: switch. */
	i = 0;
	TAILQ_FOREACH(nl, &nc->listeners, entry) {
		if (i >= nmatched)
			break;
		if ((l = matched[i++]) == NULL)
			continue;
		smtpd_listener_keep_tls(nl, nc, l, oc);
		l->conf = nl;
	}
	for (l = TAILQ_FIRST(&env->listeners); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		for (i = 0; i < nmatched; i++)
			if (matched[i] == l)
				break;
		if (i < nmatched)
			continue;
		TAILQ_REMOVE(&env->listeners, l, entry);
		/*
		 * The supervisor holds the same socket for this worker's
		 * slot: shutdown() ends the listening for both, so that
		 * connections the kernel would still hand to it are refused
		 * instead of waiting in a backlog nobody accepts from.
		 */
		if (l->evl != NULL)
			(void)shutdown(evconnlistener_get_fd(l->evl),
			    SHUT_RDWR);
		smtpd_listener_stop(l);
		smtpd_listener_log(l->conf, " removed by reload");
		if (l->nsessions == 0) {
			smtpd_listener_free(l);
			continue;
		}
		/* its conf lives in the configuration being replaced */
		l->cfg_hold = config_ref(oc);
		l->retired = 1;
		TAILQ_INSERT_TAIL(&env->retired_listeners, l, entry);
	}
	for (i = 0; i < nadded; i++) {
		TAILQ_INSERT_TAIL(&env->listeners, added[i], entry);
		smtpd_listener_log(added[i]->conf, " added by reload");
	}
	return 0;
}
