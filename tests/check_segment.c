/*
 * Unit tests of the body segments (queued/queued_segment.c) and of
 * CRC-32C (common/crc32c.c).  Every test works in its own directory made
 * with mkdtemp under a per-TCase directory in /tmp (ext4 here, so hole
 * punching works); the per-TCase directory is removed by an unchecked
 * teardown, so a failed test leaves nothing behind either.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "crc32c.h"
#include "queued_segment.h"

#define T_BASE_TEMPLATE	"/tmp/bw-check-segment.XXXXXX"
#define T_PIECES_MAX	64	/* exts kept by one test */
#define T_BIG		(64 * 1024)
#define T_MIB		(1024 * 1024)
#define T_SYNC_ROUNDS	200	/* qseg_sync calls of the flusher thread */
#define T_SYNC_WRITES	200	/* writes meanwhile */

static char	 t_base[PATH_MAX];	/* per TCase, made in the parent */

static int
t_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) == -1 ? -1 : 0;
}

static void
t_rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, t_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
t_base_setup(void)
{
	snprintf(t_base, sizeof(t_base), "%s", T_BASE_TEMPLATE);
	if (mkdtemp(t_base) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void
t_base_teardown(void)
{
	t_rm_tree(t_base);
	t_base[0] = '\0';
}

/* A fresh test directory in dir; seg gets dir/segments (not created). */
static void
t_dir_make(char *dir, size_t dirsz, char *seg, size_t segsz)
{
	ck_assert_int_lt(snprintf(dir, dirsz, "%s/t.XXXXXX", t_base),
	    (int)dirsz);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(seg, segsz, "%s/segments", dir),
	    (int)segsz);
}

static void
t_seg_path(char *buf, size_t bufsz, const char *segdir, uint32_t id)
{
	ck_assert_int_lt(snprintf(buf, bufsz, "%s/%08x", segdir, id),
	    (int)bufsz);
}

static int
t_exists(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0;
}

static int
t_seg_exists(const char *segdir, uint32_t id)
{
	char	 p[PATH_MAX];

	t_seg_path(p, sizeof(p), segdir, id);
	return t_exists(p);
}

/* Files in segdir named by 8 lower-case hex digits. */
static int
t_seg_count(const char *segdir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;
	size_t		 i;

	ck_assert_ptr_nonnull(d = opendir(segdir));
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 8)
			continue;
		for (i = 0; i < 8; i++)
			if (strchr("0123456789abcdef", de->d_name[i]) == NULL)
				break;
		if (i == 8)
			n++;
	}
	closedir(d);
	return n;
}

