/*
 * Domain debug's pure helpers (see domain_debug.h).  Input comes from an
 * admin's bwctl (durations, patterns) and from remote SMTP servers
 * (transcript lines): everything is bounded by the caller's buffer and
 * BW_DEBUG_LINE_MAX.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imsg_catalog.h"
#include "log.h"
#include "domain_debug.h"

int
bw_debug_duration_parse(const char *text, uint64_t *ms, char *err,
    size_t errsz)
{
	unsigned long long	 v, unit = 1000;
	char			*end;

	if (!isdigit((unsigned char)text[0]))
		goto bad;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		goto toolong;
	if (*end != '\0') {
		switch (*end) {
		case 's':
			unit = 1000;
			break;
		case 'm':
			unit = 60 * 1000;
			break;
		case 'h':
			unit = 3600 * 1000;
			break;
		default:
			goto bad;
		}
		if (end[1] != '\0')
			goto bad;
	}
	if (v == 0) {
		snprintf(err, errsz, "a duration of at least 1s is needed");
		return -1;
	}
	if (v > BW_DEBUG_DURATION_MAX_MS / unit)
		goto toolong;
	*ms = v * unit;
	return 0;
bad:
	snprintf(err, errsz, "not a duration (30s, 5m, 2h)");
	return -1;
toolong:
	snprintf(err, errsz, "longer than the maximum of %lluh",
	    (unsigned long long)(BW_DEBUG_DURATION_MAX_MS / 3600000));
	return -1;
}

int
bw_debug_pattern_norm(const char *in, char *out, size_t outsz)
{
	size_t	 len = strlen(in), i, o = 0, label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > BW_DOMAIN_MAX || len + 1 > outsz)
		return -1;
	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		out[o++] = '*';
		out[o++] = '.';
		i = 2;
		if (i == len)
			return -1;
	} else
		i = 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-') {
			if (++label > 63)	/* RFC 1035 2.3.4 */
				return -1;
		} else
			return -1;
		out[o++] = (char)tolower(c);
	}
	if (label == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
bw_debug_pattern_match(const char *pattern, const char *domain)
{
	size_t	 plen, dlen = strlen(domain);

	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (pattern[0] != '*')
		return strlen(pattern) == dlen &&
		    strncasecmp(pattern, domain, dlen) == 0;
	/* "*.example.org": "a.example.org", never "example.org" */
	pattern++;		/* ".example.org" */
	plen = strlen(pattern);
	return dlen > plen && strncasecmp(domain + dlen - plen, pattern,
	    plen) == 0;
}

int
bw_debug_file_name(const char *pattern, char *out, size_t outsz)
{
	int	 n;

	if (pattern[0] == '*')
		n = snprintf(out, outsz, "_%s%s", pattern + 1,
		    BW_DEBUG_FILE_SUFFIX);
	else
		n = snprintf(out, outsz, "%s%s", pattern,
		    BW_DEBUG_FILE_SUFFIX);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

size_t
bw_debug_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t	 i, o;
	int	 n;

	if (dstsz == 0)
		return 0;
	o = log_escape_n(dst, dstsz, src, len > BW_DEBUG_LINE_MAX ?
	    BW_DEBUG_LINE_MAX : len, &i);
	/* the note whole or not at all */
	if (i < len && (n = snprintf(dst + o, dstsz - o, " [... %zu bytes]",
	    len)) > 0) {
		if ((size_t)n < dstsz - o)
			o += (size_t)n;
		else
			dst[o] = '\0';
	}
	return o;
}
