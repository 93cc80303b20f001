/*
 * The configuration parser: one grammar (doc/breakwater.conf.5) for files
 * and for the built-in default text.  Line-oriented: each line is split
 * into tokens (whitespace-separated, double quotes group, "{" and "}" stand
 * alone, "#" at the start of a token begins a comment), then the first
 * token selects a statement.  Top level: global settings, limits (the
 * table in config_limits.c), gateway rules, routes, dns_servers, and the
 * blocks "listener NAME {", "gateway NAME {" and "bounce_profile NAME {"
 * (the header on one line, one statement per line, "}" alone).
 *
 * The file is trusted no more than any other input: every line is bounded
 * by BW_CONFIG_LINE_MAX, every list by BW_CONFIG_LIST_MAX, listeners by
 * BW_CONFIG_LISTENERS_MAX (gateways, rules, routes, profiles and servers
 * by their own caps in config.h), and control bytes are refused.  Every
 * error is
 * reported as "file:line: message" (tokens escaped for the log), parsing
 * goes on to find the next one, and after BW_CONFIG_ERRORS_MAX it stops.
 *
 * Also here: runtime paths and the network (CIDR) helpers that the
 * relay_networks lists use.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "config.h"

#define CONFIG_TOKENS_MAX	(BW_CONFIG_LINE_MAX + 1)	/* "{{{{" */
#define CONFIG_ESC_MAX		256	/* a token quoted in an error */
#define CONFIG_ERR_MAX		(PATH_MAX + 1024)
#define CONFIG_WORKERS_MAX	256	/* deliverd_workers */
#define CONFIG_BUILTIN_NAME	"built-in default"
#define CONFIG_DOMAIN_TEXT_MAX	253	/* RFC 1035: 255 octets on the wire */

/* Production defaults; doc/breakwater.conf.5 lists the same. */
#define CONFIG_DEF_RUNTIME_DIR	"/run/breakwater"
#define CONFIG_DEF_SPOOL_DIR	"/var/spool/breakwater"
#define CONFIG_DEF_CHROOT_DIR	"/run/breakwater"	/* smtpd reaches the sockets */
#define CONFIG_DEF_ADMIN_GROUP	"bwadmin"

struct config_token {
	char	*s;
	int	 quoted;
};

/* Where lines come from: a FILE or a NUL-terminated text. */
struct config_src {
	FILE		*fp;
	const char	*text;
	size_t		 off;
	int		 err;		/* errno of a read error */
};

/* Blocks: "KEYWORD NAME {" ... "}". */
enum config_block {
	BLK_NONE,
	BLK_LISTENER,
	BLK_GATEWAY,
	BLK_PROFILE,
};

static const char *const config_block_names[] = {
	"", "listener", "gateway", "bounce_profile"
};

struct config_parser {
	struct bw_config	*cfg;
	const char		*name;
	bw_config_error_cb	 errcb;
	void			*arg;
	int			 line;
	int			 nerr;
	int			 stopped;
	enum config_block	 block;		/* the open block, if any */
	struct bw_listener_conf	*cur;		/* open listener block */
	struct bw_gateway_conf	*gw;		/* open gateway block */
	struct bw_profile_conf	*prof;		/* open bounce_profile block */
	int			 cur_keep;	/* 0: bad header, dropped at "}" */
	int			 ngateways;
	int			 ngwrules;
	int			 nroutes;
	int			 nprofiles;
	int			 default_gateway_line;	/* 0: not set */
	int			 bounce_gateway_line;
	int			 default_profile_line;
	int			 skip_depth;	/* inside a block being skipped */
	int			 skip_line;
	int			 nlisteners;
	int			 limit_line[LIM__COUNT];	/* 0: default */
	char			 buf[BW_CONFIG_LINE_MAX + 2];
	char			 tokbuf[2 * (BW_CONFIG_LINE_MAX + 2)];
	struct config_token	 tok[CONFIG_TOKENS_MAX];
	int			 ntok;
};

static void	 config_error(struct config_parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Escape untrusted text for an error message. */
static const char *
config_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

static void
config_emit(struct config_parser *p, const char *msg)
{
	if (p->errcb != NULL)
		p->errcb(msg, p->arg);
	else
		log_warnx("%s", msg);
}

/* Report "name:line: message"; line 0 means the file as a whole. */
static void
config_error(struct config_parser *p, int line, const char *fmt, ...)
{
	char	 msg[CONFIG_ERR_MAX];
	va_list	 ap;
	int	 n;

	if (p->stopped)
		return;
	if (p->nerr >= BW_CONFIG_ERRORS_MAX) {
		snprintf(msg, sizeof(msg), "%s:%d: too many errors (%d), "
		    "stopping", p->name, line, p->nerr);
		config_emit(p, msg);
		p->nerr++;
		p->stopped = 1;
		return;
	}
	if (line > 0)
		n = snprintf(msg, sizeof(msg), "%s:%d: ", p->name, line);
	else
		n = snprintf(msg, sizeof(msg), "%s: ", p->name);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(msg)) {
		va_start(ap, fmt);
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
		va_end(ap);
	}
	config_emit(p, msg);
	p->nerr++;
}

/*
 * Names and values.
 */

