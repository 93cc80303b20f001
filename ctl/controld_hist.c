/*
 * The monitor's history store: a Berkeley DB environment of its own in
 * monitor_dir (controld's alone; nothing else opens it).
 *
 *   hist.db	res (u8) + slot (u32 BE) -> one point (mon_rec.c); 2880
 *		minute slots and 2160 hour slots, each point overwriting the
 *		one of 48 hours or 90 days before: the size is bounded by
 *		construction (slots x the largest record, plus the pages' slack
 *		and the log).
 *   names.db	'n' + series name -> { u32 id, u32 kind }, append-only,
 *		at most MON_SERIES_MAX - 1 names.
 *
 * A minute is one transaction committed without a sync, then the log is
 * flushed (history may lose the last minute in a crash, never its
 * consistency; DB_RECOVER at open); an hour's point, built from its
 * minutes when the hour ends, is another, followed by a checkpoint, and
 * the log files the checkpoint made unneeded are removed (DB_LOG_AUTO_
 * REMOVE).  The files' size is checked against monitor_history_max_bytes
 * once a minute and logged once when it is over.
 *
 * A store that cannot be opened or fails is closed and logged once;
 * controld goes on without history (bwctl show history says so).
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "log.h"
#include "util.h"
#include "controld.h"
#include "controld_hist.h"

#define MON_DB_CACHE		(2 * 1024 * 1024)	/* bytes of cache */
#define MON_DB_LOG_FILE		(1024 * 1024)	/* bytes per log file */
#define MON_DB_PAGESIZE		(64 * 1024)	/* points of ~10 KB sit on
						   pages, not overflow pages */
#define MON_NAMES_PAGESIZE	4096
#define MON_REC_BUF		(mon_rec_max(MON_SERIES_MAX, MON_DOMS_MAX))

static DB_ENV		*mon_env;
static DB		*mon_db;		/* hist.db */
static DB		*mon_names;		/* names.db */
static char		 mon_dir[PATH_MAX];
static uint64_t		 mon_max_bytes;
static int		 mon_over;		/* logged over the limit */
static unsigned char	*mon_buf;		/* MON_REC_BUF */
static struct mon_point	*mon_pt;		/* scratch for hours */
static int64_t		 mon_last_minute;	/* stored last */

static char		 mon_sname[MON_SERIES_MAX][MON_SERIES_NAME_MAX];
static uint8_t		 mon_skind[MON_SERIES_MAX];
static uint32_t		 mon_nseries;		/* ids 1..mon_nseries */

struct mon_name_rec {
	uint32_t	 id;
	uint32_t	 kind;
};

static void
mon_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	log_warnx("history: %s", msg);
}

int
mon_hist_ok(void)
{
	return mon_db != NULL;
}

static DB *
mon_db_open(const char *file, uint32_t pagesize)
{
	DB	*db;
	int	 r;

	if ((r = db_create(&db, mon_env, 0)) != 0) {
		log_warnx("history: db_create %s: %s", file, db_strerror(r));
		return NULL;
	}
	if ((r = db->set_pagesize(db, pagesize)) != 0 ||
	    (r = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
		log_warnx("history: open %s/%s: %s", mon_dir, file,
		    db_strerror(r));
		db->close(db, 0);
		return NULL;
	}
	return db;
}

/* The series names into memory. */
static int
mon_names_load(void)
{
	struct mon_name_rec	 nr;
	DBC			*c;
	DBT			 key, data;
	char			 kbuf[1 + MON_SERIES_NAME_MAX];
	int			 r;

	memset(mon_sname, 0, sizeof(mon_sname));
	memset(mon_skind, 0, sizeof(mon_skind));
	mon_nseries = 0;
	if ((r = mon_names->cursor(mon_names, NULL, &c, 0)) != 0) {
		log_warnx("history: names: %s", db_strerror(r));
		return -1;
	}
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	key.ulen = sizeof(kbuf);
	key.flags = DB_DBT_USERMEM;
	data.data = &nr;
	data.ulen = sizeof(nr);
	data.flags = DB_DBT_USERMEM;
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0) {
		if (key.size < 2 || key.size > sizeof(kbuf) - 1 ||
		    kbuf[0] != 'n' || data.size != sizeof(nr) ||
		    nr.id == 0 || nr.id >= MON_SERIES_MAX) {
			log_warnx("history: names: a bad record skipped");
			continue;
		}
		memcpy(mon_sname[nr.id], kbuf + 1, key.size - 1);
		mon_sname[nr.id][key.size - 1] = '\0';
		mon_skind[nr.id] = (uint8_t)nr.kind;
		if (nr.id > mon_nseries)
			mon_nseries = nr.id;
	}
	c->close(c);
	if (r != DB_NOTFOUND) {
		log_warnx("history: names: %s", db_strerror(r));
		return -1;
	}
	return 0;
}

