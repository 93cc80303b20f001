#!/usr/bin/python3
"""smtpd defences an Internet-facing MTA needs, tried as an attacker or a
broken peer would (issue 10):

- mail loops: a message carrying hopcount_limit Received: fields or more
  is refused at the end of data with 554 5.4.6, nothing queued; Received:
  in the body or inside a folded field does not count, a field name split
  across two writes does;
- SMTP synchronization: talking before the banner, pipelining without
  PIPELINING (after HELO, or behind EHLO), message text behind DATA before
  the 354: refused, the session ended, logged and counted; RFC 2920
  pipelining that waits where it must still works (raw and swaks);
- sender-specified routing (user%host@, host!user@, "user@host"@) to an
  accepted domain on a public listener: 550 5.7.1, unless the listener
  says allow_untrusted_routing yes; private listeners take it;
- slow clients: a command line, the greeting and a TLS handshake must
  complete within their timeout however the bytes trickle in; DATA has its
  total deadline;
- junk commands (NOOP, RSET, VRFY, HELP) past smtpd_junk_command_limit
  count as errors, an accepted message starts the count again; NUL bytes
  in a command line get 500 5.5.2.

Limits (test_smtp_limits.py) and hostile queued peers (test_hostile_peer.py)
are tested elsewhere.
"""

import re
import socket
import ssl
import time

import bwtest

HOPS = 10               # hopcount_limit
JUNK = 5                # smtpd_junk_command_limit
MAX_ERRORS = 5          # smtpd_max_errors
CMD_TIMEOUT = 2.0       # smtpd_timeout_command, _greeting, _tls_handshake
DATA_TOTAL = 10.0       # smtpd_timeout_data_total (its minimum)

t = bwtest.TAP()


def queued_count(bw):
    return len(re.findall(r"queued from=", bw.log("queued")))


def counter(bw, name):
    return bw.counters("smtpd").get(name, 0)


def greeted(bw, port=None, helo="EHLO defences.example"):
    c = bw.raw(port=port)
    code, text = c.reply()
    assert code == 220, (code, text)
    if helo:
        code, text = c.cmd(helo)
        assert code == 250, (code, text)
    return c


def refused_and_closed(c, code_want, what):
    code, text = c.reply(timeout=10)
    assert code == code_want and what in text, (code, text)
    assert c.closed(timeout=5), "session not closed"
    c.close()


def received_fields(n):
    """n Received: fields in the spellings a header may use: folded,
    upper case, a blank before the colon."""
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append("Received: from hop%d.example (hop%d.example "
                       "[192.0.2.%d])\r\n\tby next.example with ESMTP id "
                       "X%d;\r\n\tMon, 1 Jan 2024 00:00:%02d +0000\r\n"
                       % (i, i, i + 1, i, i))
        elif i % 3 == 1:
            out.append("RECEIVED: from hop%d.example by next.example; "
                       "Mon, 1 Jan 2024 00:00:%02d +0000\r\n" % (i, i))
        else:
            out.append("Received : from hop%d.example by next.example; "
                       "Mon, 1 Jan 2024 00:00:%02d +0000\r\n" % (i, i))
    return "".join(out)


def send_message(c, text, pieces=1, rcpt="x@example.org"):
    """MAIL, RCPT, DATA one at a time, then the text in `pieces` writes
    split at odd places; returns the reply to the final dot."""
    assert c.cmd("MAIL FROM:<loop@b.example>")[0] == 250
    code, msg = c.cmd("RCPT TO:<%s>" % rcpt)
    assert code == 250, (code, msg)
    assert c.cmd("DATA")[0] == 354
    data = (text + ".\r\n").encode()
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        c.send(data[i:i + step])
        time.sleep(0.05)
    return c.reply(timeout=20)


# -- mail loops ----------------------------------------------------------

