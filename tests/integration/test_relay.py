#!/usr/bin/python3
"""The whole relay, end to end, with every real daemon.

controld, queued, dnscached, smtpd and deliverd run from $BW_BUILDDIR;
dnscached asks ldns-testns (config keyword dns_servers), which serves
tests/dns/relay.data.  Destination MX hosts are Postfix's smtp-sink on
127.0.4.x port 25 (root is needed for port 25), plus small Python servers
where a case needs a chosen reply (one recipient rejected) or has to count
connection attempts (a dead destination answering 421).  Mail goes in
through smtpd's private listener with smtplib and smtp-source.

Cases: best MX preference; fallback to the next preference; spread over
two equal-preference hosts; connection reuse (sessions at the sink vs
messages); a gateway's source address and HELO seen by the sink; a route
wins over MX; 5xx to one recipient of three -> two delivered, one DSN
(multipart/report) at the sender's domain's MX; retry-0 profile and
expiry bounce; a domain down with 1,000 messages: one connection attempt
per retry interval, a healthy domain flows meanwhile, all 1,000 arrive
when it is back; kill -9 of a deliverd worker and of the whole deliverd
during deliveries: every message arrives at least once; bwctl show queue,
show domain, suspend, resume, retry; a restarted worker defers nothing
because its dnscached link was not up yet.
"""

import email
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "relay.data")
TESTNS = peers.TESTNS
SMTP_SINK = peers.SMTP_SINK
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
D = ".relay.test"

t = bwtest.TAP()


class Knocker:
    """A dead destination: accepts, counts, greets 421 and closes."""

    def __init__(self, addr, port=25):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((addr, port))
        self.s.listen(128)
        self.s.settimeout(0.2)
        self.times = []
        self.stopping = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.times.append(time.monotonic())
            try:
                c.sendall(b"421 4.3.2 down for the test\r\n")
            except OSError:
                pass
            c.close()

    def count(self):
        return len(self.times)

    def stop(self):
        self.stopping = True
        self.th.join(5)
        self.s.close()


class PySink(threading.Thread):
    """A small SMTP server that rejects chosen recipients with 550."""

    def __init__(self, addr, port=25, reject=()):
        super().__init__(daemon=True)
        self.reject = set(reject)
        self.mails = []         # (sender, [rcpts], data)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, port))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.lock = threading.Lock()
        self.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,),
                             daemon=True).start()

    def session(self, c):
        c.settimeout(20)
        f = c.makefile("rwb")

        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        try:
            reply("220 pysink ESMTP")
            mail, rcpts = None, []
            while True:
                line = f.readline(4096)
                if not line:
                    return
                cmd = line.decode(errors="replace").rstrip("\r\n")
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    reply("250-pysink\r\n250-PIPELINING\r\n250-SIZE\r\n"
                          "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES")
                elif verb == "HELO":
                    reply("250 pysink")
                elif verb == "MAIL":
                    mail, rcpts = cmd, []
                    reply("250 2.1.0 ok")
                elif verb == "RCPT":
                    a = cmd.split(":", 1)[1].strip().split(" ")[0]
                    a = a.strip("<>").lower()
                    if a in self.reject:
                        reply("550 5.1.1 <%s>: user unknown" % a)
                    else:
                        rcpts.append(a)
                        reply("250 2.1.5 ok")
                elif verb == "DATA":
                    if not rcpts:
                        reply("554 5.5.1 no valid recipients")
                        continue
                    reply("354 go ahead")
                    data = []
                    while True:
                        ln = f.readline(65536)
                        if not ln or ln == b".\r\n":
                            break
                        data.append(ln)
                    with self.lock:
                        self.mails.append((mail, rcpts, b"".join(data)))
                    reply("250 2.0.0 ok queued")
                elif verb == "RSET":
                    mail, rcpts = None, []
                    reply("250 2.0.0 ok")
                elif verb == "NOOP":
                    reply("250 2.0.0 ok")
                elif verb == "QUIT":
                    reply("221 2.0.0 bye")
                    return
                else:
                    reply("502 5.5.1 unknown")
        except OSError:
            return
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.join(5)
        self.ls.close()