static void
mon_fail(const char *what, int r)
{
	log_warnx("history: %s: %s; history is off until controld restarts",
	    what, db_strerror(r));
	mon_hist_close();
}

int
mon_hist_open(const struct bw_config *cfg)
{
	int	 r;

	strlcpy(mon_dir, cfg->monitor_dir, sizeof(mon_dir));
	mon_max_bytes = (uint64_t)BW_LIMIT(cfg, LIM_MONITOR_HISTORY_MAX_BYTES);
	if ((mon_buf = malloc(MON_REC_BUF)) == NULL ||
	    (mon_pt = malloc(sizeof(*mon_pt))) == NULL) {
		log_warn("history: no memory; history is off");
		goto fail;
	}
	if ((r = db_env_create(&mon_env, 0)) != 0) {
		log_warnx("history: db_env_create: %s", db_strerror(r));
		mon_env = NULL;
		goto fail;
	}
	mon_env->set_errcall(mon_env, mon_errcall);
	if ((r = mon_env->set_cachesize(mon_env, 0, MON_DB_CACHE, 1)) != 0 ||
	    (r = mon_env->set_lg_max(mon_env, MON_DB_LOG_FILE)) != 0 ||
	    (r = mon_env->log_set_config(mon_env, DB_LOG_AUTO_REMOVE,
	    1)) != 0 ||
	    (r = mon_env->open(mon_env, mon_dir, DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOG | DB_INIT_LOCK | DB_INIT_MPOOL | DB_RECOVER,
	    0600)) != 0) {
		log_warnx("history: open %s: %s; history is off", mon_dir,
		    db_strerror(r));
		goto fail;
	}
	if ((mon_db = mon_db_open("hist.db", MON_DB_PAGESIZE)) == NULL ||
	    (mon_names = mon_db_open("names.db", MON_NAMES_PAGESIZE)) == NULL ||
	    mon_names_load() == -1)
		goto fail;
	log_info("history: %s open, %u series, limit %" PRIu64 " bytes, "
	    "now %" PRIu64, mon_dir, mon_nseries, mon_max_bytes,
	    mon_hist_bytes());
	return 0;
fail:
	mon_hist_close();
	return -1;
}

void
mon_hist_close(void)
{
	if (mon_env != NULL && mon_db != NULL)
		(void)mon_env->txn_checkpoint(mon_env, 0, 0, DB_FORCE);
	if (mon_db != NULL)
		mon_db->close(mon_db, 0);
	if (mon_names != NULL)
		mon_names->close(mon_names, 0);
	if (mon_env != NULL)
		mon_env->close(mon_env, 0);
	mon_db = NULL;
	mon_names = NULL;
	mon_env = NULL;
	free(mon_buf);
	free(mon_pt);
	mon_buf = NULL;
	mon_pt = NULL;
}

const char *
mon_hist_series_name(uint32_t id)
{
	if (id == 0 || id > mon_nseries || mon_sname[id][0] == '\0')
		return NULL;
	return mon_sname[id];
}

uint32_t
mon_hist_series_count(void)
{
	return mon_nseries;
}

int
mon_hist_series_find(const char *name, uint32_t *id, uint32_t *kind)
{
	uint32_t	 i;

	for (i = 1; i <= mon_nseries; i++)
		if (strcmp(mon_sname[i], name) == 0) {
			*id = i;
			*kind = mon_skind[i];
			return 0;
		}
	return -1;
}

