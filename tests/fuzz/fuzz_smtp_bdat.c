/*
 * Fuzz target: BDAT (RFC 3030) in smtpd/smtpd_data.c: chunks of exactly
 * their announced size, the line check of a non-BINARYMIME body split
 * anywhere (smtp_body_scan), the hop count, the size limit, the CRLF a
 * last line gets, and chunks read and discarded after the message ended.
 *
 * smtpd_bdat_start() and smtpd_bdat_process() run unchanged on a session
 * of fuzz_smtpd.c (the seam is the link, see fuzz_smtpd.h), which plays
 * the session's part: BDAT after BDAT, with the 503 refusal a session
 * gives once the message has ended.  The first three input bytes choose
 * smtpd_max_text_line, message_size_limit, hopcount_limit, the piece
 * sizes and BODY=BINARYMIME; then each chunk is a size byte and that many
 * octets (the last one cut to what is left, then LAST; or a separate
 * "BDAT 0 LAST").  The octets are received twice: all at once before the
 * first BDAT (a client pipelining every chunk), and in pieces that ignore
 * the chunk boundaries.  Both runs must consume exactly each chunk, give
 * the same replies, and agree with the rules stated plainly
 * (fuzz_bdat_want): the message is refused when it is over the size
 * limit, carries too many Received: fields, or, unless BINARYMIME, has a
 * line over smtpd_max_text_line, a bare LF or a bare CR; when it is
 * taken, queued gets exactly its octets, plus CRLF after a last line
 * without one.
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

#define FUZZ_BDAT_REFUSE	"503 5.5.1 Need MAIL command"

struct fuzz_chunk {
	const uint8_t	*p;
	size_t		 size;
	int		 last;
};

struct fuzz_bdat {
	struct fuzz_chunk	*chunks;
	size_t			 nchunks;
	size_t			 nmsg;		/* chunks up to LAST */
	uint8_t			*octets;	/* every chunk's, in order */
	size_t			 total;
	int			 binary;
};

/* Chunk sizes: 0..127, or multiples of 32 up to 4064. */
static size_t
fuzz_bdat_size(uint8_t h)
{
	return (h & 0x80) ? (size_t)(h & 0x7f) * 32 : (size_t)h;
}

static void
fuzz_bdat_split(struct fuzz_in *in, struct fuzz_bdat *b)
{
	size_t	 size, max = in->n + 1;

	memset(b, 0, sizeof(*b));
	if ((b->chunks = calloc(max, sizeof(*b->chunks))) == NULL ||
	    (b->octets = malloc(in->n > 0 ? in->n : 1)) == NULL)
		abort();
	while (in->n > 0) {
		size = fuzz_bdat_size(fuzz_u8(in));
		if (size > in->n)
			size = in->n;
		b->chunks[b->nchunks].p = in->p;
		b->chunks[b->nchunks].size = size;
		b->chunks[b->nchunks].last = b->nmsg == 0 && in->n == size &&
		    size > 0;
		memcpy(b->octets + b->total, in->p, size);
		b->total += size;
		in->p += size;
		in->n -= size;
		if (b->chunks[b->nchunks].last)
			b->nmsg = b->nchunks + 1;
		b->nchunks++;
	}
	if (b->nmsg == 0) {
		/* BDAT 0 LAST */
		b->chunks[b->nchunks].p = in->p;
		b->chunks[b->nchunks].size = 0;
		b->chunks[b->nchunks].last = 1;
		b->nchunks++;
		b->nmsg = b->nchunks;
	}
}

/* ---- the rules, stated plainly ---- */

struct fuzz_bdat_want {
	int		 refused;
	unsigned char	*text;		/* the message's octets */
	size_t		 textlen;
	int		 crlf;		/* CRLF added after the last line */
};

/* A non-BINARYMIME body: CRLF lines, no other CR or LF, none too long. */
static int
fuzz_bdat_lines_ok(const unsigned char *p, size_t n, size_t maxline)
{
	const unsigned char	*nl;
	size_t			 pos = 0, len;

	while (pos < n) {
		nl = memchr(p + pos, '\n', n - pos);
		len = nl != NULL ? (size_t)(nl - (p + pos)) + 1 : n - pos;
		if (len > maxline)
			return 0;
		if (nl == NULL)
			return memchr(p + pos, '\r', len) == NULL;
		if (len < 2 || p[pos + len - 2] != '\r' ||
		    memchr(p + pos, '\r', len - 2) != NULL)
			return 0;
		pos += len;
	}
	return 1;
}

static void
fuzz_bdat_want(const struct fuzz_bdat *b, const struct bw_config *cfg,
    size_t hdrlen, struct fuzz_bdat_want *w)
{
	size_t	 i;

	memset(w, 0, sizeof(*w));
	if ((w->text = malloc(b->total > 0 ? b->total : 1)) == NULL)
		abort();
	for (i = 0; i < b->nmsg; i++) {
		memcpy(w->text + w->textlen, b->chunks[i].p, b->chunks[i].size);
		w->textlen += b->chunks[i].size;
	}
	if (hdrlen + w->textlen >
	    (uint64_t)cfg->limits.v[LIM_MESSAGE_SIZE_LIMIT])
		w->refused = 1;
	if (fuzz_received(w->text, w->textlen) >=
	    (unsigned int)cfg->limits.v[LIM_HOPCOUNT_LIMIT])
		w->refused = 1;
	if (!b->binary) {
		if (!fuzz_bdat_lines_ok(w->text, w->textlen,
		    (size_t)cfg->limits.v[LIM_SMTPD_MAX_TEXT_LINE]))
			w->refused = 1;
		w->crlf = w->textlen > 0 && w->text[w->textlen - 1] != '\n';
	}
}

