/*
 * The message content: DATA and BDAT (RFC 3030) share one path to
 * queued.  smtpd_data_begin() prepends the Received: header, the body
 * streams to queued in MSG_DATA chunks of at most BW_DATA_CHUNK_MAX bytes
 * (smtpd_data_flush), a refused message is aborted at once and answered
 * once its bytes are read (smtpd_data_reject), and the end commits and
 * waits for queued (smtpd_data_end): the 250 with the queue id is sent by
 * smtpd_session_commit_reply() only after queued's commit reply, for the
 * final dot and for BDAT LAST alike.  Both pause reading while queued is
 * slow (smtpd_data_pause) and both run under the whole-data deadline.
 *
 * DATA: split the client's bytes into lines, find the end of data,
 * dot-unstuff.  Trust: body bytes are hostile.  The end of data is only
 * <CRLF>.<CRLF>: a line counts as "." only if the previous line ended in
 * CRLF and it ends in CRLF itself.  A bare LF or a bare CR anywhere
 * refuses the message (SMTP smuggling: "\n.\n" or "\r.\r" never ends
 * DATA here and never reaches the store).  Lines are bounded by
 * smtpd_max_text_line, the message by message_size_limit, its Received:
 * fields by hopcount_limit (a mail loop); a refused message is read to its
 * end and discarded (MSG_ABORT at once), then refused with one reply.
 *
 * BDAT: exactly the announced octets, no dot-stuffing and no end marker.
 * A BODY=BINARYMIME message is stored exactly as received.  Any other
 * BDAT message is still lines (RFC 3030 3): the chunks are checked as one
 * byte stream with the same rules as DATA (smtp_body_scan: a bare LF or
 * CR refuses the message with 554 5.6.11, a line over
 * smtpd_max_text_line with 554 5.6.0), so that nothing stored from BDAT
 * could end a DATA transaction early when deliverd relays it to a host
 * without CHUNKING; a last line without CRLF gets one, since the store
 * holds CRLF lines.  A chunk that cannot be taken (no transaction, no
 * recipient, over message_size_limit, after an error) is still read and
 * discarded before its reply, so that the session stays in sync.
 */
#include "bw_autoconf.h"

#include <sys/uio.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "smtpd_hat.h"

#define SMTPD_REPLY_BARE	"554 5.6.11 Message rejected: bare LF or CR " \
				"not allowed (RFC 5321 2.3.8)"
#define SMTPD_REPLY_LONGLINE	"554 5.6.0 Message rejected: line too long"
#define SMTPD_REPLY_HOPS	"554 5.4.6 Too many hops"

/* Refuse the message being received; the first reason wins. */
static void
smtpd_data_reject(struct smtpd_session *s, const char *reply, const char *why)
{
	if (s->data_reject != NULL)
		return;
	s->data_reject = reply;
	s->data_reject_why = why;
	log_info("%s session=%llu addr=%s message refused: %s", s->qid,
	    (unsigned long long)s->id, s->addr, why);
	smtpd_queue_abort(s);
	evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
}

/*
 * Message text (dot-unstuffed, or BDAT octets) on its way to the chunk:
 * its header section is scanned: a message that already carries
 * hopcount_limit Received: fields would leave here with one more, so it is
 * looping (RFC 5321 6.3).  It is refused at the end of data (with BDAT,
 * of the chunk), not accepted and bounced: the refusal costs nobody a
 * bounce, and a forged sender gets no backscatter.  0, or -1 when refused.
 */
static int
smtpd_data_hops(struct smtpd_session *s, const void *p, size_t n)
{
	if (!smtp_hdrscan_done(&s->hdrs)) {
		smtp_hdrscan_feed(&s->hdrs, p, n);
		if (s->hdrs.received >= (unsigned long long)
		    SMTPD_LIM(s, LIM_HOPCOUNT_LIMIT)) {
			s->env->c.hopcount_rejects++;
			smtpd_data_reject(s, SMTPD_REPLY_HOPS, "too many hops "
			    "(mail loop?)");
			return -1;
		}
	}
	return 0;
}

/* DATA's text, through the hop scan, to the chunk. */
static void
smtpd_data_add(struct smtpd_session *s, const void *p, size_t n)
{
	if (smtpd_data_hops(s, p, n) == 0)
		evbuffer_add(s->chunk, p, n);
}

