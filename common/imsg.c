/*
 * Framing over Unix stream sockets with descriptor passing.  See imsg.h.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IBUF_RSIZE	(BW_IMSG_HDR_SIZE + BW_IMSG_MAX_PAYLOAD)
#define IBUF_IOV_MAX	64	/* frames gathered by one sendmsg() */

int
bw_ibuf_init(struct bw_ibuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	if ((ibuf->rbuf = malloc(IBUF_RSIZE)) == NULL)
		return -1;
	ibuf->fd = fd;
	ibuf->rsize = IBUF_RSIZE;
	TAILQ_INIT(&ibuf->wq);
	return 0;
}

void
bw_ibuf_clear(struct bw_ibuf *ibuf)
{
	struct bw_wframe	*wf;
	int			 i;

	for (i = 0; i < ibuf->nfds; i++)
		close(ibuf->fds[i]);
	ibuf->nfds = 0;
	while ((wf = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, wf, entry);
		if (wf->fd != -1)
			close(wf->fd);
		free(wf);
	}
	ibuf->wqueued = 0;
	ibuf->wframes = 0;
	free(ibuf->rbuf);
	ibuf->rbuf = NULL;
	ibuf->rlen = ibuf->roff = ibuf->rsize = 0;
}

/* Keep the descriptors that came with the bytes; -1 if there are too many. */
static int
ibuf_take_fds(struct bw_ibuf *ibuf, struct msghdr *msg)
{
	struct cmsghdr	*cm;
	int		*fds, n, i, overflow = 0;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			if (ibuf->nfds < BW_IMSG_MAX_FDS)
				ibuf->fds[ibuf->nfds++] = fds[i];
			else {
				close(fds[i]);
				overflow = 1;
			}
		}
	}
	if (overflow || (msg->msg_flags & MSG_CTRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

ssize_t
bw_ibuf_read(struct bw_ibuf *ibuf)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BW_IMSG_MAX_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	ssize_t		 n;

	/* Move the unparsed tail to the front so a whole frame fits. */
	if (ibuf->roff > 0) {
		memmove(ibuf->rbuf, ibuf->rbuf + ibuf->roff,
		    ibuf->rlen - ibuf->roff);
		ibuf->rlen -= ibuf->roff;
		ibuf->roff = 0;
	}
	if (ibuf->rlen == ibuf->rsize) {
		/* a complete frame is waiting for bw_ibuf_get() */
		errno = EAGAIN;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = ibuf->rsize - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (ibuf_take_fds(ibuf, &msg) == -1)
		return -1;
	ibuf->rlen += (size_t)n;
	return n;
}

int
bw_ibuf_get(struct bw_ibuf *ibuf, struct bw_imsg *imsg)
{
	struct bw_imsg_hdr	 hdr;
	size_t			 avail = ibuf->rlen - ibuf->roff;

	if (avail < BW_IMSG_HDR_SIZE)
		return 0;
	memcpy(&hdr, ibuf->rbuf + ibuf->roff, sizeof(hdr));
	if (hdr.len > BW_IMSG_MAX_PAYLOAD || (hdr.flags & ~BW_IMSG_F_FD)) {
		errno = EBADMSG;
		return -1;
	}
	if (avail < BW_IMSG_HDR_SIZE + hdr.len)
		return 0;
	imsg->fd = -1;
	if (hdr.flags & BW_IMSG_F_FD) {
		/* the descriptor travels with the frame's first byte */
		if (ibuf->nfds == 0) {
			errno = ENOENT;
			return -1;
		}
		imsg->fd = ibuf->fds[0];
		memmove(ibuf->fds, ibuf->fds + 1,
		    (size_t)(ibuf->nfds - 1) * sizeof(int));
		ibuf->nfds--;
	}
	imsg->hdr = hdr;
	imsg->data = ibuf->rbuf + ibuf->roff + BW_IMSG_HDR_SIZE;
	imsg->datalen = hdr.len;
	ibuf->roff += BW_IMSG_HDR_SIZE + hdr.len;
	return 1;
}

int
bw_ibuf_compose2(struct bw_ibuf *ibuf, uint32_t type, uint32_t peerid,
    int fd, const void *d1, size_t l1, const void *d2, size_t l2)
{
	static pid_t		 mypid;
	struct bw_wframe	*wf;
	struct bw_imsg_hdr	 hdr;

	if (l1 > BW_IMSG_MAX_PAYLOAD || l2 > BW_IMSG_MAX_PAYLOAD - l1) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((wf = malloc(sizeof(*wf) + BW_IMSG_HDR_SIZE + l1 + l2)) == NULL)
		return -1;
	if (mypid == 0)
		mypid = getpid();
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)(l1 + l2);
	hdr.peerid = peerid;
	hdr.pid = (uint32_t)mypid;
	hdr.flags = fd != -1 ? BW_IMSG_F_FD : 0;
	memcpy(wf->buf, &hdr, sizeof(hdr));
	if (l1 > 0)
		memcpy(wf->buf + BW_IMSG_HDR_SIZE, d1, l1);
	if (l2 > 0)
		memcpy(wf->buf + BW_IMSG_HDR_SIZE + l1, d2, l2);
	wf->len = BW_IMSG_HDR_SIZE + l1 + l2;
	wf->off = 0;
	wf->fd = fd;
	TAILQ_INSERT_TAIL(&ibuf->wq, wf, entry);
	ibuf->wqueued += wf->len;
	ibuf->wframes++;
	return 0;
}

int
bw_ibuf_compose(struct bw_ibuf *ibuf, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	return bw_ibuf_compose2(ibuf, type, peerid, fd, data, len, NULL, 0);
}

/* Account for n sent bytes; frames fully sent are freed. */
static void
ibuf_consume(struct bw_ibuf *ibuf, size_t n)
{
	struct bw_wframe	*wf;
	size_t			 take;

	while (n > 0 && (wf = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		if (wf->fd != -1) {
			/* the kernel holds its own reference once sent */
			close(wf->fd);
			wf->fd = -1;
		}
		take = wf->len - wf->off;
		if (take > n)
			take = n;
		wf->off += take;
		ibuf->wqueued -= take;
		n -= take;
		if (wf->off == wf->len) {
			TAILQ_REMOVE(&ibuf->wq, wf, entry);
			ibuf->wframes--;
			free(wf);
		}
	}
}

int
bw_ibuf_write(struct bw_ibuf *ibuf)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec		 iov[IBUF_IOV_MAX];
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct bw_wframe	*wf;
	ssize_t			 n;
	int			 niov;

	while (!TAILQ_EMPTY(&ibuf->wq)) {
		memset(&msg, 0, sizeof(msg));
		niov = 0;
		TAILQ_FOREACH(wf, &ibuf->wq, entry) {
			/* a descriptor must go with its own frame's first byte */
			if (niov > 0 && wf->fd != -1)
				break;
			iov[niov].iov_base = wf->buf + wf->off;
			iov[niov].iov_len = wf->len - wf->off;
			if (++niov == IBUF_IOV_MAX)
				break;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		wf = TAILQ_FIRST(&ibuf->wq);
		if (wf->fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cm), &wf->fd, sizeof(int));
		}
		do {
			n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		ibuf_consume(ibuf, (size_t)n);
	}
	return 1;
}
