#!/usr/bin/python3
"""smtpd as N worker processes sharing every listener (issue 14).

The suite runs with smtpd_workers 4 (two more than this machine's cores,
so that the spread and the restarts are seen) and a sink behind a route:

- bwctl status lists smtpd[0] .. smtpd[3], each up, with its own pid and
  its share of smtpd_max_connections; the supervisor is not a row;
- 60 connections held at once land on every worker (SO_REUSEPORT spreads
  them; the chance that one of four gets none is 0.75^60);
- the per-host limits stay exact across workers (the counters live in
  queued): 3 connections per IP from one host, the 4th refused whichever
  worker took it; 4 messages a minute from one host, the 5th refused,
  each message on a connection of its own;
- a worker killed (SIGKILL) under load: its clients see their sessions
  end, no message that got 250 is lost (every one reaches the sink),
  the other workers keep serving, the slot is restarted (new pid,
  restarts=1 in bwctl status) and the per-host counts of the killed
  worker's sessions are released (bwctl show senders: 0 connections);
- a reload that adds a listener: every worker accepts on it, a worker
  restarted after the reload asks controld for the configuration
  (its config_digest is controld's); a reload that removes it:
  connections are refused at once, none hangs in a backlog;
- SIGTERM to the supervisor stops every worker, no pid is left.
"""

import os
import signal
import smtplib
import socket
import threading
import time

import bwtest
import peers

t = bwtest.TAP()


def note(text):
    print("# " + text, flush=True)

WORKERS = 4
PER_IP = 3
MSGS_PER_MIN = 4
D = ".workers.test"
LOAD_CLIENTS = 8
LOAD_MSGS = 40          # per client


def config_text(bw, sink_port, extra_listener=None):
    extra = """smtpd_workers %(w)d
smtpd_max_connections 400
deliverd_workers 1
route sink%(d)s -> [127.0.0.1]:%(sink)d
policy limited {
    behaviour accept
    smtpd_max_connections_per_ip %(ip)d
    smtpd_max_messages_per_minute %(mpm)d
}
policy plain {
    behaviour accept
}
sender_group LIMITED {
    policy limited
    network 127.0.9.0/24
}
""" % {"w": WORKERS, "d": D, "sink": sink_port, "ip": PER_IP,
       "mpm": MSGS_PER_MIN}
    listeners = """
listener private {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    sender_groups LIMITED
    default_policy plain
}
""" % bw.private_port
    if extra_listener:
        listeners += """
listener extra {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
}
""" % extra_listener
    return bwtest.default_config(bw, extra=extra, listeners=listeners)


def workers(bw):
    """{index: status row} of the smtpd workers."""
    st = bw.bwctl("status", json_out=True)
    out = {}
    for p in st["processes"]:
        name = p["name"]
        if name.startswith("smtpd["):
            out[int(name[6:-1])] = p
    return out


def all_up(bw):
    w = workers(bw)
    return len(w) == WORKERS and all(
        p["state"] == "up" and p["counters"].get("queued_up") == 1
        for p in w.values())


