/*
 * The store: one transactional Berkeley DB environment in the spool
 * directory, opened by this process alone (an exclusive lock on
 * spool/queued.lock keeps a second queued out) and recovered on every start
 * (DB_RECOVER), so that after any crash it holds exactly the transactions
 * whose log records reached the disk.
 *
 * Databases (btrees; qids sort by arrival):
 *   messages.db	qid -> struct qenv_rec
 *   body.db		qid + chunk number -> up to QSTORE_BODY_CHUNK bytes
 *   recipients.db	qid + index -> struct qrcpt_rec
 *   queues.db		gateway NUL domain -> struct qqueue_rec
 *   domidx.db		gateway NUL domain NUL qid -> recipients in it
 *
 * A message is written by qstore_msg_put() in one transaction committed
 * with DB_TXN_NOSYNC; durability comes from qstore_flush(), which the
 * group-commit thread calls.  A checkpoint thread runs every
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QSTORE_LOCKFILE		"queued.lock"
#define QSTORE_KEY_MAX		(BW_QID_LEN + 4)
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

/* qid + big-endian index: the key of body chunks and recipients. */
static void
qstore_key_idx(unsigned char key[QSTORE_KEY_MAX], const char *qid,
    uint32_t idx)
{
	memcpy(key, qid, BW_QID_LEN);
	qstore_put_u32be(key + BW_QID_LEN, idx);
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
		if ((r = ckp_env->memp_trickle(ckp_env, QSTORE_TRICKLE_PERCENT,
		    &written)) != 0)
			log_warnx("store: trickle: %s", db_strerror(r));
		if (bw_now_ms() >= next_ckp) {
			if ((r = ckp_env->txn_checkpoint(ckp_env, 0, 0, 0)) != 0)
				log_warnx("store: checkpoint: %s",
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
	if ((r = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0)
		log_warnx("store: checkpoint: %s", db_strerror(r));

	ckp_env = env;
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
	DB	*dbs[5];
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
	for (i = 0; i < 5; i++)
		if (dbs[i] != NULL && (r = dbs[i]->close(dbs[i], 0)) != 0)
			log_warnx("store: close: %s", db_strerror(r));
	if ((r = st->env->close(st->env, 0)) != 0)
		log_warnx("store: close environment: %s", db_strerror(r));
	st->env = NULL;
	if (st->lockfd != -1)
		close(st->lockfd);
	st->lockfd = -1;
}

/* qcommit_flush_fn: make every committed transaction durable. */
int
qstore_flush(void *arg)
{
	struct qstore	*st = arg;
	int		 r;

	if ((r = st->env->log_flush(st->env, NULL)) != 0) {
		log_warnx("store: log flush: %s", db_strerror(r));
		return -1;
	}
	return 0;
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
	unsigned char		 kbuf[QSTORE_KEY_MAX], *chunk = NULL;
	const char		*what = "begin";
	DB_TXN			*txn = NULL;
	DBT			 key, data;
	uint64_t		 off;
	uint32_t		 i, j, n;
	ssize_t			 got;
	int			 r = 0;

	memset(&e, 0, sizeof(e));
	e.version = QSTORE_VERSION;
	e.flags = m->flags;
	e.created = m->created;
	e.size = m->size;
	e.nrcpt = m->nrcpt;
	e.nchunks = (uint32_t)((m->size + QSTORE_BODY_CHUNK - 1) /
	    QSTORE_BODY_CHUNK);
	strlcpy(e.sender, m->sender, sizeof(e.sender));
	strlcpy(e.helo, m->helo, sizeof(e.helo));
	strlcpy(e.client_addr, m->client_addr, sizeof(e.client_addr));
	strlcpy(e.client_name, m->client_name, sizeof(e.client_name));
	strlcpy(e.listener, m->listener, sizeof(e.listener));
	strlcpy(e.gateway, m->gateway[0] ? m->gateway : QUEUED_GATEWAY_DEFAULT,
	    sizeof(e.gateway));

	if ((chunk = malloc(QSTORE_BODY_CHUNK)) == NULL ||
	    (rr = calloc(m->nrcpt, sizeof(*rr))) == NULL ||
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
	data.data = &e;
	data.size = sizeof(e);
	if ((r = st->messages->put(st->messages, txn, &key, &data,
	    DB_NOOVERWRITE)) != 0)
		goto fail;

	what = "body";
	for (off = 0, i = 0; off < m->size; off += (uint64_t)got, i++) {
		n = m->size - off > QSTORE_BODY_CHUNK ? QSTORE_BODY_CHUNK :
		    (uint32_t)(m->size - off);
		if ((got = qmsg_body_read(m, off, chunk, n)) != (ssize_t)n) {
			log_warn("%s store: cannot read the spilled body",
			    m->qid);
			r = EIO;
			goto fail;
		}
		qstore_key_idx(kbuf, m->qid, i);
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		data.data = chunk;
		data.size = n;
		if ((r = st->body->put(st->body, txn, &key, &data, 0)) != 0)
			goto fail;
	}

	what = "recipients";
	for (i = 0; i < m->nrcpt; i++) {
		rr[i].version = QSTORE_VERSION;
		rr[i].state = BW_RCPT_QUEUED;
		strlcpy(rr[i].rcpt, m->rcpts[i], sizeof(rr[i].rcpt));
		qqueue_rcpt_domain(rr[i].domain, sizeof(rr[i].domain),
		    m->rcpts[i], q_env != NULL ? q_env->d.cfg.hostname :
		    "localhost");
		strlcpy(rr[i].gateway, e.gateway, sizeof(rr[i].gateway));
		qstore_key_idx(kbuf, m->qid, i);
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		data.data = &rr[i];
		data.size = sizeof(rr[i]);
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
	free(chunk);
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
	free(chunk);
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
	unsigned char		 kbuf[QSTORE_KEY_MAX];
	char			 prev[BW_DOMAIN_MAX + 1];
	DBT			 key, data;
	uint32_t		 i;
	int			 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	data.data = &e;
	data.ulen = sizeof(e);
	data.flags = DB_DBT_USERMEM;
	if ((r = st->messages->get(st->messages, txn, &key, &data,
	    DB_RMW)) != 0)
		return r;
	if ((r = st->messages->del(st->messages, txn, &key, 0)) != 0)
		return r;
	for (i = 0; i < e.nchunks; i++) {
		qstore_key_idx(kbuf, qid, i);
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		if ((r = st->body->del(st->body, txn, &key, 0)) != 0 &&
		    r != DB_NOTFOUND)
			return r;
	}
	/* Recipients were stored sorted by nothing: remove each queue entry
	 * once; qqueue_remove() ignores one already gone. */
	prev[0] = '\0';
	for (i = 0; i < e.nrcpt; i++) {
		qstore_key_idx(kbuf, qid, i);
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		data.data = &rr;
		data.ulen = sizeof(rr);
		data.flags = DB_DBT_USERMEM;
		if ((r = st->rcpts->get(st->rcpts, txn, &key, &data,
		    DB_RMW)) == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		rr.domain[sizeof(rr.domain) - 1] = '\0';
		rr.gateway[sizeof(rr.gateway) - 1] = '\0';
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
	if (r != 0)
		goto fail;
	return 0;
fail:
	log_warnx("%s store: cannot delete: %s", qid, db_strerror(r));
	if (txn != NULL)
		txn->abort(txn);
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
	data.data = e;
	data.ulen = sizeof(*e);
	data.flags = DB_DBT_USERMEM;
	memset(e, 0, sizeof(*e));
	if ((r = st->messages->get(st->messages, NULL, &key, &data, 0)) == 0)
		return 0;
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

	qstore_key_idx(kbuf, qid, idx);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	key.size = QSTORE_KEY_MAX;
	data.data = buf;
	data.ulen = (uint32_t)bufsz;
	data.flags = DB_DBT_USERMEM;
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
	    &len)) == 0)
		return 0;
	if (r == DB_NOTFOUND)
		return 1;
	log_warnx("%s store: cannot read recipient %u: %s", qid, idx,
	    db_strerror(r));
	return -1;
}

/* Body bytes actually in the store (sizes only, nothing copied). */
uint64_t
qstore_body_stored(struct qstore *st, const char *qid, uint32_t nchunks)
{
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DBT		 key, data;
	uint64_t	 total = 0;
	uint32_t	 i;
	int		 r;

	for (i = 0; i < nchunks; i++) {
		qstore_key_idx(kbuf, qid, i);
		memset(&key, 0, sizeof(key));
		memset(&data, 0, sizeof(data));
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		data.flags = DB_DBT_USERMEM;	/* ulen 0: just the size */
		r = st->body->get(st->body, NULL, &key, &data, 0);
		if (r == DB_BUFFER_SMALL || r == 0)
			total += data.size;
		else
			break;
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
		qstore_key_idx(kbuf, qid, i);
		memset(&key, 0, sizeof(key));
		memset(&data, 0, sizeof(data));
		key.data = kbuf;
		key.size = QSTORE_KEY_MAX;
		data.flags = DB_DBT_USERMEM;
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
	key.data = kbuf;
	key.ulen = sizeof(kbuf);
	key.flags = DB_DBT_USERMEM;
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;	/* no data copied */
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0)
		(*msgs)++;
	c->close(c);
	c = NULL;
	if (r != DB_NOTFOUND)
		goto fail;
	if ((r = st->queues->cursor(st->queues, NULL, &c, 0)) != 0)
		goto fail;
	data.data = &q;
	data.ulen = sizeof(q);
	data.flags = DB_DBT_USERMEM;
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

/* Body chunk idx of qid into buf: its length, 0 if absent, -1 on error. */
ssize_t
qstore_body_chunk(struct qstore *st, const char *qid, uint32_t idx,
    void *buf, size_t bufsz)
{
	uint32_t	 len;
	int		 r;

	if ((r = qstore_get_idx(st->body, qid, idx, buf, bufsz, &len)) == 0)
		return (ssize_t)len;
	if (r == DB_NOTFOUND)
		return 0;
	log_warnx("%s store: cannot read body chunk %u: %s", qid, idx,
	    db_strerror(r));
	return -1;
}
