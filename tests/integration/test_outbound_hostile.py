#!/usr/bin/python3
"""Hostile receivers against the whole suite (smtpd -> queued -> deliverd):
each misbehaviour is bounded, logged once per connection (never the
receiver's megabyte echoed into the log), defers only its own destination,
and costs no other destination anything.

Receivers are a scripted asyncio server on loopback, one port per mode;
routes send each test domain to its receiver.  Modes:
  bigreply  a 1 MB multi-line reply to EHLO (1000 lines of 1000 bytes)
  bigline   a greeting of 1 MB without a line end, then silence
  rcptbig   a normal session until RCPT, then a 1 MB multi-line reply
  partial   a greeting line that never ends (no CRLF), connection held
  lfonly    a correct session whose replies end in bare LF (tolerated:
            delivered, as RFC 5321 4.1.1.4's robustness note and every
            deployed client do)
A healthy domain at smtp-sink must deliver in time while the hostile
connections are held open, and deliverd's memory must not grow by the
receivers' megabytes.
"""

import asyncio
import os
import re
import smtplib
import threading
import time

import bwtest
import peers

t = bwtest.TAP()

MB = 1 << 20
MODES = ("bigreply", "bigline", "rcptbig", "partial", "lfonly")


class Hostile:
    """One scripted receiver per mode on 127.0.27.1, random ports."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ports = {}
        self.conns = {m: 0 for m in MODES}
        self.delivered = {m: 0 for m in MODES}
        self.servers = []
        self.writers = set()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,),
                                       daemon=True)
        self.thread.start()
        assert ready.wait(10), "hostile receivers did not start"

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        for m in MODES:
            port = bwtest.free_port()
            srv = self.loop.run_until_complete(asyncio.start_server(
                lambda r, w, m=m: self._session(m, r, w), "127.0.27.1",
                port))
            self.servers.append(srv)
            self.ports[m] = port
        ready.set()
        self.loop.run_forever()

    async def _session(self, mode, r, w):
        self.conns[mode] += 1
        self.writers.add(w)
        eol = b"\n" if mode == "lfonly" else b"\r\n"
        try:
            if mode == "bigline":
                w.write(b"220 " + b"x" * MB)
                await w.drain()
                await asyncio.sleep(60)
                return
            if mode == "partial":
                w.write(b"220 hostile.partial ESMTP but the line never ends")
                await w.drain()
                await asyncio.sleep(60)
                return
            w.write(b"220 hostile ESMTP" + eol)
            await w.drain()
            while True:
                line = await asyncio.wait_for(r.readline(), 60)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    if mode == "bigreply":
                        for _ in range(1000):
                            w.write(b"250-" + b"y" * 996 + b"\r\n")
                            await w.drain()
                    w.write(b"250 hostile" + eol)
                elif verb == b"MAIL":
                    w.write(b"250 2.1.0 ok" + eol)
                elif verb == b"RCPT":
                    if mode == "rcptbig":
                        for _ in range(1000):
                            w.write(b"250-" + b"z" * 996 + b"\r\n")
                            await w.drain()
                    w.write(b"250 2.1.5 ok" + eol)
                elif verb == b"DATA":
                    w.write(b"354 go" + eol)
                    await w.drain()
                    while True:
                        d = await asyncio.wait_for(r.readline(), 60)
                        if not d or d in (b".\r\n", b".\n"):
                            break
                    self.delivered[mode] += 1
                    w.write(b"250 2.0.0 queued" + eol)
                elif verb == b"QUIT":
                    w.write(b"221 bye" + eol)
                    await w.drain()
                    return
                elif verb == b"RSET" or verb == b"NOOP":
                    w.write(b"250 ok" + eol)
                else:
                    w.write(b"502 5.5.2 no" + eol)
                await w.drain()
        except (ConnectionError, asyncio.TimeoutError, OSError):
            pass
        finally:
            self.writers.discard(w)
            w.close()

    def stop(self):
        def shutdown():
            for s in self.servers:
                s.close()
            for w in list(self.writers):
                w.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.call_later(0.2, self.loop.stop)
        self.loop.call_soon_threadsafe(shutdown)
        self.thread.join(10)


def config_text(bw, sink_port, hostile):
    routes = "".join("route %s.hostile.test -> [127.0.27.1]:%d\n" %
                     (m, hostile.ports[m]) for m in MODES)
    return bwtest.default_config(bw, """