static void
t_file_write(const char *path, const void *buf, size_t len)
{
	int	 fd;

	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Deterministic pseudo-random bytes (xorshift32). */
static void
t_fill(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t	 x = seed ? seed : 1;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static void *
t_xmalloc(size_t n)
{
	void	*p = malloc(n);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Plain bitwise CRC-32C, the reference for the table and SSE4.2 paths. */
static uint32_t
t_crc32c_ref(uint32_t crc, const unsigned char *p, size_t len)
{
	int	 k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static uint64_t
t_round(uint64_t n)
{
	return (n + QSEG_ALIGN - 1) / QSEG_ALIGN * QSEG_ALIGN;
}

/* 1: punching holes works in dir; 0: EOPNOTSUPP (skip block checks). */
static int
t_punch_works(const char *dir)
{
	char		 p[PATH_MAX];
	unsigned char	 buf[2 * QSEG_ALIGN];
	int		 fd, r;

	ck_assert_int_lt(snprintf(p, sizeof(p), "%s/probe", dir),
	    (int)sizeof(p));
	memset(buf, 'x', sizeof(buf));
	t_file_write(p, buf, sizeof(buf));
	ck_assert_int_ne(fd = open(p, O_RDWR), -1);
	r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	    QSEG_ALIGN);
	if (r == -1)
		ck_assert_int_eq(errno, EOPNOTSUPP);
	close(fd);
	unlink(p);
	return r == 0;
}

/*
 * CRC-32C
 */

static const unsigned char crc_zeros[32];	/* RFC 3720 B.4 */

static const struct {
	const char	*name;
	const void	*data;
	size_t		 len;
	uint32_t	 want;
} crc_cases[] = {
	{ "check value", "123456789", 9, 0xE3069283u },
	{ "empty", "", 0, 0 },
	{ "empty, no buffer", NULL, 0, 0 },
	{ "32 zero bytes", crc_zeros, sizeof(crc_zeros), 0x8A9136AAu },
};

START_TEST(crc_known)
{
	uint32_t	 got;

	got = bw_crc32c(0, crc_cases[_i].data, crc_cases[_i].len);
	ck_assert_msg(got == crc_cases[_i].want, "%s: got %08x want %08x",
	    crc_cases[_i].name, got, crc_cases[_i].want);
	if (crc_cases[_i].len > 0)
		ck_assert_uint_eq(t_crc32c_ref(0, crc_cases[_i].data,
		    crc_cases[_i].len), crc_cases[_i].want);
}
END_TEST

/* Chained over any split, the CRC equals one pass. */
START_TEST(crc_incremental)
{
	static const size_t	 splits[] = { 0, 1, 4, 5, 7, 8, 9, 500, 999 };
	unsigned char		 buf[1000];
	uint32_t		 whole, c;
	size_t			 i;

	t_fill(buf, sizeof(buf), 7);
	whole = bw_crc32c(0, buf, sizeof(buf));
	ck_assert_uint_eq(whole, t_crc32c_ref(0, buf, sizeof(buf)));
	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		c = bw_crc32c(0, buf, splits[i]);
		c = bw_crc32c(c, buf + splits[i], sizeof(buf) - splits[i]);
		ck_assert_msg(c == whole, "split at %zu: %08x != %08x",
		    splits[i], c, whole);
	}
	/* the halves of the check value */
	c = bw_crc32c(0, "1234", 4);
	ck_assert_uint_eq(bw_crc32c(c, "56789", 5), 0xE3069283u);
}
END_TEST

/* 1 MiB of pseudo-random bytes, at every alignment and odd lengths:
 * whatever path bw_crc32c takes agrees with the bitwise reference. */
START_TEST(crc_large_matches_reference)
{
	unsigned char	*buf;
	size_t		 off, len;

	buf = t_xmalloc(T_MIB + 16);
	t_fill(buf, T_MIB + 16, 0x12345678);
	ck_assert_uint_eq(bw_crc32c(0, buf, T_MIB),
	    t_crc32c_ref(0, buf, T_MIB));
	for (off = 0; off < 8; off++)
		for (len = 0; len < 24; len++)
			ck_assert_uint_eq(bw_crc32c(0, buf + off, len),
			    t_crc32c_ref(0, buf + off, len));
	ck_assert_uint_eq(bw_crc32c(0, buf + 3, T_MIB + 13),
	    t_crc32c_ref(0, buf + 3, T_MIB + 13));
	/* around the three-stripe blocks of the fast path (1 KiB stripes) */
	for (len = 3 * 1024 - 9; len < 3 * 1024 + 9; len++)
		ck_assert_uint_eq(bw_crc32c(0x5a5a5a5a, buf + 5, len),
		    t_crc32c_ref(0x5a5a5a5a, buf + 5, len));
	for (len = 6 * 1024 - 1; len < 6 * 1024 + 2; len++)
		ck_assert_uint_eq(bw_crc32c(0, buf, len),
		    t_crc32c_ref(0, buf, len));
	free(buf);
}
END_TEST

/*
 * Write and read
 */

static const struct {
	size_t		 len;
	uint64_t	 want_off;
} rt_cases[] = {
	{ 1,		0 },
	{ 4095,		4096 },
	{ 4096,		8192 },
	{ 4097,		12288 },
	{ 65536,	20480 },
};
#define RT_N	(sizeof(rt_cases) / sizeof(rt_cases[0]))

START_TEST(seg_round_trip)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[RT_N];
	struct qseg_stats	 st;
	unsigned char		*in, *out;
	uint64_t		 bytes = 0;
	size_t			 i;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	in = t_xmalloc(T_BIG);
	out = t_xmalloc(T_BIG);
	for (i = 0; i < RT_N; i++) {
		t_fill(in, rt_cases[i].len, (uint32_t)i + 1);
		ck_assert_int_eq(qseg_write(s, in, rt_cases[i].len, &x[i]), 0);
		ck_assert_uint_eq(x[i].len, rt_cases[i].len);
		ck_assert_uint_eq(x[i].off % QSEG_ALIGN, 0);
		ck_assert_uint_eq(x[i].off, rt_cases[i].want_off);
		ck_assert_uint_eq(x[i].seg, x[0].seg);
		ck_assert_uint_eq(x[i].reserved, 0);
		ck_assert_uint_eq(x[i].crc, bw_crc32c(0, in, rt_cases[i].len));
		if (i > 0)
			ck_assert_uint_gt(x[i].off, x[i - 1].off);
		bytes += rt_cases[i].len;
	}
	ck_assert_uint_ne(x[0].seg, 0);
	ck_assert(t_seg_exists(sdir, x[0].seg));
	/* read back in reverse order, each exactly */
	for (i = RT_N; i-- > 0; ) {
		t_fill(in, rt_cases[i].len, (uint32_t)i + 1);
		memset(out, 0xee, T_BIG);
		ck_assert_int_eq(qseg_read(s, &x[i], out, T_BIG),
		    (ssize_t)rt_cases[i].len);
		ck_assert_int_eq(memcmp(in, out, rt_cases[i].len), 0);
		/* exactly big enough is fine, one byte short is not */
		ck_assert_int_eq(qseg_read(s, &x[i], out, rt_cases[i].len),
		    (ssize_t)rt_cases[i].len);
		errno = 0;
		ck_assert_int_eq(qseg_read(s, &x[i], out,
		    rt_cases[i].len - 1), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 1);
	ck_assert_uint_eq(st.pieces, RT_N);
	ck_assert_uint_eq(st.bytes, bytes);
	ck_assert_uint_eq(st.writes, RT_N);
	ck_assert_uint_eq(st.releases, 0);
	ck_assert_uint_eq(st.crc_errors, 0);
	/* an empty piece is refused */
	errno = 0;
	ck_assert_int_eq(qseg_write(s, in, 0, &x[0]), -1);
	ck_assert_int_eq(errno, EINVAL);
	qseg_close(s);
	free(in);
	free(out);
	t_rm_tree(dir);
}
END_TEST

/* A flipped byte on disk is caught by the CRC. */
START_TEST(seg_crc_mismatch)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[3];
	struct qseg_stats	 st;
	unsigned char		 in[5000], out[5000], b;
	int			 fd, i;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	for (i = 0; i < 3; i++) {
		t_fill(in, sizeof(in), (uint32_t)i + 100);
		ck_assert_int_eq(qseg_write(s, in, sizeof(in), &x[i]), 0);
	}
	/* flip one byte in the middle piece, past its first block */
	t_seg_path(p, sizeof(p), sdir, x[1].seg);
	ck_assert_int_ne(fd = open(p, O_RDWR), -1);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)x[1].off + 4500), 1);
	b ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)x[1].off + 4500), 1);
	close(fd);
	errno = 0;
	ck_assert_int_eq(qseg_read(s, &x[1], out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.crc_errors, 1);
	/* its neighbours are intact */
	ck_assert_int_eq(qseg_read(s, &x[0], out, sizeof(out)),
	    (ssize_t)sizeof(out));
	ck_assert_int_eq(qseg_read(s, &x[2], out, sizeof(out)),
	    (ssize_t)sizeof(out));
	t_fill(in, sizeof(in), 102);
	ck_assert_int_eq(memcmp(in, out, sizeof(out)), 0);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.crc_errors, 1);
	qseg_close(s);
	t_rm_tree(dir);
}
END_TEST

