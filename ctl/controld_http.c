/*
 * The monitor's HTTP server in controld (libevent's evhttp) on
 * monitor_listen: the listening socket and TLS context (made as root,
 * before the privilege drop), the bounds on every connection and request,
 * the route table the pages register in, content negotiation, and the
 * answers common to all pages (errors, security headers, the HTML frame).
 *
 * Trust: everything a client sends is hostile until mon_auth_check() said
 * who it is, and bounded before that: monitor_http_max_connections
 * connections (one more is answered 503 and closed),
 * monitor_http_max_header bytes of request line and headers (longer URL
 * 414, longer headers 431; evhttp itself stops reading at four times
 * that and answers 400: it has no hook to say 431 there),
 * monitor_http_max_body bytes of body (413), and
 * monitor_http_timeout for each read and write (then the connection is
 * closed).  Paths are decoded once, and a NUL in one is refused (400).
 *
 * libevent 2.1 gives a server no count of its connections and no call
 * when one closes, so the count is taken from the process's own open
 * sockets whose local port is ours (mon_http_conns), when a connection
 * arrives: a few dozen getsockname() calls, never more than the limit
 * plus controld's own descriptors.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "util.h"
#include "ctl_html.h"
#include "ctl_json.h"
#include "controld.h"
#include "controld_mon.h"
#include "controld_style.h"

#define MON_HTTP_HARD_FACTOR	4	/* evhttp's own cap: this times ours */
#define MON_HTTP_PATH_MAX	1024	/* a decoded path we look at */
#define MON_HTTP_BUSY_TEXT	"HTTP/1.1 503 Service Unavailable\r\n" \
	"Content-Type: text/plain\r\nContent-Length: 33\r\n" \
	"Connection: close\r\n\r\ntoo many connections, try again\r\n"

struct mon_route {
	char		 prefix[MON_ROUTE_PREFIX_MAX];
	size_t		 len;
	unsigned	 may;
	int		 methods;
	mon_page_fn	 fn;
};

/* A connection seen by the last count: its socket and its peer. */
struct mon_conn {
	int			 fd;
	struct sockaddr_storage	 peer;
};

static struct {
	struct evhttp		*http;
	SSL_CTX			*ssl_ctx;
	struct sockaddr_storage	 addr;		/* bound */
	int			 tls;
	struct mon_route	 routes[MON_ROUTES_MAX];
	size_t			 nroutes;
	struct mon_conn		*conns;		/* last count's */
	size_t			 nconns;
	uint64_t		 c_requests;
	uint64_t		 c_refused;	/* answered 4xx/5xx by a limit */
} mon;


void
mon_http_counters(uint64_t *requests, uint64_t *refused)
{
	*requests = mon.c_requests;
	*refused = mon.c_refused;
}

/*
 * Routes.
 */

int
mon_http_route(const char *prefix, unsigned may, int methods, mon_page_fn fn)
{
	struct mon_route	*r;

	if (mon.nroutes >= MON_ROUTES_MAX || prefix[0] != '/')
		return -1;
	r = &mon.routes[mon.nroutes];
	if ((r->len = strlcpy(r->prefix, prefix, sizeof(r->prefix))) >=
	    sizeof(r->prefix))
		return -1;
	r->may = may;
	r->methods = methods;
	r->fn = fn;
	mon.nroutes++;
	return 0;
}

/* The route of path (longest prefix); *rest is what follows it. */
static const struct mon_route *
mon_route_find(const char *path, const char **rest)
{
	const struct mon_route	*best = NULL;
	size_t			 i;

	for (i = 0; i < mon.nroutes; i++) {
		const struct mon_route *r = &mon.routes[i];

		if (r->len == 1) {	/* "/" is only itself */
			if (strcmp(path, "/") == 0 && best == NULL)
				best = r;
			continue;
		}
		if (strncmp(path, r->prefix, r->len) != 0 ||
		    (path[r->len] != '\0' && path[r->len] != '/'))
			continue;
		if (best == NULL || r->len > best->len)
			best = r;
	}
	if (best != NULL)
		*rest = best->len == 1 ? "" : path + best->len;
	return best;
}

/*
 * Answers.
 */

static const char *
mon_http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

void
mon_http_reply(struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	/* same-origin, not no-referrer: with no-referrer a browser sends
	 * "Origin: null" on a form POST and the Origin check refuses it */
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	/* nothing is fetched from elsewhere: charts are inline SVG */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	if (code >= 400)
		mon.c_refused++;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD &&
	    body != NULL) {
		char	 len[32];

		/* evhttp 2.1 would send the body after the headers */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, mon_http_reason(code), body);
}

