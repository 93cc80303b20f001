/*
 * The arguments of `bwctl trace`, read by bwctl (a usage error is told
 * before anything is sent) and again by controld, which trusts no client:
 * the same function, so that both say the same thing.
 *
 *   trace ADDRESS [--listener NAME] [--helo NAME] [--from ADDR]
 *         [--rcpt ADDR]... [--json]
 *
 * Each option also takes the --opt=VALUE form.  Limits: the address is a
 * numeric IPv4 or IPv6 address; NAME and ADDR fit their fields of struct
 * bw_trace_req; at most BW_TRACE_RCPT_MAX recipients; no control bytes
 * anywhere (ADDR is otherwise left to smtpd's SMTP parser, whose answer
 * to a bad address is part of the trace).
 */
#ifndef CTL_TRACE_H
#define CTL_TRACE_H

#include <stddef.h>

#include "imsg_catalog.h"

#define CTL_TRACE_ERR_MAX	256	/* one usage error */

/*
 * argv[0] is "trace".  0 with req filled (and *json set by --json), or -1
 * with a one-line reason in err.
 */
int	 ctl_trace_args(int argc, char *const argv[], struct bw_trace_req *req,
	    int *json, char *err, size_t errsz);

#endif
