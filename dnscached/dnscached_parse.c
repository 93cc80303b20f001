/*
 * DNS packets: build a query, parse an answer into struct dns_result.
 *
 * Trust: none.  An answer comes from the network and may be forged,
 * truncated or built to hurt (huge counts, compression loops, rdata past
 * the end).  ldns_wire2pkt() does the bounds checking of the wire format;
 * everything it returns is checked again here (record counts, rdata field
 * types and sizes) before a byte is copied, and every text written is cut
 * to BW_DNS_RDATA_TEXT_MAX.  A packet that is not the answer to our
 * question (id, question name, type, class) is a mismatch, never used.
 * At most BW_DNS_RR_MAX records are kept: for MX the lowest preferences,
 * whatever their order on the wire (an answer that lists its best hosts
 * last must not lose them).  A CNAME chain longer than DNS_CNAME_CHAIN_MAX,
 * a loop included, is BW_DNS_CNAME_LOOP: a temporary failure, as a
 * resolver's SERVFAIL would be, never "no such name".
 *
 * Pure: no I/O, no globals.
 */
#include "bw_autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "util.h"
#include "dnscached.h"

#define DNS_HDR_LEN		12	/* fixed DNS header */
#define DNS_LABEL_MAX		63	/* RFC 1035 2.3.4 */
#define DNS_NAME_TEXT_MAX	253	/* without the trailing dot */
#define DNS_TTL_SANE_MAX	0x7fffffffu	/* RFC 2181 8: larger means 0 */

const char *
dns_parse_code_name(int code)
{
	switch (code) {
	case DNS_PARSE_OK:
		return "ok";
	case DNS_PARSE_MALFORMED:
		return "malformed";
	case DNS_PARSE_MISMATCH:
		return "mismatch";
	case DNS_PARSE_TRUNCATED:
		return "truncated";
	case DNS_PARSE_SERVFAIL:
		return "servfail";
	case DNS_PARSE_FORMERR:
		return "formerr";
	}
	return "?";
}

static const struct {
	uint16_t	 type;
	const char	*name;
} dns_qtypes[] = {
	{ BW_DNS_T_A,		"A" },
	{ BW_DNS_T_PTR,		"PTR" },
	{ BW_DNS_T_MX,		"MX" },
	{ BW_DNS_T_TXT,		"TXT" },
	{ BW_DNS_T_AAAA,	"AAAA" },
	{ BW_DNS_T_TLSA,	"TLSA" },
};

int
dns_qtype_supported(uint16_t qtype)
{
	size_t	 i;

	for (i = 0; i < sizeof(dns_qtypes) / sizeof(dns_qtypes[0]); i++)
		if (dns_qtypes[i].type == qtype)
			return 1;
	return 0;
}

const char *
dns_qtype_name(uint16_t qtype)
{
	size_t	 i;

	for (i = 0; i < sizeof(dns_qtypes) / sizeof(dns_qtypes[0]); i++)
		if (dns_qtypes[i].type == qtype)
			return dns_qtypes[i].name;
	return "?";
}

/*
 * Host-name syntax, a little wider than RFC 1123: letters, digits, '-',
 * '_' (service labels: _25._tcp, DKIM selectors) and '*'; labels of 1..63
 * bytes; "." alone is the root.  Lower-cased, trailing dot removed.
 */
int
dns_name_normalise(char *dst, size_t dstsz, const char *src, size_t srcsz)
{
	size_t	 n, i, label = 0;
	int	 c;

	n = strnlen(src, srcsz);
	if (n == 1 && src[0] == '.') {
		if (dstsz < 2)
			return -1;
		strlcpy(dst, ".", dstsz);
		return 0;
	}
	if (n > 0 && src[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_TEXT_MAX || n >= dstsz)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)src[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_' || c == '*') {
			if (++label > DNS_LABEL_MAX)
				return -1;
		} else
			return -1;
		dst[i] = (char)tolower(c);
	}
	dst[n] = '\0';
	return 0;
}

