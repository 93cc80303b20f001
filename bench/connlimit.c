/*
 * bench/connlimit.c: a connection-gating TCP front for a benchmark SMTP
 * receiver (bench/relay --neighbor).  Listens on 127.0.0.1:PORT; a
 * connection while MAX sessions are open gets "421 4.7.0 too many
 * connections" and is closed (MAX 0: no limit); any other is relayed to
 * 127.0.0.1:UPSTREAM (smtp-sink) by two threads that copy bytes, the
 * server's side each read delayed by DELAY_MS (a receiver some way off:
 * each reply costs a round trip, so connections matter).
 *
 * A session counts from its accept until either side closes it: when the
 * sink has closed after its 221 the receiver's session is over, as a real
 * receiver counts it, even if the client has not closed yet.
 *
 * One line per event on stdout, flushed: "open N" (sessions now), "421",
 * "close N".  Built by bench/relay with cc -O2 -pthread; never installed.
 *
 *     connlimit PORT UPSTREAM MAX DELAY_MS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CL_BUF		65536	/* bytes per copy */
#define CL_BACKLOG	1024

static int		 cl_upstream, cl_max, cl_delay_ms;
static int		 cl_open;
static pthread_mutex_t	 cl_lock = PTHREAD_MUTEX_INITIALIZER;

struct cl_pipe {
	int		 from, to;
	int		 delay;
	struct cl_conn	*conn;
};

struct cl_conn {
	int		 client, server;
	int		 done;		/* directions finished */
	int		 counted;	/* still in cl_open */
	struct cl_pipe	 up, down;
};

static void
cl_event(const char *what, int n)
{
	pthread_mutex_lock(&cl_lock);
	if (n >= 0)
		printf("%s %d\n", what, n);
	else
		printf("%s\n", what);
	fflush(stdout);
	pthread_mutex_unlock(&cl_lock);
}

static void
cl_sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *
cl_copy(void *arg)
{
	struct cl_pipe	*p = arg;
	struct cl_conn	*c = p->conn;
	char		*buf = malloc(CL_BUF);
	ssize_t		 n, off, w;
	int		 last, left;

	while (buf != NULL && (n = read(p->from, buf, CL_BUF)) > 0) {
		if (p->delay > 0)
			cl_sleep_ms(p->delay);
		for (off = 0; off < n; off += w)
			if ((w = write(p->to, buf + off, (size_t)(n - off))) <= 0)
				goto out;
	}
out:
	free(buf);
	/*
	 * The count drops before the other side learns of the close (as a
	 * receiver's process ends the session, then the socket): the other
	 * way round a sender that waited for our close and reconnected at
	 * once raced the decrement and met a 421 no real receiver gives.
	 */
	pthread_mutex_lock(&cl_lock);
	left = -1;
	if (c->counted) {	/* the first side closed: the session ends */
		c->counted = 0;
		left = --cl_open;
	}
	pthread_mutex_unlock(&cl_lock);
	shutdown(p->to, SHUT_WR);
	shutdown(p->from, SHUT_RD);
	pthread_mutex_lock(&cl_lock);	/* then the last one frees */
	last = ++c->done == 2;
	pthread_mutex_unlock(&cl_lock);
	if (left >= 0)
		cl_event("close", left);
	if (last) {
		close(c->client);
		close(c->server);
		free(c);
	}
	return NULL;
}

static int
cl_connect_upstream(void)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)cl_upstream);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
cl_serve(int fd)
{
	static const char	 busy[] = "421 4.7.0 too many connections\r\n";
	struct cl_conn		*c;
	pthread_t		 t1, t2;
	pthread_attr_t		 attr;
	int			 n, one = 1;

	pthread_mutex_lock(&cl_lock);
	if (cl_max > 0 && cl_open >= cl_max) {
		pthread_mutex_unlock(&cl_lock);
		(void)write(fd, busy, sizeof(busy) - 1);
		close(fd);
		cl_event("421", -1);
		return;
	}
	n = ++cl_open;
	pthread_mutex_unlock(&cl_lock);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->server = cl_connect_upstream()) == -1) {
		free(c);
		close(fd);
		pthread_mutex_lock(&cl_lock);
		n = --cl_open;
		pthread_mutex_unlock(&cl_lock);
		cl_event("upstream-failed", n);
		return;
	}
	c->client = fd;
	c->counted = 1;
	c->up = (struct cl_pipe){ fd, c->server, 0, c };
	c->down = (struct cl_pipe){ c->server, fd, cl_delay_ms, c };
	cl_event("open", n);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_create(&t1, &attr, cl_copy, &c->up);
	pthread_create(&t2, &attr, cl_copy, &c->down);
	pthread_attr_destroy(&attr);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	int			 ls, fd, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: connlimit PORT UPSTREAM MAX DELAY_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	cl_upstream = atoi(argv[2]);
	cl_max = atoi(argv[3]);
	cl_delay_ms = atoi(argv[4]);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, CL_BACKLOG) == -1) {
		perror("connlimit: bind/listen");
		return 1;
	}
	cl_event("listening", atoi(argv[1]));
	for (;;) {
		if ((fd = accept(ls, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("connlimit: accept");
			return 1;
		}
		cl_serve(fd);
	}
}
