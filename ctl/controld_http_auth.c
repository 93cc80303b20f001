/*
 * Who may use the monitor: the password file (monitor_password_file),
 * login sessions, HTTP Basic, client certificates, CSRF tokens, and the
 * rate limit on wrong passwords.
 *
 * The password file has one user a line, "user:HASH:view|act" with HASH
 * "$pbkdf2-sha256$ITERATIONS$SALT$KEY" (standard base64, KEY 32 bytes of
 * PBKDF2-HMAC-SHA256; bwctl passwd makes one), "#" comments.  It is read
 * at start and on bwctl config reload; a file with an error is refused
 * whole and the users read before stay.
 *
 * A login (the form) makes a session: 32 random bytes in the cookie
 * "bwmon" (HttpOnly, SameSite=Strict, Secure over TLS), dropped after
 * monitor_session_idle unused, with a CSRF token of its own.  HTTP Basic
 * is checked on every request that carries it (for scrapers and scripts);
 * a password once verified is remembered, as a keyed hash, for
 * MON_BASIC_CACHE_MS so that a scrape every second does not cost a PBKDF2.
 * A client certificate (when monitor_client_ca is set) verified by
 * OpenSSL logs in the user its CN or first DNS name names.  Basic and
 * certificate callers get a CSRF token derived from the user.  Every POST
 * needs the token and, when the browser sends one, an Origin of ours.
 *
 * Wrong passwords are counted per client address in one-minute windows:
 * at monitor_login_failures the address gets 429 for every password until
 * the window ends, and one log line says so.  The table is bounded
 * (MON_FAIL_ADDRS_MAX); when full, the oldest window is forgotten.
 * Hashing runs in the event loop: MON_CHECK_MS_PER_SEC bounds its time
 * for all addresses together (beyond it, 503 and Retry-After).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "util.h"
#include "ctl_html.h"
#include "ctl_json.h"
#include "controld.h"
#include "controld_mon.h"

#define MON_USERS_MAX		1024	/* users in the password file */
#define MON_PASSWD_LINE_MAX	1024	/* one line of it */
#define MON_PASSWORD_MAX	256	/* a password we hash */
#define MON_SALT_MAX		64	/* bytes of salt */
#define MON_KEY_LEN		32	/* PBKDF2 output, SHA-256 */
#define MON_ITER_MIN		1000
#define MON_ITER_MAX		10000000
#define MON_ITER_DUMMY		100000	/* an unknown user costs as much as
					   the file's first (this without
					   users) */
#define MON_SESSIONS_MAX	256	/* live sessions; the least recently
					   used goes first */
#define MON_BASIC_CACHE		64	/* Basic passwords remembered */
#define MON_BASIC_CACHE_MS	(5 * 60 * 1000)
#define MON_FAIL_ADDRS_MAX	1024	/* addresses with wrong passwords */
#define MON_FAIL_WINDOW_MS	(60 * 1000)	/* monitor_login_failures per */
#define MON_NEXT_MAX		512	/* the page to return to after login */
#define MON_CHECK_MS_PER_SEC	500	/* password hashing a second, for all
					   clients together: the event loop
					   stays free half the time under
					   guessing from many addresses */
#define MON_CHECK_BURST_MS	1000	/* saved up while idle */
#define MON_COOKIE		"bwmon"

struct mon_user {
	char		 name[MON_USER_MAX];
	unsigned	 may;
	uint32_t	 iter;
	unsigned char	 salt[MON_SALT_MAX];
	size_t		 saltlen;
	unsigned char	 key[MON_KEY_LEN];
};

struct mon_session {
	int		 used;
	unsigned char	 id[32];
	char		 user[MON_USER_MAX];
	char		 csrf[MON_TOKEN_HEX + 1];
	uint64_t	 last_ms;
};

struct mon_basic {
	unsigned char	 mac[32];	/* HMAC(secret, user ":" password) */
	char		 user[MON_USER_MAX];
	uint64_t	 at_ms;
	uint64_t	 gen;		/* users generation it was checked in */
};

struct mon_fail {
	char		 addr[BW_HOSTADDR_MAX];
	uint64_t	 start_ms;	/* of the window; 0: free */
	unsigned	 n;
};

