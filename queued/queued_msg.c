/*
 * Messages being received: from MSG_OPEN to the reply to MSG_COMMIT.
 * Nothing of an open message is in the store: its body is kept in memory up
 * to queue_body_memory, the rest in an unlinked temporary file in the spool
 * (O_TMPFILE where the system has it), so a crash or an abort leaves no
 * trace.  Open messages are found by qid in a hash table sized for
 * queue_max_open_messages.
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

static struct qmsg	**qmsg_hash;
static size_t		  qmsg_hash_mask;
static size_t		  qmsg_count;

/* Size the hash for max_open messages (a power of two, load <= 1). */
void
qmsg_init(size_t max_open)
{
	size_t	 n = 1024;

	while (n < max_open && n < ((size_t)1 << 24))
		n <<= 1;
	if ((qmsg_hash = calloc(n, sizeof(*qmsg_hash))) == NULL)
		fatal("open message table");
	qmsg_hash_mask = n - 1;
}

void
qmsg_table_free(void)
{
	free(qmsg_hash);
	qmsg_hash = NULL;
}

/* FNV-1a over the qid. */
static size_t
qmsg_slot(const char *qid)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < BW_QID_LEN && qid[i] != '\0'; i++) {
		h ^= (unsigned char)qid[i];
		h *= 16777619u;
	}
	return h & qmsg_hash_mask;
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
	size_t		 slot;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->spill_fd = -1;
	m->state = QMSG_OPEN;
	m->reqid = o->reqid;
	m->flags = o->flags;
	m->created = bw_time();
	BW_IMSG_STR(m->sender, o->sender);
	BW_IMSG_STR(m->helo, o->helo);
	BW_IMSG_STR(m->client_addr, o->client_addr);
	BW_IMSG_STR(m->client_name, o->client_name);
	BW_IMSG_STR(m->listener, o->listener);
	bw_qid_new(m->qid);
	slot = qmsg_slot(m->qid);
	m->hnext = qmsg_hash[slot];
	qmsg_hash[slot] = m;
	m->qp = qp;
	TAILQ_INSERT_TAIL(&qp->msgs, m, pentry);
	qmsg_count++;
	return m;
}

struct qmsg *
qmsg_find(const char *qid)
{
	struct qmsg	*m;

	for (m = qmsg_hash[qmsg_slot(qid)]; m != NULL; m = m->hnext)
		if (strcmp(m->qid, qid) == 0)
			return m;
	return NULL;
}

/* 0, or -1 when the recipient limit is passed (message marked failed). */
int
qmsg_rcpt_add(struct qmsg *m, const char *rcpt)
{
	long long	 max = BW_LIMIT(&q_env->d.cfg, LIM_SMTPD_MAX_RECIPIENTS);
	uint32_t	 n;
	char		**v;

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
		m->rcpt_alloc = n;
	}
	if ((m->rcpts[m->nrcpt] = strdup(rcpt)) == NULL)
		goto fail;
	m->nrcpt++;
	return 0;
fail:
	log_warn("%s cannot keep recipient", m->qid);
	m->fail = BW_SUBMIT_TEMPFAIL;
	return -1;
}

/* An unlinked file in the spool for the part of the body past memory. */
static int
qmsg_spill_open(struct qmsg *m)
{
	const char	*spool = q_env->d.cfg.spool_dir;
	char		 path[PATH_MAX];
	int		 fd;

#ifdef O_TMPFILE
	if ((fd = open(spool, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	/* no O_TMPFILE: create, then unlink at once */
	if (snprintf(path, sizeof(path), "%s/spill.XXXXXX", spool) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		close(fd);
		return -1;
	}
	(void)m;
	return fd;
}

static int
qmsg_write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Append body bytes: 0, or -1 when the message failed (size, memory, disk). */
int
qmsg_data_add(struct qmsg *m, const void *data, size_t len)
{
	long long	 maxsize = BW_LIMIT(&q_env->d.cfg, LIM_MESSAGE_SIZE_LIMIT);
	size_t		 memmax = (size_t)BW_LIMIT(&q_env->d.cfg,
			    LIM_QUEUE_BODY_MEMORY);
	const unsigned char *p = data;
	size_t		 n, cap;
	unsigned char	*nm;

	if (m->fail != BW_SUBMIT_OK)
		return -1;
	if (m->size + len > (uint64_t)maxsize) {
		m->fail = BW_SUBMIT_TOOBIG;
		return -1;
	}
	/* memory part */
	if (m->spill_fd == -1 && m->memlen < memmax) {
		n = memmax - m->memlen < len ? memmax - m->memlen : len;
		if (m->memlen + n > m->memcap) {
			cap = m->memcap ? m->memcap : QMSG_MEM_INITIAL;
			while (cap < m->memlen + n)
				cap *= 2;
			if (cap > memmax)
				cap = memmax;
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
	if (len == 0)
		return 0;
	/* the rest goes to the spill file */
	if (m->spill_fd == -1) {
		if ((m->spill_fd = qmsg_spill_open(m)) == -1) {
			log_warn("%s cannot create spill file in %s", m->qid,
			    q_env->d.cfg.spool_dir);
			m->fail = BW_SUBMIT_TEMPFAIL;
			return -1;
		}
		q_env->c_spills++;
	}
	if (qmsg_write_all(m->spill_fd, p, len) == -1) {
		log_warn("%s cannot write spill file", m->qid);
		m->fail = errno == ENOSPC ? BW_SUBMIT_NOSPACE :
		    BW_SUBMIT_TEMPFAIL;
		return -1;
	}
	m->size += len;
	return 0;
}

/* Read body bytes [off, off+len) back: bytes read or -1. */
ssize_t
qmsg_body_read(struct qmsg *m, uint64_t off, void *buf, size_t len)
{
	unsigned char	*p = buf;
	size_t		 done = 0, n;
	ssize_t		 r;

	if (off + len > m->size)
		len = (size_t)(m->size - off);
	if (off < m->memlen) {
		n = m->memlen - (size_t)off < len ? m->memlen - (size_t)off :
		    len;
		memcpy(p, m->mem + off, n);
		done += n;
	}
	while (done < len) {
		r = pread(m->spill_fd, p + done, len - done,
		    (off_t)(off + done - m->memlen));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
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
	struct qmsg	**pp;
	uint32_t	  i;

	for (pp = &qmsg_hash[qmsg_slot(m->qid)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	qmsg_detach(m);
	for (i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->mem);
	if (m->spill_fd != -1)
		close(m->spill_fd);
	qmsg_count--;
	free(m);
}
