/*
 * Unit tests of the host access table: the configuration of policies,
 * sender groups and a listener's table (common/config_hat.c, through the
 * real parser), and the matcher (smtpd/smtpd_hat.c): networks (IPv4,
 * IPv6, thousands of them), confirmed names exact and by suffix, reverse
 * DNS states, score ranges and none, DNS lists with and without answers,
 * "match all", first match wins, the default row, limit sets resolved
 * policy over listener over global, and configurations that must be
 * refused with their line.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "config.h"
#include "smtpd_hat.h"

static char	 errs[8192];

static void
collect(const char *msg, void *arg)
{
	(void)arg;
	strlcat(errs, msg, sizeof(errs));
	strlcat(errs, "\n", sizeof(errs));
}

static int
load(struct bw_config *cfg, const char *text)
{
	errs[0] = '\0';
	memset(cfg, 0, sizeof(*cfg));
	return config_parse_text(cfg, "t.conf", text, "/tmp/bwhat", collect,
	    NULL);
}

static struct sockaddr_storage	 ss_buf;

static const struct sockaddr *
sa(const char *a)
{
	struct sockaddr_in	*in = (struct sockaddr_in *)&ss_buf;
	struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)&ss_buf;

	memset(&ss_buf, 0, sizeof(ss_buf));
	if (inet_pton(AF_INET, a, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		ck_abort_msg("bad address %s", a);
	return (struct sockaddr *)&ss_buf;
}

/* Fake DNS list answers: "zone=addr" pairs; a zone "down.example" fails. */
static const char	*listed_in;

static int
fake_listed(void *arg, const char *zone, const uint32_t *addrs, size_t n)
{
	char		 key[300];
	const char	*p;
	size_t		 i;
	struct in_addr	 in;

	(void)arg;
	if (strcmp(zone, "down.example") == 0)
		return -1;
	if (n == 0) {
		snprintf(key, sizeof(key), "%s=", zone);
		return listed_in != NULL && strstr(listed_in, key) != NULL;
	}
	for (i = 0; i < n; i++) {
		in.s_addr = htonl(addrs[i]);
		snprintf(key, sizeof(key), "%s=%s;", zone, inet_ntoa(in));
		if ((p = listed_in) != NULL && strstr(p, key) != NULL)
			return 1;
	}
	return 0;
}

static struct smtpd_hat_facts
facts(const char *addr)
{
	struct smtpd_hat_facts	 f;

	memset(&f, 0, sizeof(f));
	f.sa = sa(addr);
	f.rdns = SMTPD_HAT_RDNS_OFF;
	f.listed = fake_listed;
	listed_in = NULL;
	return f;
}

static const char base_text[] =
    "hostname mx.example\n"
    "message_size_limit 20m\n"
    "policy trusted {\n behaviour relay\n message_size_limit 50m\n}\n"
    "policy blocked {\n behaviour reject\n}\n"
    "policy refuse {\n behaviour tcprefuse\n}\n"
    "policy suspect {\n behaviour accept\n smtpd_max_recipients 5\n"
    " smtpd_tarpit_greeting_delay 20s\n tls required\n scan spam virus\n}\n"
    "policy default {\n behaviour accept\n}\n"
    "sender_group TRUSTED {\n policy trusted\n network 192.0.2.0/24 "
    "2001:db8::/32\n rdns_name relay.partner.example .trusted.example\n}\n"
    "sender_group BLOCKED {\n policy blocked\n score -10 -7.0\n"
    " dns_list bl.example 127.0.0.2 127.0.0.4\n}\n"
    "sender_group REFUSED {\n policy refuse\n network 198.51.100.7\n}\n"
    "sender_group SUSPECT {\n policy suspect\n rdns missing unconfirmed\n"
    " score none\n}\n"
    "sender_group BOTH {\n policy suspect\n match all\n network 10.0.0.0/8\n"
    " dns_list any.example\n}\n"
    "listener in {\n address 127.0.0.1\n port 2525\n type public\n"
    " accept_domains example.org\n message_size_limit 30m\n"
    " tls starttls\n tls_cert /x.pem\n tls_key /x.key\n"
    " sender_groups TRUSTED BLOCKED\n sender_groups REFUSED SUSPECT BOTH\n"
    " default_policy default\n}\n"
    "listener plain {\n address 127.0.0.1\n port 2526\n type private\n"
    " relay_networks 127.0.0.0/8\n}\n";

