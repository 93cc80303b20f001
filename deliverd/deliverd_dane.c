/*
 * DANE for outbound SMTP (RFC 7672): which MX hosts of a destination under
 * "tls dane" have TLSA records, whether they can be trusted, and the
 * OpenSSL setup that checks a server against them.
 *
 * Resolution (deliverd_mx.c calls in): every lookup of a dane destination
 * asks dnscached with BW_DNS_QF_DNSSEC, and an answer counts as validated
 * only with BW_DNS_ANSF_SECURE (dnscached trusts the AD bit of a resolver
 * the admin declared validating, dns_upstream_validates).  TLSA records
 * are asked at _PORT._tcp.HOST only when the MX RRset was secure (RFC
 * 7672 2.2), together with the host's addresses; the agent settles (and
 * connects) only when every answer is in.  Per host:
 *
 *   MX RRset or the host's address RRsets insecure, TLSA absent or
 *   insecure                       -> INSECURE: opportunistic TLS (MAY)
 *   secure TLSA, usable records    -> USABLE: DANE with those records
 *   secure TLSA, none usable       -> UNUSABLE: TLS without
 *                                     authentication (ENCRYPT, 2.2)
 *   TLSA lookup failed (SERVFAIL,
 *   bogus, timeout) of a secure host -> FAILED: the host is not used
 *                                     (2.2: no downgrade when an
 *                                     attacker hides the records)
 *
 * Usable records: DANE-TA(2) and DANE-EE(3), selectors 0 and 1, matching
 * types 0 (full), 1 (SHA2-256, 32 octets) and 2 (SHA2-512, 64 octets).
 * PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (3.1.3).  OpenSSL's
 * DANE (SSL_dane_enable, SSL_dane_tlsa_add) does the matching: DANE-EE
 * ignores names and expiry (3.1.1), DANE-TA checks the name against the
 * MX host name and the next-hop domain (3.2.2).
 *
 * Trust: records come from dnscached (text cut to BW_DNS_RDATA_TEXT_MAX,
 * flagged when cut) and are parsed with every length checked: a record
 * that was cut (a TLSA record of absurd size), is not "U S M HEX", or has
 * a digest of the wrong length is unusable, one log line per host and
 * resolution (dnscached logs the cut once per upstream answer).  At most
 * DLV_TLSA_RECORDS_MAX usable records are kept per host.  State is
 * allocated only for agents under dane, and kept until the agent goes
 * (connections point at their host's records).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dns_client.h"
#include "log.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_dane.h"

/* RFC 6698 / 7218 code points. */
#define TLSA_USAGE_PKIX_TA	0
#define TLSA_USAGE_PKIX_EE	1
#define TLSA_USAGE_DANE_TA	2
#define TLSA_USAGE_DANE_EE	3
#define TLSA_SEL_CERT		0
#define TLSA_SEL_SPKI		1
#define TLSA_MT_FULL		0
#define TLSA_MT_SHA256		1
#define TLSA_MT_SHA512		2
#define TLSA_SHA256_LEN		32
#define TLSA_SHA512_LEN		64

struct dlv_dane_host {
	int			 addr_answers;	/* A/AAAA answers counted */
	int			 addr_insecure;	/* of those, not secure */
	int			 tlsa_asked;
	int			 tlsa_status;	/* enum bw_dns_status */
	int			 tlsa_secure;
	int			 nbad;		/* records not usable */
	enum dlv_tlsa_parse	 bad_why;	/* the first one's reason */
	struct dlv_tlsa_set	 set;
};

struct dlv_dane {
	int			 active;	/* this resolution is under dane */
	int			 mx_secure;
	struct dlv_dane_host	 h[DLV_MX_HOSTS_MAX];
};

static const char *const dlv_dane_state_names[DLV_DANE__COUNT] = {
	"insecure", "usable", "unusable", "failed",
};

const char *
dlv_dane_state_name(enum dlv_dane_state s)
{
	if ((unsigned)s >= DLV_DANE__COUNT)
		return "?";
	return dlv_dane_state_names[s];
}

const char *
dlv_tlsa_parse_name(enum dlv_tlsa_parse p)
{
	switch (p) {
	case DLV_TLSA_OK:
		return "usable";
	case DLV_TLSA_CUT:
		return "too large";
	case DLV_TLSA_SYNTAX:
		return "malformed";
	case DLV_TLSA_PKIX:
		return "PKIX usage (unusable for SMTP)";
	case DLV_TLSA_UNKNOWN:
		return "unknown usage, selector or matching type";
	case DLV_TLSA_LENGTH:
		return "digest of the wrong length";
	case DLV_TLSA_EXCESS:
		return "more usable records than are kept";
	}
	return "?";
}