int
dns_query_build(uint16_t id, uint16_t qtype, uint16_t qflags,
    const char *name, uint8_t **wire, size_t *len)
{
	ldns_rdf	*dname;
	ldns_pkt	*pkt;
	ldns_status	 st;

	*wire = NULL;
	*len = 0;
	if ((dname = ldns_dname_new_frm_str(name)) == NULL)
		return -1;
	/* ldns_pkt_query_new() owns dname from here on. */
	if ((pkt = ldns_pkt_query_new(dname, (ldns_rr_type)qtype,
	    LDNS_RR_CLASS_IN, LDNS_RD)) == NULL)
		return -1;
	ldns_pkt_set_id(pkt, id);
	if (qflags & BW_DNS_QF_DNSSEC) {
		/*
		 * RFC 6840 5.7: AD in the query asks for the AD bit in the
		 * answer; DO (RFC 3225) for the signatures, which a
		 * validating upstream needs to tell us anything at all.
		 */
		ldns_pkt_set_ad(pkt, 1);
		ldns_pkt_set_edns_udp_size(pkt, DNS_EDNS_UDP_SIZE);
		ldns_pkt_set_edns_do(pkt, 1);
	}
	st = ldns_pkt2wire(wire, pkt, len);
	ldns_pkt_free(pkt);
	if (st != LDNS_STATUS_OK) {
		free(*wire);
		*wire = NULL;
		return -1;
	}
	return 0;
}

/* A domain-name rdf as normalised text; -1 if it is not a usable name. */
static int
dns_rdf_name(const ldns_rdf *rdf, char *dst, size_t dstsz)
{
	char	*s;
	int	 r;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return -1;
	if ((s = ldns_rdf2str(rdf)) == NULL)
		return -1;
	r = dns_name_normalise(dst, dstsz, s, strlen(s));
	free(s);
	return r;
}

/* Does the owner of rr equal name (normalised)? */
static int
dns_owner_is(const ldns_rr *rr, const char *name)
{
	char	 owner[BW_DOMAIN_MAX + 1];

	if (dns_rdf_name(ldns_rr_owner(rr), owner, sizeof(owner)) == -1)
		return 0;
	return strcmp(owner, name) == 0;
}

static uint32_t
dns_rr_ttl(const ldns_rr *rr)
{
	uint32_t	 ttl = ldns_rr_ttl(rr);

	return ttl > DNS_TTL_SANE_MAX ? 0 : ttl;
}

/* An rdf of the expected type and exact size, or NULL. */
static const uint8_t *
dns_rdf_fixed(const ldns_rr *rr, size_t i, ldns_rdf_type type, size_t size)
{
	const ldns_rdf	*rdf;

	if (i >= ldns_rr_rd_count(rr) || (rdf = ldns_rr_rdf(rr, i)) == NULL)
		return NULL;
	if (ldns_rdf_get_type(rdf) != type || ldns_rdf_size(rdf) != size)
		return NULL;
	return ldns_rdf_data(rdf);
}

/* Append src[0..n) to the record text, control bytes as '?'. */
static void
dns_text_add(struct bw_dns_rr *out, size_t *off, const uint8_t *src, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (*off >= sizeof(out->data) - 1) {
			out->flags |= BW_DNS_RRF_TRUNCATED;
			break;
		}
		out->data[(*off)++] = (src[i] < 0x20 || src[i] >= 0x7f) ?
		    '?' : (char)src[i];
	}
	out->data[*off] = '\0';
}

static int
dns_rr_txt(const ldns_rr *rr, struct bw_dns_rr *out)
{
	const ldns_rdf	*rdf;
	const uint8_t	*d;
	size_t		 i, off = 0, sz;

	if (ldns_rr_rd_count(rr) == 0)
		return -1;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		if ((rdf = ldns_rr_rdf(rr, i)) == NULL ||
		    ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR)
			return -1;
		d = ldns_rdf_data(rdf);
		sz = ldns_rdf_size(rdf);
		/* a character-string: length byte, then that many bytes */
		if (sz < 1 || (size_t)d[0] != sz - 1)
			return -1;
		dns_text_add(out, &off, d + 1, sz - 1);
	}
	return 0;
}