/* Forged records are refused with EINVAL (or EBADMSG past the end). */
static const struct {
	const char	*name;
	int		 seg_delta;	/* added to the real segment */
	uint32_t	 len;		/* 0: the real length */
	int		 zero_len;
	uint64_t	 off;
	int		 want_errno;
} forge_cases[] = {
	{ "unknown segment", 1, 0, 0, 0, EINVAL },
	{ "segment 0", -1, 0, 0, 0, EINVAL },
	{ "length 0", 0, 0, 1, 0, EINVAL },
	{ "longer than the buffer", 0, 2 * T_BIG, 0, 0, EINVAL },
	{ "past the end of the file", 0, 0, 0, 16 * T_MIB, EBADMSG },
};

START_TEST(seg_forged_ext)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x, f;
	unsigned char		*buf;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	buf = t_xmalloc(T_BIG);
	t_fill(buf, 1000, 5);
	ck_assert_int_eq(qseg_write(s, buf, 1000, &x), 0);
	f = x;
	if (forge_cases[_i].seg_delta == -1)
		f.seg = 0;
	else
		f.seg += (uint32_t)forge_cases[_i].seg_delta;
	if (forge_cases[_i].zero_len)
		f.len = 0;
	else if (forge_cases[_i].len)
		f.len = forge_cases[_i].len;
	if (forge_cases[_i].off)
		f.off = forge_cases[_i].off;
	errno = 0;
	ck_assert_msg(qseg_read(s, &f, buf, T_BIG) == -1, "%s: accepted",
	    forge_cases[_i].name);
	ck_assert_msg(errno == forge_cases[_i].want_errno,
	    "%s: errno %d want %d", forge_cases[_i].name, errno,
	    forge_cases[_i].want_errno);
	/* the real record still reads */
	ck_assert_int_eq(qseg_read(s, &x, buf, T_BIG), 1000);
	qseg_close(s);
	free(buf);
	t_rm_tree(dir);
}
END_TEST

/*
 * Release
 */

/* Released pieces give their blocks back at once. */
START_TEST(seg_release_frees_blocks)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[32];
	struct qseg_stats	 st;
	struct stat		 sb;
	unsigned char		*buf;
	blkcnt_t		 before;
	int64_t			 next;
	int			 i, punch;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	punch = t_punch_works(dir);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	buf = t_xmalloc(T_BIG);
	for (i = 0; i < 32; i++) {
		t_fill(buf, T_BIG, (uint32_t)i + 1);
		ck_assert_int_eq(qseg_write(s, buf, T_BIG, &x[i]), 0);
		ck_assert_uint_eq(x[i].seg, x[0].seg);
	}
	t_seg_path(p, sizeof(p), sdir, x[0].seg);
	ck_assert_int_eq(stat(p, &sb), 0);
	before = sb.st_blocks;
	ck_assert_int_ge(before, 32 * T_BIG / 512);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.pieces, 32);
	ck_assert_uint_eq(st.bytes, 32 * T_BIG);
	for (i = 0; i < 31; i++) {
		qseg_release(s, &x[i]);
		qseg_stats(s, &st);
		ck_assert_uint_eq(st.pieces, 32 - (i + 1));
		ck_assert_uint_eq(st.bytes, (uint64_t)(32 - (i + 1)) * T_BIG);
		ck_assert_uint_eq(st.releases, (uint64_t)i + 1);
	}
	/* the blocks wait for the deferred punch, the survivor's stay: not
	 * due before the first release has waited, then due */
	ck_assert(qseg_punch_pending(s));
	next = qseg_punch_due(s, 3600 * 1000);
	ck_assert_int_gt(next, 3590 * 1000);
	ck_assert_int_le(next, 3600 * 1000);
	ck_assert(qseg_punch_pending(s));
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_ge(sb.st_blocks, before);
	ck_assert_int_eq(qseg_punch_due(s, 0), -1);
	ck_assert(!qseg_punch_pending(s));
	ck_assert_int_eq(stat(p, &sb), 0);
	if (punch)
		ck_assert_msg(sb.st_blocks <= before / 2,
		    "st_blocks %lld -> %lld", (long long)before,
		    (long long)sb.st_blocks);
	/* the file keeps its size; the survivor is intact */
	ck_assert_int_ge(sb.st_size, (off_t)(32 * T_BIG));
	ck_assert_int_eq(qseg_read(s, &x[31], buf, T_BIG), T_BIG);
	ck_assert_uint_eq(bw_crc32c(0, buf, T_BIG), x[31].crc);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 1);
	ck_assert_uint_eq(st.crc_errors, 0);
	qseg_close(s);
	free(buf);
	t_rm_tree(dir);
}
END_TEST

