/*
 * Fuzz target: the DATA stream (smtpd/smtpd_data.c): end of data,
 * dot-unstuffing, line and size limits, bare LF and bare CR, and the
 * header scan that counts Received: fields (smtpd/smtpd_hdrscan.c).
 *
 * smtpd_data_begin() and smtpd_data_process() run unchanged on a session
 * of fuzz_smtpd.c (the seam is the link, see fuzz_smtpd.h).  The first
 * two input bytes choose smtpd_max_text_line, message_size_limit,
 * hopcount_limit and the piece sizes; the rest is what the client sends
 * after the 354.  It is received twice: all at once, and in pieces (with
 * smtpd_data_process() after each, as after each read), which drives
 * both the block-wise fast path and the line-by-line path with lines cut
 * anywhere.  Both runs must agree with each other and with a plain
 * statement of the rules (fuzz_data_want): where the data ends (only at
 * <CRLF>.<CRLF>), whether the message is refused (a line over the limit,
 * a bare LF or CR, the size, too many Received: fields in the header
 * section), and, when it is taken, exactly which bytes reach queued
 * (lines with one leading dot removed).  The header scanner is also fed
 * the message text whole and in pieces of its own: same count.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "smtpd.h"
#include "fuzz.h"
#include "fuzz_smtpd.h"

/* What one run gave, beyond what the stand-ins record. */
struct fuzz_data_run {
	struct fuzz_run	 r;
	int		 ended;		/* smtpd_data_process() returned 1 */
	size_t		 left;		/* input not consumed at the end */
};

/* ---- the rules, stated plainly over the whole input ---- */

struct fuzz_want {
	int		 ended;
	size_t		 consumed;	/* when ended */
	int		 refused;
	unsigned char	*body;		/* when taken: what queued gets */
	size_t		 bodylen;
	unsigned char	*text;		/* every line before the end, unstuffed */
	size_t		 textlen;
};

