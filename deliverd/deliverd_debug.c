/*
 * Domain debug in a deliverd worker: while a destination is switched on
 * (`bwctl debug DOMAIN on`, controld's DEBUG_TABLE), every SMTP session
 * to it is written down -- the connection (address, port, source), each
 * command line sent, each reply line read, TLS with its version and
 * cipher, failures and the close -- one line each with the time (UTC,
 * ms), a connection id (the worker's pid and a sequence number: unique
 * across worker restarts) and the queue id of the message in the
 * transaction.  Message bodies never: DATA content and BDAT chunk
 * payloads are one line "<body N bytes>".
 *
 * One file per table row, debug_dir/PATTERN.log (bw_debug_file_name),
 * opened on the first line, O_APPEND so that the workers' lines do not
 * mix within a line (each is one write() of at most a few KiB), created
 * 0640 (debug_dir is made 2750, group admin_group, by deliverd.c as root,
 * so the admin group reads transcripts and nobody else does).
 *
 * Deadlines are this worker's own (the table says the time left): one
 * timer closes the file of a row whose time is up, and every hook checks
 * the deadline itself, so a worker that never hears the "off" still
 * stops at it.  With no row (the normal case) a hook costs one test.
 *
 * Trust: reply lines come from remote servers: escaped and cut
 * (bw_debug_escape).  The table comes from controld; its patterns are
 * checked again (bw_debug_pattern_norm) before they name a file.
 *
 * XXX: a write() to a local file blocks the worker briefly; transcripts
 * are small and on only while an admin looks at a destination.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "domain_debug.h"
#include "imsg.h"
#include "log.h"
#include "privdrop.h"
#include "util.h"
#include "deliverd.h"

#define DLV_DEBUG_HEAD_MAX	(BW_RELAY_TEXT_MAX + BW_DOMAIN_MAX + \
				 BW_NAME_MAX + 160)	/* time, ids and the
							   text of an event */
#define DLV_DEBUG_WRITE_MAX	(DLV_DEBUG_HEAD_MAX + BW_DEBUG_ESCAPED_MAX)

struct dlv_debug_row {
	char		 pattern[BW_DOMAIN_MAX + 1];
	uint64_t	 until_ms;	/* bw_now_ms() */
	int		 fd;		/* -1: not open */
	int		 failed;	/* open or write failed: said once */
};

static struct dlv_debug_row	 dlv_debug[BW_DEBUG_DOMAINS_MAX];
static size_t			 dlv_ndebug;
static struct event		*dlv_debug_ev;	/* the next deadline */
static uint64_t			 dlv_debug_seq;	/* connection ids */

static void
dlv_debug_row_close(struct dlv_debug_row *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

static void	dlv_debug_timer_cb(evutil_socket_t, short, void *);

/* Drop rows whose time is up; arm the timer for the next deadline. */
static void
dlv_debug_expire(void)
{
	struct timeval	 tv;
	uint64_t	 now = bw_now_ms(), next = 0;
	size_t		 i = 0;

	while (i < dlv_ndebug) {
		if (dlv_debug[i].until_ms <= now) {
			log_info("worker=%d debug domain=%s ended: its time "
			    "ran out", dlv_env->index, dlv_debug[i].pattern);
			dlv_debug_row_close(&dlv_debug[i]);
			dlv_debug[i] = dlv_debug[--dlv_ndebug];
			continue;
		}
		if (next == 0 || dlv_debug[i].until_ms < next)
			next = dlv_debug[i].until_ms;
		i++;
	}
	if (dlv_debug_ev == NULL && (dlv_debug_ev = evtimer_new(
	    dlv_env->base, dlv_debug_timer_cb, NULL)) == NULL) {
		/* the hooks still check each deadline themselves */
		log_warnx("worker=%d debug: no timer (out of memory)",
		    dlv_env->index);
		return;
	}
	evtimer_del(dlv_debug_ev);
	if (next == 0)
		return;
	tv.tv_sec = (next - now) / 1000;
	tv.tv_usec = ((next - now) % 1000) * 1000;
	evtimer_add(dlv_debug_ev, &tv);
}

static void
dlv_debug_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	dlv_debug_expire();
}

