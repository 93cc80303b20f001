#!/usr/bin/python3
"""Domain debug: `bwctl debug DOMAIN on [DURATION]` makes every deliverd
worker write the SMTP dialogue of each session to DOMAIN into
debug_dir/DOMAIN.log (BASEDIR/log/debug in development mode), commands
and replies, never the message: the body is one line "<body N bytes>".

Next hops, all on fixed addresses of 127.0.25.0/24 with free ports:
smtp-sink for debug.test (DATA) and other.test, the CHUNKING sink
(chunksink.py) for chunk.test (BDAT), aiosmtpd with STARTTLS for
tls.test, a scripted server whose replies carry control bytes for
odd.test, smtp-sink again for a.sub.test (*.sub.test).

Cases: the listing is empty; debug.test on: `bwctl debug` (text and
--json) lists it with its time left and file; a delivery to debug.test
and one to other.test at the same time: the transcript has the connect
line, greeting, EHLO, MAIL, RCPT, DATA, the body as its size, the final
dot, the replies and QUIT, with the queue id, and no byte of the message
(a unique marker in the subject and body is absent); other.test gets no
file; BDAT chunks as size lines; STARTTLS with the TLS version and
cipher; control bytes in replies escaped; *.sub.test covers a.sub.test
only; a deliverd worker restarted while debug is on gets the table and
writes; after `off` a delivery adds nothing; a 3s debug ends by itself
(controld forgets it, the workers stop writing); usage errors; the 32-row
bound; malformed tables from a fake controld end its link; and, as
root, one production case: the transcript belongs to _bwdeliver, group
bwadmin, mode 0640, in a 2750 directory.
"""

import os
import re
import signal
import smtplib
import socket
import stat
import subprocess
import threading
import time
import uuid

import bwtest
import peers
from chunksink import ChunkSink

t = bwtest.TAP()

NET = "127.0.25."           # debug's /24 (out-spec.md)
IDLE_KEEP = 1               # deliver_idle_keep: QUIT follows soon
SHORT = 3                   # seconds of the debug that ends by itself


def debug_dir(bw):
    return os.path.join(bw.base, "log", "debug")


def transcript(bw, name):
    try:
        with open(os.path.join(debug_dir(bw), name + ".log"),
                  errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def send(bw, rcpt, marker):
    """One message through the private listener; the marker is in the
    subject and the body."""
    msg = ("From: <s@sender.test>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n"
           "body line with %s\r\n.leading dot\r\n" % (rcpt, marker, marker))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
        s.sendmail("s@sender.test", [rcpt], msg)


def wait_closed(bw, name, n, timeout=20):
    """Until the transcript shows n closed sessions (QUIT after the idle
    keep)."""
    return bwtest.wait_for(
        lambda: len(re.findall(r" \* closed$", transcript(bw, name),
                               re.M)) >= n,
        timeout, what="%d closed sessions in %s.log:\n%s" % (
            n, name, transcript(bw, name)[-3000:]))


class OddServer(threading.Thread):
    """SMTP with control bytes and a long line in its replies."""

    def __init__(self, addr):
        super().__init__(daemon=True)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, 0))
        self.port = self.ls.getsockname()[1]
        self.ls.listen(8)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.got = 0
        self.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.session(c)
            except OSError:
                pass
            finally:
                c.close()

    def session(self, c):
        c.settimeout(15)
        f = c.makefile("rb")
        c.sendall(b"220 odd\x1b[31mgreeting\x01 \\ ready\r\n")
        data = False
        while True:
            line = f.readline(4096)
            if not line:
                return
            if data:
                if line == b".\r\n":
                    data = False
                    self.got += 1
                    c.sendall(b"250 ok " + b"x" * 1500 + b"\r\n")
                continue
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                c.sendall(b"250-odd\r\n250 PIPELINING\r\n")
            elif cmd == b"DATA":
                data = True
                c.sendall(b"354 go\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 ok\tt\xffab\r\n")

    def stop(self):
        self.stopping = True
        self.join(timeout=5)
        self.ls.close()


