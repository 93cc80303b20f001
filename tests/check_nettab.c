/*
 * Unit tests of the network table (common/nettab.c): fixed cases for the
 * edges of the address space, merging and the IPv4/IPv6 mapping, and
 * random tables checked address by address against the linear
 * bw_net_match(), which defines the answers.  The random generator is
 * seeded, so a failure repeats.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "nettab.h"

#define RANDOM_TABLES	200	/* tables per random test */
#define RANDOM_NETS	300	/* networks per random table, at most */
#define RANDOM_PROBES	400	/* addresses probed per random table */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible from the seed, good enough for bits */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
sa_of(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
}

static struct bw_nettab *
table_of(const char **texts, size_t n, struct bw_net *nets)
{
	struct bw_nettab	*t;
	size_t			 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(bw_net_parse(texts[i], &nets[i]) == 0, "%s",
		    texts[i]);
	t = bw_nettab_new(nets, n);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* The table and the linear matcher agree on text; the table says want. */
static void
expect(const struct bw_nettab *t, const struct bw_net *nets, size_t n,
    const char *text, int want)
{
	struct sockaddr_storage	 ss;

	sa_of(text, &ss);
	ck_assert_msg(bw_nettab_match(t, (struct sockaddr *)&ss) == want,
	    "%s: table says %d", text, !want);
	ck_assert_msg(bw_net_match(nets, (int)n, (struct sockaddr *)&ss) ==
	    want, "%s: bw_net_match disagrees", text);
}

START_TEST(nettab_empty)
{
	struct bw_nettab	*t = bw_nettab_new(NULL, 0);
	struct sockaddr_storage	 ss;

	ck_assert_ptr_nonnull(t);
	sa_of("127.0.0.1", &ss);
	ck_assert_int_eq(bw_nettab_match(t, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(bw_nettab_match(NULL, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(bw_nettab_match(t, NULL), 0);
	ck_assert_uint_eq(bw_nettab_ranges(t), 0);
	bw_nettab_free(t);
	bw_nettab_free(NULL);
}
END_TEST

START_TEST(nettab_too_many)
{
	struct bw_net	 net;

	memset(&net, 0, sizeof(net));
	/* refused before the array is read */
	ck_assert_ptr_null(bw_nettab_new(&net, BW_NETTAB_MAX + 1));
	ck_assert_ptr_null(bw_nettab_new(&net, SIZE_MAX));
}
END_TEST

START_TEST(nettab_edges)
{
	const char *texts[] = {
		"10.0.0.0/8", "192.168.1.7", "2001:db8::/32",
		"::ffff:172.16.0.0/108", "fe80::1",
	};
	struct bw_net		 nets[5];
	struct bw_nettab	*t = table_of(texts, 5, nets);

	expect(t, nets, 5, "10.0.0.0", 1);
	expect(t, nets, 5, "10.255.255.255", 1);
	expect(t, nets, 5, "9.255.255.255", 0);
	expect(t, nets, 5, "11.0.0.0", 0);
	expect(t, nets, 5, "192.168.1.7", 1);
	expect(t, nets, 5, "192.168.1.6", 0);
	expect(t, nets, 5, "192.168.1.8", 0);
	/* an IPv4 network matches the mapped IPv6 form of its addresses */
	expect(t, nets, 5, "::ffff:10.1.2.3", 1);
	expect(t, nets, 5, "::ffff:11.1.2.3", 0);
	/* an IPv6 network over the mapped space matches IPv4 clients */
	expect(t, nets, 5, "172.16.5.5", 1);
	expect(t, nets, 5, "172.32.0.0", 0);
	/* but not the IPv4-compatible or the plain IPv6 form */
	expect(t, nets, 5, "::10.1.2.3", 0);
	expect(t, nets, 5, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1);
	expect(t, nets, 5, "2001:db9::", 0);
	expect(t, nets, 5, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0);
	expect(t, nets, 5, "fe80::1", 1);
	expect(t, nets, 5, "fe80::2", 0);
	expect(t, nets, 5, "::", 0);
	expect(t, nets, 5, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0);
	bw_nettab_free(t);
}
END_TEST

START_TEST(nettab_whole_space)
{
	const char *texts[] = { "::/0", "0.0.0.0/0" };
	struct bw_net		 nets[2];
	struct bw_nettab	*t = table_of(texts, 2, nets);

	/* 0.0.0.0/0 lies inside ::/0: one range, reaching the last address */
	ck_assert_uint_eq(bw_nettab_ranges(t), 1);
	expect(t, nets, 2, "::", 1);
	expect(t, nets, 2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1);
	expect(t, nets, 2, "255.255.255.255", 1);
	bw_nettab_free(t);
}
END_TEST

START_TEST(nettab_merge)
{
	const char *texts[] = {
		"10.0.0.128/25", "10.0.0.0/25",		/* adjacent halves */
		"10.0.1.0/24", "10.0.0.5",		/* adjacent, inside */
		"10.0.3.0/24",				/* gap at 10.0.2.x */
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", /* the end */
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	struct bw_net		 nets[7];
	struct bw_nettab	*t = table_of(texts, 7, nets);

	ck_assert_uint_eq(bw_nettab_ranges(t), 3);
	expect(t, nets, 7, "10.0.1.255", 1);
	expect(t, nets, 7, "10.0.2.0", 0);
	expect(t, nets, 7, "10.0.3.0", 1);
	expect(t, nets, 7, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1);
	expect(t, nets, 7, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", 0);
	bw_nettab_free(t);
}
END_TEST

START_TEST(nettab_other_families)
{
	const char *texts[] = { "0.0.0.0/0" };
	struct bw_net		 nets[2];
	struct bw_nettab	*t = table_of(texts, 1, nets);
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(bw_nettab_match(t, (struct sockaddr *)&sun), 0);
	bw_nettab_free(t);
	/* a network of no family (a zeroed entry) is skipped */
	memset(&nets[1], 0, sizeof(nets[1]));
	t = bw_nettab_new(nets, 2);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(bw_nettab_ranges(t), 1);
	bw_nettab_free(t);
}
END_TEST

/* A random network: mostly inside a few small regions so that tables
 * overlap, nest and touch, with short and long prefixes. */
static void
random_net(struct bw_net *net)
{
	uint64_t	 r = rng();
	int		 i, plen, max;

	memset(net, 0, sizeof(*net));
	net->family = (r & 3) == 0 ? AF_INET6 : AF_INET;
	max = net->family == AF_INET ? 32 : 128;
	for (i = 0; i < 16; i++)
		net->addr[i] = (unsigned char)rng();
	if (net->family == AF_INET) {
		net->addr[0] = (unsigned char)(10 + (r >> 8) % 3);
		net->addr[1] = (unsigned char)((r >> 16) % 4);
	} else if ((r >> 8) % 4 == 0) {
		/* over the mapped space */
		memset(net->addr, 0, 10);
		net->addr[10] = net->addr[11] = 0xff;
		net->addr[12] = (unsigned char)(10 + (r >> 16) % 3);
	} else {
		net->addr[0] = 0x20;
		net->addr[1] = 0x01;
		net->addr[2] = (unsigned char)((r >> 16) % 4);
	}
	switch ((r >> 24) % 4) {
	case 0:
		plen = (int)((r >> 32) % (unsigned)(max + 1));
		break;
	case 1:
		plen = max;
		break;
	default:
		plen = max - (int)((r >> 32) % 12);
		break;
	}
	net->prefixlen = plen;
	for (i = plen; i < max; i++)
		net->addr[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
}

/* An address near a network's edges or in the same regions. */
static void
random_probe(const struct bw_net *nets, size_t n, struct sockaddr_storage *ss)
{
	unsigned char	 a[16];
	uint64_t	 r = rng();
	const struct bw_net *net = &nets[(r >> 8) % n];
	int		 i, max = net->family == AF_INET ? 32 : 128;

	memcpy(a, net->addr, 16);
	switch (r % 4) {
	case 0:		/* the first address, or the one before it */
		if (r & 16)	/* minus one: borrow until a 1 bit */
			for (i = max - 1; i >= 0; i--)
				if (((a[i / 8] ^= (unsigned char)(0x80 >>
				    (i % 8))) & (0x80 >> (i % 8))) == 0)
					break;
		break;
	case 1:		/* the last address, or the one after it */
		for (i = net->prefixlen; i < max; i++)
			a[i / 8] |= (unsigned char)(0x80 >> (i % 8));
		if (r & 16)	/* plus one: carry until a 0 bit */
			for (i = max - 1; i >= 0; i--)
				if (((a[i / 8] ^= (unsigned char)(0x80 >>
				    (i % 8))) & (0x80 >> (i % 8))) != 0)
					break;
		break;
	default:	/* anywhere after the first few bits */
		for (i = 20; i < max; i++)
			if (rng() & 1)
				a[i / 8] ^= (unsigned char)(0x80 >> (i % 8));
		break;
	}
	memset(ss, 0, sizeof(*ss));
	if (net->family == AF_INET && !(r & 32)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		static const unsigned char m[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		s6->sin6_family = AF_INET6;
		if (net->family == AF_INET) {	/* its mapped form */
			memcpy(&s6->sin6_addr, m, 12);
			memcpy((unsigned char *)&s6->sin6_addr + 12, a, 4);
		} else
			memcpy(&s6->sin6_addr, a, 16);
	}
}

START_TEST(nettab_random_against_linear)
{
	static struct bw_net	 nets[RANDOM_NETS];
	struct sockaddr_storage	 ss;
	struct bw_nettab	*t;
	size_t			 n, j;
	int			 k, hits = 0, misses = 0, want;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (k = 0; k < RANDOM_TABLES; k++) {
		n = 1 + rng() % RANDOM_NETS;
		for (j = 0; j < n; j++)
			random_net(&nets[j]);
		t = bw_nettab_new(nets, n);
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_le(bw_nettab_ranges(t), n);
		for (j = 0; j < RANDOM_PROBES; j++) {
			random_probe(nets, n, &ss);
			want = bw_net_match(nets, (int)n,
			    (struct sockaddr *)&ss);
			ck_assert_msg(bw_nettab_match(t,
			    (struct sockaddr *)&ss) == want,
			    "table %d (%zu nets), probe %zu: want %d", k, n, j,
			    want);
			if (want)
				hits++;
			else
				misses++;
		}
		bw_nettab_free(t);
	}
	/* the probes reach both answers often, or the test proves little */
	ck_assert_int_gt(hits, RANDOM_TABLES * RANDOM_PROBES / 10);
	ck_assert_int_gt(misses, RANDOM_TABLES * RANDOM_PROBES / 10);
}
END_TEST

START_TEST(nettab_large)
{
	struct bw_net		*nets;
	struct bw_nettab	*t;
	struct sockaddr_storage	 ss;
	size_t			 i, n = 100000;
	char			 text[64];

	/* 100,000 disjoint /32s: 10.x.y.(2z), every other address */
	nets = calloc(n, sizeof(*nets));
	ck_assert_ptr_nonnull(nets);
	for (i = 0; i < n; i++) {
		nets[i].family = AF_INET;
		nets[i].addr[0] = 10;
		nets[i].addr[1] = (unsigned char)(i >> 15);
		nets[i].addr[2] = (unsigned char)(i >> 7);
		nets[i].addr[3] = (unsigned char)((i & 127) * 2);
		nets[i].prefixlen = 32;
	}
	t = bw_nettab_new(nets, n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(bw_nettab_ranges(t), n);
	for (i = 0; i < n; i += 997) {
		snprintf(text, sizeof(text), "10.%zu.%zu.%zu", (i >> 15) & 255,
		    (i >> 7) & 255, (i & 127) * 2);
		sa_of(text, &ss);
		ck_assert(bw_nettab_match(t, (struct sockaddr *)&ss));
		snprintf(text, sizeof(text), "10.%zu.%zu.%zu", (i >> 15) & 255,
		    (i >> 7) & 255, (i & 127) * 2 + 1);
		sa_of(text, &ss);
		ck_assert(!bw_nettab_match(t, (struct sockaddr *)&ss));
	}
	bw_nettab_free(t);
	free(nets);
}
END_TEST

static Suite *
nettab_suite(void)
{
	Suite	*s = suite_create("nettab");
	TCase	*tc = tcase_create("nettab");

	tcase_add_test(tc, nettab_empty);
	tcase_add_test(tc, nettab_too_many);
	tcase_add_test(tc, nettab_edges);
	tcase_add_test(tc, nettab_whole_space);
	tcase_add_test(tc, nettab_merge);
	tcase_add_test(tc, nettab_other_families);
	tcase_add_test(tc, nettab_random_against_linear);
	tcase_add_test(tc, nettab_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(nettab_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
