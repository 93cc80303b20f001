#!/usr/bin/python3
"""Free-space guard: with queue_min_free_space above what the spool's file
system has free, queued answers MSG_OPEN with NOSPACE (smtpd: MAIL gets
"452 4.3.1"), logs it once, counts nospace_rejects, and the messages queued
before are intact.  Uses the largest threshold the limits table allows
(1024g) instead of filling a disk; skipped if the disk has more free.
"""

import os
import re

import bwtest
import hostile_peer as hp

HUGE = 1024 * 1024 ** 3		# queue_min_free_space maximum: 1024g


def queue_one(bw):
    p = hp.Peer(os.path.join(bw.rundir, "queued.sock"))
    try:
        st, qid = p.submit(["keep@example.org", "keep2@example.net"],
                           b"Subject: before\r\n\r\nkept\r\n")
        assert st == "OK", st
        return qid
    finally:
        p.close()


def check_nospace_direct(bw):
    p = hp.Peer(os.path.join(bw.rundir, "queued.sock"))
    try:
        for i in range(3):
            st, _ = p.open(reqid=i + 1)
            assert st == "NOSPACE", st
    finally:
        p.close()
    r = bw.bwctl("status")
    m = re.search(r"queued\s+up.*\bnospace_rejects=(\d+)", r.stdout)
    assert m and int(m.group(1)) >= 3, r.stdout
    lines = [l for l in bw.log("queued").splitlines()
             if "queue_min_free_space" in l]
    assert len(lines) == 1, lines


def check_nospace_smtp(bw):
    s = bw.raw()
    try:
        code, _ = s.reply()
        assert code == 220, code
        code, _ = s.cmd("EHLO client.test")
        assert code == 250, code
        code, text = s.cmd("MAIL FROM:<a@example.com>")
        assert code == 452 and "4.3.1" in text, (code, text)
    finally:
        s.close()


def check_intact(bw, qid):
    info = bw.bwctl("show", "message", qid, json_out=True)
    assert info["nrcpt"] == 2, info
    assert info["body_stored"] == info["size"] > 0, info
    q = bw.bwctl("show", "queue", json_out=True)
    doms = sorted(e["domain"] for e in q["queues"])
    assert doms == ["example.net", "example.org"], q


def main():
    t = bwtest.TAP()
    have_smtpd = os.path.exists(os.path.join(bwtest.BUILDDIR, "smtpd",
                                             "smtpd"))
    procs = [p for p in bwtest.DEFAULT_PROCS if p != "deliverd"] if have_smtpd else ["controld", "queued"]
    with bwtest.Breakwater("space") as bw:
        st = os.statvfs(bw.base)
        if st.f_bavail * st.f_frsize >= HUGE:
            t.skip("NOSPACE below queue_min_free_space",
                   "file system has more than 1 TiB free")
            t.done()
        bw.write_config(bwtest.default_config(bw, "queue_min_free_space 0"))
        bw.start(procs=procs)
        qid = None

        def before():
            nonlocal qid
            qid = queue_one(bw)
        t.run("a message is queued while space is plenty", before)
        bw.stop("queued")
        bw.write_config(bwtest.default_config(bw, "queue_min_free_space "
                                              "1024g"))
        bw.start_one("queued")
        bw.wait_ready(procs)
        t.run("MSG_OPEN gets NOSPACE, counted, logged once",
              check_nospace_direct, bw)
        if have_smtpd:
            t.run("MAIL gets 452 4.3.1", check_nospace_smtp, bw)
        else:
            t.skip("MAIL gets 452 4.3.1", "smtpd not built")
        if qid:
            t.run("the queue from before is intact", check_intact, bw, qid)
        else:
            t.ok(False, "the queue from before is intact", "nothing queued")
        rc = bw.stop("queued")
        t.ok(rc == 0, "queued exits 0", "rc=%r" % rc)
        t.ok(not bw.sanitizer_reports, "no sanitizer reports",
             "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
