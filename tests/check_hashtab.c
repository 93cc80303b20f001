/*
 * Unit tests of the hash table (common/hashtab.c) and its hash
 * (common/siphash.c): SipHash against the paper's vectors, random
 * operations against a plain reference, growth with its incremental
 * rehash, iteration that removes, forced collisions, the maximum size,
 * hostile keys, and (where the linker has --wrap) failed allocations.
 * Random sequences come from a fixed seed, so a failure repeats.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "hashtab.h"
#include "siphash.h"

#define T_KEYS		1000	/* key space of the random test */
#define T_OPS		200000	/* operations of the random test */
#define T_GROW		100000	/* entries of the growth test */
#define T_LONG_KEY	65536	/* bytes of the longest key */

#ifdef BW_TEST_WRAP_ALLOC
/* Linked with -Wl,--wrap=calloc: the next t_fail_allocs calls fail. */
static int	 t_fail_allocs;
void	*__real_calloc(size_t, size_t);
void	*__wrap_calloc(size_t, size_t);

void *
__wrap_calloc(size_t n, size_t sz)
{
	if (t_fail_allocs > 0) {
		t_fail_allocs--;
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, sz);
}
#endif

static uint64_t	 t_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
t_rand(void)
{
	/* xorshift64*: reproducible, enough for picking operations */
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return (uint32_t)((t_rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* ---- SipHash ---- */

static const uint8_t t_sipkey[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

START_TEST(siphash_paper_vectors)
{
	uint8_t	 msg[15];
	size_t	 i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	/* the paper's example (appendix A) and its reference vectors for
	 * the empty message, the byte 00 and one full word 00..07 */
	ck_assert_uint_eq(bw_siphash24(t_sipkey, msg, 15),
	    0xa129ca6149be45e5ULL);
	ck_assert_uint_eq(bw_siphash24(t_sipkey, msg, 0),
	    0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(bw_siphash24(t_sipkey, msg, 1),
	    0x74f839c593dc67fdULL);
	ck_assert_uint_eq(bw_siphash24(t_sipkey, msg, 8),
	    0x93f5f5799a932462ULL);
}
END_TEST

START_TEST(siphash_pieces_equal_whole)
{
	uint8_t			 msg[100];
	struct bw_siphash	 s;
	size_t			 len, off, cut, i;
	uint64_t		 whole;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)t_rand();
	for (len = 0; len <= sizeof(msg); len++) {
		whole = bw_siphash24(t_sipkey, msg, len);
		for (i = 0; i < 20; i++) {
			bw_siphash_init(&s, t_sipkey, 2, 4);
			for (off = 0; off < len; off += cut) {
				cut = 1 + t_rand() % 11;
				if (cut > len - off)
					cut = len - off;
				bw_siphash_update(&s, msg + off, cut);
			}
			ck_assert_uint_eq(bw_siphash_final(&s), whole);
		}
	}
}
END_TEST

/* The tables' one-shot SipHash-1-3 over pieces is the streaming one. */
START_TEST(siphash13_parts_equal_stream)
{
	uint8_t			 msg[100];
	const void		*part[BW_HKEY_PARTS];
	size_t			 len[BW_HKEY_PARTS];
	struct bw_siphash	 s;
	uint64_t		 kw[2];
	size_t			 total, off, i;
	unsigned int		 n, j;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)t_rand();
	bw_siphash_key_words(t_sipkey, kw);
	for (i = 0; i < 5000; i++) {
		n = t_rand() % (BW_HKEY_PARTS + 1);
		total = t_rand() % sizeof(msg);
		bw_siphash_init(&s, t_sipkey, 1, 3);
		for (j = 0, off = 0; j < n; j++) {
			len[j] = j + 1 == n ? total - off :
			    t_rand() % (total - off + 1);
			part[j] = msg + off;
			bw_siphash_update(&s, msg + off, len[j]);
			off += len[j];
		}
		ck_assert_uint_eq(bw_siphash13_parts(kw, part, len, n),
		    bw_siphash_final(&s));
	}
}
END_TEST

/* ---- entries ---- */

struct t_ent {
	int		 id;
	struct bw_hlink	 link;
	char		 name[32];
	int		 visits;
};

static const struct bw_htab_type t_str_type = {
	.name = "test strings",
	.link_off = offsetof(struct t_ent, link),
	.key_off = offsetof(struct t_ent, name),
	.key_len = BW_HTAB_KEY_STRING,
};

static struct t_ent *
t_ents(size_t n)
{
	struct t_ent	*v;
	size_t		 i;

	ck_assert_ptr_nonnull(v = calloc(n, sizeof(*v)));
	for (i = 0; i < n; i++) {
		v[i].id = (int)i;
		snprintf(v[i].name, sizeof(v[i].name), "key-%zu", i);
	}
	return v;
}

/* Every entry reached exactly once, and count right. */
static void
t_check_iter(struct bw_htab *t, struct t_ent *v, size_t n, const int *in)
{
	struct bw_htab_iter	 it;
	struct t_ent		*e;
	size_t			 i, seen = 0, want = 0;

	for (i = 0; i < n; i++)
		v[i].visits = 0;
	for (e = bw_htab_first(t, &it); e != NULL; e = bw_htab_next(&it)) {
		e->visits++;
		seen++;
	}
	ck_assert_uint_eq(t->iterating, 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(v[i].visits, in[i] ? 1 : 0);
		want += in[i] != 0;
	}
	ck_assert_uint_eq(seen, want);
	ck_assert_uint_eq(bw_htab_count(t), want);
}

START_TEST(random_against_reference)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(T_KEYS);
	int		*in;
	size_t		 op, k;

	ck_assert_ptr_nonnull(in = calloc(T_KEYS, sizeof(*in)));
	bw_htab_init(&t, &t_str_type, T_KEYS);
	for (op = 0; op < T_OPS; op++) {
		k = t_rand() % T_KEYS;
		switch (t_rand() % 3) {
		case 0:
			if (in[k]) {
				errno = 0;
				ck_assert_int_eq(bw_htab_insert(&t, &v[k]), -1);
				ck_assert_int_eq(errno, EEXIST);
			} else {
				ck_assert_int_eq(bw_htab_insert(&t, &v[k]), 0);
				in[k] = 1;
			}
			break;
		case 1:
			if (in[k]) {
				bw_htab_remove(&t, &v[k]);
				in[k] = 0;
			}
			break;
		default:
			ck_assert_ptr_eq(bw_htab_find_str(&t, v[k].name),
			    in[k] ? &v[k] : NULL);
		}
		if (op % 20000 == 0)
			t_check_iter(&t, v, T_KEYS, in);
	}
	for (k = 0; k < T_KEYS; k++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[k].name),
		    in[k] ? &v[k] : NULL);
	ck_assert_ptr_null(bw_htab_find_str(&t, "key-"));
	ck_assert_ptr_null(bw_htab_find_str(&t, "key-1000"));
	t_check_iter(&t, v, T_KEYS, in);
	bw_htab_free(&t);
	free(in);
	free(v);
}
END_TEST

START_TEST(growth_doubles_incrementally)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(T_GROW);
	int		*in;
	size_t		 i, grows = 0, prev = 0, work;
	int		 mid = 0;

	ck_assert_ptr_nonnull(in = calloc(T_GROW, sizeof(*in)));
	bw_htab_init(&t, &t_str_type, T_GROW);
	for (i = 0; i < T_GROW; i++) {
		work = t.b[1] != NULL ? t.rehash : 0;
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
		in[i] = 1;
		/* one insert moves at most BW_HTAB_REHASH_STEP buckets */
		if (t.b[1] != NULL && work <= t.rehash)
			ck_assert_uint_le(t.rehash - work,
			    BW_HTAB_REHASH_STEP);
		if (t.b[1] != NULL && prev == 0)
			grows++;
		prev = t.b[1] != NULL;
		/* the move is over before the next doubling is due */
		ck_assert_uint_le(bw_htab_count(&t),
		    t.b[1] != NULL ? t.nb[1] : t.nb[0]);
		if (!mid && i > 1000 && t.b[1] != NULL && t.rehash > 0) {
			t_check_iter(&t, v, T_GROW, in);	/* mid-move */
			mid = 1;
		}
	}
	ck_assert(mid);
	/* 16 to 131072 buckets: 13 doublings */
	ck_assert_uint_ge(grows, 12);
	for (i = 0; i < T_GROW; i++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[i].name), &v[i]);
	t_check_iter(&t, v, T_GROW, in);
	for (i = 0; i < T_GROW; i += 2) {
		bw_htab_remove(&t, &v[i]);
		in[i] = 0;
	}
	for (i = 0; i < T_GROW; i++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[i].name),
		    in[i] ? &v[i] : NULL);
	bw_htab_free(&t);
	ck_assert_uint_eq(bw_htab_count(&t), 0);
	ck_assert_ptr_null(bw_htab_find_str(&t, v[1].name));
	free(in);
	free(v);
}
END_TEST

