/*
 * Reputation score of a connecting address (issue 11, "Reputation"): a
 * number from -10.0 (certainly bad) to +10.0 (certainly good), or none
 * when nothing answered in time, combined from DNS lookups that smtpd
 * makes through dnscached.  This file only combines answers; it does not
 * look anything up and keeps no state.
 *
 * Two kinds of source:
 *
 * - a reputation zone answers an A record that encodes a score:
 *   127.S.I.F is (S == 0 ? + : -) I.F, with S 0 or 1, I 0-10, F 0-9
 *   (10.0 at most): 127.1.3.5 is -3.5, 127.0.10.0 is +10.0.  A zone
 *   that has no record for the address (NXDOMAIN) knows nothing of it.
 * - a DNS list (DNSBL or DNSWL, RFC 5782) answers 127.0.0.2 or above
 *   when the address is listed; a list may count only some of its
 *   answers (a return-code mask, or a set of exact addresses anywhere
 *   in 127.0.0.0/8, such as DNSWL's 127.0.X.Y).  Its weight is added
 *   when listed: negative for a block list, positive for an allow list.
 *
 * The score is the weighted mean of the zones that gave a score (0 when
 * none did), plus the weights of the lists that list the address,
 * clamped to the range.  It is none when no source answered at all
 * (every lookup timed out or failed) -- a group can match "none", so a
 * resolver outage neither blocks nor trusts anyone by accident.
 *
 * Hostile answers: an A record outside 127.0.0.0/8 (a wildcard or a
 * hijacked zone), a score that does not decode, and RFC 5782's error
 * answers 127.255.255.0/24 (e.g. "query refused" for public resolvers)
 * count as no answer from that source, never as a listing.
 */
#ifndef SMTPD_SCORE_H
#define SMTPD_SCORE_H

#include <stddef.h>
#include <stdint.h>

#define SMTPD_SCORE_MIN		(-100)	/* tenths: -10.0 */
#define SMTPD_SCORE_MAX		100	/* tenths: +10.0 */
#define SMTPD_SCORE_ANSWERS_MAX	8	/* A records looked at per source */

enum smtpd_rep_kind {
	SMTPD_REP_ZONE,		/* A record encodes a score */
	SMTPD_REP_LIST,		/* listed or not; weight when listed */
};

enum smtpd_rep_state {
	SMTPD_REP_FAILED,	/* timed out, SERVFAIL, refused, no budget */
	SMTPD_REP_NOTFOUND,	/* NXDOMAIN or no A record: not listed */
	SMTPD_REP_FOUND,	/* A records in answers[] */
};

struct smtpd_rep_source {
	enum smtpd_rep_kind	 kind;
	/* zone: weight in the mean (>0); list: tenths added if listed */
	int			 weight;
	/* list: the answers that count, as a mask on the last octet's
	 * bits (0: any 127.0.0.2 or above) */
	uint8_t			 list_mask;
	/* list: or exactly these (host order, in 127.0.0.0/8); nreturns 0:
	 * list_mask decides */
	const uint32_t		*returns;
	size_t			 nreturns;
	enum smtpd_rep_state	 state;
	uint32_t		 answers[SMTPD_SCORE_ANSWERS_MAX];	/* host
						   order */
	size_t			 nanswers;
};

struct smtpd_score {
	int	 known;		/* 0: none (nothing answered) */
	int	 tenths;	/* SMTPD_SCORE_MIN..SMTPD_SCORE_MAX */
	int	 listed;	/* lists that listed the address */
	int	 ignored;	/* answers that were hostile or errors */
};

/* Decode a reputation zone's A record; 0, or -1 if it is no score. */
int	 smtpd_score_decode(uint32_t a, int *tenths);
/* Combine the sources' answers as described above. */
void	 smtpd_score_combine(const struct smtpd_rep_source *src, size_t n,
	    struct smtpd_score *out);
/* "-3.5", "+10.0" or "none", for log lines and Received: comments. */
const char *smtpd_score_text(const struct smtpd_score *, char *buf,
	    size_t bufsz);

#endif