/* Send what is in s->chunk in frames of at most BW_DATA_CHUNK_MAX. */
static void
smtpd_data_flush(struct smtpd_session *s, int all)
{
	size_t		 len, n;
	unsigned char	*p;

	while ((len = evbuffer_get_length(s->chunk)) > 0) {
		if (!all && len < BW_DATA_CHUNK_MAX)
			return;
		if (s->data_reject != NULL) {
			evbuffer_drain(s->chunk, len);
			return;
		}
		n = len < BW_DATA_CHUNK_MAX ? len : BW_DATA_CHUNK_MAX;
		if ((p = evbuffer_pullup(s->chunk, (ssize_t)n)) == NULL ||
		    smtpd_queue_data(s, p, n) == -1) {
			s->tx_dead = 1;
			smtpd_data_reject(s, smtpd_submit_reply(
			    BW_SUBMIT_TEMPFAIL), "cannot send to queued");
			return;
		}
		evbuffer_drain(s->chunk, n);
	}
}

/* Protocol name for Received: (RFC 3848, RFC 6531). */
static const char *
smtpd_data_proto(const struct smtpd_session *s)
{
	if (s->params.smtputf8)
		return s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (!s->esmtp)
		return s->tls ? "SMTPS" : "SMTP";
	return s->tls ? "ESMTPS" : "ESMTP";
}

/* Prepend Received: and reset the line state; -1 if it cannot be sent. */
int
smtpd_data_begin(struct smtpd_session *s)
{
	char		 date[64], tls[160] = "", forr[BW_ADDR_MAX + 16] = "";
	char		 hat[2 * BW_NAME_MAX + 64] = "", score[16];
	struct tm	 tm;
	time_t		 now = time(NULL);

	evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
	s->data_size = 0;
	s->data_bol = 1;
	s->data_midline = 0;
	s->data_lastcr = 0;
	s->data_seen = evbuffer_get_length(bufferevent_get_input(s->bev));
	s->data_reject = NULL;
	s->data_reject_why = NULL;
	smtp_hdrscan_init(&s->hdrs);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", sizeof(date));
	/* Postfix's form and place (after the from clause), which log
	 * tools know */
	if (s->tls)
		snprintf(tls, sizeof(tls), "\t(using %s with cipher %s "
		    "(%d/%d bits))\r\n", s->tls_proto, s->tls_cipher,
		    s->tls_bits, s->tls_alg_bits);
	/* how the host access table saw the client, for filters and for
	 * whoever reads the headers of a complaint (a client looked up
	 * without an answer: score=none; not looked up: score=off, as
	 * on the connect line) */
	if (s->rep.phase != SMTPD_REPUTE_OFF ||
	    (s->hat != NULL && s->hat->policy != NULL))
		snprintf(hat, sizeof(hat), "\t(score=%s group=%s policy=%s)"
		    "\r\n", s->rep.phase == SMTPD_REPUTE_OFF ? "off" :
		    smtpd_score_text(&s->score, score, sizeof(score)),
		    smtpd_hat_group_name(s->hat), smtpd_hat_policy_name(s->hat));
	if (s->nrcpt == 1)
		snprintf(forr, sizeof(forr), "\r\n\tfor <%s>", s->rcpt1);
	if (evbuffer_add_printf(s->chunk, "Received: from %s (%s [%s])\r\n"
	    "%s%s\tby %s (Breakwater) with %s id %s%s;\r\n\t%s\r\n",
	    s->helo, s->name, s->addr, tls, hat, s->env->d.cfg->hostname,
	    smtpd_data_proto(s), s->qid, forr, date) == -1)
		return -1;
	s->data_size = evbuffer_get_length(s->chunk);
	smtpd_data_flush(s, 1);
	return s->data_reject != NULL ? -1 : 0;
}

/* The refused message's bytes are all read: its one reply. */
static void
smtpd_data_refused(struct smtpd_session *s)
{
	evtimer_del(s->ev_timer);
	s->env->c.messages_rejected++;
	smtpd_session_reply(s, "%s", s->data_reject);
	smtpd_session_tx_reset(s);
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
}

/* The end of data: refuse, or commit and wait for queued. */
static void
smtpd_data_end(struct smtpd_session *s)
{
	struct timeval	 tv;

	evtimer_del(s->ev_timer);
	if (s->data_reject == NULL)
		smtpd_data_flush(s, 1);
	if (s->data_reject == NULL && smtpd_queue_commit(s) == -1) {
		s->tx_dead = 1;
		smtpd_data_reject(s, smtpd_submit_reply(BW_SUBMIT_TEMPFAIL),
		    "cannot send commit to queued");
	}
	if (s->data_reject != NULL) {
		smtpd_data_refused(s);
		return;
	}
	s->phase = SMTPD_PH_WAIT_COMMIT;
	smtpd_session_set_timeouts(s);
	tv.tv_sec = (time_t)(SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_QUEUE_REPLY) / 1000);
	tv.tv_usec = (suseconds_t)(SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_QUEUE_REPLY) %
	    1000) * 1000;
	evtimer_add(s->ev_timer, &tv);
}

