/*
 * A streaming scanner of a message's header section (RFC 5322 2.2, 3.6):
 * it counts the Received: fields, for the hop limit that stops mail loops
 * (RFC 5321 6.3).  Pure code, no I/O and no libevent, so that it can be
 * unit-tested on its own.
 *
 * Input: the message text as the client sends it after dot-unstuffing,
 * CRLF lines, fed in pieces split anywhere (a field name may straddle two
 * reads).  Only the header section counts: it ends at the first empty
 * line, or at the first line that is neither a field ("name:" with
 * optional blanks before the colon, RFC 5322 4.5.3) nor the continuation
 * of one (a folded line starts with a blank).  "Received:" in the body or
 * inside a folded field is not counted.  State is a few integers, whatever
 * the input; once the header section has ended, feeding costs nothing.
 */
#ifndef SMTPD_HDRSCAN_H
#define SMTPD_HDRSCAN_H

#include <stddef.h>

enum smtp_hdrscan_state {
	SMTP_HS_BOL = 0,	/* at the start of a line */
	SMTP_HS_NAME,		/* inside a field name */
	SMTP_HS_BLANK,		/* blanks between the name and the colon */
	SMTP_HS_VALUE,		/* the rest of a field line */
	SMTP_HS_CR,		/* a CR at the start of a line */
	SMTP_HS_DONE,		/* the header section has ended */
};

struct smtp_hdrscan {
	enum smtp_hdrscan_state	 state;
	unsigned int		 namelen;	/* saturates past "Received" */
	int			 match;		/* the name so far is a prefix
						   of "Received" */
	int			 infield;	/* a field has been seen */
	unsigned int		 received;	/* Received: fields so far */
};

void	 smtp_hdrscan_init(struct smtp_hdrscan *);
/* Scan the next len bytes of the message. */
void	 smtp_hdrscan_feed(struct smtp_hdrscan *, const void *, size_t len);
/* 1 once the header section has ended (feeding more changes nothing). */
int	 smtp_hdrscan_done(const struct smtp_hdrscan *);

#endif
