"""smtpd limits and abuse: SIZE, actual size, recipients, command line
length, bare LF smuggling, pre-greeting talk, idle clients, messages per
connection, connections per IP, a pipelining client that does not read its
replies.  After the abuse, smtpd must still serve."""

import re
import smtplib
import socket
import threading
import time

import bwtest

t = bwtest.TAP()

SIZE_LIMIT = 100 * 1024


def queued_count(bw):
    return len(re.findall(r"queued from=", bw.log("queued")))


def session(bw, port=None):
    c = bw.raw(port=port)
    code, text = c.reply()
    assert code == 220, (code, text)
    assert c.cmd("EHLO limits.example")[0] == 250
    return c


def check_size_declared(bw):
    c = session(bw)
    code, text = c.cmd("MAIL FROM:<a@b.example> SIZE=%d" % (SIZE_LIMIT + 1))
    assert code == 552 and "5.3.4" in text, (code, text)
    code, text = c.cmd("MAIL FROM:<a@b.example> SIZE=%d" % (SIZE_LIMIT - 1))
    assert code == 250, (code, text)
    c.cmd("QUIT")
    c.close()


def check_size_actual(bw):
    before = queued_count(bw)
    c = session(bw)
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    line = "y" * 998 + "\r\n"
    c.send("Subject: too big\r\n\r\n" + line * (SIZE_LIMIT // 1000 + 20))
    c.send(".\r\n")
    code, text = c.reply(timeout=20)
    assert code == 552 and "5.3.4" in text, (code, text)
    # the session goes on
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()
    time.sleep(0.3)
    assert queued_count(bw) == before, "something was queued"


def check_too_many_rcpts(bw):
    c = session(bw)
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    for i in range(3):
        assert c.cmd("RCPT TO:<r%d@example.org>" % i)[0] == 250
    code, text = c.cmd("RCPT TO:<r9@example.org>")
    assert code == 452 and "4.5.3" in text, (code, text)
    c.cmd("QUIT")
    c.close()


def check_line_too_long(bw):
    c = session(bw)
    code, text = c.cmd("NOOP " + "z" * 2000)
    assert code == 500 and "5.5.2" in text, (code, text)
    # the rest of the long line was discarded, the session still works
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()


def check_bare_lf_smuggling(bw):
    before = queued_count(bw)
    c = session(bw)
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    # "\n.\n" must not end the data: a smuggled second message follows
    c.send("Subject: outer\r\n\r\nhello\n.\nMAIL FROM:<evil@b.example>\r\n"
           "RCPT TO:<victim@example.org>\r\nDATA\r\nSubject: smuggled\r\n"
           "\r\nx\r\n")
    # nothing may be answered yet: the data has not ended
    try:
        code, text = c.reply(timeout=1.5)
        raise AssertionError("reply before the real end: %d %s" % (code, text))
    except TimeoutError:
        pass
    c.send(".\r\n")
    code, text = c.reply(timeout=10)
    assert code == 554 and "5.6.11" in text, (code, text)
    # also a bare CR
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: cr\r\n\r\nhello\r.\rworld\r\n.\r\n")
    code, text = c.reply(timeout=10)
    assert code == 554, (code, text)
    assert c.cmd("QUIT")[0] == 221
    c.close()
    time.sleep(0.3)
    assert queued_count(bw) == before, "a message was queued"


def check_pregreet(bw, port):
    c = bw.raw(port=port)
    c.send("EHLO eager.example\r\n")
    code, text = c.reply(timeout=10)
    assert code == 554 and "5.5.1" in text, (code, text)
    assert c.closed(timeout=5)
    c.close()


def check_patient_client_ok(bw, port):
    c = bw.raw(port=port)
    code, text = c.reply(timeout=10)
    assert code == 220, (code, text)
    assert c.cmd("QUIT")[0] == 221
    c.close()


def check_idle_timeout(bw):
    c = bw.raw()
    assert c.reply()[0] == 220
    start = time.monotonic()
    code, text = c.reply(timeout=15)
    assert code == 421 and "4.4.2" in text, (code, text)
    assert c.closed(timeout=5)
    assert time.monotonic() - start < 10
    c.close()


def check_messages_per_connection(bw):
    s = smtplib.SMTP("127.0.0.1", bw.private_port, timeout=15)
    s.ehlo("many.example")
    for i in range(2):
        s.sendmail("a@b.example", ["x@example.org"],
                   "Subject: %d\r\n\r\nbody\r\n" % i)
    code, text = s.mail("a@b.example")
    assert code == 421, (code, text)
    s.close()


def check_per_ip(bw):
    conns = []
    try:
        for _ in range(3):
            c = bw.raw()
            assert c.reply()[0] == 220
            conns.append(c)
        c = bw.raw()
        code, text = c.reply()
        assert code == 421, (code, text)
        c.close()
    finally:
        for c in conns:
            c.close()
    # once they are gone, new connections are welcome again
    bwtest.wait_for(lambda: _greets(bw), timeout=10, what="220 again")


def _greets(bw):
    c = bw.raw()
    try:
        return c.reply()[0] == 220
    finally:
        c.close()


def check_unread_replies(bw):
    """60,000 pipelined HELPs (about 6 MB of replies, more than the kernel
    buffers smtpd's socket) from a client that reads nothing for a while:
    smtpd's direct reply writes fall short, EV_WRITE takes over, command
    reading stops past SMTPD_OUTPUT_MAX of unsent replies; others are
    served meanwhile; once the client reads, every reply arrives and the
    session goes on."""
    n = 60000
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", bw.private_port))
    f = s.makefile("rb")
    assert f.readline().startswith(b"220")
    # RFC 2920: EHLO ends a pipelined group, HELP may be pipelined
    s.sendall(b"EHLO flood.example\r\n")
    while f.readline()[3:4] != b" ":
        pass
    sender = threading.Thread(target=s.sendall,
                              args=(b"HELP\r\n" * n,),
                              daemon=True)
    sender.start()
    time.sleep(1.5)     # below smtpd_timeout_command (3s)
    other = session(bw)
    assert other.cmd("NOOP")[0] == 250
    other.cmd("QUIT")
    other.close()
    got = lines = 0
    deadline = time.time() + 60
    while got < n and time.time() < deadline:
        ln = f.readline()
        assert ln[:3] == b"214", (got, lines, ln)
        lines += 1
        if ln[3:4] == b" ":
            got += 1
    assert got == n, got
    sender.join(10)
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"221"), "no 221 after the flood"
    f.close()
    s.close()


def check_still_serves(bw):
    r = bw.swaks("--to", "user@example.org", "--from", "s@b.example")
    assert "queued as" in r.stdout, r.stdout + r.stderr


with bwtest.Breakwater("smtplimits") as bw:
    delayed_port = bwtest.free_port()
    bw.write_config(bwtest.default_config(bw, extra="""
message_size_limit %d
smtpd_max_recipients 3
smtpd_max_command_line 1024
smtpd_max_messages_per_connection 2
smtpd_max_connections_per_ip 3
smtpd_timeout_greeting 3s
smtpd_timeout_command 3s
smtpd_junk_command_limit 100000
""" % SIZE_LIMIT) + """
listener delayed {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    greeting_delay 1s
}
""" % delayed_port)
    bw.start()
    bw.wait_log("smtpd", r"connected to queued", timeout=20)
    t.run("SIZE declared over the limit: 552", check_size_declared, bw)
    t.run("data over the size limit: 552, nothing queued",
          check_size_actual, bw)
    t.run("too many recipients: 452 4.5.3", check_too_many_rcpts, bw)
    t.run("command line too long: 500 5.5.2", check_line_too_long, bw)
    t.run("bare LF smuggling does not end DATA, message refused",
          check_bare_lf_smuggling, bw)
    t.run("pre-greeting talker refused with 554 5.5.1",
          check_pregreet, bw, delayed_port)
    t.run("patient client gets the delayed banner",
          check_patient_client_ok, bw, delayed_port)
    t.run("silent client is timed out with 421", check_idle_timeout, bw)
    t.run("messages per connection limit: 421", check_messages_per_connection,
          bw)
    t.run("per-IP connection limit: 421 for the 4th", check_per_ip, bw)
    t.run("a pipelining client that does not read: every reply arrives "
          "in order once it does, others are served meanwhile",
          check_unread_replies, bw)
    t.run("smtpd still serves after the abuse", check_still_serves, bw)
    r = bw.bwctl("status", check=False)
    t.ok("limit_closes" in r.stdout, "status shows limit_closes", r.stdout)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
