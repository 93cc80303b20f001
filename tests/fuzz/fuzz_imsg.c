/*
 * Fuzz target: imsg frames from a peer process (common/imsg.c and the
 * catalog in common/imsg_catalog.c).
 *
 * The input is what a peer writes on its Unix socket.  It goes through a
 * real socket pair, in pieces, with up to three descriptors passed
 * (SCM_RIGHTS) at the start, and the receiver does what peer.c does:
 * bw_ibuf_read(), bw_ibuf_get() until it fails or the bytes run out,
 * bw_imsg_check() of each frame against the sender's role (chosen by the
 * first byte, sometimes not a valid role at all), and the peer is dropped
 * at the first bad frame.  Frames that pass get what their receiving
 * handlers do first: the payload struct copied out of the unaligned
 * buffer, its strings copied with bw_imsg_str() and checked the way the
 * handlers check them (queue ids, DNS names, DNS_ANSWER's record count).
 *
 * Checked beyond "no crash": no frame longer than the catalog allows
 * reaches a handler, a frame that passes is at least the size of the
 * struct its handler copies, copied strings are terminated, and no
 * descriptor leaks (the lowest free descriptor is the same after).
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "imsg_catalog.h"
#include "log.h"
#include "util.h"
#include "dnscached.h"
#include "fuzz.h"

#define FUZZ_IMSG_FDS_MAX	3	/* descriptors passed with the bytes */
#define FUZZ_IMSG_STRS_MAX	8	/* string fields of one payload */

/* A string field of a payload struct. */
struct fuzz_str {
	size_t	 off;
	size_t	 size;
	int	 qid;		/* a queue id: bw_qid_valid() */
};
#define S(type, field)	{ offsetof(type, field), sizeof(((type *)0)->field), 0 }
#define Q(type, field)	{ offsetof(type, field), sizeof(((type *)0)->field), 1 }

