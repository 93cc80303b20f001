/*
 * dnscached's pure modules: the cache (TTL expiry with an injected clock,
 * clamps, negative entries, LRU eviction, flush) and the parser (answers
 * of every type built with ldns, and hand-made hostile packets: truncated
 * header, compression loops and bad pointers, rdata overrun, question
 * count mismatches, huge counts, wrong id / name / type); CNAME chains
 * past the limit and loops; more MX records than are kept.  DNSSEC: a
 * query with BW_DNS_QF_DNSSEC carries AD and EDNS0 DO, the answer's AD
 * bit is kept (DNS_RESF_AD), the cache keeps DNSSEC and plain answers
 * apart, and a TLSA record too large for the text is cut and flagged.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnscached.h"

/* ---- the injected clock ---- */
static uint64_t	 fake_now_ms;

static uint64_t
fake_clock(void)
{
	return fake_now_ms;
}

static void
result_set(struct dns_result *r, uint32_t status, uint32_t ttl, uint32_t nrr)
{
	uint32_t	 i;

	memset(r, 0, sizeof(*r));
	r->status = status;
	r->ttl = ttl;
	r->nrr = nrr;
	for (i = 0; i < nrr; i++) {
		r->rr[i].type = BW_DNS_T_A;
		r->rr[i].ttl = ttl;
		snprintf(r->rr[i].data, sizeof(r->rr[i].data), "192.0.2.%u",
		    i + 1);
	}
}

/* ---- cache: expiry ---- */

static const struct {
	const char	*label;
	uint32_t	 status;
	uint32_t	 ttl;
	uint64_t	 at_ms;		/* lookup time after storing */
	int		 want_hit;
	uint32_t	 want_ttl;
} cache_ttl_cases[] = {
	{ "fresh", BW_DNS_OK, 300, 0, 1, 300 },
	{ "half way", BW_DNS_OK, 300, 150000, 1, 150 },
	{ "last ms", BW_DNS_OK, 300, 299999, 1, 1 },
	{ "expired", BW_DNS_OK, 300, 300000, 0, 0 },
	{ "min clamp", BW_DNS_OK, 1, 4000, 1, 1 },
	{ "min clamp expired", BW_DNS_OK, 1, 5000, 0, 0 },
	{ "max clamp", BW_DNS_OK, 1000000, 0, 1, DNS_TTL_MAX },
	{ "max clamp expired", BW_DNS_OK, 1000000, DNS_TTL_MAX * 1000ULL, 0, 0 },
	{ "nxdomain", BW_DNS_NXDOMAIN, 120, 119000, 1, 1 },
	{ "nxdomain expired", BW_DNS_NXDOMAIN, 120, 120000, 0, 0 },
	{ "nodata", BW_DNS_NODATA, 120, 0, 1, 120 },
	{ "negative max clamp", BW_DNS_NXDOMAIN, 100000, 0, 1,
	    DNS_NEG_TTL_MAX },
	{ "negative min clamp", BW_DNS_NODATA, 0, 0, 1, DNS_NEG_TTL_MIN },
	{ "servfail not cached", BW_DNS_SERVFAIL, 300, 0, 0, 0 },
	{ "timeout not cached", BW_DNS_TIMEOUT, 300, 0, 0, 0 },
	{ "formerr not cached", BW_DNS_FORMERR, 300, 0, 0, 0 },
	{ "cname loop not cached", BW_DNS_CNAME_LOOP, 300, 0, 0, 0 },
};

START_TEST(cache_ttl_expiry)
{
	struct dns_cache	*c;
	struct dns_result	*in, *out;
	int			 hit;

	in = malloc(sizeof(*in));
	out = malloc(sizeof(*out));
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	c = dns_cache_new(100, 1 << 20, fake_clock);
	ck_assert_ptr_nonnull(c);
	fake_now_ms = 1000000;
	result_set(in, cache_ttl_cases[_i].status, cache_ttl_cases[_i].ttl,
	    cache_ttl_cases[_i].status == BW_DNS_OK ? 2 : 0);
	dns_cache_put(c, BW_DNS_T_A, 0, "host.test", in);
	fake_now_ms += cache_ttl_cases[_i].at_ms;
	hit = dns_cache_get(c, BW_DNS_T_A, 0, "host.test", out);
	ck_assert_msg(hit == cache_ttl_cases[_i].want_hit, "%s: hit %d",
	    cache_ttl_cases[_i].label, hit);
	if (hit) {
		ck_assert_msg(out->ttl == cache_ttl_cases[_i].want_ttl,
		    "%s: ttl %u", cache_ttl_cases[_i].label, out->ttl);
		ck_assert_uint_eq(out->status, cache_ttl_cases[_i].status);
		ck_assert(out->flags & BW_DNS_ANSF_CACHED);
		if (out->status == BW_DNS_OK) {
			ck_assert_uint_eq(out->nrr, 2);
			ck_assert_uint_le(out->rr[0].ttl, out->ttl);
			ck_assert_str_eq(out->rr[1].data, "192.0.2.2");
		} else
			ck_assert_uint_eq(out->nrr, 0);
	} else
		ck_assert_uint_eq(dns_cache_entries(c), 0);
	dns_cache_free(c);
	free(in);
	free(out);
}
END_TEST

