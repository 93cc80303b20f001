#!/usr/bin/python3
"""Content-scan flags travel in the message's envelope.

The flags (BW_SCAN_SPAM, BW_SCAN_VIRUS) come with MSG_OPEN; queued keeps
them in the envelope record and `bwctl show message QID` prints
scan=spam,virus (or scan=none).  deliverd is not started, so messages stay
in the queue to be shown.

Cases, through the submission protocol as smtpd speaks it (the fake smtpd
of hostile_peer.py, which other tests use as well): each combination of
flags is stored and shown, in text and JSON; the flags survive a restart
of queued (recovery reads the envelopes back); an unknown flag bit is
hostile input and drops the peer without creating a message.  Through the
real smtpd: a session without a policy sends none; through a mail flow
policy (`policy NAME { scan spam virus }` and a listener's
`default_policy NAME`) its flags reach the envelope, also after a restart
of queued, and `scan none` sends none.
"""

import os
import re
import smtplib

import bwtest
import hostile_peer as hp

t = bwtest.TAP()
PROCS = [p for p in bwtest.DEFAULT_PROCS if p != "deliverd"]
CASES = [(0, "none"), (hp.SCAN_SPAM, "spam"), (hp.SCAN_VIRUS, "virus"),
         (hp.SCAN_SPAM | hp.SCAN_VIRUS, "spam,virus")]

POLICY_EXTRA = """
policy scanning {
    behaviour accept
    scan spam virus
}
policy plain {
    behaviour relay
    scan none
}
"""


def policy_listeners(bw):
    return """
listener public {
    address 127.0.0.1
    port %(public_port)d
    type public
    accept_domains example.org example.net
    default_policy scanning
}
listener private {
    address 127.0.0.1
    port %(private_port)d
    type private
    relay_networks 127.0.0.0/8
    default_policy plain
}
""" % {"public_port": bw.public_port, "private_port": bw.private_port}


def shown(bw, qid):
    """(text line 'scan=...', JSON 'scan') of bwctl show message."""
    out = bw.bwctl("show", "message", qid).stdout
    m = re.search(r"^content:\s+scan=(\S+)$", out, re.M)
    assert m, out
    j = bw.bwctl("show", "message", qid, json_out=True)
    return m.group(1), j.get("scan")


def submit(bw, flags):
    p = hp.Peer(os.path.join(bw.rundir, "queued.sock"))
    try:
        st, qid = p.submit(["scan@example.org"],
                           b"Subject: scan\r\n\r\nbody\r\n",
                           scan_flags=flags)
        assert st == "OK", st
        return qid
    finally:
        p.close()


def smtp_send(port, rcpt):
    """A message through smtpd; its queue id from the 250 reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("scan.example")
        s.mail("from@origin.example")
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        code, text = s.data(b"Subject: scan\r\n\r\nbody\r\n")
        assert code == 250, (code, text)
    m = re.search(r"queued as ([0-9A-F]{16})", text.decode())
    assert m, text
    return m.group(1)


def main():
    with bwtest.Breakwater("scan") as bw:
        bw.start(procs=PROCS)
        qids = {}

        def stored():
            for flags, text in CASES:
                qids[flags] = submit(bw, flags)
                got = shown(bw, qids[flags])
                assert got == (text, text), (flags, got)
        t.run("each combination of scan flags is stored and shown "
              "(scan=none, spam, virus, spam,virus)", stored)

        def restart():
            bw.stop("queued")
            bw.start_one("queued")
            bw.wait_ready(PROCS)
            for flags, text in CASES:
                got = shown(bw, qids[flags])
                assert got == (text, text), (flags, got)
        t.run("the flags survive a restart of queued", restart)

        def unknown_bit():
            before = bw.counters("queued")["queued_messages"]
            p = hp.Peer(os.path.join(bw.rundir, "queued.sock"))
            try:
                p.send(hp.MSG_OPEN, hp.MsgOpen(
                    7, 0, 0, b"x@origin.example", b"h.example",
                    b"127.0.0.1", b"localhost", b"private", 0, b"", b"",
                    0x04))
                assert p.closed(5), "peer not dropped"
            finally:
                p.close()
            bw.wait_log("queued", r"MSG_OPEN with unknown scan flags")
            assert bw.running("queued")
            assert bw.counters("queued")["queued_messages"] == before
        t.run("an unknown scan bit drops the peer, nothing is queued",
              unknown_bit)

        def smtpd_default():
            qid = smtp_send(bw.private_port, "plain@example.org")
            assert shown(bw, qid) == ("none", "none")
        t.run("a message through smtpd without a policy: scan=none",
              smtpd_default)

        def policy():
            bw.write_config(bwtest.default_config(
                bw, extra=POLICY_EXTRA, listeners=policy_listeners(bw)))
            bw.bwctl("config", "reload")
            qid = smtp_send(bw.public_port, "pol@example.org")
            assert shown(bw, qid) == ("spam,virus", "spam,virus")
            qid = smtp_send(bw.private_port, "plain@example.net")
            assert shown(bw, qid) == ("none", "none")
            bw.stop("queued")
            bw.start_one("queued")
            bw.wait_ready(PROCS)
            qid2 = smtp_send(bw.public_port, "again@example.org")
            assert shown(bw, qid2) == ("spam,virus", "spam,virus")
        t.run("a policy's scan spam virus reaches the envelope through "
              "smtpd; scan none sends none", policy)

        for p in PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
