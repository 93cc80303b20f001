#!/usr/bin/python3
"""Good Neighbor: deliverd's connection limit per destination adapts.

Every real daemon runs from $BW_BUILDDIR; mail goes in through smtpd's
private listener (smtp-source) and out to receivers written for the test
(scripted_smtp.ScriptedSMTP, one asyncio loop each), reached by `route`
lines on 127.0.21.x (this helper's /24) with random ports.  The
destination control is deliver_max_connections_per_domain 10; the limit
starts at 2.

Cases:
- gate: 421 past 3 concurrent sessions.  The count rises from 2 to 3 (seen
  at the receiver), the 4th connection gets 421 and the limit comes back
  to 3 with reason "refused" (bwctl show domain --json); a handful of
  421s, not one per message; every message arrives.
- slow: a receiver that answers at once until the count has risen to 4,
  then takes 1.5 s per message: the limit falls to 1-2 (reason "slow"),
  and so do the sessions at the receiver.
- refuse: a receiver that closes its listening socket while 3 sessions
  are open (new connections: ECONNREFUSED): the limit holds at 3 with
  reason "connection refused", every message arrives.
- dead: 421 to every connection, with a retry profile of 1-2 s: the
  connection attempts in the first minute are a handful (Good Neighbor's
  pause: 10 s, as the profile's retry_max is below the shortest pause),
  not one per retry; show domain says paused.  The
  domain's retries are those attempts: a probe that meets the pause waits
  for its end and connects, it is not answered without a connection (which
  would spend one of the message's retries on nothing).  bwctl retry ends
  the pause: the destination sees a connection at once.
- paced: the same destination under a profile of 10 s intervals: the
  attempts follow the profile (10 s apart), not Good Neighbor's pause,
  which would double to 20 and 40 s (it stops at the profile's retry_max).
- bwctl show queue: CONNS/LIMIT beside the active jobs, and connections,
  conn_limit, conn_limit_max in --json; show domain's text names the
  limit, its reason and the acceptance rate.
"""

import os
import re
import shutil
import subprocess
import threading
import time

import bwtest
from scripted_smtp import ScriptedSMTP

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
D = ".neighbor.test"
NET = "127.0.21."
SLOW_MSGS = 2500

t = bwtest.TAP()


def note(text):
    print("# " + text, flush=True)


def config_text(bw, ports):
    extra = """deliverd_workers 1
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 5s
deliver_max_connections_per_domain 10
route gate%(D)s -> [%(NET)s1]:%(gate)d
route slow%(D)s -> [%(NET)s2]:%(slow)d
route refuse%(D)s -> [%(NET)s3]:%(refuse)d
route dead%(D)s -> [%(NET)s4]:%(dead)d
route replace%(D)s -> [%(NET)s5]:%(replace)d
route paced%(D)s -> [%(NET)s6]:%(paced)d

destination replace%(D)s {
    deliver_max_connections_per_domain 2
    deliver_max_messages_per_connection 1
}

bounce_profile default {
    retry_initial 1s
    retry_max 2s
    max_age 1h
}

bounce_profile paced {
    retry_initial 10s
    retry_max 10s
    max_age 1h
    domains paced%(D)s
}
""" % dict(ports, D=D, NET=NET)
    return bwtest.default_config(bw, extra=extra)


def smtp_source(bw, n, rcpt, sessions=20, timeout=120):
    cmd = [SMTP_SOURCE, "-m", str(n), "-s", str(sessions), "-l", "300",
           "-f", "src@origin.example", "-t", rcpt, "-M", "source.example",
           "127.0.0.1:%d" % bw.private_port]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.returncode, r.stdout[-500:],
                               r.stderr[-500:])


def delivery(bw, domain):
    d = bw.bwctl("show", "domain", domain, json_out=True)
    rows = [x for x in d["delivery"] if x["gateway"] == "default"]
    assert rows, d
    return rows[0]


def queue_row(bw, domain):
    for q in bw.bwctl("show", "queue", json_out=True)["queues"]:
        if q["domain"] == domain and q["gateway"] == "default":
            return q
    return None


