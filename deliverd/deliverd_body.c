/*
 * A job's body on the wire: after DATA's 354, dot-stuffed with the final
 * dot (RFC 5321 4.5.2); or in BDAT chunks (RFC 3030 2), the exact octets
 * behind "BDAT <size>" lines, the last one marked LAST.  No I/O: the
 * bytes go to the connection's output buffer, and the SMTP client
 * (deliverd_smtp.c) decides when.
 *
 * Both avoid copying the body where they can: a body without a line that
 * starts with '.' and every BDAT chunk go out by reference to the job's
 * buffer.  libevent's buffer references keep the referenced memory alive
 * until it is written, so the job may end (an early failure reply) with
 * its body still queued for the socket.
 *
 * Trust: the body is what smtpd accepted and queued stored; its size was
 * checked against the job's when the job was assembled.  Chunk sizes are
 * bounded by deliver_bdat_chunk_size (the caller's max).
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "deliverd.h"

int
dlv_body_data(struct evbuffer *out, struct evbuffer *body, int *stuffed)
{
	struct evbuffer_iovec	*v = NULL;
	int			 n, i, bol = 1, stuff = 0, r = 0;

	n = evbuffer_peek(body, -1, NULL, NULL, 0);
	if (n > 0) {
		if ((v = calloc((size_t)n, sizeof(*v))) == NULL)
			return -1;
		n = evbuffer_peek(body, -1, NULL, v, n);
		for (i = 0; i < n && !stuff; i++)
			stuff = dlv_dotstuff(NULL, v[i].iov_base,
			    v[i].iov_len, &bol);
		if (!stuff)
			r = evbuffer_add_buffer_reference(out, body);
		else
			for (i = 0, bol = 1; i < n && r == 0; i++)
				r = dlv_dotstuff(out, v[i].iov_base,
				    v[i].iov_len, &bol);
		free(v);
		if (r == -1)
			return -1;
	}
	if (!bol && evbuffer_add(out, "\r\n", 2) == -1)
		return -1;
	*stuffed = stuff;
	return evbuffer_add(out, ".\r\n", 3);
}

/*
 * The body is referenced whole into a scratch buffer (no copy), the part
 * before *off dropped, and the chunk moved on to out: whole pieces move,
 * only a piece cut by the chunk's edge is copied.
 */
int
dlv_body_bdat(struct evbuffer *out, struct evbuffer *body, size_t *off,
    size_t max)
{
	struct evbuffer	*ref;
	size_t		 size = evbuffer_get_length(body), n;
	int		 r = -1;

	if (*off > size)
		return -1;
	n = size - *off < max ? size - *off : max;
	if (evbuffer_add_printf(out, "BDAT %zu%s\r\n", n,
	    *off + n == size ? " LAST" : "") == -1)
		return -1;
	if (n == 0) {
		*off = size;
		return 0;
	}
	if ((ref = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add_buffer_reference(ref, body) == 0 &&
	    evbuffer_drain(ref, *off) == 0 &&
	    evbuffer_remove_buffer(ref, out, n) == (int)n) {
		*off += n;
		r = 0;
	}
	evbuffer_free(ref);
	return r;
}
