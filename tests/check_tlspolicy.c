/*
 * deliverd's TLS policy without a network (deliverd_tlspolicy.c,
 * deliverd_log.c): the requirement of a connection from the
 * configuration, the decision after EHLO at every level (offered or not,
 * a host marked "no TLS", MTA-STS testing), which failures may fall back
 * to plaintext, the 4.7.5 of a domain whose hosts all failed the policy,
 * and the log text.  The handshake check itself runs against real
 * receivers in test_tls_out.py.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "deliverd.h"

static const char tls_conf[] =
    "hostname mx.test.example\n"
    "tls encrypt\n"
    "destination v.example {\n"
    "    tls verify\n"
    "    tls_ca_file /nonexistent/ca.pem\n"
    "}\n"
    "destination n.example {\n"
    "    tls none\n"
    "}\n"
    "destination m.example {\n"
    "    tls may\n"
    "}\n";

static struct dlv_worker	 tp_worker;

static void
tp_setup(struct bw_config **cfgp)
{
	struct bw_config	*cfg = config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(config_parse_text(cfg, "t.conf", tls_conf, NULL,
	    NULL, NULL), 0);
	memset(&tp_worker, 0, sizeof(tp_worker));
	tp_worker.cfg = cfg;
	dlv_env = &tp_worker;
	*cfgp = cfg;
}

static void
tp_agent(struct dlv_agent *a, const char *domain)
{
	memset(a, 0, sizeof(*a));
	strlcpy(a->gateway, "default", sizeof(a->gateway));
	strlcpy(a->domain, domain, sizeof(a->domain));
	a->nhosts = 2;
	strlcpy(a->hosts[0].name, "mx1.example", sizeof(a->hosts[0].name));
	strlcpy(a->hosts[1].name, "mx2.example", sizeof(a->hosts[1].name));
}

START_TEST(want_from_config)
{
	static const struct {
		const char		*domain;
		enum dlv_tls_level	 level;
		const char		*ca;
	} rows[] = {
		{ "v.example", DLV_TLS_VERIFY, "/nonexistent/ca.pem" },
		{ "n.example", DLV_TLS_NONE, "" },
		{ "m.example", DLV_TLS_MAY, "" },
		{ "other.example", DLV_TLS_ENCRYPT, "" },	/* top level */
	};
	struct bw_config	*cfg;
	struct dlv_agent	 a;
	struct dlv_tls_want	 w;
	size_t			 i;

	tp_setup(&cfg);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		tp_agent(&a, rows[i].domain);
		dlv_tls_want_for(&a, 1, &w);
		ck_assert_msg(w.level == rows[i].level, "%s: level %d",
		    rows[i].domain, w.level);
		ck_assert_str_eq(w.ca_file, rows[i].ca);
		ck_assert_str_eq(w.why, "config");
		ck_assert_int_eq(w.testing, 0);
		/* the certificate must name the host connected to */
		ck_assert_int_eq(w.nnames, 1);
		ck_assert_str_eq(w.names[0], "mx2.example");
	}
	config_unref(cfg);
	dlv_env = NULL;
}
END_TEST

START_TEST(ehlo_decision)
{
	static const struct {
		enum dlv_tls_level	 level;
		int			 testing;
		int			 offered;
		int			 notls;		/* host marked "no TLS" */
		int			 tls;		/* already under TLS */
		enum dlv_tls_ehlo_act	 want;
	} rows[] = {
		{ DLV_TLS_NONE, 0, 1, 0, 0, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_MAY, 0, 1, 0, 0, DLV_TLS_ACT_STARTTLS },
		{ DLV_TLS_MAY, 0, 0, 0, 0, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_MAY, 0, 1, 1, 0, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_MAY, 0, 1, 0, 1, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_ENCRYPT, 0, 1, 0, 0, DLV_TLS_ACT_STARTTLS },
		{ DLV_TLS_ENCRYPT, 0, 0, 0, 0, DLV_TLS_ACT_FAIL },
		/* a "no TLS" mark from may never lowers a requirement */
		{ DLV_TLS_ENCRYPT, 0, 1, 1, 0, DLV_TLS_ACT_STARTTLS },
		{ DLV_TLS_ENCRYPT, 0, 1, 0, 1, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_VERIFY, 0, 0, 0, 0, DLV_TLS_ACT_FAIL },
		{ DLV_TLS_VERIFY, 0, 1, 1, 0, DLV_TLS_ACT_STARTTLS },
		{ DLV_TLS_DANE, 0, 0, 0, 0, DLV_TLS_ACT_FAIL },
		/* MTA-STS testing: as may */
		{ DLV_TLS_VERIFY, 1, 0, 0, 0, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_VERIFY, 1, 1, 1, 0, DLV_TLS_ACT_PLAIN },
		{ DLV_TLS_VERIFY, 1, 1, 0, 0, DLV_TLS_ACT_STARTTLS },
	};
	struct dlv_agent	 a;
	struct dlv_conn		 c;
	char			 why[BW_REPLY_TEXT_MAX];
	size_t			 i;
	enum dlv_tls_ehlo_act	 got;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		tp_agent(&a, "x.example");
		memset(&c, 0, sizeof(c));
		c.agent = &a;
		c.host = 0;
		c.tlsinfo.want.level = rows[i].level;
		c.tlsinfo.want.testing = rows[i].testing;
		c.tlsinfo.want.why = rows[i].testing ? "mta-sts-testing" :
		    "config";
		c.ext.starttls = rows[i].offered;
		c.tls = rows[i].tls;
		a.hosts[0].notls_until = rows[i].notls ?
		    bw_now_ms() + DLV_NOTLS_MS : 0;
		why[0] = '\0';
		got = dlv_tls_ehlo(&c, why, sizeof(why));
		ck_assert_msg(got == rows[i].want, "row %zu: %d, want %d", i,
		    got, rows[i].want);
		if (got == DLV_TLS_ACT_FAIL)
			ck_assert_str_eq(why, "TLS required but not offered by "
			    "mx1.example");
	}
}
END_TEST

