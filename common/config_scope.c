/*
 * Limits that belong to a block.  Each row of the limits table names the
 * scopes where it may be set (global, listener, policy, destination); a
 * block of a scope takes "LIMIT VALUE" statements for the rows that allow
 * it and refuses the others with the scopes they allow.  After the last
 * line every block's set is resolved: the table's defaults, then the
 * top-level values, then the block's own, one complete read-only array
 * that sessions, queues and agents point to (no lookup per use).
 *
 * Adding a block kind (the mail flow policy) takes: a struct
 * bw_limit_overrides and a struct bw_limit_set in its conf, a call to
 * config_limit_stmt() in its statement parser, and one loop in
 * config_limits_resolve() and config_check_limit_sets().
 *
 * Input is untrusted: values are checked against the row's range by
 * config_limit_value(); nothing here allocates.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

/* One set: the base set, then what the block sets itself. */
static void
config_limits_apply(struct bw_limit_set *dst, const struct bw_limit_set *base,
    const struct bw_limit_overrides *ov)
{
	int	 i;

	*dst = *base;
	for (i = 0; i < LIM__COUNT; i++)
		if (ov->line[i] != 0)
			dst->v[i] = ov->v[i];
}

/* limits_max: per row, the largest value of any set. */
static void
config_limits_max(struct bw_limit_set *max, const struct bw_limit_set *set)
{
	int	 i;

	for (i = 0; i < LIM__COUNT; i++)
		if (set->v[i] > max->v[i])
			max->v[i] = set->v[i];
}

void
config_limits_resolve(struct bw_config *cfg)
{
	struct bw_listener_conf	*l;
	struct bw_dest_conf	*d;
	struct bw_hat_entry	*e;
	int			 i;

	cfg->limits_max = cfg->limits;
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		config_limits_apply(&l->limits, &cfg->limits, &l->lim_over);
		config_limits_max(&cfg->limits_max, &l->limits);
		/* a session under a policy: the listener's set, then the
		 * policy's own (no policy: the listener's set) */
		for (i = -1; i < l->nhat; i++) {
			e = i < 0 ? &l->hat_default : &l->hat[i];
			if (e->policy == NULL) {
				e->limits = l->limits;
				continue;
			}
			config_limits_apply(&e->limits, &l->limits,
			    &e->policy->lim_over);
			config_limits_max(&cfg->limits_max, &e->limits);
		}
	}
	TAILQ_FOREACH(d, &cfg->dests, entry) {
		config_limits_apply(&d->limits, &cfg->limits, &d->lim_over);
		config_limits_max(&cfg->limits_max, &d->limits);
	}
}

/*
 * "NAME VALUE" for the row def inside a block of scope (what: the name
 * as written, "greeting_delay" for its listener alias): refused with the
 * scopes it allows, else checked and kept in ov.
 */
void
config_limit_set(struct config_parser *p, const struct bw_limit_def *def,
    const char *what, unsigned int scope, struct bw_limit_overrides *ov)
{
	char	 scopes[BW_SCOPE_NAMES_MAX];

	if (!(def->scopes & scope)) {
		config_error(p, p->line, "%s cannot be set in a %s block; it "
		    "may be set at: %s", what, bw_scope_name(scope),
		    bw_scope_names(def->scopes, scopes, sizeof(scopes)));
		return;
	}
	if (config_args(p, 1) == 0 &&
	    config_limit_value(p, what, def, p->tok[1].s,
	    &ov->v[def->id]) == 0)
		ov->line[def->id] = p->line;
}

/* 1 if the statement names a limit (set or refused), 0 if it does not. */
int
config_limit_stmt(struct config_parser *p, unsigned int scope,
    struct bw_limit_overrides *ov)
{
	const struct bw_limit_def	*def;

	if ((def = bw_limit_find(p->tok[0].s)) == NULL)
		return 0;
	config_limit_set(p, def, def->name, scope, ov);
	return 1;
}

