#!/usr/bin/python3
"""queued outlives a hostile smtpd.

hostile_peer.py connects to queued.sock as role smtpd and sends, one per
connection: a frame shorter than its type, a length beyond the maximum, an
unknown type, a type smtpd may not send, a COMMIT for a qid it never
opened, garbage bytes, a malformed qid, and a COMMIT for a qid another
connection opened.  After each, queued logs one line saying it dropped that
peer and keeps running; the other connection's open message is untouched,
and a real message through smtpd (swaks) still gets queued.
"""

import os
import re

import bwtest
import hostile_peer as hp

DROP_RX = re.compile(r"smtpd pid=\d+ dropped: ")


def drops(bw):
    return len(DROP_RX.findall(bw.log("queued")))


def check_case(bw, name):
    sock = os.path.join(bw.rundir, "queued.sock")
    before = drops(bw)
    p = hp.Peer(sock)
    try:
        hp.CASES[name](p)
        assert p.closed(5), "queued did not drop the peer"
    finally:
        p.close()
    bwtest.wait_for(lambda: drops(bw) == before + 1, 5,
                    what="one drop line in the queued log")
    assert bw.running("queued"), "queued died"


def check_foreign_qid(bw):
    """B commits A's open message: B is dropped, A's message survives."""
    sock = os.path.join(bw.rundir, "queued.sock")
    a = hp.Peer(sock)
    b = hp.Peer(sock)
    try:
        st, qid = a.open()
        assert st == "OK", st
        a.rcpt(qid, "victim@example.org")
        body = b"Subject: mine\r\n\r\nnot yours\r\n"
        a.data(qid, body)
        b.commit(qid, len(body), 1, wait=False)
        assert b.closed(5), "queued kept the hostile peer"
        st, qid2 = a.commit(qid, len(body), 1)
        assert (st, qid2) == ("OK", qid), (st, qid2)
        info = bw.bwctl("show", "message", qid, json_out=True)
        assert info["nrcpt"] == 1 and info["body_stored"] == len(body), info
    finally:
        a.close()
        b.close()


def check_direct_submission(bw):
    sock = os.path.join(bw.rundir, "queued.sock")
    p = hp.Peer(sock)
    try:
        st, qid = p.submit(["ok@example.org"], b"Subject: t\r\n\r\nok\r\n")
        assert st == "OK", st
    finally:
        p.close()


def check_swaks(bw):
    r = bw.swaks("--from", "a@example.com", "--to", "b@example.org",
                 "--body", "after the abuse")
    m = re.search(r"250 2\.0\.0 Ok: queued as ([0-9A-F]{16})", r.stdout)
    assert m, r.stdout + r.stderr
    info = bw.bwctl("show", "message", m.group(1), json_out=True)
    assert info["nrcpt"] == 1, info


def main():
    t = bwtest.TAP()
    have_smtpd = os.path.exists(os.path.join(bwtest.BUILDDIR, "smtpd",
                                             "smtpd"))
    procs = [p for p in bwtest.DEFAULT_PROCS if p != "deliverd"] if have_smtpd else ["controld", "queued"]
    with bwtest.Breakwater("hostile") as bw:
        bw.start(procs=procs)
        for name in sorted(hp.CASES):
            t.run("hostile %s: peer dropped with one log line, queued "
                  "runs" % name, check_case, bw, name)
        t.run("commit of another peer's qid: only the hostile peer goes",
              check_foreign_qid, bw)
        t.run("a well-behaved submission is still queued",
              check_direct_submission, bw)
        if have_smtpd:
            t.run("a real message through smtpd is still queued",
                  check_swaks, bw)
        else:
            t.skip("a real message through smtpd is still queued",
                   "smtpd not built")
        rc = bw.stop("queued")
        t.ok(rc == 0, "queued exits 0 on SIGTERM", "rc=%r" % rc)
        t.ok(not bw.sanitizer_reports, "no sanitizer reports",
             "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
