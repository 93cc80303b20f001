/*
 * The limits table: one row per enum bw_limit_id, with its default, range,
 * unit, the scopes where it may be set and the reason for the default.  The
 * parser accepts "<name> VALUE" for every row at the top level and in the
 * blocks of its scopes, bwctl prints it, and doc/breakwater.conf.5
 * documents it (tests/check_config.c checks that every name is in the man
 * page).
 *
 * Values are long long in the row's unit: a count, bytes, or milliseconds.
 * Input text is trusted no further than bw_limit_parse_value() checks it.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define KiB	1024LL
#define MiB	(1024LL * KiB)
#define GiB	(1024LL * MiB)
#define SEC	1000LL
#define MINUTE	(60 * SEC)
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)

/*
 * Scopes: what a client session is allowed (global, a listener, a mail
 * flow policy); what a delivery to a domain is allowed (global, a
 * destination); what sizes a process (global only).
 */
#define S_GLOBAL	BW_SCOPE_GLOBAL
#define S_SESSION	(BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER | BW_SCOPE_POLICY)
#define S_DEST		(BW_SCOPE_GLOBAL | BW_SCOPE_DESTINATION)

#define ROW(id, name, def, min, max, unit, scopes, reason) \
	[id] = { id, name, def, min, max, unit, scopes, reason }

