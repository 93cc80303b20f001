/*
 * Messages being received: from MSG_OPEN to the reply to MSG_COMMIT.
 * The body is gathered in memory and written to the current body segment
 * in pieces of QSTORE_BODY_CHUNK as it arrives, so memory per open message
 * stays below one piece whatever its size.  Nothing names the pieces until
 * the commit's transaction does: an abort releases them at once, and after
 * a crash the start-up recovery frees what no committed message covers.
 * Open messages are found by qid in a hash table sized at start for
 * queue_max_open_messages (it grows if a reload allows more).
 *
 * Trust: body bytes and recipients come from smtpd and are bounded here
 * (message_size_limit, smtpd_max_recipients) whatever smtpd claims; past a
 * bound the message is marked failed and its later data dropped, so its
 * commit gets TOOBIG or TOOMANY.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QMSG_MEM_INITIAL	4096	/* first body buffer */

#define QMSG_TABLE_MIN		1024	/* open message table: first size */

static const struct bw_htab_type qmsg_htype = {
	.name = "open messages",
	.link_off = offsetof(struct qmsg, hlink),
	.key_off = offsetof(struct qmsg, qid),
	.key_len = BW_HTAB_KEY_STRING,
};
static struct bw_htab	 qmsg_tab = BW_HTAB_INITIALIZER(&qmsg_htype,
    BW_HTAB_MAX);
static size_t		 qmsg_count;

/* Size the table for max_open messages (load <= 1 up to there). */
void
qmsg_init(size_t max_open)
{
	if (bw_htab_reserve(&qmsg_tab, max_open < QMSG_TABLE_MIN ?
	    QMSG_TABLE_MIN : max_open) == -1)
		fatal("open message table");
}

void
qmsg_table_free(void)
{
	bw_htab_free(&qmsg_tab);
}

size_t
qmsg_open_count(void)
{
	return qmsg_count;
}

struct qmsg *
qmsg_new(struct qpeer *qp, const struct bw_msg_open *o)
{
	struct qmsg	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->state = QMSG_OPEN;
	/* a reload while it is received does not change its limits */
	m->cfg = config_ref(q_env->d.cfg);
	m->reqid = o->reqid;
	m->flags = o->flags;
	m->created = bw_time();
	BW_IMSG_STR(m->sender, o->sender);
	BW_IMSG_STR(m->helo, o->helo);
	BW_IMSG_STR(m->client_addr, o->client_addr);
	BW_IMSG_STR(m->client_name, o->client_name);
	BW_IMSG_STR(m->listener, o->listener);
	/* smtpd names the listener: it gets no more than a listener's set */
	m->lim = config_limits_for_policy(m->cfg, m->listener, o->policy);
	m->dsn_ret = o->dsn_ret;	/* checked by queued_smtpd.c */
	BW_IMSG_STR(m->envid, o->envid);
	m->scan_flags = o->scan_flags;	/* checked by queued_smtpd.c */
	bw_qid_new(m->qid);
	if (bw_htab_insert(&qmsg_tab, m) == -1) {
		log_warn("%s open: cannot add to the open message table",
		    m->qid);
		config_unref(m->cfg);
		free(m);
		return NULL;
	}
	m->qp = qp;
	TAILQ_INSERT_TAIL(&qp->msgs, m, pentry);
	qmsg_count++;
	return m;
}

struct qmsg *
qmsg_find(const char *qid)
{
	return bw_htab_find_str(&qmsg_tab, qid);
}

/*
 * 0, or -1 when the recipient limit is passed (message marked failed).
 * notify and orcpt are the RCPT's DSN parameters as smtpd sent them.
 */
int
qmsg_rcpt_add(struct qmsg *m, const char *rcpt, uint32_t notify,
    const char *orcpt)
{
	long long	 max = m->lim->v[LIM_SMTPD_MAX_RECIPIENTS];
	uint32_t	 n, *nv;
	char		**v, **ov;

	if (m->fail != BW_SUBMIT_OK)
		return -1;
	if (m->nrcpt >= max) {
		m->fail = BW_SUBMIT_TOOMANY;
		return -1;
	}
	if (m->nrcpt == m->rcpt_alloc) {
		n = m->rcpt_alloc ? m->rcpt_alloc * 2 : 8;
		if ((v = reallocarray(m->rcpts, n, sizeof(*v))) == NULL)
			goto fail;
		m->rcpts = v;
		if ((nv = reallocarray(m->notify, n, sizeof(*nv))) == NULL)
			goto fail;
		m->notify = nv;
		if ((ov = reallocarray(m->orcpt, n, sizeof(*ov))) == NULL)
			goto fail;
		m->orcpt = ov;
		m->rcpt_alloc = n;
	}
	m->notify[m->nrcpt] = notify & BW_DSN_NOTIFY_ALL;
	m->orcpt[m->nrcpt] = NULL;
	if (orcpt[0] != '\0' && (m->orcpt[m->nrcpt] = strdup(orcpt)) == NULL)
		goto fail;
	if ((m->rcpts[m->nrcpt] = strdup(rcpt)) == NULL) {
		free(m->orcpt[m->nrcpt]);
		goto fail;
	}
	m->nrcpt++;
	return 0;
fail:
	log_warn("%s cannot keep recipient", m->qid);
	m->fail = BW_SUBMIT_TEMPFAIL;
	return -1;
}

