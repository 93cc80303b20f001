/*
 * Reputation sources (issue 11): the global statements
 *
 *   reputation_zone ZONE [weight N]
 *   dns_list ZONE [weight SCORE] [returns ADDR ...]
 *
 * and the one table of zones smtpd queries for each connecting address
 * (cfg->rep_zones, a common growable array): the zones above and those a
 * sender group names in its "dns_list ZONE [ADDR ...]" criterion
 * (config_rep_zone_add() with BW_REP_QUERY, from the group parser).  A
 * zone named several times is one entry, queried once per connection.
 *
 * Input is untrusted: a zone must be a domain name short enough that the
 * query name of an IPv6 client (32 nibble labels, then the zone) still
 * fits a DNS name's 255 octets; the table holds at most BW_REP_ZONES_MAX
 * zones, a list at most BW_REP_RETURNS_MAX addresses, each in
 * 127.0.0.0/8 and not one of RFC 5782's error answers.  Weights are
 * bounded (BW_REP_WEIGHT_MAX, BW_REP_SCORE_TENTHS_MAX).
 */
#include "bw_autoconf.h"

#include <arpa/inet.h>
#include <string.h>

#include "util.h"
#include "config.h"
#include "config_int.h"
#include "dns_client.h"

#define REP_LOOPBACK_NET	0x7f000000u	/* 127.0.0.0/8 */
#define REP_LOOPBACK_MASK	0xff000000u
#define REP_ERROR_NET		0x7fffff00u	/* 127.255.255.0/24 (RFC 5782) */
#define REP_ERROR_MASK		0xffffff00u

_Static_assert(BW_DNS_LIST_PREFIX_MAX + BW_REP_ZONE_MAX ==
    BW_DNS_NAME_TEXT_MAX, "an IPv6 client's query name fits exactly");

static const char *const config_rep_kind_names[] = {
	[BW_REP_QUERY] = "sender group",
	[BW_REP_SCORE] = "reputation_zone",
	[BW_REP_LIST] = "dns_list",
};

const char *
config_rep_kind_name(enum bw_rep_kind k)
{
	if ((size_t)k >= sizeof(config_rep_kind_names) /
	    sizeof(config_rep_kind_names[0]))
		return "?";
	return config_rep_kind_names[k];
}

const char *
config_rep_zone_strerror(int code)
{
	switch (code) {
	case BW_REP_EBADNAME:
		return "not a domain name";
	case BW_REP_ETOOLONG:
		return "too long: the query name of an IPv6 client (64 "
		    "octets of nibbles, then the zone) would pass 255 octets";
	case BW_REP_ETOOMANY:
		return "too many zones";
	case BW_REP_EDUP:
		return "already declared";
	case BW_REP_ENOMEM:
		return "out of memory";
	}
	return "?";
}

/* A zone as kept: lower-case, one trailing dot dropped; or a BW_REP_E*. */
static int
config_rep_zone_norm(const char *zone, char dst[BW_REP_ZONE_MAX + 1])
{
	char	 buf[BW_REP_ZONE_MAX + 1];
	size_t	 len = strlen(zone);

	if (len > 1 && zone[len - 1] == '.')
		len--;
	if (len > BW_REP_ZONE_MAX)
		return BW_REP_ETOOLONG;
	memcpy(buf, zone, len);
	buf[len] = '\0';
	if (!config_domain_valid(buf))
		return BW_REP_EBADNAME;
	bw_lowercase(dst, buf, BW_REP_ZONE_MAX + 1);
	return 0;
}

size_t
config_rep_zone_count(const struct bw_config *cfg)
{
	return bw_array_count(&cfg->rep_zones);
}

const struct bw_rep_zone *
config_rep_zone_at(const struct bw_config *cfg, size_t i)
{
	return bw_array_at(&cfg->rep_zones, i);
}

