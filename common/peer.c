/*
 * Connections between Breakwater processes: listen, accept, HELLO and role
 * checks, catalog checks, reconnect with backoff.  See peer.h.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "util.h"

#define PEER_LISTEN_BACKLOG	128
#define PEER_ROLE_SLOTS		8	/* bits of enum bw_role */

struct bw_peer {
	TAILQ_ENTRY(bw_peer)	 entry;		/* in its listener */
	struct event_base	*base;
	struct bw_peer_listener	*listener;	/* NULL: client side */
	int			 fd;
	struct bw_ibuf		 ibuf;
	struct event		*ev_read;
	struct event		*ev_write;	/* armed while a write was short */
	struct event		*ev_flush;	/* active: frames wait to go out */
	struct event		*ev_timer;	/* HELLO timeout or reconnect */
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int			 my_role;
	int			 role;		/* the other side's */
	uint32_t		 my_worker;
	uint32_t		 worker;
	pid_t			 pid;
	uid_t			 uid;
	uint32_t		 id;
	int			 connected;	/* socket open */
	int			 up;		/* HELLO seen */
	int			 dead;		/* freed soon */
	int			 failing;	/* connect errors already logged */
	unsigned int		 gen;		/* bumped on every disconnect */
	unsigned int		 backoff_ms;
	bw_peer_msg_cb		 msg_cb;
	bw_peer_state_cb	 state_cb;
	void			*arg;
	void			*data;
};
TAILQ_HEAD(bw_peer_list, bw_peer);

struct bw_peer_listener {
	struct event_base	*base;
	int			 fd;
	struct event		*ev;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int			 allowed_roles;
	bw_peer_msg_cb		 msg_cb;
	bw_peer_state_cb	 state_cb;
	void			*arg;
	struct bw_peer_list	 peers;
};

static uid_t	 role_uids[PEER_ROLE_SLOTS];
static int	 role_uid_set[PEER_ROLE_SLOTS];
static uint32_t	 peer_next_id = 1;

static void	 peer_read_cb(evutil_socket_t, short, void *);
static void	 peer_write_cb(evutil_socket_t, short, void *);
static void	 peer_client_try(struct bw_peer *);
static void	 peer_reconnect_cb(evutil_socket_t, short, void *);

