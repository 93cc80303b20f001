"""Integration-test harness for Breakwater.

Starts the real daemons from $BW_BUILDDIR in development mode (a private base
directory under /tmp, all as the invoking user, loopback only), talks to them
with real clients, and stops every process it started, by pid.  Results are
printed as TAP so that automake's harness counts each case.

Typical use:

    import bwtest
    t = bwtest.TAP()
    with bwtest.Breakwater("basic") as bw:
        bw.start()
        t.run("plain session is accepted", lambda: check_plain(bw))
    t.done()

Every wait is bounded: wait_for() takes a timeout, subprocesses get one.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from netwait import free_port, port_open, wait_for  # noqa: F401 - API

BUILDDIR = os.environ.get("BW_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SRCDIR = os.environ.get("BW_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

# Where each daemon's binary lives in the build tree.
DAEMONS = {
    "controld": "ctl/controld",
    "queued": "queued/queued",
    "dnscached": "dnscached/dnscached",
    "smtpd": "smtpd/smtpd",
    "deliverd": "deliverd/deliverd",
}
# Start order: the servers others connect to first (peers reconnect with
# backoff anyway, this only shortens start-up).
START_ORDER = ["controld", "queued", "dnscached", "smtpd", "deliverd"]
# issue 2 suite: deliverd is a skeleton but still started, it must come up.
DEFAULT_PROCS = ["controld", "queued", "dnscached", "smtpd", "deliverd"]



def _terminated(signum, _frame):
    """SIGTERM (a runner's timeout, make killed) unwinds like an error: the
    with-blocks stop every daemon and peer the test started, by pid,
    instead of leaving them running after the test is gone."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)

SANITIZER_PATTERNS = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"SUMMARY: UndefinedBehaviorSanitizer)")

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CERTDIR = os.path.join(SRCDIR, "tests", "integration", "certs")


def imsg_catalog():
    """BW_IMSG_VERSION and {type name: number} from the source catalog, so
    that test clients speaking imsg follow the C side."""
    with open(os.path.join(SRCDIR, "common", "imsg_catalog.h")) as f:
        text = f.read()
    version = int(re.search(r"#define\s+BW_IMSG_VERSION\s+(\d+)",
                            text).group(1))
    body = re.search(r"enum bw_imsg_type \{(.*?)\};", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = [w.strip().split("=")[0].strip() for w in body.split(",")]
    types = {n: i for i, n in enumerate(x for x in names if x)}
    return version, types


def make_cert(directory, cn="localhost"):
    """Self-signed certificate and key for TLS tests (openssl CLI)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "30",
             "-subj", "/CN=%s" % cn], check=True, timeout=60,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class TAP:
    """Minimal TAP producer: one line per case, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def ok(self, cond, name, diag=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            if diag:
                for line in str(diag).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def run(self, name, func, *args, **kw):
        """Run one case; an exception (assert included) fails it."""
        try:
            func(*args, **kw)
        except Exception:  # noqa: BLE001 - a failing case, reported
            return self.ok(False, name, traceback.format_exc())
        return self.ok(True, name)

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))
        sys.stdout.flush()

    def done(self):
        # the suite's time budget: tools/check-all.sh lists the slowest
        print("# elapsed %.1f s" % (time.monotonic() - self.t0))
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


def default_config(bw, extra="", listeners=None):
    """A test configuration: a public listener accepting example.org and
    example.net, and a private one relaying for 127.0.0.0/8."""
    if listeners is None:
        listeners = """
listener public {
    address 127.0.0.1
    port %(public_port)d
    type public
    accept_domains example.org example.net
}
listener private {
    address 127.0.0.1
    port %(private_port)d
    type private
    relay_networks 127.0.0.0/8
}
""" % {"public_port": bw.public_port, "private_port": bw.private_port}
    return "hostname mx.test.example\n" + extra + "\n" + listeners


