#!/usr/bin/python3
"""The durability contract: a message that got its 250 (MSG_COMMIT_REPLY
OK) survives a crash, complete; a message that did not is either absent or
complete, never half there.

Cases:
 1. several concurrent clients submit straight to queued.sock (playing
    smtpd with hostile_peer.Peer); queued is SIGKILLed at a random moment
    and restarted.
 2. the same through smtpd with concurrent smtplib clients (skipped when
    smtpd is not built).
 3. every process is SIGKILLed at once, all are restarted.
After each restart `bwctl list messages --json` and `bwctl show queue
--json` must agree with what the clients were told.
"""

import os
import random
import re
import signal
import smtplib
import threading
import time

import bwtest
import hostile_peer as hp

CLIENTS = 6
PER_CLIENT = 60		# messages each client tries at most
LIST_LIMIT = 100000
QUEUED_AS = re.compile(r"queued as ([0-9A-F]{16})")


class Acked:
    """What clients were told: qid -> (nrcpt, size)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}
        self.errors = []

    def add(self, qid, nrcpt, size):
        with self.lock:
            self.msgs[qid] = (nrcpt, size)


def body_for(cid, i):
    # sizes from tiny to past the in-memory limit (spilled bodies)
    n = random.choice([1, 10, 1000, 5000])
    return ("Subject: c%d m%d\r\n\r\n" % (cid, i)).encode() + \
        (b"0123456789abcdefghij" * 3 + b"\r\n") * n


def direct_client(bw, cid, acked, stop):
    sock = os.path.join(bw.rundir, "queued.sock")
    p = None
    for i in range(PER_CLIENT):
        if stop.is_set():
            break
        try:
            if p is None:
                p = hp.Peer(sock, timeout=10)
            rcpts = ["r%d_%d_%d@example.%s" % (cid, i, k, ("org", "net")[k % 2])
                     for k in range(1 + i % 4)]
            body = body_for(cid, i)
            st, qid = p.submit(rcpts, body, reqid=i + 1)
            if st == "OK":
                acked.add(qid, len(rcpts), len(body))
        except (OSError, ConnectionError, AssertionError):
            if p is not None:
                p.close()
            p = None
            time.sleep(0.05)
    if p is not None:
        p.close()


def smtp_client(bw, cid, acked, stop):
    s = None
    for i in range(PER_CLIENT):
        if stop.is_set():
            break
        try:
            if s is None:
                s = smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30)
                s.ehlo("client%d.test" % cid)
            rcpts = ["s%d_%d_%d@example.%s" % (cid, i, k, ("org", "net")[k % 2])
                     for k in range(1 + i % 4)]
            body = body_for(cid, i)
            code, _ = s.mail("sender%d@example.com" % cid)
            if code != 250:
                s.rset()
                continue
            ok = [r for r in rcpts if s.rcpt(r)[0] == 250]
            if not ok:
                s.rset()
                continue
            code, resp = s.data(body)
            m = QUEUED_AS.search(resp.decode(errors="replace"))
            if code == 250 and m:
                # smtpd prepends a Received: header: size is checked
                # against the store's own envelope, not ours
                acked.add(m.group(1), len(ok), None)
        except (OSError, smtplib.SMTPException):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
            s = None
            time.sleep(0.05)
    if s is not None:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass


def run_clients(bw, target, acked, kill):
    """Start CLIENTS threads, call kill() at a random moment, let them run
    on a little, stop them."""
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(bw, c, acked, stop),
                                daemon=True) for c in range(CLIENTS)]
    for th in threads:
        th.start()
    time.sleep(random.uniform(0.3, 1.5))
    kill()
    time.sleep(0.5)
    stop.set()
    for th in threads:
        th.join(60)
        assert not th.is_alive(), "a client thread hung"


def listing(bw):
    def get():
        return bw.bwctl("list", "messages", str(LIST_LIMIT), json_out=True)
    return bwtest.wait_for(get, 30, interval=0.3,
                           what="bwctl list messages after restart")


def verify(bw, acked):
    lst = listing(bw)
    assert not lst["truncated"], "listing truncated"
    stored = {m["qid"]: m for m in lst["messages"]}
    assert acked.msgs, "no message was acknowledged before the crash"
    missing = [q for q in acked.msgs if q not in stored]
    assert not missing, "acknowledged but lost: %s" % missing[:10]
    for qid, (nrcpt, size) in acked.msgs.items():
        m = stored[qid]
        assert m["nrcpt"] == nrcpt, (qid, m, nrcpt)
        if size is not None:
            assert m["size"] == size, (qid, m, size)
    half = [m for m in stored.values()
            if m["body_stored"] != m["size"] or
            m["rcpt_stored"] != m["nrcpt"]]
    assert not half, "half-stored messages: %s" % half[:5]
    # the queue records agree with the messages (same transactions)
    q = bw.bwctl("show", "queue", json_out=True)
    assert sum(e["messages"] for e in q["queues"]) == \
        sum(m["nrcpt"] for m in stored.values()), q
    assert q["total"]["messages"] == len(stored), (q["total"], len(stored))
    return len(acked.msgs), len(stored)


def case_direct(t):
    with bwtest.Breakwater("durable-direct") as bw:
        bw.start(procs=["controld", "queued"])
        acked = Acked()
        run_clients(bw, direct_client, acked,
                    lambda: bw.kill("queued", signal.SIGKILL))
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        t.run("direct: every acknowledged message survives SIGKILL, "
              "nothing half stored", lambda: verify(bw, acked))
        flushes = status_counter(bw, "log_flushes")
        commits = status_counter(bw, "commits")
        t.ok(flushes is not None, "status reports log_flushes and commits",
             "flushes=%r commits=%r" % (flushes, commits))
        # grouping under concurrency, measured on a fresh run
        acked2 = Acked()
        run_clients(bw, direct_client, acked2, lambda: None)
        f = status_counter(bw, "log_flushes")
        c = status_counter(bw, "commits")
        t.ok(c is not None and f is not None and f <= c,
             "group commit: log_flushes <= commits (%r <= %r)" % (f, c))
        bw.stop("queued")
        t.ok(not bw.sanitizer_reports, "direct: no sanitizer reports",
             "\n".join(bw.sanitizer_reports))


def status_counter(bw, name):
    r = bw.bwctl("status", check=False)
    m = re.search(r"queued\s+up.*\b%s=(\d+)" % name, r.stdout)
    return int(m.group(1)) if m else None


def case_smtpd(t, have_smtpd):
    name = "through smtpd: every 250 survives SIGKILL of queued"
    name_all = "kill everything at once: every 250 survives a restart"
    if not have_smtpd:
        t.skip(name, "smtpd not built")
        t.skip(name_all, "smtpd not built")
        return
    with bwtest.Breakwater("durable-smtpd") as bw:
        bw.start(procs=["controld", "queued", "dnscached", "smtpd"])
        acked = Acked()
        run_clients(bw, smtp_client, acked,
                    lambda: bw.kill("queued", signal.SIGKILL))
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        t.run(name, lambda: verify(bw, acked))

        acked_all = Acked()
        acked_all.msgs.update(acked.msgs)
        run_clients(bw, smtp_client, acked_all,
                    lambda: bw.kill_all(signal.SIGKILL))
        bw.start(procs=["controld", "queued", "dnscached", "smtpd"])
        t.run(name_all, lambda: verify(bw, acked_all))


def case_sigterm_direct(t):
    """A clean stop under load: every message queued got its reply, so no
    client retries one that is already stored (a duplicate)."""
    with bwtest.Breakwater("durable-term") as bw:
        bw.start(procs=["controld", "queued"])
        acked = Acked()
        run_clients(bw, direct_client, acked,
                    lambda: bw.kill("queued", signal.SIGTERM))
        bw.start_one("queued")
        bw.wait_ready(["queued"])

        def check():
            verify(bw, acked)
            stored = {m["qid"] for m in listing(bw)["messages"]}
            unacked = sorted(stored - set(acked.msgs))
            assert not unacked, "stored without a reply: %s" % unacked[:10]
        t.run("SIGTERM under load: every stored message got its reply",
              check)


def case_all_direct(t):
    """Kill every process (controld and queued) at once, no smtpd."""
    with bwtest.Breakwater("durable-all") as bw:
        procs = ["controld", "queued"]
        bw.start(procs=procs)
        acked = Acked()
        run_clients(bw, direct_client, acked,
                    lambda: bw.kill_all(signal.SIGKILL))
        bw.start(procs=procs)
        t.run("direct: kill every process at once, restart: nothing lost",
              lambda: verify(bw, acked))


def main():
    t = bwtest.TAP()
    have_smtpd = os.path.exists(os.path.join(bwtest.BUILDDIR, "smtpd",
                                             "smtpd"))
    case_direct(t)
    case_all_direct(t)
    case_sigterm_direct(t)
    case_smtpd(t, have_smtpd)
    t.done()


if __name__ == "__main__":
    main()