%s
route healthy.test -> [127.0.0.1]:%d
destination *.hostile.test {
    deliver_timeout_greeting 3s
    deliver_timeout_command 3s
}
""" % (routes, sink_port))


def send(bw, rcpt, tag):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        c.sendmail("alice@origin.test", [rcpt],
                   "From: <alice@origin.test>\r\nTo: <%s>\r\nSubject: %s\r\n"
                   "\r\nhello\r\n" % (rcpt, tag))


def worker_rss_kib(bw):
    """Summed VmRSS of deliverd's workers (the children of its pid)."""
    total = 0
    sup = bw.pid("deliverd")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                st = f.read()
        except OSError:
            continue
        if re.search(r"^PPid:\s+%d$" % sup, st, re.M):
            m = re.search(r"^VmRSS:\s+(\d+) kB", st, re.M)
            if m:
                total += int(m.group(1))
    return total


def domain_json(bw, domain):
    return bw.bwctl("show", "domain", domain, json_out=True)


def run_cases(bw, sink, hostile):
    rss0 = worker_rss_kib(bw)

    def hostile_case(mode, reason_re):
        domain = "%s.hostile.test" % mode
        before = hostile.conns[mode]
        send(bw, "a@" + domain, "hostile " + mode)
        # the attempt ends (deferred) within the bounded timeouts
        bwtest.wait_for(lambda: re.search(
            r"to=<a@%s>.*status=deferred" % re.escape(domain),
            bw.log("queued")), 20, what="deferral for " + domain)
        log = bw.log("queued") + bw.log("deliverd")
        lines = [ln for ln in log.splitlines() if domain in ln]
        assert all(len(ln) < 4096 for ln in lines), \
            max(len(ln) for ln in lines)
        assert re.search(reason_re, "\n".join(lines)), lines[-5:]
        conns = hostile.conns[mode] - before
        assert conns >= 1, conns
        # one deferral line per recipient per connection tried, never a
        # line per reply line received
        deferred = [ln for ln in lines if "status=deferred" in ln]
        assert 1 <= len(deferred) <= conns, (len(deferred), conns)
        # the message still waits: nothing was lost or bounced
        j = domain_json(bw, domain)
        assert j.get("queue"), j
        assert sum(q.get("messages", 0) for q in j["queue"]) == 1, j
        # bwctl shows the reason, bounded as well
        err = j["queue"][0]["last_error"]
        assert re.search(reason_re, err) and len(err) < 1024, err
        assert hostile.delivered[mode] == 0

    t.run("1 MB multi-line EHLO reply: bounded, deferred, logged once",
          hostile_case, "bigreply", r"malformed reply|too long")
    t.run("1 MB greeting without a line end: bounded, deferred",
          hostile_case, "bigline", r"reply line too long")
    t.run("1 MB multi-line RCPT reply: the transaction fails, deferred",
          hostile_case, "rcptbig", r"malformed reply|too long")
    t.run("a greeting line that never ends: the greeting times out",
          hostile_case, "partial", r"timeout|no complete reply")

    def healthy_meanwhile():
        # hold hostile connections open while a healthy domain delivers
        for m in ("bigline", "partial"):
            send(bw, "b@%s.hostile.test" % m, "hostile again " + m)
        t0 = time.monotonic()
        send(bw, "ok@healthy.test", "healthy meanwhile")
        peers.received(sink, "healthy meanwhile", timeout=10)
        assert time.monotonic() - t0 < 10
    t.run("another destination delivers in time while hostile receivers "
          "hold their connections", healthy_meanwhile)

    def lf_only():
        send(bw, "a@lfonly.hostile.test", "lf only")
        bwtest.wait_for(lambda: hostile.delivered["lfonly"] >= 1, 15,
                        what="delivery to the bare-LF receiver")
        bwtest.wait_for(lambda: re.search(
            r"to=<a@lfonly\.hostile\.test>.*status=sent",
            bw.log("queued")), 10, what="sent line")
    t.run("replies ending in bare LF are tolerated: delivered", lf_only)

    def memory_bounded():
        rss1 = worker_rss_kib(bw)
        # four megabytes of hostile replies went by; the workers keep at
        # most a reply line (DLV_REPLY_LINE_MAX) and BW_REPLY_TEXT_MAX each
        assert rss1 - rss0 < 8 * 1024, (rss0, rss1)
    t.run("deliverd's memory did not grow with the replies' size",
          memory_bounded)


def main():
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("outbound hostile", "smtp-sink not installed")
        t.done()
    hostile = Hostile()
    try:
        peers.main_with_sink(
            t, "outhostile",
            lambda bw, port: config_text(bw, port, hostile),
            lambda bw, sink: run_cases(bw, sink, hostile))
    finally:
        hostile.stop()


if __name__ == "__main__":
    main()
