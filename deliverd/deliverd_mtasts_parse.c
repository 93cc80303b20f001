/*
 * MTA-STS (RFC 8461) text formats, pure: the `_mta-sts` TXT record (3.1),
 * the policy file (3.2) and the match of an MX name against the policy's
 * mx patterns (4.1).  No I/O, no clock; tests/check_mtasts.c.
 *
 * Trust: everything here comes from the network (DNS answers, an HTTPS
 * body) and may be anything: every byte is checked, nothing is copied
 * without a bound, and input that is not exactly what the RFC describes
 * is refused with a reason rather than guessed at -- except where the RFC
 * asks for leniency: unknown TXT fields and unknown policy keys are
 * ignored, policy lines end in CRLF or LF.
 *
 * Choices the RFC leaves open: empty lines in a policy are skipped (a
 * trailing blank line is common); of a repeated version, mode or max_age
 * the first one counts; a max_age over DLV_STS_MAX_AGE_MAX is cut to it;
 * more than DLV_STS_MX_MAX mx lines refuse the policy (a cut list could
 * make enforce mode skip a listed MX).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "deliverd_mtasts.h"

#define STS_KEY_MAX	32	/* RFC 8461: 1 + 31 characters of a name */

const char *
dlv_sts_mode_name(int mode)
{
	switch (mode) {
	case DLV_STS_MODE_NONE:
		return "none";
	case DLV_STS_MODE_TESTING:
		return "testing";
	case DLV_STS_MODE_ENFORCE:
		return "enforce";
	}
	return "?";
}

