/*
 * The store: one transactional Berkeley DB environment in the spool
 * directory, opened by this process alone (an exclusive lock on
 * spool/queued.lock keeps a second queued out) and recovered on every start
 * (DB_RECOVER), so that after any crash it holds exactly the transactions
 * whose log records reached the disk.
 *
 * Databases (btrees; qids sort by arrival):
 *   messages.db	qid -> struct qenv_rec
 *   body.db		qid + piece number -> struct qseg_ext: where the piece
 *			of the body is in a segment file (queued_segment.c)
 *   recipients.db	qid + index -> struct qrcpt_rec
 *   queues.db		gateway NUL domain -> struct qqueue_rec
 *   domidx.db		gateway NUL domain NUL qid -> recipients in it
 *   quarantine.db	qid -> struct qquar_rec: out of the queues, kept
 *   delays.db		due time + qid: delay warnings to send
 *			(queued_delay.c)
 *   holdexp.db		purge time + qid: deleted messages whose undo
 *			window ends then (queued_action.c)
 *
 * A message is written by qstore_msg_put() in one transaction committed
 * with DB_TXN_NOSYNC; durability comes from qstore_flush(), which the
 * group-commit thread calls: it syncs the body segments, then the log, so
 * no durable commit names a body that is not on disk.  The pieces of a
 * deleted message are released only after a flush that started after the
 * deletion committed: until then a crash could bring the message back.  A checkpoint thread runs every
 * queue_checkpoint_interval so that recovery replays little log and old
 * log files go (DB_LOG_AUTO_REMOVE).
 *
 * Trust: message contents come from smtpd and are stored as opaque bytes
 * under keys queued builds itself (qids it allocated); nothing from a peer
 * names a file or a key.
 */
#include "bw_autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "queued.h"
#include "queued_segment.h"

#define QSTORE_LOCKFILE		"queued.lock"
#define QSTORE_TRICKLE_INTERVAL_MS	500	/* between trickle passes */
#define QSTORE_TRICKLE_PERCENT		40	/* of the cache kept clean */
/*
 * Page sizes: an item larger than a quarter page goes to overflow pages of
 * its own.  Envelope and recipient records (about 1 KiB) stay on 16 KiB
 * leaf pages (on 4 KiB pages each took a page of its own).  Bodies use
 * small pages: a body chunk is an overflow item anyway, and a split of a
 * large page is logged whole (64 KiB pages doubled the log per message).
 */
#define QSTORE_PAGESIZE_ENVELOPE	16384
#define QSTORE_PAGESIZE_BODY		4096
#define QSTORE_PAGESIZE_INDEX		4096

static pthread_t	 ckp_thread;
static pthread_mutex_t	 ckp_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ckp_cv = PTHREAD_COND_INITIALIZER;
static int		 ckp_stop, ckp_started;
static long long	 ckp_interval_ms;
static DB_ENV		*ckp_env;
static struct qstore	*ckp_store;

/* The first storage failure, whichever thread met it. */
static pthread_mutex_t	 fail_mu = PTHREAD_MUTEX_INITIALIZER;
static char		 fail_what[QSTORE_FAIL_MAX];

/*
 * A sync, or a write whose outcome is unknown, failed.  From now on no
 * flush is attempted and none succeeds: after a failed fsync the kernel
 * may have dropped the dirty pages and cleared the error, so a second
 * fsync that "succeeds" would prove nothing (PostgreSQL's fsyncgate).
 * The event loop leaves through recovery (qfail_storage()).  Any thread.
 */
