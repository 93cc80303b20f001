#!/usr/bin/python3
"""bwctl trace ADDRESS: what a host would get, compared with what a real
session from that address gets, through the real daemons.

A public listener with a host access table (a relay network, a reject
host, a tcprefuse host, a tarpit with a greeting and a command delay and
two recipients, TLS required, the default policy with the RAT and
accept_recipients), a second public listener that looks up reverse DNS
(groups by confirmed name and by a missing or unconfirmed PTR, served by
ldns-testns from tests/dns/rdns.data), one that looks up reputation
(rep.data: a score zone and a DNS list, a group by score range with a
tarpit, a group by DNS list), a private listener, and a listener
whose reverse DNS budget is long (for the bound on probes in flight).

Cases: for each host, the trace's group, policy and every step's reply
equal those of a raw session (or smtplib with STARTTLS) from that
127.0.x.y address: banner (or the connection closed before it), EHLO's
SIZE and STARTTLS, MAIL (250, 530, 552) and each RCPT (250, 550 5.7.1 for
the RAT, the percent hack and a source route, 452 past the policy's
recipients); the tarpit's delays; reputation scores -10.0 (the greeting
delay's tarpit part in full) and +10.0 and a DNS list's group, each also
on the real session's connect line; --json parses and carries the same;
the private listener's relay_networks; bad arguments refused by bwctl
(exit 2) and by controld for a raw frame bwctl would not send; unknown
listener; traces change no counter of smtpd; hard queue pressure (free
space below twice queue_min_free_space): 421 at connect in the trace and
in a real session, a relay policy not shed; at most 8 probes in flight
(the 9th: smtpd is busy) and each probe ends by its lookup deadline; a
reload moves a host for the next trace; bwctl trace as a non-admin user
refused as every command is; smtpd down: a clear error.
"""

import json
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import threading
import time

import bwtest
import peers
from imsgproto import HDR, take_frame

# reverse DNS and reputation zones, served by one ldns-testns
ZONES = [os.path.join(bwtest.SRCDIR, "tests", "dns", z)
         for z in ("rdns.data", "rep.data")]
RDNS_PORT = bwtest.free_port()      # public, reverse_dns yes
SCORED_PORT = bwtest.free_port()    # public, reputation yes
SLOWDNS_PORT = bwtest.free_port()   # reverse_dns yes, long budget

TRUSTED = "127.0.2.10"
BLOCKED = "127.0.2.11"
REFUSED = "127.0.2.12"
SLOW = "127.0.2.13"
TLSREQ = "127.0.2.15"
OTHER = "127.0.2.20"        # no group: the default policy
GOOD = "127.0.0.2"          # rdns.data: good.rdns.test, confirmed
NOPTR = "127.0.0.3"         # rdns.data: no PTR
LIAR = "127.0.0.4"          # rdns.data: PTR liar.rdns.test, not back
SILENT = "127.0.0.7"        # rdns.data: never answered
LOW = "127.0.0.2"           # rep.data: score.rep.test -10.0
HIGH = "127.0.0.3"          # rep.data: score.rep.test +10.0
LISTED = "127.0.0.5"        # rep.data: in bl.rep.test
SLOWDNS_BUDGET_MS = 4000
TRACE_MAX = 8               # SMTPD_TRACE_MAX
HELO = "client.example"
SENDER = "a@sender.example"

t = bwtest.TAP()


