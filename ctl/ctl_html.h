/*
 * Escaping for the monitor's HTML (pages, tables, inline SVG).  Every
 * string that reaches a page goes through one of these: peer text that
 * reached the queue (a reply, a sender address, a HELO name) can never
 * open a tag, an attribute or a URL of its own.
 *
 * Text and attribute values: & < > " ' become entities; control bytes
 * (but tab and newline) and bytes that are not valid UTF-8 become &#xXX;
 * (read as Latin-1, as ctl_json does with \u00XX), so a page is always
 * valid UTF-8.  URL components: everything but unreserved characters is
 * percent-encoded.
 */
#ifndef CTL_HTML_H
#define CTL_HTML_H

#include <stddef.h>

struct evbuffer;

/* Text or a quoted attribute value. */
void	ctl_html_esc(struct evbuffer *, const char *s);
/* The first n bytes of s (s need not be terminated). */
void	ctl_html_esc_n(struct evbuffer *, const char *s, size_t n);
/* A query value or path segment: RFC 3986 unreserved kept, the rest %XX. */
void	ctl_html_url(struct evbuffer *, const char *s);

#endif
