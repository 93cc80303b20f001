/*
 * Delivery log lines, one per recipient result, queue id first:
 *   QID to=<rcpt> relay=host[addr]:port gateway=G tls=... delay=Ns
 *   attempts=N dsn=x.y.z status=sent|deferred|bounced (reply)
 * where tls=... is dlv_tls_log_text()'s (deliverd_tlspolicy.c): the
 * version, cipher and verification of the connection, or tls=none; queued
 * writes it into the line of record too.
 * The reply is remote text: escaped and cut by log_escape().
 */
#include "bw_autoconf.h"

#include <stdio.h>
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
	log_debug("%s to=<%s> relay=%s gateway=%s %s delay=%llds "
	    "attempts=%u dsn=%s result=%s (%s)", j->qid, to,
	    relay[0] ? relay : "none", j->gateway,
	    j->tls[0] ? j->tls : "tls=none", delay, j->attempts + 1, r->dsn,
	    dlv_status_log_name(r->status), reply);
}

/* A connection's TLS for the delivery log line (queued's too). */
void
dlv_tls_log_text(const struct dlv_tls_info *ti, char *dst, size_t dstsz)
{
	if (ti->version[0] == '\0') {
		strlcpy(dst, "tls=none", dstsz);
		return;
	}
	snprintf(dst, dstsz, "tls=%s cipher=%s verify=%s", ti->version,
	    ti->cipher, ti->verify[0] ? ti->verify : "none");
}
