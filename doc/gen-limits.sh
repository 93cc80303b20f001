#!/bin/sh
#
# Print the LIMITS section of breakwater.conf.5 (man(7) source) from the
# limits table in common/config_limits.c, so that every default, range,
# unit and reason in the manual is the table's own.  The committed man page
# is static text: after changing the table, run
#
#	doc/gen-limits.sh > /tmp/limits.5
#
# and paste the output between the "LIMITS (generated" comment lines of
# doc/breakwater.conf.5.  Every limit also needs a one-line meaning below
# (the table has none); the script fails if one is missing.
#
# usage: gen-limits.sh [SRCDIR]	(default: the tree this script is in)
# Needs cc.

set -eu

srcdir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cc=${CC:-cc}
tmp=$(mktemp -d /tmp/gen-limits.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

# config_limits.c includes the autoconf header first; it needs nothing from
# it.
: > "$tmp/bw_autoconf.h"

cat > "$tmp/gen.c" <<'EOF'
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

#define KiB	1024LL
#define SEC	1000LL

/* Value as it would be written in the file, with the largest exact suffix. */
static const char *
human(const struct bw_limit_def *d, long long v, char *buf, size_t sz)
{
	static const struct { const char *sfx; long long mult; } bytes[] = {
		{ "g", KiB * KiB * KiB }, { "m", KiB * KiB }, { "k", KiB },
		{ NULL, 0 }
	}, ms[] = {
		{ "d", 86400 * SEC }, { "h", 3600 * SEC }, { "m", 60 * SEC },
		{ "s", SEC }, { NULL, 0 }
	};
	int	 i;

	if (v != 0 && d->unit == BW_UNIT_BYTES)
		for (i = 0; bytes[i].sfx != NULL; i++)
			if (v % bytes[i].mult == 0) {
				snprintf(buf, sz, "%lld%s", v / bytes[i].mult,
				    bytes[i].sfx);
				return buf;
			}
	if (d->unit == BW_UNIT_MS) {
		if (v != 0)
			for (i = 0; ms[i].sfx != NULL; i++)
				if (v % ms[i].mult == 0) {
					snprintf(buf, sz, "%lld%s",
					    v / ms[i].mult, ms[i].sfx);
					return buf;
				}
		snprintf(buf, sz, "%lldms", v);
		return buf;
	}
	snprintf(buf, sz, "%lld", v);
	return buf;
}

int
main(void)
{
	char	 a[64], b[64], c[64], sc[BW_SCOPE_NAMES_MAX];
	int	 i;

	for (i = 0; i < LIM__COUNT; i++) {
		const struct bw_limit_def *d = &bw_limit_defs[i];

		printf("%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%s\t%s\n", d->name,
		    bw_limit_unit_name(d->unit), human(d, d->def, a, sizeof(a)),
		    human(d, d->min, b, sizeof(b)),
		    human(d, d->max, c, sizeof(c)), d->min, d->max,
		    bw_scope_names(d->scopes, sc, sizeof(sc)), d->reason);
	}
	return 0;
}
EOF

"$cc" -o "$tmp/gen" -I"$tmp" -I"$srcdir/common" "$tmp/gen.c" \
    "$srcdir/common/config_limits.c"
"$tmp/gen" > "$tmp/table"

# What each limit bounds.  One line each, man(7) text.
meaning() {
	case $1 in
	smtpd_max_command_line) echo "Longest SMTP command line smtpd \
accepts." ;;
	smtpd_max_text_line) echo "Longest line of message text smtpd \
accepts during DATA and in a BDAT message that is not BODY=BINARYMIME." ;;
	message_size_limit) echo "Largest message smtpd accepts, checked \
against the SIZE= hint of MAIL and against the text received; a larger one \
gets 552 5.3.4." ;;
	smtpd_max_recipients) echo "Recipients accepted in one message; further \
RCPT commands get 452 4.5.3." ;;
	smtpd_max_messages_per_connection) echo "Messages one SMTP session may \
send before smtpd closes it." ;;
	smtpd_max_connections) echo "Concurrent SMTP sessions, over all \
listeners." ;;
	smtpd_max_connections_per_ip) echo "Concurrent SMTP sessions from one \
client address (an IPv4-mapped IPv6 address is its IPv4 host), counted by \
queued over every listener and every smtpd process; the value of the \
listener that accepts a connection applies to it.  Over it the client gets \
421 4.7.0 before the banner.  While queued is not running, connections are \
admitted without being counted (hostcount_unavailable in bwctl status)." ;;
	smtpd_max_errors) echo "Bad commands (and junk commands past \
smtpd_junk_command_limit) a client may send without sending mail; at this \
many smtpd answers 421 4.7.0 and disconnects.  An accepted message starts \
the count again." ;;
	smtpd_max_input_buffer) echo "Unprocessed input bytes buffered for one \
session (pipelined commands, partial lines); must be at least \
smtpd_max_command_line and smtpd_max_text_line." ;;
	smtpd_timeout_greeting) echo "How long smtpd waits for the first \
command after its banner." ;;
	smtpd_timeout_command) echo "How long smtpd waits for the next \
command." ;;
	smtpd_timeout_data_block) echo "How long smtpd waits for more message \
text during DATA or a BDAT chunk." ;;
	smtpd_timeout_data_total) echo "Longest the whole DATA phase of one \
message may take; with BDAT, from the first chunk to the last." ;;
	smtpd_timeout_tls_handshake) echo "Longest a TLS handshake may take." ;;
	smtpd_timeout_queue_reply) echo "How long smtpd waits for queued's \
answer at the end of data; then the client gets 451 4.3.0 and the message \
is aborted." ;;
	smtpd_greeting_delay) echo "Pause before the banner (0: none).  In a \
listener block it may also be written greeting_delay.  A client that \
sends anything before the banner gets 554 5.5.1 and is disconnected (see \
SMTP DEFENCES)." ;;
	smtpd_junk_command_limit) echo "NOOP, RSET, VRFY and HELP commands a \
client may send without sending mail; each one past it counts toward \
smtpd_max_errors.  An accepted message starts the count again." ;;
	smtpd_max_recipients_per_hour) echo "Recipients one host may \
give in a window of smtpd_recipients_window, counted across every smtpd \
by the counter owner; past it RCPT gets 452 4.5.3 with the time the \
window reopens; 0: no limit. Set in a policy." ;;
	smtpd_recipients_window) echo "Length of the window of \
smtpd_max_recipients_per_hour, opened by a host's first recipient." ;;
	smtpd_max_messages_per_minute) echo "Messages one host may start \
(MAIL) in a window of smtpd_messages_window; past it 421 4.7.0 and the \
session ends; 0: no limit. Set in a policy." ;;
	smtpd_messages_window) echo "Length of the window of \
smtpd_max_messages_per_minute." ;;
	smtpd_tarpit_greeting_delay) echo "Added to smtpd_greeting_delay \
in proportion to a negative reputation score: all of it at -10.0, half \
at -5.0, none at 0 or above or when the score is none." ;;
	smtpd_command_delay) echo "Pause before the reply to every \
command (a tarpit); 0: none." ;;
	smtpd_tarpit_command_delay) echo "Added to smtpd_command_delay in \
proportion to a negative reputation score, as smtpd_tarpit_greeting_delay." ;;
	smtpd_dns_timeout) echo "Longest the banner waits for the client's \
reverse DNS (PTR, then the addresses of its names; see reverse_dns); past \
it the client's name is unknown with rdns=tempfail, and the session goes \
on." ;;
	smtpd_proxy_timeout) echo "Longest a load balancer's PROXY header \
may take to arrive whole on a listener with proxy_protocol yes, from the \
connection; past it the connection is closed (see proxy_protocol)." ;;
	smtpd_reputation_timeout) echo "Longest the banner waits for the \
client's reputation (every zone of REPUTATION, queried together); a zone \
that has not answered by then counts as failed, and the score is none when \
no zone answered." ;;
	hopcount_limit) echo "A message that arrives with this many \
Received: header fields or more is refused at the end of data with 554 \
5.4.6 Too many hops: it is looping (see SMTP DEFENCES)." ;;
	queue_min_free_space) echo "Free space the spool file system must keep; \
below it MAIL gets 452 4.3.1." ;;
	queue_commit_delay) echo "Extra time queued waits before a log flush, \
to let more commits join it." ;;
	queue_max_commit_batch) echo "Most commits made durable by one log \
flush." ;;
	queue_max_open_messages) echo "Messages being received at once; MAIL \
beyond it gets 421 4.3.2." ;;
	queue_pressure_open_messages) echo "Messages being received at once \
at which queued reports pressure (soft) to smtpd, which then sheds load \
(see RESOURCE CONSERVATION); it ends below this less a tenth.  0: never." ;;
	queue_pressure_messages) echo "Messages in the queue at which queued \
reports pressure (soft) to smtpd, which then sheds load (see QUEUE \
PRESSURE); it ends below this less a tenth.  0: never." ;;
	queue_segment_size) echo "Size at which queued starts a new file for \
message bodies in the spool's segments directory; a body is written there in \
pieces of up to 64 KiB, and a file is removed when its last message has \
left (or kept as a spare, see queue_segment_spares)." ;;
	queue_segment_spares) echo "Emptied segment files queued keeps (renamed \
spare-NNNNNNNN in the segments directory) to overwrite as the next segments \
instead of creating new files; 0 removes every emptied file." ;;
	queue_db_cache) echo "Size of the Berkeley DB cache of the queue \
store." ;;
	queue_idle_forget) echo "How long queued keeps the in-memory queue of a \
(gateway, domain) that is active and empty before it forgets it (with its \
counters: delivered, bounces, last error); the next message for that domain \
starts a new one." ;;
	host_counters_max_entries) echo "Connecting hosts whose counters \
queued remembers (connections now, messages and recipients in their \
windows, lifetime totals; see bwctl show senders).  When the table is \
full, the least recently seen host without a connection is forgotten; \
when every host holds a connection, a new one is admitted without being \
counted (hostcount_overflow in bwctl status)." ;;
	host_counters_idle_expire) echo "How long queued remembers a host \
that has no connection and no open window; a host whose window is longer \
than this is kept until the window closes." ;;
	queue_checkpoint_interval) echo "Time between Berkeley DB \
checkpoints." ;;
	ctl_timeout) echo "Longest bwctl waits for the answer to a \
request." ;;
	ctl_verify_timeout) echo "Longest bwctl queue verify or repair \
runs (instead of ctl_timeout)." ;;
	deliver_timeout_connect) echo "Longest deliverd waits for a TCP \
connection to a destination host; then it tries the next host." ;;
	deliver_timeout_greeting) echo "Longest deliverd waits for the 220 \
greeting of a destination host." ;;
	deliver_timeout_command) echo "Longest deliverd waits for the reply to \
EHLO, MAIL FROM or RCPT TO." ;;
	deliver_timeout_data_init) echo "Longest deliverd waits for the 354 \
reply to DATA." ;;
	deliver_timeout_data_block) echo "Longest one write of message text \
to a destination host may take." ;;
	deliver_timeout_data_final) echo "Longest deliverd waits for the reply \
after the final dot of a message." ;;
	deliver_idle_keep) echo "How long an idle outbound connection stays \
open for the next message to the same domain; 0 closes it at once." ;;
	deliver_max_connections_per_domain) echo "Concurrent outbound \
connections to one destination domain (per gateway): the ceiling of \
Good Neighbor's adaptive limit, which starts at 2 and follows how the \
destination answers (bwctl show domain)." ;;
	deliver_max_messages_per_connection) echo "Messages sent over one \
outbound connection before deliverd closes it and opens a new one." ;;
	deliver_max_recipients_per_message) echo "Recipients in one outbound \
transaction (RCPT TO commands between MAIL FROM and the message text); a \
message with more is sent as several transactions, one after the other on \
the connection, each recipient with its own result." ;;
	deliver_max_messages_per_minute) echo "Transactions deliverd starts \
per minute to one destination domain of one gateway, over all its \
connections, spaced evenly (60 s divided by the limit apart); the next \
messages wait, they do not fail. A message split by \
deliver_max_recipients_per_message counts once per transaction, here as \
in deliver_max_messages_per_connection. 0: no limit." ;;
	deliver_max_jobs_per_domain) echo "Delivery jobs queued hands to \
deliverd ahead for one domain; the rest wait in the queue." ;;
	deliver_max_jobs_per_worker) echo "Delivery jobs in flight to one \
deliverd worker, over all its domains." ;;
	deliver_bdat_chunk_size) echo "Largest BDAT chunk deliverd sends to a \
server that offers CHUNKING (RFC 3030)." ;;
	dns_cache_max_entries) echo "Answers dnscached keeps; beyond it the \
least recently used go." ;;
	dns_cache_max_bytes) echo "Memory of the dnscached cache; beyond it \
the least recently used answers go." ;;
	dns_attempt_timeout) echo "Longest dnscached waits for one upstream \
server before it tries the next; at most dns_query_deadline." ;;
	dns_query_deadline) echo "Longest one DNS query may take over all its \
attempts; then the client gets a temporary failure." ;;
	dns_ttl_max) echo "Cap on how long a positive answer is cached, \
whatever its TTL (answers are cached for at least 5 s)." ;;
	dns_negative_ttl_max) echo "Cap on how long a negative answer \
(NXDOMAIN, no data) is cached (RFC 2308)." ;;
	queue_undelete_window) echo "How long a message deleted with bwctl \
delete waits in queued's hold area, from which bwctl undelete brings it \
back; then it is purged for good and undelete answers expired." ;;
	alert_repeat_interval) echo "An alert that lasts is logged and \
mailed again at most this often; its end is told once." ;;
	alert_check_interval) echo "How often controld checks the queue \
figures against the alert thresholds." ;;
	alert_work_queue) echo "Alert when more messages than this are ready \
for delivery in all queues together (the work queue: not those waiting \
for a retry); 0: no alert." ;;
	alert_domain_queued) echo "Alert when more messages than this wait \
for one destination (gateway and domain); 0: no alert." ;;
	alert_oldest_age) echo "Alert when the oldest message waiting is \
older than this; 0: no alert." ;;
	alert_disk_free) echo "Alert when the file system of the spool has \
less free space than this; 0: no alert." ;;
	alert_latency_p95) echo "Alert when 95% of a destination's \
deliveries of the last one to two minutes (six to twelve samples) took \
longer than this from arrival (by the bucket of queued's latency \
histogram it falls in: 1s 5s 15s 30s 1m 5m 15m 1h 4h 12h 1d); 0: no \
alert." ;;
	alert_daemon_restart) echo "1: alert when a daemon (or a deliverd \
worker) links again with a new process id, that is after a crash, a kill \
or a restart; 0: no alert." ;;
	alert_domain_down) echo "1: alert when the queue of a destination \
goes down (delivery failed for the whole domain) until it comes up; 0: \
no alert." ;;
	monitor_http_max_header) echo "Largest request line plus headers \
the monitor reads (monitor_listen); a longer URL is answered 414, longer \
headers 431, and the connection is closed; at four times this the HTTP \
library stops reading and answers 400." ;;
	monitor_http_max_body) echo "Largest request body the monitor \
reads; a longer one is answered 413." ;;
	monitor_http_timeout) echo "Longest the monitor waits for a \
client to send the next part of its request (or to take the next part of \
a reply); then it closes the connection." ;;
	monitor_http_max_connections) echo "Connections the monitor holds \
open at once; one more is answered 503 and closed." ;;
	monitor_session_idle) echo "How long an unused login session of \
the monitor stays valid." ;;
	monitor_login_failures) echo "Wrong passwords the monitor takes \
from one address in a minute; further logins from it are answered 429 \
until the minute is over, and the address is logged once." ;;
	monitor_sample_interval) echo "How often controld asks every daemon \
for its counters and queued for the top-N queues, for the history." ;;
	monitor_top_domains) echo "Domains kept in the history per set (the \
busiest, the most deferred); the rest are summed in one row." ;;
	monitor_history_max_bytes) echo "Size monitor_dir should stay under; \
controld logs once when the history grows past it." ;;
	*) return 1 ;;
	esac
}

