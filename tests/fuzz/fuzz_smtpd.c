/*
 * Stand-ins for smtpd_queue.c and smtpd_session.c, and a session to run
 * smtpd_data.c on (see fuzz_smtpd.h).  Shared by fuzz_smtp_data and
 * fuzz_smtp_bdat.
 */
#include "bw_autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "smtpd.h"
#include "fuzz.h"
#include "fuzz_smtpd.h"

/* Below the configurable minimum too: short inputs reach long lines. */
static const long long fuzz_maxline[] = { 8, 64, 1000, 8192 };
static const long long fuzz_maxsize[] = { 1024, 4096, 35 * 1024 * 1024 };
static const long long fuzz_hops[] = { 1, 2, 3, 50 };

/* The run in progress, for the stand-ins; NULL between inputs. */
static struct fuzz_run *fuzz_cur;

/* ---- smtpd_queue.c ---- */

static char	 fuzz_client_name[] = "client.example.org";
static char	 fuzz_client_helo[] = "client.example.org";

int
smtpd_queue_up(struct smtpd_env *env)
{
	return 0;	/* never paused: queued has no backlog here */
}

int
smtpd_queue_data(struct smtpd_session *s, const void *buf, size_t len)
{
	FUZZ_CHECK(fuzz_cur != NULL && s->tx);
	FUZZ_CHECK(len > 0 && len <= BW_DATA_CHUNK_MAX);
	FUZZ_CHECK(s->data_reject == NULL);
	if (evbuffer_add(fuzz_cur->out, buf, len) == -1)
		abort();
	return 0;
}

int
smtpd_queue_commit(struct smtpd_session *s)
{
	FUZZ_CHECK(s->tx && s->data_reject == NULL);
	/* queued checks the size it was told against what it got */
	FUZZ_CHECK(s->data_size == evbuffer_get_length(fuzz_cur->out));
	fuzz_cur->commits++;
	return 0;
}

void
smtpd_queue_abort(struct smtpd_session *s)
{
	if (s->tx)
		fuzz_cur->aborts++;
	s->tx = 0;
}

const char *
smtpd_submit_reply(int status)
{
	return status == BW_SUBMIT_TOOBIG ?
	    "552 5.3.4 Message size exceeds fixed limit" :
	    "451 4.3.0 Temporary queue failure";
}

/* ---- smtpd_session.c ---- */

void
smtpd_session_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(fuzz_cur->reply, sizeof(fuzz_cur->reply), fmt, ap);
	va_end(ap);
	fuzz_cur->nreplies++;
	/* the code only: a refusal's reason may depend on where reads cut */
	if (evbuffer_add(fuzz_cur->replies, fuzz_cur->reply, 3) == -1 ||
	    evbuffer_add(fuzz_cur->replies, " ", 1) == -1)
		abort();
}

void
smtpd_session_error(struct smtpd_session *s, const char *reply)
{
	smtpd_session_reply(s, "%s", reply);
}

void
smtpd_session_set_timeouts(struct smtpd_session *s)
{
}

void
smtpd_session_timer_arm(struct smtpd_session *s, long long ms)
{
	FUZZ_CHECK(ms >= 0);
}

void
smtpd_session_tx_reset(struct smtpd_session *s)
{
	smtpd_queue_abort(s);
	s->tx = 0;
	s->tx_dead = 0;
	s->qid[0] = '\0';
	s->nrcpt = 0;
	memset(&s->params, 0, sizeof(s->params));
	evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
	s->data_size = 0;
	s->data_reject = NULL;
	s->data_reject_why = NULL;
	s->bdat_chunks = 0;
	s->bdat = 0;
}

/* ---- the session ---- */

void
fuzz_smtpd_limits(struct bw_config *cfg, uint8_t c1, uint8_t c2)
{
	strlcpy(cfg->hostname, "mx.example.org", sizeof(cfg->hostname));
	cfg->limits.v[LIM_SMTPD_MAX_TEXT_LINE] = fuzz_maxline[c1 & 3];
	cfg->limits.v[LIM_MESSAGE_SIZE_LIMIT] = fuzz_maxsize[(c1 >> 2) % 3];
	cfg->limits.v[LIM_HOPCOUNT_LIMIT] = fuzz_hops[c2 & 3];
}

static void
fuzz_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
}

void
fuzz_session_new(struct fuzz_session *fs, struct bw_config *cfg,
    struct fuzz_run *run)
{
	struct smtpd_session	*s;