void
mon_html_head(struct evbuffer *b, const char *title, const struct mon_auth *a)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>");
	ctl_html_esc(b, title);
	evbuffer_add_printf(b, " - Breakwater</title>");
	mon_style_add(b);
	evbuffer_add_printf(b, "</head><body><header><strong>Breakwater"
	    "</strong> ");
	ctl_html_esc(b, ctl_env->d.cfg->hostname);
	if (a != NULL) {
		evbuffer_add_printf(b, " <a href=\"/\">home</a>"
		    "<form method=\"post\" action=\"/logout\">");
		ctl_html_esc(b, a->user);
		evbuffer_add_printf(b, " <input type=\"hidden\" name=\"csrf\" "
		    "value=\"%s\"><button>log out</button></form>", a->csrf);
	}
	evbuffer_add_printf(b, "</header><main><h1>");
	ctl_html_esc(b, title);
	evbuffer_add_printf(b, "</h1>\n");
}

void
mon_html_foot(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

void
mon_http_error(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer	*b;
	struct ctl_json	 j;

	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (mon_http_fmt(req) == MON_FMT_JSON) {
		ctl_json_init(&j, b);
		ctl_json_obj_open(&j, NULL);
		ctl_json_int(&j, "status", code);
		ctl_json_str(&j, "error", text);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		mon_http_reply(req, code, "application/json", b);
	} else {
		mon_html_head(b, mon_http_reason(code), NULL);
		evbuffer_add_printf(b, "<p>");
		ctl_html_esc(b, text);
		evbuffer_add_printf(b, "</p>\n");
		mon_html_foot(b);
		mon_http_reply(req, code, "text/html; charset=utf-8", b);
	}
	evbuffer_free(b);
}

enum mon_fmt
mon_http_fmt(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	const char		*query, *v;
	int			 json = 0;

	if (uri != NULL && (query = evhttp_uri_get_query(uri)) != NULL) {
		TAILQ_INIT(&q);
		if (evhttp_parse_query_str(query, &q) == 0 &&
		    (v = evhttp_find_header(&q, "format")) != NULL)
			json = strcmp(v, "json") == 0 ? 1 : -1;
		evhttp_clear_headers(&q);
	}
	if (json == 0 && (v = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Accept")) != NULL &&
	    strcasestr(v, "application/json") != NULL)
		json = 1;
	return json == 1 ? MON_FMT_JSON : MON_FMT_HTML;
}

/*
 * Connections.
 */

/* Local port of ours, and connected: one of our HTTP connections. */
static int
mon_conn_is_ours(int fd, struct sockaddr_storage *peer)
{
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	in_port_t		 ours, port;

	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1 ||
	    local.ss_family != mon.addr.ss_family)
		return 0;
	if (local.ss_family == AF_INET) {
		ours = ((struct sockaddr_in *)&mon.addr)->sin_port;
		port = ((struct sockaddr_in *)&local)->sin_port;
	} else if (local.ss_family == AF_INET6) {
		ours = ((struct sockaddr_in6 *)&mon.addr)->sin6_port;
		port = ((struct sockaddr_in6 *)&local)->sin6_port;
	} else
		return 0;
	len = sizeof(*peer);
	memset(peer, 0, sizeof(*peer));
	return port == ours && getpeername(fd, (struct sockaddr *)peer,
	    &len) == 0;	/* the listening socket has no peer */
}

static int
mon_conn_was_seen(int fd, const struct sockaddr_storage *peer)
{
	size_t	 i;

	for (i = 0; i < mon.nconns; i++)
		if (mon.conns[i].fd == fd &&
		    memcmp(&mon.conns[i].peer, peer, sizeof(*peer)) == 0)
			return 1;
	return 0;
}

/*
 * Count our open connections; *newfd gets one not seen by the last count
 * (the one just accepted), or -1.  -1 if the count cannot be taken.
 */
static long
mon_http_conns(int *newfd)
{
	struct mon_conn		*now = NULL, *nv;
	struct sockaddr_storage	 peer;
	struct dirent		*de;
	DIR			*dir;
	size_t			 n = 0, cap = 0;
	char			*end;
	long			 fd;

	*newfd = -1;
	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		fd = strtol(de->d_name, &end, 10);
		if (*end != '\0' || end == de->d_name || fd == dirfd(dir) ||
		    !mon_conn_is_ours((int)fd, &peer))
			continue;
		if (!mon_conn_was_seen((int)fd, &peer))
			*newfd = (int)fd;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(now, cap, sizeof(*now))) ==
			    NULL) {
				free(now);
				closedir(dir);
				return -1;
			}
			now = nv;
		}
		now[n].fd = (int)fd;
		now[n++].peer = peer;
	}
	closedir(dir);
	free(mon.conns);
	mon.conns = now;
	mon.nconns = n;
	return (long)n;
}

