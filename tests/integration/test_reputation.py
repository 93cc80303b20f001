#!/usr/bin/python3
"""Reputation of SMTP clients through the real daemons (issue 11).

dnscached asks ldns-testns serving tests/dns/rep.data: two reputation
zones (weights 1 and 3), a block list (weight -5.0), an allow list with
`returns` (weight +2.5) and a zone only a sender group names.  Clients
connect from distinct loopback addresses (127.0.0.2, .3, ...), each with
its own answers (the file's header lists them); the public listener says
`reputation yes` (loopback clients are not looked up by default).  Mail
goes by a route to Postfix's smtp-sink, where the Received: header is
read.

Cases: scores at both ends (-10.0, +10.0); the weighted mean of two
zones; a listed and an unlisted host in a DNS list with a weight; an
answer among `returns` outside 127.0.0.0/24 and one not among them;
hostile answers (outside 127/8, an RFC 5782 error code, no score, ten
records, a CNAME loop), each counted and logged, none counted as a
listing; a CNAME chain to a score; a garbled and a truncated packet from
the server (the banner after the budget, the other zones still count);
a host whose every zone sends garbage (score none after the budget); a
sender group's dns_list with a named answer (554 banner) and another
answer (220); the private listener and a public listener's loopback
default (score off, no lookup, no wait); an IPv6 client (nibbles) when
::1 is there; after a reload a zone that never answers (banner after
smtpd_reputation_timeout with score none) and, on a listener with
reverse DNS as well, the two budgets running at once, not one after the
other; a reload with a zone too long for an IPv6 query name refused with
its line, the zones in force kept; the counters in bwctl status.
"""

import os
import re
import smtplib
import socket
import time

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "rep.data")
BUDGET_MS = 1000            # smtpd_reputation_timeout in this test
RDNS_MS = 1500              # smtpd_dns_timeout of the rdnsrep listener
PUBDEF_PORT = bwtest.free_port()   # a public listener with the defaults
RDNS_PORT = bwtest.free_port()     # reverse DNS and reputation
V6_PORT = bwtest.free_port()       # a listener on ::1, if there is one
LONG_ZONE = ".".join(["a" * 63, "b" * 63, "c" * 62])    # 190: too long

t = bwtest.TAP()


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


V6 = have_ipv6_loopback()

ZONES_FULL = """reputation_zone score.rep.test
reputation_zone score3.rep.test weight 3
dns_list bl.rep.test weight -5.0
dns_list wl.rep.test weight +2.5 returns 127.0.0.3 127.0.15.2
"""
ZONES_SILENT = """reputation_zone silent.rep.test
"""


def config_text(bw, ns_port, sink_port, zones, extra=""):
    v6 = """listener v6 {
    address ::1
    port %d
    type public
    accept_domains example.org
    reputation yes
}
""" % V6_PORT if V6 else ""
    return """hostname mx.test.example
dns_servers 127.0.0.1:%(ns)d
smtpd_reputation_timeout %(budget)dms
route example.org -> [127.0.0.1]:%(sink)d
%(zones)s%(extra)s
policy refuse {
    behaviour reject
}
policy welcome {
    behaviour accept
}
sender_group listed {
    policy refuse
    dns_list grp.rep.test 127.0.0.9
}
listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    accept_domains example.org
    reputation yes
    sender_groups listed
    default_policy welcome
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
listener rdnsrep {
    address 127.0.0.1
    port %(rdns)d
    type public
    accept_domains example.org
    reverse_dns yes
    reputation yes
    smtpd_dns_timeout %(rdns_ms)dms
}
%(v6)s""" % {"ns": ns_port, "budget": BUDGET_MS, "sink": sink_port,
             "zones": zones, "extra": extra, "pub": bw.public_port,
             "priv": bw.private_port, "pubdef": PUBDEF_PORT,
             "rdns": RDNS_PORT, "rdns_ms": RDNS_MS, "v6": v6}


def banner(port, src, host="127.0.0.1", family=socket.AF_INET):
    """Connect from src; (seconds to the first reply, its text)."""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(15)
        t0 = time.monotonic()
        s.connect((host, port))
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


def send(port, src, tag, host="127.0.0.1"):
    """One message from src; the seconds the session took."""
    t0 = time.monotonic()
    with smtplib.SMTP(host, port, source_address=(src, 0),
                      timeout=30) as c:
        c.ehlo("client.example")
        c.sendmail("s@sender.example", ["r@example.org"],
                   "Subject: %s\r\n\r\nreputation test\r\n" % tag)
    return time.monotonic() - t0


# our Received: field of the message with Subject tag (peers.py)
received = peers.received


def connect_line(bw, src, listener="public"):
    """(score, group) of the last connect line of src on listener."""
    rx = r"session=\d+ connect addr=%s name=\S+ rdns=\S+(?: ptr=\S+)? " \
         r"listener=%s score=(\S+) group=(\S+)" % (re.escape(src), listener)
    bw.wait_log("smtpd", rx, timeout=15)
    return re.findall(rx, bw.log("smtpd"))[-1]


