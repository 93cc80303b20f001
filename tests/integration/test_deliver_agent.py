#!/usr/bin/python3
"""deliverd's agents against real peers on loopback.

A fake queued (this script) listens on BASE/run/queued.sock before deliverd
starts, hands it jobs (DLV_JOB, DLV_RCPT, DLV_BODY, DLV_END) and collects
DLV_RESULT / DLV_DONE.  The real controld and dnscached run too; dnscached
asks ldns-testns, which serves tests/dns/deliver.data.  Destination MX hosts
are Postfix's smtp-sink on 127.0.3.x port 25 (root is needed for port 25),
plus a small Python SMTP server where a case needs a chosen reply (one
recipient rejected, a SIZE limit, STARTTLS).

Cases: best MX preference; fallback when it is down; spread over two
equal-preference hosts; connection reuse (many jobs, few sessions at the
sink); the gateway's source address and HELO seen by the sink; a route wins
over MX; 5xx to one recipient of three; every MX down -> unreachable; null
MX and NXDOMAIN -> permanent failure at once; implicit MX; SIZE limit;
STARTTLS; queued's link lost and back.  Hostile servers: an endless reply
line, a multi-line reply without end, a 421 greeting, no greeting, a
greeting or a reply to the final dot that trickles in one byte at a time
(the whole reply has a deadline), garbage, a TLS session that breaks
right after the handshake (plaintext next time), 250 to DATA, 354 to RCPT
or to BDAT (out of step: deferred, never delivered or bounced).
"""

import ctypes
import os
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time

import bwtest
import peers
from imsgproto import (CHUNK_MAX, DELIVERED, DOMAIN_MAX, HDR, HOSTADDR_MAX,
                       IMSG_VERSION, MSGF_8BITMIME, NAME_MAX, PERMFAIL,
                       REPLY_MAX, ROLE, T, TEMPFAIL, DlvDone, DlvJob, DlvRcpt,
                       DlvResult, Hello, read_frames,
                       take_frame)

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "deliver.data")
TESTNS = peers.TESTNS
SMTP_SINK = peers.SMTP_SINK



t = bwtest.TAP()


