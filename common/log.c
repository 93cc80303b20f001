/*
 * Logging helpers modelled on the OpenBSD daemons: syslog in the background,
 * stderr in the foreground, errno appended by the *_warn variants.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static int	 log_discard;
static char	 log_ident[64] = "breakwater";
static const char *log_proc = "breakwater";

void
log_init(const char *process, int foreground)
{
	log_proc = process;
	snprintf(log_ident, sizeof(log_ident), "breakwater/%s", process);
	log_foreground = foreground;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	tzset();
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

int
log_get_verbose(void)
{
	return log_verbose;
}

void
log_set_discard(int on)
{
	log_discard = on;
}

const char *
log_procname(void)
{
	return log_proc;
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno, int saved)
{
	char	 msg[4096];
	int	 n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0 || log_discard)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	if (log_foreground) {
		struct timespec	 ts;
		struct tm	 tm;
		char		 tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%ld]: %s\n", tbuf,
		    ts.tv_nsec / 1000000, log_ident, (long)getpid(), msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
}

#define LOG_BODY(pri, with_errno) do {				\
	int	 saved = errno;					\
	va_list	 ap;						\
	va_start(ap, fmt);					\
	log_vwrite((pri), fmt, ap, (with_errno), saved);	\
	va_end(ap);						\
	errno = saved;						\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0);
}

void
log_alert(const char *fmt, ...)
{
	LOG_BODY(LOG_ALERT, 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

size_t
log_escape_n(char *dst, size_t dstsz, const char *src, size_t srclen,
    size_t *taken)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (dstsz == 0) {
		*taken = 0;
		return 0;
	}
	for (i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	*taken = i;
	return o;
}

char *
log_escape(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	size_t	 taken;

	if (srclen > BW_LOG_PEER_TEXT_MAX)
		srclen = BW_LOG_PEER_TEXT_MAX;
	log_escape_n(dst, dstsz, src, srclen, &taken);
	return dst;
}
