"""Real peers for the integration tests: ldns-testns serving a test zone,
and Postfix's smtp-sink as a destination MX host.  One definition, shared
by test_dns, test_deliver_agent, test_relay, test_relay_outage and
test_segments."""

import glob
import os
import re
import shutil
import subprocess

import bwtest

TESTNS = shutil.which("ldns-testns") or "/usr/bin/ldns-testns"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class TestNS:
    """ldns-testns on a free loopback port (UDP and TCP), serving zone."""

    def __init__(self, logdir, zone, verbose=False):
        self.port = bwtest.free_port()
        self.log = open(os.path.join(logdir, "testns-%d.log" % self.port),
                        "w")
        self.p = subprocess.Popen(
            [TESTNS] + (["-v"] if verbose else []) +
            ["-p", str(self.port), zone],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        bwtest.wait_for(lambda: bwtest.port_open(self.port), 10,
                        what="ldns-testns on port %d" % self.port)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self.log.close()


class Sink:
    """Postfix's smtp-sink on addr:port: every message dumped to a file of
    its own (X-Client-Addr, X-Helo-Args, X-Rcpt-Args headers included),
    running counters (-c) to count sessions."""

    def __init__(self, base, addr, port=25, extra=(), tag="", backlog=256):
        self.addr, self.port = addr, port
        self.dir = os.path.join(base, "sink-%s-%d%s" % (addr, port, tag))
        os.makedirs(self.dir, exist_ok=True)
        self.cpath = os.path.join(self.dir, "counters")
        self.out = open(self.cpath, "w")
        self.p = subprocess.Popen(
            [SMTP_SINK, "-u", "root", "-c", "-d",
             os.path.join(self.dir, "msg-%H%M%S.")] + list(extra) +
            ["%s:%d" % (addr, port), str(backlog)],
            stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        bwtest.wait_for(lambda: bwtest.port_open(port, addr), 10,
                        what="smtp-sink on %s:%d" % (addr, port))

    def files(self):
        return sorted(glob.glob(os.path.join(self.dir, "msg-*")))

    def count(self):
        return len(self.files())

    def messages(self):
        out = []
        for f in self.files():
            try:
                with open(f, errors="replace") as fh:
                    out.append(fh.read())
            except FileNotFoundError:
                pass        # smtp-sink removes an aborted transaction's
        return out

    def rcpts(self):
        """Every X-Rcpt-Args address of every dumped message."""
        out = []
        for m in self.messages():
            out += re.findall(r"^X-Rcpt-Args: <([^>]*)>", m, re.M)
        return out

    def counter(self, name):
        """The last value of a -c counter (sess=, msg=, quit=)."""
        self.out.flush()
        with open(self.cpath, errors="replace") as f:
            text = f.read()
        n = 0
        for w in re.split(r"[\s\r\n]+", text):
            if w.startswith(name + "="):
                try:
                    n = max(n, int(w[len(name) + 1:]))
                except ValueError:
                    pass
        return n

    def sessions(self):
        return self.counter("sess")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        if not self.out.closed:
            self.out.close()


def received(sink, tag, timeout=30):
    """Our Received: field (smtp-sink adds its own above it) of the
    message with Subject tag at sink, unfolded into one line."""
    def find():
        for m in sink.messages():
            if "Subject: %s\n" % tag in m.replace("\r\n", "\n"):
                return m
        return None
    m = bwtest.wait_for(find, timeout, what="message %s at the sink" % tag)
    for hdr in re.findall(r"^Received: from .*?(?=^\S)",
                          m.replace("\r\n", "\n"), re.M | re.S):
        if "(Breakwater)" in hdr:
            return " ".join(hdr.split())
    raise AssertionError("no Received: of ours in %r" % m[:800])


def main_with_sink(t, name, config_text, run_cases):
    """A whole test program: every daemon with config_text(bw, sink_port),
    one smtp-sink on a free 127.0.0.1 port, run_cases(bw, sink); then every
    daemon must still run and no sanitizer may have spoken.  Ends with
    t.done()."""
    if not os.path.exists(SMTP_SINK):
        t.skip(name, "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater(name) as bw:
        sink = Sink(bw.base, "127.0.0.1", bwtest.free_port())
        try:
            bw.write_config(config_text(bw, sink.port))
            bw.start()
            run_cases(bw, sink)
        finally:
            sink.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()