def check_hops_over_limit(bw):
    before, rej = queued_count(bw), counter(bw, "hopcount_rejects")
    c = greeted(bw)
    # the field name "Received" split across two writes
    head = received_fields(HOPS)
    cut = head.index("Received", 40) + 4
    assert c.cmd("MAIL FROM:<loop@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(head[:cut])
    time.sleep(0.3)
    c.send(head[cut:] + "Subject: loop\r\n\r\nround and round\r\n.\r\n")
    code, text = c.reply(timeout=20)
    assert code == 554 and "5.4.6" in text and "hops" in text, (code, text)
    # the session goes on; nothing was queued
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()
    time.sleep(0.3)
    assert queued_count(bw) == before, "the looping message was queued"
    assert counter(bw, "hopcount_rejects") == rej + 1
    bw.wait_log("smtpd", r"message refused: too many hops", timeout=5)


def check_hops_under_limit(bw):
    """HOPS - 1 fields in the header; Received: inside a folded field and
    in the body do not count, whatever their number."""
    c = greeted(bw)
    text = (received_fields(HOPS - 1) +
            "X-Trace: a folded field\r\n Received: not a field\r\n"
            "\tReceived: nor this\r\n"
            "Subject: just under\r\n\r\n" +
            "Received: from body.example; in the body\r\n" * (HOPS * 3))
    code, msg = send_message(c, text, pieces=7)
    assert code == 250 and "queued as" in msg, (code, msg)
    c.cmd("QUIT")
    c.close()


def check_hops_dot_stuffed(bw):
    """The header ends at the empty line even if the body then starts
    with dot-stuffed lines; a message without a body is scanned too."""
    c = greeted(bw)
    code, msg = send_message(c, received_fields(HOPS), pieces=3)
    assert code == 554 and "5.4.6" in msg, (code, msg)
    code, msg = send_message(c, "Subject: dots\r\n\r\n" +
                             "..Received: x\r\n" * (HOPS + 1))
    assert code == 250, (code, msg)
    c.cmd("QUIT")
    c.close()


# -- SMTP synchronization ------------------------------------------------

def check_pregreet(bw, port):
    before = counter(bw, "pregreet_rejects")
    c = bw.raw(port=port)
    c.send("EHLO eager.example\r\n")
    refused_and_closed(c, 554, "5.5.1")
    assert counter(bw, "pregreet_rejects") == before + 1
    bw.wait_log("smtpd", r"addr=127\.0\.0\.1 sync violation=pregreet",
                timeout=5)


def check_pipelining_after_helo(bw):
    before, qc = counter(bw, "pipelining_rejects"), queued_count(bw)
    c = greeted(bw, helo="HELO old.example")
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\n")
    refused_and_closed(c, 503, "5.5.0")
    assert counter(bw, "pipelining_rejects") == before + 1
    assert queued_count(bw) == qc
    bw.wait_log("smtpd", r"sync violation=pipelining after=MAIL", timeout=5)


def check_pipelining_with_ehlo(bw):
    before = counter(bw, "pipelining_rejects")
    c = greeted(bw, helo=None)
    c.send("EHLO bot.example\r\nMAIL FROM:<a@b.example>\r\n")
    refused_and_closed(c, 503, "5.5.0")
    assert counter(bw, "pipelining_rejects") == before + 1
    bw.wait_log("smtpd", r"sync violation=pipelining after=EHLO", timeout=5)


def check_text_before_354(bw):
    before, qc = counter(bw, "early_data_rejects"), queued_count(bw)
    c = greeted(bw)
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n"
           "Subject: too early\r\n\r\nnot waiting for the 354\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    refused_and_closed(c, 503, "5.5.0")
    time.sleep(0.3)
    assert queued_count(bw) == qc, "the early text was queued"
    assert counter(bw, "early_data_rejects") == before + 1
    bw.wait_log("smtpd", r"sync violation=early-data after=DATA", timeout=5)


def check_rfc2920_pipelining(bw):
    """Groups that end with DATA, text after the 354, the next group (or
    QUIT) behind the final dot: all accepted."""
    qc = queued_count(bw)
    c = greeted(bw)
    c.send("RSET\r\nMAIL FROM:<p1@b.example>\r\nRCPT TO:<a@example.org>\r\n"
           "RCPT TO:<b@example.org>\r\nDATA\r\n")
    for want in (250, 250, 250, 250, 354):
        code, text = c.reply()
        assert code == want, (want, code, text)
    c.send("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<p2@b.example>\r\n"
           "RCPT TO:<c@example.org>\r\nDATA\r\n")
    for want in (250, 250, 250, 354):
        code, text = c.reply(timeout=20)
        assert code == want, (want, code, text)
    c.send("Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
    code, text = c.reply(timeout=20)
    assert code == 250 and "queued as" in text, (code, text)
    assert c.reply()[0] == 221
    c.close()
    bwtest.wait_for(lambda: queued_count(bw) == qc + 2, 10,
                    what="two pipelined messages queued")


def check_swaks_pipeline(bw):
    r = bw.swaks("--pipeline", "--to", "user@example.org", "--from",
                 "s@b.example", "--header", "Subject: swaks pipelined")
    assert "queued as" in r.stdout, r.stdout + r.stderr
    assert "PIPELINING" in r.stdout, r.stdout


# -- sender-specified routing --------------------------------------------

ROUTED = ["user%elsewhere.example@example.org",
          "elsewhere.example!user@example.org",
          '"user@elsewhere.example"@example.org',
          '"user\\%elsewhere.example"@example.org',
          "@elsewhere.example:user@example.org",
          "@a.example,@[192.0.2.1]:user@example.org"]
# What else a relay scanner sends to a public listener, and the answer:
# not a path (501), or not one of its domains (550 5.7.1 relay denied,
# counted as relay_rejects).
RELAY_TRICKS = [("user@example.org.", 501),
                ("user@elsewhere.example.@example.org", 501),
                ("user@example.org@elsewhere.example", 501),
                ('"user@elsewhere.example"', 501),
                ("user@[127.0.0.1]", 550),
                ("user@[IPv6:::1]", 550),
                ("user@elsewhere.example", 550),
                ("@example.org:user@elsewhere.example", 550),
                ("user%example.org@elsewhere.example", 550)]
PLAIN = ["user@example.org", '"quoted user"@example.org',
         "first.last+tag@example.org"]


def rcpt_codes(bw, port, addrs):
    """The reply to RCPT of each address; a new session before a refused
    RCPT could reach smtpd_max_errors."""
    out = []
    for i in range(0, len(addrs), MAX_ERRORS - 1):
        c = greeted(bw, port=port)
        assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
        for a in addrs[i:i + MAX_ERRORS - 1]:
            out.append(c.cmd("RCPT TO:<%s>" % a))
        c.cmd("QUIT")
        c.close()
    return out


def check_routing_public(bw):
    before = counter(bw, "routing_rejects")
    for (code, text), a in zip(rcpt_codes(bw, bw.public_port, ROUTED),
                               ROUTED):
        assert code == 550 and "5.7.1" in text and "routing" in text, \
            (a, code, text)
    for (code, text), a in zip(rcpt_codes(bw, bw.public_port, PLAIN), PLAIN):
        assert code == 250, (a, code, text)
    assert counter(bw, "routing_rejects") == before + len(ROUTED)
    bw.wait_log("smtpd", r"rejected: sender-specified routing", timeout=5)


def check_relay_tricks(bw):
    addrs = [a for a, _ in RELAY_TRICKS]
    before = counter(bw, "relay_rejects")
    for (code, text), (a, want) in zip(rcpt_codes(bw, bw.public_port,
                                                  addrs), RELAY_TRICKS):
        assert code == want, (a, code, text)
        assert want != 550 or "5.7.1 Relay access denied" in text, \
            (a, code, text)
    assert counter(bw, "relay_rejects") == before + sum(
        1 for _, want in RELAY_TRICKS if want == 550)


def check_routing_allowed(bw, port):
    for (code, text), a in zip(rcpt_codes(bw, port, ROUTED), ROUTED):
        assert code == 250, (a, code, text)


def check_routing_private(bw):
    for (code, text), a in zip(rcpt_codes(bw, bw.private_port, ROUTED),
                               ROUTED):
        assert code == 250, (a, code, text)


# -- slow clients ----------------------------------------------------------

def drip(c, data, gap, limit):
    """Send data one byte every gap seconds until the server speaks or
    closes, or limit seconds pass; returns (seconds, what it said)."""
    start = time.monotonic()
    c.sock.setblocking(False)
    got = b""
    i = 0
    try:
        while time.monotonic() - start < limit:
            try:
                chunk = c.sock.recv(4096)
                if not chunk:
                    return time.monotonic() - start, got or b"<closed>"
                got += chunk
                if b"\r\n" in got:
                    return time.monotonic() - start, got
            except BlockingIOError:
                pass
            except ConnectionResetError:
                return time.monotonic() - start, got or b"<reset>"
            if i < len(data):
                try:
                    c.sock.send(data[i:i + 1])
                except OSError:
                    return time.monotonic() - start, got or b"<closed>"
                i += 1
            time.sleep(gap)
        return time.monotonic() - start, got
    finally:
        c.sock.setblocking(True)


def check_drip_command(bw):
    before = counter(bw, "timeouts")
    c = greeted(bw)
    took, said = drip(c, b"NOOP " + b"x" * 100, 0.25, CMD_TIMEOUT + 6)
    assert said.startswith(b"421 4.4.2"), (took, said)
    assert took < CMD_TIMEOUT + 2, "dripping held the session %.1fs" % took
    assert c.closed(timeout=5)
    c.close()
    assert counter(bw, "timeouts") >= before + 1
    bw.wait_log("smtpd", r"reason=command line not completed in time",
                timeout=5)


def check_drip_greeting(bw):
    c = greeted(bw, helo=None)
    took, said = drip(c, b"EHLO " + b"y" * 100, 0.25, CMD_TIMEOUT + 6)
    assert said.startswith(b"421 4.4.2"), (took, said)
    assert took < CMD_TIMEOUT + 2, "dripping held the session %.1fs" % took
    c.close()


def check_slow_whole_commands(bw):
    """Whole commands, each a little under the timeout after the last
    reply: the session goes on (the deadline is per line)."""
    c = greeted(bw)
    for _ in range(3):
        time.sleep(CMD_TIMEOUT * 0.5)
        assert c.cmd("MAIL FROM:<slow@b.example>")[0] == 250
        time.sleep(CMD_TIMEOUT * 0.5)
        assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()


def check_drip_data(bw):
    qc = queued_count(bw)
    c = greeted(bw)
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    took, said = drip(c, b"Subject: drip\r\n\r\n" + b"z" * 1000, 0.3,
                      DATA_TOTAL + 8)
    assert said.startswith(b"421 4.4.2"), (took, said)
    assert took < DATA_TOTAL + 3, "dripping held DATA %.1fs" % took
    c.close()
    assert queued_count(bw) == qc


def client_hello():
    """The bytes of a real TLS ClientHello."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def check_drip_tls_handshake(bw, port):
    c = bwtest.RawSMTP(port)
    hello = client_hello()
    assert len(hello) > 100, len(hello)
    took, said = drip(c, hello, 0.25, CMD_TIMEOUT + 6)
    assert took < CMD_TIMEOUT + 2, "dripping held the handshake %.1fs" % took
    c.close()
    bw.wait_log("smtpd", r"reason=TLS handshake timeout", timeout=5)


# -- junk commands, NUL bytes ----------------------------------------------

def check_junk_limit(bw):
    c = greeted(bw)
    for i in range(JUNK + MAX_ERRORS - 1):
        code, text = c.cmd(("NOOP", "RSET", "VRFY x", "HELP")[i % 4])
        assert code in (250, 252, 214), (i, code, text)
    assert c.cmd("NOOP")[0] == 250
    code, text = c.reply()
    assert code == 421 and "Too many errors" in text, (code, text)
    assert c.closed()
    c.close()


def check_junk_reset_by_message(bw):
    c = greeted(bw)
    for _ in range(JUNK + MAX_ERRORS - 2):
        assert c.cmd("NOOP")[0] == 250
    code, text = send_message(c, "Subject: resets\r\n\r\nx\r\n")
    assert code == 250, (code, text)
    for _ in range(JUNK + MAX_ERRORS - 2):
        assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()


def check_rset_storm(bw):
    c = greeted(bw)
    c.send("RSET\r\n" * (JUNK + MAX_ERRORS + 2))
    codes = []
    while True:
        try:
            codes.append(c.reply(timeout=10)[0])
        except ConnectionError:
            break
    assert codes[-1] == 421 and len(codes) == JUNK + MAX_ERRORS + 1, codes
    c.close()


def check_nul_in_command(bw):
    c = greeted(bw)
    code, text = c.cmd("NOOP\0\0x")
    assert code == 500 and "5.5.2" in text, (code, text)
    code, text = c.cmd("MAIL FROM:<a@b.example>\0 SIZE=10")
    assert code == 500 and "5.5.2" in text, (code, text)
    assert c.cmd("NOOP")[0] == 250
    c.close()


def check_status_shows_counters(bw):
    r = bw.bwctl("status")
    for name in ("pregreet_rejects", "pipelining_rejects",
                 "early_data_rejects", "hopcount_rejects",
                 "routing_rejects", "relay_rejects"):
        assert name in r.stdout, (name, r.stdout)


def check_still_serves(bw):
    r = bw.swaks("--to", "user@example.org", "--from", "s@b.example")
    assert "queued as" in r.stdout, r.stdout + r.stderr


with bwtest.Breakwater("defences") as bw:
    cert, key = bwtest.make_cert(bw.base)
    delayed_port = bwtest.free_port()
    routing_port = bwtest.free_port()
    implicit_port = bwtest.free_port()
    bw.write_config(bwtest.default_config(bw, extra="""
tls_cert %s
tls_key %s
hopcount_limit %d
smtpd_junk_command_limit %d
smtpd_max_errors %d
smtpd_timeout_greeting %ds
smtpd_timeout_command %ds
smtpd_timeout_tls_handshake %ds
smtpd_timeout_data_total %ds
""" % (cert, key, HOPS, JUNK, MAX_ERRORS, CMD_TIMEOUT, CMD_TIMEOUT,
       CMD_TIMEOUT, DATA_TOTAL)) + """
listener delayed {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    greeting_delay 1s
}
listener routing {
    address 127.0.0.1
    port %d
    type public
    accept_domains example.org
    allow_untrusted_routing yes
}
listener implicit {
    address 127.0.0.1
    port %d
    type public
    accept_domains example.org
    tls implicit
}
""" % (delayed_port, routing_port, implicit_port))
    # receiving only: messages stay queued, nothing needs DNS
    bw.start(["controld", "queued", "smtpd"])
    bw.wait_log("smtpd", r"connected to queued", timeout=20)

    t.run("%d Received: fields (folded, split across writes): 554 5.4.6, "
          "nothing queued, counted" % HOPS, check_hops_over_limit, bw)
    t.run("%d Received: fields, more in folds and the body: accepted"
          % (HOPS - 1), check_hops_under_limit, bw)
    t.run("header-only message over the limit refused; dot-stuffed body "
          "lines not counted", check_hops_dot_stuffed, bw)

    t.run("talking before the banner: 554 5.5.1, closed, logged, counted",
          check_pregreet, bw, delayed_port)
    t.run("pipelining after HELO: 503 5.5.0, closed, counted",
          check_pipelining_after_helo, bw)
    t.run("MAIL in the same write as EHLO: 503 5.5.0, closed",
          check_pipelining_with_ehlo, bw)
    t.run("message text before the 354: 503 5.5.0, closed, nothing queued",
          check_text_before_354, bw)
    t.run("RFC 2920 pipelining (groups ending with DATA, QUIT behind the "
          "dot) accepted", check_rfc2920_pipelining, bw)
    t.run("swaks --pipeline accepted", check_swaks_pipeline, bw)

    t.run("sender-specified routing on a public listener: 550 5.7.1",
          check_routing_public, bw)
    t.run("relay tricks on a public listener: a trailing dot, '@' twice, "
          "a quoted '@' without a domain (501), address literals and "
          "other domains behind a route or percent (550 5.7.1)",
          check_relay_tricks, bw)
    t.run("allow_untrusted_routing yes: routed recipients accepted",
          check_routing_allowed, bw, routing_port)
    t.run("private listener: routed recipients accepted",
          check_routing_private, bw)

    t.run("a command line dripped a byte at a time: 421 after "
          "smtpd_timeout_command", check_drip_command, bw)
    t.run("the greeting dripped: 421 after smtpd_timeout_greeting",
          check_drip_greeting, bw)
    t.run("whole commands just under the timeout: the session goes on",
          check_slow_whole_commands, bw)
    t.run("DATA dripped: 421 after smtpd_timeout_data_total",
          check_drip_data, bw)
    t.run("a TLS handshake dripped: closed after "
          "smtpd_timeout_tls_handshake", check_drip_tls_handshake, bw,
          implicit_port)

    t.run("junk commands past the limit count as errors: 421",
          check_junk_limit, bw)
    t.run("an accepted message resets the junk and error counts",
          check_junk_reset_by_message, bw)
    t.run("a pipelined RSET storm ends the session",
          check_rset_storm, bw)
    t.run("NUL bytes in a command line: 500 5.5.2, the session goes on",
          check_nul_in_command, bw)

    t.run("bwctl status shows the new counters",
          check_status_shows_counters, bw)
    t.run("smtpd still serves after the abuse", check_still_serves, bw)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