def config_text(bw, ns_port, cert, key, moved=False, min_free=None):
    blocked = BLOCKED + (" " + OTHER if moved else "")
    return """hostname mx.test.example
dns_servers 127.0.0.1:%(ns)d
smtpd_dns_timeout 1s
message_size_limit 1m
%(min_free)s
reputation_zone score.rep.test
dns_list bl.rep.test weight -5.0

policy trusted {
    behaviour relay
    message_size_limit 5m
}
policy blocked {
    behaviour reject
}
policy refuse {
    behaviour tcprefuse
}
policy slow {
    behaviour accept
    smtpd_greeting_delay 600ms
    smtpd_command_delay 200ms
    smtpd_max_recipients 2
    smtpd_max_messages_per_minute 50
    smtpd_max_recipients_per_hour 100
}
policy tlsreq {
    tls required
}
policy default {
    behaviour accept
}
policy suspect {
    behaviour accept
    smtpd_max_recipients 1
}
policy lowrep {
    behaviour accept
    smtpd_tarpit_greeting_delay 1s
    smtpd_tarpit_command_delay 200ms
}

sender_group TRUSTED {
    policy trusted
    network %(trusted)s/32
}
sender_group BLOCKED {
    policy blocked
    network %(blocked)s
}
sender_group REFUSED {
    policy refuse
    network %(refused)s
}
sender_group SLOW {
    policy slow
    network %(slow)s
}
sender_group TLSREQ {
    policy tlsreq
    network %(tlsreq)s
}
sender_group NAMED {
    policy trusted
    rdns_name .rdns.test
}
sender_group NONAME {
    policy suspect
    rdns missing unconfirmed tempfail
}
sender_group LISTED {
    policy blocked
    dns_list bl.rep.test
}
sender_group LOWREP {
    policy lowrep
    score -10 -0.1
}

listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    tls starttls
    tls_cert %(cert)s
    tls_key %(key)s
    accept_domains example.org example.net
    accept_recipients postmaster@example.net
    reverse_dns no
    sender_groups TRUSTED BLOCKED REFUSED SLOW TLSREQ
    default_policy default
}
listener named {
    address 127.0.0.1
    port %(rdns)d
    type public
    accept_domains example.org
    reverse_dns yes
    sender_groups NAMED NONAME
    default_policy default
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
listener scored {
    address 127.0.0.1
    port %(scored)d
    type public
    accept_domains example.org
    reverse_dns no
    reputation yes
    sender_groups LISTED LOWREP
    default_policy default
}
listener slowdns {
    address 127.0.0.1
    port %(slowdns)d
    type public
    accept_domains example.org
    reverse_dns yes
    smtpd_dns_timeout %(budget)dms
    sender_groups NONAME
    default_policy default
}
""" % {"ns": ns_port, "trusted": TRUSTED, "blocked": blocked,
       "refused": REFUSED, "slow": SLOW, "tlsreq": TLSREQ,
       "pub": bw.public_port, "rdns": RDNS_PORT, "scored": SCORED_PORT, "priv": bw.private_port,
       "slowdns": SLOWDNS_PORT, "budget": SLOWDNS_BUDGET_MS, "cert": cert,
       "key": key, "min_free": "queue_min_free_space %d" % min_free
       if min_free is not None else ""}


def trace(bw, addr, *opts, check=True):
    """bwctl --json trace: the parsed answer."""
    r = bw.bwctl("trace", addr, "--json", *opts, check=False, timeout=60)
    if check:
        assert r.returncode == 0, (addr, opts, r.returncode, r.stdout,
                                   r.stderr)
        return json.loads(r.stdout)
    return r


def trace_opts(helo=HELO, sender=SENDER, rcpts=(), listener=None):
    opts = ["--helo", helo, "--from", sender]
    for rc in rcpts:
        opts += ["--rcpt", rc]
    if listener:
        opts += ["--listener", listener]
    return opts


def line(code, text):
    """A single-line reply as the trace shows it."""
    if isinstance(text, bytes):
        text = text.decode()
    return "%d %s" % (code, text)


def smtp_arg(a):
    """A path as bwctl trace writes it: ADDR alone gets its brackets,
    words after it are parameters."""
    if a.startswith("<"):
        return a
    addr, _, params = a.partition(" ")
    return "<%s>%s" % (addr, " " + params if params else "")