/*
 * DEBUG_TABLE from controld: the whole table.  Rows still there keep
 * their open file; rows gone are closed.  A malformed table ends the
 * link (peer.c reconnects; controld sends the table again).
 */
int
dlv_debug_table(const struct bw_imsg *imsg)
{
	struct bw_debug_table	 t;
	struct dlv_debug_row	 nrows[BW_DEBUG_DOMAINS_MAX];
	char			 pattern[BW_DOMAIN_MAX + 1];
	size_t			 i, k, n = 0, rows;
	uint64_t		 now = bw_now_ms();

	memset(&t, 0, sizeof(t));
	memcpy(&t, imsg->data, imsg->datalen < sizeof(t) ? imsg->datalen :
	    sizeof(t));
	rows = (imsg->datalen - offsetof(struct bw_debug_table, rows)) /
	    sizeof(t.rows[0]);
	if (t.n > BW_DEBUG_DOMAINS_MAX || t.n > rows) {
		log_warnx("worker=%d debug: table of %u rows in %zu bytes",
		    dlv_env->index, t.n, imsg->datalen);
		return -1;
	}
	for (i = 0; i < t.n; i++) {
		BW_IMSG_STR(pattern, t.rows[i].pattern);
		if (bw_debug_pattern_norm(pattern, nrows[n].pattern,
		    sizeof(nrows[n].pattern)) == -1 ||
		    t.rows[i].left_ms == 0 ||
		    t.rows[i].left_ms > BW_DEBUG_DURATION_MAX_MS) {
			log_warnx("worker=%d debug: bad table row %zu",
			    dlv_env->index, i);
			return -1;
		}
		nrows[n].until_ms = now + t.rows[i].left_ms;
		nrows[n].fd = -1;
		nrows[n].failed = 0;
		for (k = 0; k < dlv_ndebug; k++)
			if (dlv_debug[k].fd != -1 && strcmp(dlv_debug[k].pattern,
			    nrows[n].pattern) == 0) {
				nrows[n].fd = dlv_debug[k].fd;
				dlv_debug[k].fd = -1;	/* moved */
			}
		n++;
	}
	for (k = 0; k < dlv_ndebug; k++) {
		if (dlv_debug[k].fd != -1)
			log_info("worker=%d debug domain=%s ended",
			    dlv_env->index, dlv_debug[k].pattern);
		dlv_debug_row_close(&dlv_debug[k]);
	}
	memcpy(dlv_debug, nrows, n * sizeof(nrows[0]));
	dlv_ndebug = n;
	log_debug("worker=%d debug: %zu domains", dlv_env->index, n);
	dlv_debug_expire();
	return 0;
}