/* The id of a series, a new one stored at its first use; 0: none. */
uint32_t
mon_hist_series_id(const char *name, uint32_t kind)
{
	struct mon_name_rec	 nr;
	char			 kbuf[1 + MON_SERIES_NAME_MAX];
	DBT			 key, data;
	uint32_t		 id, k;
	size_t			 len = strlen(name);
	int			 r;
	static int		 full_logged;

	if (mon_hist_series_find(name, &id, &k) == 0)
		return id;
	if (mon_names == NULL || len == 0 || len >= MON_SERIES_NAME_MAX)
		return 0;
	if (mon_nseries + 1 >= MON_SERIES_MAX) {
		if (!full_logged)
			log_warnx("history: %d series: %s and later ones are "
			    "not kept", MON_SERIES_MAX - 1, name);
		full_logged = 1;
		return 0;
	}
	id = mon_nseries + 1;
	kbuf[0] = 'n';
	memcpy(kbuf + 1, name, len);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	key.size = (uint32_t)(1 + len);
	nr.id = id;
	nr.kind = kind;
	data.data = &nr;
	data.size = sizeof(nr);
	if ((r = mon_names->put(mon_names, NULL, &key, &data,
	    DB_AUTO_COMMIT)) != 0) {
		mon_fail("names", r);
		return 0;
	}
	strlcpy(mon_sname[id], name, sizeof(mon_sname[id]));
	mon_skind[id] = (uint8_t)kind;
	mon_nseries = id;
	return id;
}