def real_session(bw, src, port, helo=HELO, sender=SENDER, rcpts=()):
    """A raw session from src: what the client gets at each step.  None
    for the banner when the server closes without a byte."""
    out = {"banner": None, "ehlo": None, "mail": None, "rcpts": [],
           "banner_wait": 0.0}
    t0 = time.monotonic()
    c = bw.raw(port, timeout=15, source=src)
    try:
        try:
            code, text = c.reply(timeout=15)
        except (ConnectionError, ConnectionResetError):
            return out
        out["banner_wait"] = time.monotonic() - t0
        out["banner"] = line(code, text)
        if code == 421:         # and the server closes
            return out
        code, text = c.cmd("EHLO " + helo, timeout=15)
        lines = text.splitlines()
        out["ehlo"] = (line(code, lines[0]), lines[1:])
        out["mail"] = line(*c.cmd("MAIL FROM:" + smtp_arg(sender),
                                  timeout=15))
        for rc in rcpts:
            out["rcpts"].append(line(*c.cmd("RCPT TO:" + smtp_arg(rc),
                                            timeout=15)))
        c.cmd("QUIT")
    finally:
        c.close()
    return out


def compare(tr, real, mail_too=True):
    """The trace's steps equal what the real client got."""
    steps = tr["steps"]
    assert steps[0]["step"] == "connect", steps
    if steps[0]["closed"] or real["banner"] is None:
        assert steps[0]["closed"], (steps[0], real)
        assert steps[0]["reply"] == (real["banner"] or ""), (steps[0], real)
        assert len(steps) == 1, steps
        return
    assert steps[0]["reply"] == real["banner"], (steps[0], real)
    ehlo = steps[1]
    assert ehlo["step"] == "ehlo", ehlo
    assert ehlo["reply"] == real["ehlo"][0], (ehlo, real["ehlo"])
    if ehlo["code"] == 250:
        assert ehlo["extensions"] == real["ehlo"][1], (ehlo, real["ehlo"])
    if mail_too:
        assert steps[2]["step"] == "mail", steps[2]
        assert steps[2]["reply"] == real["mail"], (steps[2], real["mail"])
    rows = [s for s in steps if s["step"] == "rcpt"]
    if real["rcpts"]:
        assert [s["reply"] for s in rows] == real["rcpts"], (rows, real)


def counters(bw):
    c = bw.counters("smtpd")
    return {k: c.get(k, 0) for k in (
        "connections", "rdns_confirmed", "rdns_unknown",
        "rdns_unconfirmed", "rdns_tempfail", "policy_reject",
        "policy_relay", "policy_tcprefuse", "relay_rejects",
        "routing_rejects", "rcpt_rejected", "commands")}