class FakeQueued:
    """Listens on queued.sock, plays queued for deliverd's workers."""

    def __init__(self, rundir):
        os.makedirs(rundir, exist_ok=True)
        self.path = os.path.join(rundir, "queued.sock")
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.lock = threading.Lock()
        self.conns = []
        self.results = {}       # jobid -> {index: DlvResult}
        self.done = {}          # jobid -> DlvDone
        self.stopping = False
        self.next_jobid = 1
        self.errors = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    def _serve(self, s):
        hello = []

        def frame(mtype, payload):
            if mtype == T["HELLO"] and not hello:
                hello.append(1)
                s.sendall(HDR.pack(T["HELLO"], ctypes.sizeof(Hello), 0,
                                   os.getpid(), 0) +
                          bytes(Hello(IMSG_VERSION, ROLE["queued"],
                                      os.getpid(), 0)))
                with self.lock:
                    self.conns.append(s)
            elif mtype == T["DLV_RESULT"]:
                r = DlvResult.from_buffer_copy(payload)
                with self.lock:
                    self.results.setdefault(r.jobid, {})[r.index] = r
            elif mtype == T["DLV_DONE"]:
                d = DlvDone.from_buffer_copy(payload)
                with self.lock:
                    self.done[d.jobid] = d
            else:
                self.errors.append("unexpected type %d" % mtype)
        read_frames(s, frame, lambda: self.stopping, timeout=0.5,
                    bufsize=65536)
        with self.lock:
            if s in self.conns:
                self.conns.remove(s)
        s.close()

    def wait_linked(self, timeout=20):
        bwtest.wait_for(lambda: len(self.conns) > 0, timeout,
                        what="deliverd connected to the fake queued")

    def drop_links(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def send_job(self, domain, rcpts, body=None, gateway="default",
                 sender="sender@origin.example", flags=0, attempts=0,
                 qid=None):
        if body is None:
            body = (b"Subject: test\r\nFrom: <%s>\r\n\r\nhello\r\n"
                    b".leading dot\r\n" % sender.encode())
        with self.lock:
            jobid = self.next_jobid
            self.next_jobid += 1
            s = self.conns[0]
        qid = qid or "%016X" % (0xD000000000 + jobid)
        frames = []

        def frame(mtype, payload):
            frames.append(HDR.pack(mtype, len(payload), 0, os.getpid(), 0)
                          + payload)
        frame(T["DLV_JOB"], bytes(DlvJob(
            jobid, qid.encode(), gateway.encode(), domain.encode(),
            sender.encode(), len(body), int(time.time()), len(rcpts),
            flags, attempts)))
        for i, r in enumerate(rcpts):
            frame(T["DLV_RCPT"], bytes(DlvRcpt(jobid, i, r.encode())))
        for off in range(0, len(body), CHUNK_MAX):
            frame(T["DLV_BODY"], struct.pack("=Q", jobid) +
                  body[off:off + CHUNK_MAX])
        frame(T["DLV_END"], struct.pack("=Q", jobid))
        s.sendall(b"".join(frames))
        return jobid

    def wait_done(self, jobid, timeout=30):
        bwtest.wait_for(lambda: jobid in self.done, timeout,
                        what="DLV_DONE for job %d" % jobid)
        with self.lock:
            return self.done[jobid], self.results.get(jobid, {})

    def close(self):
        self.stopping = True
        self.ls.close()
        self.drop_links()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class DomainInfoReq(ctypes.Structure):
    _fields_ = [("gateway", ctypes.c_char * NAME_MAX),
                ("domain", ctypes.c_char * (DOMAIN_MAX + 1))]


class DomainInfo(ctypes.Structure):
    _fields_ = [("gateway", ctypes.c_char * NAME_MAX),
                ("domain", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("found", ctypes.c_uint32), ("connections", ctypes.c_uint32),
                ("routed", ctypes.c_uint32), ("delivered", ctypes.c_uint64),
                ("tempfail", ctypes.c_uint64), ("permfail", ctypes.c_uint64),
                ("last_attempt", ctypes.c_int64),
                ("last_result", ctypes.c_char * REPLY_MAX)]


class DomainHost(ctypes.Structure):
    _fields_ = [("domain", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("host", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("addr", ctypes.c_char * HOSTADDR_MAX),
                ("preference", ctypes.c_uint32), ("port", ctypes.c_uint32),
                ("connections", ctypes.c_uint32),
                ("last_error_time", ctypes.c_int64),
                ("last_error", ctypes.c_char * REPLY_MAX)]


class FakeControld:
    """Listens on controld.sock in place of controld: asks deliverd's
    worker for DOMAIN_INFO."""

    def __init__(self, rundir):
        self.path = os.path.join(rundir, "controld.sock")
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(4)
        self.ls.settimeout(20)
        self.s = None
        self.others = []
        self.buf = b""

    def wait_linked(self):
        """Accept until deliverd's worker says HELLO (dnscached connects
        to controld.sock too: it is answered and kept aside)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.s, _ = self.ls.accept()
            self.s.settimeout(20)
            self.buf = b""
            mtype, _peerid, payload = self.frame()
            assert mtype == T["HELLO"], mtype
            self.s.sendall(HDR.pack(T["HELLO"], ctypes.sizeof(Hello), 0,
                                    os.getpid(), 0) +
                           bytes(Hello(IMSG_VERSION, 1 << 4, os.getpid(),
                                       0)))
            if Hello.from_buffer_copy(payload).role == ROLE["deliverd"]:
                return
            self.others.append(self.s)
        raise TimeoutError("no HELLO from deliverd on the fake controld")

    def frame(self):
        while True:
            f, self.buf = take_frame(self.buf)
            if f is not None:
                return f
            data = self.s.recv(65536)
            if not data:
                raise EOFError("deliverd closed controld's link")
            self.buf += data

    def request(self, peerid, gateway, domain):
        req = bytes(DomainInfoReq(gateway.encode(), domain.encode()))
        self.s.sendall(HDR.pack(T["DOMAIN_INFO_REQ"], len(req), peerid,
                                os.getpid(), 0) + req)
        out = []
        while True:
            f = self.frame()
            if f[0] == T["STATUS_REQ"]:
                continue
            out.append(f)
            if f[0] == T["DOMAIN_INFO_END"]:
                return out

    def close(self):
        for s in self.others + [self.s]:
            if s:
                s.close()
        self.ls.close()


class PySink(socketserver.ThreadingTCPServer):
    """A scripted SMTP server: reject chosen recipients, announce a SIZE
    limit, offer STARTTLS (with a certificate, or broken)."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, port=25, reject=(), size=0, tls_cert=None,
                 tls_broken=False, pipelining=True, mode=None):
        self.mode = mode
        self.reject = set(reject)
        self.size = size
        self.tls_cert = tls_cert
        self.tls_broken = tls_broken
        self.pipelining = pipelining
        self.lock = threading.Lock()
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.tls_sessions = 0
        self.mails = []         # (mail args, [rcpts], data)
        self.commands = []
        super().__init__((addr, port), PySinkHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()


class PySinkHandler(socketserver.StreamRequestHandler):
    timeout = 20

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def drip(self, data, every=0.4):
        """One byte at a time, each well within deliverd's read timeout;
        the whole takes longer than it."""
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(every)

    def handle(self):
        srv = self.server
        with srv.lock:
            srv.connections += 1
            srv.active += 1
            srv.max_active = max(srv.max_active, srv.active)
            busy = srv.mode == "onlyone" and srv.active > 1
        try:
            if busy:
                self.reply("421 4.7.0 one session at a time, please")
                return
            self.session()
        finally:
            with srv.lock:
                srv.active -= 1

    def session(self):
        srv = self.server
        if srv.mode == "silent":
            time.sleep(8)
            return
        if srv.mode == "greet421":
            self.reply("421 4.3.2 too busy, come back later")
            return
        if srv.mode == "longline":
            self.wfile.write(b"220-" + b"x" * 100000)
            self.wfile.flush()
            time.sleep(3)
            return
        if srv.mode == "drip":
            self.drip(b"220 pysink ESMTP\r\n")
        else:
            self.reply("220 pysink ESMTP")
        mail, rcpts, tls = None, [], False
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            with srv.lock:
                srv.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO") and srv.mode == "garbage":
                self.reply("hello world, this is not SMTP")
            elif verb == "EHLO" and srv.mode == "manylines":
                # a multi-line reply that never ends
                for i in range(20000):
                    self.wfile.write(b"250-line %d\r\n" % i)
                self.wfile.flush()
                return
            elif verb == "RCPT" and srv.mode == "rcpt354":
                self.reply("354 go ahead")
            elif verb == "BDAT" and srv.mode == "bdat354":
                self.reply("354 go ahead")
            elif verb == "DATA" and srv.mode == "data250":
                self.reply("250 2.0.0 thanks, but where is the body")
            elif verb == "EHLO" and srv.mode == "noehlo":
                self.reply("500 5.5.1 EHLO? never heard of it")
            elif verb == "STARTTLS" and srv.mode == "tlsrefuse":
                self.reply("454 4.7.0 TLS not available now")
            elif verb in ("EHLO", "HELO"):
                if verb == "HELO":
                    self.reply("250 pysink")
                    continue
                ext = ["pysink"]
                if srv.pipelining:
                    ext.append("PIPELINING")
                ext.append("SIZE %d" % srv.size if srv.size else "SIZE")
                ext += ["8BITMIME", "ENHANCEDSTATUSCODES"]
                if srv.mode == "bdat354":
                    ext.append("CHUNKING")
                if (srv.tls_cert or srv.tls_broken) and not tls:
                    ext.append("STARTTLS")
                for i, e in enumerate(ext):
                    self.reply("250%s%s" % (" " if i == len(ext) - 1
                                            else "-", e))
            elif verb == "STARTTLS":
                self.reply("220 2.0.0 go ahead")
                if srv.tls_broken:
                    self.wfile.write(b"this is not a TLS server hello\r\n")
                    self.wfile.flush()
                    return
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*srv.tls_cert)
                self.request = ctx.wrap_socket(self.request,
                                               server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
                tls = True
                with srv.lock:
                    srv.tls_sessions += 1
                if srv.mode == "tlsbreak":
                    # the session breaks after the handshake
                    self.rfile.readline(4096)
                    self.wfile.write(b"hello world, this is not SMTP\r\n")
                    self.wfile.flush()
                    return
            elif verb == "MAIL":
                mail, rcpts = cmd, []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                addr = cmd.split(":", 1)[1].strip().strip("<>").lower()
                if addr in srv.reject:
                    self.reply("550 5.1.1 <%s>: user unknown" % addr)
                else:
                    rcpts.append(addr)
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA" and srv.mode == "midfail":
                self.reply("354 go ahead")
                self.rfile.readline(65536)
                return
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = []
                while True:
                    ln = self.rfile.readline(65536)
                    if not ln or ln == b".\r\n":
                        break
                    data.append(ln)
                with srv.lock:
                    srv.mails.append((mail, rcpts, b"".join(data)))
                if srv.mode == "dripdot":
                    self.drip(b"250 2.0.0 ok queued\r\n")
                else:
                    self.reply("250 2.0.0 ok queued")
            elif verb == "RSET":
                mail, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.1 unknown")


def statuses(results):
    return sorted(r.status for r in results.values())


def relays(results):
    return sorted(r.relay.decode() for r in results.values())


GATEWAY_CONF = """
gateway gwtest {
    helo gw.breakwater.example
    source 127.0.3.200
}
route route.test -> [127.0.3.62]:2526
"""


def config_text(bw, with_delivery_conf):
    extra = """deliverd_workers 1
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 2s
deliver_timeout_data_final 3s
deliver_max_connections_per_domain 4
"""
    if with_delivery_conf:
        extra += GATEWAY_CONF
    return bwtest.default_config(bw, extra=extra)


def config_ok(bw):
    r = subprocess.run([bw.binary("deliverd"), "-n", "-f", bw.config_path,
                        "-b", bw.base], capture_output=True, text=True,
                       timeout=30)
    return r.returncode == 0


def main():
    for tool in (TESTNS, SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("deliverd agent", "%s not installed" % tool)
            t.done()
    if os.geteuid() != 0:
        t.skip("deliverd agent", "needs root for MX hosts on port 25")
        t.done()

    sinks = []
    with bwtest.Breakwater("deliver") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        fq = FakeQueued(bw.rundir)
        try:
            bw.write_config(config_text(bw, True))
            have_conf = config_ok(bw)
            if not have_conf:
                bw.write_config(config_text(bw, False))
            bw.start_one("controld")
            bw.start_one("dnscached",
                         extra_args=["-r", "127.0.0.1:%d" % ns.port])
            bw.start_one("deliverd")
            bw.wait_ready(["controld", "dnscached", "deliverd"])
            fq.wait_linked()
            run_cases(bw, fq, sinks, have_conf)
        finally:
            for s in sinks:
                s.stop()
            fq.close()
            ns.stop()
        t.ok(bw.running("deliverd"), "deliverd still running",
             bw.log_tail("deliverd"))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, fq, sinks, have_conf):
    def sink(addr, port=25, extra=()):
        s = peers.Sink(bw.base, addr, port, extra, backlog=100)
        sinks.append(s)
        return s

    def pysink(addr, port=25, **kw):
        s = PySink(addr, port, **kw)
        sinks.append(s)
        return s

    # best preference
    s11, s12 = sink("127.0.3.11"), sink("127.0.3.12")

    def best():
        done, res = fq.wait_done(fq.send_job("best.test", ["a@best.test"]))
        assert statuses(res) == [DELIVERED], statuses(res)
        assert "mx1.best.test[127.0.3.11]:25" in relays(res), relays(res)
        bwtest.wait_for(lambda: len(s11.messages()) == 1, 10,
                        what="message at mx1")
        assert len(s12.messages()) == 0
        m = s11.messages()[0]
        assert "X-Rcpt-Args: <a@best.test>" in m, m
        assert "\n..leading dot" not in m and "\n.leading dot" in m, m
    t.run("MX of the best preference gets the mail", best)

    # fallback
    s22 = sink("127.0.3.22")

    def fallback():
        done, res = fq.wait_done(
            fq.send_job("fallback.test", ["a@fallback.test"]), 30)
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert relays(res) == ["live.fallback.test[127.0.3.22]:25"], \
            relays(res)
        assert done.unreachable == 0
        assert len(s22.messages()) == 1
    t.run("fallback to the next preference when the best is down",
          fallback)

    # spread over equal preference
    s31, s32 = sink("127.0.3.31"), sink("127.0.3.32")

    def spread():
        ids = [fq.send_job("spread.test", ["r%d@spread.test" % i])
               for i in range(30)]
        for j in ids:
            done, res = fq.wait_done(j, 30)
            assert statuses(res) == [DELIVERED], statuses(res)
        bwtest.wait_for(lambda: len(s31.messages()) +
                        len(s32.messages()) == 30, 10, what="30 messages")
        n31, n32 = len(s31.messages()), len(s32.messages())
        assert n31 > 0 and n32 > 0, (n31, n32)
    t.run("connections spread over two equal-preference hosts", spread)

    # reuse
    s41 = sink("127.0.3.41")

    def reuse():
        before = bw.counters("deliverd").get("connections_reused", 0)
        ids = [fq.send_job("reuse.test", ["r%d@reuse.test" % i])
               for i in range(40)]
        for j in ids:
            done, res = fq.wait_done(j, 30)
            assert statuses(res) == [DELIVERED], statuses(res)
        # idle connections QUIT after deliver_idle_keep (1 s)
        bwtest.wait_for(lambda: len(s41.messages()) == 40, 10,
                        what="40 messages at the sink")
        time.sleep(2.5)
        # a loaded machine may let a connection idle out between two
        # jobs of the (slow, Python) fake queued: allow a few reopenings
        sess = s41.sessions()
        assert 1 <= sess <= 8, "sessions at the sink: %d" % sess
        after = bw.counters("deliverd").get("connections_reused", 0)
        assert after - before >= 32, (before, after)
    t.run("40 messages reuse at most 8 connections", reuse)

    # gateway source address and HELO
    if have_conf:
        s51 = sink("127.0.3.51")

        def gateway():
            done, res = fq.wait_done(
                fq.send_job("gw.test", ["a@gw.test"], gateway="gwtest"))
            assert statuses(res) == [DELIVERED], [
                (r.status, r.reply) for r in res.values()]
            bwtest.wait_for(lambda: len(s51.messages()) == 1, 10,
                            what="message at gw sink")
            m = s51.messages()[0]
            assert "X-Client-Addr: 127.0.3.200" in m, m
            assert "X-Helo-Args: gw.breakwater.example" in m, m
        t.run("the gateway's source address and HELO reach the sink",
              gateway)

        s61, s62 = sink("127.0.3.61"), sink("127.0.3.62", 2526)

        def route():
            done, res = fq.wait_done(
                fq.send_job("route.test", ["a@route.test"]))
            assert statuses(res) == [DELIVERED], [
                (r.status, r.reply) for r in res.values()]
            assert relays(res) == ["127.0.3.62[127.0.3.62]:2526"], \
                relays(res)
            bwtest.wait_for(lambda: len(s62.messages()) == 1, 10,
                            what="message at the route's host")
            assert len(s61.messages()) == 0
        t.run("an SMTP route wins over MX", route)
    else:
        t.skip("gateway source address", "config parser lacks gateways")
        t.skip("route wins over MX", "config parser lacks routes")

    # one recipient of three rejected
    p71 = pysink("127.0.3.71", reject=["bad@rcpt.test"])

    def one_rejected():
        done, res = fq.wait_done(fq.send_job(
            "rcpt.test", ["a@rcpt.test", "bad@rcpt.test", "c@rcpt.test"]))
        assert done.unreachable == 0
        st = {i: (r.status, r.dsn.decode()) for i, r in res.items()}
        assert st == {0: (DELIVERED, "2.0.0"), 1: (PERMFAIL, "5.1.1"),
                      2: (DELIVERED, "2.0.0")}, st
        assert b"user unknown" in res[1].reply
        assert len(p71.mails) == 1 and p71.mails[0][1] == [
            "a@rcpt.test", "c@rcpt.test"], p71.mails
    t.run("5xx to one recipient of three: one bounced, two delivered",
          one_rejected)

    def all_rejected():
        done, res = fq.wait_done(fq.send_job("rcpt.test",
                                             ["bad@rcpt.test"]))
        assert statuses(res) == [PERMFAIL] and res[0].dsn == b"5.1.1"
        # the same connection goes on (RSET after the aborted DATA)
        done, res = fq.wait_done(fq.send_job("rcpt.test", ["ok@rcpt.test"]))
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert done.connections == 0, "connection not reused"
        verbs = [c.split(" ")[0].upper() for c in p71.commands]
        assert "RSET" in verbs, verbs
    t.run("every recipient rejected: pipelined DATA discarded, RSET, "
          "connection reused", all_rejected)

    def helo_nopipe():
        p71.mode = "noehlo"
        time.sleep(1.5)         # the connection above idles out
        del p71.commands[:]
        done, res = fq.wait_done(fq.send_job(
            "rcpt.test", ["d@rcpt.test", "bad@rcpt.test", "f@rcpt.test"]))
        st = {i: r.status for i, r in res.items()}
        assert st == {0: DELIVERED, 1: PERMFAIL, 2: DELIVERED}, st
        verbs = [c.split(" ")[0].upper() for c in p71.commands]
        assert verbs[:2] == ["EHLO", "HELO"], verbs
        assert not any("SIZE=" in c for c in p71.commands), p71.commands
        assert p71.mails[-1][1] == ["d@rcpt.test", "f@rcpt.test"]
    t.run("EHLO refused: HELO, no extensions, one command at a time",
          helo_nopipe)

    def injection():
        del p71.commands[:]
        done, res = fq.wait_done(fq.send_job(
            "rcpt.test", ["g@rcpt.test\r\nRSET", "h@rcpt.test"]))
        st = {i: (r.status, r.dsn.decode()) for i, r in res.items()}
        assert st == {0: (PERMFAIL, "5.1.3"), 1: (DELIVERED, "2.0.0")}, st
        assert not any(c.upper() == "RSET" for c in p71.commands), \
            p71.commands
        done, res = fq.wait_done(fq.send_job(
            "rcpt.test", ["i@rcpt.test"], sender="x@y\r\nQUIT"))
        assert statuses(res) == [PERMFAIL] and res[0].dsn == b"5.1.7"
    t.run("CR LF in an address: that recipient bounced, no injection",
          injection)

    def down():
        t0 = time.monotonic()
        done, res = fq.wait_done(fq.send_job(
            "down.test", ["a@down.test", "b@down.test"]), 30)
        assert done.unreachable == 1, done.reason
        assert statuses(res) == [TEMPFAIL, TEMPFAIL]
        assert all(r.dsn.startswith(b"4.") for r in res.values())
        # a second job meanwhile: answered at once (hosts marked down)
        t1 = time.monotonic()
        done, res = fq.wait_done(fq.send_job("down.test",
                                             ["c@down.test"]), 30)
        assert done.unreachable == 1
        assert time.monotonic() - t1 < 2, "second job not answered at once"
        assert t0 < t1
    t.run("every MX down: TEMPFAIL and DLV_DONE unreachable", down)

    def nullmx():
        t0 = time.monotonic()
        done, res = fq.wait_done(fq.send_job("nullmx.test",
                                             ["a@nullmx.test"]))
        assert statuses(res) == [PERMFAIL]
        assert res[0].dsn == b"5.1.10", res[0].dsn
        assert done.unreachable == 0
        assert time.monotonic() - t0 < 5
    t.run("null MX: permanent failure 5.1.10 at once", nullmx)

    def nxdomain():
        done, res = fq.wait_done(fq.send_job("nx.test", ["a@nx.test",
                                                         "b@nx.test"]))
        assert statuses(res) == [PERMFAIL, PERMFAIL]
        assert res[0].dsn == b"5.1.2", res[0].dsn
    t.run("NXDOMAIN: permanent failure 5.1.2 at once", nxdomain)

    s91 = sink("127.0.3.91")

    def implicit():
        done, res = fq.wait_done(fq.send_job("implicit.test",
                                             ["a@implicit.test"]))
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert relays(res) == ["implicit.test[127.0.3.91]:25"], relays(res)
        assert len(s91.messages()) == 1
    t.run("no MX: the implicit MX (the domain's A record)", implicit)

    p97 = pysink("127.0.3.97", size=1000)

    def size_limit():
        done, res = fq.wait_done(fq.send_job(
            "size.test", ["a@size.test"],
            body=b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n"))
        assert statuses(res) == [PERMFAIL]
        assert res[0].dsn == b"5.3.4", res[0].dsn
        assert not any(c.upper().startswith("MAIL") for c in p97.commands)
        done, res = fq.wait_done(fq.send_job(
            "size.test", ["a@size.test"], flags=MSGF_8BITMIME))
        assert statuses(res) == [DELIVERED]
        mails = [c for c in p97.commands if c.upper().startswith("MAIL")]
        assert "SIZE=" in mails[-1] and "BODY=8BITMIME" in mails[-1], mails
    t.run("SIZE limit of the server: 5.3.4 without sending; SIZE= and "
          "BODY=8BITMIME", size_limit)

    certdir = os.path.join(bw.base, "certs")
    os.makedirs(certdir, exist_ok=True)
    cert = bwtest.make_cert(certdir, "mx.tls.test")
    p95 = pysink("127.0.3.95", tls_cert=cert)

    def starttls():
        before = bw.counters("deliverd").get("tls_sessions", 0)
        done, res = fq.wait_done(fq.send_job("tls.test", ["a@tls.test"]))
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert p95.tls_sessions == 1, p95.tls_sessions
        assert bw.counters("deliverd").get("tls_sessions", 0) == before + 1
    t.run("opportunistic STARTTLS", starttls)

    def tls_broken():
        p95.tls_cert = None
        p95.tls_broken = True
        time.sleep(1.5)         # the TLS connection above idles out
        n = len(p95.mails)
        done, res = fq.wait_done(fq.send_job("tls.test", ["b@tls.test"]),
                                 30)
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert len(p95.mails) == n + 1
    t.run("failed TLS handshake: that host again in plaintext", tls_broken)

    p110 = pysink("127.0.3.110", tls_cert=cert, mode="tlsbreak")

    def tls_session_broken():
        done, res = fq.wait_done(fq.send_job("tlsbreak.test",
                                             ["a@tlsbreak.test"]), 30)
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        assert done.unreachable == 0
        assert p110.tls_sessions == 1 and len(p110.mails) == 1, (
            p110.tls_sessions, p110.mails)
    t.run("a TLS session that breaks after the handshake: that host "
          "again in plaintext", tls_session_broken)

    def tls_refused():
        p97.mode = "tlsrefuse"
        p97.tls_cert = cert
        time.sleep(1.5)
        del p97.commands[:]
        done, res = fq.wait_done(fq.send_job("size.test", ["b@size.test"]))
        assert statuses(res) == [DELIVERED], [
            (r.status, r.reply) for r in res.values()]
        verbs = [c.split(" ")[0].upper() for c in p97.commands]
        assert verbs[:3] == ["EHLO", "STARTTLS", "MAIL"], verbs
    t.run("STARTTLS refused with 454: the session goes on in plaintext",
          tls_refused)

    for addr, mode in (("127.0.3.98", "longline"), ("127.0.3.99", "greet421"),
                       ("127.0.3.101", "silent"), ("127.0.3.102", "garbage"),
                       ("127.0.3.103", "midfail")):
        pysink(addr, mode=mode)

    def hostile(domain, want_in_reason):
        t0 = time.monotonic()
        done, res = fq.wait_done(fq.send_job(domain, ["a@" + domain,
                                                      "b@" + domain]), 30)
        assert done.unreachable == 1, (done.unreachable, done.reason)
        assert statuses(res) == [TEMPFAIL, TEMPFAIL], statuses(res)
        assert want_in_reason in done.reason.decode(), done.reason
        assert time.monotonic() - t0 < 15
    t.run("endless reply line: host fails, domain unreachable",
          hostile, "hostile.test", "reply line too long")
    t.run("421 greeting: host fails, domain unreachable",
          hostile, "greet4.test", "421")
    t.run("no greeting: timeout, domain unreachable",
          hostile, "silent.test", "timeout")
    t.run("non-SMTP reply to EHLO: host fails, domain unreachable",
          hostile, "garbage.test", "malformed reply")

    for addr, mode in (("127.0.3.105", "drip"), ("127.0.3.106", "data250"),
                       ("127.0.3.107", "rcpt354"),
                       ("127.0.3.108", "manylines"),
                       ("127.0.3.109", "dripdot"),
                       ("127.0.3.111", "bdat354")):
        pysink(addr, mode=mode)
    t.run("a greeting that trickles in one byte at a time: the whole "
          "reply times out, domain unreachable",
          hostile, "drip.test", "no complete reply")
    t.run("a multi-line EHLO reply without end: host fails, domain "
          "unreachable", hostile, "manylines.test", "malformed reply")

    def out_of_step(domain, want_in_reply, srv=None):
        t0 = time.monotonic()
        done, res = fq.wait_done(fq.send_job(domain, ["a@" + domain,
                                                      "b@" + domain]), 30)
        st = [(r.status, r.dsn.decode(), r.reply.decode())
              for r in res.values()]
        assert all(x[0] == TEMPFAIL and x[1].startswith("4.")
                   for x in st), st
        assert all(want_in_reply in x[2] for x in st), st
        assert done.unreachable == 0, done.reason
        assert time.monotonic() - t0 < 15
        if srv is not None:
            assert not srv.mails, srv.mails
    t.run("250 to DATA (no body sent): deferred, never delivered",
          out_of_step, "data250.test", "unexpected reply to DATA",
          [s for s in sinks if getattr(s, "mode", "") == "data250"][0])
    t.run("354 to RCPT: the session is out of step, deferred (not "
          "bounced)", out_of_step, "rcpt354.test", "unexpected 3xx")
    t.run("354 to BDAT: out of step, deferred (not bounced)",
          out_of_step, "bdat354.test", "unexpected 3xx reply to BDAT")
    t.run("the reply to the final dot trickles in: it times out, "
          "deferred 4.4.2", out_of_step, "dripdot.test",
          "no complete reply")

    p104 = pysink("127.0.3.104", mode="onlyone")

    def busy():
        ids = [fq.send_job("busy.test", ["r%d@busy.test" % i])
               for i in range(20)]
        for j in ids:
            done, res = fq.wait_done(j, 30)
            assert done.unreachable == 0, done.reason
            assert statuses(res) == [DELIVERED], [
                (r.status, r.reply) for r in res.values()]
        assert len(p104.mails) == 20
        assert p104.connections <= 4, p104.connections
    t.run("a host that takes one session at a time: held at one "
          "connection, never unreachable", busy)

    def midfail():
        done, res = fq.wait_done(fq.send_job("midfail.test",
                                             ["a@midfail.test"]), 30)
        assert done.unreachable == 0, done.reason
        assert statuses(res) == [TEMPFAIL], statuses(res)
        assert res[0].dsn == b"4.4.2", res[0].dsn
        assert b"lost connection" in res[0].reply, res[0].reply
    t.run("connection lost during DATA: TEMPFAIL 4.4.2, not unreachable",
          midfail)

    def queued_lost():
        fq.drop_links()
        fq.wait_linked(20)
        done, res = fq.wait_done(fq.send_job("best.test", ["z@best.test"]))
        assert statuses(res) == [DELIVERED]
    t.run("queued's link lost: deliverd reconnects and delivers", queued_lost)

    def info_counters():
        c = bw.counters("deliverd")
        for k in ("jobs", "delivered", "deferred", "bounced",
                  "connections_opened", "connections_reused",
                  "connect_failures", "tls_sessions", "agents"):
            assert k in c, (k, c)
        assert c["delivered"] >= 75 and c["bounced"] >= 5, c
        assert not fq.errors, fq.errors
    t.run("STATUS counters", info_counters)

    def domain_info():
        bw.stop("controld")
        fc = FakeControld(bw.rundir)
        try:
            fc.wait_linked()
            frames = fc.request(77, "", "best.test")
            types = [f[0] for f in frames]
            assert types == [T["DOMAIN_INFO"], T["DOMAIN_HOST"],
                             T["DOMAIN_HOST"], T["DOMAIN_INFO_END"]], types
            assert all(f[1] == 77 for f in frames)
            di = DomainInfo.from_buffer_copy(frames[0][2])
            assert di.found == 1 and di.domain == b"best.test"
            assert di.delivered >= 2 and di.routed == 0
            h = [DomainHost.from_buffer_copy(f[2]) for f in frames[1:3]]
            assert [(x.host, x.preference, x.port) for x in h] == [
                (b"mx1.best.test", 10, 25), (b"mx2.best.test", 20, 25)], h
            assert h[0].addr == b"127.0.3.11"
            frames = fc.request(78, "default", "down.test")
            h = DomainHost.from_buffer_copy(frames[1][2])
            assert b"refused" in h.last_error and h.last_error_time > 0
            frames = fc.request(79, "", "unknown.test")
            assert [f[0] for f in frames] == [T["DOMAIN_INFO"],
                                              T["DOMAIN_INFO_END"]]
            assert DomainInfo.from_buffer_copy(frames[0][2]).found == 0
        finally:
            fc.close()
    t.run("DOMAIN_INFO: agents, hosts, not found", domain_info)


if __name__ == "__main__":
    main()
