/*
 * Unit tests of the per-host counters (common/hostcount.c): addresses and
 * their folding, the connection limit, fixed windows and their reopen
 * time, per-owner accounting and owner_gone, expiry of idle hosts, the
 * bound on hosts (eviction, overflow), the listing order, hostile sizes,
 * and random operations against a plain reference.  Random sequences
 * come from a fixed seed, so a failure repeats.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "hostcount.h"

#define T_IDLE		10000		/* ms, idle_expire of most tests */
#define T_MAX		1000		/* hosts, max_entries of most tests */
#define T_RAND_HOSTS	50
#define T_RAND_OWNERS	4
#define T_RAND_OPS	200000
#define T_MANY		200000		/* hosts of the large test */

static uint64_t	 t_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
t_rand(void)
{
	/* xorshift64*: reproducible */
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return (uint32_t)((t_rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* 10.x.y.z for host number i. */
static struct bw_hc_addr
t_v4(uint32_t i)
{
	struct bw_hc_addr	 a;
	uint8_t			 b[16];

	memset(b, 0, sizeof(b));
	b[0] = 10;
	b[1] = (uint8_t)(i >> 16);
	b[2] = (uint8_t)(i >> 8);
	b[3] = (uint8_t)i;
	ck_assert_int_eq(bw_hc_addr_set(&a, BW_HC_FAMILY_INET, b), 0);
	return a;
}

static struct bw_hostcount *
t_new(size_t max, uint64_t idle)
{
	struct bw_hostcount	*t = bw_hostcount_new(max, idle);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* A take that must not fail (valid arguments). */
static struct bw_hc_result
t_take(struct bw_hostcount *t, const struct bw_hc_addr *a, int kind,
    uint32_t n, uint64_t limit, uint64_t window, uint32_t owner, uint64_t now)
{
	struct bw_hc_result	 r;

	ck_assert_int_eq(bw_hostcount_take(t, a, kind, n, limit, window,
	    owner, NULL, now, &r), 0);
	return r;
}

static uint64_t
t_conns(struct bw_hostcount *t, const struct bw_hc_addr *a)
{
	struct bw_hc_row	 row;

	if (bw_hostcount_get(t, a, 0, &row) == -1)
		return UINT64_MAX;
	return row.conns;
}

static struct bw_hc_stats
t_stats(struct bw_hostcount *t)
{
	struct bw_hc_stats	 st;

	bw_hostcount_stats(t, &st);
	return st;
}

/* ---- addresses ---- */

START_TEST(addr_fold_and_text)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		 sa;
	struct bw_hc_addr	 a, b;
	char			 buf[64];
	uint8_t			 raw[16];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	ck_assert_int_eq(bw_hc_addr_from_sockaddr(&a,
	    (struct sockaddr *)&sin), 0);
	ck_assert_int_eq(a.family, BW_HC_FAMILY_INET);
	ck_assert_str_eq(bw_hc_addr_text(&a, buf, sizeof(buf)), "192.0.2.7");

	/* ::ffff:192.0.2.7 is the same host */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	ck_assert_int_eq(bw_hc_addr_from_sockaddr(&b,
	    (struct sockaddr *)&sin6), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);

	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	ck_assert_int_eq(bw_hc_addr_from_sockaddr(&b,
	    (struct sockaddr *)&sin6), 0);
	ck_assert_int_eq(b.family, BW_HC_FAMILY_INET6);
	ck_assert_str_eq(bw_hc_addr_text(&b, buf, sizeof(buf)),
	    "2001:db8::1");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_int_eq(bw_hc_addr_from_sockaddr(&b, &sa), -1);

	/* wire form: an IPv4 key's unused bytes are zeroed, other
	 * families refused */
	memset(raw, 0xee, sizeof(raw));
	raw[0] = 192, raw[1] = 0, raw[2] = 2, raw[3] = 7;
	ck_assert_int_eq(bw_hc_addr_set(&b, BW_HC_FAMILY_INET, raw), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_int_eq(bw_hc_addr_set(&b, 0, raw), -1);
	ck_assert_int_eq(bw_hc_addr_set(&b, 5, raw), -1);
	ck_assert_int_eq(bw_hc_addr_set(&b, AF_INET6, raw), -1);
}
END_TEST

START_TEST(addr_garbage_bytes_same_host)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1), b = a;

	/* a caller's struct with bytes set past the IPv4 address */
	memset(b.addr + 4, 0x55, 12);
	(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, 100);
	(void)t_take(t, &b, BW_HC_CONN, 1, 0, 0, 1, 100);
	ck_assert_uint_eq(t_conns(t, &a), 2);
	ck_assert_uint_eq(t_stats(t).hosts, 1);
	ck_assert_int_eq(bw_hostcount_release(t, &b, BW_HC_CONN, 1, 100), 0);
	ck_assert_uint_eq(t_conns(t, &a), 1);
	bw_hostcount_free(t);
}
END_TEST

/* ---- connections ---- */

START_TEST(conn_limit_and_release)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1), b = t_v4(2);
	struct bw_hc_result	 r;
	struct bw_hc_row	 row;
	int			 i;

	for (i = 1; i <= 3; i++) {
		r = t_take(t, &a, BW_HC_CONN, 1, 3, 0, 7, 100);
		ck_assert_int_eq(r.granted, 1);
		ck_assert_int_eq(r.remembered, 1);
		ck_assert_uint_eq(r.count, (uint64_t)i);
	}
	r = t_take(t, &a, BW_HC_CONN, 1, 3, 0, 7, 100);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_uint_eq(r.reopen_at, 0);
	/* another host is not affected */
	r = t_take(t, &b, BW_HC_CONN, 1, 3, 0, 7, 100);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 1);
	/* one ends: one more may come */
	ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_CONN, 7, 200), 0);
	r = t_take(t, &a, BW_HC_CONN, 1, 3, 0, 7, 300);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 3);
	/* limit 0 counts without refusing */
	r = t_take(t, &a, BW_HC_CONN, 1, 0, 0, 7, 300);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 4);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 300, &row), 0);
	ck_assert_uint_eq(row.conns, 4);
	ck_assert_uint_eq(row.total_conns, 5);
	ck_assert_uint_eq(row.refused, 1);
	ck_assert_uint_eq(row.last_seen, 300);
	ck_assert_uint_eq(t_stats(t).refusals, 1);
	ck_assert_uint_eq(t_stats(t).takes, 7);
	/* a release nobody holds: refused, counted, nothing changes */
	ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_CONN, 8, 300), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_MSG, 7, 300), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(t_conns(t, &a), 4);
	ck_assert_uint_eq(t_stats(t).releases_unknown, 1);
	/* hosts with a connection now: a and b, then b alone */
	ck_assert_uint_eq(t_stats(t).connected, 2);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_CONN, 7,
		    400), 0);
	ck_assert_uint_eq(t_stats(t).connected, 1);
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 7, 500), 1);
	ck_assert_uint_eq(t_stats(t).connected, 0);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(conn_owner_gone)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1), b = t_v4(2);

	(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, 10);
	(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, 10);
	(void)t_take(t, &b, BW_HC_CONN, 1, 0, 0, 1, 10);
	(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 2, 10);
	ck_assert_uint_eq(t_stats(t).owners, 2);
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 1, 20), 3);
	ck_assert_uint_eq(t_conns(t, &a), 1);
	ck_assert_uint_eq(t_conns(t, &b), 0);
	ck_assert_uint_eq(t_stats(t).owners, 1);
	/* its connections are gone: a late release finds nothing */
	ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_CONN, 1, 30), -1);
	ck_assert_uint_eq(t_conns(t, &a), 1);
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 1, 30), 0);
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 99, 30), 0);
	/* the other owner's connection stays until it goes */
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 2, 40), 1);
	ck_assert_uint_eq(t_conns(t, &a), 0);
	ck_assert_uint_eq(t_stats(t).owners, 0);
	/* the hosts are remembered, quiet, until they expire */
	ck_assert_uint_eq(t_stats(t).hosts, 2);
	ck_assert_uint_eq(bw_hostcount_expire(t, 20 + T_IDLE - 1, 100), 0);
	ck_assert_uint_eq(bw_hostcount_expire(t, 40 + T_IDLE, 100), 2);
	bw_hostcount_free(t);
}
END_TEST

