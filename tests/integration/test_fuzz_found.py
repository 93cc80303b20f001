"""What the fuzz harnesses (tests/fuzz/) found, driven through the real
daemons from a raw socket:

- a recipient whose domain is a general address literal holding '@'
  (x@[tag:y@victim.example]) is refused with 501 5.1.3: its domain would
  not be the text after its last '@', where queued and every next hop
  look for it (fuzz_smtp_cmd).
"""

import bwtest

t = bwtest.TAP()


def greeted(bw):
    c = bw.raw()
    code, text = c.reply()
    assert code == 220, (code, text)
    code, text = c.cmd("EHLO fuzz.example")
    assert code == 250, (code, text)
    return c


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
    bw.write_config(bwtest.default_config(bw))
    # receiving only: nothing is delivered, nothing needs DNS
    bw.start(["controld", "queued", "smtpd"])
    bw.wait_log("smtpd", r"connected to queued", timeout=20)
    t.run("RCPT to a general address literal holding '@': 501 5.1.3",
          check_literal_at, bw)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
