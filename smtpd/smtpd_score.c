/*
 * Reputation score combiner (see smtpd_score.h for the rules).  Integer
 * tenths throughout, so that the same answers always give the same score
 * and the log shows exactly what was compared.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "smtpd_score.h"

#define SCORE_LOOPBACK_NET	0x7f000000u	/* 127.0.0.0/8 */
#define SCORE_LOOPBACK_MASK	0xff000000u
#define SCORE_ERROR_NET		0x7fffff00u	/* 127.255.255.0/24: RFC 5782
						   error answers */
#define SCORE_ERROR_MASK	0xffffff00u
#define SCORE_LIST_NET		0x7f000000u	/* 127.0.0.0/24: list codes */
#define SCORE_LIST_MASK		0xffffff00u
#define SCORE_LIST_FIRST	2		/* 127.0.0.2 (RFC 5782 5) */

int
smtpd_score_decode(uint32_t a, int *tenths)
{
	unsigned int	 sign = (a >> 16) & 0xff, whole = (a >> 8) & 0xff;
	unsigned int	 frac = a & 0xff;
	int		 v;

	if ((a & SCORE_LOOPBACK_MASK) != SCORE_LOOPBACK_NET ||
	    (a & SCORE_ERROR_MASK) == SCORE_ERROR_NET)
		return -1;
	if (sign > 1 || whole > 10 || frac > 9 || (whole == 10 && frac > 0))
		return -1;
	v = (int)(whole * 10 + frac);
	*tenths = sign ? -v : v;
	return 0;
}

/* 1 if a is one of the list's "returns" addresses. */
static int
score_list_returns(const struct smtpd_rep_source *s, uint32_t a)
{
	size_t	 i;

	for (i = 0; i < s->nreturns; i++)
		if (s->returns[i] == a)
			return 1;
	return 0;
}

/* 1 if one of a list's answers lists the address, -1 if none is a
 * usable answer, 0 if usable but not listed (masked out). */
static int
score_list_hit(const struct smtpd_rep_source *s, int *ignored)
{
	size_t	 i;
	int	 usable = 0;

	for (i = 0; i < s->nanswers && i < SMTPD_SCORE_ANSWERS_MAX; i++) {
		uint32_t	 a = s->answers[i];
		unsigned int	 code = a & 0xff;

		if (s->nreturns > 0) {
			/* exact answers: any other in 127/8 is "not these" */
			if ((a & SCORE_LOOPBACK_MASK) != SCORE_LOOPBACK_NET ||
			    (a & SCORE_ERROR_MASK) == SCORE_ERROR_NET) {
				(*ignored)++;
				continue;
			}
			usable = 1;
			if (score_list_returns(s, a))
				return 1;
			continue;
		}
		if ((a & SCORE_LIST_MASK) != SCORE_LIST_NET ||
		    code < SCORE_LIST_FIRST) {
			(*ignored)++;
			continue;
		}
		usable = 1;
		if (s->list_mask == 0 || (code & s->list_mask) != 0)
			return 1;
	}
	return usable ? 0 : -1;
}

void
smtpd_score_combine(const struct smtpd_rep_source *src, size_t n,
    struct smtpd_score *out)
{
	long	 wsum = 0, zsum = 0, lists = 0;
	size_t	 i, j;
	int	 answered = 0, t, hit;

	out->known = 0;
	out->tenths = 0;
	out->listed = 0;
	out->ignored = 0;
	for (i = 0; i < n; i++) {
		const struct smtpd_rep_source *s = &src[i];

		if (s->state == SMTPD_REP_FAILED)
			continue;
		if (s->state == SMTPD_REP_NOTFOUND) {
			answered = 1;
			continue;
		}
		if (s->kind == SMTPD_REP_ZONE) {
			/* the first answer that decodes; a zone gives one */
			for (j = 0; j < s->nanswers &&
			    j < SMTPD_SCORE_ANSWERS_MAX; j++) {
				if (smtpd_score_decode(s->answers[j], &t) ==
				    0)
					break;
				out->ignored++;
			}
			if (j == s->nanswers || j == SMTPD_SCORE_ANSWERS_MAX ||
			    s->weight <= 0)
				continue;
			answered = 1;
			zsum += (long)t * s->weight;
			wsum += s->weight;
			continue;
		}
		if ((hit = score_list_hit(s, &out->ignored)) == -1)
			continue;
		answered = 1;
		if (hit) {
			lists += s->weight;
			out->listed++;
		}
	}
	if (!answered)
		return;
	out->known = 1;
	/* the mean rounded half away from zero, in tenths */
	t = 0;
	if (wsum > 0)
		t = (int)((zsum >= 0 ? zsum * 2 + wsum : zsum * 2 - wsum) /
		    (wsum * 2));
	if (lists > SMTPD_SCORE_MAX * 2)	/* bounded before the sum */
		lists = SMTPD_SCORE_MAX * 2;
	if (lists < SMTPD_SCORE_MIN * 2)
		lists = SMTPD_SCORE_MIN * 2;
	t += (int)lists;
	if (t > SMTPD_SCORE_MAX)
		t = SMTPD_SCORE_MAX;
	if (t < SMTPD_SCORE_MIN)
		t = SMTPD_SCORE_MIN;
	out->tenths = t;
}

const char *
smtpd_score_text(const struct smtpd_score *sc, char *buf, size_t bufsz)
{
	int	 a;

	if (!sc->known) {
		snprintf(buf, bufsz, "none");
		return buf;
	}
	a = abs(sc->tenths);
	snprintf(buf, bufsz, "%c%d.%d", sc->tenths < 0 ? '-' : '+', a / 10,
	    a % 10);
	return buf;
}