/* What a receiver copies out of each frame before it acts on it. */
static const struct {
	uint32_t	 type;
	size_t		 size;		/* the struct the handler copies */
	struct fuzz_str	 strs[FUZZ_IMSG_STRS_MAX];
} fuzz_payloads[] = {
	{ BW_IMSG_HELLO, sizeof(struct bw_hello), { { 0, 0, 0 } } },
	{ BW_IMSG_MSG_OPEN, sizeof(struct bw_msg_open), {
	    S(struct bw_msg_open, sender), S(struct bw_msg_open, helo),
	    S(struct bw_msg_open, client_addr),
	    S(struct bw_msg_open, client_name),
	    S(struct bw_msg_open, listener), S(struct bw_msg_open, envid) } },
	{ BW_IMSG_MSG_RCPT, sizeof(struct bw_msg_rcpt), {
	    Q(struct bw_msg_rcpt, qid), S(struct bw_msg_rcpt, rcpt),
	    S(struct bw_msg_rcpt, orcpt) } },
	{ BW_IMSG_MSG_DATA, sizeof(struct bw_msg_data), {
	    Q(struct bw_msg_data, qid) } },
	{ BW_IMSG_MSG_COMMIT, sizeof(struct bw_msg_commit), {
	    Q(struct bw_msg_commit, qid) } },
	{ BW_IMSG_MSG_ABORT, sizeof(struct bw_msg_abort), {
	    Q(struct bw_msg_abort, qid) } },
	{ BW_IMSG_MSG_OPEN_REPLY, sizeof(struct bw_msg_open_reply), {
	    Q(struct bw_msg_open_reply, qid) } },
	{ BW_IMSG_MSG_COMMIT_REPLY, sizeof(struct bw_msg_commit_reply), {
	    Q(struct bw_msg_commit_reply, qid) } },
	{ BW_IMSG_STATUS, sizeof(struct bw_status), {
	    S(struct bw_status, proc) } },
	{ BW_IMSG_QUEUE_ENTRY, sizeof(struct bw_queue_entry), {
	    S(struct bw_queue_entry, gateway),
	    S(struct bw_queue_entry, domain),
	    S(struct bw_queue_entry, last_error) } },
	{ BW_IMSG_MESSAGE_SHOW_REQ, sizeof(struct bw_message_show_req), {
	    Q(struct bw_message_show_req, qid) } },
	{ BW_IMSG_MESSAGE_INFO, sizeof(struct bw_message_info), {
	    Q(struct bw_message_info, qid),
	    S(struct bw_message_info, sender),
	    S(struct bw_message_info, helo),
	    S(struct bw_message_info, client_addr),
	    S(struct bw_message_info, listener),
	    S(struct bw_message_info, gateway),
	    S(struct bw_message_info, envid) } },
	{ BW_IMSG_MESSAGE_RCPT, sizeof(struct bw_message_rcpt), {
	    Q(struct bw_message_rcpt, qid),
	    S(struct bw_message_rcpt, rcpt),
	    S(struct bw_message_rcpt, domain),
	    S(struct bw_message_rcpt, last_reply),
	    S(struct bw_message_rcpt, orcpt) } },
	{ BW_IMSG_MESSAGE_LIST_ENTRY, sizeof(struct bw_message_list_entry), {
	    Q(struct bw_message_list_entry, qid) } },
	{ BW_IMSG_CTL_CMD, sizeof(struct bw_ctl_cmd), { { 0, 0, 0 } } },
	{ BW_IMSG_DNS_QUERY, sizeof(struct bw_dns_query), {
	    S(struct bw_dns_query, name) } },
	{ BW_IMSG_DNS_ANSWER, sizeof(struct bw_dns_answer), {
	    S(struct bw_dns_answer, name) } },
	{ BW_IMSG_DLV_JOB, sizeof(struct bw_dlv_job), {
	    Q(struct bw_dlv_job, qid), S(struct bw_dlv_job, gateway),
	    S(struct bw_dlv_job, domain), S(struct bw_dlv_job, sender),
	    S(struct bw_dlv_job, envid) } },
	{ BW_IMSG_DLV_RCPT, sizeof(struct bw_dlv_rcpt), {
	    S(struct bw_dlv_rcpt, rcpt), S(struct bw_dlv_rcpt, orcpt) } },
	{ BW_IMSG_DLV_BODY, sizeof(struct bw_dlv_body), { { 0, 0, 0 } } },
	{ BW_IMSG_DLV_END, sizeof(struct bw_dlv_end), { { 0, 0, 0 } } },
	{ BW_IMSG_DLV_RESULT, sizeof(struct bw_dlv_result), {
	    S(struct bw_dlv_result, dsn), S(struct bw_dlv_result, relay),
	    S(struct bw_dlv_result, reply) } },
	{ BW_IMSG_DLV_DONE, sizeof(struct bw_dlv_done), {
	    S(struct bw_dlv_done, reason) } },
	{ BW_IMSG_DOMAIN_INFO_REQ, sizeof(struct bw_domain_info_req), {
	    S(struct bw_domain_info_req, gateway),
	    S(struct bw_domain_info_req, domain) } },
	{ BW_IMSG_DOMAIN_INFO, sizeof(struct bw_domain_info), {
	    S(struct bw_domain_info, gateway),
	    S(struct bw_domain_info, domain),
	    S(struct bw_domain_info, last_result) } },
	{ BW_IMSG_DOMAIN_HOST, sizeof(struct bw_domain_host), {
	    S(struct bw_domain_host, domain), S(struct bw_domain_host, host),
	    S(struct bw_domain_host, addr),
	    S(struct bw_domain_host, last_error) } },
	{ BW_IMSG_DOMAIN_CMD, sizeof(struct bw_domain_cmd), {
	    S(struct bw_domain_cmd, gateway),
	    S(struct bw_domain_cmd, domain) } },
	{ BW_IMSG_DOMAIN_CMD_REPLY, sizeof(struct bw_domain_cmd_reply), {
	    S(struct bw_domain_cmd_reply, gateway),
	    S(struct bw_domain_cmd_reply, domain),
	    S(struct bw_domain_cmd_reply, last_error),
	    S(struct bw_domain_cmd_reply, profile) } },
	{ BW_IMSG_MSG_COMMIT_CHECK, sizeof(struct bw_msg_commit_check), {
	    Q(struct bw_msg_commit_check, qid) } },
	{ BW_IMSG_QUEUE_VERIFY_REQ, sizeof(struct bw_queue_verify_req), {
	    Q(struct bw_queue_verify_req, qid) } },
	{ BW_IMSG_QUEUE_VERIFY_ROW, sizeof(struct bw_queue_verify_row), {
	    Q(struct bw_queue_verify_row, qid),
	    S(struct bw_queue_verify_row, what) } },
	{ BW_IMSG_QUEUE_VERIFY_END, sizeof(struct bw_queue_verify_end),
	    { { 0, 0, 0 } } },
	{ BW_IMSG_CONFIG_RELOAD, sizeof(struct bw_config_reload),
	    { { 0, 0, 0 } } },
	{ BW_IMSG_CONFIG_RELOAD_RESULT, sizeof(struct bw_config_reload_result), {
	    S(struct bw_config_reload_result, text) } },
};