def run_cases(bw, ns_port, cert, key):
    def trusted():
        rc = ["x@elsewhere.example", "y@example.org"]
        tr = trace(bw, TRUSTED, *trace_opts(rcpts=rc))
        assert tr["group"] == "TRUSTED" and tr["policy"] == "trusted" and \
            tr["behaviour"] == "relay", tr
        assert tr["listener"] == "public", tr
        assert "SIZE %d" % (5 << 20) in tr["steps"][1]["extensions"], tr
        assert "STARTTLS" in tr["steps"][1]["extensions"], tr
        assert [s["code"] for s in tr["steps"]] == [220, 250, 250, 250,
                                                    250], tr
        assert "relays to any domain" in tr["steps"][3]["why"], tr
        compare(tr, real_session(bw, TRUSTED, bw.public_port, rcpts=rc))
    t.run("relay network: the trace's group, SIZE, STARTTLS and 250 to "
          "any domain equal a real session's", trusted)

    def default_rat():
        rc = ["x@elsewhere.example", "someone@example.net",
              "Postmaster@example.net", "anyone@example.org",
              "user%elsewhere.example@example.org",
              "<@relay.example:user@example.org>", "Postmaster",
              "bad address"]
        tr = trace(bw, OTHER, *trace_opts(rcpts=rc))
        assert tr["group"] == "none" and tr["policy"] == "default", tr
        codes = [s["code"] for s in tr["steps"][3:]]
        assert codes[:7] == [550, 550, 250, 250, 550, 550, 250] and \
            codes[7] >= 500, tr
        whys = [s["why"] for s in tr["steps"][3:]]
        assert "(RAT)" in whys[0] and "routing" in whys[4] and \
            "source route" in whys[5] and "postmaster" in whys[6], whys
        compare(tr, real_session(bw, OTHER, bw.public_port, rcpts=rc))
    t.run("default policy: the RAT (domains, accept_recipients), the "
          "percent hack, a source route, postmaster and a syntax error, "
          "each RCPT as a real session gets it", default_rat)

    def size_over():
        sender = "a@sender.example SIZE=%d" % (2 << 20)
        tr = trace(bw, OTHER, *trace_opts(sender=sender,
                                          rcpts=["a@example.org"]))
        mail = tr["steps"][2]
        assert mail["code"] == 552 and "message_size_limit" in \
            mail["why"], mail
        assert "once a MAIL is accepted" in tr["steps"][3]["why"], tr
        real = real_session(bw, OTHER, bw.public_port, sender=sender)
        compare(tr, real)
        # the same SIZE under the relay policy's 5m is fine
        tr = trace(bw, TRUSTED, *trace_opts(sender=sender))
        assert tr["steps"][2]["code"] == 250, tr
        compare(tr, real_session(bw, TRUSTED, bw.public_port,
                                 sender=sender))
    t.run("MAIL with SIZE over the policy's message_size_limit: 552 as "
          "in a real session, 250 under a policy that allows it", size_over)

    def reject():
        tr = trace(bw, BLOCKED, *trace_opts(rcpts=["a@example.org"]))
        assert tr["behaviour"] == "reject", tr
        assert [s["code"] for s in tr["steps"]] == [554] * 4, tr
        assert "refuses the host" in tr["steps"][1]["why"], tr
        compare(tr, real_session(bw, BLOCKED, bw.public_port,
                                 rcpts=["a@example.org"]))
    t.run("reject policy: 554 banner and 554 to EHLO, MAIL, RCPT, as a "
          "real session", reject)

    def tcprefuse():
        before = bw.counters("smtpd").get("policy_tcprefuse", 0)
        tr = trace(bw, REFUSED, *trace_opts(rcpts=["a@example.org"]))
        assert tr["behaviour"] == "tcprefuse", tr
        real = real_session(bw, REFUSED, bw.public_port)
        assert real["banner"] is None, real
        compare(tr, real)
        assert "tcprefuse" in tr["steps"][0]["why"], tr
        bwtest.wait_for(lambda: bw.counters("smtpd").get(
            "policy_tcprefuse", 0) == before + 1, 10,
            what="the real session counted, the trace not")
    t.run("tcprefuse: the trace says closed before the banner, and a real "
          "connection gets not a byte", tcprefuse)

    def tarpit():
        rc = ["a@example.org", "b@example.org", "c@example.org"]
        tr = trace(bw, SLOW, *trace_opts(rcpts=rc))
        lim = tr["limits"]
        assert lim["greeting_delay_ms"] == 600 and \
            lim["command_delay_ms"] == 200 and \
            lim["smtpd_max_recipients"] == 2, lim
        assert tr["steps"][0]["delay_ms"] == 600, tr["steps"][0]
        assert all(s["delay_ms"] == 200 for s in tr["steps"][1:]), tr
        assert tr["steps"][-1]["code"] == 452 and \
            "smtpd_max_recipients 2" in tr["steps"][-1]["why"], tr
        # the per-host rates are the counter owner's: named, not counted
        assert "smtpd_max_messages_per_minute 50" in tr["steps"][2]["why"]
        assert "smtpd_max_recipients_per_hour 100" in tr["steps"][3]["why"]
        real = real_session(bw, SLOW, bw.public_port, rcpts=rc)
        assert real["banner_wait"] >= 0.55, real
        compare(tr, real)
    t.run("tarpit policy: the trace's greeting and command delays, 452 "
          "on the third recipient, the per-host rates named; a real "
          "session waits and gets the same", tarpit)

    def tls_required():
        rc = ["a@example.org", "x@elsewhere.example"]
        tr = trace(bw, TLSREQ, *trace_opts(rcpts=rc))
        assert tr["tls"] == "required", tr
        assert tr["steps"][2]["code"] == 530, tr
        assert "STARTTLS" in tr["steps"][1]["extensions"], tr
        real = real_session(bw, TLSREQ, bw.public_port)
        compare(tr, real)
        # after STARTTLS the recipients get what the trace says
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", bw.public_port, timeout=30,
                          source_address=(TLSREQ, 0)) as s:
            s.ehlo(HELO)
            s.starttls(context=ctx)
            s.ehlo(HELO)
            assert s.mail(SENDER)[0] == 250
            got = [line(*s.rcpt(r)) for r in rc]
        want = [x["reply"] for x in tr["steps"][3:]]
        assert got == want, (got, want)
    t.run("TLS required: EHLO offers STARTTLS, MAIL gets 530 as in a real "
          "session; the RCPT rows equal a session after STARTTLS",
          tls_required)

    def by_name():
        tr = trace(bw, GOOD, *trace_opts(rcpts=["y@elsewhere.example"],
                                         listener="named"))
        assert tr["rdns"] == {"state": "confirmed", "name":
                              "good.rdns.test", "ptr": None}, tr
        assert tr["group"] == "NAMED" and tr["policy"] == "trusted", tr
        compare(tr, real_session(bw, GOOD, RDNS_PORT,
                                 rcpts=["y@elsewhere.example"]))
        for src, state in ((NOPTR, "unknown"), (LIAR, "unconfirmed")):
            rc = ["a@example.org", "b@example.org"]
            tr = trace(bw, src, *trace_opts(rcpts=rc, listener="named"))
            assert tr["rdns"]["state"] == state, tr
            assert tr["group"] == "NONAME" and tr["policy"] == "suspect", tr
            assert [s["code"] for s in tr["steps"][3:]] == [250, 452], tr
            if state == "unconfirmed":
                assert tr["rdns"]["ptr"] == "liar.rdns.test", tr
            compare(tr, real_session(bw, src, RDNS_PORT, rcpts=rc))
    t.run("reverse DNS through dnscached: a confirmed name's group, a "
          "missing and an unconfirmed PTR's group, each as a real session "
          "from that address", by_name)

    def reputation():
        rc = ["a@example.org"]
        tr = trace(bw, LOW, *trace_opts(rcpts=rc, listener="scored"))
        assert tr["score"] == "-10.0" and tr["score_tenths"] == -100 and \
            tr["group"] == "LOWREP", tr
        lim = tr["limits"]
        assert lim["greeting_tarpit_ms"] == 1000 and \
            lim["greeting_delay_ms"] == 1000 and \
            lim["command_tarpit_ms"] == 200, lim
        assert tr["steps"][0]["delay_ms"] == 1000 and \
            "tarpit at score -10.0" in tr["steps"][0]["why"], tr
        real = real_session(bw, LOW, SCORED_PORT, rcpts=rc)
        assert real["banner_wait"] >= 0.95, real
        compare(tr, real)
        tr = trace(bw, HIGH, *trace_opts(rcpts=rc, listener="scored"))
        assert tr["score"] == "+10.0" and tr["group"] == "none" and \
            tr["limits"]["greeting_delay_ms"] == 0, tr
        compare(tr, real_session(bw, HIGH, SCORED_PORT, rcpts=rc))
        tr = trace(bw, LISTED, *trace_opts(rcpts=rc, listener="scored"))
        assert tr["score"] == "-5.0" and tr["group"] == "LISTED" and \
            tr["steps"][0]["code"] == 554, tr
        compare(tr, real_session(bw, LISTED, SCORED_PORT, rcpts=rc))
        log = bw.log("smtpd")
        for src, score, group in ((LOW, "-10.0", "LOWREP"),
                                  (HIGH, "+10.0", "none"),
                                  (LISTED, "-5.0", "LISTED")):
            assert "connect addr=%s " % src in log and re.search(
                r"connect addr=%s .*listener=scored score=%s group=%s " %
                (re.escape(src), re.escape(score), group), log), \
                (src, bw.log_tail("smtpd", 30))
    t.run("reputation through dnscached: -10.0 (a tarpit of the whole "
          "greeting delay), +10.0, a DNS list's group (554); the trace's "
          "score, group and delays are a real session's", reputation)

    def private():
        tr = trace(bw, "127.0.2.30", *trace_opts(
            rcpts=["a@elsewhere.example"], listener="private"))
        row = tr["steps"][3]
        assert row["code"] == 250 and "relay_networks" in row["why"], tr
        compare(tr, real_session(bw, "127.0.2.30", bw.private_port,
                                 rcpts=["a@elsewhere.example"]))
        tr = trace(bw, "192.0.2.1", *trace_opts(
            rcpts=["a@elsewhere.example"], listener="private"))
        assert tr["steps"][3]["code"] == 550, tr
    t.run("private listener: relay_networks lets its hosts relay, others "
          "not", private)

    def text_output():
        r = bw.bwctl("trace", SLOW, "--helo", HELO, "--rcpt",
                     "a@example.org")
        out = r.stdout
        for want in ("group:     SLOW", "policy:    slow (accept",
                     "connect", "220 mx.test.example ESMTP Breakwater",
                     "after the greeting delay, 600 ms",
                     "EHLO client.example", "MAIL FROM:<>",
                     "RCPT TO:<a@example.org>", "250 2.1.5 Ok"):
            assert want in out, (want, out)
    t.run("text output names group, policy, each command and its reply",
          text_output)

    def json_parses():
        r = bw.bwctl("--json", "trace", OTHER, "--rcpt", "a@example.org")
        doc = json.loads(r.stdout)
        for k in ("address", "listener", "rdns", "score", "group",
                  "policy", "behaviour", "tls", "scan", "limits", "steps"):
            assert k in doc, (k, doc)
        # no reputation lookups for a loopback host by default
        assert doc["address"] == OTHER and doc["score"] == "off", doc
        assert [s["step"] for s in doc["steps"]] == ["connect", "ehlo",
                                                     "mail", "rcpt"], doc
        # IPv6: no listener on it, but the table answers all the same
        doc = trace(bw, "2001:db8::1")
        assert doc["address"] == "2001:db8::1" and \
            doc["steps"][1]["command"] == "EHLO [IPv6:2001:db8::1]", doc
    t.run("--json (before or after the command) parses; IPv6 addresses "
          "too", json_parses)

    def bad_args():
        cases = [
            (["trace"], 2, "usage: trace ADDRESS"),
            (["trace", "mx.example.org"], 2, "invalid address"),
            (["trace", "10.0.0.1", "--to", "x"], 2, "unknown option"),
            (["trace", "10.0.0.1", "--helo"], 2, "needs a value"),
            (["trace", "10.0.0.1", "--helo", "a", "--helo", "b"], 2,
             "given twice"),
            (["trace", "10.0.0.1"] + ["--rcpt", "a@b"] * 13, 2,
             "at most 12"),
            (["trace", "10.0.0.1", "--rcpt", "a\x01b"], 2,
             "control bytes"),
            (["trace", "10.0.0.1", "--listener", "nosuch"], 1,
             'no listener "nosuch"'),
        ]
        for args, code, want in cases:
            r = bw.bwctl(*args, check=False)
            assert r.returncode == code and want in r.stderr and \
                not r.stdout.strip(), (args, r.returncode, r.stdout,
                                       r.stderr)
            assert r.stderr.count("\n") == 1, r.stderr
        # controld checks what bwctl would not send
        got = raw_ctl(bw, ["trace", "10.0.0.1", "--rcpt", "a\r\nDATA"])
        assert got[0] == 2 and "control bytes" in got[1], got
        got = raw_ctl(bw, ["trace", "1" * 300])     # not terminated
        assert got[0] == 2 and "invalid address" in got[1], got
    t.run("bad arguments: refused with one clear line (exit 2), an "
          "unknown listener (exit 1); controld refuses a raw request with "
          "a CR LF", bad_args)

    def no_counters():
        before = counters(bw)
        for src in (TRUSTED, BLOCKED, REFUSED, OTHER):
            trace(bw, src, *trace_opts(rcpts=["x@elsewhere.example"]))
        trace(bw, NOPTR, "--listener", "named")
        after = counters(bw)
        assert before == after, (before, after)
        assert "trace session=" in bw.log("smtpd"), bw.log_tail("smtpd")
    t.run("traces change no counter of smtpd (connections, reverse DNS, "
          "policies, rejects); each logs one line", no_counters)

    def bounded():
        results = [None] * (TRACE_MAX + 2)

        def one(i):
            results[i] = trace(bw, SILENT, "--listener", "slowdns",
                               check=False)
        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,))
                   for i in range(len(results))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        took = time.monotonic() - t0
        ok = [r for r in results if r is not None and r.returncode == 0]
        busy = [r for r in results if r is not None and r.returncode == 1
                and "smtpd is busy" in r.stderr]
        assert len(ok) + len(busy) == len(results), \
            [(r.returncode, r.stderr) for r in results if r is not None]
        assert len(ok) <= TRACE_MAX and len(busy) >= 2, (len(ok), len(busy))
        for r in ok:
            doc = json.loads(r.stdout)
            assert doc["rdns"]["state"] == "tempfail", doc
            assert doc["group"] == "NONAME", doc
        # each probe ended by its lookup deadline, not later
        assert took < SLOWDNS_BUDGET_MS / 1000.0 + 10, took
        # and the slots are free again
        assert trace(bw, OTHER)["group"] == "none"
    t.run("at most %d probes in flight (the others: smtpd is busy); each "
          "ends by its lookup deadline with rdns tempfail" % TRACE_MAX,
          bounded)

    def pressure():
        sv = os.statvfs(bw.spooldir)
        # 1.2 times the free space: hard pressure (test_pressure's way)
        min_free = int(sv.f_bavail * sv.f_frsize * 0.6)
        bw.write_config(config_text(bw, ns_port, cert, key,
                                    min_free=min_free))
        bw.bwctl("config", "reload")
        try:
            bw.wait_log("smtpd", r"pressure=hard", timeout=20)
            tr = trace(bw, OTHER, *trace_opts(rcpts=["a@example.org"]))
            assert tr["pressure"]["level"] == "hard" and \
                tr["pressure"]["reason"].startswith("disk_free"), tr
            st = tr["steps"]
            assert len(st) == 1 and st[0]["code"] == 421 and \
                st[0]["closed"] and "queue pressure hard" in st[0]["why"], st
            compare(tr, real_session(bw, OTHER, bw.public_port))
            # a relay policy keeps flowing
            tr = trace(bw, TRUSTED, *trace_opts(rcpts=["a@example.org"]))
            assert tr["steps"][0]["code"] == 220 and \
                tr["steps"][2]["code"] == 250, tr
            compare(tr, real_session(bw, TRUSTED, bw.public_port,
                                     rcpts=["a@example.org"]))
        finally:
            bw.write_config(config_text(bw, ns_port, cert, key))
            bw.bwctl("config", "reload")
        bw.wait_log("smtpd", r"pressure=none was=hard", timeout=20)
        assert trace(bw, OTHER)["steps"][0]["code"] == 220
    if os.statvfs(bw.spooldir).f_bavail * \
            os.statvfs(bw.spooldir).f_frsize * 0.6 > 1024 ** 4:
        t.skip("queue pressure in the trace", "more than 1.7 TiB free")
    else:
        t.run("hard queue pressure: the trace and a real session both get "
              "421 at connect; a relay policy is not shed", pressure)

    def reload_moves():
        assert trace(bw, OTHER)["policy"] == "default"
        bw.write_config(config_text(bw, ns_port, cert, key, moved=True))
        bw.bwctl("config", "reload")
        tr = trace(bw, OTHER, *trace_opts(rcpts=["a@example.org"]))
        assert tr["policy"] == "blocked" and tr["steps"][0]["code"] == 554
        compare(tr, real_session(bw, OTHER, bw.public_port,
                                 rcpts=["a@example.org"]))
    t.run("a reload moves a host to the reject group: the next trace and "
          "a real session both say 554", reload_moves)