/* Removing the current entry while iterating, also mid-growth. */
START_TEST(remove_while_iterating)
{
	struct bw_htab		 t;
	struct bw_htab_iter	 it;
	struct t_ent		*v = t_ents(3000), *e;
	int			*in;
	size_t			 i, n = 0, seen = 0;
	int			 pass;

	ck_assert_ptr_nonnull(in = calloc(3000, sizeof(*in)));
	for (pass = 0; pass < 2; pass++) {
		bw_htab_init(&t, &t_str_type, 3000);
		/* pass 1 stops while a move is in progress */
		for (n = 0; n < 3000; n++) {
			ck_assert_int_eq(bw_htab_insert(&t, &v[n]), 0);
			in[n] = 1;
			if (pass == 1 && n > 100 && t.b[1] != NULL &&
			    t.rehash > 0)
				break;
		}
		n = n < 3000 ? n + 1 : n;
		ck_assert(pass == 0 || t.b[1] != NULL);
		/* remove the odd ids as they come */
		seen = 0;
		for (e = bw_htab_first(&t, &it); e != NULL;
		    e = bw_htab_next(&it)) {
			seen++;
			if (e->id % 2) {
				bw_htab_remove(&t, e);
				in[e->id] = 0;
			}
		}
		ck_assert_uint_eq(seen, n);
		t_check_iter(&t, v, n, in);
		/* then all, and the table is empty */
		for (e = bw_htab_first(&t, &it); e != NULL;
		    e = bw_htab_next(&it)) {
			bw_htab_remove(&t, e);
			in[e->id] = 0;
		}
		ck_assert_uint_eq(bw_htab_count(&t), 0);
		for (i = 0; i < n; i++)
			ck_assert_ptr_null(bw_htab_find_str(&t, v[i].name));
		bw_htab_free(&t);
	}
	free(in);
	free(v);
}
END_TEST

