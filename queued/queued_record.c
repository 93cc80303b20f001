/*
 * The record layouts: the one place that says which envelope, recipient
 * and piece records this release reads (bwctl queue verify, show message
 * and delivery go through it) and what envelope it writes.  Pure: no
 * store, no process state, so tests/check_store_record.c drives it.
 *
 * A later release that adds a field keeps accepting the older sizes here:
 * versions 1 and 2 are exactly their old size, version 3 envelopes (the
 * DSN fields) exactly QENV_REC_V3_SIZE, version 4 envelopes (the scan
 * flags) exactly the struct; recipients of version 3 and 4 (the same
 * layout) run from QRCPT_REC_V3_MIN to the struct (they end with the
 * ORCPT text); versions 5 are those of 4 (version 5 grew the quarantine
 * record: kind, expiry and who, for held and deleted messages).  A field
 * a record's version did not have reads as zero,
 * whatever bytes the reader's buffer held past the record.
 *
 * Version 6 packs envelopes and recipients: the numbers (a fixed header),
 * then every string with its NUL, in the struct's order.  The structs are
 * mostly empty text fields (2.1 KB for a 1 KiB message's envelope and
 * recipient, about 200 bytes packed), and Berkeley DB logs a record whole when
 * it is put and again when it is deleted (for undo), and a btree page held
 * only three or four of them, so its splits logged whole pages: the 1 KiB
 * relay wrote 11.6 KB of log per message.  In memory they stay structs:
 * qstore_*_load turns a record read into the struct's memory into the
 * struct, qstore_*_pack a struct into the bytes to store.  Quarantine
 * records of version 6 are those of 5.
 *
 * Trust: records come from our own store, but a damaged one must be told
 * (bwctl queue verify) and never read out of bounds: sizes are checked
 * against the version, and strings terminated.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "queued.h"

/* the layouts of earlier releases, as they wrote them */
_Static_assert(QENV_REC_V2_SIZE == 928, "version 2 envelope: 928 bytes");
_Static_assert(QRCPT_REC_V2_SIZE == 1080, "version 2 recipient: 1080 bytes");
_Static_assert(QENV_REC_V3_SIZE == 1048, "version 3 envelope: 1048 bytes");
_Static_assert(QQUAR_REC_V4_SIZE == 272, "version 4 quarantine: 272 bytes");
_Static_assert(QSTORE_VERSION == 6, "a new version needs its sizes below");

/* ---- version 6: packed envelopes and recipients ---- */

struct qenv_packed {
	uint32_t	 version;
	uint32_t	 flags;
	int64_t		 created;
	uint64_t	 size;
	uint32_t	 nrcpt;
	uint32_t	 nchunks;
	uint32_t	 dsn_ret;
	uint32_t	 dsn_flags;
	int64_t		 delay_due;
	uint32_t	 scan;
	uint32_t	 pad;		/* 0 */
	/* then sender, helo, client_addr, client_name, listener, gateway,
	 * envid, each with its NUL */
};
_Static_assert(sizeof(struct qenv_packed) == 56, "no hidden padding");

struct qrcpt_packed {
	uint32_t	 version;
	uint32_t	 state;
	uint32_t	 attempts;
	uint32_t	 notify;
	int64_t		 next_try;
	/* then rcpt, domain, gateway, last_reply, orcpt, each with its NUL */
};
_Static_assert(sizeof(struct qrcpt_packed) == 24, "no hidden padding");

/* A string field of a struct, in the order it is packed. */
struct qrecord_str {
	size_t	 off;
	size_t	 size;
};
#define QRECORD_STR(type, field) \
	{ offsetof(struct type, field), sizeof(((struct type *)0)->field) }

static const struct qrecord_str qenv_strs[] = {
	QRECORD_STR(qenv_rec, sender),
	QRECORD_STR(qenv_rec, helo),
	QRECORD_STR(qenv_rec, client_addr),
	QRECORD_STR(qenv_rec, client_name),
	QRECORD_STR(qenv_rec, listener),
	QRECORD_STR(qenv_rec, gateway),
	QRECORD_STR(qenv_rec, envid),
};
#define QENV_NSTRS	(sizeof(qenv_strs) / sizeof(qenv_strs[0]))