/*
 * More released ranges than a segment may keep waiting (QSEG_FREED_MAX):
 * every other piece of 2 x QSEG_FREED_MAX + 2 is released, so no two merge;
 * the list never grows past its bound, its blocks are punched when it is
 * full, and the survivors read back intact.
 */
START_TEST(seg_release_bounded_wait)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	const size_t		 n = 2 * QSEG_FREED_MAX + 2;
	struct qseg		*s;
	struct qseg_ext		*x;
	struct stat		 sb;
	unsigned char		 buf[512], out[512];
	blkcnt_t		 before;
	size_t			 i;
	int			 punch;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	punch = t_punch_works(dir);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 256 * T_MIB, 0));
	qseg_recover_done(s);
	x = t_xmalloc(n * sizeof(*x));
	for (i = 0; i < n; i++) {
		t_fill(buf, sizeof(buf), (uint32_t)i + 7);
		ck_assert_int_eq(qseg_write(s, buf, sizeof(buf), &x[i]), 0);
	}
	t_seg_path(p, sizeof(p), sdir, x[0].seg);
	ck_assert_int_eq(stat(p, &sb), 0);
	before = sb.st_blocks;
	for (i = 0; i < n; i += 2)
		qseg_release(s, &x[i]);
	/* QSEG_FREED_MAX + 1 releases: the full list went at once */
	ck_assert_int_eq(stat(p, &sb), 0);
	if (punch)
		ck_assert_msg(sb.st_blocks < before * 3 / 4,
		    "st_blocks %lld -> %lld before the timer", (long long)before,
		    (long long)sb.st_blocks);
	ck_assert(!qseg_punch_pending(s));
	ck_assert_int_eq(qseg_punch_due(s, 0), -1);
	ck_assert(!qseg_punch_pending(s));
	ck_assert_int_eq(stat(p, &sb), 0);
	if (punch)
		ck_assert_msg(sb.st_blocks <= before / 2 + 8,
		    "st_blocks %lld -> %lld", (long long)before,
		    (long long)sb.st_blocks);
	for (i = 1; i < n; i += 2) {
		t_fill(buf, sizeof(buf), (uint32_t)i + 7);
		ck_assert_int_eq(qseg_read(s, &x[i], out, sizeof(out)),
		    (ssize_t)sizeof(out));
		ck_assert_mem_eq(out, buf, sizeof(buf));
	}
	qseg_close(s);
	free(x);
	t_rm_tree(dir);
}
END_TEST

#define ROLL_N	40

/* Small segments roll; an emptied old segment goes, the current stays. */
START_TEST(seg_roll_and_unlink)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[ROLL_N], y;
	struct qseg_stats	 st;
	unsigned char		*buf;
	uint32_t		 first, last;
	int			 i, nfirst = 0;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, T_MIB, 0));
	qseg_recover_done(s);
	buf = t_xmalloc(T_BIG);
	for (i = 0; i < ROLL_N; i++) {
		t_fill(buf, T_BIG, (uint32_t)i + 1);
		ck_assert_int_eq(qseg_write(s, buf, T_BIG, &x[i]), 0);
		ck_assert_uint_le(x[i].off + x[i].len, T_MIB);
		if (i > 0) {
			ck_assert_uint_ge(x[i].seg, x[i - 1].seg);
			if (x[i].seg == x[i - 1].seg)
				ck_assert_uint_gt(x[i].off, x[i - 1].off);
			else
				ck_assert_uint_eq(x[i].off, 0);
		}
	}
	first = x[0].seg;
	last = x[ROLL_N - 1].seg;
	ck_assert_int_ge(t_seg_count(sdir), 3);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, (uint64_t)t_seg_count(sdir));
	/* every piece reads back, from cached and current descriptors */
	for (i = 0; i < ROLL_N; i++) {
		ck_assert_int_eq(qseg_read(s, &x[i], buf, T_BIG), T_BIG);
		ck_assert_uint_eq(bw_crc32c(0, buf, T_BIG), x[i].crc);
	}
	/* empty the first segment: it is unlinked */
	for (i = 0; i < ROLL_N; i++)
		if (x[i].seg == first) {
			ck_assert(t_seg_exists(sdir, first));
			qseg_release(s, &x[i]);
			nfirst++;
		}
	ck_assert_int_gt(nfirst, 1);
	ck_assert(!t_seg_exists(sdir, first));
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, (uint64_t)t_seg_count(sdir));
	ck_assert_uint_eq(st.pieces, ROLL_N - nfirst);
	errno = 0;
	ck_assert_int_eq(qseg_read(s, &x[0], buf, T_BIG), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* empty the current one: it stays and takes the next write */
	for (i = 0; i < ROLL_N; i++)
		if (x[i].seg == last)
			qseg_release(s, &x[i]);
	ck_assert(t_seg_exists(sdir, last));
	t_fill(buf, 100, 99);
	ck_assert_int_eq(qseg_write(s, buf, 100, &y), 0);
	ck_assert_uint_eq(y.seg, last);
	ck_assert_int_eq(qseg_read(s, &y, buf, T_BIG), 100);
	/* the middle ones go as they empty */
	for (i = 0; i < ROLL_N; i++)
		if (x[i].seg != first && x[i].seg != last)
			qseg_release(s, &x[i]);
	ck_assert_int_eq(t_seg_count(sdir), 1);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 1);
	ck_assert_uint_eq(st.pieces, 1);
	ck_assert_uint_eq(st.bytes, 100);
	ck_assert_uint_eq(st.releases, ROLL_N);
	qseg_close(s);
	free(buf);
	t_rm_tree(dir);
}
END_TEST

