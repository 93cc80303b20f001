/*
 * Logging through syslog (ident "breakwater/<process>", facility LOG_MAIL),
 * or to stderr when running in the foreground.  One line per event; callers
 * put the queue id first and use key=value pairs.  Every helper preserves
 * errno.
 */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define BW_LOG_PEER_TEXT_MAX	200	/* peer text is cut to this many bytes in logs */

void	log_init(const char *process, int foreground);
void	log_set_verbose(int);
int	log_get_verbose(void);
/*
 * Format every line but write none (fuzz harnesses: a line per input
 * would drown the fuzzer's own output; the formatting still runs).
 */
void	log_set_discard(int);
const char *log_procname(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* An alert for the administrator (syslog LOG_ALERT): controld_alert.c */
void	log_alert(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape untrusted peer text for logging: non-printable bytes become \xNN,
 * the result is cut to fit (at most BW_LOG_PEER_TEXT_MAX input bytes) and
 * always NUL-terminated.  Returns dst.
 */
char	*log_escape(char *dst, size_t dstsz, const char *src, size_t srclen);
/* The same without the BW_LOG_PEER_TEXT_MAX cut: escapes what fits of
 * src into dst (always terminated), sets *taken to the source bytes
 * escaped, returns the length written. */
size_t	 log_escape_n(char *dst, size_t dstsz, const char *src, size_t srclen,
	    size_t *taken);

#endif
