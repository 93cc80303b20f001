/*
 * MTA-STS (RFC 8461) in a deliverd worker: the policy of a destination with
 * `mta_sts yes`, found, fetched, cached and applied to its MX hosts.
 *
 * Discovery, before the MX lookup of an agent (dlv_sts_prepare, called by
 * dlv_mx_resolve; routed destinations have no MX and are left alone):
 *
 *  1. TXT _mta-sts.DOMAIN through dnscached (deliverd_mtasts_parse.c picks
 *     the one v=STSv1 record).  No usable record, or the lookup failed:
 *     the cached policy stays in force until it expires (RFC 8461 5.1: a
 *     missing record does not remove a policy; an attacker can strip DNS
 *     answers), else the domain has no policy.
 *  2. The record's id equals the cached policy's: the cached one is used.
 *     It differs, or nothing is cached: the policy is fetched, and the
 *     agent waits for it.
 *  3. A and AAAA of mta-sts.DOMAIN through dnscached; the first address
 *     (IPv4 first) is used.
 *  4. GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt with libevent's
 *     HTTP client over an OpenSSL bufferevent, to that address, port 443:
 *     SNI and certificate name mta-sts.DOMAIN, chain verified against the
 *     destination's tls_ca_file or the system store (RFC 8461 3.3); no
 *     redirect followed (anything but 200 fails), media type text/plain,
 *     at most DLV_STS_POLICY_MAX body bytes and DLV_STS_HEADERS_MAX header
 *     bytes, DLV_STS_FETCH_MS for the whole fetch, Connection: close.
 *
 * A fetch that fails keeps an unexpired cached policy in force (RFC 8461
 * 5.1); without one the domain is delivered as if it had no policy, one
 * log line says so (once, until a fetch succeeds), and the same id is not
 * fetched again for DLV_STS_RETRY_MS, so a server that never answers costs
 * its domain one timeout, not one per MX resolution, and other domains
 * nothing (every step is asynchronous and bounded).
 *
 * Refresh (RFC 8461 5.1 and 10.2: refresh before expiry, so that an
 * attacker who blocks the fetch at the wrong moment finds a policy still
 * cached): a policy past half its max_age is fetched again in the
 * background when its domain is used -- the agent does not wait -- and the
 * sweep (every DLV_STS_SWEEP_MS) does the same for policies used since
 * their fetch; policies not used since their fetch are let expire, and
 * expired entries are freed.  At most DLV_STS_FETCHES_MAX discoveries run
 * at once; at most DLV_STS_CACHE_MAX domains are remembered (the least
 * recently used idle one goes).  The cache lives in the worker (a domain's
 * queues always go to the same worker) and does not survive a restart.
 *
 * Application: dlv_sts_mx_filter() after the MX answer (enforce: hosts not
 * matching the policy are not used, each logged; none left defers the
 * domain with 4.7.5; testing: logged once per policy), dlv_sts_tls_want()
 * for each new connection (VERIFY with the MX name, testing or not).
 *
 * Trust: DNS answers passed dnscached and its client; the HTTPS response
 * is bounded by libevent (headers, body) and parsed by the pure parser.
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "dns_client.h"
#include "hashtab.h"
#include "log.h"
#include "status_link.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_mtasts.h"

#define STS_PATH	"/.well-known/mta-sts.txt"
#define STS_HOST_PREFIX	"mta-sts."
#define STS_HOST_MAX	(BW_DOMAIN_MAX + sizeof(STS_HOST_PREFIX))
#define STS_ERR_MAX	(PATH_MAX + 512)	/* a failure, for the log */

enum sts_phase {
	STS_IDLE = 0,
	STS_TXT,		/* TXT _mta-sts.D in flight */
	STS_ADDR,		/* A / AAAA of mta-sts.D in flight */
	STS_HTTP,		/* the HTTPS fetch */
};

struct sts_fetch;

