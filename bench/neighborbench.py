"""bench/relay --neighbor: Good Neighbor against a receiver that takes at
most K concurrent connections (421 past K).

The receiver is smtp-sink behind bench/connlimit.c, a connection-gating
TCP front (compiled here): past K open sessions it answers "421 4.7.0 too
many connections" and closes (a session counts from its accept until
either side closes, as the receiver counts it); it delays each read from
smtp-sink by
--neighbor-delay ms, so that each reply costs a round trip and the rate
grows with the connections as it does towards a real receiver some way
off (on bare loopback one or two connections already take all the CPU).

Two setups, each --repeat times on fresh instances, alternating:

- limited: the gate takes K sessions; Breakwater runs with its default
  destination control (deliver_max_connections_per_domain 20): Good
  Neighbor has to find K from the 421s;
- reference: the same gate without a limit; Breakwater configured with
  deliver_max_connections_per_domain K: the best a sender told K can do.

Each run: a backlog of messages goes in with smtp-source (one message per
connection, 20 sessions); after --neighbor-warmup seconds the messages at
the sink are counted for --neighbor-seconds (the backlog must last: the
queue is checked at the end).  Printed: delivered/s of each run, median
and spread per setup, the ratio of the medians (target >= 0.9) with its
range over pairs, and the 421s per minute the limited gate gave in the
window (target: a handful).
"""

import os
import shutil
import subprocess
import threading
import time

import benchlib as bl

BENCHDIR = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "example.org"
RCPT = "rcpt@" + DOMAIN


def build_gate(top):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise bl.BenchError("no C compiler for bench/connlimit.c")
    out = os.path.join(top, "connlimit")
    bl.run([cc, "-O2", "-Wall", "-pthread", "-o", out,
            os.path.join(BENCHDIR, "connlimit.c")], timeout=120)
    return out


class Gate:
    """bench/connlimit in front of a sink; counts sessions and 421s."""

    def __init__(self, binary, upstream, maxconn, delay_ms):
        self.port = bl.free_port()
        self.cmd = [binary, str(self.port), str(upstream), str(maxconn),
                    str(delay_ms)]
        self.lock = threading.Lock()
        self.refused = []       # monotonic times of 421s
        self.open = 0
        self.max_open = 0
        self.opened = 0
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True, text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("listening"):
            raise bl.BenchError("connlimit did not start: %r" % first)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            w = line.split()
            if not w:
                continue
            with self.lock:
                if w[0] == "421":
                    self.refused.append(time.monotonic())
                elif w[0] in ("open", "close"):
                    self.open = int(w[1])
                    if w[0] == "open":
                        self.opened += 1
                    self.max_open = max(self.max_open, self.open)

    def refused_between(self, t0, t1):
        with self.lock:
            return len([t for t in self.refused if t0 <= t < t1])

    def stop(self):
        bl.stop_popen(self.proc, "connlimit")


class Run:
    def __init__(self, setup, index):
        self.setup = setup
        self.index = index
        self.rate = None
        self.refused_per_min = None
        self.refused_total = 0
        self.max_open = 0
        self.limit = None
        self.reason = ""
        self.left = None
        self.error = None


def measure(bwtest, gate_bin, limited, index, args):
    run = Run("limited" if limited else "reference", index)
    k = args.neighbor_k
    sink = gate = inst = None
    try:
        sink = bl.Sink(backlog=1000)
        sink.start()
        gate = Gate(gate_bin, sink.port, k if limited else 0,
                    args.neighbor_delay).start()
        extra = "deliver_max_connections_per_domain %d\n%s" % (
            20 if limited else k, args.bw_config)
        inst = bl.Breakwater(bwtest, {DOMAIN: gate.port}, extra, 1000)
        with bl.mta_cpus():
            inst.setup()
            inst.start()
        errs = []

        def submit():
            try:
                bl.smtp_source(inst.port, args.neighbor_messages, 20, 1024,
                               args.run_timeout, RCPT)
            except bl.BenchError as e:
                errs.append(str(e))
        th = threading.Thread(target=submit, daemon=True)
        t0 = time.monotonic()
        th.start()
        time.sleep(args.neighbor_warmup)
        w0, c0 = time.monotonic(), sink.count()
        time.sleep(args.neighbor_seconds)
        w1, c1 = time.monotonic(), sink.count()
        run.rate = (c1 - c0) / (w1 - w0)
        run.refused_total = gate.refused_between(t0, w1)
        run.refused_per_min = gate.refused_between(w0, w1) * 60.0 / (w1 - w0)
        run.max_open = gate.max_open
        try:
            d = inst.domain(DOMAIN)
            rows = d.get("delivery") or [{}]
            run.limit = rows[0].get("conn_limit")
            run.reason = rows[0].get("limit_reason", "")
        except Exception as e:  # noqa: BLE001 - shown, not fatal
            run.reason = "show domain: %s" % e
        run.left = inst.queued()
        if errs:
            run.error = errs[0]
        elif run.left == 0 and th.is_alive() is False:
            run.error = ("the backlog ran out inside the window: raise "
                         "--neighbor-messages")
        th.join(args.run_timeout)
    except bl.BenchError as e:
        run.error = str(e)
    except Exception as e:  # noqa: BLE001 - reported, the run goes on
        run.error = "%s: %s" % (type(e).__name__, e)
    finally:
        for what in (inst, gate, sink):
            if what is not None:
                try:
                    what.stop()
                except Exception as e:  # noqa: BLE001
                    bl.log("stopping: %s" % e)
    if run.error:
        bl.log("neighbor %s #%d: ERROR %s" % (run.setup, index,
                                              run.error.splitlines()[0]))
    else:
        bl.log("neighbor %s #%d: %.1f delivered/s, %d 421s (%.1f/min in "
               "the window), max %d sessions at the gate, limit %s (%s)" % (
                   run.setup, index, run.rate, run.refused_total,
                   run.refused_per_min, run.max_open, run.limit,
                   run.reason))
    return run


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def run_all(bwtest, top, args):
    gate_bin = build_gate(top)
    runs = []
    for i in range(args.repeat):
        for limited in (True, False):
            runs.append(measure(bwtest, gate_bin, limited, i, args))
    return runs


