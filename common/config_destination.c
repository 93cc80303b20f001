/*
 * Destination blocks ("destination DOMAIN [DOMAIN ...] {" ... "}"): the
 * limits of deliveries to those domains, for the rows whose scopes include
 * the destination (config_scope.c resolves each block's set), and the
 * outbound settings that are not limits (tls, tls_ca_file, ipv6,
 * mta_sts), which the top level also holds as the default of every
 * destination.  And the lookup deliverd and queued make once per agent or
 * queue: config_dest_find, config_dest_opts.
 *
 * A pattern is a domain ("example.org": that domain) or "*.example.org"
 * (".example.org" is the same): its subdomains, as accept_domains writes
 * them.  Matching ignores case and one trailing dot, as routes and bounce
 * profiles do; the most specific pattern wins: the exact domain, then the
 * longest suffix.  The patterns of every block go into one sorted index,
 * so a lookup costs a binary search per label of the domain, whatever the
 * number of blocks.
 *
 * "gateway NAME ..." in a block limits it to the queues of those virtual
 * gateways (names checked against the gateway blocks after the last line).
 * The index holds one entry per pattern and gateway ("" for a block
 * without); at one pattern the entry of the queue's gateway is looked up
 * first, then "", before the next shorter suffix: a more specific pattern
 * beats a gateway match, and at the same specificity the block naming the
 * gateway wins.
 *
 * Input is untrusted: blocks are bounded by BW_CONFIG_DESTS_MAX, the
 * domains of one block by BW_CONFIG_LIST_MAX, its gateways by
 * BW_DEST_GATEWAYS_MAX; a domain in two blocks for the same gateway (or
 * twice in one) is an error.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "config.h"
#include "config_int.h"

void
config_dest_free(struct bw_dest_conf *d)
{
	int	 i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ndomains; i++)
		free(d->domains[i]);
	free(d->domains);
	free(d);
}

/* One pattern of the header into d, lower-cased, "*." written as ".". */
static int
config_dest_domain(struct config_parser *p, struct bw_dest_conf *d,
    const char *s)
{
	char		 e[CONFIG_ESC_MAX], **nd;
	const char	*bare = s;
	int		 sub = 0;

	if (strncmp(s, "*.", 2) == 0) {
		bare = s + 2;
		sub = 1;
	} else if (s[0] == '.') {
		bare = s + 1;
		sub = 1;
	}
	if (!config_domain_valid(bare)) {
		config_error(p, p->line, "destination: bad domain \"%s\" "
		    "(DOMAIN, or *.DOMAIN for its subdomains)",
		    config_esc(e, sizeof(e), s));
		return -1;
	}
	if (d->ndomains >= BW_CONFIG_LIST_MAX) {
		config_error(p, p->line, "destination: too many domains (max "
		    "%d)", BW_CONFIG_LIST_MAX);
		return -1;
	}
	if ((nd = reallocarray(d->domains, d->ndomains + 1,
	    sizeof(*nd))) == NULL) {
		config_error(p, p->line, "out of memory");
		return -1;
	}
	d->domains = nd;
	if ((nd[d->ndomains] = malloc(strlen(bare) + 2)) == NULL) {
		config_error(p, p->line, "out of memory");
		return -1;
	}
	nd[d->ndomains][0] = '.';
	bw_lowercase(nd[d->ndomains] + sub, bare, strlen(bare) + 1);
	d->ndomains++;
	return 0;
}

/*
 * "destination DOMAIN [DOMAIN ...] {": open a block; a bad header still
 * opens one (dropped at "}") so that its body is not read as global.
 */