/* A new connection (evhttp_set_bevcb): its bufferevent, TLS or not. */
static struct bufferevent *
mon_http_bevcb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	SSL			*ssl;
	long			 n;
	int			 fd;

	n = mon_http_conns(&fd);
	if (n > BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_HTTP_MAX_CONNECTIONS) &&
	    fd != -1) {
		/* evhttp reads EOF at once and frees the connection */
		if (!mon.tls)
			(void)send(fd, MON_HTTP_BUSY_TEXT,
			    strlen(MON_HTTP_BUSY_TEXT), MSG_DONTWAIT |
			    MSG_NOSIGNAL);
		(void)shutdown(fd, SHUT_RDWR);
		mon.c_refused++;
		log_debug("monitor: connection refused, %ld open", n - 1);
	}
	if (!mon.tls)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(mon.ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Requests.
 */

/* The request line and headers within monitor_http_max_header: 0, or the
 * status to answer. */
static int
mon_http_size_check(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	size_t			 max, n;

	max = (size_t)BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_HTTP_MAX_HEADER);
	n = strlen(evhttp_request_get_uri(req));
	if (n > max)
		return 414;
	TAILQ_FOREACH(kv, h, next) {
		n += strlen(kv->key) + strlen(kv->value) + 4;
		if (n > max)
			return 431;
	}
	return 0;
}

/* The client's address, for logs and the login rate limit. */
static void
mon_http_peer(struct evhttp_request *req, char *dst, size_t dstsz)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char			*host = NULL;
	ev_uint16_t		 port = 0;

	strlcpy(dst, "-", dstsz);
	if (evcon == NULL)
		return;
	evhttp_connection_get_peer(evcon, &host, &port);
	if (host != NULL)
		strlcpy(dst, host, dstsz);
}

static int
mon_http_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return MON_GET;
	case EVHTTP_REQ_POST:
		return MON_POST;
	default:
		return 0;
	}
}

static void
mon_http_not_allowed(struct evhttp_request *req, int methods)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    methods == (MON_GET | MON_POST) ? "GET, HEAD, POST" :
	    methods == MON_POST ? "POST" : "GET, HEAD");
	mon_http_error(req, 405, "method not allowed here");
}

/* Every request. */
static void
mon_http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const struct mon_route	*r;
	struct mon_auth		 auth;
	struct evbuffer		*b;
	const char		*rawpath, *rest = "";
	char			 addr[BW_HOSTADDR_MAX];
	char			*path = NULL;
	size_t			 len = 0;
	int			 code, method;

	mon.c_requests++;
	mon_http_peer(req, addr, sizeof(addr));
	if ((code = mon_http_size_check(req)) != 0) {
		/* debug: anyone may send these, as often as they like */
		log_debug("monitor: addr=%s refused: %s", addr,
		    code == 414 ? "URL too long" : "headers too large");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		mon_http_error(req, code, code == 414 ? "the URL is too long" :
		    "the request headers are too large");
		return;
	}
	if (uri == NULL || (rawpath = evhttp_uri_get_path(uri)) == NULL ||
	    rawpath[0] != '/' ||
	    (path = evhttp_uridecode(rawpath, 0, &len)) == NULL ||
	    strlen(path) != len || len > MON_HTTP_PATH_MAX) {
		free(path);
		mon_http_error(req, 400, "bad request path");
		return;
	}
	method = mon_http_method(req);

	/* the probe of a load balancer or of systemd: no login */
	if (strcmp(path, "/healthz") == 0) {
		if (method != MON_GET)
			mon_http_not_allowed(req, MON_GET);
		else if ((b = evbuffer_new()) != NULL) {
			evbuffer_add_printf(b, "ok\n");
			mon_http_reply(req, 200, "text/plain", b);
			evbuffer_free(b);
		} else
			evhttp_send_error(req, 500, NULL);
		goto done;
	}
	if (strcmp(path, "/login") == 0) {
		if (method == 0)
			mon_http_not_allowed(req, MON_GET | MON_POST);
		else
			mon_auth_login_page(req, addr);
		goto done;
	}
	if (mon_auth_check(req, &auth) == -1)
		goto done;	/* answered */
	if (strcmp(path, "/logout") == 0) {
		if (method != MON_POST)
			mon_http_not_allowed(req, MON_POST);
		else if (mon_auth_csrf_ok(req, &auth, NULL) == 0)
			mon_auth_logout(req, &auth);
		goto done;
	}
	if ((r = mon_route_find(path, &rest)) == NULL) {
		mon_http_error(req, 404, "no such page");
		goto done;
	}
	if ((method & r->methods) == 0) {
		mon_http_not_allowed(req, r->methods);
		goto done;
	}
	if ((auth.may & r->may) != r->may) {
		log_info("monitor: user=%s addr=%s refused %s: no right to %s",
		    auth.user, auth.addr, r->prefix,
		    (r->may & MON_MAY_ACT) ? "act" : "view");
		mon_http_error(req, 403, "your user may not do this");
		goto done;
	}
	if (method == MON_POST && mon_auth_csrf_ok(req, &auth, NULL) != 0)
		goto done;	/* answered */
	r->fn(req, &auth, rest);