START_TEST(cache_keys)
{
	struct dns_cache	*c;
	struct dns_result	*r;

	r = malloc(sizeof(*r));
	c = dns_cache_new(100, 1 << 20, fake_clock);
	fake_now_ms = 5000;
	result_set(r, BW_DNS_OK, 300, 1);
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_A, 0, "a.test", r), 0);
	result_set(r, BW_DNS_NXDOMAIN, 300, 0);
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_MX, 0, "a.test", r), 0);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 1);
	ck_assert_uint_eq(r->status, BW_DNS_OK);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_MX, 0, "a.test", r), 1);
	ck_assert_uint_eq(r->status, BW_DNS_NXDOMAIN);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_AAAA, 0, "a.test", r), 0);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "b.test", r), 0);
	/* replacing an entry keeps one */
	result_set(r, BW_DNS_OK, 60, 3);
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_A, 0, "a.test", r), 0);
	ck_assert_uint_eq(dns_cache_entries(c), 2);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 1);
	ck_assert_uint_eq(r->nrr, 3);
	ck_assert_uint_eq(dns_cache_flush(c), 2);
	ck_assert_uint_eq(dns_cache_entries(c), 0);
	ck_assert_uint_eq(dns_cache_bytes(c), 0);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 0);
	dns_cache_free(c);
	free(r);
}
END_TEST

/* DNSSEC and plain answers of one question are two entries. */
START_TEST(cache_dnssec_apart)
{
	struct dns_cache	*c;
	struct dns_result	*r;

	r = malloc(sizeof(*r));
	c = dns_cache_new(100, 1 << 20, fake_clock);
	fake_now_ms = 5000;
	result_set(r, BW_DNS_OK, 300, 1);
	r->flags = DNS_RESF_AD;
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_A, BW_DNS_QF_DNSSEC,
	    "a.test", r), 0);
	/* a plain question does not get the DNSSEC answer */
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 0);
	result_set(r, BW_DNS_OK, 300, 2);
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_A, 0, "a.test", r), 0);
	ck_assert_uint_eq(dns_cache_entries(c), 2);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, BW_DNS_QF_DNSSEC,
	    "a.test", r), 1);
	ck_assert_uint_eq(r->nrr, 1);
	ck_assert_uint_eq(r->flags, DNS_RESF_AD | BW_DNS_ANSF_CACHED);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 1);
	ck_assert_uint_eq(r->nrr, 2);
	ck_assert_uint_eq(r->flags, BW_DNS_ANSF_CACHED);
	/* a secure denial is kept with its AD bit as well */
	result_set(r, BW_DNS_NODATA, 300, 0);
	r->flags = DNS_RESF_AD;
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_TLSA, BW_DNS_QF_DNSSEC,
	    "_25._tcp.a.test", r), 0);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_TLSA, BW_DNS_QF_DNSSEC,
	    "_25._tcp.a.test", r), 1);
	ck_assert_uint_eq(r->status, BW_DNS_NODATA);
	ck_assert(r->flags & DNS_RESF_AD);
	dns_cache_free(c);
	free(r);
}
END_TEST

/* ---- cache: eviction ---- */

START_TEST(cache_lru_eviction)
{
	struct dns_cache	*c;
	struct dns_result	*r;

	r = malloc(sizeof(*r));
	c = dns_cache_new(3, 1 << 20, fake_clock);
	fake_now_ms = 1000;
	result_set(r, BW_DNS_OK, 300, 1);
	dns_cache_put(c, BW_DNS_T_A, 0, "a.test", r);
	dns_cache_put(c, BW_DNS_T_A, 0, "b.test", r);
	dns_cache_put(c, BW_DNS_T_A, 0, "c.test", r);
	/* a is used: b becomes the least recently used */
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 1);
	result_set(r, BW_DNS_OK, 300, 1);
	dns_cache_put(c, BW_DNS_T_A, 0, "d.test", r);
	ck_assert_uint_eq(dns_cache_entries(c), 3);
	ck_assert_uint_eq(dns_cache_evictions(c), 1);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "b.test", r), 0);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "a.test", r), 1);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "c.test", r), 1);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "d.test", r), 1);
	dns_cache_free(c);
	free(r);
}
END_TEST

START_TEST(cache_byte_limit)
{
	struct dns_cache	*c;
	struct dns_result	*r;
	char			 name[32];
	int			 i;

	r = malloc(sizeof(*r));
	/* room for about two answers of 8 records */
	c = dns_cache_new(1000, 2 * (8 * sizeof(struct bw_dns_rr) + 512),
	    fake_clock);
	fake_now_ms = 1000;
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d.test", i);
		result_set(r, BW_DNS_OK, 300, 8);
		dns_cache_put(c, BW_DNS_T_A, 0, name, r);
		ck_assert_uint_le(dns_cache_bytes(c),
		    2 * (8 * sizeof(struct bw_dns_rr) + 512));
	}
	ck_assert_uint_le(dns_cache_entries(c), 2);
	ck_assert_uint_ge(dns_cache_evictions(c), 8);
	ck_assert_int_eq(dns_cache_get(c, BW_DNS_T_A, 0, "h9.test", r), 1);
	/* an answer bigger than the whole cache is refused */
	dns_cache_free(c);
	c = dns_cache_new(10, 100, fake_clock);
	result_set(r, BW_DNS_OK, 300, 8);
	ck_assert_int_eq(dns_cache_put(c, BW_DNS_T_A, 0, "x.test", r), -1);
	ck_assert_uint_eq(dns_cache_entries(c), 0);
	dns_cache_free(c);
	free(r);
}
END_TEST

