#!/usr/bin/python3
"""Limits with a scope, through the real daemons.

Two listeners with their own message_size_limit, both different from the
global one: EHLO announces each listener's SIZE, a MAIL SIZE= or a body
over the listener's limit gets 552, and a body over the global limit but
within the public listener's is accepted by queued and delivered.  A
destination block gives one domain deliver_max_messages_per_connection 2:
the next hop (tests/integration/chunksink.py, which counts the messages
of each session) sees at most two per connection for that domain, while
another domain on the global value gets more over one connection.  A
reload that changes a listener's limit: a session open across it keeps
the old value (and is not dropped), a new session gets the new one; and
a reload that changes the destination's limit applies to its next
connections.
"""

import os
import smtplib

import bwtest
from chunksink import ChunkSink

t = bwtest.TAP()

SLOW = "slow.scoped.test"       # its destination block: 2 per connection
FAST = "fast.scoped.test"       # the global value: 100 per connection
NMSG = 6                        # messages sent to each domain
KiB = 1024


def config_text(bw, slow_port, fast_port, private_size="64k",
                slow_per_conn=2):
    return """hostname mx.test.example
deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
message_size_limit 1m
deliver_max_connections_per_domain 1
route %(slow)s -> [127.0.0.1]:%(sp)d
route %(fast)s -> [127.0.0.1]:%(fp)d
route example.org -> [127.0.0.1]:%(fp)d

destination %(slow)s {
    deliver_max_messages_per_connection %(per)d
}

listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    accept_domains example.org
    message_size_limit 3m
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
    message_size_limit %(psize)s
}
""" % {"dns": bw.dns_port, "slow": SLOW, "fast": FAST, "sp": slow_port,
       "fp": fast_port, "per": slow_per_conn, "pub": bw.public_port,
       "priv": bw.private_port, "psize": private_size}


def ehlo_size(c):
    code, text = c.cmd("EHLO client.example")
    assert code == 250, (code, text)
    for line in text.splitlines():
        if line.startswith("SIZE "):
            return int(line.split()[1])
    raise AssertionError("no SIZE in %r" % text)


