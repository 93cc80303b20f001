/*
 * Escaping for the monitor's HTML: see ctl_html.h.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "ctl_html.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
ctl_html_utf8_len(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void
ctl_html_esc_n(struct evbuffer *b, const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, run = 0, len;

	while (i < n) {
		const char	*e = NULL;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e == NULL && s[i] >= 0x20 && s[i] != 0x7f &&
		    (len = ctl_html_utf8_len(s + i, n - i)) > 0) {
			i += len;
			continue;
		}
		if (e == NULL && (s[i] == '\t' || s[i] == '\n')) {
			i++;
			continue;
		}
		evbuffer_add(b, s + run, i - run);
		if (e != NULL)
			evbuffer_add(b, e, strlen(e));
		else
			evbuffer_add_printf(b, "&#x%02X;", s[i]);
		run = ++i;
	}
	evbuffer_add(b, s + run, i - run);
}

void
ctl_html_esc(struct evbuffer *b, const char *s)
{
	ctl_html_esc_n(b, s, strlen(s));
}

void
ctl_html_url(struct evbuffer *b, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;

	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '_' || *s == '~')
			evbuffer_add(b, s, 1);
		else
			evbuffer_add_printf(b, "%%%02X", *s);
	}
}
