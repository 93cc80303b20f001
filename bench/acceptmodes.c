/*
 * bench/acceptmodes.c: two ways to share a listener between worker
 * processes, measured the same way (issue 14, smtpd_workers):
 *
 *   reuseport  each worker has its own socket bound with SO_REUSEPORT; the
 *              kernel hashes each connection to one (what smtpd does);
 *   pass       one process accepts and passes each descriptor to a worker
 *              over a Unix socket (SCM_RIGHTS), round robin.
 *
 * A worker answers each connection with one 220 line and closes it.  The
 * client (in this program, one epoll loop) keeps CONNS connections in
 * flight from 16 source addresses 127.0.80.x for SECONDS, each connect,
 * banner, close.  Printed, one line: mode, connections per second, the
 * server side's CPU per connection (user + system of the acceptor and the
 * workers, from their rusage), and how the connections spread over the
 * workers (min / max share).
 *
 *     acceptmodes MODE WORKERS PORT SECONDS CONNS
 *
 * Built by hand (cc -O2 -o acceptmodes bench/acceptmodes.c); never
 * installed.  bench/README.md has the results.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AM_WORKERS_MAX	64
#define AM_CONNS_MAX	4096
#define AM_SOURCES	16
#define AM_BACKLOG	1024
#define AM_BANNER	"220 acceptmodes ready\r\n"
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static volatile sig_atomic_t	 am_stop;

static void
am_on_term(int sig)
{
	(void)sig;
	am_stop = 1;
}

static void
am_die(const char *what)
{
	perror(what);
	exit(1);
}

static int
am_listen(int port, int reuseport)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		am_die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1))
		am_die("setsockopt");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, AM_BACKLOG) == -1)
		am_die("bind/listen");
	return fd;
}

static void
am_serve_one(int fd)
{
	(void)!write(fd, AM_BANNER, sizeof(AM_BANNER) - 1);
	close(fd);
}

/* A worker's count of connections goes back on its pipe at the end. */
static void
am_report(int out, long n)
{
	(void)!write(out, &n, sizeof(n));
	close(out);
}

/* reuseport: accept on our own socket until told to stop. */
static void
am_worker_reuseport(int port, int out)
{
	int	 lfd = am_listen(port, 1), fd;
	long	 n = 0;

	while (!am_stop) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR)
				continue;
			am_die("accept4");
		}
		am_serve_one(fd);
		n++;
	}
	am_report(out, n);
	exit(0);
}

/* pass: receive descriptors from the acceptor. */
static void
am_worker_pass(int chan, int out)
{
	char		 cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec	 iov = { &b, 1 };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	long		 n = 0;
	int		 fd;

	while (!am_stop) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(chan, &msg, 0) <= 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((cm = CMSG_FIRSTHDR(&msg)) == NULL ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		am_serve_one(fd);
		n++;
	}
	am_report(out, n);
	exit(0);
}

static void
am_pass_fd(int chan, int fd)
{
	char		 cbuf[CMSG_SPACE(sizeof(int))], b = 0;
	struct iovec	 iov = { &b, 1 };
	struct msghdr	 msg;
	struct cmsghdr	*cm;

	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	while (sendmsg(chan, &msg, 0) == -1 && errno == EINTR && !am_stop)
		;
}