static int
dlv_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A small decimal field (0..255) and the space after it. */
static const char *
dlv_tlsa_field(const char *p, uint8_t *out)
{
	unsigned	 v = 0;
	int		 n = 0;

	while (isdigit((unsigned char)*p) && n < 3) {
		v = v * 10 + (unsigned)(*p++ - '0');
		n++;
	}
	if (n == 0 || v > 255 || *p != ' ')
		return NULL;
	*out = (uint8_t)v;
	return p + 1;
}

enum dlv_tlsa_parse
dlv_dane_tlsa_parse(const char *text, uint32_t rrflags,
    struct dlv_tlsa_rec *out)
{
	const char	*p = text;
	size_t		 n, i;
	int		 hi, lo;

	memset(out, 0, sizeof(*out));
	if (rrflags & BW_DNS_RRF_TRUNCATED)
		return DLV_TLSA_CUT;
	if ((p = dlv_tlsa_field(p, &out->usage)) == NULL ||
	    (p = dlv_tlsa_field(p, &out->selector)) == NULL ||
	    (p = dlv_tlsa_field(p, &out->mtype)) == NULL)
		return DLV_TLSA_SYNTAX;
	n = strlen(p);
	if (n == 0 || n % 2 != 0)
		return DLV_TLSA_SYNTAX;
	if (n / 2 > sizeof(out->data))
		return DLV_TLSA_CUT;
	for (i = 0; i < n / 2; i++) {
		if ((hi = dlv_hexval((unsigned char)p[2 * i])) < 0 ||
		    (lo = dlv_hexval((unsigned char)p[2 * i + 1])) < 0)
			return DLV_TLSA_SYNTAX;
		out->data[i] = (unsigned char)(hi << 4 | lo);
	}
	out->len = (uint16_t)(n / 2);
	if (out->usage == TLSA_USAGE_PKIX_TA ||
	    out->usage == TLSA_USAGE_PKIX_EE)
		return DLV_TLSA_PKIX;
	if ((out->usage != TLSA_USAGE_DANE_TA &&
	    out->usage != TLSA_USAGE_DANE_EE) ||
	    (out->selector != TLSA_SEL_CERT &&
	    out->selector != TLSA_SEL_SPKI) || out->mtype > TLSA_MT_SHA512)
		return DLV_TLSA_UNKNOWN;
	if ((out->mtype == TLSA_MT_SHA256 && out->len != TLSA_SHA256_LEN) ||
	    (out->mtype == TLSA_MT_SHA512 && out->len != TLSA_SHA512_LEN))
		return DLV_TLSA_LENGTH;
	return DLV_TLSA_OK;
}

/* ---- resolution ---- */

/* Is the agent's destination under tls dane (its current config)? */
static int
dlv_dane_configured(const struct dlv_agent *a)
{
	return config_dest_opts(dlv_env->cfg, a->gateway, a->domain)->tls ==
	    BW_DEST_TLS_DANE;
}

uint16_t
dlv_dane_begin(struct dlv_agent *a)
{
	if (!dlv_dane_configured(a)) {
		/* kept while connections may point at it; cleared */
		if (a->dane != NULL)
			memset(a->dane, 0, sizeof(*a->dane));
		return 0;
	}
	if (a->dane == NULL && (a->dane = calloc(1, sizeof(*a->dane))) ==
	    NULL) {
		/* no state: dlv_dane_want fails every host (never plaintext) */
		log_warn("domain=%s gateway=%s: DANE state", a->domain,
		    a->gateway);
		return BW_DNS_QF_DNSSEC;
	}
	memset(a->dane, 0, sizeof(*a->dane));
	a->dane->active = 1;
	return BW_DNS_QF_DNSSEC;
}

/* The agent's DANE state when its resolution is under dane, or NULL. */
static struct dlv_dane *
dlv_dane_of(const struct dlv_agent *a)
{
	return a->dane != NULL && a->dane->active ? a->dane : NULL;
}

uint16_t
dlv_dane_qflags(const struct dlv_agent *a)
{
	return dlv_dane_of(a) != NULL || (a->dane == NULL &&
	    dlv_dane_configured(a)) ? BW_DNS_QF_DNSSEC : 0;
}

void
dlv_dane_mx_answer(struct dlv_agent *a, const struct bw_dns_result *ans)
{
	struct dlv_dane	*d;

	if ((d = dlv_dane_of(a)) == NULL)
		return;
	/* OK, or NODATA (the implicit MX: the domain is the host) */
	d->mx_secure = (ans->flags & BW_DNS_ANSF_SECURE) != 0;
}