class TlsSink:
    """aiosmtpd with STARTTLS (a self-signed certificate)."""

    def __init__(self, base, addr):
        import ssl
        from aiosmtpd.controller import Controller

        class Handler:
            def __init__(self):
                self.n = 0

            async def handle_DATA(self, server, session, envelope):
                self.n += 1
                return "250 2.0.0 taken"

        cert, key = bwtest.make_cert(base, "tls.test")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        self.handler = Handler()
        self.port = bwtest.free_port(addr)
        self.c = Controller(self.handler, hostname=addr, port=self.port,
                            tls_context=ctx, require_starttls=False,
                            ready_timeout=10)
        self.c.start()

    def stop(self):
        self.c.stop()


def config(bw, hops):
    routes = "".join("route %s -> [%s]:%d\n" % (d, a, p)
                     for d, (a, p) in hops.items())
    return bwtest.default_config(bw, extra="""deliver_idle_keep %ds
dns_servers 127.0.0.1:%d
deliverd_workers 2
%s""" % (IDLE_KEEP, bwtest.free_port(), routes))


def run_cases(bw, sinks, hops):
    marker = "DBGMARK-%s" % uuid.uuid4().hex

    def empty_list():
        r = bw.bwctl("debug")
        assert "no domain in debug" in r.stdout, r.stdout
        assert debug_dir(bw) in r.stdout, r.stdout
        j = bw.bwctl("debug", json_out=True)
        assert j["debug"] == [] and j["max"] == 32, j
    t.run("bwctl debug: nothing in debug, the directory named", empty_list)

    def switch_on():
        r = bw.bwctl("debug", "Debug.Test.", "on")
        assert "debug debug.test on for 10m00s" in r.stdout, r.stdout
        path = os.path.join(debug_dir(bw), "debug.test.log")
        assert path in r.stdout, r.stdout
        j = bw.bwctl("debug", json_out=True)
        rows = {x["domain"]: x for x in j["debug"]}
        assert set(rows) == {"debug.test"}, j
        assert 590 <= rows["debug.test"]["left"] <= 600, j
        assert rows["debug.test"]["file"] == path, j
        txt = bw.bwctl("debug").stdout
        assert re.search(r"^debug\.test\s+(9m5\ds|10m00s)\s+\d{4}-.*"
                         + re.escape(path) + "$", txt, re.M), txt
    t.run("bwctl debug D on: listed with 10 minutes left and its file "
          "(text and --json), the name lower-cased", switch_on)

    def dialogue():
        ths = [threading.Thread(target=send, args=(bw, r, marker))
               for r in ("u1@debug.test", "u2@other.test")]
        for th in ths:
            th.start()
        for th in ths:
            th.join(60)
        bwtest.wait_for(lambda: any(marker in m for m in
                                    sinks["debug.test"].messages()), 30,
                        what="the message at debug.test's sink")
        bwtest.wait_for(lambda: any(marker in m for m in
                                    sinks["other.test"].messages()), 30,
                        what="the message at other.test's sink")
        wait_closed(bw, "debug.test", 1)
        tr = transcript(bw, "debug.test")
        addr, port = hops["debug.test"]
        lines = tr.splitlines()
        rx = (r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z conn=\d+\.\d+ "
              r"qid=([0-9A-F]{16}|-) [<>*] ")
        bad = [ln for ln in lines if not re.match(rx, ln)]
        assert not bad, bad
        want = [
            r"\* session worker=\d+ domain=debug\.test gateway=default relay=",
            r"\* connected to %s port %d \(MX %s\) from 127\.0\.0\.1 "
            r"port \d+" % (re.escape(addr), port, re.escape(addr)),
            r"< 220 smtp-sink ESMTP$",
            r"> EHLO mx\.test\.example$",
            r"< 250-PIPELINING$",
            r"qid=[0-9A-F]{16} > MAIL FROM:<s@sender\.test>",
            r"qid=[0-9A-F]{16} > RCPT TO:<u1@debug\.test>",
            r"> DATA$",
            r"< 354 ",
            r"> <body \d+ bytes>$",
            r"> \.$",
            r"qid=[0-9A-F]{16} < 250 2\.0\.0 Ok",
            r"> QUIT$",
            r"< 221 ",
            r"\* closed$",
        ]
        pos = 0
        for w in want:
            for i in range(pos, len(lines)):
                if re.search(w, lines[i]):
                    pos = i + 1
                    break
            else:
                raise AssertionError("/%s/ not in order in:\n%s" % (w, tr))
        assert marker not in tr, tr
        assert "leading dot" not in tr and "Subject" not in tr, tr
        assert "other.test" not in tr, tr
        assert not os.path.exists(os.path.join(debug_dir(bw),
                                               "other.test.log"))
        assert sorted(os.listdir(debug_dir(bw))) == ["debug.test.log"], \
            os.listdir(debug_dir(bw))
        mode = stat.S_IMODE(os.stat(os.path.join(
            debug_dir(bw), "debug.test.log")).st_mode)
        assert mode & 0o007 == 0, oct(mode)
    t.run("a delivery to debug.test is written down in order (connect, "
          "greeting, EHLO, MAIL, RCPT, DATA, <body N bytes>, dot, replies, "
          "QUIT), no byte of the message; other.test delivered at the same "
          "time writes nothing", dialogue)

    def bdat():
        bw.bwctl("debug", "chunk.test", "on", "5m")
        send(bw, "u@chunk.test", marker)
        bwtest.wait_for(lambda: sinks["chunk.test"].count() >= 1, 30,
                        what="the message at the chunk sink")
        wait_closed(bw, "chunk.test", 1)
        tr = transcript(bw, "chunk.test")
        assert re.search(r"> BDAT (\d+) LAST\n.* > <body \1 bytes>\n", tr), \
            tr
        assert re.search(r"< 250 ", tr), tr
        assert marker not in tr and "DATA" not in tr, tr
    t.run("BDAT: each chunk as 'BDAT N LAST' and '<body N bytes>', never "
          "its octets", bdat)

    def tls():
        bw.bwctl("debug", "tls.test", "on")
        send(bw, "u@tls.test", marker)
        bwtest.wait_for(lambda: sinks["tls.test"].handler.n >= 1, 30,
                        what="the message at the TLS sink")
        wait_closed(bw, "tls.test", 1)
        tr = transcript(bw, "tls.test")
        for w in (r"< 250-STARTTLS", r"> STARTTLS\n", r"< 220 ",
                  r"\* TLS established: TLSv1\.[23] cipher \S+\n",
                  r"> MAIL FROM:"):
            assert re.search(w, tr), (w, tr)
        assert tr.count("> EHLO ") == 2, tr
        assert marker not in tr, tr
    t.run("STARTTLS: the command, its reply, 'TLS established' with the "
          "version and cipher, EHLO again", tls)

    def odd():
        bw.bwctl("debug", "odd.test", "on")
        send(bw, "u@odd.test", marker)
        bwtest.wait_for(lambda: sinks["odd.test"].got >= 1, 30,
                        what="the message at the odd server")
        wait_closed(bw, "odd.test", 1)
        tr = transcript(bw, "odd.test")
        assert "< 220 odd\\x1b[31mgreeting\\x01 \\x5c ready\n" in tr, tr
        assert "< 250 ok\\x09t\\xffab\n" in tr, tr
        m = re.search(r"< 250 ok (x+) \[\.\.\. (\d+) bytes\]\n", tr)
        assert m and int(m.group(2)) == 1507, tr[-2000:]
        assert len(m.group(1)) < 1500, len(m.group(1))
        assert "\x1b" not in tr and "\x01" not in tr and "\t" not in tr
    t.run("reply lines escaped (control bytes, backslash, 8-bit as \\xHH) "
          "and cut with their size", odd)

    def wildcard():
        bw.bwctl("debug", "*.sub.test", "on")
        send(bw, "u@a.sub.test", marker)
        bwtest.wait_for(lambda: any(marker in m for m in
                                    sinks["a.sub.test"].messages()), 30,
                        what="the message at a.sub.test's sink")
        wait_closed(bw, "_.sub.test", 1)
        tr = transcript(bw, "_.sub.test")
        assert re.search(r"session worker=\d+ domain=a\.sub\.test ", tr), tr
        assert "RCPT TO:<u@a.sub.test>" in tr, tr
        j = bw.bwctl("debug", json_out=True)
        assert "*.sub.test" in {x["domain"] for x in j["debug"]}, j
        r = bw.bwctl("debug", "sub.test", "off", check=False)
        assert r.returncode == 1 and "not in debug" in r.stderr, r
    t.run("*.sub.test covers a.sub.test (file _.sub.test.log), not "
          "sub.test", wildcard)

    def worker_restart():
        before = transcript(bw, "debug.test").count("* closed")
        bw.kill("deliverd", signal.SIGTERM)
        bw.start_one("deliverd")
        bw.wait_ready(["controld", "queued", "deliverd"])
        send(bw, "u3@debug.test", marker + "-restart")
        bwtest.wait_for(lambda: any(marker + "-restart" in m for m in
                                    sinks["debug.test"].messages()), 30,
                        what="the message after the restart")
        wait_closed(bw, "debug.test", before + 1)
        assert "RCPT TO:<u3@debug.test>" in transcript(bw, "debug.test")
    t.run("deliverd restarted while debug is on: its workers get the table "
          "when they link and write", worker_restart)

    def off():
        r = bw.bwctl("debug", "debug.test", "off")
        assert "debug debug.test off" in r.stdout, r.stdout
        assert "debug.test" not in bw.bwctl("debug").stdout
        size = os.path.getsize(os.path.join(debug_dir(bw), "debug.test.log"))
        n = len(sinks["debug.test"].messages())
        send(bw, "u4@debug.test", marker + "-off")
        bwtest.wait_for(lambda: len(sinks["debug.test"].messages()) > n, 30,
                        what="the message after off")
        time.sleep(IDLE_KEEP + 2)       # its QUIT, had it been written
        assert os.path.getsize(os.path.join(
            debug_dir(bw), "debug.test.log")) == size, \
            transcript(bw, "debug.test")[-2000:]
    t.run("bwctl debug D off: the next delivery adds nothing", off)

    def expires():
        r = bw.bwctl("debug", "other.test", "on", "%ds" % SHORT)
        assert "on for %ds" % SHORT in r.stdout, r.stdout
        send(bw, "u5@other.test", marker + "-short")
        wait_closed(bw, "other.test", 1)
        bwtest.wait_for(lambda: "other.test" not in bw.bwctl(
            "debug").stdout, SHORT + 5, what="other.test gone from the list")
        time.sleep(0.5)
        size = os.path.getsize(os.path.join(debug_dir(bw), "other.test.log"))
        n = len(sinks["other.test"].messages())
        send(bw, "u6@other.test", marker + "-late")
        bwtest.wait_for(lambda: len(sinks["other.test"].messages()) > n, 30,
                        what="the message after the expiry")
        time.sleep(IDLE_KEEP + 2)
        assert os.path.getsize(os.path.join(
            debug_dir(bw), "other.test.log")) == size, \
            transcript(bw, "other.test")[-2000:]
        bw.wait_log("controld", r"debug domain=other\.test off: its time "
                    r"ran out")
    t.run("debug D on %ds ends by itself: listed no more, the next delivery "
          "adds nothing" % SHORT, expires)

    def usage():
        for args, code, text in (
                (("x..test", "on"), 2, "invalid domain"),
                (("x_y.test", "on"), 2, "invalid domain"),
                (("x.test", "on", "25h"), 2, "longer than the maximum of "
                 "24h"),
                (("x.test", "on", "0s"), 2, "at least 1s"),
                (("x.test", "on", "5d"), 2, "not a duration"),
                (("x.test", "off", "5m"), 2, "usage: debug"),
                (("x.test",), 2, "usage: debug"),
                (("x.test", "off"), 1, "not in debug")):
            r = bw.bwctl("debug", *args, check=False)
            assert r.returncode == code and text in r.stderr, (args, r)
    t.run("bad domains, durations and forms: usage errors; off of a domain "
          "not in debug: exit 1", usage)

    def full():
        names = ["f%d.test" % i for i in range(40)]
        on = len(bw.bwctl("debug", json_out=True)["debug"])
        for n in names[:32 - on]:
            bw.bwctl("debug", n, "on", "1m")
        r = bw.bwctl("debug", names[-1], "on", check=False)
        assert r.returncode == 1 and "32 domains" in r.stderr, r
        for n in names[:32 - on]:
            bw.bwctl("debug", n, "off")
    t.run("at most 32 domains at once: the 33rd is refused", full)

    def hostile_table():
        """Last: controld is replaced by a fake one (test_deliver_agent's)
        and restarted empty at the end."""
        import struct
        import test_deliver_agent as tda
        from imsgproto import HDR, T

        def table(rows, n=None):
            body = b"".join(struct.pack("=Q256s", ms, p.encode())
                            for ms, p in rows)
            return struct.pack("=II", len(rows) if n is None else n, 0) + \
                body

        def send_until_dropped(fc, payload):
            fc.s.sendall(HDR.pack(T["DEBUG_TABLE"], len(payload), 0,
                                  os.getpid(), 0) + payload)
            try:
                while True:
                    fc.frame()      # STATUS_REQ, whatever comes first
            except EOFError:
                return
        bw.stop("controld")
        fc = tda.FakeControld(bw.rundir)
        try:
            fc.wait_linked()
            send_until_dropped(fc, table([], n=33))
            bw.wait_log("deliverd", r"worker=\d debug: table of 33 rows in "
                        r"8 bytes")
            for rows in ([(5000, "../etc")], [(0, "x.test")],
                         [(25 * 3600 * 1000, "x.test")],
                         [(5000, "x.test")] * 2 + [(5000, "*.*.test")]):
                fc.wait_linked()
                send_until_dropped(fc, table(rows))
            assert len(re.findall(r"debug: bad table row",
                                  bw.log("deliverd"))) == 4, \
                bw.log_tail("deliverd", 20)
            assert not os.path.exists(os.path.join(bw.base, "log", "etc.log"))
            # a good table keeps the link: DOMAIN_INFO is answered on it
            fc.wait_linked()
            fc.s.sendall(HDR.pack(T["DEBUG_TABLE"], 8 + 264, 0, os.getpid(),
                                  0) + table([(60000, "Fake.Test")]))
            frames = fc.request(91, "", "fake.test")
            assert frames[-1][0] == T["DOMAIN_INFO_END"], frames
            assert bw.running("deliverd")
        finally:
            fc.close()
            bw.start_one("controld")
            bw.wait_ready(["controld", "queued", "deliverd"])
        r = bw.bwctl("debug")
        assert "no domain in debug" in r.stdout, r.stdout
    t.run("a malformed DEBUG_TABLE (row count past the frame, a pattern "
          "that is no domain, no time or more than 24h left) ends the link "
          "with one line; deliverd runs on and links again; a good one "
          "keeps the link", hostile_table)