static void
fuzz_data_want(const uint8_t *p, size_t n, size_t maxline, uint64_t maxsize,
    unsigned int maxhops, size_t hdrlen, struct fuzz_want *w)
{
	const uint8_t	*nl;
	size_t		 pos = 0, len, body;
	uint64_t	 size = hdrlen;
	int		 bol = 1, crlf, dot;

	memset(w, 0, sizeof(*w));
	if ((w->body = malloc(n > 0 ? n : 1)) == NULL ||
	    (w->text = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	while (pos < n) {
		if ((nl = memchr(p + pos, '\n', n - pos)) == NULL) {
			/* an unfinished line is refused once over the limit */
			if (n - pos > maxline)
				w->refused = 1;
			break;
		}
		len = (size_t)(nl - (p + pos)) + 1;
		crlf = len >= 2 && p[pos + len - 2] == '\r';
		body = len - (crlf ? 2 : 1);
		if (len > maxline)
			w->refused = 1;	/* the final dot line counts too */
		if (bol && crlf && len == 3 && p[pos] == '.') {
			w->ended = 1;
			w->consumed = pos + len;
			break;
		}
		if (!crlf || memchr(p + pos, '\r', body) != NULL)
			w->refused = 1;
		dot = p[pos] == '.';
		size += len - dot;
		if (size > maxsize)
			w->refused = 1;
		if (!w->refused) {
			memcpy(w->body + w->bodylen, p + pos + dot, len - dot);
			w->bodylen += len - dot;
		}
		memcpy(w->text + w->textlen, p + pos + dot, len - dot);
		w->textlen += len - dot;
		bol = crlf;
		pos += len;
	}
	/* a looping message: too many hops already */
	if (fuzz_received(w->text, w->textlen) >= maxhops)
		w->refused = 1;
}

/* ---- one session receiving the input ---- */

/*
 * Receive p[0..n) on a fresh session: in one piece (seed 0) or in
 * pieces of 1..maxpiece bytes.
 */
static void
fuzz_data_run(struct bw_config *cfg, const uint8_t *p, size_t n,
    uint32_t seed, size_t maxpiece, struct fuzz_data_run *run)
{
	struct fuzz_session	 fs;
	struct evbuffer		*in;
	size_t			 off = 0, piece;

	memset(run, 0, sizeof(*run));
	fuzz_session_new(&fs, cfg, &run->r);
	in = bufferevent_get_input(fs.s->bev);
	FUZZ_CHECK(smtpd_data_begin(fs.s) == 0);
	fs.s->phase = SMTPD_PH_DATA;
	run->r.hdrlen = evbuffer_get_length(run->r.out);
	FUZZ_CHECK(run->r.hdrlen > 0 && run->r.hdrlen == fs.s->data_size);
	while (off < n) {
		piece = seed == 0 ? n - off : 1 + fuzz_rand(&seed) % maxpiece;
		if (piece > n - off)
			piece = n - off;
		fuzz_session_input(&fs, p + off, piece);
		off += piece;
		if (smtpd_data_process(fs.s) == 1) {
			run->ended = 1;
			break;
		}
		/* whatever is left waits for a line end, within the limit */
		FUZZ_CHECK(evbuffer_get_length(in) <= (size_t)
		    cfg->limits.v[LIM_SMTPD_MAX_TEXT_LINE]);
	}
	run->left = evbuffer_get_length(in) + (n - off);
	fuzz_session_free(&fs);
}

/* A run against the rules. */
static void
fuzz_data_check(const struct fuzz_data_run *run, const struct fuzz_want *w,
    size_t n)
{
	size_t		 got;
	unsigned char	*b;

	FUZZ_CHECK(run->ended == w->ended);
	if (w->ended) {
		FUZZ_CHECK(n - run->left == w->consumed);
		FUZZ_CHECK(run->r.commits == !w->refused);
		FUZZ_CHECK(run->r.nreplies == w->refused);
		if (w->refused)
			FUZZ_CHECK(run->r.reply[0] == '5' ||
			    run->r.reply[0] == '4');
	} else
		FUZZ_CHECK(run->r.commits == 0 && run->r.nreplies == 0);
	FUZZ_CHECK(run->r.aborts == w->refused);
	if (w->refused)
		return;
	got = evbuffer_get_length(run->r.out) - run->r.hdrlen;
	FUZZ_CHECK(got == w->bodylen);
	b = evbuffer_pullup(run->r.out, -1);
	FUZZ_CHECK(got == 0 || memcmp(b + run->r.hdrlen, w->body, got) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct bw_config	*cfg;
	struct fuzz_data_run	 whole, pieces;
	struct fuzz_want	 want;
	uint8_t			 c1, c2;
	uint32_t		 seed;
	size_t			 maxpiece;

	if (size > FUZZ_INPUT_MAX)
		in.n = FUZZ_INPUT_MAX;
	c1 = fuzz_u8(&in);
	c2 = fuzz_u8(&in);
	if ((cfg = config_new()) == NULL)
		abort();
	fuzz_smtpd_limits(cfg, c1, c2);
	maxpiece = (size_t)1 << (1 + (c1 >> 4) % 12);	/* 2 .. 4096 */
	seed = (uint32_t)c1 << 8 | c2 | 1;

	fuzz_data_run(cfg, in.p, in.n, 0, 0, &whole);
	fuzz_data_want(in.p, in.n,
	    (size_t)cfg->limits.v[LIM_SMTPD_MAX_TEXT_LINE],
	    (uint64_t)cfg->limits.v[LIM_MESSAGE_SIZE_LIMIT],
	    (unsigned int)cfg->limits.v[LIM_HOPCOUNT_LIMIT], whole.r.hdrlen,
	    &want);
	fuzz_hdrscan(want.text, want.textlen, seed);
	fuzz_data_check(&whole, &want, in.n);
	fuzz_data_run(cfg, in.p, in.n, seed, maxpiece, &pieces);
	fuzz_run_same(&whole.r, &pieces.r);
	fuzz_data_check(&pieces, &want, in.n);

	fuzz_run_free(&whole.r);
	fuzz_run_free(&pieces.r);
	free(want.body);
	free(want.text);
	config_unref(cfg);
	return 0;
}