static const struct qrecord_str qrcpt_strs[] = {
	QRECORD_STR(qrcpt_rec, rcpt),
	QRECORD_STR(qrcpt_rec, domain),
	QRECORD_STR(qrcpt_rec, gateway),
	QRECORD_STR(qrcpt_rec, last_reply),
	QRECORD_STR(qrcpt_rec, orcpt),
};
#define QRCPT_NSTRS	(sizeof(qrcpt_strs) / sizeof(qrcpt_strs[0]))

/* The longest packed records: every string filling its field. */
#define QENV_PACKED_MAX	(sizeof(struct qenv_packed) + BW_ADDR_MAX + \
			 2 * (BW_DOMAIN_MAX + 1) + BW_HOSTADDR_MAX + \
			 2 * BW_NAME_MAX + BW_DSN_ENVID_MAX + 1)
#define QRCPT_PACKED_MAX (sizeof(struct qrcpt_packed) + BW_ADDR_MAX + \
			 BW_DOMAIN_MAX + 1 + BW_NAME_MAX + BW_REPLY_TEXT_MAX + \
			 BW_DSN_ORCPT_MAX + 1)
/* so that a packed record always fits where its struct is read */
_Static_assert(QENV_PACKED_MAX <= sizeof(struct qenv_rec), "fits");
_Static_assert(QRCPT_PACKED_MAX <= sizeof(struct qrcpt_rec), "fits");
#define QENV_PACKED_MIN	 (sizeof(struct qenv_packed) + QENV_NSTRS)
#define QRCPT_PACKED_MIN (sizeof(struct qrcpt_packed) + QRCPT_NSTRS)

/* The strings of rec after a header of hlen bytes in buf: the length. */
static size_t
qrecord_pack_strs(const void *rec, const struct qrecord_str *strs,
    size_t n, unsigned char *buf, size_t hlen)
{
	size_t	 i, len, at = hlen;

	for (i = 0; i < n; i++) {
		const char *f = (const char *)rec + strs[i].off;

		len = strnlen(f, strs[i].size - 1);
		memcpy(buf + at, f, len);
		buf[at + len] = '\0';
		at += len + 1;
	}
	return at;
}

/*
 * The strings of a packed record of size bytes (header hlen) into rec,
 * which the caller cleared: -1 if one is not terminated within its field
 * or bytes are left over.
 */
static int
qrecord_unpack_strs(void *rec, const struct qrecord_str *strs, size_t n,
    const unsigned char *buf, size_t size, size_t hlen)
{
	const unsigned char	*nul;
	size_t			 i, at = hlen, avail;

	for (i = 0; i < n; i++) {
		avail = size - at < strs[i].size ? size - at : strs[i].size;
		if ((nul = memchr(buf + at, '\0', avail)) == NULL)
			return -1;
		memcpy((char *)rec + strs[i].off, buf + at,
		    (size_t)(nul - (buf + at)));
		at = (size_t)(nul - buf) + 1;
	}
	return at == size ? 0 : -1;
}

/*
 * A packed record of size bytes read into rec's memory (recsz): its
 * header into hdr, rec cleared and its strings unpacked.  -1 when there
 * is no whole header (rec untouched), 1 when the strings are broken (the
 * header is read), 0 when all is well.
 */
static int
qrecord_unpack(void *rec, size_t recsz, size_t size, void *hdr, size_t hsz,
    const struct qrecord_str *strs, size_t n)
{
	unsigned char	 buf[QRCPT_PACKED_MAX > QENV_PACKED_MAX ?
			     QRCPT_PACKED_MAX : QENV_PACKED_MAX];

	if (size < hsz || size > sizeof(buf) || size > recsz)
		return -1;
	memcpy(buf, rec, size);
	memcpy(hdr, buf, hsz);
	memset(rec, 0, recsz);
	return qrecord_unpack_strs(rec, strs, n, buf, size, hsz) == 0 ? 0 : 1;
}