def config_text(bw, nsport):
    extra = """deliverd_workers 2
dns_servers 127.0.0.1:%(nsport)d
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 5s
deliver_max_connections_per_domain 4

gateway gwout {
    helo gw.breakwater.example
    source 127.0.4.50
}
gateway_rule sender_domain gwsender.relay.test gwout
route route.relay.test -> [127.0.4.62]:2526

bounce_profile default {
    retry_initial 1s
    retry_max 2s
    max_age 1h
}
bounce_profile outage {
    retry_initial 2s
    retry_max 2s
    max_age 1h
    domains outage.relay.test
}
bounce_profile zero {
    retry_initial 1s
    retry_max 1s
    max_age 1h
    max_retries 0
    domains zero.relay.test
}
bounce_profile expire {
    retry_initial 1s
    retry_max 1s
    max_age 3s
    domains expire.relay.test
}
bounce_profile slow {
    retry_initial 1m
    retry_max 1m
    max_age 1h
    domains ctl.relay.test
}
""" % {"nsport": nsport}
    return bwtest.default_config(bw, extra=extra)


def send(bw, rcpts, sender="alice@origin" + D, subject="relay test",
         count=1):
    """count messages over one smtplib session; returns the replies."""
    out = []
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        for i in range(count):
            msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s %d\r\n"
                   "Message-ID: <%f.%d@origin.relay.test>\r\n\r\n"
                   "hello %d\r\n" % (sender, rcpts[0], subject, i,
                                     time.time(), i, i))
            out.append(c.sendmail(sender, rcpts, msg))
    return out


def smtp_source(bw, n, rcpt, sessions=10, sender="src@origin" + D,
                unique=False, timeout=120):
    """smtp-source: n messages in `sessions` parallel sessions."""
    cmd = [SMTP_SOURCE, "-m", str(n), "-s", str(sessions), "-l", "300",
           "-f", sender, "-t", rcpt, "-M", "source.relay.test"]
    if unique:
        cmd.append("-N")
    cmd.append("127.0.0.1:%d" % bw.private_port)
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.returncode, r.stdout[-500:],
                               r.stderr[-500:])
    return r


def queues(bw):
    return {(q["gateway"], q["domain"]): q
            for q in bw.bwctl("show", "queue", json_out=True)["queues"]}


def queue_of(bw, domain, gateway="default"):
    return queues(bw).get((gateway, domain))


