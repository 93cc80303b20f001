/*
 * bwctl's side of control.sock: connect, say HELLO, send one CTL_CMD, then
 * collect CTL_OUTPUT chunks until CTL_DONE.  A plain socket with poll() and
 * the imsg framing; no event loop is needed for one request.
 *
 * Trust: controld's frames pass bw_ibuf_get()'s framing checks; their text
 * is only printed.  Limits: the whole exchange must end within ctl_timeout
 * plus BWCTL_TIMEOUT_MARGIN_MS, and at most BWCTL_OUTPUT_MAX bytes of text
 * are kept.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "imsg.h"
#include "imsg_catalog.h"
#include "util.h"
#include "bwctl.h"

struct bwctl_conn {
	const char	*path;
	int		 fd;
	struct bw_ibuf	 ibuf;
	struct evbuffer	*out;
	int		 done;
	int		 exitcode;
};

static int
bwctl_connect(struct bwctl_conn *c)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, c->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    bw_set_nonblock(c->fd) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static int
bwctl_compose(struct bwctl_conn *c, int json, int argc, char *argv[])
{
	struct bw_hello		 hello;
	struct bw_ctl_cmd	 cmd;
	int			 i;

	memset(&hello, 0, sizeof(hello));
	hello.version = BW_IMSG_VERSION;
	hello.role = BW_ROLE_BWCTL;
	hello.pid = (uint32_t)getpid();
	memset(&cmd, 0, sizeof(cmd));
	cmd.version = BW_IMSG_VERSION;
	cmd.flags = json ? BW_CTL_F_JSON : 0;
	cmd.argc = (uint32_t)argc;
	for (i = 0; i < argc; i++)
		strlcpy(cmd.argv[i], argv[i], sizeof(cmd.argv[i]));
	if (bw_ibuf_compose(&c->ibuf, BW_IMSG_HELLO, 0, -1, &hello,
	    sizeof(hello)) == -1 ||
	    bw_ibuf_compose(&c->ibuf, BW_IMSG_CTL_CMD, 0, -1, &cmd,
	    sizeof(cmd)) == -1)
		return -1;
	return 0;
}

/* One frame from controld; -1 ends the exchange with an error. */
static int
bwctl_frame(struct bwctl_conn *c, struct bw_imsg *imsg)
{
	struct bw_ctl_done	 done;

	switch (imsg->hdr.type) {
	case BW_IMSG_HELLO:
		return 0;
	case BW_IMSG_CTL_OUTPUT:
		if (evbuffer_get_length(c->out) + imsg->datalen >
		    BWCTL_OUTPUT_MAX) {
			fprintf(stderr, "bwctl: answer longer than %d bytes\n",
			    BWCTL_OUTPUT_MAX);
			return -1;
		}
		evbuffer_add(c->out, imsg->data, imsg->datalen);
		return 0;
	case BW_IMSG_CTL_DONE:
		if (imsg->datalen != sizeof(done)) {
			fprintf(stderr, "bwctl: malformed answer from "
			    "controld\n");
			return -1;
		}
		memcpy(&done, imsg->data, sizeof(done));
		c->exitcode = done.exitcode;
		c->done = 1;
		return 0;
	default:
		fprintf(stderr, "bwctl: unexpected message %s from controld\n",
		    bw_imsg_type_name(imsg->hdr.type));
		return -1;
	}
}

/* Run the exchange; 0 when CTL_DONE arrived, -1 after printing why not. */
static int
bwctl_exchange(struct bwctl_conn *c, long long timeout_ms)
{
	struct pollfd	 pfd;
	struct bw_imsg	 imsg;
	uint64_t	 deadline, now;
	ssize_t		 n;
	int		 r;

	deadline = bw_now_ms() + (uint64_t)timeout_ms + BWCTL_TIMEOUT_MARGIN_MS;
	while (!c->done) {
		if ((now = bw_now_ms()) >= deadline) {
			fprintf(stderr, "bwctl: no answer from controld at %s "
			    "within %lld ms\n", c->path, timeout_ms);
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN | (c->ibuf.wqueued > 0 ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bwctl: poll: %s\n", strerror(errno));
			return -1;
		}
		if ((pfd.revents & POLLOUT) && bw_ibuf_write(&c->ibuf) == -1 &&
		    errno != EAGAIN) {
			fprintf(stderr, "bwctl: controld at %s closed the "
			    "connection: %s\n", c->path, strerror(errno));
			return -1;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		if ((n = bw_ibuf_read(&c->ibuf)) == 0) {
			fprintf(stderr, "bwctl: controld at %s closed the "
			    "connection without an answer (permission "
			    "denied?)\n", c->path);
			return -1;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "bwctl: read from controld: %s\n",
			    strerror(errno));
			return -1;
		}
		while (!c->done && (r = bw_ibuf_get(&c->ibuf, &imsg)) != 0) {
			if (r == -1) {
				fprintf(stderr, "bwctl: malformed answer from "
				    "controld\n");
				return -1;
			}
			if (imsg.fd != -1)
				close(imsg.fd);
			if (bwctl_frame(c, &imsg) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * A failed command may still answer in JSON (a refused reload lists its
 * errors): that goes to stdout for the program reading it; a plain error
 * line goes to stderr.
 */
static int
bwctl_output_is_json(struct evbuffer *out)
{
	unsigned char	*p = evbuffer_pullup(out, 1);

	return p != NULL && (*p == '{' || *p == '[');
}

int
bwctl_request(const char *sockpath, const char *admin_group,
    long long timeout_ms, int json, int argc, char *argv[])
{
	struct bwctl_conn	 c;
	int			 ret = BWCTL_EXIT_FAIL;

	memset(&c, 0, sizeof(c));
	c.path = sockpath;
	c.fd = -1;
	if (bwctl_connect(&c) == -1) {
		int	 saved = errno;

		fprintf(stderr, "bwctl: cannot connect to controld at %s: %s\n",
		    sockpath, strerror(saved));
		/* control.sock's mode is the first check: say who passes it */
		if (saved == EACCES && admin_group[0] != '\0')
			fprintf(stderr, "bwctl: only root and members of group "
			    "%s may use bwctl\n", admin_group);
		else if (saved == EACCES)
			fprintf(stderr, "bwctl: only root may use bwctl\n");
		return BWCTL_EXIT_FAIL;
	}
	if ((c.out = evbuffer_new()) == NULL ||
	    bw_ibuf_init(&c.ibuf, c.fd) == -1) {
		fprintf(stderr, "bwctl: out of memory\n");
		if (c.out != NULL)
			evbuffer_free(c.out);
		close(c.fd);
		return BWCTL_EXIT_FAIL;
	}
	if (bwctl_compose(&c, json, argc, argv) == -1)
		fprintf(stderr, "bwctl: cannot build the request: %s\n",
		    strerror(errno));
	else if (bwctl_exchange(&c, timeout_ms) == 0) {
		/* An answer with a non-zero exit code is an error message. */
		ret = c.exitcode;
		if (ret < 0 || ret > 125)
			ret = BWCTL_EXIT_FAIL;
		if (ret == BWCTL_EXIT_OK || ret == BWCTL_EXIT_DAMAGE || (json &&
		    bwctl_output_is_json(c.out)))
			bwctl_flush(c.out, STDOUT_FILENO);
		else {
			fprintf(stderr, "bwctl: ");
			fflush(stderr);
			bwctl_flush(c.out, STDERR_FILENO);
		}
	}
	bw_ibuf_clear(&c.ibuf);
	close(c.fd);
	evbuffer_free(c.out);
	return ret;
}
