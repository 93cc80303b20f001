/*
 * Destination blocks ("destination DOMAIN [DOMAIN ...] {" ... "}"): the
 * limits of deliveries to those domains, for the rows whose scopes include
 * the destination (config_scope.c resolves each block's set).  And the
 * lookup deliverd and queued make once per agent or queue:
 * config_dest_find.
 *
 * A pattern is a domain ("example.org": that domain) or "*.example.org"
 * (".example.org" is the same): its subdomains, as accept_domains writes
 * them.  Matching ignores case and one trailing dot, as routes and bounce
 * profiles do; the most specific pattern wins: the exact domain, then the
 * longest suffix.  The patterns of every block go into one sorted index,
 * so a lookup costs a binary search per label of the domain, whatever the
 * number of blocks.
 *
 * Input is untrusted: blocks are bounded by BW_CONFIG_DESTS_MAX, the
 * domains of one block by BW_CONFIG_LIST_MAX; a domain in two blocks (or
 * twice in one) is an error.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

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

/* A statement inside a destination block: limits only. */
void
config_dest_stmt(struct config_parser *p)
{
	const char	*k = p->tok[0].s;
	char		 e[CONFIG_ESC_MAX];

	if (config_limit_stmt(p, BW_SCOPE_DESTINATION, &p->dest->lim_over))
		return;
	if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside destination \"%s\"", k,
		    config_dest_name(p->dest));
	else
		config_error(p, p->line, "unknown destination keyword \"%s\" "
		    "(a destination block holds limits)",
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
	/* blocks in file order, so that the later one is reported */
	return (ra->dest->line > rb->dest->line) -
	    (ra->dest->line < rb->dest->line);
}

/* After the last line: the sorted index; a pattern in two places is an
 * error (at the later block). */
void
config_dest_index(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_dest_conf	*d;
	size_t			 n = 0, i;
	int			 j;

	free(cfg->dest_index);
	cfg->dest_index = NULL;
	cfg->ndest_index = 0;
	TAILQ_FOREACH(d, &cfg->dests, entry)
		n += (size_t)d->ndomains;
	if (n == 0)
		return;
	if ((cfg->dest_index = calloc(n, sizeof(*cfg->dest_index))) == NULL) {
		config_error(p, 0, "out of memory");
		return;
	}
	n = 0;
	TAILQ_FOREACH(d, &cfg->dests, entry)
		for (j = 0; j < d->ndomains; j++) {
			cfg->dest_index[n].pattern = d->domains[j];
			cfg->dest_index[n++].dest = d;
		}
	qsort(cfg->dest_index, n, sizeof(*cfg->dest_index),
	    config_dest_ref_cmp);
	cfg->ndest_index = n;
	for (i = 1; i < n; i++) {
		const struct bw_dest_ref *a = &cfg->dest_index[i - 1];
		const struct bw_dest_ref *b = &cfg->dest_index[i];
		const char		 *pat = b->pattern;

		if (strcmp(a->pattern, b->pattern) != 0)
			continue;
		if (a->dest == b->dest)
			config_error(p, b->dest->line, "destination: %s%s "
			    "listed twice", pat[0] == '.' ? "*" : "", pat);
		else
			config_error(p, b->dest->line, "destination: %s%s is "
			    "already in the destination block at line %d",
			    pat[0] == '.' ? "*" : "", pat, a->dest->line);
	}
}

/* The block whose pattern is exactly key, or NULL. */
static struct bw_dest_conf *
config_dest_lookup(const struct bw_config *cfg, const char *key)
{
	size_t	 lo = 0, hi = cfg->ndest_index, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, cfg->dest_index[mid].pattern)) == 0)
			return cfg->dest_index[mid].dest;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Exact domain first, then ".rest" for each shorter suffix, longest first. */
const struct bw_dest_conf *
config_dest_find(const struct bw_config *cfg, const char *domain)
{
	struct bw_dest_conf	*d;
	char			 key[BW_DOMAIN_MAX + 2];
	size_t			 len;
	char			*dot;

	if (domain == NULL || cfg->ndest_index == 0)
		return NULL;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > BW_DOMAIN_MAX)
		return NULL;
	key[0] = '.';
	memcpy(key + 1, domain, len);
	key[len + 1] = '\0';
	bw_lowercase(key + 1, key + 1, len + 1);
	if ((d = config_dest_lookup(cfg, key + 1)) != NULL)
		return d;
	/* "a.b.example" tries ".b.example", then ".example" */
	for (dot = strchr(key + 1, '.'); dot != NULL;
	    dot = strchr(dot + 1, '.'))
		if ((d = config_dest_lookup(cfg, dot)) != NULL)
			return d;
	return NULL;
}
