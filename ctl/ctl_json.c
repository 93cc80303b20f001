/*
 * Streaming JSON writer used by every --json output of controld and bwctl.
 *
 * Input trusted: none of the strings.  Sender addresses, HELO names and
 * remote replies come from the Internet; each is escaped here.  Valid UTF-8
 * passes through, any other byte >= 0x80 becomes \u00XX, so the document is
 * always valid UTF-8 and valid JSON.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "ctl_json.h"

/* Length of the valid UTF-8 sequence at s (1..4), 0 if not valid. */
static size_t
ctl_json_utf8_len(const unsigned char *s)
{
	uint32_t	 cp;
	size_t		 n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	/* A NUL ends the string and fails the continuation test too. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values beyond Unicode. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void
ctl_json_quote(struct evbuffer *out, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 run, n;

	evbuffer_add(out, "\"", 1);
	while (*s != '\0') {
		/* Copy the longest run that needs no escaping at once. */
		for (run = 0; s[run] >= 0x20 && s[run] < 0x7f &&
		    s[run] != '"' && s[run] != '\\'; run++)
			;
		if (run > 0) {
			evbuffer_add(out, s, run);
			s += run;
			continue;
		}
		switch (*s) {
		case '"':
			evbuffer_add(out, "\\\"", 2);
			break;
		case '\\':
			evbuffer_add(out, "\\\\", 2);
			break;
		case '\n':
			evbuffer_add(out, "\\n", 2);
			break;
		case '\r':
			evbuffer_add(out, "\\r", 2);
			break;
		case '\t':
			evbuffer_add(out, "\\t", 2);
			break;
		default:
			if (*s >= 0x80 && (n = ctl_json_utf8_len(s)) > 0) {
				evbuffer_add(out, s, n);
				s += n;
				continue;
			}
			evbuffer_add_printf(out, "\\u%04x", *s);
			break;
		}
		s++;
	}
	evbuffer_add(out, "\"", 1);
}

/* Comma, key and colon before a value; sanity checks on the nesting. */
static void
ctl_json_prefix(struct ctl_json *j, const char *key)
{
	if (j->depth > 0 && j->nitems[j->depth - 1]++ > 0)
		evbuffer_add(j->out, ",", 1);
	if (key != NULL) {
		ctl_json_quote(j->out, key);
		evbuffer_add(j->out, ":", 1);
	}
}

void
ctl_json_init(struct ctl_json *j, struct evbuffer *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void
ctl_json_open(struct ctl_json *j, const char *key, const char *brace)
{
	if (j->depth >= CTL_JSON_DEPTH_MAX)
		fatalx("ctl_json: nesting deeper than %d", CTL_JSON_DEPTH_MAX);
	ctl_json_prefix(j, key);
	evbuffer_add(j->out, brace, 1);
	j->nitems[j->depth++] = 0;
}

static void
ctl_json_close(struct ctl_json *j, const char *brace)
{
	if (j->depth <= 0)
		fatalx("ctl_json: close without open");
	j->depth--;
	evbuffer_add(j->out, brace, 1);
}

void
ctl_json_obj_open(struct ctl_json *j, const char *key)
{
	ctl_json_open(j, key, "{");
}

void
ctl_json_obj_close(struct ctl_json *j)
{
	ctl_json_close(j, "}");
}

void
ctl_json_arr_open(struct ctl_json *j, const char *key)
{
	ctl_json_open(j, key, "[");
}

void
ctl_json_arr_close(struct ctl_json *j)
{
	ctl_json_close(j, "]");
}

void
ctl_json_str(struct ctl_json *j, const char *key, const char *val)
{
	ctl_json_prefix(j, key);
	ctl_json_quote(j->out, val);
}

void
ctl_json_int(struct ctl_json *j, const char *key, int64_t val)
{
	ctl_json_prefix(j, key);
	evbuffer_add_printf(j->out, "%" PRId64, val);
}

void
ctl_json_uint(struct ctl_json *j, const char *key, uint64_t val)
{
	ctl_json_prefix(j, key);
	evbuffer_add_printf(j->out, "%" PRIu64, val);
}

void
ctl_json_bool(struct ctl_json *j, const char *key, int val)
{
	ctl_json_prefix(j, key);
	evbuffer_add_printf(j->out, "%s", val ? "true" : "false");
}

void
ctl_json_null(struct ctl_json *j, const char *key)
{
	ctl_json_prefix(j, key);
	evbuffer_add(j->out, "null", 4);
}

void
ctl_json_end(struct ctl_json *j)
{
	if (j->depth != 0)
		fatalx("ctl_json: document ends at depth %d", j->depth);
	evbuffer_add(j->out, "\n", 1);
}
