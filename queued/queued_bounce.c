/*
 * Delivery status notifications (RFC 3464): the text of one DSN for one
 * message and the recipients it reports on together: failed (a bounce),
 * delayed (a delay warning) or relayed (a success DSN for NOTIFY=SUCCESS
 * where the next hop does not take over, RFC 3461 6.2.2).  A pure function
 * of its input, so that tests/check_sched.c can check the shape:
 *
 *   multipart/report; report-type=delivery-status
 *     1. text/plain          what happened, for a human
 *     2. message/delivery-status
 *                            per-message fields (Original-Envelope-Id from
 *                            ENVID), one block per recipient (Original-
 *                            Recipient from ORCPT)
 *     3. text/rfc822-headers the original message's header block, or
 *        message/rfc822      the whole message (RET=FULL on a failure)
 *
 * Trust: recipients, replies, DSN parameters and headers come from the
 * network (via smtpd and deliverd).  Control characters in per-recipient
 * fields are replaced so that no input can add a header line; the header
 * block and the message are copied as stored (CRLF lines), cut by the
 * caller (QSCHED_HEADERS_MAX, QSCHED_RETURN_FULL_MAX).
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

/* A status code "C.x.y" of class cls ('5', '4', '2'); else "C.0.0". */
static const char *
qbounce_status(const char *dsn, char cls)
{
	static const char *const generic[] = { "2.0.0", "4.0.0", "5.0.0" };
	const char	*g = generic[cls == '2' ? 0 : cls == '4' ? 1 : 2];
	size_t		 i;

	if (dsn == NULL || dsn[0] != cls || dsn[1] != '.')
		return g;
	for (i = 2; dsn[i] != '\0'; i++)
		if ((dsn[i] < '0' || dsn[i] > '9') && dsn[i] != '.')
			return g;
	return i > 2 && i < BW_DSN_CODE_MAX ? dsn : g;
}

static const struct qbounce_kind {
	const char	*action;	/* RFC 3464 Action */
	char		 cls;		/* of the Status */
	const char	*subject;
	const char	*intro;		/* after "Your message (queue id) " */
	const char	*headers;	/* Content-Description of part 3 */
} qbounce_kinds[] = {
	[QBOUNCE_FAILED] = { "failed", '5',
	    "Undelivered Mail Returned to Sender",
	    "could not be delivered to one or "
	    "more\r\nrecipients. It has been returned to you with this "
	    "report.\r\n", "Undelivered Message Headers" },
	[QBOUNCE_DELAYED] = { "delayed", '4',
	    "Delayed Mail (still being retried)",
	    "could not be delivered yet to one "
	    "or more\r\nrecipients. It stays in the queue and delivery will "
	    "be retried;\r\nyou need not send it again. This is a warning "
	    "only.\r\n", "Delayed Message Headers" },
	[QBOUNCE_RELAYED] = { "relayed", '2',
	    "Successful Mail Delivery Report",
	    "was passed on to the next mail "
	    "system for\r\nthe recipients below. That system does not send "
	    "delivery notifications,\r\nso this is the last report you "
	    "will get for them.\r\n", "Message Headers" },
	[QBOUNCE_DELIVERED] = { "delivered", '2',
	    "Successful Mail Delivery Report",
	    "was delivered to the recipients "
	    "below.\r\n", "Message Headers" },
};
#define QBOUNCE_NKINDS	(sizeof(qbounce_kinds) / sizeof(qbounce_kinds[0]))

static const struct qbounce_kind *
qbounce_kind(int action)
{
	if (action < 0 || (size_t)action >= QBOUNCE_NKINDS)
		action = QBOUNCE_FAILED;
	return &qbounce_kinds[action];
}

/* The report's kind: a failure if any, else a delay if any, else success. */
static const struct qbounce_kind *
qbounce_report_kind(const struct qbounce_in *in)
{
	int	 worst = QBOUNCE_NKINDS, a;
	size_t	 i;

	for (i = 0; i < in->nrcpt; i++) {
		a = in->rcpts[i].action;
		if (a < 0 || (size_t)a >= QBOUNCE_NKINDS)
			a = QBOUNCE_FAILED;
		if (a < worst)
			worst = a;
	}
	return qbounce_kind(worst == (int)QBOUNCE_NKINDS ? QBOUNCE_FAILED :
	    worst);
}

/* "250 ...", "550-5.1.1 ...": a reply code as a remote server sends it. */
static int
qbounce_is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-' ||
	    s[3] == '\0');
}

/* Copy a block of CRLF lines, ending it with a CRLF. */
static void
qbounce_add_lines(struct qbuf *b, const char *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
	qbuf_add(b, p, len);
	if (len < 2 || memcmp(p + len - 2, "\r\n", 2) != 0)
		qbuf_add(b, "\r\n", 2);
}