/* Inserts while iterating: the table does not start to grow meanwhile,
 * and every entry that was there is still seen once. */
START_TEST(insert_while_iterating)
{
	struct bw_htab		 t;
	struct bw_htab_iter	 it;
	struct t_ent		*v = t_ents(100), *e;
	size_t			 i, seen = 0;

	bw_htab_init(&t, &t_str_type, 100);
	for (i = 0; i < BW_HTAB_BUCKETS_MIN; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	for (e = bw_htab_first(&t, &it); e != NULL; e = bw_htab_next(&it)) {
		if (seen++ == 0)
			for (; i < 100; i++)
				ck_assert_int_eq(bw_htab_insert(&t, &v[i]),
				    0);
		ck_assert_ptr_null(t.b[1]);
		ck_assert_uint_eq(t.nb[0], BW_HTAB_BUCKETS_MIN);
		e->visits++;
	}
	for (i = 0; i < BW_HTAB_BUCKETS_MIN; i++)
		ck_assert_int_eq(v[i].visits, 1);
	for (i = 0; i < 100; i++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[i].name), &v[i]);
	/* once it is over, the next insert starts the growth */
	bw_htab_remove(&t, &v[99]);
	ck_assert_int_eq(bw_htab_insert(&t, &v[99]), 0);
	ck_assert_ptr_nonnull(t.b[1]);
	bw_htab_free(&t);
	free(v);
}
END_TEST

