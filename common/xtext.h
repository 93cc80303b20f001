/*
 * xtext (RFC 3461 4), the encoding of the DSN parameters ENVID and ORCPT
 * on the SMTP command line: xtext = *( xchar / hexchar ), where xchar is
 * any character from "!" (33) to "~" (126) except "+" and "=", and hexchar
 * is "+" followed by two UPPER-CASE hexadecimal digits.  The decoded text
 * must be printable US-ASCII (RFC 3461 4.2 and 4.4): SP (32) to "~" (126),
 * so that it can go into a DSN header field as it is.
 *
 * Pure functions over caller buffers; the input is untrusted network text.
 */
#ifndef BW_XTEXT_H
#define BW_XTEXT_H

#include <sys/types.h>
#include <stddef.h>

/*
 * Decode len bytes of src into dst (dstsz bytes, NUL-terminated): the
 * decoded length, or -1 when src is not xtext, decodes to something other
 * than printable US-ASCII, or does not fit in dst.
 */
ssize_t	 bw_xtext_decode(const char *src, size_t len, char *dst,
	    size_t dstsz);
/*
 * Encode the NUL-terminated src into dst (NUL-terminated): the encoded
 * length, or -1 when it does not fit or src holds a byte outside
 * printable US-ASCII.  Only what must be encoded is (SP, "+", "="): the
 * result is never longer than any valid encoding of the same text.
 */
ssize_t	 bw_xtext_encode(const char *src, char *dst, size_t dstsz);

#endif
