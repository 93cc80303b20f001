"""The host access table runs of bench/accept (see bench/README.md).

HAT run: the acceptance workload of bench/accept (smtp-source, one
message per connection) against Breakwater without a host access table
and with one -- a sender group of 10,000 networks written into the config
file and a reputation zone looked up for every connection -- on fresh
instances, alternating.  smtp-source connects from many loopback
addresses (srcbind.c), so that the per-host connection limit stays at its
default and every address has its own reputation answer.

Spam-wave run: a trusted client (a network group, no tarpit) sends one
message at a time, each on a new connection, and its latency is measured
without and then with a wave of low-score connections held in a tarpit
(tarpit_wave.py); smtpd's memory per tarpitted session from
/proc/PID/smaps_rollup.

The zone is served by ldns-testns on a loopback port, one entry per
source address the bench uses (it has no wildcards) and an NXDOMAIN for
anything else.  Breakwater only: Postfix's DNS lookups go through the
system resolver on port 53, which the bench does not touch, and it has no
tarpit by score.
"""

import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

import benchlib as bl

ZONE = "rep.bench.test"
TESTNS = shutil.which("ldns-testns") or "/usr/bin/ldns-testns"
BENCHDIR = os.path.dirname(os.path.abspath(__file__))

HAT_NETWORKS = 10000
HAT_SOURCE_OCTET = 16       # HAT run clients: 127.0.16.1, 127.0.16.2, ...
WAVE_SOURCE_OCTET = 32      # wave clients: 127.0.32.1, ...
TRUSTED = "127.0.3.1"       # the spam-wave run's trusted client
HOSTS_PER_OCTET = 250       # x.y.z.1 to x.y.z.250 per third octet
WAVE_PER_SOURCE = 20        # wave sessions per address (limit: 50)

HAT_ANSWER = "127.0.1.0"    # +1.0: an ordinary host, no tarpit
WAVE_ANSWER = "127.1.8.0"   # -8.0
TRUSTED_ANSWER = "127.0.5.0"  # +5.0
WAVE_TTL = 300              # s: a wave's sources are looked up once

SHORT_RETRIES = 2           # a timed run shorter than --hat-seconds
RAMP_TIMEOUT = 120          # s for the wave to hold all its sessions
PROBE_TIMEOUT = 60          # s for one trusted message
START_TIMEOUT = 30


def sources(octet, n):
    """n loopback addresses 127.0.X.Y, Y from 1 to 250, X from octet."""
    return ["127.0.%d.%d" % (octet + i // HOSTS_PER_OCTET,
                             1 + i % HOSTS_PER_OCTET) for i in range(n)]


def hat_networks(n, seed=11):
    """n networks that do not overlap and hold no loopback address: each
    in a /24 of its own, most the whole /24, some a single host (a
    blocklist's mix).  Fixed seed: every run gets the same table."""
    rng = random.Random(seed)
    seen = set()
    out = []
    while len(out) < n:
        a = rng.randint(1, 223)
        if a in (10, 127):
            continue
        key = (a, rng.randint(0, 255), rng.randint(0, 255))
        if key in seen:
            continue
        seen.add(key)
        if rng.random() < 0.15:
            out.append("%d.%d.%d.%d/32" % (key + (rng.randint(1, 254),)))
        else:
            out.append("%d.%d.%d.0/24" % key)
    return out


def network_lines(nets, per_line=8):
    return "\n".join("    network " + " ".join(nets[i:i + per_line])
                     for i in range(0, len(nets), per_line))


# ---------------------------------------------------------------------------
# Peers: the zone's DNS server, the source-address shim, the wave client.

ENTRY = """ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR AA RD RA NOERROR
SECTION QUESTION
%(q)s IN A
SECTION ANSWER
%(q)s %(ttl)d IN A %(a)s
ENTRY_END
"""

NXDOMAIN = """ENTRY_BEGIN
MATCH opcode qtype subdomain
ADJUST copy_id copy_query
REPLY QR AA RD RA NXDOMAIN
SECTION QUESTION
%(zone)s. IN A
SECTION AUTHORITY
%(zone)s. 600 IN SOA ns.%(zone)s. hostmaster.%(zone)s. 1 3600 600 86400 60
ENTRY_END
"""