def limit_changes(bw, domain):
    """(old, new, reason) of each logged change for domain."""
    rx = re.compile(r"domain=%s gateway=default connection limit (\d+) -> "
                    r"(\d+) \(max \d+\) reason=([a-z ]+):" % re.escape(domain))
    return [(int(a), int(b), r) for a, b, r in rx.findall(bw.log("deliverd"))]


def main():
    for tool in (SMTP_SOURCE,):
        if not os.path.exists(tool):
            t.skip("good neighbor", "%s not installed" % tool)
            t.done()
    recv = {
        "gate": ScriptedSMTP(NET + "1", name="gate" + D,
                             max_sessions_allowed=3, over="421",
                             data_delay=0.05),
        "slow": ScriptedSMTP(NET + "2", name="slow" + D, data_delay=0.02),
        "refuse": ScriptedSMTP(NET + "3", name="refuse" + D,
                               max_sessions_allowed=3, over="refuse",
                               data_delay=0.05),
        "dead": ScriptedSMTP(NET + "4", name="dead" + D,
                             greet_421_all=True),
        "replace": ScriptedSMTP(NET + "5", name="replace" + D,
                                max_sessions_allowed=2, over="421",
                                quit_close_delay=0.3),
        "paced": ScriptedSMTP(NET + "6", name="paced" + D,
                              greet_421_all=True),
    }
    try:
        with bwtest.Breakwater("neighbor") as bw:
            bw.write_config(config_text(bw, {k: r.port for k, r in
                                             recv.items()}))
            bw.start()
            run_cases(bw, recv)
            for p in bwtest.DEFAULT_PROCS:
                t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
        t.ok(not bw.sanitizer_reports, "no sanitizer reports",
             "\n".join(bw.sanitizer_reports))
    finally:
        for r in recv.values():
            r.stop()
    t.done()


