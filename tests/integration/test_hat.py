#!/usr/bin/python3
"""The host access table (sender groups, mail flow policies), through the
real daemons.

Clients connect from distinct loopback addresses (127.0.1.x, and the
hosts of tests/dns/rdns.data for names), each a host of its own; the
public listener's table sends each to a group and a policy.  Mail goes by
routes to Postfix's smtp-sink.

Cases: a trusted network relays to any domain and gets its policy's
SIZE; the default policy accepts only the listener's domains (550 5.7.1
and the relay_rejects counter otherwise) and its accept_recipients narrow
a domain to listed addresses; reject: 554 banner, 554 to EHLO/MAIL/NOOP,
221 to QUIT; tcprefuse: closed before a byte is sent, counted; a tarpit
policy: the banner and every command are delayed, its recipients and
messages per connection enforced; TLS required (530 before STARTTLS) and
off (no STARTTLS announced) by policy on a STARTTLS listener; groups by
confirmed name (.suffix) and by reverse DNS missing/unconfirmed on a
second listener with reverse_dns; the connect log line names group and
policy; the Received: comment; `bwctl config check` refuses a table naming an unknown group
with file:line; a reload moves a host to another group for new sessions
while a session open across it keeps its policy and delivers; and a
dozen reloads while four hosts send over long sessions lose nothing and
drop no session.
"""

import os
import re
import smtplib
import socket
import time

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "rdns.data")
RDNS_PORT = bwtest.free_port()      # the listener with reverse_dns

TRUSTED = "127.0.1.10"
BLOCKED = "127.0.1.11"
REFUSED = "127.0.1.12"
SLOW = "127.0.1.13"
TLSREQ = "127.0.1.15"
NOTLS = "127.0.1.16"
OTHER = "127.0.1.20"        # no group: the default policy
RATED = "127.0.1.40"        # 3 recipients per window of RCPT_WINDOW s
MSGRATE = "127.0.1.41"      # 2 messages per window of MSG_WINDOW s
RCPT_WINDOW = 4
MSG_WINDOW = 4
GOOD = "127.0.0.2"          # rdns.data: good.rdns.test, confirmed
NOPTR = "127.0.0.3"         # rdns.data: no PTR
LIAR = "127.0.0.4"          # rdns.data: PTR does not resolve back

t = bwtest.TAP()


def config_text(bw, ns_port, sink_port, cert, key, moved=False,
                variant=0):
    blocked = BLOCKED + (" " + OTHER if moved else "")
    # the reload-under-load case flips these between reloads
    slow = SLOW + (" 127.0.1.30" if variant % 2 else "")
    return """hostname mx.test.example
dns_servers 127.0.0.1:%(ns)d
smtpd_dns_timeout 1s
message_size_limit 1m
route example.org -> [127.0.0.1]:%(sink)d
route example.net -> [127.0.0.1]:%(sink)d
route elsewhere.example -> [127.0.0.1]:%(sink)d

policy trusted {
    behaviour relay
    message_size_limit 5m
}
policy blocked {
    behaviour reject
}
policy refuse {
    behaviour tcprefuse
}
policy slow {
    behaviour accept
    smtpd_greeting_delay 1s
    smtpd_command_delay 300ms
    smtpd_max_recipients 2
    smtpd_max_messages_per_connection 1
}
policy tlsreq {
    tls required
}
policy notls {
    tls off
}
policy default {
    behaviour accept
}
policy suspect {
    behaviour accept
    smtpd_max_recipients 1
}
policy rated {
    behaviour accept
    smtpd_max_recipients_per_hour 3
    smtpd_recipients_window %(rwin)ds
}
policy msgrate {
    behaviour accept
    smtpd_max_messages_per_minute 2
    smtpd_messages_window %(mwin)ds
}
sender_group RATED {
    policy rated
    network %(rated)s
}
sender_group MSGRATE {
    policy msgrate
    network %(msgrate)s
}

sender_group TRUSTED {
    policy trusted
    network %(trusted)s/32 2001:db8::/32
}
sender_group BLOCKED {
    policy blocked
    network %(blocked)s
}
sender_group REFUSED {
    policy refuse
    network %(refused)s
}
sender_group SLOW {
    policy slow
    network %(slow)s
}
sender_group TLSREQ {
    policy tlsreq
    network %(tlsreq)s
}
sender_group NOTLS {
    policy notls
    network %(notls)s
}
sender_group NAMED {
    policy trusted
    rdns_name .rdns.test
}
sender_group NONAME {
    policy suspect
    rdns missing unconfirmed
}

listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    tls starttls
    tls_cert %(cert)s
    tls_key %(key)s
    accept_domains example.org example.net
    accept_recipients postmaster@example.net
    reverse_dns no
    sender_groups TRUSTED BLOCKED REFUSED
    sender_groups SLOW TLSREQ NOTLS
    sender_groups RATED MSGRATE
    default_policy default
}
listener named {
    address 127.0.0.1
    port %(rdns)d
    type public
    accept_domains example.org
    reverse_dns yes
    sender_groups NAMED NONAME
    default_policy default
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
""" % {"ns": ns_port, "sink": sink_port, "trusted": TRUSTED,
       "blocked": blocked, "refused": REFUSED, "slow": slow,
       "tlsreq": TLSREQ, "notls": NOTLS, "pub": bw.public_port,
       "rdns": RDNS_PORT, "priv": bw.private_port, "cert": cert,
       "key": key, "rated": RATED, "msgrate": MSGRATE,
       "rwin": RCPT_WINDOW, "mwin": MSG_WINDOW}