/*
 * Sync from the flusher thread
 */

struct t_syncer {
	struct qseg	*s;
	int		 fails;
	int		 rounds;
};

static void *
t_syncer_run(void *arg)
{
	struct t_syncer	*t = arg;
	int		 i;

	for (i = 0; i < T_SYNC_ROUNDS; i++) {
		if (qseg_sync(t->s) != 0)
			t->fails++;
		t->rounds++;
	}
	return NULL;
}

START_TEST(seg_sync_concurrent)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		*x;
	struct qseg_stats	 st;
	struct t_syncer		 t;
	pthread_t		 th;
	unsigned char		 buf[6000];
	int			 i;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	/* tiny segments: the writer rolls while the flusher syncs */
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 3 * QSEG_ALIGN, 0));
	qseg_recover_done(s);
	ck_assert_int_eq(qseg_sync(s), 0);	/* nothing written yet */
	x = t_xmalloc(T_SYNC_WRITES * sizeof(*x));
	memset(&t, 0, sizeof(t));
	t.s = s;
	ck_assert_int_eq(pthread_create(&th, NULL, t_syncer_run, &t), 0);
	for (i = 0; i < T_SYNC_WRITES; i++) {
		t_fill(buf, sizeof(buf), (uint32_t)i + 1);
		ck_assert_int_eq(qseg_write(s, buf, sizeof(buf), &x[i]), 0);
		/* keep the file count bounded: drop every other piece */
		if (i % 2 == 1)
			qseg_release(s, &x[i - 1]);
	}
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(t.rounds, T_SYNC_ROUNDS);
	ck_assert_int_eq(t.fails, 0);
	ck_assert_int_eq(qseg_sync(s), 0);
	for (i = 1; i < T_SYNC_WRITES; i += 2) {
		ck_assert_int_eq(qseg_read(s, &x[i], buf, sizeof(buf)),
		    (ssize_t)sizeof(buf));
		ck_assert_uint_eq(bw_crc32c(0, buf, sizeof(buf)), x[i].crc);
	}
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.writes, T_SYNC_WRITES);
	ck_assert_uint_eq(st.pieces, T_SYNC_WRITES / 2);
	ck_assert_uint_eq(st.segments, (uint64_t)t_seg_count(sdir));
	qseg_close(s);
	free(x);
	t_rm_tree(dir);
}
END_TEST

/*
 * Recovery
 */

#define REC_ORPHAN	0xffffu
#define REC_ODDNAME	"notasegm"	/* 8 characters, not hex */