int
dlv_dane_tlsa_wanted(struct dlv_agent *a, int hostidx, char *dst,
    size_t dstsz)
{
	const struct dlv_host	*h;
	struct dlv_dane		*d;
	int			 n;

	if ((d = dlv_dane_of(a)) == NULL || !d->mx_secure || a->routed ||
	    hostidx < 0 || hostidx >= DLV_MX_HOSTS_MAX)
		return 0;
	h = &a->hosts[hostidx];
	n = snprintf(dst, dstsz, "_%d._tcp.%s", h->port, h->name);
	if (n < 0 || (size_t)n >= dstsz || (size_t)n > BW_DOMAIN_MAX) {
		/* too long a name to ask: no TLSA can be there */
		log_info("domain=%s host=%s: TLSA name too long, no DANE",
		    a->domain, h->name);
		return 0;
	}
	d->h[hostidx].tlsa_asked = 1;
	return 1;
}

void
dlv_dane_addr_answer(struct dlv_agent *a, int hostidx,
    const struct bw_dns_result *ans)
{
	struct dlv_dane_host	*dh;
	struct dlv_dane		*d;

	if ((d = dlv_dane_of(a)) == NULL || hostidx < 0 ||
	    hostidx >= DLV_MX_HOSTS_MAX)
		return;
	dh = &d->h[hostidx];
	dh->addr_answers++;
	/* a failed lookup proves nothing either: not secure */
	if (!(ans->flags & BW_DNS_ANSF_SECURE))
		dh->addr_insecure++;
}

void
dlv_dane_tlsa_answer(struct dlv_agent *a, int hostidx,
    const struct bw_dns_result *ans)
{
	struct dlv_dane_host	*dh;
	struct dlv_tlsa_set	*set;
	struct dlv_tlsa_rec	 rec;
	struct bw_dns_rr	 rr;
	enum dlv_tlsa_parse	 why;
	struct dlv_dane		*d;
	uint32_t		 i;

	if ((d = dlv_dane_of(a)) == NULL || hostidx < 0 ||
	    hostidx >= DLV_MX_HOSTS_MAX)
		return;
	dh = &d->h[hostidx];
	set = &dh->set;
	dh->tlsa_status = ans->status;
	dh->tlsa_secure = (ans->flags & BW_DNS_ANSF_SECURE) != 0;
	set->nrec = 0;
	if (ans->status != BW_DNS_OK || !dh->tlsa_secure)
		return;
	for (i = 0; bw_dns_result_rr(ans, i, &rr) == 0; i++) {
		if (rr.type != BW_DNS_T_TLSA)
			continue;
		if ((why = dlv_dane_tlsa_parse(rr.data, rr.flags, &rec)) !=
		    DLV_TLSA_OK) {
			if (dh->nbad++ == 0)
				dh->bad_why = why;
			continue;
		}
		if (set->nrec >= DLV_TLSA_RECORDS_MAX) {
			if (dh->nbad++ == 0)
				dh->bad_why = DLV_TLSA_EXCESS;
			continue;
		}
		set->rec[set->nrec++] = rec;
	}
}

/* One host's state from its answers. */
static enum dlv_dane_state
dlv_dane_host_state(const struct dlv_dane *d, const struct dlv_dane_host *dh)
{
	if (!d->mx_secure || !dh->tlsa_asked || dh->addr_insecure > 0)
		return DLV_DANE_INSECURE;
	switch (dh->tlsa_status) {
	case BW_DNS_OK:
		if (!dh->tlsa_secure)
			return DLV_DANE_INSECURE;
		return dh->set.nrec > 0 ? DLV_DANE_USABLE : DLV_DANE_UNUSABLE;
	case BW_DNS_NXDOMAIN:
	case BW_DNS_NODATA:
		/* no records: nothing to authenticate against */
		return DLV_DANE_INSECURE;
	default:
		return DLV_DANE_FAILED;
	}
}