class DnsServer:
    """ldns-testns on a free loopback port serving ZONE: an A record per
    (address, answer), an NXDOMAIN for any other name of the zone."""

    def __init__(self, top, answers, ttl):
        self.port = bl.free_port()
        self.path = os.path.join(top, "zone-%d.data" % self.port)
        with open(self.path, "w") as f:
            f.write("; written by bench/accept (hatbench.py)\n")
            for addr, a in answers:
                q = ".".join(reversed(addr.split("."))) + "." + ZONE + "."
                f.write(ENTRY % {"q": q, "ttl": ttl, "a": a})
            f.write(NXDOMAIN % {"zone": ZONE})
        self.log = open(self.path + ".log", "w")
        self.proc = subprocess.Popen(
            [TESTNS, "-p", str(self.port), self.path], stdout=self.log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        try:
            bl.wait_for(lambda: bl.port_open(self.port) or
                        self.proc.poll() is not None, START_TIMEOUT,
                        "ldns-testns on port %d" % self.port)
            if self.proc.poll() is not None:
                raise bl.BenchError("ldns-testns exited with %s" %
                                    self.proc.poll())
        except bl.BenchError:
            self.stop()
            raise

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        bl.stop_popen(self.proc, "ldns-testns")
        self.log.close()


def build_srcbind(top):
    """Compile srcbind.c into top; its path."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise bl.BenchError("no C compiler for bench/srcbind.c")
    out = os.path.join(top, "srcbind.so")
    bl.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-o", out,
            os.path.join(BENCHDIR, "srcbind.c"), "-ldl"], timeout=120)
    return out


def srcbind_env(so, addrs, port):
    env = dict(os.environ)
    env.update({"LD_PRELOAD": so, "BENCH_SRC_ADDRS": ",".join(addrs),
                "BENCH_SRC_PORT": str(port)})
    return env


class WaveClient:
    """tarpit_wave.py as a child process; a thread keeps its last status
    line and the medians it reported."""

    def __init__(self, port, sessions, addrs, ramp, size, rcpt, jitter):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BENCHDIR, "tarpit_wave.py"),
             "--port", str(port), "--sessions", str(sessions),
             "--sources", ",".join(addrs), "--ramp", str(ramp),
             "--size", str(size), "--rcpt", rcpt, "--jitter", str(jitter)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, start_new_session=True, text=True)
        self.lock = threading.Lock()
        self.last = {}
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    @property
    def pid(self):
        return self.proc.pid

    def _read(self):
        for line in self.proc.stdout:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.last = doc
                self.lines.append(doc)

    def status(self):
        with self.lock:
            return dict(self.last)

    def since(self, t):
        """Status lines after the client's time t."""
        with self.lock:
            return [x for x in self.lines if x.get("t", 0) > t]

    def check(self):
        if self.proc.poll() is not None:
            raise bl.BenchError("tarpit_wave.py exited with %s: %s" % (
                self.proc.poll(), self.proc.stderr.read()[-2000:]))

    def stop(self):
        bl.stop_popen(self.proc, "tarpit_wave.py")
        self.thread.join(timeout=10)


# ---------------------------------------------------------------------------
# Meters.

def proc_cpu(pid):
    """CPU seconds of pid and every process under it (smtpd's and
    deliverd's workers), reaped children included."""
    return bl.tree_cpu([pid])


def smaps(pid):
    """{'Rss': kB, 'Pss': kB} of smtpd's supervisor and its workers."""
    return bl.tree_memory([pid])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_cpu():
    """CPU seconds of the machine since boot: (processes: user, nice and
    system; interrupts: irq and softirq, which no process is charged
    with -- loopback TCP runs there; everything)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    tck = os.sysconf("SC_CLK_TCK")
    return ((user + nice + system) / tck, (irq + softirq) / tck,
            sum(v) / tck)


def kthreads_cpu():
    """CPU seconds of the kernel's threads (children of kthreadd): disk
    writeback and journal commits of the spool, ksoftirqd."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if d == "2" or fields[1] == "2":
            total += int(fields[11]) + int(fields[12])
    return total / tck


class ProcMeter:
    """CPU seconds over an interval: of named processes, of this script's
    reaped children (smtp-source, bwctl), of this script, of the kernel
    (its threads and interrupts) and of the whole machine.  'others' is
    the processes' time that none of these spent: the machine's other
    users (builds and tests of other sessions), short-lived ones
    included."""

    def __init__(self, pids):
        self.pids = dict(pids)

    @staticmethod
    def _rusage(who):
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    def _sample(self):
        return ({k: proc_cpu(p) for k, p in self.pids.items()},
                self._rusage(resource.RUSAGE_CHILDREN),
                self._rusage(resource.RUSAGE_SELF), kthreads_cpu(),
                machine_cpu(), time.monotonic())

    def start(self):
        self.s0 = self._sample()
        self.load0 = loadavg()
        return self

    def stop(self):
        p0, c0, m0, k0, (u0, i0, a0), t0 = self.s0
        p1, c1, m1, k1, (u1, i1, a1), t1 = self._sample()
        r = {k: p1[k] - p0[k] for k in p1}
        r["client"] = c1 - c0
        r["script"] = m1 - m0
        r["kernel"] = (k1 - k0) + (i1 - i0)
        r["wall"] = t1 - t0
        busy = (u1 - u0) + (i1 - i0)
        r["idle"] = 1 - busy / (a1 - a0) if a1 > a0 else 0.0
        r["others"] = max((u1 - u0) - (k1 - k0) -
                          sum(p1[k] - p0[k] for k in p1) - r["client"] -
                          r["script"], 0.0)
        r["load"] = "%s -> %s" % (self.load0, loadavg())
        self.result = r
        return r


def wait_quiet(args):
    """With --quiet F: wait (at most --quiet-max s) until the machine is
    at least F idle over 5 s, so that a point is not measured while
    another user compiles; returns a note for the report."""
    if not args.quiet:
        return ""
    t0 = time.monotonic()
    while True:
        b0, a0 = bl._machine_cpu()
        time.sleep(5)
        b1, a1 = bl._machine_cpu()
        idle = 1 - (b1 - b0) / (a1 - a0) if a1 > a0 else 1.0
        waited = time.monotonic() - t0
        if idle >= args.quiet:
            return "waited %.0f s for %.0f%% idle" % (waited, 100 * idle)
        if waited >= args.quiet_max:
            bl.log("machine still busy (%.0f%% idle) after %.0f s: "
                   "measuring anyway" % (100 * idle, waited))
            return "NOT QUIET: %.0f%% idle after %.0f s" % (100 * idle,
                                                            waited)


BW_DAEMONS = ("smtpd", "queued", "dnscached", "controld")


def daemon_pids(inst):
    return {p: inst.bw.pid(p) for p in BW_DAEMONS}


def counters(inst):
    """{process: counters} from bwctl status; smtpd's workers (smtpd[N])
    summed as "smtpd"."""
    out = {}
    for k, v in inst.status().items():
        c = v.get("counters", {})
        if k.startswith("smtpd["):
            acc = out.setdefault("smtpd", {})
            for name, val in c.items():
                acc[name] = acc.get(name, 0) + val
        else:
            out[k] = c
    return out


def delta(after, before, proc, key):
    a = after.get(proc, {}).get(key)
    b = before.get(proc, {}).get(key)
    return None if a is None or b is None else a - b


def spread(values):
    """(median, min, max, (max - min) / median)."""
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return med, lo, hi, (hi - lo) / med if med else 0.0


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def has_reputation(bwctl, top):
    """Whether the build knows reputation_zone (issue 11's reputation
    lookups landed): bwctl config check on a config that uses it."""
    path = os.path.join(top, "probe.conf")
    with open(path, "w") as f:
        f.write("hostname probe.bench.test\nreputation_zone %s\n"
                "listener p {\n    address 127.0.0.1\n    port 2525\n"
                "    type public\n    accept_domains example.org\n"
                "    reputation yes\n}\n" % ZONE)
    r = subprocess.run([bwctl, "-b", top, "-f", path, "config", "check",
                        path], capture_output=True, text=True, timeout=60)
    os.unlink(path)
    return r.returncode == 0


# ---------------------------------------------------------------------------
# HAT run.

def hat_config(with_hat, ns_port, reputation, nets):
    """(global lines, listener lines) of one side of the HAT run."""
    glob = ["dns_servers 127.0.0.1:%d" % ns_port]
    lis = ["reverse_dns no"]
    if not with_hat:
        return "\n".join(glob), "\n    ".join(lis)
    if reputation:
        glob.append("reputation_zone %s" % ZONE)
        lis.append("reputation yes")
    glob += ["policy blocked {", "    behaviour reject", "}",
             "policy accepted {", "    behaviour accept", "}",
             "# %d networks, none of them holds a client of the bench"
             % len(nets),
             "sender_group BLOCKLIST {", "    policy blocked",
             network_lines(nets), "}"]
    lis += ["sender_groups BLOCKLIST", "default_policy accepted"]
    return "\n".join(glob), "\n    ".join(lis)


class HatResult:
    def __init__(self, variant, rep):
        self.variant = variant
        self.rep = rep
        self.messages = 0
        self.warmup = 0
        self.seconds = None
        self.rate = None
        self.queued = None
        self.cpu = None         # ProcMeter result
        self.dns = {}           # dnscached counter deltas
        self.conns = None       # smtpd connections in the timed run
        self.rep_lookups = None
        self.check = ""         # the connect line of one client
        self.short = False      # shorter than --hat-seconds
        self.quiet = ""         # wait_quiet()'s note
        self.dropped = ""       # retried()'s note
        self.error = None

    @property
    def ok(self):
        return self.error is None and self.rate is not None


def hat_measure(ctx, with_hat, rep):
    """One instance, warm-up and timed run; ctx holds the run's setup."""
    a = ctx.args
    res = HatResult("HAT" if with_hat else "no HAT", rep)
    glob, lis = hat_config(with_hat, ctx.dns.port, ctx.reputation,
                           ctx.nets)
    inst = ctx.make_bw(glob, lis)
    try:
        inst.setup()
        inst.start()
        env = srcbind_env(ctx.srcbind, ctx.addrs, inst.port)
        res.warmup = a.warmup if a.warmup is not None else \
            max(2000, 2 * a.hat_sessions)
        el = ctx.smtp_source(inst.port, res.warmup, a.hat_sessions, a.size,
                             a.keepalive, a.run_timeout, env=env)
        # the warm-up's rate includes the start: aim long; then the
        # fastest timed run so far says how many make --hat-seconds
        rate = max(ctx.rates) * 1.1 if ctx.rates else \
            res.warmup / el * 1.1
        n = a.messages or int(rate * a.hat_seconds)
        n = max(n - n % 100, 1000)
        res.quiet = wait_quiet(a)
        before = counters(inst)
        bl.log("HAT run, %s, %d sessions from %d addresses: %d messages "
               "(warm-up %d)" % (res.variant, a.hat_sessions,
                                 len(ctx.addrs), n, res.warmup))
        pids = daemon_pids(inst)
        pids["ldns-testns"] = ctx.dns.pid
        meter = ProcMeter(pids).start()
        res.seconds = ctx.smtp_source(inst.port, n, a.hat_sessions, a.size,
                                      a.keepalive, a.run_timeout, env=env)
        res.cpu = meter.stop()
        after = counters(inst)
        res.messages = n
        res.rate = n / res.seconds
        ctx.rates.append(res.rate)
        if res.seconds < a.hat_seconds:
            res.short = True
        res.conns = delta(after, before, "smtpd", "connections")
        res.rep_lookups = delta(after, before, "smtpd", "rep_lookups")
        for k in ("queries", "hits", "misses", "upstream_queries",
                  "timeouts"):
            res.dns[k] = delta(after, before, "dnscached", k)
        want = res.warmup + n
        try:
            bl.wait_for(lambda: inst.queued() == want, 60,
                        "queue to hold %d messages" % want, 0.5)
        except bl.BenchError:
            pass
        res.queued = inst.queued()
        if res.queued != want:
            res.error = "queue holds %s messages, %d were accepted" % (
                res.queued, want)
        lines = [x for x in inst.bw.log("smtpd").splitlines()
                 if " connect addr=%s " % ctx.addrs[0] in x]
        res.check = lines[-1].split(" connect ", 1)[-1] if lines else \
            "(no connect line for %s)" % ctx.addrs[0]
        if with_hat and "group=none" not in res.check and lines:
            res.error = "a client matched a group: %s" % res.check
        if with_hat and ctx.reputation and lines and \
                "score=+1.0" not in res.check:
            res.error = "the client's score is not +1.0: %s" % res.check
    except bl.BenchError as e:
        res.error = str(e)
    except Exception as e:  # noqa: BLE001 - reported, the run goes on
        res.error = "%s: %s" % (type(e).__name__, e)
    finally:
        if res.error and "did not start" not in res.error:
            try:
                res.error += "\n" + inst.diag()
            except Exception:  # noqa: BLE001 - diagnostics only
                pass
        try:
            inst.stop()
        except Exception as e:  # noqa: BLE001
            if res.error is None:
                res.error = "stop failed: %s" % e
    if res.error:
        bl.log("HAT run, %s: ERROR %s" % (res.variant,
                                          res.error.splitlines()[0]))
    else:
        bl.log("HAT run, %s: %.0f msg/s (%d in %.2fs)" % (
            res.variant, res.rate, res.messages, res.seconds))
    return res


def cpu_text(r, n):
    """Where the CPU of a timed run went, in ms per message."""
    c = r.cpu
    bw = sum(c[p] for p in BW_DAEMONS)
    return ("bw %.3f (smtpd %.3f queued %.3f dnscached %.3f) dns %.3f "
            "client %.3f kernel %.3f ms/msg; others %.0f%% of a core, "
            "idle %.0f%%, load %s" % (
                bw * 1000 / n, c["smtpd"] * 1000 / n,
                c["queued"] * 1000 / n, c["dnscached"] * 1000 / n,
                c["ldns-testns"] * 1000 / n, c["client"] * 1000 / n,
                c["kernel"] * 1000 / n, 100 * c["others"] / c["wall"],
                100 * c["idle"], c["load"]))


def others_share(*cpus):
    """The largest share of a core that other users took in these timed
    runs (ProcMeter results)."""
    return max(c["others"] / c["wall"] for c in cpus if c and c["wall"])


def retried(ctx, measure, cpus):
    """With --quiet: measure() again (a fresh instance) while another user
    took more than --others-max of a core during the timed run, at most
    --quiet-retries times; the result kept notes the runs dropped."""
    a = ctx.args
    res = measure()
    dropped = []
    while a.quiet and res.error is None and len(dropped) < \
            a.quiet_retries and others_share(*cpus(res)) > a.others_max:
        dropped.append(others_share(*cpus(res)))
        bl.log("others took %.0f%% of a core: measuring again" % (
            100 * dropped[-1]))
        res = measure()
    if dropped:
        res.dropped = "measured again after %d run(s) where others took " \
            "%s of a core" % (len(dropped), "/".join(
                "%.0f%%" % (100 * x) for x in dropped))
    return res


def run_hat(ctx):
    """Alternating instances without and with the table, --repeat of
    each; returns the report's lines."""
    a = ctx.args
    results = []
    for rep in range(a.repeat):
        order = (False, True) if rep % 2 == 0 else (True, False)
        for with_hat in order:
            r = retried(ctx, lambda: hat_measure(ctx, with_hat, rep),
                        lambda r: [r.cpu])
            for _ in range(SHORT_RETRIES):
                if not r.ok or not r.short or a.messages:
                    break
                # calibrated on a slower run: again, on this one's rate
                bl.log("shorter than %.0f s: measuring again" %
                       a.hat_seconds)
                r = retried(ctx, lambda: hat_measure(ctx, with_hat, rep),
                            lambda r: [r.cpu])
            results.append(r)
    return hat_report(ctx, results), results


def hat_report(ctx, results):
    a = ctx.args
    L = ["", "== HAT run: acceptance without and with a host access table "
         "(Breakwater only)"]
    L.append("load: smtp-source -l %d -s %d, one message per %s, from %d "
             "addresses 127.0.%d.1-... (bench/srcbind.c), sender %s, "
             "recipient %s" % (a.size, a.hat_sessions,
                               "session (-d)" if a.keepalive else
                               "connection", len(ctx.addrs),
                               HAT_SOURCE_OCTET, ctx.sender, ctx.rcpt))
    L.append("no HAT: the public listener as in the acceptance run, "
             "smtpd_max_connections_per_ip at its default (50); dnscached "
             "and the DNS server run but nobody asks them")
    if ctx.reputation:
        rep = "reputation_zone %s, looked up for every connection " \
              "(listener: reputation yes), each client answers %s (+1.0) " \
              "with TTL %d s (dnscached keeps answers >= 5 s)" % (
                  ZONE, HAT_ANSWER, a.hat_ttl)
    else:
        rep = "NO REPUTATION ZONE: this build has no reputation_zone " \
              "(the reputation branch has not landed); the table only"
    L.append("HAT: sender_group BLOCKLIST of %d networks in the config "
             "file (85%% /24, 15%% /32, none holds a client: every "
             "connection searches the whole table and gets the default "
             "policy, behaviour accept); %s" % (len(ctx.nets), rep))
    L.append("DNS: ldns-testns on 127.0.0.1:%d, one entry per client "
             "address" % ctx.dns.port)
    L.append("")
    L.append("%-7s %3s %8s %8s %8s %13s  %s" % (
        "variant", "rep", "messages", "seconds", "msg/s", "queued",
        "notes"))
    for r in results:
        note = ""
        if r.ok:
            note = ("SHORTER THAN %.0f s; " % a.hat_seconds
                    if r.short else "") + cpu_text(r, r.messages) + \
                "".join("; " + x for x in (r.quiet, r.dropped) if x)
            if r.dns.get("queries") is not None and r.conns:
                note += "; dnscached %.2f queries/conn, %d upstream" % (
                    r.dns["queries"] / r.conns,
                    r.dns.get("upstream_queries") or 0)
        L.append("%-7s %3d %8d %8s %8s %13s  %s" % (
            r.variant, r.rep + 1, r.messages,
            "-" if r.seconds is None else "%.2f" % r.seconds,
            "-" if r.rate is None else "%.0f" % r.rate,
            "%s/%s" % (r.queued, r.warmup + r.messages),
            ("ERROR: " + r.error.splitlines()[0]) if r.error else note))
    L.append("  (cpu per message of the timed run: bw = Breakwater's "
             "daemons, dns = ldns-testns, client = smtp-source, kernel = "
             "its threads and interrupts (loopback TCP, writeback); "
             "others = processes outside the benchmark: other users of "
             "the machine)")
    checks = [r.check for r in results if r.variant == "HAT" and r.check]
    if checks:
        L.append("connect line of %s with the HAT: %s" % (ctx.addrs[0],
                                                          checks[-1]))
    L.append("")
    by = {}
    for r in results:
        if r.ok:
            by.setdefault(r.variant, []).append(r)
    if len(by.get("no HAT", [])) == a.repeat and \
            len(by.get("HAT", [])) == a.repeat:
        for v in ("no HAT", "HAT"):
            med, lo, hi, sp = spread([r.rate for r in by[v]])
            cpu = statistics.median(
                sum(r.cpu[p] for p in BW_DAEMONS) * 1000 / r.messages
                for r in by[v])
            L.append("%-7s accepted msg/s: median %.0f (runs %s; spread "
                     "%.0f%%), Breakwater cpu %.3f ms/msg" % (
                         v, med, "/".join("%.0f" % r.rate for r in by[v]),
                         100 * sp, cpu))
        cpus = {v: statistics.median(
            sum(r.cpu[p] for p in BW_DAEMONS) / r.messages for r in by[v])
            for v in by}
        L.append("Breakwater cpu per message HAT / no HAT: %.3f (medians: "
                 "what the table and the lookups cost, whatever the other "
                 "users of the machine do to the rates)" % (
                     cpus["HAT"] / cpus["no HAT"]))
        ratio = statistics.median(r.rate for r in by["HAT"]) / \
            statistics.median(r.rate for r in by["no HAT"])
        pairs = [h.rate / n.rate for h, n in zip(by["HAT"], by["no HAT"])]
        ok = ratio >= a.hat_target
        L.append("ratio HAT / no HAT: %.3f (medians; per repetition %s)" % (
            ratio, "/".join("%.3f" % x for x in pairs)))
        L.append("target: HAT >= %.2f x no HAT: %s (%.3f)%s" % (
            a.hat_target, "PASS" if ok else "FAIL", ratio,
            "" if ctx.reputation else " -- without the reputation zone"))
        return L, ok
    L.append("target: HAT >= %.2f x no HAT: FAIL (not measured)" %
             a.hat_target)
    for r in results:
        if r.error:
            L.append("error, %s, repetition %d:" % (r.variant, r.rep + 1))
            L.extend("  " + x for x in r.error.splitlines()[:60])
    return L, False


# ---------------------------------------------------------------------------
# Spam-wave run.

def wave_config(ns_port, reputation, wave_addrs, sessions):
    glob = ["dns_servers 127.0.0.1:%d" % ns_port,
            "smtpd_max_connections %d" % max(1000, sessions + 500),
            "policy trusted {", "    behaviour relay", "}",
            "policy accepted {", "    behaviour accept", "}"]
    lis = ["reverse_dns no", "sender_groups TRUSTED LOWSCORE",
           "default_policy accepted"]
    if reputation:
        glob += ["reputation_zone %s" % ZONE,
                 "# at -8.0: banner after 2 + 8 s, 1 + 4 s before each "
                 "reply", "policy tarpit {", "    behaviour accept",
                 "    smtpd_greeting_delay 2s",
                 "    smtpd_tarpit_greeting_delay 10s",
                 "    smtpd_command_delay 1s",
                 "    smtpd_tarpit_command_delay 5s", "}",
                 "sender_group LOWSCORE {", "    policy tarpit",
                 "    score -10.0 -5.0", "}"]
        lis.append("reputation yes")
    else:
        nets = sorted({x.rsplit(".", 1)[0] + ".0/24" for x in wave_addrs})
        glob += ["# no reputation in this build: the delays a -8.0 host "
                 "would get, by network", "policy tarpit {",
                 "    behaviour accept", "    smtpd_greeting_delay 10s",
                 "    smtpd_command_delay 5s", "}",
                 "sender_group LOWSCORE {", "    policy tarpit",
                 network_lines(nets), "}"]
    glob += ["sender_group TRUSTED {", "    policy trusted",
             "    network %s/32" % TRUSTED, "}"]
    return "\n".join(glob), "\n    ".join(lis)


class Probe:
    """The trusted client: one message at a time, each on a new
    connection from TRUSTED, at most one every `interval` seconds.
    Latency: from connect to the 250 after the end of data."""

    def __init__(self, port, size, sender, rcpt, interval):
        self.port = port
        self.interval = interval
        self.cmds = [b"EHLO trusted.bench.test\r\n",
                     ("MAIL FROM:<%s>\r\n" % sender).encode(),
                     ("RCPT TO:<%s>\r\n" % rcpt).encode(), b"DATA\r\n"]
        body = ["Subject: trusted", ""]
        while sum(len(x) + 2 for x in body) < size:
            body.append("x" * 70)
        self.body = ("\r\n".join(body) + "\r\n.\r\n").encode()

    @staticmethod
    def _reply(sock, buf):
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the server")
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3]), buf

    def one(self):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=PROBE_TIMEOUT,
                                     source_address=(TRUSTED, 0))
        try:
            code, buf = self._reply(s, b"")
            tb = time.perf_counter()
            if code != 220:
                raise ConnectionError("banner %d" % code)
            for cmd, want in zip(self.cmds, (250, 250, 250, 354)):
                s.sendall(cmd)
                code, buf = self._reply(s, buf)
                if code != want:
                    raise ConnectionError("%r: %d" % (cmd[:4], code))
            s.sendall(self.body)
            code, buf = self._reply(s, buf)
            if code != 250:
                raise ConnectionError("end of data: %d" % code)
            t1 = time.perf_counter()
            s.sendall(b"QUIT\r\n")
            self._reply(s, buf)
        finally:
            s.close()
        return t1 - t0, tb - t0

    def run(self, seconds=None, count=None):
        """(latencies, banner latencies) over seconds or count."""
        lat, ban = [], []
        end = time.monotonic() + (seconds or 1e9)
        nxt = time.monotonic()
        while time.monotonic() < end and (count is None or
                                          len(lat) < count):
            now = time.monotonic()
            if nxt > now:
                time.sleep(nxt - now)
            nxt = time.monotonic() + self.interval
            total, banner = self.one()
            lat.append(total)
            ban.append(banner)
        return lat, ban


