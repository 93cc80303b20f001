/*
 * The host access table's configuration: mail flow policies ("policy NAME
 * {"), sender groups ("sender_group NAME {"), and what a listener says of
 * them (sender_groups in order, default_policy).  After the last line the
 * names are linked (an unknown one is an error with its line) and each
 * listener gets its resolved rows (struct bw_hat_entry): group, policy
 * and the complete limit set of a session under it.  smtpd's matcher
 * (smtpd_hat.c) reads them; nothing here runs per connection.
 *
 * Networks of a group are written in the file itself (any number of
 * "network" lines), not in a file of their own: smtpd reads its
 * configuration through a descriptor from controld inside its chroot,
 * where no other file can be opened; the file may hold 16 MiB, room for
 * a hundred thousand networks.  They go into a bw_nettab (one binary
 * search per connection, whatever their number).
 *
 * Input is untrusted: policies, groups, the groups of one table, names,
 * dns_list criteria and their answers are bounded by the caps in
 * config.h; a network with host bits set is refused as a typo.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "nettab.h"
#include "config.h"
#include "config_int.h"

static const char *const config_action_names[] = {
	"accept", "relay", "reject", "tcprefuse"
};
static const char *const config_ptls_names[] = {
	"listener", "off", "offered", "required"
};

const char *
config_policy_action_name(enum bw_policy_action a)
{
	if ((unsigned int)a >= sizeof(config_action_names) /
	    sizeof(config_action_names[0]))
		return "?";
	return config_action_names[a];
}

const char *
config_policy_tls_name(enum bw_policy_tls t)
{
	if ((unsigned int)t >= sizeof(config_ptls_names) /
	    sizeof(config_ptls_names[0]))
		return "?";
	return config_ptls_names[t];
}

const struct bw_policy_conf *
config_policy_find(const struct bw_config *cfg, const char *name)
{
	const struct bw_policy_conf	*po;

	TAILQ_FOREACH(po, &cfg->policies, entry)
		if (strcmp(po->name, name) == 0)
			return po;
	return NULL;
}

const struct bw_group_conf *
config_group_find(const struct bw_config *cfg, const char *name)
{
	const struct bw_group_conf	*g;

	TAILQ_FOREACH(g, &cfg->groups, entry)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

void
config_policy_free(struct bw_policy_conf *po)
{
	free(po);
}

void
config_group_free(struct bw_group_conf *g)
{
	int	 i;

	if (g == NULL)
		return;
	free(g->nets);
	bw_nettab_free(g->nettab);
	for (i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	free(g->dnsl);
	free(g);
}

/*
 * Policies.
 */

void
config_policy_open(struct config_parser *p)
{
	struct bw_policy_conf	*po;
	int			 keep;

	if ((keep = config_block_header(p, sizeof(po->name))) == -1)
		return;
	if (keep && config_policy_find(p->cfg, p->tok[1].s) != NULL) {
		config_error(p, p->line, "duplicate policy \"%s\" (first "
		    "defined at line %d)", p->tok[1].s,
		    config_policy_find(p->cfg, p->tok[1].s)->line);
		keep = 0;
	} else if (keep && p->npolicies >= BW_CONFIG_POLICIES_MAX) {
		config_error(p, p->line, "too many policies (max %d)",
		    BW_CONFIG_POLICIES_MAX);
		keep = 0;
	}
	if ((po = calloc(1, sizeof(*po))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	config_block_name(p, keep, po->name, sizeof(po->name));
	po->shed = -1;
	po->line = p->line;
	p->policy = po;
	p->cur_keep = keep;
	p->block = BLK_POLICY;
	if (keep) {
		TAILQ_INSERT_TAIL(&p->cfg->policies, po, entry);
		p->npolicies++;
	}
}

/* The index of v in names[n], or -1. */
static int
config_word_index(const char *v, const char *const *names, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, names[i]) == 0)
			return i;
	return -1;
}

