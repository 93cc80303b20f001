/*
 * xtext encoder and decoder (see xtext.h).
 */
#include "bw_autoconf.h"

#include "xtext.h"

/* An upper-case hex digit's value, or -1 (RFC 3461 4: "upper case"). */
static int
xtext_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A character that may stand for itself in xtext. */
static int
xtext_is_xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

ssize_t
bw_xtext_decode(const char *src, size_t len, char *dst, size_t dstsz)
{
	size_t	 i, n = 0;
	int	 hi, lo;
	unsigned char c;

	if (dstsz == 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c == '+') {
			if (len - i < 3 || (hi = xtext_hexval(src[i + 1])) ==
			    -1 || (lo = xtext_hexval(src[i + 2])) == -1)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c < 32 || c > 126)
				return -1;
		} else if (!xtext_is_xchar(c))
			return -1;
		if (n + 1 >= dstsz)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return (ssize_t)n;
}

ssize_t
bw_xtext_encode(const char *src, char *dst, size_t dstsz)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 n = 0;
	unsigned char		 c;

	if (dstsz == 0)
		return -1;
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c < 32 || c > 126)
			return -1;
		if (xtext_is_xchar(c)) {
			if (n + 1 >= dstsz)
				return -1;
			dst[n++] = (char)c;
			continue;
		}
		if (n + 3 >= dstsz)
			return -1;
		dst[n++] = '+';
		dst[n++] = hex[c >> 4];
		dst[n++] = hex[c & 0x0f];
	}
	dst[n] = '\0';
	return (ssize_t)n;
}