/* The whole DSN (header and body, CRLF lines), malloc'ed; NULL: no memory. */
char *
qbounce_build(const struct qbounce_in *in, size_t *lenp)
{
	const struct qbounce_kind *k = qbounce_report_kind(in), *rk;
	struct qbuf	 b = { NULL, 0, 0, 0 };
	char		 date[64], arr[64], until[64], c1[BW_ADDR_MAX + 16];
	char		 c2[BW_REPLY_TEXT_MAX + 16], c3[BW_RELAY_TEXT_MAX + 16];
	char		 c4[BW_DSN_ORCPT_MAX + 16];
	const char	*host;
	size_t		 i;

	qbounce_date(date, sizeof(date), in->now);
	qbounce_date(arr, sizeof(arr), in->arrival);
	qbounce_clean(c3, sizeof(c3), in->hostname);
	qbounce_clean(c1, sizeof(c1), in->sender);
	qbuf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    c3);
	qbuf_printf(&b, "To: <%s>\r\n", c1);
	qbuf_printf(&b, "Subject: %s\r\n", k->subject);
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
	qbuf_printf(&b, "Your message (queue id %s) %s", in->qid, k->intro);
	qbuf_printf(&b, "\r\n");
	for (i = 0; i < in->nrcpt; i++) {
		rk = qbounce_kind(in->rcpts[i].action);
		qbounce_clean(c1, sizeof(c1), in->rcpts[i].rcpt);
		qbounce_clean(c2, sizeof(c2), in->rcpts[i].reply);
		if (in->rcpts[i].note != NULL)
			qbuf_printf(&b, "<%s>: %s%s%s (%s)\r\n", c1,
			    rk != k ? rk->action : "", rk != k ? ": " : "",
			    c2, in->rcpts[i].note);
		else
			qbuf_printf(&b, "<%s>: %s%s%s\r\n", c1,
			    rk != k ? rk->action : "", rk != k ? ": " : "",
			    c2);
	}
	qbuf_printf(&b, "\r\n");

	/* 2: machine-readable */
	qbuf_printf(&b, "--%s\r\n", in->boundary);
	qbuf_printf(&b, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	if (in->envid != NULL && in->envid[0] != '\0')
		qbuf_printf(&b, "Original-Envelope-Id: %s\r\n",
		    qbounce_clean(c4, sizeof(c4), in->envid));
	qbuf_printf(&b, "Reporting-MTA: dns; %s\r\n", c3);
	qbuf_printf(&b, "X-Breakwater-Queue-ID: %s\r\n", in->qid);
	qbuf_printf(&b, "Arrival-Date: %s\r\n", arr);
	for (i = 0; i < in->nrcpt; i++) {
		rk = qbounce_kind(in->rcpts[i].action);
		qbuf_printf(&b, "\r\n");
		if (in->rcpts[i].orcpt != NULL && in->rcpts[i].orcpt[0] != '\0')
			qbuf_printf(&b, "Original-Recipient: %s\r\n",
			    qbounce_clean(c4, sizeof(c4), in->rcpts[i].orcpt));
		qbounce_clean(c1, sizeof(c1), in->rcpts[i].rcpt);
		qbuf_printf(&b, "Final-Recipient: rfc822; %s\r\n", c1);
		qbuf_printf(&b, "Action: %s\r\n", rk->action);
		qbuf_printf(&b, "Status: %s\r\n",
		    qbounce_status(in->rcpts[i].dsn, rk->cls));
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
		if (in->rcpts[i].action == QBOUNCE_DELAYED &&
		    in->rcpts[i].retry_until > 0) {
			qbounce_date(until, sizeof(until),
			    in->rcpts[i].retry_until);
			qbuf_printf(&b, "Will-Retry-Until: %s\r\n", until);
		}
	}
	qbuf_printf(&b, "\r\n");

	/* 3: the original message, or its headers */
	qbuf_printf(&b, "--%s\r\n", in->boundary);
	if (in->body != NULL) {
		qbuf_printf(&b, "Content-Description: Undelivered Message\r\n"
		    "Content-Type: message/rfc822\r\n\r\n");
		qbounce_add_lines(&b, in->body, in->bodylen);
	} else {
		qbuf_printf(&b, "Content-Description: %s\r\n"
		    "Content-Type: text/rfc822-headers\r\n\r\n", k->headers);
		qbounce_add_lines(&b, in->headers, in->headerslen);
	}
	qbuf_printf(&b, "\r\n--%s--\r\n", in->boundary);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	*lenp = b.len;
	return b.p;
}
