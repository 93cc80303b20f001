/*
 * Delivery status notifications (RFC 3464): the text of one DSN for one
 * message and the recipients that failed together.  A pure function of
 * its input, so that tests/check_sched.c can check the shape:
 *
 *   multipart/report; report-type=delivery-status
 *     1. text/plain          what happened, for a human
 *     2. message/delivery-status
 *                            per-message fields, one block per recipient
 *     3. text/rfc822-headers the original message's header block
 *
 * Trust: recipients, replies and headers come from the network (via smtpd
 * and deliverd).  Control characters in per-recipient fields are replaced
 * so that no input can add a header line; the header block is copied as
 * stored (CRLF lines) and cut at QSCHED_HEADERS_MAX by the caller.
 */
#include "bw_autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "queued.h"

struct qbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

static void
qbuf_add(struct qbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
qbuf_printf(struct qbuf *b, const char *fmt, ...)
{
	char	 tmp[2048];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	qbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
	    sizeof(tmp) - 1);
}

/* s without control bytes (they would break the header syntax). */
static const char *
qbounce_clean(char *dst, size_t dstsz, const char *s)
{
	size_t	 i;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] == 0x7f) ? ' ' : s[i];
	dst[i] = '\0';
	return dst;
}

static void
qbounce_date(char *dst, size_t dstsz, int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(dst, dstsz, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		strlcpy(dst, "Thu, 01 Jan 1970 00:00:00 +0000", dstsz);
}

/* A status code "5.x.y"; anything else becomes 5.0.0. */
static const char *
qbounce_status(const char *dsn)
{
	size_t	 i;

	if (dsn == NULL || dsn[0] != '5' || dsn[1] != '.')
		return "5.0.0";
	for (i = 2; dsn[i] != '\0'; i++)
		if ((dsn[i] < '0' || dsn[i] > '9') && dsn[i] != '.')
			return "5.0.0";
	return i > 2 && i < BW_DSN_CODE_MAX ? dsn : "5.0.0";
}

/* "250 ...", "550-5.1.1 ...": a reply code as a remote server sends it. */
static int
qbounce_is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-' ||
	    s[3] == '\0');
}

/* The whole DSN (header and body, CRLF lines), malloc'ed; NULL: no memory. */
char *
qbounce_build(const struct qbounce_in *in, size_t *lenp)
{
	struct qbuf	 b = { NULL, 0, 0, 0 };
	char		 date[64], arr[64], c1[BW_ADDR_MAX + 16];
	char		 c2[BW_REPLY_TEXT_MAX + 16], c3[BW_RELAY_TEXT_MAX + 16];
	const char	*host;
	size_t		 i;

	qbounce_date(date, sizeof(date), in->now);
	qbounce_date(arr, sizeof(arr), in->arrival);
	qbounce_clean(c3, sizeof(c3), in->hostname);
	qbounce_clean(c1, sizeof(c1), in->sender);
	qbuf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    c3);
	qbuf_printf(&b, "To: <%s>\r\n", c1);
	qbuf_printf(&b, "Subject: Undelivered Mail Returned to Sender\r\n");
	qbuf_printf(&b, "Date: %s\r\n", date);
	qbuf_printf(&b, "Message-ID: <%s.%s@%s>\r\n", in->boundary,
	    in->qid, c3);
	qbuf_printf(&b, "Auto-Submitted: auto-replied\r\n");
	qbuf_printf(&b, "MIME-Version: 1.0\r\n");
	qbuf_printf(&b, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n",
	    in->boundary);
	qbuf_printf(&b, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	/* 1: for a human */
	qbuf_printf(&b, "--%s\r\n", in->boundary);
	qbuf_printf(&b, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	qbuf_printf(&b, "This is the mail system at host %s.\r\n\r\n", c3);
	qbuf_printf(&b, "Your message (queue id %s) could not be delivered "
	    "to one or more\r\nrecipients. It has been returned to you "
	    "with this report.\r\n\r\n", in->qid);
	for (i = 0; i < in->nrcpt; i++) {
		qbounce_clean(c1, sizeof(c1), in->rcpts[i].rcpt);
		qbounce_clean(c2, sizeof(c2), in->rcpts[i].reply);
		if (in->rcpts[i].note != NULL)
			qbuf_printf(&b, "<%s>: %s (%s)\r\n", c1, c2,
			    in->rcpts[i].note);
		else
			qbuf_printf(&b, "<%s>: %s\r\n", c1, c2);
	}
	qbuf_printf(&b, "\r\n");

	/* 2: machine-readable */
	qbuf_printf(&b, "--%s\r\n", in->boundary);
	qbuf_printf(&b, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	qbuf_printf(&b, "Reporting-MTA: dns; %s\r\n", c3);
	qbuf_printf(&b, "X-Breakwater-Queue-ID: %s\r\n", in->qid);
	qbuf_printf(&b, "Arrival-Date: %s\r\n", arr);
	for (i = 0; i < in->nrcpt; i++) {
		qbounce_clean(c1, sizeof(c1), in->rcpts[i].rcpt);
		qbuf_printf(&b, "\r\nFinal-Recipient: rfc822; %s\r\n", c1);
		qbuf_printf(&b, "Action: failed\r\n");
		qbuf_printf(&b, "Status: %s\r\n",
		    qbounce_status(in->rcpts[i].dsn));
		qbounce_clean(c3, sizeof(c3), in->rcpts[i].relay);
		if (c3[0] != '\0') {
			/* host[addr]:port -> the host name */
			host = c3;
			c3[strcspn(c3, "[:")] = '\0';
			qbuf_printf(&b, "Remote-MTA: dns; %s\r\n", host);
		}
		/* only a remote server's own reply is an smtp diagnostic */
		qbounce_clean(c2, sizeof(c2), in->rcpts[i].reply);
		if (qbounce_is_smtp_reply(c2))
			qbuf_printf(&b, "Diagnostic-Code: smtp; %s\r\n", c2);
		qbuf_printf(&b, "Last-Attempt-Date: %s\r\n", date);
	}
	qbuf_printf(&b, "\r\n");

	/* 3: the original headers */
	qbuf_printf(&b, "--%s\r\n", in->boundary);
	qbuf_printf(&b, "Content-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\n");
	if (in->headers != NULL && in->headerslen > 0) {
		qbuf_add(&b, in->headers, in->headerslen);
		if (in->headerslen < 2 ||
		    memcmp(in->headers + in->headerslen - 2, "\r\n", 2) != 0)
			qbuf_add(&b, "\r\n", 2);
	}
	qbuf_printf(&b, "\r\n--%s--\r\n", in->boundary);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	*lenp = b.len;
	return b.p;
}
