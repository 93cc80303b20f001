/*
 * Body segments (see queued_segment.h).
 *
 * The set of segment files is an array sorted by number: new segments get
 * the next number, so they are appended; a segment leaves when its last
 * piece is released, renamed to a spare while there is room for one.  The
 * current segment takes every write until the next piece would pass
 * queue_segment_size; the next one is the newest spare renamed, else a new
 * file.  A spare holds only pieces whose deletion was durable: no record
 * names it, and the rename to a segment number is synced (dir_dirty) before
 * any record naming that number can be.  A retired current segment's
 * descriptor is handed to the flusher, which syncs and closes it; reads of
 * older segments use a small descriptor cache.
 *
 * Trust: pieces are written and read by queued alone; the records that name
 * them come from our own store, yet a record that points outside its file
 * or whose CRC does not match is refused, never trusted.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "util.h"
#include "queued_segment.h"

#define QSEG_NAME_LEN	8		/* hex digits of a segment file */
#define QSEG_SPARE_NAME_LEN (sizeof(QSEG_SPARE_PREFIX) - 1 + QSEG_NAME_LEN)

struct qseg_range {
	uint64_t	 off;
	uint64_t	 len;
};

struct qseg_file {
	uint32_t		 id;
	uint64_t		 live;		/* pieces */
	uint64_t		 bytes;		/* in live pieces */
	uint64_t		 size;		/* file size at start-up */
	struct qseg_range	*ranges;	/* recovery only */
	size_t			 nranges;
	size_t			 ranges_cap;
	struct qseg_range	*freed;		/* released, not yet punched */
	size_t			 nfreed;
	size_t			 freed_cap;
	uint64_t		 freed_since;	/* ms (monotonic) of freed[0] */
};

struct qseg_rdfd {
	uint32_t	 id;
	int		 fd;		/* -1: free slot */
	uint64_t	 used;		/* LRU clock */
};

struct qseg {
	int			 dirfd;
	uint64_t		 seg_size;
	struct qseg_file	*files;
	size_t			 nfiles;
	size_t			 files_cap;
	uint32_t		 next_id;
	int			 have_cur;
	uint32_t		 cur_id;
	int			 cur_fd;
	uint64_t		 cur_tail;
	struct qseg_rdfd	 rd[QSEG_FD_CACHE];
	uint32_t		*spare;		/* ids of spare files, oldest
						   first */
	size_t			 nspare;
	size_t			 spare_max;
	uint64_t		 rd_clock;
	uint32_t		 direct_id;	/* recovery: O_DIRECT descriptor */
	int			 direct_fd;	/* -1 none, -2 not supported */
	unsigned char		*direct_buf;	/* aligned */
	struct qseg_stats	 st;
	/* shared with the flusher thread */
	pthread_mutex_t		 sync_mu;	/* one qseg_sync() at a time */
	pthread_mutex_t		 mu;
	int			*retired;	/* written, to sync and close */
	size_t			 nretired;
	size_t			 retired_cap;
	int			 sync_fd;	/* the current segment */
	uint32_t		 sync_id;	/* its number */
	char			 sync_err[QSEG_ERR_MAX];	/* first failure */
	int			 dir_dirty;	/* a segment file was created */
};

static void
qseg_name(char name[QSEG_NAME_LEN + 1], uint32_t id)
{
	snprintf(name, QSEG_NAME_LEN + 1, "%08x", id);
}

static void
qseg_spare_name(char name[QSEG_SPARE_NAME_LEN + 1], uint32_t id)
{
	snprintf(name, QSEG_SPARE_NAME_LEN + 1, QSEG_SPARE_PREFIX "%08x", id);
}

/* The id of an 8 hex digit name (lower case, as qseg_name() writes it),
 * or 0 for any other name. */
static uint32_t
qseg_name_id(const char *hex)
{
	unsigned long	 id;
	char		*end;

	if (strlen(hex) != QSEG_NAME_LEN ||
	    strspn(hex, "0123456789abcdef") != QSEG_NAME_LEN)
		return 0;
	id = strtoul(hex, &end, 16);
	if (*end != '\0' || id >= UINT32_MAX)
		return 0;
	return (uint32_t)id;
}

static uint64_t
qseg_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
qseg_round(uint64_t n)
{
	return (n + QSEG_ALIGN - 1) / QSEG_ALIGN * QSEG_ALIGN;
}