START_TEST(iteration_left_early)
{
	struct bw_htab		 t;
	struct bw_htab_iter	 it;
	struct t_ent		*v = t_ents(100);
	size_t			 i;

	bw_htab_init(&t, &t_str_type, 100);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	ck_assert_ptr_nonnull(bw_htab_first(&t, &it));
	ck_assert_uint_eq(t.iterating, 1);
	bw_htab_iter_end(&it);
	bw_htab_iter_end(&it);		/* twice: harmless */
	ck_assert_uint_eq(t.iterating, 0);
	ck_assert_ptr_null(bw_htab_next(&it));
	/* an empty table iterates to nothing */
	bw_htab_free(&t);
	ck_assert_ptr_null(bw_htab_first(&t, &it));
	ck_assert_uint_eq(t.iterating, 0);
	free(v);
}
END_TEST

/* ---- collisions and multi-part keys ---- */

static uint64_t
t_hash_const(const struct bw_hkey *k)
{
	(void)k;
	return 42;
}

struct t_pair {
	struct bw_hlink	 link;
	char		 a[16];
	char		 b[16];
};

static void
t_pair_key(const void *entry, struct bw_hkey *k)
{
	const struct t_pair	*p = entry;

	bw_hkey_str(k, p->a);
	bw_hkey_str(k, p->b);
}

static const struct bw_htab_type t_collide_type = {
	.name = "test collisions",
	.link_off = offsetof(struct t_ent, link),
	.key_off = offsetof(struct t_ent, name),
	.key_len = BW_HTAB_KEY_STRING,
	.hash = t_hash_const,
};

static const struct bw_htab_type t_pair_type = {
	.name = "test pairs",
	.link_off = offsetof(struct t_pair, link),
	.key = t_pair_key,
};

START_TEST(all_in_one_chain)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(500);
	int		 in[500];
	size_t		 i;

	bw_htab_init(&t, &t_collide_type, 500);
	for (i = 0; i < 500; i++) {
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
		in[i] = 1;
	}
	ck_assert_int_eq(bw_htab_insert(&t, &v[7]), -1);
	for (i = 0; i < 500; i += 3) {
		bw_htab_remove(&t, &v[i]);
		in[i] = 0;
	}
	for (i = 0; i < 500; i++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[i].name),
		    in[i] ? &v[i] : NULL);
	t_check_iter(&t, v, 500, in);
	bw_htab_free(&t);
	free(v);
}
END_TEST

START_TEST(parts_keep_their_borders)
{
	struct bw_htab	 t;
	struct t_pair	 p[3];
	struct bw_hkey	 k;

	memset(p, 0, sizeof(p));
	strcpy(p[0].a, "ab");
	strcpy(p[0].b, "c");
	strcpy(p[1].a, "a");
	strcpy(p[1].b, "bc");
	strcpy(p[2].a, "");
	strcpy(p[2].b, "abc");
	bw_htab_init(&t, &t_pair_type, 10);
	ck_assert_int_eq(bw_htab_insert(&t, &p[0]), 0);
	ck_assert_int_eq(bw_htab_insert(&t, &p[1]), 0);
	ck_assert_int_eq(bw_htab_insert(&t, &p[2]), 0);
	bw_hkey_init(&k);
	bw_hkey_str(&k, "a");
	bw_hkey_str(&k, "bc");
	ck_assert_ptr_eq(bw_htab_find(&t, &k), &p[1]);
	bw_hkey_init(&k);
	bw_hkey_str(&k, "");
	bw_hkey_str(&k, "abc");
	ck_assert_ptr_eq(bw_htab_find(&t, &k), &p[2]);
	/* the same bytes in one part are another key */
	bw_hkey_init(&k);
	bw_hkey_bytes(&k, "ab\0c", 5);
	ck_assert_ptr_null(bw_htab_find(&t, &k));
	bw_htab_free(&t);
}
END_TEST

/* ---- bounds and hostile keys ---- */

START_TEST(max_entries)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(101);
	size_t		 i;

	bw_htab_init(&t, &t_str_type, 100);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	errno = 0;
	ck_assert_int_eq(bw_htab_insert(&t, &v[100]), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_ptr_null(bw_htab_find_str(&t, v[100].name));
	bw_htab_remove(&t, &v[0]);
	ck_assert_int_eq(bw_htab_insert(&t, &v[100]), 0);
	ck_assert_uint_eq(bw_htab_count(&t), 100);
	bw_htab_free(&t);
	free(v);
}
END_TEST