/* What the worker knows about one domain's policy. */
struct sts_entry {
	struct bw_hlink		 hlink;
	TAILQ_ENTRY(sts_entry)	 lru;		/* most recently used first */
	char			 domain[BW_DOMAIN_MAX + 1];
	char			 gateway[BW_NAME_MAX];	/* the last agent's:
						   its destination settings
						   (CA file, ipv6) */
	/* the policy in force, if have */
	int			 have;
	struct dlv_sts_policy	 pol;
	char			 id[DLV_STS_ID_MAX + 1];
	int64_t			 fetched;	/* unix seconds */
	int64_t			 expires;
	int64_t			 last_used;
	int			 testing_logged;	/* testing-mode MX
						   mismatch said for this
						   policy */
	/* a discovery */
	enum sts_phase		 phase;
	int			 background;	/* nobody waits for it */
	int			 waiting;	/* agents wait for it */
	char			 txt_id[DLV_STS_ID_MAX + 1];
	struct bw_dns_req	*dns[2];	/* TXT in [0]; A [0], AAAA [1] */
	char			 addr4[BW_HOSTADDR_MAX];
	char			 addr6[BW_HOSTADDR_MAX];
	struct sts_fetch	*fetch;
	/* the last failure without a policy to fall back on */
	char			 failed_id[DLV_STS_ID_MAX + 1];
	uint64_t		 failed_until;	/* bw_now_ms() */
	int			 fail_logged;
};

/* One HTTPS fetch. */
struct sts_fetch {
	struct sts_entry		*e;
	SSL_CTX				*ctx;
	struct evhttp_connection	*evcon;
	struct event			*timer;		/* DLV_STS_FETCH_MS */
	struct event			*finish;	/* after evhttp's callback */
	char				 host[STS_HOST_MAX];
	char				 addr[BW_HOSTADDR_MAX];
	int				 verify_err;	/* X509_V_ERR_*, 0 */
	int				 http_err;	/* evhttp_request_error + 1 */
	int				 ok;
	int				 answered;	/* evhttp called back */
	struct dlv_sts_policy		 pol;
	char				 why[STS_ERR_MAX];
};

static void
sts_entry_key(const void *entry, struct bw_hkey *k)
{
	const struct sts_entry	*e = entry;

	bw_hkey_init(k);
	bw_hkey_str(k, e->domain);
}

static const struct bw_htab_type sts_htab_type = {
	"mta-sts policies", offsetof(struct sts_entry, hlink), 0, 0,
	sts_entry_key, NULL
};

static struct bw_htab		 sts_tab;
static TAILQ_HEAD(sts_entry_lru_head, sts_entry) sts_lru =
    TAILQ_HEAD_INITIALIZER(sts_lru);
static int			 sts_busy;	/* entries not STS_IDLE */
static struct event		*sts_sweep_ev;
static int			 sts_ssl_idx = -1;
/* counters for bwctl status */
static uint64_t			 sts_c_lookups;	/* TXT lookups sent */
static uint64_t			 sts_c_fetches;	/* HTTPS fetches started */
static uint64_t			 sts_c_fetch_failures;	/* ... that failed */
static uint64_t			 sts_c_hosts_refused;	/* MX hosts not used
							   (enforce) */

static void	 sts_txt_cb(const struct bw_dns_result *, void *);
static void	 sts_addr_cb(const struct bw_dns_result *, void *);
static void	 sts_fetch_free(struct sts_fetch *);

static int
sts_in_force(const struct sts_entry *e, int64_t now)
{
	return e->have && now < e->expires;
}

static struct sts_entry *
sts_find(const char *domain)
{
	struct bw_hkey	 k;

	bw_hkey_init(&k);
	bw_hkey_str(&k, domain);
	return bw_htab_find(&sts_tab, &k);
}

static void
sts_entry_free(struct sts_entry *e)
{
	bw_htab_remove(&sts_tab, e);
	TAILQ_REMOVE(&sts_lru, e, lru);
	free(e);
}

/* The entry of a domain, made if new (evicting the least recently used
 * idle entry when full); NULL when none can be had. */