int
dlv_dane_settle(struct dlv_agent *a)
{
	struct dlv_dane_host	*dh;
	struct dlv_host		*h;
	struct dlv_dane		*d;
	int			 i, failed = -1;

	if ((d = dlv_dane_of(a)) == NULL)
		return -1;
	for (i = 0; i < a->nhosts && i < DLV_MX_HOSTS_MAX; i++) {
		h = &a->hosts[i];
		dh = &d->h[i];
		dh->set.state = dlv_dane_host_state(d, dh);
		strlcpy(dh->set.host, h->name, sizeof(dh->set.host));
		strlcpy(dh->set.domain, a->domain, sizeof(dh->set.domain));
		if (dh->nbad > 0)
			log_warnx("domain=%s host=%s: %d TLSA record%s not "
			    "usable (%s%s), %d usable", a->domain, h->name,
			    dh->nbad, dh->nbad == 1 ? "" : "s",
			    dlv_tlsa_parse_name(dh->bad_why), dh->nbad > 1 ?
			    ", first" : "", dh->set.nrec);
		log_debug("domain=%s host=%s dane=%s mx_secure=%d "
		    "addr_insecure=%d tlsa=%s tlsa_secure=%d records=%d",
		    a->domain, h->name, dlv_dane_state_name(dh->set.state),
		    d->mx_secure, dh->addr_insecure,
		    dh->tlsa_asked ? bw_dns_status_name(dh->tlsa_status) :
		    "-", dh->tlsa_secure, dh->set.nrec);
		if (dh->set.state != DLV_DANE_FAILED || h->self)
			continue;
		/* RFC 7672 2.2: a secure host whose TLSA we cannot see */
		h->naddrs = 0;
		h->last_error_time = bw_time();
		snprintf(h->last_error, sizeof(h->last_error), "TLSA lookup "
		    "for _%d._tcp.%s failed (%s): host not used", h->port,
		    h->name, bw_dns_status_name(dh->tlsa_status));
		log_warnx("domain=%s host=%s: %s", a->domain, h->name,
		    h->last_error);
		if (failed < 0)
			failed = i;
	}
	return failed;
}

void
dlv_dane_free(struct dlv_agent *a)
{
	free(a->dane);
	a->dane = NULL;
}

/* ---- the TLS level and the session ---- */

void
dlv_dane_want(struct dlv_agent *a, int hostidx, struct dlv_tls_want *w)
{
	const struct dlv_tlsa_set	*set;
	struct dlv_dane			*d = dlv_dane_of(a);

	w->why = "dane";
	w->tlsa = NULL;
	if (d == NULL || hostidx < 0 || hostidx >= a->nhosts ||
	    hostidx >= DLV_MX_HOSTS_MAX) {
		/* resolved before dane was configured, or no memory: fail
		 * the host (a new resolution asks); never plaintext */
		w->level = DLV_TLS_DANE;
		return;
	}
	set = &d->h[hostidx].set;
	switch (set->state) {
	case DLV_DANE_USABLE:
		w->level = DLV_TLS_DANE;
		w->tlsa = set;
		/* DANE-TA: the MX host name, or the next-hop domain (7672
		 * 3.2.2) */
		if (w->nnames < DLV_TLS_NAMES_MAX &&
		    strcasecmp(a->domain, a->hosts[hostidx].name) != 0)
			strlcpy(w->names[w->nnames++], a->domain,
			    sizeof(w->names[0]));
		break;
	case DLV_DANE_UNUSABLE:
		w->level = DLV_TLS_ENCRYPT;
		break;
	case DLV_DANE_FAILED:
		/* settle took its addresses; should it be asked anyway */
		w->level = DLV_TLS_DANE;
		break;
	case DLV_DANE_INSECURE:
	default:
		w->level = DLV_TLS_MAY;
		w->why = "config";
		break;
	}
}

int
dlv_dane_ssl_setup(struct ssl_st *ssl, const struct dlv_tlsa_set *set,
    char *why, size_t whysz)
{
	const struct dlv_tlsa_rec	*r;
	int				 i, n = 0, rc;

	if (set == NULL || set->state != DLV_DANE_USABLE || set->nrec == 0) {
		snprintf(why, whysz, "no usable TLSA records");
		return -1;
	}
	/* the reference names of DANE-TA: the MX host, the next hop */
	if (SSL_dane_enable(ssl, set->host) <= 0 ||
	    (strcasecmp(set->domain, set->host) != 0 &&
	    SSL_add1_host(ssl, set->domain) != 1)) {
		ERR_clear_error();
		snprintf(why, whysz, "cannot enable DANE");
		return -1;
	}
	/* DANE-EE: the key is the identity, names do not matter (3.1.1) */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (i = 0; i < set->nrec; i++) {
		r = &set->rec[i];
		if ((rc = SSL_dane_tlsa_add(ssl, r->usage, r->selector,
		    r->mtype, r->data, r->len)) > 0)
			n++;
		else if (rc < 0) {
			ERR_clear_error();
			snprintf(why, whysz, "cannot add a TLSA record");
			return -1;
		}
		/* 0: OpenSSL finds it unusable (a digest it lacks) */
	}
	ERR_clear_error();
	if (n == 0) {
		snprintf(why, whysz, "no TLSA record usable by OpenSSL");
		return -1;
	}
	return 0;
}