class WaveResult:
    def __init__(self, rep):
        self.rep = rep
        self.base = None        # latencies without the wave
        self.wave = None        # with it
        self.base_banner = None
        self.wave_banner = None
        self.cpu_base = None
        self.cpu_wave = None
        self.mem0 = None        # smaps of smtpd before the wave
        self.mem1 = None        # with the wave held
        self.active0 = None
        self.active1 = None
        self.wave_status = {}
        self.wave_stats = {}
        self.wave_msgs = None   # wave messages accepted in the window
        self.check = ""
        self.quiet = ""         # wait_quiet()'s note
        self.dropped = ""       # retried()'s note
        self.error = None

    @property
    def ok(self):
        return self.error is None and self.wave is not None

    def per_session_kb(self, key):
        d = self.active1 - self.active0
        return (self.mem1[key] - self.mem0[key]) / d if d > 0 else None


def smtpd_active(inst):
    return counters(inst).get("smtpd", {}).get("connections_active")


def wave_measure(ctx, rep):
    a = ctx.args
    res = WaveResult(rep)
    glob, lis = wave_config(ctx.dns.port, ctx.reputation, ctx.wave_addrs,
                            a.wave_sessions)
    inst = ctx.make_bw(glob, lis)
    wave = None
    try:
        inst.setup()
        inst.start()
        probe = Probe(inst.port, a.size, ctx.sender, ctx.rcpt,
                      a.wave_interval)
        smtpd = inst.bw.pid("smtpd")
        probe.run(count=200)                    # warm-up
        res.quiet = wait_quiet(a)
        pids = daemon_pids(inst)
        pids["ldns-testns"] = ctx.dns.pid
        bl.log("spam-wave run %d: trusted client alone, %ds" % (
            rep + 1, a.wave_seconds))
        m = ProcMeter(pids).start()
        res.base, res.base_banner = probe.run(seconds=a.wave_seconds)
        res.cpu_base = m.stop()
        res.mem0 = smaps(smtpd)
        res.active0 = smtpd_active(inst)
        bl.log("spam-wave run %d: %d tarpitted sessions from %d addresses"
               % (rep + 1, a.wave_sessions, len(ctx.wave_addrs)))
        wave = WaveClient(inst.port, a.wave_sessions, ctx.wave_addrs,
                          a.wave_ramp, a.wave_size, ctx.rcpt, a.wave_jitter)
        pids["wave"] = wave.pid

        def held():
            wave.check()
            return wave.status().get("open", 0) >= a.wave_sessions and \
                (smtpd_active(inst) or 0) >= a.wave_sessions
        bl.wait_for(held, RAMP_TIMEOUT, "%d wave sessions held" %
                    a.wave_sessions, 0.5)
        # past the banners of the last ones: the window sees the tarpit's
        # command delays and the wave's first messages, not a ramp
        time.sleep(a.wave_settle)
        t_wave = wave.status().get("t", 0)
        acc0 = counters(inst).get("smtpd", {}).get("messages_accepted", 0)
        bl.log("spam-wave run %d: trusted client with the wave, %ds" % (
            rep + 1, a.wave_seconds))
        m = ProcMeter(pids).start()
        res.wave, res.wave_banner = probe.run(seconds=a.wave_seconds)
        res.cpu_wave = m.stop()
        res.mem1 = smaps(smtpd)
        res.active1 = smtpd_active(inst)
        wave.check()
        acc1 = counters(inst).get("smtpd", {}).get("messages_accepted", 0)
        res.wave_msgs = acc1 - acc0 - len(res.wave)
        res.wave_status = wave.status()
        lines = wave.since(t_wave)
        bw_ = [x["banner_wait"] for x in lines if x.get("banner_wait")]
        rw_ = [x["reply_wait"] for x in lines if x.get("reply_wait")]
        opens = [x["open"] for x in lines]
        res.wave_stats = {
            "banner_wait": statistics.median(bw_) if bw_ else None,
            "reply_wait": statistics.median(rw_) if rw_ else None,
            "open_min": min(opens) if opens else None,
        }
        src = ctx.wave_addrs[0]
        lines = [x for x in inst.bw.log("smtpd").splitlines()
                 if " connect addr=%s " % src in x]
        res.check = lines[-1].split(" connect ", 1)[-1] if lines else \
            "(no connect line for %s)" % src
        if "group=LOWSCORE policy=tarpit" not in res.check:
            res.error = "a wave client is not in the tarpit: %s" % \
                res.check
        if ctx.reputation and "score=-8.0" not in res.check:
            res.error = "a wave client's score is not -8.0: %s" % res.check
        st = res.wave_status
        if st.get("refused") or st.get("errors"):
            res.error = "the wave had %s refused and %s failed sessions " \
                "(last: %s)" % (st.get("refused"), st.get("errors"),
                                st.get("last_error"))
    except bl.BenchError as e:
        res.error = str(e)
    except Exception as e:  # noqa: BLE001 - reported, the run goes on
        res.error = "%s: %s" % (type(e).__name__, e)
    finally:
        if wave is not None:
            wave.stop()
        if res.error and "did not start" not in res.error:
            try:
                res.error += "\n" + inst.diag()
            except Exception:  # noqa: BLE001 - diagnostics only
                pass
        try:
            inst.stop()
        except Exception as e:  # noqa: BLE001
            if res.error is None:
                res.error = "stop failed: %s" % e
    if res.error:
        bl.log("spam-wave run %d: ERROR %s" % (rep + 1,
                                               res.error.splitlines()[0]))
    else:
        bl.log("spam-wave run %d: median %.2f ms alone, %.2f ms with the "
               "wave" % (rep + 1, 1000 * statistics.median(res.base),
                         1000 * statistics.median(res.wave)))
    return res


