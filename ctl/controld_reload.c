/*
 * `bwctl config reload`: controld checks the configuration file whole
 * (every error goes back to bwctl with its file and line, and nothing
 * changes), applies it to itself, then hands every connected daemon the
 * file as a descriptor of its own (smtpd is chrooted and cannot open it)
 * and reports what each one did.  One reload at a time: a second request
 * while one waits for answers is refused, never queued behind it.
 *
 * A daemon may also ask for the file (CONFIG_REQ) after its own SIGHUP;
 * that reload concerns it alone and its outcome is only logged here.
 *
 * Trust: results come from daemons that passed the catalog check; their
 * text is terminated and escaped before it is printed.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_json.h"
#include "controld.h"

/* The configuration file for one daemon; -1 for the built-in one. */
static int
ctl_reload_open(const struct bw_config *cfg, char *err, size_t errsz)
{
	int	 fd;

	if (cfg->path[0] == '\0')
		return -1;
	if ((fd = open(cfg->path, O_RDONLY | O_CLOEXEC)) == -1)
		snprintf(err, errsz, "%s: cannot open: %s", cfg->path,
		    strerror(errno));
	return fd;
}

/* Every error of the new text, for bwctl. */
static void
ctl_reload_error_cb(const char *msg, void *arg)
{
	struct ctl_req		*req = arg;
	struct ctl_reload_error	 e;

	log_escape(e.text, sizeof(e.text), msg, strlen(msg));
	(void)ctl_rows_add(&req->rerrors, &e);
}

/* The file did not check: its errors, and nothing changed anywhere. */
static void
ctl_reload_refused(struct ctl_req *req, int nerr)
{
	const struct ctl_reload_error	*e = req->rerrors.v;
	struct ctl_json			 j;
	size_t				 i;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_bool(&j, "ok", 0);
		ctl_json_uint(&j, "generation", ctl_env->d.cfg->generation);
		ctl_json_arr_open(&j, "errors");
		for (i = 0; i < req->rerrors.n; i++)
			ctl_json_str(&j, NULL, e[i].text);
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	} else {
		for (i = 0; i < req->rerrors.n; i++)
			evbuffer_add_printf(req->out, "%s\n", e[i].text);
		evbuffer_add_printf(req->out, "configuration has %d error%s; "
		    "nothing changed, every process keeps generation %u\n",
		    nerr, nerr == 1 ? "" : "s", ctl_env->d.cfg->generation);
	}
	log_warnx("reload by bwctl refused: %d error%s in %s", nerr,
	    nerr == 1 ? "" : "s", ctl_env->d.cfg->path[0] != '\0' ?
	    ctl_env->d.cfg->path : "built-in");
	ctl_req_finish(req, 1);
}

static struct ctl_daemon *
ctl_reload_daemon(uint32_t peerid)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->peerid == peerid)
			return d;
	return NULL;
}

static const struct ctl_reload_row *
ctl_reload_answer(const struct ctl_req *req, uint32_t peerid)
{
	const struct ctl_reload_row	*rows = req->reloads.v;
	size_t				 i;

	for (i = 0; i < req->reloads.n; i++)
		if (rows[i].peerid == peerid)
			return &rows[i];
	return NULL;
}

static void
ctl_reload_row_text(struct ctl_req *req, struct ctl_json *j,
    const char *proc, const struct bw_config_reload_result *res,
    const char *state)
{
	char	 text[BW_RELOAD_TEXT_MAX * 4];

	log_escape(text, sizeof(text), res != NULL ? res->text : "",
	    res != NULL ? strnlen(res->text, sizeof(res->text)) : 0);
	if (req->json) {
		ctl_json_obj_open(j, NULL);
		ctl_json_str(j, "process", proc);
		ctl_json_str(j, "result", state);
		if (res != NULL) {
			ctl_json_uint(j, "generation", res->generation);
			ctl_json_uint(j, "digest", res->digest);
			ctl_json_uint(j, "kept_until_restart", res->kept);
		}
		ctl_json_str(j, "text", text);
		ctl_json_obj_close(j);
		return;
	}
	if (res == NULL)
		evbuffer_add_printf(req->out, "%-14s %s\n", proc, state);
	else
		evbuffer_add_printf(req->out, "%-14s %-8s generation %u "
		    "digest %08x%s%s\n", proc, state, res->generation,
		    res->digest, text[0] != '\0' ? ": " : "", text);
}