static int
dns_rr_tlsa(const ldns_rr *rr, struct bw_dns_rr *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t	*u, *s, *m, *d;
	const ldns_rdf	*rdf;
	size_t		 i, sz, off;

	if (ldns_rr_rd_count(rr) != 4 ||
	    (u = dns_rdf_fixed(rr, 0, LDNS_RDF_TYPE_CERTIFICATE_USAGE, 1)) ==
	    NULL ||
	    (s = dns_rdf_fixed(rr, 1, LDNS_RDF_TYPE_SELECTOR, 1)) == NULL ||
	    (m = dns_rdf_fixed(rr, 2, LDNS_RDF_TYPE_MATCHING_TYPE, 1)) ==
	    NULL || (rdf = ldns_rr_rdf(rr, 3)) == NULL ||
	    ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_HEX)
		return -1;
	d = ldns_rdf_data(rdf);
	sz = ldns_rdf_size(rdf);
	off = (size_t)snprintf(out->data, sizeof(out->data), "%u %u %u ",
	    u[0], s[0], m[0]);
	for (i = 0; i < sz; i++) {
		if (off + 2 >= sizeof(out->data)) {
			out->flags |= BW_DNS_RRF_TRUNCATED;
			break;
		}
		out->data[off++] = hex[d[i] >> 4];
		out->data[off++] = hex[d[i] & 0xf];
	}
	out->data[off] = '\0';
	return 0;
}

/* One answer record as text; -1 if its rdata is not what the type says. */
static int
dns_rr_convert(const ldns_rr *rr, uint16_t qtype, struct bw_dns_rr *out)
{
	const uint8_t	*d;
	int		 af;

	memset(out, 0, sizeof(*out));
	out->type = qtype;
	out->ttl = dns_rr_ttl(rr);
	switch (qtype) {
	case BW_DNS_T_A:
	case BW_DNS_T_AAAA:
		af = qtype == BW_DNS_T_A ? AF_INET : AF_INET6;
		d = qtype == BW_DNS_T_A ?
		    dns_rdf_fixed(rr, 0, LDNS_RDF_TYPE_A, 4) :
		    dns_rdf_fixed(rr, 0, LDNS_RDF_TYPE_AAAA, 16);
		if (d == NULL || ldns_rr_rd_count(rr) != 1 ||
		    inet_ntop(af, d, out->data, sizeof(out->data)) == NULL)
			return -1;
		return 0;
	case BW_DNS_T_MX:
		if (ldns_rr_rd_count(rr) != 2 ||
		    (d = dns_rdf_fixed(rr, 0, LDNS_RDF_TYPE_INT16, 2)) == NULL)
			return -1;
		out->preference = (uint16_t)((d[0] << 8) | d[1]);
		return dns_rdf_name(ldns_rr_rdf(rr, 1), out->data,
		    sizeof(out->data));
	case BW_DNS_T_PTR:
		if (ldns_rr_rd_count(rr) != 1)
			return -1;
		return dns_rdf_name(ldns_rr_rdf(rr, 0), out->data,
		    sizeof(out->data));
	case BW_DNS_T_TXT:
		return dns_rr_txt(rr, out);
	case BW_DNS_T_TLSA:
		return dns_rr_tlsa(rr, out);
	}
	return -1;
}

