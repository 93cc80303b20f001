/*
 * Counting Received: fields in the header section of a message as it
 * streams by (see smtpd_hdrscan.h).  The input is hostile body text; the
 * scanner keeps no copy of it, and a byte it does not expect ends the
 * header section rather than the scan: a malformed header block only
 * counts fewer fields, it never makes the scanner read out of bounds or
 * run longer than the input.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <string.h>

#include "smtpd_hdrscan.h"

#define HS_RECEIVED	"received"
#define HS_RECEIVED_LEN	(sizeof(HS_RECEIVED) - 1)

void
smtp_hdrscan_init(struct smtp_hdrscan *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->state = SMTP_HS_BOL;
}

int
smtp_hdrscan_done(const struct smtp_hdrscan *hs)
{
	return hs->state == SMTP_HS_DONE;
}

/* RFC 5322 3.6.8 ftext: printable US-ASCII except the colon. */
static int
hs_is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* One more byte of a field name. */
static void
hs_name_byte(struct smtp_hdrscan *hs, unsigned char c)
{
	if (hs->namelen < HS_RECEIVED_LEN)
		hs->match = hs->match &&
		    tolower(c) == HS_RECEIVED[hs->namelen];
	else
		hs->match = 0;
	if (hs->namelen <= HS_RECEIVED_LEN)
		hs->namelen++;
}

/* The colon after a field name: the line is a field. */
static void
hs_field_end(struct smtp_hdrscan *hs)
{
	if (hs->match && hs->namelen == HS_RECEIVED_LEN)
		hs->received++;
	hs->infield = 1;
	hs->state = SMTP_HS_VALUE;
}

/* The first byte of a line. */
static void
hs_line_start(struct smtp_hdrscan *hs, unsigned char c)
{
	if (c == ' ' || c == '\t') {
		/* a folded continuation, unless there is nothing to continue */
		hs->state = hs->infield ? SMTP_HS_VALUE : SMTP_HS_DONE;
	} else if (c == '\r')
		hs->state = SMTP_HS_CR;
	else if (hs_is_ftext(c)) {
		hs->namelen = 0;
		hs->match = 1;
		hs_name_byte(hs, c);
		hs->state = SMTP_HS_NAME;
	} else
		hs->state = SMTP_HS_DONE;	/* bare LF, colon, 8-bit, ... */
}

void
smtp_hdrscan_feed(struct smtp_hdrscan *hs, const void *buf, size_t len)
{
	const unsigned char	*p = buf, *end = p + len, *nl;
	unsigned char		 c;

	while (p < end && hs->state != SMTP_HS_DONE) {
		if (hs->state == SMTP_HS_VALUE) {
			/* the rest of the line says nothing we count */
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return;
			p = nl + 1;
			hs->state = SMTP_HS_BOL;
			continue;
		}
		c = *p++;
		switch (hs->state) {
		case SMTP_HS_BOL:
			hs_line_start(hs, c);
			break;
		case SMTP_HS_NAME:
			if (c == ':')
				hs_field_end(hs);
			else if (hs_is_ftext(c))
				hs_name_byte(hs, c);
			else if (c == ' ' || c == '\t')
				hs->state = SMTP_HS_BLANK;
			else
				hs->state = SMTP_HS_DONE;	/* not a field */
			break;
		case SMTP_HS_BLANK:
			if (c == ':')
				hs_field_end(hs);
			else if (c != ' ' && c != '\t')
				hs->state = SMTP_HS_DONE;	/* "From x" */
			break;
		case SMTP_HS_CR:
			/* CRLF alone: the empty line that ends the header */
			hs->state = SMTP_HS_DONE;
			break;
		default:
			hs->state = SMTP_HS_DONE;
			break;
		}
	}
}