START_TEST(seg_recovery)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	char			 odd[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 a, b, c, y, f;
	struct qseg_stats	 st;
	struct stat		 sb;
	unsigned char		 in[3][9000], out[9000];
	size_t			 i;
	int			 fd;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	for (i = 0; i < 3; i++)
		t_fill(in[i], sizeof(in[i]), (uint32_t)i + 40);
	ck_assert_int_eq(qseg_write(s, in[0], 5000, &a), 0);
	ck_assert_int_eq(qseg_write(s, in[1], 9000, &b), 0);
	ck_assert_int_eq(qseg_write(s, in[2], 7000, &c), 0);
	ck_assert_uint_eq(a.seg, c.seg);
	qseg_close(s);

	/* an orphan segment and a stranger */
	t_seg_path(p, sizeof(p), sdir, REC_ORPHAN);
	t_file_write(p, in[0], 3000);
	ck_assert_int_lt(snprintf(odd, sizeof(odd), "%s/%s", sdir,
	    REC_ODDNAME), (int)sizeof(odd));
	t_file_write(odd, in[1], 100);

	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 2);
	ck_assert_int_eq(qseg_recover_ref(s, &a), 0);
	ck_assert_int_eq(qseg_recover_ref(s, &c), 0);
	/* forged: outside the file, unknown segment, empty, unaligned */
	f = c;
	f.off = t_round(c.off + c.len) + QSEG_ALIGN;
	ck_assert_int_eq(qseg_recover_ref(s, &f), -1);
	f = c;
	f.len += QSEG_ALIGN;		/* runs past the end of the file */
	ck_assert_int_eq(qseg_recover_ref(s, &f), -1);
	f = a;
	f.seg = 0x1234;
	ck_assert_int_eq(qseg_recover_ref(s, &f), -1);
	f = a;
	f.len = 0;
	ck_assert_int_eq(qseg_recover_ref(s, &f), -1);
	f = a;
	f.off = 1;
	ck_assert_int_eq(qseg_recover_ref(s, &f), -1);
	ck_assert(qseg_recent(s, &a));
	ck_assert(qseg_recent(s, &c));
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.pieces, 2);
	ck_assert_uint_eq(st.bytes, 5000 + 7000);
	qseg_recover_done(s);

	/* the orphan is gone, the stranger stays */
	ck_assert(!t_seg_exists(sdir, REC_ORPHAN));
	ck_assert(t_exists(odd));
	ck_assert(t_seg_exists(sdir, a.seg));
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 1);
	/* B's blocks are punched out: zeros (or a hole) */
	t_seg_path(p, sizeof(p), sdir, b.seg);
	ck_assert_int_ne(fd = open(p, O_RDONLY), -1);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(pread(fd, out, b.len, (off_t)b.off), (ssize_t)b.len);
	for (i = 0; i < b.len; i++)
		if (out[i] != 0)
			ck_abort_msg("byte %zu of B is %02x, not punched", i,
			    out[i]);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_ge(sb.st_size, (off_t)(c.off + c.len));
	close(fd);
	/* A and C read back */
	ck_assert_int_eq(qseg_read(s, &a, out, sizeof(out)), 5000);
	ck_assert_int_eq(memcmp(out, in[0], 5000), 0);
	ck_assert_int_eq(qseg_read(s, &c, out, sizeof(out)), 7000);
	ck_assert_int_eq(memcmp(out, in[2], 7000), 0);
	/* a new write goes to a new segment, after every number seen */
	ck_assert_int_eq(qseg_write(s, in[1], 9000, &y), 0);
	ck_assert_uint_gt(y.seg, REC_ORPHAN);
	ck_assert_uint_eq(y.off, 0);
	ck_assert(t_seg_exists(sdir, y.seg));
	ck_assert_int_eq(qseg_read(s, &y, out, sizeof(out)), 9000);
	ck_assert_int_eq(memcmp(out, in[1], 9000), 0);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.segments, 2);
	ck_assert_uint_eq(st.pieces, 3);
	ck_assert_uint_eq(st.crc_errors, 0);
	qseg_close(s);
	ck_assert(t_exists(odd));
	t_rm_tree(dir);
}
END_TEST

/* Records that recovery must refuse (the caller drops their message). */
static const struct {
	const char	*name;
	int		 other_seg;
	uint64_t	 off;		/* UINT64_MAX: keep */
	uint32_t	 len;		/* 0: keep */
	int		 zero_len;
} rforge_cases[] = {
	{ "unknown segment", 1, UINT64_MAX, 0, 0 },
	{ "length 0", 0, UINT64_MAX, 0, 1 },
	{ "unaligned", 0, 1, 0, 0 },
	{ "starts past the end", 0, 64 * QSEG_ALIGN, 0, 0 },
	{ "runs past the end", 0, UINT64_MAX, 2 * QSEG_ALIGN, 0 },
	{ "offset wraps around", 0, UINT64_MAX - QSEG_ALIGN + 1,
	    QSEG_ALIGN, 0 },
};

START_TEST(seg_recover_forged)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 a, f;
	struct qseg_stats	 st;
	unsigned char		 in[1000];

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	t_fill(in, sizeof(in), 9);
	ck_assert_int_eq(qseg_write(s, in, sizeof(in), &a), 0);
	qseg_close(s);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	f = a;
	if (rforge_cases[_i].other_seg)
		f.seg = a.seg + 1;
	if (rforge_cases[_i].off != UINT64_MAX)
		f.off = rforge_cases[_i].off;
	if (rforge_cases[_i].len)
		f.len = rforge_cases[_i].len;
	if (rforge_cases[_i].zero_len)
		f.len = 0;
	ck_assert_msg(qseg_recover_ref(s, &f) == -1, "%s: accepted",
	    rforge_cases[_i].name);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.pieces, 0);
	ck_assert_int_eq(qseg_recover_ref(s, &a), 0);
	qseg_recover_done(s);
	ck_assert_int_eq(qseg_read(s, &a, in, sizeof(in)),
	    (ssize_t)sizeof(in));
	qseg_close(s);
	t_rm_tree(dir);
}
END_TEST

/* Tail past the last live piece of a recovered segment is cut off; a
 * segment whose refs all failed is removed. */