static struct {
	struct mon_user		*users;
	size_t			 nusers;
	uint64_t		 gen;		/* +1 per load */
	unsigned char		 secret[32];	/* this run's HMAC key */
	int			 have_secret;
	struct mon_session	 sessions[MON_SESSIONS_MAX];
	struct mon_basic	 basic[MON_BASIC_CACHE];
	struct mon_fail		 fails[MON_FAIL_ADDRS_MAX];
	int64_t			 check_tokens_ms;	/* hashing time
						   allowed now (a bucket) */
	uint64_t		 check_last_ms;
} au;

static void
mon_hex(char *dst, const unsigned char *src, size_t n)
{
	static const char	 d[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = d[src[i] >> 4];
		dst[2 * i + 1] = d[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

static int
mon_unhex(unsigned char *dst, size_t n, const char *src)
{
	size_t	 i;
	int	 hi, lo;

	if (strlen(src) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		hi = isxdigit((unsigned char)src[2 * i]) ?
		    (isdigit((unsigned char)src[2 * i]) ? src[2 * i] - '0' :
		    (tolower((unsigned char)src[2 * i]) - 'a' + 10)) : -1;
		lo = isxdigit((unsigned char)src[2 * i + 1]) ?
		    (isdigit((unsigned char)src[2 * i + 1]) ?
		    src[2 * i + 1] - '0' :
		    (tolower((unsigned char)src[2 * i + 1]) - 'a' + 10)) : -1;
		if (hi < 0 || lo < 0)
			return -1;
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int
mon_secret(void)
{
	if (!au.have_secret) {
		if (RAND_bytes(au.secret, sizeof(au.secret)) != 1)
			return -1;
		au.have_secret = 1;
	}
	return 0;
}

/* Standard base64 (padding optional) into dst; its length or -1. */
static int
mon_b64_decode(unsigned char *dst, size_t dstsz, const char *src)
{
	char	 buf[MON_PASSWD_LINE_MAX];
	size_t	 len = strlen(src), pad = 0;
	int	 n;

	if (len == 0 || len + 3 >= sizeof(buf))
		return -1;
	memcpy(buf, src, len);
	while (len % 4 != 0)
		buf[len++] = '=';
	buf[len] = '\0';
	while (pad < 2 && buf[len - 1 - pad] == '=')
		pad++;
	if ((len / 4) * 3 > dstsz + pad)
		return -1;
	if ((n = EVP_DecodeBlock(dst, (unsigned char *)buf, (int)len)) < 0)
		return -1;
	return n - (int)pad;
}

/*
 * The password file.
 */

static int
mon_user_name_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && strchr("._@-", *s) == NULL)
			return 0;
	return n > 0 && n < MON_USER_MAX;
}

/* "user:$pbkdf2-sha256$ITER$SALT$KEY:view|act"; NULL or what is wrong. */
static const char *
mon_user_parse(char *line, struct mon_user *u)
{
	char		*hash, *rights, *f[5], *p, *end;
	unsigned long	 iter;
	int		 i, n;

	memset(u, 0, sizeof(*u));
	if ((hash = strchr(line, ':')) == NULL ||
	    (rights = strrchr(line, ':')) == hash)
		return "expected user:hash:view|act";
	*hash++ = '\0';
	*rights++ = '\0';
	if (!mon_user_name_ok(line))
		return "bad user name (letters, digits, . _ @ -)";
	strlcpy(u->name, line, sizeof(u->name));
	if (strcmp(rights, "view") == 0)
		u->may = MON_MAY_VIEW;
	else if (strcmp(rights, "act") == 0)
		u->may = MON_MAY_VIEW | MON_MAY_ACT;
	else
		return "rights must be view or act";
	/* "", "pbkdf2-sha256", ITER, SALT, KEY */
	for (i = 0, p = hash; i < 5; i++) {
		f[i] = p;
		if ((p = strchr(p, '$')) == NULL)
			break;
		*p++ = '\0';
	}
	if (i != 4 || f[0][0] != '\0' || strcmp(f[1], "pbkdf2-sha256") != 0)
		return "hash must be $pbkdf2-sha256$ITERATIONS$SALT$KEY";
	errno = 0;
	iter = strtoul(f[2], &end, 10);
	if (errno != 0 || *end != '\0' || iter < MON_ITER_MIN ||
	    iter > MON_ITER_MAX)
		return "iterations out of range (1000 to 10000000)";
	u->iter = (uint32_t)iter;
	if ((n = mon_b64_decode(u->salt, sizeof(u->salt), f[3])) < 8)
		return "salt must be base64 of 8 to 64 bytes";
	u->saltlen = (size_t)n;
	if (mon_b64_decode(u->key, sizeof(u->key), f[4]) != MON_KEY_LEN)
		return "key must be base64 of 32 bytes";
	return NULL;
}

int
mon_auth_load(const char *path, char *err, size_t errsz)
{
	struct mon_user	*users = NULL, *nv;
	char		 line[MON_PASSWD_LINE_MAX + 2], *s;
	const char	*why;
	size_t		 n = 0, cap = 0, len, i;
	int		 lineno = 0;
	FILE		*fp;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "password file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			why = "line too long";
			goto bad;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (*s == '\0' || *s == '#')
			continue;
		if (n >= MON_USERS_MAX) {
			why = "too many users";
			goto bad;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nv = reallocarray(users, cap, sizeof(*users))) ==
			    NULL) {
				why = "out of memory";
				goto bad;
			}
			users = nv;
		}
		if ((why = mon_user_parse(s, &users[n])) != NULL)
			goto bad;
		for (i = 0; i < n; i++)
			if (strcmp(users[i].name, users[n].name) == 0) {
				why = "user listed twice";
				goto bad;
			}
		n++;
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "password file %s: read error", path);
		fclose(fp);
		free(users);
		return -1;
	}
	fclose(fp);
	if (au.users != NULL)
		OPENSSL_cleanse(au.users, au.nusers * sizeof(*au.users));
	free(au.users);
	au.users = users;
	au.nusers = n;
	au.gen++;
	return 0;
