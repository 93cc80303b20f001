/*
 * Fuzz target: DNS answers from upstream servers (dnscached/dnscached_parse.c).
 *
 * The input is one answer packet as it arrives over UDP or TCP.  To get
 * past the question check, the harness asks the question the packet
 * claims to answer: its id, and the type and name of its question when
 * ldns can read one (else an MX question for example.org).  Then
 * dns_answer_parse() as dnscached calls it, and a usable answer goes
 * through the cache (put, get) as it would.
 *
 * Checked beyond "no crash": a parse code of the enum; an OK answer
 * has a status of the enum, at most BW_DNS_RR_MAX records, each a
 * terminated text of its type (A/AAAA parse back, MX/PTR names are
 * normalised, MX sorted by preference); the cache gives back the same
 * records, and takes no CNAME_LOOP.  The input's bytes, read as a list
 * of MX preferences in wire order, also go through dns_mx_keep() and
 * dns_mx_sort(): the BW_DNS_RR_MAX lowest must be kept, ties in wire
 * order, whatever that order.
 */
#include "bw_autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "util.h"
#include "dnscached.h"
#include "fuzz.h"

#define FUZZ_DNS_CACHE_ENTRIES	16
#define FUZZ_DNS_CACHE_BYTES	(1024 * 1024)

static uint64_t
fuzz_dns_clock(void)
{
	return 1000000;
}

/* The question the packet answers, if ldns can read one. */
static void
fuzz_dns_question(const uint8_t *data, size_t size, uint16_t *id,
    uint16_t *qtype, char *name, size_t namesz)
{
	ldns_pkt	*pkt = NULL;
	ldns_rr_list	*q;
	ldns_rr		*rr;
	char		*s;

	*id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	*qtype = BW_DNS_T_MX;
	strlcpy(name, "example.org", namesz);
	if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK)
		return;
	if ((q = ldns_pkt_question(pkt)) != NULL &&
	    ldns_rr_list_rr_count(q) > 0 &&
	    (rr = ldns_rr_list_rr(q, 0)) != NULL) {
		*qtype = (uint16_t)ldns_rr_get_type(rr);
		if ((s = ldns_rdf2str(ldns_rr_owner(rr))) != NULL) {
			if (dns_name_normalise(name, namesz, s,
			    strlen(s)) == -1)
				strlcpy(name, "example.org", namesz);
			free(s);
		}
	}
	ldns_pkt_free(pkt);
}

/* One record as dnscached hands it to its clients. */
static void
fuzz_dns_rr(const struct bw_dns_rr *rr, uint16_t qtype)
{
	unsigned char	 bin[16];
	char		 norm[BW_DOMAIN_MAX + 1];
	size_t		 len;

	FUZZ_CHECK(memchr(rr->data, '\0', sizeof(rr->data)) != NULL);
	FUZZ_CHECK(rr->type == qtype);
	len = strlen(rr->data);
	switch (qtype) {
	case BW_DNS_T_A:
		FUZZ_CHECK(inet_pton(AF_INET, rr->data, bin) == 1);
		break;
	case BW_DNS_T_AAAA:
		FUZZ_CHECK(inet_pton(AF_INET6, rr->data, bin) == 1);
		break;
	case BW_DNS_T_MX:
	case BW_DNS_T_PTR:
		FUZZ_CHECK(len <= BW_DOMAIN_MAX);
		FUZZ_CHECK(dns_name_normalise(norm, sizeof(norm), rr->data,
		    len) == 0 && strcmp(norm, rr->data) == 0);
		break;
	default:
		break;
	}
}

static void
fuzz_dns_cache(uint16_t qtype, const char *name, const struct dns_result *res)
{
	struct dns_cache	*c;
	struct dns_result	*got;
	uint32_t		 i;

	if ((got = malloc(sizeof(*got))) == NULL ||
	    (c = dns_cache_new(FUZZ_DNS_CACHE_ENTRIES, FUZZ_DNS_CACHE_BYTES,
	    fuzz_dns_clock)) == NULL)
		abort();
	if (res->status == BW_DNS_CNAME_LOOP)
		FUZZ_CHECK(dns_cache_put(c, qtype, 0, name, res) == -1);
	else if (dns_cache_put(c, qtype, 0, name, res) == 0) {
		FUZZ_CHECK(dns_cache_get(c, qtype, 0, name, got) == 1);
		FUZZ_CHECK(got->status == res->status);
		FUZZ_CHECK(got->nrr == (res->status == BW_DNS_OK ?
		    res->nrr : 0));
		for (i = 0; i < got->nrr; i++) {
			FUZZ_CHECK(got->rr[i].type == res->rr[i].type);
			FUZZ_CHECK(got->rr[i].preference ==
			    res->rr[i].preference);
			FUZZ_CHECK(strcmp(got->rr[i].data,
			    res->rr[i].data) == 0);
		}
	}
	dns_cache_free(c);
	free(got);
}

