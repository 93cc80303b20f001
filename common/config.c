/*
 * The configuration parser: one grammar (doc/breakwater.conf.5) for files
 * and for the built-in default text.  Line-oriented: each line is split
 * into tokens (whitespace-separated, double quotes group, "{" and "}" stand
 * alone, "#" at the start of a token begins a comment), then the first
 * token selects a statement.  Top level: global settings, limits (the
 * table in config_limits.c) and "listener NAME {" blocks.
 *
 * The file is trusted no more than any other input: every line is bounded
 * by BW_CONFIG_LINE_MAX, every list by BW_CONFIG_LIST_MAX, listeners by
 * BW_CONFIG_LISTENERS_MAX, and control bytes are refused.  Every error is
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
#define CONFIG_DEF_CHROOT_DIR	"/var/empty/breakwater"
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

struct config_parser {
	struct bw_config	*cfg;
	const char		*name;
	bw_config_error_cb	 errcb;
	void			*arg;
	int			 line;
	int			 nerr;
	int			 stopped;
	struct bw_listener_conf	*cur;		/* open listener block */
	int			 cur_keep;	/* 0: bad header, dropped at "}" */
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

/* A plain integer in [min, max] (ports, worker counts). */
static int
config_int(struct config_parser *p, const char *s, long long min,
    long long max, int *out)
{
	char		 e[CONFIG_ESC_MAX];
	long long	 v;

	if (bw_limit_parse_value(BW_UNIT_COUNT, s, &v) == -1) {
		config_error(p, p->line, "%s: bad number \"%s\"", p->tok[0].s,
		    config_esc(e, sizeof(e), s));
		return -1;
	}
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

/* Keywords that belong inside a listener block, for a better message. */
static const char *const config_listener_kws[] = {
	"address", "port", "type", "tls", "tls_required", "greeting_delay",
	"accept_domains", "relay_networks", NULL
};

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

static void
config_global_stmt(struct config_parser *p)
{
	const struct config_str_kw	*kw;
	const struct bw_limit_def	*def;
	const char			*const *lk;
	const char			*k = p->tok[0].s;
	char				 e[CONFIG_ESC_MAX];

	if (strcmp(k, "listener") == 0) {
		config_listener_open(p);
		return;
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
	if ((def = bw_limit_find(k)) != NULL) {
		if (config_args(p, 1) == 0 &&
		    config_limit_value(p, def->name, def, p->tok[1].s,
		    &p->cfg->limits[def->id]) == 0)
			p->limit_line[def->id] = p->line;
		return;
	}
	for (lk = config_listener_kws; *lk != NULL; lk++)
		if (strcmp(*lk, k) == 0) {
			config_error(p, p->line, "%s: only valid inside a "
			    "listener block", k);
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

/* "listener NAME {": open a block; a bad header still opens one, dropped. */
static void
config_listener_open(struct config_parser *p)
{
	struct bw_listener_conf	*l, *old;
	const char		*name = p->ntok > 1 ? p->tok[1].s : "";
	char			 e[CONFIG_ESC_MAX];
	int			 brace, keep = 1;

	brace = config_tok_is(&p->tok[p->ntok - 1], "{");
	if (!brace) {
		config_error(p, p->line, "listener: expected \"listener "
		    "NAME {\"");
		return;
	}
	if (p->ntok != 3 || config_tok_is(&p->tok[1], "{")) {
		config_error(p, p->line, "listener: expected \"listener "
		    "NAME {\"");
		keep = 0;
	} else if (!config_name_valid(name, sizeof(l->name))) {
		config_error(p, p->line, "listener: bad name \"%s\" (letters, "
		    "digits, '_', '.', '-'; at most %zu)",
		    config_esc(e, sizeof(e), name), sizeof(l->name) - 1);
		keep = 0;
	} else if ((old = config_listener_find(p->cfg, name)) != NULL) {
		config_error(p, p->line, "duplicate listener \"%s\" (first "
		    "defined at line %d)", name, old->line);
		keep = 0;
	} else if (p->nlisteners >= BW_CONFIG_LISTENERS_MAX) {
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
	if (keep)
		strlcpy(l->name, name, sizeof(l->name));
	else
		config_esc(l->name, sizeof(l->name), name);
	l->tls = BW_TLS_NONE;
	l->greeting_delay = -1;
	l->line = p->line;
	p->cur = l;
	p->cur_keep = keep;
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

	if (strcmp(k, "listener") == 0) {
		config_error(p, p->line, "nested listener block (close "
		    "listener \"%s\" from line %d with \"}\" first)",
		    l->name, l->line);
		if (config_tok_is(&p->tok[p->ntok - 1], "{")) {
			p->skip_depth = 1;
			p->skip_line = p->line;
		}
		return;
	}
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
	} else if (bw_limit_find(k) != NULL || strcmp(k, "user") == 0 ||
	    strcmp(k, "deliverd_workers") == 0 ||
	    strcmp(k, "hostname") == 0 || strcmp(k, "runtime_dir") == 0 ||
	    strcmp(k, "spool_dir") == 0 || strcmp(k, "chroot_dir") == 0 ||
	    strcmp(k, "admin_group") == 0)
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

/* One tokenized line. */
static void
config_line_parse(struct config_parser *p)
{
	char	 e[CONFIG_ESC_MAX];
	int	 i, last_brace;

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
		if (p->cur == NULL)
			config_error(p, p->line, "\"}\" without an open "
			    "listener block");
		else {
			if (p->ntok > 1)
				config_error(p, p->line, "unexpected \"%s\" "
				    "after \"}\"",
				    config_esc(e, sizeof(e), p->tok[1].s));
			config_listener_close(p);
		}
		return;
	}
	if (config_tok_is(&p->tok[0], "{")) {
		config_error(p, p->line, "\"{\" without a listener "
		    "statement (write \"listener NAME {\" on one line)");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	if (strcmp(p->tok[0].s, "listener") != 0) {
		/* Braces only open and close listener blocks. */
		for (i = 1; i < p->ntok; i++) {
			if (!config_tok_is(&p->tok[i], "{") &&
			    !config_tok_is(&p->tok[i], "}"))
				continue;
			config_error(p, p->line, "%s: unexpected \"%s\"%s",
			    config_esc(e, sizeof(e), p->tok[0].s),
			    p->tok[i].s, last_brace ? " (only \"listener "
			    "NAME {\" opens a block)" : "");
			/* A mistyped block header: skip its body. */
			if (last_brace) {
				p->skip_depth = 1;
				p->skip_line = p->line;
			}
			return;
		}
	}
	if (p->cur != NULL)
		config_listener_stmt(p);
	else
		config_global_stmt(p);
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
	if (p->stopped)
		return;
	if (p->cur != NULL) {
		config_error(p, p->cur->line, "listener \"%s\": missing \"}\"",
		    p->cur->name);
		if (!p->cur_keep)
			config_listener_free(p->cur);
		p->cur = NULL;
	}
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
	if (openerr != NULL)
		config_error(p, 0, "cannot open: %s", openerr);
	else {
		memset(&src, 0, sizeof(src));
		src.fp = fp;
		src.text = text;
		config_parse_src(p, &src);
	}
	config_basedir_apply(p, basedir);
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

/* Free the listener lists; cfg stays valid (no listeners), so twice is fine. */
void
config_free(struct bw_config *cfg)
{
	struct bw_listener_conf	*l;

	while ((l = TAILQ_FIRST(&cfg->listeners)) != NULL) {
		TAILQ_REMOVE(&cfg->listeners, l, entry);
		config_listener_free(l);
	}
	TAILQ_INIT(&cfg->listeners);
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