bad:
	snprintf(err, errsz, "password file %s:%d: %s", path, lineno, why);
	fclose(fp);
	if (users != NULL)
		OPENSSL_cleanse(users, cap * sizeof(*users));
	free(users);
	return -1;
}

void
mon_auth_free(void)
{
	if (au.users != NULL)
		OPENSSL_cleanse(au.users, au.nusers * sizeof(*au.users));
	free(au.users);
	au.users = NULL;
	au.nusers = 0;
	OPENSSL_cleanse(au.sessions, sizeof(au.sessions));
	OPENSSL_cleanse(au.basic, sizeof(au.basic));
}

size_t
mon_auth_nusers(void)
{
	return au.nusers;
}

static const struct mon_user *
mon_user_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < au.nusers; i++)
		if (strcmp(au.users[i].name, name) == 0)
			return &au.users[i];
	return NULL;
}

/*
 * May a password be hashed now?  PBKDF2 runs in the event loop (a login is
 * rare, Basic is cached), so its time is bounded for everyone: a bucket
 * that fills at MON_CHECK_MS_PER_SEC up to MON_CHECK_BURST_MS, emptied by
 * the time each hashing took.
 */
static int
mon_check_budget(void)
{
	uint64_t	 now = bw_now_ms();
	int64_t		 credit;

	/* the clock only moves on when it earned a whole millisecond */
	credit = (int64_t)((now - au.check_last_ms) * MON_CHECK_MS_PER_SEC /
	    1000);
	if (credit > 0) {
		au.check_tokens_ms += credit;
		if (au.check_tokens_ms > MON_CHECK_BURST_MS)
			au.check_tokens_ms = MON_CHECK_BURST_MS;
		au.check_last_ms = now;
	}
	return au.check_tokens_ms > 0 ? 0 : -1;
}