START_TEST(reserve)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(2);

	bw_htab_init(&t, &t_str_type, 1000);
	ck_assert_int_eq(bw_htab_reserve(&t, 1000), 0);
	ck_assert_uint_eq(t.nb[0], 1024);
	ck_assert_int_eq(bw_htab_reserve(&t, 10), 0);	/* big enough */
	ck_assert_uint_eq(t.nb[0], 1024);
	ck_assert_int_eq(bw_htab_insert(&t, &v[0]), 0);
	errno = 0;
	ck_assert_int_eq(bw_htab_reserve(&t, 4096), -1);
	ck_assert_int_eq(errno, EBUSY);
	bw_htab_free(&t);
	/* never beyond the bound */
	bw_htab_init(&t, &t_str_type, BW_HTAB_MAX);
	ck_assert_int_eq(bw_htab_reserve(&t, SIZE_MAX), 0);
	ck_assert_uint_eq(t.nb[0], BW_HTAB_MAX);
	bw_htab_free(&t);
	free(v);
}
END_TEST

START_TEST(init_max_over_bound)
{
	struct bw_htab	 t;

	bw_htab_init(&t, &t_str_type, BW_HTAB_MAX + 1);
}
END_TEST

START_TEST(init_max_zero)
{
	struct bw_htab	 t;

	bw_htab_init(&t, &t_str_type, 0);
}
END_TEST

START_TEST(remove_absent_is_fatal)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(2);

	bw_htab_init(&t, &t_str_type, 10);
	ck_assert_int_eq(bw_htab_insert(&t, &v[0]), 0);
	v[1].link.hash = v[0].link.hash;	/* its bucket, not in it */
	bw_htab_remove(&t, &v[1]);
}
END_TEST

START_TEST(too_many_key_parts)
{
	struct bw_hkey	 k;
	int		 i;

	bw_hkey_init(&k);
	for (i = 0; i <= BW_HKEY_PARTS; i++)
		bw_hkey_str(&k, "x");
}
END_TEST

/* Binary keys of any length, with NULs; empty ones. */
struct t_blob {
	struct bw_hlink	 link;
	size_t		 len;
	unsigned char	*p;
};

static void
t_blob_key(const void *entry, struct bw_hkey *k)
{
	const struct t_blob	*b = entry;

	bw_hkey_bytes(k, b->p, b->len);
}

static const struct bw_htab_type t_blob_type = {
	.name = "test blobs",
	.link_off = offsetof(struct t_blob, link),
	.key = t_blob_key,
};

START_TEST(hostile_keys)
{
	struct bw_htab	 t;
	struct t_blob	 b[6];
	struct bw_hkey	 k;
	unsigned char	*big;
	size_t		 i;

	ck_assert_ptr_nonnull(big = calloc(2, T_LONG_KEY));
	for (i = 0; i < 2 * T_LONG_KEY; i++)
		big[i] = (unsigned char)t_rand();
	memset(b, 0, sizeof(b));
	b[0].len = 0;				/* empty */
	b[1].p = big;				/* long */
	b[1].len = T_LONG_KEY;
	b[2].p = big + T_LONG_KEY;		/* long, other bytes */
	b[2].len = T_LONG_KEY;
	b[3].p = (unsigned char *)"\0\0\0";	/* NULs only */
	b[3].len = 3;
	b[4].p = (unsigned char *)"\0\0";
	b[4].len = 2;
	b[5].p = big;				/* a prefix of b[1] */
	b[5].len = T_LONG_KEY - 1;
	bw_htab_init(&t, &t_blob_type, 10);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &b[i]), 0);
	for (i = 0; i < 6; i++) {
		bw_hkey_init(&k);
		bw_hkey_bytes(&k, b[i].p, b[i].len);
		ck_assert_ptr_eq(bw_htab_find(&t, &k), &b[i]);
	}
	/* one byte changed at the end of a long key: not found */
	big[T_LONG_KEY - 1] ^= 1;
	bw_hkey_init(&k);
	bw_hkey_bytes(&k, big, T_LONG_KEY);
	ck_assert_ptr_null(bw_htab_find(&t, &k));
	bw_htab_free(&t);

	/* an empty string is a key too */
	{
		struct t_ent	 e;

		memset(&e, 0, sizeof(e));
		bw_htab_init(&t, &t_str_type, 10);
		ck_assert_int_eq(bw_htab_insert(&t, &e), 0);
		ck_assert_ptr_eq(bw_htab_find_str(&t, ""), &e);
		ck_assert_ptr_null(bw_htab_find_str(&t, "a"));
		bw_htab_free(&t);
	}
	free(big);
}
END_TEST