/* The row's file, opened now if it is not yet; -1 if it cannot be. */
static int
dlv_debug_fd(struct dlv_debug_row *r)
{
	char	 name[BW_DOMAIN_MAX + sizeof("_" BW_DEBUG_FILE_SUFFIX)];
	char	 path[PATH_MAX];

	if (r->fd != -1 || r->failed)
		return r->fd;
	if (bw_debug_file_name(r->pattern, name, sizeof(name)) == -1 ||
	    bw_path(path, sizeof(path), dlv_env->cfg->debug_dir, name) == -1) {
		log_warnx("worker=%d debug domain=%s: file name too long",
		    dlv_env->index, r->pattern);
		r->failed = 1;
		return -1;
	}
	if ((r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1) {
		log_warn("worker=%d debug domain=%s: cannot open %s",
		    dlv_env->index, r->pattern, path);
		r->failed = 1;
	}
	return r->fd;
}

/* Append one line to every row that covers the connection's domain. */
static void
dlv_debug_write(const struct dlv_conn *c, char dir, const char *text,
    size_t len)
{
	char		 line[DLV_DEBUG_WRITE_MAX];
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;
	size_t		 i, o;
	int		 n, fd;

	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(ts, "-", sizeof(ts));
	n = snprintf(line, sizeof(line), "%s.%03ldZ conn=%ld.%llu qid=%s %c ",
	    ts, now.tv_nsec / 1000000, (long)getpid(),
	    (unsigned long long)c->debug_id,
	    c->job != NULL ? c->job->qid : "-", dir);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	o = (size_t)n;
	o += bw_debug_escape(line + o, sizeof(line) - o - 1, text, len);
	line[o++] = '\n';
	for (i = 0; i < dlv_ndebug; i++) {
		if (!bw_debug_pattern_match(dlv_debug[i].pattern,
		    c->agent->domain) || (fd = dlv_debug_fd(&dlv_debug[i])) ==
		    -1)
			continue;
		if (write(fd, line, o) != (ssize_t)o &&
		    !dlv_debug[i].failed) {
			log_warn("worker=%d debug domain=%s: cannot write the "
			    "transcript", dlv_env->index,
			    dlv_debug[i].pattern);
			dlv_debug[i].failed = 1;
			dlv_debug_row_close(&dlv_debug[i]);
		}
	}
}

/*
 * Is the connection's domain in debug now?  The first time it is, the
 * connection gets its id and a line that names it (a session that was
 * already open when debug went on starts there).
 */
static int
dlv_debug_on(struct dlv_conn *c)
{
	char		 head[DLV_DEBUG_HEAD_MAX];
	uint64_t	 now;
	size_t		 i;
	int		 n, on = 0;

	if (dlv_ndebug == 0)
		return 0;
	now = bw_now_ms();
	for (i = 0; i < dlv_ndebug && !on; i++)
		on = dlv_debug[i].until_ms > now &&
		    bw_debug_pattern_match(dlv_debug[i].pattern,
		    c->agent->domain);
	if (!on) {
		/* a deadline passed before its timer ran: stop now */
		for (i = 0; i < dlv_ndebug; i++)
			if (dlv_debug[i].until_ms <= now) {
				dlv_debug_expire();
				break;
			}
		return 0;
	}
	if (c->debug_id == 0) {
		c->debug_id = ++dlv_debug_seq;
		n = snprintf(head, sizeof(head), "session worker=%d domain=%s "
		    "gateway=%s relay=%s%s", dlv_env->index, c->agent->domain,
		    c->agent->gateway,
		    c->relay, c->state > DLV_CS_GREETING ? " (already open "
		    "when debug began)" : "");
		if (n > 0)
			dlv_debug_write(c, '*', head, (size_t)n < sizeof(head) ?
			    (size_t)n : sizeof(head) - 1);
	}
	return 1;
}

static void __attribute__((format(printf, 2, 3)))
dlv_debug_event(struct dlv_conn *c, const char *fmt, ...)
{
	char	 text[DLV_DEBUG_HEAD_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	dlv_debug_write(c, '*', text, (size_t)n < sizeof(text) ? (size_t)n :
	    sizeof(text) - 1);
}

/* A command line we send (without CRLF). */
void
dlv_debug_send(struct dlv_conn *c, const char *line, size_t len)
{
	if (dlv_debug_on(c))
		dlv_debug_write(c, '>', line, len);
}

/* A reply line we read (without CRLF). */
void
dlv_debug_recv(struct dlv_conn *c, const char *line, size_t len)
{
	if (dlv_debug_on(c))
		dlv_debug_write(c, '<', line, len);
}

/* The DATA body went out: its size, never its text, then the dot. */
void
dlv_debug_data(struct dlv_conn *c, size_t bytes)
{
	char	 text[64];
	int	 n;

	if (!dlv_debug_on(c))
		return;
	n = snprintf(text, sizeof(text), "<body %zu bytes>", bytes);
	dlv_debug_write(c, '>', text, (size_t)n);
	dlv_debug_write(c, '>', ".", 1);
}

/* One BDAT chunk: the command as sent, its payload as its size. */
void
dlv_debug_bdat(struct dlv_conn *c, size_t bytes, int last)
{
	char	 text[64];
	int	 n;

	if (!dlv_debug_on(c))
		return;
	n = snprintf(text, sizeof(text), "BDAT %zu%s", bytes,
	    last ? " LAST" : "");
	dlv_debug_write(c, '>', text, (size_t)n);
	n = snprintf(text, sizeof(text), "<body %zu bytes>", bytes);
	dlv_debug_write(c, '>', text, (size_t)n);
}

/* TCP is up: where to and from where. */
void
dlv_debug_connect(struct dlv_conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 src[BW_HOSTADDR_MAX] = "-";
	const struct dlv_host	*h = &c->agent->hosts[c->host];
	int			 port = 0;

	if (!dlv_debug_on(c))
		return;
	if (getsockname(bufferevent_getfd(c->bev), (struct sockaddr *)&ss,
	    &len) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *s = (void *)&ss;

			inet_ntop(AF_INET, &s->sin_addr, src, sizeof(src));
			port = ntohs(s->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s = (void *)&ss;

			inet_ntop(AF_INET6, &s->sin6_addr, src, sizeof(src));
			port = ntohs(s->sin6_port);
		}
	}
	dlv_debug_event(c, "connected to %s port %d (MX %s) from %s port %d",
	    h->addrs[c->addr], h->port, h->name, src, port);
}

/* The TLS handshake is done. */
void
dlv_debug_tls(struct dlv_conn *c)
{
	SSL	*ssl;

	if (!dlv_debug_on(c))
		return;
	ssl = bufferevent_openssl_get_ssl(c->bev);
	dlv_debug_event(c, "TLS established: %s cipher %s",
	    ssl != NULL ? SSL_get_version(ssl) : "?",
	    ssl != NULL ? SSL_get_cipher_name(ssl) : "?");
}

/* The connection failed (why) or closed (why NULL). */
void
dlv_debug_end(struct dlv_conn *c, const char *why)
{
	if (c->state == DLV_CS_CLOSED || !dlv_debug_on(c))
		return;
	if (why != NULL)
		dlv_debug_event(c, "failed: %s", why);
	else
		dlv_debug_event(c, "closed");
}

/* The worker stops: files and the timer go. */
void
dlv_debug_shutdown(void)
{
	size_t	 i;

	for (i = 0; i < dlv_ndebug; i++)
		dlv_debug_row_close(&dlv_debug[i]);
	dlv_ndebug = 0;
	if (dlv_debug_ev != NULL)
		event_free(dlv_debug_ev);
	dlv_debug_ev = NULL;
}

/*
 * deliverd.c, before privileges are dropped: debug_dir exists, and in
 * production belongs to user_deliverd with group admin_group (when that
 * group exists), mode 2750: the workers write, the admins read, files
 * inherit the group.  Failing here costs only domain debug.
 */
void
dlv_debug_dir_setup(const struct bw_config *cfg, int production)
{
	struct bw_user	 u;
	struct group	*gr;
	struct stat	 st;
	gid_t		 gid;

	if (bw_mkdirs(cfg->debug_dir, production ? 0755 : 0700) == -1) {
		log_warn("debug_dir %s: cannot create it; domain debug "
		    "will not write", cfg->debug_dir);
		return;
	}
	if (!production)
		return;
	if (lstat(cfg->debug_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("debug_dir %s is not a directory; domain debug will "
		    "not write", cfg->debug_dir);
		return;
	}
	if (bw_user_lookup(cfg->user_deliverd, &u) == -1)
		return;		/* privdrop says it, fatally */
	gid = u.gid;
	if (cfg->admin_group[0] != '\0' &&
	    (gr = getgrnam(cfg->admin_group)) != NULL)
		gid = gr->gr_gid;
	if (chown(cfg->debug_dir, u.uid, gid) == -1 ||
	    chmod(cfg->debug_dir, 02750) == -1)
		log_warn("debug_dir %s: cannot give it to %s", cfg->debug_dir,
		    cfg->user_deliverd);
}