int
config_rep_zone_find(const struct bw_config *cfg, const char *zone)
{
	char			 name[BW_REP_ZONE_MAX + 1];
	const struct bw_rep_zone *z;
	size_t			 i, n = config_rep_zone_count(cfg);

	if (config_rep_zone_norm(zone, name) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		z = config_rep_zone_at(cfg, i);
		if (strcmp(z->name, name) == 0)
			return (int)i;
	}
	return -1;
}

int
config_rep_zone_add(struct bw_config *cfg, const char *zone,
    enum bw_rep_kind kind)
{
	struct bw_rep_zone	 nz, *z;
	int			 i, rc;

	memset(&nz, 0, sizeof(nz));
	if ((rc = config_rep_zone_norm(zone, nz.name)) != 0)
		return rc;
	if ((i = config_rep_zone_find(cfg, nz.name)) >= 0) {
		z = bw_array_at(&cfg->rep_zones, (size_t)i);
		if (kind == BW_REP_QUERY)
			return i;
		if (z->kind != BW_REP_QUERY)
			return BW_REP_EDUP;
		z->kind = kind;		/* a group named it first */
		return i;
	}
	if (config_rep_zone_count(cfg) >= BW_REP_ZONES_MAX)
		return BW_REP_ETOOMANY;
	nz.kind = kind;
	nz.weight = kind == BW_REP_SCORE ? 1 : 0;
	if (bw_array_push(&cfg->rep_zones, &nz) == -1)
		return BW_REP_ENOMEM;
	return (int)config_rep_zone_count(cfg) - 1;
}

/*
 * Name zone for kind from statement kw on the current line: its index,
 * or -1 with the error reported (file:line).  The sender group parser
 * uses it for its dns_list criterion (BW_REP_QUERY).
 */
int
config_rep_zone_declare(struct config_parser *p, const char *kw,
    const char *zone, enum bw_rep_kind kind)
{
	const struct bw_rep_zone *z;
	struct bw_rep_zone	*nz;
	char			 e[CONFIG_ESC_MAX];
	int			 i;

	if ((i = config_rep_zone_add(p->cfg, zone, kind)) >= 0) {
		/* the line of its declaration, else of its first group */
		nz = bw_array_at(&p->cfg->rep_zones, (size_t)i);
		if (nz->line == 0 || kind != BW_REP_QUERY)
			nz->line = p->line;
		return i;
	}
	switch (i) {
	case BW_REP_EDUP:
		z = config_rep_zone_at(p->cfg,
		    (size_t)config_rep_zone_find(p->cfg, zone));
		config_error(p, p->line, "%s: zone %s is already a %s (line "
		    "%d)", kw, z->name, config_rep_kind_name(z->kind),
		    z->line);
		break;
	case BW_REP_ETOOLONG:
		config_error(p, p->line, "%s: zone \"%s\" is %s (at most %d "
		    "characters)", kw, config_esc(e, sizeof(e), zone),
		    config_rep_zone_strerror(i), BW_REP_ZONE_MAX);
		break;
	case BW_REP_ETOOMANY:
		config_error(p, p->line, "%s: too many zones (max %d, "
		    "reputation_zone, dns_list and sender groups together)",
		    kw, BW_REP_ZONES_MAX);
		break;
	default:
		config_error(p, p->line, "%s: zone \"%s\": %s", kw,
		    config_esc(e, sizeof(e), zone),
		    config_rep_zone_strerror(i));
		break;
	}
	return -1;
}