struct event_base *
bw_event_base_new(void)
{
	struct event_config	*ecfg;
	struct event_base	*base;

	if ((ecfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	return base;
}

static int
role_slot(int role)
{
	int	 i;

	for (i = 0; i < PEER_ROLE_SLOTS; i++)
		if (role == (1 << i))
			return i;
	return -1;
}

void
bw_peer_role_uid(int role, uid_t uid)
{
	int	 slot = role_slot(role);

	if (slot == -1)
		return;
	role_uids[slot] = uid;
	role_uid_set[slot] = 1;
}

/*
 * May a process running as uid speak for role?  bwctl is the exception:
 * any local user may reach control.sock that its mode lets through, and
 * controld checks the admin group itself.
 */
static int
peer_uid_allowed(int role, uid_t uid)
{
	int	 slot = role_slot(role);

	if (role == BW_ROLE_BWCTL)
		return 1;
	if (slot != -1 && role_uid_set[slot])
		return uid == role_uids[slot];
	return uid == geteuid() || uid == 0;
}

static const char *
peer_name(const struct bw_peer *p)
{
	return p->up ? bw_role_name(p->role) : "peer";
}

static void
peer_free_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_peer	*p = arg;

	if (p->ev_timer != NULL)
		event_free(p->ev_timer);
	free(p);
}

/* Close the socket and forget the stream; callbacks are the caller's. */
static void
peer_disconnect(struct bw_peer *p)
{
	if (!p->connected)
		return;
	event_free(p->ev_read);
	event_free(p->ev_write);
	event_free(p->ev_flush);
	p->ev_read = p->ev_write = p->ev_flush = NULL;
	if (p->ev_timer != NULL)
		evtimer_del(p->ev_timer);
	bw_ibuf_clear(&p->ibuf);
	close(p->fd);
	p->fd = -1;
	p->connected = 0;
	p->gen++;
}

static void
peer_schedule_free(struct bw_peer *p)
{
	struct timeval	 now = { 0, 0 };

	p->dead = 1;
	if (p->listener != NULL) {
		TAILQ_REMOVE(&p->listener->peers, p, entry);
		p->listener = NULL;
	}
	if (event_base_once(p->base, -1, EV_TIMEOUT, peer_free_cb, p,
	    &now) == -1)
		log_warnx("peer: cannot schedule free; leaking one peer");
}

static void
peer_schedule_reconnect(struct bw_peer *p)
{
	struct timeval	 tv;

	tv.tv_sec = p->backoff_ms / 1000;
	tv.tv_usec = (p->backoff_ms % 1000) * 1000;
	evtimer_add(p->ev_timer, &tv);
	p->backoff_ms *= 2;
	if (p->backoff_ms > BW_PEER_BACKOFF_MAX_MS)
		p->backoff_ms = BW_PEER_BACKOFF_MAX_MS;
}

enum peer_log_level {
	PEER_LOG_DEBUG,		/* an expected close */
	PEER_LOG_INFO,
	PEER_LOG_WARN,		/* the peer broke the protocol */
};

static void
peer_drop(struct bw_peer *p, const char *reason, int level)
{
	int	 was_up = p->up;

	if (p->dead || !p->connected)
		return;
	if (level == PEER_LOG_DEBUG)
		log_debug("%s pid=%ld: %s", peer_name(p), (long)p->pid,
		    reason);
	else if (level == PEER_LOG_WARN)
		log_warnx("%s pid=%ld dropped: %s", peer_name(p),
		    (long)p->pid, reason);
	else if (p->listener != NULL)
		log_info("%s pid=%ld dropped: %s", peer_name(p),
		    (long)p->pid, reason);
	else
		log_info("connection to %s lost: %s", p->path, reason);
	peer_disconnect(p);
	p->up = 0;
	if (p->listener != NULL) {
		bw_peer_state_cb cb = p->state_cb;
		void		*arg = p->arg;

		peer_schedule_free(p);
		if (was_up && cb != NULL)
			cb(p, 0, arg);
		return;
	}
	p->failing = 0;
	evtimer_assign(p->ev_timer, p->base, peer_reconnect_cb, p);
	peer_schedule_reconnect(p);
	if (was_up && p->state_cb != NULL)
		p->state_cb(p, 0, p->arg);
}

void
bw_peer_drop(struct bw_peer *p, const char *reason)
{
	peer_drop(p, reason, PEER_LOG_INFO);
}

void
bw_peer_close(struct bw_peer *p)
{
	if (p == NULL || p->dead)
		return;
	peer_disconnect(p);
	p->up = 0;
	if (p->ev_timer != NULL)
		evtimer_del(p->ev_timer);
	peer_schedule_free(p);
}

static void
peer_hello_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	bw_peer_drop(arg, "no HELLO in time");
}

static void
peer_reconnect_cb(evutil_socket_t fd, short ev, void *arg)
{
	peer_client_try(arg);
}

/* Set up the events of a connected socket and queue our HELLO. */
static int
peer_attach(struct bw_peer *p, int fd)
{
	struct bw_hello	 hello;
	struct timeval	 tv = { BW_PEER_HELLO_TIMEOUT_S, 0 };

	if (bw_ibuf_init(&p->ibuf, fd) == -1)
		return -1;
	p->fd = fd;
	p->ev_read = event_new(p->base, fd, EV_READ | EV_PERSIST,
	    peer_read_cb, p);
	p->ev_write = event_new(p->base, fd, EV_WRITE, peer_write_cb, p);
	p->ev_flush = event_new(p->base, -1, 0, peer_write_cb, p);
	if (p->ev_read == NULL || p->ev_write == NULL || p->ev_flush == NULL) {
		if (p->ev_read != NULL)
			event_free(p->ev_read);
		if (p->ev_write != NULL)
			event_free(p->ev_write);
		if (p->ev_flush != NULL)
			event_free(p->ev_flush);
		p->ev_read = p->ev_write = p->ev_flush = NULL;
		bw_ibuf_clear(&p->ibuf);
		return -1;
	}
	p->connected = 1;
	memset(&hello, 0, sizeof(hello));
	hello.version = BW_IMSG_VERSION;
	hello.role = (uint32_t)p->my_role;
	hello.pid = (uint32_t)getpid();
	hello.worker = p->my_worker;
	if (bw_ibuf_compose(&p->ibuf, BW_IMSG_HELLO, 0, -1, &hello,
	    sizeof(hello)) == -1) {
		peer_disconnect(p);
		return -1;
	}
	event_add(p->ev_read, NULL);
	event_add(p->ev_write, NULL);
	evtimer_assign(p->ev_timer, p->base, peer_hello_timeout_cb, p);
	evtimer_add(p->ev_timer, &tv);
	return 0;
}

