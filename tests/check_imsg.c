/*
 * Unit tests of the imsg framing (common/imsg.c) and the message catalog
 * (common/imsg_catalog.c), over real socketpairs.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "imsg.h"
#include "imsg_catalog.h"

struct pair {
	int		 fd[2];
	struct bw_ibuf	 w;
	struct bw_ibuf	 r;
};

static void
pair_open(struct pair *p)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
	ck_assert_int_eq(fcntl(p->fd[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(bw_ibuf_init(&p->w, p->fd[0]), 0);
	ck_assert_int_eq(bw_ibuf_init(&p->r, p->fd[1]), 0);
}

static void
pair_close(struct pair *p)
{
	bw_ibuf_clear(&p->w);
	bw_ibuf_clear(&p->r);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Write raw bytes on the sending side, bypassing the framing. */
static void
raw_send(struct pair *p, const void *buf, size_t len)
{
	ck_assert_int_eq(write(p->fd[0], buf, len), (ssize_t)len);
}

static void
hdr_send(struct pair *p, uint32_t type, uint32_t len, uint32_t flags)
{
	struct bw_imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.flags = flags;
	raw_send(p, &hdr, sizeof(hdr));
}

START_TEST(test_one_frame_roundtrip)
{
	struct pair	 p;
	struct bw_imsg	 imsg;
	const char	 payload[] = "hello, queue";

	pair_open(&p);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 7, -1,
	    payload, sizeof(payload)), 0);
	ck_assert_uint_eq(p.w.wframes, 1);
	ck_assert_int_eq(bw_ibuf_write(&p.w), 1);
	ck_assert_uint_eq(p.w.wqueued, 0);
	ck_assert_int_gt(bw_ibuf_read(&p.r), 0);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.type, BW_IMSG_CTL_OUTPUT);
	ck_assert_uint_eq(imsg.hdr.peerid, 7);
	ck_assert_uint_eq(imsg.hdr.pid, (uint32_t)getpid());
	ck_assert_uint_eq(imsg.datalen, sizeof(payload));
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_mem_eq(imsg.data, payload, sizeof(payload));
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 0);
	pair_close(&p);
}
END_TEST

START_TEST(test_several_frames_one_read)
{
	struct pair	 p;
	struct bw_imsg	 imsg;
	uint32_t	 i, v;

	pair_open(&p);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, i,
		    -1, &i, sizeof(i)), 0);
	ck_assert_int_eq(bw_ibuf_write(&p.w), 1);
	ck_assert_int_eq(bw_ibuf_read(&p.r),
	    (ssize_t)(50 * (BW_IMSG_HDR_SIZE + sizeof(i))));
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
		memcpy(&v, imsg.data, sizeof(v));
		ck_assert_uint_eq(v, i);
		ck_assert_uint_eq(imsg.hdr.peerid, i);
	}
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 0);
	pair_close(&p);
}
END_TEST

/* A frame arriving one byte at a time is taken only when complete. */
START_TEST(test_frame_split_across_reads)
{
	struct pair		 p;
	struct bw_imsg		 imsg;
	struct bw_imsg_hdr	 hdr;
	unsigned char		 buf[BW_IMSG_HDR_SIZE + 100];
	size_t			 i;

	pair_open(&p);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = BW_IMSG_CTL_OUTPUT;
	hdr.len = 100;
	memcpy(buf, &hdr, sizeof(hdr));
	for (i = 0; i < 100; i++)
		buf[BW_IMSG_HDR_SIZE + i] = (unsigned char)i;
	for (i = 0; i < sizeof(buf); i++) {
		ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 0);
		raw_send(&p, buf + i, 1);
		ck_assert_int_eq(bw_ibuf_read(&p.r), 1);
	}
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_uint_eq(imsg.datalen, 100);
	ck_assert_mem_eq(imsg.data, buf + BW_IMSG_HDR_SIZE, 100);
	pair_close(&p);
}
END_TEST