/* Sender roles: each valid one, and values a broken peer could claim. */
static const int fuzz_roles[8] = {
	BW_ROLE_SMTPD, BW_ROLE_QUEUED, BW_ROLE_DELIVERD, BW_ROLE_DNSCACHED,
	BW_ROLE_CONTROLD, BW_ROLE_BWCTL, BW_ROLE_NONE,
	BW_ROLE_SMTPD | BW_ROLE_QUEUED,
};

/* One payload string, copied as the handlers copy it. */
static void
fuzz_imsg_str(const unsigned char *payload, const struct fuzz_str *fs)
{
	char	 dst[BW_CTL_TEXT_MAX + 1], esc[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	size_t	 len;

	FUZZ_CHECK(fs->size < sizeof(dst));
	bw_imsg_str(dst, fs->size + 1, (const char *)payload + fs->off,
	    fs->size);
	len = strlen(dst);
	FUZZ_CHECK(len <= fs->size);
	if (fs->qid && bw_qid_valid(dst))
		FUZZ_CHECK(len == BW_QID_LEN);
	log_escape(esc, sizeof(esc), dst, len);
	/* a destination smaller than the field: cut, still terminated */
	bw_imsg_str(dst, 4, (const char *)payload + fs->off, fs->size);
	FUZZ_CHECK(strlen(dst) < 4);
}

/* The variable parts a handler reads after its struct. */
static void
fuzz_imsg_tail(uint32_t type, const unsigned char *payload, size_t len)
{
	struct bw_dns_answer	 ans;
	struct bw_dns_query	 q;
	struct bw_dns_rr	 rr;
	char			 name[BW_DOMAIN_MAX + 1];
	uint32_t		 i;

	switch (type) {
	case BW_IMSG_DNS_QUERY:
		/* dnscached: the name must normalise before any lookup */
		memcpy(&q, payload, sizeof(q));
		BW_IMSG_STR(name, q.name);
		if (dns_name_normalise(name, sizeof(name), q.name,
		    sizeof(q.name)) == 0)
			FUZZ_CHECK(strlen(name) <= BW_DOMAIN_MAX);
		(void)dns_qtype_supported(q.qtype);
		break;
	case BW_IMSG_DNS_ANSWER:
		/* deliverd: nrr must account for every byte after it */
		memcpy(&ans, payload, sizeof(ans));
		if (ans.nrr > BW_DNS_RR_MAX || len != sizeof(ans) +
		    (size_t)ans.nrr * sizeof(rr))
			break;
		for (i = 0; i < ans.nrr; i++) {
			memcpy(&rr, payload + sizeof(ans) + i * sizeof(rr),
			    sizeof(rr));
			BW_IMSG_STR(name, rr.data);
		}
		break;
	case BW_IMSG_MSG_DATA:
		FUZZ_CHECK(len > sizeof(struct bw_msg_data) &&
		    len - sizeof(struct bw_msg_data) <= BW_DATA_CHUNK_MAX);
		break;
	case BW_IMSG_DLV_BODY:
		FUZZ_CHECK(len > sizeof(struct bw_dlv_body) &&
		    len - sizeof(struct bw_dlv_body) <= BW_DATA_CHUNK_MAX);
		break;
	case BW_IMSG_CTL_CMD:
		/* controld: argc first, then each argument */
		{
			struct bw_ctl_cmd	 c;
			char			 arg[BW_CTL_ARG_MAX];

			memcpy(&c, payload, sizeof(c));
			for (i = 0; i < c.argc && i < BW_CTL_ARGC_MAX; i++)
				BW_IMSG_STR(arg, c.argv[i]);
		}
		break;
	case BW_IMSG_STATUS:
		/* controld: ncounters first, then each counter's name */
		{
			struct bw_status	*st;
			char			 cname[BW_NAME_MAX];

			if ((st = malloc(sizeof(*st))) == NULL)
				abort();
			memcpy(st, payload, sizeof(*st));
			for (i = 0; i < st->ncounters &&
			    i < BW_STATUS_COUNTERS_MAX; i++)
				BW_IMSG_STR(cname, st->counters[i].name);
			free(st);
		}
		break;
	case BW_IMSG_CTL_OUTPUT:
		FUZZ_CHECK(len >= 1 && len <= BW_CTL_TEXT_MAX);
		break;
	default:
		break;
	}
}

/* A frame that passed the catalog: what its handler reads. */
static void
fuzz_imsg_handle(const struct bw_imsg *imsg)
{
	const struct bw_imsg_def	*def = bw_imsg_def(imsg->hdr.type);
	unsigned char			*payload;
	size_t				 i, k;

	FUZZ_CHECK(def != NULL && imsg->datalen >= def->minlen &&
	    imsg->datalen <= def->maxlen && imsg->datalen <=
	    BW_IMSG_MAX_PAYLOAD);
	/* an exact copy: ASan sees any read past the payload */
	if ((payload = malloc(imsg->datalen > 0 ? imsg->datalen : 1)) == NULL)
		abort();
	memcpy(payload, imsg->data, imsg->datalen);
	for (i = 0; i < sizeof(fuzz_payloads) / sizeof(fuzz_payloads[0]);
	    i++) {
		if (fuzz_payloads[i].type != imsg->hdr.type)
			continue;
		FUZZ_CHECK(imsg->datalen >= fuzz_payloads[i].size);
		for (k = 0; k < FUZZ_IMSG_STRS_MAX &&
		    fuzz_payloads[i].strs[k].size > 0; k++)
			fuzz_imsg_str(payload, &fuzz_payloads[i].strs[k]);
		fuzz_imsg_tail(imsg->hdr.type, payload, imsg->datalen);
	}
	free(payload);
}

/* Send bytes (and, the first time, descriptors) to the receiver. */
static ssize_t
fuzz_imsg_send(int fd, const uint8_t *p, size_t n, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * FUZZ_IMSG_FDS_MAX)];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 fds[FUZZ_IMSG_FDS_MAX], i;
	ssize_t		 w;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		for (i = 0; i < nfds; i++)
			fds[i] = fd;	/* the kernel gives the receiver copies */
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (w == -1 && errno == EINTR);
	return w;
}