/* ---- names ---- */

static const struct {
	const char	*in;
	const char	*want;		/* NULL: rejected */
} name_cases[] = {
	{ "Example.ORG", "example.org" },
	{ "example.org.", "example.org" },
	{ ".", "." },
	{ "_25._tcp.mx.example.org", "_25._tcp.mx.example.org" },
	{ "1.2.0.192.in-addr.arpa.", "1.2.0.192.in-addr.arpa" },
	{ "", NULL },
	{ "..", NULL },
	{ "a..b", NULL },
	{ ".a", NULL },
	{ "sp ace.test", NULL },
	{ "a\\.b", NULL },
	{ "toolonglabel-toolonglabel-toolonglabel-toolonglabel-toolonglabel"
	    ".test", NULL },
};

START_TEST(name_normalise)
{
	char	 out[BW_DOMAIN_MAX + 1];
	int	 r;

	r = dns_name_normalise(out, sizeof(out), name_cases[_i].in,
	    strlen(name_cases[_i].in));
	if (name_cases[_i].want == NULL)
		ck_assert_msg(r == -1, "%s accepted", name_cases[_i].in);
	else {
		ck_assert_msg(r == 0, "%s rejected", name_cases[_i].in);
		ck_assert_str_eq(out, name_cases[_i].want);
	}
}
END_TEST

/* ---- parser: answers built with ldns ---- */

struct pkt_case {
	const char	*label;
	uint16_t	 qtype;
	const char	*qname;
	ldns_pkt_rcode	 rcode;
	const char	*answer[6];
	const char	*authority[2];
	int		 want_code;
	uint32_t	 want_status;
	uint32_t	 want_nrr;
	uint32_t	 want_ttl;
	const char	*want_data0;
	uint16_t	 want_pref0;
};

