/*
 * Unit tests of the dnscached client (common/dns_client.c), over a real
 * Unix socket with a listener in this process playing dnscached: an
 * answer, the caller's deadline, dnscached going away, cancel, duplicate
 * and unknown answer ids, malformed answers (record count against the
 * length, answer type against the question), and the reverse-lookup names.
 * Each case checks that every query got exactly one callback, or none when
 * it was cancelled.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "dns_client.h"
#include "log.h"
#include "peer.h"
#include "util.h"

#define FX_QUERIES_MAX	16
#define FX_RESULTS_MAX	16

struct fx_result {
	int		 outcome;
	int		 status;
	uint16_t	 qtype;
	uint32_t	 nrr;
	uint32_t	 flags;
	char		 name[BW_DOMAIN_MAX + 1];
	char		 rr0[BW_DNS_RDATA_TEXT_MAX];
	int		 tag;
};

struct fx {
	struct event_base	*base;
	struct bw_peer_listener	*l;
	struct bw_peer		*link;		/* the client's link */
	struct bw_dns_client	*dns;
	struct bw_peer		*srv;		/* dnscached's side, once up */
	int			 srv_downs;
	int			 link_ups;
	int			 link_downs;
	struct bw_dns_query	 q[FX_QUERIES_MAX];
	int			 nq;
	struct fx_result	 r[FX_RESULTS_MAX];
	int			 nr;
	struct bw_dns_req	*cancel_in_cb;	/* cancelled by a callback */
	char			 dir[64];
	char			 path[128];
};

static struct fx	 F;

static void
srv_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct fx	*f = arg;

	ck_assert_uint_eq(imsg->hdr.type, BW_IMSG_DNS_QUERY);
	ck_assert_int_lt(f->nq, FX_QUERIES_MAX);
	memcpy(&f->q[f->nq++], imsg->data, sizeof(f->q[0]));
}

static void
srv_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct fx	*f = arg;

	if (up)
		f->srv = peer;
	else {
		f->srv = NULL;
		f->srv_downs++;
	}
}

static void
link_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct fx	*f = arg;

	if (!bw_dns_client_dispatch(f->dns, imsg))
		bw_peer_drop(peer, "unexpected message type");
}

static void
link_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct fx	*f = arg;

	if (up)
		f->link_ups++;
	else {
		f->link_downs++;
		bw_dns_client_down(f->dns);
	}
}

static void
fx_cb(const struct bw_dns_result *res, void *arg)
{
	struct fx_result	*r;
	struct bw_dns_rr	 rr;

	ck_assert_int_lt(F.nr, FX_RESULTS_MAX);
	r = &F.r[F.nr++];
	r->outcome = res->outcome;
	r->status = res->status;
	r->qtype = res->qtype;
	r->nrr = res->nrr;
	r->flags = res->flags;
	r->tag = (int)(intptr_t)arg;
	strlcpy(r->name, res->name, sizeof(r->name));
	if (bw_dns_result_rr(res, 0, &rr) == 0)
		strlcpy(r->rr0, rr.data, sizeof(r->rr0));
	ck_assert_int_eq(bw_dns_result_rr(res, res->nrr, &rr), -1);
	if (F.cancel_in_cb != NULL) {
		bw_dns_client_cancel(F.dns, F.cancel_in_cb);
		F.cancel_in_cb = NULL;
	}
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
}

/* Run the loop until cond holds or ms pass; 1 if it holds. */
static int
fx_run(int (*cond)(void), int ms)
{
	uint64_t	 until = bw_now_ms() + (uint64_t)ms;

	while (!cond() && bw_now_ms() < until)
		event_base_loop(F.base, EVLOOP_ONCE);
	return cond();
}

static int
fx_linked(void)
{
	return F.srv != NULL && bw_dns_client_is_up(F.dns);
}

static int	 want_q, want_r;

static int
fx_have_q(void)
{
	return F.nq >= want_q;
}

