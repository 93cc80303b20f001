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
#include "controld.h"

/* One daemon's answer to a reload. */
struct ctl_reload_row {
	uint32_t			 peerid;
	char				 proc[BW_NAME_MAX];
	struct bw_config_reload_result	 res;
};

/* One error of a configuration that did not check. */
struct ctl_reload_error {
	char			 text[BW_CONFIG_LINE_MAX];
};

struct ctl_reload_priv {
	struct bw_config_reload_result self;	/* controld's own */
	uint32_t		*asked;		/* daemon peer ids asked */
	size_t			 nasked;
	struct ctl_rows		 reloads;	/* struct ctl_reload_row */
	struct ctl_rows		 rerrors;	/* struct ctl_reload_error */
	int			 nerr;		/* the file did not check */
	int			 timed_out;
};

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
	struct ctl_reload_priv	*p = arg;
	struct ctl_reload_error	 e;

	log_escape(e.text, sizeof(e.text), msg, strlen(msg));
	(void)ctl_rows_add(&p->rerrors, &e);
}

/* The file did not check: its errors, and nothing changed anywhere. */
static int
ctl_reload_refused(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_reload_priv		*p = req->priv;
	const struct ctl_reload_error	*e = p->rerrors.v;
	size_t				 i;

	ctl_out_obj_open(o, NULL);
	ctl_out_bool(o, "ok", 0);
	ctl_out_uint(o, "generation", ctl_env->d.cfg->generation);
	ctl_out_list_open(o, "errors");
	for (i = 0; i < p->rerrors.n; i++)
		ctl_out_str(o, NULL, e[i].text);
	ctl_out_list_close(o);
	for (i = 0; i < p->rerrors.n; i++)
		ctl_out_note(o, "%s", e[i].text);
	ctl_out_note(o, "configuration has %d error%s; nothing changed, "
	    "every process keeps generation %u", p->nerr, p->nerr == 1 ? "" :
	    "s", ctl_env->d.cfg->generation);
	ctl_out_obj_close(o);
	return 1;
}

static const struct ctl_reload_row *
ctl_reload_answer(const struct ctl_reload_priv *p, uint32_t peerid)
{
	const struct ctl_reload_row	*rows = p->reloads.v;
	size_t				 i;

	for (i = 0; i < p->reloads.n; i++)
		if (rows[i].peerid == peerid)
			return &rows[i];
	return NULL;
}

static const struct ctl_col ctl_reload_cols[] = {
	{ "process", NULL, CTL_T_STR, CTL_COL_DATA | CTL_COL_LABEL, 0, NULL },
	{ "result", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "generation", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "digest", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "kept_until_restart", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "text", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_reload_table = { "processes",
    ctl_reload_cols, CTL_NCOLS(ctl_reload_cols), NULL };

static void
ctl_reload_row_out(struct ctl_out *o, const char *proc,
    const struct bw_config_reload_result *res, const char *state)
{
	char	 text[BW_RELOAD_TEXT_MAX * 4];

	log_escape(text, sizeof(text), res != NULL ? res->text : "",
	    res != NULL ? strnlen(res->text, sizeof(res->text)) : 0);
	ctl_out_row_open(o);
	ctl_out_str(o, "process", proc);
	ctl_out_str(o, "result", state);
	if (res != NULL) {
		ctl_out_uint(o, "generation", res->generation);
		ctl_out_uint(o, "digest", res->digest);
		ctl_out_uint(o, "kept_until_restart", res->kept);
	}
	ctl_out_str(o, "text", text);
	if (res == NULL)
		ctl_out_note(o, "%-14s %s", proc, state);
	else
		ctl_out_note(o, "%-14s %-8s generation %u digest %08x%s%s",
		    proc, state, res->generation, res->digest,
		    text[0] != '\0' ? ": " : "", text);
	ctl_out_row_close(o);
}

/* Every daemon asked has answered or gone, or the deadline passed. */
static int
ctl_reload_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_reload_priv		*p = req->priv;
	const struct ctl_reload_row	*r;
	struct ctl_daemon		*d;
	char				 proc[BW_NAME_MAX + 16];
	size_t				 i;
	int				 failed = 0;

	if (p->nerr != 0)
		return ctl_reload_refused(req, o);
	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "file", ctl_env->d.cfg->path[0] != '\0' ?
	    ctl_env->d.cfg->path : "built-in");
	ctl_out_table_open(o, &ctl_reload_table);
	ctl_reload_row_out(o, "controld", &p->self, "applied");
	for (i = 0; i < p->nasked; i++) {
		r = ctl_reload_answer(p, p->asked[i]);
		d = ctl_daemon_find_id(p->asked[i]);
		if (r != NULL) {
			ctl_reload_row_out(o, r->proc, &r->res,
			    r->res.ok ? "applied" : "refused");
			failed += !r->res.ok;
			continue;
		}
		if (d != NULL && d->proc[0] != '\0')
			strlcpy(proc, d->proc, sizeof(proc));
		else
			strlcpy(proc, "(a daemon)", sizeof(proc));
		ctl_reload_row_out(o, proc, NULL, d == NULL ?
		    "went away before answering" : p->timed_out ?
		    "no answer in time" : "no answer");
		failed++;
	}
	ctl_out_table_close(o);
	ctl_out_bool(o, "ok", failed == 0);
	ctl_out_obj_close(o);
	log_info("reload by %s: %zu daemon%s asked, %d failed", req->who.name,
	    p->nasked, p->nasked == 1 ? "" : "s", failed);
	return failed == 0 ? 0 : 1;
}