/* The password of user name; NULL if either is wrong. */
static const struct mon_user *
mon_password_check(const char *name, const char *password)
{
	const struct mon_user	*u = mon_user_find(name);
	unsigned char		 key[MON_KEY_LEN];
	static const unsigned char dummy_salt[16];
	size_t			 plen = strlen(password);
	uint64_t		 t0 = bw_now_ms();
	int			 ok;

	if (plen > MON_PASSWORD_MAX)
		return NULL;
	/* an unknown user takes as long as a known one */
	ok = PKCS5_PBKDF2_HMAC(password, (int)plen,
	    u != NULL ? u->salt : dummy_salt,
	    u != NULL ? (int)u->saltlen : (int)sizeof(dummy_salt),
	    u != NULL ? (int)u->iter : au.nusers > 0 ?
	    (int)au.users[0].iter : MON_ITER_DUMMY, EVP_sha256(),
	    sizeof(key), key) == 1;
	ok = ok && u != NULL && CRYPTO_memcmp(key, u->key, sizeof(key)) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	au.check_tokens_ms -= (int64_t)(bw_now_ms() - t0);
	return ok ? u : NULL;
}

/*
 * Wrong passwords per address.
 */

static struct mon_fail *
mon_fail_find(const char *addr, int create)
{
	struct mon_fail	*f, *victim = NULL;
	uint64_t	 now = bw_now_ms();
	size_t		 i;

	for (i = 0; i < MON_FAIL_ADDRS_MAX; i++) {
		f = &au.fails[i];
		if (f->start_ms != 0 && now - f->start_ms >= MON_FAIL_WINDOW_MS)
			f->start_ms = 0;	/* window over */
		if (f->start_ms != 0 && strcmp(f->addr, addr) == 0)
			return f;
		if (victim == NULL || f->start_ms < victim->start_ms)
			victim = f;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strlcpy(victim->addr, addr, sizeof(victim->addr));
	victim->start_ms = now;
	return victim;
}

static int
mon_fail_blocked(const char *addr)
{
	struct mon_fail	*f = mon_fail_find(addr, 0);

	return f != NULL && f->n >= (unsigned)BW_LIMIT(ctl_env->d.cfg,
	    LIM_MONITOR_LOGIN_FAILURES);
}

/* One more wrong password from addr; 1 if it is blocked now. */
static int
mon_fail_note(const char *addr, const char *user)
{
	struct mon_fail	*f = mon_fail_find(addr, 1);
	unsigned	 max = (unsigned)BW_LIMIT(ctl_env->d.cfg,
			    LIM_MONITOR_LOGIN_FAILURES);
	char		 u[MON_USER_MAX * 4];

	log_escape(u, sizeof(u), user, strnlen(user, MON_USER_MAX));
	f->n++;
	if (f->n == 1)
		log_info("monitor: addr=%s user=%s wrong password", addr, u);
	if (f->n == max)
		log_warnx("monitor: addr=%s rate-limited: %u wrong passwords "
		    "within %d s (last user=%s); its logins are answered 429 "
		    "for the rest of the window", addr, max,
		    MON_FAIL_WINDOW_MS / 1000, u);
	return f->n >= max;
}

/*
 * Sessions and tokens.
 */

/* The CSRF token of a caller without a session (Basic, certificate). */
static void
mon_csrf_derive(const char *user, char out[MON_TOKEN_HEX + 1])
{
	unsigned char	 mac[32];
	unsigned int	 maclen = sizeof(mac);
	char		 in[MON_USER_MAX + 8];
	int		 n;

	n = snprintf(in, sizeof(in), "csrf:%s", user);
	if (mon_secret() == -1 || HMAC(EVP_sha256(), au.secret,
	    sizeof(au.secret), (unsigned char *)in, (size_t)n, mac,
	    &maclen) == NULL) {
		out[0] = '\0';	/* no token: every POST fails */
		return;
	}
	mon_hex(out, mac, 32);
}

static struct mon_session *
mon_session_new(const char *user)
{
	struct mon_session	*s, *victim = NULL;
	unsigned char		 tok[32];
	size_t			 i;

	for (i = 0; i < MON_SESSIONS_MAX; i++) {
		s = &au.sessions[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (victim == NULL || s->last_ms < victim->last_ms)
			victim = s;
	}
	memset(victim, 0, sizeof(*victim));
	if (RAND_bytes(victim->id, sizeof(victim->id)) != 1 ||
	    RAND_bytes(tok, sizeof(tok)) != 1)
		return NULL;
	mon_hex(victim->csrf, tok, sizeof(tok));
	strlcpy(victim->user, user, sizeof(victim->user));
	victim->last_ms = bw_now_ms();
	victim->used = 1;
	return victim;
}

/* The value of cookie name in the Cookie header, or NULL. */
static int
mon_cookie_get(struct evhttp_request *req, const char *name, char *dst,
    size_t dstsz)
{
	const char	*h, *p, *end;
	size_t		 nlen = strlen(name), vlen;

	if ((h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie")) == NULL)
		return -1;
	for (p = h; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ";");
		if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
			continue;
		vlen = (size_t)(end - (p + nlen + 1));
		if (vlen >= dstsz)
			return -1;
		memcpy(dst, p + nlen + 1, vlen);
		dst[vlen] = '\0';
		return 0;
	}
	return -1;
}

static struct mon_session *
mon_session_find(struct evhttp_request *req)
{
	struct mon_session	*s;
	unsigned char		 id[32];
	char			 hex[MON_TOKEN_HEX + 1];
	uint64_t		 now = bw_now_ms(), idle;
	size_t			 i;

	if (mon_cookie_get(req, MON_COOKIE, hex, sizeof(hex)) == -1 ||
	    mon_unhex(id, sizeof(id), hex) == -1)
		return NULL;
	idle = (uint64_t)BW_LIMIT(ctl_env->d.cfg, LIM_MONITOR_SESSION_IDLE);
	for (i = 0; i < MON_SESSIONS_MAX; i++) {
		s = &au.sessions[i];
		if (!s->used || CRYPTO_memcmp(s->id, id, sizeof(id)) != 0)
			continue;
		if (now - s->last_ms > idle || mon_user_find(s->user) == NULL) {
			memset(s, 0, sizeof(*s));	/* expired or removed */
			return NULL;
		}
		s->last_ms = now;
		return s;
	}
	return NULL;
}

/*
 * HTTP Basic and client certificates.
 */

/* Too much password hashing this second. */
static void
mon_auth_busy(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", "1");
	mon_http_error(req, 503, "too many logins at once; try again in a "
	    "second");
}

/* "Basic B64(user:password)": the user, or NULL (401 or 429 sent). */
static const struct mon_user *
mon_basic_check(struct evhttp_request *req, const char *hdr,
    const char *addr, int *answered)
{
	const struct mon_user	*u = NULL;
	struct mon_basic	*c, *victim = NULL;
	unsigned char		 raw[MON_PASSWORD_MAX + MON_USER_MAX + 4];
	unsigned char		 mac[32];
	unsigned int		 maclen = sizeof(mac);
	char			*colon;
	uint64_t		 now = bw_now_ms();
	size_t			 i;
	int			 n;

	*answered = 0;
	while (*hdr == ' ')
		hdr++;
	if (strncasecmp(hdr, "Basic ", 6) != 0)
		return NULL;
	if (mon_fail_blocked(addr)) {
		mon_http_error(req, 429, "too many wrong passwords from your "
		    "address; try again in a minute");
		*answered = 1;
		return NULL;
	}
	for (hdr += 6; *hdr == ' '; hdr++)
		;
	if (strlen(hdr) > (sizeof(raw) - 1) / 3 * 4 ||
	    (n = mon_b64_decode(raw, sizeof(raw) - 1, hdr)) <= 0)
		return NULL;
	raw[n] = '\0';
	if (strlen((char *)raw) != (size_t)n ||
	    (colon = strchr((char *)raw, ':')) == NULL)
		goto out;
	if (mon_secret() == -1 || HMAC(EVP_sha256(), au.secret,
	    sizeof(au.secret), raw, (size_t)n, mac, &maclen) == NULL)
		goto out;
	*colon = '\0';
	for (i = 0; i < MON_BASIC_CACHE; i++) {
		c = &au.basic[i];
		if (c->gen == au.gen && now - c->at_ms < MON_BASIC_CACHE_MS &&
		    CRYPTO_memcmp(c->mac, mac, sizeof(mac)) == 0 &&
		    strcmp(c->user, (char *)raw) == 0) {
			u = mon_user_find(c->user);
			goto out;
		}
		if (victim == NULL || c->at_ms < victim->at_ms)
			victim = c;
	}
	if (mon_check_budget() == -1) {
		mon_auth_busy(req);
		*answered = 1;
		goto out;
	}
	if ((u = mon_password_check((char *)raw, colon + 1)) != NULL) {
		memcpy(victim->mac, mac, sizeof(mac));
		strlcpy(victim->user, u->name, sizeof(victim->user));
		victim->at_ms = now;
		victim->gen = au.gen;
		log_debug("monitor: user=%s addr=%s basic login", u->name,
		    addr);
		goto out;
	}
	if (mon_fail_note(addr, (char *)raw)) {
		mon_http_error(req, 429, "too many wrong passwords from your "
		    "address; try again in a minute");
		*answered = 1;
	}
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return u;
}

/* The user a verified client certificate names (CN, or first DNS SAN). */
static const struct mon_user *
mon_cert_check(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct mon_user	*u = NULL;
	GENERAL_NAMES		*sans;
	const GENERAL_NAME	*gn;
	struct bufferevent	*bev;
	X509			*cert;
	SSL			*ssl;
	char			 name[MON_USER_MAX];
	int			 i, len;

	if (evcon == NULL || ctl_env->d.cfg->monitor_client_ca[0] == '\0' ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	if ((cert = SSL_get_peer_certificate(ssl)) == NULL)
		return NULL;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		goto out;
	len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, name, sizeof(name));
	if (len > 0 && (size_t)len == strlen(name) &&
	    (u = mon_user_find(name)) != NULL)
		goto out;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_DNS)
			continue;
		len = ASN1_STRING_length(gn->d.dNSName);
		if (len > 0 && (size_t)len < sizeof(name)) {
			memcpy(name, ASN1_STRING_get0_data(gn->d.dNSName),
			    (size_t)len);
			name[len] = '\0';
			if (strlen(name) == (size_t)len)
				u = mon_user_find(name);
		}
		break;	/* the first DNS name only */
	}
	GENERAL_NAMES_free(sans);
out:
	X509_free(cert);
	return u;
}

static void
mon_auth_fill(struct mon_auth *a, const struct mon_user *u, enum mon_via via)
{
	strlcpy(a->user, u->name, sizeof(a->user));
	a->may = u->may;
	a->via = via;
	if (via != MON_VIA_SESSION)
		mon_csrf_derive(u->name, a->csrf);
}

static void
mon_auth_addr(struct evhttp_request *req, char *dst, size_t dstsz)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char			*host = NULL;
	ev_uint16_t		 port = 0;

	strlcpy(dst, "-", dstsz);
	if (evcon != NULL) {
		evhttp_connection_get_peer(evcon, &host, &port);
		if (host != NULL)
			strlcpy(dst, host, dstsz);
	}
}

