/*
 * srcbind.so: an LD_PRELOAD shim that gives smtp-source several source
 * addresses (bench/accept's HAT run, see bench/README.md).
 *
 * smtp-source has no option to bind its connections, so on loopback every
 * one comes from 127.0.0.1: one host, capped by the per-host connection
 * limit and with one reputation answer.  The shim binds each socket that
 * connects to 127.0.0.1:BENCH_SRC_PORT to the next address of
 * BENCH_SRC_ADDRS (comma-separated IPv4 addresses, round robin) before the
 * real connect; other connections are left alone.  Built by bench/accept
 * with the system compiler into its temp directory; not part of the MTA.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SRCBIND_ADDRS_MAX	65536	/* addresses in BENCH_SRC_ADDRS */
#define SRCBIND_ADDR_LEN	16	/* "255.255.255.255" and its NUL */

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24	/* Linux 4.2; older headers */
#endif

typedef int	(*connect_fn)(int, const struct sockaddr *, socklen_t);

static connect_fn	 srcbind_real;
static struct in_addr	*srcbind_addrs;
static size_t		 srcbind_naddrs;
static size_t		 srcbind_next;
static in_port_t	 srcbind_port;	/* network order; 0: shim is off */

__attribute__((constructor)) static void
srcbind_init(void)
{
	const char	*list = getenv("BENCH_SRC_ADDRS");
	const char	*port = getenv("BENCH_SRC_PORT");
	const char	*p, *comma;
	char		 one[SRCBIND_ADDR_LEN];
	size_t		 len;
	long		 pn;

	srcbind_real = (connect_fn)dlsym(RTLD_NEXT, "connect");
	if (list == NULL || port == NULL || *list == '\0')
		return;
	pn = strtol(port, NULL, 10);
	if (pn <= 0 || pn > 65535)
		return;
	srcbind_addrs = calloc(SRCBIND_ADDRS_MAX, sizeof(*srcbind_addrs));
	if (srcbind_addrs == NULL)
		return;
	for (p = list; *p != '\0' && srcbind_naddrs < SRCBIND_ADDRS_MAX;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len > 0 && len < sizeof(one)) {
			memcpy(one, p, len);
			one[len] = '\0';
			if (inet_pton(AF_INET, one,
			    &srcbind_addrs[srcbind_naddrs]) == 1)
				srcbind_naddrs++;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (srcbind_naddrs > 0)
		srcbind_port = htons((uint16_t)pn);
}

int
connect(int fd, const struct sockaddr *sa, socklen_t salen)
{
	const struct sockaddr_in	*to = (const struct sockaddr_in *)sa;
	struct sockaddr_in		 from;
	int				 one = 1;

	if (srcbind_real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (srcbind_port != 0 && sa != NULL && sa->sa_family == AF_INET &&
	    salen >= (socklen_t)sizeof(*to) && to->sin_port == srcbind_port &&
	    to->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
		memset(&from, 0, sizeof(from));
		from.sin_family = AF_INET;
		from.sin_addr = srcbind_addrs[srcbind_next++ % srcbind_naddrs];
		/* the port is chosen at connect, per destination: no
		 * shortage of ports per source address */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (const struct sockaddr *)&from,
		    sizeof(from)) == -1)
			return -1;
	}
	return srcbind_real(fd, sa, salen);
}
