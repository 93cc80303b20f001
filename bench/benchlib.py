"""Shared code of the relay benchmarks (bench/relay, bench/parked).

A private Postfix instance that relays to loopback sinks, a private
Breakwater instance (all daemons, deliverd included) through the
integration harness tests/integration/bwtest.py, Postfix's smtp-sink as a
counting destination, a listener that accepts and closes (a dead
destination that counts connection attempts), smtp-source as the client,
and the machine description of the results files.  Everything started is
stopped by pid, also on errors.  See bench/README.md.
"""

import datetime
import os
import resource
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import netwait  # noqa: E402 - found through the path above
from netwait import free_port, port_open  # noqa: E402,F401 - API

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"

SENDER = "bench@sender.example"

# Upper bounds for every wait, in seconds.
START_TIMEOUT = 30
STOP_TIMEOUT = 30

PROG = "bench"


class BenchError(Exception):
    """Something broke: the run is not a measurement."""


def log(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.stderr.flush()


def wait_for(cond, timeout, what, interval=0.1):
    """netwait.wait_for, failing with BenchError."""
    return netwait.wait_for(cond, timeout, interval, what, error=BenchError)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run(cmd, timeout=60, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise BenchError("%s failed (%d): %s%s" % (
            " ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def stop_popen(p, what):
    """SIGTERM a child by pid, wait, SIGKILL if it lingers."""
    if p is None or p.poll() is not None:
        return
    try:
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        log("%s (pid %d) ignored SIGTERM, SIGKILL" % (what, p.pid))
        try:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


# ---------------------------------------------------------------------------
# Destinations.

# With --pin: the CPUs of the MTA under test (see pin_harness()).
MTA_CPUS = None


def pin_harness():
    """Keep the load generator, the sink and this script off the MTA's
    CPUs: they run on CPU 0, the MTA (started inside mta_cpus()) on the
    others.  On a 2-core machine each side gets one core, so the MTA's rate
    no longer depends on how much CPU the harness took (at 100 KiB
    smtp-sink alone needs about as much as Breakwater).  Returns a
    description for the report, or None when it cannot pin."""
    global MTA_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    harness, mta = cpus[0], cpus[1:]
    os.sched_setaffinity(0, {harness})
    MTA_CPUS = set(mta)
    return "smtp-source, smtp-sink and this script on CPU %d, the MTA on " \
        "CPU %s" % (harness, ",".join(str(c) for c in mta))


class mta_cpus:
    """Context: processes started inside it (and everything they fork
    later) run on the MTA's CPUs; a no-op without pin_harness()."""

    def __enter__(self):
        self.saved = None
        if MTA_CPUS:
            self.saved = os.sched_getaffinity(0)
            os.sched_setaffinity(0, MTA_CPUS)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            os.sched_setaffinity(0, self.saved)
        return False


class Sink:
    """Postfix's smtp-sink on 127.0.0.1:port, counting messages.

    smtp-sink -c rewrites a counter line ("sess=N quit=N mesg=N", ended by
    CR) whenever a session ends or a message is received; a thread reads
    them from the pipe and keeps the count and the time it last grew."""

    def __init__(self, port=None, backlog=1024):
        self.port = port or free_port()
        self.backlog = backlog
        self.proc = None
        self.lock = threading.Lock()
        self.messages = 0
        self.sessions = 0
        self.first = None       # monotonic time of the first message
        self.last = None        # monotonic time of the last message
        self.tls = None         # TLS sessions (TlsSink only)
        self.resumed = None     # of which resumed
        self.thread = None

    def command(self):
        cmd = [SMTP_SINK, "-c", "-m", str(self.backlog)]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        return cmd + ["127.0.0.1:%d" % self.port, str(self.backlog)]

    def start(self):
        cmd = self.command()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        try:
            wait_for(lambda: port_open(self.port) or self.proc.poll()
                     is not None, START_TIMEOUT, "smtp-sink on port %d"
                     % self.port)
        finally:
            if self.proc.poll() is not None:
                raise BenchError("smtp-sink exited with %s" %
                                 self.proc.poll())
        # port_open made one session; count from here.
        return self

    def _read(self):
        buf = b""
        rx = re.compile(rb"sess=(\d+) quit=\d+ mesg=(\d+)"
                        rb"(?: tls=(\d+) resumed=(\d+))?")
        f = self.proc.stdout
        while True:
            chunk = f.read1(65536) if hasattr(f, "read1") else f.read(4096)
            if not chunk:
                return
            now = time.monotonic()
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            for line in reversed(parts):
                m = rx.search(line)
                if m:
                    sess, mesg = int(m.group(1)), int(m.group(2))
                    with self.lock:
                        self.sessions = sess
                        if m.group(3) is not None:
                            self.tls = int(m.group(3))
                            self.resumed = int(m.group(4))
                        if mesg > self.messages:
                            if self.first is None:
                                self.first = now
                            self.messages = mesg
                            self.last = now
                    break

    def count(self):
        with self.lock:
            return self.messages

    def snapshot(self):
        with self.lock:
            return self.messages, self.first, self.last

    def wait_count(self, n, timeout, stall=None):
        """Wait until n messages arrived; returns the monotonic time the
        n-th arrived.  stall: give up when the count does not grow for
        that many seconds."""
        deadline = time.monotonic() + timeout
        seen, seen_at = -1, time.monotonic()
        while time.monotonic() < deadline:
            m, _f, last = self.snapshot()
            if m >= n:
                return last
            if m != seen:
                seen, seen_at = m, time.monotonic()
            elif stall and time.monotonic() - seen_at > stall:
                break
            if self.proc.poll() is not None:
                raise BenchError("smtp-sink exited with %s" %
                                 self.proc.poll())
            time.sleep(0.05)
        raise BenchError("sink on port %d got %d of %d messages" % (
            self.port, self.count(), n))

    def tls_counts(self):
        with self.lock:
            return self.sessions, self.tls, self.resumed

    def stop(self):
        stop_popen(self.proc, "smtp-sink")
        self.proc = None


# bench/tlsload (built by bench/Makefile.am): the STARTTLS client and sink.
TLSLOAD = "bench/tlsload"


def tlsload_path(builddir):
    return os.path.join(builddir, TLSLOAD) if builddir else None


class TlsSink(Sink):
    """tlsload sink: smtp-sink's job with STARTTLS offered (cert, key), and
    the same counter line plus the TLS sessions and resumptions seen."""

    def __init__(self, tlsload, cert, key, port=None, backlog=1024):
        Sink.__init__(self, port, backlog)
        self.tlsload = tlsload
        self.cert = cert
        self.key = key

    def command(self):
        return [self.tlsload, "sink", "-c", self.cert, "-k", self.key,
                "-b", str(self.backlog), "127.0.0.1:%d" % self.port]


def make_tls_cert(directory, key_type="rsa2048"):
    """One certificate and key for every TLS party of a run (the MTAs'
    receivers and the sink), made with the openssl CLI."""
    cert = os.path.join(directory, "bench-cert.pem")
    key = os.path.join(directory, "bench-key.pem")
    newkey = {"rsa2048": ["-newkey", "rsa:2048"],
              "ec256": ["-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1"]}[key_type]
    run(["openssl", "req", "-x509"] + newkey + [
        "-nodes", "-keyout", key, "-out", cert, "-days", "30",
        "-subj", "/CN=mx.bench.test"], timeout=60)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o600)
    return cert, key


def tls_client(tlsload, port, messages, sessions, size, timeout, rcpt,
               resume=True):
    """smtp_source() with STARTTLS: tlsload client to completion; returns
    (start, end, (handshakes, resumed))."""
    cmd = [tlsload, "client", "-l", str(size), "-m", str(messages),
           "-s", str(sessions), "-f", SENDER, "-t", rcpt,
           "-M", "client.bench.test"]
    if not resume:
        cmd.append("-R")
    cmd.append("127.0.0.1:%d" % port)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchError("tlsload client did not finish within %ds" %
                         timeout)
    t1 = time.monotonic()
    m = re.search(r"TLS handshakes (\d+), resumed (\d+)", r.stderr)
    if r.returncode != 0 or m is None:
        raise BenchError("tlsload client failed (%d): %s" % (
            r.returncode, (r.stderr or r.stdout)[-2000:]))
    return t0, t1, (int(m.group(1)), int(m.group(2)))


class DeadListener:
    """A dead destination that still counts: accepts each TCP connection
    and closes it at once, without a greeting.  The time of every
    accepted connection is kept."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.sock = None
        self.times = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = None

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(1024)
        s.settimeout(0.2)
        self.sock = s
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        while not self.stopping:
            try:
                c, _a = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.times.append(time.monotonic())
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
            except OSError:
                pass

    def attempts(self, since=None, until=None):
        with self.lock:
            return [t for t in self.times
                    if (since is None or t >= since) and
                    (until is None or t <= until)]

    def stop(self):
        self.stopping = True
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# ---------------------------------------------------------------------------
# Client.

def smtp_source(port, messages, sessions, size, timeout, rcpt,
                keepalive=False):
    """Run smtp-source to completion; returns (start, end) monotonic."""
    cmd = [
        SMTP_SOURCE, "-4", "-l", str(size), "-m", str(messages),
        "-s", str(sessions), "-f", SENDER, "-t", rcpt,
        "-M", "client.bench.test"]
    if keepalive:
        cmd.append("-d")
    cmd.append("127.0.0.1:%d" % port)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchError("smtp-source did not finish within %ds" % timeout)
    t1 = time.monotonic()
    if r.returncode != 0 or "fatal" in r.stderr or "error" in r.stderr:
        raise BenchError("smtp-source failed (%d): %s" % (
            r.returncode, (r.stderr or r.stdout)[-2000:]))
    return t0, t1


def median_of(repeat, run_one):
    """Run a measurement repeat times; the median by rate, or the first
    failure.  Each run is on a fresh instance (run_one's job)."""
    runs = []
    for i in range(repeat):
        r = run_one(i)
        if r.error:
            return r
        runs.append(r)
    runs.sort(key=lambda r: r.rate)
    best = runs[len(runs) // 2]
    if repeat > 1:
        best.note = "median of %d: %s msg/s%s" % (repeat, "/".join(
            "%.0f" % r.rate for r in runs), "; " + best.note if best.note
            else "")
        # the per-second series is printed for the median run only: the
        # stall count of every run, so that a stall in another shows
        stalls = [getattr(r, "stall_seconds", None) for r in runs]
        if all(x is not None for x in stalls):
            best.note += "; seconds below half the median, each run: " + \
                "/".join("%d" % x for x in stalls)
            best.stall_seconds = max(stalls)
    return best


def _proc_cpu(pid):
    """CPU seconds (user + system) of one live process, 0 if gone (or
    None: no such process)."""
    if pid is None:
        return 0.0
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_table():
    """{pid: (ppid, CPU seconds of the process and of the children it
    reaped)} of every process."""
    tck = os.sysconf("SC_CLK_TCK")
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # utime, stime, cutime, cstime
        table[int(d)] = (int(fields[1]),
                         sum(int(x) for x in fields[11:15]) / tck)
    return table


def proc_tree(roots):
    """Every pid under roots, the roots included."""
    kids = {}
    for pid, (ppid, _cpu) in _proc_table().items():
        kids.setdefault(ppid, []).append(pid)
    out, stack = set(), list(roots)
    while stack:
        p = stack.pop()
        if p in out:
            continue
        out.add(p)
        stack.extend(kids.get(p, ()))
    return out


def tree_memory(roots):
    """{'Rss': kB, 'Pss': kB} summed over roots and every process under
    them (/proc/PID/smaps_rollup; a process gone meanwhile counts 0)."""
    out = {"Rss": 0, "Pss": 0}
    for p in proc_tree(roots):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in out:
                        out[k] += int(v.split()[0])
        except OSError:
            pass
    return out


def tree_cpu(roots):
    """CPU seconds of the processes under roots, the roots included, with
    the children they reaped: an MTA's own CPU whatever else the machine
    runs (Postfix's smtpd and smtp processes come and go; master reaps
    them, so their time moves into its cutime and is still counted)."""
    table = _proc_table()
    kids = {}
    for pid, (ppid, _cpu) in table.items():
        kids.setdefault(ppid, []).append(pid)
    seen = set()
    stack = [r for r in roots if r in table]
    total = 0.0
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        total += table[p][1]
        stack.extend(kids.get(p, ()))
    return total


def _machine_cpu():
    """(busy, all) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    tck = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq + steal
    return busy / tck, (busy + idle + iowait) / tck


class Timeline:
    """Every second of a timed run: messages at the sink and the machine's
    idle CPU (issue 14: a stall is a second far below the run's median
    while messages still wait).  A thread samples until stop()."""

    def __init__(self, sink, interval=1.0):
        self.sink = sink
        self.interval = interval
        self.samples = []       # (monotonic, sink count, busy s, all s)
        self.stopping = threading.Event()
        self.thread = None

    def _sample(self):
        b, a = _machine_cpu()
        self.samples.append((time.monotonic(), self.sink.count(), b, a))

    def _run(self):
        nxt = time.monotonic()
        while not self.stopping.is_set():
            self._sample()
            nxt += self.interval
            self.stopping.wait(max(nxt - time.monotonic(), 0))

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self._sample()

    def seconds(self, target):
        """[(delivered/s, idle fraction)] of every whole interval before
        the sink reached target (while messages still waited)."""
        out = []
        for (t0, n0, b0, a0), (t1, n1, b1, a1) in zip(self.samples,
                                                     self.samples[1:]):
            if n1 >= target or t1 - t0 < self.interval * 0.5:
                break
            idle = 1 - (b1 - b0) / (a1 - a0) if a1 > a0 else 0.0
            out.append(((n1 - n0) / (t1 - t0), idle))
        return out

    def text(self, target):
        """One line: the median second, the slowest, the seconds below half
        the median, the median idle; then the series."""
        secs = self.seconds(target)
        if len(secs) < 3:
            return "per second: run too short (%d s)" % len(secs), 0
        rates = sorted(r for r, _i in secs)
        med = rates[len(rates) // 2]
        low = [r for r, _i in secs if r < med / 2]
        idles = sorted(i for _r, i in secs)
        line = ("per second (%d s): median %.0f msg/s, slowest %.0f, %d s "
                "below half the median; idle median %.0f%%, max %.0f%%" % (
                    len(secs), med, rates[0], len(low),
                    idles[len(idles) // 2] * 100, idles[-1] * 100))
        series = " ".join("%.0f/%.0f%%" % (r, i * 100) for r, i in secs)
        return line + "\n        series (msg/s/idle): " + series, len(low)


class CpuMeter:
    """Where the CPU of a timed run went, from the kernel's own counters:
    the whole machine (/proc/stat), the sink (its /proc/PID/stat) and
    smtp-source (this process's reaped children); sink_pid None: no sink
    (bench/accept).  The MTA is charged with
    the rest, which also holds this script's polling and kernel threads
    (disk writeback), so the MTA figure is an upper bound."""

    def __init__(self, sink_pid, mta_roots=None):
        """mta_roots: the MTA's top processes (a list of pids, read at
        start and stop) for its own CPU beside the machine's rest."""
        self.sink_pid = sink_pid
        self.mta_roots = mta_roots
        self.start_vals = None
        self.own0 = None
        self.result = None

    @staticmethod
    def _children():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def start(self):
        self.start_vals = (_machine_cpu(), _proc_cpu(self.sink_pid),
                           self._children())
        if self.mta_roots is not None:
            self.own0 = tree_cpu(self.mta_roots)

    def stop(self, messages):
        (b0, a0), s0, c0 = self.start_vals
        b1, a1 = _machine_cpu()
        sink = _proc_cpu(self.sink_pid) - s0
        source = self._children() - c0
        busy, total = b1 - b0, a1 - a0
        n = max(messages, 1)
        self.result = {
            "mta_ms": max(busy - sink - source, 0) * 1000 / n,
            "sink_ms": sink * 1000 / n,
            "source_ms": source * 1000 / n,
            "idle": (total - busy) / total if total > 0 else 0.0,
            "own_ms": None,
        }
        if self.mta_roots is not None:
            self.result["own_ms"] = max(tree_cpu(self.mta_roots) -
                                        self.own0, 0) * 1000 / n
        return self.result

    def text(self):
        r = self.result
        if r is None:
            return ""
        own = "" if r["own_ms"] is None else " (own processes %.2f)" % \
            r["own_ms"]
        return "cpu ms/msg: mta %.2f%s sink %.2f source %.2f, idle " \
            "%.0f%%" % (r["mta_ms"], own, r["sink_ms"], r["source_ms"],
                        100 * r["idle"])


# ---------------------------------------------------------------------------
# Postfix: a private instance in a temp directory, relaying to sinks.

POSTFIX_MAIN_CF = """\
# Private Postfix instance written by %(prog)s; see bench/README.md.
compatibility_level = 3.6
config_directory = %(etc)s
queue_directory = %(spool)s
data_directory = %(data)s
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains = %(domains)s
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
maillog_file_prefixes = %(dir)s
maillog_file = %(maillog)s
smtpd_recipient_restrictions =
    permit_mynetworks
    reject_unauth_destination
# Routes: each benchmark domain to its loopback sink.
transport_maps = inline:{ %(transports)s }
# Sized for the load, as an admin would for 200 concurrent clients and
# a fast destination.
default_process_limit = %(proclimit)d
default_destination_concurrency_limit = %(conc)d
smtp_destination_concurrency_limit = %(conc)d
relay_destination_concurrency_limit = %(conc)d
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
smtpd_client_event_limit_exceptions = 0.0.0.0/0
in_flow_delay = 0s
smtpd_error_sleep_time = 0s
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
%(extra)s
"""

POSTFIX_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:%(port)d inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
tlsproxy  unix  -       -       n       -       0       tlsproxy
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

QUEUE_SUBDIRS = ("maildrop", "incoming", "active", "deferred", "hold",
                 "corrupt")


class Postfix:
    name = "Postfix"

    def __init__(self, top, routes, proclimit=300, conc=100, extra=""):
        """routes: {domain: port on 127.0.0.1}."""
        self.dir = os.path.join(top, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        self.port = free_port()
        self.routes = routes
        self.proclimit = proclimit
        self.conc = conc
        self.extra = extra
        self.started = False
        self.master_pid = None

    def setup(self):
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(os.path.dirname(self.dir), 0o755)
        os.chmod(self.dir, 0o755)
        os.chmod(self.spool, 0o755)
        shutil.chown(self.data, "postfix", "postfix")
        transports = ", ".join("%s=smtp:[127.0.0.1]:%d" % (d, p)
                               for d, p in sorted(self.routes.items()))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN_CF % {
                "prog": PROG, "etc": self.etc, "spool": self.spool,
                "data": self.data, "maillog": self.maillog,
                "domains": " ".join(sorted(self.routes)), "dir": self.dir,
                "transports": transports, "proclimit": self.proclimit,
                "conc": self.conc, "extra": self.extra})
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF % {"port": self.port})
        run([POSTFIX, "-c", self.etc, "check"], timeout=120)

    def start(self):
        if port_open(self.port):
            raise BenchError("postfix: port %d already in use" % self.port)
        # From here on stop() runs "postfix stop", even if start fails.
        self.started = True
        run([POSTFIX, "-c", self.etc, "start"], timeout=START_TIMEOUT)
        pidfile = os.path.join(self.spool, "pid", "master.pid")

        def master():
            with open(pidfile) as f:
                pid = int(f.read().strip())
            return pid if alive(pid) else None
        self.master_pid = wait_for(master, START_TIMEOUT, "postfix master")
        wait_for(lambda: port_open(self.port), START_TIMEOUT,
                 "postfix smtpd port %d" % self.port)

    def stop(self):
        if not self.started:
            return
        self.started = False
        r = run([POSTFIX, "-c", self.etc, "stop"], timeout=STOP_TIMEOUT,
                check=False)
        if r.returncode != 0:
            log("postfix stop failed: %s%s" % (r.stdout, r.stderr))
        pid = self.master_pid
        if pid is not None:
            deadline = time.monotonic() + STOP_TIMEOUT
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid):
                log("postfix master %d still running, SIGKILL" % pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not os.environ.get("BW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def pids(self):
        """The top of the MTA's process tree (CpuMeter)."""
        return [self.master_pid] if self.master_pid else []

    def queued(self):
        """Messages in the queue: files under the queue directories
        (no scan of the contents; cheap enough for 100,000 files)."""
        n = 0
        for sub in QUEUE_SUBDIRS:
            for _root, _dirs, files in os.walk(os.path.join(self.spool,
                                                            sub)):
                n += len(files)
        return n

    def flush(self):
        """What an admin runs once a destination is back: retry the
        deferred queue now (postqueue -f)."""
        run([POSTQUEUE, "-c", self.etc, "-f"], timeout=120)

    def diag(self):
        try:
            with open(self.maillog, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        bad = [x for x in lines if re.search(
            r"(warning|error|fatal|panic|reject):", x)]
        return "\n".join(["--- postfix maillog (problems)"] + bad[-15:] +
                         ["--- postfix maillog (tail)"] + lines[-10:])


# ---------------------------------------------------------------------------
# Breakwater: every daemon from the build tree, through the test harness.

BW_PROCS = ["controld", "queued", "dnscached", "smtpd", "deliverd"]


def find_builddir(arg, srcdir):
    cands = [arg, os.environ.get("BW_BUILDDIR"),
             os.path.join(srcdir, "build"),
             os.path.join(os.path.dirname(srcdir), "build"), srcdir]
    for c in cands:
        if c and all(os.access(os.path.join(c, b), os.X_OK)
                     for b in ("smtpd/smtpd", "queued/queued",
                               "deliverd/deliverd", "ctl/controld",
                               "ctl/bwctl")):
            return os.path.abspath(c)
    return None


def build_has_sanitizers(builddir):
    try:
        with open(os.path.join(builddir, "config.status"),
                  errors="replace") as f:
            return "enable-sanitizers" in f.read()
    except OSError:
        return False


def import_bwtest(builddir, srcdir):
    os.environ["BW_BUILDDIR"] = builddir
    os.environ.setdefault("BW_SRCDIR", srcdir)
    sys.path.insert(0, os.path.join(srcdir, "tests", "integration"))
    import bwtest  # noqa: E402 - needs BW_BUILDDIR set first
    return bwtest


BW_CONFIG = """\
# Written by %(prog)s; see bench/README.md.
hostname mx.bench.test
smtpd_max_connections_per_ip %(per_ip)d
smtpd_max_connections %(sessions)d
%(routes)s
%(extra)s
listener private {
    address 127.0.0.1
    port %(port)d
    type private
    relay_networks 127.0.0.0/8
%(listener_extra)s}
"""


class Breakwater:
    name = "Breakwater"

    def __init__(self, bwtest, routes, extra="", max_sessions=1000,
                 listener_extra=""):
        """routes: {domain: port on 127.0.0.1}; extra: config lines;
        listener_extra: lines inside the listener block."""
        self.bwtest = bwtest
        self.routes = routes
        self.extra = extra
        self.listener_extra = listener_extra
        self.max_sessions = max_sessions
        self.bw = None

    @property
    def port(self):
        return self.bw.private_port

    def setup(self):
        self.bw = self.bwtest.Breakwater("bench")
        routes = "\n".join("route %s -> [127.0.0.1]:%d" % (d, p)
                           for d, p in sorted(self.routes.items()))
        self.bw.write_config(BW_CONFIG % {
            "prog": PROG, "sessions": self.max_sessions,
            # the row's maximum (config_limits.c)
            "per_ip": min(self.max_sessions, 100000), "port": self.port,
            "routes": routes, "extra": self.extra,
            "listener_extra": self.listener_extra})

    def start(self):
        try:
            self.bw.start(procs=BW_PROCS, wait=False)
            self.bw.wait_ready(BW_PROCS, timeout=START_TIMEOUT)
            wait_for(lambda: port_open(self.port), START_TIMEOUT,
                     "Breakwater smtpd port %d" % self.port)
        except Exception as e:  # noqa: BLE001 - reported with the logs
            raise BenchError("Breakwater did not start: %s\n%s" % (
                e, self.diag()))

    def diag(self):
        if self.bw is None:
            return ""
        return "\n".join("--- %s\n%s" % (p, self.bw.log_tail(p))
                         for p in BW_PROCS)

    def stop(self):
        if self.bw is None:
            return
        bw, self.bw = self.bw, None
        try:
            bw.stop_all()
        finally:
            for p in bw.procs.values():
                if p.poll() is None:
                    try:
                        os.kill(p.pid, signal.SIGKILL)
                        p.wait(timeout=5)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        pass
            if bw.sanitizer_reports:
                log("sanitizer reports:\n" +
                    "\n".join(bw.sanitizer_reports[:20]))
            if os.environ.get("BW_KEEP"):
                log("kept %s" % bw.base)
            else:
                shutil.rmtree(bw.base, ignore_errors=True)

    def pids(self):
        """The daemons the harness started (CpuMeter)."""
        return [p.pid for p in self.bw.procs.values()] if self.bw else []

    def status(self):
        doc = self.bw.bwctl("status", json_out=True, timeout=30)
        return {p["name"]: p for p in doc.get("processes", [])}

    def queue(self):
        return self.bw.bwctl("show", "queue", json_out=True, timeout=60)

    def queued(self):
        return self.queue()["total"]["messages"]

    def domain(self, d):
        return self.bw.bwctl("show", "domain", d, json_out=True,
                             timeout=60)


# ---------------------------------------------------------------------------
# Machine description.

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def fs_info(path):
    return sh(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", "--target",
               path]) or "?"


def fsync_probe(directory, count=200, size=10240):
    """Median and p99 latency of write(size) + fsync, in ms."""
    path = os.path.join(directory, "fsync-probe")
    lat = []
    buf = b"x" * size
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            os.write(fd, buf)
            os.fsync(fd)
            lat.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return "%.1f GiB" % (int(line.split()[1]) / 1048576)
    except OSError:
        pass
    return "?"


def machine_info(builddir, top):
    """Ordered (key, value) pairs for the head of a results file."""
    info = [
        ("date", datetime.datetime.now().astimezone().isoformat(
            timespec="seconds")),
        ("host", platform.node()),
        ("nproc", str(os.cpu_count())),
        ("cpu", cpu_model()),
        ("memory", mem_total()),
        ("kernel", "%s %s" % (platform.system(), platform.release())),
        ("postfix", sh([POSTCONF, "-d", "-h", "mail_version"]) or "?"),
    ]
    if builddir:
        info.append(("breakwater build", builddir))
        info.append(("sanitizers",
                     "yes (numbers are not representative)"
                     if build_has_sanitizers(builddir) else "no"))
    info.append(("spool fs", fs_info(top)))
    try:
        med, p99 = fsync_probe(top)
        info.append(("fsync 10 KiB", "median %.3f ms, p99 %.3f ms "
                     "(write+fsync in the spools' file system)" % (med, p99)))
    except OSError as e:
        info.append(("fsync 10 KiB", "probe failed: %s" % e))
    return info


def format_info(info):
    return ["%-20s %s" % (k + ":", v) for k, v in info]


def default_out(srcdir, name):
    return os.path.join(srcdir, "bench", "results", "%s-%s.txt" % (
        name, datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))


def write_results(text, out):
    sys.stdout.write(text)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    log("results written to %s" % out)


def make_top(name):
    top = tempfile.mkdtemp(prefix="bench-%s-" % name)
    os.chmod(top, 0o755)    # Postfix's daemons run as mail_owner
    return top


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def install_signals():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