/* ---- windows ---- */

START_TEST(window_limit_and_reopen)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1);
	struct bw_hc_result	 r;
	struct bw_hc_row	 row;
	int			 i;

	for (i = 1; i <= 3; i++) {
		r = t_take(t, &a, BW_HC_MSG, 1, 3, 1000, 0, 5000 + i);
		ck_assert_int_eq(r.granted, 1);
		ck_assert_uint_eq(r.count, (uint64_t)i);
		ck_assert_uint_eq(r.reopen_at, 0);
	}
	/* the window opened at the first count: it reopens at 6001 */
	r = t_take(t, &a, BW_HC_MSG, 1, 3, 1000, 0, 5500);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_uint_eq(r.reopen_at, 6001);
	r = t_take(t, &a, BW_HC_MSG, 1, 3, 1000, 0, 6000);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.reopen_at, 6001);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 6000, &row), 0);
	ck_assert_uint_eq(row.win_msgs, 3);
	ck_assert_uint_eq(row.total_msgs, 3);
	ck_assert_uint_eq(row.refused, 2);
	/* closed: the listing says 0 in this window, totals stay */
	ck_assert_int_eq(bw_hostcount_get(t, &a, 6001, &row), 0);
	ck_assert_uint_eq(row.win_msgs, 0);
	r = t_take(t, &a, BW_HC_MSG, 1, 3, 1000, 0, 6001);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 6001, &row), 0);
	ck_assert_uint_eq(row.win_msgs, 1);
	ck_assert_uint_eq(row.total_msgs, 4);
	/* the recipients window is its own */
	ck_assert_uint_eq(row.win_rcpts, 0);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(window_n_and_limits)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1);
	struct bw_hc_result	 r;
	struct bw_hc_row	 row;

	r = t_take(t, &a, BW_HC_RCPT, 2, 3, 60000, 0, 100);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 2);
	/* 2 more would be 4: refused whole, nothing counted */
	r = t_take(t, &a, BW_HC_RCPT, 2, 3, 60000, 0, 200);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(r.reopen_at, 60100);
	r = t_take(t, &a, BW_HC_RCPT, 1, 3, 60000, 0, 300);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 3);
	/* more than the limit at once never fits */
	r = t_take(t, &a, BW_HC_MSG, 5, 3, 60000, 0, 300);
	ck_assert_int_eq(r.granted, 0);
	/* limit 0: counted, never refused */
	r = t_take(t, &a, BW_HC_RCPT, 1000, 0, 60000, 0, 400);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 1003);
	/* a larger limit from another policy applies to the same window */
	r = t_take(t, &a, BW_HC_RCPT, 1, 2000, 60000, 0, 500);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, 1004);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 500, &row), 0);
	ck_assert_uint_eq(row.total_rcpts, 1004);
	ck_assert_uint_eq(row.total_msgs, 0);
	/* the largest limit and n */
	r = t_take(t, &a, BW_HC_MSG, BW_HC_N_MAX, INT64_MAX, 1, 0, 600);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_uint_eq(r.count, BW_HC_N_MAX);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(window_length_and_clock)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1);
	struct bw_hc_result	 r;

	(void)t_take(t, &a, BW_HC_MSG, 1, 1, 1000, 0, 10000);
	/* an open window keeps the length it opened with */
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 5000, 0, 10500);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.reopen_at, 11000);
	/* the next one opens with the new length */
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 5000, 0, 11000);
	ck_assert_int_eq(r.granted, 1);
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 5000, 0, 15999);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.reopen_at, 16000);
	/* the clock went back: a new window opens, none stays open long */
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 5000, 0, 3000);
	ck_assert_int_eq(r.granted, 1);
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 5000, 0, 3001);
	ck_assert_int_eq(r.granted, 0);
	ck_assert_uint_eq(r.reopen_at, 8000);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(labels_kept_and_cut)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1);
	struct bw_hc_labels	 l;
	struct bw_hc_result	 r;
	struct bw_hc_row	 row;
	char			 big[1000];

	memset(big, 'g', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	l.group = big;
	l.policy = "throttled";
	l.score = "-3.5";
	ck_assert_int_eq(bw_hostcount_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, &l,
	    10, &r), 0);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 10, &row), 0);
	ck_assert_uint_eq(strlen(row.group), BW_HC_LABEL_MAX - 1);
	ck_assert_str_eq(row.policy, "throttled");
	ck_assert_str_eq(row.score, "-3.5");
	/* NULL keeps the old text; a new text replaces it */
	l.group = NULL;
	l.policy = NULL;
	l.score = "none";
	ck_assert_int_eq(bw_hostcount_take(t, &a, BW_HC_RCPT, 1, 0, 10, 1, &l,
	    20, &r), 0);
	ck_assert_int_eq(bw_hostcount_get(t, &a, 20, &row), 0);
	ck_assert_str_eq(row.policy, "throttled");
	ck_assert_str_eq(row.score, "none");
	bw_hostcount_free(t);
}
END_TEST