size_t
qstore_env_pack(const struct qenv_rec *e, void *buf)
{
	struct qenv_packed	 h;

	memset(&h, 0, sizeof(h));
	h.version = QSTORE_VERSION;
	h.flags = e->flags;
	h.created = e->created;
	h.size = e->size;
	h.nrcpt = e->nrcpt;
	h.nchunks = e->nchunks;
	h.dsn_ret = e->dsn_ret;
	h.dsn_flags = e->dsn_flags;
	h.delay_due = e->delay_due;
	h.scan = e->scan;
	memcpy(buf, &h, sizeof(h));
	return qrecord_pack_strs(e, qenv_strs, QENV_NSTRS, buf, sizeof(h));
}

size_t
qstore_rcpt_pack(const struct qrcpt_rec *rr, void *buf)
{
	struct qrcpt_packed	 h;

	memset(&h, 0, sizeof(h));
	h.version = QSTORE_VERSION;
	h.state = rr->state;
	h.attempts = rr->attempts;
	h.notify = rr->notify;
	h.next_try = rr->next_try;
	memcpy(buf, &h, sizeof(h));
	return qrecord_pack_strs(rr, qrcpt_strs, QRCPT_NSTRS, buf, sizeof(h));
}

/*
 * A record of size bytes read into e's memory, of any version, as the
 * struct; -1 if it cannot be one (its numbers are kept when only its
 * strings are broken, so that a damaged message can still be removed).
 */
int
qstore_env_load(struct qenv_rec *e, size_t size)
{
	struct qenv_packed	 h;
	int			 r;

	if (size < sizeof(uint32_t) || size > sizeof(*e))
		return -1;
	if (e->version < QSTORE_VERSION_PACKED) {
		if (size < QENV_REC_V2_SIZE)
			return -1;
		qstore_env_upgrade(e, size);
		return 0;
	}
	if ((r = qrecord_unpack(e, sizeof(*e), size, &h, sizeof(h), qenv_strs,
	    QENV_NSTRS)) == -1)
		return -1;
	e->version = h.version;
	e->flags = h.flags;
	e->created = h.created;
	e->size = h.size;
	e->nrcpt = h.nrcpt;
	e->nchunks = h.nchunks;
	e->dsn_ret = h.dsn_ret;
	e->dsn_flags = h.dsn_flags;
	e->delay_due = h.delay_due;
	e->scan = h.scan;
	return r == 0 ? 0 : -1;
}

int
qstore_rcpt_load(struct qrcpt_rec *rr, size_t size)
{
	struct qrcpt_packed	 h;
	int			 r;

	if (size < sizeof(uint32_t) || size > sizeof(*rr))
		return -1;
	if (rr->version < QSTORE_VERSION_PACKED) {
		if (size < QRCPT_REC_V3_MIN && size != QRCPT_REC_V2_SIZE)
			return -1;
		if (size < sizeof(*rr))
			memset((char *)rr + size, 0, sizeof(*rr) - size);
		rr->rcpt[sizeof(rr->rcpt) - 1] = '\0';
		rr->domain[sizeof(rr->domain) - 1] = '\0';
		rr->gateway[sizeof(rr->gateway) - 1] = '\0';
		rr->last_reply[sizeof(rr->last_reply) - 1] = '\0';
		rr->orcpt[sizeof(rr->orcpt) - 1] = '\0';
		return 0;
	}
	if ((r = qrecord_unpack(rr, sizeof(*rr), size, &h, sizeof(h),
	    qrcpt_strs, QRCPT_NSTRS)) == -1)
		return -1;
	rr->version = h.version;
	rr->state = h.state;
	rr->attempts = h.attempts;
	rr->notify = h.notify;
	rr->next_try = h.next_try;
	return r == 0 ? 0 : -1;
}

/* The sizes a record of each version may have. */
struct qrecord_sizes {
	size_t	 min;
	size_t	 max;
};