def nconnects(bw, src):
    return len(re.findall(r"connect addr=%s " % re.escape(src),
                          bw.log("smtpd")))


def run_scored(bw, sink):
    pub = bw.public_port

    def scored(src, want, host="127.0.0.1", port=None, listener="public"):
        tag = "rep-%s" % src
        took = send(port or pub, src, tag, host=host)
        assert took < BUDGET_MS / 1000.0, took     # every zone answered
        score, _ = connect_line(bw, src, listener)
        assert score == want, (src, score, want)
        rcv = received(sink, tag)
        # the comment sits between the from and by clauses, with the
        # host access table's group and policy
        assert re.search(r"\[%s\]\) \(score=%s group=none "
                         r"policy=\S+\) by mx\.test\.example "
                         r"\(Breakwater\)" % (re.escape(src),
                                               re.escape(want)), rcv), rcv

    t.run("score -10.0 (the bottom of the range): log and Received:",
          scored, "127.0.0.2", "-10.0")
    t.run("score +10.0 (the top of the range)", scored, "127.0.0.3",
          "+10.0")
    t.run("two zones, weights 1 and 3: (-2.0 + 3 * 6.0) / 4 = +4.0",
          scored, "127.0.0.4", "+4.0")
    t.run("a host listed in a DNS list of weight -5.0", scored,
          "127.0.0.5", "-5.0")
    t.run("a host in no list and no zone: +0.0", scored, "127.0.0.6",
          "+0.0")
    t.run("returns: an answer not among them does not count", scored,
          "127.0.0.7", "+0.0")
    t.run("returns: an answer among them counts, outside 127.0.0.0/24",
          scored, "127.0.0.8", "+2.5")

    def hostile_everywhere():
        before = bw.counters("smtpd")
        scored("127.0.0.9", "none")
        after = bw.counters("smtpd")
        assert after["rep_hostile"] - before["rep_hostile"] >= 4, \
            (before, after)
        log = bw.log("smtpd")
        for zone, why in (("score", r"10\.0\.0\.1: outside 127\.0\.0\.0/8"),
                          ("score3", r"127\.0\.11\.0: not a score"),
                          ("bl", r"127\.255\.255\.254: an RFC 5782 error "
                           r"answer"),
                          ("wl", r"192\.0\.2\.1: outside 127\.0\.0\.0/8")):
            rx = r"addr=127\.0\.0\.9 zone=%s\.rep\.test: 1 answer " \
                 r"ignored \(%s\), 0 kept" % (zone, why)
            assert re.search(rx, log), rx
    t.run("hostile answers in every zone: counted, logged, score none "
          "at once", hostile_everywhere)

    def too_many_records():
        scored("127.0.0.10", "-5.0")
        bw.wait_log("smtpd", r"addr=127\.0\.0\.10 zone=bl\.rep\.test: 2 "
                    r"answers ignored \(127\.0\.0\.10: more records than "
                    r"are looked at\), 8 kept")
    t.run("ten A records: eight looked at, the rest counted", too_many_records)

    def cname():
        scored("127.0.0.11", "+1.0")
        bw.wait_log("smtpd", r"addr=127\.0\.0\.11 zone=score\.rep\.test: "
                    r"answer ignored \(a CNAME loop")
    t.run("a CNAME loop is ignored and logged, a CNAME chain is followed",
          cname)

    def garbled_and_truncated():
        before = bw.counters("smtpd")
        el, text = banner(pub, "127.0.0.12")
        assert text.startswith("220 "), text
        # the garbled zone holds the banner for the budget, not longer
        assert BUDGET_MS / 1000.0 - 0.05 <= el < BUDGET_MS / 1000.0 + 1.0, el
        score, _ = connect_line(bw, "127.0.0.12")
        assert score == "-5.0", score
        after = bw.counters("smtpd")
        assert after["rep_timeouts"] - before["rep_timeouts"] >= 1, \
            (before, after)
    t.run("a garbled and a truncated packet: the budget, the other zones "
          "still count", garbled_and_truncated)

    def all_garbled():
        el, text = banner(pub, "127.0.0.13")
        assert text.startswith("220 "), text
        assert BUDGET_MS / 1000.0 - 0.05 <= el < BUDGET_MS / 1000.0 + 1.0, el
        score, _ = connect_line(bw, "127.0.0.13")
        assert score == "none", score
    t.run("garbage from every zone: banner after the budget, score none",
          all_garbled)

    def group_listed():
        el, text = banner(pub, "127.0.0.16")
        assert text.startswith("554 "), text
        score, group = connect_line(bw, "127.0.0.16")
        assert (score, group) == ("+0.0", "listed"), (score, group)
        el, text = banner(pub, "127.0.0.17")
        assert text.startswith("220 "), text
        score, group = connect_line(bw, "127.0.0.17")
        assert (score, group) == ("+0.0", "none"), (score, group)
        bw.wait_log("smtpd", r"connect addr=127\.0\.0\.17 .* group=none "
                    r"policy=welcome")
    t.run("a sender group's dns_list: its answer matches (554), another "
          "does not (220)", group_listed)

    def not_looked_up():
        before = bw.counters("smtpd")["rep_lookups"]
        tag = "rep-private"
        took = send(bw.private_port, "127.0.0.2", tag)
        assert took < 0.5, took
        score, _ = connect_line(bw, "127.0.0.2", "private")
        assert score == "off", score
        assert "(score=" not in received(sink, tag)
        el, text = banner(PUBDEF_PORT, "127.0.0.2")
        assert text.startswith("220 ") and el < 0.5, (el, text)
        score, _ = connect_line(bw, "127.0.0.2", "pubdefault")
        assert score == "off", score
        assert bw.counters("smtpd")["rep_lookups"] == before
    t.run("private listener and a public one's loopback default: no "
          "lookup, score off, no comment", not_looked_up)

    if V6:
        t.run("an IPv6 client: nibbles under the zone", scored, "::1",
              "-5.0", host="::1", port=V6_PORT, listener="v6")
    else:
        t.skip("an IPv6 client", "no ::1 here")