/* Stop reading this session until queued has drained its backlog. */
static void
smtpd_data_pause(struct smtpd_session *s)
{
	struct timeval	 tv = { 0, SMTPD_PAUSE_CHECK_MS * 1000 };

	s->paused = 1;
	s->env->npaused++;
	s->env->c.data_pauses++;
	bufferevent_disable(s->bev, EV_READ);
	if (!evtimer_pending(s->env->ev_pause, NULL))
		evtimer_add(s->env->ev_pause, &tv);
}

void
smtpd_data_pause_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_env	*env = arg;
	struct smtpd_session	*s;
	struct timeval		 tv = { 0, SMTPD_PAUSE_CHECK_MS * 1000 };

	if (env->npaused == 0)
		return;
	if (smtpd_queue_up(env) && bw_peer_wpending(env->queued) >
	    SMTPD_QUEUE_WPENDING_MAX / 2) {
		evtimer_add(env->ev_pause, &tv);
		return;
	}
	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (!s->paused)
			continue;
		s->paused = 0;
		env->npaused--;
		if (s->phase == SMTPD_PH_CLOSING || s->free_scheduled)
			continue;
		bufferevent_enable(s->bev, EV_READ);
		bufferevent_trigger(s->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

/*
 * The fast path is about to refuse the message at the line at pos: the
 * lines before it, still waiting in the run, go through the hop scan
 * first, as they would have line by line.  Else which reason wins (too
 * many hops, or the size, a bare LF, a long line further on) would
 * depend on how the client's bytes were cut into reads.
 */
static void
smtpd_data_fast_reject(struct smtpd_session *s, const unsigned char *buf,
    size_t *run, size_t pos, const char *reply, const char *why)
{
	if (s->data_reject == NULL && pos > *run)
		smtpd_data_add(s, buf + *run, pos - *run);
	*run = pos;
	smtpd_data_reject(s, reply, why);
}

/*
 * The common case, without a libevent call per line: every complete line
 * of the input's first contiguous block, checked exactly as below and
 * added to the chunk in runs (split only where a leading dot is removed).
 * Returns 1 at the end of data, 0 when it consumed lines, -1 when it
 * cannot start (a continued overlong line, or no whole line in the first
 * block): the line-by-line path takes over for one line.
 */
static int
smtpd_data_fast(struct smtpd_session *s, struct evbuffer *in, size_t maxline,
    uint64_t maxsize)
{
	struct evbuffer_iovec	 v;
	const unsigned char	*buf, *line, *nl;
	size_t			 avail, pos = 0, run = 0, linelen;
	int			 crlf;

	if (s->data_midline || evbuffer_peek(in, -1, NULL, &v, 1) < 1 ||
	    v.iov_len == 0)
		return -1;
	buf = v.iov_base;
	avail = v.iov_len;
	while (pos < avail && (nl = memchr(buf + pos, '\n', avail - pos)) !=
	    NULL) {
		line = buf + pos;
		linelen = (size_t)(nl - line) + 1;
		if (linelen > maxline)
			smtpd_data_fast_reject(s, buf, &run, pos,
			    SMTPD_REPLY_LONGLINE, "line too long");
		crlf = linelen >= 2 && line[linelen - 2] == '\r';
		if (s->data_bol && crlf && linelen == 3 && line[0] == '.') {
			if (s->data_reject == NULL && pos > run)
				smtpd_data_add(s, buf + run, pos - run);
			evbuffer_drain(in, pos + linelen);
			smtpd_data_end(s);
			return 1;
		}
		if ((!crlf || memchr(line, '\r', linelen - (crlf ? 2 : 1)) !=
		    NULL) && s->data_reject == NULL) {
			if (pos > run)
				smtpd_data_add(s, buf + run, pos - run);
			run = pos;
			if (s->data_reject == NULL)
				s->env->c.bare_lf_rejects++;
			smtpd_data_reject(s, SMTPD_REPLY_BARE,
			    crlf ? "bare CR in message" : "bare LF in message");
		}
		if (s->data_reject == NULL) {
			/* dot-unstuffing (RFC 5321 4.5.2) */
			if (line[0] == '.') {
				if (pos > run)
					smtpd_data_add(s, buf + run,
					    pos - run);
				run = pos + 1;
			}
			s->data_size += linelen - (line[0] == '.');
			if (s->data_size > maxsize)
				smtpd_data_fast_reject(s, buf, &run, pos,
				    smtpd_submit_reply(BW_SUBMIT_TOOBIG),
				    "message size limit");
		}
		pos += linelen;
		if (s->data_reject != NULL)
			run = pos;
		s->data_bol = crlf;
	}
	if (pos == 0)
		return -1;
	if (s->data_reject == NULL && pos > run)
		smtpd_data_add(s, buf + run, pos - run);
	evbuffer_drain(in, pos);
	smtpd_data_flush(s, 0);
	return 0;
}

/*
 * libevent 2.1 reads at most 4 KiB per read event, so a 100 KiB body took
 * some 30 wake-ups, reads and FIONREADs.  When a plaintext read filled
 * those 4 KiB, more is likely waiting: take what the socket holds, up to
 * SMTPD_DATA_READ_MAX and within smtpd_max_input_buffer.  End of file and
 * errors are left for libevent's next read to report.
 */
static void
smtpd_data_read_more(struct smtpd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec	 v[2];
	size_t			 have = evbuffer_get_length(in), room, got;
	size_t			 max = (size_t)SMTPD_LIM(s,
				    LIM_SMTPD_MAX_INPUT_BUFFER);
	ssize_t			 r;
	int			 i, n;

	if (!s->fd_owned || s->fd == -1 || have < s->data_seen +
	    SMTPD_LIBEVENT_READ || have >= max)
		return;
	room = max - have < SMTPD_DATA_READ_MAX ? max - have :
	    SMTPD_DATA_READ_MAX;
	/* the bufferevent keeps the input's end frozen between its reads */
	evbuffer_unfreeze(in, 0);
	if ((n = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2)) <= 0) {
		evbuffer_freeze(in, 0);
		return;
	}
	for (i = 0, got = 0; i < n && got < room; i++) {
		if (v[i].iov_len > room - got)
			v[i].iov_len = room - got;
		got += v[i].iov_len;
	}
	n = i;
	if ((r = readv(s->fd, (struct iovec *)v, n)) <= 0)
		r = 0;
	for (i = 0, got = (size_t)r; i < n; i++) {
		if (v[i].iov_len > got)
			v[i].iov_len = got;
		got -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, n);
	evbuffer_freeze(in, 0);
}

