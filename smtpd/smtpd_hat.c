/*
 * The host access table's matcher (smtpd_hat.h).  A group matches by any
 * of its criteria ("match any", the default, as sender groups on
 * commercial gateways do) or by all of its kinds of criteria ("match
 * all": networks, names, rdns states, score and each dns_list must each
 * match).  Criteria read only what the admission learned; a lookup that
 * gave no answer matches no criterion of its kind except the ones written
 * for it (rdns tempfail, score none), so a resolver outage neither
 * blocks nor trusts a host by accident.
 *
 * Cost per connection: one binary search per group with networks
 * (bw_nettab), a comparison per name pattern, and a call per dns_list
 * criterion into answers already cached by the admission.
 */
#include "bw_autoconf.h"

#include <string.h>
#include <strings.h>

#include "nettab.h"
#include "smtpd_hat.h"

const char *
smtpd_hat_group_name(const struct bw_hat_entry *e)
{
	return e != NULL && e->group != NULL ? e->group->name : "none";
}

const char *
smtpd_hat_policy_name(const struct bw_hat_entry *e)
{
	return e != NULL && e->policy != NULL ? e->policy->name : "none";
}

int
smtpd_hat_name_match(const char *pattern, const char *name)
{
	size_t	 plen = strlen(pattern), nlen = strlen(name);

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (pattern[0] == '.')		/* any name under the domain */
		return nlen > plen && strncasecmp(name + nlen - plen,
		    pattern, plen) == 0;
	return nlen == plen && strncasecmp(name, pattern, plen) == 0;
}

/* Each kind: -1 the group has none of it, else 0 or 1. */
static int
smtpd_hat_nets(const struct bw_group_conf *g, const struct smtpd_hat_facts *f)
{
	if (g->nettab == NULL)
		return -1;
	return f->sa != NULL && bw_nettab_match(g->nettab, f->sa);
}

static int
smtpd_hat_names(const struct bw_group_conf *g, const struct smtpd_hat_facts *f)
{
	int	 i;

	if (g->nnames == 0)
		return -1;
	if (f->rdns != SMTPD_HAT_RDNS_CONFIRMED || f->name == NULL)
		return 0;
	for (i = 0; i < g->nnames; i++)
		if (smtpd_hat_name_match(g->names[i], f->name))
			return 1;
	return 0;
}

static int
smtpd_hat_rdns(const struct bw_group_conf *g, const struct smtpd_hat_facts *f)
{
	if (g->rdns == 0)
		return -1;
	switch (f->rdns) {
	case SMTPD_HAT_RDNS_MISSING:
		return (g->rdns & BW_GROUP_RDNS_MISSING) != 0;
	case SMTPD_HAT_RDNS_UNCONFIRMED:
		return (g->rdns & BW_GROUP_RDNS_UNCONFIRMED) != 0;
	case SMTPD_HAT_RDNS_TEMPFAIL:
		return (g->rdns & BW_GROUP_RDNS_TEMPFAIL) != 0;
	default:
		return 0;
	}
}

static int
smtpd_hat_score(const struct bw_group_conf *g, const struct smtpd_hat_facts *f)
{
	if (!g->score_set && !g->score_none)
		return -1;
	if (!f->score_known)
		return !f->score_off && g->score_none;
	return g->score_set && f->score >= g->score_min &&
	    f->score <= g->score_max;
}

static int
smtpd_hat_dnsl(const struct bw_group_dnsl *d, const struct smtpd_hat_facts *f)
{
	if (f->listed == NULL)
		return 0;
	return f->listed(f->arg, d->zone, d->addrs, (size_t)d->naddrs) == 1;
}

int
smtpd_hat_group_match(const struct bw_group_conf *g,
    const struct smtpd_hat_facts *f)
{
	int	 r[4], i, k, any = 0;

	r[0] = smtpd_hat_nets(g, f);
	r[1] = smtpd_hat_names(g, f);
	r[2] = smtpd_hat_rdns(g, f);
	r[3] = smtpd_hat_score(g, f);
	for (i = 0; i < 4; i++) {
		if (r[i] == -1)
			continue;
		any = 1;
		if (r[i] == 1 && !g->match_all)
			return 1;
		if (r[i] == 0 && g->match_all)
			return 0;
	}
	for (i = 0; i < g->ndnsl; i++) {
		any = 1;
		k = smtpd_hat_dnsl(&g->dnsl[i], f);
		if (k && !g->match_all)
			return 1;
		if (!k && g->match_all)
			return 0;
	}
	/* all: every criterion matched; any: none did (or there are none) */
	return g->match_all && any;
}

const struct bw_hat_entry *
smtpd_hat_match(const struct bw_listener_conf *l,
    const struct smtpd_hat_facts *f)
{
	int	 i;

	for (i = 0; i < l->nhat; i++)
		if (smtpd_hat_group_match(l->hat[i].group, f))
			return &l->hat[i];
	return &l->hat_default;
}