void
config_dest_open(struct config_parser *p)
{
	struct bw_dest_conf	*d;
	int			 keep = 1, i;

	if (!config_tok_is(&p->tok[p->ntok - 1], "{")) {
		config_error(p, p->line, "destination: expected \"destination "
		    "DOMAIN [DOMAIN ...] {\"");
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	d->line = p->line;
	if (p->ntok < 3) {
		config_error(p, p->line, "destination: expected \"destination "
		    "DOMAIN [DOMAIN ...] {\"");
		keep = 0;
	} else if (p->ndests >= BW_CONFIG_DESTS_MAX) {
		config_error(p, p->line, "too many destination blocks (max "
		    "%d)", BW_CONFIG_DESTS_MAX);
		keep = 0;
	}
	for (i = 1; keep && i < p->ntok - 1; i++) {
		if (config_tok_is(&p->tok[i], "{")) {
			config_error(p, p->line, "destination: unexpected "
			    "\"{\"");
			keep = 0;
		} else if (config_dest_domain(p, d, p->tok[i].s) == -1)
			keep = 0;
	}
	p->dest = d;
	p->cur_keep = keep;
	p->block = BLK_DESTINATION;
	if (keep) {
		TAILQ_INSERT_TAIL(&p->cfg->dests, d, entry);
		p->ndests++;
	}
}

static const char *const config_dest_tls_names[] = {
	"none", "may", "encrypt", "verify", "dane"
};

const char *
config_dest_tls_name(enum bw_dest_tls t)
{
	if ((unsigned int)t >= sizeof(config_dest_tls_names) /
	    sizeof(config_dest_tls_names[0]))
		return "?";
	return config_dest_tls_names[t];
}

/* The built-in outbound settings: opportunistic TLS, IPv6, no MTA-STS. */
void
config_dest_opts_default(struct bw_dest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tls = BW_DEST_TLS_MAY;
	o->ipv6 = 1;
	o->mta_sts = 0;
}

/*
 * tls, tls_ca_file, ipv6, mta_sts VALUE into o (the top level's or a
 * block's own), with the BW_DEST_OPT_* bit into *set.  Returns 0 if the
 * keyword is none of them, 1 if it was handled (errors reported).
 */
int
config_dest_opt_stmt(struct config_parser *p, struct bw_dest_opts *o,
    unsigned int *set)
{
	const char	*k = p->tok[0].s, *v;
	char		 e[CONFIG_ESC_MAX];
	unsigned int	 bit;
	size_t		 i;
	int		 yn;

	if (strcmp(k, "tls") == 0)
		bit = BW_DEST_OPT_TLS;
	else if (strcmp(k, "tls_ca_file") == 0)
		bit = BW_DEST_OPT_TLS_CA_FILE;
	else if (strcmp(k, "ipv6") == 0)
		bit = BW_DEST_OPT_IPV6;
	else if (strcmp(k, "mta_sts") == 0)
		bit = BW_DEST_OPT_MTA_STS;
	else
		return 0;
	if (config_args(p, 1) == -1)
		return 1;
	v = p->tok[1].s;
	switch (bit) {
	case BW_DEST_OPT_TLS:
		for (i = 0; i < sizeof(config_dest_tls_names) /
		    sizeof(config_dest_tls_names[0]); i++)
			if (strcasecmp(v, config_dest_tls_names[i]) == 0)
				break;
		if (i == sizeof(config_dest_tls_names) /
		    sizeof(config_dest_tls_names[0])) {
			config_error(p, p->line, "tls: \"%s\" is not none, "
			    "may, encrypt, verify or dane",
			    config_esc(e, sizeof(e), v));
			return 1;
		}
		o->tls = (enum bw_dest_tls)i;
		break;
	case BW_DEST_OPT_TLS_CA_FILE:
		/* "" puts the system trust store back (in a block) */
		if (v[0] == '\0')
			o->tls_ca_file[0] = '\0';
		else if (config_path(p, v, o->tls_ca_file,
		    sizeof(o->tls_ca_file)) == -1)
			return 1;
		break;
	default:
		if ((yn = config_yesno(v)) == -1) {
			config_error(p, p->line, "%s: expected yes or no, not "
			    "\"%s\"", k, config_esc(e, sizeof(e), v));
			return 1;
		}
		if (bit == BW_DEST_OPT_IPV6)
			o->ipv6 = yn;
		else
			o->mta_sts = yn;
		break;
	}
	if (set != NULL)
		*set |= bit;
	return 1;
}

/* "gateway NAME [NAME ...]" in a block: names checked after the file. */
static void
config_dest_gateways(struct config_parser *p, struct bw_dest_conf *d)
{
	char	 e[CONFIG_ESC_MAX];
	int	 i, j;

	if (p->ntok < 2) {
		config_error(p, p->line, "gateway: expected \"gateway NAME "
		    "[NAME ...]\" (the virtual gateways this block is for)");
		return;
	}
	if (d->gateways_line != 0) {
		config_error(p, p->line, "gateway: already set at line %d",
		    d->gateways_line);
		return;
	}
	if (p->ntok - 1 > BW_DEST_GATEWAYS_MAX) {
		config_error(p, p->line, "gateway: too many gateways (max %d)",
		    BW_DEST_GATEWAYS_MAX);
		return;
	}
	for (i = 1; i < p->ntok; i++) {
		if (!config_name_valid(p->tok[i].s, BW_NAME_MAX)) {
			config_error(p, p->line, "gateway: bad name \"%s\"",
			    config_esc(e, sizeof(e), p->tok[i].s));
			d->ngateways = 0;
			return;
		}
		for (j = 0; j < d->ngateways; j++)
			if (strcmp(d->gateways[j], p->tok[i].s) == 0)
				break;
		if (j < d->ngateways) {
			config_error(p, p->line, "gateway: %s listed twice",
			    p->tok[i].s);
			continue;
		}
		strlcpy(d->gateways[d->ngateways++], p->tok[i].s,
		    BW_NAME_MAX);
	}
	d->gateways_line = p->line;
}

/* A statement inside a destination block: limits, the outbound settings,
 * the gateways it is for. */
void
config_dest_stmt(struct config_parser *p)
{
	const char	*k = p->tok[0].s;
	char		 e[CONFIG_ESC_MAX];

	if (config_limit_stmt(p, BW_SCOPE_DESTINATION, &p->dest->lim_over))
		return;
	if (config_dest_opt_stmt(p, &p->dest->own, &p->dest->opts_set))
		return;
	if (strcmp(k, "gateway") == 0) {
		config_dest_gateways(p, p->dest);
		return;
	}
	if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside destination \"%s\"", k,
		    config_dest_name(p->dest));
	else
		config_error(p, p->line, "unknown destination keyword \"%s\" "
		    "(a destination block holds limits, tls, tls_ca_file, "
		    "ipv6, mta_sts and gateway)",
		    config_esc(e, sizeof(e), k));
}

