/*
 * tlsload: an SMTP load client and a counting sink that speak STARTTLS,
 * for the TLS run of bench/relay (see bench/README.md).
 *
 * Postfix's smtp-source and smtp-sink, which the plain runs use, have no
 * TLS.  This program plays both of their roles with STARTTLS, in one
 * libevent loop each, so that it costs the benchmark little next to the
 * MTA under test (the bench measures the client -> sink pipe directly to
 * show that it is not the limit):
 *
 *   tlsload client [-T] [-R] -m N -s S -l BYTES -f FROM -t RCPT [-M HELO]
 *                  HOST:PORT
 *	N messages, one per connection as smtp-source sends them, over S
 *	concurrent sessions: banner, EHLO, STARTTLS, EHLO, MAIL, RCPT, DATA,
 *	the message, QUIT, each command waiting for its reply.  TLS sessions
 *	are resumed from the last ticket the server gave (as a sending MTA
 *	with a session cache does); -R: full handshakes only.  -T: no
 *	STARTTLS.  Exit 0 when all N were answered 250, 1 at the first
 *	unexpected reply, failed handshake or lost connection (like
 *	smtp-source, which stops there too).
 *
 *   tlsload sink [-T] -c CERT -k KEY [-b BACKLOG] HOST:PORT
 *	Accepts sessions, offers STARTTLS (not with -T), PIPELINING and
 *	8BITMIME, answers 250 to every transaction and discards the data.
 *	Every 10 ms when something changed it writes a line
 *	"sess=N quit=N mesg=N tls=N resumed=N" on stdout, in the format of
 *	smtp-sink -c, so that bench/benchlib.py counts it the same way.
 *	Runs until killed.
 *
 * Not part of the MTA and never installed (bench/Makefile.am).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLSLOAD_LINE_MAX	4096	/* one command or reply line */
#define TLSLOAD_REPLY_LINES_MAX	100	/* lines of one multi-line reply */
#define TLSLOAD_TIMEOUT_S	120	/* a peer silent this long is dead */
#define TLSLOAD_SIZE_MAX	(64 * 1024 * 1024)	/* -l */
#define TLSLOAD_SESSIONS_MAX	10000	/* -s */
#define TLSLOAD_BACKLOG_DEFAULT	1024	/* sink listen backlog */
#define TLSLOAD_REPORT_MS	10	/* sink counter line interval */
#define TLSLOAD_BODY_LINE	78	/* payload characters per body line */
#define TLSLOAD_ADDR_MAX	256	/* -f, -t, -M */