/* ---- hostile arguments ---- */

START_TEST(hostile_sizes_refused)
{
	static const struct {
		int		 kind;
		uint32_t	 n;
		uint64_t	 limit;
		uint64_t	 window;
	} bad[] = {
		{ -1, 1, 0, 1000 },
		{ BW_HC__KINDS, 1, 0, 1000 },
		{ 1000000, 1, 0, 1000 },
		{ BW_HC_MSG, 0, 0, 1000 },
		{ BW_HC_MSG, BW_HC_N_MAX + 1, 0, 1000 },
		{ BW_HC_MSG, UINT32_MAX, 0, 1000 },
		{ BW_HC_MSG, 1, 0, 0 },
		{ BW_HC_MSG, 1, 5, 0 },
		{ BW_HC_RCPT, 1, 0, BW_HC_WINDOW_MAX_MS + 1 },
		{ BW_HC_RCPT, 1, 0, UINT64_MAX },
		{ BW_HC_RCPT, 1, (uint64_t)INT64_MAX + 1, 1000 },
		{ BW_HC_RCPT, 1, UINT64_MAX, 1000 },
		{ BW_HC_CONN, 0, 0, 0 },
		{ BW_HC_CONN, 2, 0, 0 },
		{ BW_HC_CONN, UINT32_MAX, 0, 0 },
		{ BW_HC_CONN, 1, UINT64_MAX, 0 },
	};
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a = t_v4(1), odd = a;
	struct bw_hc_result	 r;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_msg(bw_hostcount_take(t, &a, bad[i].kind, bad[i].n,
		    bad[i].limit, bad[i].window, 1, NULL, 10, &r) == -1,
		    "case %zu accepted", i);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(r.granted, 0);
	}
	odd.family = 0;
	ck_assert_int_eq(bw_hostcount_take(t, &odd, BW_HC_CONN, 1, 0, 0, 1,
	    NULL, 10, &r), -1);
	odd.family = 255;
	ck_assert_int_eq(bw_hostcount_take(t, &odd, BW_HC_CONN, 1, 0, 0, 1,
	    NULL, 10, &r), -1);
	ck_assert_int_eq(bw_hostcount_release(t, &odd, BW_HC_CONN, 1, 10), -1);
	ck_assert_int_eq(bw_hostcount_get(t, &odd, 10, NULL), -1);
	/* nothing was counted or remembered */
	ck_assert_uint_eq(t_stats(t).takes, 0);
	ck_assert_uint_eq(t_stats(t).hosts, 0);
	/* the limits' edges are fine */
	r = t_take(t, &a, BW_HC_RCPT, 1, 0, BW_HC_WINDOW_MAX_MS, 0, 10);
	ck_assert_int_eq(r.granted, 1);
	r = t_take(t, &a, BW_HC_CONN, 1, INT64_MAX, 0, UINT32_MAX, 10);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_ptr_null(bw_hostcount_new(0, 1));
	ck_assert_ptr_null(bw_hostcount_new(BW_HC_ENTRIES_MAX + 1, 1));
	bw_hostcount_free(t);
	bw_hostcount_free(NULL);
}
END_TEST