/* MX preferences in wire order: what dns_mx_keep() keeps. */
static int
fuzz_mx_cmp(const void *a, const void *b)
{
	const uint32_t	*x = a, *y = b;	/* preference << 16 | wire index */

	return (*x > *y) - (*x < *y);
}

static void
fuzz_mx_keep(const uint8_t *data, size_t size)
{
	struct dns_result	*res;
	struct bw_dns_rr	 rr;
	uint32_t		 seq[BW_DNS_RR_MAX], want[256];
	uint32_t		 i, n;

	n = (uint32_t)(size / 2 < 256 ? size / 2 : 256);
	if ((res = calloc(1, sizeof(*res))) == NULL)
		abort();
	memset(&rr, 0, sizeof(rr));
	rr.type = BW_DNS_T_MX;
	for (i = 0; i < n; i++) {
		/* few distinct values: ties are common */
		rr.preference = (uint16_t)(data[2 * i] % 16 * 10);
		snprintf(rr.data, sizeof(rr.data), "mx%u.example", i);
		dns_mx_keep(res, seq, &rr, i);
		want[i] = (uint32_t)rr.preference << 16 | i;
	}
	dns_mx_sort(res, seq);
	qsort(want, n, sizeof(want[0]), fuzz_mx_cmp);
	FUZZ_CHECK(res->nrr == (n < BW_DNS_RR_MAX ? n : BW_DNS_RR_MAX));
	FUZZ_CHECK(((res->flags & BW_DNS_ANSF_TRUNCATED) != 0) ==
	    (n > BW_DNS_RR_MAX));
	for (i = 0; i < res->nrr; i++) {
		char	 name[32];

		snprintf(name, sizeof(name), "mx%u.example", want[i] & 0xffff);
		FUZZ_CHECK(res->rr[i].preference == want[i] >> 16);
		FUZZ_CHECK(strcmp(res->rr[i].data, name) == 0);
	}
	free(res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_result	*res;
	char			 name[BW_DOMAIN_MAX + 1];
	uint16_t		 id, qtype;
	uint32_t		 i;
	int			 code;

	/* a DNS message is at most 64 KiB, even over TCP */
	if (size > DNS_TCP_MSG_MAX)
		size = DNS_TCP_MSG_MAX;
	fuzz_dns_question(data, size, &id, &qtype, name, sizeof(name));
	if (!dns_qtype_supported(qtype))
		qtype = BW_DNS_T_MX;
	if ((res = malloc(sizeof(*res))) == NULL)
		abort();
	code = dns_answer_parse(data, size, id, qtype, name, res);
	FUZZ_CHECK(code >= DNS_PARSE_OK && code <= DNS_PARSE_FORMERR);
	FUZZ_CHECK(strcmp(dns_parse_code_name(code), "?") != 0);
	if (code == DNS_PARSE_OK) {
		FUZZ_CHECK(res->status == BW_DNS_OK ||
		    res->status == BW_DNS_NXDOMAIN ||
		    res->status == BW_DNS_NODATA ||
		    res->status == BW_DNS_CNAME_LOOP);
		FUZZ_CHECK((res->status == BW_DNS_OK) == (res->nrr > 0));
		FUZZ_CHECK(res->nrr <= BW_DNS_RR_MAX);
		for (i = 0; i < res->nrr; i++) {
			fuzz_dns_rr(&res->rr[i], qtype);
			if (qtype == BW_DNS_T_MX && i > 0)
				FUZZ_CHECK(res->rr[i - 1].preference <=
				    res->rr[i].preference);
		}
		fuzz_dns_cache(qtype, name, res);
	}
	free(res);
	fuzz_mx_keep(data, size);
	return 0;
}