static const char *prog = "tlsload";
static struct event_base *base;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: fatal: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
die_ssl(const char *what)
{
	unsigned long e = ERR_get_error();

	die("%s: %s", what, e ? ERR_error_string(e, NULL) : "unknown error");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* HOST:PORT (IPv4) into sin. */
static void
addr_parse(const char *arg, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
		die("%s: expected HOST:PORT", arg);
	memcpy(host, arg, colon - arg);
	host[colon - arg] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		die("%s: bad port", arg);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("%s: not an IPv4 address", host);
}

static long
num_arg(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		die("-%s %s: expected %ld..%ld", opt, s, min, max);
	return v;
}

/* Enough descriptors for every session of both roles. */
static void
nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Swap a plaintext bufferevent for a TLS one on the same socket.  The
 * caller made sure nothing is left in either direction of the old one
 * (the STARTTLS reply is on the wire, nothing was read past the command),
 * so no byte crosses the switch.
 */
static struct bufferevent *
bev_tls_start(struct bufferevent *plain, SSL_CTX *ctx,
    enum bufferevent_ssl_state state)
{
	evutil_socket_t fd = bufferevent_getfd(plain);
	struct bufferevent *bev;
	SSL *ssl;

	bufferevent_free(plain);	/* opened without CLOSE_ON_FREE */
	if ((ssl = SSL_new(ctx)) == NULL)
		die_ssl("SSL_new");
	bev = bufferevent_openssl_socket_new(base, fd, ssl, state,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		die("bufferevent_openssl_socket_new failed");
	/* a dirty shutdown of a finished session is no error here */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ------------------------------------------------------------------ */
/* Sink. */

struct sink_sess {
	struct bufferevent	*bev;
	int			 tls;
	int			 in_data;
	int			 data_start;	/* nothing of the data read */
	int			 closing;	/* free when output is out */
	int			 starting_tls;	/* switch when output is out */
};

static SSL_CTX *sink_ctx;	/* NULL: -T, no STARTTLS offered */
static unsigned long sink_sessions, sink_quits, sink_messages;
static unsigned long sink_tls, sink_resumed;
static unsigned long sink_reported = (unsigned long)-1;

static void sink_read_cb(struct bufferevent *, void *);
static void sink_write_cb(struct bufferevent *, void *);
static void sink_event_cb(struct bufferevent *, short, void *);

static void
sink_sess_free(struct sink_sess *s)
{
	evutil_socket_t fd = bufferevent_getfd(s->bev);

	bufferevent_free(s->bev);
	if (sink_ctx != NULL && !s->tls)
		evutil_closesocket(fd);	/* see sink_accept_cb */
	free(s);
}

static void
sink_reply(struct sink_sess *s, const char *text)
{
	bufferevent_write(s->bev, text, strlen(text));
}

/* A line of the command phase; returns 0 when the session ended. */
static int
sink_command(struct sink_sess *s, const char *line)
{
	if (strncasecmp(line, "EHLO", 4) == 0) {
		sink_reply(s, "250-sink.bench.test\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n");
		if (sink_ctx != NULL && !s->tls)
			sink_reply(s, "250-STARTTLS\r\n");
		sink_reply(s, "250 SIZE 0\r\n");
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		sink_reply(s, "250 sink.bench.test\r\n");
	} else if (strncasecmp(line, "MAIL", 4) == 0) {
		sink_reply(s, "250 2.1.0 Ok\r\n");
	} else if (strncasecmp(line, "RCPT", 4) == 0) {
		sink_reply(s, "250 2.1.5 Ok\r\n");
	} else if (strncasecmp(line, "DATA", 4) == 0) {
		sink_reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
		s->in_data = 1;
		s->data_start = 1;
	} else if (strncasecmp(line, "RSET", 4) == 0 ||
	    strncasecmp(line, "NOOP", 4) == 0) {
		sink_reply(s, "250 2.0.0 Ok\r\n");
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		sink_quits++;
		sink_reply(s, "221 2.0.0 Bye\r\n");
		s->closing = 1;
		bufferevent_disable(s->bev, EV_READ);
		return 0;
	} else if (strncasecmp(line, "STARTTLS", 8) == 0 && sink_ctx != NULL &&
	    !s->tls) {
		/* anything pipelined behind STARTTLS is discarded unread
		 * (RFC 3207); the switch waits for the 220 to leave */
		sink_reply(s, "220 2.0.0 Ready to start TLS\r\n");
		s->starting_tls = 1;
		bufferevent_disable(s->bev, EV_READ);
		evbuffer_drain(bufferevent_get_input(s->bev),
		    evbuffer_get_length(bufferevent_get_input(s->bev)));
		return 0;
	} else {
		sink_reply(s, "502 5.5.2 Error: command not recognized\r\n");
	}
	return 1;
}

/*
 * The data phase: discard up to the end-of-data line.  Everything but
 * the last 4 bytes is dropped after each search, so no byte is searched
 * twice and a long message holds no memory.
 */
static int
sink_data(struct sink_sess *s, struct evbuffer *in)
{
	static const char eod[] = "\r\n.\r\n";
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr p;
	unsigned char head[3];

	if (s->data_start) {
		/* an empty message: the end line comes first */
		if (len < 3)
			return 0;
		evbuffer_copyout(in, head, 3);
		s->data_start = 0;
		if (memcmp(head, ".\r\n", 3) == 0) {
			evbuffer_drain(in, 3);
			goto done;
		}
	}
	p = evbuffer_search(in, eod, 5, NULL);
	if (p.pos == -1) {
		if (len > 4)
			evbuffer_drain(in, len - 4);
		return 0;
	}
	evbuffer_drain(in, p.pos + 5);
done:
	s->in_data = 0;
	sink_messages++;
	sink_reply(s, "250 2.0.0 Ok: queued as BENCH\r\n");
	return 1;
}

static void
sink_read_cb(struct bufferevent *bev, void *arg)
{
	struct sink_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	for (;;) {
		if (s->in_data) {
			if (!sink_data(s, in))
				return;
			continue;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > TLSLOAD_LINE_MAX)
				goto fail;
			return;
		}
		if (n > TLSLOAD_LINE_MAX) {
			free(line);
			goto fail;
		}
		if (!sink_command(s, line)) {
			free(line);
			return;
		}
		free(line);
	}
fail:
	sink_sess_free(s);
}

static void
sink_write_cb(struct bufferevent *bev, void *arg)
{
	struct sink_sess *s = arg;

	if (s->closing) {
		sink_sess_free(s);
	} else if (s->starting_tls) {
		s->starting_tls = 0;
		s->tls = 1;
		s->bev = bev_tls_start(bev, sink_ctx, BUFFEREVENT_SSL_ACCEPTING);
		bufferevent_setcb(s->bev, sink_read_cb, sink_write_cb,
		    sink_event_cb, s);
		bufferevent_set_timeouts(s->bev,
		    &(struct timeval){ TLSLOAD_TIMEOUT_S, 0 }, NULL);
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	}
}

static void
sink_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sink_sess *s = arg;
	SSL *ssl;

	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done */
		sink_tls++;
		if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL &&
		    SSL_session_reused(ssl))
			sink_resumed++;
		return;
	}
	sink_sess_free(s);
}