def report(runs, args, info):
    k = args.neighbor_k
    lines = ["Breakwater Good Neighbor: a receiver that takes at most K "
             "connections (bench/relay --neighbor)"]
    lines += bl.format_info(info)
    lines.append("receiver: smtp-sink behind bench/connlimit (421 past K "
                 "sessions), each read from the sink delayed %d ms; K = %d" %
                 (args.neighbor_delay, k))
    lines.append("limited: the gate takes %d; Breakwater's destination "
                 "control 20 (Good Neighbor finds K)" % k)
    lines.append("reference: the gate without a limit; Breakwater's "
                 "destination control %d" % k)
    lines.append("load: %d messages of 1 KiB by smtp-source (20 sessions); "
                 "warm-up %ds, then the sink counted for %ds; %d runs of "
                 "each, alternating, fresh instances" % (
                     args.neighbor_messages, args.neighbor_warmup,
                     args.neighbor_seconds, args.repeat))
    if args.bw_config:
        lines.append("breakwater extra config: %s" %
                     args.bw_config.replace("\n", "; "))
    lines.append("")
    lines.append("%-10s %3s %10s %8s %9s %9s %6s  %s" % (
        "setup", "run", "deliv/s", "421s", "421s/min", "max-sess", "limit",
        "reason (show domain)"))
    for r in runs:
        if r.error:
            lines.append("%-10s %3d  ERROR: %s" % (r.setup, r.index,
                                                   r.error.splitlines()[0]))
            continue
        lines.append("%-10s %3d %10.1f %8d %9.1f %9d %6s  %s" % (
            r.setup, r.index, r.rate, r.refused_total, r.refused_per_min,
            r.max_open, r.limit, r.reason[:90]))
    ok = [r for r in runs if not r.error]
    lim = [r.rate for r in ok if r.setup == "limited"]
    ref = [r.rate for r in ok if r.setup == "reference"]
    lines.append("")
    verdict = False
    if lim and ref:
        ml, mr = median(lim), median(ref)
        pairs = [a.rate / b.rate for a, b in zip(
            [r for r in ok if r.setup == "limited"],
            [r for r in ok if r.setup == "reference"]) if b.rate > 0]
        lines.append("limited:   median %.1f msg/s (%s; spread %.0f%%)" % (
            ml, "/".join("%.1f" % x for x in lim),
            100.0 * (max(lim) - min(lim)) / ml if ml else 0))
        lines.append("reference: median %.1f msg/s (%s; spread %.0f%%)" % (
            mr, "/".join("%.1f" % x for x in ref),
            100.0 * (max(ref) - min(ref)) / mr if mr else 0))
        ratio = ml / mr if mr else 0.0
        rpm = [r.refused_per_min for r in ok if r.setup == "limited"]
        lines.append("throughput ratio limited/reference: %.3f (pairs: %s)"
                     "   target >= 0.9: %s" % (
                         ratio, "/".join("%.3f" % x for x in pairs),
                         "PASS" if ratio >= 0.9 else "FAIL"))
        lines.append("421s per minute at the limited gate (window): median "
                     "%.1f (%s)   target: a handful (<= 5): %s" % (
                         median(rpm), "/".join("%.1f" % x for x in rpm),
                         "PASS" if median(rpm) <= 5 else "FAIL"))
        verdict = ratio >= 0.9 and median(rpm) <= 5
    lines.append("good neighbor: %s" % ("PASS" if verdict else "FAIL"))
    for r in runs:
        if r.error:
            lines.append("")
            lines.append("error, %s #%d:" % (r.setup, r.index))
            lines.extend("  " + x for x in r.error.splitlines()[:40])
    return "\n".join(lines) + "\n"