static const struct pkt_case pkt_cases[] = {
	{ "mx sorted", BW_DNS_T_MX, "mx.test", LDNS_RCODE_NOERROR,
	    { "mx.test. 300 IN MX 20 b.mx.test.",
	      "mx.test. 200 IN MX 10 A.mx.test." }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 2, 200, "a.mx.test", 10 },
	{ "null mx", BW_DNS_T_MX, "null.test", LDNS_RCODE_NOERROR,
	    { "null.test. 300 IN MX 0 ." }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 300, ".", 0 },
	{ "a", BW_DNS_T_A, "h.test", LDNS_RCODE_NOERROR,
	    { "h.test. 60 IN A 192.0.2.7" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "192.0.2.7", 0 },
	{ "aaaa", BW_DNS_T_AAAA, "h.test", LDNS_RCODE_NOERROR,
	    { "h.test. 60 IN AAAA 2001:db8::7" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "2001:db8::7", 0 },
	{ "ptr", BW_DNS_T_PTR, "7.2.0.192.in-addr.arpa", LDNS_RCODE_NOERROR,
	    { "7.2.0.192.in-addr.arpa. 60 IN PTR H.test." }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "h.test", 0 },
	{ "txt joined", BW_DNS_T_TXT, "h.test", LDNS_RCODE_NOERROR,
	    { "h.test. 60 IN TXT \"v=spf1 \" \"-all\"" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "v=spf1 -all", 0 },
	{ "txt control bytes", BW_DNS_T_TXT, "h.test", LDNS_RCODE_NOERROR,
	    { "h.test. 60 IN TXT \"a\\010b\"" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "a?b", 0 },
	{ "tlsa", BW_DNS_T_TLSA, "_25._tcp.h.test", LDNS_RCODE_NOERROR,
	    { "_25._tcp.h.test. 60 IN TLSA 3 1 1 00ff10" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 60, "3 1 1 00ff10", 0 },
	{ "cname chain", BW_DNS_T_A, "alias.test", LDNS_RCODE_NOERROR,
	    { "alias.test. 30 IN CNAME h.test.",
	      "h.test. 60 IN A 192.0.2.8" }, { NULL },
	    DNS_PARSE_OK, BW_DNS_OK, 1, 30, "192.0.2.8", 0 },
	{ "cname loop", BW_DNS_T_A, "l1.test", LDNS_RCODE_NOERROR,
	    { "l1.test. 30 IN CNAME l2.test.",
	      "l2.test. 30 IN CNAME l1.test." },
	    { "test. 600 IN SOA ns.test. h.test. 1 2 3 4 50" },
	    DNS_PARSE_OK, BW_DNS_CNAME_LOOP, 0, 0, NULL, 0 },
	{ "mx cname loop", BW_DNS_T_MX, "l1.test", LDNS_RCODE_NOERROR,
	    { "l1.test. 30 IN CNAME l1.test." }, { NULL },
	    DNS_PARSE_OK, BW_DNS_CNAME_LOOP, 0, 0, NULL, 0 },
	{ "cname to nothing", BW_DNS_T_A, "alias.test", LDNS_RCODE_NOERROR,
	    { "alias.test. 30 IN CNAME h.test." },
	    { "test. 600 IN SOA ns.test. h.test. 1 2 3 4 50" },
	    DNS_PARSE_OK, BW_DNS_NODATA, 0, 50, NULL, 0 },
	{ "other owner ignored", BW_DNS_T_A, "h.test", LDNS_RCODE_NOERROR,
	    { "evil.test. 60 IN A 192.0.2.66" },
	    { "test. 600 IN SOA ns.test. h.test. 1 2 3 4 500" },
	    DNS_PARSE_OK, BW_DNS_NODATA, 0, 500, NULL, 0 },
	{ "nxdomain soa ttl", BW_DNS_T_MX, "nx.test", LDNS_RCODE_NXDOMAIN,
	    { NULL }, { "test. 90 IN SOA ns.test. h.test. 1 2 3 4 500" },
	    DNS_PARSE_OK, BW_DNS_NXDOMAIN, 0, 90, NULL, 0 },
	{ "nxdomain soa minimum", BW_DNS_T_MX, "nx.test", LDNS_RCODE_NXDOMAIN,
	    { NULL }, { "test. 900 IN SOA ns.test. h.test. 1 2 3 4 120" },
	    DNS_PARSE_OK, BW_DNS_NXDOMAIN, 0, 120, NULL, 0 },
	{ "nxdomain no soa", BW_DNS_T_MX, "nx.test", LDNS_RCODE_NXDOMAIN,
	    { NULL }, { NULL },
	    DNS_PARSE_OK, BW_DNS_NXDOMAIN, 0, DNS_NEG_TTL_NOSOA, NULL, 0 },
	{ "nodata", BW_DNS_T_AAAA, "h.test", LDNS_RCODE_NOERROR,
	    { NULL }, { "test. 900 IN SOA ns.test. h.test. 1 2 3 4 120" },
	    DNS_PARSE_OK, BW_DNS_NODATA, 0, 120, NULL, 0 },
	{ "servfail", BW_DNS_T_A, "h.test", LDNS_RCODE_SERVFAIL,
	    { NULL }, { NULL }, DNS_PARSE_SERVFAIL, 0, 0, 0, NULL, 0 },
	{ "refused", BW_DNS_T_A, "h.test", LDNS_RCODE_REFUSED,
	    { NULL }, { NULL }, DNS_PARSE_SERVFAIL, 0, 0, 0, NULL, 0 },
	{ "formerr", BW_DNS_T_A, "h.test", LDNS_RCODE_FORMERR,
	    { NULL }, { NULL }, DNS_PARSE_FORMERR, 0, 0, 0, NULL, 0 },
};

/* An answer packet as a server would send it; wire is malloc'd. */
static size_t
pkt_build(uint8_t **wire, uint16_t id, const char *qname, uint16_t qtype,
    ldns_pkt_rcode rcode, const char *const *answer,
    const char *const *authority, int tc)
{
	ldns_pkt	*pkt;
	ldns_rr		*rr;
	size_t		 len = 0, i;

	pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(qname),
	    (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_qr(pkt, 1);
	ldns_pkt_set_ra(pkt, 1);
	ldns_pkt_set_tc(pkt, tc);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	for (i = 0; answer != NULL && i < 6 && answer[i] != NULL; i++) {
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, answer[i], 0, NULL,
		    NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	}
	for (i = 0; authority != NULL && i < 2 && authority[i] != NULL; i++) {
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, authority[i], 0,
		    NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, rr);
	}
	ck_assert_int_eq(ldns_pkt2wire(wire, pkt, &len), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	return len;
}

START_TEST(parse_answers)
{
	const struct pkt_case	*pc = &pkt_cases[_i];
	struct dns_result	*res;
	uint8_t			*wire;
	size_t			 len;
	int			 code;

	res = malloc(sizeof(*res));
	len = pkt_build(&wire, 0x4242, pc->qname, pc->qtype, pc->rcode,
	    pc->answer, pc->authority, 0);
	code = dns_answer_parse(wire, len, 0x4242, pc->qtype, pc->qname, res);
	ck_assert_msg(code == pc->want_code, "%s: code %s", pc->label,
	    dns_parse_code_name(code));
	if (code == DNS_PARSE_OK) {
		ck_assert_msg(res->status == pc->want_status, "%s: status %s",
		    pc->label, bw_dns_status_name((int)res->status));
		ck_assert_msg(res->nrr == pc->want_nrr, "%s: nrr %u",
		    pc->label, res->nrr);
		ck_assert_msg(res->ttl == pc->want_ttl, "%s: ttl %u",
		    pc->label, res->ttl);
		if (pc->want_data0 != NULL) {
			ck_assert_str_eq(res->rr[0].data, pc->want_data0);
			ck_assert_uint_eq(res->rr[0].preference,
			    pc->want_pref0);
			ck_assert_uint_eq(res->rr[0].type, pc->qtype);
		}
	}
	free(wire);
	free(res);
}
END_TEST

START_TEST(parse_too_many_records)
{
	const char	*answer[6];
	char		 text[6][64];
	struct dns_result *res;
	uint8_t		*wire;
	size_t		 len, i;

	res = malloc(sizeof(*res));
	for (i = 0; i < 6; i++) {
		snprintf(text[i], sizeof(text[i]),
		    "h.test. 60 IN A 192.0.2.%zu", i + 1);
		answer[i] = text[i];
	}
	len = pkt_build(&wire, 7, "h.test", BW_DNS_T_A, LDNS_RCODE_NOERROR,
	    answer, NULL, 0);
	ck_assert_int_eq(dns_answer_parse(wire, len, 7, BW_DNS_T_A, "h.test",
	    res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->nrr, 6);
	ck_assert_uint_le(res->nrr, BW_DNS_RR_MAX);
	free(wire);
	free(res);
}
END_TEST

/* An answer packet with n answer records; wire is malloc'd. */
static size_t
pkt_build_n(uint8_t **wire, uint16_t id, const char *qname, uint16_t qtype,
    char (*answer)[96], size_t n)
{
	ldns_pkt	*pkt;
	ldns_rr		*rr;
	size_t		 len = 0, i;

	pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(qname),
	    (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_qr(pkt, 1);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, answer[i], 0, NULL,
		    NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	}
	ck_assert_int_eq(ldns_pkt2wire(wire, pkt, &len), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	return len;
}

/* DNS_CNAME_CHAIN_MAX links are followed; one more is a loop's status. */
START_TEST(parse_cname_chain_limit)
{
	char			 ans[DNS_CNAME_CHAIN_MAX + 2][96];
	struct dns_result	*res;
	uint8_t			*wire;
	size_t			 len, links, i;

	res = malloc(sizeof(*res));
	for (links = DNS_CNAME_CHAIN_MAX; links <= DNS_CNAME_CHAIN_MAX + 1;
	    links++) {
		for (i = 0; i < links; i++)
			snprintf(ans[i], sizeof(ans[i]),
			    "c%zu.test. 60 IN CNAME c%zu.test.", i, i + 1);
		snprintf(ans[links], sizeof(ans[links]),
		    "c%zu.test. 60 IN MX 10 mx.test.", links);
		len = pkt_build_n(&wire, 9, "c0.test", BW_DNS_T_MX, ans,
		    links + 1);
		ck_assert_int_eq(dns_answer_parse(wire, len, 9, BW_DNS_T_MX,
		    "c0.test", res), DNS_PARSE_OK);
		if (links == DNS_CNAME_CHAIN_MAX) {
			ck_assert_uint_eq(res->status, BW_DNS_OK);
			ck_assert_uint_eq(res->nrr, 1);
			ck_assert_str_eq(res->rr[0].data, "mx.test");
		} else {
			ck_assert_uint_eq(res->status, BW_DNS_CNAME_LOOP);
			ck_assert_uint_eq(res->nrr, 0);
		}
		free(wire);
	}
	free(res);
}
END_TEST

/*
 * More MX records than BW_DNS_RR_MAX: the lowest preferences are kept,
 * sorted, ties in wire order -- whatever the order on the wire.
 */
static const struct {
	const char	*label;
	int		 step;		/* preference of record i: see below */
} mx_cut_cases[] = {
	{ "best last", -1 },		/* 89, 88, ... 50 */
	{ "best first", 1 },		/* 50, 51, ... 89 */
	{ "interleaved", 7 },		/* 50 + (i * 7) % 40 */
};

START_TEST(parse_mx_keeps_lowest)
{
	char			 ans[40][96];
	struct dns_result	*res;
	uint8_t			*wire;
	size_t			 len, i;
	int			 pref;

	res = malloc(sizeof(*res));
	for (i = 0; i < 40; i++) {
		if (mx_cut_cases[_i].step == -1)
			pref = 89 - (int)i;
		else
			pref = 50 + (int)(i * (size_t)mx_cut_cases[_i].step %
			    40);
		snprintf(ans[i], sizeof(ans[i]),
		    "m.test. 60 IN MX %d h%d.test.", pref, pref);
	}
	len = pkt_build_n(&wire, 11, "m.test", BW_DNS_T_MX, ans, 40);
	ck_assert_int_eq(dns_answer_parse(wire, len, 11, BW_DNS_T_MX,
	    "m.test", res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->status, BW_DNS_OK);
	ck_assert_uint_eq(res->nrr, BW_DNS_RR_MAX);
	ck_assert(res->flags & BW_DNS_ANSF_TRUNCATED);
	for (i = 0; i < res->nrr; i++) {
		char want[32];

		ck_assert_msg(res->rr[i].preference == 50 + i,
		    "%s: record %zu has preference %u", mx_cut_cases[_i].label,
		    i, res->rr[i].preference);
		snprintf(want, sizeof(want), "h%zu.test", 50 + i);
		ck_assert_str_eq(res->rr[i].data, want);
	}
	free(wire);
	free(res);
}
END_TEST

/* Equal preferences beyond the limit: the first ones on the wire stay,
 * in wire order; a better record late on the wire still gets in. */
START_TEST(parse_mx_ties)
{
	char			 ans[40][96];
	struct dns_result	*res;
	uint8_t			*wire;
	size_t			 len, i;

	res = malloc(sizeof(*res));
	for (i = 0; i < 39; i++)
		snprintf(ans[i], sizeof(ans[i]), "m.test. 60 IN MX 20 t%zu.test.",
		    i);
	snprintf(ans[39], sizeof(ans[39]), "m.test. 60 IN MX 5 best.test.");
	len = pkt_build_n(&wire, 12, "m.test", BW_DNS_T_MX, ans, 40);
	ck_assert_int_eq(dns_answer_parse(wire, len, 12, BW_DNS_T_MX,
	    "m.test", res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->nrr, BW_DNS_RR_MAX);
	ck_assert_str_eq(res->rr[0].data, "best.test");
	for (i = 1; i < res->nrr; i++) {
		char want[32];

		snprintf(want, sizeof(want), "t%zu.test", i - 1);
		ck_assert_str_eq(res->rr[i].data, want);
	}
	free(wire);
	free(res);
}
END_TEST

/* ---- parser: not our answer ---- */

START_TEST(parse_mismatch)
{
	struct dns_result	*res;
	uint8_t			*wire;
	size_t			 len;
	const char		*ans[] = { "h.test. 60 IN A 192.0.2.1", NULL };

	res = malloc(sizeof(*res));
	len = pkt_build(&wire, 100, "h.test", BW_DNS_T_A, LDNS_RCODE_NOERROR,
	    ans, NULL, 0);
	ck_assert_int_eq(dns_answer_parse(wire, len, 101, BW_DNS_T_A,
	    "h.test", res), DNS_PARSE_MISMATCH);
	ck_assert_int_eq(dns_answer_parse(wire, len, 100, BW_DNS_T_A,
	    "other.test", res), DNS_PARSE_MISMATCH);
	ck_assert_int_eq(dns_answer_parse(wire, len, 100, BW_DNS_T_AAAA,
	    "h.test", res), DNS_PARSE_MISMATCH);
	ck_assert_int_eq(dns_answer_parse(wire, len, 100, BW_DNS_T_A,
	    "h.test", res), DNS_PARSE_OK);
	free(wire);
	/* TC: ask again over TCP */
	len = pkt_build(&wire, 100, "h.test", BW_DNS_T_A, LDNS_RCODE_NOERROR,
	    NULL, NULL, 1);
	ck_assert_int_eq(dns_answer_parse(wire, len, 100, BW_DNS_T_A,
	    "h.test", res), DNS_PARSE_TRUNCATED);
	free(wire);
	/* our own query is not an answer (QR clear) */
	ck_assert_int_eq(dns_query_build(100, BW_DNS_T_A, 0, "h.test", &wire,
	    &len), 0);
	ck_assert_int_eq(dns_answer_parse(wire, len, 100, BW_DNS_T_A,
	    "h.test", res), DNS_PARSE_MALFORMED);
	free(wire);
	free(res);
}
END_TEST

/* ---- parser: hand-made hostile packets ---- */

/* id 0x1234, QR RD RA, 1 question h.test A, 1 answer A 192.0.2.1. */
#define H_ID		0x12, 0x34
#define Q_HTEST		0x01, 'h', 0x04, 't', 'e', 's', 't', 0x00, 0x00, 0x01, \
			0x00, 0x01
#define A_RR(name...)	name, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, \
			0x00, 0x04, 192, 0, 2, 1

struct raw_case {
	const char	*label;
	uint8_t		 pkt[64];
	size_t		 len;
	int		 want_code;
};

static const struct raw_case raw_cases[] = {
	{ "valid", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, Q_HTEST,
	    A_RR(0xc0, 0x0c) }, 12 + 12 + 16, DNS_PARSE_OK },
	{ "empty", { 0 }, 0, DNS_PARSE_MALFORMED },
	{ "truncated header", { H_ID, 0x81, 0x80, 0, 1 }, 6,
	    DNS_PARSE_MALFORMED },
	{ "truncated question", { H_ID, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
	    0x01, 'h', 0x04, 't' }, 15, DNS_PARSE_MALFORMED },
	{ "truncated answer", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0xc0, 0x0c) }, 12 + 12 + 14, DNS_PARSE_MALFORMED },
	{ "compression loop", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0xc0, 24) }, 12 + 12 + 16, DNS_PARSE_MALFORMED },
	{ "pointer past the end", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0xc0, 0xff) }, 12 + 12 + 16, DNS_PARSE_MALFORMED },
	{ "pointer forward loop", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0x01, 'x', 0xc0, 24) }, 12 + 12 + 18,
	    DNS_PARSE_MALFORMED },
	{ "rdata overrun", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 1, 0x2c,
	    0x00, 0xff, 192, 0, 2, 1 }, 12 + 12 + 16, DNS_PARSE_MALFORMED },
	{ "qdcount 2, one question", { H_ID, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0,
	    0, Q_HTEST }, 12 + 12, DNS_PARSE_MALFORMED },
	{ "qdcount 0", { H_ID, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0,
	    A_RR(0x01, 'h', 0x04, 't', 'e', 's', 't', 0x00) }, 12 + 22,
	    DNS_PARSE_MALFORMED },
	{ "two questions", { H_ID, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0,
	    Q_HTEST, Q_HTEST }, 12 + 24, DNS_PARSE_MALFORMED },
	{ "huge ancount", { H_ID, 0x81, 0x80, 0, 1, 0xff, 0xff, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0xc0, 0x0c) }, 12 + 12 + 16, DNS_PARSE_MALFORMED },
	{ "huge arcount", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0xff, 0xff, 0xff,
	    0xff, Q_HTEST, A_RR(0xc0, 0x0c) }, 12 + 12 + 16,
	    DNS_PARSE_MALFORMED },
	{ "label past the end", { H_ID, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
	    0x3f, 'h' }, 14, DNS_PARSE_MALFORMED },
	{ "not a response", { H_ID, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	    Q_HTEST }, 12 + 12, DNS_PARSE_MALFORMED },
	{ "wrong id", { 0x43, 0x21, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, A_RR(0xc0, 0x0c) }, 12 + 12 + 16, DNS_PARSE_MISMATCH },
	{ "truncated with TC", { H_ID, 0x83, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, 0xc0 }, 12 + 12 + 1, DNS_PARSE_TRUNCATED },
	{ "A rdata of 3 bytes", { H_ID, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    Q_HTEST, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 1, 0x2c,
	    0x00, 0x03, 192, 0, 2 }, 12 + 12 + 15, -1 },
};