class Breakwater:
    """The suite running in a private base directory."""

    def __init__(self, name, keep=False):
        self.name = name
        self.base = tempfile.mkdtemp(prefix="bw-%s-" % name)
        self.logdir = os.path.join(self.base, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        self.public_port = free_port()
        self.private_port = free_port()
        self.config_path = os.path.join(self.base, "breakwater.conf")
        self.procs = {}     # name -> Popen
        self.logs = {}      # name -> open file
        self.keep = keep or bool(os.environ.get("BW_KEEP"))
        self.sanitizer_reports = []
        # True: the daemons and bwctl get no -f (the built-in default)
        self.builtin_config = False
        self.write_config(default_config(self))

    # -- configuration -------------------------------------------------
    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)
        return self.config_path

    @property
    def rundir(self):
        return os.path.join(self.base, "run")

    @property
    def spooldir(self):
        return os.path.join(self.base, "spool")

    def binary(self, proc):
        return os.path.join(BUILDDIR, DAEMONS[proc])

    # -- processes -------------------------------------------------------
    def start(self, procs=None, wait=True, extra_args=()):
        procs = procs or DEFAULT_PROCS
        for p in START_ORDER:
            if p in procs:
                self.start_one(p, extra_args=extra_args)
        if wait:
            self.wait_ready(procs)

    def start_one(self, proc, extra_args=(), env_extra=None):
        """env_extra: variables added to this process's environment (a
        fault-injection shim, say)."""
        if proc in self.procs and self.procs[proc].poll() is None:
            raise RuntimeError("%s already running" % proc)
        log = open(os.path.join(self.logdir, proc + ".log"), "a")
        env = dict(os.environ)
        env.update(env_extra or {})
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        conf = [] if self.builtin_config else ["-f", self.config_path]
        cmd = [self.binary(proc), "-d"] + conf + ["-b", self.base] + \
            list(extra_args)
        self.procs[proc] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True)
        self.logs[proc] = log
        return self.procs[proc]

    def pid(self, proc):
        return self.procs[proc].pid

    def running(self, proc):
        p = self.procs.get(proc)
        return p is not None and p.poll() is None

    def wait_ready(self, procs=None, timeout=20):
        procs = procs or DEFAULT_PROCS
        for p in procs:
            wait_for(lambda p=p: self._ready(p), timeout,
                     what="%s ready (log: %s)" % (p, self.log_tail(p)))
        # queued (re)started: every running smtpd and deliverd worker links
        # to it again (a worker in its reconnect backoff answers MAIL 451)
        if "queued" in procs and self.running("controld"):
            running = [p for p in DEFAULT_PROCS if self.running(p)]
            wait_for(lambda: self._linked(running), timeout,
                     what="daemons connected to queued")

    def _linked(self, procs):
        """Every started smtpd and deliverd worker has its queued link up:
        before that, MAIL gets 451 and no job can be delivered; and smtpd
        its dnscached link when dnscached runs: before that, a listener
        that looks up names answers tempfail at once."""
        try:
            st = self.bwctl("status", json_out=True, check=False)
        except Exception:
            return False
        if not isinstance(st, dict):
            return False
        seen = {p["name"]: p for p in st.get("processes", [])}
        for name, p in seen.items():
            base = name.split("[")[0]
            if base not in procs or base not in ("smtpd", "deliverd"):
                continue
            if p.get("state") != "up" or \
                    p.get("counters", {}).get("queued_up") != 1:
                return False
            if base == "smtpd" and "dnscached" in procs and \
                    p.get("counters", {}).get("dnscached_up", 1) != 1:
                return False
        return "smtpd" not in procs or \
            any(n.split("[")[0] == "smtpd" for n in seen)

    def _ready(self, proc):
        if not self.running(proc):
            raise RuntimeError("%s exited with %s" % (
                proc, self.procs[proc].poll()))
        if proc == "smtpd":
            return port_open(self.private_port) or port_open(self.public_port)
        sock = {"queued": "queued.sock", "controld": "control.sock",
                "dnscached": "dnscached.sock"}.get(proc)
        if sock:
            return os.path.exists(os.path.join(self.rundir, sock))
        return os.path.exists(os.path.join(self.rundir, proc, proc + ".pid"))

    def send_signal(self, proc, sig):
        p = self.procs[proc]
        if p.poll() is None:
            os.kill(p.pid, sig)

    def kill(self, proc, sig=signal.SIGKILL, timeout=10):
        """Send sig and wait for the process to end."""
        p = self.procs.get(proc)
        if p is None or p.poll() is not None:
            return None
        os.kill(p.pid, sig)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            return p.wait(timeout=5)

    def kill_all(self, sig=signal.SIGKILL):
        """Send sig to every process at once, then reap them."""
        live = [p for p in self.procs.values() if p.poll() is None]
        for p in live:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
        for p in live:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)

    def stop(self, proc, timeout=15):
        """SIGTERM, wait; returns the exit status (None if not running)."""
        rc = self.kill(proc, signal.SIGTERM, timeout)
        self._scan_sanitizer(proc)
        return rc

    def stop_all(self):
        for p in reversed(START_ORDER):
            if p in self.procs:
                self.stop(p)
        for f in self.logs.values():
            f.close()
        self.logs = {}

    def _scan_sanitizer(self, proc):
        text = self.log(proc)
        for line in text.splitlines():
            if SANITIZER_PATTERNS.search(line):
                self.sanitizer_reports.append("%s: %s" % (proc, line))

    def log(self, proc):
        path = os.path.join(self.logdir, proc + ".log")
        if proc in self.logs:
            self.logs[proc].flush()
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, proc, n=15):
        return "\n".join(self.log(proc).splitlines()[-n:])

    def wait_log(self, proc, pattern, timeout=10):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log(proc)), timeout,
                        what="/%s/ in %s log" % (pattern, proc))

    # -- clients -----------------------------------------------------------
    def bwctl(self, *args, json_out=False, check=True, timeout=30):
        """Run bwctl against this instance; JSON output parsed if asked."""
        cmd = [os.path.join(BUILDDIR, "ctl", "bwctl"), "-b", self.base] + \
            ([] if self.builtin_config else ["-f", self.config_path])
        if json_out:
            cmd.append("--json")
        cmd += list(args)
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("bwctl %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        if json_out and r.returncode == 0:
            return json.loads(r.stdout)
        return r

    # gauges that say a state of each worker: the lowest is what every
    # worker has (queued_up 1: every worker's link is up)
    STATE_GAUGES = ("queued_up", "dnscached_up", "pressure_level",
                    "max_connections", "config_generation")

    def counters(self, proc):
        """bwctl status counters of proc over its processes (deliverd[0],
        deliverd[1], smtpd[0], ... count as deliverd or smtpd): summed,
        but the STATE_GAUGES are the lowest of the workers."""
        st = self.bwctl("status", json_out=True)
        out = {}
        for p in st.get("processes", []):
            if p.get("name", "").split("[")[0] == proc:
                if p.get("state") != "up":
                    # a worker not linked to controld: its links are
                    # not known to be up
                    for k in self.STATE_GAUGES:
                        out[k] = 0
                for k, v in p.get("counters", {}).items():
                    if k in self.STATE_GAUGES:
                        out[k] = min(out.get(k, v), v)
                    else:
                        out[k] = out.get(k, 0) + v
        return out

    def swaks(self, *args, port=None, timeout=60):
        cmd = [SWAKS, "--server", "127.0.0.1", "--port",
               str(port or self.private_port), "--timeout", "30"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def raw(self, port=None, timeout=10, source=None):
        return RawSMTP(port or self.private_port, timeout=timeout,
                       source=source)

    # -- context manager -------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            sys.stderr.write("kept %s\n" % self.base)
        return False


class RawSMTP:
    """A plain socket SMTP client for protocol abuse: send bytes, read
    replies, nothing checked on our side."""

    def __init__(self, port, host="127.0.0.1", timeout=10, source=None):
        """source: the client's address (127.0.0.x: a distinct host)."""
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self, timeout=10):
        """One complete (possibly multi-line) reply: (code, text)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no reply; got %r" % self.buf)
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
                if not chunk:
                    if lines:
                        break
                    raise ConnectionError("closed; got %r" % self.buf)
                self.buf += chunk
            if b"\r\n" not in self.buf:
                break
            line, self.buf = self.buf.split(b"\r\n", 1)
            line = line.decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        code = int(lines[-1][:3]) if lines and lines[-1][:3].isdigit() else 0
        return code, "\n".join(l[4:] for l in lines)

    def cmd(self, line, timeout=10):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def closed(self, timeout=5):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()