def run_wave(ctx):
    results = [retried(ctx, lambda: wave_measure(ctx, rep),
                       lambda r: [r.cpu_base, r.cpu_wave])
               for rep in range(ctx.args.repeat)]
    return wave_report(ctx, results), results


def ms(v):
    return 1000 * v


def wave_report(ctx, results):
    a = ctx.args
    L = ["", "== Spam-wave run: a trusted client's latency with %d "
         "tarpitted sessions held (Breakwater only)" % a.wave_sessions]
    if ctx.reputation:
        how = "score -8.0 from reputation_zone %s (%s) -> sender_group " \
              "LOWSCORE (score -10.0 -5.0) -> policy tarpit: " \
              "smtpd_greeting_delay 2s + smtpd_tarpit_greeting_delay 10s " \
              "x 0.8 = banner after 10 s, smtpd_command_delay 1s + " \
              "smtpd_tarpit_command_delay 5s x 0.8 = 5 s before each " \
              "reply" % (ZONE, WAVE_ANSWER)
    else:
        how = "NO REPUTATION in this build (the reputation branch has not " \
              "landed): LOWSCORE is a network group, policy tarpit with " \
              "the delays a -8.0 host would get (banner after 10 s, 5 s " \
              "before each reply)"
    L.append("wave: tarpit_wave.py (one asyncio loop), %d sessions from "
             "%d addresses 127.0.%d.1-..., %d each, opened at %.0f/s; each "
             "goes banner, EHLO, MAIL, RCPT, DATA, %d bytes, QUIT at the "
             "tarpit's pace and is replaced when it ends; a connection's "
             "first session pauses up to %.0f s after the banner so that "
             "the sessions do not move in lock step; the run with the wave "
             "starts %.0f s after all are held" % (
                 a.wave_sessions, len(ctx.wave_addrs), WAVE_SOURCE_OCTET,
                 WAVE_PER_SOURCE, a.wave_ramp, a.wave_size,
                 a.wave_jitter, a.wave_settle))
    L.append("tarpit: " + how)
    L.append("trusted: %s, sender_group TRUSTED (network %s/32) -> policy "
             "trusted (relay, no delay), one message of %d bytes at a time "
             "on a new connection, at most one per %.0f ms; latency = "
             "connect to the 250 after the end of data; %d s alone, then "
             "%d s with the wave held, on the same instance" % (
                 TRUSTED, TRUSTED, a.size, 1000 * a.wave_interval,
                 a.wave_seconds, a.wave_seconds))
    L.append("memory: smtpd's /proc/PID/smaps_rollup after the trusted "
             "client's run alone and at the end of the run with the wave, "
             "divided by the growth of smtpd's connections_active")
    L.append("")
    L.append("%3s %-5s %6s %8s %8s %8s %8s  %s" % (
        "rep", "phase", "msgs", "p50 ms", "p90 ms", "p99 ms", "banner",
        "notes"))
    for r in results:
        if r.base is None:
            L.append("%3d ERROR: %s" % (r.rep + 1,
                                         (r.error or "").splitlines()[0]))
            continue
        for ph, lat, ban, cpu in (("alone", r.base, r.base_banner,
                                   r.cpu_base),
                                  ("wave", r.wave, r.wave_banner,
                                   r.cpu_wave)):
            if lat is None:
                continue
            note = "smtpd cpu %.0f ms/s (%.3f ms/trusted msg), bw %.0f " \
                   "ms/s, kernel %.0f ms/s, others %.0f%% of a core, idle " \
                   "%.0f%%, load %s" % (
                       1000 * cpu["smtpd"] / cpu["wall"],
                       1000 * cpu["smtpd"] / len(lat),
                       1000 * sum(cpu[p] for p in BW_DAEMONS) / cpu["wall"],
                       1000 * cpu["kernel"] / cpu["wall"],
                       100 * cpu["others"] / cpu["wall"],
                       100 * cpu["idle"], cpu["load"])
            if ph == "wave" and "wave" in cpu:
                note += ", wave client %.0f ms/s" % (
                    1000 * cpu["wave"] / cpu["wall"])
            L.append("%3d %-5s %6d %8.2f %8.2f %8.2f %8.2f  %s" % (
                r.rep + 1, ph, len(lat), ms(statistics.median(lat)),
                ms(pct(lat, 0.9)), ms(pct(lat, 0.99)),
                ms(statistics.median(ban)), note))
        if r.mem1 is not None:
            kb = r.per_session_kb("Pss")
            rkb = r.per_session_kb("Rss")
            L.append("    memory: smtpd Pss %d -> %d kB, Rss %d -> %d kB, "
                     "sessions %s -> %s: %s kB Pss, %s kB Rss per "
                     "tarpitted session" % (
                         r.mem0["Pss"], r.mem1["Pss"], r.mem0["Rss"],
                         r.mem1["Rss"], r.active0, r.active1,
                         "-" if kb is None else "%.1f" % kb,
                         "-" if rkb is None else "%.1f" % rkb))
        if r.wave_status:
            s, w = r.wave_status, r.wave_stats
            L.append("    wave: open at least %s of %d during the run, "
                     "median banner wait %s s, reply wait %s s, %s wave "
                     "messages accepted during the run (%.1f/s), %s "
                     "refused, %s failed" % (
                         w.get("open_min"), a.wave_sessions,
                         w.get("banner_wait"), w.get("reply_wait"),
                         r.wave_msgs, r.wave_msgs / r.cpu_wave["wall"],
                         s.get("refused"), s.get("errors")))
        if r.check:
            L.append("    connect line of a wave client: %s" % r.check)
        if r.quiet or r.dropped:
            L.append("    before the run: %s" % "; ".join(
                x for x in (r.quiet, r.dropped) if x))
        if r.error:
            L.append("    ERROR: %s" % r.error.splitlines()[0])
    L.append("")
    good = [r for r in results if r.ok]
    if len(good) != len(results) or not good:
        L.append("target: trusted median latency with the wave <= %.1f x "
                 "alone: FAIL (not measured)" % a.wave_target)
        for r in results:
            if r.error:
                L.append("error, repetition %d:" % (r.rep + 1))
                L.extend("  " + x for x in r.error.splitlines()[:60])
        return L, False
    ratios = [statistics.median(r.wave) / statistics.median(r.base)
              for r in good]
    p90s = [pct(r.wave, 0.9) / pct(r.base, 0.9) for r in good]
    mb, lb, hb, sb = spread([ms(statistics.median(r.base)) for r in good])
    mw, lw, hw, sw = spread([ms(statistics.median(r.wave)) for r in good])
    L.append("trusted median latency alone: %.2f ms (runs %s; spread "
             "%.0f%%)" % (mb, "/".join("%.2f" % ms(statistics.median(
                 r.base)) for r in good), 100 * sb))
    L.append("trusted median latency with the wave: %.2f ms (runs %s; "
             "spread %.0f%%)" % (mw, "/".join("%.2f" % ms(
                 statistics.median(r.wave)) for r in good), 100 * sw))
    L.append("trusted p90 latency: alone %.2f ms, with the wave %.2f ms "
             "(medians of the runs; p90 ratio per run %s)" % (
                 statistics.median(ms(pct(r.base, 0.9)) for r in good),
                 statistics.median(ms(pct(r.wave, 0.9)) for r in good),
                 "/".join("%.2f" % x for x in p90s)))
    kbs = [r.per_session_kb("Pss") for r in good
           if r.per_session_kb("Pss") is not None]
    rkbs = [r.per_session_kb("Rss") for r in good
            if r.per_session_kb("Rss") is not None]
    if kbs:
        L.append("smtpd memory per tarpitted session: %.1f kB Pss (runs "
                 "%s), %.1f kB Rss" % (
                     statistics.median(kbs), "/".join("%.1f" % x
                                                      for x in kbs),
                     statistics.median(rkbs)))
    ratio = statistics.median(ratios)
    ok = ratio <= a.wave_target
    L.append("ratio with the wave / alone (median latency): %.2f (per run "
             "%s)" % (ratio, "/".join("%.2f" % x for x in ratios)))
    L.append("target: trusted median latency with the wave <= %.1f x "
             "alone: %s (%.2f)%s" % (
                 a.wave_target, "PASS" if ok else "FAIL", ratio,
                 "" if ctx.reputation else " -- tarpit by network, not "
                 "by score"))
    return L, ok