static const char *
group_of(const struct bw_listener_conf *l, const struct smtpd_hat_facts *f)
{
	const struct bw_hat_entry	*e = smtpd_hat_match(l, f);

	return e->group != NULL ? e->group->name : "(default)";
}

START_TEST(hat_parse_and_order)
{
	struct bw_config		 cfg;
	struct bw_listener_conf		*l;
	struct smtpd_hat_facts		 f;

	ck_assert_msg(load(&cfg, base_text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	ck_assert_int_eq(l->nhat, 5);
	ck_assert_str_eq(l->hat[0].group->name, "TRUSTED");
	ck_assert_str_eq(l->hat[4].group->name, "BOTH");
	ck_assert_ptr_nonnull(l->hat_default.policy);
	ck_assert_str_eq(l->hat_default.policy->name, "default");

	f = facts("192.0.2.77");
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f = facts("2001:db8:1::5");
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f = facts("::ffff:192.0.2.1");		/* mapped IPv4 */
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f = facts("198.51.100.7");
	ck_assert_str_eq(group_of(l, &f), "REFUSED");
	f = facts("198.51.100.8");
	ck_assert_str_eq(group_of(l, &f), "SUSPECT");	/* score none */
	f.score_known = 1;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	/* first match wins: a trusted network with a bad score */
	f = facts("192.0.2.1");
	f.score_known = 1;
	f.score = -100;
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	config_free(&cfg);
}
END_TEST

START_TEST(hat_names)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct smtpd_hat_facts	 f;

	ck_assert_msg(load(&cfg, base_text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	f = facts("203.0.113.9");
	f.rdns = SMTPD_HAT_RDNS_CONFIRMED;
	f.score_known = 1;
	f.name = "relay.partner.example";
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f.name = "RELAY.Partner.Example.";	/* case, trailing dot */
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f.name = "mx1.trusted.example";
	ck_assert_str_eq(group_of(l, &f), "TRUSTED");
	f.name = "trusted.example";		/* the suffix's own domain */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f.name = "eviltrusted.example";		/* not a label boundary */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f.name = "x.relay.partner.example";	/* exact is exact */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	/* a name that is not confirmed counts for nothing */
	f.name = "relay.partner.example";
	f.rdns = SMTPD_HAT_RDNS_UNCONFIRMED;
	ck_assert_str_eq(group_of(l, &f), "SUSPECT");
	ck_assert(smtpd_hat_name_match(".a.example", "b.a.example"));
	ck_assert(!smtpd_hat_name_match(".a.example", ""));
	ck_assert(!smtpd_hat_name_match("a.example", ""));
	config_free(&cfg);
}
END_TEST

START_TEST(hat_rdns_and_score)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct smtpd_hat_facts	 f;

	ck_assert_msg(load(&cfg, base_text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	f = facts("203.0.113.9");
	f.score_known = 1;
	f.rdns = SMTPD_HAT_RDNS_MISSING;
	ck_assert_str_eq(group_of(l, &f), "SUSPECT");
	f.rdns = SMTPD_HAT_RDNS_TEMPFAIL;	/* not listed in SUSPECT */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f.rdns = SMTPD_HAT_RDNS_OFF;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	/* score none: nothing answered */
	f.score_known = 0;
	ck_assert_str_eq(group_of(l, &f), "SUSPECT");
	/* not looked up at all: no score to be none */
	f.rdns = SMTPD_HAT_RDNS_OFF;
	f.score_off = 1;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f.score_off = 0;
	/* the range's ends are inside, one tenth beyond is not */
	f.score_known = 1;
	f.score = -100;
	ck_assert_str_eq(group_of(l, &f), "BLOCKED");
	f.score = -70;
	ck_assert_str_eq(group_of(l, &f), "BLOCKED");
	f.score = -69;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f.score = 100;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	config_free(&cfg);
}
END_TEST

START_TEST(hat_dns_lists)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct smtpd_hat_facts	 f;

	ck_assert_msg(load(&cfg, base_text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	f = facts("203.0.113.9");
	f.score_known = 1;
	listed_in = "bl.example=127.0.0.4;";
	ck_assert_str_eq(group_of(l, &f), "BLOCKED");
	listed_in = "bl.example=127.0.0.3;";	/* an answer not named */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	/* match all: the network and the list */
	f = facts("10.1.2.3");
	f.score_known = 1;
	listed_in = "any.example=";
	ck_assert_str_eq(group_of(l, &f), "BOTH");
	listed_in = NULL;
	ck_assert_str_eq(group_of(l, &f), "(default)");
	f = facts("11.1.2.3");
	f.score_known = 1;
	listed_in = "any.example=";
	ck_assert_str_eq(group_of(l, &f), "(default)");
	config_free(&cfg);
}
END_TEST

START_TEST(hat_failed_list_matches_nothing)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct smtpd_hat_facts	 f;
	const char		*text =
	    "policy p {\n behaviour reject\n}\n"
	    "sender_group G {\n policy p\n dns_list down.example\n}\n"
	    "listener in {\n address 127.0.0.1\n port 25\n type public\n"
	    " accept_domains a.example\n sender_groups G\n"
	    " default_policy p\n}\n";

	ck_assert_msg(load(&cfg, text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	f = facts("203.0.113.1");
	ck_assert_str_eq(group_of(l, &f), "(default)");
	config_free(&cfg);
}
END_TEST

START_TEST(hat_limit_sets)
{
	struct bw_config		 cfg;
	struct bw_listener_conf		*l, *plain;
	const struct bw_hat_entry	*e;
	struct smtpd_hat_facts		 f;

	ck_assert_msg(load(&cfg, base_text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	plain = TAILQ_NEXT(l, entry);
	f = facts("192.0.2.1");
	e = smtpd_hat_match(l, &f);
	/* policy 50m over listener 30m over global 20m */
	ck_assert_int_eq(e->limits.v[LIM_MESSAGE_SIZE_LIMIT], 50LL << 20);
	ck_assert_int_eq(e->policy->action, BW_POLICY_RELAY);
	ck_assert_int_eq(e->policy->shed, 0);	/* relay: not shed */
	f = facts("198.51.100.8");
	e = smtpd_hat_match(l, &f);
	ck_assert_int_eq(e->limits.v[LIM_MESSAGE_SIZE_LIMIT], 30LL << 20);
	ck_assert_int_eq(e->policy->shed, 1);
	f = facts("203.0.113.9");
	f.rdns = SMTPD_HAT_RDNS_MISSING;
	f.score_known = 1;
	e = smtpd_hat_match(l, &f);
	ck_assert_str_eq(e->policy->name, "suspect");
	ck_assert_int_eq(e->limits.v[LIM_SMTPD_MAX_RECIPIENTS], 5);
	ck_assert_int_eq(e->limits.v[LIM_SMTPD_TARPIT_GREETING_DELAY], 20000);
	ck_assert_int_eq(e->policy->tls, BW_POLICY_TLS_REQUIRED);
	ck_assert_int_eq(e->policy->scan, BW_SCAN_SPAM | BW_SCAN_VIRUS);
	/* no table: the default row is the listener's own set */
	ck_assert_int_eq(plain->nhat, 0);
	ck_assert_ptr_null(plain->hat_default.policy);
	e = smtpd_hat_match(plain, &f);
	ck_assert_int_eq(e->limits.v[LIM_MESSAGE_SIZE_LIMIT], 20LL << 20);
	ck_assert(cfg.limits_max.v[LIM_MESSAGE_SIZE_LIMIT] == 50LL << 20);
	config_free(&cfg);
}
END_TEST

START_TEST(hat_many_networks)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct smtpd_hat_facts	 f;
	char			*text, line[64];
	size_t			 cap = 1 << 20, len;
	int			 i;

	ck_assert_ptr_nonnull(text = malloc(cap));
	len = (size_t)snprintf(text, cap, "policy p {\n behaviour relay\n}\n"
	    "sender_group BIG {\n policy p\n");
	/* 10,000 /24s, 100 per line */
	for (i = 0; i < 10000; i++) {
		if (i % 100 == 0)
			len += (size_t)snprintf(text + len, cap - len,
			    "%s network", i ? "\n" : "");
		snprintf(line, sizeof(line), " 10.%d.%d.0/24", i / 256,
		    i % 256);
		len += (size_t)snprintf(text + len, cap - len, "%s", line);
	}
	snprintf(text + len, cap - len, "\n}\nlistener in {\n address "
	    "127.0.0.1\n port 25\n type public\n accept_domains a.example\n"
	    " sender_groups BIG\n default_policy p\n}\n");
	ck_assert_msg(load(&cfg, text) == 0, "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	ck_assert_int_eq((int)l->hat[0].group->nnets, 10000);
	f = facts("10.39.15.200");		/* 39*256+15 < 10000 */
	ck_assert_str_eq(group_of(l, &f), "BIG");
	f = facts("10.39.16.1");		/* 10000 = 39*256+16 */
	ck_assert_str_eq(group_of(l, &f), "(default)");
	config_free(&cfg);
	free(text);
}
END_TEST

static void
refused(const char *text, const char *want)
{
	struct bw_config	 cfg;

	ck_assert_msg(load(&cfg, text) > 0, "accepted: %s", text);
	ck_assert_msg(strstr(errs, want) != NULL, "want \"%s\" in:\n%s",
	    want, errs);
	config_free(&cfg);
}

#define LSN(extra) "listener in {\n address 127.0.0.1\n port 25\n type " \
	"public\n accept_domains a.example\n" extra "}\n"

START_TEST(hat_config_errors)
{
	refused("policy p {\n behaviour maybe\n}\n",
	    "t.conf:2: behaviour: expected accept, relay, reject or tcprefuse");
	refused("policy p {\n}\npolicy p {\n}\n",
	    "t.conf:3: duplicate policy \"p\" (first defined at line 1)");
	refused("policy p {\n tls sometimes\n}\n", "t.conf:2: tls: expected");
	refused("policy p {\n scan spam worms\n}\n", "t.conf:2: scan: expected");
	refused("policy p {\n smtpd_max_connections 5\n}\n",
	    "t.conf:2: smtpd_max_connections cannot be set in a policy block");
	refused("policy p {\n deliver_max_connections_per_domain 5\n}\n",
	    "cannot be set in a policy block");
	refused("sender_group G {\n policy p\n network 10.0.0.1/8\n}\n",
	    "t.conf:3: network: bad network");
	refused("sender_group G {\n policy nope\n network 10.0.0.0/8\n}\n",
	    "t.conf:2: sender_group \"G\": no policy \"nope\"");
	refused("policy p {\n}\nsender_group G {\n policy p\n}\n",
	    "t.conf:3: sender_group \"G\": no criterion");
	refused("policy p {\n}\nsender_group G {\n network 10.0.0.0/8\n}\n",
	    "t.conf:3: sender_group \"G\": missing policy");
	refused("policy p {\n}\nsender_group G {\n policy p\n score -11 0\n}\n",
	    "t.conf:5: score: expected MIN MAX");
	refused("policy p {\n}\nsender_group G {\n policy p\n score 3 -3\n}\n",
	    "t.conf:5: score: MIN 3 is above MAX -3");
	refused("policy p {\n}\nsender_group G {\n policy p\n score 1.25 3\n}\n",
	    "t.conf:5: score: expected");
	refused("policy p {\n}\nsender_group G {\n policy p\n"
	    " dns_list bl.example 10.0.0.2\n}\n", "t.conf:5: dns_list: bad "
	    "answer");
	refused("policy p {\n}\nsender_group G {\n policy p\n rdns sometimes\n}\n",
	    "t.conf:5: rdns: expected");
	refused("policy p {\n}\nsender_group G {\n policy p\n rdns_name bad..name\n}\n",
	    "t.conf:5: rdns_name: bad name");
	refused("policy p {\n}\n" LSN(" sender_groups G\n default_policy p\n"),
	    "t.conf:8: listener \"in\": no sender_group \"G\"");
	refused("policy p {\n}\nsender_group G {\n policy p\n network 1.2.3.4\n"
	    "}\n" LSN(" sender_groups G\n"),
	    "t.conf:12: listener \"in\": sender_groups needs default_policy");
	refused("policy p {\n}\nsender_group G {\n policy p\n network 1.2.3.4\n"
	    "}\n" LSN(" sender_groups G G\n default_policy p\n"),
	    "sender_group \"G\" listed twice");
	refused(LSN(" default_policy nope\n"),
	    "t.conf:6: listener \"in\": no policy \"nope\"");
	refused("behaviour relay\n", "behaviour: only valid inside a policy "
	    "block");
	refused("policy p {\n tls required\n}\n" LSN(" default_policy p\n"),
	    "t.conf:9: listener \"in\": policy \"p\" requires TLS");
	refused(LSN(" accept_recipients nobody\n"),
	    "t.conf:6: accept_recipients: bad address");
}
END_TEST

START_TEST(hat_score_parse)
{
	extern int	 config_score_parse(const char *, int *);
	int		 t;

	ck_assert_int_eq(config_score_parse("-10", &t), 0);
	ck_assert_int_eq(t, -100);
	ck_assert_int_eq(config_score_parse("+10.0", &t), 0);
	ck_assert_int_eq(t, 100);
	ck_assert_int_eq(config_score_parse("0.5", &t), 0);
	ck_assert_int_eq(t, 5);
	ck_assert_int_eq(config_score_parse("-3.5", &t), 0);
	ck_assert_int_eq(t, -35);
	ck_assert_int_eq(config_score_parse("10.1", &t), -1);
	ck_assert_int_eq(config_score_parse("", &t), -1);
	ck_assert_int_eq(config_score_parse("-", &t), -1);
	ck_assert_int_eq(config_score_parse("1.", &t), -1);
	ck_assert_int_eq(config_score_parse("99999999999", &t), -1);
	ck_assert_int_eq(config_score_parse("1e1", &t), -1);
}
END_TEST

START_TEST(rat_recipients)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;

	ck_assert_msg(load(&cfg, LSN(" accept_domains b.example\n"
	    " accept_recipients Postmaster@B.example x@c.example\n")) == 0,
	    "%s", errs);
	l = TAILQ_FIRST(&cfg.listeners);
	/* a.example: whole domain */
	ck_assert(config_listener_accepts_rcpt(l, "anyone@a.example",
	    "a.example"));
	/* b.example: narrowed to its listed address */
	ck_assert(config_listener_accepts_rcpt(l, "postmaster@b.example",
	    "b.example"));
	ck_assert(config_listener_accepts_rcpt(l, "POSTMASTER@b.example",
	    "b.example"));
	ck_assert(!config_listener_accepts_rcpt(l, "other@b.example",
	    "b.example"));
	/* c.example is not accepted, but one address in it is */
	ck_assert(config_listener_accepts_rcpt(l, "x@c.example", "c.example"));
	ck_assert(!config_listener_accepts_rcpt(l, "y@c.example",
	    "c.example"));
	ck_assert(!config_listener_accepts_rcpt(l, "z@d.example",
	    "d.example"));
	config_free(&cfg);
}
END_TEST

static Suite *
hat_suite(void)
{
	Suite	*s = suite_create("smtpd_hat");
	TCase	*tc = tcase_create("hat");

	tcase_add_test(tc, hat_parse_and_order);
	tcase_add_test(tc, hat_names);
	tcase_add_test(tc, hat_rdns_and_score);
	tcase_add_test(tc, hat_dns_lists);
	tcase_add_test(tc, hat_failed_list_matches_nothing);
	tcase_add_test(tc, hat_limit_sets);
	tcase_add_test(tc, hat_many_networks);
	tcase_add_test(tc, hat_config_errors);
	tcase_add_test(tc, hat_score_parse);
	tcase_add_test(tc, rat_recipients);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(hat_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