START_TEST(parse_hostile)
{
	const struct raw_case	*rc = &raw_cases[_i];
	struct dns_result	*res;
	int			 code;

	res = malloc(sizeof(*res));
	code = dns_answer_parse(rc->pkt, rc->len, 0x1234, BW_DNS_T_A,
	    "h.test", res);
	if (rc->want_code == -1)	/* dropped or unusable, never data */
		ck_assert_msg(code != DNS_PARSE_OK || res->nrr == 0,
		    "%s: %s nrr=%u", rc->label, dns_parse_code_name(code),
		    res->nrr);
	else
		ck_assert_msg(code == rc->want_code, "%s: %s", rc->label,
		    dns_parse_code_name(code));
	if (code == DNS_PARSE_OK && rc->want_code == DNS_PARSE_OK) {
		ck_assert_uint_eq(res->nrr, 1);
		ck_assert_str_eq(res->rr[0].data, "192.0.2.1");
	}
	free(res);
}
END_TEST

/* Every prefix of a valid packet, and every single-byte corruption. */
START_TEST(parse_fuzz_mutations)
{
	struct dns_result	*res;
	const char		*ans[] = { "mx.test. 60 IN MX 10 a.mx.test.",
	    "mx.test. 60 IN MX 20 b.mx.test.", NULL };
	const char		*auth[] = {
	    "test. 60 IN SOA ns.test. h.test. 1 2 3 4 5", NULL };
	uint8_t			*wire, *copy;
	size_t			 len, i;
	int			 v;

	res = malloc(sizeof(*res));
	len = pkt_build(&wire, 9, "mx.test", BW_DNS_T_MX, LDNS_RCODE_NOERROR,
	    ans, auth, 0);
	copy = malloc(len);
	for (i = 0; i <= len; i++)
		(void)dns_answer_parse(wire, i, 9, BW_DNS_T_MX, "mx.test",
		    res);
	for (i = 0; i < len; i++) {
		for (v = 0; v < 256; v += 17) {
			memcpy(copy, wire, len);
			copy[i] = (uint8_t)v;
			if (dns_answer_parse(copy, len, 9, BW_DNS_T_MX,
			    "mx.test", res) == DNS_PARSE_OK)
				ck_assert_uint_le(res->nrr, BW_DNS_RR_MAX);
		}
	}
	free(copy);
	free(wire);
	free(res);
}
END_TEST