/* ---- expiry and the bound ---- */

START_TEST(expire_idle_hosts)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 quiet = t_v4(1), busy = t_v4(2);
	struct bw_hc_addr	 win = t_v4(3), late = t_v4(4);
	struct bw_hc_row	 row;

	(void)t_take(t, &quiet, BW_HC_MSG, 1, 0, 1000, 0, 0);
	(void)t_take(t, &busy, BW_HC_CONN, 1, 0, 0, 1, 0);
	/* a window longer than the idle time keeps its host */
	(void)t_take(t, &win, BW_HC_RCPT, 1, 0, 3 * T_IDLE, 0, 0);
	(void)t_take(t, &late, BW_HC_MSG, 1, 0, 1000, 0, 5000);
	ck_assert_uint_eq(bw_hostcount_expire(t, T_IDLE - 1, 100), 0);
	ck_assert_uint_eq(bw_hostcount_expire(t, T_IDLE, 100), 1);
	ck_assert_int_eq(bw_hostcount_get(t, &quiet, T_IDLE, &row), -1);
	ck_assert_int_eq(bw_hostcount_get(t, &busy, T_IDLE, &row), 0);
	ck_assert_int_eq(bw_hostcount_get(t, &win, T_IDLE, &row), 0);
	ck_assert_uint_eq(bw_hostcount_expire(t, 5000 + T_IDLE, 100), 1);
	ck_assert_int_eq(bw_hostcount_get(t, &late, T_IDLE, &row), -1);
	/* a connection is never forgotten, however old */
	ck_assert_uint_eq(bw_hostcount_expire(t, 100 * T_IDLE, 100), 1);
	ck_assert_int_eq(bw_hostcount_get(t, &win, 0, &row), -1);
	ck_assert_uint_eq(t_conns(t, &busy), 1);
	/* released, it is young again: forgotten idle_ms later */
	ck_assert_int_eq(bw_hostcount_release(t, &busy, BW_HC_CONN, 1,
	    100 * T_IDLE), 0);
	ck_assert_uint_eq(bw_hostcount_expire(t, 101 * T_IDLE - 1, 100), 0);
	ck_assert_uint_eq(bw_hostcount_expire(t, 101 * T_IDLE, 100), 1);
	ck_assert_uint_eq(t_stats(t).hosts, 0);
	ck_assert_uint_eq(t_stats(t).expired, 4);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(expire_bounded_steps)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_addr	 a;
	uint32_t		 i;

	for (i = 0; i < 500; i++) {
		a = t_v4(i);
		(void)t_take(t, &a, BW_HC_MSG, 1, 0, 10, 0, i);
	}
	/* touching a host makes it young */
	a = t_v4(0);
	(void)t_take(t, &a, BW_HC_MSG, 1, 0, 10, 0, 600);
	ck_assert_uint_eq(bw_hostcount_expire(t, 10599, 100), 100);
	ck_assert_uint_eq(t_stats(t).hosts, 400);
	ck_assert_uint_eq(bw_hostcount_expire(t, 10599, 1000), 399);
	ck_assert_uint_eq(t_stats(t).hosts, 1);
	ck_assert_uint_eq(t_conns(t, &a), 0);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(bound_evicts_lru)
{
	struct bw_hostcount	*t = t_new(16, T_IDLE);
	struct bw_hc_addr	 a;
	struct bw_hc_result	 r;
	uint32_t		 i;

	for (i = 0; i < 16; i++) {
		a = t_v4(i);
		(void)t_take(t, &a, BW_HC_MSG, 1, 0, 1000, 0, i);
	}
	/* host 0 seen again: host 1 is now the least recently used */
	a = t_v4(0);
	(void)t_take(t, &a, BW_HC_MSG, 1, 0, 1000, 0, 100);
	a = t_v4(100);
	r = t_take(t, &a, BW_HC_MSG, 1, 0, 1000, 0, 101);
	ck_assert_int_eq(r.remembered, 1);
	ck_assert_uint_eq(t_stats(t).hosts, 16);
	ck_assert_uint_eq(t_stats(t).evicted, 1);
	a = t_v4(1);
	ck_assert_uint_eq(t_conns(t, &a), UINT64_MAX);	/* gone */
	a = t_v4(0);
	ck_assert_uint_eq(t_conns(t, &a), 0);		/* kept */
	bw_hostcount_free(t);
}
END_TEST