static const struct qrecord_sizes qenv_sizes[QSTORE_VERSION + 1] = {
	[1] = { QENV_REC_V2_SIZE, QENV_REC_V2_SIZE },
	[2] = { QENV_REC_V2_SIZE, QENV_REC_V2_SIZE },
	[3] = { QENV_REC_V3_SIZE, QENV_REC_V3_SIZE },
	[4] = { sizeof(struct qenv_rec), sizeof(struct qenv_rec) },
	[5] = { sizeof(struct qenv_rec), sizeof(struct qenv_rec) },
	[6] = { QENV_PACKED_MIN, QENV_PACKED_MAX },
};

static const struct qrecord_sizes qrcpt_sizes[QSTORE_VERSION + 1] = {
	[1] = { QRCPT_REC_V2_SIZE, QRCPT_REC_V2_SIZE },
	[2] = { QRCPT_REC_V2_SIZE, QRCPT_REC_V2_SIZE },
	[3] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
	[4] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
	[5] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
	[6] = { QRCPT_PACKED_MIN, QRCPT_PACKED_MAX },
};

/* Quarantine records: up to version 4 without kind, expiry and who. */
static const struct qrecord_sizes qquar_sizes[QSTORE_VERSION + 1] = {
	[1] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[2] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[3] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[4] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[5] = { sizeof(struct qquar_rec), sizeof(struct qquar_rec) },
	[6] = { sizeof(struct qquar_rec), sizeof(struct qquar_rec) },
};

static int
qrecord_layout(const DBT *d, const struct qrecord_sizes *sizes,
    uint32_t version, char *why, size_t whysz, const char *what)
{
	if (version == 0 || version > QSTORE_VERSION) {
		snprintf(why, whysz, "%s record of unknown version %u", what,
		    version);
		return -1;
	}
	if (d->size < sizes[version].min || d->size > sizes[version].max) {
		snprintf(why, whysz, "%s record of %u bytes, not the size of "
		    "version %u", what, d->size, version);
		return -1;
	}
	return 0;
}

/*
 * The envelope as this release reads it, from a record of size bytes read
 * into e: what lies past the record, and the fields its version did not
 * have, are zero.  By version as well as by size: a reader that reads in
 * place may hold old bytes past a shorter record.
 */
void
qstore_env_upgrade(struct qenv_rec *e, size_t size)
{
	if (size < sizeof(*e))
		memset((char *)e + size, 0, sizeof(*e) - size);
	if (e->version < 4) {
		e->scan = 0;
		e->pad4 = 0;
	}
}

int
qstore_env_read(const DBT *d, struct qenv_rec *e, char *why, size_t whysz)
{
	if (d->data != e) {	/* else read in place */
		memset(e, 0, sizeof(*e));
		memcpy(e, d->data, d->size < sizeof(*e) ? d->size :
		    sizeof(*e));
	}
	if (qrecord_layout(d, qenv_sizes, e->version, why, whysz,
	    "envelope") == -1)
		return -1;
	if (qstore_env_load(e, d->size) == -1) {
		snprintf(why, whysz, "envelope with a broken text field");
		return -1;
	}
	e->sender[sizeof(e->sender) - 1] = '\0';
	e->gateway[sizeof(e->gateway) - 1] = '\0';
	if (e->nrcpt == 0) {
		snprintf(why, whysz, "envelope with no recipient");
		return -1;
	}
	if ((e->size == 0) != (e->nchunks == 0) || e->nchunks >
	    e->size / QSTORE_BODY_CHUNK + 1) {
		snprintf(why, whysz, "envelope: %u body pieces for %llu bytes",
		    e->nchunks, (unsigned long long)e->size);
		return -1;
	}
	if ((e->scan & ~(uint32_t)BW_SCAN_ALL) != 0) {
		snprintf(why, whysz, "envelope with unknown scan flags 0x%x",
		    e->scan);
		return -1;
	}
	return 0;
}

/*
 * The envelope of a message being committed (the caller adds the delay
 * warning's due time, which needs the configuration, and packs it).
 */