static void
ctl_reload_check_done(struct ctl_req *req)
{
	struct ctl_reload_priv	*p = req->priv;
	size_t			 i;

	for (i = 0; i < p->nasked; i++)
		if (ctl_reload_answer(p, p->asked[i]) == NULL &&
		    ctl_daemon_find_id(p->asked[i]) != NULL)
			return;
	ctl_req_done(req);
}

static void
ctl_reload_timeout(struct ctl_req *req)
{
	struct ctl_reload_priv	*p = req->priv;

	ctl_env->c_requests_timeout++;
	p->timed_out = 1;
	ctl_req_done(req);
}

static void
ctl_reload_gone(struct ctl_req *req, int role)
{
	if (ctl_env->reload_req == req)
		ctl_reload_check_done(req);
}

static void
ctl_reload_free(void *arg)
{
	struct ctl_reload_priv	*p = arg;

	free(p->asked);
	ctl_rows_free(&p->reloads);
	ctl_rows_free(&p->rerrors);
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

static void
ctl_reload_start(struct ctl_req *req)
{
	struct controld		*env = ctl_env;
	struct ctl_reload_priv	*p = req->priv;
	struct ctl_daemon	*d;
	struct bw_config	*check;
	char			 err[PATH_MAX + 64];
	size_t			 n = 0;
	int			 fd, nerr;

	ctl_rows_init(&p->reloads, sizeof(struct ctl_reload_row),
	    CTL_DAEMONS_MAX);
	ctl_rows_init(&p->rerrors, sizeof(struct ctl_reload_error),
	    BW_CONFIG_ERRORS_MAX);

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
		    env->d.basedir, ctl_reload_error_cb, p);
	else
		nerr = config_load(check, NULL, env->d.basedir,
		    ctl_reload_error_cb, p);
	config_unref(check);
	if (nerr != 0) {
		if (fd != -1)
			close(fd);
		p->nerr = nerr;
		log_warnx("reload by %s refused: %d error%s in %s",
		    req->who.name, nerr, nerr == 1 ? "" : "s",
		    env->d.cfg->path[0] != '\0' ? env->d.cfg->path :
		    "built-in");
		ctl_req_done(req);
		return;
	}
	/* controld itself, then every daemon from its own descriptor */
	if (bw_daemon_reload(&env->d, fd, &p->self) == -1) {
		if (fd != -1)
			close(fd);
		ctl_req_fail(req, 1, "controld refused it: %s; nothing "
		    "changed", p->self.text);
		return;
	}
	if (fd != -1)
		close(fd);
	TAILQ_FOREACH(d, &env->daemons, entry)
		n++;
	if (n > 0 && (p->asked = calloc(n, sizeof(*p->asked))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory (controld "
		    "itself reloaded)");
		return;
	}
	TAILQ_FOREACH(d, &env->daemons, entry) {
		if (!bw_peer_is_up(d->peer) || ctl_reload_send(d, req->id) ==
		    -1)
			continue;
		p->asked[p->nasked++] = d->peerid;
	}
	env->reload_req = req;
	ctl_reload_check_done(req);
}

void
ctl_reload_result(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_reload_row	 row;
	struct ctl_reload_priv	*p;
	struct ctl_daemon	*d;
	struct ctl_req		*req;
	char			 text[BW_RELOAD_TEXT_MAX * 4];

	memset(&row, 0, sizeof(row));
	memcpy(&row.res, imsg->data, sizeof(row.res));
	row.res.text[sizeof(row.res.text) - 1] = '\0';
	row.peerid = bw_peer_id(peer);
	if ((d = ctl_daemon_find_id(bw_peer_id(peer))) != NULL &&
	    d->proc[0] != '\0')
		strlcpy(row.proc, d->proc, sizeof(row.proc));
	else
		strlcpy(row.proc, bw_role_name(bw_peer_role(peer)),
		    sizeof(row.proc));
	log_escape(text, sizeof(text), row.res.text, strlen(row.res.text));
	if (imsg->hdr.peerid == 0 ||
	    (req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
	    req->def->id != CTL_CMD_CONFIG_RELOAD) {
		/* after the daemon's own SIGHUP, or a request gone by */
		log_info("reload of %s pid=%ld: %s generation=%u%s%s",
		    row.proc, (long)bw_peer_pid(peer), row.res.ok ?
		    "applied" : "refused", row.res.generation,
		    text[0] != '\0' ? ": " : "", text);
		return;
	}
	p = req->priv;
	if (ctl_rows_add(&p->reloads, &row) == -1)
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
	if ((d = ctl_daemon_find_id(bw_peer_id(peer))) == NULL ||
	    ctl_reload_send(d, 0) == -1)
		log_warnx("cannot send the configuration to %s pid=%ld",
		    bw_role_name(bw_peer_role(peer)),
		    (long)bw_peer_pid(peer));
}

const struct ctl_cmd_ops ctl_reload_ops = {
	.privsz = sizeof(struct ctl_reload_priv),
	.start = ctl_reload_start,
	.render = ctl_reload_render,
	.timeout = ctl_reload_timeout,
	.daemon_gone = ctl_reload_gone,
	.free = ctl_reload_free,
};