/* The keyed hash is not the plain one: neither constant nor the key's
 * SipHash under a zero key. */
START_TEST(hash_is_keyed)
{
	static const uint8_t	 zero[16];
	struct bw_siphash	 s;
	struct bw_hkey		 k;
	uint64_t		 h;

	bw_hkey_init(&k);
	bw_hkey_str(&k, "example.org");
	h = bw_hkey_hash(&k);
	ck_assert_uint_eq(h, bw_hkey_hash(&k));
	bw_siphash_init(&s, zero, 1, 3);
	bw_siphash_update(&s, "example.org", 12);
	ck_assert_uint_ne(h, bw_siphash_final(&s));
	bw_hkey_init(&k);
	bw_hkey_str(&k, "example.net");
	ck_assert_uint_ne(h, bw_hkey_hash(&k));
}
END_TEST

#ifdef BW_TEST_WRAP_ALLOC
START_TEST(alloc_failures)
{
	struct bw_htab	 t;
	struct t_ent	*v = t_ents(200);
	size_t		 i;

	bw_htab_init(&t, &t_str_type, 200);
	/* the first bucket array: the insert fails, nothing changed */
	t_fail_allocs = 1;
	errno = 0;
	ck_assert_int_eq(bw_htab_insert(&t, &v[0]), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(bw_htab_count(&t), 0);
	ck_assert_ptr_null(bw_htab_find_str(&t, v[0].name));
	/* growth refused: inserts go on in longer chains */
	for (i = 0; i < BW_HTAB_BUCKETS_MIN; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	t_fail_allocs = 1000;
	for (; i < 100; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	t_fail_allocs = 0;
	ck_assert_uint_ge(t.grow_failures, 100 - BW_HTAB_BUCKETS_MIN);
	ck_assert_uint_eq(t.nb[0], BW_HTAB_BUCKETS_MIN);
	ck_assert_ptr_null(t.b[1]);
	/* and grow once memory is back */
	for (; i < 200; i++)
		ck_assert_int_eq(bw_htab_insert(&t, &v[i]), 0);
	for (i = 0; i < 200; i++)
		ck_assert_ptr_eq(bw_htab_find_str(&t, v[i].name), &v[i]);
	ck_assert_uint_gt(t.b[1] != NULL ? t.nb[1] : t.nb[0],
	    BW_HTAB_BUCKETS_MIN);
	bw_htab_free(&t);
	/* reserve */
	t_fail_allocs = 1;
	errno = 0;
	ck_assert_int_eq(bw_htab_reserve(&t, 100), -1);
	ck_assert_int_eq(errno, ENOMEM);
	t_fail_allocs = 0;
	free(v);
}
END_TEST
#endif

static Suite *
hashtab_suite(void)
{
	Suite	*s = suite_create("hashtab");
	TCase	*tc;

	tc = tcase_create("siphash");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, siphash_paper_vectors);
	tcase_add_test(tc, siphash_pieces_equal_whole);
	tcase_add_test(tc, siphash13_parts_equal_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("operations");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, growth_doubles_incrementally);
	tcase_add_test(tc, reserve);
	suite_add_tcase(s, tc);

	tc = tcase_create("iteration");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, remove_while_iterating);
	tcase_add_test(tc, insert_while_iterating);
	tcase_add_test(tc, iteration_left_early);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, all_in_one_chain);
	tcase_add_test(tc, parts_keep_their_borders);
	tcase_add_test(tc, hostile_keys);
	tcase_add_test(tc, hash_is_keyed);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, max_entries);
	tcase_add_exit_test(tc, init_max_over_bound, 1);
	tcase_add_exit_test(tc, init_max_zero, 1);
	tcase_add_exit_test(tc, remove_absent_is_fatal, 1);
	tcase_add_exit_test(tc, too_many_key_parts, 1);
	suite_add_tcase(s, tc);

#ifdef BW_TEST_WRAP_ALLOC
	tc = tcase_create("alloc_failures");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(hashtab_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