def production_case():
    """deliverd as production runs it (root, no -b, test_production.py's
    harness): debug_dir made _bwdeliver's, group bwadmin, 2750; a
    transcript 0640 of the same owner and group."""
    import test_production as tp
    why = None
    if os.geteuid() != 0:
        why = "needs root (system users, privilege drop)"
    elif not os.path.exists(tp.SYSUSERS):
        why = "%s not installed" % tp.SYSUSERS
    name = "production: the transcript is _bwdeliver's, group bwadmin, " \
        "0640, in a 2750 debug_dir"
    if why:
        t.skip(name, why)
        return

    class ProdDebug(tp.Production):
        def __init__(self):
            super().__init__()
            self.config_path = os.path.join(self.base, "etc",
                                            "breakwater.conf")
            self.debug = os.path.join(self.base, "log", "debug")
            for proc in tp.PROCS:
                self.argv[proc] = [os.path.join(bwtest.BUILDDIR,
                                                bwtest.DAEMONS[proc]),
                                   "-d", "-f", self.config_path]

        def write_config(self, sink_port, _reject_port=None):
            os.makedirs(os.path.dirname(self.config_path))
            os.makedirs(self.rundir, mode=0o755)
            os.chmod(os.path.dirname(self.rundir), 0o755)
            with open(self.config_path, "w") as f:
                f.write("""hostname mx.prod.test
runtime_dir %(run)s
chroot_dir %(run)s
spool_dir %(spool)s
debug_dir %(debug)s
admin_group %(admin)s
deliverd_workers 2
deliver_idle_keep 1s
dns_servers 127.0.0.1:%(dns)d
route prod.test -> [%(net)s9]:%(sink)d
listener private {
    address 127.0.0.1
    port %(port)d
    type private
    relay_networks 127.0.0.0/8
}
""" % {"run": self.rundir, "spool": self.spool, "debug": self.debug,
                    "admin": tp.ADMIN_GROUP, "dns": bwtest.free_port(),
                    "net": NET, "sink": sink_port, "port": self.port})
            os.chmod(self.config_path, 0o644)

        def bwctl_argv(self, *args):
            return [os.path.join(bwtest.BUILDDIR, "ctl", "bwctl"), "-f",
                    self.config_path] + list(args)

    bw = ProdDebug()
    sink = None
    try:
        r = subprocess.run([tp.SYSUSERS, os.path.join(
            bwtest.SRCDIR, "init", "breakwater.sysusers.conf")],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        sink = peers.Sink(bw.base, NET + "9", bwtest.free_port(NET + "9"))
        bw.write_config(sink.port)
        bw.start()

        def case():
            import grp
            import pwd
            r = bw.bwctl("debug", "prod.test", "on")
            assert r.returncode == 0, r
            marker = "PRODMARK-%s" % uuid.uuid4().hex
            msg = "Subject: %s\r\n\r\n%s\r\n" % (marker, marker)
            with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
                s.sendmail("s@sender.test", ["u@prod.test"], msg)
            bwtest.wait_for(lambda: any(marker in m for m in
                                        sink.messages()), 30,
                            what="the message at the sink")
            path = os.path.join(bw.debug, "prod.test.log")
            bwtest.wait_for(lambda: os.path.exists(path) and
                            "* closed" in open(path).read(), 20,
                            what="the transcript")
            uid = pwd.getpwnam(tp.USERS["deliverd"]).pw_uid
            gid = grp.getgrnam(tp.ADMIN_GROUP).gr_gid
            d = os.stat(bw.debug)
            assert (d.st_uid, d.st_gid) == (uid, gid), (d.st_uid, d.st_gid)
            assert stat.S_IMODE(d.st_mode) == 0o2750, oct(d.st_mode)
            f = os.stat(path)
            assert (f.st_uid, f.st_gid) == (uid, gid), (f.st_uid, f.st_gid)
            assert stat.S_IMODE(f.st_mode) == 0o640, oct(f.st_mode)
            with open(path) as fh:
                text = fh.read()
            assert "RCPT TO:<u@prod.test>" in text and marker not in text, \
                text
        t.run(name, case)
    except Exception as e:  # noqa: BLE001 - set-up failed: one case says so
        t.ok(False, "production start for the debug case", "%r\n%s" % (
            e, bw.diag("deliverd")))
    finally:
        tp.stop_production(t, bw, sink)


def main():
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("domain debug", "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater("debug") as bw:
        sinks, hops, stop = {}, {}, []
        try:
            for i, d in enumerate(("debug.test", "other.test",
                                   "a.sub.test"), 1):
                a = NET + str(i)
                sinks[d] = peers.Sink(bw.base, a, bwtest.free_port(a))
                stop.append(sinks[d])
                hops[d] = (a, sinks[d].port)
            sinks["chunk.test"] = ChunkSink(NET + "4")
            stop.append(sinks["chunk.test"])
            hops["chunk.test"] = (NET + "4", sinks["chunk.test"].port)
            sinks["tls.test"] = TlsSink(bw.base, NET + "5")
            stop.append(sinks["tls.test"])
            hops["tls.test"] = (NET + "5", sinks["tls.test"].port)
            sinks["odd.test"] = OddServer(NET + "6")
            stop.append(sinks["odd.test"])
            hops["odd.test"] = (NET + "6", sinks["odd.test"].port)
            bw.write_config(config(bw, hops))
            bw.start()
            run_cases(bw, sinks, hops)
        finally:
            for s in stop:
                s.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    production_case()
    t.done()


if __name__ == "__main__":
    main()