START_TEST(fallback_only_at_may)
{
	struct dlv_conn	 c;

	memset(&c, 0, sizeof(c));
	c.tlsinfo.want.level = DLV_TLS_NONE;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 1);
	c.tlsinfo.want.level = DLV_TLS_MAY;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 1);
	c.tlsinfo.want.level = DLV_TLS_ENCRYPT;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 0);
	c.tlsinfo.want.level = DLV_TLS_VERIFY;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 0);
	c.tlsinfo.want.level = DLV_TLS_DANE;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 0);
	c.tlsinfo.want.level = DLV_TLS_VERIFY;
	c.tlsinfo.want.testing = 1;
	ck_assert_int_eq(dlv_tls_may_fallback(&c), 1);
}
END_TEST

START_TEST(unreachable_dsn)
{
	struct dlv_agent	 a;

	tp_agent(&a, "x.example");
	/* no host has failed yet */
	ck_assert_ptr_null(dlv_tls_unreachable_dsn(&a));
	strlcpy(a.hosts[0].last_error, "certificate name mismatch",
	    sizeof(a.hosts[0].last_error));
	a.hosts[0].tls_failed = 1;
	/* the other host has no error: only the TLS failure counts */
	ck_assert_str_eq(dlv_tls_unreachable_dsn(&a), "4.7.5");
	strlcpy(a.hosts[1].last_error, "connect: Connection refused",
	    sizeof(a.hosts[1].last_error));
	ck_assert_ptr_null(dlv_tls_unreachable_dsn(&a));
	a.hosts[1].tls_failed = 1;
	ck_assert_str_eq(dlv_tls_unreachable_dsn(&a), "4.7.5");
}
END_TEST

START_TEST(log_text)
{
	struct dlv_tls_info	 ti;
	char			 buf[BW_TLS_TEXT_MAX];

	memset(&ti, 0, sizeof(ti));
	dlv_tls_log_text(&ti, buf, sizeof(buf));
	ck_assert_str_eq(buf, "tls=none");
	strlcpy(ti.version, "TLSv1.3", sizeof(ti.version));
	strlcpy(ti.cipher, "TLS_AES_256_GCM_SHA384", sizeof(ti.cipher));
	dlv_tls_log_text(&ti, buf, sizeof(buf));
	ck_assert_str_eq(buf, "tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 "
	    "verify=none");
	strlcpy(ti.verify, "ok", sizeof(ti.verify));
	dlv_tls_log_text(&ti, buf, sizeof(buf));
	ck_assert_str_eq(buf, "tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 "
	    "verify=ok");
	/* the longest fields fit the catalog's text */
	memset(ti.version, 'v', sizeof(ti.version) - 1);
	memset(ti.cipher, 'c', sizeof(ti.cipher) - 1);
	memset(ti.verify, 'f', sizeof(ti.verify) - 1);
	dlv_tls_log_text(&ti, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), strlen("tls= cipher= verify=") +
	    sizeof(ti.version) - 1 + sizeof(ti.cipher) - 1 +
	    sizeof(ti.verify) - 1);
}
END_TEST

START_TEST(names_of_levels)
{
	ck_assert_str_eq(dlv_tls_level_name(DLV_TLS_VERIFY), "verify");
	ck_assert_str_eq(dlv_tls_level_name((enum dlv_tls_level)99), "?");
	ck_assert_str_eq(dlv_tls_fail_name(DLV_TLS_FAIL_NAME),
	    "tls_fail_name");
	ck_assert_str_eq(dlv_tls_fail_name(DLV_TLS_FAIL__COUNT), "?");
}
END_TEST

static Suite *
tlspolicy_suite(void)
{
	Suite	*s = suite_create("tlspolicy");
	TCase	*tc = tcase_create("policy");

	tcase_add_test(tc, want_from_config);
	tcase_add_test(tc, ehlo_decision);
	tcase_add_test(tc, fallback_only_at_may);
	tcase_add_test(tc, unreachable_dsn);
	tcase_add_test(tc, log_text);
	tcase_add_test(tc, names_of_levels);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tlspolicy_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
