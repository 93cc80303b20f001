/*
 * Unit tests of the group-commit batcher (queued/queued_commit.c), driven
 * with a fake flush function that the test can hold, release and make
 * fail.  No Berkeley DB involved.
 */
#include "bw_autoconf.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "queued_commit.h"

#define T_WAITERS_MAX	256
#define T_WAIT_MS	5000	/* every wait in these tests is bounded */

struct fake {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 hold;		/* flush n blocks while n > released */
	int		 released;
	int		 in_flush;
	int		 calls;
	int		 fail;		/* -1: every flush fails; n: flush n */
};

struct got {
	size_t		 n;
	intptr_t	 cookie[T_WAITERS_MAX];
	int		 ok[T_WAITERS_MAX];
};

static struct fake	 fk;

static void
fake_reset(void)
{
	pthread_mutex_init(&fk.mu, NULL);
	pthread_cond_init(&fk.cv, NULL);
	fk.hold = fk.released = fk.in_flush = fk.calls = fk.fail = 0;
}

static int
fake_flush(void *arg)
{
	struct fake	*f = arg;
	int		 r, n;

	pthread_mutex_lock(&f->mu);
	n = ++f->calls;
	f->in_flush = n;
	pthread_cond_broadcast(&f->cv);
	while (f->hold && n > f->released)
		pthread_cond_wait(&f->cv, &f->mu);
	f->in_flush = 0;
	r = f->fail == -1 || f->fail == n ? -1 : 0;
	pthread_mutex_unlock(&f->mu);
	return r;
}

static void
fake_set(int *field, int v)
{
	pthread_mutex_lock(&fk.mu);
	*field = v;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
}

/* Wait until flush number n is running (held). */
static void
fake_wait_in_flush(int n)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += T_WAIT_MS / 1000;
	pthread_mutex_lock(&fk.mu);
	while (fk.in_flush != n)
		if (pthread_cond_timedwait(&fk.cv, &fk.mu, &ts) != 0)
			break;
	ck_assert_int_eq(fk.in_flush, n);
	pthread_mutex_unlock(&fk.mu);
}

static void
got_cb(void *cookie, int ok, void *arg)
{
	struct got	*g = arg;

	ck_assert_uint_lt(g->n, T_WAITERS_MAX);
	g->cookie[g->n] = (intptr_t)cookie;
	g->ok[g->n] = ok;
	g->n++;
}

/* Collect completions until want have arrived (bounded). */
static void
collect_until(struct qcommit *c, struct got *g, size_t want)
{
	struct pollfd	 pfd;
	int		 rounds;

	for (rounds = 0; g->n < want && rounds < T_WAIT_MS / 10; rounds++) {
		pfd.fd = qcommit_fd(c);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) > 0)
			qcommit_collect(c, got_cb, g);
	}
	ck_assert_uint_eq(g->n, want);
}

static void
submit_range(struct qcommit *c, int from, int to)
{
	int	 i;

	for (i = from; i < to; i++)
		ck_assert_int_eq(qcommit_submit(c, (void *)(intptr_t)i), 0);
}

/*
 * Batching: one waiter starts a flush that the test holds; n_during more
 * are submitted meanwhile; after the release the next flushes cover them,
 * at most max_batch at a time.
 */
static const struct {
	const char	*name;
	size_t		 max_batch;
	int		 n_during;
	int		 fail;
	uint64_t	 want_flushes;
	uint64_t	 want_largest;
	int		 want_ok;
} batch_cases[] = {
	{ "one more flush covers all", 1024, 50, 0, 2, 50, 1 },
	{ "a single waiter", 1024, 0, 0, 1, 1, 1 },
	{ "batch capped at max_batch", 8, 20, 0, 1 + 3, 8, 1 },
	{ "flush error fails every waiter", 1024, 10, 1, 2, 10, 0 },
};