def body(size, marker):
    """A message of about size bytes in 76-byte lines."""
    head = "Subject: %s\r\nMessage-Id: <%s@scoped.test>\r\n\r\n" % (
        marker, marker)
    line = "x" * 74 + "\r\n"
    return head + line * (max(size - len(head), 0) // len(line) + 1)


def run_cases(bw, slow, fast):
    def sizes():
        for port, want in ((bw.private_port, 64 * KiB),
                           (bw.public_port, 3 * KiB * KiB)):
            c = bw.raw(port)
            try:
                code, _ = c.reply()
                assert code == 220, code
                got = ehlo_size(c)
                assert got == want, (port, got, want)
            finally:
                c.close()
    t.run("EHLO SIZE is each listener's message_size_limit", sizes)

    def private_552():
        c = bw.raw(bw.private_port)
        try:
            c.reply()
            ehlo_size(c)
            code, text = c.cmd("MAIL FROM:<a@origin.example> SIZE=%d" %
                               (100 * KiB))
            assert code == 552 and "5.3.4" in text, (code, text)
            assert c.cmd("MAIL FROM:<a@origin.example>")[0] == 250
            assert c.cmd("RCPT TO:<big@%s>" % FAST)[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(body(100 * KiB, "too-big") + ".\r\n")
            code, text = c.reply(timeout=20)
            assert code == 552 and "5.3.4" in text, (code, text)
        finally:
            c.close()
    t.run("private listener (64k): SIZE=100k and a 100k body get 552",
          private_552)

    def public_over_global():
        with smtplib.SMTP("127.0.0.1", bw.public_port, timeout=60) as s:
            refused = s.sendmail("a@origin.example", ["big@example.org"],
                                 body(2 * KiB * KiB, "public-2m"))
            assert not refused, refused
        bwtest.wait_for(lambda: fast.find(b"public-2m"), 60,
                        what="the 2 MiB message at the next hop")
    t.run("public listener (3m, global 1m): a 2 MiB message is accepted "
          "and delivered", public_over_global)

    def per_connection():
        with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
            for i in range(NMSG):
                for dom in (SLOW, FAST):
                    s.sendmail("a@origin.example", ["r%d@%s" % (i, dom)],
                               body(200, "m%d-%s" % (i, dom)))
        bwtest.wait_for(lambda: len(slow.find(b"-" + SLOW.encode())) ==
                        NMSG, 60, what="%d messages for %s" % (NMSG, SLOW))
        bwtest.wait_for(lambda: len(fast.find(b"-" + FAST.encode())) ==
                        NMSG, 60, what="%d messages for %s" % (NMSG, FAST))
        per = slow.per_session()
        assert sum(per) == NMSG and max(per) <= 2, per
        assert len(per) >= NMSG // 2, per
        # the global value lets one connection carry more: the block
        # applies to its domain only
        fper = fast.per_session()
        assert max(fper) > 2, fper
    t.run("destination deliver_max_messages_per_connection 2: at most two "
          "per connection at the next hop, other domains more",
          per_connection)

    def reload_listener():
        old = bw.raw(bw.private_port)
        try:
            assert old.reply()[0] == 220
            assert ehlo_size(old) == 64 * KiB
            bw.write_config(config_text(bw, slow.port, fast.port,
                                        private_size="128k",
                                        slow_per_conn=3))
            bw.bwctl("config", "reload")
            new = bw.raw(bw.private_port)
            try:
                assert new.reply()[0] == 220
                assert ehlo_size(new) == 128 * KiB
                code, text = new.cmd("MAIL FROM:<a@origin.example> "
                                     "SIZE=%d" % (100 * KiB))
                assert code == 250, (code, text)
                assert new.cmd("QUIT")[0] == 221
            finally:
                new.close()
            # the open session: still the old limit, still served
            assert ehlo_size(old) == 64 * KiB
            code, text = old.cmd("MAIL FROM:<a@origin.example> SIZE=%d" %
                                 (100 * KiB))
            assert code == 552, (code, text)
            assert old.cmd("QUIT")[0] == 221
        finally:
            old.close()
    t.run("reload: an open session keeps its listener's old limit, a new "
          "session gets the new one", reload_listener)

    def reload_destination():
        before = len(slow.per_session())
        with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
            for i in range(NMSG):
                s.sendmail("a@origin.example", ["n%d@%s" % (i, SLOW)],
                           body(200, "n%d-after" % i))
        bwtest.wait_for(lambda: len(slow.find(b"-after")) == NMSG, 60,
                        what="%d messages after the reload" % NMSG)
        per = slow.per_session()[before:]
        assert sum(per) == NMSG and max(per) <= 3, per
        assert max(per) == 3, per
    t.run("reload: the destination's new limit (3) applies to its next "
          "connections", reload_destination)


def main():
    with bwtest.Breakwater("scoped") as bw:
        slow, fast = ChunkSink(), ChunkSink()
        try:
            bw.dns_port = bwtest.free_port()
            bw.write_config(config_text(bw, slow.port, fast.port))
            r = bw.bwctl("config", "check", bw.config_path, check=False)
            t.ok(r.returncode == 0, "the configuration checks",
                 r.stdout + r.stderr)
            r = bw.bwctl("config", "limits", check=False)
            t.ok(r.returncode == 0 and "deliver_max_messages_per_connection"
                 "=2" in r.stdout and "message_size_limit=65536" in r.stdout,
                 "bwctl config limits shows the blocks' values",
                 r.stdout + r.stderr)
            scopes = {}
            for line in r.stdout.splitlines():
                w = line.split(None, 3)
                if len(w) == 4:
                    scopes[w[0]] = w[3]
            t.ok(scopes.get("message_size_limit") ==
                 "global, listener, policy" and
                 scopes.get("deliver_max_messages_per_connection") ==
                 "global, destination" and
                 scopes.get("queue_db_cache") == "global",
                 "bwctl config limits shows each limit's scopes", r.stdout)
            bad = os.path.join(bw.base, "bad.conf")
            with open(bad, "w") as f:
                f.write("listener x {\n    address 127.0.0.1\n"
                        "    port 2525\n    relay_networks ::1\n"
                        "    queue_db_cache 1m\n}\n")
            r = bw.bwctl("config", "check", bad, check=False)
            want = ("%s:5: queue_db_cache cannot be set in a listener "
                    "block; it may be set at: global" % bad)
            t.ok(r.returncode == 1 and want in r.stderr,
                 "a limit outside its scopes is refused with file:line",
                 r.stdout + r.stderr)
            bw.start()
            run_cases(bw, slow, fast)
        finally:
            slow.stop()
            fast.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


main()
