#!/usr/bin/python3
"""The monitor's history (controld_hist.c, controld_sample.c, queued_top.c).

All five daemons, monitor_sample_interval 1s, monitor_top_domains 5; two
domains routed to one smtp-sink on 127.0.32.1.

Cases: queued's new STATUS gauges; mail delivered to the sink shows in
the per-minute history as many times as the sink counted it (series and
per-domain rows) and as bwctl status counts it; history survives a
controld restart (stopped and started by pid) and goes on counting; with
10,000 destinations queued (one RCPT per domain, their DNS dead) the
top-N sets have their size, the rest row holds the others, and
monitor_dir stays under monitor_history_max_bytes.
"""

import os
import smtplib
import subprocess
import time

import bwtest
import peers

D = ".hist.test"
SINK_ADDR = "127.0.32.1"
TOPN = 5
MANY = 10000
PER_MSG = 1000
MAX_BYTES = 8 * 1024 * 1024
t = bwtest.TAP()


def config_text(bw, sink_port):
    extra = """deliverd_workers 1
dns_servers 127.0.32.2:%(dns)d
dns_attempt_timeout 1s
dns_query_deadline 2s
deliver_timeout_connect 2s
monitor_sample_interval 1s
monitor_top_domains %(topn)d
monitor_history_max_bytes %(max)d
route a%(d)s -> [%(addr)s]:%(sink)d
route b%(d)s -> [%(addr)s]:%(sink)d
""" % {"dns": bwtest.free_port(), "d": D, "addr": SINK_ADDR,
       "sink": sink_port, "topn": TOPN, "max": MAX_BYTES}
    return bwtest.default_config(bw, extra=extra)


def send(bw, rcpts, n=1):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=60) as s:
        for _ in range(n):
            s.sendmail("hist@origin.example", rcpts,
                       "Subject: hist\r\n\r\nhello\r\n")


def hist(bw, *args):
    return bw.bwctl("show", "history", *args, json_out=True)


def sink_by_domain(sink):
    out = {}
    for r in sink.rcpts():
        dom = r.rsplit("@", 1)[-1].lower()
        out[dom] = out.get(dom, 0) + 1
    return out