void
qstore_env_fill(struct qenv_rec *e, const struct qmsg *m)
{
	memset(e, 0, sizeof(*e));
	e->version = QSTORE_VERSION;
	e->flags = m->flags;
	e->created = m->created;
	e->size = m->size;
	e->nrcpt = m->nrcpt;
	e->nchunks = m->nexts;
	strlcpy(e->sender, m->sender, sizeof(e->sender));
	strlcpy(e->helo, m->helo, sizeof(e->helo));
	strlcpy(e->client_addr, m->client_addr, sizeof(e->client_addr));
	strlcpy(e->client_name, m->client_name, sizeof(e->client_name));
	strlcpy(e->listener, m->listener, sizeof(e->listener));
	strlcpy(e->gateway, m->gateway[0] ? m->gateway :
	    QUEUED_GATEWAY_DEFAULT, sizeof(e->gateway));
	e->dsn_ret = m->dsn_ret;
	strlcpy(e->envid, m->envid, sizeof(e->envid));
	e->scan = m->scan_flags;
}

int
qstore_rcpt_read(const DBT *d, struct qrcpt_rec *rr, char *why, size_t whysz)
{
	if (d->data != rr) {	/* else read in place */
		memset(rr, 0, sizeof(*rr));
		memcpy(rr, d->data, d->size < sizeof(*rr) ? d->size :
		    sizeof(*rr));
	}
	if (qrecord_layout(d, qrcpt_sizes, rr->version, why, whysz,
	    "recipient") == -1)
		return -1;
	if (qstore_rcpt_load(rr, d->size) == -1) {
		snprintf(why, whysz, "recipient record with a broken text "
		    "field");
		return -1;
	}
	if (rr->state >= BW_RCPT_STATE__COUNT) {
		snprintf(why, whysz, "recipient in unknown state %u",
		    rr->state);
		return -1;
	}
	if (memchr(rr->rcpt, '\0', sizeof(rr->rcpt)) == NULL ||
	    memchr(rr->domain, '\0', sizeof(rr->domain)) == NULL ||
	    memchr(rr->gateway, '\0', sizeof(rr->gateway)) == NULL ||
	    rr->domain[0] == '\0' || rr->gateway[0] == '\0') {
		snprintf(why, whysz, "recipient record with a broken address, "
		    "domain or gateway");
		return -1;
	}
	return 0;
}

int
qstore_ext_read(const DBT *d, struct qseg_ext *x, char *why, size_t whysz)
{
	if (d->size != sizeof(*x)) {
		snprintf(why, whysz, "piece record of %u bytes, not %zu",
		    d->size, sizeof(*x));
		return -1;
	}
	if (d->data != x)
		memcpy(x, d->data, sizeof(*x));
	if (x->len == 0 || x->len > QSTORE_BODY_CHUNK ||
	    x->off % QSEG_ALIGN != 0) {
		snprintf(why, whysz, "piece record with length %u at offset "
		    "%llu", x->len, (unsigned long long)x->off);
		return -1;
	}
	return 0;
}

/*
 * A quarantine record as this release reads it: an older one (bwctl queue
 * repair's, before held and deleted messages) is of kind damaged, with no
 * expiry and nobody named.
 */
int
qstore_quar_read(const DBT *d, struct qquar_rec *q, char *why, size_t whysz)
{
	if (d->data != q) {	/* else read in place */
		memset(q, 0, sizeof(*q));
		memcpy(q, d->data, d->size < sizeof(*q) ? d->size :
		    sizeof(*q));
	}
	if (qrecord_layout(d, qquar_sizes, q->version, why, whysz,
	    "quarantine") == -1)
		return -1;
	if (q->version < 5) {
		memset((char *)q + QQUAR_REC_V4_SIZE, 0,
		    sizeof(*q) - QQUAR_REC_V4_SIZE);
		q->kind = QQUAR_DAMAGED;
	}
	if (q->kind > QQUAR_DELETED) {
		snprintf(why, whysz, "quarantine record of unknown kind %u",
		    q->kind);
		return -1;
	}
	q->why[sizeof(q->why) - 1] = '\0';
	q->who[sizeof(q->who) - 1] = '\0';
	return 0;
}
