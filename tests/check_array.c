/*
 * Unit tests of the growable array (common/array.c): random operations
 * against a plain reference, growth, the maximum, indexes out of range,
 * sizes that would overflow, and (where the linker has --wrap) failed
 * allocations.  Random sequences come from a fixed seed.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "array.h"

#define T_REF_MAX	2000	/* elements of the random test */
#define T_OPS		100000	/* its operations */
#define T_GROW		100000	/* elements of the growth test */

#ifdef BW_TEST_WRAP_ALLOC
/* Linked with -Wl,--wrap=realloc: the next t_fail_allocs calls fail. */
static int	 t_fail_allocs;
void	*__real_realloc(void *, size_t);
void	*__wrap_realloc(void *, size_t);

void *
__wrap_realloc(void *p, size_t sz)
{
	if (t_fail_allocs > 0) {
		t_fail_allocs--;
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, sz);
}
#endif

static uint64_t	 t_rng = 0x2545f4914f6cdd1dULL;

static uint32_t
t_rand(void)
{
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return (uint32_t)((t_rng * 0x2545f4914f6cdd1dULL) >> 32);
}

struct t_el {
	uint32_t	 v;
	char		 pad[13];	/* an odd size */
};

static void
t_same(const struct bw_array *a, const uint32_t *ref, size_t n)
{
	size_t		 i;
	struct t_el	*e;

	ck_assert_uint_eq(bw_array_count(a), n);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(e = bw_array_at(a, i));
		ck_assert_uint_eq(e->v, ref[i]);
	}
	ck_assert_ptr_null(bw_array_at(a, n));
}

START_TEST(random_against_reference)
{
	struct bw_array	 a;
	struct t_el	 el, out;
	uint32_t	 ref[T_REF_MAX];
	size_t		 n = 0, i, op;
	int		 r;

	bw_array_init(&a, sizeof(struct t_el), T_REF_MAX);
	memset(&el, 0, sizeof(el));
	for (op = 0; op < T_OPS; op++) {
		el.v = t_rand();
		i = n > 0 ? t_rand() % (n + 1) : 0;
		switch (t_rand() % 5) {
		case 0:
			r = bw_array_push(&a, &el);
			if (n == T_REF_MAX) {
				ck_assert_int_eq(r, -1);
				ck_assert_int_eq(errno, ENOSPC);
				break;
			}
			ck_assert_int_eq(r, 0);
			ref[n++] = el.v;
			break;
		case 1:
			r = bw_array_insert(&a, i, &el);
			if (n == T_REF_MAX) {
				ck_assert_int_eq(r, -1);
				break;
			}
			ck_assert_int_eq(r, 0);
			memmove(ref + i + 1, ref + i, (n - i) * sizeof(*ref));
			ref[i] = el.v;
			n++;
			break;
		case 2:
			r = bw_array_pop(&a, &out);
			if (n == 0) {
				ck_assert_int_eq(r, -1);
				ck_assert_int_eq(errno, ERANGE);
				break;
			}
			ck_assert_int_eq(r, 0);
			ck_assert_uint_eq(out.v, ref[--n]);
			break;
		case 3:
			r = bw_array_remove(&a, i, &out);
			if (i >= n) {
				ck_assert_int_eq(r, -1);
				ck_assert_int_eq(errno, ERANGE);
				break;
			}
			ck_assert_int_eq(r, 0);
			ck_assert_uint_eq(out.v, ref[i]);
			memmove(ref + i, ref + i + 1,
			    (n - i - 1) * sizeof(*ref));
			n--;
			break;
		default:
			if (i < n)
				ck_assert_uint_eq(((struct t_el *)
				    bw_array_at(&a, i))->v, ref[i]);
			else
				ck_assert_ptr_null(bw_array_at(&a, i));
		}
		if (op % 10000 == 0)
			t_same(&a, ref, n);
	}
	t_same(&a, ref, n);
	bw_array_free(&a);
	ck_assert_uint_eq(bw_array_count(&a), 0);
}
END_TEST