/* ---- one session receiving the chunks ---- */

/*
 * Every chunk, its octets all at once up front (maxpiece 0) or in
 * pieces of 1..maxpiece bytes as they are needed.
 */
static void
fuzz_bdat_run(struct bw_config *cfg, const struct fuzz_bdat *b,
    uint32_t seed, size_t maxpiece, struct fuzz_run *run)
{
	struct fuzz_session	 fs;
	struct smtpd_session	*s;
	struct evbuffer		*in;
	size_t			 i, fed = 0, piece, before;
	int			 refused;

	fuzz_session_new(&fs, cfg, run);
	s = fs.s;
	if (b->binary)
		s->params.body = SMTP_BODY_BINARYMIME;
	in = bufferevent_get_input(s->bev);
	if (maxpiece == 0 && b->total > 0) {
		fuzz_session_input(&fs, b->octets, b->total);
		fed = b->total;
	}
	for (i = 0; i < b->nchunks; i++) {
		before = fed - evbuffer_get_length(in);	/* consumed so far */
		refused = !s->tx;
		smtpd_bdat_start(s, b->chunks[i].size, b->chunks[i].last,
		    refused ? FUZZ_BDAT_REFUSE : NULL, 1);
		if (i == 0)
			run->hdrlen = evbuffer_get_length(run->out);
		while (smtpd_bdat_process(s) == 0) {
			/* more octets are needed: they must be there */
			FUZZ_CHECK(fed < b->total);
			piece = 1 + fuzz_rand(&seed) % maxpiece;
			if (piece > b->total - fed)
				piece = b->total - fed;
			fuzz_session_input(&fs, b->octets + fed, piece);
			fed += piece;
		}
		/* exactly the chunk's octets, not one more */
		FUZZ_CHECK(fed - evbuffer_get_length(in) - before ==
		    b->chunks[i].size);
		FUZZ_CHECK(s->phase == (s->tx && b->chunks[i].last ?
		    SMTPD_PH_WAIT_COMMIT : SMTPD_PH_CMD));
		if (s->phase == SMTPD_PH_WAIT_COMMIT) {
			/* queued's commit reply: the transaction is over */
			s->tx = 0;
			smtpd_session_tx_reset(s);
			s->phase = SMTPD_PH_CMD;
		}
	}
	FUZZ_CHECK(fed == b->total && evbuffer_get_length(in) == 0);
	fuzz_session_free(&fs);
}

static void
fuzz_bdat_check(const struct fuzz_run *run, const struct fuzz_bdat *b,
    const struct fuzz_bdat_want *w)
{
	unsigned char	*o;
	size_t		 got;

	FUZZ_CHECK(run->commits == !w->refused);
	FUZZ_CHECK(run->aborts == w->refused);
	if (w->refused)
		return;
	/* a 250 per chunk before LAST, a 503 per chunk after it */
	FUZZ_CHECK(run->nreplies == (int)(b->nchunks - 1));
	got = evbuffer_get_length(run->out) - run->hdrlen;
	FUZZ_CHECK(got == w->textlen + (w->crlf ? 2 : 0));
	o = evbuffer_pullup(run->out, -1) + run->hdrlen;
	FUZZ_CHECK(w->textlen == 0 || memcmp(o, w->text, w->textlen) == 0);
	if (w->crlf)
		FUZZ_CHECK(memcmp(o + w->textlen, "\r\n", 2) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct bw_config	*cfg;
	struct fuzz_bdat	 b;
	struct fuzz_bdat_want	 want;
	struct fuzz_run		 whole, pieces;
	uint8_t			 c1, c2, c3;
	uint32_t		 seed;
	size_t			 maxpiece;

	if (size > FUZZ_INPUT_MAX)
		in.n = FUZZ_INPUT_MAX;
	c1 = fuzz_u8(&in);
	c2 = fuzz_u8(&in);
	c3 = fuzz_u8(&in);
	if ((cfg = config_new()) == NULL)
		abort();
	fuzz_smtpd_limits(cfg, c1, c2);
	maxpiece = (size_t)1 << ((c1 >> 4) % 13);	/* 1 .. 4096 */
	seed = (uint32_t)c1 << 16 | (uint32_t)c2 << 8 | c3 | 1;
	fuzz_bdat_split(&in, &b);
	b.binary = c3 & 1;

	fuzz_bdat_run(cfg, &b, 0, 0, &whole);
	fuzz_bdat_want(&b, cfg, whole.hdrlen, &want);
	fuzz_hdrscan(want.text, want.textlen, seed);
	fuzz_bdat_check(&whole, &b, &want);
	fuzz_bdat_run(cfg, &b, seed, maxpiece, &pieces);
	fuzz_run_same(&whole, &pieces);
	fuzz_bdat_check(&pieces, &b, &want);

	fuzz_run_free(&whole);
	fuzz_run_free(&pieces);
	free(want.text);
	free(b.chunks);
	free(b.octets);
	config_unref(cfg);
	return 0;
}