/* A read that ends in the middle of the second frame: partial read. */
START_TEST(test_partial_read_keeps_tail)
{
	struct pair	 p;
	struct bw_imsg	 imsg;
	unsigned char	 big[4000];
	ssize_t		 n;

	pair_open(&p);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 1, -1,
	    "a", 1), 0);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 2, -1,
	    big, sizeof(big)), 0);
	ck_assert_int_eq(bw_ibuf_write(&p.w), 1);
	/* take the whole first frame and half of the second */
	n = recv(p.fd[1], p.r.rbuf, BW_IMSG_HDR_SIZE + 1 +
	    BW_IMSG_HDR_SIZE + 2000, 0);
	ck_assert_int_eq(n, (ssize_t)(2 * BW_IMSG_HDR_SIZE + 2001));
	p.r.rlen = (size_t)n;
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.peerid, 1);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 0);
	ck_assert_int_eq(bw_ibuf_read(&p.r), 2000);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.peerid, 2);
	ck_assert_uint_eq(imsg.datalen, sizeof(big));
	ck_assert_mem_eq(imsg.data, big, sizeof(big));
	pair_close(&p);
}
END_TEST

START_TEST(test_largest_payload)
{
	struct pair	 p;
	struct bw_imsg	 imsg;
	unsigned char	*big;
	int		 got = 0, i, r;

	pair_open(&p);
	big = malloc(BW_IMSG_MAX_PAYLOAD);
	ck_assert_ptr_nonnull(big);
	memset(big, 'y', BW_IMSG_MAX_PAYLOAD);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 0, -1, big,
	    BW_IMSG_MAX_PAYLOAD), 0);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 0, -1, big,
	    BW_IMSG_MAX_PAYLOAD + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	/* the socket buffer may be smaller: alternate write and read */
	for (i = 0; i < 1000 && !got; i++) {
		ck_assert_int_ge(bw_ibuf_write(&p.w), 0);
		(void)bw_ibuf_read(&p.r);
		r = bw_ibuf_get(&p.r, &imsg);
		ck_assert_int_ge(r, 0);
		got = r;
	}
	ck_assert_int_eq(got, 1);
	ck_assert_uint_eq(imsg.datalen, BW_IMSG_MAX_PAYLOAD);
	free(big);
	pair_close(&p);
}
END_TEST

START_TEST(test_fd_passing)
{
	struct pair	 p;
	struct bw_imsg	 imsg;
	char		 path[] = "/tmp/check_imsg.XXXXXX";
	char		 buf[16];
	int		 tmp, i;

	pair_open(&p);
	tmp = mkstemp(path);
	ck_assert_int_ge(tmp, 0);
	unlink(path);
	ck_assert_int_eq(write(tmp, "spooled", 7), 7);
	/* frames without, with, without a descriptor */
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 1, -1,
	    "a", 1), 0);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 2, tmp,
	    "b", 1), 0);
	ck_assert_int_eq(bw_ibuf_compose(&p.w, BW_IMSG_CTL_OUTPUT, 3, -1,
	    "c", 1), 0);
	for (i = 0; i < 10 && bw_ibuf_write(&p.w) != 1; i++)
		;
	ck_assert_uint_eq(p.w.wframes, 0);
	/* the sender's copy was closed after sending */
	ck_assert_int_eq(fcntl(tmp, F_GETFD), -1);
	for (i = 0; i < 10 && p.r.rlen < 3 * (BW_IMSG_HDR_SIZE + 1); i++)
		(void)bw_ibuf_read(&p.r);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.peerid, 2);
	ck_assert_int_ge(imsg.fd, 0);
	ck_assert_int_eq(pread(imsg.fd, buf, 7, 0), 7);
	ck_assert_mem_eq(buf, "spooled", 7);
	close(imsg.fd);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), 1);
	ck_assert_int_eq(imsg.fd, -1);
	pair_close(&p);
}
END_TEST