/* One address after "returns"; -1 reported. */
static int
config_rep_return_add(struct config_parser *p, struct bw_rep_zone *z,
    const char *s)
{
	struct in_addr	 in;
	uint32_t	 a;
	char		 e[CONFIG_ESC_MAX];
	int		 i;

	if (inet_pton(AF_INET, s, &in) != 1) {
		config_error(p, p->line, "dns_list: returns: bad address "
		    "\"%s\" (an IPv4 address such as 127.0.0.2)",
		    config_esc(e, sizeof(e), s));
		return -1;
	}
	a = ntohl(in.s_addr);
	if ((a & REP_LOOPBACK_MASK) != REP_LOOPBACK_NET ||
	    (a & REP_ERROR_MASK) == REP_ERROR_NET) {
		config_error(p, p->line, "dns_list: returns: %s is no list "
		    "answer (127.0.0.0/8, but not the error answers "
		    "127.255.255.0/24)", config_esc(e, sizeof(e), s));
		return -1;
	}
	for (i = 0; i < z->nreturns; i++)
		if (z->returns[i] == a) {
			config_error(p, p->line, "dns_list: returns: %s "
			    "listed twice", config_esc(e, sizeof(e), s));
			return -1;
		}
	if (z->nreturns >= BW_REP_RETURNS_MAX) {
		config_error(p, p->line, "dns_list: returns: too many "
		    "addresses (max %d)", BW_REP_RETURNS_MAX);
		return -1;
	}
	z->returns[z->nreturns++] = a;
	return 0;
}

/*
 * "reputation_zone ZONE [weight N]" and "dns_list ZONE [weight SCORE]
 * [returns ADDR ...]" (weight and returns in either order).  Nothing is
 * kept of a statement with an error.
 */
void
config_rep_stmt(struct config_parser *p)
{
	const char		*kw = p->tok[0].s;
	enum bw_rep_kind	 kind = strcmp(kw, "dns_list") == 0 ?
				    BW_REP_LIST : BW_REP_SCORE;
	struct bw_rep_zone	 z, *dst;
	char			 e[CONFIG_ESC_MAX];
	int			 i, idx, nerr = p->nerr, wseen = 0, rseen = 0;
	int			 v;
	long long		 ll;

	if (p->ntok < 2) {
		config_error(p, p->line, "%s: missing zone", kw);
		return;
	}
	memset(&z, 0, sizeof(z));
	z.weight = kind == BW_REP_SCORE ? 1 : 0;
	for (i = 2; i < p->ntok; i++) {
		const char	*t = p->tok[i].s;

		if (strcmp(t, "weight") == 0 && !wseen) {
			wseen = 1;
			if (++i == p->ntok) {
				config_error(p, p->line, "%s: weight: missing "
				    "value", kw);
				break;
			}
			t = p->tok[i].s;
			if (kind == BW_REP_SCORE) {
				if (bw_limit_parse_value(BW_UNIT_COUNT, t,
				    &ll) == -1 || ll < 1 ||
				    ll > BW_REP_WEIGHT_MAX)
					config_error(p, p->line, "%s: weight: "
					    "\"%s\" is out of range 1..%d", kw,
					    config_esc(e, sizeof(e), t),
					    BW_REP_WEIGHT_MAX);
				else
					z.weight = (int)ll;
			} else if (config_score_parse(t, &v) == -1)
				config_error(p, p->line, "dns_list: weight: "
				    "\"%s\" is no score from -10.0 to +10.0",
				    config_esc(e, sizeof(e), t));
			else
				z.weight = v;
			continue;
		}
		if (strcmp(t, "returns") == 0 && kind == BW_REP_LIST &&
		    !rseen) {
			rseen = 1;
			for (i++; i < p->ntok &&
			    strcmp(p->tok[i].s, "weight") != 0; i++)
				config_rep_return_add(p, &z, p->tok[i].s);
			if (z.nreturns == 0 && p->nerr == nerr)
				config_error(p, p->line, "dns_list: returns: "
				    "missing address");
			i--;
			continue;
		}
		config_error(p, p->line, "%s: unexpected \"%s\" (%s)", kw,
		    config_esc(e, sizeof(e), t), kind == BW_REP_SCORE ?
		    "reputation_zone ZONE [weight N]" :
		    "dns_list ZONE [weight SCORE] [returns ADDR ...]");
		break;
	}
	if (p->nerr != nerr)
		return;
	if ((idx = config_rep_zone_declare(p, kw, p->tok[1].s, kind)) == -1)
		return;
	dst = bw_array_at(&p->cfg->rep_zones, (size_t)idx);
	dst->weight = z.weight;
	memcpy(dst->returns, z.returns, sizeof(dst->returns));
	dst->nreturns = z.nreturns;
}