/* Every daemon asked has answered or gone, or the deadline passed. */
static void
ctl_reload_render(struct ctl_req *req, int timed_out)
{
	const struct ctl_reload_row	*r;
	struct ctl_daemon		*d;
	struct ctl_json			 j;
	char				 proc[BW_NAME_MAX + 16];
	size_t				 i;
	int				 failed = 0;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "file", ctl_env->d.cfg->path[0] != '\0' ?
		    ctl_env->d.cfg->path : "built-in");
		ctl_json_arr_open(&j, "processes");
	}
	ctl_reload_row_text(req, &j, "controld", &req->self, "applied");
	for (i = 0; i < req->nasked; i++) {
		r = ctl_reload_answer(req, req->asked[i]);
		d = ctl_reload_daemon(req->asked[i]);
		if (r != NULL) {
			ctl_reload_row_text(req, &j, r->proc, &r->res,
			    r->res.ok ? "applied" : "refused");
			failed += !r->res.ok;
			continue;
		}
		if (d != NULL && d->proc[0] != '\0')
			strlcpy(proc, d->proc, sizeof(proc));
		else
			strlcpy(proc, "(a daemon)", sizeof(proc));
		ctl_reload_row_text(req, &j, proc, NULL, d == NULL ?
		    "went away before answering" : timed_out ?
		    "no answer in time" : "no answer");
		failed++;
	}
	if (req->json) {
		ctl_json_arr_close(&j);
		ctl_json_bool(&j, "ok", failed == 0);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	}
	log_info("reload by bwctl: %zu daemon%s asked, %d failed", req->nasked,
	    req->nasked == 1 ? "" : "s", failed);
	ctl_req_finish(req, failed == 0 ? 0 : 1);
}

void
ctl_reload_check_done(struct ctl_req *req)
{
	size_t	 i;

	for (i = 0; i < req->nasked; i++)
		if (ctl_reload_answer(req, req->asked[i]) == NULL &&
		    ctl_reload_daemon(req->asked[i]) != NULL)
			return;
	ctl_reload_render(req, 0);
}

void
ctl_reload_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	ctl_reload_render(req, 1);
}

/* Send the file to one daemon; 0 when sent. */
static int
ctl_reload_send(struct ctl_daemon *d, uint32_t reqid)
{
	struct bw_config_reload	 rl;
	char			 err[PATH_MAX + 64];
	int			 fd;

	err[0] = '\0';
	fd = ctl_reload_open(ctl_env->d.cfg, err, sizeof(err));
	if (fd == -1 && err[0] != '\0') {
		log_warnx("reload: %s", err);
		return -1;
	}
	memset(&rl, 0, sizeof(rl));
	return bw_peer_send(d->peer, BW_IMSG_CONFIG_RELOAD, reqid, fd, &rl,
	    sizeof(rl));
}