/* Bytes of the files in monitor_dir (what du counts, in blocks). */
uint64_t
mon_hist_bytes(void)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 path[PATH_MAX];
	uint64_t	 n = 0;

	if ((d = opendir(mon_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    bw_path(path, sizeof(path), mon_dir, de->d_name) == -1 ||
		    lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		n += (uint64_t)sb.st_blocks * 512;
	}
	closedir(d);
	return n;
}

static void
mon_size_check(void)
{
	uint64_t	 n = mon_hist_bytes();

	if (n > mon_max_bytes && !mon_over)
		log_warnx("history: %s holds %" PRIu64 " bytes, over "
		    "monitor_history_max_bytes %" PRIu64 " (fewer "
		    "monitor_top_domains keep it smaller)", mon_dir, n,
		    mon_max_bytes);
	else if (n <= mon_max_bytes && mon_over)
		log_info("history: %s holds %" PRIu64 " bytes, under "
		    "monitor_history_max_bytes again", mon_dir, n);
	mon_over = n > mon_max_bytes;
}

/* One point into its slot, one transaction, the log flushed. */
static int
mon_put(const struct mon_point *p)
{
	unsigned char	 k[MON_KEY_LEN];
	DB_TXN		*txn;
	DBT		 key, data;
	size_t		 len;
	int		 r;

	if (mon_db == NULL)
		return -1;
	if ((len = mon_rec_encode(p, mon_buf, MON_REC_BUF)) == 0) {
		log_warnx("history: a point of %zu values and %zu domains "
		    "does not fit", p->nvals, p->ndoms);
		return -1;
	}
	mon_key(k, p->res, mon_slot(p->res, p->t));
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = mon_buf;
	data.size = (uint32_t)len;
	if ((r = mon_env->txn_begin(mon_env, NULL, &txn, 0)) != 0) {
		mon_fail("transaction", r);
		return -1;
	}
	if ((r = mon_db->put(mon_db, txn, &key, &data, 0)) != 0) {
		txn->abort(txn);
		mon_fail("write", r);
		return -1;
	}
	if ((r = txn->commit(txn, DB_TXN_NOSYNC)) != 0) {
		mon_fail("commit", r);
		return -1;
	}
	if ((r = mon_env->log_flush(mon_env, NULL)) != 0) {
		mon_fail("log flush", r);
		return -1;
	}
	return 0;
}

int
mon_hist_get(int res, int64_t t, struct mon_point *p)
{
	unsigned char	 k[MON_KEY_LEN];
	DBT		 key, data;
	int		 r;

	if (mon_db == NULL)
		return -1;
	t = mon_res_start(res, t);
	mon_key(k, res, mon_slot(res, t));
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = mon_buf;
	data.ulen = (uint32_t)MON_REC_BUF;
	data.flags = DB_DBT_USERMEM;
	if ((r = mon_db->get(mon_db, NULL, &key, &data, 0)) == DB_NOTFOUND)
		return 1;
	if (r != 0) {
		log_warnx("history: read: %s", db_strerror(r));
		return -1;
	}
	if (mon_rec_decode(mon_buf, data.size, p) == -1) {
		log_warnx("history: a bad point at slot %u of resolution %d "
		    "skipped", mon_slot(res, t), res);
		return 1;
	}
	return p->t == t && p->res == res ? 0 : 1;
}

/* The hour starting at hour_t, from its minutes in the store. */
static void
mon_hour_store(int64_t hour_t, size_t topn)
{
	struct mon_hour	*h;
	int64_t		 t;
	int		 n = 0;

	if ((h = mon_hour_new(hour_t)) == NULL) {
		log_warn("history: hour");
		return;
	}
	for (t = hour_t; t < hour_t + MON_HOUR; t += MON_MINUTE) {
		if (mon_hist_get(MON_RES_MINUTE, t, mon_pt) != 0)
			continue;
		if (mon_hour_add(h, mon_pt) == -1) {
			log_warn("history: hour");
			mon_hour_free(h);
			return;
		}
		n++;
	}
	if (n > 0 && mon_hour_finish(h, topn, mon_pt) == 0)
		(void)mon_put(mon_pt);
	mon_hour_free(h);
	if (mon_env != NULL)
		(void)mon_env->txn_checkpoint(mon_env, 0, 0, 0);
}

void
mon_hist_minute(const struct mon_point *p, size_t topn)
{
	int64_t	 hour = mon_res_start(MON_RES_HOUR, p->t);
	int64_t	 prev_hour;

	if (mon_db == NULL)
		return;
	/* after a restart: the hour of the last minute stored before */
	if (mon_last_minute == 0 && mon_hist_get(MON_RES_HOUR, hour -
	    MON_HOUR, mon_pt) == 1 && mon_hist_get(MON_RES_MINUTE, hour -
	    MON_MINUTE, mon_pt) == 0)
		mon_last_minute = hour - MON_MINUTE;
	prev_hour = mon_res_start(MON_RES_HOUR, mon_last_minute);
	if (mon_put(p) == -1)
		return;
	if (mon_last_minute != 0 && prev_hour < hour)
		mon_hour_store(prev_hour, topn);
	mon_last_minute = p->t;
	mon_size_check();
}

int
mon_hist_series(const char *name, int res, int64_t from, int64_t to,
    void (*cb)(int64_t, int, uint64_t, void *), void *arg)
{
	const struct mon_val	*v;
	uint32_t		 id, kind;
	int64_t			 t, step = mon_res_step(res);

	if (mon_db == NULL) {
		errno = EIO;
		return -1;
	}
	if (mon_hist_series_find(name, &id, &kind) == -1) {
		errno = ENOENT;
		return -1;
	}
	for (t = mon_res_start(res, from); t <= to; t += step) {
		if (mon_hist_get(res, t, mon_pt) == 0 &&
		    (v = mon_point_val(mon_pt, id)) != NULL)
			cb(t, 1, v->v, arg);
		else
			cb(t, 0, 0, arg);
	}
	return 0;
}

int
mon_hist_domain(const char *gw, const char *dom, int res, int64_t from,
    int64_t to, void (*cb)(int64_t, const struct mon_dom *, void *),
    void *arg)
{
	int64_t	 t, step = mon_res_step(res);
	size_t	 i;

	if (mon_db == NULL) {
		errno = EIO;
		return -1;
	}
	for (t = mon_res_start(res, from); t <= to; t += step) {
		const struct mon_dom	*d = NULL;

		if (mon_hist_get(res, t, mon_pt) == 0)
			for (i = 0; i < mon_pt->ndoms; i++)
				if (mon_pt->doms[i].set != MON_SET_REST &&
				    strcmp(mon_pt->doms[i].domain, dom) == 0 &&
				    (gw == NULL || strcmp(
				    mon_pt->doms[i].gateway, gw) == 0)) {
					d = &mon_pt->doms[i];
					break;
				}
		cb(t, d, arg);
	}
	return 0;
}