/* A header announcing a descriptor that never came. */
START_TEST(test_fd_announced_missing)
{
	struct pair	 p;
	struct bw_imsg	 imsg;

	pair_open(&p);
	hdr_send(&p, BW_IMSG_CTL_OUTPUT, 1, BW_IMSG_F_FD);
	raw_send(&p, "z", 1);
	ck_assert_int_gt(bw_ibuf_read(&p.r), 0);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), -1);
	ck_assert_int_eq(errno, ENOENT);
	pair_close(&p);
}
END_TEST

START_TEST(test_length_too_long)
{
	struct pair	 p;
	struct bw_imsg	 imsg;

	pair_open(&p);
	hdr_send(&p, BW_IMSG_CTL_OUTPUT, BW_IMSG_MAX_PAYLOAD + 1, 0);
	ck_assert_int_gt(bw_ibuf_read(&p.r), 0);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), -1);
	ck_assert_int_eq(errno, EBADMSG);
	pair_close(&p);
}
END_TEST

START_TEST(test_length_huge)
{
	struct pair	 p;
	struct bw_imsg	 imsg;

	pair_open(&p);
	hdr_send(&p, BW_IMSG_MSG_DATA, 0xffffffffu, 0);
	ck_assert_int_gt(bw_ibuf_read(&p.r), 0);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), -1);
	ck_assert_int_eq(errno, EBADMSG);
	pair_close(&p);
}
END_TEST

START_TEST(test_unknown_flags)
{
	struct pair	 p;
	struct bw_imsg	 imsg;

	pair_open(&p);
	hdr_send(&p, BW_IMSG_CTL_OUTPUT, 0, 0x80);
	ck_assert_int_gt(bw_ibuf_read(&p.r), 0);
	ck_assert_int_eq(bw_ibuf_get(&p.r, &imsg), -1);
	ck_assert_int_eq(errno, EBADMSG);
	pair_close(&p);
}
END_TEST

START_TEST(test_eof)
{
	struct pair	 p;

	pair_open(&p);
	close(p.fd[0]);
	p.fd[0] = -1;
	ck_assert_int_eq(bw_ibuf_read(&p.r), 0);
	bw_ibuf_clear(&p.w);
	bw_ibuf_clear(&p.r);
	close(p.fd[1]);
}
END_TEST

