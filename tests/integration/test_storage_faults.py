#!/usr/bin/python3
"""Storage faults in queued, through every daemon, with the fault shim
(tests/faultinject, LD_PRELOADed into queued) failing or cutting short a
chosen fsync/fdatasync/pwrite at a moment the test picks (the shim counts
calls only while its arm file exists).

Each case restarts queued with the shim's settings, sends messages to a
suspended domain (so that they stay queued across the fault), arms the
fault, sends more, and checks what the clients were told against what is
delivered to smtp-sink once queued is back and the domain resumed:

 - a failed fdatasync of a body segment or of the Berkeley DB log, and a
   failed pwrite of a body piece (EIO): queued never trusts a later sync;
   it logs one line, exits with status 75 and is restarted (as systemd's
   Restart=on-failure would).  Every 250 is delivered, including those
   from before the fault; no message that got a 4xx is delivered; a
   message whose commit was in doubt gets 250 only if recovery found it
   (smtpd asks the restarted queued: MSG_COMMIT_CHECK);
 - a pwrite of a body piece that fails with ENOSPC: that message gets 452
   4.3.1, nospace_rejects counts it (bwctl status --json), queued keeps
   running and the next message is queued;
 - queued killed right after the log flush of a commit, before its reply
   (SIGKILL from the shim): the client gets 250 once queued is back, and
   the message is delivered once; killed before the flush: 451, never
   delivered.
"""

import os
import re
import smtplib
import threading

import bwtest
import peers

D = "fault.test"
SHIM = os.path.join(bwtest.BUILDDIR, "tests", "faultinject", "faultinject.so")
EXIT_STORAGE = 75
t = bwtest.TAP()