/* RFC 2308 5: the negative TTL is min(SOA TTL, SOA MINIMUM). */
static uint32_t
dns_negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list	*auth = ldns_pkt_authority(pkt);
	const ldns_rr		*rr;
	const uint8_t		*d;
	uint32_t		 ttl, min;
	size_t			 i;

	for (i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
		rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 7)
			continue;
		/* MINIMUM: ldns calls it a period, older versions int32 */
		if ((d = dns_rdf_fixed(rr, 6, LDNS_RDF_TYPE_PERIOD, 4)) ==
		    NULL && (d = dns_rdf_fixed(rr, 6, LDNS_RDF_TYPE_INT32,
		    4)) == NULL)
			continue;
		ttl = dns_rr_ttl(rr);
		min = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		    (uint32_t)d[2] << 8 | d[3];
		if (min > DNS_TTL_SANE_MAX)
			min = 0;
		return ttl < min ? ttl : min;
	}
	return DNS_NEG_TTL_NOSOA;
}

/*
 * One more MX record for the answer: while there is room it is appended;
 * once BW_DNS_RR_MAX are held it replaces the worst one held (the highest
 * preference, the latest in wire order among equals) if its preference is
 * lower.  seq[] holds each slot's position in wire order, n the records
 * offered so far.  Whatever the wire order, the lowest preferences are
 * kept, not the first records.
 */
void
dns_mx_keep(struct dns_result *res, uint32_t *seq, const struct bw_dns_rr *rr,
    uint32_t n)
{
	uint32_t	 i, worst = 0;

	if (res->nrr < BW_DNS_RR_MAX) {
		res->rr[res->nrr] = *rr;
		seq[res->nrr++] = n;
		return;
	}
	res->flags |= BW_DNS_ANSF_TRUNCATED;
	for (i = 1; i < res->nrr; i++)
		if (res->rr[i].preference > res->rr[worst].preference ||
		    (res->rr[i].preference == res->rr[worst].preference &&
		    seq[i] > seq[worst]))
			worst = i;
	if (rr->preference >= res->rr[worst].preference)
		return;
	res->rr[worst] = *rr;
	seq[worst] = n;
}

/* MX by preference, ties in wire order (seq from dns_mx_keep). */
void
dns_mx_sort(struct dns_result *res, uint32_t *seq)
{
	struct bw_dns_rr	 tmp;
	uint32_t		 i, j, ts;

	for (i = 1; i < res->nrr; i++) {
		for (j = i; j > 0 && (res->rr[j - 1].preference >
		    res->rr[j].preference || (res->rr[j - 1].preference ==
		    res->rr[j].preference && seq[j - 1] > seq[j])); j--) {
			tmp = res->rr[j];
			res->rr[j] = res->rr[j - 1];
			res->rr[j - 1] = tmp;
			ts = seq[j];
			seq[j] = seq[j - 1];
			seq[j - 1] = ts;
		}
	}
}

/*
 * The records of qtype for name in the answer section, following a CNAME
 * chain of at most DNS_CNAME_CHAIN_MAX links.  The TTL is the smallest of
 * the records and CNAMEs used.  Returns -1 when the chain goes on past
 * the limit (a loop does): the caller's status is BW_DNS_CNAME_LOOP, a
 * temporary failure, never "no such record".
 */
static int
dns_answer_collect(const ldns_pkt *pkt, uint16_t qtype, const char *name,
    struct dns_result *res)
{
	const ldns_rr_list	*ans = ldns_pkt_answer(pkt);
	const ldns_rr		*rr;
	struct bw_dns_rr	 one;
	char			 cur[BW_DOMAIN_MAX + 1], next[BW_DOMAIN_MAX + 1];
	uint32_t		 ttl = UINT32_MAX, seq[BW_DNS_RR_MAX], nmx = 0;
	size_t			 i, n, link;
	int			 cname;