START_TEST(bound_overflow_when_all_connected)
{
	struct bw_hostcount	*t = t_new(16, T_IDLE);
	struct bw_hc_addr	 a;
	struct bw_hc_result	 r;
	struct bw_hc_stats	 st;
	uint32_t		 i;

	for (i = 0; i < 16; i++) {
		a = t_v4(i);
		(void)t_take(t, &a, BW_HC_CONN, 1, 1, 0, 1, i);
	}
	/* no host can go: granted, not remembered, counted */
	a = t_v4(500);
	r = t_take(t, &a, BW_HC_CONN, 1, 1, 0, 1, 50);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_int_eq(r.remembered, 0);
	r = t_take(t, &a, BW_HC_MSG, 1, 1, 1000, 1, 50);
	ck_assert_int_eq(r.granted, 1);
	ck_assert_int_eq(r.remembered, 0);
	st = t_stats(t);
	ck_assert_uint_eq(st.overflow, 2);
	ck_assert_uint_eq(st.hosts, 16);
	ck_assert_int_eq(bw_hostcount_release(t, &a, BW_HC_CONN, 1, 60), -1);
	/* the connected hosts still refuse their second connection */
	a = t_v4(3);
	r = t_take(t, &a, BW_HC_CONN, 1, 1, 0, 1, 60);
	ck_assert_int_eq(r.granted, 0);
	/* one owner goes: its hosts may be evicted again */
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 1, 70), 16);
	a = t_v4(500);
	r = t_take(t, &a, BW_HC_CONN, 1, 1, 0, 2, 80);
	ck_assert_int_eq(r.remembered, 1);
	ck_assert_uint_eq(t_stats(t).evicted, 1);
	bw_hostcount_free(t);
}
END_TEST

