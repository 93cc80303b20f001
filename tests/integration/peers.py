"""Real peers for the integration tests: ldns-testns serving a test zone,
Postfix's smtp-sink as a destination MX host, and for DNSSEC (test_dane)
NSD serving zones signed with ldns-signzone behind a validating Unbound.  One definition, shared
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


# ---- DNSSEC: an authoritative server, a validating resolver, signing ----

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
LDNS_KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"


def dnssec_tools_missing():
    """The first DNSSEC tool not installed, or None."""
    for p in (NSD, UNBOUND, LDNS_KEYGEN, LDNS_SIGNZONE):
        if not os.path.exists(p):
            return p
    return None


def sign_zone(dirname, origin, path):
    """Sign the zone file at path (origin without the trailing dot) with a
    fresh ECDSA P-256 key (ldns-keygen -k: the key signs the DNSKEY RRset
    and the zone alike); returns (signed file, trust anchor) where the
    anchor is the key's DS record as text, for Unbound's trust-anchor."""
    r = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k",
                        origin + "."], cwd=dirname, capture_output=True,
                       text=True, timeout=60, check=True)
    base = os.path.join(dirname, r.stdout.strip())
    subprocess.run([LDNS_SIGNZONE, "-n", "-o", origin + ".", path, base],
                   cwd=dirname, capture_output=True, text=True, timeout=60,
                   check=True)
    with open(base + ".ds") as f:
        ds = " ".join(f.read().split())
    for ext in (".key", ".private", ".ds"):
        os.unlink(base + ext)
    return path + ".signed", ds


class Nsd:
    """NSD, authoritative for zones {origin: zone file}, on a free
    127.0.0.1 port (UDP and TCP), as the invoking user, in the
    foreground; its files under dirname."""

    def __init__(self, dirname, zones):
        self.dir = dirname
        self.port = bwtest.free_port()
        os.makedirs(dirname, exist_ok=True)
        conf = os.path.join(dirname, "nsd.conf")
        with open(conf, "w") as f:
            f.write("server:\n"
                    "  ip-address: 127.0.0.1@%d\n"
                    "  port: %d\n"
                    "  username: \"\"\n"
                    "  chroot: \"\"\n"
                    "  zonesdir: \"%s\"\n"
                    "  database: \"\"\n"
                    "  pidfile: \"%s/nsd.pid\"\n"
                    "  xfrdfile: \"%s/xfrd.state\"\n"
                    "  xfrdir: \"%s\"\n"
                    "  zonelistfile: \"%s/zone.list\"\n"
                    "  cookie-secret-file: \"%s/cookiesecrets.txt\"\n"
                    "  logfile: \"%s/nsd.log\"\n"
                    "  server-count: 1\n"
                    "  verbosity: 1\n"
                    "  hide-version: yes\n"
                    "remote-control:\n"
                    "  control-enable: no\n" %
                    ((self.port, self.port) + (dirname,) * 7))
            for origin, zfile in zones.items():
                f.write("zone:\n  name: \"%s.\"\n  zonefile: \"%s\"\n" %
                        (origin, zfile))
        self.out = open(os.path.join(dirname, "nsd.out"), "w")
        self.p = subprocess.Popen([NSD, "-d", "-c", conf], stdout=self.out,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        bwtest.wait_for(lambda: self.p.poll() is None and
                        bwtest.port_open(self.port), 20,
                        what="nsd on port %d" % self.port)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        self.out.close()


class Unbound:
    """Unbound, validating, on a free 127.0.0.1 port: each zone of
    stubs {origin: nsd port} is a stub zone served by NSD on loopback
    (do-not-query-localhost: no), anchors are trust-anchor lines (a
    signed zone's DS); nothing else resolves (no root hints are used: a
    name outside the stubs fails).  A zone without an anchor is
    insecure (there is no root anchor above it)."""

    def __init__(self, dirname, stubs, anchors=(), verbosity=1):
        self.dir = dirname
        self.port = bwtest.free_port()
        os.makedirs(dirname, exist_ok=True)
        self.conf = os.path.join(dirname, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("server:\n"
                    "  interface: 127.0.0.1\n"
                    "  port: %d\n"
                    "  do-ip6: no\n"
                    "  username: \"\"\n"
                    "  chroot: \"\"\n"
                    "  directory: \"%s\"\n"
                    "  pidfile: \"%s/unbound.pid\"\n"
                    "  logfile: \"%s/unbound.log\"\n"
                    "  use-syslog: no\n"
                    "  do-daemonize: no\n"
                    "  num-threads: 1\n"
                    "  verbosity: %d\n"
                    "  val-log-level: 2\n"
                    "  access-control: 127.0.0.0/8 allow\n"
                    "  do-not-query-localhost: no\n"
                    "  module-config: \"validator iterator\"\n"
                    "  auto-trust-anchor-file: \"\"\n"
                    "  harden-dnssec-stripped: yes\n"
                    "  trust-anchor-signaling: no\n"
                    "  qname-minimisation: no\n"
                    "  cache-max-ttl: 5\n"
                    "  cache-max-negative-ttl: 5\n"
                    "  infra-host-ttl: 5\n"
                    "  val-bogus-ttl: 5\n"
                    "remote-control:\n"
                    "  control-enable: no\n" %
                    (self.port, dirname, dirname, dirname, verbosity))
            for a in anchors:
                f.write("server:\n  trust-anchor: \"%s\"\n" % a)
            # Unbound answers the special-use names (RFC 6761: test.,
            # invalid., ...) itself unless told not to
            for tld in sorted({o.split(".")[-1] for o in stubs}):
                f.write("server:\n  local-zone: \"%s.\" nodefault\n" % tld)
            for origin, port in stubs.items():
                f.write("stub-zone:\n  name: \"%s.\"\n"
                        "  stub-addr: 127.0.0.1@%d\n" % (origin, port))
        self.out = open(os.path.join(dirname, "unbound.out"), "w")
        self.p = subprocess.Popen([UNBOUND, "-d", "-c", self.conf],
                                  stdout=self.out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        bwtest.wait_for(lambda: self.p.poll() is None and
                        bwtest.port_open(self.port), 20,
                        what="unbound on port %d" % self.port)

    def log(self):
        try:
            with open(os.path.join(self.dir, "unbound.log"),
                      errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        self.out.close()