/* The first frame: HELLO with our version and a role this socket serves. */
static int
peer_hello(struct bw_peer *p, struct bw_imsg *imsg, const char **why)
{
	struct bw_hello	 hello;
	int		 allowed;

	if (imsg->hdr.type != BW_IMSG_HELLO ||
	    imsg->datalen != sizeof(hello)) {
		*why = "first frame is not HELLO";
		return -1;
	}
	memcpy(&hello, imsg->data, sizeof(hello));
	if (hello.version != BW_IMSG_VERSION) {
		*why = "protocol version mismatch";
		return -1;
	}
	allowed = p->listener != NULL ? p->listener->allowed_roles :
	    BW_ROLE_ANY;
	if (role_slot((int)hello.role) == -1 ||
	    (allowed & (int)hello.role) == 0) {
		*why = "role not served on this socket";
		return -1;
	}
	/*
	 * The server's uid is checked only where one is registered: the
	 * socket lives in a root-owned runtime directory.
	 */
	if ((p->listener != NULL || role_uid_set[role_slot((int)hello.role)]) &&
	    !peer_uid_allowed((int)hello.role, p->uid)) {
		*why = "uid not allowed for this role";
		return -1;
	}
	p->role = (int)hello.role;
	p->worker = hello.worker;
	return 0;
}

static void
peer_frame(struct bw_peer *p, struct bw_imsg *imsg)
{
	char		 reason[128];
	const char	*why;
	int		 r;

	if (!p->up) {
		if (peer_hello(p, imsg, &why) == -1) {
			if (imsg->fd != -1)
				close(imsg->fd);
			snprintf(reason, sizeof(reason), "%s (uid=%ld)", why,
			    (long)p->uid);
			peer_drop(p, reason, PEER_LOG_WARN);
			return;
		}
		evtimer_del(p->ev_timer);
		p->up = 1;
		p->failing = 0;
		p->backoff_ms = BW_PEER_BACKOFF_MIN_MS;
		if (p->listener == NULL)
			log_info("connected to %s (%s pid=%ld)", p->path,
			    bw_role_name(p->role), (long)p->pid);
		if (p->state_cb != NULL)
			p->state_cb(p, 1, p->arg);
		return;
	}
	if ((r = bw_imsg_check(imsg->hdr.type, p->role, imsg->datalen)) !=
	    BW_IMSG_OK) {
		if (imsg->fd != -1)
			close(imsg->fd);
		snprintf(reason, sizeof(reason), "bad frame: %s: type=%u "
		    "len=%zu", bw_imsg_check_name(r), imsg->hdr.type,
		    imsg->datalen);
		peer_drop(p, reason, PEER_LOG_WARN);
		return;
	}
	p->msg_cb(p, imsg, p->arg);
	/*
	 * A handler that keeps the passed descriptor sets imsg->fd to -1;
	 * any other is closed here, so a peer cannot fill our descriptor
	 * table by attaching them to frames that take none.
	 */
	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
}