START_TEST(bound_lowered)
{
	struct bw_hostcount	*t = t_new(100, T_IDLE);
	struct bw_hc_addr	 a;
	uint32_t		 i;

	for (i = 0; i < 100; i++) {
		a = t_v4(i);
		(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, i);
		if (i >= 10)
			ck_assert_int_eq(bw_hostcount_release(t, &a,
			    BW_HC_CONN, 1, i), 0);
	}
	bw_hostcount_set_bounds(t, 20, T_IDLE);
	ck_assert_uint_eq(bw_hostcount_expire(t, 200, 30), 30);
	ck_assert_uint_eq(t_stats(t).hosts, 70);
	(void)bw_hostcount_expire(t, 200, 1000);
	ck_assert_uint_eq(t_stats(t).hosts, 20);
	/* the ten connected ones and the ten seen last */
	for (i = 0; i < 10; i++) {
		a = t_v4(i);
		ck_assert_uint_eq(t_conns(t, &a), 1);
		a = t_v4(90 + i);
		ck_assert_uint_eq(t_conns(t, &a), 0);
	}
	bw_hostcount_free(t);
}
END_TEST

/* ---- listing ---- */

START_TEST(top_order)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	struct bw_hc_row	 rows[200];
	struct bw_hc_addr	 a;
	size_t			 n, i;
	uint32_t		 h, k;

	/* host h: h % 7 connections now, h % 13 more in the past */
	for (h = 0; h < 150; h++) {
		a = t_v4(h);
		for (k = 0; k < h % 13 + h % 7; k++)
			(void)t_take(t, &a, BW_HC_CONN, 1, 0, 0, 1, 10);
		for (k = 0; k < h % 13; k++)
			ck_assert_int_eq(bw_hostcount_release(t, &a,
			    BW_HC_CONN, 1, 10), 0);
		if (h % 13 == 0 && h % 7 == 0)
			(void)t_take(t, &a, BW_HC_MSG, 1, 0, 10, 1, 10);
	}
	n = bw_hostcount_top(t, 10, rows, 10);
	ck_assert_uint_eq(n, 10);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(rows[i].conns, 6);
	for (i = 1; i < n; i++)
		ck_assert(rows[i - 1].total_conns >= rows[i].total_conns);
	/* all of them, best first, in a total order */
	n = bw_hostcount_top(t, 10, rows, 200);
	ck_assert_uint_eq(n, 150);
	for (i = 1; i < n; i++) {
		ck_assert(rows[i - 1].conns >= rows[i].conns);
		if (rows[i - 1].conns == rows[i].conns)
			ck_assert(rows[i - 1].total_conns >=
			    rows[i].total_conns);
		if (rows[i - 1].conns == rows[i].conns &&
		    rows[i - 1].total_conns == rows[i].total_conns)
			ck_assert(memcmp(rows[i - 1].addr.addr,
			    rows[i].addr.addr, 16) < 0);
	}
	ck_assert_uint_eq(bw_hostcount_top(t, 10, rows, 0), 0);
	bw_hostcount_free(t);
}
END_TEST