static int
fx_have_r(void)
{
	return F.nr >= want_r;
}

static int
fx_never(void)
{
	return 0;
}

static struct event	*fx_tick;

static void
fx_setup(void)
{
	struct timeval	 tv = { 0, 10000 };

	log_init("dnscached", 1);	/* the listener answers as dnscached */
	memset(&F, 0, sizeof(F));
	strlcpy(F.dir, "/tmp/check_dns_client.XXXXXX", sizeof(F.dir));
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	snprintf(F.path, sizeof(F.path), "%s/dnscached.sock", F.dir);
	ck_assert_ptr_nonnull(F.base = event_base_new());
	ck_assert_ptr_nonnull(fx_tick = event_new(F.base, -1, EV_PERSIST,
	    tick_cb, NULL));
	event_add(fx_tick, &tv);
	ck_assert_ptr_nonnull(F.l = bw_peer_listen(F.base, F.path,
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, 0600, (gid_t)-1, srv_msg_cb,
	    srv_state_cb, &F));
	ck_assert_ptr_nonnull(F.link = bw_peer_connect(F.base, F.path,
	    BW_ROLE_SMTPD, 0, link_msg_cb, link_state_cb, &F));
	ck_assert_ptr_nonnull(F.dns = bw_dns_client_new(F.base, F.link));
	ck_assert(fx_run(fx_linked, 3000));
}

static void
fx_teardown(void)
{
	bw_dns_client_free(F.dns);
	bw_peer_close(F.link);
	bw_peer_listener_close(F.l);
	event_free(fx_tick);
	event_base_loop(F.base, EVLOOP_NONBLOCK);
	event_base_free(F.base);
	unlink(F.path);
	rmdir(F.dir);
}

/* dnscached's answer to query i (or to any reqid), with n A records. */
static void
srv_answer(uint64_t reqid, uint16_t qtype, uint32_t status, uint32_t nrr,
    int nsend)
{
	struct bw_dns_answer	 a;
	struct bw_dns_rr	 rr[4];
	int			 i;

	memset(&a, 0, sizeof(a));
	memset(rr, 0, sizeof(rr));
	a.reqid = reqid;
	a.status = status;
	a.ttl = 300;
	a.nrr = nrr;
	a.qtype = qtype;
	for (i = 0; i < nsend && i < 4; i++) {
		rr[i].type = qtype;
		snprintf(rr[i].data, sizeof(rr[i].data), "192.0.2.%d", i + 1);
	}
	ck_assert_int_eq(bw_peer_send2(F.srv, BW_IMSG_DNS_ANSWER, 0, -1, &a,
	    sizeof(a), nsend > 0 ? rr : NULL, (size_t)nsend * sizeof(rr[0])),
	    0);
}

static struct bw_dns_req *
fx_query(const char *name, uint16_t qtype, int deadline_ms, int tag)
{
	return bw_dns_client_query(F.dns, name, qtype, deadline_ms > 0 ?
	    bw_now_ms() + (uint64_t)deadline_ms : 0, fx_cb,
	    (void *)(intptr_t)tag);
}

START_TEST(answer_reaches_the_caller)
{
	fx_setup();
	ck_assert_ptr_nonnull(fx_query("mx.example.org", BW_DNS_T_A, 0, 1));
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 1);
	want_q = 1;
	ck_assert(fx_run(fx_have_q, 3000));
	ck_assert_str_eq(F.q[0].name, "mx.example.org");
	ck_assert_uint_eq(F.q[0].qtype, BW_DNS_T_A);
	srv_answer(F.q[0].reqid, BW_DNS_T_A, BW_DNS_OK, 2, 2);
	want_r = 1;
	ck_assert(fx_run(fx_have_r, 3000));
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_ANSWERED);
	ck_assert_int_eq(F.r[0].status, BW_DNS_OK);
	ck_assert_uint_eq(F.r[0].nrr, 2);
	ck_assert_str_eq(F.r[0].rr0, "192.0.2.1");
	ck_assert_str_eq(F.r[0].name, "mx.example.org");
	ck_assert_int_eq(F.r[0].tag, 1);
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 0);
	/* nothing more comes */
	fx_run(fx_never, 100);
	ck_assert_int_eq(F.nr, 1);
	fx_teardown();
}
END_TEST