/*
 * Consume complete lines.  Returns 1 when the phase changed (end of data),
 * 0 when more input is needed (or reading is paused).
 */
int
smtpd_data_process(struct smtpd_session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr	 p;
	size_t			 len, linelen, off, body;
	size_t			 maxline = (size_t)SMTPD_LIM(s,
				    LIM_SMTPD_MAX_TEXT_LINE);
	uint64_t		 maxsize = (uint64_t)SMTPD_LIM(s,
				    LIM_MESSAGE_SIZE_LIMIT);
	unsigned char		*buf;
	int			 crlf, bare, r;

	if (s->paused)
		return 0;
	if (s->data_reject == NULL && smtpd_queue_up(s->env) &&
	    bw_peer_wpending(s->env->queued) > SMTPD_QUEUE_WPENDING_MAX) {
		smtpd_data_pause(s);
		return 0;
	}
	smtpd_data_read_more(s, in);
	while ((len = evbuffer_get_length(in)) > 0) {
		if ((r = smtpd_data_fast(s, in, maxline, maxsize)) == 1)
			return 1;
		if (r == 0)
			continue;
		p = evbuffer_search(in, "\n", 1, NULL);
		if (p.pos < 0) {
			/* a partial line: bound it, keep waiting for LF */
			if (len <= maxline)
				break;
			buf = evbuffer_pullup(in, (ssize_t)len);
			if (memchr(buf, '\r', len - 1) != NULL ||
			    (s->data_midline && s->data_lastcr && buf[0] != '\n'))
				smtpd_data_reject(s, SMTPD_REPLY_BARE,
				    "bare CR in message");
			smtpd_data_reject(s, SMTPD_REPLY_LONGLINE,
			    "line too long");
			s->data_lastcr = buf[len - 1] == '\r';
			s->data_midline = 1;
			evbuffer_drain(in, len);
			break;
		}
		linelen = (size_t)p.pos + 1;
		if (linelen > maxline && !s->data_midline)
			smtpd_data_reject(s, SMTPD_REPLY_LONGLINE,
			    "line too long");
		buf = evbuffer_pullup(in, (ssize_t)linelen);
		if (linelen >= 2)
			crlf = buf[linelen - 2] == '\r';
		else
			crlf = s->data_midline && s->data_lastcr;
		body = linelen - (crlf && linelen >= 2 ? 2 : 1);
		bare = !crlf || memchr(buf, '\r', body) != NULL ||
		    (s->data_midline && s->data_lastcr && linelen >= 2);
		if (!s->data_midline && s->data_bol && crlf && linelen == 3 &&
		    buf[0] == '.') {
			evbuffer_drain(in, linelen);
			smtpd_data_end(s);
			return 1;
		}
		if (bare && s->data_reject == NULL) {
			s->env->c.bare_lf_rejects++;
			smtpd_data_reject(s, SMTPD_REPLY_BARE,
			    crlf ? "bare CR in message" : "bare LF in message");
		}
		if (s->data_reject == NULL) {
			/* dot-unstuffing (RFC 5321 4.5.2) */
			off = (!s->data_midline && buf[0] == '.') ? 1 : 0;
			s->data_size += linelen - off;
			if (s->data_size > maxsize)
				smtpd_data_reject(s, smtpd_submit_reply(
				    BW_SUBMIT_TOOBIG), "message size limit");
			else {
				smtpd_data_add(s, buf + off, linelen - off);
				smtpd_data_flush(s, 0);
			}
		}
		evbuffer_drain(in, linelen);
		s->data_bol = crlf;
		s->data_midline = 0;
		s->data_lastcr = 0;
	}
	s->data_seen = evbuffer_get_length(in);
	smtpd_data_flush(s, 1);
	return 0;
}

