/*
 * The Mail Flow Monitor's HTTP side of controld: the server and its routes
 * (controld_http.c) and who may use it (controld_http_auth.c).
 *
 * Every request passes, in this order: the size checks (URL 414, headers
 * 431, evhttp's own hard caps 413), /healthz (no login), /login and
 * /logout, then the login check (a session cookie, HTTP Basic, or a
 * client certificate), the route's right (view, act) and methods (405),
 * and for a POST the CSRF token and the Origin header (403).  A page
 * function runs only after all of that, with the caller in mon_auth.
 *
 * A page answers with mon_http_reply() (or mon_http_error()), at once or
 * later (after asking the daemons): evhttp keeps the request until then,
 * and a client gone in the meantime costs nothing.
 */
#ifndef CONTROLD_MON_H
#define CONTROLD_MON_H

#include <stddef.h>
#include <stdint.h>

#include "imsg_catalog.h"

struct bw_config;
struct evbuffer;
struct event_base;
struct evhttp_request;

/* Rights: the password file's "view" and "act". */
#define MON_MAY_VIEW		0x01
#define MON_MAY_ACT		0x02

/* Methods a route takes (HEAD goes with GET). */
#define MON_GET			0x01
#define MON_POST		0x02

#define MON_USER_MAX		64	/* a user name, with its NUL */
#define MON_TOKEN_HEX		64	/* a session id or CSRF token, hex */
#define MON_ROUTES_MAX		64	/* routes registered */
#define MON_ROUTE_PREFIX_MAX	64	/* "/domain" */

/* How the caller logged in. */
enum mon_via {
	MON_VIA_SESSION,	/* the login form's cookie */
	MON_VIA_BASIC,		/* HTTP Basic on this request */
	MON_VIA_CERT,		/* a client certificate */
};

/* Who asked: filled by mon_auth_check(), read by the pages. */
struct mon_auth {
	char		 user[MON_USER_MAX];
	unsigned	 may;			/* MON_MAY_* */
	enum mon_via	 via;
	char		 csrf[MON_TOKEN_HEX + 1];	/* for forms: the field
						   "csrf" or X-CSRF-Token */
	char		 addr[BW_HOSTADDR_MAX];	/* the client's */
};

/* What a page answers in (mon_http_fmt). */
enum mon_fmt {
	MON_FMT_HTML,
	MON_FMT_JSON,
};

/* rest: the path after the route's prefix ("" or "/..."), decoded. */
typedef void (*mon_page_fn)(struct evhttp_request *, const struct mon_auth *,
    const char *rest);

/* controld_http.c */
/* As root, before the privilege drop: bind and load the TLS files.  A
 * failed bind or TLS setup is logged and leaves the monitor off. */
int	 mon_http_start(struct event_base *, const struct bw_config *);
void	 mon_http_stop(void);
/* bwctl config reload: the password file again (-1: kept the old one),
 * and the limits evhttp enforces. */
int	 mon_http_reload(const struct bw_config *);
/* prefix "/status" takes "/status" and "/status/..."; "/" only "/".
 * -1 if the table is full or the prefix is too long. */
int	 mon_http_route(const char *prefix, unsigned may, int methods,
	    mon_page_fn);
/* ?format=json, or an Accept header that names application/json. */
enum mon_fmt mon_http_fmt(struct evhttp_request *);
/* Send body (may be NULL) with code and content type; the usual security
 * headers are added.  Drains body. */
void	 mon_http_reply(struct evhttp_request *, int code, const char *ctype,
	    struct evbuffer *body);
/* A short page (HTML or JSON, as asked) saying what went wrong. */
void	 mon_http_error(struct evhttp_request *, int code, const char *text);
/* The start and end of an HTML page of ours (title escaped; the
 * stylesheet of controld_style.c; escape with ctl_html.h). */
void	 mon_html_head(struct evbuffer *, const char *title,
	    const struct mon_auth *);
void	 mon_html_foot(struct evbuffer *);
/* The monitor's own numbers, for controld's status row. */
void	 mon_http_counters(uint64_t *requests, uint64_t *refused);

/* controld_http_auth.c */
/* Read the password file (start, and bwctl config reload); on an error
 * the users loaded before stay and err says why.  0 or -1. */
int	 mon_auth_load(const char *path, char *err, size_t errsz);
void	 mon_auth_free(void);
/* Session cookie, Basic, or client certificate: 0 with a filled, or -1
 * after an answer was sent (401, a redirect to /login, or 429). */
int	 mon_auth_check(struct evhttp_request *, struct mon_auth *);
/* A POST's token (form field or header) and Origin; 0 if good. */
int	 mon_auth_csrf_ok(struct evhttp_request *, const struct mon_auth *,
	    const char *form_token);
/* GET and POST /login, POST /logout. */
void	 mon_auth_login_page(struct evhttp_request *, const char *addr);
void	 mon_auth_logout(struct evhttp_request *, const struct mon_auth *);
size_t	 mon_auth_nusers(void);

/* controld_pages.c: the pages' routes (mon_http_start registers them). */
void	 mon_pages_register(void);

#endif
