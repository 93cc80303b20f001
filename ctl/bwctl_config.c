/*
 * `bwctl config check [FILE]`: parse a configuration with the daemons' own
 * parser and report every error as "file:line: message".  Runs locally;
 * controld is not involved.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "ctl_json.h"
#include "bwctl.h"

struct bwctl_errors {
	char	**msgs;
	size_t	 n;
	int	 nomem;
};

static void
bwctl_config_error_cb(const char *msg, void *arg)
{
	struct bwctl_errors	*e = arg;
	char			**nm;

	if (e->nomem)
		return;
	if ((nm = reallocarray(e->msgs, e->n + 1, sizeof(*nm))) == NULL ||
	    (nm[e->n] = strdup(msg)) == NULL) {
		if (nm != NULL)
			e->msgs = nm;
		e->nomem = 1;
		return;
	}
	e->msgs = nm;
	e->n++;
}

int
bwctl_config_check(const char *path, const char *basedir, int json)
{
	struct bw_config	 cfg;
	struct bwctl_errors	 e = { NULL, 0, 0 };
	struct evbuffer		*out;
	struct ctl_json		 j;
	const char		*name = path ? path : "built-in default";
	size_t			 i;
	int			 nerr;

	if ((out = evbuffer_new()) == NULL)
		fatalx("out of memory");
	nerr = config_load(&cfg, path, basedir, bwctl_config_error_cb, &e);
	/* Errors past what we could record still count. */
	if (nerr < (int)e.n)
		nerr = (int)e.n;
	if (json) {
		ctl_json_init(&j, out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "file", name);
		ctl_json_bool(&j, "ok", nerr == 0);
		ctl_json_int(&j, "error_count", nerr);
		ctl_json_arr_open(&j, "errors");
		for (i = 0; i < e.n; i++)
			ctl_json_str(&j, NULL, e.msgs[i]);
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	} else if (nerr == 0)
		evbuffer_add_printf(out, "%s: configuration OK\n", name);
	else {
		for (i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fprintf(stderr, "bwctl: %s: %d error%s\n", name, nerr,
		    nerr == 1 ? "" : "s");
	}
	bwctl_flush(out, STDOUT_FILENO);
	evbuffer_free(out);
	for (i = 0; i < e.n; i++)
		free(e.msgs[i]);
	free(e.msgs);
	config_free(&cfg);
	return nerr == 0 ? BWCTL_EXIT_OK : BWCTL_EXIT_FAIL;
}