START_TEST(seg_recovery_tail)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 a, b;
	struct stat		 sb;
	unsigned char		 in[8000], out[8000];

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_recover_done(s);
	t_fill(in, sizeof(in), 3);
	ck_assert_int_eq(qseg_write(s, in, 100, &a), 0);
	ck_assert_int_eq(qseg_write(s, in, 8000, &b), 0);
	qseg_close(s);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	ck_assert_int_eq(qseg_recover_ref(s, &a), 0);
	qseg_recover_done(s);
	t_seg_path(p, sizeof(p), sdir, a.seg);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_le(sb.st_size, (off_t)t_round(a.off + a.len));
	ck_assert_int_ge(sb.st_size, (off_t)(a.off + a.len));
	ck_assert_int_eq(qseg_read(s, &a, out, sizeof(out)), 100);
	ck_assert_int_eq(memcmp(out, in, 100), 0);
	/* B was cut off: refused, not trusted */
	ck_assert_int_eq(qseg_read(s, &b, out, sizeof(out)), -1);
	qseg_close(s);
	t_rm_tree(dir);
}
END_TEST

/* With more than QSEG_VERIFY_RECENT segments, only the newest count. */
START_TEST(seg_recent)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[4];
	unsigned char		 in[QSEG_ALIGN];
	int			 i;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	/* one piece per segment */
	ck_assert_ptr_nonnull(s = qseg_open(sdir, QSEG_ALIGN, 0));
	qseg_recover_done(s);
	t_fill(in, sizeof(in), 11);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(qseg_write(s, in, sizeof(in), &x[i]), 0);
		if (i > 0)
			ck_assert_uint_gt(x[i].seg, x[i - 1].seg);
	}
	qseg_close(s);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, QSEG_ALIGN, 0));
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(qseg_recover_ref(s, &x[i]), 0);
	ck_assert(!qseg_recent(s, &x[0]));
	ck_assert(!qseg_recent(s, &x[1]));
	ck_assert(qseg_recent(s, &x[2]));
	ck_assert(qseg_recent(s, &x[3]));
	qseg_recover_done(s);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(qseg_read(s, &x[i], in, sizeof(in)),
		    (ssize_t)sizeof(in));
	qseg_close(s);
	t_rm_tree(dir);
}
END_TEST

/* Names that are not exactly 8 hex digits are not segments. */
static const char *const stranger_names[] = {
	"README", "0000001", "000000001", "00000000", "0000000g",
	"0x00ffff", "+000ffff", " 000ffff", "-0000001", "0000FFFF",
	"00000001.tmp",
};
#define STRANGERS_N	(sizeof(stranger_names) / sizeof(stranger_names[0]))

START_TEST(seg_strangers_ignored)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 y;
	struct qseg_stats	 st;
	const char		*name = stranger_names[_i];

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	ck_assert_int_eq(mkdir(sdir, 0700), 0);
	ck_assert_int_lt(snprintf(p, sizeof(p), "%s/%s", sdir, name),
	    (int)sizeof(p));
	t_file_write(p, "stranger", 8);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, 64 * T_MIB, 0));
	qseg_stats(s, &st);
	ck_assert_msg(st.segments == 0, "\"%s\" taken for a segment", name);
	qseg_recover_done(s);
	ck_assert_int_eq(qseg_write(s, "x", 1, &y), 0);
	ck_assert_msg(y.seg == 1, "\"%s\": first segment is %08x", name,
	    y.seg);
	qseg_close(s);
	ck_assert_msg(t_exists(p), "\"%s\" removed", name);
	t_rm_tree(dir);
}
END_TEST

START_TEST(seg_close_null)
{
	qseg_close(NULL);
}
END_TEST

static void
t_spare_path(char *buf, size_t bufsz, const char *segdir, uint32_t id)
{
	ck_assert_int_lt(snprintf(buf, bufsz, "%s/" QSEG_SPARE_PREFIX "%08x",
	    segdir, id), (int)bufsz);
}

static ino_t
t_ino(const char *path)
{
	struct stat	 sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_ino;
}

/* Release every piece of segment seg among x[0..n). */
static void
t_release_seg(struct qseg *s, const struct qseg_ext *x, int n, uint32_t seg)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (x[i].seg == seg)
			qseg_release(s, &x[i]);
}

/*
 * Emptied segments are kept as spares (up to the limit, the rest removed)
 * and the next segment is the newest spare renamed: same file, new number,
 * its old bytes overwritten; spares found at start-up are kept up to the
 * limit, and their numbers are never given out again.
 */
