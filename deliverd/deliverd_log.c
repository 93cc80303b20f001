/*
 * Delivery log lines, one per recipient result, queue id first:
 *   QID to=<rcpt> relay=host[addr]:port gateway=G delay=Ns attempts=N
 *   dsn=x.y.z status=sent|deferred|bounced (reply)
 * The reply is remote text: escaped and cut by log_escape().
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"

/* The log word for a result. */
const char *
dlv_status_log_name(int status)
{
	switch (status) {
	case BW_DLV_DELIVERED:
		return "sent";
	case BW_DLV_TEMPFAIL:
		return "deferred";
	case BW_DLV_PERMFAIL:
		return "bounced";
	default:
		return "?";
	}
}

/*
 * One debug line for recipient idx of a finished job.  The syslog line of
 * record is queued's (queued_result.c): only queued knows whether a
 * temporary failure is deferred or, by the bounce profile, bounced.
 */
void
dlv_log_result(const struct dlv_job *j, uint32_t idx)
{
	const struct dlv_rcpt	*r = &j->rcpts[idx];
	char			 to[BW_ADDR_MAX * 4];
	char			 reply[BW_LOG_PEER_TEXT_MAX * 4 + 1];
	char			 relay[BW_RELAY_TEXT_MAX * 4];
	long long		 delay;

	log_escape(to, sizeof(to), r->addr, strlen(r->addr));
	log_escape(reply, sizeof(reply), r->reply, strlen(r->reply));
	log_escape(relay, sizeof(relay), j->relay, strlen(j->relay));
	delay = (long long)(bw_time() - j->created);
	if (delay < 0)
		delay = 0;
	log_debug("%s to=<%s> relay=%s gateway=%s delay=%llds attempts=%u "
	    "dsn=%s result=%s (%s)", j->qid, to, relay[0] ? relay : "none",
	    j->gateway, delay, j->attempts + 1, r->dsn,
	    dlv_status_log_name(r->status), reply);
}
