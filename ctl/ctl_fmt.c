/*
 * Text formatting shared by controld's tables and the TEXT renderer:
 * ages and timestamps.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <time.h>

#include "ctl_fmt.h"

/* "42s", "3m07s", "2h05m", "4d03h"; negative ages (clock steps) are 0s. */
void
ctl_fmt_age(char *dst, size_t dstsz, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(dst, dstsz, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(dst, dstsz, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		snprintf(dst, dstsz, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(dst, dstsz, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

/* Local time as "YYYY-MM-DD HH:MM:SS"; "-" for 0 or an unusable value. */
void
ctl_fmt_time(char *dst, size_t dstsz, int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(dst, dstsz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(dst, dstsz, "-");
}