static void
peer_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_peer	*p = arg;
	struct bw_imsg	 imsg;
	unsigned int	 gen = p->gen;
	char		 reason[128];
	ssize_t		 n;
	int		 r;

	n = bw_ibuf_read(&p->ibuf);
	if (n == 0) {
		/* every bwctl command ends this way: not worth a log line */
		peer_drop(p, "connection closed", p->role == BW_ROLE_BWCTL ?
		    PEER_LOG_DEBUG : PEER_LOG_INFO);
		return;
	}
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(reason, sizeof(reason), "read: %s", strerror(errno));
		bw_peer_drop(p, reason);
		return;
	}
	while (!p->dead && p->gen == gen &&
	    (r = bw_ibuf_get(&p->ibuf, &imsg)) != 0) {
		if (r == -1) {
			snprintf(reason, sizeof(reason), "malformed frame: %s",
			    errno == ENOENT ? "descriptor missing" :
			    "length or flags out of range");
			peer_drop(p, reason, PEER_LOG_WARN);
			return;
		}
		peer_frame(p, &imsg);
	}
}

/*
 * Write what is queued: from ev_flush, once per event-loop turn in which
 * frames were composed, straight to the socket; from ev_write when an
 * earlier write was short.  Arming EV_WRITE for every burst cost two
 * epoll_ctl and one more loop turn per burst (several per message).
 */
static void
peer_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_peer	*p = arg;
	char		 reason[128];
	int		 r;

	if (ev != EV_WRITE && event_pending(p->ev_write, EV_WRITE, NULL))
		return;		/* a short write is waiting for room */
	if ((r = bw_ibuf_write(&p->ibuf)) == -1) {
		snprintf(reason, sizeof(reason), "write: %s", strerror(errno));
		bw_peer_drop(p, reason);
		return;
	}
	if (r == 0)
		event_add(p->ev_write, NULL);
}

static void
peer_accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct bw_peer_listener	*l = arg;
	struct bw_peer		*p;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept on %s", l->path);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
			log_warn("SO_PEERCRED on %s", l->path);
			close(fd);
			continue;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (p->ev_timer = evtimer_new(l->base, peer_hello_timeout_cb,
		    p)) == NULL) {
			log_warn("accept on %s", l->path);
			free(p);
			close(fd);
			continue;
		}
		p->base = l->base;
		p->listener = l;
		p->pid = cred.pid;
		p->uid = cred.uid;
		p->id = peer_next_id++;
		p->msg_cb = l->msg_cb;
		p->state_cb = l->state_cb;
		p->arg = l->arg;
		strlcpy(p->path, l->path, sizeof(p->path));
		/* a server answers HELLO with the role of the listening side */
		p->my_role = bw_role_from_name(log_procname());
		if (peer_attach(p, fd) == -1) {
			log_warn("accept on %s", l->path);
			event_free(p->ev_timer);
			free(p);
			close(fd);
			continue;
		}
		TAILQ_INSERT_TAIL(&l->peers, p, entry);
	}
}

struct bw_peer_listener *
bw_peer_listen(struct event_base *base, const char *path, int allowed_roles,
    mode_t mode, gid_t gid, bw_peer_msg_cb msg_cb, bw_peer_state_cb state_cb,
    void *arg)
{
	struct bw_peer_listener	*l;
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* a stale socket from a previous run; never remove anything else */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return NULL;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, mode) == -1 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) ||
	    listen(fd, PEER_LISTEN_BACKLOG) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return NULL;
	}
	l->base = base;
	l->fd = fd;
	strlcpy(l->path, path, sizeof(l->path));
	l->allowed_roles = allowed_roles;
	l->msg_cb = msg_cb;
	l->state_cb = state_cb;
	l->arg = arg;
	TAILQ_INIT(&l->peers);
	if ((l->ev = event_new(base, fd, EV_READ | EV_PERSIST, peer_accept_cb,
	    l)) == NULL) {
		close(fd);
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	event_add(l->ev, NULL);
	return l;
}

void
bw_peer_listener_close(struct bw_peer_listener *l)
{
	struct bw_peer	*p;

	if (l == NULL)
		return;
	/* each peer's owner frees its per-connection state on the down call */
	while ((p = TAILQ_FIRST(&l->peers)) != NULL) {
		if (p->up && p->state_cb != NULL) {
			p->up = 0;
			p->state_cb(p, 0, p->arg);
		}
		bw_peer_close(p);
	}
	event_free(l->ev);
	close(l->fd);
	unlink(l->path);
	free(l);
}

