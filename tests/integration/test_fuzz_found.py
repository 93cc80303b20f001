"""What the fuzz harnesses (tests/fuzz/) found, driven through the real
daemons from a raw socket:

- a looping message (hopcount_limit Received: fields) that is also over
  message_size_limit is refused as a loop, 554 5.4.6, whether its text
  arrives in one read (smtpd's block-wise fast path) or line by line; the
  fast path used to check the size of later lines before the hop count
  of earlier ones had seen them, so a one-read client got 552 instead
  (fuzz_smtp_data);
- a recipient whose domain is a general address literal holding '@'
  (x@[tag:y@victim.example]) is refused with 501 5.1.3: its domain would
  not be the text after its last '@', where queued and every next hop
  look for it (fuzz_smtp_cmd).
"""

import re
import time

import bwtest

HOPS = 5                # hopcount_limit
SIZE = 1024             # message_size_limit (its minimum)

t = bwtest.TAP()


def queued_count(bw):
    return len(re.findall(r"queued from=", bw.log("queued")))


def greeted(bw):
    c = bw.raw()
    code, text = c.reply()
    assert code == 220, (code, text)
    code, text = c.cmd("EHLO fuzz.example")
    assert code == 250, (code, text)
    return c


def looping_oversize():
    """HOPS Received: fields, then a body past the size limit: well
    under one 4 KiB read."""
    head = "".join("Received: from hop%d.example by hop%d.example; "
                   "Mon, 1 Jan 2024 00:00:%02d +0000\r\n" % (i, i + 1, i)
                   for i in range(HOPS))
    body = "".join("line %03d of a message over the size limit\r\n" % i
                   for i in range(40))
    assert len(head) < SIZE < len(head) + len(body) < 3000
    return head + "Subject: loop\r\n\r\n" + body + ".\r\n"


def send_loop(bw, pieces):
    before = queued_count(bw)
    rej = bw.counters("smtpd").get("hopcount_rejects", 0)
    c = greeted(bw)
    assert c.cmd("MAIL FROM:<loop@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    text = looping_oversize()
    if pieces == 1:
        c.send(text)
    else:
        for line in text.splitlines(True):
            c.send(line)
            time.sleep(0.01)
    code, msg = c.reply(timeout=20)
    assert code == 554 and "5.4.6" in msg, (code, msg)
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()
    time.sleep(0.3)
    assert queued_count(bw) == before, "the looping message was queued"
    assert bw.counters("smtpd").get("hopcount_rejects", 0) == rej + 1


def check_loop_one_read(bw):
    send_loop(bw, 1)


def check_loop_line_by_line(bw):
    send_loop(bw, 0)


def check_literal_at(bw):
    c = greeted(bw)
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    for rcpt in ("x@[tag:y@victim.example]", "x@[ROM:<a@192.0.2.1]"):
        code, msg = c.cmd("RCPT TO:<%s>" % rcpt)
        assert code == 501 and "5.1.3" in msg, (rcpt, code, msg)
    # a general literal without '@' is still an address
    code, msg = c.cmd("RCPT TO:<x@[x-tag:opaque]>")
    assert code == 250, (code, msg)
    c.cmd("QUIT")
    c.close()


with bwtest.Breakwater("fuzzfound") as bw:
    bw.write_config(bwtest.default_config(bw, extra="""
hopcount_limit %d
message_size_limit %d
""" % (HOPS, SIZE)))
    # receiving only: nothing is delivered, nothing needs DNS
    bw.start(["controld", "queued", "smtpd"])
    bw.wait_log("smtpd", r"connected to queued", timeout=20)
    t.run("a looping message over the size limit in one read: 554 5.4.6",
          check_loop_one_read, bw)
    t.run("the same line by line: 554 5.4.6", check_loop_line_by_line, bw)
    t.run("RCPT to a general address literal holding '@': 501 5.1.3",
          check_literal_at, bw)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