/* BW_DNS_QF_DNSSEC goes out in the query, ANSF_SECURE comes back. */
START_TEST(dnssec_flag_passes_through)
{
	struct bw_dns_answer	 a;

	fx_setup();
	ck_assert_ptr_nonnull(bw_dns_client_query_flags(F.dns,
	    "_25._tcp.mx.example.org", BW_DNS_T_TLSA, BW_DNS_QF_DNSSEC, 0,
	    fx_cb, (void *)(intptr_t)7));
	ck_assert_ptr_nonnull(fx_query("mx.example.org", BW_DNS_T_A, 0, 8));
	want_q = 2;
	ck_assert(fx_run(fx_have_q, 3000));
	ck_assert_uint_eq(F.q[0].flags, BW_DNS_QF_DNSSEC);
	ck_assert_uint_eq(F.q[1].flags, 0);
	memset(&a, 0, sizeof(a));
	a.reqid = F.q[0].reqid;
	a.status = BW_DNS_NODATA;
	a.ttl = 60;
	a.qtype = BW_DNS_T_TLSA;
	a.flags = BW_DNS_ANSF_SECURE;
	ck_assert_int_eq(bw_peer_send(F.srv, BW_IMSG_DNS_ANSWER, 0, -1, &a,
	    sizeof(a)), 0);
	srv_answer(F.q[1].reqid, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	want_r = 2;
	ck_assert(fx_run(fx_have_r, 3000));
	ck_assert_int_eq(F.r[0].tag, 7);
	ck_assert_int_eq(F.r[0].status, BW_DNS_NODATA);
	ck_assert_uint_eq(F.r[0].flags, BW_DNS_ANSF_SECURE);
	ck_assert_int_eq(F.r[1].tag, 8);
	ck_assert_uint_eq(F.r[1].flags, 0);
	fx_teardown();
}
END_TEST

START_TEST(deadline_fires_once_and_late_answer_is_dropped)
{
	uint64_t	 t0;

	fx_setup();
	t0 = bw_now_ms();
	ck_assert_ptr_nonnull(fx_query("slow.example.org", BW_DNS_T_MX, 200,
	    2));
	want_r = 1;
	ck_assert(fx_run(fx_have_r, 3000));
	ck_assert_uint_ge(bw_now_ms() - t0, 190);
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_TIMEDOUT);
	ck_assert_int_eq(F.r[0].status, BW_DNS_TIMEOUT);
	ck_assert_uint_eq(F.r[0].qtype, BW_DNS_T_MX);
	ck_assert_uint_eq(F.r[0].nrr, 0);
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 0);
	/* dnscached answers after all: nobody waits, the link stays */
	want_q = 1;
	ck_assert(fx_run(fx_have_q, 3000));
	srv_answer(F.q[0].reqid, BW_DNS_T_MX, BW_DNS_NXDOMAIN, 0, 0);
	fx_run(fx_never, 200);
	ck_assert_int_eq(F.nr, 1);
	ck_assert_int_eq(F.link_downs, 0);
	fx_teardown();
}
END_TEST

START_TEST(deadline_in_the_past_fires_later_not_now)
{
	fx_setup();
	ck_assert_ptr_nonnull(bw_dns_client_query(F.dns, "x.example",
	    BW_DNS_T_A, 1, fx_cb, NULL));
	ck_assert_int_eq(F.nr, 0);	/* never under the caller */
	want_r = 1;
	ck_assert(fx_run(fx_have_r, 3000));
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_TIMEDOUT);
	fx_teardown();
}
END_TEST

