/*
 * Group commit (see queued_commit.h).  One mutex guards two FIFO lists:
 * pending (submitted, waiting for a flush) and done (flushed, waiting for
 * the event loop).  The flusher thread takes up to max_batch pending
 * waiters, calls the flush function once without the lock held, moves the
 * batch to done with the flush's result, and writes one byte to a pipe that
 * the event loop watches.  Everything submitted while a flush runs waits
 * for the next one, which covers all of it: that is the grouping.
 *
 * Trust: only the event loop of this process submits; nothing here sees
 * peer input.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "queued_commit.h"

struct qwaiter {
	struct qwaiter	*next;
	void		*cookie;
	int		 ok;
};

struct qwlist {
	struct qwaiter	*head;
	struct qwaiter	*tail;
	size_t		 n;
};

struct qcommit {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 thread;
	int			 thread_started;
	int			 stopping;
	qcommit_flush_fn	 flush;
	void			*flush_arg;
	size_t			 max_batch;
	unsigned int		 delay_ms;
	struct qwlist		 pending;
	struct qwlist		 done;
	int			 pipe_r;
	int			 pipe_w;
	struct qcommit_stats	 st;
};

static void
qwlist_push(struct qwlist *l, struct qwaiter *w)
{
	w->next = NULL;
	if (l->tail != NULL)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	l->n++;
}

/* Move at most max waiters from the head of src to the tail of dst. */
static void
qwlist_move(struct qwlist *dst, struct qwlist *src, size_t max)
{
	struct qwaiter	*w;

	while (max-- > 0 && (w = src->head) != NULL) {
		src->head = w->next;
		if (src->head == NULL)
			src->tail = NULL;
		src->n--;
		qwlist_push(dst, w);
	}
}

/* Wake the event loop; a full pipe already means "look". */
static void
qcommit_notify(struct qcommit *c)
{
	char	 b = 'f';
	ssize_t	 n;

	do {
		n = write(c->pipe_w, &b, 1);
	} while (n == -1 && errno == EINTR);
}

/* With a commit delay, wait until it passes or the batch is full. */
static void
qcommit_grow_batch(struct qcommit *c)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += c->delay_ms / 1000;
	ts.tv_nsec += (long)(c->delay_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!c->stopping && c->pending.n < c->max_batch)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
			break;
}

/* The flusher thread. */
static void *
qcommit_main(void *arg)
{
	struct qcommit	*c = arg;
	struct qwlist	 batch;
	struct qwaiter	*w;
	int		 ok;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->pending.n == 0 && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->pending.n == 0)
			break;		/* stopping, and nothing left */
		if (c->delay_ms > 0)
			qcommit_grow_batch(c);
		batch.head = batch.tail = NULL;
		batch.n = 0;
		qwlist_move(&batch, &c->pending, c->max_batch);
		c->st.pending = c->pending.n;
		pthread_mutex_unlock(&c->mu);

		ok = c->flush(c->flush_arg) == 0;

		pthread_mutex_lock(&c->mu);
		for (w = batch.head; w != NULL; w = w->next)
			w->ok = ok;
		c->st.flushes++;
		if (!ok)
			c->st.flush_errors++;
		c->st.commits += batch.n;
		if (batch.n > c->st.largest_batch)
			c->st.largest_batch = batch.n;
		qwlist_move(&c->done, &batch, batch.n);
		qcommit_notify(c);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int
qcommit_pipe(int fds[2])
{
	int	 i, fl;

	if (pipe(fds) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if ((fl = fcntl(fds[i], F_GETFL)) == -1 ||
		    fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) == -1) {
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
	}
	return 0;
}

struct qcommit *
qcommit_new(qcommit_flush_fn flush, void *flush_arg, size_t max_batch,
    unsigned int delay_ms)
{
	struct qcommit	*c;
	int		 fds[2], r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (qcommit_pipe(fds) == -1) {
		free(c);
		return NULL;
	}
	c->pipe_r = fds[0];
	c->pipe_w = fds[1];
	c->flush = flush;
	c->flush_arg = flush_arg;
	c->max_batch = max_batch > 0 ? max_batch : 1;
	c->delay_ms = delay_ms;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((r = pthread_create(&c->thread, NULL, qcommit_main, c)) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		close(c->pipe_r);
		close(c->pipe_w);
		free(c);
		errno = r;
		return NULL;
	}
	c->thread_started = 1;
	return c;
}

int
qcommit_fd(const struct qcommit *c)
{
	return c->pipe_r;
}

int
qcommit_submit(struct qcommit *c, void *cookie)
{
	struct qwaiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->cookie = cookie;
	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mu);
		free(w);
		errno = ESHUTDOWN;
		return -1;
	}
	qwlist_push(&c->pending, w);
	c->st.pending = c->pending.n;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

size_t
qcommit_collect(struct qcommit *c, qcommit_done_fn cb, void *arg)
{
	struct qwlist	 got;
	struct qwaiter	*w;
	char		 buf[256];
	size_t		 n;

	/* Drain the wake-ups first: a byte written after this is not lost. */
	while (read(c->pipe_r, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&c->mu);
	got = c->done;
	c->done.head = c->done.tail = NULL;
	c->done.n = 0;
	pthread_mutex_unlock(&c->mu);
	n = got.n;
	while ((w = got.head) != NULL) {
		got.head = w->next;
		if (cb != NULL)
			cb(w->cookie, w->ok, arg);
		free(w);
	}
	return n;
}

void
qcommit_free(struct qcommit *c, qcommit_done_fn cb, void *arg)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	/* the thread drained pending before it ended */
	qcommit_collect(c, cb, arg);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	close(c->pipe_r);
	close(c->pipe_w);
	free(c);
}

void
qcommit_stats(struct qcommit *c, struct qcommit_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	st->pending = c->pending.n;
	pthread_mutex_unlock(&c->mu);
}
