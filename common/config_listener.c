/*
 * Listener blocks ("listener NAME {" ... "}"): address, port, public or
 * private, TLS, reverse DNS, reputation lookups, the limits its sessions get (rows with the
 * listener scope; "greeting_delay" is smtpd_greeting_delay), and what
 * decides who may send what:
 * accept_domains (RAT: the domains a public listener takes mail for),
 * allow_untrusted_routing (whether a public listener takes user%host@ours)
 * relay_networks (the clients a private listener relays for), and the
 * PROXY protocol: proxy_protocol and proxy_from (the load balancers whose
 * connections start with a header naming the client).  Also
 * the lookups smtpd makes against them at run time:
 * config_listener_accepts, and the network (CIDR) helpers bw_net_parse
 * and bw_net_match.
 *
 * Input is untrusted: each list is bounded by BW_CONFIG_LIST_MAX and the
 * listeners by BW_CONFIG_LISTENERS_MAX; a network with host bits set is
 * refused as a typo.  Two listeners may not share an address and port.
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
#include "config.h"
#include "config_int.h"
#include "nettab.h"

/* Free a listener and its lists; NULL is fine. */
void
config_listener_free(struct bw_listener_conf *l)
{
	int	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->naccept_domains; i++)
		free(l->accept_domains[i]);
	free(l->accept_domains);
	free(l->relay_networks);
	bw_nettab_free(l->relay_tab);
	for (i = 0; i < l->naccept_rcpts; i++)
		free(l->accept_rcpts[i]);
	free(l->accept_rcpts);
	config_hat_listener_free(l);
	free(l->proxy_from);
	free(l);
}