START_TEST(seg_spares_reused)
{
	char			 dir[PATH_MAX], sdir[PATH_MAX], p[PATH_MAX];
	char			 q[PATH_MAX];
	struct qseg		*s;
	struct qseg_ext		 x[ROLL_N], y[ROLL_N];
	struct qseg_stats	 st;
	unsigned char		*buf;
	uint32_t		 seg[3], last, grown;
	ino_t			 ino;
	int			 i, ny = 0;

	t_dir_make(dir, sizeof(dir), sdir, sizeof(sdir));
	/* eight pieces a segment: five of them */
	ck_assert_ptr_nonnull(s = qseg_open(sdir, T_MIB / 2, 2));
	qseg_recover_done(s);
	buf = t_xmalloc(T_BIG);
	for (i = 0; i < ROLL_N; i++) {
		t_fill(buf, T_BIG, (uint32_t)i + 1);
		ck_assert_int_eq(qseg_write(s, buf, T_BIG, &x[i]), 0);
	}
	last = x[ROLL_N - 1].seg;
	seg[0] = x[0].seg;
	ck_assert_uint_lt(seg[0] + 3, last);	/* 3 full ones, then more */
	seg[1] = seg[0] + 1;
	seg[2] = seg[0] + 2;
	for (i = 0; i < 3; i++)
		t_release_seg(s, x, ROLL_N, seg[i]);
	/* two spares, by their old numbers; the third emptied one is gone */
	for (i = 0; i < 3; i++)
		ck_assert(!t_seg_exists(sdir, seg[i]));
	t_spare_path(p, sizeof(p), sdir, seg[0]);
	ck_assert(t_exists(p));
	t_spare_path(p, sizeof(p), sdir, seg[2]);
	ck_assert(!t_exists(p));
	t_spare_path(p, sizeof(p), sdir, seg[1]);
	ck_assert(t_exists(p));
	ino = t_ino(p);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.spares, 2);
	ck_assert_uint_eq(st.segments, (uint64_t)t_seg_count(sdir));

	/* fill the current segment: the next one is the newest spare */
	for (grown = last; grown == last && ny < ROLL_N; ny++) {
		t_fill(buf, T_BIG, 1000 + (uint32_t)ny);
		ck_assert_int_eq(qseg_write(s, buf, T_BIG, &y[ny]), 0);
		grown = y[ny].seg;
	}
	ck_assert_uint_eq(grown, last + 1);
	ck_assert_uint_eq(y[ny - 1].off, 0);
	ck_assert(!t_exists(p));
	t_seg_path(q, sizeof(q), sdir, grown);
	ck_assert(t_ino(q) == ino);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.spares, 1);
	/* more pieces over the old bytes; all read back */
	for (; ny < 8; ny++) {
		t_fill(buf, T_BIG - ny, 1000 + (uint32_t)ny);
		ck_assert_int_eq(qseg_write(s, buf, T_BIG - ny, &y[ny]), 0);
		ck_assert_uint_eq(y[ny].seg, grown);
	}
	for (i = 0; i < ny; i++) {
		ck_assert_int_eq(qseg_read(s, &y[i], buf, T_BIG),
		    (ssize_t)y[i].len);
		ck_assert_uint_eq(bw_crc32c(0, buf, y[i].len), y[i].crc);
	}
	for (i = 0; i < ROLL_N; i++)
		if (x[i].seg > seg[2])
			ck_assert_int_eq(qseg_read(s, &x[i], buf, T_BIG), T_BIG);
	qseg_close(s);

	/* start-up with a stranger spare beyond every segment number: with
	 * room for one, one of the two is removed; numbers go on after it */
	t_spare_path(p, sizeof(p), sdir, REC_ORPHAN);
	t_file_write(p, buf, 100);
	ck_assert_ptr_nonnull(s = qseg_open(sdir, T_MIB / 2, 1));
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.spares, 1);
	t_spare_path(p, sizeof(p), sdir, seg[0]);
	t_spare_path(q, sizeof(q), sdir, REC_ORPHAN);
	ck_assert_int_eq(t_exists(p) + t_exists(q), 1);
	/* no record survives: every segment empties into the spare or goes */
	qseg_recover_done(s);
	ck_assert_int_eq(t_seg_count(sdir), 0);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.spares, 1);
	ck_assert_uint_eq(st.segments, 0);
	ck_assert_int_eq(qseg_write(s, buf, 100, &y[0]), 0);
	ck_assert_uint_gt(y[0].seg, REC_ORPHAN);
	ck_assert_int_eq(qseg_read(s, &y[0], buf, T_BIG), 100);
	qseg_stats(s, &st);
	ck_assert_uint_eq(st.spares, 0);
	ck_assert_uint_eq(st.segments, 1);
	qseg_close(s);
	free(buf);
	t_rm_tree(dir);
}
END_TEST

static Suite *
segment_suite(void)
{
	Suite	*s = suite_create("queued_segment");
	TCase	*tc;

	tc = tcase_create("crc32c");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, crc_known, 0,
	    sizeof(crc_cases) / sizeof(crc_cases[0]));
	tcase_add_test(tc, crc_incremental);
	tcase_add_test(tc, crc_large_matches_reference);
	suite_add_tcase(s, tc);

	tc = tcase_create("write_read");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, t_base_setup, t_base_teardown);
	tcase_add_test(tc, seg_round_trip);
	tcase_add_test(tc, seg_crc_mismatch);
	tcase_add_loop_test(tc, seg_forged_ext, 0,
	    sizeof(forge_cases) / sizeof(forge_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, t_base_setup, t_base_teardown);
	tcase_add_test(tc, seg_release_frees_blocks);
	tcase_add_test(tc, seg_release_bounded_wait);
	tcase_add_test(tc, seg_roll_and_unlink);
	tcase_add_test(tc, seg_spares_reused);
	suite_add_tcase(s, tc);

	tc = tcase_create("sync");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, t_base_setup, t_base_teardown);
	tcase_add_test(tc, seg_sync_concurrent);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, t_base_setup, t_base_teardown);
	tcase_add_test(tc, seg_recovery);
	tcase_add_loop_test(tc, seg_recover_forged, 0,
	    sizeof(rforge_cases) / sizeof(rforge_cases[0]));
	tcase_add_test(tc, seg_recovery_tail);
	tcase_add_test(tc, seg_recent);
	tcase_add_loop_test(tc, seg_strangers_ignored, 0, STRANGERS_N);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, seg_close_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(segment_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