void
config_policy_stmt(struct config_parser *p)
{
	struct bw_policy_conf	*po = p->policy;
	const char		*k = p->tok[0].s;
	char			 e[CONFIG_ESC_MAX];
	int			 i, yn;

	if (strcmp(k, "behaviour") == 0 || strcmp(k, "behavior") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if ((i = config_word_index(p->tok[1].s, config_action_names,
		    4)) == -1)
			config_error(p, p->line, "behaviour: expected accept, "
			    "relay, reject or tcprefuse, not \"%s\"",
			    config_esc(e, sizeof(e), p->tok[1].s));
		else
			po->action = (enum bw_policy_action)i;
	} else if (strcmp(k, "tls") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if ((i = config_word_index(p->tok[1].s, config_ptls_names + 1,
		    3)) == -1)
			config_error(p, p->line, "tls: expected off, offered "
			    "or required, not \"%s\"",
			    config_esc(e, sizeof(e), p->tok[1].s));
		else
			po->tls = (enum bw_policy_tls)(i + 1);
	} else if (strcmp(k, "scan") == 0) {
		if (p->ntok < 2) {
			config_error(p, p->line, "scan: expected spam, virus "
			    "or none");
			return;
		}
		po->scan = 0;
		for (i = 1; i < p->ntok; i++) {
			if (strcasecmp(p->tok[i].s, "spam") == 0)
				po->scan |= BW_SCAN_SPAM;
			else if (strcasecmp(p->tok[i].s, "virus") == 0)
				po->scan |= BW_SCAN_VIRUS;
			else if (strcasecmp(p->tok[i].s, "none") == 0 &&
			    p->ntok == 2)
				po->scan = 0;
			else
				config_error(p, p->line, "scan: expected spam, "
				    "virus or none, not \"%s\"",
				    config_esc(e, sizeof(e), p->tok[i].s));
		}
	} else if (strcmp(k, "shed_under_pressure") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if ((yn = config_yesno(p->tok[1].s)) == -1)
			config_error(p, p->line, "%s: expected yes or no, not "
			    "\"%s\"", k, config_esc(e, sizeof(e), p->tok[1].s));
		else
			po->shed = yn;
	} else if (config_limit_stmt(p, BW_SCOPE_POLICY, &po->lim_over))
		;	/* a limit: set, or refused with its scopes */
	else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside policy \"%s\"", k, po->name);
	else
		config_error(p, p->line, "unknown policy keyword \"%s\"",
		    config_esc(e, sizeof(e), k));
}

void
config_policy_close(struct config_parser *p)
{
	struct bw_policy_conf	*po = p->policy;

	p->policy = NULL;
	if (!p->cur_keep) {
		config_policy_free(po);
		return;
	}
	if (po->shed == -1)
		po->shed = po->action != BW_POLICY_RELAY;
}

/*
 * Sender groups.
 */