/*
 * Write the buffered body out as pieces: 0, or -1 with the message marked
 * failed (NOSPACE or TEMPFAIL).  Also used for a DSN built in memory, whose
 * buffer may hold more than one piece.
 */
int
qmsg_body_flush(struct qmsg *m)
{
	struct qseg_ext	*v;
	size_t		 off, n;
	uint32_t	 cap;

	for (off = 0; off < m->memlen; off += n) {
		n = m->memlen - off > QSTORE_BODY_CHUNK ? QSTORE_BODY_CHUNK :
		    m->memlen - off;
		if (m->nexts == m->exts_cap) {
			cap = m->exts_cap ? m->exts_cap * 2 : 4;
			if ((v = reallocarray(m->exts, cap, sizeof(*v))) ==
			    NULL) {
				log_warn("%s cannot keep body pieces", m->qid);
				m->fail = BW_SUBMIT_TEMPFAIL;
				return -1;
			}
			m->exts = v;
			m->exts_cap = cap;
		}
		if (qseg_write(q_env->store.seg, m->mem + off, n,
		    &m->exts[m->nexts]) == -1) {
			/*
			 * EIO says the file system is failing: nothing
			 * written since the last good sync is certain any
			 * more.  A full disk refuses this message and leaves
			 * the file as it was; anything else (no descriptor
			 * for a new segment, say) fails this message only.
			 */
			if (errno == EIO) {
				qstore_fail(&q_env->store, "%s write of a body "
				    "piece: %s", m->qid, strerror(errno));
				qfail_storage();
			}
			log_warn("%s cannot write the body to the spool",
			    m->qid);
			if (errno == ENOSPC || errno == EDQUOT) {
				m->fail = BW_SUBMIT_NOSPACE;
				qspace_recheck();
			} else
				m->fail = BW_SUBMIT_TEMPFAIL;
			return -1;
		}
		m->nexts++;
	}
	m->memlen = 0;
	return 0;
}

/* Release the pieces no transaction names (abort, failed commit). */
void
qmsg_body_release(struct qmsg *m)
{
	uint32_t	 i;

	for (i = 0; i < m->nexts; i++)
		qseg_release(q_env->store.seg, &m->exts[i]);
	qstore_punch_schedule(&q_env->store, q_env->d.base);
	m->nexts = 0;
	free(m->exts);
	m->exts = NULL;
	m->exts_cap = 0;
}

/* Append body bytes: 0, or -1 when the message failed (size, memory, disk). */
int
qmsg_data_add(struct qmsg *m, const void *data, size_t len)
{
	long long	 maxsize = m->lim->v[LIM_MESSAGE_SIZE_LIMIT];
	const unsigned char *p = data;
	size_t		 n, cap;
	unsigned char	*nm;

	if (m->fail != BW_SUBMIT_OK)
		return -1;
	if (m->size + len > (uint64_t)maxsize) {
		m->fail = BW_SUBMIT_TOOBIG;
		return -1;
	}
	while (len > 0) {
		if (m->memlen == QSTORE_BODY_CHUNK &&
		    qmsg_body_flush(m) == -1)
			return -1;
		n = QSTORE_BODY_CHUNK - m->memlen < len ?
		    QSTORE_BODY_CHUNK - m->memlen : len;
		if (m->memlen + n > m->memcap) {
			cap = m->memcap ? m->memcap : QMSG_MEM_INITIAL;
			while (cap < m->memlen + n)
				cap *= 2;
			if (cap > QSTORE_BODY_CHUNK)
				cap = QSTORE_BODY_CHUNK;
			if ((nm = realloc(m->mem, cap)) == NULL) {
				log_warn("%s cannot buffer body", m->qid);
				m->fail = BW_SUBMIT_TEMPFAIL;
				return -1;
			}
			m->mem = nm;
			m->memcap = cap;
		}
		memcpy(m->mem + m->memlen, p, n);
		m->memlen += n;
		m->size += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* The peer is gone: keep the message (it is being committed), unowned. */
void
qmsg_detach(struct qmsg *m)
{
	if (m->qp != NULL)
		TAILQ_REMOVE(&m->qp->msgs, m, pentry);
	m->qp = NULL;
}

void
qmsg_free(struct qmsg *m)
{
	uint32_t	 i;

	bw_htab_remove(&qmsg_tab, m);
	qmsg_detach(m);
	for (i = 0; i < m->nrcpt; i++) {
		free(m->rcpts[i]);
		free(m->orcpt[i]);
	}
	free(m->rcpts);
	free(m->notify);
	free(m->orcpt);
	free(m->mem);
	qmsg_body_release(m);
	config_unref(m->cfg);
	qmsg_count--;
	free(m);
}