void
qstore_fail(struct qstore *st, const char *fmt, ...)
{
	va_list	 ap;

	pthread_mutex_lock(&fail_mu);
	if (fail_what[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(fail_what, sizeof(fail_what), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&fail_mu);
	__atomic_store_n(&st->failed, 1, __ATOMIC_SEQ_CST);
}

int
qstore_failed(struct qstore *st)
{
	return __atomic_load_n(&st->failed, __ATOMIC_SEQ_CST);
}

void
qstore_fail_reason(char *dst, size_t dstsz)
{
	pthread_mutex_lock(&fail_mu);
	strlcpy(dst, fail_what[0] != '\0' ? fail_what : "unknown", dstsz);
	pthread_mutex_unlock(&fail_mu);
}

void
qstore_put_u32be(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
qstore_get_u32be(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* qid + big-endian index in kbuf, and key over it: the key of body
 * pieces and recipients. */
void
qstore_key_idx(DBT *key, unsigned char kbuf[QSTORE_KEY_MAX], const char *qid,
    uint32_t idx)
{
	memcpy(kbuf, qid, BW_QID_LEN);
	qstore_put_u32be(kbuf + BW_QID_LEN, idx);
	memset(key, 0, sizeof(*key));
	key->data = kbuf;
	key->size = QSTORE_KEY_MAX;
}

static void
qstore_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	log_warnx("store: %s", msg);
}

/*
 * The checkpoint thread: never in the event loop, it writes pages.  Between
 * checkpoints it trickles dirty pages out so that the event loop, which
 * allocates new pages for every message, finds clean ones to reuse instead
 * of writing a dirty page itself (that stalled acceptance once the cache
 * had filled).
 */
static void *
qstore_ckp_main(void *arg)
{
	struct timespec	 ts;
	uint64_t	 next_ckp = bw_now_ms() + (uint64_t)ckp_interval_ms;
	int		 r, written;

	pthread_mutex_lock(&ckp_mu);
	while (!ckp_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += QSTORE_TRICKLE_INTERVAL_MS * 1000000L;
		while (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&ckp_cv, &ckp_mu, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&ckp_mu);
		/* a page write or a sync that failed here is a storage
		 * failure like any other: nothing after it is trusted */
		if (qstore_failed(ckp_store)) {
			pthread_mutex_lock(&ckp_mu);
			continue;
		}
		if ((r = ckp_env->memp_trickle(ckp_env, QSTORE_TRICKLE_PERCENT,
		    &written)) != 0)
			qstore_fail(ckp_store, "writing cached pages: %s",
			    db_strerror(r));
		if (r == 0 && bw_now_ms() >= next_ckp) {
			if ((r = ckp_env->txn_checkpoint(ckp_env, 0, 0, 0)) != 0)
				qstore_fail(ckp_store, "checkpoint: %s",
				    db_strerror(r));
			next_ckp = bw_now_ms() + (uint64_t)ckp_interval_ms;
		}
		pthread_mutex_lock(&ckp_mu);
	}
	pthread_mutex_unlock(&ckp_mu);
	return NULL;
}

static DB *
qstore_db_open(DB_ENV *env, const char *file, uint32_t pagesize)
{
	DB	*db;
	int	 r;

	if ((r = db_create(&db, env, 0)) != 0)
		fatalx("store: db_create %s: %s", file, db_strerror(r));
	/* applies when the file is created; an existing file keeps its own */
	if ((r = db->set_pagesize(db, pagesize)) != 0)
		fatalx("store: pagesize %s: %s", file, db_strerror(r));
	if ((r = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600)) != 0)
		fatalx("store: open %s: %s", file, db_strerror(r));
	return db;
}

/* A qid list for recovery. */
struct qstore_qids {
	char		(*v)[BW_QID_LEN + 1];
	size_t		 n;
	size_t		 cap;
};

static void
qstore_qids_add(struct qstore_qids *l, const unsigned char *qid)
{
	char	(*v)[BW_QID_LEN + 1];
	size_t	 n;

	if (l->n > 0 && memcmp(l->v[l->n - 1], qid, BW_QID_LEN) == 0)
		return;		/* records of one message are adjacent */
	if (l->n == l->cap) {
		n = l->cap ? l->cap * 2 : 16;
		if ((v = reallocarray(l->v, n, sizeof(*v))) == NULL)
			fatalx("store: no memory for recovery");
		l->v = v;
		l->cap = n;
	}
	memcpy(l->v[l->n], qid, BW_QID_LEN);
	l->v[l->n][BW_QID_LEN] = '\0';
	l->n++;
}

/* Remove messages found damaged at start-up, one transaction each. */
static void
qstore_drop_damaged(struct qstore *st, const struct qstore_qids *l,
    const char *why)
{
	DB_TXN	*txn;
	size_t	 i;
	int	 r;

	for (i = 0; i < l->n; i++) {
		log_warnx("%s store: body %s: message removed (it was never "
		    "acknowledged, or the disk lost it)", l->v[i], why);
		if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
			fatalx("store: recovery: %s", db_strerror(r));
		if ((r = qstore_msg_delete_txn(st, txn, l->v[i])) != 0 &&
		    r != DB_NOTFOUND) {
			txn->abort(txn);
			fatalx("%s store: recovery: %s", l->v[i],
			    db_strerror(r));
		}
		if ((r = txn->commit(txn, 0)) != 0)
			fatalx("%s store: recovery: %s", l->v[i],
			    db_strerror(r));
		/* not released: unreferenced now, recovery frees them */
		st->staged.head = st->staged.n = 0;
	}
}

/*
 * Start-up: match body.db with the segment files.  A crash can leave a
 * durable commit whose body tail never reached the disk (the log may be
 * written before the flusher syncs the segment; such a message was never
 * acknowledged), so the pieces in the newest segments are read and checked
 * first, from the disk and not from the page cache (after a failed fsync
 * the cache may show what the disk lost); a damaged message is removed.  Then every piece is counted, and
 * whatever no piece covers is freed.
 */
static void
qstore_body_recover(struct qstore *st)
{
	struct qstore_qids	 bad = { NULL, 0, 0 }, lost = { NULL, 0, 0 };
	struct qseg_ext		 x;
	unsigned char		 kbuf[QSTORE_KEY_MAX], *buf;
	DBC			*c;
	DBT			 key, data;
	int			 pass, r;

	if ((buf = malloc(QSTORE_BODY_CHUNK)) == NULL)
		fatalx("store: no memory for recovery");
	for (pass = 0; pass < 2; pass++) {
		if ((r = st->body->cursor(st->body, NULL, &c, 0)) != 0)
			fatalx("store: recovery: %s", db_strerror(r));
		qstore_dbt_user(&key, kbuf, sizeof(kbuf));
		qstore_dbt_user(&data, &x, sizeof(x));
		while ((r = c->get(c, &key, &data, DB_NEXT)) == 0) {
			if (key.size != QSTORE_KEY_MAX ||
			    data.size != sizeof(x))
				fatalx("store: body.db holds records of "
				    "another layout (bodies inside the "
				    "database): drain this spool with the "
				    "release that wrote it");
			if (pass == 0) {
				/* a quarantined message is kept as it is */
				if (qseg_recent(st->seg, &x) &&
				    !qstore_quarantined(st, (char *)kbuf) &&
				    qseg_read_disk(st->seg, &x, buf,
				    QSTORE_BODY_CHUNK) == -1)
					qstore_qids_add(&bad, kbuf);
			} else if (qseg_recover_ref(st->seg, &x) == -1)
				qstore_qids_add(&lost, kbuf);
		}
		c->close(c);
		if (r != DB_NOTFOUND && r != DB_BUFFER_SMALL)
			fatalx("store: recovery: %s", db_strerror(r));
		if (r == DB_BUFFER_SMALL)
			fatalx("store: body.db holds records of another "
			    "layout: drain this spool with the release that "
			    "wrote it");
		if (pass == 0)
			qstore_drop_damaged(st, &bad, "incomplete");
	}
	/* pieces of these were counted: their segments stay until the next
	 * start, which is harmless */
	qstore_drop_damaged(st, &lost, "outside its segment");
	qseg_recover_done(st->seg);
	free(bad.v);
	free(lost.v);
	free(buf);
}

/*
 * What recovery found is what smtpd's MSG_COMMIT_CHECK is answered from,
 * so it must be on the disk, not only in the page cache that a killed
 * queued left behind: every body segment and every log file is synced
 * once before anyone is served.
 */
static void
qstore_sync_recovered(struct qstore *st)
{
	char	**list = NULL, **p;
	int	 fd, r;

	if (qseg_sync_all(st->seg) == -1)
		fatalx("store: the body segments cannot be synced after "
		    "recovery");
	if ((r = st->env->log_archive(st->env, &list, DB_ARCH_ABS |
	    DB_ARCH_LOG)) != 0)
		fatalx("store: log files: %s", db_strerror(r));
	for (p = list; p != NULL && *p != NULL; p++) {
		if ((fd = open(*p, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fdatasync(fd) == -1)
			fatal("store: log file %s cannot be synced", *p);
		close(fd);
	}
	free(list);
}

void
qstore_open(struct qstore *st, const struct bw_config *cfg)
{
	const char	*spool = cfg->spool_dir;
	char		 path[PATH_MAX];
	long long	 cache = BW_LIMIT(cfg, LIM_QUEUE_DB_CACHE);
	DB_ENV		*env;
	int		 r;

	memset(st, 0, sizeof(*st));
	if (bw_path(path, sizeof(path), spool, QSTORE_LOCKFILE) == -1)
		fatalx("store: spool path too long");
	if ((st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		fatal("store: %s", path);
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) == -1)
		fatal("store: %s is locked: another queued runs on this "
		    "spool", path);

	if ((r = db_env_create(&env, 0)) != 0)
		fatalx("store: db_env_create: %s", db_strerror(r));
	env->set_errcall(env, qstore_errcall);
	if ((r = env->set_cachesize(env, (uint32_t)(cache / (1LL << 30)),
	    (uint32_t)(cache % (1LL << 30)), 1)) != 0 ||
	    (r = env->set_lg_bsize(env, QSTORE_LOG_BUFFER)) != 0 ||
	    (r = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (r = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0)
		fatalx("store: environment settings: %s", db_strerror(r));
	log_info("store: opening %s (recovery)", spool);
	if ((r = env->open(env, spool, DB_CREATE | DB_INIT_TXN | DB_INIT_LOG |
	    DB_INIT_LOCK | DB_INIT_MPOOL | DB_RECOVER | DB_THREAD, 0600)) != 0)
		fatalx("store: open environment %s: %s", spool,
		    db_strerror(r));
	st->env = env;
	st->messages = qstore_db_open(env, "messages.db",
	    QSTORE_PAGESIZE_ENVELOPE);
	st->body = qstore_db_open(env, "body.db",
	    QSTORE_PAGESIZE_BODY);
	st->rcpts = qstore_db_open(env, "recipients.db",
	    QSTORE_PAGESIZE_ENVELOPE);
	st->queues = qstore_db_open(env, "queues.db",
	    QSTORE_PAGESIZE_INDEX);
	st->domidx = qstore_db_open(env, "domidx.db",
	    QSTORE_PAGESIZE_INDEX);
	st->quarantine = qstore_db_open(env, "quarantine.db",
	    QSTORE_PAGESIZE_INDEX);
	st->delays = qstore_db_open(env, "delays.db",
	    QSTORE_PAGESIZE_INDEX);
	st->holdexp = qstore_db_open(env, "holdexp.db",
	    QSTORE_PAGESIZE_INDEX);
	if (bw_path(path, sizeof(path), spool, QSEG_DIR) == -1)
		fatalx("store: spool path too long");
	if ((st->seg = qseg_open(path, (uint64_t)BW_LIMIT(cfg,
	    LIM_QUEUE_SEGMENT_SIZE), (size_t)BW_LIMIT(cfg,
	    LIM_QUEUE_SEGMENT_SPARES))) == NULL)
		fatalx("store: cannot open the body segments in %s", path);
	qstore_body_recover(st);
	if ((r = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0)
		fatalx("store: checkpoint after recovery: %s", db_strerror(r));
	qstore_sync_recovered(st);

	ckp_env = env;
	ckp_store = st;
	ckp_stop = 0;
	ckp_interval_ms = BW_LIMIT(cfg, LIM_QUEUE_CHECKPOINT_INTERVAL);
	if ((r = pthread_create(&ckp_thread, NULL, qstore_ckp_main,
	    NULL)) != 0)
		fatalx("store: checkpoint thread: %s", strerror(r));
	ckp_started = 1;
}

void
qstore_close(struct qstore *st)
{
	DB	*dbs[8];
	int	 i, r;

	if (st->env == NULL)
		return;
	if (ckp_started) {
		pthread_mutex_lock(&ckp_mu);
		ckp_stop = 1;
		pthread_cond_broadcast(&ckp_cv);
		pthread_mutex_unlock(&ckp_mu);
		pthread_join(ckp_thread, NULL);
		ckp_started = 0;
	}
	if ((r = st->env->txn_checkpoint(st->env, 0, 0, DB_FORCE)) != 0)
		log_warnx("store: checkpoint: %s", db_strerror(r));
	dbs[0] = st->messages;
	dbs[1] = st->body;
	dbs[2] = st->rcpts;
	dbs[3] = st->queues;
	dbs[4] = st->domidx;
	dbs[5] = st->quarantine;
	dbs[6] = st->delays;
	dbs[7] = st->holdexp;
	for (i = 0; i < 8; i++)
		if (dbs[i] != NULL && (r = dbs[i]->close(dbs[i], 0)) != 0)
			log_warnx("store: close: %s", db_strerror(r));
	if ((r = st->env->close(st->env, 0)) != 0)
		log_warnx("store: close environment: %s", db_strerror(r));
	st->env = NULL;
	/* pieces still waiting for a flush are freed by the next start */
	qseg_close(st->seg);
	st->seg = NULL;
	free(st->staged.v);
	free(st->deferred.v);
	memset(&st->staged, 0, sizeof(st->staged));
	memset(&st->deferred, 0, sizeof(st->deferred));
	if (st->lockfd != -1)
		close(st->lockfd);
	st->lockfd = -1;
}

/* A DBT over caller memory: Berkeley DB writes at most len bytes there. */
void
qstore_dbt_user(DBT *d, void *buf, uint32_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = buf;
	d->ulen = len;
	d->flags = DB_DBT_USERMEM;
}

/* qcommit_flush_fn: make every committed transaction durable. */
int
qstore_flush(void *arg)
{
	struct qstore	*st = arg;
	uint64_t	 seq;
	int		 r;

	char		 why[QSEG_ERR_MAX];

	if (qstore_failed(st))
		return -1;	/* never again after a failure */
	seq = __atomic_add_fetch(&st->flush_started, 1, __ATOMIC_SEQ_CST);
	if (qseg_sync(st->seg) == -1) {
		qseg_sync_error(st->seg, why, sizeof(why));
		qstore_fail(st, "%s", why);
		return -1;
	}
	if ((r = st->env->log_flush(st->env, NULL)) != 0) {
		qstore_fail(st, "log flush: %s", db_strerror(r));
		return -1;
	}
	__atomic_store_n(&st->flush_done, seq, __ATOMIC_SEQ_CST);
	return 0;
}

/* Remember a piece to release; without memory it stays until a restart
 * frees it. */
static void
qstore_rels_push(struct qstore_rels *l, const struct qseg_ext *x,
    uint64_t flush)
{
	struct qstore_rel	*v;
	size_t			 n;

	if (l->head > 0 && l->head == l->n)
		l->head = l->n = 0;
	if (l->n == l->cap) {
		if (l->head > 0) {
			memmove(l->v, l->v + l->head,
			    (l->n - l->head) * sizeof(*l->v));
			l->n -= l->head;
			l->head = 0;
		}
		if (l->n == l->cap) {
			n = l->cap ? l->cap * 2 : 256;
			if ((v = reallocarray(l->v, n, sizeof(*v))) == NULL) {
				log_warnx("store: no memory to release a body "
				    "piece; its space returns at restart");
				return;
			}
			l->v = v;
			l->cap = n;
		}
	}
	l->v[l->n].x = *x;
	l->v[l->n].flush = flush;
	l->n++;
}

/*
 * The transaction that deleted messages (qstore_msg_delete_txn) ended: on
 * commit their pieces wait for the next flush, else they stay.
 */
void
qstore_txn_end(struct qstore *st, int committed)
{
	uint64_t	 next;
	size_t		 i;

	if (committed && st->staged.n > 0) {
		next = __atomic_load_n(&st->flush_started, __ATOMIC_SEQ_CST) +
		    1;
		for (i = st->staged.head; i < st->staged.n; i++)
			qstore_rels_push(&st->deferred, &st->staged.v[i].x,
			    next);
		qsched_flush_request();
	}
	st->staged.head = st->staged.n = 0;
}

static struct event	*qstore_punch_ev;

static void
qstore_punch_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qstore	*st = arg;
	struct timeval	 tv;
	int64_t		 next;

	if ((next = qseg_punch_due(st->seg, QSEG_PUNCH_DELAY_MS)) < 0)
		return;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	evtimer_add(qstore_punch_ev, &tv);
}

/* A segment's released blocks are punched once the first of them has
 * waited QSEG_PUNCH_DELAY_MS (see queued_segment.h). */
void
qstore_punch_schedule(struct qstore *st, struct event_base *base)
{
	struct timeval	 tv = { QSEG_PUNCH_DELAY_MS / 1000,
			    (QSEG_PUNCH_DELAY_MS % 1000) * 1000 };

	if (!qseg_punch_pending(st->seg))
		return;
	if (qstore_punch_ev == NULL && (qstore_punch_ev = evtimer_new(base,
	    qstore_punch_cb, st)) == NULL) {
		(void)qseg_punch_due(st->seg, 0);	/* no timer: at once */
		return;
	}
	if (!evtimer_pending(qstore_punch_ev, NULL))
		evtimer_add(qstore_punch_ev, &tv);
}

void
qstore_punch_shutdown(struct qstore *st)
{
	if (qstore_punch_ev == NULL)
		return;
	event_free(qstore_punch_ev);
	qstore_punch_ev = NULL;
	(void)qseg_punch_due(st->seg, 0);
}

/* Release the pieces whose deletion a finished flush made durable, in
 * one batch so that neighbouring pieces are freed together. */
void
qstore_release_flushed(struct qstore *st)
{
	struct qstore_rels	*l = &st->deferred;
	struct qseg_ext		*xs;
	uint64_t		 done;
	size_t			 k, n;

	done = __atomic_load_n(&st->flush_done, __ATOMIC_SEQ_CST);
	for (n = 0; l->head + n < l->n && l->v[l->head + n].flush <= done; n++)
		;
	if (n == 0)
		return;
	if ((xs = reallocarray(NULL, n, sizeof(*xs))) != NULL) {
		for (k = 0; k < n; k++)
			xs[k] = l->v[l->head + k].x;
		qseg_release_batch(st->seg, xs, n);
		free(xs);
	} else
		for (k = 0; k < n; k++)
			qseg_release(st->seg, &l->v[l->head + k].x);
	l->head += n;
	if (l->head == l->n)
		l->head = l->n = 0;
}

struct qdom {
	const char	*domain;
	uint32_t	 idx;
};

static int
qdom_cmp(const void *a, const void *b)
{
	const struct qdom	*x = a, *y = b;

	return strcmp(x->domain, y->domain);
}

/* Envelope, recipients, body and queue records in one transaction. */
int
qstore_msg_put(struct qstore *st, struct qmsg *m)
{
	struct qenv_rec		 e;
	struct qrcpt_rec	*rr = NULL;
	struct qdom		*doms = NULL;
	unsigned char		 kbuf[QSTORE_KEY_MAX];
	unsigned char		 packed[sizeof(struct qrcpt_rec)];
	const char		*what = "begin";
	DB_TXN			*txn = NULL;
	DBT			 key, data;
	uint32_t		 i, j;
	int			 r = 0;

	/* the body's last part goes to its segment first */
	if (qmsg_body_flush(m) == -1)
		goto fail_nodb;

	qstore_env_fill(&e, m);
	e.delay_due = qdelay_due(m);

	if ((rr = calloc(m->nrcpt, sizeof(*rr))) == NULL ||
	    (doms = calloc(m->nrcpt, sizeof(*doms))) == NULL) {
		log_warn("%s store: cannot allocate", m->qid);
		goto fail_nodb;
	}
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;

	what = "envelope";
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = m->qid;
	key.size = BW_QID_LEN;
	data.data = packed;
	data.size = (uint32_t)qstore_env_pack(&e, packed);
	if ((r = st->messages->put(st->messages, txn, &key, &data,
	    DB_NOOVERWRITE)) != 0)
		goto fail;
	what = "delay index";
	if ((r = qdelay_index_put(st, txn, m->qid, e.delay_due)) != 0)
		goto fail;

	what = "body";
	for (i = 0; i < m->nexts; i++) {
		qstore_key_idx(&key, kbuf, m->qid, i);
		data.data = &m->exts[i];
		data.size = sizeof(m->exts[i]);
		if ((r = st->body->put(st->body, txn, &key, &data, 0)) != 0)
			goto fail;
	}

	what = "recipients";
	for (i = 0; i < m->nrcpt; i++) {
		rr[i].version = QSTORE_VERSION;
		rr[i].state = BW_RCPT_QUEUED;
		strlcpy(rr[i].rcpt, m->rcpts[i], sizeof(rr[i].rcpt));
		qqueue_rcpt_domain(rr[i].domain, sizeof(rr[i].domain),
		    m->rcpts[i], q_env != NULL ? q_env->d.cfg->hostname :
		    "localhost");
		strlcpy(rr[i].gateway, e.gateway, sizeof(rr[i].gateway));
		if (m->notify != NULL)
			rr[i].notify = m->notify[i];
		if (m->orcpt != NULL && m->orcpt[i] != NULL)
			strlcpy(rr[i].orcpt, m->orcpt[i], sizeof(rr[i].orcpt));
		qstore_key_idx(&key, kbuf, m->qid, i);
		data.data = packed;
		data.size = (uint32_t)qstore_rcpt_pack(&rr[i], packed);
		if ((r = st->rcpts->put(st->rcpts, txn, &key, &data, 0)) != 0)
			goto fail;
		doms[i].domain = rr[i].domain;
		doms[i].idx = i;
	}

	/* One queue record update per distinct domain. */
	what = "queues";
	qsort(doms, m->nrcpt, sizeof(*doms), qdom_cmp);
	for (i = 0; i < m->nrcpt; i = j) {
		for (j = i + 1; j < m->nrcpt &&
		    strcmp(doms[i].domain, doms[j].domain) == 0; j++)
			;
		if ((r = qqueue_add(st, txn, e.gateway,
		    doms[i].domain, m->qid, j - i, m->created)) != 0)
			goto fail;
	}

	what = "commit";
	r = txn->commit(txn, DB_TXN_NOSYNC);
	txn = NULL;
	if (r != 0)
		goto fail;
	qdelay_note(e.delay_due);
	/* the pieces belong to the store now */
	free(m->exts);
	m->exts = NULL;
	m->nexts = m->exts_cap = 0;
	free(rr);
	free(doms);
	return 0;
fail:
	log_warnx("%s store: cannot write %s: %s", m->qid, what,
	    db_strerror(r));
	if (txn != NULL)
		txn->abort(txn);
	if (r == DB_RUNRECOVERY)
		fatalx("%s store: environment needs recovery", m->qid);
fail_nodb:
	qmsg_body_release(m);
	free(rr);
	free(doms);
	return -1;
}

/* Remove a message and its queue entries inside txn; a DB error. */
int
qstore_msg_delete_txn(struct qstore *st, DB_TXN *txn, const char *qid)
{
	struct qenv_rec		 e;
	struct qrcpt_rec	 rr;
	struct qseg_ext		 x;
	unsigned char		 kbuf[QSTORE_KEY_MAX];
	char			 prev[BW_DOMAIN_MAX + 1];
	DBT			 key, data;
	uint32_t		 i;
	int			 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	memset(&e, 0, sizeof(e));	/* an older, shorter record */
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	qstore_dbt_user(&data, &e, sizeof(e));
	if ((r = st->messages->get(st->messages, txn, &key, &data,
	    DB_RMW)) != 0)
		return r;
	/* broken text is no reason to keep it: the numbers are read */
	(void)qstore_env_load(&e, data.size);
	if ((r = st->messages->del(st->messages, txn, &key, 0)) != 0)
		return r;
	if ((r = qdelay_index_del(st, txn, qid, e.delay_due)) != 0)
		return r;
	for (i = 0; i < e.nchunks; i++) {
		qstore_key_idx(&key, kbuf, qid, i);
		qstore_dbt_user(&data, &x, sizeof(x));
		if ((r = st->body->get(st->body, txn, &key, &data,
		    DB_RMW)) == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		if ((r = st->body->del(st->body, txn, &key, 0)) != 0)
			return r;
		if (data.size == sizeof(x))
			qstore_rels_push(&st->staged, &x, 0);
	}
	/* Recipients were stored sorted by nothing: remove each queue entry
	 * once; qqueue_remove() ignores one already gone. */
	prev[0] = '\0';
	for (i = 0; i < e.nrcpt; i++) {
		qstore_key_idx(&key, kbuf, qid, i);
		qstore_dbt_user(&data, &rr, sizeof(rr));
		if ((r = st->rcpts->get(st->rcpts, txn, &key, &data,
		    DB_RMW)) == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		(void)qstore_rcpt_load(&rr, data.size);	/* ends strings */
		if (strcmp(prev, rr.domain) != 0 &&
		    (r = qqueue_remove(st, txn, rr.gateway, rr.domain,
		    qid)) != 0)
			return r;
		strlcpy(prev, rr.domain, sizeof(prev));
		if ((r = st->rcpts->del(st->rcpts, txn, &key, 0)) != 0)
			return r;
	}
	return 0;
}

/* Remove a message and its queue entries in one transaction. */
int
qstore_msg_delete(struct qstore *st, const char *qid)
{
	DB_TXN	*txn = NULL;
	int	 r;

	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if ((r = qstore_msg_delete_txn(st, txn, qid)) != 0)
		goto fail;
	r = txn->commit(txn, DB_TXN_NOSYNC);
	txn = NULL;
	qstore_txn_end(st, r == 0);
	if (r != 0)
		goto fail;
	return 0;
fail:
	log_warnx("%s store: cannot delete: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

/* The envelope of qid: 0, 1 if not found, -1 on error. */
int
qstore_msg_get(struct qstore *st, const char *qid, struct qenv_rec *e)
{
	DBT	 key, data;
	int	 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	qstore_dbt_user(&data, e, sizeof(*e));
	memset(e, 0, sizeof(*e));
	if ((r = st->messages->get(st->messages, NULL, &key, &data, 0)) == 0) {
		if (qstore_env_load(e, data.size) == 0)
			return 0;
		log_warnx("%s store: envelope of %u bytes is damaged", qid,
		    data.size);
		return -1;
	}
	if (r == DB_NOTFOUND)
		return 1;
	log_warnx("%s store: cannot read envelope: %s", qid, db_strerror(r));
	return -1;
}

/* Record qid+idx of db into buf: a Berkeley DB return code, *lenp set. */
static int
qstore_get_idx(DB *db, const char *qid, uint32_t idx, void *buf,
    size_t bufsz, uint32_t *lenp)
{
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DBT		 key, data;
	int		 r;

	qstore_key_idx(&key, kbuf, qid, idx);
	qstore_dbt_user(&data, buf, (uint32_t)bufsz);
	r = db->get(db, NULL, &key, &data, 0);
	*lenp = r == 0 ? data.size : 0;
	return r;
}

/* Recipient idx of qid: 0, 1 if not found, -1 on error. */
int
qstore_rcpt_get(struct qstore *st, const char *qid, uint32_t idx,
    struct qrcpt_rec *rr)
{
	uint32_t	 len;
	int		 r;

	memset(rr, 0, sizeof(*rr));
	if ((r = qstore_get_idx(st->rcpts, qid, idx, rr, sizeof(*rr),
	    &len)) == 0) {
		if (qstore_rcpt_load(rr, len) == 0)
			return 0;
		log_warnx("%s store: recipient %u of %u bytes is damaged",
		    qid, idx, len);
		return -1;
	}
	if (r == DB_NOTFOUND)
		return 1;
	log_warnx("%s store: cannot read recipient %u: %s", qid, idx,
	    db_strerror(r));
	return -1;
}

/* Body bytes the store's piece records account for. */
uint64_t
qstore_body_stored(struct qstore *st, const char *qid, uint32_t nchunks)
{
	struct qseg_ext	 x;
	uint64_t	 total = 0;
	uint32_t	 i, len;

	for (i = 0; i < nchunks; i++) {
		if (qstore_get_idx(st->body, qid, i, &x, sizeof(x), &len) !=
		    0 || len != sizeof(x))
			break;
		total += x.len;
	}
	return total;
}

/* Recipient records actually in the store, at most nrcpt looked at. */
uint32_t
qstore_rcpt_stored(struct qstore *st, const char *qid, uint32_t nrcpt)
{
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DBT		 key, data;
	uint32_t	 i, n = 0;
	int		 r;

	for (i = 0; i < nrcpt; i++) {
		qstore_key_idx(&key, kbuf, qid, i);
		qstore_dbt_user(&data, NULL, 0);	/* just the size */
		r = st->rcpts->get(st->rcpts, NULL, &key, &data, 0);
		if (r == DB_BUFFER_SMALL || r == 0)
			n++;
	}
	return n;
}

/* Start-up count: messages (one pass over the envelopes' keys) and
 * recipients (sum of the queue records). */
int
qstore_count(struct qstore *st, uint64_t *msgs, uint64_t *rcpts)
{
	struct qqueue_rec	 q;
	unsigned char		 kbuf[QQUEUE_KEY_MAX];
	DBC			*c = NULL;
	DBT			 key, data;
	int			 r;

	*msgs = *rcpts = 0;
	if ((r = st->messages->cursor(st->messages, NULL, &c, 0)) != 0)
		goto fail;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	qstore_dbt_user(&key, kbuf, sizeof(kbuf));
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;	/* no data copied */
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0)
		(*msgs)++;
	c->close(c);
	c = NULL;
	if (r != DB_NOTFOUND)
		goto fail;
	/* quarantined messages are in no queue */
	if ((r = st->quarantine->cursor(st->quarantine, NULL, &c, 0)) != 0)
		goto fail;
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0)
		if (*msgs > 0)
			(*msgs)--;
	c->close(c);
	c = NULL;
	if (r != DB_NOTFOUND)
		goto fail;
	if ((r = st->queues->cursor(st->queues, NULL, &c, 0)) != 0)
		goto fail;
	qstore_dbt_user(&data, &q, sizeof(q));
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0)
		if (data.size == sizeof(q))
			*rcpts += q.recipients;
	c->close(c);
	if (r != DB_NOTFOUND)
		goto fail;
	return 0;
fail:
	log_warnx("store: cannot count the queue: %s", db_strerror(r));
	return -1;
}

/* Body piece idx of qid into buf: its length, 0 if absent, -1 on error
 * (unreadable, or its check value does not match). */
ssize_t
qstore_body_chunk(struct qstore *st, const char *qid, uint32_t idx,
    void *buf, size_t bufsz)
{
	struct qseg_ext	 x;
	ssize_t		 n;
	uint32_t	 len;
	int		 r;

	if ((r = qstore_get_idx(st->body, qid, idx, &x, sizeof(x),
	    &len)) == DB_NOTFOUND)
		return 0;
	if (r != 0) {
		log_warnx("%s store: cannot read body piece %u: %s", qid, idx,
		    db_strerror(r));
		return -1;
	}
	if (len != sizeof(x) || (n = qseg_read(st->seg, &x, buf,
	    bufsz)) == -1) {
		log_warn("%s store: body piece %u (segment %08x offset %" PRIu64
		    ") unreadable", qid, idx, x.seg, x.off);
		return -1;
	}
	return n;
}

/* 1 when qid is in the quarantine (bwctl queue repair) or held or
 * deleted (bwctl hold, delete): out of its queues either way. */
int
qstore_quarantined(struct qstore *st, const char *qid)
{
	DBT	 key, data;
	int	 r;

	memset(&key, 0, sizeof(key));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	qstore_dbt_user(&data, NULL, 0);	/* just whether it is there */
	r = st->quarantine->get(st->quarantine, NULL, &key, &data, 0);
	return r == 0 || r == DB_BUFFER_SMALL;
}