def main():
    """peers.main_with_sink with the sink on this test's own address."""
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("monitor_history", "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater("monitor_history") as bw:
        sink = peers.Sink(bw.base, SINK_ADDR, bwtest.free_port())
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


def run_cases(bw, sink):
    state = {}

    def gauges():
        c = bw.counters("queued")
        for k in ("work_ready", "work_deferred", "work_parked",
                  "work_inflight", "spool_free_bytes", "hosts_connected"):
            assert k in c, (k, c)
        assert c["spool_free_bytes"] > 0, c
        h = hist(bw)
        assert h["dir"] == os.path.join(bw.base, "monitor"), h
        assert os.path.isdir(h["dir"]), h
        assert h["top_domains"] == TOPN and h["interval_ms"] == 1000, h
    t.run("queued reports the work queue, spool and hosts gauges; "
          "show history names monitor_dir", gauges)

    def traffic():
        send(bw, ["x@a" + D], 12)
        send(bw, ["y@b" + D], 5)
        bwtest.wait_for(lambda: sink.count() >= 17, 60,
                        what="17 messages at the sink")
        time.sleep(1)
        assert sink.count() == 17, sink.count()
        status = bw.counters("queued")["rcpt_delivered"]
        assert status == 17, status
        # the minute holding the last delivery is stored once it ends
        h = bwtest.wait_for(
            lambda: (lambda h: h if h["sum"] == 17 else None)(
                hist(bw, "delivered", "--range", "1h")), 130, interval=0.5,
            what="17 deliveries in the per-minute history (%s)" %
            hist(bw, "delivered")["sum"])
        assert h["series"] == "queued.rcpt_delivered", h
        assert h["kind"] == "counter" and h["step"] == 60, h
        assert len(h["points"]) in (60, 61), len(h["points"])
        by = sink_by_domain(sink)
        assert by == {"a" + D: 12, "b" + D: 5}, by
        for dom, n in by.items():
            r = bwtest.wait_for(
                lambda dom=dom, n=n: (lambda r: r if r["sum"] == n else
                                      None)(hist(bw, "domain", dom)), 30, interval=0.5,
                what="%s: %d in its domain rows" % (dom, n))
            assert all(p["domain"] == dom for p in r["points"]), r
        # smtpd's side of the same messages
        acc = hist(bw, "received")
        assert acc["sum"] == bw.counters("smtpd")["messages_accepted"] \
            == 17, acc
        txt = bw.bwctl("show", "history", "delivered").stdout
        assert txt.startswith("queued.rcpt_delivered (counter: growth, "
                              "per minute), last 1h\n"), txt
        state["points"] = [p for p in h["points"] if p["v"] is not None]
    t.run("17 messages at the sink are 17 in the history (series, "
          "domain rows) and in bwctl status", traffic)

    def restart():
        before = state["points"]
        pid = bw.pid("controld")
        bw.stop("controld")
        assert not bw.running("controld")
        bw.start_one("controld")
        bw.wait_ready(["controld"])
        assert bw.pid("controld") != pid
        h = hist(bw, "delivered")
        kept = {p["t"]: p["v"] for p in h["points"] if p["v"] is not None}
        for p in before:
            assert kept.get(p["t"]) == p["v"], (p, kept)
        assert h["sum"] == 17, h
        # every daemon back, and counting goes on from the new controld
        bwtest.wait_for(lambda: bw.counters("smtpd") and
                        bw.counters("deliverd"), 20,
                        what="daemons reconnected")
        time.sleep(2)	# two samples: the counters' base
        send(bw, ["z@a" + D], 3)
        bwtest.wait_for(lambda: sink.count() >= 20, 60,
                        what="20 messages at the sink")
        bwtest.wait_for(
            lambda: hist(bw, "delivered")["sum"] == 20, 130, interval=0.5,
            what="20 deliveries in the history after the restart (%s)" %
            hist(bw, "delivered")["sum"])
        assert bw.wait_log("controld", r"history: .* open, \d+ series")
    t.run("history survives a controld restart and goes on counting",
          restart)

    def many():
        t0 = time.time()
        doms = ["d%05d.many.test" % i for i in range(MANY)]
        for i in range(0, MANY, PER_MSG):
            send(bw, ["u@" + d for d in doms[i:i + PER_MSG]])
        sent_s = time.time() - t0

        def queues():
            c = bw.counters("queued")
            return c if c.get("queues_in_memory", 0) >= MANY else None
        bwtest.wait_for(queues, 60, what="10,000 queues")

        def point():
            h = hist(bw)
            m = h.get("minute")
            if not m:
                return None
            rest = [d for d in m["domains"] if d["set"] == "rest"]
            if not rest or rest[0]["queued"] < MANY - 2 * TOPN - 2:
                return None
            return m
        m = bwtest.wait_for(point, 150, interval=0.5,
                            what="a minute with 10,000 queues: %s" %
                            hist(bw).get("minute"))
        doms_pt = [d for d in m["domains"] if d["set"] != "rest"]
        busiest = [d for d in doms_pt if "busiest" in d["set"]]
        deferred = [d for d in doms_pt if "deferred" in d["set"]]
        assert len(busiest) == TOPN, m
        assert len(deferred) <= TOPN and len(doms_pt) <= 2 * TOPN, m
        rest = [d for d in m["domains"] if d["set"] == "rest"][0]
        listed = sum(d["queued"] for d in doms_pt)
        assert rest["queued"] + listed >= MANY, (rest, listed)
        du = int(subprocess.run(["du", "-sb", "--apparent-size",
                                 os.path.join(bw.base, "monitor")],
                                capture_output=True, text=True,
                                check=True).stdout.split()[0])
        du_blocks = int(subprocess.run(
            ["du", "-sk", os.path.join(bw.base, "monitor")],
            capture_output=True, text=True, check=True).stdout.split()[0])
        h = hist(bw)
        us = bw.counters("queued")["top_answer_us"]
        assert du <= MAX_BYTES and du_blocks * 1024 <= MAX_BYTES, \
            (du, du_blocks, MAX_BYTES)
        print("# 10,000 domains queued in %.1f s; monitor_dir %d bytes "
              "(%d KiB in blocks), history says %d; %d series; queued's "
              "top-N answer over %d queues took %d us" %
              (sent_s, du, du_blocks, h["bytes"], len(h["series"]),
               bw.counters("queued")["queues_in_memory"], us),
              flush=True)
    t.run("10,000 destinations: top-N sets of %d, the rest summed, "
          "monitor_dir under monitor_history_max_bytes" % TOPN, many)


if __name__ == "__main__":
    main()