/* Not logged in: browsers go to the form, the rest get a challenge. */
static void
mon_auth_refuse(struct evhttp_request *req)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evbuffer		*b;
	const char		*accept, *uri = evhttp_request_get_uri(req);
	char			*next;

	accept = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET &&
	    mon_http_fmt(req) == MON_FMT_HTML && accept != NULL &&
	    strstr(accept, "text/html") != NULL &&
	    strstr(uri, "login=basic") == NULL &&
	    strlen(uri) < MON_NEXT_MAX &&
	    (next = evhttp_encode_uri(uri)) != NULL &&
	    (b = evbuffer_new()) != NULL) {
		evbuffer_add_printf(b, "/login?next=%s", next);
		free(next);
		evhttp_add_header(out, "Location",
		    (const char *)evbuffer_pullup(b, -1));
		evbuffer_drain(b, evbuffer_get_length(b));
		mon_http_reply(req, 303, "text/plain", b);
		evbuffer_free(b);
		return;
	}
	evhttp_add_header(out, "WWW-Authenticate",
	    "Basic realm=\"Breakwater monitor\", charset=\"UTF-8\"");
	mon_http_error(req, 401, "log in first: /login, HTTP Basic, or a "
	    "client certificate");
}

int
mon_auth_check(struct evhttp_request *req, struct mon_auth *a)
{
	const struct mon_user	*u;
	struct mon_session	*s;
	const char		*h;
	int			 answered;

	memset(a, 0, sizeof(*a));
	mon_auth_addr(req, a->addr, sizeof(a->addr));
	if ((s = mon_session_find(req)) != NULL &&
	    (u = mon_user_find(s->user)) != NULL) {
		strlcpy(a->csrf, s->csrf, sizeof(a->csrf));
		mon_auth_fill(a, u, MON_VIA_SESSION);
		return 0;
	}
	if ((h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization")) != NULL) {
		if ((u = mon_basic_check(req, h, a->addr, &answered)) != NULL) {
			mon_auth_fill(a, u, MON_VIA_BASIC);
			return 0;
		}
		if (answered)
			return -1;
	} else if ((u = mon_cert_check(req)) != NULL) {
		mon_auth_fill(a, u, MON_VIA_CERT);
		return 0;
	}
	mon_auth_refuse(req);
	return -1;
}

/*
 * Forms: the login, and the token of every POST.
 */

/* The body of a form POST as name=value pairs; -1 if it is not one. */
static int
mon_form_parse(struct evhttp_request *req, struct evkeyvalq *q)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);
	char		*text;
	int		 rc;

	TAILQ_INIT(q);
	/* evhttp stopped at monitor_http_max_body already */
	if ((text = malloc(len + 1)) == NULL)
		return -1;
	evbuffer_copyout(in, text, len);
	text[len] = '\0';
	rc = strlen(text) == len ? evhttp_parse_query_str(text, q) : -1;
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* The Origin header, when the browser sent one, names us. */
static int
mon_origin_ok(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*origin, *host, *scheme;
	size_t			 n;

	if ((origin = evhttp_find_header(h, "Origin")) == NULL)
		return 1;
	if ((host = evhttp_find_header(h, "Host")) == NULL)
		return 0;
	scheme = ctl_env->d.cfg->monitor_tls ? "https://" : "http://";
	n = strlen(scheme);
	return strncmp(origin, scheme, n) == 0 && strcmp(origin + n, host) == 0;
}