/* The listener called name, or NULL. */
struct bw_listener_conf *
config_listener_find(struct bw_config *cfg, const char *name)
{
	struct bw_listener_conf	*l;

	TAILQ_FOREACH(l, &cfg->listeners, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

/* "listener NAME {": open a block; a bad header still opens one, dropped. */
void
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
	l->reverse_dns = -1;
	l->reputation = -1;
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

/* Append the values of a relay_networks or proxy_from statement. */
static void
config_listener_networks(struct config_parser *p, const char *k,
    struct bw_net **nets, int *nnets)
{
	struct bw_net	 net, *nn;
	char		 e[CONFIG_ESC_MAX];
	int		 i;

	for (i = 1; i < p->ntok; i++) {
		if (bw_net_parse(p->tok[i].s, &net) == -1) {
			config_error(p, p->line, "%s: bad network "
			    "\"%s\" (ADDRESS or ADDRESS/PREFIX without host "
			    "bits, e.g. 192.0.2.0/24 or 2001:db8::/32)", k,
			    config_esc(e, sizeof(e), p->tok[i].s));
			continue;
		}
		if (*nnets >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "%s: too many "
			    "networks (max %d)", k, BW_CONFIG_LIST_MAX);
			return;
		}
		nn = reallocarray(*nets, *nnets + 1, sizeof(*nn));
		if (nn == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		*nets = nn;
		nn[(*nnets)++] = net;
	}
}

/* Append the values of an accept_recipients statement. */
static void
config_listener_rcpts(struct config_parser *p, struct bw_listener_conf *l)
{
	char		 e[CONFIG_ESC_MAX], **nr;
	const char	*at;
	int		 i;

	for (i = 1; i < p->ntok; i++) {
		const char	*a = p->tok[i].s;

		if ((at = strrchr(a, '@')) == NULL || at == a ||
		    strlen(a) >= BW_ADDR_MAX || !config_domain_valid(at + 1)) {
			config_error(p, p->line, "accept_recipients: bad "
			    "address \"%s\" (local@domain)",
			    config_esc(e, sizeof(e), a));
			continue;
		}
		if (l->naccept_rcpts >= BW_CONFIG_LIST_MAX) {
			config_error(p, p->line, "accept_recipients: too many "
			    "addresses (max %d)", BW_CONFIG_LIST_MAX);
			return;
		}
		nr = reallocarray(l->accept_rcpts, l->naccept_rcpts + 1,
		    sizeof(*nr));
		if (nr == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		l->accept_rcpts = nr;
		if ((nr[l->naccept_rcpts] = strdup(a)) == NULL) {
			config_error(p, p->line, "out of memory");
			return;
		}
		bw_lowercase(nr[l->naccept_rcpts], a, strlen(a) + 1);
		l->naccept_rcpts++;
	}
}

/* A statement inside a listener block. */
void
config_listener_stmt(struct config_parser *p)
{
	struct bw_listener_conf	*l = p->cur;
	const char		*k = p->tok[0].s, *v;
	unsigned char		 addr[16];
	char			 e[CONFIG_ESC_MAX];
	int			 yn;

	if (strcmp(k, "accept_domains") == 0 ||
	    strcmp(k, "relay_networks") == 0 ||
	    strcmp(k, "proxy_from") == 0) {
		if (p->ntok < 2) {
			config_error(p, p->line, "%s: missing value", k);
			return;
		}
		if (strcmp(k, "accept_domains") == 0)
			config_listener_domains(p, l);
		else if (strcmp(k, "relay_networks") == 0)
			config_listener_networks(p, k, &l->relay_networks,
			    &l->nrelay_networks);
		else
			config_listener_networks(p, k, &l->proxy_from,
			    &l->nproxy_from);
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
	} else if (strcmp(k, "tls_required") == 0 ||
	    strcmp(k, "allow_untrusted_routing") == 0 ||
	    strcmp(k, "reverse_dns") == 0 ||
	    strcmp(k, "proxy_protocol") == 0 ||
	    strcmp(k, "reputation") == 0) {
		if (config_args(p, 1) == -1)
			return;
		if ((yn = config_yesno(p->tok[1].s)) == -1)
			config_error(p, p->line, "%s: expected yes or no, not "
			    "\"%s\"", k, config_esc(e, sizeof(e), p->tok[1].s));
		else if (strcmp(k, "tls_required") == 0)
			l->tls_required = yn;
		else if (strcmp(k, "reverse_dns") == 0)
			l->reverse_dns = yn;
		else if (strcmp(k, "proxy_protocol") == 0) {
			l->proxy_protocol = yn;
			l->proxy_line = p->line;
		}
		else if (strcmp(k, "reputation") == 0)
			l->reputation = yn;
		else
			l->allow_untrusted_routing = yn;
	} else if (strcmp(k, "tls_cert") == 0) {
		if (config_args(p, 1) == 0)
			config_path(p, p->tok[1].s, l->tls_cert,
			    sizeof(l->tls_cert));
	} else if (strcmp(k, "tls_key") == 0) {
		if (config_args(p, 1) == 0)
			config_path(p, p->tok[1].s, l->tls_key,
			    sizeof(l->tls_key));
	} else if (strcmp(k, "greeting_delay") == 0) {
		/* older spelling, kept: today's files stay valid */
		config_limit_set(p, &bw_limit_defs[LIM_SMTPD_GREETING_DELAY],
		    k, BW_SCOPE_LISTENER, &l->lim_over);
	} else if (strcmp(k, "accept_recipients") == 0) {
		if (p->ntok < 2)
			config_error(p, p->line, "%s: missing value", k);
		else
			config_listener_rcpts(p, l);
	} else if (config_hat_listener_stmt(p, l))
		;	/* sender_groups, default_policy */
	else if (config_limit_stmt(p, BW_SCOPE_LISTENER, &l->lim_over))
		;	/* a limit: set, or refused with its scopes */
	else if (config_is_global(k))
		config_error(p, p->line, "%s: a global setting, not valid "
		    "inside listener \"%s\"", k, l->name);
	else
		config_error(p, p->line, "unknown listener keyword \"%s\"",
		    config_esc(e, sizeof(e), k));
}

/* "}": check the listener as a whole. */
void
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
	if (l->public && l->naccept_domains == 0 && l->naccept_rcpts == 0)
		config_error(p, l->line, "listener \"%s\": a public listener "
		    "needs accept_domains (or accept_recipients)", l->name);
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
	if (!l->public && l->allow_untrusted_routing)
		config_error(p, l->line, "listener \"%s\": "
		    "allow_untrusted_routing is for public listeners only "
		    "(a private listener's clients may route anyway)",
		    l->name);
	if (l->tls_required && l->tls == BW_TLS_NONE)
		config_error(p, l->line, "listener \"%s\": tls_required yes "
		    "needs tls starttls or implicit", l->name);
	/* which peers may name another client: never "anyone" by default */
	if (l->proxy_protocol && l->nproxy_from == 0)
		config_error(p, l->proxy_line, "listener \"%s\": "
		    "proxy_protocol yes needs proxy_from (the addresses of "
		    "the load balancers)", l->name);
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
 * Lookups at run time.
 */

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

/* The domain part of a lower-cased address equals domain (no dot). */
static int
config_rcpt_in_domain(const char *rcpt, const char *domain, size_t dlen)
{
	const char	*at = strrchr(rcpt, '@');

	return at != NULL && strlen(at + 1) == dlen &&
	    strncasecmp(at + 1, domain, dlen) == 0;
}

/*
 * RAT by address: an address listed in accept_recipients is accepted
 * (its domain need not be an accepted one); a domain with listed
 * addresses accepts only those, so that a gateway in front of a small
 * server can refuse unknown users at RCPT instead of bouncing later.
 */
int
config_listener_accepts_rcpt(const struct bw_listener_conf *l,
    const char *addr, const char *domain)
{
	size_t	 dlen = strlen(domain);
	int	 i, narrowed = 0;

	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	for (i = 0; i < l->naccept_rcpts; i++) {
		if (strcasecmp(l->accept_rcpts[i], addr) == 0)
			return 1;
		if (!narrowed && config_rcpt_in_domain(l->accept_rcpts[i],
		    domain, dlen))
			narrowed = 1;
	}
	return !narrowed && config_listener_accepts(l, domain);
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