/* The server: workers (and the acceptor in pass mode) until SIGTERM. */
static void
am_server(const char *mode, int workers, int port, int out)
{
	struct sigaction sa;
	int	 pass = strcmp(mode, "pass") == 0, chans[AM_WORKERS_MAX];
	int	 outs[AM_WORKERS_MAX][2], lfd = -1, fd, i, sv[2];
	long	 counts[AM_WORKERS_MAX], n, lo = -1, hi = 0, total = 0;
	pid_t	 pids[AM_WORKERS_MAX];
	struct rusage	 ru;
	double	 cpu;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = am_on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (pass)
		lfd = am_listen(port, 0);
	for (i = 0; i < workers; i++) {
		if (pipe(outs[i]) == -1)
			am_die("pipe");
		if (pass && socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1)
			am_die("socketpair");
		if ((pids[i] = fork()) == -1)
			am_die("fork");
		if (pids[i] == 0) {
			close(outs[i][0]);
			if (pass) {
				close(lfd);
				close(sv[0]);
				am_worker_pass(sv[1], outs[i][1]);
			}
			am_worker_reuseport(port, outs[i][1]);
		}
		close(outs[i][1]);
		if (pass) {
			close(sv[1]);
			chans[i] = sv[0];
		}
	}
	for (i = 0; pass && !am_stop; i = (i + 1) % workers) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR)
				continue;
			am_die("accept4");
		}
		am_pass_fd(chans[i], fd);
		close(fd);
	}
	while (!am_stop)
		pause();
	for (i = 0; i < workers; i++) {
		kill(pids[i], SIGTERM);
		if (pass)
			close(chans[i]);
	}
	for (i = 0; i < workers; i++) {
		waitpid(pids[i], NULL, 0);
		counts[i] = 0;
		if (read(outs[i][0], &n, sizeof(n)) == sizeof(n))
			counts[i] = n;
		total += counts[i];
		if (lo < 0 || counts[i] < lo)
			lo = counts[i];
		if (counts[i] > hi)
			hi = counts[i];
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	dprintf(out, "%ld %.6f %ld %ld\n", total, cpu, lo, hi);
	exit(0);
}

struct am_conn {
	int	 fd;
};

static double
am_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
am_connect(int port, int src)
{
	struct sockaddr_in	 sin, from;
	int			 fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on));
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_addr.s_addr = htonl(0x7f005000 | (unsigned)(src + 1));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1) {
		close(fd);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The client: CONNS in flight for seconds; the connections completed. */
static long
am_client(int port, double seconds, int conns)
{
	struct epoll_event	 ev, evs[256];
	char			 buf[256];
	double			 end = am_now() + seconds;
	long			 done = 0;
	int			 ep, i, n, fd, src = 0, live = 0;

	if ((ep = epoll_create1(0)) == -1)
		am_die("epoll_create1");
	while (am_now() < end) {
		while (live < conns) {
			if ((fd = am_connect(port, src++ % AM_SOURCES)) == -1)
				break;
			ev.events = EPOLLIN | EPOLLRDHUP;
			ev.data.fd = fd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
				am_die("epoll_ctl");
			live++;
		}
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (read(fd, buf, sizeof(buf)) > 0)
				done++;
			close(fd);
			live--;
		}
	}
	return done;
}

int
main(int argc, char *argv[])
{
	int	 workers, port, conns, p[2];
	double	 seconds;
	long	 done, total, lo, hi;
	double	 cpu;
	pid_t	 srv;
	FILE	*f;

	if (argc != 6) {
		fprintf(stderr, "usage: acceptmodes reuseport|pass WORKERS PORT "
		    "SECONDS CONNS\n");
		return 2;
	}
	workers = atoi(argv[2]);
	port = atoi(argv[3]);
	seconds = atof(argv[4]);
	conns = atoi(argv[5]);
	if (workers < 1 || workers > AM_WORKERS_MAX || conns < 1 ||
	    conns > AM_CONNS_MAX || seconds <= 0 ||
	    (strcmp(argv[1], "pass") != 0 && strcmp(argv[1], "reuseport") != 0)) {
		fprintf(stderr, "acceptmodes: bad arguments\n");
		return 2;
	}
	if (pipe(p) == -1)
		am_die("pipe");
	if ((srv = fork()) == -1)
		am_die("fork");
	if (srv == 0) {
		close(p[0]);
		am_server(argv[1], workers, port, p[1]);
	}
	close(p[1]);
	usleep(300000);		/* the listeners */
	done = am_client(port, seconds, conns);
	kill(srv, SIGTERM);
	if ((f = fdopen(p[0], "r")) == NULL ||
	    fscanf(f, "%ld %lf %ld %ld", &total, &cpu, &lo, &hi) != 4)
		am_die("server report");
	waitpid(srv, NULL, 0);
	printf("%s workers=%d conns_per_s=%.0f server_cpu_us_per_conn=%.1f "
	    "spread_min=%.3f spread_max=%.3f served=%ld\n", argv[1], workers,
	    done / seconds, total > 0 ? cpu * 1e6 / total : 0.0,
	    total > 0 ? (double)lo * workers / total : 0.0,
	    total > 0 ? (double)hi * workers / total : 0.0, total);
	return 0;
}