done:
	free(path);
}

/* "/": what there is. */
static void
mon_http_home(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	struct evbuffer	*b;
	struct ctl_json	 j;
	size_t		 i;

	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (mon_http_fmt(req) == MON_FMT_JSON) {
		ctl_json_init(&j, b);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "host", ctl_env->d.cfg->hostname);
		ctl_json_str(&j, "user", a->user);
		ctl_json_bool(&j, "act", (a->may & MON_MAY_ACT) != 0);
		ctl_json_arr_open(&j, "pages");
		for (i = 0; i < mon.nroutes; i++)
			if (mon.routes[i].len > 1 &&
			    (a->may & mon.routes[i].may) == mon.routes[i].may)
				ctl_json_str(&j, NULL, mon.routes[i].prefix);
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		mon_http_reply(req, 200, "application/json", b);
	} else {
		mon_html_head(b, "Monitor", a);
		evbuffer_add_printf(b, "<ul>\n");
		for (i = 0; i < mon.nroutes; i++) {
			if (mon.routes[i].len <= 1 || (a->may &
			    mon.routes[i].may) != mon.routes[i].may ||
			    !(mon.routes[i].methods & MON_GET))
				continue;
			evbuffer_add_printf(b, "<li><a href=\"");
			ctl_html_esc(b, mon.routes[i].prefix);
			evbuffer_add_printf(b, "\">");
			ctl_html_esc(b, mon.routes[i].prefix + 1);
			evbuffer_add_printf(b, "</a></li>\n");
		}
		evbuffer_add_printf(b, "</ul>\n");
		mon_html_foot(b);
		mon_http_reply(req, 200, "text/html; charset=utf-8", b);
	}
	evbuffer_free(b);
}

/* The status command's answer: JSON as bwctl --json prints it, or its
 * rows as HTML tables (ctl_out_html.c) in a page. */
static void
mon_http_status_done(void *arg, uint32_t reqid, int exitcode,
    struct evbuffer *out)
{
	struct evhttp_request	*req = arg;
	struct evbuffer		*b;

