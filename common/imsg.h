/*
 * imsg-style framing over Unix stream sockets, with file-descriptor passing
 * (SCM_RIGHTS).  A frame is a fixed header followed by a payload of at most
 * BW_IMSG_MAX_PAYLOAD bytes.  This layer checks only the framing (length
 * bounds, fd accounting); the message catalog (imsg_catalog.h) checks type,
 * sender role and payload size before any handler runs.
 *
 * Trust: nothing.  A header whose length is out of bounds, or that claims a
 * descriptor that did not arrive, makes bw_ibuf_get() fail; the caller drops
 * the peer.
 */
#ifndef BW_IMSG_H
#define BW_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#define BW_IMSG_MAX_PAYLOAD	(64 * 1024)	/* largest payload of one frame */
#define BW_IMSG_MAX_FDS		16	/* descriptors received but not yet claimed */
#define BW_IMSG_F_FD		0x1	/* a descriptor travels with this frame */

struct bw_imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* payload length, header excluded */
	uint32_t	 peerid;	/* correlation id chosen by the sender */
	uint32_t	 pid;		/* sender's pid */
	uint32_t	 flags;		/* BW_IMSG_F_* */
};
#define BW_IMSG_HDR_SIZE	sizeof(struct bw_imsg_hdr)

/* A received frame.  data points into the ibuf and stays valid until the
 * next bw_ibuf_get() or bw_ibuf_read(); fd belongs to the caller (-1: none). */
struct bw_imsg {
	struct bw_imsg_hdr	 hdr;
	int			 fd;
	void			*data;
	size_t			 datalen;
};

struct bw_wframe {
	TAILQ_ENTRY(bw_wframe)	 entry;
	size_t			 len;
	size_t			 off;
	int			 fd;		/* sent with the first byte */
	unsigned char		 buf[];
};
TAILQ_HEAD(bw_wframe_list, bw_wframe);

struct bw_ibuf {
	int			 fd;
	unsigned char		*rbuf;		/* BW_IMSG_HDR_SIZE + MAX_PAYLOAD */
	size_t			 rsize;
	size_t			 rlen;		/* bytes in rbuf */
	size_t			 roff;		/* start of the unparsed bytes */
	int			 fds[BW_IMSG_MAX_FDS];
	int			 nfds;
	struct bw_wframe_list	 wq;
	size_t			 wqueued;	/* bytes queued for writing */
	size_t			 wframes;
};

/* 0 on success, -1 (errno set) on allocation failure. */
int	 bw_ibuf_init(struct bw_ibuf *, int fd);
/* Free buffers, close unclaimed and unsent descriptors; not the socket. */
void	 bw_ibuf_clear(struct bw_ibuf *);

/*
 * Read what the socket has.  Returns bytes read, 0 on EOF, -1 on error
 * (errno EAGAIN when nothing is there; EMSGSIZE when the peer passed more
 * descriptors than BW_IMSG_MAX_FDS).
 */
ssize_t	 bw_ibuf_read(struct bw_ibuf *);

/*
 * Take the next complete frame: 1 one was taken, 0 more bytes are needed,
 * -1 the stream is malformed (errno EBADMSG: length out of bounds or unknown
 * flags; ENOENT: a descriptor was announced but none was received).
 */
int	 bw_ibuf_get(struct bw_ibuf *, struct bw_imsg *);

/* Queue a frame; fd (or -1) is passed and closed after sending.  The
 * payload must be at most BW_IMSG_MAX_PAYLOAD.  0 or -1 (errno). */
int	 bw_ibuf_compose(struct bw_ibuf *, uint32_t type, uint32_t peerid,
	    int fd, const void *data, size_t len);
/* Same, payload gathered from two pieces (a fixed struct and a tail). */
int	 bw_ibuf_compose2(struct bw_ibuf *, uint32_t type, uint32_t peerid,
	    int fd, const void *d1, size_t l1, const void *d2, size_t l2);

/* Write what can be written: 1 all sent, 0 some remain (EAGAIN), -1 error. */
int	 bw_ibuf_write(struct bw_ibuf *);

#endif
