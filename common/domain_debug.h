/*
 * Domain debug (`bwctl debug DOMAIN on [DURATION]`): the pure parts that
 * bwctl, controld and deliverd share -- the duration syntax, the domain
 * patterns and their file names, and the escaping of one transcript line.
 * No I/O here: tests/check_domain_debug.c drives every function.
 */
#ifndef BW_DOMAIN_DEBUG_H
#define BW_DOMAIN_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#define BW_DEBUG_DURATION_DEFAULT_MS	(10ULL * 60 * 1000)	/* 10 minutes:
					   long enough to catch a retry of
					   a deferred domain, short enough
					   that a forgotten debug ends */
#define BW_DEBUG_DURATION_MAX_MS	(24ULL * 3600 * 1000)	/* a day: a
					   transcript is for a look, not a
					   log kept for ever */
#define BW_DEBUG_DURATION_TEXT_MAX	16	/* "86400s", "1440m" */
#define BW_DEBUG_LINE_MAX	1024	/* bytes of one command or reply line
					   kept in a transcript; longer ones
					   are cut with a note of their size */
#define BW_DEBUG_FILE_SUFFIX	".log"

/*
 * "30s", "5m", "2h", or a number of seconds; at least one second, at
 * most BW_DEBUG_DURATION_MAX_MS.  0, or -1 with why ("not a duration",
 * "longer than 24h") in err.
 */
int	 bw_debug_duration_parse(const char *text, uint64_t *ms, char *err,
	    size_t errsz);

/*
 * A domain as bwctl debug takes it: "example.org" (that domain alone) or
 * "*.example.org" (its subdomains, not itself); letters, digits, hyphens
 * and dots, labels not empty, a trailing dot dropped, lower-cased into
 * out (BW_DOMAIN_MAX + 1 bytes at least).  0, or -1.
 */
int	 bw_debug_pattern_norm(const char *in, char *out, size_t outsz);

/* 1 if a normalized pattern covers domain (compared without case). */
int	 bw_debug_pattern_match(const char *pattern, const char *domain);

/*
 * The transcript file of a normalized pattern, relative to debug_dir:
 * "example.org.log", "_.example.org.log" for "*.example.org" ('_' is not
 * in any pattern, so no two patterns share a file).  0, or -1 when it
 * does not fit.
 */
int	 bw_debug_file_name(const char *pattern, char *out, size_t outsz);

/*
 * One line of peer or protocol text made safe for a transcript: bytes
 * outside printable ASCII and the backslash as \xHH, at most
 * BW_DEBUG_LINE_MAX input bytes, then " [... N bytes]" when cut (when
 * the whole note fits: a small dst gets none).  Always
 * terminated; returns the length written.  dstsz of
 * BW_DEBUG_ESCAPED_MAX always holds the whole result.
 */
#define BW_DEBUG_ESCAPED_MAX	(BW_DEBUG_LINE_MAX * 4 + 48)
size_t	 bw_debug_escape(char *dst, size_t dstsz, const char *src,
	    size_t len);

#endif