# Text lines of at most 78 bytes; none may start with a control character.
wrap() {
	awk '{
		line = ""
		for (i = 1; i <= NF; i++) {
			if (line != "" && length(line) + 1 + length($i) > 78) {
				print line
				line = ""
			}
			w = $i
			if (line == "" && (w ~ /^[.\047]/))
				w = "\\&" w
			line = line == "" ? w : line " " w
		}
		if (line != "")
			print line
	}'
}

echo '.\" LIMITS (generated by doc/gen-limits.sh from common/config_limits.c)'
tab=$(printf '\t')
while IFS=$tab read -r name unit def min max rmin rmax scopes reason; do
	m=$(meaning "$name") || {
		echo "gen-limits.sh: no meaning for $name; add it" >&2
		exit 1
	}
	case $unit in
	count)	u="a count" ;;
	bytes)	u="a size" ;;
	ms)	u="a duration" ;;
	esac
	echo ".TP"
	echo ".B $name"
	echo "$m" | wrap
	echo "Value: $u."
	echo "Default:"
	echo ".BR $def ."
	if [ "$unit" = count ]; then
		echo "Range: $min to $max."
	else
		echo "Range: $min to $max ($rmin..$rmax $unit)."
	fi
	echo ".br"
	echo "Scopes: $scopes."
	echo ".br"
	echo "Why the default: $reason." | wrap
done < "$tmp/table"
echo '.\" LIMITS (end of generated text)'
