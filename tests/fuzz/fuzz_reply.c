/*
 * Fuzz target: what a remote SMTP server sends deliverd
 * (deliverd/deliverd_reply.c).
 *
 * The input is the server's byte stream, cut into lines as
 * dlv_smtp_read_cb() cuts it (libevent's CRLF-or-LF reader, lines and the
 * unterminated rest bounded by DLV_REPLY_LINE_MAX, each line escaped for
 * the debug log); the first reply is the greeting, the second the EHLO
 * reply (every line after its first goes to dlv_ehlo_line(), as there),
 * the others replies to commands; a malformed reply ends the connection,
 * as it does there.  Each complete reply gives its status and DSN code.
 *
 * The same bytes are then a message body for dlv_dotstuff(), fed in
 * pieces of sizes drawn from the first byte: the result must be the
 * body with every '.' that starts a line doubled, whatever the pieces,
 * and the scan-only mode (no output) must say whether one was there.
 * And the body goes on the wire as deliverd sends it
 * (deliverd/deliverd_body.c), from a buffer of several pieces: after
 * DATA (stuffed, CRLF if it lacks one, the final dot) and in BDAT chunks
 * (each "BDAT n" line followed by exactly n octets, LAST on the last, the
 * octets together exactly the body).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "deliverd.h"
#include "fuzz.h"

/* A complete reply: a code, and a DSN code of its class. */
static void
fuzz_reply_done(const struct dlv_reply *r)
{
	char	 dsn[BW_DSN_CODE_MAX];
	size_t	 i, n;
	int	 st;

	FUZZ_CHECK(r->done && r->code >= 200 && r->code <= 599);
	FUZZ_CHECK(r->nlines >= 1 && r->nlines <= DLV_REPLY_LINES_MAX);
	FUZZ_CHECK(memchr(r->text, '\0', sizeof(r->text)) != NULL);
	FUZZ_CHECK(memchr(r->enh, '\0', sizeof(r->enh)) != NULL);
	for (i = 0; r->text[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)r->text[i] >= 0x20 &&
		    (unsigned char)r->text[i] < 0x7f);
	if (r->enh[0] != '\0') {
		FUZZ_CHECK(r->enh[0] == '0' + r->code / 100 &&
		    r->enh[1] == '.');
		for (i = 2, n = 0; r->enh[i] != '\0'; i++)
			if (r->enh[i] == '.')
				n++;
			else
				FUZZ_CHECK(isdigit((unsigned char)r->enh[i]));
		FUZZ_CHECK(n == 1);
	}
	st = dlv_reply_status(r);
	FUZZ_CHECK(st >= 0 && st < BW_DLV_STATUS__COUNT);
	dlv_reply_dsn(r, dsn, sizeof(dsn));
	if (r->enh[0] != '\0')
		FUZZ_CHECK(strcmp(dsn, r->enh) == 0);
	else
		FUZZ_CHECK(dsn[0] == (st == BW_DLV_DELIVERED ? '2' :
		    st == BW_DLV_TEMPFAIL ? '4' : '5'));
}

/* The reply stream, as dlv_smtp_read_cb() reads it. */
static void
fuzz_reply_stream(const uint8_t *data, size_t size)
{
	struct evbuffer		*in;
	struct dlv_reply	 r;
	struct dlv_ext		 ext;
	char			*line, esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	size_t			 n;
	int			 res, nreplies = 0;

	if ((in = evbuffer_new()) == NULL || evbuffer_add(in, data, size) == -1)
		abort();
	memset(&ext, 0, sizeof(ext));
	dlv_reply_init(&r);
	for (;;) {
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) ==
		    NULL)
			break;	/* over DLV_REPLY_LINE_MAX or not: the end */
		if (n > DLV_REPLY_LINE_MAX) {
			free(line);
			break;
		}
		log_escape(esc, sizeof(esc), line, n);
		FUZZ_CHECK(strlen(esc) < sizeof(esc));
		if (nreplies == 1 && r.nlines > 0)
			dlv_ehlo_line(&ext, line, n);
		res = dlv_reply_feed(&r, line, n);
		free(line);
		if (res == DLV_REPLY_BAD)
			break;
		if (res == DLV_REPLY_MORE) {
			FUZZ_CHECK(!r.done);
			continue;
		}
		FUZZ_CHECK(res == DLV_REPLY_DONE);
		fuzz_reply_done(&r);
		nreplies++;
		dlv_reply_init(&r);
	}
	evbuffer_free(in);
}