def run_cases(bw, recv):
    dead = recv["dead"]
    state = {}

    # The dead destination is watched for a minute while the other cases
    # run: mail for it goes in first.
    def dead_start():
        smtp_source(bw, 5, "x@dead" + D, sessions=1)
        smtp_source(bw, 1, "x@paced" + D, sessions=1)
        bwtest.wait_for(lambda: dead.attempts and recv["paced"].attempts,
                        15, what="a first attempt at the dead destinations")
        state["dead_t0"] = dead.attempts[0]
    t.run("dead: mail for a destination that answers 421 to everything",
          dead_start)

    gate = recv["gate"]

    def gate_case():
        observed = {"conns_ok": 0, "rows": 0}
        stop = threading.Event()

        def watch():
            # show queue while it runs: connections within the limit
            while not stop.is_set():
                q = queue_row(bw, "gate" + D)
                if q and q.get("conn_limit") is not None:
                    observed["rows"] += 1
                    if q["connections"] <= q["conn_limit"] + 1 and \
                            q["conn_limit_max"] == 10:
                        observed["conns_ok"] += 1
                stop.wait(0.3)
        w = threading.Thread(target=watch, daemon=True)
        w.start()
        try:
            smtp_source(bw, 500, "r@gate" + D)
            bwtest.wait_for(lambda: gate.count() >= 500, 90,
                            what="500 messages at gate (%d)" % gate.count())
        finally:
            stop.set()
            w.join(5)
        changes = limit_changes(bw, "gate" + D)
        note("gate: max sessions %d, 421s %d, changes %r" % (
            gate.max_sessions, gate.over_421, changes))
        assert gate.max_sessions == 3, gate.max_sessions    # rose from 2
        assert 1 <= gate.over_421 <= 4, gate.over_421       # a handful
        assert any(n > o for o, n, r in changes if r == "grow"), changes
        assert any(n < o for o, n, r in changes if r == "refused"), changes
        d = delivery(bw, "gate" + D)
        assert d["conn_limit"] <= 3 and d["conn_limit_max"] == 10, d
        assert d["limit_reason"].startswith("refused: greeting"), d
        assert "421" in d["limit_reason"], d
        assert time.time() - 120 < d["limit_changed"] <= time.time() + 1, d
        assert d["accept_rate"] >= 100, d
        assert observed["rows"] >= 1 and \
            observed["conns_ok"] == observed["rows"], observed
        time.sleep(0.5)
        assert gate.count() == 500, gate.count()
    t.run("gate: 421 past 3 sessions: the count rises to 3, the 4th gets "
          "421, the limit holds at 3 (show domain: refused)", gate_case)

    slow = recv["slow"]

    def slow_case():
        # enough mail to last while the limit grows 2 -> 3 -> 4 (each
        # raise judged over three 1 s periods)
        th = threading.Thread(target=smtp_source,
                              args=(bw, SLOW_MSGS, "r@slow" + D),
                              daemon=True)
        th.start()
        bwtest.wait_for(lambda: slow.max_sessions >= 4, 30,
                        what="4 sessions at the slow receiver")
        risen = slow.max_sessions
        slow.data_delay = 1.5           # the receiver slows down
        t_slow = time.monotonic()
        bwtest.wait_for(lambda: delivery(bw, "slow" + D)["conn_limit"] <= 2,
                        30, what="the limit down to 2 (%r)" %
                        delivery(bw, "slow" + D))
        time.sleep(4)                   # extra connections QUIT after
        d = delivery(bw, "slow" + D)    # their transaction
        now_max = slow.max_sessions_since(time.monotonic() - 1.5)
        note("slow: rose to %d sessions, %d now, limit %d (%s) after "
               "%.1fs" % (risen, now_max, d["conn_limit"],
                          d["limit_reason"], time.monotonic() - t_slow))
        assert d["conn_limit"] <= 2, d
        assert d["limit_reason"].startswith("slow: "), d
        assert now_max <= d["conn_limit"] + 1, (now_max, d)
        changes = limit_changes(bw, "slow" + D)
        assert len([1 for o, n, r in changes if r == "slow"]) >= 2, changes
        slow.data_delay = 0.0           # let the rest through
        th.join(120)
        bwtest.wait_for(lambda: slow.count() >= SLOW_MSGS, 120,
                        what="%d messages at slow" % SLOW_MSGS)
    t.run("slow: the count rises to 4, the receiver slows down, the limit "
          "and the sessions fall (show domain: slow)", slow_case)

    refuse = recv["refuse"]

    def refuse_case():
        smtp_source(bw, 500, "r@refuse" + D)
        bwtest.wait_for(lambda: refuse.count() >= 500, 90,
                        what="500 messages at refuse (%d)" % refuse.count())
        changes = limit_changes(bw, "refuse" + D)
        note("refuse: max sessions %d, listener closed %d times, "
               "changes %r" % (refuse.max_sessions, refuse.refusals,
                               changes))
        assert refuse.max_sessions == 3, refuse.max_sessions
        assert refuse.refusals >= 1, refuse.refusals
        assert any(r == "refused" for o, n, r in changes), changes
        d = delivery(bw, "refuse" + D)
        assert d["conn_limit"] <= 3, d
        # the listener closed: refused at connect, or reset before the
        # greeting when the kernel had queued the connection first
        assert re.match(r"refused: (connection refused|greeting .*"
                        r"reset by peer)", d["limit_reason"]), d
        time.sleep(0.5)
        assert refuse.count() == 500, refuse.count()
    t.run("refuse: connections refused past 3 sessions: the limit holds "
          "at 3 (show domain: connection refused)", refuse_case)

    def show_text():
        out = bw.bwctl("show", "domain", "gate" + D).stdout
        assert re.search(r"connection limit \d+ \(max 10\), changed .*: "
                         r"refused: greeting", out), out
        assert re.search(r"acceptance rate \d+ messages/min", out), out
        out = bw.bwctl("show", "queue").stdout
        assert "CONNS/LIMIT" in out.splitlines()[0], out
        assert re.search(r"dead\.neighbor\.test\s+down\s+5\s+\S+\s+\d+\s+"
                         r"\d+/(paused|\d+)", out), out
    t.run("bwctl: show domain names the limit, its reason and the rate; "
          "show queue has CONNS/LIMIT", show_text)

    replace = recv["replace"]

    def replace_case():
        smtp_source(bw, 20, "r@replace" + D, sessions=5)
        bwtest.wait_for(lambda: replace.count() >= 20, 60,
                        what="20 messages at replace (%d)" % replace.count())
        note("replace: max sessions %d, 421s %d, attempts %d" % (
            replace.max_sessions, replace.over_421, len(replace.attempts)))
        # one message per connection: 20 sessions, each replaced; the
        # receiver closes 0.3 s after its 221 and counts the session until
        # then: a replacement opened at the 221 would meet its 421
        assert replace.over_421 == 0, replace.over_421
        assert replace.max_sessions <= 2, replace.max_sessions
        assert len(replace.attempts) == 20, len(replace.attempts)
    t.run("replace: a connection closed after its messages frees its slot "
          "when the receiver has closed, not at the 221 (receiver taking 2, "
          "closing 0.3 s after QUIT: no 421)", replace_case)

    def dead_case():
        t0 = state["dead_t0"]
        time.sleep(max(0.0, t0 + 60 - time.monotonic()))
        n = len([x for x in dead.attempts if t0 <= x < t0 + 60])
        q = queue_row(bw, "dead" + D)
        d = delivery(bw, "dead" + D)
        note("dead: %d connection attempts in the first minute (retry "
               "profile 1-2 s: about 30 without a pause); limit %r" % (
                   n, d["limit_reason"]))
        # two refusals, then one per pause of 10 s: 7 (8 at most: one
        # pause may end just inside the minute); 30-60 at one per retry
        assert 2 <= n <= 8, n
        assert "paused 10s" in d["limit_reason"], d
        assert q["state"] == "down" and q["messages"] == 5, q
        assert d["conn_limit"] == 1, d
        assert d["limit_reason"].startswith("pause: "), d
        assert "421" in d["limit_reason"], d
    t.run("dead: 421 to every connection: a handful of attempts a minute "
          "(10 s pauses), not one per retry", dead_case)

    def paced_case():
        at = recv["paced"].attempts
        gaps = [round(b - a, 1) for a, b in zip(at, at[1:])]
        note("paced: attempts %s s apart" % gaps)
        # in the minute: every 10 s; the pause doubling past the profile
        # (20, 40 s) or a pause added to an interval would show here
        assert len(gaps) >= 4, gaps
        assert all(9 <= g <= 12 for g in gaps[:4]), gaps
    t.run("paced: a dead destination under a 10 s profile is retried "
          "as the profile says, not as the pause grows", paced_case)

    def dead_retries_case():
        dq = [x for x in bw.bwctl("show", "domain", "dead" + D,
                                  json_out=True)["queue"]
              if x["gateway"] == "default"][0]
        tried = len(dead.attempts)
        note("dead: %d domain retries, %d connection attempts in all" % (
            dq["retries"], tried))
        # the first attempt (active queue) is not a retry; one probe may
        # be waiting for the pause's end
        assert 1 <= dq["retries"] <= tried, (dq, tried)
        assert "probe waits" in bw.log("deliverd"), \
            bw.log_tail("deliverd")
    t.run("dead: every domain retry is a connection attempt (a probe "
          "waits for the pause's end)", dead_retries_case)

    def dead_retry_now_case():
        # right after a refusal: most of a 10 s pause is left
        def pause_left():
            d = delivery(bw, "dead" + D)
            return (d["paused_until"] or 0) - time.time()
        bwtest.wait_for(lambda: pause_left() > 7, 25,
                        what="a fresh Good Neighbor pause")
        before = len(dead.attempts)
        t0 = time.monotonic()
        bw.bwctl("retry", "dead" + D)
        bwtest.wait_for(lambda: len(dead.attempts) > before, 4,
                        what="a connection right after bwctl retry")
        note("dead: connection %.2f s after bwctl retry" % (
            time.monotonic() - t0))
        assert "retry requested, Good Neighbor pause ended" in \
            bw.log("deliverd"), bw.log_tail("deliverd")
    t.run("dead: bwctl retry ends the Good Neighbor pause: a connection "
          "at once", dead_retry_now_case)


if __name__ == "__main__":
    main()
