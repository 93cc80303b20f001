/*
 * Small helpers shared by every process: clocks, queue ids, paths,
 * pid files.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint32_t
bw_fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char	*p = data;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

uint64_t
bw_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
bw_time(void)
{
	return (int64_t)time(NULL);
}

void
bw_qid_new(char qid[BW_QID_LEN + 1])
{
	static uint64_t	 last;
	struct timespec	 ts;
	uint64_t	 v;

	/* Wall-clock microseconds keep ids unique across restarts; the
	 * bump keeps them unique within a microsecond and if the clock
	 * steps back while we run. */
	clock_gettime(CLOCK_REALTIME, &ts);
	v = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (v <= last)
		v = last + 1;
	last = v;
	snprintf(qid, BW_QID_LEN + 1, "%0*llX", BW_QID_LEN,
	    (unsigned long long)v);
}

int
bw_qid_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < BW_QID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    islower((unsigned char)s[i]))
			return 0;
	return s[BW_QID_LEN] == '\0';
}

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	 len = strlen(src);

	if (dsize != 0) {
		size_t n = len >= dsize ? dsize - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

#ifndef HAVE_STRLCAT
size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	 dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dsize + strlen(src);
	return dlen + strlcpy(dst + dlen, src, dsize - dlen);
}
#endif

int
bw_path(char *dst, size_t dstsz, const char *dir, const char *name)
{
	int	 n;

	n = snprintf(dst, dstsz, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
bw_mkdirs(const char *path, mode_t mode)
{
	char	 buf[4096];
	char	*p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
bw_set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

void
bw_lowercase(char *dst, const char *src, size_t dstsz)
{
	size_t	 i;

	if (dstsz == 0)
		return;
	for (i = 0; i + 1 < dstsz && src[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

int
bw_pidfile_write(const char *path)
{
	char	 buf[32];
	int	 fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, n) != n) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

void
bw_pidfile_remove(const char *path)
{
	unlink(path);
}