START_TEST(commit_batches)
{
	struct qcommit		*c;
	struct qcommit_stats	 st;
	struct got		 g;
	int			 i, total = 1 + batch_cases[_i].n_during;

	fake_reset();
	memset(&g, 0, sizeof(g));
	fk.hold = 1;
	fk.fail = batch_cases[_i].fail ? -1 : 0;
	c = qcommit_new(fake_flush, &fk, batch_cases[_i].max_batch, 0);
	ck_assert_ptr_nonnull(c);
	submit_range(c, 0, 1);
	fake_wait_in_flush(1);
	submit_range(c, 1, total);
	fake_set(&fk.released, 1000);
	collect_until(c, &g, (size_t)total);
	qcommit_stats(c, &st);
	ck_assert_msg(st.flushes == batch_cases[_i].want_flushes,
	    "%s: flushes %llu", batch_cases[_i].name,
	    (unsigned long long)st.flushes);
	ck_assert_uint_eq(st.commits, (uint64_t)total);
	ck_assert_uint_eq(st.largest_batch, batch_cases[_i].want_largest);
	ck_assert_uint_eq(st.pending, 0);
	for (i = 0; i < total; i++)
		ck_assert_int_eq(g.ok[i], batch_cases[_i].want_ok);
	if (batch_cases[_i].fail)
		ck_assert_uint_eq(st.flush_errors, st.flushes);
	qcommit_free(c, got_cb, &g);
	ck_assert_uint_eq(g.n, (size_t)total);
}
END_TEST

/* Completions come back in submission order, across flushes. */
START_TEST(commit_order)
{
	struct qcommit	*c;
	struct got	 g;
	int		 i;

	fake_reset();
	memset(&g, 0, sizeof(g));
	c = qcommit_new(fake_flush, &fk, 7, 0);
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 100; i++)
		submit_range(c, i, i + 1);
	collect_until(c, &g, 100);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(g.cookie[i], i);
		ck_assert_int_eq(g.ok[i], 1);
	}
	qcommit_free(c, got_cb, &g);
}
END_TEST

/* A waiter submitted during a flush is never completed by that flush. */
START_TEST(commit_no_early_release)
{
	struct qcommit	*c;
	struct got	 g;

	fake_reset();
	memset(&g, 0, sizeof(g));
	fk.hold = 1;
	c = qcommit_new(fake_flush, &fk, 1024, 0);
	submit_range(c, 0, 1);
	fake_wait_in_flush(1);
	submit_range(c, 1, 2);
	fk.fail = 1;			/* flush 1 fails, flush 2 not */
	fake_set(&fk.released, 1);
	collect_until(c, &g, 1);
	fake_wait_in_flush(2);
	fake_set(&fk.released, 2);
	collect_until(c, &g, 2);
	ck_assert_int_eq(g.cookie[0], 0);
	ck_assert_int_eq(g.ok[0], 0);
	ck_assert_int_eq(g.cookie[1], 1);
	ck_assert_int_eq(g.ok[1], 1);
	qcommit_free(c, got_cb, &g);
}
END_TEST

/* Shutdown flushes what is pending and delivers every completion. */
START_TEST(commit_shutdown_drains)
{
	struct qcommit	*c;
	struct got	 g;
	int		 i;

	fake_reset();
	memset(&g, 0, sizeof(g));
	fk.hold = 1;
	c = qcommit_new(fake_flush, &fk, 1024, 0);
	submit_range(c, 0, 1);
	fake_wait_in_flush(1);
	submit_range(c, 1, 30);
	fake_set(&fk.released, 1000);
	qcommit_free(c, got_cb, &g);	/* no collect before */
	ck_assert_uint_eq(g.n, 30);
	for (i = 0; i < 30; i++) {
		ck_assert_int_eq(g.cookie[i], i);
		ck_assert_int_eq(g.ok[i], 1);
	}
	ck_assert_int_eq(fk.calls, 2);
}
END_TEST

/* With a commit delay, a batch grows until it is full. */
START_TEST(commit_delay_grows_batch)
{
	struct qcommit		*c;
	struct qcommit_stats	 st;
	struct got		 g;

	fake_reset();
	memset(&g, 0, sizeof(g));
	c = qcommit_new(fake_flush, &fk, 16, 2000);
	submit_range(c, 0, 16);
	collect_until(c, &g, 16);
	qcommit_stats(c, &st);
	ck_assert_uint_eq(st.flushes, 1);
	qcommit_free(c, got_cb, &g);
}
END_TEST

static Suite *
commit_suite(void)
{
	Suite	*s = suite_create("queued_commit");
	TCase	*tc;

	tc = tcase_create("batching");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, commit_batches, 0,
	    sizeof(batch_cases) / sizeof(batch_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("ordering");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, commit_order);
	tcase_add_test(tc, commit_no_early_release);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, commit_shutdown_drains);
	suite_add_tcase(s, tc);

	tc = tcase_create("delay");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, commit_delay_grows_batch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(commit_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