def greet(port, src="127.0.0.1", timeout=10):
    """(code, socket) of a new connection's first reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout,
                                 source_address=(src, 0))
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n" not in buf and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    code = int(buf[:3]) if buf[:3].isdigit() else 0
    return code, s


def same_config(bw):
    """Every smtpd worker runs controld's configuration (its digest; the
    generation of a worker restarted in between counts its own reload)."""
    st = bw.bwctl("status", json_out=True)
    rows = {p["name"]: p["counters"] for p in st["processes"]}
    want = rows["controld"].get("config_digest")
    return all(rows.get("smtpd[%d]" % i, {}).get("config_digest") == want
               for i in range(WORKERS))


def senders(bw):
    out = bw.bwctl("show", "senders", "-n", "1000", json_out=True)
    return {r["address"]: r for r in out["senders"]}


def run(bw, sink):
    bwtest.wait_for(lambda: all_up(bw), 30, what="4 smtpd workers up")

    def status_rows():
        w = workers(bw)
        assert sorted(w) == list(range(WORKERS)), w
        pids = {p["pid"] for p in w.values()}
        assert len(pids) == WORKERS, pids
        assert bw.pid("smtpd") not in pids, "the supervisor is not a row"
        for p in w.values():
            assert p["counters"]["max_connections"] == 100, p["counters"]
        txt = bw.bwctl("status").stdout
        for i in range(WORKERS):
            assert "smtpd[%d]" % i in txt, txt
    t.run("bwctl status: smtpd[0..3] up, own pids, a share of "
          "smtpd_max_connections each", status_rows)

    def spread():
        held = []
        try:
            for i in range(60):
                # 10 per host: under the default per-IP limit
                code, s = greet(bw.private_port, "127.0.7.%d" % (i // 10 + 1))
                assert code == 220, code
                held.append(s)
            act = {i: p["counters"]["connections_active"]
                   for i, p in workers(bw).items()}
            note("60 connections over the workers: %r" % act)
            assert sum(act.values()) == 60, act
            assert all(v > 0 for v in act.values()), act
        finally:
            for s in held:
                s.close()
    t.run("60 held connections land on every worker", spread)

    def per_ip_exact():
        src = "127.0.9.1"
        held, codes = [], []
        try:
            for _ in range(PER_IP + 3):
                code, s = greet(bw.private_port, src)
                codes.append(code)
                if code == 220:
                    held.append(s)
                else:
                    s.close()
            assert codes[:PER_IP] == [220] * PER_IP, codes
            assert all(c == 421 for c in codes[PER_IP:]), codes
            bwtest.wait_for(lambda: senders(bw).get(src, {}).get(
                "connections") == PER_IP, 10, what="3 connections counted")
        finally:
            for s in held:
                s.close()
        bwtest.wait_for(lambda: senders(bw).get(src, {}).get(
            "connections") == 0, 10, what="connections given back")
    t.run("smtpd_max_connections_per_ip %d is exact across workers "
          "(the 4th to 6th refused)" % PER_IP, per_ip_exact)

    def rate_exact():
        src = "127.0.9.2"
        got = []
        for i in range(MSGS_PER_MIN + 2):
            c = smtplib.SMTP(timeout=30, source_address=(src, 0))
            c.connect("127.0.0.1", bw.private_port)
            c.ehlo("rate.example")
            code, _ = c.mail("rate@origin.example")
            got.append(code)
            if code == 250:
                c.rcpt("r%d@sink%s" % (i, D))
                c.data(b"Subject: rate\r\n\r\nx\r\n")
            try:
                c.quit()
            except Exception:  # noqa: BLE001 - a 421 closes the session
                pass
        assert got[:MSGS_PER_MIN] == [250] * MSGS_PER_MIN, got
        assert all(c == 421 for c in got[MSGS_PER_MIN:]), got
    t.run("smtpd_max_messages_per_minute %d is exact across workers "
          "(one connection per message)" % MSGS_PER_MIN, rate_exact)

    def kill_one():
        before = sink.count()
        accepted, lock = [], threading.Lock()
        stop = threading.Event()
        errors = []

        def client(n):
            src = "127.0.8.%d" % (n + 1)
            sent = 0
            deadline = time.monotonic() + 90
            while sent < LOAD_MSGS and time.monotonic() < deadline \
                    and not stop.is_set():
                try:
                    c = smtplib.SMTP(timeout=30, source_address=(src, 0))
                    c.connect("127.0.0.1", bw.private_port)
                    for _ in range(5):
                        tag = "load-%d-%d" % (n, sent)
                        c.sendmail("load@origin.example",
                                   ["%s@sink%s" % (tag, D)],
                                   "Subject: %s\r\n\r\nbody\r\n" % tag)
                        with lock:
                            accepted.append(tag)
                        sent += 1
                        if sent >= LOAD_MSGS:
                            break
                    c.quit()
                except (OSError, smtplib.SMTPException) as e:
                    # the killed worker's sessions: the client retries
                    errors.append(repr(e))
                    time.sleep(0.05)
        ths = [threading.Thread(target=client, args=(n,))
               for n in range(LOAD_CLIENTS)]
        for th in ths:
            th.start()
        bwtest.wait_for(lambda: len(accepted) >= 40, 60,
                        what="load flowing")
        victim = workers(bw)[1]
        os.kill(victim["pid"], signal.SIGKILL)
        for th in ths:
            th.join(120)
        stop.set()
        assert len(accepted) == LOAD_CLIENTS * LOAD_MSGS, \
            (len(accepted), errors[:5])
        note("killed smtpd[1] pid %d under load: %d client errors, "
               "all %d messages accepted in the end" % (
                   victim["pid"], len(errors), len(accepted)))
        want = set(accepted)
        bwtest.wait_for(lambda: sink.count() - before >= len(want), 120,
                        what="%d messages at the sink" % len(want))
        got = set()
        for r in sink.rcpts():
            local = r.split("@")[0]
            if local.startswith("load-"):
                got.add(local)
        assert want <= got, sorted(want - got)[:10]

        def restarted():
            w = workers(bw)
            return w.get(1, {}).get("state") == "up" and \
                w[1]["pid"] != victim["pid"] and \
                w[1]["counters"].get("restarts") == 1
        bwtest.wait_for(restarted, 30, what="smtpd[1] restarted")
        log = bw.log("smtpd")
        assert "worker=1 pid=%d killed signal=9" % victim["pid"] in log, \
            bw.log_tail("smtpd")
        # the killed worker's sessions do not leak in the counters
        bwtest.wait_for(lambda: all(
            r.get("connections", 0) == 0 for a, r in senders(bw).items()
            if a.startswith("127.0.8.")), 20,
            what="no connection counted for the load hosts")
        assert all_up(bw)
    t.run("a worker killed under load: no accepted message lost, the slot "
          "restarted, its sessions' counts released", kill_one)

    extra_port = bwtest.free_port()

    def reload_listener():
        bw.write_config(config_text(bw, sink.port, extra_port))
        r = bw.bwctl("config", "reload", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        bwtest.wait_for(lambda: same_config(bw), 20,
                        what="workers reloaded")
        # a worker started after the reload asks for the configuration
        victim = workers(bw)[2]
        os.kill(victim["pid"], signal.SIGKILL)
        bwtest.wait_for(lambda: workers(bw).get(2, {}).get("pid") not in
                        (None, victim["pid"]) and
                        workers(bw)[2]["state"] == "up", 30,
                        what="smtpd[2] restarted")
        bwtest.wait_for(lambda: same_config(bw), 20,
                        what="smtpd[2] has the reloaded configuration")
        held = []
        try:
            for _ in range(40):
                code, s = greet(extra_port)
                assert code == 220, code
                held.append(s)
            act = {i: p["counters"]["connections_active"]
                   for i, p in workers(bw).items()}
            note("40 connections to the added listener: %r" % act)
            assert all(v > 0 for v in act.values()), act
        finally:
            for s in held:
                s.close()
        bw.write_config(config_text(bw, sink.port))
        r = bw.bwctl("config", "reload", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        bwtest.wait_for(lambda: same_config(bw), 20, what="second reload")
        refused = 0
        for _ in range(20):
            try:
                s = socket.create_connection(("127.0.0.1", extra_port), 3)
            except ConnectionRefusedError:
                refused += 1
                continue
            s.settimeout(3)
            try:
                data = s.recv(100)
            except OSError:
                data = b""
            s.close()
            raise AssertionError("removed listener answered %r" % data)
        assert refused == 20, refused
    t.run("reload: an added listener on every worker (also one restarted "
          "after it), a removed one refused at once", reload_listener)

    def stop_all():
        pids = [p["pid"] for p in workers(bw).values()]
        bw.kill("smtpd", signal.SIGTERM, timeout=20)
        assert bw.procs["smtpd"].returncode == 0, bw.procs["smtpd"].returncode

        def gone():
            for pid in pids:
                try:
                    os.kill(pid, 0)
                    return False
                except ProcessLookupError:
                    pass
            return True
        bwtest.wait_for(gone, 15, what="every worker gone")
        bw.start_one("smtpd")
        bwtest.wait_for(lambda: all_up(bw), 30, what="workers up again")
    t.run("SIGTERM to the supervisor stops every worker; started again",
          stop_all)


peers.main_with_sink(t, "smtpd_workers", config_text, run)