static struct sts_entry *
sts_get(const char *domain)
{
	struct sts_entry	*e, *old;

	if ((e = sts_find(domain)) != NULL) {
		TAILQ_REMOVE(&sts_lru, e, lru);
		TAILQ_INSERT_HEAD(&sts_lru, e, lru);
		return e;
	}
	if (bw_htab_count(&sts_tab) >= DLV_STS_CACHE_MAX) {
		TAILQ_FOREACH_REVERSE(old, &sts_lru, sts_entry_lru_head, lru)
			if (old->phase == STS_IDLE)
				break;
		if (old == NULL)
			return NULL;
		sts_entry_free(old);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	strlcpy(e->domain, domain, sizeof(e->domain));
	if (bw_htab_insert(&sts_tab, e) == -1) {
		free(e);
		return NULL;
	}
	TAILQ_INSERT_HEAD(&sts_lru, e, lru);
	return e;
}

/* The destination settings that govern the entry's fetches. */
static const struct bw_dest_opts *
sts_opts(const struct sts_entry *e)
{
	return config_dest_opts(dlv_env->cfg, e->gateway, e->domain);
}

/* Wake one agent that waited for its domain's policy. */
static void
sts_wake_one(struct dlv_agent *a, void *arg)
{
	if (!a->sts_wait)
		return;
	a->sts_wait = 0;
	a->sts_ready = 1;
	dlv_mx_resolve(a);
}

/* Agents waiting for this entry go on (with whatever is in force now). */
static void
sts_wake(struct sts_entry *e)
{
	if (!e->waiting)
		return;
	e->waiting = 0;
	dlv_agent_foreach_domain(e->domain, sts_wake_one, NULL);
}

/* The discovery is over. */
static void
sts_done(struct sts_entry *e)
{
	int	 i;

	for (i = 0; i < 2; i++)
		if (e->dns[i] != NULL) {
			bw_dns_client_cancel(dlv_env->dns, e->dns[i]);
			e->dns[i] = NULL;
		}
	if (e->fetch != NULL)
		sts_fetch_free(e->fetch);
	if (e->phase != STS_IDLE)
		sts_busy--;
	e->phase = STS_IDLE;
	e->background = 0;
	sts_wake(e);
}

/* The fetch failed (why): the cached policy stays, or there is none. */
static void
sts_failed(struct sts_entry *e, const char *why)
{
	int64_t	 now = bw_time();

	if (sts_in_force(e, now)) {
		log_warnx("domain=%s mta-sts: policy refresh failed (%s); the "
		    "cached policy id=%s mode=%s stays in force for %lld s",
		    e->domain, why, e->id, dlv_sts_mode_name(e->pol.mode),
		    (long long)(e->expires - now));
	} else if (!e->fail_logged) {
		log_warnx("domain=%s mta-sts: policy fetch failed (%s); "
		    "delivering as without a policy (RFC 8461 5.1), id=%s not "
		    "fetched again for %d s", e->domain, why, e->txt_id,
		    DLV_STS_RETRY_MS / 1000);
		e->fail_logged = 1;
	} else
		log_debug("domain=%s mta-sts: policy fetch failed again (%s)",
		    e->domain, why);
	strlcpy(e->failed_id, e->txt_id, sizeof(e->failed_id));
	e->failed_until = bw_now_ms() + DLV_STS_RETRY_MS;
	sts_c_fetch_failures++;
	sts_done(e);
}

/* A policy was fetched and parsed. */
static void
sts_fetched(struct sts_entry *e, const struct dlv_sts_policy *p)
{
	char	 mx[DLV_STS_MX_MAX * 64];
	int	 i, same;

	same = e->have && strcmp(e->id, e->txt_id) == 0 &&
	    e->pol.mode == p->mode;
	e->have = 1;
	e->pol = *p;
	strlcpy(e->id, e->txt_id, sizeof(e->id));
	e->fetched = bw_time();
	e->expires = e->fetched + (int64_t)p->max_age;
	e->fail_logged = 0;
	e->failed_id[0] = '\0';
	e->failed_until = 0;
	if (!same)
		e->testing_logged = 0;
	mx[0] = '\0';
	for (i = 0; i < p->nmx; i++) {
		if (i > 0)
			strlcat(mx, ",", sizeof(mx));
		strlcat(mx, p->mx[i], sizeof(mx));
	}
	log_info("domain=%s mta-sts: policy id=%s mode=%s max_age=%u mx=%s "
	    "(%s)", e->domain, e->id, dlv_sts_mode_name(p->mode),
	    p->max_age, mx[0] ? mx : "-", same ? "refreshed" : "new");
	sts_done(e);
}

/* ---- HTTPS ---- */

static const char *
sts_http_err_name(int err)
{
	switch (err) {
	case EVREQ_HTTP_TIMEOUT:
		return "timed out";
	case EVREQ_HTTP_EOF:
		return "connection closed";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid HTTP header or header section too large";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection failed";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "policy body too large";
	}
	return "failed";
}

static void
sts_fetch_free(struct sts_fetch *f)
{
	if (f->e != NULL)
		f->e->fetch = NULL;
	if (f->evcon != NULL)
		evhttp_connection_free(f->evcon);	/* the request too,
							   without callbacks */
	if (f->timer != NULL)
		event_free(f->timer);
	if (f->finish != NULL)
		event_free(f->finish);
	SSL_CTX_free(f->ctx);
	free(f);
}

/* After evhttp's callbacks (never inside them: the connection is freed). */
static void
sts_fetch_finish_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sts_fetch	*f = arg;
	struct sts_entry	*e = f->e;
	struct dlv_sts_policy	 pol;

	if (f->ok) {
		pol = f->pol;
		sts_fetched(e, &pol);		/* frees f */
	} else {
		char why[sizeof(f->why)];

		strlcpy(why, f->why, sizeof(why));
		sts_failed(e, why);		/* frees f */
	}
}