def raw_ctl(bw, args):
    """A CTL_CMD frame straight to controld: (exit code, text)."""
    version, types = bwtest.imsg_catalog()
    argc_max = argmax = None
    with open(os.path.join(bwtest.SRCDIR, "common",
                           "imsg_catalog.h")) as f:
        for ln in f:
            w = ln.split()
            if len(w) >= 3 and w[0] == "#define":
                if w[1] == "BW_CTL_ARGC_MAX":
                    argc_max = int(w[2])
                elif w[1] == "BW_CTL_ARG_MAX":
                    argmax = int(w[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(os.path.join(bw.rundir, "control.sock"))

    def frame(type_, payload):
        return HDR.pack(type_, len(payload), 0, os.getpid(), 0) + payload
    argv = b"".join(a.encode()[:argmax].ljust(argmax, b"\0") for a in args)
    argv = argv.ljust(argc_max * argmax, b"\0")
    s.sendall(frame(types["BW_IMSG_HELLO"], struct.pack(
        "=IIII", version, 1 << 5, os.getpid(), 0)) +
        frame(types["BW_IMSG_CTL_CMD"], struct.pack(
            "=III", version, 0, len(args)) + argv))
    buf, text = b"", b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while True:
                f, buf = take_frame(buf)
                if f is None:
                    break
                type_, _peerid, payload = f
                if type_ == types["BW_IMSG_CTL_OUTPUT"]:
                    text += payload
                elif type_ == types["BW_IMSG_CTL_DONE"]:
                    return struct.unpack("=i", payload)[0], text.decode()
    finally:
        s.close()
    return None, text.decode()


def non_admin(bw):
    """bwctl trace as an unprivileged user: refused as status is."""
    setpriv = shutil.which("setpriv")
    user = pwd.getpwnam("nobody")
    cmd = [setpriv, "--reuid", str(user.pw_uid), "--regid",
           str(user.pw_gid), "--clear-groups", "--",
           os.path.join(bwtest.BUILDDIR, "ctl", "bwctl"), "-b", bw.base,
           "-f", bw.config_path]
    outs = []
    for args in (["status"], ["trace", OTHER, "--rcpt", "a@example.org"]):
        r = subprocess.run(cmd + args, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1 and not r.stdout.strip(), \
            (args, r.returncode, r.stdout, r.stderr)
        assert "only root" in r.stderr, (args, r.stderr)
        outs.append(r.stderr.splitlines()[-1])
    assert outs[0] == outs[1], outs


def smtpd_down(bw):
    bw.stop("smtpd")
    bwtest.wait_for(lambda: "smtpd" not in [
        p["name"] for p in bw.bwctl("status", json_out=True)["processes"]
        if p.get("state") == "up"], 15, what="controld sees smtpd gone")
    r = bw.bwctl("trace", OTHER, check=False)
    assert r.returncode == 1 and "smtpd is not running" in r.stderr, \
        (r.returncode, r.stdout, r.stderr)


def main():
    if not os.path.exists(peers.TESTNS):
        t.skip("bwctl trace", "%s not installed" % peers.TESTNS)
        t.done()
    with bwtest.Breakwater("trace") as bw:
        zone = os.path.join(bw.base, "zones.data")
        with open(zone, "w") as out:
            for z in ZONES:
                with open(z) as f:
                    out.write(f.read() + "\n")
        ns = peers.TestNS(bw.logdir, zone)
        cert, key = bwtest.make_cert(bw.base)
        try:
            bw.write_config(config_text(bw, ns.port, cert, key))
            r = bw.bwctl("config", "check", bw.config_path, check=False)
            t.ok(r.returncode == 0, "the configuration checks",
                 r.stdout + r.stderr)
            bw.start()
            run_cases(bw, ns.port, cert, key)
            if os.geteuid() == 0 and shutil.which("setpriv"):
                t.run("bwctl trace as a user neither root nor in the admin "
                      "group: refused as every command is", non_admin, bw)
            else:
                t.skip("bwctl trace as a non-admin user",
                       "needs root and setpriv")
            for p in bwtest.DEFAULT_PROCS:
                t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
            t.run("smtpd down: trace fails with a clear error", smtpd_down,
                  bw)
        finally:
            ns.stop()
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