	n = ans != NULL ? ldns_rr_list_rr_count(ans) : 0;
	strlcpy(cur, name, sizeof(cur));
	for (link = 0;; link++) {
		for (i = 0; i < n; i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
			    ldns_rr_get_type(rr) != qtype ||
			    !dns_owner_is(rr, cur))
				continue;
			if (qtype != BW_DNS_T_MX && res->nrr >= BW_DNS_RR_MAX) {
				res->flags |= BW_DNS_ANSF_TRUNCATED;
				break;
			}
			if (dns_rr_convert(rr, qtype, &one) == -1)
				continue;
			if (one.ttl < ttl)
				ttl = one.ttl;
			if (qtype == BW_DNS_T_MX)
				dns_mx_keep(res, seq, &one, nmx++);
			else
				res->rr[res->nrr++] = one;
		}
		if (res->nrr > 0)
			break;
		for (i = 0, cname = 0; i < n && !cname; i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
			    ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    ldns_rr_rd_count(rr) != 1 || !dns_owner_is(rr, cur) ||
			    dns_rdf_name(ldns_rr_rdf(rr, 0), next,
			    sizeof(next)) == -1)
				continue;
			if (dns_rr_ttl(rr) < ttl)
				ttl = dns_rr_ttl(rr);
			strlcpy(cur, next, sizeof(cur));
			cname = 1;
		}
		if (!cname)
			break;
		if (link == DNS_CNAME_CHAIN_MAX)
			return -1;
	}
	if (qtype == BW_DNS_T_MX)
		dns_mx_sort(res, seq);
	res->ttl = ttl == UINT32_MAX ? 0 : ttl;
	return 0;
}

enum dns_parse_code
dns_answer_parse(const uint8_t *wire, size_t len, uint16_t id, uint16_t qtype,
    const char *name, struct dns_result *res)
{
	ldns_pkt		*pkt = NULL;
	const ldns_rr_list	*q;
	const ldns_rr		*qrr;
	enum dns_parse_code	 code;

	memset(res, 0, offsetof(struct dns_result, rr));
	if (wire == NULL || len < DNS_HDR_LEN)
		return DNS_PARSE_MALFORMED;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		/*
		 * A truncated answer may be cut inside a record.  The header
		 * alone says so; TCP will check the question.
		 */
		if ((((uint16_t)wire[0] << 8) | wire[1]) == id &&
		    (wire[2] & 0x80) != 0 && (wire[2] & 0x02) != 0)
			return DNS_PARSE_TRUNCATED;
		return DNS_PARSE_MALFORMED;
	}
	if (!ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		code = DNS_PARSE_MALFORMED;
		goto done;
	}
	if (ldns_pkt_id(pkt) != id) {
		code = DNS_PARSE_MISMATCH;
		goto done;
	}
	q = ldns_pkt_question(pkt);
	if (ldns_pkt_qdcount(pkt) != 1 || q == NULL ||
	    ldns_rr_list_rr_count(q) != 1) {
		code = DNS_PARSE_MALFORMED;
		goto done;
	}
	qrr = ldns_rr_list_rr(q, 0);
	if (ldns_rr_get_type(qrr) != qtype ||
	    ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN ||
	    !dns_owner_is(qrr, name)) {
		code = DNS_PARSE_MISMATCH;
		goto done;
	}
	if (ldns_pkt_tc(pkt)) {
		code = DNS_PARSE_TRUNCATED;
		goto done;
	}
	if (ldns_pkt_ad(pkt))
		res->flags |= DNS_RESF_AD;
	switch (ldns_pkt_get_rcode(pkt)) {
	case LDNS_RCODE_NOERROR:
		if (dns_answer_collect(pkt, qtype, name, res) == -1) {
			memset(res, 0, offsetof(struct dns_result, rr));
			res->status = BW_DNS_CNAME_LOOP;
		} else if (res->nrr > 0)
			res->status = BW_DNS_OK;
		else {
			res->status = BW_DNS_NODATA;
			res->ttl = dns_negative_ttl(pkt);
		}
		code = DNS_PARSE_OK;
		break;
	case LDNS_RCODE_NXDOMAIN:
		res->status = BW_DNS_NXDOMAIN;
		res->ttl = dns_negative_ttl(pkt);
		code = DNS_PARSE_OK;
		break;
	case LDNS_RCODE_FORMERR:
		code = DNS_PARSE_FORMERR;
		break;
	default:
		code = DNS_PARSE_SERVFAIL;
		break;
	}
done:
	ldns_pkt_free(pkt);
	return code;
}