static void
peer_client_try(struct bw_peer *p)
{
	struct sockaddr_un	 sun;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, p->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		/* log the first failure of a series, not every retry */
		if (!p->failing)
			log_info("cannot connect to %s: %s; retrying",
			    p->path, strerror(errno));
		p->failing = 1;
		if (fd != -1)
			close(fd);
		evtimer_assign(p->ev_timer, p->base, peer_reconnect_cb, p);
		peer_schedule_reconnect(p);
		return;
	}
	p->pid = cred.pid;
	p->uid = cred.uid;
	if (peer_attach(p, fd) == -1) {
		log_warn("connect to %s", p->path);
		close(fd);
		evtimer_assign(p->ev_timer, p->base, peer_reconnect_cb, p);
		peer_schedule_reconnect(p);
	}
}

struct bw_peer *
bw_peer_connect(struct event_base *base, const char *path, int my_role,
    uint32_t worker, bw_peer_msg_cb msg_cb, bw_peer_state_cb state_cb,
    void *arg)
{
	struct bw_peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (strlcpy(p->path, path, sizeof(p->path)) >= sizeof(p->path)) {
		free(p);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((p->ev_timer = evtimer_new(base, peer_reconnect_cb, p)) == NULL) {
		free(p);
		return NULL;
	}
	p->base = base;
	p->fd = -1;
	p->my_role = my_role;
	p->my_worker = worker;
	p->id = peer_next_id++;
	p->backoff_ms = BW_PEER_BACKOFF_MIN_MS;
	p->msg_cb = msg_cb;
	p->state_cb = state_cb;
	p->arg = arg;
	peer_client_try(p);
	return p;
}

/* After a lost connection the timer is re-armed for reconnecting. */
int
bw_peer_send2(struct bw_peer *p, uint32_t type, uint32_t peerid, int fd,
    const void *d1, size_t l1, const void *d2, size_t l2)
{
	char	 reason[96];

	if (p == NULL || !p->up || p->dead) {
		if (fd != -1)
			close(fd);
		errno = ENOTCONN;
		return -1;
	}
	if (p->ibuf.wqueued + l1 + l2 > BW_PEER_WQUEUE_MAX) {
		if (fd != -1)
			close(fd);
		snprintf(reason, sizeof(reason),
		    "more than %d bytes unsent", BW_PEER_WQUEUE_MAX);
		bw_peer_drop(p, reason);
		errno = ENOBUFS;
		return -1;
	}
	if (bw_ibuf_compose2(&p->ibuf, type, peerid, fd, d1, l1, d2, l2) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!event_pending(p->ev_write, EV_WRITE, NULL))
		event_active(p->ev_flush, EV_TIMEOUT, 0);
	return 0;
}

int
bw_peer_send(struct bw_peer *p, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	return bw_peer_send2(p, type, peerid, fd, data, len, NULL, 0);
}

int
bw_peer_flush(struct bw_peer *p, int timeout_ms)
{
	struct pollfd	 pfd;
	uint64_t	 deadline = bw_now_ms() + (uint64_t)timeout_ms, now;
	int		 r;

	if (p == NULL || !p->connected || p->dead)
		return -1;
	for (;;) {
		if ((r = bw_ibuf_write(&p->ibuf)) == 1)
			return 0;
		if (r == -1 || (now = bw_now_ms()) >= deadline)
			return -1;
		pfd.fd = p->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			return -1;
	}
}

int
bw_peer_is_up(const struct bw_peer *p)
{
	return p != NULL && p->up && !p->dead;
}

int
bw_peer_role(const struct bw_peer *p)
{
	return p->role;
}

pid_t
bw_peer_pid(const struct bw_peer *p)
{
	return p->pid;
}

uint32_t
bw_peer_worker(const struct bw_peer *p)
{
	return p->worker;
}

uint32_t
bw_peer_id(const struct bw_peer *p)
{
	return p->id;
}

size_t
bw_peer_wpending(const struct bw_peer *p)
{
	return p->connected ? p->ibuf.wqueued : 0;
}

void *
bw_peer_get_data(const struct bw_peer *p)
{
	return p->data;
}

void
bw_peer_set_data(struct bw_peer *p, void *data)
{
	p->data = data;
}