void
config_group_open(struct config_parser *p)
{
	struct bw_group_conf	*g;
	int			 keep;

	if ((keep = config_block_header(p, sizeof(g->name))) == -1)
		return;
	if (keep && config_group_find(p->cfg, p->tok[1].s) != NULL) {
		config_error(p, p->line, "duplicate sender_group \"%s\" "
		    "(first defined at line %d)", p->tok[1].s,
		    config_group_find(p->cfg, p->tok[1].s)->line);
		keep = 0;
	} else if (keep && p->ngroups >= BW_CONFIG_GROUPS_MAX) {
		config_error(p, p->line, "too many sender groups (max %d)",
		    BW_CONFIG_GROUPS_MAX);
		keep = 0;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		config_error(p, p->line, "out of memory");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	config_block_name(p, keep, g->name, sizeof(g->name));
	g->line = p->line;
	p->group = g;
	p->cur_keep = keep;
	p->block = BLK_GROUP;
	if (keep) {
		TAILQ_INSERT_TAIL(&p->cfg->groups, g, entry);
		p->ngroups++;
	}
}

static void
config_group_networks(struct config_parser *p, struct bw_group_conf *g)
{
	struct bw_net	 net, *nn;
	char		 e[CONFIG_ESC_MAX];
	size_t		 cap;
	int		 i;

	for (i = 1; i < p->ntok; i++) {
		if (bw_net_parse(p->tok[i].s, &net) == -1) {
			config_error(p, p->line, "network: bad network \"%s\" "
			    "(ADDRESS or ADDRESS/PREFIX without host bits, "
			    "e.g. 192.0.2.0/24 or 2001:db8::/32)",
			    config_esc(e, sizeof(e), p->tok[i].s));
			continue;
		}
		if (g->nnets >= BW_NETTAB_MAX) {
			config_error(p, p->line, "network: too many networks "
			    "in sender_group \"%s\" (max %d)", g->name,
			    BW_NETTAB_MAX);
			return;
		}
		/* grows by doubling: a group may hold many lines of them */
		if ((g->nnets & (g->nnets - 1)) == 0) {
			cap = g->nnets == 0 ? 16 : g->nnets * 2;
			if ((nn = reallocarray(g->nets, cap,
			    sizeof(*nn))) == NULL) {
				config_error(p, p->line, "out of memory");
				return;
			}
			g->nets = nn;
		}
		g->nets[g->nnets++] = net;
	}
}

static void
config_group_names(struct config_parser *p, struct bw_group_conf *g)
{
	char	 e[CONFIG_ESC_MAX], **nn, *d;
	int	 i;

	for (i = 1; i < p->ntok; i++) {
		const char	*s = p->tok[i].s;
		const char	*bare = s[0] == '.' ? s + 1 : s;

		if (!config_domain_valid(bare)) {
			config_error(p, p->line, "rdns_name: bad name \"%s\" "
			    "(a host name, or .domain for any name under it)",
			    config_esc(e, sizeof(e), s));
			continue;
		}
		if (g->nnames >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "rdns_name: too many names "
			    "(max %d)", BW_CONFIG_LIST_MAX);
			return;
		}
		if ((nn = reallocarray(g->names, g->nnames + 1,
		    sizeof(*nn))) == NULL || (d = strdup(s)) == NULL) {
			if (nn != NULL)
				g->names = nn;
			config_error(p, p->line, "out of memory");
			return;
		}
		g->names = nn;
		bw_lowercase(d, s, strlen(s) + 1);
		/* one trailing dot is the same name */
		if (strlen(d) > 1 && d[strlen(d) - 1] == '.')
			d[strlen(d) - 1] = '\0';
		nn[g->nnames++] = d;
	}
}

/* "-3.5", "+10", "0.5" into tenths within -10.0..+10.0; -1 if not. */
int
config_score_parse(const char *s, int *tenths)
{
	int	 neg = 0, v = 0, digits = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	while (isdigit((unsigned char)*s) && digits < 3) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	v *= 10;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		v += *s++ - '0';
	}
	if (*s != '\0' || v > 100)
		return -1;
	*tenths = neg ? -v : v;
	return 0;
}

static void
config_group_score(struct config_parser *p, struct bw_group_conf *g)
{
	char	 e[CONFIG_ESC_MAX];
	int	 lo, hi;

	if (p->ntok == 2 && strcasecmp(p->tok[1].s, "none") == 0) {
		g->score_none = 1;
		return;
	}
	if (config_args(p, 2) == -1)
		return;
	if (config_score_parse(p->tok[1].s, &lo) == -1 ||
	    config_score_parse(p->tok[2].s, &hi) == -1) {
		config_error(p, p->line, "score: expected MIN MAX from -10.0 "
		    "to +10.0 (one decimal), or none, not \"%s %s\"",
		    config_esc(e, sizeof(e), p->tok[1].s), p->tok[2].s);
		return;
	}
	if (lo > hi) {
		config_error(p, p->line, "score: MIN %s is above MAX %s",
		    p->tok[1].s, p->tok[2].s);
		return;
	}
	if (g->score_set) {
		config_error(p, p->line, "score: one range per group (make a "
		    "second group for another range)");
		return;
	}
	g->score_set = 1;
	g->score_min = lo;
	g->score_max = hi;
}

