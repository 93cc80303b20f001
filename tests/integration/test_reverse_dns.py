#!/usr/bin/python3
"""Reverse DNS of SMTP clients, forward-confirmed, through the real daemons.

dnscached asks ldns-testns serving tests/dns/rdns.data; clients connect
from distinct loopback addresses (127.0.0.2, .3, ...), each a host of the
zone.  The public listener says `reverse_dns yes` (loopback clients are
not looked up by default); the private one keeps its default (off).  Mail
goes by a route to Postfix's smtp-sink, where the Received: header is read.

Cases: a confirmed name (log line and Received:), no PTR (unknown), a PTR
whose name resolves elsewhere and one whose name does not exist
(unconfirmed, "name does not resolve to address"), two PTR names of which
the second confirms, a name of 253 characters, a PTR that is not a host
name, a numeric PTR name; a DNS server that does not answer (the banner comes after
smtpd_dns_timeout, not later, and the session goes on); a client that
talks while the banner waits (pregreet); the private listener (no lookup,
no wait); dnscached stopped (sessions served at once, name unknown), then
started again (smtpd reconnects, names confirmed again); the counters in
bwctl status.
"""

import os
import re
import smtplib
import socket
import time

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "rdns.data")
BUDGET_MS = 1000            # smtpd_dns_timeout in this test
PUBDEF_PORT = bwtest.free_port()   # a public listener with the default
LONG = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 51]) + ".rdns.test"

t = bwtest.TAP()


def config_text(bw, ns_port, sink_port):
    return """hostname mx.test.example
dns_servers 127.0.0.1:%(ns)d
smtpd_dns_timeout %(budget)dms
route example.org -> [127.0.0.1]:%(sink)d
listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    accept_domains example.org
    reverse_dns yes
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
listener pubdefault {
    address 127.0.0.1
    port %(pubdef)d
    type public
    accept_domains example.org
}
""" % {"ns": ns_port, "budget": BUDGET_MS, "sink": sink_port,
       "pub": bw.public_port, "priv": bw.private_port,
       "pubdef": PUBDEF_PORT}


