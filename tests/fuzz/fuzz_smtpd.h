/*
 * The seam between the message-content code of smtpd (smtpd_data.c:
 * DATA and BDAT) and the rest of smtpd, for fuzz_smtp_data and
 * fuzz_smtp_bdat.  fuzz_smtpd.c defines the functions of smtpd_queue.c
 * and smtpd_session.c that smtpd_data.c calls, so that the linker takes
 * only smtpd_data.o from libsmtpd.a and the real DATA and BDAT code runs
 * on a session whose input is a bufferevent without a socket.  What would
 * go to queued (MSG_DATA, MSG_COMMIT, MSG_ABORT) and the replies are
 * recorded in a struct fuzz_run.
 *
 * If smtpd_data.c starts calling another function of those two files,
 * the link fails with a duplicate symbol: add its stand-in here.
 */
#ifndef BW_FUZZ_SMTPD_H
#define BW_FUZZ_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "config.h"
#include "smtpd.h"

#define FUZZ_REPLY_MAX	512	/* one reply as recorded */

/* What one session gave. */
struct fuzz_run {
	struct evbuffer	*out;		/* MSG_DATA bytes, Received: first */
	struct evbuffer	*replies;	/* every reply's code, "250 554 " */
	size_t		 hdrlen;	/* of the Received: header */
	int		 commits;
	int		 aborts;
	int		 nreplies;
	char		 reply[FUZZ_REPLY_MAX];	/* the last one */
};

/* One session in the DATA phase's start state, as after MAIL and RCPT. */
struct fuzz_session {
	struct event_base	*base;
	struct smtpd_env	*env;
	struct smtpd_session	*s;
	struct fuzz_run		*run;
};

/* smtpd_max_text_line, message_size_limit and hopcount_limit choices. */
void	 fuzz_smtpd_limits(struct bw_config *, uint8_t c1, uint8_t c2);
void	 fuzz_session_new(struct fuzz_session *, struct bw_config *,
	    struct fuzz_run *);
void	 fuzz_session_free(struct fuzz_session *);
/* Bytes arriving from the client (the input's end is frozen). */
void	 fuzz_session_input(struct fuzz_session *, const void *, size_t);
void	 fuzz_run_free(struct fuzz_run *);
/* Both runs gave the same replies and, if the message was taken, bytes. */
void	 fuzz_run_same(const struct fuzz_run *, const struct fuzz_run *);

/*
 * The header section's Received: fields, stated plainly (RFC 5322 2.2,
 * 3.6): line by line, it ends at a line that starts with CR (the empty
 * line) or at any line that is neither "name [blanks]:" nor the
 * continuation (leading blank) of a field.  A last line without LF
 * counts once it has its colon, as the scanner counts at the colon.
 */
unsigned int fuzz_received(const unsigned char *, size_t);
/* The scanner itself (smtpd_hdrscan.c): same count whole and in pieces. */
void	 fuzz_hdrscan(const unsigned char *, size_t, uint32_t seed);

#endif