void
ctl_reload_start(struct ctl_req *req)
{
	struct controld		*env = ctl_env;
	struct ctl_daemon	*d;
	struct bw_config	*check;
	char			 err[PATH_MAX + 64];
	size_t			 n = 0;
	int			 fd, nerr;

	if (env->reload_req != NULL) {
		ctl_req_fail(req, 1, "a reload is already in progress "
		    "(started %llu ms ago); nothing changed: try again when "
		    "it has finished", (unsigned long long)(bw_now_ms() -
		    env->reload_req->started_ms));
		return;
	}
	/* The whole file first, every error with its line, for bwctl. */
	err[0] = '\0';
	fd = ctl_reload_open(env->d.cfg, err, sizeof(err));
	if (fd == -1 && err[0] != '\0') {
		ctl_req_fail(req, 1, "%s; nothing changed", err);
		return;
	}
	if ((check = config_new()) == NULL) {
		if (fd != -1)
			close(fd);
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	if (fd != -1)
		nerr = config_load_fd(check, fd, env->d.cfg->path,
		    env->d.basedir, ctl_reload_error_cb, req);
	else
		nerr = config_load(check, NULL, env->d.basedir,
		    ctl_reload_error_cb, req);
	config_unref(check);
	if (nerr != 0) {
		if (fd != -1)
			close(fd);
		ctl_reload_refused(req, nerr);
		return;
	}
	/* controld itself, then every daemon from its own descriptor */
	if (bw_daemon_reload(&env->d, fd, &req->self) == -1) {
		if (fd != -1)
			close(fd);
		ctl_req_fail(req, 1, "controld refused it: %s; nothing "
		    "changed", req->self.text);
		return;
	}
	if (fd != -1)
		close(fd);
	TAILQ_FOREACH(d, &env->daemons, entry)
		n++;
	if (n > 0 && (req->asked = calloc(n, sizeof(*req->asked))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory (controld "
		    "itself reloaded)");
		return;
	}
	TAILQ_FOREACH(d, &env->daemons, entry) {
		if (!bw_peer_is_up(d->peer) || ctl_reload_send(d, req->id) ==
		    -1)
			continue;
		req->asked[req->nasked++] = d->peerid;
	}
	env->reload_req = req;
	ctl_reload_check_done(req);
}

void
ctl_reload_result(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_reload_row	 row;
	struct ctl_daemon	*d;
	struct ctl_req		*req;
	char			 text[BW_RELOAD_TEXT_MAX * 4];

	memset(&row, 0, sizeof(row));
	memcpy(&row.res, imsg->data, sizeof(row.res));
	row.res.text[sizeof(row.res.text) - 1] = '\0';
	row.peerid = bw_peer_id(peer);
	if ((d = ctl_reload_daemon(bw_peer_id(peer))) != NULL &&
	    d->proc[0] != '\0')
		strlcpy(row.proc, d->proc, sizeof(row.proc));
	else
		strlcpy(row.proc, bw_role_name(bw_peer_role(peer)),
		    sizeof(row.proc));
	log_escape(text, sizeof(text), row.res.text, strlen(row.res.text));
	if (imsg->hdr.peerid == 0 ||
	    (req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
	    req->kind != CTL_REQ_RELOAD) {
		/* after the daemon's own SIGHUP, or a request gone by */
		log_info("reload of %s pid=%ld: %s generation=%u%s%s",
		    row.proc, (long)bw_peer_pid(peer), row.res.ok ?
		    "applied" : "refused", row.res.generation,
		    text[0] != '\0' ? ": " : "", text);
		return;
	}
	if (ctl_rows_add(&req->reloads, &row) == -1)
		log_warnx("ctl request id=%u: reload rows over %d", req->id,
		    CTL_DAEMONS_MAX);
	ctl_reload_check_done(req);
}

/* CONFIG_REQ: a daemon reloads on its SIGHUP from our descriptor. */
void
ctl_reload_request(struct bw_peer *peer)
{
	struct ctl_daemon	*d;

	log_info("%s pid=%ld asks for the configuration (SIGHUP)",
	    bw_role_name(bw_peer_role(peer)), (long)bw_peer_pid(peer));
	if ((d = ctl_reload_daemon(bw_peer_id(peer))) == NULL ||
	    ctl_reload_send(d, 0) == -1)
		log_warnx("cannot send the configuration to %s pid=%ld",
		    bw_role_name(bw_peer_role(peer)),
		    (long)bw_peer_pid(peer));
}