/* Index of segment id, or -1. */
static ssize_t
qseg_find(const struct qseg *s, uint32_t id)
{
	size_t	 lo = 0, hi = s->nfiles, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->files[mid].id == id)
			return (ssize_t)mid;
		if (s->files[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
qseg_file_cmp(const void *a, const void *b)
{
	const struct qseg_file	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
qseg_range_cmp(const void *a, const void *b)
{
	const struct qseg_range	*x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Append a file entry (ids only grow, so the array stays sorted). */
static struct qseg_file *
qseg_file_add(struct qseg *s, uint32_t id, uint64_t size)
{
	struct qseg_file	*f;
	size_t			 n;

	if (s->nfiles == s->files_cap) {
		n = s->files_cap ? s->files_cap * 2 : 16;
		if ((f = reallocarray(s->files, n, sizeof(*f))) == NULL)
			return NULL;
		s->files = f;
		s->files_cap = n;
	}
	f = &s->files[s->nfiles++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->size = size;
	return f;
}

/* A descriptor for segment id (event loop): the current one or cached. */
static int
qseg_fd(struct qseg *s, uint32_t id)
{
	char		 name[QSEG_NAME_LEN + 1];
	size_t		 i, victim = 0;
	int		 fd;

	if (s->have_cur && id == s->cur_id)
		return s->cur_fd;
	for (i = 0; i < QSEG_FD_CACHE; i++)
		if (s->rd[i].fd != -1 && s->rd[i].id == id) {
			s->rd[i].used = ++s->rd_clock;
			return s->rd[i].fd;
		}
	qseg_name(name, id);
	if ((fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < QSEG_FD_CACHE; i++) {
		if (s->rd[i].fd == -1) {
			victim = i;
			break;
		}
		if (s->rd[i].used < s->rd[victim].used)
			victim = i;
	}
	if (s->rd[victim].fd != -1)
		close(s->rd[victim].fd);
	s->rd[victim].id = id;
	s->rd[victim].fd = fd;
	s->rd[victim].used = ++s->rd_clock;
	return fd;
}

/* Segment idx has no live piece and takes no writes: keep it as a spare
 * when there is room, else remove it. */
static void
qseg_file_drop(struct qseg *s, size_t idx)
{
	char		 name[QSEG_NAME_LEN + 1];
	char		 spare[QSEG_SPARE_NAME_LEN + 1];
	uint32_t	 id = s->files[idx].id;
	size_t		 i;

	for (i = 0; i < QSEG_FD_CACHE; i++)
		if (s->rd[i].fd != -1 && s->rd[i].id == id) {
			close(s->rd[i].fd);
			s->rd[i].fd = -1;
		}
	qseg_name(name, id);
	qseg_spare_name(spare, id);
	if (s->nspare < s->spare_max &&
	    renameat(s->dirfd, name, s->dirfd, spare) == 0)
		s->spare[s->nspare++] = id;
	else if (unlinkat(s->dirfd, name, 0) == -1 && errno != ENOENT)
		log_warn("store: cannot remove segment %s", name);
	free(s->files[idx].ranges);
	free(s->files[idx].freed);
	memmove(&s->files[idx], &s->files[idx + 1],
	    (s->nfiles - idx - 1) * sizeof(s->files[0]));
	s->nfiles--;
}

/* Free the blocks of [off, off+len) (aligned); where the file system
 * cannot, they come back when the segment is unlinked. */
static void
qseg_punch(int fd, uint32_t id, uint64_t off, uint64_t len)
{
	static int	 warned;

	if (len == 0)
		return;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == -1 && !warned) {
		warned = 1;
		log_warn("store: cannot free blocks of segment %08x (space "
		    "comes back when the segment is removed)", id);
	}
}

/* Punch out every range released in f since its last punch. */
static void
qseg_file_punch_freed(struct qseg *s, struct qseg_file *f)
{
	uint64_t	 start, end;
	size_t		 k;
	int		 fd;

	if (f->nfreed == 0)
		return;
	if ((fd = qseg_fd(s, f->id)) != -1) {
		qsort(f->freed, f->nfreed, sizeof(*f->freed), qseg_range_cmp);
		start = f->freed[0].off;
		end = start + f->freed[0].len;
		for (k = 1; k <= f->nfreed; k++) {
			if (k < f->nfreed && f->freed[k].off <= end) {
				if (f->freed[k].off + f->freed[k].len > end)
					end = f->freed[k].off +
					    f->freed[k].len;
				continue;
			}
			qseg_punch(fd, f->id, start, end - start);
			if (k < f->nfreed) {
				start = f->freed[k].off;
				end = start + f->freed[k].len;
			}
		}
	}
	f->nfreed = 0;
}

/*
 * Remember [off, off+len) of f to punch later: a segment usually empties
 * soon after it was written and is unlinked whole, which is much cheaper
 * than a punch per release.  Ranges that follow each other merge; when
 * the list is full (or cannot grow) the file's ranges are punched now.
 */
static void
qseg_file_defer_punch(struct qseg *s, struct qseg_file *f, uint64_t off,
    uint64_t len)
{
	struct qseg_range	*r;
	size_t			 n;
	int			 fd;

	if (f->nfreed > 0 && f->freed[f->nfreed - 1].off +
	    f->freed[f->nfreed - 1].len == off) {
		f->freed[f->nfreed - 1].len += len;
		return;
	}
	if (f->nfreed == f->freed_cap) {
		n = f->freed_cap ? f->freed_cap * 2 : 16;
		if (n > QSEG_FREED_MAX || (r = reallocarray(f->freed, n,
		    sizeof(*r))) == NULL) {
			qseg_file_punch_freed(s, f);
			if ((fd = qseg_fd(s, f->id)) != -1)
				qseg_punch(fd, f->id, off, len);
			return;
		}
		f->freed = r;
		f->freed_cap = n;
	}
	if (f->nfreed == 0)
		f->freed_since = qseg_now_ms();
	f->freed[f->nfreed].off = off;
	f->freed[f->nfreed].len = len;
	f->nfreed++;
}

int
qseg_punch_pending(const struct qseg *s)
{
	size_t	 i;

	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].nfreed > 0)
			return 1;
	return 0;
}

int64_t
qseg_punch_due(struct qseg *s, uint64_t min_wait_ms)
{
	struct qseg_file	*f;
	uint64_t		 now = qseg_now_ms(), waited;
	int64_t			 next = -1, left;
	size_t			 i;

	for (i = 0; i < s->nfiles; i++) {
		f = &s->files[i];
		if (f->nfreed == 0)
			continue;
		waited = now >= f->freed_since ? now - f->freed_since : 0;
		if (waited >= min_wait_ms) {
			qseg_file_punch_freed(s, f);
			continue;
		}
		left = (int64_t)(min_wait_ms - waited);
		if (next == -1 || left < next)
			next = left;
	}
	return next;
}

struct qseg *
qseg_open(const char *dir, uint64_t segment_size, size_t spares)
{
	struct qseg	*s;
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	uint32_t	 id;
	size_t		 i;
	int		 fd, spare;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (spares > 0 && (s->spare = calloc(spares, sizeof(*s->spare))) ==
	    NULL) {
		free(s);
		return NULL;
	}
	s->spare_max = spares;
	/* set up the CRC (it picks its implementation on the first call)
	 * here, before the flusher thread exists */
	(void)bw_crc32c(0, NULL, 0);
	s->seg_size = segment_size;
	s->cur_fd = s->sync_fd = s->direct_fd = -1;
	for (i = 0; i < QSEG_FD_CACHE; i++)
		s->rd[i].fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->sync_mu, NULL);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("store: cannot create %s", dir);
		goto fail;
	}
	if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("store: cannot open %s", dir);
		goto fail;
	}
	if ((fd = dup(s->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("store: cannot list %s", dir);
		if (fd != -1)
			close(fd);
		goto fail_dir;
	}
	s->next_id = 1;
	while ((de = readdir(d)) != NULL) {
		/* exactly the names qseg_name() and qseg_spare_name() make */
		spare = strncmp(de->d_name, QSEG_SPARE_PREFIX,
		    sizeof(QSEG_SPARE_PREFIX) - 1) == 0;
		if ((id = qseg_name_id(de->d_name + (spare ?
		    sizeof(QSEG_SPARE_PREFIX) - 1 : 0))) == 0)
			continue;
		if (fstatat(s->dirfd, de->d_name, &sb, 0) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		/* a spare's number is never given to a segment again */
		if (id >= s->next_id)
			s->next_id = id + 1;
		if (spare) {
			if (s->nspare < s->spare_max)
				s->spare[s->nspare++] = id;
			else if (unlinkat(s->dirfd, de->d_name, 0) == -1)
				log_warn("store: cannot remove %s",
				    de->d_name);
			continue;
		}
		if (qseg_file_add(s, id, (uint64_t)sb.st_size) == NULL) {
			closedir(d);
			log_warnx("store: no memory for the segment list");
			goto fail_dir;
		}
	}
	closedir(d);
	if (s->nfiles > 0)
		qsort(s->files, s->nfiles, sizeof(*s->files), qseg_file_cmp);
	return s;
fail_dir:
	close(s->dirfd);
fail:
	free(s->files);
	free(s->spare);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->sync_mu);
	free(s);
	return NULL;
}

int
qseg_recover_ref(struct qseg *s, const struct qseg_ext *x)
{
	struct qseg_file	*f;
	struct qseg_range	*r;
	ssize_t			 i;
	size_t			 n;

	if ((i = qseg_find(s, x->seg)) == -1)
		return -1;
	f = &s->files[i];
	if (x->len == 0 || x->off % QSEG_ALIGN != 0 || x->off > f->size ||
	    x->len > f->size - x->off)
		return -1;
	if (f->nranges == f->ranges_cap) {
		n = f->ranges_cap ? f->ranges_cap * 2 : 64;
		if ((r = reallocarray(f->ranges, n, sizeof(*r))) == NULL)
			fatalx("store: no memory to recover segment %08x",
			    f->id);
		f->ranges = r;
		f->ranges_cap = n;
	}
	f->ranges[f->nranges].off = x->off;
	f->ranges[f->nranges].len = x->len;
	f->nranges++;
	f->live++;
	f->bytes += x->len;
	s->st.pieces++;
	s->st.bytes += x->len;
	return 0;
}

int
qseg_recent(const struct qseg *s, const struct qseg_ext *x)
{
	if (s->nfiles <= QSEG_VERIFY_RECENT)
		return 1;
	return x->seg >= s->files[s->nfiles - QSEG_VERIFY_RECENT].id;
}

/*
 * The O_DIRECT descriptor of segment id, or -1 (then the page cache is
 * read: a file system without O_DIRECT, such as tmpfs, loses its pages
 * only with the machine anyway).
 */
static int
qseg_direct_fd(struct qseg *s, uint32_t id)
{
	char	 name[QSEG_NAME_LEN + 1];
	int	 fd;

	if (s->direct_fd == -2)
		return -1;
	if (s->direct_fd >= 0 && s->direct_id == id)
		return s->direct_fd;
	if (s->direct_buf == NULL && posix_memalign((void **)&s->direct_buf,
	    QSEG_ALIGN, QSEG_DIRECT_MAX) != 0) {
		s->direct_buf = NULL;
		s->direct_fd = -2;
		return -1;
	}
	if (s->direct_fd >= 0)
		close(s->direct_fd);
	s->direct_fd = -1;
	qseg_name(name, id);
	if ((fd = openat(s->dirfd, name, O_RDONLY | O_DIRECT | O_CLOEXEC)) ==
	    -1) {
		if (errno == EINVAL)
			s->direct_fd = -2;
		return -1;
	}
	s->direct_fd = fd;
	s->direct_id = id;
	return fd;
}

/*
 * Start-up check of a piece as the disk holds it: after a failed fsync
 * the page cache may still show bytes that never reached the disk, and
 * reading through it would find a lost body intact.  O_DIRECT where the
 * file system has it, the page cache where not.
 */
ssize_t
qseg_read_disk(struct qseg *s, const struct qseg_ext *x, void *buf,
    size_t bufsz)
{
	size_t	 want, done = 0;
	ssize_t	 r;
	int	 fd;

	if (x->len == 0 || x->len > bufsz || qseg_find(s, x->seg) == -1 ||
	    x->off % QSEG_ALIGN != 0) {
		errno = EINVAL;
		return -1;
	}
	want = qseg_round(x->len);
	if (want > QSEG_DIRECT_MAX || (fd = qseg_direct_fd(s, x->seg)) == -1)
		return qseg_read(s, x, buf, bufsz);
	while (done < x->len) {
		r = pread(fd, s->direct_buf + done, want - done,
		    (off_t)(x->off + done));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EINVAL && done == 0) {
			/* alignment the device does not take */
			close(s->direct_fd);
			s->direct_fd = -2;
			return qseg_read(s, x, buf, bufsz);
		}
		if (r <= 0) {
			if (r == 0)
				errno = EBADMSG;	/* short: lost tail */
			return -1;
		}
		done += (size_t)r;
		if (done % QSEG_ALIGN != 0 && done < x->len) {
			errno = EBADMSG;	/* short inside the file */
			return -1;
		}
	}
	if (bw_crc32c(0, s->direct_buf, x->len) != x->crc) {
		s->st.crc_errors++;
		errno = EBADMSG;
		return -1;
	}
	memcpy(buf, s->direct_buf, x->len);
	return (ssize_t)x->len;
}

int
qseg_sync_all(struct qseg *s)
{
	size_t	 i;
	int	 fd;

	for (i = 0; i < s->nfiles; i++)
		if ((fd = qseg_fd(s, s->files[i].id)) == -1 ||
		    fdatasync(fd) == -1) {
			log_warn("store: segment %08x cannot be synced",
			    s->files[i].id);
			return -1;
		}
	if (fsync(s->dirfd) == -1) {
		log_warn("store: the segment directory cannot be synced");
		return -1;
	}
	return 0;
}

void
qseg_recover_done(struct qseg *s)
{
	struct qseg_file	*f;
	uint64_t		 pos;
	size_t			 i, k;
	int			 fd;

	if (s->direct_fd >= 0)
		close(s->direct_fd);
	s->direct_fd = -1;
	free(s->direct_buf);
	s->direct_buf = NULL;
	for (i = 0; i < s->nfiles; ) {
		f = &s->files[i];
		if (f->live == 0) {
			qseg_file_drop(s, i);
			continue;
		}
		qsort(f->ranges, f->nranges, sizeof(*f->ranges),
		    qseg_range_cmp);
		if ((fd = qseg_fd(s, f->id)) == -1) {
			log_warn("store: cannot open segment %08x", f->id);
			i++;
			continue;
		}
		/* what no committed piece covers: aborted or never
		 * acknowledged bodies of the previous run */
		for (pos = 0, k = 0; k < f->nranges; k++) {
			if (f->ranges[k].off > pos)
				qseg_punch(fd, f->id, pos,
				    f->ranges[k].off - pos);
			if (qseg_round(f->ranges[k].off + f->ranges[k].len) >
			    pos)
				pos = qseg_round(f->ranges[k].off +
				    f->ranges[k].len);
		}
		if (pos < f->size && ftruncate(fd, (off_t)pos) == -1)
			log_warn("store: cannot truncate segment %08x", f->id);
		free(f->ranges);
		f->ranges = NULL;
		f->nranges = f->ranges_cap = 0;
		i++;
	}
	s->st.segments = s->nfiles;
}

/* The newest spare renamed to name and opened, or -1 (none left; a spare
 * that cannot be taken is removed). */
static int
qseg_take_spare(struct qseg *s, const char *name)
{
	char	 spare[QSEG_SPARE_NAME_LEN + 1];
	int	 fd;

	while (s->nspare > 0) {
		qseg_spare_name(spare, s->spare[--s->nspare]);
		if (renameat(s->dirfd, spare, s->dirfd, name) == -1) {
			log_warn("store: cannot reuse %s", spare);
			unlinkat(s->dirfd, spare, 0);
			continue;
		}
		if ((fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC)) != -1)
			return fd;
		log_warn("store: cannot open %s (was %s)", name, spare);
		unlinkat(s->dirfd, name, 0);
	}
	return -1;
}