/* A host name or domain: LDH labels of 1..63, at most 253 characters. */
static int
config_domain_valid(const char *s)
{
	size_t	 len = strlen(s), label = 0, i;

	if (len == 0 || len > CONFIG_DOMAIN_TEXT_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* A user, group or listener name: [A-Za-z0-9_.-], not starting with '-'. */
static int
config_name_valid(const char *s, size_t max)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '-' || strlen(s) >= max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static int
config_yesno(const char *s)
{
	if (strcasecmp(s, "yes") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

/*
 * Defaults and reading lines.
 */

static void
config_defaults(struct bw_config *cfg)
{
	int	 i;

	memset(cfg, 0, sizeof(*cfg));
	TAILQ_INIT(&cfg->listeners);
	TAILQ_INIT(&cfg->gateways);
	TAILQ_INIT(&cfg->gwrules);
	TAILQ_INIT(&cfg->routes);
	TAILQ_INIT(&cfg->profiles);
	strlcpy(cfg->default_gateway, BW_GATEWAY_DEFAULT,
	    sizeof(cfg->default_gateway));
	strlcpy(cfg->bounce_gateway, BW_GATEWAY_DEFAULT,
	    sizeof(cfg->bounce_gateway));
	strlcpy(cfg->default_profile, BW_PROFILE_DEFAULT,
	    sizeof(cfg->default_profile));
	if (gethostname(cfg->hostname, sizeof(cfg->hostname)) == -1)
		cfg->hostname[0] = '\0';
	cfg->hostname[sizeof(cfg->hostname) - 1] = '\0';
	if (cfg->hostname[0] == '\0')
		strlcpy(cfg->hostname, "localhost", sizeof(cfg->hostname));
	strlcpy(cfg->runtime_dir, CONFIG_DEF_RUNTIME_DIR,
	    sizeof(cfg->runtime_dir));
	strlcpy(cfg->spool_dir, CONFIG_DEF_SPOOL_DIR, sizeof(cfg->spool_dir));
	strlcpy(cfg->chroot_dir, CONFIG_DEF_CHROOT_DIR,
	    sizeof(cfg->chroot_dir));
	strlcpy(cfg->admin_group, CONFIG_DEF_ADMIN_GROUP,
	    sizeof(cfg->admin_group));
	strlcpy(cfg->user_smtpd, "_bwsmtpd", sizeof(cfg->user_smtpd));
	strlcpy(cfg->user_queued, "_bwqueue", sizeof(cfg->user_queued));
	strlcpy(cfg->user_deliverd, "_bwdeliver", sizeof(cfg->user_deliverd));
	strlcpy(cfg->user_dnscached, "_bwdns", sizeof(cfg->user_dnscached));
	strlcpy(cfg->user_controld, "_bwctl", sizeof(cfg->user_controld));
	cfg->deliverd_workers = 0;
	for (i = 0; i < LIM__COUNT; i++)
		cfg->limits[i] = bw_limit_defs[i].def;
}

static int
config_src_getc(struct config_src *src)
{
	int	 c;

	if (src->fp != NULL) {
		if ((c = getc(src->fp)) == EOF && ferror(src->fp) &&
		    src->err == 0)
			src->err = errno ? errno : EIO;
		return c;
	}
	if (src->text[src->off] == '\0')
		return EOF;
	return (unsigned char)src->text[src->off++];
}

/*
 * Read one line into p->buf without its newline (and a CR before it).
 * Returns its length, -1 at end of input, or -2 if it was too long (the
 * rest of it is consumed).
 */
static int
config_line_read(struct config_parser *p, struct config_src *src)
{
	size_t	 n = 0;
	int	 c, any = 0, toolong = 0;

	while ((c = config_src_getc(src)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (n < BW_CONFIG_LINE_MAX + 1)
			p->buf[n++] = (char)c;
		else
			toolong = 1;
	}
	if (!any)
		return -1;
	if (!toolong && n > 0 && p->buf[n - 1] == '\r')
		n--;
	if (toolong || n > BW_CONFIG_LINE_MAX)
		return -2;
	p->buf[n] = '\0';
	return (int)n;
}

/* Split p->buf (len bytes) into tokens; -1 after reporting an error. */
static int
config_tokenize(struct config_parser *p, size_t len)
{
	const char	*s = p->buf;
	char		*o = p->tokbuf;
	size_t		 i;

	p->ntok = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			config_error(p, p->line, "control character 0x%02x "
			    "in line", c);
			return -1;
		}
	}
	i = 0;
	for (;;) {
		struct config_token	*t;

		while (s[i] == ' ' || s[i] == '\t')
			i++;
		if (s[i] == '\0' || s[i] == '#')
			break;
		if (p->ntok >= CONFIG_TOKENS_MAX) {
			config_error(p, p->line, "too many tokens");
			return -1;
		}
		t = &p->tok[p->ntok++];
		t->s = o;
		t->quoted = 0;
		if (s[i] == '"') {
			t->quoted = 1;
			for (i++; s[i] != '"'; i++) {
				if (s[i] == '\0') {
					config_error(p, p->line,
					    "unterminated quote");
					return -1;
				}
				*o++ = s[i];
			}
			i++;
			if (s[i] != '\0' && s[i] != ' ' && s[i] != '\t' &&
			    s[i] != '{' && s[i] != '}') {
				config_error(p, p->line, "missing space "
				    "after a quoted value");
				return -1;
			}
		} else if (s[i] == '{' || s[i] == '}')
			*o++ = s[i++];
		else {
			for (; s[i] != '\0' && s[i] != ' ' && s[i] != '\t' &&
			    s[i] != '{' && s[i] != '}'; i++) {
				if (s[i] == '"') {
					config_error(p, p->line, "unexpected "
					    "'\"' inside a value (quote the "
					    "whole value)");
					return -1;
				}
				*o++ = s[i];
			}
		}
		*o++ = '\0';
	}
	return 0;
}

static int
config_tok_is(const struct config_token *t, const char *s)
{
	return !t->quoted && strcmp(t->s, s) == 0;
}

/* Check the statement has exactly n values; report otherwise. */
static int
config_args(struct config_parser *p, int n)
{
	char	 e[CONFIG_ESC_MAX];

	if (p->ntok < n + 1) {
		config_error(p, p->line, "%s: missing value",
		    config_esc(e, sizeof(e), p->tok[0].s));
		return -1;
	}
	if (p->ntok > n + 1) {
		char	 e2[CONFIG_ESC_MAX];

		config_error(p, p->line, "%s: unexpected \"%s\" after the "
		    "value", config_esc(e, sizeof(e), p->tok[0].s),
		    config_esc(e2, sizeof(e2), p->tok[n + 1].s));
		return -1;
	}
	return 0;
}

/* Parse a limit-style value and check it against the row's range. */
static int
config_limit_value(struct config_parser *p, const char *what,
    const struct bw_limit_def *def, const char *s, long long *out)
{
	char		 e[CONFIG_ESC_MAX];
	long long	 v;

	if (bw_limit_parse_value(def->unit, s, &v) == -1) {
		config_esc(e, sizeof(e), s);
		switch (def->unit) {
		case BW_UNIT_BYTES:
			config_error(p, p->line, "%s: bad size \"%s\" (a "
			    "number of bytes with optional k, m or g)",
			    what, e);
			break;
		case BW_UNIT_MS:
			config_error(p, p->line, "%s: bad duration \"%s\" (a "
			    "number with optional ms, s, m, h or d; bare "
			    "number = seconds)", what, e);
			break;
		default:
			config_error(p, p->line, "%s: bad number \"%s\"",
			    what, e);
			break;
		}
		return -1;
	}
	if (v < def->min || v > def->max) {
		config_error(p, p->line, "%s: %s is out of range "
		    "%lld..%lld (%s)", what, config_esc(e, sizeof(e), s),
		    def->min, def->max, bw_limit_unit_name(def->unit));
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * A plain integer in [min, max] (ports, worker counts); a leading '-' only
 * where min is negative.
 */
static int
config_int(struct config_parser *p, const char *s, long long min,
    long long max, int *out)
{
	char		 e[CONFIG_ESC_MAX];
	long long	 v;
	int		 neg = min < 0 && s[0] == '-';

	if (bw_limit_parse_value(BW_UNIT_COUNT, s + neg, &v) == -1) {
		config_error(p, p->line, "%s: bad number \"%s\"", p->tok[0].s,
		    config_esc(e, sizeof(e), s));
		return -1;
	}
	if (neg)
		v = -v;
	if (v < min || v > max) {
		config_error(p, p->line, "%s: %s is out of range %lld..%lld",
		    p->tok[0].s, config_esc(e, sizeof(e), s), min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
config_path(struct config_parser *p, const char *s, char *dst, size_t dstsz)
{
	char	 e[CONFIG_ESC_MAX];

	if (s[0] != '/') {
		config_error(p, p->line, "%s: \"%s\" is not an absolute path",
		    p->tok[0].s, config_esc(e, sizeof(e), s));
		return -1;
	}
	if (strlcpy(dst, s, dstsz) >= dstsz) {
		config_error(p, p->line, "%s: path too long (max %zu bytes)",
		    p->tok[0].s, dstsz - 1);
		return -1;
	}
	return 0;
}

/*
 * Global statements.
 */

enum config_kind {
	KIND_DOMAIN,		/* host name */
	KIND_PATH,		/* absolute path */
	KIND_GROUP,		/* group name, "" = none */
};

struct config_str_kw {
	const char		*kw;
	size_t			 off;
	size_t			 size;
	enum config_kind	 kind;
};

#define STR_KW(kw, field, kind) \
	{ kw, offsetof(struct bw_config, field), \
	  sizeof(((struct bw_config *)NULL)->field), kind }

static const struct config_str_kw config_str_kws[] = {
	STR_KW("hostname", hostname, KIND_DOMAIN),
	STR_KW("runtime_dir", runtime_dir, KIND_PATH),
	STR_KW("spool_dir", spool_dir, KIND_PATH),
	STR_KW("chroot_dir", chroot_dir, KIND_PATH),
	STR_KW("tls_cert", tls_cert, KIND_PATH),
	STR_KW("tls_key", tls_key, KIND_PATH),
	STR_KW("admin_group", admin_group, KIND_GROUP),
	{ NULL, 0, 0, 0 }
};

#define USER_KW(role, field) \
	{ role, offsetof(struct bw_config, field), \
	  sizeof(((struct bw_config *)NULL)->field), KIND_GROUP }

static const struct config_str_kw config_user_roles[] = {
	USER_KW("smtpd", user_smtpd),
	USER_KW("queued", user_queued),
	USER_KW("deliverd", user_deliverd),
	USER_KW("dnscached", user_dnscached),
	USER_KW("controld", user_controld),
	{ NULL, 0, 0, 0 }
};

/* Keywords that belong inside a block, for a better message. */
struct config_block_kw {
	const char		*kw;
	enum config_block	 block;
};

static const struct config_block_kw config_block_kws[] = {
	{ "address", BLK_LISTENER },
	{ "port", BLK_LISTENER },
	{ "type", BLK_LISTENER },
	{ "tls", BLK_LISTENER },
	{ "tls_required", BLK_LISTENER },
	{ "greeting_delay", BLK_LISTENER },
	{ "accept_domains", BLK_LISTENER },
	{ "relay_networks", BLK_LISTENER },
	{ "helo", BLK_GATEWAY },
	{ "source", BLK_GATEWAY },
	{ "retry_initial", BLK_PROFILE },
	{ "retry_max", BLK_PROFILE },
	{ "max_age", BLK_PROFILE },
	{ "max_retries", BLK_PROFILE },
	{ "domains", BLK_PROFILE },
	{ NULL, BLK_NONE }
};

/* Top-level statements other than limits and config_str_kws. */
static const char *const config_global_kws[] = {
	"user", "deliverd_workers", "gateway_rule", "default_gateway",
	"bounce_gateway", "default_bounce_profile", "route", "dns_servers",
	NULL
};

/* The block that "KEYWORD NAME {" opens, or BLK_NONE. */
static enum config_block
config_block_of(const char *k)
{
	int	 b;

	for (b = BLK_LISTENER; b <= BLK_PROFILE; b++)
		if (strcmp(k, config_block_names[b]) == 0)
			return (enum config_block)b;
	return BLK_NONE;
}

/* 1 if k is a top-level setting (for "not valid inside" messages). */
static int
config_is_global(const char *k)
{
	const struct config_str_kw	*kw;
	const char			*const *g;

	if (bw_limit_find(k) != NULL)
		return 1;
	for (kw = config_str_kws; kw->kw != NULL; kw++)
		if (strcmp(kw->kw, k) == 0)
			return 1;
	for (g = config_global_kws; *g != NULL; g++)
		if (strcmp(*g, k) == 0)
			return 1;
	return 0;
}

static void
config_str_set(struct config_parser *p, const struct config_str_kw *kw)
{
	char		*dst = (char *)p->cfg + kw->off;
	const char	*v;
	char		 e[CONFIG_ESC_MAX];

	if (config_args(p, 1) == -1)
		return;
	v = p->tok[1].s;
	switch (kw->kind) {
	case KIND_DOMAIN:
		if (!config_domain_valid(v)) {
			config_error(p, p->line, "%s: bad host name \"%s\"",
			    kw->kw, config_esc(e, sizeof(e), v));
			return;
		}
		bw_lowercase(dst, v, kw->size);
		break;
	case KIND_PATH:
		config_path(p, v, dst, kw->size);
		break;
	case KIND_GROUP:
		if (v[0] != '\0' && !config_name_valid(v, kw->size)) {
			config_error(p, p->line, "%s: bad group name \"%s\"",
			    kw->kw, config_esc(e, sizeof(e), v));
			return;
		}
		strlcpy(dst, v, kw->size);
		break;
	}
}

static void
config_user_set(struct config_parser *p)
{
	const struct config_str_kw	*r;
	char				 e[CONFIG_ESC_MAX];

	if (config_args(p, 2) == -1)
		return;
	for (r = config_user_roles; r->kw != NULL; r++)
		if (strcmp(r->kw, p->tok[1].s) == 0)
			break;
	if (r->kw == NULL) {
		config_error(p, p->line, "user: unknown role \"%s\" (smtpd, "
		    "queued, deliverd, dnscached or controld)",
		    config_esc(e, sizeof(e), p->tok[1].s));
		return;
	}
	if (!config_name_valid(p->tok[2].s, r->size)) {
		config_error(p, p->line, "user %s: bad user name \"%s\"",
		    r->kw, config_esc(e, sizeof(e), p->tok[2].s));
		return;
	}
	strlcpy((char *)p->cfg + r->off, p->tok[2].s, r->size);
}

static void	config_listener_open(struct config_parser *);
static void	config_gateway_open(struct config_parser *);
static void	config_profile_open(struct config_parser *);
static void	config_gwrule_add(struct config_parser *);
static void	config_route_add(struct config_parser *);
static void	config_dns_servers_add(struct config_parser *);
static void	config_ref_set(struct config_parser *, char *, size_t, int *);

static void
config_global_stmt(struct config_parser *p)
{
	const struct config_str_kw	*kw;
	const struct bw_limit_def	*def;
	const struct config_block_kw	*bk;
	const char			*k = p->tok[0].s;
	char				 e[CONFIG_ESC_MAX];
	struct bw_config		*cfg = p->cfg;

	switch (config_block_of(k)) {
	case BLK_LISTENER:
		config_listener_open(p);
		return;
	case BLK_GATEWAY:
		config_gateway_open(p);
		return;
	case BLK_PROFILE:
		config_profile_open(p);
		return;
	case BLK_NONE:
		break;
	}
	for (kw = config_str_kws; kw->kw != NULL; kw++)
		if (strcmp(kw->kw, k) == 0) {
			config_str_set(p, kw);
			return;
		}
	if (strcmp(k, "user") == 0) {
		config_user_set(p);
		return;
	}
	if (strcmp(k, "deliverd_workers") == 0) {
		if (config_args(p, 1) == 0)
			config_int(p, p->tok[1].s, 0, CONFIG_WORKERS_MAX,
			    &p->cfg->deliverd_workers);
		return;
	}
	if (strcmp(k, "gateway_rule") == 0) {
		config_gwrule_add(p);
		return;
	}
	if (strcmp(k, "default_gateway") == 0) {
		config_ref_set(p, cfg->default_gateway,
		    sizeof(cfg->default_gateway), &p->default_gateway_line);
		return;
	}
	if (strcmp(k, "bounce_gateway") == 0) {
		config_ref_set(p, cfg->bounce_gateway,
		    sizeof(cfg->bounce_gateway), &p->bounce_gateway_line);
		return;
	}
	if (strcmp(k, "default_bounce_profile") == 0) {
		config_ref_set(p, cfg->default_profile,
		    sizeof(cfg->default_profile), &p->default_profile_line);
		return;
	}
	if (strcmp(k, "route") == 0) {
		config_route_add(p);
		return;
	}
	if (strcmp(k, "dns_servers") == 0) {
		config_dns_servers_add(p);
		return;
	}
	if ((def = bw_limit_find(k)) != NULL) {
		if (config_args(p, 1) == 0 &&
		    config_limit_value(p, def->name, def, p->tok[1].s,
		    &p->cfg->limits[def->id]) == 0)
			p->limit_line[def->id] = p->line;
		return;
	}
	for (bk = config_block_kws; bk->kw != NULL; bk++)
		if (strcmp(bk->kw, k) == 0) {
			config_error(p, p->line, "%s: only valid inside a "
			    "%s block", k, config_block_names[bk->block]);
			return;
		}
	config_error(p, p->line, "unknown keyword \"%s\"",
	    config_esc(e, sizeof(e), k));
}

/*
 * Listener blocks.
 */

static void
config_listener_free(struct bw_listener_conf *l)
{
	int	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->naccept_domains; i++)
		free(l->accept_domains[i]);
	free(l->accept_domains);
	free(l->relay_networks);
	free(l);
}

static struct bw_listener_conf *
config_listener_find(struct bw_config *cfg, const char *name)
{
	struct bw_listener_conf	*l;

	TAILQ_FOREACH(l, &cfg->listeners, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

/*
 * Check a block header "KEYWORD NAME {".  Returns -1 when there is no
 * brace (no block opens), 0 when a block opens but is to be dropped (bad
 * header, reported), 1 when it is good.
 */
static int
config_block_header(struct config_parser *p, size_t namesz)
{
	const char	*k = p->tok[0].s;
	const char	*name = p->ntok > 1 ? p->tok[1].s : "";
	char		 e[CONFIG_ESC_MAX];

	if (!config_tok_is(&p->tok[p->ntok - 1], "{")) {
		config_error(p, p->line, "%s: expected \"%s NAME {\"", k, k);
		return -1;
	}
	if (p->ntok != 3 || config_tok_is(&p->tok[1], "{")) {
		config_error(p, p->line, "%s: expected \"%s NAME {\"", k, k);
		return 0;
	}
	if (!config_name_valid(name, namesz)) {
		config_error(p, p->line, "%s: bad name \"%s\" (letters, "
		    "digits, '_', '.', '-'; at most %zu)", k,
		    config_esc(e, sizeof(e), name), namesz - 1);
		return 0;
	}
	return 1;
}

/* A printable name for a block: itself when kept, escaped when dropped. */
static void
config_block_name(struct config_parser *p, int keep, char *dst, size_t dstsz)
{
	const char	*name = p->ntok > 1 ? p->tok[1].s : "";

	if (keep)
		strlcpy(dst, name, dstsz);
	else
		config_esc(dst, dstsz, name);
}

/* "listener NAME {": open a block; a bad header still opens one, dropped. */
static void
config_listener_open(struct config_parser *p)
{
	struct bw_listener_conf	*l, *old;
	int			 keep;

	if ((keep = config_block_header(p, sizeof(l->name))) == -1)
		return;
	if (keep && (old = config_listener_find(p->cfg, p->tok[1].s)) != NULL) {
		config_error(p, p->line, "duplicate listener \"%s\" (first "
		    "defined at line %d)", old->name, old->line);
		keep = 0;
	} else if (keep && p->nlisteners >= BW_CONFIG_LISTENERS_MAX) {
		config_error(p, p->line, "too many listeners (max %d)",
		    BW_CONFIG_LISTENERS_MAX);
		keep = 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	/* A dropped block keeps a printable name for later messages. */
	config_block_name(p, keep, l->name, sizeof(l->name));
	l->tls = BW_TLS_NONE;
	l->greeting_delay = -1;
	l->line = p->line;
	p->cur = l;
	p->cur_keep = keep;
	p->block = BLK_LISTENER;
	if (keep) {
		TAILQ_INSERT_TAIL(&p->cfg->listeners, l, entry);
		p->nlisteners++;
	}
}

/* Append the values of an accept_domains statement. */
static void
config_listener_domains(struct config_parser *p, struct bw_listener_conf *l)
{
	char	 e[CONFIG_ESC_MAX], **nd;
	int	 i;

	for (i = 1; i < p->ntok; i++) {
		const char	*d = p->tok[i].s;
		const char	*bare = d;

		if (strncmp(d, "*.", 2) == 0)
			bare = d + 2;
		if (!config_domain_valid(bare)) {
			config_error(p, p->line, "accept_domains: bad domain "
			    "\"%s\"", config_esc(e, sizeof(e), d));
			continue;
		}
		if (l->naccept_domains >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "accept_domains: too many "
			    "domains (max %d)", BW_CONFIG_LIST_MAX);
			return;
		}
		nd = reallocarray(l->accept_domains, l->naccept_domains + 1,
		    sizeof(*nd));
		if (nd == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		l->accept_domains = nd;
		if ((nd[l->naccept_domains] = strdup(d)) == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		bw_lowercase(nd[l->naccept_domains], d, strlen(d) + 1);
		l->naccept_domains++;
	}
}

/* Append the values of a relay_networks statement. */
static void
config_listener_networks(struct config_parser *p, struct bw_listener_conf *l)
{
	struct bw_net	 net, *nn;
	char		 e[CONFIG_ESC_MAX];
	int		 i;

	for (i = 1; i < p->ntok; i++) {
		if (bw_net_parse(p->tok[i].s, &net) == -1) {
			config_error(p, p->line, "relay_networks: bad network "
			    "\"%s\" (ADDRESS or ADDRESS/PREFIX without host "
			    "bits, e.g. 192.0.2.0/24 or 2001:db8::/32)",
			    config_esc(e, sizeof(e), p->tok[i].s));
			continue;
		}
		if (l->nrelay_networks >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "relay_networks: too many "
			    "networks (max %d)", BW_CONFIG_LIST_MAX);
			return;
		}
		nn = reallocarray(l->relay_networks, l->nrelay_networks + 1,
		    sizeof(*nn));
		if (nn == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		l->relay_networks = nn;
		nn[l->nrelay_networks++] = net;
	}
}

/* Textual IPv4 or IPv6 address to its family and bytes; -1 if neither. */
static int
config_addr_parse(const char *s, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return -1;
}

static void
config_listener_stmt(struct config_parser *p)
{
	struct bw_listener_conf	*l = p->cur;
	const char		*k = p->tok[0].s, *v;
	unsigned char		 addr[16];
	char			 e[CONFIG_ESC_MAX];
	int			 yn;

	if (strcmp(k, "accept_domains") == 0 ||
	    strcmp(k, "relay_networks") == 0) {
		if (p->ntok < 2) {
			config_error(p, p->line, "%s: missing value", k);
			return;
		}
		if (strcmp(k, "accept_domains") == 0)
			config_listener_domains(p, l);
		else
			config_listener_networks(p, l);
		return;
	}
	if (strcmp(k, "address") == 0) {
		if (config_args(p, 1) == -1)
			return;
		v = p->tok[1].s;
		if (strlen(v) >= sizeof(l->address) ||
		    config_addr_parse(v, addr) == -1) {
			config_error(p, p->line, "address: bad address \"%s\" "
			    "(a numeric IPv4 or IPv6 address)",
			    config_esc(e, sizeof(e), v));
			return;
		}
		strlcpy(l->address, v, sizeof(l->address));
	} else if (strcmp(k, "port") == 0) {
		if (config_args(p, 1) == 0)
			config_int(p, p->tok[1].s, 1, 65535, &l->port);
	} else if (strcmp(k, "type") == 0) {
		if (config_args(p, 1) == -1)
			return;
		v = p->tok[1].s;
		if (strcasecmp(v, "public") == 0)
			l->public = 1;
		else if (strcasecmp(v, "private") == 0)
			l->public = 0;
		else
			config_error(p, p->line, "type: expected public or "
			    "private, not \"%s\"", config_esc(e, sizeof(e), v));
	} else if (strcmp(k, "tls") == 0) {
		if (config_args(p, 1) == -1)
			return;
		v = p->tok[1].s;
		if (strcasecmp(v, "none") == 0)
			l->tls = BW_TLS_NONE;
		else if (strcasecmp(v, "starttls") == 0)
			l->tls = BW_TLS_STARTTLS;
		else if (strcasecmp(v, "implicit") == 0)
			l->tls = BW_TLS_IMPLICIT;
		else
			config_error(p, p->line, "tls: expected none, starttls "
			    "or implicit, not \"%s\"",
			    config_esc(e, sizeof(e), v));
	} else if (strcmp(k, "tls_required") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if ((yn = config_yesno(p->tok[1].s)) == -1)
			config_error(p, p->line, "tls_required: expected yes "
			    "or no, not \"%s\"",
			    config_esc(e, sizeof(e), p->tok[1].s));
		else
			l->tls_required = yn;
	} else if (strcmp(k, "tls_cert") == 0) {
		if (config_args(p, 1) == 0)
			config_path(p, p->tok[1].s, l->tls_cert,
			    sizeof(l->tls_cert));
	} else if (strcmp(k, "tls_key") == 0) {
		if (config_args(p, 1) == 0)
			config_path(p, p->tok[1].s, l->tls_key,
			    sizeof(l->tls_key));
	} else if (strcmp(k, "greeting_delay") == 0) {
		if (config_args(p, 1) == 0)
			config_limit_value(p, k,
			    &bw_limit_defs[LIM_SMTPD_GREETING_DELAY],
			    p->tok[1].s, &l->greeting_delay);
	} else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside listener \"%s\"", k, l->name);
	else
		config_error(p, p->line, "unknown listener keyword \"%s\"",
		    config_esc(e, sizeof(e), k));
}

/* "}": check the listener as a whole. */
static void
config_listener_close(struct config_parser *p)
{
	struct bw_listener_conf	*l = p->cur, *o;
	unsigned char		 a1[16], a2[16];
	int			 f1;

	p->cur = NULL;
	if (!p->cur_keep) {
		config_listener_free(l);
		return;
	}
	if (l->address[0] == '\0')
		config_error(p, l->line, "listener \"%s\": missing address",
		    l->name);
	if (l->port == 0)
		config_error(p, l->line, "listener \"%s\": missing port",
		    l->name);
	if (l->public && l->naccept_domains == 0)
		config_error(p, l->line, "listener \"%s\": a public listener "
		    "needs accept_domains", l->name);
	if (l->public && l->nrelay_networks > 0)
		config_error(p, l->line, "listener \"%s\": relay_networks is "
		    "for private listeners only", l->name);
	if (!l->public && l->nrelay_networks == 0)
		config_error(p, l->line, "listener \"%s\": a private listener "
		    "needs relay_networks", l->name);
	if (!l->public && l->naccept_domains > 0)
		config_error(p, l->line, "listener \"%s\": accept_domains is "
		    "for public listeners only (add \"type public\")",
		    l->name);
	if (l->tls_required && l->tls == BW_TLS_NONE)
		config_error(p, l->line, "listener \"%s\": tls_required yes "
		    "needs tls starttls or implicit", l->name);
	if (l->address[0] == '\0' || l->port == 0)
		return;
	f1 = config_addr_parse(l->address, a1);
	TAILQ_FOREACH(o, &p->cfg->listeners, entry) {
		if (o == l)
			break;
		if (o->port != l->port || o->address[0] == '\0' ||
		    config_addr_parse(o->address, a2) != f1 ||
		    memcmp(a1, a2, sizeof(a1)) != 0)
			continue;
		config_error(p, l->line, "listener \"%s\": address %s port "
		    "%d already used by listener \"%s\" (line %d)", l->name,
		    l->address, l->port, o->name, o->line);
		break;
	}
}

/*
 * Delivery: gateways, gateway rules, routes, bounce profiles, DNS servers.
 * Names that refer to other things (a rule's gateway, default_gateway...)
 * are checked in config_check_all, so that the order in the file does not
 * matter.
 */

/* Durations of a bounce profile: range and built-in default, in ms. */
#define PROFILE_SEC	1000LL
#define PROFILE_MIN	(60 * PROFILE_SEC)
#define PROFILE_HOUR	(60 * PROFILE_MIN)
#define PROFILE_DAY	(24 * PROFILE_HOUR)
#define PROFILE_RETRIES_MAX	1000

static const struct bw_limit_def config_profile_defs[] = {
	{ LIM__COUNT, "retry_initial", 5 * PROFILE_MIN, PROFILE_SEC,
	  PROFILE_DAY, BW_UNIT_MS, "first retry after a temporary failure" },
	{ LIM__COUNT, "retry_max", PROFILE_HOUR, PROFILE_SEC,
	  7 * PROFILE_DAY, BW_UNIT_MS, "the interval doubles up to this" },
	{ LIM__COUNT, "max_age", 5 * PROFILE_DAY, PROFILE_SEC,
	  30 * PROFILE_DAY, BW_UNIT_MS, "RFC 5321 4.5.4.1: 4-5 days" },
};
#define PROFILE_DEF_RETRY_INITIAL	0
#define PROFILE_DEF_RETRY_MAX		1
#define PROFILE_DEF_MAX_AGE		2

static void
config_gateway_free(struct bw_gateway_conf *gw)
{
	free(gw);
}

static void
config_profile_free(struct bw_profile_conf *pr)
{
	int	 i;

	if (pr == NULL)
		return;
	for (i = 0; i < pr->ndomains; i++)
		free(pr->domains[i]);
	free(pr->domains);
	free(pr);
}

static void
config_profile_reset(struct bw_profile_conf *pr)
{
	pr->retry_initial = config_profile_defs[PROFILE_DEF_RETRY_INITIAL].def;
	pr->retry_max = config_profile_defs[PROFILE_DEF_RETRY_MAX].def;
	pr->max_age = config_profile_defs[PROFILE_DEF_MAX_AGE].def;
	pr->max_retries = -1;
}

static struct bw_gateway_conf *
config_gateway_get(struct bw_config *cfg, const char *name)
{
	struct bw_gateway_conf	*gw;

	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		if (strcmp(gw->name, name) == 0)
			return gw;
	return NULL;
}

static struct bw_profile_conf *
config_profile_get(struct bw_config *cfg, const char *name)
{
	struct bw_profile_conf	*pr;

	TAILQ_FOREACH(pr, &cfg->profiles, entry)
		if (strcmp(pr->name, name) == 0)
			return pr;
	return NULL;
}

/* The "default" gateway and profile exist before the first line (line 0). */
static void
config_builtins_add(struct config_parser *p)
{
	struct bw_gateway_conf	*gw;
	struct bw_profile_conf	*pr;

	if ((gw = calloc(1, sizeof(*gw))) == NULL ||
	    (pr = calloc(1, sizeof(*pr))) == NULL) {
		free(gw);
		config_error(p, 0, "out of memory");
		return;
	}
	strlcpy(gw->name, BW_GATEWAY_DEFAULT, sizeof(gw->name));
	TAILQ_INSERT_TAIL(&p->cfg->gateways, gw, entry);
	strlcpy(pr->name, BW_PROFILE_DEFAULT, sizeof(pr->name));
	config_profile_reset(pr);
	TAILQ_INSERT_TAIL(&p->cfg->profiles, pr, entry);
	p->ngateways = 1;
	p->nprofiles = 1;
}

/*
 * "gateway NAME {".  The built-in "default" (line 0) may be redefined
 * once: the block then starts from an empty gateway of that name.
 */
static void
config_gateway_open(struct config_parser *p)
{
	struct bw_gateway_conf	*gw, *old = NULL;
	int			 keep;

	if ((keep = config_block_header(p, sizeof(gw->name))) == -1)
		return;
	if (keep && (old = config_gateway_get(p->cfg, p->tok[1].s)) != NULL &&
	    old->line != 0) {
		config_error(p, p->line, "duplicate gateway \"%s\" (first "
		    "defined at line %d)", old->name, old->line);
		keep = 0;
		old = NULL;
	} else if (keep && old == NULL &&
	    p->ngateways >= BW_CONFIG_GATEWAYS_MAX) {
		config_error(p, p->line, "too many gateways (max %d)",
		    BW_CONFIG_GATEWAYS_MAX);
		keep = 0;
	}
	if (old != NULL) {
		gw = old;
		gw->helo[0] = '\0';
		memset(gw->sources, 0, sizeof(gw->sources));
		gw->nsources = 0;
	} else if ((gw = calloc(1, sizeof(*gw))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	} else
		config_block_name(p, keep, gw->name, sizeof(gw->name));
	gw->line = p->line;
	p->gw = gw;
	p->cur_keep = keep;
	p->block = BLK_GATEWAY;
	if (keep && old == NULL) {
		TAILQ_INSERT_TAIL(&p->cfg->gateways, gw, entry);
		p->ngateways++;
	}
}

/* Textual address to a sockaddr (port 0); -1 if not numeric. */
static int
config_sockaddr(const char *s, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -1;
}

/* Same address and port. */
static int
config_sockaddr_eq(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in	*b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6	*a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6	*b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

static void
config_gateway_sources(struct config_parser *p, struct bw_gateway_conf *gw)
{
	struct sockaddr_storage	 ss;
	char			 e[CONFIG_ESC_MAX];
	int			 i, j;

	for (i = 1; i < p->ntok; i++) {
		config_esc(e, sizeof(e), p->tok[i].s);
		if (config_sockaddr(p->tok[i].s, 0, &ss) == -1) {
			config_error(p, p->line, "source: bad address \"%s\" "
			    "(a numeric IPv4 or IPv6 address)", e);
			continue;
		}
		for (j = 0; j < gw->nsources; j++)
			if (config_sockaddr_eq(&gw->sources[j], &ss))
				break;
		if (j < gw->nsources) {
			config_error(p, p->line, "source: %s listed twice", e);
			continue;
		}
		if (gw->nsources >= BW_GATEWAY_SOURCES_MAX) {
			config_error(p, p->line, "source: too many addresses "
			    "(max %d)", BW_GATEWAY_SOURCES_MAX);
			return;
		}
		gw->sources[gw->nsources++] = ss;
	}
}

static void
config_gateway_stmt(struct config_parser *p)
{
	struct bw_gateway_conf	*gw = p->gw;
	const char		*k = p->tok[0].s, *v;
	char			 e[CONFIG_ESC_MAX];

	if (strcmp(k, "helo") == 0) {
		if (config_args(p, 1) == -1)
			return;
		v = p->tok[1].s;
		if (v[0] != '\0' && !config_domain_valid(v)) {
			config_error(p, p->line, "helo: bad host name \"%s\"",
			    config_esc(e, sizeof(e), v));
			return;
		}
		bw_lowercase(gw->helo, v, sizeof(gw->helo));
	} else if (strcmp(k, "source") == 0) {
		if (p->ntok < 2) {
			config_error(p, p->line, "source: missing value");
			return;
		}
		config_gateway_sources(p, gw);
	} else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside gateway \"%s\"", k, gw->name);
	else
		config_error(p, p->line, "unknown gateway keyword \"%s\"",
		    config_esc(e, sizeof(e), k));
}

static void
config_gateway_close(struct config_parser *p)
{
	if (!p->cur_keep)
		config_gateway_free(p->gw);
	p->gw = NULL;
}

/* "bounce_profile NAME {": as gateways, "default" may be redefined once. */
static void
config_profile_open(struct config_parser *p)
{
	struct bw_profile_conf	*pr, *old = NULL;
	int			 keep, i;

	if ((keep = config_block_header(p, sizeof(pr->name))) == -1)
		return;
	if (keep && (old = config_profile_get(p->cfg, p->tok[1].s)) != NULL &&
	    old->line != 0) {
		config_error(p, p->line, "duplicate bounce_profile \"%s\" "
		    "(first defined at line %d)", old->name, old->line);
		keep = 0;
		old = NULL;
	} else if (keep && old == NULL &&
	    p->nprofiles >= BW_CONFIG_PROFILES_MAX) {
		config_error(p, p->line, "too many bounce profiles (max %d)",
		    BW_CONFIG_PROFILES_MAX);
		keep = 0;
	}
	if (old != NULL) {
		pr = old;
		for (i = 0; i < pr->ndomains; i++)
			free(pr->domains[i]);
		free(pr->domains);
		pr->domains = NULL;
		pr->ndomains = 0;
	} else if ((pr = calloc(1, sizeof(*pr))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	} else
		config_block_name(p, keep, pr->name, sizeof(pr->name));
	config_profile_reset(pr);
	pr->line = p->line;
	p->prof = pr;
	p->cur_keep = keep;
	p->block = BLK_PROFILE;
	if (keep && old == NULL) {
		TAILQ_INSERT_TAIL(&p->cfg->profiles, pr, entry);
		p->nprofiles++;
	}
}

/* Append the values of a domains statement (duplicates: config_check_all). */
static void
config_profile_domains(struct config_parser *p, struct bw_profile_conf *pr)
{
	char	 e[CONFIG_ESC_MAX], **nd;
	int	 i;

	for (i = 1; i < p->ntok; i++) {
		const char	*d = p->tok[i].s;

		if (!config_domain_valid(d)) {
			config_error(p, p->line, "domains: bad domain \"%s\"",
			    config_esc(e, sizeof(e), d));
			continue;
		}
		if (pr->ndomains >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "domains: too many domains "
			    "(max %d)", BW_CONFIG_LIST_MAX);
			return;
		}
		nd = reallocarray(pr->domains, pr->ndomains + 1, sizeof(*nd));
		if (nd == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		pr->domains = nd;
		if ((nd[pr->ndomains] = strdup(d)) == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		bw_lowercase(nd[pr->ndomains], d, strlen(d) + 1);
		pr->ndomains++;
	}
}

static void
config_profile_stmt(struct config_parser *p)
{
	struct bw_profile_conf	*pr = p->prof;
	const char		*k = p->tok[0].s;
	char			 e[CONFIG_ESC_MAX];
	long long		*dst[] = { &pr->retry_initial, &pr->retry_max,
				    &pr->max_age };
	size_t			 i;

	for (i = 0; i < sizeof(dst) / sizeof(dst[0]); i++) {
		if (strcmp(k, config_profile_defs[i].name) != 0)
			continue;
		if (config_args(p, 1) == 0)
			config_limit_value(p, k, &config_profile_defs[i],
			    p->tok[1].s, dst[i]);
		return;
	}
	if (strcmp(k, "max_retries") == 0) {
		if (config_args(p, 1) == 0)
			config_int(p, p->tok[1].s, -1, PROFILE_RETRIES_MAX,
			    &pr->max_retries);
	} else if (strcmp(k, "domains") == 0) {
		if (p->ntok < 2) {
			config_error(p, p->line, "domains: missing value");
			return;
		}
		config_profile_domains(p, pr);
	} else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside bounce_profile \"%s\"", k, pr->name);
	else
		config_error(p, p->line, "unknown bounce_profile keyword "
		    "\"%s\"", config_esc(e, sizeof(e), k));
}

static void
config_profile_close(struct config_parser *p)
{
	struct bw_profile_conf	*pr = p->prof;

	p->prof = NULL;
	if (!p->cur_keep) {
		config_profile_free(pr);
		return;
	}
	if (pr->retry_initial > pr->retry_max)
		config_error(p, pr->line, "bounce_profile \"%s\": "
		    "retry_initial (%lld ms) is longer than retry_max "
		    "(%lld ms)", pr->name, pr->retry_initial, pr->retry_max);
}

/* default_gateway, bounce_gateway, default_bounce_profile NAME. */
static void
config_ref_set(struct config_parser *p, char *dst, size_t dstsz, int *line)
{
	char	 e[CONFIG_ESC_MAX];

	if (config_args(p, 1) == -1)
		return;
	if (!config_name_valid(p->tok[1].s, dstsz)) {
		config_error(p, p->line, "%s: bad name \"%s\"", p->tok[0].s,
		    config_esc(e, sizeof(e), p->tok[1].s));
		return;
	}
	strlcpy(dst, p->tok[1].s, dstsz);
	*line = p->line;
}

/* A sender address in a rule: LOCAL@DOMAIN, no spaces or brackets. */
static int
config_sender_valid(const char *s, size_t max)
{
	const char	*at = strrchr(s, '@');
	size_t		 i;

	if (at == NULL || at == s || strlen(s) >= max ||
	    !config_domain_valid(at + 1))
		return 0;
	for (i = 0; s + i < at; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '<' || s[i] == '>' ||
		    s[i] == '@')
			return 0;
	return 1;
}

/* "gateway_rule listener|sender_domain|sender MATCH GATEWAY" */
static void
config_gwrule_add(struct config_parser *p)
{
	static const char *const kinds[] = {
		"listener", "sender_domain", "sender"
	};
	struct bw_gwrule_conf	*r, *o;
	const char		*m, *gwname;
	char			 e[CONFIG_ESC_MAX];
	int			 kind;

	if (config_args(p, 3) == -1)
		return;
	m = p->tok[2].s;
	gwname = p->tok[3].s;
	for (kind = 0; kind < 3; kind++)
		if (strcmp(p->tok[1].s, kinds[kind]) == 0)
			break;
	switch (kind) {
	case BW_GWRULE_LISTENER:
		if (!config_name_valid(m, sizeof(r->gateway))) {
			config_error(p, p->line, "gateway_rule: bad listener "
			    "name \"%s\"", config_esc(e, sizeof(e), m));
			return;
		}
		break;
	case BW_GWRULE_SENDER_DOMAIN:
		if (!config_domain_valid(m)) {
			config_error(p, p->line, "gateway_rule: bad domain "
			    "\"%s\"", config_esc(e, sizeof(e), m));
			return;
		}
		break;
	case BW_GWRULE_SENDER:
		if (!config_sender_valid(m, sizeof(r->match))) {
			config_error(p, p->line, "gateway_rule: bad sender "
			    "address \"%s\" (LOCAL@DOMAIN, without <>)",
			    config_esc(e, sizeof(e), m));
			return;
		}
		break;
	default:
		config_error(p, p->line, "gateway_rule: expected listener, "
		    "sender_domain or sender, not \"%s\"",
		    config_esc(e, sizeof(e), p->tok[1].s));
		return;
	}
	if (!config_name_valid(gwname, sizeof(r->gateway))) {
		config_error(p, p->line, "gateway_rule: bad gateway name "
		    "\"%s\"", config_esc(e, sizeof(e), gwname));
		return;
	}
	TAILQ_FOREACH(o, &p->cfg->gwrules, entry) {
		if ((int)o->kind != kind ||
		    (kind == BW_GWRULE_LISTENER ? strcmp(o->match, m) :
		    strcasecmp(o->match, m)) != 0)
			continue;
		config_error(p, p->line, "gateway_rule %s %s: never matches, "
		    "the rule at line %d comes first", kinds[kind],
		    config_esc(e, sizeof(e), m), o->line);
		return;
	}
	if (p->ngwrules >= BW_CONFIG_GWRULES_MAX) {
		config_error(p, p->line, "too many gateway rules (max %d)",
		    BW_CONFIG_GWRULES_MAX);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		config_error(p, p->line, "out of memory");
		return;
	}
	r->kind = (enum bw_gwrule_kind)kind;
	if (kind == BW_GWRULE_LISTENER)
		strlcpy(r->match, m, sizeof(r->match));
	else
		bw_lowercase(r->match, m, sizeof(r->match));
	strlcpy(r->gateway, gwname, sizeof(r->gateway));
	r->line = p->line;
	TAILQ_INSERT_TAIL(&p->cfg->gwrules, r, entry);
	p->ngwrules++;
}

/* A port 1..65535 from text; -1 if not. */
static int
config_port_parse(const char *s, int *port)
{
	long long	 v;

	if (bw_limit_parse_value(BW_UNIT_COUNT, s, &v) == -1 || v < 1 ||
	    v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/*
 * Split "HOST[:PORT]" or "[LITERAL][:PORT]" (dst gets HOST or LITERAL,
 * without brackets); *port is the text after the colon, or NULL.  -1 if
 * malformed or too long.
 */
static int
config_hostport_split(const char *s, char *dst, size_t dstsz, int *literal,
    const char **port)
{
	const char	*end, *rest;
	size_t		 len;

	*literal = 0;
	*port = NULL;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		*literal = 1;
		s++;
		len = end - s;
		rest = end + 1;
	} else {
		rest = strchr(s, ':');
		len = rest != NULL ? (size_t)(rest - s) : strlen(s);
		if (rest == NULL)
			rest = s + len;
	}
	if (len == 0 || len >= dstsz)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	if (*rest == ':')
		*port = rest + 1;
	else if (*rest != '\0')
		return -1;
	return 0;
}

/* One host of a route: HOST[:PORT][/PRIORITY]; 0 or -1 after an error. */
static int
config_route_host(struct config_parser *p, const char *domain, const char *s,
    int pos, struct bw_route_host *h)
{
	char		 e[CONFIG_ESC_MAX], tmp[BW_DOMAIN_MAX + 16];
	char		*slash;
	const char	*port;
	unsigned char	 addr[16];
	long long	 prio;

	memset(h, 0, sizeof(*h));
	config_esc(e, sizeof(e), s);
	if (strlcpy(tmp, s, sizeof(tmp)) >= sizeof(tmp)) {
		config_error(p, p->line, "route %s: bad host \"%s\" (too "
		    "long)", domain, e);
		return -1;
	}
	h->priority = 10 * pos;
	if ((slash = strchr(tmp, '/')) != NULL) {
		*slash++ = '\0';
		if (bw_limit_parse_value(BW_UNIT_COUNT, slash, &prio) == -1 ||
		    prio > 65535) {
			config_error(p, p->line, "route %s: bad priority in "
			    "\"%s\" (0..65535)", domain, e);
			return -1;
		}
		h->priority = (int)prio;
	}
	if (config_hostport_split(tmp, h->host, sizeof(h->host), &h->literal,
	    &port) == -1) {
		config_error(p, p->line, "route %s: bad host \"%s\" (a host "
		    "name or [ADDRESS], then optional :PORT and /PRIORITY)",
		    domain, e);
		return -1;
	}
	h->port = 25;
	if (port != NULL && config_port_parse(port, &h->port) == -1) {
		config_error(p, p->line, "route %s: bad port in \"%s\" "
		    "(1..65535)", domain, e);
		return -1;
	}
	if (h->literal) {
		if (config_addr_parse(h->host, addr) == -1) {
			config_error(p, p->line, "route %s: bad address in "
			    "\"%s\" (a numeric IPv4 or IPv6 address inside "
			    "[])", domain, e);
			return -1;
		}
		return 0;
	}
	if (config_addr_parse(h->host, addr) != -1) {
		config_error(p, p->line, "route %s: \"%s\" is an address: "
		    "write it as [%s]", domain, e, h->host);
		return -1;
	}
	if (!config_domain_valid(h->host)) {
		config_error(p, p->line, "route %s: bad host \"%s\" (a host "
		    "name or [ADDRESS], then optional :PORT and /PRIORITY)",
		    domain, e);
		return -1;
	}
	bw_lowercase(h->host, h->host, sizeof(h->host));
	return 0;
}

/* "route DOMAIN -> HOST[:PORT][/PRIORITY] ..." */
static void
config_route_add(struct config_parser *p)
{
	struct bw_route_conf	*rt, *o;
	struct bw_route_host	 h;
	char			 e[CONFIG_ESC_MAX], dom[BW_DOMAIN_MAX + 1];
	int			 i, j, bad = 0;

	if (p->ntok < 4 || !config_tok_is(&p->tok[2], "->")) {
		config_error(p, p->line, "route: expected \"route DOMAIN -> "
		    "HOST[:PORT][/PRIORITY] ...\"");
		return;
	}
	if (!config_domain_valid(p->tok[1].s)) {
		config_error(p, p->line, "route: bad domain \"%s\"",
		    config_esc(e, sizeof(e), p->tok[1].s));
		return;
	}
	bw_lowercase(dom, p->tok[1].s, sizeof(dom));
	TAILQ_FOREACH(o, &p->cfg->routes, entry)
		if (strcmp(o->domain, dom) == 0) {
			config_error(p, p->line, "duplicate route for %s "
			    "(first at line %d)", dom, o->line);
			return;
		}
	if (p->ntok - 3 > BW_ROUTE_HOSTS_MAX) {
		config_error(p, p->line, "route %s: too many hosts (max %d)",
		    dom, BW_ROUTE_HOSTS_MAX);
		return;
	}
	if (p->nroutes >= BW_CONFIG_ROUTES_MAX) {
		config_error(p, p->line, "too many routes (max %d)",
		    BW_CONFIG_ROUTES_MAX);
		return;
	}
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		config_error(p, p->line, "out of memory");
		return;
	}
	strlcpy(rt->domain, dom, sizeof(rt->domain));
	rt->line = p->line;
	for (i = 3; i < p->ntok; i++) {
		if (config_route_host(p, dom, p->tok[i].s, i - 2, &h) == -1) {
			bad = 1;
			continue;
		}
		for (j = 0; j < rt->nhosts; j++)
			if (strcmp(rt->hosts[j].host, h.host) == 0 &&
			    rt->hosts[j].port == h.port)
				break;
		if (j < rt->nhosts) {
			config_error(p, p->line, "route %s: %s port %d listed "
			    "twice", dom, h.host, h.port);
			bad = 1;
			continue;
		}
		rt->hosts[rt->nhosts++] = h;
	}
	if (bad) {
		free(rt);
		return;
	}
	TAILQ_INSERT_TAIL(&p->cfg->routes, rt, entry);
	p->nroutes++;
}

/* "dns_servers ADDR[:PORT] ..." (IPv6 with a port as [ADDR]:PORT). */
static void
config_dns_servers_add(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct sockaddr_storage	 ss;
	char			 e[CONFIG_ESC_MAX], host[BW_HOSTADDR_MAX];
	const char		*s, *port;
	int			 i, j, literal, portnum;

	if (p->ntok < 2) {
		config_error(p, p->line, "dns_servers: missing value");
		return;
	}
	for (i = 1; i < p->ntok; i++) {
		s = p->tok[i].s;
		config_esc(e, sizeof(e), s);
		portnum = 53;
		if (config_sockaddr(s, 53, &ss) == 0)
			;	/* a bare IPv4 or IPv6 address */
		else if (config_hostport_split(s, host, sizeof(host), &literal,
		    &port) == -1 || config_sockaddr(host, 53, &ss) == -1) {
			config_error(p, p->line, "dns_servers: bad server "
			    "\"%s\" (ADDRESS, IPv4:PORT or [ADDRESS]:PORT)", e);
			continue;
		} else if (port != NULL) {
			if (config_port_parse(port, &portnum) == -1) {
				config_error(p, p->line, "dns_servers: bad "
				    "port in \"%s\" (1..65535)", e);
				continue;
			}
			config_sockaddr(host, portnum, &ss);
		}
		for (j = 0; j < cfg->ndns_servers; j++)
			if (config_sockaddr_eq(&cfg->dns_servers[j], &ss))
				break;
		if (j < cfg->ndns_servers) {
			config_error(p, p->line, "dns_servers: %s listed "
			    "twice", e);
			continue;
		}
		if (cfg->ndns_servers >= BW_DNS_SERVERS_MAX) {
			config_error(p, p->line, "dns_servers: too many "
			    "servers (max %d)", BW_DNS_SERVERS_MAX);
			return;
		}
		cfg->dns_servers[cfg->ndns_servers++] = ss;
	}
}

/* For the duplicate check across profiles: one (domain, profile) pair. */
struct config_domain_ref {
	const char			*domain;
	const struct bw_profile_conf	*pr;
};

static int
config_domain_ref_cmp(const void *a, const void *b)
{
	const struct config_domain_ref	*ra = a, *rb = b;
	int				 c;

	if ((c = strcmp(ra->domain, rb->domain)) != 0)
		return c;
	/* Profiles in file order, so the later one is reported. */
	return (ra->pr->line > rb->pr->line) - (ra->pr->line < rb->pr->line);
}

/* A domain in two profiles (or twice in one); sorted, not quadratic. */
static void
config_check_profile_domains(struct config_parser *p)
{
	struct bw_profile_conf		*pr;
	struct config_domain_ref	*refs;
	size_t				 n = 0, i;
	int				 j;

	TAILQ_FOREACH(pr, &p->cfg->profiles, entry)
		n += pr->ndomains;
	if (n < 2)
		return;
	if ((refs = calloc(n, sizeof(*refs))) == NULL) {
		config_error(p, 0, "out of memory");
		return;
	}
	n = 0;
	TAILQ_FOREACH(pr, &p->cfg->profiles, entry)
		for (j = 0; j < pr->ndomains; j++) {
			refs[n].domain = pr->domains[j];
			refs[n++].pr = pr;
		}
	qsort(refs, n, sizeof(*refs), config_domain_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i].domain, refs[i - 1].domain) != 0)
			continue;
		if (refs[i].pr == refs[i - 1].pr)
			config_error(p, refs[i].pr->line, "bounce_profile "
			    "\"%s\": domain %s listed twice", refs[i].pr->name,
			    refs[i].domain);
		else
			config_error(p, refs[i].pr->line, "bounce_profile "
			    "\"%s\": domain %s is already in bounce_profile "
			    "\"%s\" (line %d)", refs[i].pr->name,
			    refs[i].domain, refs[i - 1].pr->name,
			    refs[i - 1].pr->line);
	}
	free(refs);
}

/* References by name, the default HELO, and domains in two profiles. */
static void
config_check_delivery(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_gwrule_conf	*r;
	static const char *const kinds[] = {
		"listener", "sender_domain", "sender"
	};

	TAILQ_FOREACH(r, &cfg->gwrules, entry) {
		if (r->kind == BW_GWRULE_LISTENER &&
		    config_listener_find(cfg, r->match) == NULL)
			config_error(p, r->line, "gateway_rule: no listener "
			    "\"%s\"", r->match);
		if (config_gateway_get(cfg, r->gateway) == NULL)
			config_error(p, r->line, "gateway_rule %s %s: no "
			    "gateway \"%s\"", kinds[r->kind], r->match,
			    r->gateway);
	}
	if (config_gateway_get(cfg, cfg->default_gateway) == NULL)
		config_error(p, p->default_gateway_line, "default_gateway: no "
		    "gateway \"%s\"", cfg->default_gateway);
	if (config_gateway_get(cfg, cfg->bounce_gateway) == NULL)
		config_error(p, p->bounce_gateway_line, "bounce_gateway: no "
		    "gateway \"%s\"", cfg->bounce_gateway);
	if (config_profile_get(cfg, cfg->default_profile) == NULL)
		config_error(p, p->default_profile_line, "default_bounce_"
		    "profile: no bounce_profile \"%s\"", cfg->default_profile);
	config_check_profile_domains(p);
}

/* helo "" means the host name: filled in for every reader. */
static void
config_gateway_helo_fill(struct bw_config *cfg)
{
	struct bw_gateway_conf	*gw;

	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		if (gw->helo[0] == '\0')
			strlcpy(gw->helo, cfg->hostname, sizeof(gw->helo));
}

/*
 * Checks that need the whole file: settings may come in any order.
 */
static void
config_check_all(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_listener_conf	*l;
	static const char *const tls_names[] = { "none", "starttls", "implicit" };
	long long		 buf = cfg->limits[LIM_SMTPD_MAX_INPUT_BUFFER];
	int			 i, id;
	static const int	 lines[] = { LIM_SMTPD_MAX_COMMAND_LINE,
				    LIM_SMTPD_MAX_TEXT_LINE };

	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->tls == BW_TLS_NONE)
			continue;
		if ((l->tls_cert[0] == '\0' && cfg->tls_cert[0] == '\0') ||
		    (l->tls_key[0] == '\0' && cfg->tls_key[0] == '\0'))
			config_error(p, l->line, "listener \"%s\": tls %s "
			    "needs tls_cert and tls_key (in the listener or "
			    "global)", l->name, tls_names[l->tls]);
	}
	config_check_delivery(p);
	/* One DNS attempt must fit in a query's deadline. */
	if (cfg->limits[LIM_DNS_ATTEMPT_TIMEOUT] >
	    cfg->limits[LIM_DNS_QUERY_DEADLINE])
		config_error(p, p->limit_line[LIM_DNS_ATTEMPT_TIMEOUT] ?
		    p->limit_line[LIM_DNS_ATTEMPT_TIMEOUT] :
		    p->limit_line[LIM_DNS_QUERY_DEADLINE],
		    "dns_attempt_timeout (%lld ms) must not exceed "
		    "dns_query_deadline (%lld ms)",
		    cfg->limits[LIM_DNS_ATTEMPT_TIMEOUT],
		    cfg->limits[LIM_DNS_QUERY_DEADLINE]);
	/* A whole line must fit in the input buffer. */
	for (i = 0; i < 2; i++) {
		id = lines[i];
		if (cfg->limits[id] <= buf)
			continue;
		config_error(p, p->limit_line[LIM_SMTPD_MAX_INPUT_BUFFER] ?
		    p->limit_line[LIM_SMTPD_MAX_INPUT_BUFFER] :
		    p->limit_line[id], "smtpd_max_input_buffer (%lld) must be "
		    "at least %s (%lld)", buf, bw_limit_defs[id].name,
		    cfg->limits[id]);
	}
}

/* The open block's name and line, for messages. */
static const char *
config_block_cur(struct config_parser *p, int *line)
{
	switch (p->block) {
	case BLK_LISTENER:
		*line = p->cur->line;
		return p->cur->name;
	case BLK_GATEWAY:
		*line = p->gw->line;
		return p->gw->name;
	case BLK_PROFILE:
		*line = p->prof->line;
		return p->prof->name;
	case BLK_NONE:
		break;
	}
	*line = 0;
	return "";
}

static void	config_gateway_stmt(struct config_parser *);
static void	config_gateway_close(struct config_parser *);
static void	config_profile_stmt(struct config_parser *);
static void	config_profile_close(struct config_parser *);

/* "}" (or the end of the file): check the open block as a whole. */
static void
config_block_close(struct config_parser *p)
{
	switch (p->block) {
	case BLK_LISTENER:
		config_listener_close(p);
		break;
	case BLK_GATEWAY:
		config_gateway_close(p);
		break;
	case BLK_PROFILE:
		config_profile_close(p);
		break;
	case BLK_NONE:
		break;
	}
	p->block = BLK_NONE;
}

static void	config_gateway_free(struct bw_gateway_conf *);
static void	config_profile_free(struct bw_profile_conf *);

/*
 * A block left open at the end: a kept one stays as it is (its "}" checks
 * would only add cascading errors), a dropped one is freed.
 */
static void
config_block_abandon(struct config_parser *p)
{
	if (!p->cur_keep) {
		switch (p->block) {
		case BLK_LISTENER:
			config_listener_free(p->cur);
			break;
		case BLK_GATEWAY:
			config_gateway_free(p->gw);
			break;
		case BLK_PROFILE:
			config_profile_free(p->prof);
			break;
		case BLK_NONE:
			break;
		}
	}
	p->cur = NULL;
	p->gw = NULL;
	p->prof = NULL;
	p->block = BLK_NONE;
}

/* One tokenized line. */
static void
config_line_parse(struct config_parser *p)
{
	char		 e[CONFIG_ESC_MAX];
	const char	*bname;
	int		 i, last_brace, bline;

	if (p->ntok == 0)
		return;
	last_brace = config_tok_is(&p->tok[p->ntok - 1], "{");
	if (p->skip_depth > 0) {
		if (config_tok_is(&p->tok[0], "}"))
			p->skip_depth--;
		else if (last_brace)
			p->skip_depth++;
		return;
	}
	if (config_tok_is(&p->tok[0], "}")) {
		if (p->block == BLK_NONE)
			config_error(p, p->line, "\"}\" without an open "
			    "block");
		else {
			if (p->ntok > 1)
				config_error(p, p->line, "unexpected \"%s\" "
				    "after \"}\"",
				    config_esc(e, sizeof(e), p->tok[1].s));
			config_block_close(p);
		}
		return;
	}
	if (config_tok_is(&p->tok[0], "{")) {
		config_error(p, p->line, "\"{\" without a block header "
		    "(write \"listener NAME {\" on one line)");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	if (p->tok[0].quoted || config_block_of(p->tok[0].s) == BLK_NONE) {
		/* Braces only open and close blocks. */
		for (i = 1; i < p->ntok; i++) {
			if (!config_tok_is(&p->tok[i], "{") &&
			    !config_tok_is(&p->tok[i], "}"))
				continue;
			config_error(p, p->line, "%s: unexpected \"%s\"%s",
			    config_esc(e, sizeof(e), p->tok[0].s),
			    p->tok[i].s, last_brace ? " (only listener, "
			    "gateway and bounce_profile open a block)" : "");
			/* A mistyped block header: skip its body. */
			if (last_brace) {
				p->skip_depth = 1;
				p->skip_line = p->line;
			}
			return;
		}
	} else if (p->block != BLK_NONE) {
		bname = config_block_cur(p, &bline);
		config_error(p, p->line, "nested %s block (close %s \"%s\" "
		    "from line %d with \"}\" first)", p->tok[0].s,
		    config_block_names[p->block], bname, bline);
		if (last_brace) {
			p->skip_depth = 1;
			p->skip_line = p->line;
		}
		return;
	}
	switch (p->block) {
	case BLK_LISTENER:
		config_listener_stmt(p);
		break;
	case BLK_GATEWAY:
		config_gateway_stmt(p);
		break;
	case BLK_PROFILE:
		config_profile_stmt(p);
		break;
	case BLK_NONE:
		config_global_stmt(p);
		break;
	}
}

static void
config_parse_src(struct config_parser *p, struct config_src *src)
{
	int	 len;

	while (!p->stopped) {
		if (p->line == INT_MAX) {
			config_error(p, p->line, "too many lines");
			break;
		}
		p->line++;
		if ((len = config_line_read(p, src)) == -1)
			break;
		if (len == -2) {
			config_error(p, p->line, "line too long (max %d bytes)",
			    BW_CONFIG_LINE_MAX);
			continue;
		}
		if (config_tokenize(p, (size_t)len) == -1)
			continue;
		config_line_parse(p);
	}
	if (src->err != 0)
		config_error(p, p->line, "read error: %s",
		    strerror(src->err));
	if (p->block != BLK_NONE) {
		const char	*bname;
		int		 bline;

		bname = config_block_cur(p, &bline);
		config_error(p, bline, "%s \"%s\": missing \"}\"",
		    config_block_names[p->block], bname);
		config_block_abandon(p);
	}
	if (p->stopped)
		return;
	if (p->skip_depth > 0)
		config_error(p, p->skip_line, "block never closed: missing "
		    "\"}\"");
	config_check_all(p);
}

/* Under basedir: runtime, spool and chroot dirs; development mode. */
static void
config_basedir_apply(struct config_parser *p, const char *basedir)
{
	struct bw_config	*cfg = p->cfg;

	if (basedir == NULL)
		return;
	if (bw_path(cfg->runtime_dir, sizeof(cfg->runtime_dir), basedir,
	    "run") == -1 ||
	    bw_path(cfg->spool_dir, sizeof(cfg->spool_dir), basedir,
	    "spool") == -1 ||
	    bw_path(cfg->chroot_dir, sizeof(cfg->chroot_dir), basedir,
	    "empty") == -1)
		config_error(p, 0, "base directory too long");
	cfg->dev_mode = 1;
}

static int
config_run(struct bw_config *cfg, const char *name, FILE *fp,
    const char *text, const char *openerr, const char *basedir,
    bw_config_error_cb errcb, void *arg)
{
	struct config_parser	*p;
	struct config_src	 src;
	int			 nerr;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		char	 msg[CONFIG_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s: out of memory", name);
		if (errcb != NULL)
			errcb(msg, arg);
		else
			log_warnx("%s", msg);
		return 1;
	}
	p->cfg = cfg;
	p->name = name;
	p->errcb = errcb;
	p->arg = arg;
	config_builtins_add(p);
	if (openerr != NULL)
		config_error(p, 0, "cannot open: %s", openerr);
	else {
		memset(&src, 0, sizeof(src));
		src.fp = fp;
		src.text = text;
		config_parse_src(p, &src);
	}
	config_basedir_apply(p, basedir);
	config_gateway_helo_fill(cfg);
	nerr = p->nerr;
	free(p);
	return nerr;
}

int
config_parse_text(struct bw_config *cfg, const char *name, const char *text,
    const char *basedir, bw_config_error_cb errcb, void *arg)
{
	config_defaults(cfg);
	return config_run(cfg, name != NULL ? name : CONFIG_BUILTIN_NAME,
	    NULL, text != NULL ? text : "", NULL, basedir, errcb, arg);
}

int
config_load(struct bw_config *cfg, const char *path, const char *basedir,
    bw_config_error_cb errcb, void *arg)
{
	FILE	*fp;
	int	 nerr;

	if (path == NULL)
		return config_parse_text(cfg, CONFIG_BUILTIN_NAME,
		    bw_config_default_text, basedir, errcb, arg);
	config_defaults(cfg);
	if (strlcpy(cfg->path, path, sizeof(cfg->path)) >= sizeof(cfg->path))
		return config_run(cfg, path, NULL, NULL,
		    strerror(ENAMETOOLONG), basedir, errcb, arg);
	if ((fp = fopen(path, "r")) == NULL)
		return config_run(cfg, path, NULL, NULL, strerror(errno),
		    basedir, errcb, arg);
	nerr = config_run(cfg, path, fp, NULL, NULL, basedir, errcb, arg);
	fclose(fp);
	return nerr;
}

/* Free every list; cfg stays valid (empty lists), so twice is fine. */
void
config_free(struct bw_config *cfg)
{
	struct bw_listener_conf	*l;
	struct bw_gateway_conf	*gw;
	struct bw_gwrule_conf	*r;
	struct bw_route_conf	*rt;
	struct bw_profile_conf	*pr;

	while ((l = TAILQ_FIRST(&cfg->listeners)) != NULL) {
		TAILQ_REMOVE(&cfg->listeners, l, entry);
		config_listener_free(l);
	}
	TAILQ_INIT(&cfg->listeners);
	while ((gw = TAILQ_FIRST(&cfg->gateways)) != NULL) {
		TAILQ_REMOVE(&cfg->gateways, gw, entry);
		config_gateway_free(gw);
	}
	TAILQ_INIT(&cfg->gateways);
	while ((r = TAILQ_FIRST(&cfg->gwrules)) != NULL) {
		TAILQ_REMOVE(&cfg->gwrules, r, entry);
		free(r);
	}
	TAILQ_INIT(&cfg->gwrules);
	while ((rt = TAILQ_FIRST(&cfg->routes)) != NULL) {
		TAILQ_REMOVE(&cfg->routes, rt, entry);
		free(rt);
	}
	TAILQ_INIT(&cfg->routes);
	while ((pr = TAILQ_FIRST(&cfg->profiles)) != NULL) {
		TAILQ_REMOVE(&cfg->profiles, pr, entry);
		config_profile_free(pr);
	}
	TAILQ_INIT(&cfg->profiles);
}

int
config_runtime_path(const struct bw_config *cfg, const char *name, char *dst,
    size_t dstsz)
{
	return bw_path(dst, dstsz, cfg->runtime_dir, name);
}

/* RAT: does the listener accept mail for domain? "*.d" = subdomains of d. */
int
config_listener_accepts(const struct bw_listener_conf *l, const char *domain)
{
	size_t	 dlen = strlen(domain), plen;
	int	 i;

	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (dlen == 0)
		return 0;
	for (i = 0; i < l->naccept_domains; i++) {
		const char	*pat = l->accept_domains[i];

		if (strncmp(pat, "*.", 2) == 0) {
			plen = strlen(pat + 1);		/* ".example.org" */
			if (dlen > plen && strncasecmp(domain + dlen - plen,
			    pat + 1, plen) == 0)
				return 1;
		} else if (strlen(pat) == dlen &&
		    strncasecmp(domain, pat, dlen) == 0)
			return 1;
	}
	return 0;
}

/*
 * Networks.
 */

/* 1 if the first plen bits of a and b are equal. */
static int
net_prefix_eq(const unsigned char *a, const unsigned char *b, int plen)
{
	int		 bytes = plen / 8, bits = plen % 8;
	unsigned char	 mask;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - bits));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6, no host bits set; -1 if bad. */
int
bw_net_parse(const char *s, struct bw_net *net)
{
	char		 addr[INET6_ADDRSTRLEN + 1];
	const char	*slash, *q;
	size_t		 alen;
	int		 max, plen, i;

	memset(net, 0, sizeof(*net));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if ((net->family = config_addr_parse(addr, net->addr)) == -1) {
		net->family = 0;
		return -1;
	}
	max = net->family == AF_INET ? 32 : 128;
	plen = max;
	if (slash != NULL) {
		q = slash + 1;
		if (*q == '\0')
			return -1;
		for (plen = 0; *q != '\0'; q++) {
			if (!isdigit((unsigned char)*q))
				return -1;
			plen = plen * 10 + (*q - '0');
			if (plen > max)
				return -1;
		}
	}
	/* Host bits must be zero: 10.1.2.3/8 is a typo, not a network. */
	for (i = plen; i < max; i++)
		if (net->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	net->prefixlen = plen;
	return 0;
}

/*
 * 1 if the address is inside one of the networks.  An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) matches IPv4 networks, and an IPv4 address
 * matches IPv6 networks through its mapped form.
 */
int
bw_net_match(const struct bw_net *nets, int n, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned char	 v4[4], v6[16];
	int		 have4 = 0, i;

	if (sa == NULL || nets == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(v4, &sin->sin_addr, 4);
		memcpy(v6, mapped, 12);
		memcpy(v6 + 12, v4, 4);
		have4 = 1;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		memcpy(v6, &sin6->sin6_addr, 16);
		if (memcmp(v6, mapped, 12) == 0) {
			memcpy(v4, v6 + 12, 4);
			have4 = 1;
		}
	} else
		return 0;
	for (i = 0; i < n; i++) {
		if (nets[i].family == AF_INET && have4 &&
		    net_prefix_eq(nets[i].addr, v4, nets[i].prefixlen))
			return 1;
		if (nets[i].family == AF_INET6 &&
		    net_prefix_eq(nets[i].addr, v6, nets[i].prefixlen))
			return 1;
	}
	return 0;
}

/*
 * Delivery lookups.  Linear scans: the lists are bounded (config.h) and
 * callers look up once per queue or per message, never per queued message.
 */

/* a equals b, case-insensitive, one trailing dot of a ignored. */
static int
config_domain_eq(const char *a, const char *b)
{
	size_t	 alen = strlen(a);

	if (alen > 0 && a[alen - 1] == '.')
		alen--;
	return alen > 0 && strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

const struct bw_gateway_conf *
config_gateway_find(const struct bw_config *cfg, const char *name)
{
	const struct bw_gateway_conf	*gw;

	if (name == NULL)
		return NULL;
	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		if (strcmp(gw->name, name) == 0)
			return gw;
	return NULL;
}

const char *
config_gateway_for(const struct bw_config *cfg, const char *listener,
    const char *sender)
{
	const struct bw_gwrule_conf	*r;
	const char			*at = NULL, *dom = NULL;

	if (sender != NULL && sender[0] != '\0' &&
	    (at = strrchr(sender, '@')) != NULL)
		dom = at + 1;
	TAILQ_FOREACH(r, &cfg->gwrules, entry) {
		switch (r->kind) {
		case BW_GWRULE_LISTENER:
			if (listener != NULL && strcmp(r->match, listener) == 0)
				return r->gateway;
			break;
		case BW_GWRULE_SENDER_DOMAIN:
			if (dom != NULL && config_domain_eq(dom, r->match))
				return r->gateway;
			break;
		case BW_GWRULE_SENDER:
			if (at != NULL && config_domain_eq(sender, r->match))
				return r->gateway;
			break;
		}
	}
	return cfg->default_gateway;
}

const struct bw_route_conf *
config_route_find(const struct bw_config *cfg, const char *domain)
{
	const struct bw_route_conf	*rt;

	if (domain == NULL)
		return NULL;
	TAILQ_FOREACH(rt, &cfg->routes, entry)
		if (config_domain_eq(domain, rt->domain))
			return rt;
	return NULL;
}

const struct bw_profile_conf *
config_profile_for(const struct bw_config *cfg, const char *domain)
{
	const struct bw_profile_conf	*pr, *def = NULL, *builtin = NULL;
	int				 i;

	TAILQ_FOREACH(pr, &cfg->profiles, entry) {
		if (domain != NULL)
			for (i = 0; i < pr->ndomains; i++)
				if (config_domain_eq(domain, pr->domains[i]))
					return pr;
		if (strcmp(pr->name, cfg->default_profile) == 0)
			def = pr;
		if (strcmp(pr->name, BW_PROFILE_DEFAULT) == 0)
			builtin = pr;
	}
	return def != NULL ? def : builtin;
}
