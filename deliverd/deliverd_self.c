/*
 * Is a next hop this gateway?  Mail handed to ourselves comes straight
 * back in and goes round for ever, a new message each pass; the agent
 * must see it before connecting (by address) or right after (by name).
 *
 * By address: a next hop addr:port is us when one of our listeners
 * accepts connections there -- a listener bound to that very address and
 * port, or one bound to the wildcard of the address's family (0.0.0.0,
 * ::) on that port while the address is local: loopback (127.0.0.0/8,
 * ::1) or one of this host's interface addresses (getifaddrs(), read again
 * every DLV_SELF_IFADDRS_MS).  An IPv4-mapped IPv6 address is compared as
 * IPv4.  smtpd binds "::" with IPV6_V6ONLY, so "::" does not cover IPv4.
 *
 * Postfix compares the address alone (inet_interfaces and
 * proxy_interfaces, port 25 implied).  We compare the port as well:
 * another MTA on another port of one of our addresses (a content filter,
 * a second instance, the tests' next hops) is not us, and mail to it is
 * not a loop.  Addresses in front of us that forward to our listeners (a
 * load balancer, NAT) cannot be known from here: the name check catches
 * them.
 *
 * By name: a greeting or EHLO/HELO reply whose first word is our
 * configured `hostname` (what our smtpd says in both) -- unless that name
 * is "localhost" or "localhost.localdomain" (the fallback of an unset
 * host name, and what many misconfigured servers say: it proves
 * nothing, and mail to them is not a loop).
 *
 * Trust: reply text comes from the remote server (bounded by the reply
 * parser); addresses from dnscached or the config, parsed with inet_pton.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"

/* Text to (family, 16 bytes); an IPv4-mapped IPv6 address becomes IPv4.
 * 0 or -1. */
static int
dlv_self_parse(const char *s, int *family, unsigned char a[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) != 1)
		return -1;
	*family = AF_INET6;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		*family = AF_INET;
	}
	return 0;
}

static int
dlv_self_unspecified(const unsigned char a[16])
{
	static const unsigned char zero[16];

	return memcmp(a, zero, sizeof(zero)) == 0;
}

/* Loopback, or an address of one of this host's interfaces. */
static int
dlv_self_local(const struct dlv_ifaddrs *ifa, int family,
    const unsigned char a[16])
{
	static const unsigned char v6lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 1 };
	int	 i;

	if (family == AF_INET && a[0] == 127)
		return 1;
	if (family == AF_INET6 && memcmp(a, v6lo, sizeof(v6lo)) == 0)
		return 1;
	for (i = 0; ifa != NULL && i < ifa->n; i++)
		if (ifa->addr[i].family == family &&
		    memcmp(ifa->addr[i].a, a, family == AF_INET ? 4 : 16) ==
		    0)
			return 1;
	return 0;
}

int
dlv_self_addr(const struct bw_config *cfg, const struct dlv_ifaddrs *ifa,
    const char *addr, int port)
{
	const struct bw_listener_conf	*l;
	unsigned char			 a[16], la[16];
	int				 family, lfamily;

	if (dlv_self_parse(addr, &family, a) == -1)
		return 0;
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->port != port ||
		    dlv_self_parse(l->address, &lfamily, la) == -1 ||
		    lfamily != family)
			continue;
		if (dlv_self_unspecified(la)) {
			if (dlv_self_local(ifa, family, a))
				return 1;
		} else if (memcmp(a, la, 16) == 0)
			return 1;
	}
	return 0;
}

int
dlv_self_name(const char *text, const char *hostname)
{
	const char	*w, *e;
	size_t		 n, hn;

	hn = strlen(hostname);
	if (hn > 0 && hostname[hn - 1] == '.')
		hn--;
	if (hn == 0 || (hn == 9 && strncasecmp(hostname, "localhost", 9) ==
	    0) || (hn == 21 && strncasecmp(hostname, "localhost.localdomain",
	    21) == 0))
		return 0;
	/* "220 name ..." or "250 name ..." (continuation lines follow) */
	w = text;
	if (strlen(w) < 4 || !isdigit((unsigned char)w[0]))
		return 0;
	w += 4;
	for (;;) {
		for (e = w; *e != '\0' && *e != ' '; e++)
			;
		n = (size_t)(e - w);
		/* an enhanced status code before the name: skip it */
		if (n >= 5 && strchr("245", w[0]) != NULL && w[1] == '.' &&
		    isdigit((unsigned char)w[2]) && *e == ' ' &&
		    strspn(w, "0123456789.") == n) {
			w = e + 1;
			continue;
		}
		break;
	}
	if (n > 0 && w[n - 1] == '.')
		n--;
	return n == hn && strncasecmp(w, hostname, hn) == 0;
}

int
dlv_self_ifaddr_add(struct dlv_ifaddrs *ifa, const char *addr)
{
	int	 family;

	if (ifa->n >= DLV_SELF_IFADDRS_MAX)
		return -1;
	if (dlv_self_parse(addr, &family, ifa->addr[ifa->n].a) == -1)
		return -1;
	ifa->addr[ifa->n++].family = family;
	return 0;
}

/* Read the interface addresses; on failure the old list stays. */
static void
dlv_self_ifaddrs_load(struct dlv_ifaddrs *ifa)
{
	struct ifaddrs	*list, *i;
	char		 text[INET6_ADDRSTRLEN];
	const void	*src;

	ifa->loaded_ms = bw_now_ms();
	if (getifaddrs(&list) == -1) {
		log_warn("getifaddrs (loop detection keeps %d addresses)",
		    ifa->n);
		return;
	}
	ifa->n = 0;
	for (i = list; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			src = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			src = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, src, text,
		    sizeof(text)) == NULL)
			continue;
		if (dlv_self_ifaddr_add(ifa, text) == -1) {
			log_warnx("more than %d interface addresses: the rest "
			    "are not checked for mail loops",
			    DLV_SELF_IFADDRS_MAX);
			break;
		}
	}
	freeifaddrs(list);
}

const struct dlv_ifaddrs *
dlv_self_ifaddrs(void)
{
	static struct dlv_ifaddrs	 ifa;

	if (ifa.loaded_ms == 0 ||
	    bw_now_ms() - ifa.loaded_ms >= DLV_SELF_IFADDRS_MS)
		dlv_self_ifaddrs_load(&ifa);
	return &ifa;
}