/* "}": nothing to check in a block alone. */
void
config_dest_close(struct config_parser *p)
{
	struct bw_dest_conf	*d = p->dest;

	p->dest = NULL;
	if (!p->cur_keep)
		config_dest_free(d);
}

/* The printable name of a block, for messages: its first pattern. */
const char *
config_dest_name(const struct bw_dest_conf *d)
{
	return d->ndomains > 0 ? d->domains[0] : "(no domain)";
}

static int
config_dest_ref_cmp(const void *a, const void *b)
{
	const struct bw_dest_ref	*ra = a, *rb = b;
	int				 c;

	if ((c = strcmp(ra->pattern, rb->pattern)) != 0)
		return c;
	if ((c = strcmp(ra->gateway, rb->gateway)) != 0)
		return c;
	/* blocks in file order, so that the later one is reported */
	return (ra->dest->line > rb->dest->line) -
	    (ra->dest->line < rb->dest->line);
}

/*
 * After the last line, per block: its gateways exist, and its outbound
 * settings are its own over the top level's (which may come later in the
 * file than the block).
 */
static void
config_dest_resolve(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_dest_conf	*d;
	int			 i;

	TAILQ_FOREACH(d, &cfg->dests, entry) {
		for (i = 0; i < d->ngateways; i++)
			if (config_gateway_get(cfg, d->gateways[i]) == NULL)
				config_error(p, d->gateways_line, "destination "
				    "%s: no gateway \"%s\"",
				    config_dest_name(d), d->gateways[i]);
		d->opts = cfg->dest_opts;
		if (d->opts_set & BW_DEST_OPT_TLS)
			d->opts.tls = d->own.tls;
		if (d->opts_set & BW_DEST_OPT_TLS_CA_FILE)
			memcpy(d->opts.tls_ca_file, d->own.tls_ca_file,
			    sizeof(d->opts.tls_ca_file));
		if (d->opts_set & BW_DEST_OPT_IPV6)
			d->opts.ipv6 = d->own.ipv6;
		if (d->opts_set & BW_DEST_OPT_MTA_STS)
			d->opts.mta_sts = d->own.mta_sts;
	}
}

/* After the last line: the blocks' settings and the sorted index; a
 * pattern in two places for one gateway is an error (at the later
 * block). */
