/*
 * Delivery: gateways ("gateway NAME {": HELO name and source addresses),
 * gateway rules (which gateway a message leaves by), SMTP routes (a
 * domain's hosts instead of its MX), bounce profiles ("bounce_profile
 * NAME {": retry schedule and lifetime per recipient domain) and the
 * DNS servers dnscached asks.  Also the lookups deliverd and queued make
 * against them at run time: config_gateway_find, config_gateway_for,
 * config_route_find and config_profile_for.
 *
 * Input is untrusted: the lists are bounded by BW_CONFIG_GATEWAYS_MAX,
 * BW_CONFIG_GWRULES_MAX, BW_CONFIG_ROUTES_MAX, BW_CONFIG_PROFILES_MAX,
 * BW_ROUTE_HOSTS_MAX, BW_GATEWAY_SOURCES_MAX, BW_DNS_SERVERS_MAX and
 * BW_CONFIG_LIST_MAX; addresses must be numeric (no DNS while parsing).
 * Names that refer to other things (a rule's gateway, default_gateway...)
 * are checked in config_check_all, so that the order in the file does not
 * matter.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "config.h"
#include "config_int.h"

/*
 * Durations of a bounce profile: range and built-in default, in ms (rows
 * shaped like the limits table's, for the same checks; no scope: they
 * are set in a bounce_profile block only).
 */
#define PROFILE_SEC	1000LL
#define PROFILE_MIN	(60 * PROFILE_SEC)
#define PROFILE_HOUR	(60 * PROFILE_MIN)
#define PROFILE_DAY	(24 * PROFILE_HOUR)
#define PROFILE_RETRIES_MAX	1000

static const struct bw_limit_def config_profile_defs[] = {
	{ LIM__COUNT, "retry_initial", 5 * PROFILE_MIN, PROFILE_SEC,
	  PROFILE_DAY, BW_UNIT_MS, 0, "first retry after a temporary failure" },
	{ LIM__COUNT, "retry_max", PROFILE_HOUR, PROFILE_SEC,
	  7 * PROFILE_DAY, BW_UNIT_MS, 0, "the interval doubles up to this" },
	{ LIM__COUNT, "max_age", 5 * PROFILE_DAY, PROFILE_SEC,
	  30 * PROFILE_DAY, BW_UNIT_MS, 0, "RFC 5321 4.5.4.1: 4-5 days" },
	{ LIM__COUNT, "delay_warning", 4 * PROFILE_HOUR, 0,
	  30 * PROFILE_DAY, BW_UNIT_MS, 0, "a delay DSN after 4 hours, as "
	  "Postfix and Exim do; 0: none" },
};
#define PROFILE_DEF_RETRY_INITIAL	0
#define PROFILE_DEF_RETRY_MAX		1
#define PROFILE_DEF_MAX_AGE		2
#define PROFILE_DEF_DELAY_WARNING	3

/* Free a gateway (it holds no lists). */
void
config_gateway_free(struct bw_gateway_conf *gw)
{
	free(gw);
}

/* Free a bounce profile and its domains; NULL is fine. */
void
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

/* A profile's schedule before its statements: the built-in default. */
static void
config_profile_reset(struct bw_profile_conf *pr)
{
	pr->retry_initial = config_profile_defs[PROFILE_DEF_RETRY_INITIAL].def;
	pr->retry_max = config_profile_defs[PROFILE_DEF_RETRY_MAX].def;
	pr->max_age = config_profile_defs[PROFILE_DEF_MAX_AGE].def;
	pr->delay_warning = config_profile_defs[PROFILE_DEF_DELAY_WARNING].def;
	pr->max_retries = -1;
}

/* The gateway called name, or NULL. */
struct bw_gateway_conf *
config_gateway_get(struct bw_config *cfg, const char *name)
{
	struct bw_gateway_conf	*gw;

	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		if (strcmp(gw->name, name) == 0)
			return gw;
	return NULL;
}

/* The bounce profile called name, or NULL. */
struct bw_profile_conf *
config_profile_get(struct bw_config *cfg, const char *name)
{
	struct bw_profile_conf	*pr;

	TAILQ_FOREACH(pr, &cfg->profiles, entry)
		if (strcmp(pr->name, name) == 0)
			return pr;
	return NULL;
}

/* The "default" gateway and profile exist before the first line (line 0). */
void
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
void
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

/* Append the addresses of a source statement. */
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

/* A statement inside a gateway block. */
void
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

/* "}": a dropped gateway block is freed. */
void
config_gateway_close(struct config_parser *p)
{
	if (!p->cur_keep)
		config_gateway_free(p->gw);
	p->gw = NULL;
}

/* "bounce_profile NAME {": as gateways, "default" may be redefined once. */
void
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

/* A statement inside a bounce_profile block. */
void
config_profile_stmt(struct config_parser *p)
{
	struct bw_profile_conf	*pr = p->prof;
	const char		*k = p->tok[0].s;
	char			 e[CONFIG_ESC_MAX];
	long long		*dst[] = { &pr->retry_initial, &pr->retry_max,
				    &pr->max_age, &pr->delay_warning };
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

/* "}": check the bounce profile as a whole. */
void
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
void
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
void
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
void
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
void
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

/* helo "" means the host name: filled in for every reader. */
void
config_gateway_helo_fill(struct bw_config *cfg)
{
	struct bw_gateway_conf	*gw;

	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		if (gw->helo[0] == '\0')
			strlcpy(gw->helo, cfg->hostname, sizeof(gw->helo));
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

/* The gateway called name, or NULL. */
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

/* The first gateway rule that matches, else default_gateway. */
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

/* The route for domain, or NULL (use its MX). */
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

/* The profile listing domain, else default_bounce_profile, else "default". */
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
