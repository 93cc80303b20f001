#!/usr/bin/python3
"""queued's scheduling against a fake deliverd (this script).

The real controld, queued and smtpd run; deliverd is played by this
script: it connects to BASE/run/queued.sock with role deliverd, worker 0
(deliverd_workers 1 in the config), receives jobs (DLV_JOB, DLV_RCPT,
DLV_BODY, DLV_END) and answers each with DLV_RESULT per recipient and
DLV_DONE, as the case in hand wants.

Cases: messages become jobs; delivered -> gone from show queue; an
unreachable domain goes down and gets exactly one probe per retry
interval, new mail for it is parked; the probe gets through -> up and the
queue drains; a suspended domain gets no jobs, resume drains; PERMFAIL ->
one DSN to the sender on the bounce gateway with the RFC 3464 structure
(its job body received here); a retry-0 profile bounces at the first
temporary failure; a bounce that fails is dropped; state survives a
restart of queued; show domain / retry with --json.
"""

import ctypes
import email
import os
import smtplib
import socket
import struct
import threading
import time

import bwtest
from imsgproto import (DELIVERED, DLVF_BOUNCE, DLVF_PROBE, HDR, IMSG_VERSION,
                       PERMFAIL, REPLY_MAX, ROLE, T, TEMPFAIL, DlvDone,
                       DlvJob, DlvRcpt, DlvResult, DlvRetry, Hello,
                       read_frames)



t = bwtest.TAP()


class Job:
    def __init__(self, j):
        self.jobid = j.jobid
        self.qid = j.qid.decode()
        self.gateway = j.gateway.decode()
        self.domain = j.domain.decode()
        self.sender = j.sender.decode()
        self.size = j.size
        self.nrcpt = j.nrcpt
        self.flags = j.flags
        self.attempts = j.attempts
        self.rcpts = {}
        self.body = b""
        self.time = time.time()


class FakeDeliverd:
    """One deliverd worker.  policy(job) -> (results, unreachable, reason)
    with results a list of (status, dsn, reply), one per recipient, or
    None to keep the job unanswered."""

    def __init__(self, rundir, worker=0):
        self.path = os.path.join(rundir, "queued.sock")
        self.worker = worker
        self.lock = threading.Lock()
        self.jobs = []
        self.pending = {}
        self.policy = lambda job: ([(DELIVERED, "2.0.0", "250 ok")] *
                                   job.nrcpt, 0, "")
        self.stopping = False
        self.sock = None
        self.errors = []
        self.frames = []        # (type name, domain) of JOB and RETRY
        self.connected = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.sendall(HDR.pack(T["HELLO"], ctypes.sizeof(Hello), 0, os.getpid(),
                           0) + bytes(Hello(IMSG_VERSION, ROLE["deliverd"],
                                            os.getpid(), self.worker)))
        return s

    def _run(self):
        while not self.stopping:
            try:
                self.sock = self._connect()
            except OSError:
                time.sleep(0.1)
                continue
            self.connected.set()
            self._serve(self.sock)
            self.connected.clear()
            time.sleep(0.1)

    def _send(self, mtype, payload):
        try:
            self.sock.sendall(HDR.pack(mtype, len(payload), 0, os.getpid(),
                                       0) + payload)
        except OSError:
            pass

    def answer(self, job, results, unreachable=0, reason=""):
        for i, (st, dsn, reply) in enumerate(results):
            self._send(T["DLV_RESULT"], bytes(DlvResult(
                job.jobid, i, st, dsn.encode(),
                b"mx.%s[127.0.0.9]:25" % job.domain.encode(),
                reply.encode()[:REPLY_MAX - 1])))
        self._send(T["DLV_DONE"], bytes(DlvDone(
            job.jobid, unreachable, 1, reason.encode())))

    def _serve(self, s):
        read_frames(s, self._frame, lambda: self.stopping)
        s.close()

    def _frame(self, mtype, payload):
        if mtype == T["HELLO"]:
            return
        if mtype == T["DLV_JOB"]:
            j = Job(DlvJob.from_buffer_copy(payload))
            self.pending[j.jobid] = j
            with self.lock:
                self.frames.append(("DLV_JOB", j.domain))
        elif mtype == T["DLV_RETRY"]:
            domain = DlvRetry.from_buffer_copy(payload).domain.decode()
            with self.lock:
                self.frames.append(("DLV_RETRY", domain))
        elif mtype == T["DLV_RCPT"]:
            r = DlvRcpt.from_buffer_copy(payload)
            self.pending[r.jobid].rcpts[r.index] = r.rcpt.decode()
        elif mtype == T["DLV_BODY"]:
            jobid = struct.unpack_from("=Q", payload)[0]
            self.pending[jobid].body += payload[8:]
        elif mtype == T["DLV_END"]:
            jobid = struct.unpack_from("=Q", payload)[0]
            j = self.pending.pop(jobid)
            with self.lock:
                self.jobs.append(j)
            r = self.policy(j)
            if r is not None:
                self.answer(j, *r)
        else:
            self.errors.append("unexpected type %d" % mtype)

    def jobs_for(self, domain):
        with self.lock:
            return [j for j in self.jobs if j.domain == domain]

    def stop(self):
        self.stopping = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


