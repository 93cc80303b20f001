/*
 * /metrics: which daemon counters are gauges (a value now) and which are
 * counters (only ever grow, reset at a restart), and the Prometheus text
 * format's names and escapes (exposition format 0.0.4).
 */
#ifndef CTL_METRIC_H
#define CTL_METRIC_H

#include <stddef.h>

struct evbuffer;

/* 1 if the daemon counter of this name is a gauge. */
int	 ctl_metric_is_gauge(const char *name);
/* A metric name from parts: [a-zA-Z_:][a-zA-Z0-9_:]*, anything else
 * becomes '_'; dst is always terminated. */
void	 ctl_metric_name(char *dst, size_t dstsz, const char *prefix,
	    const char *name, const char *suffix);
/* A label value quoted as the format wants it: \\ \" \n escaped. */
void	 ctl_metric_label(struct evbuffer *, const char *value);
#define CTL_METRIC_NAME_MAX	128

#endif