START_TEST(growth)
{
	struct bw_array	 a = BW_ARRAY_INITIALIZER(sizeof(uint64_t), T_GROW);
	uint64_t	 x, *p;
	size_t		 i, cap = 0, doublings = 0;

	for (i = 0; i < T_GROW; i++) {
		x = i * 3;
		ck_assert_int_eq(bw_array_push(&a, &x), 0);
		if (a.cap != cap) {
			/* from BW_ARRAY_CAP_MIN, doubling, up to max */
			ck_assert(cap == 0 ? a.cap == BW_ARRAY_CAP_MIN :
			    a.cap == cap * 2 || a.cap == T_GROW);
			cap = a.cap;
			doublings++;
		}
	}
	ck_assert_uint_eq(a.cap, T_GROW);
	ck_assert_uint_ge(doublings, 14);
	for (i = 0; i < T_GROW; i++) {
		ck_assert_ptr_nonnull(p = bw_array_at(&a, i));
		ck_assert_uint_eq(*p, i * 3);
	}
	/* full: ENOSPC, nothing changed */
	errno = 0;
	ck_assert_int_eq(bw_array_push(&a, &x), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(bw_array_count(&a), T_GROW);
	/* clear keeps the memory */
	bw_array_clear(&a);
	ck_assert_uint_eq(bw_array_count(&a), 0);
	ck_assert_uint_eq(a.cap, T_GROW);
	bw_array_free(&a);
}
END_TEST

START_TEST(zero_filled_and_middle)
{
	struct bw_array	 a;
	char		 big[1000], *p;
	size_t		 i;

	bw_array_init(&a, sizeof(big), 10);
	for (i = 0; i < 3; i++) {
		memset(big, 'a' + (int)i, sizeof(big));
		ck_assert_int_eq(bw_array_push(&a, big), 0);
	}
	ck_assert_int_eq(bw_array_insert(&a, 1, NULL), 0);
	ck_assert_ptr_nonnull(p = bw_array_at(&a, 1));
	for (i = 0; i < sizeof(big); i++)
		ck_assert_int_eq(p[i], 0);
	ck_assert_int_eq(((char *)bw_array_at(&a, 0))[999], 'a');
	ck_assert_int_eq(((char *)bw_array_at(&a, 2))[0], 'b');
	ck_assert_int_eq(((char *)bw_array_at(&a, 3))[999], 'c');
	/* past the end: ERANGE */
	errno = 0;
	ck_assert_int_eq(bw_array_insert(&a, 5, big), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(bw_array_remove(&a, 4, NULL), -1);
	ck_assert_int_eq(bw_array_remove(&a, SIZE_MAX, NULL), -1);
	ck_assert_ptr_null(bw_array_at(&a, SIZE_MAX));
	ck_assert_int_eq(bw_array_remove(&a, 0, NULL), 0);
	ck_assert_int_eq(((char *)bw_array_at(&a, 0))[0], 0);
	ck_assert_uint_eq(bw_array_count(&a), 3);
	bw_array_free(&a);
}
END_TEST

START_TEST(reserve_bounds)
{
	struct bw_array	 a;

	bw_array_init(&a, 4, 100);
	ck_assert_int_eq(bw_array_reserve(&a, 50), 0);
	ck_assert_uint_ge(a.cap, 50);
	ck_assert_uint_le(a.cap, 100);
	ck_assert_int_eq(bw_array_reserve(&a, 100), 0);
	ck_assert_uint_eq(a.cap, 100);
	errno = 0;
	ck_assert_int_eq(bw_array_reserve(&a, 101), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(bw_array_reserve(&a, SIZE_MAX), -1);
	bw_array_free(&a);
	/* the largest allowed: no overflow in the arithmetic */
	bw_array_init(&a, SIZE_MAX / BW_ARRAY_MAX, BW_ARRAY_MAX);
	bw_array_free(&a);
}
END_TEST

START_TEST(init_overflow_is_fatal)
{
	struct bw_array	 a;

	/* elsize * max past SIZE_MAX */
	bw_array_init(&a, SIZE_MAX / 2, 3);
}
END_TEST

START_TEST(init_max_over_bound)
{
	struct bw_array	 a;

	bw_array_init(&a, 1, BW_ARRAY_MAX + 1);
}
END_TEST

START_TEST(init_elsize_zero)
{
	struct bw_array	 a;

	bw_array_init(&a, 0, 10);
}
END_TEST

#ifdef BW_TEST_WRAP_ALLOC
START_TEST(alloc_failures)
{
	struct bw_array	 a;
	uint32_t	 x, ref[40];
	size_t		 i;

	bw_array_init(&a, sizeof(x), 1000);
	/* the first allocation fails: nothing changed, then it works */
	x = 7;
	t_fail_allocs = 1;
	errno = 0;
	ck_assert_int_eq(bw_array_push(&a, &x), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(bw_array_count(&a), 0);
	for (i = 0; i < BW_ARRAY_CAP_MIN; i++) {
		x = (uint32_t)i;
		ref[i] = x;
		ck_assert_int_eq(bw_array_push(&a, &x), 0);
	}
	/* a growth fails: the elements are intact, in place */
	t_fail_allocs = 1;
	ck_assert_int_eq(bw_array_insert(&a, 0, &x), -1);
	ck_assert_int_eq(errno, ENOMEM);
	for (i = 0; i < BW_ARRAY_CAP_MIN; i++)
		ck_assert_uint_eq(*(uint32_t *)bw_array_at(&a, i), ref[i]);
	t_fail_allocs = 1;
	ck_assert_int_eq(bw_array_reserve(&a, 40), -1);
	ck_assert_uint_eq(a.cap, BW_ARRAY_CAP_MIN);
	for (i = BW_ARRAY_CAP_MIN; i < 40; i++) {
		x = (uint32_t)i;
		ref[i] = x;
		ck_assert_int_eq(bw_array_push(&a, &x), 0);
	}
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(*(uint32_t *)bw_array_at(&a, i), ref[i]);
	bw_array_free(&a);
}
END_TEST
#endif

static Suite *
array_suite(void)
{
	Suite	*s = suite_create("array");
	TCase	*tc;

	tc = tcase_create("operations");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, growth);
	tcase_add_test(tc, zero_filled_and_middle);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, reserve_bounds);
	tcase_add_exit_test(tc, init_overflow_is_fatal, 1);
	tcase_add_exit_test(tc, init_max_over_bound, 1);
	tcase_add_exit_test(tc, init_elsize_zero, 1);
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
	SRunner	*sr = srunner_create(array_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