static int
fx_link_down(void)
{
	return F.link_downs > 0;
}

START_TEST(peer_down_fails_every_query_once)
{
	int	 i;

	fx_setup();
	ck_assert_ptr_nonnull(fx_query("a.example", BW_DNS_T_A, 0, 1));
	ck_assert_ptr_nonnull(fx_query("b.example", BW_DNS_T_AAAA, 5000, 2));
	ck_assert_ptr_nonnull(fx_query("c.example", BW_DNS_T_PTR, 0, 3));
	want_q = 3;
	ck_assert(fx_run(fx_have_q, 3000));
	bw_peer_drop(F.srv, "dnscached stops");
	ck_assert(fx_run(fx_link_down, 3000));
	ck_assert_int_eq(F.nr, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(F.r[i].outcome, BW_DNSC_DOWN);
		ck_assert_int_eq(F.r[i].status, BW_DNS_SERVFAIL);
		ck_assert_int_eq(F.r[i].tag, i + 1);	/* in sending order */
	}
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 0);
	/* while down, a query fails at once and no callback comes */
	ck_assert_int_eq(bw_dns_client_is_up(F.dns), 0);
	ck_assert_ptr_null(fx_query("d.example", BW_DNS_T_A, 0, 4));
	/* the deadline of b.example was dropped with it */
	fx_run(fx_never, 300);
	ck_assert_int_eq(F.nr, 3);
	/* peer.c reconnects; queries work again */
	ck_assert(fx_run(fx_linked, 5000));
	ck_assert_ptr_nonnull(fx_query("e.example", BW_DNS_T_A, 0, 5));
	want_q = 4;
	ck_assert(fx_run(fx_have_q, 3000));
	srv_answer(F.q[3].reqid, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	want_r = 4;
	ck_assert(fx_run(fx_have_r, 3000));
	ck_assert_int_eq(F.r[3].outcome, BW_DNSC_ANSWERED);
	ck_assert_int_eq(F.r[3].tag, 5);
	fx_teardown();
}
END_TEST

START_TEST(cancel_means_no_callback)
{
	struct bw_dns_req	*a, *b, *c, *d;

	fx_setup();
	ck_assert_ptr_nonnull(a = fx_query("a.example", BW_DNS_T_A, 0, 1));
	ck_assert_ptr_nonnull(b = fx_query("b.example", BW_DNS_T_A, 100, 2));
	ck_assert_ptr_nonnull(c = fx_query("c.example", BW_DNS_T_A, 0, 3));
	bw_dns_client_cancel(F.dns, a);
	bw_dns_client_cancel(F.dns, b);	/* its timer goes too */
	bw_dns_client_cancel(F.dns, NULL);
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 1);
	want_q = 3;
	ck_assert(fx_run(fx_have_q, 3000));
	srv_answer(F.q[0].reqid, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	fx_run(fx_never, 300);
	ck_assert_int_eq(F.nr, 0);
	/* c's callback cancels d while the link drops: d gets none */
	ck_assert_ptr_nonnull(d = fx_query("d.example", BW_DNS_T_A, 0, 4));
	F.cancel_in_cb = d;
	bw_peer_drop(F.srv, "dnscached stops");
	ck_assert(fx_run(fx_link_down, 3000));
	ck_assert_int_eq(F.nr, 1);
	ck_assert_int_eq(F.r[0].tag, 3);
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_DOWN);
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 0);
	fx_teardown();
}
END_TEST