const struct bw_limit_def bw_limit_defs[LIM__COUNT] = {
	ROW(LIM_SMTPD_MAX_COMMAND_LINE, "smtpd_max_command_line",
	    2048, 512, 64 * KiB, BW_UNIT_BYTES, S_SESSION,
	    "RFC 5321 4.5.3.1.4 allows 512 octets, plus room for extension "
	    "parameters (SIZE, BODY, AUTH, SMTPUTF8, DSN ORCPT)"),
	ROW(LIM_SMTPD_MAX_TEXT_LINE, "smtpd_max_text_line",
	    8192, 1000, 1 * MiB, BW_UNIT_BYTES, S_SESSION,
	    "RFC 5321 4.5.3.1.6 says 1000 octets with CRLF, but real mail "
	    "exceeds it and rejecting it loses legitimate mail"),
	ROW(LIM_MESSAGE_SIZE_LIMIT, "message_size_limit",
	    35 * MiB, 1 * KiB, 1 * GiB, BW_UNIT_BYTES, S_SESSION,
	    "35 MiB: 25 MiB of attachments grown by base64 (4/3) plus "
	    "headers, what large mailbox providers accept"),
	ROW(LIM_SMTPD_MAX_RECIPIENTS, "smtpd_max_recipients",
	    1000, 1, 100000, BW_UNIT_COUNT, S_SESSION,
	    "RFC 5321 4.5.3.1.8 requires at least 100; 1000 covers list "
	    "traffic, a client sending more is rarely legitimate"),
	ROW(LIM_SMTPD_MAX_MESSAGES_PER_CONNECTION,
	    "smtpd_max_messages_per_connection",
	    1000, 1, 1000000, BW_UNIT_COUNT, S_SESSION,
	    "bounds how long one client holds a session; a busy sender "
	    "simply reconnects"),
	ROW(LIM_SMTPD_MAX_CONNECTIONS, "smtpd_max_connections",
	    20000, 1, 1000000, BW_UNIT_COUNT, S_GLOBAL,
	    "a large site's peak; each session costs a descriptor and up to "
	    "smtpd_max_input_buffer of memory, so raise the open-file limit "
	    "to match (each smtpd worker serves its share)"),
	ROW(LIM_SMTPD_MAX_CONNECTIONS_PER_IP, "smtpd_max_connections_per_ip",
	    50, 1, 100000, BW_UNIT_COUNT, S_SESSION,
	    "big senders open tens of parallel connections; more from one "
	    "address is a flood"),
	ROW(LIM_SMTPD_MAX_ERRORS, "smtpd_max_errors",
	    20, 1, 1000, BW_UNIT_COUNT, S_SESSION,
	    "as Postfix's hard error limit: a client that keeps failing is "
	    "broken or probing"),
	ROW(LIM_SMTPD_MAX_INPUT_BUFFER, "smtpd_max_input_buffer",
	    256 * KiB, 4 * KiB, 64 * MiB, BW_UNIT_BYTES, S_SESSION,
	    "holds a full pipelined command batch (RFC 2920) and many text "
	    "lines; a client past it is not reading our replies"),
	ROW(LIM_SMTPD_TIMEOUT_GREETING, "smtpd_timeout_greeting",
	    5 * MINUTE, 1 * SEC, 1 * HOUR, BW_UNIT_MS, S_SESSION,
	    "RFC 5321 4.5.3.2.7: a server should wait at least 5 minutes "
	    "for the next command"),
	ROW(LIM_SMTPD_TIMEOUT_COMMAND, "smtpd_timeout_command",
	    5 * MINUTE, 1 * SEC, 1 * HOUR, BW_UNIT_MS, S_SESSION,
	    "RFC 5321 4.5.3.2.7: a server should wait at least 5 minutes "
	    "for the next command"),
	ROW(LIM_SMTPD_TIMEOUT_DATA_BLOCK, "smtpd_timeout_data_block",
	    3 * MINUTE, 1 * SEC, 1 * HOUR, BW_UNIT_MS, S_SESSION,
	    "RFC 5321 4.5.3.2.5: a client gives up on a data block after 3 "
	    "minutes, so a live sender never pauses longer"),
	ROW(LIM_SMTPD_TIMEOUT_DATA_TOTAL, "smtpd_timeout_data_total",
	    30 * MINUTE, 10 * SEC, 1 * DAY, BW_UNIT_MS, S_SESSION,
	    "a maximum-size message at about 160 kbit/s; stops a sender "
	    "trickling bytes to hold a session forever"),
	ROW(LIM_SMTPD_TIMEOUT_TLS_HANDSHAKE, "smtpd_timeout_tls_handshake",
	    30 * SEC, 1 * SEC, 10 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "a handshake is a few round trips; 30 s allows slow links and "
	    "frees sessions that never finish it"),
	ROW(LIM_SMTPD_TIMEOUT_QUEUE_REPLY, "smtpd_timeout_queue_reply",
	    2 * MINUTE, 1 * SEC, 10 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "well under the 10 minutes a client waits for the reply to the "
	    "end of data (RFC 5321 4.5.3.2.6); a slower queue is stuck"),
	ROW(LIM_SMTPD_GREETING_DELAY, "smtpd_greeting_delay",
	    0, 0, 1 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "off: a few seconds catches clients that talk before the banner "
	    "(RFC 5321 4.3.1), but delays every legitimate session"),
	ROW(LIM_SMTPD_JUNK_COMMAND_LIMIT, "smtpd_junk_command_limit",
	    100, 1, 100000, BW_UNIT_COUNT, S_SESSION,
	    "Postfix's default: far more than a client needs between two "
	    "messages, while a session kept alive with NOOP or RSET alone "
	    "ends after smtpd_max_errors more"),
	ROW(LIM_SMTPD_DNS_TIMEOUT, "smtpd_dns_timeout",
	    5 * SEC, 100, 1 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "the banner waits this long at most for the client's reverse "
	    "DNS: two tries of dns_attempt_timeout and a margin; a client "
	    "waits 5 minutes for the banner (RFC 5321 4.5.3.2.1), and a "
	    "DNS that does not answer holds no session longer than this"),
	ROW(LIM_SMTPD_REPUTATION_TIMEOUT, "smtpd_reputation_timeout",
	    2 * SEC, 100, 1 * MINUTE, BW_UNIT_MS,
	    BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER,
	    "a DNS list answers a nearby resolver in milliseconds, or from "
	    "dnscached's cache; a list that is down must not add more than "
	    "one dns_attempt_timeout to every connection, and its score is "
	    "then none rather than a guess"),
	ROW(LIM_SMTPD_MAX_RECIPIENTS_PER_HOUR,
	    "smtpd_max_recipients_per_hour",
	    0, 0, 100000000, BW_UNIT_COUNT, S_SESSION,
	    "off by default; set it in the policy of groups that should "
	    "not send in bulk (Cisco's recipients per hour): past it a host "
	    "gets 452 4.5.3 until its window reopens, counted across every "
	    "smtpd by the counter owner"),
	ROW(LIM_SMTPD_RECIPIENTS_WINDOW, "smtpd_recipients_window",
	    1 * HOUR, 1 * SEC, 1 * DAY, BW_UNIT_MS, S_SESSION,
	    "the hour of smtpd_max_recipients_per_hour; shorter only in "
	    "tests"),
	ROW(LIM_SMTPD_MAX_MESSAGES_PER_MINUTE,
	    "smtpd_max_messages_per_minute",
	    0, 0, 10000000, BW_UNIT_COUNT, S_SESSION,
	    "off by default; a per-host message rate for policies of "
	    "suspicious groups: past it 421 4.7.0 and the host retries later"),
	ROW(LIM_SMTPD_MESSAGES_WINDOW, "smtpd_messages_window",
	    1 * MINUTE, 1 * SEC, 1 * HOUR, BW_UNIT_MS, S_SESSION,
	    "the minute of smtpd_max_messages_per_minute"),
	ROW(LIM_SMTPD_TARPIT_GREETING_DELAY, "smtpd_tarpit_greeting_delay",
	    0, 0, 3 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "added to smtpd_greeting_delay in proportion to a negative "
	    "score (all of it at -10): the worse a host, the slower it "
	    "gets its banner; with the greeting delay it stays under the 5 "
	    "minutes a client waits (RFC 5321 4.5.3.2.1)"),
	ROW(LIM_SMTPD_COMMAND_DELAY, "smtpd_command_delay",
	    0, 0, 1 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "off: a pause before every reply slows a client down without "
	    "refusing it (a tarpit), for policies of suspicious groups"),
	ROW(LIM_SMTPD_TARPIT_COMMAND_DELAY, "smtpd_tarpit_command_delay",
	    0, 0, 2 * MINUTE, BW_UNIT_MS, S_SESSION,
	    "added to smtpd_command_delay in proportion to a negative score; "
	    "together under the 5 minutes a client waits for a reply"),
	ROW(LIM_SMTPD_PROXY_TIMEOUT, "smtpd_proxy_timeout",
	    5 * SEC, 100, 1 * MINUTE, BW_UNIT_MS,
	    BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER,
	    "a balancer writes the header as soon as it connects, in one "
	    "packet; a header not complete in 5 seconds is a broken or "
	    "hostile peer, and the bound keeps it from holding a session "
	    "(Postfix's smtpd_upstream_proxy_timeout is the same)"),
	ROW(LIM_HOPCOUNT_LIMIT, "hopcount_limit",
	    50, 1, 1000, BW_UNIT_COUNT, S_SESSION,
	    "Postfix's default: real paths take well under 20 hops, and a "
	    "looping message is stopped after 50 passes (RFC 5321 6.3 "
	    "suggests at least 100)"),
	ROW(LIM_QUEUE_MIN_FREE_SPACE, "queue_min_free_space",
	    256 * MiB, 0, 1024 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "room for several maximum-size messages plus Berkeley DB logs; "
	    "below it MAIL gets 452 4.3.1 instead of the disk filling up"),
	ROW(LIM_QUEUE_COMMIT_DELAY, "queue_commit_delay",
	    0, 0, 1 * SEC, BW_UNIT_MS, S_GLOBAL,
	    "off: group commit already batches whatever completes during a "
	    "flush; a delay only adds latency"),
	ROW(LIM_QUEUE_MAX_COMMIT_BATCH, "queue_max_commit_batch",
	    1024, 1, 65536, BW_UNIT_COUNT, S_GLOBAL,
	    "bounds the work and the replies released by one log flush"),
	ROW(LIM_QUEUE_MAX_OPEN_MESSAGES, "queue_max_open_messages",
	    20000, 1, 1000000, BW_UNIT_COUNT, S_GLOBAL,
	    "matches smtpd_max_connections: one message in flight per "
	    "session"),
	ROW(LIM_QUEUE_PRESSURE_OPEN_MESSAGES, "queue_pressure_open_messages",
	    0, 0, 1000000, BW_UNIT_COUNT, S_GLOBAL,
	    "off: how many concurrent receptions are normal depends on the "
	    "site; set it below queue_max_open_messages (a half, say) so "
	    "that smtpd sheds its worst senders before everyone gets 421 "
	    "4.3.2"),
	ROW(LIM_QUEUE_PRESSURE_MESSAGES, "queue_pressure_messages",
	    0, 0, 1000000000, BW_UNIT_COUNT, S_GLOBAL,
	    "off: a normal queue size depends on the site, and a large queue "
	    "is often only a big domain being down (its mail parked, costing "
	    "nothing but disk); set it a few times above the usual peak"),
	ROW(LIM_QUEUE_SEGMENT_SIZE, "queue_segment_size",
	    64 * MiB, 1 * MiB, 4 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "a few hundred messages per file at usual sizes: few files, "
	    "and a segment left with one parked message costs only its "
	    "blocks, the rest is freed as messages leave"),
	ROW(LIM_QUEUE_SEGMENT_SPARES, "queue_segment_spares",
	    2, 0, 64, BW_UNIT_COUNT, S_GLOBAL,
	    "overwriting a kept file costs the file system less than half "
	    "the CPU of filling a new one; two cover a segment emptying "
	    "while the next fills, for at most two segments of disk"),
	ROW(LIM_QUEUE_DB_CACHE, "queue_db_cache",
	    64 * MiB, 1 * MiB, 64 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "keeps the queue indexes in memory; Berkeley DB's own 256 KiB "
	    "default thrashes under load"),
	ROW(LIM_QUEUE_CHECKPOINT_INTERVAL, "queue_checkpoint_interval",
	    1 * MINUTE, 1 * SEC, 1 * HOUR, BW_UNIT_MS, S_GLOBAL,
	    "recovery after a crash replays about a minute of log, and old "
	    "log files can be removed soon"),
	ROW(LIM_QUEUE_IDLE_FORGET, "queue_idle_forget",
	    10 * MINUTE, 1 * SEC, 1 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "a domain that gets mail keeps its queue between messages; one "
	    "that got mail once does not hold memory for ever"),
	ROW(LIM_HOST_COUNTERS_MAX_ENTRIES, "host_counters_max_entries",
	    100000, 16, 10000000, BW_UNIT_COUNT, S_GLOBAL,
	    "about 300 bytes each, 30 MB in all: more hosts than a large "
	    "site sees in two hours, while a flood of new addresses only "
	    "pushes out the least recently seen quiet ones"),
	ROW(LIM_HOST_COUNTERS_IDLE_EXPIRE, "host_counters_idle_expire",
	    2 * HOUR, 1 * SEC, 7 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "longer than the longest usual window (recipients per hour), so "
	    "a host's counts outlive its windows and a returning sender "
	    "keeps its lifetime totals for a while"),
	ROW(LIM_CTL_TIMEOUT, "ctl_timeout",
	    30 * SEC, 1 * SEC, 10 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "long enough for a listing from a busy queued, short enough that "
	    "a stuck daemon does not hang bwctl"),
	ROW(LIM_CTL_VERIFY_TIMEOUT, "ctl_verify_timeout",
	    1 * HOUR, 1 * MINUTE, 1 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "queue verify reads every stored body piece between other work; "
	    "an hour covers a spool of several hundred gigabytes"),
	ROW(LIM_DELIVER_TIMEOUT_CONNECT, "deliver_timeout_connect",
	    30 * SEC, 1 * SEC, 5 * MINUTE, BW_UNIT_MS, S_DEST,
	    "a host that has not completed the TCP handshake in 30 s is "
	    "down for practical purposes; the next MX is tried"),
	ROW(LIM_DELIVER_TIMEOUT_GREETING, "deliver_timeout_greeting",
	    5 * MINUTE, 1 * SEC, 30 * MINUTE, BW_UNIT_MS, S_DEST,
	    "RFC 5321 4.5.3.2.1: initial 220 message, 5 minutes"),
	ROW(LIM_DELIVER_TIMEOUT_COMMAND, "deliver_timeout_command",
	    5 * MINUTE, 1 * SEC, 30 * MINUTE, BW_UNIT_MS, S_DEST,
	    "RFC 5321 4.5.3.2.2-3: MAIL and RCPT replies, 5 minutes"),
	ROW(LIM_DELIVER_TIMEOUT_DATA_INIT, "deliver_timeout_data_init",
	    2 * MINUTE, 1 * SEC, 30 * MINUTE, BW_UNIT_MS, S_DEST,
	    "RFC 5321 4.5.3.2.4: DATA initiation (354), 2 minutes"),
	ROW(LIM_DELIVER_TIMEOUT_DATA_BLOCK, "deliver_timeout_data_block",
	    3 * MINUTE, 1 * SEC, 30 * MINUTE, BW_UNIT_MS, S_DEST,
	    "RFC 5321 4.5.3.2.5: each data block, 3 minutes"),
	ROW(LIM_DELIVER_TIMEOUT_DATA_FINAL, "deliver_timeout_data_final",
	    10 * MINUTE, 1 * SEC, 60 * MINUTE, BW_UNIT_MS, S_DEST,
	    "RFC 5321 4.5.3.2.6: reply to the final dot, 10 minutes; giving "
	    "up earlier causes duplicates"),
	ROW(LIM_DELIVER_IDLE_KEEP, "deliver_idle_keep",
	    5 * SEC, 0, 5 * MINUTE, BW_UNIT_MS, S_DEST,
	    "long enough for the next job of a busy domain to reuse the "
	    "connection, short enough not to hold sockets at remote servers"),
	ROW(LIM_DELIVER_MAX_CONNECTIONS_PER_DOMAIN,
	    "deliver_max_connections_per_domain",
	    20, 1, 1000, BW_UNIT_COUNT, S_DEST,
	    "what large receivers tolerate from one sender before they "
	    "throttle it"),
	ROW(LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION,
	    "deliver_max_messages_per_connection",
	    100, 1, 100000, BW_UNIT_COUNT, S_DEST,
	    "reuses a connection for a busy domain without tripping "
	    "receivers' per-session limits"),
	ROW(LIM_DELIVER_MAX_RECIPIENTS_PER_MESSAGE,
	    "deliver_max_recipients_per_message",
	    50, 1, 100000, BW_UNIT_COUNT, S_DEST,
	    "half the 100 recipients RFC 5321 4.5.3.1.8 obliges a server to "
	    "accept, so a compliant receiver never answers 452 too many "
	    "recipients, and Postfix's default: receivers are used to it; a "
	    "larger list goes as several transactions"),
	ROW(LIM_DELIVER_MAX_MESSAGES_PER_MINUTE,
	    "deliver_max_messages_per_minute",
	    0, 0, 1000000, BW_UNIT_COUNT, S_DEST,
	    "off: the connection and per-connection limits pace a busy "
	    "destination already; set it for a receiver known to throttle "
	    "by rate"),
	ROW(LIM_DELIVER_MAX_JOBS_PER_DOMAIN, "deliver_max_jobs_per_domain",
	    200, 1, 100000, BW_UNIT_COUNT, S_DEST,
	    "enough messages ahead to keep every connection of a domain busy "
	    "without holding a large queue in a worker's memory"),
	ROW(LIM_DELIVER_MAX_JOBS_PER_WORKER, "deliver_max_jobs_per_worker",
	    5000, 1, 1000000, BW_UNIT_COUNT, S_GLOBAL,
	    "bounds a delivery worker's memory while queued holds the rest"),
	ROW(LIM_DELIVER_BDAT_CHUNK_SIZE, "deliver_bdat_chunk_size",
	    1 * MiB, 1 * KiB, 1 * GiB, BW_UNIT_BYTES, S_DEST,
	    "most messages fit in one chunk, which goes with MAIL and RCPT "
	    "in one round trip; a larger one waits for a recipient to be "
	    "accepted after its first chunk, so a server refusing every "
	    "recipient costs at most this much"),
	ROW(LIM_DNS_CACHE_MAX_ENTRIES, "dns_cache_max_entries",
	    20000, 16, 10000000, BW_UNIT_COUNT, S_GLOBAL,
	    "covers the destinations of a busy relay; least recently used "
	    "entries go first"),
	ROW(LIM_DNS_CACHE_MAX_BYTES, "dns_cache_max_bytes",
	    64 * MiB, 1 * MiB, 4 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "bounds the cache's memory whatever the answers' sizes"),
	ROW(LIM_DNS_ATTEMPT_TIMEOUT, "dns_attempt_timeout",
	    2 * SEC, 100, 60 * SEC, BW_UNIT_MS, S_GLOBAL,
	    "a resolver on the local network answers in well under a "
	    "second; the next server is tried after this"),
	ROW(LIM_DNS_QUERY_DEADLINE, "dns_query_deadline",
	    12 * SEC, 1 * SEC, 5 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "six attempts of dns_attempt_timeout: two tries at each of three "
	    "servers; a query is answered TIMEOUT after this"),
	ROW(LIM_DNS_TTL_MAX, "dns_ttl_max",
	    1 * DAY, 5 * SEC, 7 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "a record changed upstream is seen within a day even with a "
	    "longer TTL"),
	ROW(LIM_DNS_NEGATIVE_TTL_MAX, "dns_negative_ttl_max",
	    1 * HOUR, 5 * SEC, 1 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "RFC 2308 caps negative caching; an hour keeps a new domain "
	    "from staying unknown for long"),
	ROW(LIM_QUEUE_UNDELETE_WINDOW, "queue_undelete_window",
	    1 * HOUR, 1 * SEC, 30 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "long enough to notice a delete by the wrong selector, short "
	    "enough that deleted mail does not hold the spool for long"),
	ROW(LIM_ALERT_REPEAT_INTERVAL, "alert_repeat_interval",
	    1 * HOUR, 1 * SEC, 7 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "an alert that lasts is mailed again each hour: a reminder "
	    "without a flood"),
	ROW(LIM_ALERT_CHECK_INTERVAL, "alert_check_interval",
	    10 * SEC, 1 * SEC, 10 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "the monitor's sampling step: a queue growing is seen within "
	    "ten seconds, and the check costs one queue listing"),
	ROW(LIM_ALERT_WORK_QUEUE, "alert_work_queue",
	    0, 0, 1000000000, BW_UNIT_COUNT, S_GLOBAL,
	    "off: what is too many depends on the site's traffic"),
	ROW(LIM_ALERT_DOMAIN_QUEUED, "alert_domain_queued",
	    0, 0, 1000000000, BW_UNIT_COUNT, S_DEST,
	    "off: a large destination may hold thousands for minutes "
	    "without trouble"),
	ROW(LIM_ALERT_OLDEST_AGE, "alert_oldest_age",
	    0, 0, 90 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "off: the bounce profile's delay warning already tells the "
	    "sender"),
	ROW(LIM_ALERT_DISK_FREE, "alert_disk_free",
	    0, 0, 1024 * 1024 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "off: the queue's own space checks refuse mail before the disk "
	    "fills (queue_min_free_space)"),
	ROW(LIM_ALERT_LATENCY_P95, "alert_latency_p95",
	    0, 0, 7 * DAY, BW_UNIT_MS, S_DEST,
	    "off: latency depends on the destinations' own speed"),
	ROW(LIM_ALERT_DAEMON_RESTART, "alert_daemon_restart",
	    1, 0, 1, BW_UNIT_COUNT, S_GLOBAL,
	    "on: a daemon that had to be started again crashed or was "
	    "killed, which an administrator wants to know"),
	ROW(LIM_ALERT_DOMAIN_DOWN, "alert_domain_down",
	    1, 0, 1, BW_UNIT_COUNT, S_DEST,
	    "on: mail for a destination that cannot be reached waits, and "
	    "0 in a destination block silences one known to be flaky"),
	ROW(LIM_MONITOR_HTTP_MAX_HEADER, "monitor_http_max_header",
	    8 * KiB, 1 * KiB, 1 * MiB, BW_UNIT_BYTES, S_GLOBAL,
	    "what browsers send with a session cookie and an HTTP Basic "
	    "header, several times over; a flood of header lines costs at "
	    "most this much per connection"),
	ROW(LIM_MONITOR_HTTP_MAX_BODY, "monitor_http_max_body",
	    16 * KiB, 1 * KiB, 1 * MiB, BW_UNIT_BYTES, S_GLOBAL,
	    "the monitor's forms carry a user, a password, a token and a "
	    "few fields"),
	ROW(LIM_MONITOR_HTTP_TIMEOUT, "monitor_http_timeout",
	    10 * SEC, 1 * SEC, 10 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "a browser sends its request at once; a client that stalls "
	    "longer is closed so that it holds no connection slot"),
	ROW(LIM_MONITOR_HTTP_MAX_CONNECTIONS, "monitor_http_max_connections",
	    64, 1, 10000, BW_UNIT_COUNT, S_GLOBAL,
	    "a few administrators' browsers and a scraper; more are "
	    "answered 503 at once"),
	ROW(LIM_MONITOR_SESSION_IDLE, "monitor_session_idle",
	    30 * MINUTE, 1 * MINUTE, 1 * DAY, BW_UNIT_MS, S_GLOBAL,
	    "a page left open over a meeting keeps its login; a forgotten "
	    "one does not stay valid for the day"),
	ROW(LIM_MONITOR_LOGIN_FAILURES, "monitor_login_failures",
	    5, 1, 1000, BW_UNIT_COUNT, S_GLOBAL,
	    "wrong passwords a minute from one address: enough for typing "
	    "mistakes, far too few to guess a password"),
	ROW(LIM_MONITOR_SAMPLE_INTERVAL, "monitor_sample_interval",
	    10 * SEC, 1 * SEC, 1 * MINUTE, BW_UNIT_MS, S_GLOBAL,
	    "six samples a minute smooth the per-minute points at a cost of "
	    "one status round and one top-N answer from queued each time; "
	    "a second is for tests"),
	ROW(LIM_MONITOR_TOP_DOMAINS, "monitor_top_domains",
	    25, 1, 1000, BW_UNIT_COUNT, S_GLOBAL,
	    "25 busiest and 25 most deferred domains keep a history record "
	    "near 10 KB whatever the number of destinations"),
	ROW(LIM_MONITOR_HISTORY_MAX_BYTES, "monitor_history_max_bytes",
	    64 * MiB, 1 * MiB, 16 * GiB, BW_UNIT_BYTES, S_GLOBAL,
	    "5040 points of about 10 KB with Berkeley DB's pages and log "
	    "stay under 64 MiB; more is logged, not refused"),
};

