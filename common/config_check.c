/*
 * Checks that need the whole file, run once after its last line:
 * settings may come in any order, so a name that refers to another
 * thing (a gateway rule's listener and gateway, default_gateway,
 * bounce_gateway, default_bounce_profile), a domain in two destination
 * blocks, and limits that depend on each other (in every resolved set,
 * config_scope.c) are only checked here.  Each error names the line of a
 * setting involved (line 0, the file as a whole, when both are
 * defaults).
 *
 * The lists checked are bounded by their caps in config.h; a domain in
 * two bounce profiles is found by sorting, not by comparing every pair.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

/* For the duplicate check across profiles: one (domain, profile) pair. */
struct config_domain_ref {
	const char			*domain;
	const struct bw_profile_conf	*pr;
};

/* qsort: by domain, then by profile in file order. */
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

/*
 * Checks that need the whole file: settings may come in any order.
 */
void
config_check_all(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_listener_conf	*l;
	static const char *const tls_names[] = { "none", "starttls", "implicit" };

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
	config_dest_index(p);
	config_hat_link(p);
	config_limits_resolve(cfg);
	config_check_limit_sets(p);
}
