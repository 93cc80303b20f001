/*
 * Text formatting shared by controld's tables and ctl_out's TEXT
 * renderer: ages and timestamps.
 */
#ifndef CTL_FMT_H
#define CTL_FMT_H

#include <stddef.h>
#include <stdint.h>

#define CTL_FMT_AGE_MAX		32	/* "4d03h", room for any int64 */
#define CTL_FMT_TIME_MAX	64	/* "YYYY-MM-DD HH:MM:SS" */

void	 ctl_fmt_age(char *dst, size_t dstsz, int64_t seconds);
void	 ctl_fmt_time(char *dst, size_t dstsz, int64_t unixtime);

#endif