static void
config_group_dnsl(struct config_parser *p, struct bw_group_conf *g)
{
	struct bw_group_dnsl	*nd, *d;
	struct in_addr		 in;
	char			 e[CONFIG_ESC_MAX];
	const char		*zone;
	int			 i, zi;

	if (p->ntok < 2) {
		config_error(p, p->line, "dns_list: expected ZONE [ADDRESS "
		    "...]");
		return;
	}
	zone = p->tok[1].s;
	if (p->ntok - 2 > BW_GROUP_DNSL_ADDRS_MAX) {
		config_error(p, p->line, "dns_list: too many answers (max %d)",
		    BW_GROUP_DNSL_ADDRS_MAX);
		return;
	}
	if (g->ndnsl >= BW_GROUP_DNSL_MAX) {
		config_error(p, p->line, "dns_list: too many in one group "
		    "(max %d)", BW_GROUP_DNSL_MAX);
		return;
	}
	/* the zone joins the table smtpd queries at connect (checked
	 * there: a name whose IPv6 query name fits in 255 octets) */
	if ((zi = config_rep_zone_declare(p, "dns_list", zone,
	    BW_REP_QUERY)) == -1)
		return;
	if ((nd = reallocarray(g->dnsl, g->ndnsl + 1, sizeof(*nd))) == NULL) {
		config_error(p, p->line, "out of memory");
		return;
	}
	g->dnsl = nd;
	d = &nd[g->ndnsl];
	memset(d, 0, sizeof(*d));
	strlcpy(d->zone, config_rep_zone_at(p->cfg, (size_t)zi)->name,
	    sizeof(d->zone));
	for (i = 2; i < p->ntok; i++) {
		if (inet_pton(AF_INET, p->tok[i].s, &in) != 1 ||
		    (ntohl(in.s_addr) >> 24) != 127) {
			config_error(p, p->line, "dns_list: bad answer \"%s\" "
			    "(an address in 127.0.0.0/8, as lists answer)",
			    config_esc(e, sizeof(e), p->tok[i].s));
			return;
		}
		d->addrs[d->naddrs++] = ntohl(in.s_addr);
	}
	g->ndnsl++;
}