START_TEST(duplicate_and_unknown_ids_are_ignored)
{
	fx_setup();
	ck_assert_ptr_nonnull(fx_query("a.example", BW_DNS_T_A, 0, 1));
	ck_assert_ptr_nonnull(fx_query("b.example", BW_DNS_T_A, 0, 2));
	want_q = 2;
	ck_assert(fx_run(fx_have_q, 3000));
	srv_answer(F.q[0].reqid + 1000, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	srv_answer(F.q[0].reqid, BW_DNS_T_A, BW_DNS_NODATA, 0, 0);
	srv_answer(F.q[0].reqid, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	srv_answer(F.q[1].reqid, BW_DNS_T_A, BW_DNS_OK, 1, 1);
	want_r = 2;
	ck_assert(fx_run(fx_have_r, 3000));
	fx_run(fx_never, 200);
	ck_assert_int_eq(F.nr, 2);
	ck_assert_int_eq(F.r[0].tag, 1);
	ck_assert_int_eq(F.r[0].status, BW_DNS_NODATA);	/* the first one */
	ck_assert_int_eq(F.r[1].tag, 2);
	ck_assert_int_eq(F.link_downs, 0);
	ck_assert_int_eq(bw_dns_client_is_up(F.dns), 1);
	fx_teardown();
}
END_TEST

/* Malformed answers: each drops the link and fails what is in flight. */
static const struct {
	const char	*what;
	uint32_t	 nrr;		/* claimed */
	int		 nsend;		/* sent */
	uint32_t	 status;
	int		 other_type;	/* answer type differs */
} bad_cases[] = {
	{ "fewer records than claimed", 2, 1, BW_DNS_OK, 0 },
	{ "more records than claimed", 0, 1, BW_DNS_OK, 0 },
	{ "more than BW_DNS_RR_MAX claimed", BW_DNS_RR_MAX + 1, 1,
	    BW_DNS_OK, 0 },
	{ "unknown status", 0, 0, BW_DNS_STATUS__COUNT + 3, 0 },
	{ "answer type not the question's", 1, 1, BW_DNS_OK, 1 },
};

START_TEST(malformed_answer_drops_the_link)
{
	fx_setup();
	ck_assert_ptr_nonnull(fx_query("a.example", BW_DNS_T_A, 0, 1));
	ck_assert_ptr_nonnull(fx_query("b.example", BW_DNS_T_A, 0, 2));
	want_q = 2;
	ck_assert(fx_run(fx_have_q, 3000));
	srv_answer(F.q[0].reqid, bad_cases[_i].other_type ? BW_DNS_T_MX :
	    BW_DNS_T_A, bad_cases[_i].status, bad_cases[_i].nrr,
	    bad_cases[_i].nsend);
	ck_assert_msg(fx_run(fx_link_down, 3000), "%s", bad_cases[_i].what);
	ck_assert_int_eq(F.nr, 2);
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_DOWN);
	ck_assert_int_eq(F.r[1].outcome, BW_DNSC_DOWN);
	ck_assert_uint_eq(bw_dns_client_pending(F.dns), 0);
	fx_run(fx_never, 200);
	ck_assert_int_eq(F.nr, 2);
	fx_teardown();
}
END_TEST

START_TEST(query_refuses_long_names)
{
	char	 name[BW_DOMAIN_MAX + 2];

	fx_setup();
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_ptr_null(fx_query(name, BW_DNS_T_A, 0, 1));
	name[BW_DOMAIN_MAX] = '\0';
	ck_assert_ptr_nonnull(fx_query(name, BW_DNS_T_A, 0, 2));
	fx_teardown();	/* frees the query in flight: no leak */
	ck_assert_int_eq(F.nr, 1);
	ck_assert_int_eq(F.r[0].outcome, BW_DNSC_DOWN);
}
END_TEST

static const struct {
	int		 family;
	const char	*addr;
	const char	*want;
} ptr_cases[] = {
	{ AF_INET, "192.0.2.5", "5.2.0.192.in-addr.arpa" },
	{ AF_INET, "127.0.0.2", "2.0.0.127.in-addr.arpa" },
	{ AF_INET6, "2001:db8::567:89ab",
	    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa" },
	{ AF_INET6, "::1",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "ip6.arpa" },
};

START_TEST(ptr_names)
{
	unsigned char	 bin[16];
	char		 out[BW_DOMAIN_MAX + 1];

	ck_assert_int_eq(inet_pton(ptr_cases[_i].family, ptr_cases[_i].addr,
	    bin), 1);
	ck_assert_int_eq(bw_dns_ptr_name(ptr_cases[_i].family, bin, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, ptr_cases[_i].want);
	/* too small a buffer is refused, never cut */
	ck_assert_int_eq(bw_dns_ptr_name(ptr_cases[_i].family, bin, out,
	    strlen(ptr_cases[_i].want)), -1);
	ck_assert_int_eq(bw_dns_ptr_name(AF_UNIX, bin, out, sizeof(out)), -1);
}
END_TEST

/* DNS list query names (RFC 5782 2.1, 2.4): reversed, then the zone. */
static const struct {
	int		 family;
	const char	*addr;
	const char	*zone;		/* %s: the longest zone, 189 */
	const char	*want;		/* NULL: refused */
} list_cases[] = {
	{ AF_INET, "192.0.2.1", "bl.example", "1.2.0.192.bl.example" },
	{ AF_INET, "127.0.0.2", "zen.example.org",
	  "2.0.0.127.zen.example.org" },
	{ AF_INET6, "2001:db8::1:2", "v6.example",
	  "2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	  "v6.example" },
	/* the longest zone still fits an IPv6 client's name: 253 */
	{ AF_INET6, "::1", "%s", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	  "0.0.0.0.0.0.0.0.0.0.0.%s" },
	{ AF_INET6, "::1", "%sx", NULL },	/* one more: 254 */
	{ AF_INET, "192.0.2.1", "", NULL },
};

START_TEST(list_names)
{
	unsigned char	 bin[16];
	char		 out[BW_DOMAIN_MAX + 1], zone[BW_DOMAIN_MAX + 1];
	char		 want[BW_DOMAIN_MAX + 1];
	const char	*z189 =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
	int		 rc;

	ck_assert_int_eq(inet_pton(list_cases[_i].family,
	    list_cases[_i].addr, bin), 1);
	snprintf(zone, sizeof(zone), list_cases[_i].zone, z189);
	rc = bw_dns_list_name(list_cases[_i].family, bin, zone, out,
	    sizeof(out));
	if (list_cases[_i].want == NULL) {
		ck_assert_int_eq(rc, -1);
		return;
	}
	snprintf(want, sizeof(want), list_cases[_i].want, z189);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, want);
	ck_assert_uint_le(strlen(out), 253);
	/* too small a buffer is refused, never cut */
	ck_assert_int_eq(bw_dns_list_name(list_cases[_i].family, bin, zone,
	    out, strlen(want)), -1);
	ck_assert_int_eq(bw_dns_list_name(AF_UNIX, bin, zone, out,
	    sizeof(out)), -1);
}
END_TEST

static Suite *
dns_client_suite(void)
{
	Suite	*s = suite_create("dns_client");
	TCase	*tc;

	tc = tcase_create("link");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, answer_reaches_the_caller);
	tcase_add_test(tc, dnssec_flag_passes_through);
	tcase_add_test(tc, deadline_fires_once_and_late_answer_is_dropped);
	tcase_add_test(tc, deadline_in_the_past_fires_later_not_now);
	tcase_add_test(tc, peer_down_fails_every_query_once);
	tcase_add_test(tc, cancel_means_no_callback);
	tcase_add_test(tc, duplicate_and_unknown_ids_are_ignored);
	tcase_add_loop_test(tc, malformed_answer_drops_the_link, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, query_refuses_long_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("ptr");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, ptr_names, 0,
	    (int)(sizeof(ptr_cases) / sizeof(ptr_cases[0])));
	tcase_add_loop_test(tc, list_names, 0,
	    (int)(sizeof(list_cases) / sizeof(list_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dns_client_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