/* The row named name, or NULL. */
const struct bw_limit_def *
bw_limit_find(const char *name)
{
	int	 i;

	for (i = 0; i < LIM__COUNT; i++)
		if (strcmp(bw_limit_defs[i].name, name) == 0)
			return &bw_limit_defs[i];
	return NULL;
}

const char *
bw_limit_unit_name(enum bw_limit_unit unit)
{
	switch (unit) {
	case BW_UNIT_COUNT:
		return "count";
	case BW_UNIT_BYTES:
		return "bytes";
	case BW_UNIT_MS:
		return "ms";
	}
	return "?";
}

const char *
bw_scope_name(unsigned int scope)
{
	switch (scope) {
	case BW_SCOPE_GLOBAL:
		return "global";
	case BW_SCOPE_LISTENER:
		return "listener";
	case BW_SCOPE_POLICY:
		return "policy";
	case BW_SCOPE_DESTINATION:
		return "destination";
	}
	return "?";
}

/* Without strlcat: doc/gen-limits.sh builds this file alone. */
const char *
bw_scope_names(unsigned int scopes, char *dst, size_t dstsz)
{
	unsigned int	 bit;
	size_t		 len = 0;
	int		 n;

	if (dstsz == 0)
		return dst;
	dst[0] = '\0';
	for (bit = BW_SCOPE_GLOBAL; bit <= BW_SCOPE_DESTINATION; bit <<= 1) {
		if (!(scopes & bit))
			continue;
		n = snprintf(dst + len, dstsz - len, "%s%s",
		    len > 0 ? ", " : "", bw_scope_name(bit));
		if (n < 0 || (size_t)n >= dstsz - len) {
			dst[len] = '\0';	/* whole names only */
			break;
		}
		len += (size_t)n;
	}
	return dst;
}