START_TEST(query_build_roundtrip)
{
	ldns_pkt	*pkt = NULL;
	uint8_t		*wire;
	size_t		 len;

	ck_assert_int_eq(dns_query_build(0xbeef, BW_DNS_T_MX, 0, "example.org",
	    &wire, &len), 0);
	ck_assert_int_eq(ldns_wire2pkt(&pkt, wire, len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(pkt), 0xbeef);
	ck_assert(ldns_pkt_rd(pkt));
	ck_assert(!ldns_pkt_qr(pkt));
	ck_assert_uint_eq(ldns_pkt_qdcount(pkt), 1);
	ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(
	    ldns_pkt_question(pkt), 0)), LDNS_RR_TYPE_MX);
	ldns_pkt_free(pkt);
	free(wire);
	ck_assert(dns_qtype_supported(BW_DNS_T_TLSA));
	ck_assert(!dns_qtype_supported(255));
}
END_TEST

/* BW_DNS_QF_DNSSEC: AD and DO in the query; none without it. */
START_TEST(query_build_dnssec)
{
	ldns_pkt	*pkt = NULL;
	uint8_t		*wire;
	size_t		 len;

	ck_assert_int_eq(dns_query_build(7, BW_DNS_T_TLSA, BW_DNS_QF_DNSSEC,
	    "_25._tcp.mx.example.org", &wire, &len), 0);
	ck_assert_int_eq(ldns_wire2pkt(&pkt, wire, len), LDNS_STATUS_OK);
	ck_assert(ldns_pkt_rd(pkt));
	ck_assert(ldns_pkt_ad(pkt));
	ck_assert(ldns_pkt_edns_do(pkt));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(pkt), DNS_EDNS_UDP_SIZE);
	ldns_pkt_free(pkt);
	free(wire);

	pkt = NULL;
	ck_assert_int_eq(dns_query_build(7, BW_DNS_T_A, 0, "mx.example.org",
	    &wire, &len), 0);
	ck_assert_int_eq(ldns_wire2pkt(&pkt, wire, len), LDNS_STATUS_OK);
	ck_assert(!ldns_pkt_ad(pkt));
	ck_assert(!ldns_pkt_edns_do(pkt));
	ck_assert(!ldns_pkt_edns(pkt));	/* no OPT record at all */
	ldns_pkt_free(pkt);
	free(wire);
}
END_TEST