/*
 * A whole line must fit in the input buffer, in every set.  A block's set
 * is checked for the rows the block sets itself (the rest is the global
 * set's check); who: "" for the global set, else 'listener "a": '.
 */
static void
config_check_set_lines(struct config_parser *p, const struct bw_limit_set *set,
    const struct bw_limit_overrides *ov, const char *who)
{
	static const int	 lines[] = { LIM_SMTPD_MAX_COMMAND_LINE,
				    LIM_SMTPD_MAX_TEXT_LINE };
	const int		 bufid = LIM_SMTPD_MAX_INPUT_BUFFER;
	long long		 buf = set->v[bufid];
	size_t			 i;
	int			 id, line;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		id = lines[i];
		if (set->v[id] <= buf)
			continue;
		if (ov == NULL)
			line = p->limit_line[bufid] ? p->limit_line[bufid] :
			    p->limit_line[id];
		else if (ov->line[bufid] != 0)
			line = ov->line[bufid];
		else if (ov->line[id] != 0)
			line = ov->line[id];
		else
			continue;	/* reported for the global set */
		config_error(p, line, "%ssmtpd_max_input_buffer (%lld) must be "
		    "at least %s (%lld)", who, buf, bw_limit_defs[id].name,
		    set->v[id]);
	}
}

/* Limits that depend on each other, in every resolved set. */
void
config_check_limit_sets(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_listener_conf	*l;
	char			 who[BW_NAME_MAX + 32];

	/* One DNS attempt must fit in a query's deadline (global only). */
	if (BW_LIMIT(cfg, LIM_DNS_ATTEMPT_TIMEOUT) >
	    BW_LIMIT(cfg, LIM_DNS_QUERY_DEADLINE))
		config_error(p, p->limit_line[LIM_DNS_ATTEMPT_TIMEOUT] ?
		    p->limit_line[LIM_DNS_ATTEMPT_TIMEOUT] :
		    p->limit_line[LIM_DNS_QUERY_DEADLINE],
		    "dns_attempt_timeout (%lld ms) must not exceed "
		    "dns_query_deadline (%lld ms)",
		    BW_LIMIT(cfg, LIM_DNS_ATTEMPT_TIMEOUT),
		    BW_LIMIT(cfg, LIM_DNS_QUERY_DEADLINE));
	config_check_set_lines(p, &cfg->limits, NULL, "");
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		snprintf(who, sizeof(who), "listener \"%s\": ", l->name);
		config_check_set_lines(p, &l->limits, &l->lim_over, who);
	}
	/* destination sets hold no smtpd rows: nothing to check yet */
}

/*
 * Lookups at run time.
 */

const struct bw_limit_set *
config_limits_for_listener(const struct bw_config *cfg, const char *name)
{
	const struct bw_listener_conf	*l;

	if (name != NULL)
		TAILQ_FOREACH(l, &cfg->listeners, entry)
			if (strcmp(l->name, name) == 0)
				return &l->limits;
	return &cfg->limits;
}

const struct bw_limit_set *
config_limits_for_policy(const struct bw_config *cfg, const char *listener,
    const char *policy)
{
	const struct bw_listener_conf	*l;
	int				 i;

	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (strcmp(l->name, listener) != 0)
			continue;
		if (policy == NULL || policy[0] == '\0')
			return &l->limits;
		if (l->hat_default.policy != NULL &&
		    strcmp(l->hat_default.policy->name, policy) == 0)
			return &l->hat_default.limits;
		for (i = 0; i < l->nhat; i++)
			if (l->hat[i].policy != NULL &&
			    strcmp(l->hat[i].policy->name, policy) == 0)
				return &l->hat[i].limits;
		return &l->limits;
	}
	return &cfg->limits;
}

const struct bw_limit_set *
config_limits_for_destination(const struct bw_config *cfg,
    const char *gateway, const char *domain)
{
	const struct bw_dest_conf	*d;

	if ((d = config_dest_find(cfg, gateway, domain)) != NULL)
		return &d->limits;
	return &cfg->limits;
}