void
config_dest_index(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_dest_conf	*d;
	size_t			 n = 0, i;
	int			 j, g;

	config_dest_resolve(p);
	free(cfg->dest_index);
	cfg->dest_index = NULL;
	cfg->ndest_index = 0;
	TAILQ_FOREACH(d, &cfg->dests, entry)
		n += (size_t)d->ndomains *
		    (size_t)(d->ngateways > 0 ? d->ngateways : 1);
	if (n == 0)
		return;
	if ((cfg->dest_index = calloc(n, sizeof(*cfg->dest_index))) == NULL) {
		config_error(p, 0, "out of memory");
		return;
	}
	n = 0;
	TAILQ_FOREACH(d, &cfg->dests, entry)
		for (j = 0; j < d->ndomains; j++) {
			g = 0;
			do {
				cfg->dest_index[n].pattern = d->domains[j];
				cfg->dest_index[n].gateway = d->ngateways > 0 ?
				    d->gateways[g] : "";
				cfg->dest_index[n++].dest = d;
			} while (++g < d->ngateways);
		}
	qsort(cfg->dest_index, n, sizeof(*cfg->dest_index),
	    config_dest_ref_cmp);
	cfg->ndest_index = n;
	for (i = 1; i < n; i++) {
		const struct bw_dest_ref *a = &cfg->dest_index[i - 1];
		const struct bw_dest_ref *b = &cfg->dest_index[i];
		const char		 *pat = b->pattern;
		const char		 *gw = b->gateway;

		if (strcmp(a->pattern, b->pattern) != 0 ||
		    strcmp(a->gateway, b->gateway) != 0)
			continue;
		if (a->dest == b->dest)
			config_error(p, b->dest->line, "destination: %s%s "
			    "listed twice", pat[0] == '.' ? "*" : "", pat);
		else
			config_error(p, b->dest->line, "destination: %s%s%s%s "
			    "is already in the destination block at line %d",
			    pat[0] == '.' ? "*" : "", pat,
			    gw[0] != '\0' ? " for gateway " : "", gw,
			    a->dest->line);
	}
}

/* The block whose pattern is exactly key for gateway gw ("": for every
 * gateway), or NULL. */
static struct bw_dest_conf *
config_dest_lookup(const struct bw_config *cfg, const char *key,
    const char *gw)
{
	size_t	 lo = 0, hi = cfg->ndest_index, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, cfg->dest_index[mid].pattern)) == 0)
			c = strcmp(gw, cfg->dest_index[mid].gateway);
		if (c == 0)
			return cfg->dest_index[mid].dest;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* One pattern: the block for the queue's gateway, else the one for every
 * gateway. */
static struct bw_dest_conf *
config_dest_lookup_gw(const struct bw_config *cfg, const char *key,
    const char *gw)
{
	struct bw_dest_conf	*d;

	if (gw[0] != '\0' && (d = config_dest_lookup(cfg, key, gw)) != NULL)
		return d;
	return config_dest_lookup(cfg, key, "");
}

/* Exact domain first, then ".rest" for each shorter suffix, longest first. */
const struct bw_dest_conf *
config_dest_find(const struct bw_config *cfg, const char *gateway,
    const char *domain)
{
	struct bw_dest_conf	*d;
	char			 key[BW_DOMAIN_MAX + 2];
	size_t			 len;
	char			*dot;

	if (domain == NULL || cfg->ndest_index == 0)
		return NULL;
	if (gateway == NULL)
		gateway = "";
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > BW_DOMAIN_MAX)
		return NULL;
	key[0] = '.';
	memcpy(key + 1, domain, len);
	key[len + 1] = '\0';
	bw_lowercase(key + 1, key + 1, len + 1);
	if ((d = config_dest_lookup_gw(cfg, key + 1, gateway)) != NULL)
		return d;
	/* "a.b.example" tries ".b.example", then ".example" */
	for (dot = strchr(key + 1, '.'); dot != NULL;
	    dot = strchr(dot + 1, '.'))
		if ((d = config_dest_lookup_gw(cfg, dot, gateway)) != NULL)
			return d;
	return NULL;
}

const struct bw_dest_opts *
config_dest_opts(const struct bw_config *cfg, const char *gateway,
    const char *domain)
{
	const struct bw_dest_conf	*d;

	if ((d = config_dest_find(cfg, gateway, domain)) != NULL)
		return &d->opts;
	return &cfg->dest_opts;
}