# ---------------------------------------------------------------------------

class Context:
    """What both runs share: arguments, the instance factory, the client,
    the DNS server, the shim, the tables."""

    def __init__(self, args, top, make_bw, smtp_source, bwctl, sender,
                 rcpt):
        self.args = args
        self.top = top
        self.make_bw = make_bw
        self.smtp_source = smtp_source
        self.sender = sender
        self.rcpt = rcpt
        self.reputation = has_reputation(bwctl, top)
        self.addrs = sources(HAT_SOURCE_OCTET, args.hat_sources)
        nwave = -(-args.wave_sessions // WAVE_PER_SOURCE)
        self.wave_addrs = sources(WAVE_SOURCE_OCTET, nwave)
        self.nets = hat_networks(HAT_NETWORKS)
        self.srcbind = None
        self.dns = None
        self.rates = []         # msg/s of the HAT run's timed runs

    def start_dns(self, ttl):
        answers = [(x, HAT_ANSWER) for x in self.addrs] + \
            [(x, WAVE_ANSWER) for x in self.wave_addrs] + \
            [(TRUSTED, TRUSTED_ANSWER)]
        self.dns = DnsServer(self.top, answers, ttl)

    def stop(self):
        if self.dns is not None:
            self.dns.stop()
            self.dns = None


def run(args, top, make_bw, smtp_source, bwctl, sender, rcpt, runs):
    """The HAT and spam-wave runs asked for; (report lines, verdicts)."""
    ctx = Context(args, top, make_bw, smtp_source, bwctl, sender, rcpt)
    lines, verdicts, broken = [], [], False
    try:
        if "hat" in runs:
            ctx.srcbind = build_srcbind(top)
            ctx.start_dns(args.hat_ttl)
            (L, ok), res = run_hat(ctx)
            lines += L
            verdicts.append(("HAT", ok))
            broken |= any(r.error for r in res)
            ctx.stop()
        if "wave" in runs:
            ctx.start_dns(WAVE_TTL)
            (L, ok), res = run_wave(ctx)
            lines += L
            verdicts.append(("spam wave", ok))
            broken |= any(r.error for r in res)
    finally:
        ctx.stop()
    return lines, verdicts, broken