static int
sts_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
sts_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Length of a field name (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_-."), 0. */
static size_t
sts_name_len(const char *s, size_t max)
{
	size_t	 n;

	if (max == 0 || !sts_alnum(s[0]))
		return 0;
	for (n = 1; n < max && (sts_alnum(s[n]) || s[n] == '_' ||
	    s[n] == '-' || s[n] == '.'); n++)
		;
	return n;
}

int
dlv_sts_txt_parse(const char *rec, char id[DLV_STS_ID_MAX + 1], char *why,
    size_t whysz)
{
	const char	*p = rec;
	size_t		 n, v;
	int		 have_id = 0;

	if (strncmp(p, "v=STSv1", 7) != 0 ||
	    (p[7] != '\0' && p[7] != ';' && !sts_wsp(p[7])))
		return 0;
	p += 7;
	for (;;) {
		while (sts_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != ';') {
			snprintf(why, whysz, "TXT record: ';' expected at "
			    "offset %zu", (size_t)(p - rec));
			return -1;
		}
		p++;
		while (sts_wsp(*p))
			p++;
		if (*p == '\0')		/* one trailing delimiter */
			break;
		if ((n = sts_name_len(p, STS_KEY_MAX + 1)) == 0 ||
		    n > STS_KEY_MAX || p[n] != '=') {
			snprintf(why, whysz, "TXT record: bad field at offset "
			    "%zu", (size_t)(p - rec));
			return -1;
		}
		if (n == 2 && strncmp(p, "id", 2) == 0) {
			p += 3;
			for (v = 0; sts_alnum(p[v]); v++)
				;
			if (v == 0 || v > DLV_STS_ID_MAX) {
				snprintf(why, whysz, "TXT record: id must be "
				    "1 to %d letters or digits",
				    DLV_STS_ID_MAX);
				return -1;
			}
			if (have_id) {
				snprintf(why, whysz, "TXT record: more than "
				    "one id");
				return -1;
			}
			memcpy(id, p, v);
			id[v] = '\0';
			have_id = 1;
			p += v;
		} else {
			/* an extension: 1*(%x21-3A / %x3C / %x3E-7E) */
			p += n + 1;
			for (v = 0; p[v] >= 0x21 && p[v] <= 0x7e &&
			    p[v] != ';' && p[v] != '='; v++)
				;
			if (v == 0) {
				snprintf(why, whysz, "TXT record: empty "
				    "value at offset %zu", (size_t)(p - rec));
				return -1;
			}
			p += v;
		}
	}
	if (!have_id) {
		snprintf(why, whysz, "TXT record without id");
		return -1;
	}
	return 1;
}

int
dlv_sts_txt_select(const char *const *recs, int nrecs,
    char id[DLV_STS_ID_MAX + 1], char *why, size_t whysz)
{
	int	 i, found = -1, nsts = 0;

	for (i = 0; i < nrecs; i++)
		if (strncmp(recs[i], "v=STSv1", 7) == 0 &&
		    (recs[i][7] == '\0' || recs[i][7] == ';' ||
		    sts_wsp(recs[i][7]))) {
			nsts++;
			found = i;
		}
	if (nsts == 0) {
		snprintf(why, whysz, "no v=STSv1 TXT record");
		return 0;
	}
	if (nsts > 1) {
		snprintf(why, whysz, "%d v=STSv1 TXT records (RFC 8461 3.1: "
		    "exactly one)", nsts);
		return 0;
	}
	return dlv_sts_txt_parse(recs[found], id, why, whysz) == 1 ? 1 : 0;
}

/*
 * An mx value: ["*."] Domain (RFC 5321: labels of letters, digits and
 * hyphens, not starting or ending with a hyphen), lower-cased into dst.
 */
static int
sts_mx_pattern(const char *v, size_t len, char *dst, size_t dstsz)
{
	size_t	 i, start, label = 0;

	if (len >= dstsz || len > BW_DOMAIN_MAX)
		return -1;
	start = (len >= 2 && v[0] == '*' && v[1] == '.') ? 2 : 0;
	if (start == len)
		return -1;
	for (i = start; i < len; i++) {
		char c = v[i];

		if (c == '.') {
			if (label == 0 || v[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!sts_alnum(c) && !(c == '-' && label > 0))
			return -1;
		if (++label > 63)
			return -1;
	}
	if (label == 0 || v[len - 1] == '-')
		return -1;
	for (i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)v[i]);
	dst[len] = '\0';
	return 0;
}

/* One "key: value" line (no terminator), into p; 0 or -1 (why). */
static int
sts_policy_line(const char *l, size_t len, int lineno,
    struct dlv_sts_policy *p, int *have, char *why, size_t whysz)
{
	size_t		 k, vs, ve;
	const char	*v;
	unsigned long long age;

	k = sts_name_len(l, len < STS_KEY_MAX + 1 ? len : STS_KEY_MAX + 1);
	if (k == 0 || k > STS_KEY_MAX || k >= len || l[k] != ':') {
		snprintf(why, whysz, "line %d is not \"key: value\"", lineno);
		return -1;
	}
	for (vs = k + 1; vs < len && sts_wsp(l[vs]); vs++)
		;
	for (ve = len; ve > vs && sts_wsp(l[ve - 1]); ve--)
		;
	v = l + vs;
	for (size_t i = vs; i < ve; i++)
		if ((unsigned char)l[i] < 0x20 && l[i] != '\t') {
			snprintf(why, whysz, "line %d: control character",
			    lineno);
			return -1;
		}
#define STS_IS(key)	(k == sizeof(key) - 1 && memcmp(l, key, k) == 0)
#define STS_VAL(val)	(ve - vs == sizeof(val) - 1 && \
			    memcmp(v, val, ve - vs) == 0)
	if (STS_IS("version")) {
		if (have[0]++)
			return 0;
		if (!STS_VAL("STSv1")) {
			snprintf(why, whysz, "line %d: version is not STSv1",
			    lineno);
			return -1;
		}
	} else if (STS_IS("mode")) {
		if (have[1]++)
			return 0;
		if (STS_VAL("enforce"))
			p->mode = DLV_STS_MODE_ENFORCE;
		else if (STS_VAL("testing"))
			p->mode = DLV_STS_MODE_TESTING;
		else if (STS_VAL("none"))
			p->mode = DLV_STS_MODE_NONE;
		else {
			snprintf(why, whysz, "line %d: mode is not enforce, "
			    "testing or none", lineno);
			return -1;
		}
	} else if (STS_IS("max_age")) {
		if (have[2]++)
			return 0;
		if (ve == vs || ve - vs > 10) {
			snprintf(why, whysz, "line %d: max_age is not 1 to 10 "
			    "digits", lineno);
			return -1;
		}
		age = 0;
		for (size_t i = vs; i < ve; i++) {
			if (l[i] < '0' || l[i] > '9') {
				snprintf(why, whysz, "line %d: max_age is not "
				    "a number", lineno);
				return -1;
			}
			age = age * 10 + (unsigned)(l[i] - '0');
		}
		p->max_age = age > DLV_STS_MAX_AGE_MAX ? DLV_STS_MAX_AGE_MAX :
		    (uint32_t)age;
	} else if (STS_IS("mx")) {
		if (p->nmx >= DLV_STS_MX_MAX) {
			snprintf(why, whysz, "more than %d mx lines",
			    DLV_STS_MX_MAX);
			return -1;
		}
		if (sts_mx_pattern(v, ve - vs, p->mx[p->nmx],
		    sizeof(p->mx[0])) == -1) {
			snprintf(why, whysz, "line %d: mx is not a host name "
			    "or *.name", lineno);
			return -1;
		}
		p->nmx++;
	}
	/* any other key: an extension, ignored (RFC 8461 3.2) */
#undef STS_IS
#undef STS_VAL
	return 0;
}

int
dlv_sts_policy_parse(const char *body, size_t len, struct dlv_sts_policy *p,
    char *why, size_t whysz)
{
	size_t	 off = 0, end, l;
	int	 have[3] = { 0, 0, 0 }, lineno = 0;

	memset(p, 0, sizeof(*p));
	if (len > DLV_STS_POLICY_MAX) {
		snprintf(why, whysz, "policy longer than %d bytes",
		    DLV_STS_POLICY_MAX);
		return -1;
	}
	if (memchr(body, '\0', len) != NULL) {
		snprintf(why, whysz, "NUL byte in the policy");
		return -1;
	}
	while (off < len) {
		const char *nl = memchr(body + off, '\n', len - off);

		end = nl != NULL ? (size_t)(nl - body) : len;
		l = end - off;
		if (l > 0 && body[off + l - 1] == '\r')
			l--;
		lineno++;
		while (l > 0 && sts_wsp(body[off + l - 1]))
			l--;
		if (l > 0 && sts_policy_line(body + off, l, lineno, p, have,
		    why, whysz) == -1)
			goto bad;
		off = end + 1;
	}
	if (!have[0]) {
		snprintf(why, whysz, "no version line");
		goto bad;
	}
	if (!have[1]) {
		snprintf(why, whysz, "no mode line");
		goto bad;
	}
	if (!have[2]) {
		snprintf(why, whysz, "no max_age line");
		goto bad;
	}
	if (p->mode != DLV_STS_MODE_NONE && p->nmx == 0) {
		snprintf(why, whysz, "mode %s without mx lines",
		    dlv_sts_mode_name(p->mode));
		goto bad;
	}
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return -1;
}

int
dlv_sts_mx_match(const struct dlv_sts_policy *p, const char *host)
{
	char	 h[BW_DOMAIN_MAX + 1];
	size_t	 hl, pl;
	int	 i;

	bw_lowercase(h, host, sizeof(h));
	hl = strlen(h);
	if (hl > 0 && h[hl - 1] == '.')
		h[--hl] = '\0';
	if (hl == 0)
		return 0;
	for (i = 0; i < p->nmx; i++) {
		const char *pat = p->mx[i];

		if (pat[0] != '*') {
			if (strcmp(pat, h) == 0)
				return 1;
			continue;
		}
		/* "*.example.com": one label, then ".example.com" */
		pl = strlen(pat + 1);
		if (hl <= pl || strcmp(h + hl - pl, pat + 1) != 0)
			continue;
		if (memchr(h, '.', hl - pl) == NULL)
			return 1;
	}
	return 0;
}