/* ---- BDAT (RFC 3030) ---- */

/* What is left of the BDAT whole-data deadline, in ms (0: it is over). */
long long
smtpd_bdat_left_ms(const struct smtpd_session *s)
{
	uint64_t	 now = bw_now_ms();

	return now >= s->bdat_deadline ? 0 : (long long)(s->bdat_deadline -
	    now);
}

/*
 * A BDAT command was accepted by the session: read its size octets as the
 * next chunk of the message, or, with refuse set, read and discard them
 * and then answer refuse (a client error if refuse_is_error).  The first
 * chunk of a message starts it as DATA does (Received:, the whole-data
 * deadline); the running total is held to message_size_limit before any
 * octet is read.
 */
void
smtpd_bdat_start(struct smtpd_session *s, uint64_t size, int last,
    const char *refuse, int refuse_is_error)
{
	uint64_t	 maxsize = (uint64_t)SMTPD_LIM(s, LIM_MESSAGE_SIZE_LIMIT);

	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_refuse = refuse;
	s->bdat_refuse_err = refuse_is_error;
	s->phase = SMTPD_PH_BDAT;
	smtpd_session_set_timeouts(s);
	/*
	 * The whole-data deadline runs from a message's first chunk (a
	 * refused chunk has one of its own, which bounds the discarding).
	 * The session's timer holds it while a chunk is read; between the
	 * chunks the command deadline takes its place unless it is earlier.
	 */
	if (refuse != NULL || !s->bdat)
		s->bdat_deadline = bw_now_ms() +
		    (uint64_t)SMTPD_LIM(s, LIM_SMTPD_TIMEOUT_DATA_TOTAL);
	smtpd_session_timer_arm(s, smtpd_bdat_left_ms(s));
	if (refuse != NULL)
		return;
	if (!s->bdat) {
		s->bdat = 1;
		s->bdat_chunks = 0;
		smtp_body_scan_init(&s->bdat_scan);
		if (smtpd_data_begin(s) == -1) {
			s->tx_dead = 1;
			smtpd_data_reject(s, smtpd_submit_reply(
			    BW_SUBMIT_TEMPFAIL), "cannot send to queued");
		}
	}
	s->bdat_chunks++;
	if (s->data_reject == NULL && (size > maxsize ||
	    s->data_size + size > maxsize))
		smtpd_data_reject(s, smtpd_submit_reply(BW_SUBMIT_TOOBIG),
		    "message size limit");
}

