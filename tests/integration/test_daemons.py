#!/usr/bin/python3
"""Process life cycle: pid files, deliverd workers and their supervision,
queued killed and restarted (smtpd and the workers reconnect, bwctl sees
the new pid), controld's view of it all, and a clean SIGTERM stop of every
daemon (exit status 0, pid files removed, no worker left behind)."""

import os
import re
import signal
import time

import bwtest

WORKERS = 2
QID_RE = re.compile(r"queued as ([0-9A-F]{16})")

t = bwtest.TAP()


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive either.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def status(bw):
    return {p["name"]: p for p in bw.bwctl("status", json_out=True)
            ["processes"]}


def workers_up(bw):
    procs = status(bw)
    names = ["deliverd[%d]" % i for i in range(WORKERS)]
    if all(procs.get(n, {}).get("state") == "up" for n in names):
        return {n: procs[n] for n in names}
    return None


def pidfile(bw, proc):
    return os.path.join(bw.rundir, proc, proc + ".pid")


def accepted(bw):
    r = bw.swaks("--from", "a@sender.example", "--to", "x@example.org")
    return r.returncode == 0 and QID_RE.search(r.stdout)


def check_pidfiles(bw):
    for p in bwtest.DEFAULT_PROCS:
        with open(pidfile(bw, p)) as f:
            assert int(f.read().strip()) == bw.pid(p), p


def check_workers_up(bw):
    w = bwtest.wait_for(lambda: workers_up(bw), 20, what="workers up")
    pids = {p["pid"] for p in w.values()}
    assert len(pids) == WORKERS, w
    for p in w.values():
        assert ppid(p["pid"]) == bw.pid("deliverd"), p
        assert p["counters"]["queued_up"] == 1, p
        assert p["counters"]["dnscached_up"] == 1, p
        assert p["counters"]["restarts"] == 0, p
    # Exactly WORKERS children, no more.
    kids = [int(d) for d in os.listdir("/proc") if d.isdigit() and
            alive(int(d)) and ppid(int(d)) == bw.pid("deliverd")]
    assert sorted(kids) == sorted(pids), (kids, pids)


def check_worker_restart(bw):
    before = bwtest.wait_for(lambda: workers_up(bw), 20, what="workers up")
    victim = before["deliverd[1]"]["pid"]
    other = before["deliverd[0]"]["pid"]
    os.kill(victim, signal.SIGKILL)

    def replaced():
        w = workers_up(bw)
        return w and w["deliverd[1]"]["pid"] != victim and w
    after = bwtest.wait_for(replaced, 10, what="worker 1 restarted")
    new = after["deliverd[1]"]
    assert ppid(new["pid"]) == bw.pid("deliverd"), new
    assert new["counters"]["restarts"] == 1, new
    assert after["deliverd[0]"]["pid"] == other, after
    assert not alive(victim)
    bw.wait_log("deliverd", r"worker=1 pid=%d killed signal=9.*restart in" %
                victim)


def check_queued_restart(bw):
    old = bw.pid("queued")
    bw.kill("queued", signal.SIGKILL)
    # While queued is away smtpd answers 451 and keeps running.
    r = bw.swaks("--from", "a@sender.example", "--to", "x@example.org")
    assert r.returncode != 0 and "451" in r.stdout, r.stdout[-1500:]
    assert bw.running("smtpd")
    bw.start_one("queued")
    bw.wait_ready(["queued"])
    t0 = time.monotonic()
    bwtest.wait_for(lambda: accepted(bw), 10, interval=0.3,
                    what="250 again after queued restart")
    took = time.monotonic() - t0
    assert took < 8, took

    def queued_new():
        p = status(bw)["queued"]
        return p["state"] == "up" and p["pid"] == bw.pid("queued") and p
    p = bwtest.wait_for(queued_new, 10, what="bwctl sees the new queued")
    assert p["pid"] != old, p
    with open(pidfile(bw, "queued")) as f:
        assert int(f.read()) == bw.pid("queued")


def check_workers_reconnect(bw):
    def reconnected():
        w = workers_up(bw)
        return w and all(p["counters"]["queued_up"] == 1 and
                         p["counters"]["queued_connects"] >= 2
                         for p in w.values()) and w
    bwtest.wait_for(reconnected, 15, what="workers reconnected to queued")


def check_dnscached_restart(bw):
    old = bw.pid("dnscached")
    assert bw.stop("dnscached") == 0
    assert not os.path.exists(pidfile(bw, "dnscached"))
    assert status(bw)["dnscached"]["state"] == "down"
    bw.start_one("dnscached")
    bw.wait_ready(["dnscached"])

    def back():
        p = status(bw)["dnscached"]
        return p["state"] == "up" and p["pid"] == bw.pid("dnscached") and p
    p = bwtest.wait_for(back, 15, what="dnscached up again")
    assert p["pid"] != old

    def reconnected():
        w = workers_up(bw)
        return w and all(p["counters"]["dnscached_up"] == 1 and
                         p["counters"]["dnscached_connects"] >= 2
                         for p in w.values())
    bwtest.wait_for(reconnected, 15, what="workers reconnected to dnscached")


def check_clean_stop(bw):
    workers = [p["pid"] for p in workers_up(bw).values()]
    for p in reversed(bwtest.START_ORDER):
        pid = bw.pid(p)
        rc = bw.stop(p)
        assert rc == 0, (p, rc, bw.log_tail(p))
        assert not os.path.exists(pidfile(bw, p)), p
        assert not alive(pid), p
        assert re.search(r"stopped", bw.log(p)), (p, bw.log_tail(p))
    for w in workers:
        assert not alive(w), w


def check_supervisor_death_ends_workers():
    # If the supervisor dies without stopping its workers, they notice (the
    # pipe closes) and exit on their own.
    with bwtest.Breakwater("daemons-orphans") as bw2:
        bw2.write_config(bwtest.default_config(
            bw2, extra="deliverd_workers %d\n" % WORKERS))
        bw2.start(["controld", "deliverd"])
        w = bwtest.wait_for(lambda: workers_up(bw2), 20, what="workers")
        pids = [p["pid"] for p in w.values()]
        bw2.kill("deliverd", signal.SIGKILL)
        bwtest.wait_for(lambda: not any(alive(p) for p in pids), 10,
                        what="orphaned workers exit")
        bw2.stop_all()
        assert not bw2.sanitizer_reports, bw2.sanitizer_reports


with bwtest.Breakwater("daemons") as bw:
    bw.write_config(bwtest.default_config(
        bw, extra="deliverd_workers %d\n" % WORKERS))
    bw.start()
    t.run("pid files hold the daemons' pids", check_pidfiles, bw)
    t.run("deliverd workers come up, connected", check_workers_up, bw)
    t.run("killed worker is restarted by the supervisor",
          check_worker_restart, bw)
    t.run("queued SIGKILLed and restarted: 250 again, new pid in status",
          check_queued_restart, bw)
    t.run("workers reconnect to the new queued", check_workers_reconnect, bw)
    t.run("dnscached restarted: clients reconnect", check_dnscached_restart,
          bw)
    t.run("SIGTERM stops every daemon: status 0, pid files gone",
          check_clean_stop, bw)
    bw.stop_all()
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
t.run("workers exit when the supervisor dies",
      check_supervisor_death_ends_workers)
t.done()