/* Start the next segment; the old current one goes to the flusher. */
static int
qseg_roll(struct qseg *s)
{
	char	 name[QSEG_NAME_LEN + 1];
	ssize_t	 old;
	int	 fd, *v;
	size_t	 n;

	if (s->next_id == 0 || s->next_id == UINT32_MAX) {
		log_warnx("store: segment numbers exhausted");
		errno = EOVERFLOW;
		return -1;
	}
	qseg_name(name, s->next_id);
	if ((fd = qseg_take_spare(s, name)) == -1 &&
	    (fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	if (qseg_file_add(s, s->next_id, 0) == NULL) {
		close(fd);
		unlinkat(s->dirfd, name, 0);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	if (s->have_cur) {
		if (s->nretired == s->retired_cap) {
			n = s->retired_cap ? s->retired_cap * 2 : 8;
			if ((v = reallocarray(s->retired, n, sizeof(*v))) ==
			    NULL) {
				pthread_mutex_unlock(&s->mu);
				s->nfiles--;
				close(fd);
				unlinkat(s->dirfd, name, 0);
				errno = ENOMEM;
				return -1;
			}
			s->retired = v;
			s->retired_cap = n;
		}
		s->retired[s->nretired++] = s->cur_fd;
	}
	s->sync_fd = fd;
	s->sync_id = s->next_id;
	s->dir_dirty = 1;
	pthread_mutex_unlock(&s->mu);
	if (s->have_cur && (old = qseg_find(s, s->cur_id)) != -1 &&
	    s->files[old].live == 0)
		qseg_file_drop(s, (size_t)old);
	s->have_cur = 1;
	s->cur_id = s->next_id++;
	s->cur_fd = fd;
	s->cur_tail = 0;
	s->st.segments = s->nfiles;
	return 0;
}

int
qseg_write(struct qseg *s, const void *buf, size_t len, struct qseg_ext *x)
{
	const unsigned char	*p = buf;
	size_t			 done = 0;
	ssize_t			 w, i;

	if (len == 0 || len > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!s->have_cur || (s->cur_tail > 0 &&
	    s->cur_tail + len > s->seg_size))
		if (qseg_roll(s) == -1)
			return -1;
	while (done < len) {
		w = pwrite(s->cur_fd, p + done, len - done,
		    (off_t)(s->cur_tail + done));
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	memset(x, 0, sizeof(*x));
	x->seg = s->cur_id;
	x->len = (uint32_t)len;
	x->off = s->cur_tail;
	x->crc = bw_crc32c(0, buf, len);
	s->cur_tail = qseg_round(s->cur_tail + len);
	if ((i = qseg_find(s, s->cur_id)) != -1) {
		s->files[i].live++;
		s->files[i].bytes += len;
	}
	s->st.pieces++;
	s->st.bytes += len;
	s->st.writes++;
	return 0;
}

ssize_t
qseg_read(struct qseg *s, const struct qseg_ext *x, void *buf, size_t bufsz)
{
	unsigned char	*p = buf;
	size_t		 done = 0;
	ssize_t		 r;
	int		 fd;

	if (x->len == 0 || x->len > bufsz || qseg_find(s, x->seg) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = qseg_fd(s, x->seg)) == -1)
		return -1;
	while (done < x->len) {
		r = pread(fd, p + done, x->len - done, (off_t)(x->off + done));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EBADMSG;	/* short: lost tail */
			return -1;
		}
		done += (size_t)r;
	}
	if (bw_crc32c(0, buf, x->len) != x->crc) {
		s->st.crc_errors++;
		errno = EBADMSG;
		return -1;
	}
	return (ssize_t)x->len;
}

static int
qseg_ext_cmp(const void *a, const void *b)
{
	const struct qseg_ext	*x = a, *y = b;

	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Count one piece out; 0, or -1 for a record that names no live piece. */
static int
qseg_unref(struct qseg *s, const struct qseg_ext *x)
{
	struct qseg_file	*f;
	ssize_t			 i;

	if ((i = qseg_find(s, x->seg)) == -1)
		return -1;
	f = &s->files[i];
	if (x->len == 0 || x->off % QSEG_ALIGN != 0 || f->live == 0) {
		/* our own record, yet never punch what it does not own */
		log_warnx("store: bad piece release (segment %08x offset %"
		    PRIu64 " length %u)", x->seg, x->off, x->len);
		return -1;
	}
	f->live--;
	f->bytes = f->bytes >= x->len ? f->bytes - x->len : 0;
	if (s->st.pieces > 0)
		s->st.pieces--;
	s->st.bytes = s->st.bytes >= x->len ? s->st.bytes - x->len : 0;
	s->st.releases++;
	return 0;
}

/*
 * Release n pieces (xs is sorted in place).  Pieces written one after the
 * other are usually released together, so neighbours are freed with one
 * punch; a segment left empty is unlinked without any.
 */
void
qseg_release_batch(struct qseg *s, struct qseg_ext *xs, size_t n)
{
	uint64_t	 start = 0, end = 0;
	uint32_t	 seg = 0;
	ssize_t		 i;
	size_t		 k, m = 0;
	int		 open_range = 0;

	if (n > 1)
		qsort(xs, n, sizeof(*xs), qseg_ext_cmp);
	for (k = 0; k < n; k++)
		if (qseg_unref(s, &xs[k]) == 0)
			xs[m++] = xs[k];
	for (k = 0; k <= m; k++) {
		if (k < m && open_range && xs[k].seg == seg &&
		    xs[k].off == end) {
			end = qseg_round(xs[k].off + xs[k].len);
			continue;
		}
		if (open_range && (i = qseg_find(s, seg)) != -1 &&
		    (s->files[i].live > 0 || (s->have_cur &&
		    seg == s->cur_id)))
			qseg_file_defer_punch(s, &s->files[i], start,
			    end - start);
		if (k == m)
			break;
		open_range = 1;
		seg = xs[k].seg;
		start = xs[k].off;
		end = qseg_round(xs[k].off + xs[k].len);
	}
	/* empty segments that take no more writes go as a whole */
	for (k = 0; k < m; k++)
		if ((i = qseg_find(s, xs[k].seg)) != -1 &&
		    s->files[i].live == 0 &&
		    !(s->have_cur && xs[k].seg == s->cur_id)) {
			qseg_file_drop(s, (size_t)i);
			s->st.segments = s->nfiles;
		}
}

void
qseg_release(struct qseg *s, const struct qseg_ext *x)
{
	struct qseg_ext	 one = *x;

	qseg_release_batch(s, &one, 1);
}

/* Remember the first failure of a sync round for qseg_sync_error(). */
static void
qseg_sync_fail(struct qseg *s, const char *what, int err)
{
	pthread_mutex_lock(&s->mu);
	if (s->sync_err[0] == '\0')
		snprintf(s->sync_err, sizeof(s->sync_err), "%s: %s", what,
		    strerror(err));
	pthread_mutex_unlock(&s->mu);
}

int
qseg_sync(struct qseg *s)
{
	char	 what[64];
	int	*retired, cur, dir, r = 0;
	size_t	 n, i;

	/*
	 * Serialised: a second caller (the event loop's inline flush) must
	 * not return while the first still syncs descriptors it took.
	 * A failure is not retried here: after a failed fsync the kernel
	 * may have dropped the dirty pages, so a later success would prove
	 * nothing (the caller stops trusting the store).
	 */
	pthread_mutex_lock(&s->sync_mu);
	pthread_mutex_lock(&s->mu);
	retired = s->retired;
	n = s->nretired;
	s->retired = NULL;
	s->nretired = s->retired_cap = 0;
	cur = s->sync_fd;
	dir = s->dir_dirty;
	s->dir_dirty = 0;
	snprintf(what, sizeof(what), "fdatasync of body segment %08x",
	    s->sync_id);
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++) {
		if (fdatasync(retired[i]) == -1) {
			qseg_sync_fail(s, "fdatasync of a full body segment",
			    errno);
			r = -1;
		}
		close(retired[i]);
	}
	free(retired);
	if (cur != -1 && fdatasync(cur) == -1) {
		qseg_sync_fail(s, what, errno);
		r = -1;
	}
	if (dir && fsync(s->dirfd) == -1) {
		qseg_sync_fail(s, "fsync of the segment directory", errno);
		r = -1;
	}
	pthread_mutex_unlock(&s->sync_mu);
	return r;
}

void
qseg_sync_error(struct qseg *s, char *dst, size_t dstsz)
{
	pthread_mutex_lock(&s->mu);
	strlcpy(dst, s->sync_err[0] != '\0' ? s->sync_err :
	    "a body segment sync failed", dstsz);
	pthread_mutex_unlock(&s->mu);
}

void
qseg_stats(const struct qseg *s, struct qseg_stats *st)
{
	*st = s->st;
	st->segments = s->nfiles;
	st->spares = s->nspare;
}

void
qseg_close(struct qseg *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	if (qseg_sync(s) == -1)
		log_warnx("store: body segments not synced at close");
	(void)qseg_punch_due(s, 0);
	if (s->cur_fd != -1)
		close(s->cur_fd);
	for (i = 0; i < QSEG_FD_CACHE; i++)
		if (s->rd[i].fd != -1)
			close(s->rd[i].fd);
	for (i = 0; i < s->nfiles; i++) {
		free(s->files[i].ranges);
		free(s->files[i].freed);
	}
	if (s->direct_fd >= 0)
		close(s->direct_fd);
	free(s->direct_buf);
	free(s->files);
	free(s->spare);
	close(s->dirfd);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->sync_mu);
	free(s);
}
