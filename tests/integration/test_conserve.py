#!/usr/bin/python3
"""Resource conservation: smtpd sheds load by reputation while queued
reports pressure, through the real daemons.

A reputation zone served by ldns-testns (tests/dns/rep.data) gives
127.0.0.2 the score -10.0 and 127.0.0.6 the score 0.0; 127.0.0.3 is in a
trusted group with a relay policy.  Messages parked for a dead next hop
fill the queue past queue_pressure_messages: soft pressure.  Then the
bad-score host gets 421 4.3.2 at connect (and a session of it opened
before the pressure gets 421 at its next MAIL), while the neutral host,
the trusted one and the private listener are served and their mail
delivered.  Free space below twice queue_min_free_space (set by a
reload) is hard pressure: the neutral host is shed too, the trusted host
and the private listener still flow.  When the queue drains, everyone is
served again.  One log line per shed session; pressure_sheds counts them.
"""

import os
import smtplib

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "rep.data")
PARKED = "parked.conserve.test"
BAD = "127.0.0.2"           # rep.data: -10.0
TRUSTED = "127.0.0.3"       # rep.data: +10.0, and in the TRUSTED group
NEUTRAL = "127.0.0.6"       # rep.data: 0.0
MARK = 3                    # queue_pressure_messages

t = bwtest.TAP()


def config_text(bw, ns_port, sink_port, dead_port, parked_port=None,
                min_free=None):
    return """hostname mx.test.example
deliverd_workers 1
dns_servers 127.0.0.1:%(ns)d
deliver_timeout_connect 2s
queue_pressure_messages %(mark)d
%(min_free)sroute %(parked)s -> [127.0.0.1]:%(pport)d
route example.org -> [127.0.0.1]:%(sink)d
bounce_profile slow {
    retry_initial 1h
    retry_max 1h
    max_age 1d
    domains %(parked)s
}
reputation_zone score.rep.test

policy trusted {
    behaviour relay
}
policy normal {
    behaviour accept
}
sender_group TRUSTED {
    policy trusted
    network %(trusted)s
}

listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    accept_domains example.org
    reverse_dns no
    reputation yes
    sender_groups TRUSTED
    default_policy normal
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
""" % {"ns": ns_port, "mark": MARK, "parked": PARKED,
       "pport": parked_port or dead_port, "sink": sink_port,
       "trusted": TRUSTED, "pub": bw.public_port, "priv": bw.private_port,
       "min_free": "queue_min_free_space %d\n" % min_free
       if min_free is not None else ""}


def pressure(bw, name):
    """name's pressure in bwctl status: for smtpd, every worker's when
    they agree, else None."""
    st = bw.bwctl("status", json_out=True)
    seen = {p.get("info", {}).get("pressure")
            for p in st.get("processes", [])
            if p.get("name", "").split("[")[0] == name}
    return seen.pop() if len(seen) == 1 else None


def wait_pressure(bw, level):
    bwtest.wait_for(lambda: pressure(bw, "smtpd") == level, 20,
                    what="smtpd pressure=%s (now %s)" % (
                        level, pressure(bw, "smtpd")))


def send(port, src, tag, rcpt="r@example.org"):
    with smtplib.SMTP("127.0.0.1", port, source_address=(src, 0),
                      timeout=30) as s:
        s.sendmail("s@sender.example", [rcpt],
                   "Subject: %s\r\n\r\nconserve\r\n" % tag)


def banner(bw, src):
    c = bw.raw(bw.public_port, timeout=15, source=src)
    try:
        return c.reply(timeout=15)
    finally:
        c.close()


def delivered(sink, tag):
    bwtest.wait_for(lambda: any("Subject: %s" % tag in m
                                for m in sink.messages()), 30,
                    what="%s at the sink" % tag)


def run_cases(bw, ns, sink, dead):
    sheds = lambda: bw.counters("smtpd").get("pressure_sheds", 0)  # noqa

    def no_pressure():
        assert pressure(bw, "smtpd") == "none"
        send(bw.public_port, BAD, "bad-before")
        delivered(sink, "bad-before")
    t.run("no pressure: even a -10.0 host is served", no_pressure)

    early = bw.raw(bw.public_port, timeout=15, source=BAD)
    assert early.reply(timeout=15)[0] == 220
    assert early.cmd("EHLO early.example")[0] == 250

    def soft():
        for i in range(MARK):
            send(bw.private_port, "127.0.0.1", "parked-%d" % i,
                 "p%d@%s" % (i, PARKED))
        wait_pressure(bw, "soft")
        before = sheds()
        code, text = banner(bw, BAD)
        assert code == 421 and "4.3.2" in text, (code, text)
        # a session opened before the pressure: 421 at its next MAIL
        code, text = early.cmd("MAIL FROM:<s@sender.example>")
        assert code == 421 and "4.3.2" in text, (code, text)
        assert early.closed(5)
        assert sheds() == before + 2, (before, sheds())
        log = bw.log("smtpd")
        assert "shed at connect: queue pressure=soft" in log, log[-2000:]
        assert "shed at mail: queue pressure=soft" in log
        assert "score=-10.0" in log
        send(bw.public_port, NEUTRAL, "neutral-soft")
        send(bw.public_port, TRUSTED, "trusted-soft")
        send(bw.private_port, "127.0.0.1", "private-soft")
        for tag in ("neutral-soft", "trusted-soft", "private-soft"):
            delivered(sink, tag)
    t.run("soft pressure: the -10.0 host gets 421 at connect and at MAIL; "
          "a 0.0 host, the trusted group and the private listener are "
          "served", soft)
    early.close()

    def hard():
        sv = os.statvfs(bw.spooldir)
        min_free = int(sv.f_bavail * sv.f_frsize * 0.6)
        bw.write_config(config_text(bw, ns.port, sink.port, dead,
                                    min_free=min_free))
        bw.bwctl("config", "reload")
        wait_pressure(bw, "hard")
        code, text = banner(bw, NEUTRAL)
        assert code == 421 and "4.3.2" in text, (code, text)
        assert "shed at connect: queue pressure=hard" in bw.log("smtpd")
        send(bw.public_port, TRUSTED, "trusted-hard")
        send(bw.private_port, "127.0.0.1", "private-hard")
        delivered(sink, "private-hard")
        delivered(sink, "trusted-hard")
    t.run("hard pressure (disk): the 0.0 host is shed too; the trusted "
          "group and the private listener still flow", hard)

    def drained():
        bw.write_config(config_text(bw, ns.port, sink.port, dead,
                                    parked_port=sink.port))
        bw.bwctl("config", "reload")
        bw.bwctl("retry", PARKED)
        wait_pressure(bw, "none")
        code, _ = banner(bw, BAD)
        assert code == 220, code
        send(bw.public_port, BAD, "bad-after")
        delivered(sink, "bad-after")
    t.run("the queue drains: the -10.0 host is served again", drained)


def main():
    for tool in (peers.TESTNS, peers.SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("resource conservation", "%s not installed" % tool)
            t.done()
    with bwtest.Breakwater("conserve") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        dead = bwtest.free_port()
        try:
            bw.write_config(config_text(bw, ns.port, sink.port, dead))
            bw.start()
            run_cases(bw, ns, sink, dead)
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
