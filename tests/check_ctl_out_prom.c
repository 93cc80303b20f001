/*
 * Unit tests for ctl/ctl_out_prom.c and ctl/ctl_metric.c: the Prometheus
 * text of a document -- labels from LABEL cells (escaped), gauges and
 * counters (_total) from their columns, daemon counters from a KV cell
 * typed by the gauge list, a histogram, families kept together whatever
 * the row order, tables without a metric and notes left out, raw text as
 * it is; names made of the allowed bytes only.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "ctl_metric.h"
#include "ctl_out.h"

static const struct ctl_col cols[] = {
	{ "name", "NAME", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 0, NULL },
	{ "pid", "PID", CTL_T_INT, CTL_COL_BOTH, 0, NULL },
	{ "uptime", "UP", CTL_T_AGE, CTL_COL_BOTH | CTL_COL_GAUGE, 0, NULL },
	{ "jobs", "JOBS", CTL_T_UINT, CTL_COL_BOTH | CTL_COL_COUNTER, 0, NULL },
	{ "counters", NULL, CTL_T_KV, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
};
static const struct ctl_table tab = { "procs", cols, 5, "process" };
static const struct ctl_table plain = { "other", cols, 5, NULL };

static const struct ctl_col hcols[] = {
	{ "buckets", NULL, CTL_T_KV, CTL_COL_DATA | CTL_COL_HIST, 0, NULL },
	{ "sum", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "count", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table htab = { "latency", hcols, 3,
    "delivery_latency_seconds" };

static char *
render(void (*doc)(struct ctl_out *))
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o;
	char		*s;
	size_t		 len;

	ck_assert_ptr_nonnull(b);
	o = ctl_out_new(CTL_FMT_PROM, b);
	ck_assert_ptr_nonnull(o);
	doc(o);
	ck_assert_int_eq(ctl_out_end(o), 0);
	ctl_out_free(o);
	len = evbuffer_get_length(b);
	s = calloc(1, len + 1);
	evbuffer_remove(b, s, len);
	evbuffer_free(b);
	return s;
}

static void
row(struct ctl_out *o, const char *name, uint64_t jobs, uint64_t conns)
{
	ctl_out_row_open(o);
	ctl_out_str(o, "name", name);
	ctl_out_int(o, "pid", 42);
	ctl_out_int(o, "uptime", 7);
	ctl_out_uint(o, "jobs", jobs);
	ctl_out_obj_open(o, "counters");
	ctl_out_uint(o, "connections", conns);
	ctl_out_uint(o, "connections_active", 3);
	ctl_out_obj_close(o);
	ctl_out_row_close(o);
}

static void
doc_table(struct ctl_out *o)
{
	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "ignored", "x");
	ctl_out_note(o, "a note");
	ctl_out_table_open(o, &plain);
	row(o, "no", 1, 1);
	ctl_out_table_close(o);
	ctl_out_table_open(o, &tab);
	row(o, "smtpd", 5, 10);
	row(o, "deliverd[0]", 6, 11);
	row(o, "we\"ird\\na\nme", 0, 0);
	ctl_out_table_close(o);
	ctl_out_raw(o, "# TYPE breakwater_raw gauge\nbreakwater_raw 1\n");
	ctl_out_obj_close(o);
}

START_TEST(table_families)
{
	char	*s = render(doc_table);

	ck_assert_str_eq(s,
	    "# TYPE breakwater_raw gauge\nbreakwater_raw 1\n"
	    "# TYPE breakwater_process_uptime gauge\n"
	    "breakwater_process_uptime{name=\"smtpd\"} 7\n"
	    "breakwater_process_uptime{name=\"deliverd[0]\"} 7\n"
	    "breakwater_process_uptime{name=\"we\\\"ird\\\\na\\nme\"} 7\n"
	    "# TYPE breakwater_process_jobs_total counter\n"
	    "breakwater_process_jobs_total{name=\"smtpd\"} 5\n"
	    "breakwater_process_jobs_total{name=\"deliverd[0]\"} 6\n"
	    "breakwater_process_jobs_total{name=\"we\\\"ird\\\\na\\nme\"} 0\n"
	    "# TYPE breakwater_process_connections_total counter\n"
	    "breakwater_process_connections_total{name=\"smtpd\"} 10\n"
	    "breakwater_process_connections_total{name=\"deliverd[0]\"} 11\n"
	    "breakwater_process_connections_total{name=\"we\\\"ird\\\\na\\nme\"}"
	    " 0\n"
	    "# TYPE breakwater_process_connections_active gauge\n"
	    "breakwater_process_connections_active{name=\"smtpd\"} 3\n"
	    "breakwater_process_connections_active{name=\"deliverd[0]\"} 3\n"
	    "breakwater_process_connections_active{name=\"we\\\"ird\\\\na\\nme\"}"
	    " 3\n");
	free(s);
}
END_TEST

static void
doc_hist(struct ctl_out *o)
{
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &htab);
	ctl_out_row_open(o);
	ctl_out_obj_open(o, "buckets");
	ctl_out_uint(o, "1", 2);
	ctl_out_uint(o, "5", 3);
	ctl_out_uint(o, "+Inf", 4);
	ctl_out_obj_close(o);
	ctl_out_str(o, "sum", "6.5");
	ctl_out_uint(o, "count", 4);
	ctl_out_row_close(o);
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
}

START_TEST(histogram)
{
	char	*s = render(doc_hist);

	ck_assert_str_eq(s,
	    "# TYPE breakwater_delivery_latency_seconds histogram\n"
	    "breakwater_delivery_latency_seconds_bucket{le=\"1\"} 2\n"
	    "breakwater_delivery_latency_seconds_bucket{le=\"5\"} 3\n"
	    "breakwater_delivery_latency_seconds_bucket{le=\"+Inf\"} 4\n"
	    "breakwater_delivery_latency_seconds_sum 6.5\n"
	    "breakwater_delivery_latency_seconds_count 4\n");
	free(s);
}
END_TEST

START_TEST(names_and_gauges)
{
	char	 n[CTL_METRIC_NAME_MAX];

	ctl_metric_name(n, sizeof(n), "breakwater_", "a-b.c[0]", "_x");
	ck_assert_str_eq(n, "breakwater_a_b_c_0__x");
	ctl_metric_name(n, sizeof(n), NULL, "9lives", NULL);
	ck_assert_str_eq(n, "_lives");
	ctl_metric_name(n, 8, "breakwater_", "x", NULL);
	ck_assert_str_eq(n, "breakwa");
	ck_assert_int_eq(ctl_metric_is_gauge("queued_messages"), 1);
	ck_assert_int_eq(ctl_metric_is_gauge("connections_active"), 1);
	ck_assert_int_eq(ctl_metric_is_gauge("messages_accepted"), 0);
	ck_assert_int_eq(ctl_metric_is_gauge(""), 0);
}
END_TEST

static Suite *
prom_suite(void)
{
	Suite	*s = suite_create("ctl_out_prom");
	TCase	*tc = tcase_create("render");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, table_families);
	tcase_add_test(tc, histogram);
	tcase_add_test(tc, names_and_gauges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(prom_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