	if (mon_http_fmt(req) == MON_FMT_JSON) {
		mon_http_reply(req, exitcode == 0 ? 200 : 500,
		    "application/json", out);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	mon_html_head(b, "Status", NULL);
	evbuffer_add_buffer(b, out);
	mon_html_foot(b);
	mon_http_reply(req, exitcode == 0 ? 200 : 500,
	    "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/* "/status": the rows of bwctl status, run as the page's user. */
static void
mon_http_status_page(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static char		 cmd[] = "status";
	char			*argv[] = { cmd };
	struct ctl_principal	 who;
	struct ctl_html_view	 view;

	if (rest[0] != '\0') {
		mon_http_error(req, 404, "no such page");
		return;
	}
	memset(&who, 0, sizeof(who));
	snprintf(who.name, sizeof(who.name), "web user=%s addr=%s", a->user,
	    a->addr);
	who.may = ((a->may & MON_MAY_VIEW) ? CTL_MAY_VIEW : 0) |
	    ((a->may & MON_MAY_ACT) ? CTL_MAY_ACT : 0);
	if (mon_http_fmt(req) == MON_FMT_JSON) {
		(void)ctl_cmd_run(mon_http_status_done, req, &who,
		    CTL_FMT_JSON, 1, argv);
		return;
	}
	memset(&view, 0, sizeof(view));
	(void)ctl_cmd_run_html(mon_http_status_done, req, &who, &view, 1,
	    argv);
}

/*
 * Start and stop.
 */

static void
mon_http_tls_errors(const char *what)
{
	unsigned long	 e;
	char		 buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("monitor: %s: %s", what, buf);
	}
}

static SSL_CTX *
mon_http_tls_ctx(const struct bw_config *cfg)
{
	SSL_CTX		*ctx;
	const char	*cert = config_monitor_cert(cfg);
	const char	*key = config_monitor_key(cfg);
	static const unsigned char sid[] = "breakwater-monitor";

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		mon_http_tls_errors("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		mon_http_tls_errors(cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		mon_http_tls_errors(key);
		goto fail;
	}
	if (cfg->monitor_client_ca[0] != '\0') {
		STACK_OF(X509_NAME)	*names;

		/* asked for, not required: a password still works */
		if (SSL_CTX_load_verify_locations(ctx, cfg->monitor_client_ca,
		    NULL) != 1 || (names = SSL_load_client_CA_file(
		    cfg->monitor_client_ca)) == NULL) {
			mon_http_tls_errors(cfg->monitor_client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Apply the limits evhttp enforces itself (start and reload). */
static void
mon_http_limits(const struct bw_config *cfg)
{
	struct timeval	 tv;
	long long	 ms = BW_LIMIT(cfg, LIM_MONITOR_HTTP_TIMEOUT);

	evhttp_set_max_headers_size(mon.http, (ev_ssize_t)(MON_HTTP_HARD_FACTOR *
	    BW_LIMIT(cfg, LIM_MONITOR_HTTP_MAX_HEADER)));
	evhttp_set_max_body_size(mon.http,
	    (ev_ssize_t)BW_LIMIT(cfg, LIM_MONITOR_HTTP_MAX_BODY));
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evhttp_set_timeout_tv(mon.http, &tv);
}

int
mon_http_start(struct event_base *base, const struct bw_config *cfg)
{
	char	 err[256];
	int	 fd = -1, on = 1;

	if (cfg->monitor_addr.ss_family == 0) {
		log_info("monitor: off (monitor_listen none)");
		return 0;
	}
	mon.addr = cfg->monitor_addr;
	mon.tls = cfg->monitor_tls;
	if (mon_auth_load(cfg->monitor_password_file, err, sizeof(err)) == -1)
		log_warnx("monitor: %s; nobody can log in until it is fixed "
		    "and bwctl config reload", err);
	if (mon.tls && (mon.ssl_ctx = mon_http_tls_ctx(cfg)) == NULL) {
		log_warnx("monitor: not started on %s: no TLS context",
		    cfg->monitor_listen);
		return -1;
	}
	if ((mon.http = evhttp_new(base)) == NULL)
		goto fail;
	if ((fd = socket(mon.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&mon.addr, mon.addr.ss_family ==
	    AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)) == -1 || listen(fd, 128) == -1) {
		log_warn("monitor: not started: cannot listen on %s",
		    cfg->monitor_listen);
		goto fail;
	}
	if (evhttp_accept_socket(mon.http, fd) == -1) {
		log_warnx("monitor: not started: evhttp_accept_socket");
		goto fail;
	}
	fd = -1;	/* evhttp's now */
	evhttp_set_allowed_methods(mon.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(mon.http, mon_http_bevcb, NULL);
	evhttp_set_gencb(mon.http, mon_http_request_cb, NULL);
	evhttp_set_default_content_type(mon.http, "text/plain");
	mon_http_limits(cfg);
	mon_http_route("/", MON_MAY_VIEW, MON_GET, mon_http_home);
	mon_http_route("/status", MON_MAY_VIEW, MON_GET, mon_http_status_page);
	mon_pages_register();
	log_info("monitor: listening on %s (%s) users=%zu", cfg->monitor_listen,
	    mon.tls ? "https" : "http", mon_auth_nusers());
	return 0;
fail:
	if (fd != -1)
		close(fd);
	if (mon.http != NULL)
		evhttp_free(mon.http);
	mon.http = NULL;
	SSL_CTX_free(mon.ssl_ctx);
	mon.ssl_ctx = NULL;
	return -1;
}

/* bwctl config reload (and SIGHUP): the password file and the limits. */
int
mon_http_reload(const struct bw_config *nc)
{
	char	 err[256];

	if (mon.http == NULL)
		return 0;
	mon_http_limits(nc);
	if (mon_auth_load(nc->monitor_password_file, err, sizeof(err)) == -1) {
		log_warnx("monitor: %s; the users loaded before stay", err);
		return -1;
	}
	log_info("monitor: password file %s read: %zu users",
	    nc->monitor_password_file, mon_auth_nusers());
	return 0;
}

void
mon_http_stop(void)
{
	if (mon.http != NULL)
		evhttp_free(mon.http);
	mon.http = NULL;
	SSL_CTX_free(mon.ssl_ctx);
	mon.ssl_ctx = NULL;
	free(mon.conns);
	mon.conns = NULL;
	mon.nconns = 0;
	mon.nroutes = 0;
	mon_auth_free();
}
