/*
 * Group commit: the batcher between the event loop, which commits message
 * transactions without syncing the log (DB_TXN_NOSYNC), and one flusher
 * thread that makes the log durable for every transaction committed so far
 * with a single flush, then hands the whole batch back to the event loop.
 *
 * The module knows nothing of Berkeley DB: the flush is a callback, so that
 * tests/check_commit.c can drive it with a fake.  Waiters are opaque
 * cookies; their completions are collected by the event loop when the
 * notification descriptor becomes readable.
 *
 * Contract: a cookie submitted after its transaction committed is completed
 * only by a flush that started after the submission, so its status is that
 * of a flush that covered it.  Completions come back in submission order.
 * Limits: at most max_batch cookies per flush (queue_max_commit_batch);
 * optional extra wait delay_ms to grow a batch (queue_commit_delay).
 */
#ifndef QUEUED_COMMIT_H
#define QUEUED_COMMIT_H

#include <stddef.h>
#include <stdint.h>

struct qcommit;

/* Make everything committed so far durable: 0, or -1 on failure. */
typedef int	(*qcommit_flush_fn)(void *arg);
/* One completed waiter; ok is 1 when its flush succeeded. */
typedef void	(*qcommit_done_fn)(void *cookie, int ok, void *arg);

struct qcommit_stats {
	uint64_t	 flushes;	/* calls of the flush function */
	uint64_t	 flush_errors;
	uint64_t	 commits;	/* cookies completed by a flush */
	uint64_t	 largest_batch;
	uint64_t	 pending;	/* submitted, not yet flushed */
};

/* NULL (errno) on failure.  Starts the flusher thread. */
struct qcommit	*qcommit_new(qcommit_flush_fn, void *flush_arg,
		    size_t max_batch, unsigned int delay_ms);
/* The descriptor that turns readable when completions are waiting. */
int		 qcommit_fd(const struct qcommit *);
/* Hand over a waiter whose transaction has committed: 0, -1 (errno). */
int		 qcommit_submit(struct qcommit *, void *cookie);
/* Deliver every completion waiting now, in order; returns how many. */
size_t		 qcommit_collect(struct qcommit *, qcommit_done_fn, void *arg);
/* Flush what is pending, stop the thread, deliver the last completions,
 * free everything. */
void		 qcommit_free(struct qcommit *, qcommit_done_fn, void *arg);
void		 qcommit_stats(struct qcommit *, struct qcommit_stats *);

#endif