def config_text(bw, sink_port):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
deliver_idle_keep 1s
queue_checkpoint_interval 1h
route %(d)s -> [127.0.0.1]:%(port)d
""" % {"d": D, "port": sink_port, "dns": bwtest.free_port()}
    return bwtest.default_config(bw, extra=extra)


class Ledger:
    """What each client was told, by tag."""

    def __init__(self):
        self.lock = threading.Lock()
        self.replies = {}

    def put(self, tag, code, text):
        with self.lock:
            self.replies[tag] = (code, text)

    def acked(self):
        return {g for g, (c, _) in self.replies.items() if c == 250}


def send(bw, ledger, tag, size=2000):
    body = ("Subject: %s\r\nFrom: f@origin.example\r\nTo: r@%s\r\n\r\n"
            % (tag, D)) + ("%s line\r\n" % tag) * (size // 12 + 1)
    try:
        with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=150) as s:
            s.ehlo("client.example")
            for code, resp in (s.mail("f@origin.example"),
                               s.rcpt("r@" + D)):
                if code != 250:     # queued was away at MAIL
                    ledger.put(tag, code, resp.decode(errors="replace"))
                    return
            code, resp = s.data(body.encode())
            ledger.put(tag, code, resp.decode(errors="replace"))
    except smtplib.SMTPResponseException as e:
        ledger.put(tag, e.smtp_code, e.smtp_error.decode(errors="replace"))
    except (OSError, smtplib.SMTPException) as e:
        ledger.put(tag, 0, repr(e))


def send_many(bw, ledger, tags, size=2000):
    th = [threading.Thread(target=send, args=(bw, ledger, g, size),
                           daemon=True) for g in tags]
    for x in th:
        x.start()
    return th


def join(threads):
    for x in threads:
        x.join(170)
        assert not x.is_alive(), "a client hung"


def delivered_tags(sink):
    out = set()
    for m in sink.messages():
        g = re.search(r"^Subject: (\S+)\r?$", m, re.M)
        if g:
            out.add(g.group(1))
    return out


def shim_env(bw, arm, **kw):
    env = {"LD_PRELOAD": SHIM, "BW_FAULT_ARM": arm,
           "BW_FAULT_LOG": os.path.join(bw.logdir, "faults.log"),
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:"
                           "verify_asan_link_order=0"}
    env.update({"BW_FAULT_" + k.upper(): str(v) for k, v in kw.items()})
    return env


def restart_queued(bw, env=None):
    bw.start_one("queued", env_extra=env)
    bw.wait_ready(["controld", "queued", "smtpd", "deliverd"])


def wait_exit(bw, proc="queued", timeout=30):
    p = bw.procs[proc]
    bwtest.wait_for(lambda: p.poll() is not None, timeout,
                    what="%s to exit (log: %s)" % (proc, bw.log_tail(proc)))
    return p.poll()


class Cases:
    def __init__(self, bw, sink):
        self.bw, self.sink = bw, sink
        self.n = 0
        self.ledger = Ledger()

    def arm_file(self):
        self.n += 1
        return os.path.join(self.bw.base, "arm-%d" % self.n)

    def drain(self):
        """Resume the domain, wait until every acknowledged message has
        arrived and the queue is empty; the set of tags delivered."""
        bw = self.bw
        bw.bwctl("resume", D)
        want = self.ledger.acked()
        bwtest.wait_for(lambda: want <= delivered_tags(self.sink), 60,
                        what="acknowledged messages at the sink (missing "
                        "%s)" % sorted(want - delivered_tags(self.sink)))
        bwtest.wait_for(
            lambda: bw.counters("queued").get("queued_messages") == 0, 30,
            what="an empty queue (%s)" % bw.counters("queued"))
        got = delivered_tags(self.sink)
        refused = {g for g, (c, _) in self.ledger.replies.items()
                   if c != 250}
        wrong = sorted(got & refused)
        assert not wrong, "delivered after a refusal: %s %s" % (
            wrong, [self.ledger.replies[g] for g in wrong])
        bw.bwctl("suspend", D)
        return got

    def storage_failure(self, tag, expect_all_refused, **fault):
        """Messages before, arm, messages in flight, queued exits 75 and is
        restarted; consistency of replies and deliveries."""
        bw = self.bw
        arm = self.arm_file()
        bw.stop("queued")
        restart_queued(bw, shim_env(bw, arm, **fault))
        before = ["%s-before%d" % (tag, i) for i in range(4)]
        join(send_many(bw, self.ledger, before))
        for g in before:
            assert self.ledger.replies[g][0] == 250, self.ledger.replies[g]
        log_before = len(bw.log("queued").splitlines())
        open(arm, "w").close()
        during = ["%s-during%d" % (tag, i) for i in range(6)]
        th = send_many(bw, self.ledger, during)
        rc = wait_exit(bw)
        os.unlink(arm)
        assert rc == EXIT_STORAGE, "queued exited with %r, not %d: %s" % (
            rc, EXIT_STORAGE, bw.log_tail("queued"))
        new = bw.log("queued").splitlines()[log_before:]
        lines = [ln for ln in new if "storage failure" in ln]
        assert len(lines) == 1, new
        restart_queued(bw)
        join(th)
        for g in during:
            c, text = self.ledger.replies[g]
            assert c in (250, 451), (g, c, text)
            if c == 451:
                assert "4.3.0" in text, (g, text)
        if expect_all_refused:
            ok = [g for g in during if self.ledger.replies[g][0] == 250]
            assert not ok, "250 after a failed sync: %s" % ok
        got = self.drain()
        assert set(before) <= got, (before, got)
        return lines[0]


def run_cases(bw, sink):
    c = Cases(bw, sink)
    bw.bwctl("suspend", D)
    if not os.path.exists(SHIM):
        t.skip("storage fault cases", "fault shim not built")
        return

    t.run("fdatasync of a body segment fails (EIO): one log line, exit "
          "75, the commits in flight get 451, every 250 is delivered, "
          "nothing refused is",
          lambda: c.storage_failure("segsync", True, funcs="fdatasync",
                                    path="/segments/"))
    t.run("fdatasync of the log fails (EIO): exit 75; after the restart "
          "each client's reply matches what recovery found",
          lambda: c.storage_failure("logsync", False, funcs="fdatasync",
                                    path="/log."))
    t.run("pwrite of a body piece fails (EIO): exit 75, that message 451",
          lambda: c.storage_failure("pwrite", True, funcs="pwrite",
                                    path="/segments/"))

    def nospace():
        arm = c.arm_file()
        bw.stop("queued")
        restart_queued(bw, shim_env(bw, arm, funcs="pwrite",
                                    path="/segments/", errno="ENOSPC"))
        before = bw.counters("queued").get("nospace_rejects", 0)
        open(arm, "w").close()
        send(bw, c.ledger, "full0", 3000)
        os.unlink(arm)
        code, text = c.ledger.replies["full0"]
        assert code == 452 and "4.3.1" in text, (code, text)
        assert bw.running("queued"), bw.log_tail("queued")
        after = bw.counters("queued").get("nospace_rejects", 0)
        assert after == before + 1, (before, after)
        send(bw, c.ledger, "full1", 3000)
        assert c.ledger.replies["full1"][0] == 250, c.ledger.replies["full1"]
        got = c.drain()
        assert "full1" in got and "full0" not in got, got
    t.run("pwrite of a body piece fails with ENOSPC: 452 4.3.1, counted in "
          "nospace_rejects (status --json), queued goes on", nospace)

    def killed(action, path, want):
        arm = c.arm_file()
        tag = "kill-%s" % action
        bw.stop("queued")
        restart_queued(bw, shim_env(bw, arm, funcs="fdatasync", path=path,
                                    action=action))
        open(arm, "w").close()
        th = send_many(bw, c.ledger, [tag], 3000)
        rc = wait_exit(bw)
        os.unlink(arm)
        assert rc == -9, rc
        restart_queued(bw)
        join(th)
        code, text = c.ledger.replies[tag]
        assert code == want, (code, text, bw.log_tail("smtpd"))
        got = c.drain()
        assert (tag in got) == (want == 250), (tag, got)
    t.run("queued killed after the log flush of a commit, before its reply: "
          "smtpd asks the restarted queued and answers 250; delivered once",
          killed, "kill-after", "/log.", 250)
    t.run("queued killed before the flush: 451 after the restart, never "
          "delivered", killed, "kill-before", "/segments/", 451)

    def suspended_rows():
        # a domain with mail and one without, both suspended: a restart
        # shows the same rows (issue 10 reported an extra one; not
        # reproduced, kept as a guard)
        def rows():
            return sorted((e["gateway"], e["domain"], e["state"],
                           e["messages"])
                          for e in bw.bwctl("show", "queue",
                                            json_out=True)["queues"])
        bw.bwctl("suspend", "idle.test")
        send(bw, c.ledger, "held0")
        before = rows()
        assert ("*", D, "suspended", 0) in before, before
        assert ("*", "idle.test", "suspended", 0) in before, before
        bw.stop("queued")
        restart_queued(bw)
        bwtest.wait_for(lambda: bw.bwctl("show", "queue", check=False)
                        .returncode == 0, 10, what="queued linked")
        assert rows() == before, (before, rows())
        bw.bwctl("resume", "idle.test")
        c.drain()
    t.run("suspended domains show the same rows after a restart",
          suspended_rows)

    def exactly_once():
        got = [m for m in sink.messages()]
        tags = [re.search(r"^Subject: (\S+)\r?$", m, re.M).group(1)
                for m in got if re.search(r"^Subject: (\S+)\r?$", m, re.M)]
        dup = sorted({g for g in tags if tags.count(g) > 1})
        assert not dup, "delivered twice: %s" % dup
    t.run("no message was delivered twice", exactly_once)


def main():
    peers.main_with_sink(t, "storage-faults", config_text, run_cases)


if __name__ == "__main__":
    main()
