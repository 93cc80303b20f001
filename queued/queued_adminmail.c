/*
 * Alert mail from controld (ADMIN_MAIL): stored like a DSN -- a new
 * message on the bounce gateway from the null sender, flagged
 * BW_DLVF_BOUNCE so that it is never bounced nor warned about itself --
 * and queued to the administrators' addresses.  queued answers
 * ADMIN_MAIL_DONE with the new queue id, or why it refused.  One line:
 *
 *   QID alert mail to=<a>[,<b>...] gateway=G size=N
 *
 * Trust: controld composed the text, but it is checked again here as if
 * it came from outside: 1..BW_ADMIN_MAIL_RCPTS_MAX addresses that check
 * as local@domain, and a text of at most BW_ADMIN_MAIL_TEXT_MAX bytes of
 * 7-bit CRLF lines of at most QADMIN_LINE_MAX bytes (RFC 5321 4.5.3.1.6).
 * A refused mail costs nothing but the answer.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

#define QADMIN_LINE_MAX	998	/* bytes of a line without CRLF */

/* NULL if text is CRLF lines of 7-bit text, else why not. */
static const char *
qadmin_text_check(const unsigned char *text, size_t len)
{
	size_t	 i, linelen = 0;

	if (len < 2 || text[len - 2] != '\r' || text[len - 1] != '\n')
		return "text does not end with CRLF";
	for (i = 0; i < len; i++) {
		if (text[i] == '\r') {
			if (i + 1 >= len || text[i + 1] != '\n')
				return "bare CR in text";
			i++;
			linelen = 0;
			continue;
		}
		if (text[i] == '\n')
			return "bare LF in text";
		if (text[i] == '\0' || text[i] >= 0x80)
			return "NUL or 8-bit byte in text";
		if (++linelen > QADMIN_LINE_MAX)
			return "line too long";
	}
	return NULL;
}

static void
qadmin_reply(struct bw_peer *peer, uint32_t reqid, const char *qid,
    const char *why)
{
	struct bw_admin_mail_done	 done;

	memset(&done, 0, sizeof(done));
	done.ok = why == NULL;
	if (qid != NULL)
		strlcpy(done.qid, qid, sizeof(done.qid));
	if (why != NULL)
		strlcpy(done.why, why, sizeof(done.why));
	if (bw_peer_send(peer, BW_IMSG_ADMIN_MAIL_DONE, reqid, -1, &done,
	    sizeof(done)) == -1)
		log_warnx("alert mail: cannot answer controld");
}

/* ADMIN_MAIL: check, store, queue, answer. */
void
qadmin_mail(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_admin_mail	 hdr;
	struct qmsg		 m;
	char			 rcptbuf[BW_ADMIN_MAIL_RCPTS_MAX][BW_ADDR_MAX];
	char			*rcpts[BW_ADMIN_MAIL_RCPTS_MAX];
	char			 to[BW_ADMIN_MAIL_RCPTS_MAX * (BW_ADDR_MAX + 3)];
	const unsigned char	*text;
	const char		*why;
	size_t			 len, i;

	/* the catalog checked the size range */
	memcpy(&hdr, imsg->data, sizeof(hdr));
	text = (const unsigned char *)imsg->data + sizeof(hdr);
	len = imsg->datalen - sizeof(hdr);
	if (hdr.textlen != len) {
		qadmin_reply(peer, reqid, NULL, "text length mismatch");
		log_warnx("alert mail refused: text length %u, frame carries "
		    "%zu", hdr.textlen, len);
		return;
	}
	if (hdr.nrcpt == 0 || hdr.nrcpt > BW_ADMIN_MAIL_RCPTS_MAX) {
		qadmin_reply(peer, reqid, NULL, "bad recipient count");
		log_warnx("alert mail refused: %u recipients", hdr.nrcpt);
		return;
	}
	to[0] = '\0';
	for (i = 0; i < hdr.nrcpt; i++) {
		BW_IMSG_STR(rcptbuf[i], hdr.rcpt[i]);
		if (!config_alert_addr_valid(rcptbuf[i])) {
			qadmin_reply(peer, reqid, NULL, "bad recipient");
			log_warnx("alert mail refused: bad recipient %zu", i);
			return;
		}
		/* the domain part names the queue: lower-cased as smtpd's */
		bw_lowercase(strrchr(rcptbuf[i], '@'),
		    strrchr(rcptbuf[i], '@'), BW_DOMAIN_MAX + 2);
		rcpts[i] = rcptbuf[i];
		if (i > 0)
			strlcat(to, ",", sizeof(to));
		strlcat(to, "<", sizeof(to));
		strlcat(to, rcptbuf[i], sizeof(to));
		strlcat(to, ">", sizeof(to));
	}
	if ((why = qadmin_text_check(text, len)) != NULL) {
		qadmin_reply(peer, reqid, NULL, why);
		log_warnx("alert mail refused: %s", why);
		return;
	}

	memset(&m, 0, sizeof(m));
	bw_qid_new(m.qid);
	m.created = bw_time();
	m.flags = BW_DLVF_BOUNCE;
	strlcpy(m.listener, "alert", sizeof(m.listener));
	strlcpy(m.helo, q_env->d.cfg->hostname, sizeof(m.helo));
	strlcpy(m.client_addr, "127.0.0.1", sizeof(m.client_addr));
	strlcpy(m.gateway, q_env->d.cfg->bounce_gateway[0] ?
	    q_env->d.cfg->bounce_gateway : QUEUED_GATEWAY_DEFAULT,
	    sizeof(m.gateway));
	m.rcpts = rcpts;
	m.nrcpt = hdr.nrcpt;
	if ((m.mem = malloc(len)) == NULL) {
		qadmin_reply(peer, reqid, NULL, "out of memory");
		log_warnx("%s alert mail: out of memory", m.qid);
		return;
	}
	memcpy(m.mem, text, len);
	m.memlen = m.memcap = len;
	m.size = len;
	if (qstore_msg_put(&q_env->store, &m) == -1) {
		free(m.mem);
		qadmin_reply(peer, reqid, NULL, "cannot store the message");
		log_warnx("%s alert mail: cannot store it", m.qid);
		return;
	}
	free(m.mem);
	q_env->c_queued_messages++;
	q_env->c_queued_recipients += hdr.nrcpt;
	q_env->c_admin_mails++;
	log_info("%s alert mail to=%s gateway=%s size=%zu", m.qid, to,
	    m.gateway, len);
	qsched_msg_added(m.qid, m.created, m.gateway, rcpts, hdr.nrcpt);
	qsched_flush_request();
	qadmin_reply(peer, reqid, m.qid, NULL);
}
