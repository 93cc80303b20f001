/*
 * Unit tests of the daemon->controld link (common/status_link.c):
 * bw_status_add() and its BW_STATUS_COUNTERS_MAX limit, bw_status_add_info()
 * and its BW_STATUS_INFO_MAX limit, and, over a real
 * Unix socket with a listener playing controld, STATUS_REQ answered from
 * the fill callback, another type handed to the hook, and an unexpected
 * type dropping the link (which then reconnects).
 */
#include "bw_autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"

START_TEST(status_add_fills_to_limit)
{
	struct bw_status	 st;
	char			 name[BW_NAME_MAX];
	int			 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < BW_STATUS_COUNTERS_MAX; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		ck_assert_int_eq(bw_status_add(&st, name, (uint64_t)i * 3), 0);
	}
	ck_assert_int_eq(st.ncounters, BW_STATUS_COUNTERS_MAX);
	ck_assert_int_eq(bw_status_add(&st, "one_more", 1), -1);
	ck_assert_int_eq(st.ncounters, BW_STATUS_COUNTERS_MAX);
	ck_assert_str_eq(st.counters[5].name, "c5");
	ck_assert_uint_eq(st.counters[5].value, 15);
}
END_TEST

static const struct {
	const char	*name;
	size_t		 want_len;
} name_cases[] = {
	{ "connections", 11 },
	{ "", 0 },
	{ "a_very_long_counter_name_that_does_not_fit_in_the_field",
	    sizeof(((struct bw_status_counter *)0)->name) - 1 },
};

/* Names are cut to the field and always terminated. */
START_TEST(status_add_cuts_long_names)
{
	struct bw_status	 st;

	memset(&st, 0xff, sizeof(st));
	st.ncounters = 0;
	ck_assert_int_eq(bw_status_add(&st, name_cases[_i].name, 7), 0);
	ck_assert_uint_eq(strlen(st.counters[0].name),
	    name_cases[_i].want_len);
	ck_assert_int_eq(strncmp(st.counters[0].name, name_cases[_i].name,
	    name_cases[_i].want_len), 0);
	ck_assert_uint_eq(st.counters[0].value, 7);
}
END_TEST

/* Words of state: BW_STATUS_INFO_MAX of them, values cut and terminated. */
START_TEST(status_add_info_limits)
{
	struct bw_status	 st;
	char			 name[BW_NAME_MAX], big[300];
	int			 i;

	memset(&st, 0xff, sizeof(st));
	st.ninfo = 0;
	st.ncounters = 0;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(bw_status_add_info(&st, "pressure", "soft"), 0);
	ck_assert_int_eq(bw_status_add_info(&st, "long", big), 0);
	ck_assert_str_eq(st.info[0].name, "pressure");
	ck_assert_str_eq(st.info[0].value, "soft");
	ck_assert_uint_eq(strlen(st.info[1].value),
	    BW_STATUS_INFO_TEXT_MAX - 1);
	for (i = 2; i < BW_STATUS_INFO_MAX; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		ck_assert_int_eq(bw_status_add_info(&st, name, ""), 0);
	}
	ck_assert_int_eq(bw_status_add_info(&st, "one_more", "x"), -1);
	ck_assert_uint_eq(st.ninfo, BW_STATUS_INFO_MAX);
	ck_assert_uint_eq(st.ncounters, 0);
}
END_TEST

/* The controld side of the test: what it saw. */
struct ctl_side {
	struct event_base	*base;
	struct bw_peer		*peer;		/* the daemon, once up */
	int			 ups;
	int			 downs;
	int			 statuses;
	struct bw_status	 st;
	uint32_t		 st_reqid;
	int			 flushes;
	int			 step;
	struct event		*ev_step;
};

/* The daemon side. */
struct dmn_side {
	int			 fills;
	int			 hooks;
	int			 states;
};

static void
dmn_fill(struct bw_status *st, void *arg)
{
	struct dmn_side	*d = arg;

	d->fills++;
	bw_status_add(st, "fills", (uint64_t)d->fills);
	bw_status_add(st, "answer", 42);
	bw_status_add_info(st, "pressure", "none");
}

static int
dmn_msg(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct dmn_side			*d = arg;
	struct bw_dns_flush_done	 done;

	if (imsg->hdr.type != BW_IMSG_DNS_FLUSH)
		return 0;
	d->hooks++;
	memset(&done, 0, sizeof(done));
	done.flushed = 3;
	bw_peer_send(peer, BW_IMSG_DNS_FLUSH_DONE, imsg->hdr.peerid, -1,
	    &done, sizeof(done));
	return 1;
}

static void
dmn_state(struct bw_peer *peer, int up, void *arg)
{
	struct dmn_side	*d = arg;

	d->states++;
}

static void
ctl_step_arm(struct ctl_side *c)
{
	struct timeval	 tv = { 0, 1000 };

	evtimer_add(c->ev_step, &tv);
}

/*
 * The script, one step per event: ask STATUS, ask DNS_FLUSH, send an
 * unexpected QUEUE_LIST_REQ, wait for the reconnect, stop.
 */