void
config_group_stmt(struct config_parser *p)
{
	struct bw_group_conf	*g = p->group;
	const char		*k = p->tok[0].s;
	char			 e[CONFIG_ESC_MAX];
	int			 i;

	if (strcmp(k, "policy") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if (!config_name_valid(p->tok[1].s, sizeof(g->policy_name))) {
			config_error(p, p->line, "policy: bad name \"%s\"",
			    config_esc(e, sizeof(e), p->tok[1].s));
			return;
		}
		strlcpy(g->policy_name, p->tok[1].s, sizeof(g->policy_name));
		g->policy_line = p->line;
	} else if (strcmp(k, "match") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if (strcasecmp(p->tok[1].s, "any") == 0)
			g->match_all = 0;
		else if (strcasecmp(p->tok[1].s, "all") == 0)
			g->match_all = 1;
		else
			config_error(p, p->line, "match: expected any or all, "
			    "not \"%s\"", config_esc(e, sizeof(e),
			    p->tok[1].s));
	} else if (strcmp(k, "network") == 0 || strcmp(k, "networks") == 0) {
		if (p->ntok < 2)
			config_error(p, p->line, "%s: missing value", k);
		else
			config_group_networks(p, g);
	} else if (strcmp(k, "rdns_name") == 0) {
		if (p->ntok < 2)
			config_error(p, p->line, "%s: missing value", k);
		else
			config_group_names(p, g);
	} else if (strcmp(k, "rdns") == 0) {
		if (p->ntok < 2)
			config_error(p, p->line, "rdns: expected missing, "
			    "unconfirmed or tempfail");
		for (i = 1; i < p->ntok; i++) {
			const char	*v = p->tok[i].s;

			if (strcasecmp(v, "missing") == 0)
				g->rdns |= BW_GROUP_RDNS_MISSING;
			else if (strcasecmp(v, "unconfirmed") == 0)
				g->rdns |= BW_GROUP_RDNS_UNCONFIRMED;
			else if (strcasecmp(v, "tempfail") == 0)
				g->rdns |= BW_GROUP_RDNS_TEMPFAIL;
			else
				config_error(p, p->line, "rdns: expected "
				    "missing, unconfirmed or tempfail, not "
				    "\"%s\"", config_esc(e, sizeof(e), v));
		}
	} else if (strcmp(k, "score") == 0)
		config_group_score(p, g);
	else if (strcmp(k, "dns_list") == 0)
		config_group_dnsl(p, g);
	else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside sender_group \"%s\"", k, g->name);
	else
		config_error(p, p->line, "unknown sender_group keyword \"%s\"",
		    config_esc(e, sizeof(e), k));
}

void
config_group_close(struct config_parser *p)
{
	struct bw_group_conf	*g = p->group;

	p->group = NULL;
	if (!p->cur_keep) {
		config_group_free(g);
		return;
	}
	if (g->policy_name[0] == '\0')
		config_error(p, g->line, "sender_group \"%s\": missing policy",
		    g->name);
	if (g->nnets == 0 && g->nnames == 0 && g->rdns == 0 &&
	    !g->score_set && !g->score_none && g->ndnsl == 0)
		config_error(p, g->line, "sender_group \"%s\": no criterion "
		    "(network, rdns_name, rdns, score, dns_list): it would "
		    "match nothing", g->name);
}

/*
 * A listener's statements about its table.
 */

/* "sender_groups G ...", "default_policy P"; 0 if k is neither. */
int
config_hat_listener_stmt(struct config_parser *p, struct bw_listener_conf *l)
{
	const char	*k = p->tok[0].s;
	char		 e[CONFIG_ESC_MAX], **nn;
	int		 i;

	if (strcmp(k, "default_policy") == 0) {
		if (config_args(p, 1) == -1)
			return 1;
		if (!config_name_valid(p->tok[1].s,
		    sizeof(l->default_policy))) {
			config_error(p, p->line, "default_policy: bad name "
			    "\"%s\"", config_esc(e, sizeof(e), p->tok[1].s));
			return 1;
		}
		strlcpy(l->default_policy, p->tok[1].s,
		    sizeof(l->default_policy));
		l->default_policy_line = p->line;
		return 1;
	}
	if (strcmp(k, "sender_groups") != 0)
		return 0;
	if (p->ntok < 2) {
		config_error(p, p->line, "sender_groups: missing value");
		return 1;
	}
	if (l->hat_line == 0)
		l->hat_line = p->line;
	for (i = 1; i < p->ntok; i++) {
		if (l->nhat_names >= BW_HAT_GROUPS_MAX) {
			config_error(p, p->line, "sender_groups: too many "
			    "(max %d)", BW_HAT_GROUPS_MAX);
			return 1;
		}
		if ((nn = reallocarray(l->hat_names, l->nhat_names + 1,
		    sizeof(*nn))) == NULL) {
			config_error(p, p->line, "out of memory");
			return 1;
		}
		l->hat_names = nn;
		if ((nn[l->nhat_names] = strdup(p->tok[i].s)) == NULL) {
			config_error(p, p->line, "out of memory");
			return 1;
		}
		l->nhat_names++;
	}
	return 1;
}