START_TEST(test_nothing_to_read)
{
	struct pair	 p;

	pair_open(&p);
	ck_assert_int_eq(bw_ibuf_read(&p.r), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	pair_close(&p);
}
END_TEST

/* The catalog: every malformed case the receiver must refuse. */
static const struct {
	const char	*name;
	uint32_t	 type;
	int		 role;
	size_t		 len;
	int		 want;
} catalog_cases[] = {
	{ "hello ok", BW_IMSG_HELLO, BW_ROLE_SMTPD,
	    sizeof(struct bw_hello), BW_IMSG_OK },
	{ "hello short", BW_IMSG_HELLO, BW_ROLE_SMTPD,
	    sizeof(struct bw_hello) - 1, BW_IMSG_EBADLEN },
	{ "hello long", BW_IMSG_HELLO, BW_ROLE_SMTPD,
	    sizeof(struct bw_hello) + 1, BW_IMSG_EBADLEN },
	{ "open ok", BW_IMSG_MSG_OPEN, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_open), BW_IMSG_OK },
	{ "open short", BW_IMSG_MSG_OPEN, BW_ROLE_SMTPD, 4, BW_IMSG_EBADLEN },
	{ "open from deliverd", BW_IMSG_MSG_OPEN, BW_ROLE_DELIVERD,
	    sizeof(struct bw_msg_open), BW_IMSG_EROLE },
	{ "open from bwctl", BW_IMSG_MSG_OPEN, BW_ROLE_BWCTL,
	    sizeof(struct bw_msg_open), BW_IMSG_EROLE },
	{ "data empty", BW_IMSG_MSG_DATA, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_data), BW_IMSG_EBADLEN },
	{ "data max", BW_IMSG_MSG_DATA, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_data) + BW_DATA_CHUNK_MAX, BW_IMSG_OK },
	{ "data over max", BW_IMSG_MSG_DATA, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_data) + BW_DATA_CHUNK_MAX + 1,
	    BW_IMSG_EBADLEN },
	{ "commit reply from smtpd", BW_IMSG_MSG_COMMIT_REPLY, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_commit_reply), BW_IMSG_EROLE },
	{ "status req from smtpd", BW_IMSG_STATUS_REQ, BW_ROLE_SMTPD, 0,
	    BW_IMSG_EROLE },
	{ "status req with payload", BW_IMSG_STATUS_REQ, BW_ROLE_CONTROLD, 1,
	    BW_IMSG_EBADLEN },
	{ "ctl cmd from smtpd", BW_IMSG_CTL_CMD, BW_ROLE_SMTPD,
	    sizeof(struct bw_ctl_cmd), BW_IMSG_EROLE },
	{ "ctl output empty", BW_IMSG_CTL_OUTPUT, BW_ROLE_CONTROLD, 0,
	    BW_IMSG_EBADLEN },
	{ "commit check ok", BW_IMSG_MSG_COMMIT_CHECK, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_commit_check), BW_IMSG_OK },
	{ "commit check short", BW_IMSG_MSG_COMMIT_CHECK, BW_ROLE_SMTPD,
	    sizeof(struct bw_msg_commit_check) - 1, BW_IMSG_EBADLEN },
	{ "commit check from deliverd", BW_IMSG_MSG_COMMIT_CHECK,
	    BW_ROLE_DELIVERD, sizeof(struct bw_msg_commit_check),
	    BW_IMSG_EROLE },
	{ "verify req from smtpd", BW_IMSG_QUEUE_VERIFY_REQ, BW_ROLE_SMTPD,
	    sizeof(struct bw_queue_verify_req), BW_IMSG_EROLE },
	{ "verify req long", BW_IMSG_QUEUE_VERIFY_REQ, BW_ROLE_CONTROLD,
	    sizeof(struct bw_queue_verify_req) + 1, BW_IMSG_EBADLEN },
	{ "verify row from smtpd", BW_IMSG_QUEUE_VERIFY_ROW, BW_ROLE_SMTPD,
	    sizeof(struct bw_queue_verify_row), BW_IMSG_EROLE },
	{ "verify end ok", BW_IMSG_QUEUE_VERIFY_END, BW_ROLE_QUEUED,
	    sizeof(struct bw_queue_verify_end), BW_IMSG_OK },
	{ "hostcount take ok", BW_IMSG_HOSTCOUNT_TAKE, BW_ROLE_SMTPD,
	    sizeof(struct bw_hostcount_take), BW_IMSG_OK },
	{ "hostcount take short", BW_IMSG_HOSTCOUNT_TAKE, BW_ROLE_SMTPD,
	    sizeof(struct bw_hostcount_take) - 1, BW_IMSG_EBADLEN },
	{ "hostcount take from deliverd", BW_IMSG_HOSTCOUNT_TAKE,
	    BW_ROLE_DELIVERD, sizeof(struct bw_hostcount_take),
	    BW_IMSG_EROLE },
	{ "hostcount reply from smtpd", BW_IMSG_HOSTCOUNT_REPLY,
	    BW_ROLE_SMTPD, sizeof(struct bw_hostcount_reply), BW_IMSG_EROLE },
	{ "hostcount release long", BW_IMSG_HOSTCOUNT_RELEASE, BW_ROLE_SMTPD,
	    sizeof(struct bw_hostcount_release) + 1, BW_IMSG_EBADLEN },
	{ "hostcount list from smtpd", BW_IMSG_HOSTCOUNT_LIST_REQ,
	    BW_ROLE_SMTPD, sizeof(struct bw_hostcount_list_req),
	    BW_IMSG_EROLE },
	{ "hostcount entry ok", BW_IMSG_HOSTCOUNT_ENTRY, BW_ROLE_QUEUED,
	    sizeof(struct bw_hostcount_entry), BW_IMSG_OK },
	{ "type none", BW_IMSG_NONE, BW_ROLE_SMTPD, 0, BW_IMSG_EUNKNOWN },
	{ "type past end", BW_IMSG__COUNT, BW_ROLE_SMTPD, 0,
	    BW_IMSG_EUNKNOWN },
	{ "type huge", 0xdeadbeef, BW_ROLE_SMTPD, 0, BW_IMSG_EUNKNOWN },
	{ "two roles at once", BW_IMSG_MSG_OPEN,
	    BW_ROLE_SMTPD | BW_ROLE_QUEUED, sizeof(struct bw_msg_open),
	    BW_IMSG_EROLE },
	{ "no role", BW_IMSG_HELLO, BW_ROLE_NONE, sizeof(struct bw_hello),
	    BW_IMSG_EROLE },
};