/* Lowest free descriptor: equal before and after, or something leaked. */
static int
fuzz_fd_probe(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	close(fd);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	struct bw_ibuf	 ib;
	struct bw_imsg	 imsg;
	int		 sv[2], role, nfds, r, dead = 0, probe, werr;
	size_t		 piece, sent = 0;
	ssize_t		 w;
	uint8_t		 ctl;
	uint32_t	 seed;

	if (size > FUZZ_INPUT_MAX)
		in.n = FUZZ_INPUT_MAX;
	probe = fuzz_fd_probe();
	ctl = fuzz_u8(&in);
	role = fuzz_roles[ctl & 7];
	nfds = (ctl >> 3) & 3;
	seed = (uint32_t)ctl << 8 | fuzz_u8(&in);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (bw_set_nonblock(sv[1]) == -1 || bw_ibuf_init(&ib, sv[1]) == -1)
		abort();
	while (!dead && (sent < in.n || nfds > 0)) {
		piece = (ctl & 0xc0) == 0 ? in.n - sent :
		    1 + fuzz_rand(&seed) % ((size_t)(ctl >> 6) * 512);
		if (piece > in.n - sent)
			piece = in.n - sent;
		if (piece == 0 && nfds > 0)
			break;	/* descriptors need at least one byte */
		w = fuzz_imsg_send(sv[0], in.p + sent, piece, nfds);
		werr = errno;
		if (w > 0) {
			sent += (size_t)w;
			nfds = 0;
		}
		/* read what arrived; a full buffer waits for its frames */
		while (!dead && bw_ibuf_read(&ib) > 0)
			;
		while (!dead && (r = bw_ibuf_get(&ib, &imsg)) != 0) {
			if (r == -1) {
				dead = 1;	/* peer.c drops the peer */
				break;
			}
			if (bw_imsg_check(imsg.hdr.type, role,
			    imsg.datalen) != BW_IMSG_OK)
				dead = 1;
			else
				fuzz_imsg_handle(&imsg);
			if (imsg.fd != -1)
				close(imsg.fd);
		}
		if (w <= 0 && !dead && ib.rlen - ib.roff == ib.rsize) {
			/* impossible: a full buffer always holds a frame */
			FUZZ_CHECK(0);
		}
		if (w == -1 && werr != EAGAIN && werr != EWOULDBLOCK)
			break;
	}
	bw_ibuf_clear(&ib);
	close(sv[0]);
	close(sv[1]);
	FUZZ_CHECK(fuzz_fd_probe() == probe);
	return 0;
}
