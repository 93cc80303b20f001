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
_Static_assert(QSTORE_VERSION == 5, "a new version needs its sizes below");

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
};

static const struct qrecord_sizes qrcpt_sizes[QSTORE_VERSION + 1] = {
	[1] = { QRCPT_REC_V2_SIZE, QRCPT_REC_V2_SIZE },
	[2] = { QRCPT_REC_V2_SIZE, QRCPT_REC_V2_SIZE },
	[3] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
	[4] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
	[5] = { QRCPT_REC_V3_MIN, sizeof(struct qrcpt_rec) },
};

/* Quarantine records: up to version 4 without kind, expiry and who. */
static const struct qrecord_sizes qquar_sizes[QSTORE_VERSION + 1] = {
	[1] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[2] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[3] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[4] = { QQUAR_REC_V4_SIZE, QQUAR_REC_V4_SIZE },
	[5] = { sizeof(struct qquar_rec), sizeof(struct qquar_rec) },
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
	qstore_env_upgrade(e, d->size);
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
 * The envelope record of a message being committed (the caller adds the
 * delay warning's due time, which needs the configuration).
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