int
mon_auth_csrf_ok(struct evhttp_request *req, const struct mon_auth *a,
    const char *form_token)
{
	struct evkeyvalq	 q;
	const char		*tok = form_token;
	int			 ok;

	if (!mon_origin_ok(req)) {
		log_info("monitor: user=%s addr=%s POST refused: foreign "
		    "Origin", a->user, a->addr);
		mon_http_error(req, 403, "this form was sent from another site");
		return -1;
	}
	TAILQ_INIT(&q);
	if (tok == NULL)
		tok = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "X-CSRF-Token");
	if (tok == NULL && mon_form_parse(req, &q) == 0)
		tok = evhttp_find_header(&q, "csrf");
	ok = tok != NULL && a->csrf[0] != '\0' &&
	    strlen(tok) == strlen(a->csrf) &&
	    CRYPTO_memcmp(tok, a->csrf, strlen(a->csrf)) == 0;
	evhttp_clear_headers(&q);
	if (!ok) {
		log_info("monitor: user=%s addr=%s POST refused: missing or "
		    "wrong CSRF token", a->user, a->addr);
		mon_http_error(req, 403, "missing or wrong form token; reload "
		    "the page and try again");
		return -1;
	}
	return 0;
}

/* Where to go after the login: a path of ours, else "/". */
static const char *
mon_next_ok(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' ||
	    next[1] == '\\' || strlen(next) >= MON_NEXT_MAX ||
	    strpbrk(next, "\r\n") != NULL)
		return "/";
	return next;
}