START_TEST(test_catalog_check)
{
	int	 got;

	got = bw_imsg_check(catalog_cases[_i].type, catalog_cases[_i].role,
	    catalog_cases[_i].len);
	ck_assert_msg(got == catalog_cases[_i].want, "%s: got %s want %s",
	    catalog_cases[_i].name, bw_imsg_check_name(got),
	    bw_imsg_check_name(catalog_cases[_i].want));
}
END_TEST

/* Every type has a row, a name and a consistent size range. */
START_TEST(test_catalog_complete)
{
	const struct bw_imsg_def	*def;
	uint32_t			 t;

	for (t = BW_IMSG_NONE + 1; t < BW_IMSG__COUNT; t++) {
		def = bw_imsg_def(t);
		ck_assert_msg(def != NULL, "type %u has no catalog row", t);
		ck_assert_uint_eq(def->type, t);
		ck_assert_ptr_nonnull(def->name);
		ck_assert_uint_le(def->minlen, def->maxlen);
		ck_assert_uint_le(def->maxlen, BW_IMSG_MAX_PAYLOAD);
		ck_assert_int_ne(def->senders, 0);
	}
	ck_assert_str_eq(bw_imsg_type_name(0xffff), "UNKNOWN");
}
END_TEST

START_TEST(test_roles_and_strings)
{
	char	 dst[8];
	char	 field[4] = { 'a', 'b', 'c', 'd' };	/* not terminated */

	ck_assert_int_eq(bw_role_from_name("queued"), BW_ROLE_QUEUED);
	ck_assert_int_eq(bw_role_from_name("nobody"), BW_ROLE_NONE);
	ck_assert_str_eq(bw_role_name(BW_ROLE_DELIVERD), "deliverd");
	ck_assert_str_eq(bw_role_name(3), "?");
	bw_imsg_str(dst, sizeof(dst), field, sizeof(field));
	ck_assert_str_eq(dst, "abcd");
	bw_imsg_str(dst, 3, field, sizeof(field));
	ck_assert_str_eq(dst, "ab");
}
END_TEST

static Suite *
imsg_suite(void)
{
	Suite	*s = suite_create("imsg");
	TCase	*tc;

	tc = tcase_create("framing");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_one_frame_roundtrip);
	tcase_add_test(tc, test_several_frames_one_read);
	tcase_add_test(tc, test_frame_split_across_reads);
	tcase_add_test(tc, test_partial_read_keeps_tail);
	tcase_add_test(tc, test_largest_payload);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_nothing_to_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd_passing");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_fd_passing);
	tcase_add_test(tc, test_fd_announced_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed_header");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_length_too_long);
	tcase_add_test(tc, test_length_huge);
	tcase_add_test(tc, test_unknown_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("catalog");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_catalog_check, 0,
	    (int)(sizeof(catalog_cases) / sizeof(catalog_cases[0])));
	tcase_add_test(tc, test_catalog_complete);
	tcase_add_test(tc, test_roles_and_strings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(imsg_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