static void
ctl_step_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_side	*c = arg;

	switch (c->step) {
	case 0:
		ck_assert_int_eq(bw_peer_send(c->peer, BW_IMSG_STATUS_REQ, 77,
		    -1, NULL, 0), 0);
		break;
	case 1:
		ck_assert_int_eq(bw_peer_send(c->peer, BW_IMSG_DNS_FLUSH, 78,
		    -1, NULL, 0), 0);
		break;
	case 2:
		ck_assert_int_eq(bw_peer_send(c->peer, BW_IMSG_QUEUE_LIST_REQ,
		    79, -1, NULL, 0), 0);
		break;
	default:
		event_base_loopbreak(c->base);
		break;
	}
}

static void
ctl_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct ctl_side	*c = arg;

	switch (imsg->hdr.type) {
	case BW_IMSG_STATUS:
		c->statuses++;
		memcpy(&c->st, imsg->data, sizeof(c->st));
		c->st_reqid = imsg->hdr.peerid;
		c->step = 1;
		ctl_step_arm(c);
		break;
	case BW_IMSG_DNS_FLUSH_DONE:
		c->flushes++;
		ck_assert_uint_eq(imsg->hdr.peerid, 78);
		c->step = 2;
		ctl_step_arm(c);
		break;
	default:
		ck_abort_msg("unexpected type %u", imsg->hdr.type);
	}
}

static void
ctl_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct ctl_side	*c = arg;

	if (up) {
		c->ups++;
		c->peer = peer;
		/* first connection: start; after the drop: done */
		c->step = c->ups == 1 ? 0 : 3;
		ctl_step_arm(c);
	} else {
		c->downs++;
		c->peer = NULL;
	}
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

START_TEST(status_link_talks_to_controld)
{
	struct ctl_side			 c;
	struct dmn_side			 d;
	struct bw_peer_listener		*l;
	struct bw_status_link		*link;
	struct bw_status_link_conf	 conf;
	struct event			*ev_deadline;
	struct timeval			 tv = { 8, 0 };
	char				 dir[] = "/tmp/check_status_link.XXXXXX";
	char				 path[sizeof(dir) + 32];

	/* the listener answers HELLO as the process named here */
	log_init("controld", 1);
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/controld.sock", dir);
	ck_assert_ptr_nonnull(c.base = event_base_new());
	ck_assert_ptr_nonnull(c.ev_step = evtimer_new(c.base, ctl_step_cb,
	    &c));
	ck_assert_ptr_nonnull(ev_deadline = evtimer_new(c.base, deadline_cb,
	    c.base));
	evtimer_add(ev_deadline, &tv);
	ck_assert_ptr_nonnull(l = bw_peer_listen(c.base, path,
	    BW_ROLE_DNSCACHED, 0600, (gid_t)-1, ctl_msg_cb, ctl_state_cb, &c));

	memset(&conf, 0, sizeof(conf));
	conf.path = path;
	conf.role = BW_ROLE_DNSCACHED;
	conf.worker = 0;
	conf.proc = "dnscached";
	conf.started = 1234;
	conf.fill = dmn_fill;
	conf.msg = dmn_msg;
	conf.state = dmn_state;
	conf.arg = &d;
	link = bw_status_link_connect(c.base, &conf);
	ck_assert_int_eq(event_base_dispatch(c.base), 0);

	ck_assert_int_eq(c.step, 3);
	/* STATUS_REQ: header from the link, counters from the fill */
	ck_assert_int_eq(c.statuses, 1);
	ck_assert_uint_eq(c.st_reqid, 77);
	ck_assert_str_eq(c.st.proc, "dnscached");
	ck_assert_uint_eq(c.st.pid, (uint32_t)getpid());
	ck_assert_int_eq(c.st.started, 1234);
	ck_assert_uint_eq(c.st.ncounters, 2);
	ck_assert_str_eq(c.st.counters[1].name, "answer");
	ck_assert_uint_eq(c.st.counters[1].value, 42);
	ck_assert_uint_eq(c.st.ninfo, 1);
	ck_assert_str_eq(c.st.info[0].name, "pressure");
	ck_assert_str_eq(c.st.info[0].value, "none");
	ck_assert_int_eq(d.fills, 1);
	/* DNS_FLUSH went to the hook */
	ck_assert_int_eq(d.hooks, 1);
	ck_assert_int_eq(c.flushes, 1);
	/* QUEUE_LIST_REQ: nobody handles it, the link dropped, came back */
	ck_assert_int_eq(c.downs, 1);
	ck_assert_int_eq(c.ups, 2);
	ck_assert_uint_eq(bw_status_link_connects(link), 2);
	ck_assert_int_eq(d.states, 3);	/* up, down, up */
	ck_assert_int_eq(bw_status_link_is_up(link), 1);

	bw_status_link_close(link);
	bw_peer_listener_close(l);
	event_free(c.ev_step);
	event_free(ev_deadline);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	event_base_free(c.base);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *
status_link_suite(void)
{
	Suite	*s = suite_create("status_link");
	TCase	*tc;

	tc = tcase_create("add");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, status_add_fills_to_limit);
	tcase_add_test(tc, status_add_info_limits);
	tcase_add_loop_test(tc, status_add_cuts_long_names, 0,
	    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("link");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, status_link_talks_to_controld);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(status_link_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
