/*
 * SMTP replies as a client sees them: the multi-line reply parser, the
 * enhanced status code (RFC 3463), EHLO keywords, the status a reply means
 * for a recipient, and dot-stuffing of the body.  Pure functions, no I/O:
 * unit-tested by tests/check_deliver.c.
 *
 * Trust: none.  Reply lines come from remote servers; every line is checked
 * (three digits, a separator of ' ' or '-', the same code on every line of
 * a reply, at most DLV_REPLY_LINES_MAX lines) and text is cut to
 * BW_REPLY_TEXT_MAX.  The caller bounds the line length (DLV_REPLY_LINE_MAX).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "util.h"
#include "deliverd.h"

/* Start a new reply. */
void
dlv_reply_init(struct dlv_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* Append text to the reply's log text, cut to its size. */
static void
dlv_reply_append(struct dlv_reply *r, const char *s, size_t len)
{
	size_t	 have = strlen(r->text), i;

	for (i = 0; i < len && have + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)s[i];

		r->text[have++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	r->text[have] = '\0';
}

/* "x.y.z" at the start of s (class digit cls), copied to enh; else "". */
static void
dlv_reply_enh(struct dlv_reply *r, const char *s, size_t len, int cls)
{
	size_t	 i = 0, n;
	int	 part;

	r->enh[0] = '\0';
	if (len < 5 || s[0] != '0' + cls || s[1] != '.')
		return;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && isdigit((unsigned char)s[i]) && n < 3;
		    i++, n++)
			;
		if (n == 0)
			return;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return;
	if (i >= sizeof(r->enh))
		return;
	memcpy(r->enh, s, i);
	r->enh[i] = '\0';
}

/*
 * Feed one line (without CRLF).  Returns DLV_REPLY_MORE after a
 * continuation line, DLV_REPLY_DONE when the reply is complete, and
 * DLV_REPLY_BAD for a malformed line or reply.
 */
int
dlv_reply_feed(struct dlv_reply *r, const char *line, size_t len)
{
	int	 code, i;

	if (r->done || len < 3)
		return DLV_REPLY_BAD;
	for (i = 0; i < 3; i++)
		if (!isdigit((unsigned char)line[i]))
			return DLV_REPLY_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (line[0] < '2' || line[0] > '5')
		return DLV_REPLY_BAD;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return DLV_REPLY_BAD;
	if (r->nlines > 0 && code != r->code)
		return DLV_REPLY_BAD;
	if (++r->nlines > DLV_REPLY_LINES_MAX)
		return DLV_REPLY_BAD;
	if (r->nlines == 1) {
		r->code = code;
		dlv_reply_append(r, line, 3);
		if (len > 4) {
			dlv_reply_enh(r, line + 4, len - 4, line[0] - '0');
			dlv_reply_append(r, " ", 1);
			dlv_reply_append(r, line + 4, len - 4);
		}
	} else if (len > 4) {
		dlv_reply_append(r, " ", 1);
		dlv_reply_append(r, line + 4, len - 4);
	}
	if (len > 3 && line[3] == '-')
		return DLV_REPLY_MORE;
	r->done = 1;
	return DLV_REPLY_DONE;
}

/* Note the extension an EHLO reply line announces. */
void
dlv_ehlo_line(struct dlv_ext *e, const char *line, size_t len)
{
	char		 kw[32], arg[32];
	size_t		 i, n;
	const char	*p;

	if (len <= 4)
		return;
	p = line + 4;
	len -= 4;
	for (i = 0, n = 0; i < len && p[i] != ' ' && n + 1 < sizeof(kw); i++)
		kw[n++] = p[i];
	kw[n] = '\0';
	if (i < len && p[i] != ' ')
		return;			/* keyword too long: not one we know */
	while (i < len && p[i] == ' ')
		i++;
	for (n = 0; i < len && p[i] != ' ' && n + 1 < sizeof(arg); i++)
		arg[n++] = p[i];
	arg[n] = '\0';

	if (strcasecmp(kw, "PIPELINING") == 0)
		e->pipelining = 1;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		e->eightbitmime = 1;
	else if (strcasecmp(kw, "STARTTLS") == 0)
		e->starttls = 1;
	else if (strcasecmp(kw, "ENHANCEDSTATUSCODES") == 0)
		e->enhanced = 1;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		e->smtputf8 = 1;
	else if (strcasecmp(kw, "CHUNKING") == 0)
		e->chunking = 1;
	else if (strcasecmp(kw, "BINARYMIME") == 0)
		e->binarymime = 1;
	else if (strcasecmp(kw, "DSN") == 0)
		e->dsn = 1;
	else if (strcasecmp(kw, "SIZE") == 0) {
		char			*end;
		unsigned long long	 v;

		e->size = 1;
		e->size_max = 0;
		if (arg[0] != '\0' && isdigit((unsigned char)arg[0])) {
			v = strtoull(arg, &end, 10);
			if (*end == '\0')
				e->size_max = v;
		}
	}
}

/* 2xx delivered, 4xx temporary, anything else permanent. */
int
dlv_reply_status(const struct dlv_reply *r)
{
	if (r->code >= 200 && r->code < 300)
		return BW_DLV_DELIVERED;
	if (r->code >= 400 && r->code < 500)
		return BW_DLV_TEMPFAIL;
	return BW_DLV_PERMFAIL;
}

/* The reply's enhanced code, or the class's generic one. */
void
dlv_reply_dsn(const struct dlv_reply *r, char *dst, size_t dstsz)
{
	if (r->enh[0] != '\0') {
		strlcpy(dst, r->enh, dstsz);
		return;
	}
	switch (dlv_reply_status(r)) {
	case BW_DLV_DELIVERED:
		strlcpy(dst, "2.0.0", dstsz);
		break;
	case BW_DLV_TEMPFAIL:
		strlcpy(dst, "4.0.0", dstsz);
		break;
	default:
		strlcpy(dst, "5.0.0", dstsz);
		break;
	}
}

/*
 * Copy body bytes to out, doubling a '.' that starts a line (RFC 5321
 * 4.5.2).  *bol says whether in starts at the beginning of a line, and is
 * updated for the next chunk.  0, or -1 when out cannot grow.  With out
 * NULL nothing is copied: 1 as soon as a line starts with '.' (the body
 * needs stuffing), else 0.
 */
int
dlv_dotstuff(struct evbuffer *out, const char *in, size_t len, int *bol)
{
	const char	*nl;
	size_t		 start = 0, i = 0;

	/* line by line with memchr: bodies are long, dots at line starts
	 * rare */
	while (i < len) {
		if (*bol && in[i] == '.') {
			if (out == NULL)
				return 1;
			if (evbuffer_add(out, in + start, i - start) == -1 ||
			    evbuffer_add(out, ".", 1) == -1)
				return -1;
			start = i;
		}
		if ((nl = memchr(in + i, '\n', len - i)) == NULL) {
			*bol = 0;
			break;
		}
		i = (size_t)(nl - in) + 1;
		*bol = 1;
	}
	if (out != NULL && evbuffer_add(out, in + start, len - start) == -1)
		return -1;
	return 0;
}