	memset(run, 0, sizeof(*run));
	memset(fs, 0, sizeof(*fs));
	if ((run->out = evbuffer_new()) == NULL ||
	    (run->replies = evbuffer_new()) == NULL ||
	    (fs->base = event_base_new()) == NULL ||
	    (fs->env = calloc(1, sizeof(*fs->env))) == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		abort();
	log_set_discard(1);
	fuzz_cur = run;
	fs->run = run;
	fs->s = s;
	fs->env->d.cfg = cfg;
	TAILQ_INIT(&fs->env->sessions);
	s->env = fs->env;
	s->cfg = cfg;
	s->lim = &cfg->limits;
	s->id = 1;
	s->fd = -1;
	s->fd_owned = 0;
	if ((s->bev = bufferevent_socket_new(fs->base, -1, 0)) == NULL ||
	    (s->ev_timer = evtimer_new(fs->base, fuzz_timer_cb, s)) == NULL ||
	    (s->chunk = evbuffer_new()) == NULL)
		abort();
	strlcpy(s->addr, "192.0.2.1", sizeof(s->addr));
	/* the session's texts are the harness's own (no smtpd_session.o) */
	s->name = fuzz_client_name;
	s->helo = fuzz_client_helo;
	strlcpy(s->qid, "0123456789ABCDEF", sizeof(s->qid));
	strlcpy(s->sender, "sender@example.org", sizeof(s->sender));
	strlcpy(s->rcpt1, "rcpt@example.net", sizeof(s->rcpt1));
	s->esmtp = 1;
	s->helo_seen = 1;
	s->tx = 1;
	s->nrcpt = 1;
	s->phase = SMTPD_PH_CMD;
}

void
fuzz_session_input(struct fuzz_session *fs, const void *p, size_t n)
{
	struct evbuffer	*in = bufferevent_get_input(fs->s->bev);

	/* as libevent's own read does: the input's end is frozen */
	evbuffer_unfreeze(in, 0);
	if (evbuffer_add(in, p, n) == -1)
		abort();
	evbuffer_freeze(in, 0);
}

void
fuzz_session_free(struct fuzz_session *fs)
{
	bufferevent_free(fs->s->bev);
	event_free(fs->s->ev_timer);
	evbuffer_free(fs->s->chunk);
	free(fs->s);
	free(fs->env);
	event_base_free(fs->base);
	fuzz_cur = NULL;
}

void
fuzz_run_free(struct fuzz_run *run)
{
	evbuffer_free(run->out);
	evbuffer_free(run->replies);
}

/* Two evbuffers with the same bytes from off on. */
static int
fuzz_evbuffer_eq(struct evbuffer *a, struct evbuffer *b, size_t off)
{
	size_t	 n = evbuffer_get_length(a);

	if (n != evbuffer_get_length(b) || n < off)
		return 0;
	return n == off || memcmp(evbuffer_pullup(a, -1) + off,
	    evbuffer_pullup(b, -1) + off, n - off) == 0;
}

void
fuzz_run_same(const struct fuzz_run *a, const struct fuzz_run *b)
{
	FUZZ_CHECK(a->hdrlen == b->hdrlen);
	FUZZ_CHECK(a->commits == b->commits && a->aborts == b->aborts);
	FUZZ_CHECK(a->nreplies == b->nreplies);
	FUZZ_CHECK(fuzz_evbuffer_eq(a->replies, b->replies, 0));
	/* the message, not our Received: (its date is the clock's) */
	if (a->commits > 0)
		FUZZ_CHECK(fuzz_evbuffer_eq(a->out, b->out, a->hdrlen));
}

/* ---- Received: fields, stated plainly ---- */

/* RFC 5322 3.6.8 ftext. */
static int
fuzz_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

unsigned int
fuzz_received(const unsigned char *p, size_t n)
{
	const unsigned char	*l, *nl;
	size_t			 pos = 0, len, j, namelen;
	unsigned int		 count = 0;
	int			 infield = 0;

	while (pos < n) {
		l = p + pos;
		nl = memchr(l, '\n', n - pos);
		len = nl != NULL ? (size_t)(nl - l) + 1 : n - pos;
		pos += len;
		if (l[0] == ' ' || l[0] == '\t') {
			if (!infield)
				break;
			continue;
		}
		if (!fuzz_ftext(l[0]))
			break;
		for (j = 0; j < len && fuzz_ftext(l[j]); j++)
			;
		namelen = j;
		while (j < len && (l[j] == ' ' || l[j] == '\t'))
			j++;
		if (j == len || l[j] != ':')
			break;
		if (namelen == 8 && strncasecmp((const char *)l, "received",
		    8) == 0)
			count++;
		infield = 1;
	}
	return count;
}

void
fuzz_hdrscan(const unsigned char *p, size_t n, uint32_t seed)
{
	struct smtp_hdrscan	 whole, pieces;
	size_t			 off, piece;

	smtp_hdrscan_init(&whole);
	smtp_hdrscan_feed(&whole, p, n);
	smtp_hdrscan_init(&pieces);
	for (off = 0; off < n; off += piece) {
		piece = 1 + fuzz_rand(&seed) % 16;
		if (piece > n - off)
			piece = n - off;
		smtp_hdrscan_feed(&pieces, p + off, piece);
	}
	FUZZ_CHECK(whole.received == pieces.received);
	FUZZ_CHECK(smtp_hdrscan_done(&whole) == smtp_hdrscan_done(&pieces));
	FUZZ_CHECK(whole.received == fuzz_received(p, n));
}