/* The body in pieces through dlv_dotstuff(), against the plain rule. */
static void
fuzz_dotstuff(const uint8_t *data, size_t size, uint32_t seed)
{
	struct evbuffer	*out;
	unsigned char	*got, *want;
	size_t		 i, off, piece, wlen = 0, glen;
	int		 bol = 1, sbol = 1, needs = 0, any = 0;

	if ((want = malloc(2 * size + 1)) == NULL ||
	    (out = evbuffer_new()) == NULL)
		abort();
	for (i = 0; i < size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '.') {
			want[wlen++] = '.';
			needs = 1;
		}
		want[wlen++] = data[i];
	}
	for (off = 0; off < size; off += piece) {
		piece = 1 + fuzz_rand(&seed) % 64;
		if (piece > size - off)
			piece = size - off;
		FUZZ_CHECK(dlv_dotstuff(out, (const char *)data + off, piece,
		    &bol) == 0);
		/* the scan-only mode over the same pieces */
		if (!any && dlv_dotstuff(NULL, (const char *)data + off,
		    piece, &sbol) == 1)
			any = 1;
	}
	FUZZ_CHECK(any == needs);
	glen = evbuffer_get_length(out);
	FUZZ_CHECK(glen == wlen);
	got = evbuffer_pullup(out, -1);
	FUZZ_CHECK(glen == 0 || memcmp(got, want, wlen) == 0);
	evbuffer_free(out);
	free(want);
}

/* The body as the job holds it: several pieces, as DLV_BODY frames. */
static struct evbuffer *
fuzz_body_buffer(const uint8_t *data, size_t size, uint32_t *seed)
{
	struct evbuffer	*body, *piece;
	size_t		 off, n;

	if ((body = evbuffer_new()) == NULL)
		abort();
	for (off = 0; off < size; off += n) {
		n = 1 + fuzz_rand(seed) % 512;
		if (n > size - off)
			n = size - off;
		if ((piece = evbuffer_new()) == NULL ||
		    evbuffer_add(piece, data + off, n) == -1 ||
		    evbuffer_add_buffer(body, piece) == -1)
			abort();
		evbuffer_free(piece);
	}
	return body;
}

/* After DATA: the stuffed body, a CRLF if it lacks one, the dot. */
static void
fuzz_body_data(const uint8_t *data, size_t size, uint32_t seed)
{
	struct evbuffer	*body, *out, *want;
	size_t		 i;
	int		 stuffed = -1, needs = 0;

	body = fuzz_body_buffer(data, size, &seed);
	if ((out = evbuffer_new()) == NULL || (want = evbuffer_new()) == NULL)
		abort();
	for (i = 0; i < size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '.') {
			evbuffer_add(want, ".", 1);
			needs = 1;
		}
		evbuffer_add(want, data + i, 1);
	}
	if (size > 0 && data[size - 1] != '\n')
		evbuffer_add(want, "\r\n", 2);
	evbuffer_add(want, ".\r\n", 3);
	FUZZ_CHECK(dlv_body_data(out, body, &stuffed) == 0);
	FUZZ_CHECK(stuffed == needs);
	FUZZ_CHECK(evbuffer_get_length(out) == evbuffer_get_length(want));
	FUZZ_CHECK(memcmp(evbuffer_pullup(out, -1), evbuffer_pullup(want, -1),
	    evbuffer_get_length(want)) == 0);
	/* the body itself is left as it was */
	FUZZ_CHECK(evbuffer_get_length(body) == size);
	evbuffer_free(want);
	evbuffer_free(out);
	evbuffer_free(body);
}

/* In BDAT chunks of at most max octets. */
static void
fuzz_body_bdat(const uint8_t *data, size_t size, uint32_t seed)
{
	struct evbuffer	*body, *out;
	char		 line[64];
	size_t		 off = 0, at = 0, max, n, len, k;
	unsigned char	*o;
	int		 chunks = 0, last = 0;

	body = fuzz_body_buffer(data, size, &seed);
	if ((out = evbuffer_new()) == NULL)
		abort();
	max = 1 + fuzz_rand(&seed) % 1024;
	while (!last) {
		FUZZ_CHECK(chunks++ <= (int)(size / max) + 1);
		FUZZ_CHECK(dlv_body_bdat(out, body, &off, max) == 0);
		len = evbuffer_get_length(out);
		o = evbuffer_pullup(out, -1);
		/* "BDAT n[ LAST]\r\n" and n octets of the body */
		for (k = 0; k < len && o[k] != '\n'; k++)
			;
		FUZZ_CHECK(k < len && k < sizeof(line));
		memcpy(line, o, k + 1);
		line[k + 1] = '\0';
		FUZZ_CHECK(strncmp(line, "BDAT ", 5) == 0);
		n = strtoul(line + 5, NULL, 10);
		last = strstr(line, " LAST\r\n") != NULL;
		FUZZ_CHECK(n <= max && len == k + 1 + n);
		FUZZ_CHECK(n == 0 || memcmp(o + k + 1, data + at, n) == 0);
		at += n;
		FUZZ_CHECK(at == off);
		FUZZ_CHECK(last == (at == size));
		evbuffer_drain(out, len);
	}
	FUZZ_CHECK(at == size);
	evbuffer_free(out);
	evbuffer_free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t	 seed;

	if (size > FUZZ_INPUT_MAX)
		size = FUZZ_INPUT_MAX;
	fuzz_reply_stream(data, size);
	seed = size > 0 ? data[0] : 0;
	fuzz_dotstuff(data, size, seed);
	fuzz_body_data(data, size, seed);
	fuzz_body_bdat(data, size, seed);
	return 0;
}