/* The answer's AD bit, kept as DNS_RESF_AD (OK and negative answers). */
START_TEST(parse_ad_bit)
{
	static const char *const a[] = { "h.test. 300 IN A 192.0.2.1", NULL };
	struct dns_result	*res = malloc(sizeof(*res));
	ldns_pkt		*pkt;
	ldns_rr			*rr;
	uint8_t			*wire;
	size_t			 len;
	int			 ad, i;

	for (ad = 0; ad <= 1; ad++) {
		pkt = ldns_pkt_query_new(ldns_dname_new_frm_str("h.test"),
		    LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
		ldns_pkt_set_id(pkt, 33);
		ldns_pkt_set_qr(pkt, 1);
		ldns_pkt_set_ad(pkt, ad);
		for (i = 0; a[i] != NULL; i++) {
			ck_assert_int_eq(ldns_rr_new_frm_str(&rr, a[i], 0,
			    NULL, NULL), LDNS_STATUS_OK);
			ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
		}
		ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len),
		    LDNS_STATUS_OK);
		ldns_pkt_free(pkt);
		ck_assert_int_eq(dns_answer_parse(wire, len, 33, BW_DNS_T_A,
		    "h.test", res), DNS_PARSE_OK);
		ck_assert_uint_eq(res->status, BW_DNS_OK);
		ck_assert_uint_eq((res->flags & DNS_RESF_AD) != 0,
		    (unsigned)ad);
		free(wire);
	}
	/* NXDOMAIN with AD: a secure denial */
	pkt = ldns_pkt_query_new(ldns_dname_new_frm_str("n.test"),
	    LDNS_RR_TYPE_TLSA, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_pkt_set_id(pkt, 34);
	ldns_pkt_set_qr(pkt, 1);
	ldns_pkt_set_ad(pkt, 1);
	ldns_pkt_set_rcode(pkt, LDNS_RCODE_NXDOMAIN);
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	ck_assert_int_eq(dns_answer_parse(wire, len, 34, BW_DNS_T_TLSA,
	    "n.test", res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->status, BW_DNS_NXDOMAIN);
	ck_assert(res->flags & DNS_RESF_AD);
	free(wire);
	free(res);
}
END_TEST

/* TLSA: usual records whole; one of 8 KB cut and flagged, never more. */
START_TEST(parse_tlsa_sizes)
{
	static const char *const ok[] = {
		"_25._tcp.mx.test. 300 IN TLSA 3 1 1 "
		"0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef", NULL };
	struct dns_result	*res = malloc(sizeof(*res));
	const char		*big[2] = { NULL, NULL };
	char			*text;
	uint8_t			*wire;
	size_t			 len, i, n = 8192;

	len = pkt_build(&wire, 5, "_25._tcp.mx.test", BW_DNS_T_TLSA,
	    LDNS_RCODE_NOERROR, ok, NULL, 0);
	ck_assert_int_eq(dns_answer_parse(wire, len, 5, BW_DNS_T_TLSA,
	    "_25._tcp.mx.test", res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->nrr, 1);
	ck_assert_str_eq(res->rr[0].data, "3 1 1 "
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(res->rr[0].flags, 0);
	free(wire);

	text = malloc(64 + 2 * n);
	i = (size_t)snprintf(text, 64, "_25._tcp.mx.test. 300 IN TLSA 3 1 0 ");
	memset(text + i, 'a', 2 * n);
	text[i + 2 * n] = '\0';
	big[0] = text;
	len = pkt_build(&wire, 6, "_25._tcp.mx.test", BW_DNS_T_TLSA,
	    LDNS_RCODE_NOERROR, big, NULL, 0);
	ck_assert_int_eq(dns_answer_parse(wire, len, 6, BW_DNS_T_TLSA,
	    "_25._tcp.mx.test", res), DNS_PARSE_OK);
	ck_assert_uint_eq(res->nrr, 1);
	ck_assert(res->rr[0].flags & BW_DNS_RRF_TRUNCATED);
	ck_assert_uint_lt(strlen(res->rr[0].data), BW_DNS_RDATA_TEXT_MAX);
	ck_assert(strncmp(res->rr[0].data, "3 1 0 aaaa", 10) == 0);
	free(wire);
	free(text);
	free(res);
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite	*s = suite_create("dnscached");
	TCase	*tc;

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))
	tc = tcase_create("cache ttl expiry and clamps");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, cache_ttl_expiry, 0, NCASES(cache_ttl_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("cache keys, replace, flush");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, cache_keys);
	tcase_add_test(tc, cache_dnssec_apart);
	suite_add_tcase(s, tc);

	tc = tcase_create("DNSSEC: query flags, AD bit, TLSA sizes");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, query_build_dnssec);
	tcase_add_test(tc, parse_ad_bit);
	tcase_add_test(tc, parse_tlsa_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache eviction");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, cache_lru_eviction);
	tcase_add_test(tc, cache_byte_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("name normalisation");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, name_normalise, 0, NCASES(name_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse answers of every type");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, parse_answers, 0, NCASES(pkt_cases));
	tcase_add_test(tc, parse_too_many_records);
	tcase_add_test(tc, query_build_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("CNAME chain limit, MX cut to the best");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, parse_cname_chain_limit);
	tcase_add_loop_test(tc, parse_mx_keeps_lowest, 0,
	    NCASES(mx_cut_cases));
	tcase_add_test(tc, parse_mx_ties);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse mismatched answers");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, parse_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse hostile packets");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, parse_hostile, 0, NCASES(raw_cases));
	tcase_add_test(tc, parse_fuzz_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dns_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