static void
mon_login_form(struct evhttp_request *req, int code, const char *msg,
    const char *next)
{
	struct evbuffer	*b;

	if (mon_http_fmt(req) == MON_FMT_JSON || code == 429) {
		mon_http_error(req, code, msg != NULL ? msg : "log in");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	mon_html_head(b, "Log in", NULL);
	if (msg != NULL) {
		evbuffer_add_printf(b, "<p role=\"alert\">");
		ctl_html_esc(b, msg);
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/login\">"
	    "<input type=\"hidden\" name=\"next\" value=\"");
	ctl_html_esc(b, mon_next_ok(next));
	evbuffer_add_printf(b, "\"><p><label>User <input name=\"user\" "
	    "autocomplete=\"username\" required autofocus></label></p>"
	    "<p><label>Password <input name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required></label></p>"
	    "<p><button>Log in</button></p></form>\n");
	mon_html_foot(b);
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "FormBased");
	mon_http_reply(req, code, "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

void
mon_auth_login_page(struct evhttp_request *req, const char *addr)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const struct mon_user	*u;
	struct mon_session	*s;
	struct evkeyvalq	 q;
	struct evbuffer		*b;
	struct ctl_json		 j;
	const char		*user, *pass, *next = NULL, *query;
	char			 cookie[128], nextbuf[MON_NEXT_MAX];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		TAILQ_INIT(&q);
		if (uri != NULL && (query = evhttp_uri_get_query(uri)) !=
		    NULL && evhttp_parse_query_str(query, &q) == 0)
			next = evhttp_find_header(&q, "next");
		mon_login_form(req, 200, NULL, next);
		evhttp_clear_headers(&q);
		return;
	}
	if (!mon_origin_ok(req)) {
		mon_http_error(req, 403, "this form was sent from another site");
		return;
	}
	if (mon_fail_blocked(addr)) {
		mon_login_form(req, 429, "too many wrong passwords from your "
		    "address; try again in a minute", NULL);
		return;
	}
	if (mon_form_parse(req, &q) == -1 ||
	    (user = evhttp_find_header(&q, "user")) == NULL ||
	    (pass = evhttp_find_header(&q, "password")) == NULL) {
		evhttp_clear_headers(&q);
		mon_http_error(req, 400, "the form needs user and password");
		return;
	}
	strlcpy(nextbuf, mon_next_ok(evhttp_find_header(&q, "next")),
	    sizeof(nextbuf));
	if (mon_check_budget() == -1) {
		evhttp_clear_headers(&q);
		mon_auth_busy(req);
		return;
	}
	u = mon_password_check(user, pass);
	if (u == NULL) {
		int blocked = mon_fail_note(addr, user);

		evhttp_clear_headers(&q);
		mon_login_form(req, blocked ? 429 : 401, blocked ?
		    "too many wrong passwords from your address; try again "
		    "in a minute" : "wrong user or password", nextbuf);
		return;
	}
	evhttp_clear_headers(&q);
	if ((s = mon_session_new(u->name)) == NULL ||
	    (b = evbuffer_new()) == NULL) {
		mon_http_error(req, 500, "cannot make a session");
		return;
	}
	log_info("monitor: user=%s addr=%s logged in", u->name, addr);
	mon_hex(cookie, s->id, sizeof(s->id));
	evbuffer_add_printf(b, MON_COOKIE "=%s; Path=/; HttpOnly; "
	    "SameSite=Strict%s", cookie,
	    ctl_env->d.cfg->monitor_tls ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    (const char *)evbuffer_pullup(b, -1));
	evbuffer_drain(b, evbuffer_get_length(b));
	OPENSSL_cleanse(cookie, sizeof(cookie));
	if (mon_http_fmt(req) == MON_FMT_JSON) {
		ctl_json_init(&j, b);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "user", u->name);
		ctl_json_bool(&j, "act", (u->may & MON_MAY_ACT) != 0);
		ctl_json_str(&j, "csrf", s->csrf);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		mon_http_reply(req, 200, "application/json", b);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", nextbuf);
		mon_http_reply(req, 303, "text/plain", b);
	}
	evbuffer_free(b);
}

void
mon_auth_logout(struct evhttp_request *req, const struct mon_auth *a)
{
	struct mon_session	*s;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	if (a->via == MON_VIA_SESSION && (s = mon_session_find(req)) != NULL)
		memset(s, 0, sizeof(*s));
	log_info("monitor: user=%s addr=%s logged out", a->user, a->addr);
	evhttp_add_header(out, "Set-Cookie", MON_COOKIE "=; Path=/; "
	    "Max-Age=0; HttpOnly; SameSite=Strict");
	evhttp_add_header(out, "Location", "/login");
	mon_http_reply(req, 303, "text/plain", NULL);
}