static void
sts_fetch_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sts_fetch	*f = arg;

	snprintf(f->why, sizeof(f->why), "https://%s[%s]: no complete "
	    "answer within %d ms", f->host, f->addr, DLV_STS_FETCH_MS);
	f->ok = 0;
	sts_fetch_finish_cb(-1, 0, f);
}

/* Is a Content-Type header text/plain (parameters allowed)? */
static int
sts_text_plain(const char *ct)
{
	if (ct == NULL || strncasecmp(ct, "text/plain", 10) != 0)
		return 0;
	return ct[10] == '\0' || ct[10] == ';' || ct[10] == ' ' ||
	    ct[10] == '\t';
}

static void
sts_fetch_error_cb(enum evhttp_request_error err, void *arg)
{
	struct sts_fetch	*f = arg;

	f->http_err = (int)err + 1;
}

/* evhttp's answer: req NULL on failure (after the error callback). */
static void
sts_fetch_done_cb(struct evhttp_request *req, void *arg)
{
	struct sts_fetch	*f = arg;
	struct evbuffer		*in;
	const char		*ct, *body;
	char			 why[DLV_STS_WHY_MAX];
	size_t			 len;
	int			 code;

	if (f->answered++)
		return;
	f->ok = 0;
	evtimer_del(f->timer);
	event_active(f->finish, EV_TIMEOUT, 0);
	if (req == NULL || (code = evhttp_request_get_response_code(req)) ==
	    0) {
		if (f->verify_err != 0)
			snprintf(f->why, sizeof(f->why), "https://%s[%s]: "
			    "certificate not valid for %s: %s", f->host,
			    f->addr, f->host,
			    X509_verify_cert_error_string(f->verify_err));
		else
			snprintf(f->why, sizeof(f->why), "https://%s[%s]: %s",
			    f->host, f->addr, f->http_err ?
			    sts_http_err_name(f->http_err - 1) :
			    "connection failed");
		return;
	}
	if (code != 200) {
		snprintf(f->why, sizeof(f->why), "https://%s[%s]: HTTP status "
		    "%d%s", f->host, f->addr, code, code >= 300 && code < 400 ?
		    " (redirects are not followed, RFC 8461 3.3)" : "");
		return;
	}
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (!sts_text_plain(ct)) {
		char esc[64];

		log_escape(esc, sizeof(esc), ct ? ct : "none",
		    strlen(ct ? ct : "none"));
		snprintf(f->why, sizeof(f->why), "https://%s[%s]: media type "
		    "%s, not text/plain", f->host, f->addr, esc);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	if ((len = evbuffer_get_length(in)) > DLV_STS_POLICY_MAX) {
		snprintf(f->why, sizeof(f->why), "https://%s[%s]: policy "
		    "larger than %d bytes", f->host, f->addr,
		    DLV_STS_POLICY_MAX);
		return;
	}
	if ((body = len ? (const char *)evbuffer_pullup(in, -1) : "") ==
	    NULL) {
		snprintf(f->why, sizeof(f->why), "https://%s[%s]: out of "
		    "memory", f->host, f->addr);
		return;
	}
	if (dlv_sts_policy_parse(body, len, &f->pol, why, sizeof(why)) ==
	    -1) {
		snprintf(f->why, sizeof(f->why), "https://%s[%s]: not a "
		    "policy: %s", f->host, f->addr, why);
		return;
	}
	f->ok = 1;
}

/* Remember the first certificate error for the log line. */
static int
sts_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL		*ssl;
	struct sts_fetch *f;

	if (ok)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && sts_ssl_idx != -1 &&
	    (f = SSL_get_ex_data(ssl, sts_ssl_idx)) != NULL &&
	    f->verify_err == 0)
		f->verify_err = X509_STORE_CTX_get_error(xs);
	return ok;
}

