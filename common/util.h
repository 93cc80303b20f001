/*
 * Small helpers shared by every process: time, queue ids, strings, paths.
 */
#ifndef BW_UTIL_H
#define BW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "imsg_catalog.h"

uint64_t bw_now_ms(void);		/* CLOCK_MONOTONIC, milliseconds */

/* FNV-1a for hash tables (not for anything a peer could exploit the
 * collisions of beyond a longer chain): continue h over len bytes. */
#define BW_FNV1A_INIT	2166136261u
uint32_t bw_fnv1a(uint32_t h, const void *data, size_t len);
int64_t	 bw_time(void);			/* wall clock, seconds */

/*
 * Queue ids: BW_QID_LEN uppercase hex digits of a 64-bit value that grows
 * strictly within a process (microseconds since the epoch, bumped on
 * collision), so ids sort by arrival and do not repeat across restarts.
 */
void	 bw_qid_new(char qid[BW_QID_LEN + 1]);
int	 bw_qid_valid(const char *);

#ifndef HAVE_STRLCPY
size_t	 strlcpy(char *, const char *, size_t);
#endif
#ifndef HAVE_STRLCAT
size_t	 strlcat(char *, const char *, size_t);
#endif

/* dst = dir + "/" + name; -1 if it does not fit. */
int	 bw_path(char *dst, size_t dstsz, const char *dir, const char *name);
/* mkdir -p with mode for the last component; -1 (errno) on failure. */
int	 bw_mkdirs(const char *path, mode_t mode);
/* Set O_NONBLOCK and FD_CLOEXEC. */
int	 bw_set_nonblock(int fd);
/* Lower-case ASCII copy. */
void	 bw_lowercase(char *dst, const char *src, size_t dstsz);
/* Write our pid to path (0644); unlink it with bw_pidfile_remove(). */
int	 bw_pidfile_write(const char *path);
void	 bw_pidfile_remove(const char *path);

#endif