def run_silent(bw, ns, sink):
    r = bw.bwctl("config", "reload")
    assert "refused" not in r.stdout, r.stdout

    def silent():
        el, text = banner(bw.public_port, "127.0.0.6")
        assert text.startswith("220 "), text
        assert BUDGET_MS / 1000.0 - 0.05 <= el < BUDGET_MS / 1000.0 + 1.0, el
        score, _ = connect_line(bw, "127.0.0.6")
        assert score == "none", score
        tag = "rep-silent"
        send(bw.public_port, "127.0.0.6", tag)
        assert "(score=none group=none policy=welcome)" in \
            received(sink, tag)
    t.run("after a reload, a zone that never answers: banner after "
          "smtpd_reputation_timeout, score none", silent)

    def both_budgets():
        # reverse DNS (no PTR answer: 1.5 s) and reputation (1 s) wait
        # together: the banner after the longer, not after the sum
        el, text = banner(RDNS_PORT, "127.0.0.14")
        assert text.startswith("220 "), text
        assert RDNS_MS / 1000.0 - 0.05 <= el < \
            (RDNS_MS + BUDGET_MS) / 1000.0 - 0.2, el
        bw.wait_log("smtpd", r"connect addr=127\.0\.0\.14 name=unknown "
                    r"rdns=tempfail listener=rdnsrep score=none")
    t.run("reverse DNS and reputation run at once", both_budgets)

    def bad_reload():
        text = config_text(bw, ns.port, sink.port, ZONES_SILENT,
                           "dns_list %s weight -1\n" % LONG_ZONE)
        bw.write_config(text)
        line = text.splitlines().index("dns_list %s weight -1" %
                                       LONG_ZONE) + 1
        want = "%s:%d: dns_list: zone \"%s\" is too long" % (
            bw.config_path, line, LONG_ZONE)
        r = bw.bwctl("config", "check", check=False)
        assert r.returncode != 0 and want in r.stderr, (r.stdout, r.stderr)
        # controld's reply cuts a long message; file:line comes first
        r = bw.bwctl("config", "reload", check=False)
        assert r.returncode != 0 and "%s:%d: dns_list: zone \"" % (
            bw.config_path, line) in r.stderr, (r.stdout, r.stderr)
        assert "nothing changed" in r.stderr, r.stderr
        # the zones in force stay: still the silent one
        el, text = banner(bw.public_port, "127.0.0.15")
        assert text.startswith("220 "), text
        assert el >= BUDGET_MS / 1000.0 - 0.05, el
        score, _ = connect_line(bw, "127.0.0.15")
        assert score == "none", score
    t.run("a zone too long for an IPv6 query name: refused with its line, "
          "the old zones stay", bad_reload)


def main():
    for tool in (peers.TESTNS, peers.SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("reputation", "%s not installed" % tool)
            t.done()
    with bwtest.Breakwater("rep") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        try:
            bw.write_config(config_text(bw, ns.port, sink.port, ZONES_FULL))
            bw.start()
            run_scored(bw, sink)

            def counters():
                c = bw.counters("smtpd")
                assert c.get("rep_lookups", 0) >= 5 * 12, c
                assert c.get("rep_timeouts", 0) >= 5, c
                assert c.get("rep_listed", 0) >= 10, c
                assert c.get("rep_hostile", 0) >= 7, c
            t.run("bwctl status: rep_lookups, rep_timeouts, rep_listed, "
                  "rep_hostile", counters)
            bw.write_config(config_text(bw, ns.port, sink.port,
                                        ZONES_SILENT))
            run_silent(bw, ns, sink)
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