/* Start the HTTPS fetch to e->addr4/addr6; 0, or -1 (why). */
static int
sts_fetch_start(struct sts_entry *e, char *why, size_t whysz)
{
	const struct bw_dest_opts	*o = sts_opts(e);
	struct sts_fetch		*f;
	struct bufferevent		*bev;
	struct evhttp_request		*req;
	struct evkeyvalq		*h;
	struct timeval			 tv;
	SSL				*ssl = NULL;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	f->e = e;
	e->fetch = f;
	snprintf(f->host, sizeof(f->host), STS_HOST_PREFIX "%s", e->domain);
	strlcpy(f->addr, e->addr4[0] ? e->addr4 : e->addr6, sizeof(f->addr));
	if (sts_ssl_idx == -1)
		sts_ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((f->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto ssl_fail;
	SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION);
	if (o->tls_ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(f->ctx, o->tls_ca_file,
		    NULL) != 1) {
			ERR_clear_error();
			snprintf(why, whysz, "cannot load tls_ca_file %s",
			    o->tls_ca_file);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(f->ctx) != 1)
		goto ssl_fail;
	if ((ssl = SSL_new(f->ctx)) == NULL)
		goto ssl_fail;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, sts_verify_cb);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, f->host) != 1 ||
	    SSL_set_tlsext_host_name(ssl, f->host) != 1 ||
	    SSL_set_ex_data(ssl, sts_ssl_idx, f) != 1) {
		SSL_free(ssl);
		goto ssl_fail;
	}
	/* the bufferevent owns ssl from here, even when it fails */
	if ((bev = bufferevent_openssl_socket_new(dlv_env->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		snprintf(why, whysz, "cannot create the TLS connection");
		goto fail;
	}
	/* the body's length ends it; a missing close_notify does no harm */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if ((f->evcon = evhttp_connection_base_bufferevent_new(dlv_env->base,
	    NULL, bev, f->addr, DLV_STS_HTTPS_PORT)) == NULL) {
		bufferevent_free(bev);
		snprintf(why, whysz, "cannot create the HTTP connection");
		goto fail;
	}
	evhttp_connection_set_timeout(f->evcon,
	    (DLV_STS_FETCH_MS + 999) / 1000);
	evhttp_connection_set_retries(f->evcon, 0);
	evhttp_connection_set_max_body_size(f->evcon, DLV_STS_POLICY_MAX);
	evhttp_connection_set_max_headers_size(f->evcon, DLV_STS_HEADERS_MAX);
	if ((f->timer = evtimer_new(dlv_env->base, sts_fetch_timeout_cb,
	    f)) == NULL || (f->finish = evtimer_new(dlv_env->base,
	    sts_fetch_finish_cb, f)) == NULL) {
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	if ((req = evhttp_request_new(sts_fetch_done_cb, f)) == NULL) {
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	evhttp_request_set_error_cb(req, sts_fetch_error_cb);
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", f->host) == -1 ||
	    evhttp_add_header(h, "Connection", "close") == -1 ||
	    evhttp_add_header(h, "Accept", "text/plain") == -1 ||
	    evhttp_add_header(h, "User-Agent", "Breakwater deliverd "
	    "(MTA-STS)") == -1) {
		evhttp_request_free(req);
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	/* evhttp owns req from here: on failure it is freed */
	if (evhttp_make_request(f->evcon, req, EVHTTP_REQ_GET, STS_PATH) ==
	    -1) {
		evhttp_request_free(req);	/* unlinked, not freed */
		snprintf(why, whysz, "cannot send the request to %s", f->addr);
		goto fail;
	}
	tv.tv_sec = DLV_STS_FETCH_MS / 1000;
	tv.tv_usec = (DLV_STS_FETCH_MS % 1000) * 1000;
	if (!f->answered)	/* a refused connect answers at once */
		evtimer_add(f->timer, &tv);
	e->phase = STS_HTTP;
	sts_c_fetches++;
	log_debug("domain=%s mta-sts: fetching https://%s%s from %s", e->domain,
	    f->host, STS_PATH, f->addr);
	return 0;
ssl_fail:
	ERR_clear_error();
	snprintf(why, whysz, "TLS setup failed");
fail:
	sts_fetch_free(f);
	return -1;
}

/* ---- DNS ---- */

/* Both address answers are in: fetch from the first address. */
static void
sts_addr_settle(struct sts_entry *e)
{
	char	 why[STS_ERR_MAX];

	if (e->addr4[0] == '\0' && e->addr6[0] == '\0') {
		snprintf(why, sizeof(why), "no address for " STS_HOST_PREFIX
		    "%s", e->domain);
		sts_failed(e, why);
		return;
	}
	if (sts_fetch_start(e, why, sizeof(why)) == -1)
		sts_failed(e, why);
}

static void
sts_addr_cb(const struct bw_dns_result *res, void *arg)
{
	struct sts_entry	*e = arg;
	struct bw_dns_rr	 rr;
	unsigned char		 bin[16];
	uint32_t		 i;
	int			 slot = res->qtype == BW_DNS_T_A ? 0 : 1;
	char			*dst = slot == 0 ? e->addr4 : e->addr6;

	e->dns[slot] = NULL;
	if (res->outcome == BW_DNSC_ANSWERED && res->status == BW_DNS_OK)
		for (i = 0; dst[0] == '\0' && bw_dns_result_rr(res, i, &rr) ==
		    0; i++) {
			if (rr.type != res->qtype)
				continue;
			bw_imsg_str(dst, BW_HOSTADDR_MAX, rr.data,
			    sizeof(rr.data));
			if (inet_pton(slot == 0 ? AF_INET : AF_INET6, dst,
			    bin) != 1)
				dst[0] = '\0';
		}
	if (e->dns[0] == NULL && e->dns[1] == NULL)
		sts_addr_settle(e);
}

static void
sts_addr_start(struct sts_entry *e)
{
	char		 host[STS_HOST_MAX];
	uint64_t	 deadline = bw_now_ms() + DLV_STS_DNS_MS;

	e->phase = STS_ADDR;
	e->addr4[0] = e->addr6[0] = '\0';
	if ((size_t)snprintf(host, sizeof(host), STS_HOST_PREFIX "%s",
	    e->domain) >= sizeof(host) ||
	    strlen(host) > BW_DNS_NAME_TEXT_MAX) {
		sts_failed(e, "mta-sts host name too long");
		return;
	}
	e->dns[0] = bw_dns_client_query(dlv_env->dns, host, BW_DNS_T_A,
	    deadline, sts_addr_cb, e);
	if (sts_opts(e)->ipv6)
		e->dns[1] = bw_dns_client_query(dlv_env->dns, host,
		    BW_DNS_T_AAAA, deadline, sts_addr_cb, e);
	if (e->dns[0] == NULL && e->dns[1] == NULL)
		sts_failed(e, "DNS service unavailable (dnscached)");
}

static const char *
sts_dns_why(const struct bw_dns_result *res)
{
	if (res->outcome == BW_DNSC_DOWN)
		return "lost connection to dnscached";
	if (res->outcome == BW_DNSC_TIMEDOUT)
		return "timed out";
	return bw_dns_status_name(res->status);
}

static int
sts_refresh_due(const struct sts_entry *e, int64_t now)
{
	return e->have && now >= e->fetched + (int64_t)e->pol.max_age / 2;
}

static void
sts_txt_cb(const struct bw_dns_result *res, void *arg)
{
	struct sts_entry	*e = arg;
	struct bw_dns_rr	 rr;
	char			 recs[BW_DNS_RR_MAX][BW_DNS_RDATA_TEXT_MAX];
	const char		*rp[BW_DNS_RR_MAX];
	char			 id[DLV_STS_ID_MAX + 1], why[DLV_STS_WHY_MAX];
	int64_t			 now = bw_time();
	uint32_t		 i;
	int			 n = 0;

	e->dns[0] = NULL;
	if (res->outcome != BW_DNSC_ANSWERED ||
	    (res->status != BW_DNS_OK && res->status != BW_DNS_NXDOMAIN &&
	    res->status != BW_DNS_NODATA)) {
		/* cannot tell: the cached policy, if any, stays */
		log_info("domain=%s mta-sts: TXT lookup of _mta-sts.%s failed "
		    "(%s): %s", e->domain, e->domain, sts_dns_why(res),
		    sts_in_force(e, now) ? "the cached policy stays" :
		    "no policy");
		sts_done(e);
		return;
	}
	for (i = 0; res->status == BW_DNS_OK && n < BW_DNS_RR_MAX &&
	    bw_dns_result_rr(res, i, &rr) == 0; i++) {
		if (rr.type != BW_DNS_T_TXT)
			continue;
		BW_IMSG_STR(recs[n], rr.data);
		rp[n] = recs[n];
		n++;
	}
	if (dlv_sts_txt_select(rp, n, id, why, sizeof(why)) != 1) {
		/* RFC 8461 5.1: no record does not remove a cached policy */
		log_debug("domain=%s mta-sts: %s", e->domain, why);
		if (n > 0 && !sts_in_force(e, now))
			log_info("domain=%s mta-sts: no policy (%s)",
			    e->domain, why);
		sts_done(e);
		return;
	}
	strlcpy(e->txt_id, id, sizeof(e->txt_id));
	if (sts_in_force(e, now) && strcmp(id, e->id) == 0) {
		if (!sts_refresh_due(e, now) || (strcmp(id, e->failed_id) ==
		    0 && bw_now_ms() < e->failed_until)) {
			sts_done(e);
			return;
		}
		/* refresh before expiry; nobody waits for it */
		e->background = 1;
		sts_wake(e);
	} else if (strcmp(id, e->failed_id) == 0 &&
	    bw_now_ms() < e->failed_until) {
		sts_done(e);		/* failed lately: not again yet */
		return;
	}
	sts_addr_start(e);
}

/* Start a discovery (TXT first); 0, or -1: none could be started. */
static int
sts_start(struct sts_entry *e, int background)
{
	char		 name[STS_HOST_MAX];

	if (sts_busy >= DLV_STS_FETCHES_MAX) {
		log_warnx("domain=%s mta-sts: %d policy discoveries already "
		    "running; %s", e->domain, sts_busy, sts_in_force(e,
		    bw_time()) ? "using the cached policy" :
		    "delivering as without a policy this time");
		return -1;
	}
	if ((size_t)snprintf(name, sizeof(name), "_mta-sts.%s", e->domain) >=
	    sizeof(name) || strlen(name) > BW_DNS_NAME_TEXT_MAX)
		return -1;
	if ((e->dns[0] = bw_dns_client_query(dlv_env->dns, name, BW_DNS_T_TXT,
	    bw_now_ms() + DLV_STS_DNS_MS, sts_txt_cb, e)) == NULL) {
		log_info("domain=%s mta-sts: TXT lookup not sent (dnscached "
		    "unavailable): %s", e->domain, sts_in_force(e, bw_time()) ?
		    "the cached policy stays" : "no policy");
		return -1;
	}
	e->phase = STS_TXT;
	e->background = background;
	sts_busy++;
	sts_c_lookups++;
	return 0;
}

/* ---- the agent's side ---- */

static int
sts_applies(const struct dlv_agent *a)
{
	return config_dest_opts(dlv_env->cfg, a->gateway, a->domain)->mta_sts &&
	    config_route_find(dlv_env->cfg, a->domain) == NULL &&
	    dlv_redirect_find(a->domain) == NULL;
}

int
dlv_sts_prepare(struct dlv_agent *a)
{
	struct sts_entry	*e;
	int64_t			 now = bw_time();

	if (a->sts_ready) {
		a->sts_ready = 0;
		return 0;
	}
	if (!sts_applies(a))
		return 0;
	if ((e = sts_get(a->domain)) == NULL) {
		log_warnx("domain=%s mta-sts: policy cache full of discoveries "
		    "in flight, or out of memory: delivering as without a "
		    "policy this time", a->domain);
		return 0;
	}
	e->last_used = now;
	strlcpy(e->gateway, a->gateway, sizeof(e->gateway));
	if (e->phase == STS_IDLE && sts_start(e, 0) == -1)
		return 0;
	if (e->background && sts_in_force(e, now))
		return 0;	/* a refresh runs: the cached policy is used */
	e->waiting = 1;
	a->sts_wait = 1;
	a->mx_state = DLV_MX_RESOLVING;
	return 1;
}

const struct dlv_sts_policy *
dlv_sts_policy_for(const char *domain)
{
	struct sts_entry	*e;

	if ((e = sts_find(domain)) == NULL || !sts_in_force(e, bw_time()))
		return NULL;
	return &e->pol;
}

int
dlv_sts_mx_filter(struct dlv_agent *a)
{
	struct sts_entry	*e;
	char			 bad[BW_REPLY_TEXT_MAX], why[BW_REPLY_TEXT_MAX];
	int			 i, nbad = 0;

	if (!sts_applies(a) || (e = sts_find(a->domain)) == NULL ||
	    !sts_in_force(e, bw_time()) || e->pol.mode == DLV_STS_MODE_NONE)
		return 0;
	bad[0] = '\0';
	for (i = 0; i < a->nhosts; i++) {
		struct dlv_host *h = &a->hosts[i];

		if (dlv_sts_mx_match(&e->pol, h->name))
			continue;
		nbad++;
		if (bad[0] != '\0')
			strlcat(bad, ",", sizeof(bad));
		strlcat(bad, h->name, sizeof(bad));
		if (e->pol.mode != DLV_STS_MODE_ENFORCE)
			continue;
		h->sts_excluded = 1;
		sts_c_hosts_refused++;
		h->last_error_time = bw_time();
		snprintf(h->last_error, sizeof(h->last_error), "not used: not "
		    "in the MTA-STS policy (enforce, id=%s)", e->id);
		log_warnx("domain=%s gateway=%s mx=%s mta-sts: not used, not "
		    "in the policy (mode=enforce id=%s)", a->domain,
		    a->gateway, h->name, e->id);
	}
	if (nbad == 0)
		return 0;
	if (e->pol.mode == DLV_STS_MODE_TESTING) {
		if (!e->testing_logged)
			log_warnx("domain=%s gateway=%s mta-sts: mx=%s not in "
			    "the policy (mode=testing id=%s): would not be "
			    "used under enforce; used", a->domain, a->gateway,
			    bad, e->id);
		e->testing_logged = 1;
		return 0;
	}
	if (nbad < a->nhosts)
		return 0;
	strlcpy(why, "MTA-STS policy (enforce, id=", sizeof(why));
	strlcat(why, e->id, sizeof(why));
	strlcat(why, ") lists none of the MX hosts: ", sizeof(why));
	strlcat(why, bad, sizeof(why));
	dlv_agent_resolved(a, BW_DLV_TEMPFAIL, "4.7.5", why);
	return -1;
}

void
dlv_sts_status(struct bw_status *st)
{
	struct sts_entry	*e;
	uint64_t		 n = 0;

	TAILQ_FOREACH(e, &sts_lru, lru)
		n += sts_in_force(e, bw_time());
	bw_status_add(st, "mta_sts_policies", n);
	bw_status_add(st, "mta_sts_lookups", sts_c_lookups);
	bw_status_add(st, "mta_sts_fetches", sts_c_fetches);
	bw_status_add(st, "mta_sts_fetch_failures", sts_c_fetch_failures);
	bw_status_add(st, "mta_sts_hosts_refused", sts_c_hosts_refused);
}

/* ---- the sweep ---- */

static void
sts_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sts_entry	*e, *te;
	struct timeval		 tv = { DLV_STS_SWEEP_MS / 1000, 0 };
	int64_t			 now = bw_time();

	TAILQ_FOREACH_SAFE(e, &sts_lru, lru, te) {
		if (e->phase != STS_IDLE)
			continue;
		if (e->have && now >= e->expires) {
			log_info("domain=%s mta-sts: policy id=%s expired",
			    e->domain, e->id);
			e->have = 0;
		}
		if (!e->have && bw_now_ms() >= e->failed_until) {
			sts_entry_free(e);
			continue;
		}
		/* proactive refresh of policies in use (RFC 8461 10.2) */
		if (e->have && e->last_used > e->fetched &&
		    sts_refresh_due(e, now) && sts_busy < DLV_STS_FETCHES_MAX)
			(void)sts_start(e, 1);
	}
	evtimer_add(sts_sweep_ev, &tv);
}

void
dlv_sts_init(void)
{
	struct timeval	 tv = { DLV_STS_SWEEP_MS / 1000, 0 };

	bw_htab_init(&sts_tab, &sts_htab_type, DLV_STS_CACHE_MAX);
	if ((sts_sweep_ev = evtimer_new(dlv_env->base, sts_sweep_cb, NULL)) ==
	    NULL)
		fatalx("mta-sts sweep timer");
	evtimer_add(sts_sweep_ev, &tv);
}

void
dlv_sts_shutdown(void)
{
	struct sts_entry	*e;

	while ((e = TAILQ_FIRST(&sts_lru)) != NULL) {
		e->waiting = 0;
		sts_done(e);
		sts_entry_free(e);
	}
	bw_htab_free(&sts_tab);
	if (sts_sweep_ev != NULL)
		event_free(sts_sweep_ev);
	sts_sweep_ev = NULL;
}

/*
 * RFC 8461 4.2: under a policy in enforce or testing mode every MX host
 * used needs TLS with a certificate valid for its name.  DANE decided
 * already where TLSA records are usable (RFC 8461 2: DANE takes
 * precedence); a configured verify keeps its level and gets the MX name.
 */
void
dlv_sts_tls_want(const struct dlv_agent *a, int hostidx,
    struct dlv_tls_want *w)
{
	const struct dlv_sts_policy	*p;
	int				 testing;

	if (w->level == DLV_TLS_DANE || !sts_applies(a) ||
	    (p = dlv_sts_policy_for(a->domain)) == NULL ||
	    p->mode == DLV_STS_MODE_NONE)
		return;
	testing = p->mode == DLV_STS_MODE_TESTING;
	if (w->level >= DLV_TLS_VERIFY && testing)
		return;		/* the configuration asks more */
	w->level = DLV_TLS_VERIFY;
	w->why = testing ? "mta-sts-testing" : "mta-sts";
	w->testing = testing;
	strlcpy(w->names[0], a->hosts[hostidx].name, sizeof(w->names[0]));
	w->nnames = 1;
}