def banner(port, src, send_first=None):
    """Connect from src; (seconds to the first reply, its text)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(15)
        t0 = time.monotonic()
        s.connect(("127.0.0.1", port))
        if send_first:
            s.sendall(send_first)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        elapsed = time.monotonic() - t0
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        return elapsed, buf.decode("utf-8", "replace")
    finally:
        s.close()


def send(port, src, helo, tag):
    """One message from src; the seconds the whole session took."""
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, source_address=(src, 0),
                      timeout=30) as c:
        c.ehlo(helo)
        c.sendmail("s@sender.example", ["r@example.org"],
                   "Subject: %s\r\n\r\nreverse dns test\r\n" % tag)
    return time.monotonic() - t0


# our Received: field of the message with Subject tag (peers.py)
received = peers.received


def connect_line(bw, src, listener="public"):
    rx = r"session=\d+ connect addr=%s name=(\S+) rdns=(\S+)( ptr=\S+)? " \
         r"listener=%s" % (re.escape(src), listener)
    bw.wait_log("smtpd", rx, timeout=15)
    m = re.findall(rx, bw.log("smtpd"))
    return m[-1]


def smtpd_counters(bw):
    return bw.counters("smtpd")


def run_cases(bw, sink):
    pub = bw.public_port

    def case_named(src, helo, want_name, want_state, want_ptr=""):
        tag = "rdns-%s-%s" % (src, helo)
        send(pub, src, helo, tag)
        name, state, ptr = connect_line(bw, src)
        assert (name, state) == (want_name, want_state), (name, state)
        assert ptr.strip() == ("ptr=" + want_ptr if want_ptr else ""), ptr
        rcv = received(sink, tag)
        want = "Received: from %s (%s [%s])" % (helo, want_name, src)
        assert rcv.startswith(want), (rcv, want)

    t.run("confirmed name in the log and in Received:",
          case_named, "127.0.0.2", "helo2.example", "good.rdns.test",
          "confirmed")
    t.run("no PTR: unknown", case_named, "127.0.0.3", "helo3.example",
          "unknown", "unknown")
    t.run("PTR name resolving elsewhere: unconfirmed, name unknown",
          case_named, "127.0.0.4", "helo4.example", "unknown",
          "unconfirmed", "liar.rdns.test")
    t.run("'name does not resolve to address' logged",
          lambda: bw.wait_log("smtpd", r"addr=127\.0\.0\.4 "
                              r"ptr=liar\.rdns\.test: name does not "
                              r"resolve to address"))
    t.run("PTR name that does not exist: unconfirmed", case_named,
          "127.0.0.5", "helo5.example", "unknown", "unconfirmed",
          "gone.rdns.test")
    t.run("two PTR names, the second confirms", case_named, "127.0.0.6",
          "helo6.example", "multi.rdns.test", "confirmed")
    t.run("a confirmed name of 253 characters", case_named, "127.0.0.8",
          "helo8.example", LONG, "confirmed")
    t.run("a PTR that is not a host name: unconfirmed", case_named,
          "127.0.0.9", "helo9.example", "unknown", "unconfirmed", "?")
    t.run("a numeric PTR name resolving to itself: unconfirmed",
          case_named, "127.0.0.10", "helo10.example", "unknown",
          "unconfirmed", "?")

    def silent_dns():
        el, text = banner(pub, "127.0.0.7")
        assert text.startswith("220 "), text
        # after the budget, not later (dnscached itself waits 12 s)
        assert BUDGET_MS / 1000.0 - 0.05 <= el < BUDGET_MS / 1000.0 + 1.5, \
            el
        name, state, _ = connect_line(bw, "127.0.0.7")
        assert (name, state) == ("unknown", "tempfail"), (name, state)
        tag = "rdns-silent"
        send(pub, "127.0.0.7", "helo7.example", tag)
        rcv = received(sink, tag)
        assert rcv.startswith("Received: from helo7.example (unknown "
                              "[127.0.0.7])"), rcv
    t.run("DNS that does not answer: banner after smtpd_dns_timeout, "
          "session goes on", silent_dns)

    def pregreet():
        el, text = banner(pub, "127.0.0.7", send_first=b"EHLO early\r\n")
        # refused as soon as it talks, as during a greeting delay
        assert text.startswith("554 5.5.1"), text
        assert el < BUDGET_MS / 1000.0, el
    t.run("talking while the banner waits for DNS is pregreet", pregreet)

    def private_no_wait():
        el, text = banner(bw.private_port, "127.0.0.7")
        assert text.startswith("220 "), text
        assert el < 0.5, el
        name, state, _ = connect_line(bw, "127.0.0.7", "private")
        assert (name, state) == ("unknown", "off"), (name, state)
    t.run("private listener: no lookup, no wait", private_no_wait)

    def public_default_loopback():
        el, text = banner(PUBDEF_PORT, "127.0.0.7")
        assert text.startswith("220 "), text
        assert el < 0.5, el
        name, state, _ = connect_line(bw, "127.0.0.7", "pubdefault")
        assert (name, state) == ("unknown", "off"), (name, state)
    t.run("public listener by default: loopback clients not looked up",
          public_default_loopback)

    def counters():
        c = smtpd_counters(bw)
        assert c.get("dnscached_up") == 1, c
        assert c.get("rdns_confirmed", 0) >= 3, c
        assert c.get("rdns_unknown", 0) >= 1, c
        assert c.get("rdns_unconfirmed", 0) >= 4, c
        assert c.get("rdns_tempfail", 0) >= 1, c
    t.run("bwctl status: smtpd's dnscached link and the rdns counters",
          counters)

    def dnscached_stopped():
        bw.stop("dnscached")
        bwtest.wait_for(lambda: smtpd_counters(bw).get("dnscached_up") == 0,
                        15, what="smtpd sees dnscached down")
        el, text = banner(pub, "127.0.0.2")
        assert text.startswith("220 "), text
        assert el < 0.5, el
        tag = "rdns-nodnscached"
        took = send(pub, "127.0.0.2", "helo2b.example", tag)
        assert took < 5, took
        rcv = received(sink, tag)
        assert rcv.startswith("Received: from helo2b.example (unknown "
                              "[127.0.0.2])"), rcv
        lines = re.findall(r"connect addr=127\.0\.0\.2 name=(\S+) "
                           r"rdns=(\S+) listener=public", bw.log("smtpd"))
        assert lines[-1] == ("unknown", "tempfail"), lines
    t.run("dnscached stopped: sessions served at once, name unknown",
          dnscached_stopped)

    def dnscached_back():
        before = smtpd_counters(bw).get("dnscached_connects", 0)
        bw.start_one("dnscached")
        bw.wait_ready(["dnscached"])
        bwtest.wait_for(lambda: smtpd_counters(bw).get("dnscached_up") == 1,
                        20, what="smtpd reconnected to dnscached")
        assert smtpd_counters(bw).get("dnscached_connects", 0) > before
        case_named("127.0.0.2", "helo2c.example", "good.rdns.test",
                   "confirmed")
    t.run("dnscached back: smtpd reconnects, names confirmed again",
          dnscached_back)


def main():
    for tool in (peers.TESTNS, peers.SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("reverse dns", "%s not installed" % tool)
            t.done()
    with bwtest.Breakwater("rdns") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        try:
            bw.write_config(config_text(bw, ns.port, sink.port))
            bw.start()
            run_cases(bw, sink)
        finally:
            sink.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