/* The non-binary line check failed: refuse the message (DATA's replies). */
static void
smtpd_bdat_scan_fail(struct smtpd_session *s, int r)
{
	if (r == SMTP_BODY_ELONGLINE) {
		smtpd_data_reject(s, SMTPD_REPLY_LONGLINE, "line too long");
		return;
	}
	s->env->c.bare_lf_rejects++;
	smtpd_data_reject(s, SMTPD_REPLY_BARE, r == SMTP_BODY_EBARELF ?
	    "bare LF in message" : "bare CR in message");
}

/* LAST is read: the last line gets its CRLF, then the end of data. */
static void
smtpd_bdat_end(struct smtpd_session *s)
{
	int	 r;

	if (s->data_reject == NULL && s->params.body != SMTP_BODY_BINARYMIME) {
		if ((r = smtp_body_scan_end(&s->bdat_scan)) != SMTP_BODY_OK)
			smtpd_bdat_scan_fail(s, r);
		else if (s->bdat_scan.linelen > 0) {
			s->data_size += 2;
			if (evbuffer_add(s->chunk, "\r\n", 2) == -1)
				smtpd_data_reject(s, smtpd_submit_reply(
				    BW_SUBMIT_TEMPFAIL), "out of memory");
		}
	}
	smtpd_data_end(s);
}

/* The chunk's octets are all read: its reply, or the end of the message. */
static void
smtpd_bdat_chunk_done(struct smtpd_session *s)
{
	const char	*refuse = s->bdat_refuse;

	s->bdat_refuse = NULL;
	if (refuse != NULL) {
		s->phase = SMTPD_PH_CMD;
		smtpd_session_set_timeouts(s);
		if (s->bdat_refuse_err)
			smtpd_session_error(s, refuse);
		else
			smtpd_session_reply(s, "%s", refuse);
		return;
	}
	if (s->bdat_last) {
		smtpd_bdat_end(s);
		return;
	}
	if (s->data_reject != NULL) {
		smtpd_data_refused(s);
		return;
	}
	s->phase = SMTPD_PH_CMD;
	smtpd_session_set_timeouts(s);
	smtpd_session_reply(s, "250 2.0.0 Chunk %u accepted",
	    s->bdat_chunks);
}

/*
 * Take the chunk's octets as they come, block by block of the input: to
 * the message (checked as lines unless BINARYMIME), or discarded after a
 * refusal.  Octets after the chunk stay for the next command.  Returns 1
 * when the chunk is complete (the phase changed), 0 when more input is
 * needed or reading is paused.
 */
int
smtpd_bdat_process(struct smtpd_session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v;
	size_t			 n;
	size_t			 maxline = (size_t)SMTPD_LIM(s,
				    LIM_SMTPD_MAX_TEXT_LINE);
	int			 keep, moved, r;

	if (s->paused)
		return 0;
	keep = s->bdat_refuse == NULL && s->data_reject == NULL;
	if (keep && smtpd_queue_up(s->env) &&
	    bw_peer_wpending(s->env->queued) > SMTPD_QUEUE_WPENDING_MAX) {
		smtpd_data_pause(s);
		return 0;
	}
	if (s->bdat_left > 0)
		smtpd_data_read_more(s, in);
	while (s->bdat_left > 0 && evbuffer_peek(in, -1, NULL, &v, 1) >= 1 &&
	    v.iov_len > 0) {
		n = v.iov_len;
		if ((uint64_t)n > s->bdat_left)
			n = (size_t)s->bdat_left;
		s->bdat_left -= n;
		keep = s->bdat_refuse == NULL && s->data_reject == NULL;
		if (keep && s->params.body != SMTP_BODY_BINARYMIME &&
		    (r = smtp_body_scan(&s->bdat_scan, v.iov_base, n,
		    maxline)) != SMTP_BODY_OK) {
			smtpd_bdat_scan_fail(s, r);
			keep = 0;
		}
		if (keep && smtpd_data_hops(s, v.iov_base, n) == -1)
			keep = 0;
		if (!keep) {
			evbuffer_drain(in, n);
			continue;
		}
		if ((moved = evbuffer_remove_buffer(in, s->chunk, n)) !=
		    (int)n) {
			/* the chunk's octets leave the input whatever */
			evbuffer_drain(in, n - (moved > 0 ? (size_t)moved : 0));
			smtpd_data_reject(s, smtpd_submit_reply(
			    BW_SUBMIT_TEMPFAIL), "out of memory");
			continue;
		}
		s->data_size += n;
		smtpd_data_flush(s, 0);
	}
	s->data_seen = evbuffer_get_length(in);
	smtpd_data_flush(s, 1);
	if (s->bdat_left > 0)
		return 0;
	smtpd_bdat_chunk_done(s);
	return 1;
}