struct limit_suffix {
	const char	*suffix;
	long long	 mult;
};

static const struct limit_suffix limit_suffix_bytes[] = {
	{ "", 1 }, { "k", KiB }, { "m", MiB }, { "g", GiB }, { NULL, 0 }
};

/* A bare number is seconds. */
static const struct limit_suffix limit_suffix_ms[] = {
	{ "", SEC }, { "ms", 1 }, { "s", SEC }, { "m", MINUTE }, { "h", HOUR },
	{ "d", DAY }, { NULL, 0 }
};

static const struct limit_suffix limit_suffix_count[] = {
	{ "", 1 }, { NULL, 0 }
};

/*
 * Parse a decimal number with an optional unit suffix (case-insensitive).
 * No sign, no spaces, no fractions; -1 on syntax error or overflow.
 */
int
bw_limit_parse_value(enum bw_limit_unit unit, const char *s, long long *out)
{
	const struct limit_suffix	*sfx;
	long long			 v = 0;
	const char			*p;

	switch (unit) {
	case BW_UNIT_BYTES:
		sfx = limit_suffix_bytes;
		break;
	case BW_UNIT_MS:
		sfx = limit_suffix_ms;
		break;
	case BW_UNIT_COUNT:
		sfx = limit_suffix_count;
		break;
	default:
		return -1;
	}
	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	for (p = s; isdigit((unsigned char)*p); p++) {
		if (v > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	for (; sfx->suffix != NULL; sfx++) {
		if (strcasecmp(p, sfx->suffix) != 0)
			continue;
		if (v > LLONG_MAX / sfx->mult)
			return -1;
		*out = v * sfx->mult;
		return 0;
	}
	return -1;
}