/* ---- random operations against a reference ---- */

START_TEST(random_against_reference)
{
	struct bw_hostcount	*t = t_new(T_MAX, T_IDLE);
	static uint64_t		 ref[T_RAND_HOSTS][T_RAND_OWNERS];
	struct bw_hc_addr	 a;
	struct bw_hc_result	 r;
	uint64_t		 sum, limit, gone;
	uint32_t		 h, o, op, i, k;

	memset(ref, 0, sizeof(ref));
	for (i = 0; i < T_RAND_OPS; i++) {
		h = t_rand() % T_RAND_HOSTS;
		o = t_rand() % T_RAND_OWNERS;
		a = t_v4(h);
		op = t_rand() % 100;
		sum = 0;
		for (k = 0; k < T_RAND_OWNERS; k++)
			sum += ref[h][k];
		if (op < 50) {
			limit = t_rand() % 8;
			r = t_take(t, &a, BW_HC_CONN, 1, limit, 0, o, i);
			ck_assert_int_eq(r.granted, limit == 0 || sum < limit);
			if (r.granted)
				ref[h][o]++;
		} else if (op < 97) {
			ck_assert_int_eq(bw_hostcount_release(t, &a,
			    BW_HC_CONN, o, i), ref[h][o] > 0 ? 0 : -1);
			if (ref[h][o] > 0)
				ref[h][o]--;
		} else {
			gone = 0;
			for (k = 0; k < T_RAND_HOSTS; k++) {
				gone += ref[k][o];
				ref[k][o] = 0;
			}
			ck_assert_uint_eq(bw_hostcount_owner_gone(t, o, i),
			    gone);
		}
		if (i % 1000 == 0)
			(void)bw_hostcount_expire(t, i, 50);
	}
	for (h = 0; h < T_RAND_HOSTS; h++) {
		a = t_v4(h);
		sum = 0;
		for (k = 0; k < T_RAND_OWNERS; k++)
			sum += ref[h][k];
		ck_assert_uint_eq(t_conns(t, &a) == UINT64_MAX ? 0 :
		    t_conns(t, &a), sum);
	}
	bw_hostcount_free(t);
}
END_TEST

START_TEST(many_hosts)
{
	struct bw_hostcount	*t = t_new(T_MANY / 2, T_IDLE);
	struct bw_hc_row	 rows[10];
	struct bw_hc_addr	 a;
	uint32_t		 i;

	for (i = 0; i < T_MANY; i++) {
		a = t_v4(i);
		(void)t_take(t, &a, i % 2 ? BW_HC_RCPT : BW_HC_CONN, 1, 0,
		    1000, 1, i);
	}
	/* the connected half fills the table: the rest overflowed or was
	 * evicted in turn */
	ck_assert_uint_eq(t_stats(t).hosts, T_MANY / 2);
	ck_assert_uint_eq(bw_hostcount_top(t, T_MANY, rows, 10), 10);
	ck_assert_uint_eq(rows[0].conns, 1);
	ck_assert_uint_eq(bw_hostcount_owner_gone(t, 1, T_MANY), T_MANY / 2);
	while (bw_hostcount_expire(t, 2 * T_MANY + T_IDLE, 1000) > 0)
		;
	ck_assert_uint_eq(t_stats(t).hosts, 0);
	bw_hostcount_free(t);
}
END_TEST

static Suite *
hostcount_suite(void)
{
	Suite	*s = suite_create("hostcount");
	TCase	*tc;

	tc = tcase_create("addresses");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, addr_fold_and_text);
	tcase_add_test(tc, addr_garbage_bytes_same_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, conn_limit_and_release);
	tcase_add_test(tc, conn_owner_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("windows");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, window_limit_and_reopen);
	tcase_add_test(tc, window_n_and_limits);
	tcase_add_test(tc, window_length_and_clock);
	tcase_add_test(tc, labels_kept_and_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, hostile_sizes_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, expire_idle_hosts);
	tcase_add_test(tc, expire_bounded_steps);
	tcase_add_test(tc, bound_evicts_lru);
	tcase_add_test(tc, bound_overflow_when_all_connected);
	tcase_add_test(tc, bound_lowered);
	suite_add_tcase(s, tc);

	tc = tcase_create("listing");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, top_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, many_hosts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(hostcount_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