def msg(tag, size=0):
    return ("Subject: %s\r\nMessage-Id: <%s@hat.test>\r\n\r\nhat test\r\n"
            % (tag, tag)) + ("x" * 70 + "\r\n") * (size // 72)


def session(bw, src, port=None):
    """A raw session from src, past the banner: (client, code, text)."""
    c = bw.raw(port or bw.public_port, timeout=15, source=src)
    code, text = c.reply(timeout=15)
    return c, code, text


def ehlo(c):
    code, text = c.cmd("EHLO client.example")
    assert code == 250, (code, text)
    return text.splitlines()


def delivered(sink, tag, timeout=30):
    bwtest.wait_for(lambda: any("Subject: %s\r" % tag in m or
                                "Subject: %s\n" % tag in m
                                for m in sink.messages()),
                    timeout, what="message %s at the sink" % tag)


def connect_line(bw, src):
    """smtpd's connect log line of the last session from src."""
    lines = [l for l in bw.log("smtpd").splitlines()
             if " connect addr=%s " % src in l]
    return lines[-1] if lines else ""


def run_cases(bw, sink):
    def trusted():
        c, code, _ = session(bw, TRUSTED)
        try:
            assert code == 220, code
            assert "SIZE %d" % (5 << 20) in ehlo(c)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            code, text = c.cmd("RCPT TO:<x@elsewhere.example>")
            assert code == 250, (code, text)
            assert c.cmd("DATA")[0] == 354
            c.send(msg("hat-trusted", 2 << 20) + ".\r\n")
            code, text = c.reply(timeout=30)
            assert code == 250, (code, text)
            c.cmd("QUIT")
        finally:
            c.close()
        delivered(sink, "hat-trusted")
        line = connect_line(bw, TRUSTED)
        assert "group=TRUSTED policy=trusted" in line, line
        m = [m for m in sink.messages() if "hat-trusted" in m][0]
        assert re.search(r"Received: from client\.example \(unknown "
                         r"\[127\.0\.1\.10\]\)\r?\n\t\(score=off "
                         r"group=TRUSTED policy=trusted\)", m), m[:600]
    t.run("trusted network: relay policy sends to any domain, its own "
          "SIZE (5m over the global 1m), group and policy logged", trusted)

    def default_policy():
        before = bw.counters("smtpd").get("relay_rejects", 0)
        c, code, _ = session(bw, OTHER)
        try:
            assert code == 220, code
            assert "SIZE %d" % (1 << 20) in ehlo(c)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            code, text = c.cmd("RCPT TO:<x@elsewhere.example>")
            assert code == 550 and "5.7.1" in text, (code, text)
            # accept_recipients narrows example.net to its listed address
            code, text = c.cmd("RCPT TO:<someone@example.net>")
            assert code == 550 and "5.7.1" in text, (code, text)
            assert c.cmd("RCPT TO:<Postmaster@example.net>")[0] == 250
            assert c.cmd("RCPT TO:<anyone@example.org>")[0] == 250
            c.cmd("QUIT")
        finally:
            c.close()
        after = bw.counters("smtpd").get("relay_rejects", 0)
        assert after - before == 2, (before, after)
        line = connect_line(bw, OTHER)
        assert "group=none policy=default" in line, line
    t.run("no group: the default policy takes the RAT's domains and "
          "addresses only (550 5.7.1, counted)", default_policy)

    def reject():
        before = bw.counters("smtpd").get("policy_reject", 0)
        c, code, text = session(bw, BLOCKED)
        try:
            assert code == 554 and "Access denied" in text, (code, text)
            for cmd in ("EHLO client.example", "MAIL FROM:<a@b.example>",
                        "NOOP", "RCPT TO:<x@example.org>"):
                code, text = c.cmd(cmd)
                assert code == 554 and "5.7.1" in text, (cmd, code, text)
            assert c.cmd("QUIT")[0] == 221
        finally:
            c.close()
        assert bw.counters("smtpd").get("policy_reject", 0) == before + 1
    t.run("reject policy: 554 banner, 554 to every command but QUIT",
          reject)

    def tcprefuse():
        before = bw.counters("smtpd").get("policy_tcprefuse", 0)
        s = socket.socket()
        try:
            s.bind((REFUSED, 0))
            s.settimeout(10)
            s.connect(("127.0.0.1", bw.public_port))
            data = b""
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            except ConnectionResetError:
                pass
            assert data == b"", data
        finally:
            s.close()
        bwtest.wait_for(lambda: bw.counters("smtpd").get(
            "policy_tcprefuse", 0) == before + 1, 10,
            what="policy_tcprefuse counted")
        assert "reason=policy tcprefuse" in bw.log("smtpd")
    t.run("tcprefuse policy: closed before the banner, counted", tcprefuse)

    def tarpit():
        before = bw.counters("smtpd").get("tarpit_delays", 0)
        t0 = time.monotonic()
        c, code, _ = session(bw, SLOW)
        try:
            waited = time.monotonic() - t0
            assert code == 220 and waited >= 0.9, (code, waited)
            t1 = time.monotonic()
            ehlo(c)
            assert time.monotonic() - t1 >= 0.25, time.monotonic() - t1
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            assert c.cmd("RCPT TO:<a@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<b@example.org>")[0] == 250
            code, text = c.cmd("RCPT TO:<c@example.org>")
            assert code == 452 and "4.5.3" in text, (code, text)
            assert c.cmd("DATA")[0] == 354
            c.send(msg("hat-slow") + ".\r\n")
            assert c.reply(timeout=30)[0] == 250
            code, text = c.cmd("MAIL FROM:<a@sender.example>")
            assert code == 421, (code, text)
        finally:
            c.close()
        delivered(sink, "hat-slow")
        after = bw.counters("smtpd").get("tarpit_delays", 0)
        assert after - before >= 6, (before, after)
    t.run("tarpit policy: banner after its delay, every command delayed, "
          "2 recipients and 1 message per connection", tarpit)

    def tls_by_policy():
        c, code, _ = session(bw, TLSREQ)
        try:
            assert "STARTTLS" in ehlo(c)
            code, text = c.cmd("MAIL FROM:<a@sender.example>")
            assert code == 530 and "STARTTLS" in text, (code, text)
        finally:
            c.close()
        c, code, _ = session(bw, NOTLS)
        try:
            assert "STARTTLS" not in ehlo(c)
            code, text = c.cmd("STARTTLS")
            assert code == 502, (code, text)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
        finally:
            c.close()
        c, code, _ = session(bw, OTHER)
        try:
            assert "STARTTLS" in ehlo(c)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
        finally:
            c.close()
    t.run("TLS by policy: required (530 before STARTTLS), off (not "
          "offered, 502), the listener's own otherwise", tls_by_policy)

    def by_name():
        with smtplib.SMTP("127.0.0.1", RDNS_PORT, source_address=(GOOD, 0),
                          timeout=30) as s:
            refused = s.sendmail("a@sender.example",
                                 ["y@elsewhere.example"], msg("hat-named"))
            assert not refused, refused
        delivered(sink, "hat-named")
        line = connect_line(bw, GOOD)
        assert "name=good.rdns.test" in line and "group=NAMED" in line, line
        for src in (NOPTR, LIAR):
            c, code, _ = session(bw, src, RDNS_PORT)
            try:
                assert code == 220, code
                ehlo(c)
                assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
                assert c.cmd("RCPT TO:<a@example.org>")[0] == 250
                code, text = c.cmd("RCPT TO:<b@example.org>")
                assert code == 452, (src, code, text)
            finally:
                c.close()
            line = connect_line(bw, src)
            assert "group=NONAME policy=suspect" in line, line
    t.run("groups by confirmed name (.suffix: relay) and by reverse DNS "
          "missing or unconfirmed (1 recipient)", by_name)

    def rcpts_per_hour():
        before = bw.counters("smtpd").get("host_rate_rejects", 0)
        c, code, _ = session(bw, RATED)
        try:
            ehlo(c)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            for i in range(3):
                assert c.cmd("RCPT TO:<r%d@example.org>" % i)[0] == 250
            code, text = c.cmd("RCPT TO:<r3@example.org>")
            assert code == 452 and "4.5.3" in text and \
                "reopens at" in text and " UTC (in " in text, (code, text)
        finally:
            c.close()
        # the count is the host's, not the session's
        c, code, _ = session(bw, RATED)
        try:
            ehlo(c)
            assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            code, text = c.cmd("RCPT TO:<r4@example.org>")
            assert code == 452, (code, text)
            # another host is not affected
            o, _, _ = session(bw, OTHER)
            try:
                ehlo(o)
                assert o.cmd("MAIL FROM:<a@sender.example>")[0] == 250
                assert o.cmd("RCPT TO:<o@example.org>")[0] == 250
            finally:
                o.close()
            # the window reopens
            time.sleep(RCPT_WINDOW + 0.5)
            assert c.cmd("RCPT TO:<r5@example.org>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(msg("hat-rated") + ".\r\n")
            assert c.reply(timeout=30)[0] == 250
        finally:
            c.close()
        delivered(sink, "hat-rated")
        after = bw.counters("smtpd").get("host_rate_rejects", 0)
        assert after - before == 2, (before, after)
        assert re.search(r"to=<r3@example\.org> rejected: recipients per "
                         r"window count=\d+ limit=3", bw.log("smtpd"))
    t.run("recipients per hour (window %ds): 452 4.5.3 with the reopen "
          "time past 3, across sessions of the host, not another host; "
          "the window reopens" % RCPT_WINDOW, rcpts_per_hour)

    def msgs_per_minute():
        with smtplib.SMTP("127.0.0.1", bw.public_port,
                          source_address=(MSGRATE, 0), timeout=30) as s:
            for i in range(2):
                s.sendmail("a@sender.example", ["m@example.org"],
                           msg("hat-rate-%d" % i))
            try:
                s.sendmail("a@sender.example", ["m@example.org"],
                           msg("hat-rate-2"))
                raise AssertionError("third message accepted")
            except smtplib.SMTPSenderRefused as e:
                assert e.smtp_code == 421, e
            except smtplib.SMTPServerDisconnected:
                pass
        time.sleep(MSG_WINDOW + 0.5)
        with smtplib.SMTP("127.0.0.1", bw.public_port,
                          source_address=(MSGRATE, 0), timeout=30) as s:
            s.sendmail("a@sender.example", ["m@example.org"],
                       msg("hat-rate-3"))
        for tag in ("hat-rate-0", "hat-rate-1", "hat-rate-3"):
            delivered(sink, tag)
        assert "messages per window count=" in bw.log("smtpd")
    t.run("messages per minute (window %ds): the third MAIL gets 421, the "
          "next window takes mail again" % MSG_WINDOW, msgs_per_minute)

    def check_refuses():
        bad = os.path.join(bw.base, "bad.conf")
        with open(bw.config_path) as f:
            text = f.read()
        text = text.replace("sender_groups SLOW TLSREQ NOTLS",
                            "sender_groups SLOW TLSREQ NOSUCH")
        with open(bad, "w") as f:
            f.write(text)
        line = text.splitlines().index("    sender_groups TRUSTED BLOCKED "
                                       "REFUSED") + 1
        r = bw.bwctl("config", "check", bad, check=False)
        want = "%s:%d: listener \"public\": no sender_group \"NOSUCH\"" % (
            bad, line)
        assert r.returncode == 1 and want in r.stderr, r.stderr
        # and a reload with it changes nothing
        os.rename(bw.config_path, bw.config_path + ".good")
        os.rename(bad, bw.config_path)
        try:
            r = bw.bwctl("config", "reload", check=False)
            assert r.returncode != 0 and "NOSUCH" in r.stdout + r.stderr, \
                r.stdout + r.stderr
        finally:
            os.rename(bw.config_path + ".good", bw.config_path)
        c, code, _ = session(bw, NOTLS)
        try:
            assert "STARTTLS" not in ehlo(c)
        finally:
            c.close()
    t.run("config check and reload refuse an unknown group with file:line; "
          "the old table stays", check_refuses)

    def reload_moves_host(ns_port, sink_port, cert, key):
        old, code, _ = session(bw, OTHER)
        try:
            assert code == 220
            ehlo(old)
            bw.write_config(config_text(bw, ns_port, sink_port, cert, key,
                                        moved=True))
            bw.bwctl("config", "reload")
            c, code, text = session(bw, OTHER)
            try:
                assert code == 554, (code, text)
            finally:
                c.close()
            # the session from before keeps its policy and delivers
            assert old.cmd("MAIL FROM:<a@sender.example>")[0] == 250
            assert old.cmd("RCPT TO:<z@example.org>")[0] == 250
            assert old.cmd("DATA")[0] == 354
            old.send(msg("hat-across-reload") + ".\r\n")
            code, text = old.reply(timeout=30)
            assert code == 250, (code, text)
            old.cmd("QUIT")
        finally:
            old.close()
        delivered(sink, "hat-across-reload")
    return reload_moves_host


LOAD_HOSTS = (TRUSTED, OTHER, "127.0.1.21", "127.0.1.22")
LOAD_SECONDS = 20           # the clients send for about this long
LOAD_MAX = 60               # messages per client at most
RELOADS = 12


def reload_under_load(bw, sink, ns_port, sink_port, cert, key):
    """Clients send over long sessions from four hosts while the table
    is reloaded again and again: every message that got 250 arrives, no
    session is dropped, no client sees an error."""
    import threading
    accepted, errors = [], []
    stop = time.monotonic() + LOAD_SECONDS

    def client(src):
        n = 0
        try:
            while n < LOAD_MAX and time.monotonic() < stop:
                with smtplib.SMTP("127.0.0.1", bw.public_port,
                                  source_address=(src, 0),
                                  timeout=30) as s:
                    for _ in range(5):      # a session spans reloads
                        tag = "load-%s-%d" % (src, n)
                        s.sendmail("a@sender.example",
                                   ["load@example.org"], msg(tag))
                        accepted.append(tag)
                        n += 1
                        time.sleep(0.05)
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append("%s: %r" % (src, e))

    threads = [threading.Thread(target=client, args=(h,))
               for h in LOAD_HOSTS]
    for th in threads:
        th.start()
    nreload = 0
    try:
        for i in range(RELOADS):
            bw.write_config(config_text(bw, ns_port, sink_port, cert, key,
                                        variant=i + 1))
            r = bw.bwctl("config", "reload", check=False)
            assert r.returncode == 0, r.stdout + r.stderr
            nreload += 1
            time.sleep(LOAD_SECONDS / RELOADS / 2)
    finally:
        for th in threads:
            th.join(timeout=LOAD_SECONDS + 60)
    assert not errors, errors
    assert nreload == RELOADS and len(accepted) >= 4 * 5, (nreload,
                                                           len(accepted))
    want = set(accepted)

    def arrived():
        got = set()
        for m in sink.messages():
            for tag in re.findall(r"Subject: (load-[0-9.]+-[0-9]+)", m):
                got.add(tag)
        return want <= got
    bwtest.wait_for(arrived, 60, what="%d messages at the sink" % len(want))


def main():
    for tool in (peers.TESTNS, peers.SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("host access table", "%s not installed" % tool)
            t.done()
    with bwtest.Breakwater("hat") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        cert, key = bwtest.make_cert(bw.base)
        try:
            bw.write_config(config_text(bw, ns.port, sink.port, cert, key))
            r = bw.bwctl("config", "check", bw.config_path, check=False)
            t.ok(r.returncode == 0, "the configuration checks",
                 r.stdout + r.stderr)
            bw.start()
            reload_case = run_cases(bw, sink)
            t.run("reload under load: %d reloads while four hosts send "
                  "over long sessions; every 250 delivered, no session "
                  "dropped" % RELOADS, reload_under_load, bw, sink, ns.port,
                  sink.port, cert, key)
            t.run("reload: a host moved to the reject group gets 554 on its "
                  "next session; its open session keeps its policy and "
                  "delivers", reload_case, ns.port, sink.port, cert, key)
        finally:
            sink.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