def deliverd_pids(bw):
    """(supervisor pid, [worker pids]) from /proc."""
    sup = bw.pid("deliverd")
    kids = []
    try:
        with open("/proc/%d/task/%d/children" % (sup, sup)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return sup, kids


def dsn_parts(text):
    """Parse a dumped DSN: (message object, delivery-status text)."""
    # smtp-sink's dump starts with its X-* headers, then the message
    m = email.message_from_string(text)
    status = ""
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                status = "\n".join(p.as_string() for p in payload)
            else:
                status = str(payload)
    return m, status


def main_with_stack(tap, name, what, cases, check_config=False):
    """A whole test program (test_relay, test_relay_outage): ldns-testns
    with relay.data, every daemon with config_text(), cases(bw, sinks)
    (sinks: a list the cases add their smtp-sinks to, stopped here); then
    every daemon must still run and no sanitizer may have spoken."""
    for tool in (TESTNS, SMTP_SINK, SMTP_SOURCE):
        if not os.path.exists(tool):
            tap.skip(what, "%s not installed" % tool)
            tap.done()
    if os.geteuid() != 0:
        tap.skip(what, "needs root for MX hosts on port 25")
        tap.done()

    sinks = []
    with bwtest.Breakwater(name) as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        try:
            bw.write_config(config_text(bw, ns.port))
            if check_config:
                r = subprocess.run([bw.binary("queued"), "-n", "-f",
                                    bw.config_path, "-b", bw.base],
                                   capture_output=True, text=True,
                                   timeout=30)
                if not tap.ok(r.returncode == 0,
                              "the test configuration checks",
                              r.stdout + r.stderr):
                    tap.done()
            bw.start()
            cases(bw, sinks)
        finally:
            for s in sinks:
                s.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            tap.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    tap.ok(not bw.sanitizer_reports, "no sanitizer reports",
           "\n".join(bw.sanitizer_reports))
    tap.done()


def main():
    main_with_stack(t, "relay", "relay end to end", run_cases,
                    check_config=True)


def run_cases(bw, sinks):
    def sink(addr, port=25, extra=(), tag=""):
        s = peers.Sink(bw.base, addr, port, extra, tag)
        sinks.append(s)
        return s

    # -- MX preference ---------------------------------------------------
    s11, s12 = sink("127.0.4.11"), sink("127.0.4.12")
    origin = sink("127.0.4.72")     # the senders' domain: DSNs land here

    def best():
        send(bw, ["a@best" + D])
        bwtest.wait_for(lambda: s11.count() == 1, 15,
                        what="message at mx1.best (log: %s)" %
                        bw.log_tail("deliverd", 5))
        assert s12.count() == 0
        m = s11.messages()[0]
        assert "X-Rcpt-Args: <a@best.relay.test>" in m, m
        bw.wait_log("queued", r"to=<a@best\.relay\.test> .*status=sent")
    t.run("relay: MX of the best preference gets the mail", best)

    s22 = sink("127.0.4.22")

    def fallback():
        send(bw, ["a@fallback" + D])
        bwtest.wait_for(lambda: s22.count() == 1, 20,
                        what="message at live.fallback")
        bw.wait_log("queued", r"to=<a@fallback\.relay\.test> "
                    r"relay=live\.fallback\.relay\.test\[127\.0\.4\.22\]:25"
                    r".*status=sent")
    t.run("relay: fallback to the next preference when the best is down",
          fallback)

    s31, s32 = sink("127.0.4.31"), sink("127.0.4.32")

    def spread():
        smtp_source(bw, 40, "r@spread" + D, sessions=8)
        bwtest.wait_for(lambda: s31.count() + s32.count() == 40, 30,
                        what="40 messages at spread sinks (%d+%d)" %
                        (s31.count(), s32.count()))
        assert s31.count() > 0 and s32.count() > 0, (s31.count(),
                                                     s32.count())
    t.run("relay: spread over two equal-preference MX hosts", spread)

    # -- connection reuse -------------------------------------------------
    s41 = sink("127.0.4.41")

    def reuse():
        c0 = bw.counters("deliverd").get("connections_reused", 0)
        send(bw, ["r@reuse" + D], count=60)
        bwtest.wait_for(lambda: s41.count() == 60, 30,
                        what="60 messages at the sink")
        time.sleep(2.5)         # idle connections QUIT after 1 s
        # smtp-sink's sess= counts sessions opened.  deliverd may open a
        # connection for a waiting job that another connection then takes
        # (it idles out unused), so allow twice the domain's limit of 4.
        sess = s41.sessions()
        assert 1 <= sess <= 8, "60 messages took %d sessions" % sess
        reused = bw.counters("deliverd").get("connections_reused", 0) - c0
        assert reused >= 60 - sess, (reused, sess)
        sys_note("reuse: 60 messages, %d sessions at the sink, %d jobs on "
                 "a reused connection" % (sess, reused))
    t.run("relay: 60 messages for one domain reuse a few connections",
          reuse)

    # -- gateway source address -------------------------------------------
    s51 = sink("127.0.4.51")

    def gateway():
        send(bw, ["a@gw" + D], sender="bob@gwsender" + D)
        # smtp-sink creates the dump file before it writes it: wait for
        # the headers, not for the file
        bwtest.wait_for(lambda: s51.count() == 1 and "X-Helo-Args:" in
                        (s51.messages() or [""])[0], 15, what="gw message")
        m = s51.messages()[0]
        assert "X-Client-Addr: 127.0.4.50" in m, m[:600]
        assert "X-Helo-Args: gw.breakwater.example" in m, m[:600]
        bw.wait_log("queued", r"to=<a@gw\.relay\.test> .*gateway=gwout"
                    r".*status=sent")
    t.run("relay: gateway_rule -> the gateway's source address and HELO "
          "at the sink", gateway)

    # -- route -------------------------------------------------------------
    s61, s62 = sink("127.0.4.61"), sink("127.0.4.62", 2526)

    def route():
        send(bw, ["a@route" + D])
        bwtest.wait_for(lambda: s62.count() == 1, 15,
                        what="message at the route's host")
        assert s61.count() == 0
    t.run("relay: an SMTP route wins over MX", route)

    # -- 5xx to one recipient of three ---------------------------------------
    p71 = PySink("127.0.4.71", reject=["bad@rcpt" + D])
    sinks.append(p71)

    def one_rejected():
        n0 = origin.count()
        send(bw, ["a@rcpt" + D, "bad@rcpt" + D, "c@rcpt" + D],
             sender="alice-rcpt@origin" + D, subject="three rcpts")
        bwtest.wait_for(lambda: len(p71.mails) >= 1, 15,
                        what="delivery at rcpt sink")
        bwtest.wait_for(lambda: origin.count() > n0, 15,
                        what="a DSN at the sender's MX")
        time.sleep(1)
        assert len(p71.mails) == 1, p71.mails
        assert sorted(p71.mails[0][1]) == ["a@rcpt" + D, "c@rcpt" + D], \
            p71.mails[0][1]
        dsns = [m for m in origin.messages()
                if "X-Rcpt-Args: <alice-rcpt@origin.relay.test>" in m]
        assert len(dsns) == 1, "%d DSNs" % len(dsns)
        m, status = dsn_parts(dsns[0])
        assert m.get_content_type() == "multipart/report", \
            m.get_content_type()
        assert m.get_param("report-type") == "delivery-status"
        assert re.search(r"Final-Recipient: rfc822; ?bad@rcpt\.relay\.test",
                         status, re.I), status
        assert re.search(r"Status: 5\.\d+\.\d+", status), status
        assert "a@rcpt.relay.test" not in status, status
        assert "Subject: three rcpts" in dsns[0], dsns[0]
        assert re.search(r"^X-Mail-Args: <>", dsns[0], re.M) or \
            "MAIL FROM:<>" in dsns[0], dsns[0][:400]
    t.run("relay: 5xx to one recipient of three: two delivered, one "
          "RFC 3464 DSN at the sender's MX", one_rejected)

    # -- retry 0 and expiry ---------------------------------------------------
    sink("127.0.4.91", extra=["-r", "RCPT"])
    sink("127.0.4.92", extra=["-r", "RCPT"])

    def dsn_for(sender):
        return [m for m in origin.messages()
                if "X-Rcpt-Args: <%s>" % sender in m]

    def zero():
        t0 = time.monotonic()
        send(bw, ["z@zero" + D], sender="alice-zero@origin" + D)
        bwtest.wait_for(lambda: dsn_for("alice-zero@origin" + D), 15,
                        what="DSN for the retry-0 profile")
        assert time.monotonic() - t0 < 10
        m, status = dsn_parts(dsn_for("alice-zero@origin" + D)[0])
        assert m.get_content_type() == "multipart/report"
        assert re.search(r"Final-Recipient: rfc822; ?z@zero\.relay\.test",
                         status, re.I), status
        assert re.search(r"Status: 5\.\d+\.\d+", status), status
        q = queue_of(bw, "zero" + D)
        assert q is None or q["messages"] == 0, q
        log = bw.log("queued")
        assert re.search(r"to=<z@zero\.relay\.test> .*attempts=1 .*"
                         r"status=bounced", log), \
            [ln for ln in log.splitlines() if "z@zero" in ln]
    t.run("relay: max_retries 0 bounces at the first temporary failure",
          zero)

    def expire():
        t0 = time.monotonic()
        send(bw, ["x@expire" + D], sender="alice-expire@origin" + D)
        bwtest.wait_for(lambda: dsn_for("alice-expire@origin" + D), 20,
                        what="DSN after max_age")
        took = time.monotonic() - t0
        assert took >= 2.5, "bounced after %.1fs, max_age is 3s" % took
        m, status = dsn_parts(dsn_for("alice-expire@origin" + D)[0])
        assert re.search(r"Final-Recipient: rfc822; ?x@expire\.relay\.test",
                         status, re.I), status
        assert re.search(r"Status: 5\.\d+\.\d+", status), status
        log = bw.log("queued")
        assert re.search(r"to=<x@expire\.relay\.test> .*status=deferred",
                         log), "no deferral before expiry"
    t.run("relay: expiry (max_age 3s) bounces", expire)

    def no_bounce_loop():
        # every DSN above went to a working MX; none of them is bounced
        assert "bounce of a bounce" not in bw.log("queued")
        n = len(dsn_for("alice-rcpt@origin" + D))
        assert n == 1, n
    t.run("relay: one DSN per failure, no bounce of a bounce",
          no_bounce_loop)

    def show_domain():
        d = bw.bwctl("show", "domain", "best" + D, json_out=True)
        hosts = [(h["host"], h["addr"], h["preference"], h["port"])
                 for h in d["hosts"]]
        assert ("mx1.best.relay.test", "127.0.4.11", 10, 25) in hosts, hosts
        assert ("mx2.best.relay.test", "127.0.4.12", 20, 25) in hosts, hosts
        assert d["delivery"] and d["delivery"][0]["delivered"] >= 1, d
        out = bw.bwctl("show", "domain", "best" + D).stdout
        assert "127.0.4.11" in out, out
        d = bw.bwctl("show", "domain", "fallback" + D, json_out=True)
        dead = [h for h in d["hosts"] if h["addr"] == "127.0.4.21"]
        assert dead and "refused" in dead[0]["last_error"].lower(), d
    t.run("bwctl: show domain lists MX hosts, addresses and the dead "
          "host's error", show_domain)

    outage_cases(bw, sink)
    bwctl_cases(bw, sink)
    crash_cases(bw, sink)
    final_cases(bw, origin)


def outage_cases(bw, sink):
    """outage.relay.test down (421 greeting) with 1,000 messages."""
    knock = Knocker("127.0.4.81")
    healthy = sink("127.0.4.85")
    state = {}

    def park():
        t0 = time.monotonic()
        smtp_source(bw, 1000, "o@outage" + D, sessions=20)
        state["submit_s"] = time.monotonic() - t0
        bw.wait_log("queued", r"domain=outage\.relay\.test gateway=default "
                    r"down", 15)
        bwtest.wait_for(lambda: (queue_of(bw, "outage" + D) or {}).get(
            "messages") == 1000, 15, what="1000 parked (%r)" %
            queue_of(bw, "outage" + D))
        q = queue_of(bw, "outage" + D)
        assert q["state"] == "down", q
        state["before"] = knock.count()
        # the initial attempts: a handful, never one per message
        assert 1 <= knock.count() <= 10, knock.count()
    t.run("outage: 1,000 messages parked, domain down after a handful of "
          "connections", park)

    def one_per_interval():
        c0 = knock.count()
        t0 = time.monotonic()
        # healthy mail flows meanwhile
        send(bw, ["h@healthy" + D], count=5)
        bwtest.wait_for(lambda: healthy.count() == 5, 5,
                        what="healthy mail during the outage")
        state["healthy_s"] = time.monotonic() - t0
        time.sleep(max(0, 9 - (time.monotonic() - t0)))
        n = knock.count() - c0
        secs = time.monotonic() - t0
        # retry_initial = retry_max = 2s: at most about secs/2 probes;
        # fewer (none, in its pause), since Good Neighbor pauses a
        # destination that answers 421 to every new connection
        # (test_neighbor.py); queued's probes go on (restart_queued)
        assert n <= int(secs / 2) + 2, \
            "%d connections in %.1fs (retry 2s)" % (n, secs)
        gaps = [b - a for a, b in zip(knock.times, knock.times[1:])
                if a >= t0]
        assert all(g > 1.0 for g in gaps), gaps
        q = queue_of(bw, "outage" + D)
        assert q["state"] == "down" and q["messages"] == 1000, q
        d = bw.bwctl("show", "domain", "outage" + D, json_out=True)
        assert d["queue"][0]["state"] == "down", d
        assert d["queue"][0]["next_retry"], d
        assert d["queue"][0]["profile"] == "outage", d
        assert any("421" in h["last_error"] for h in d["hosts"]), d
        assert q["active"] <= 1, q
        assert "421" in q["last_error"], q
        out = bw.bwctl("show", "queue").stdout
        assert re.search(r"outage\.relay\.test\s+down\s+1000\b", out), out
    t.run("outage: one connection attempt per retry interval, healthy "
          "domain flows", one_per_interval)

    def restart_queued():
        bw.stop("queued")
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        bw.wait_log("queued", r"domain=outage\.relay\.test gateway=default "
                    r"down \(restart\)", 10)
        # queued logs its queues' state before it links to controld
        bwtest.wait_for(lambda: bw.bwctl("show", "queue", check=False)
                        .returncode == 0, 10, what="queued on controld")
        q = queue_of(bw, "outage" + D)
        assert q["state"] == "down" and q["messages"] == 1000, q
        bwtest.wait_for(lambda: bw._linked(bwtest.DEFAULT_PROCS), 15,
                        what="smtpd and deliverd back on queued")
        # probes go on (a probe in Good Neighbor's pause ends without a
        # connection, so count queued's, not the knocker's)
        pat = r"domain=outage\.relay\.test gateway=default still down"
        n0 = len(re.findall(pat, bw.log("queued")))
        c0 = knock.count()
        bwtest.wait_for(lambda: len(re.findall(pat, bw.log("queued"))) > n0,
                        6, what="a probe after the restart")
        time.sleep(2.5)
        assert knock.count() - c0 <= 3, knock.count() - c0
        send(bw, ["h2@healthy" + D])
        bwtest.wait_for(lambda: healthy.count() == 6, 10,
                        what="healthy mail after queued's restart")
    t.run("outage: queued restarted: still down with its 1,000, probes go "
          "on one per interval", restart_queued)

    knock.stop()
    back = sink("127.0.4.81", tag="-back")

    def drains():
        t0 = time.monotonic()
        bwtest.wait_for(lambda: back.count() >= 1000, 60,
                        what="1000 messages after the outage (%d)" %
                        back.count())
        state["drain_s"] = time.monotonic() - t0
        time.sleep(0.5)
        assert back.count() == 1000, back.count()
        bwtest.wait_for(lambda: queue_of(bw, "outage" + D) is None or
                        queue_of(bw, "outage" + D)["messages"] == 0, 10,
                        what="outage queue empty")
        assert re.search(r"domain=outage\.relay\.test gateway=default up",
                         bw.log("queued"))
        sys_note("outage: submit %.1fs, healthy %.2fs, drain %.1fs" % (
            state.get("submit_s", 0), state.get("healthy_s", 0),
            state["drain_s"]))
    t.run("outage: the domain comes back, all 1,000 arrive", drains)


def sys_note(text):
    print("# " + text)


def requeued(bw):
    """Sum of jobs_requeued=N over queued's 'deliverd ... disconnected'
    lines."""
    return sum(int(x) for x in re.findall(
        r"disconnected jobs_requeued=(\d+)", bw.log("queued")))


def crash_cases(bw, sink):
    """500 messages held (suspend), then released at once so that
    hundreds of jobs are in flight when deliverd dies."""
    s95 = sink("127.0.4.95")
    n = 500

    def load(tag):
        bw.bwctl("suspend", "crash" + D)
        smtp_source(bw, n, "%s@crash%s" % (tag, D), sessions=10,
                    unique=True)
        bwtest.wait_for(lambda: (queue_of(bw, "crash" + D) or {}).get(
            "messages") == n, 10, what="%d held" % n)
        bw.bwctl("resume", "crash" + D)

    def kill_worker():
        r0 = requeued(bw)
        load("k")
        bwtest.wait_for(lambda: s95.count() >= 30, 30,
                        what="first deliveries")
        sup, workers = deliverd_pids(bw)
        assert len(workers) == 2, workers
        for w in workers:
            os.kill(w, signal.SIGKILL)
        killed_at = s95.count()
        bwtest.wait_for(lambda: len(set(s95.rcpts())) >= n, 60,
                        what="%d distinct recipients" % n)
        got = set(s95.rcpts())
        assert len(got) == n, len(got)
        lost = requeued(bw) - r0
        sys_note("kill -9 workers at %d delivered: %d jobs requeued, %d "
                 "messages for %d recipients at the sink" % (
                     killed_at, lost, s95.count(), n))
        assert lost > 0, "no job was in flight at the kill"
        bw.wait_log("deliverd", r"worker=\d pid=\d+ killed signal=9", 5)
        sup2, workers2 = deliverd_pids(bw)
        assert sup2 == sup and len(workers2) == 2 and \
            not set(workers2) & set(workers), (workers, workers2)
    t.run("crash: kill -9 both deliverd workers with 500 deliveries in "
          "flight: restarted, every message arrives", kill_worker)

    def kill_all():
        base = s95.count()
        base_rcpts = set(s95.rcpts())
        r0 = requeued(bw)
        load("z")
        bwtest.wait_for(lambda: s95.count() >= base + 30, 30,
                        what="first deliveries")
        sup, workers = deliverd_pids(bw)
        for pid in workers + [sup]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        bw.procs["deliverd"].wait(10)
        killed_at = s95.count() - base
        time.sleep(0.5)
        bw.start_one("deliverd")
        bw.wait_ready(["deliverd"])
        bwtest.wait_for(lambda: len(set(s95.rcpts()) - base_rcpts) >= n,
                        60, what="%d new recipients" % n)
        assert len(set(s95.rcpts()) - base_rcpts) == n
        lost = requeued(bw) - r0
        sys_note("kill -9 deliverd at %d delivered: %d jobs requeued, %d "
                 "messages at the sink" % (killed_at, lost,
                                           s95.count() - base))
        assert lost > 0, "no job was in flight at the kill"
    t.run("crash: kill -9 deliverd (supervisor and workers) with 500 "
          "deliveries in flight, restart: every message arrives", kill_all)

    # A restarted worker links to queued and dnscached at about the same
    # time; a job that arrives before the dnscached link is up must wait
    # for it, not be deferred (with max_retries 0 it would bounce).
    bad = [ln for ln in bw.log("queued").splitlines()
           if "crash.relay.test" in ln and "DNS service unavailable" in ln]
    t.ok(not bad, "crash: no deferral because the restarted worker's "
         "dnscached link was not up yet",
         "%d deferred, e.g. %s" % (len(bad), bad[0][:200]) if bad else None)


def bwctl_cases(bw, sink):
    s97 = sink("127.0.4.97")

    def suspend_resume():
        r = bw.bwctl("suspend", "ctl" + D)
        send(bw, ["a@ctl" + D, "b@ctl" + D], count=3)
        time.sleep(1.5)
        assert s97.count() == 0, s97.count()
        q = queue_of(bw, "ctl" + D)
        assert q and q["state"] == "suspended" and q["messages"] >= 3, q
        out = bw.bwctl("show", "queue").stdout
        assert re.search(r"ctl\.relay\.test\s+suspended", out), out
        d = bw.bwctl("show", "domain", "ctl" + D, json_out=True)
        assert d["queue"][0]["state"] == "suspended", d
        bw.bwctl("resume", "ctl" + D)
        bwtest.wait_for(lambda: s97.count() == 3, 10,
                        what="3 messages after resume")
        bwtest.wait_for(lambda: queue_of(bw, "ctl" + D) is None or
                        queue_of(bw, "ctl" + D)["messages"] == 0, 10,
                        what="ctl queue empty")
        assert r.returncode == 0
    t.run("bwctl: suspend holds the mail, show queue / domain say so, "
          "resume delivers", suspend_resume)


    def retry_now():
        # the sink stops: ctl goes down with a 1 minute retry
        s97.stop()
        send(bw, ["c@ctl" + D])
        bw.wait_log("queued", r"domain=ctl\.relay\.test gateway=default "
                    r"down", 15)
        q = queue_of(bw, "ctl" + D)
        assert q["state"] == "down" and q["next_retry"] > time.time() + 30, q
        s2 = sink("127.0.4.97", tag="-2")
        time.sleep(1)
        assert s2.count() == 0
        bw.bwctl("retry", "ctl" + D)
        bwtest.wait_for(lambda: s2.count() == 1, 10,
                        what="message after bwctl retry")
        bwtest.wait_for(lambda: (queue_of(bw, "ctl" + D) or {}).get(
            "state", "active") == "active", 5, what="ctl up")
    t.run("bwctl: retry probes a down domain now", retry_now)

    def unknown():
        r = bw.bwctl("resume", "nosuch" + D, check=False)
        # either an error or a no-op; it must not disturb the daemons
        assert bw.running("queued") and bw.running("controld"), r
    t.run("bwctl: resume of an unknown domain", unknown)


def final_cases(bw, origin):
    def empty():
        bwtest.wait_for(lambda: all(q["messages"] == 0
                                    for q in queues(bw).values()), 15,
                        what="every queue empty: %r" % queues(bw))
        c = bw.counters("queued")
        assert c.get("queued_messages") == 0, c
        assert c.get("queued_recipients") == 0, c
        # counters restart with queued; the sender's MX has the DSNs
        assert origin.count() == 3, origin.count()
    t.run("end: every queue empty, exactly 3 DSNs at the sender's MX",
          empty)

    def dns():
        d = bw.bwctl("show", "dns", json_out=True)
        c = d["counters"]
        assert c["queries"] > 0 and c["upstream_queries"] > 0, c
        assert c["upstream_queries"] <= c["queries"], c
        assert c["malformed"] == 0 and c["timeouts"] == 0, c
        assert c["upstream_errors"] == 0, c
        sys_note("dnscached: %r" % c)
    t.run("end: dnscached answered from the test zone without errors", dns)


if __name__ == "__main__":
    main()