void
config_hat_listener_free(struct bw_listener_conf *l)
{
	int	 i;

	for (i = 0; i < l->nhat_names; i++)
		free(l->hat_names[i]);
	free(l->hat_names);
	free(l->hat);
}

/* "tls required" needs a listener that can do TLS. */
static void
config_hat_check_tls(struct config_parser *p, struct bw_listener_conf *l)
{
	const struct bw_policy_conf	*po;
	int				 i;

	if (l->tls != BW_TLS_NONE)
		return;
	for (i = -1; i < l->nhat; i++) {
		po = i < 0 ? l->hat_default.policy : l->hat[i].policy;
		if (po == NULL || po->tls != BW_POLICY_TLS_REQUIRED)
			continue;
		config_error(p, i < 0 ? l->default_policy_line : l->hat_line,
		    "listener \"%s\": policy \"%s\" requires TLS, but the "
		    "listener has none (tls starttls)", l->name, po->name);
		return;
	}
}

/*
 * After the last line: groups to their policies, listeners to their
 * groups, each group's networks into its table.  Errors name the line
 * that names the missing thing.
 */
void
config_hat_link(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	struct bw_group_conf	*g;
	struct bw_listener_conf	*l;
	const struct bw_group_conf *lg;
	int			 i, j;

	TAILQ_FOREACH(g, &cfg->groups, entry) {
		if (g->policy_name[0] != '\0' && (g->policy =
		    config_policy_find(cfg, g->policy_name)) == NULL)
			config_error(p, g->policy_line, "sender_group \"%s\": "
			    "no policy \"%s\"", g->name, g->policy_name);
		if (g->nnets > 0 && (g->nettab = bw_nettab_new(g->nets,
		    g->nnets)) == NULL)
			config_error(p, g->line, "sender_group \"%s\": out of "
			    "memory for its networks", g->name);
	}
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		/* relay_networks: one binary search per RCPT */
		bw_nettab_free(l->relay_tab);
		if ((l->relay_tab = bw_nettab_new(l->relay_networks,
		    (size_t)l->nrelay_networks)) == NULL)
			config_error(p, l->line, "listener \"%s\": out of "
			    "memory for relay_networks", l->name);
		free(l->hat);
		l->hat = NULL;
		l->nhat = 0;
		memset(&l->hat_default, 0, sizeof(l->hat_default));
		if (l->default_policy[0] != '\0' &&
		    (l->hat_default.policy = config_policy_find(cfg,
		    l->default_policy)) == NULL)
			config_error(p, l->default_policy_line, "listener "
			    "\"%s\": no policy \"%s\"", l->name,
			    l->default_policy);
		if (l->nhat_names == 0)
			continue;
		if (l->default_policy[0] == '\0')
			config_error(p, l->hat_line, "listener \"%s\": "
			    "sender_groups needs default_policy (what a host "
			    "that no group matches gets)", l->name);
		if ((l->hat = calloc(l->nhat_names, sizeof(*l->hat))) == NULL) {
			config_error(p, l->hat_line, "out of memory");
			continue;
		}
		for (i = 0; i < l->nhat_names; i++) {
			if ((lg = config_group_find(cfg,
			    l->hat_names[i])) == NULL) {
				config_error(p, l->hat_line, "listener \"%s\": "
				    "no sender_group \"%s\"", l->name,
				    l->hat_names[i]);
				continue;
			}
			for (j = 0; j < l->nhat; j++)
				if (l->hat[j].group == lg)
					break;
			if (j < l->nhat) {
				config_error(p, l->hat_line, "listener \"%s\": "
				    "sender_group \"%s\" listed twice",
				    l->name, lg->name);
				continue;
			}
			l->hat[l->nhat].group = lg;
			l->hat[l->nhat].policy = lg->policy;
			l->nhat++;
		}
	}
	TAILQ_FOREACH(l, &cfg->listeners, entry)
		config_hat_check_tls(p, l);
}