static void
sink_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sink_sess *s;
	int one = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		die("out of memory");
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* no CLOSE_ON_FREE with TLS: the socket outlives this bufferevent
	 * when STARTTLS puts a TLS one on it; sink_sess_free() closes it
	 * when that never happened */
	s->bev = bufferevent_socket_new(base, fd,
	    sink_ctx != NULL ? 0 : BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		die("bufferevent_socket_new failed");
	sink_sessions++;
	bufferevent_setcb(s->bev, sink_read_cb, sink_write_cb, sink_event_cb, s);
	bufferevent_set_timeouts(s->bev,
	    &(struct timeval){ TLSLOAD_TIMEOUT_S, 0 }, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	sink_reply(s, "220 sink.bench.test ESMTP tlsload\r\n");
}

static void
sink_report_cb(evutil_socket_t fd, short what, void *arg)
{
	char line[160];
	unsigned long sum = sink_sessions + sink_quits + sink_messages +
	    sink_tls + sink_resumed;
	int n;

	if (sum == sink_reported)
		return;
	sink_reported = sum;
	n = snprintf(line, sizeof(line), "sess=%lu quit=%lu mesg=%lu tls=%lu "
	    "resumed=%lu\n", sink_sessions, sink_quits, sink_messages,
	    sink_tls, sink_resumed);
	if (write(STDOUT_FILENO, line, n) != n)
		die("stdout: %s", strerror(errno));
}

static int
sink_main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	struct evconnlistener *l;
	struct sockaddr_in sin;
	struct event *report;
	long backlog = TLSLOAD_BACKLOG_DEFAULT;
	int notls = 0, c;

	while ((c = getopt(argc, argv, "b:c:k:T")) != -1) {
		switch (c) {
		case 'b':
			backlog = num_arg("b", optarg, 1, 65535);
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'T':
			notls = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || (!notls && (cert == NULL || key == NULL))) {
		fprintf(stderr, "usage: %s sink [-T] -c CERT -k KEY [-b BACKLOG] "
		    "HOST:PORT\n", prog);
		return 2;
	}
	addr_parse(argv[optind], &sin);
	if (!notls) {
		if ((sink_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
			die_ssl("SSL_CTX_new");
		SSL_CTX_set_min_proto_version(sink_ctx, TLS1_2_VERSION);
		if (SSL_CTX_use_certificate_chain_file(sink_ctx, cert) != 1)
			die_ssl(cert);
		if (SSL_CTX_use_PrivateKey_file(sink_ctx, key,
		    SSL_FILETYPE_PEM) != 1)
			die_ssl(key);
		/* a session cache and tickets, as any MTA's server side has */
		SSL_CTX_set_session_cache_mode(sink_ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_set_session_id_context(sink_ctx,
		    (const unsigned char *)"tlsload", 7);
	}
	l = evconnlistener_new_bind(base, sink_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, (int)backlog,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL)
		die("%s: cannot listen: %s", argv[optind], strerror(errno));
	report = event_new(base, -1, EV_PERSIST, sink_report_cb, NULL);
	event_add(report, &(struct timeval){ 0, TLSLOAD_REPORT_MS * 1000 });
	sink_report_cb(-1, 0, NULL);
	event_base_dispatch(base);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Client. */

enum cli_state {
	CLI_BANNER, CLI_EHLO, CLI_STARTTLS, CLI_HANDSHAKE, CLI_EHLO2,
	CLI_MAIL, CLI_RCPT, CLI_DATA, CLI_DOT, CLI_QUIT
};

static const char *cli_state_names[] = {
	"banner", "EHLO", "STARTTLS", "TLS handshake", "EHLO after STARTTLS",
	"MAIL", "RCPT", "DATA", "end of data", "QUIT"
};

struct cli_sess {
	struct bufferevent	*bev;
	enum cli_state		 state;
	int			 lines;		/* of the reply so far */
	int			 starttls;	/* offered by the server */
	int			 code;		/* of the reply's first line */
};

static SSL_CTX *cli_ctx;		/* NULL: -T */
static SSL_SESSION *cli_session;	/* last ticket; NULL: none or -R */
static int cli_resume = 1;
static struct sockaddr_in cli_addr;
static long cli_messages, cli_started, cli_done, cli_active;
static long cli_handshakes, cli_resumed;
static char cli_helo[TLSLOAD_ADDR_MAX];
static char cli_mail[TLSLOAD_ADDR_MAX + 16], cli_rcpt[TLSLOAD_ADDR_MAX + 16];
static char *cli_body;			/* headers, payload and "." */
static size_t cli_body_len;

static void cli_sess_start(void);

/* Keep the newest session the server handed out, to resume with. */
static int
cli_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	if (!cli_resume)
		return 0;
	if (cli_session != NULL)
		SSL_SESSION_free(cli_session);
	cli_session = sess;
	return 1;	/* we hold the reference */
}

static void
cli_fail(struct cli_sess *s, const char *why)
{
	die("session %ld, %s: %s (%ld of %ld messages done)", cli_done,
	    cli_state_names[s->state], why, cli_done, cli_messages);
}

static void
cli_send(struct cli_sess *s, const char *cmd)
{
	bufferevent_write(s->bev, cmd, strlen(cmd));
}

static void
cli_sess_end(struct cli_sess *s)
{
	bufferevent_free(s->bev);
	free(s);
	cli_active--;
	if (cli_started < cli_messages)
		cli_sess_start();
	else if (cli_active == 0)
		event_base_loopbreak(base);
}

static void cli_read_cb(struct bufferevent *, void *);
static void cli_event_cb(struct bufferevent *, short, void *);

/* A complete reply: the next command. */
static void
cli_reply(struct cli_sess *s)
{
	SSL *ssl;
	int want = s->state == CLI_BANNER || s->state == CLI_STARTTLS ? 220 :
	    s->state == CLI_DATA ? 354 : s->state == CLI_QUIT ? 221 : 250;
	char why[64];

	if (s->code != want) {
		snprintf(why, sizeof(why), "reply %d, expected %d", s->code,
		    want);
		cli_fail(s, why);
	}
	switch (s->state) {
	case CLI_BANNER:
		cli_send(s, cli_helo);
		s->state = CLI_EHLO;
		break;
	case CLI_EHLO:
		if (cli_ctx != NULL) {
			if (!s->starttls)
				cli_fail(s, "STARTTLS not offered");
			cli_send(s, "STARTTLS\r\n");
			s->state = CLI_STARTTLS;
			break;
		}
		/* FALLTHROUGH */
	case CLI_EHLO2:
		cli_send(s, cli_mail);
		s->state = CLI_MAIL;
		break;
	case CLI_STARTTLS:
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
			cli_fail(s, "data after the STARTTLS reply");
		s->state = CLI_HANDSHAKE;
		s->bev = bev_tls_start(s->bev, cli_ctx,
		    BUFFEREVENT_SSL_CONNECTING);
		ssl = bufferevent_openssl_get_ssl(s->bev);
		if (cli_session != NULL)
			SSL_set_session(ssl, cli_session);
		bufferevent_setcb(s->bev, cli_read_cb, NULL, cli_event_cb, s);
		bufferevent_set_timeouts(s->bev,
		    &(struct timeval){ TLSLOAD_TIMEOUT_S, 0 }, NULL);
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
		break;
	case CLI_MAIL:
		cli_send(s, cli_rcpt);
		s->state = CLI_RCPT;
		break;
	case CLI_RCPT:
		cli_send(s, "DATA\r\n");
		s->state = CLI_DATA;
		break;
	case CLI_DATA:
		/* the same bytes for every message: no copy */
		evbuffer_add_reference(bufferevent_get_output(s->bev),
		    cli_body, cli_body_len, NULL, NULL);
		s->state = CLI_DOT;
		break;
	case CLI_DOT:
		cli_done++;
		cli_send(s, "QUIT\r\n");
		s->state = CLI_QUIT;
		break;
	case CLI_QUIT:
		/* close_notify, as a client that ends cleanly sends it;
		 * OpenSSL also keeps only such sessions resumable */
		if ((ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL)
			(void)SSL_shutdown(ssl);
		cli_sess_end(s);
		break;
	case CLI_HANDSHAKE:
		cli_fail(s, "reply before the TLS handshake");
		break;
	}
}

static void
cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct cli_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	enum cli_state st;
	size_t n;
	char *line;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		if (n < 3 || n > TLSLOAD_LINE_MAX ||
		    ++s->lines > TLSLOAD_REPLY_LINES_MAX) {
			free(line);
			cli_fail(s, "bad reply line");
		}
		if (s->lines == 1)
			s->code = atoi(line);
		if (n >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0)
			s->starttls = 1;
		if (n > 3 && line[3] == '-') {
			free(line);
			continue;
		}
		free(line);
		s->lines = 0;
		st = s->state;
		cli_reply(s);
		/* after STARTTLS the old bufferevent (and its input) is gone;
		 * after QUIT the session is */
		if (st == CLI_STARTTLS || st == CLI_QUIT)
			return;
	}
	if (evbuffer_get_length(in) > TLSLOAD_LINE_MAX)
		cli_fail(s, "reply line too long");
}

static void
cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cli_sess *s = arg;
	unsigned long e;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == CLI_BANNER) {
			/* commands and the body's last segment must not wait
			 * for an ACK (Nagle) */
			int one = 1;

			(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
			    TCP_NODELAY, &one, sizeof(one));
		}
		if (s->state == CLI_HANDSHAKE) {
			cli_handshakes++;
			if (SSL_session_reused(bufferevent_openssl_get_ssl(bev)))
				cli_resumed++;
			cli_send(s, cli_helo);
			s->state = CLI_EHLO2;
		}
		return;
	}
	if ((what & BEV_EVENT_EOF) && s->state == CLI_QUIT) {
		/* the server closed after 221 before we read it */
		cli_sess_end(s);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	snprintf(why, sizeof(why), "%s%s%s",
	    what & BEV_EVENT_TIMEOUT ? "timeout" : what & BEV_EVENT_EOF ?
	    "connection closed" : "connection error",
	    e ? ": " : "", e ? ERR_error_string(e, NULL) : "");
	if (!e && (what & BEV_EVENT_ERROR) && errno)
		snprintf(why, sizeof(why), "connection error: %s",
		    strerror(errno));
	cli_fail(s, why);
}

static void
cli_sess_start(void)
{
	struct cli_sess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		die("out of memory");
	cli_started++;
	cli_active++;
	/* no CLOSE_ON_FREE: STARTTLS moves the socket to a TLS
	 * bufferevent, which closes it */
	s->bev = bufferevent_socket_new(base, -1,
	    cli_ctx != NULL ? 0 : BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		die("bufferevent_socket_new failed");
	s->state = CLI_BANNER;
	bufferevent_setcb(s->bev, cli_read_cb, NULL, cli_event_cb, s);
	bufferevent_set_timeouts(s->bev,
	    &(struct timeval){ TLSLOAD_TIMEOUT_S, 0 }, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&cli_addr,
	    sizeof(cli_addr)) != 0)
		cli_fail(s, strerror(errno));
}

/* Headers, SIZE bytes of payload in lines, and the end-of-data line. */
static void
cli_body_make(long size, const char *from, const char *rcpt)
{
	size_t cap = size + size / TLSLOAD_BODY_LINE * 2 + 1024;
	size_t n;
	long i, col;

	if ((cli_body = malloc(cap)) == NULL)
		die("out of memory");
	n = snprintf(cli_body, cap, "From: <%s>\r\nTo: <%s>\r\n"
	    "Subject: tlsload\r\nMessage-Id: <tlsload@bench.test>\r\n\r\n",
	    from, rcpt);
	for (i = 0, col = 0; i < size; i++) {
		cli_body[n++] = 'a' + i % 26;
		if (++col == TLSLOAD_BODY_LINE || i == size - 1) {
			cli_body[n++] = '\r';
			cli_body[n++] = '\n';
			col = 0;
		}
	}
	memcpy(cli_body + n, ".\r\n", 3);
	cli_body_len = n + 3;
}

static int
cli_main(int argc, char **argv)
{
	const char *from = "bench@sender.example", *rcpt = NULL;
	const char *helo = "client.bench.test";
	long sessions = 1, size = 1024, i;
	double t0, t;
	int notls = 0, c;

	while ((c = getopt(argc, argv, "f:l:m:M:Rs:t:T")) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'l':
			size = num_arg("l", optarg, 0, TLSLOAD_SIZE_MAX);
			break;
		case 'm':
			cli_messages = num_arg("m", optarg, 1, 1000000000);
			break;
		case 'M':
			helo = optarg;
			break;
		case 'R':
			cli_resume = 0;
			break;
		case 's':
			sessions = num_arg("s", optarg, 1, TLSLOAD_SESSIONS_MAX);
			break;
		case 't':
			rcpt = optarg;
			break;
		case 'T':
			notls = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || cli_messages == 0 || rcpt == NULL ||
	    strlen(from) >= TLSLOAD_ADDR_MAX || strlen(rcpt) >=
	    TLSLOAD_ADDR_MAX || strlen(helo) >= TLSLOAD_ADDR_MAX - 8) {
		fprintf(stderr, "usage: %s client [-T] [-R] -m N -s S -l BYTES "
		    "[-f FROM] -t RCPT [-M HELO] HOST:PORT\n", prog);
		return 2;
	}
	addr_parse(argv[optind], &cli_addr);
	snprintf(cli_helo, sizeof(cli_helo), "EHLO %s\r\n", helo);
	snprintf(cli_mail, sizeof(cli_mail), "MAIL FROM:<%s>\r\n", from);
	snprintf(cli_rcpt, sizeof(cli_rcpt), "RCPT TO:<%s>\r\n", rcpt);
	cli_body_make(size, from, rcpt);
	if (!notls) {
		if ((cli_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die_ssl("SSL_CTX_new");
		SSL_CTX_set_min_proto_version(cli_ctx, TLS1_2_VERSION);
		/* opportunistic, as MTAs talk to each other: no checks */
		SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_session_cache_mode(cli_ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(cli_ctx, cli_new_session_cb);
	}
	t0 = now_s();
	for (i = 0; i < sessions && cli_started < cli_messages; i++)
		cli_sess_start();
	event_base_dispatch(base);
	t = now_s() - t0;
	fprintf(stderr, "%s: %ld messages in %.3f s, %.1f msg/s; TLS "
	    "handshakes %ld, resumed %ld\n", prog, cli_done, t,
	    t > 0 ? cli_done / t : 0.0, cli_handshakes, cli_resumed);
	return cli_done == cli_messages ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s client|sink ...\n", prog);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	nofile_raise();
	if ((base = event_base_new()) == NULL)
		die("event_base_new failed");
	if (strcmp(argv[1], "client") == 0)
		return cli_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "sink") == 0)
		return sink_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: %s client|sink ...\n", prog);
	return 2;
}