CONFIG_EXTRA = """
deliverd_workers 1
bounce_gateway bounces
gateway bounces {
    helo bounce.test.example
}
bounce_profile fast {
    retry_initial 2s
    retry_max 4s
    max_age 1h
    max_retries -1
    domains down.example susp.example soft.example bulk.example
}
bounce_profile expire {
    retry_initial 2s
    retry_max 2s
    max_age 3s
    max_retries -1
    domains expire.example
}
bounce_profile slow {
    retry_initial 10m
    retry_max 1h
    max_age 1d
    max_retries -1
    domains retry.example
}
bounce_profile zero {
    retry_initial 2s
    retry_max 4s
    max_age 1h
    max_retries 0
    domains zero.example
}
"""


def send(bw, rcpts, sender="alice@origin.example", subject="test"):
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
           "Message-ID: <%f@origin.example>\r\n\r\nhello\r\n" %
           (sender, rcpts[0], subject, time.time()))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=20) as c:
        c.sendmail(sender, rcpts, msg)


def queues(bw):
    return {(q["gateway"], q["domain"]): q
            for q in bw.bwctl("show", "queue", json_out=True)["queues"]}


def main():
    bw = bwtest.Breakwater("schedule")
    bw.write_config(bwtest.default_config(bw, extra=CONFIG_EXTRA))
    procs = ["controld", "queued", "smtpd"]
    fd = None
    try:
        bw.start(procs)
        fd = FakeDeliverd(bw.rundir)
        t.ok(fd.connected.wait(10), "fake deliverd connected")
        bw.wait_log("queued", r"deliverd pid=\d+ worker=0 connected")

        # -- delivered -------------------------------------------------
        send(bw, ["bob@ok.example", "carol@ok.example", "dave@other.example"])
        bwtest.wait_for(lambda: len(fd.jobs_for("ok.example")) >= 1 and
                        len(fd.jobs_for("other.example")) >= 1, 10,
                        what="jobs")
        j = fd.jobs_for("ok.example")[0]
        t.ok(j.nrcpt == 2 and sorted(j.rcpts.values()) ==
             ["bob@ok.example", "carol@ok.example"] and
             j.gateway == "default" and j.sender == "alice@origin.example",
             "one job per (gateway, domain) with its recipients",
             "%r %r" % (j.rcpts, j.gateway))
        t.ok(len(j.body) == j.size and b"Subject: test" in j.body,
             "body streamed whole (%d bytes)" % j.size)
        bwtest.wait_for(lambda: not queues(bw), 10, what="queue empty")
        t.ok(True, "delivered messages are gone from show queue")
        t.ok("status=sent" in bw.log("queued") and
             "to=<bob@ok.example>" in bw.log("queued"),
             "one log line per delivery result")

        # -- domain down, one probe per interval ---------------------------
        def down_policy(job):
            if job.domain == "down.example" and not up_flag[0]:
                return ([(TEMPFAIL, "4.4.1", "connection refused")] *
                        job.nrcpt, 1, "all MX refused")
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        up_flag = [False]
        fd.policy = down_policy
        for i in range(5):
            send(bw, ["u%d@down.example" % i])
        bw.wait_log("queued", r"domain=down\.example gateway=default down")
        q = queues(bw)[("default", "down.example")]
        t.ok(q["state"] == "down" and q["messages"] == 5,
             "unreachable -> domain down, mail parked", repr(q))
        n0 = len(fd.jobs_for("down.example"))
        time.sleep(5.5)
        for i in range(5):
            send(bw, ["v%d@down.example" % i])
        time.sleep(1)
        down_jobs = fd.jobs_for("down.example")
        probes = [x for x in down_jobs[n0:] if x.flags & DLVF_PROBE]
        t.ok(len(down_jobs) - n0 == len(probes) and 1 <= len(probes) <= 3,
             "only probes while down (%d jobs before, %d probes in 6.5s)" %
             (n0, len(probes)))
        # healthy domain flows throughout
        send(bw, ["erin@ok.example"])
        bwtest.wait_for(lambda: ("default", "ok.example") not in queues(bw),
                        10, what="ok.example drained")
        t.ok(True, "a healthy domain flows while another is down")
        d = bw.bwctl("show", "domain", "down.example", json_out=True,
                     check=False)
        t.ok(isinstance(d, dict) and d.get("queue", [{}])[0].get("state")
             == "down", "show domain --json shows the down state",
             repr(d)[:300])

        # restart of queued keeps the domain down
        bw.stop("queued")
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        bwtest.wait_for(lambda: fd.connected.is_set(), 10,
                        what="fake deliverd reconnected")
        bw.wait_log("queued", r"domain=down\.example gateway=default down "
                    r"\(restart\)")
        q = queues(bw).get(("default", "down.example"), {})
        t.ok(q.get("state") == "down" and q.get("messages") == 10,
             "restart keeps the domain down with its mail", repr(q))

        up_flag[0] = True
        bwtest.wait_for(lambda: ("default", "down.example") not in
                        queues(bw), 20, what="down.example drained")
        t.ok(True, "the probe gets through: up, the whole queue drains")
        t.ok("domain=down.example gateway=default up" in bw.log("queued"),
             "one log line when the domain comes up")

        # -- suspend / resume -------------------------------------------
        bw.bwctl("suspend", "susp.example")
        n0 = len(fd.jobs_for("susp.example"))
        send(bw, ["x@susp.example"])
        time.sleep(1.5)
        q = queues(bw).get(("default", "susp.example"), {})
        t.ok(len(fd.jobs_for("susp.example")) == n0 and
             q.get("state") == "suspended" and q.get("messages") == 1,
             "a suspended domain gets no jobs", repr(q))
        bw.bwctl("resume", "susp.example")
        bwtest.wait_for(lambda: ("default", "susp.example") not in
                        queues(bw), 10, what="susp.example drained")
        t.ok(len(fd.jobs_for("susp.example")) == n0 + 1,
             "resume drains the queue")

        # -- PERMFAIL -> DSN ----------------------------------------------
        def perm_policy(job):
            if job.domain == "perm.example":
                return ([(PERMFAIL if "bad" in job.rcpts[i] else DELIVERED,
                          "5.1.1" if "bad" in job.rcpts[i] else "2.0.0",
                          "550 5.1.1 no such user" if "bad" in job.rcpts[i]
                          else "250 ok") for i in range(job.nrcpt)], 0, "")
            if job.sender == "" and job.domain == "origin.example":
                return None     # keep the DSN job to look at it
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        fd.policy = perm_policy
        send(bw, ["good1@perm.example", "bad@perm.example",
                  "good2@perm.example"], subject="perm test")
        bwtest.wait_for(lambda: [x for x in fd.jobs_for("origin.example")
                                 if x.sender == ""], 10, what="DSN job")
        dj = [x for x in fd.jobs_for("origin.example") if x.sender == ""][0]
        t.ok(dj.gateway == "bounces" and dj.flags & DLVF_BOUNCE and
             list(dj.rcpts.values()) == ["alice@origin.example"],
             "DSN queued for the sender on the bounce gateway",
             "%s %x %r" % (dj.gateway, dj.flags, dj.rcpts))
        m = email.message_from_bytes(dj.body)
        parts = [m.get_content_type()] + [
            p.get_content_type() for p in m.get_payload()]
        t.ok(m.get_content_type() == "multipart/report" and
             m.get_param("report-type") == "delivery-status" and
             parts[1:] == ["text/plain", "message/delivery-status",
                           "text/rfc822-headers"],
             "DSN is multipart/report with the three parts", repr(parts))
        body = dj.body.decode(errors="replace")
        t.ok("Final-Recipient: rfc822; bad@perm.example" in body and
             "Status: 5.1.1" in body and "Action: failed" in body and
             "Reporting-MTA: dns; mx.test.example" in body and
             "Diagnostic-Code: smtp; 550 5.1.1 no such user" in body and
             "Remote-MTA: dns; mx.perm.example" in body and
             "good1@perm.example" not in body.split(
                 "message/delivery-status")[1].split("rfc822-headers")[0] and
             "Subject: perm test" in body,
             "DSN per-recipient block and original headers", body[-1500:])
        # the DSN fails itself: dropped, never bounced
        fd.answer(dj, [(PERMFAIL, "5.1.1", "550 no such sender")])
        bw.wait_log("queued", r"bounce of a bounce dropped")
        time.sleep(0.5)
        t.ok(not [x for x in fd.jobs_for("origin.example")
                  if x.sender == "" and x is not dj],
             "a failed bounce is dropped, not bounced")

        # -- retry 0 profile ------------------------------------------------
        def zero_policy(job):
            if job.domain == "zero.example":
                return ([(TEMPFAIL, "4.2.0", "451 try later")] * job.nrcpt,
                        0, "")
            if job.sender == "":
                return None
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        fd.policy = zero_policy
        nb = len([x for x in fd.jobs_for("origin.example") if x.sender == ""])
        send(bw, ["z@zero.example"], sender="zed@origin.example")
        bwtest.wait_for(lambda: len([x for x in fd.jobs_for("origin.example")
                                     if x.sender == ""]) > nb, 10,
                        what="DSN after a first tempfail")
        dj = [x for x in fd.jobs_for("origin.example") if x.sender == ""][-1]
        t.ok(list(dj.rcpts.values()) == ["zed@origin.example"] and
             b"Status: 5.2.0" in dj.body and
             len(fd.jobs_for("zero.example")) == 1,
             "retry 0 profile bounces at the first temporary failure")

        # -- soft failure on an active domain: deferred, retried later --------
        tries = []

        def soft_policy(job):
            if job.domain == "soft.example":
                tries.append(time.time())
                if len(tries) < 2:
                    return ([(TEMPFAIL, "4.2.1", "451 busy")] * job.nrcpt,
                            0, "")
            if job.sender == "":
                return None
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        fd.policy = soft_policy
        send(bw, ["s@soft.example"])
        bwtest.wait_for(lambda: len(tries) >= 2, 10, what="second attempt")
        t.ok(tries[1] - tries[0] >= 1.5,
             "a deferred recipient waits its retry interval (%.1fs)" %
             (tries[1] - tries[0]))
        bwtest.wait_for(lambda: ("default", "soft.example") not in
                        queues(bw), 10, what="soft.example delivered")
        t.ok(queues(bw).get(("default", "soft.example")) is None,
             "then delivered")

        # -- expiry of parked mail at the domain retry ----------------------
        def expire_policy(job):
            if job.domain in ("expire.example", "retry.example") and \
                    not retry_up[0]:
                return ([(TEMPFAIL, "4.4.1", "timed out")] * job.nrcpt, 1,
                        "every MX timed out")
            if job.sender == "":
                return None
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        retry_up = [False]
        fd.policy = expire_policy
        nb = len([x for x in fd.jobs_for("origin.example") if x.sender == ""])
        send(bw, ["old@expire.example"], sender="olga@origin.example")
        bwtest.wait_for(lambda: len([x for x in fd.jobs_for("origin.example")
                                     if x.sender == ""]) > nb, 15,
                        what="DSN after expiry")
        dj = [x for x in fd.jobs_for("origin.example") if x.sender == ""][-1]
        t.ok(list(dj.rcpts.values()) == ["olga@origin.example"] and
             b"Status: 5.4.7" in dj.body and b"expired" in dj.body,
             "parked mail past max_age bounces at the domain retry")
        bwtest.wait_for(lambda: ("default", "expire.example") not in
                        queues(bw), 5, what="expire.example empty")
        n0 = len(fd.jobs_for("expire.example"))
        time.sleep(3)
        t.ok(len(fd.jobs_for("expire.example")) == n0,
             "an emptied down queue stops probing")

        # -- bwctl retry: a down domain probes now ---------------------------
        send(bw, ["r@retry.example"])
        bw.wait_log("queued", r"domain=retry\.example gateway=default down")
        n0 = len(fd.jobs_for("retry.example"))
        time.sleep(1)
        t.ok(len(fd.jobs_for("retry.example")) == n0,
             "no probe before the (10 minute) retry interval")
        retry_up[0] = True
        r = bw.bwctl("retry", "retry.example", json_out=True)
        t.ok(r.get("queue", [{}])[0].get("gateway") == "default",
             "retry --json names the queue", repr(r)[:200])
        bwtest.wait_for(lambda: ("default", "retry.example") not in
                        queues(bw), 10, what="retry.example drained")
        js = fd.jobs_for("retry.example")[n0:]
        t.ok(js and js[0].flags & DLVF_PROBE,
             "bwctl retry sends the probe at once, the domain comes up")
        with fd.lock:
            seen = [f for f in fd.frames if f[1] == "retry.example"]
        first = seen.index(("DLV_RETRY", "retry.example")) \
            if ("DLV_RETRY", "retry.example") in seen else None
        t.ok(first is not None and ("DLV_JOB", "retry.example") in
             seen[first + 1:],
             "deliverd is told of the retry (DLV_RETRY) before its probe",
             repr(seen))

        # -- text output ------------------------------------------------------
        bw.bwctl("suspend", "susp.example")
        send(bw, ["y@susp.example"])
        out = bw.bwctl("show", "queue").stdout
        t.ok(all(c in out for c in ("STATE", "QUEUED", "OLDEST", "ACTIVE",
                                    "DELIVERED", "HARD", "SOFT",
                                    "LAST ERROR")) and
             "suspended" in out, "show queue has the new columns", out)
        out = bw.bwctl("show", "domain", "susp.example").stdout
        t.ok("state:       suspended" in out and "queued:      1" in out,
             "show domain text", out)
        r = bw.bwctl("resume", "nosuch.example", check=False)
        t.ok(r.returncode == 1, "resume of an unknown domain fails")
        bw.bwctl("resume", "susp.example")
        st = bw.bwctl("status", json_out=True)
        qs = [p for p in st.get("processes", [])
              if p.get("name", "").startswith("queued")]
        t.ok(qs and qs[0].get("counters", {}).get("jobs_sent", 0) > 0 and
             qs[0]["counters"].get("dsn_sent", 0) >= 3,
             "queued STATUS counts jobs and DSNs",
             repr(qs[0].get("counters") if qs else st)[:400])

        # -- many parked messages: probes only, then all drain ----------------
        NBULK = 300
        bulk_up = [False]

        def bulk_policy(job):
            if job.domain == "bulk.example" and not bulk_up[0]:
                return ([(TEMPFAIL, "4.4.1", "refused")] * job.nrcpt, 1,
                        "all MX refused")
            if job.sender == "":
                return None
            return ([(DELIVERED, "2.0.0", "250 ok")] * job.nrcpt, 0, "")
        fd.policy = bulk_policy
        t0 = time.time()
        with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
            for i in range(NBULK):
                c.sendmail("bulk@origin.example", ["b%d@bulk.example" % i],
                           "Subject: bulk %d\r\n\r\nx\r\n" % i)
        elapsed = time.time() - t0
        time.sleep(1)
        bj = fd.jobs_for("bulk.example")
        nonprobe = [x for x in bj if not x.flags & DLVF_PROBE]
        allowed = 1 + int((time.time() - t0) / 2) + 1
        t.ok(len(nonprobe) <= 10 and len(bj) - len(nonprobe) <= allowed,
             "%d messages for a down domain: %d jobs before it went down, "
             "%d probes in %.1fs" % (NBULK, len(nonprobe),
                                     len(bj) - len(nonprobe), elapsed + 1))
        q = queues(bw).get(("default", "bulk.example"), {})
        t.ok(q.get("state") == "down" and q.get("messages") == NBULK,
             "all parked", repr(q))
        bulk_up[0] = True
        t1 = time.time()
        bwtest.wait_for(lambda: ("default", "bulk.example") not in
                        queues(bw), 30, what="bulk.example drained")
        t.ok(True, "the domain comes back and all %d drain (%.1fs after "
             "the sink came back)" % (NBULK, time.time() - t1))

        t.ok(not fd.errors, "fake deliverd saw only job frames",
             repr(fd.errors[:3]))
        t.ok(bw.running("queued") and bw.running("controld"),
             "daemons still running")
    except Exception as e:
        t.ok(False, "exception: %r" % e, bw.log_tail("queued", 30))
    finally:
        if fd:
            fd.stop()
        # the context manager's exit: stop every daemon, remove the base
        bw.__exit__(None, None, None)
        t.ok(not bw.sanitizer_reports, "no sanitizer reports",
             "\n".join(bw.sanitizer_reports[:5]))
    t.done()


if __name__ == "__main__":
    main()
