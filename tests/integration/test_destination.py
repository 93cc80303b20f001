#!/usr/bin/python3
"""Destination controls, through the real daemons, observed at the receiver.

The next hops are scripted receivers (tests/integration/chunksink.py) on
127.0.20.x (this test's fixed /24) at random ports, reached by routes;
each records every transaction with its recipients, its session and when
its MAIL arrived, and the peak of sessions open at once.

- deliver_max_messages_per_connection 2 and deliver_max_connections_per_
  domain 2: no session carries more than two messages, never more than
  two sessions at once (the receiver holds each final reply a little so
  that connections overlap).
- deliver_max_recipients_per_message 3: a message for 8 recipients (one of
  them refused with 550) arrives as three transactions of 3, 2 (+1
  refused) and 2 recipients, one after the other on the same connection;
  every recipient gets its own result (7 sent, 1 bounced); the same
  without PIPELINING (RCPT by RCPT).
- deliver_max_messages_per_minute 120: five messages' transactions start
  at least ~0.5 s apart at the receiver; none fails, they wait.
- A per-gateway destination block: at the same pattern the block naming
  the message's gateway (gateway_rule sender_domain) beats the one
  without: recipients per transaction 1 for the bulk gateway, 2 for the
  default one.
- ipv6 no (ldns-testns serves the route hosts): a host with only AAAA
  (::1) is used when ipv6 is on (the receiver on [::1] gets the message)
  and the message is deferred with 4.4.4 "ipv6 no" when it is off; a host
  with A and AAAA is reached over IPv4 only.
- A reload under load: while messages with 3 recipients stream in, the
  destination's recipients per message goes from 2 to 3 and messages per
  connection from 3 to 4 by `bwctl config reload`: every recipient is
  delivered, nothing is deferred or bounced, transactions before carry at
  most 2 recipients and after it 3.
"""

import os
import re
import smtplib
import threading
import time

import bwtest
import peers
from chunksink import ChunkSink

t = bwtest.TAP()

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "destination.data")
D = ".dest.test"
RATE = 120                      # messages per minute: 0.5 s apart
RATE_N = 5


def config_text(bw, ports, load_rcpts=2, load_per_conn=3):
    return """hostname mx.test.example
deliverd_workers 2
dns_servers 127.0.0.1:%(dns)d
deliver_idle_keep 2s

gateway bulk {
}
gateway_rule sender_domain bulk.example bulk

route origin.example -> [127.0.20.1]:%(origin)d
route percon%(D)s -> [127.0.20.1]:%(percon)d
route split%(D)s -> [127.0.20.1]:%(split)d
route split2%(D)s -> [127.0.20.1]:%(split2)d
route rate%(D)s -> [127.0.20.1]:%(rate)d
route gw%(D)s -> [127.0.20.1]:%(gw)d
route load%(D)s -> [127.0.20.1]:%(load)d
route v6yes%(D)s -> v6only%(D)s:%(v6)d
route v6no%(D)s -> v6only%(D)s:%(v6)d
route dualno%(D)s -> dual%(D)s:%(v6)d

destination percon%(D)s {
    deliver_max_messages_per_connection 2
    deliver_max_connections_per_domain 2
}
destination split%(D)s split2%(D)s {
    deliver_max_recipients_per_message 3
    deliver_max_connections_per_domain 1
}
destination split2%(D)s {
    gateway default
    deliver_max_recipients_per_message 2
    deliver_max_connections_per_domain 1
}
destination rate%(D)s {
    deliver_max_messages_per_minute %(rate_n)d
}
destination gw%(D)s {
    deliver_max_recipients_per_message 2
    deliver_max_connections_per_domain 1
}
destination gw%(D)s {
    gateway bulk
    deliver_max_recipients_per_message 1
    deliver_max_connections_per_domain 1
}
destination v6no%(D)s dualno%(D)s {
    ipv6 no
}
destination load%(D)s {
    deliver_max_recipients_per_message %(lr)d
    deliver_max_messages_per_connection %(lp)d
    deliver_max_connections_per_domain 2
}

listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
""" % dict(ports, D=D, dns=bw.dns_port, priv=bw.private_port,
           rate_n=RATE, lr=load_rcpts, lp=load_per_conn)


def send(bw, rcpts, subject, sender="a@origin.example", count=1):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        for i in range(count):
            msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s-%d\r\n"
                   "Message-ID: <%s.%d.%f@origin.example>\r\n\r\n"
                   "hello %d\r\n" % (sender, rcpts[0], subject, i, subject,
                                     i, time.time(), i))
            refused = c.sendmail(sender, rcpts, msg)
            assert not refused, refused


def status_lines(bw, domain, status):
    return re.findall(r"to=<[^>]*@%s> .*status=%s" % (re.escape(domain),
                                                     status),
                      bw.log("queued"))


def main():
    for tool in (peers.TESTNS,):
        if not os.path.exists(tool):
            t.skip("destination controls", "%s not installed" % tool)
            t.done()
    sinks = {}
    with bwtest.Breakwater("destination") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        try:
            bw.dns_port = ns.port
            ports = {}
            for name, kw in (("origin", {}), ("percon", {"final_delay": 0.3}),
                             ("split", {"reject_prefix": "nobody"}),
                             ("split2", {"pipelining": False,
                                         "chunking": False}),
                             ("rate", {}), ("gw", {}),
                             ("load", {"final_delay": 0.02})):
                port = bwtest.free_port("127.0.20.1")
                sinks[name] = ChunkSink("127.0.20.1", port, **kw)
                ports[name] = port
            ports["v6"] = bwtest.free_port("127.0.20.2")
            sinks["v4"] = ChunkSink("127.0.20.2", ports["v6"])
            sinks["v6"] = ChunkSink("::1", ports["v6"])
            bw.write_config(config_text(bw, ports))
            r = bw.bwctl("config", "check", bw.config_path, check=False)
            if not t.ok(r.returncode == 0, "the test configuration checks",
                        r.stdout + r.stderr):
                t.done()
            bw.start()
            run_cases(bw, sinks, ports)
        finally:
            for s in sinks.values():
                s.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sinks, ports):
    def per_connection():
        s = sinks["percon"]
        send(bw, ["p@percon" + D], "percon", count=8)
        bwtest.wait_for(lambda: s.count() == 8, 60,
                        what="8 messages at percon (log: %s)" %
                        bw.log_tail("deliverd", 5))
        per = s.per_session()
        assert sum(per) == 8 and max(per) <= 2, per
        assert len(per) >= 4, per
        assert s.max_active <= 2, s.max_active
        bwtest.wait_for(lambda: len(status_lines(bw, "percon" + D,
                                                 "sent")) == 8, 30,
                        what="8 recipients sent")
    t.run("messages per connection 2, connections 2: at most two messages "
          "per session and two sessions at once at the receiver",
          per_connection)

    def split():
        s = sinks["split"]
        rcpts = ["r%d@split%s" % (i, D) for i in range(4)] + \
            ["nobody@split" + D] + \
            ["r%d@split%s" % (i, D) for i in range(4, 7)]
        send(bw, rcpts, "split")
        bwtest.wait_for(lambda: s.count() == 3, 60,
                        what="3 transactions at split (log: %s)" %
                        bw.log_tail("deliverd", 5))
        bw.wait_log("queued", r"to=<nobody@split\.dest\.test> .*"
                    r"status=bounced", timeout=30)
        bwtest.wait_for(lambda: len(status_lines(bw, "split" + D,
                                                 "sent")) == 7, 30,
                        what="7 recipients sent")
        msgs = s.messages
        counts = [len(m.rcpts) for m in msgs]
        assert counts == [3, 2, 2], counts
        got = sorted(a for m in msgs for a in m.rcpts)
        want = sorted(a for a in rcpts if not a.startswith("nobody"))
        assert got == want, (got, want)
        assert len({m.sid for m in msgs}) == 1, [m.sid for m in msgs]
        assert s.per_session() == [3], s.per_session()
        assert not status_lines(bw, "split" + D, "deferred")
    t.run("recipients per message 3: 8 recipients (one refused) arrive as "
          "3 transactions (3, 2+1 refused, 2) on one connection, 7 sent "
          "and 1 bounced", split)

    def split_no_pipelining():
        s = sinks["split2"]
        rcpts = ["q%d@split2%s" % (i, D) for i in range(5)]
        send(bw, rcpts, "split2")
        bwtest.wait_for(lambda: s.count() == 3, 60,
                        what="3 transactions at split2")
        counts = [len(m.rcpts) for m in s.messages]
        assert counts == [2, 2, 1], counts
        assert sorted(a for m in s.messages for a in m.rcpts) == rcpts
        bwtest.wait_for(lambda: len(status_lines(bw, "split2" + D,
                                                 "sent")) == 5, 30,
                        what="5 recipients sent")
    t.run("recipients per message without PIPELINING (and the block for "
          "the default gateway over the one without): 5 recipients as "
          "2, 2, 1", split_no_pipelining)

    def rate():
        s = sinks["rate"]
        t0 = time.monotonic()
        send(bw, ["x@rate" + D], "rate", count=RATE_N)
        bwtest.wait_for(lambda: s.count() == RATE_N, 60,
                        what="%d messages at rate" % RATE_N)
        times = sorted(m.t_mail for m in s.messages)
        gaps = [b - a for a, b in zip(times, times[1:])]
        interval = 60.0 / RATE
        assert min(gaps) >= interval * 0.6, gaps
        assert times[-1] - times[0] >= (RATE_N - 1) * interval * 0.9, gaps
        assert time.monotonic() - t0 < 30
        bwtest.wait_for(lambda: len(status_lines(bw, "rate" + D,
                                                 "sent")) == RATE_N, 30,
                        what="%d recipients sent" % RATE_N)
        assert not status_lines(bw, "rate" + D, "deferred")
        print("# rate: gaps at the receiver %s" %
              " ".join("%.2f" % g for g in gaps))
    t.run("messages per minute %d: transactions start %.1f s apart at the "
          "receiver, every message delivered" % (RATE, 60.0 / RATE), rate)

    def per_gateway():
        s = sinks["gw"]
        send(bw, ["g%d@gw%s" % (i, D) for i in range(3)], "gw-default")
        send(bw, ["b%d@gw%s" % (i, D) for i in range(3)], "gw-bulk",
             sender="b@bulk.example")
        bwtest.wait_for(lambda: s.count() == 5, 60,
                        what="5 transactions at gw")
        dflt = sorted(len(m.rcpts) for m in s.messages
                      if "origin.example" in m.mail)
        bulk = sorted(len(m.rcpts) for m in s.messages
                      if "bulk.example" in m.mail)
        assert dflt == [1, 2], dflt
        assert bulk == [1, 1, 1], bulk
        bw.wait_log("queued", r"to=<b0@gw\.dest\.test> .*gateway=bulk .*"
                    r"status=sent", timeout=30)
    t.run("per gateway: the block naming gateway bulk (1 recipient per "
          "transaction) beats the one without (2) for bulk's queue only",
          per_gateway)

    def ipv6():
        s4, s6 = sinks["v4"], sinks["v6"]
        send(bw, ["a@v6yes" + D], "v6yes")
        bwtest.wait_for(lambda: s6.count() == 1, 60,
                        what="the message over IPv6 (log: %s)" %
                        bw.log_tail("deliverd", 5))
        assert s6.session_peers[0] == "::1", s6.session_peers
        send(bw, ["a@v6no" + D], "v6no")
        bw.wait_log("queued", r"to=<a@v6no\.dest\.test> .*dsn=4\.4\.4 "
                    r"status=deferred .*ipv6 no", timeout=30)
        send(bw, ["a@dualno" + D], "dualno", count=3)
        bwtest.wait_for(lambda: s4.count() == 3, 60,
                        what="3 messages over IPv4 for dualno")
        assert s6.count() == 1, s6.count()
        assert all(":" not in p for p in s4.session_peers), \
            s4.session_peers
        assert not status_lines(bw, "v6no" + D, "sent")
    t.run("ipv6: a AAAA-only host is used with ipv6 yes, deferred (4.4.4) "
          "with ipv6 no; a dual-stack host is reached over IPv4 only",
          ipv6)

    def reload_under_load():
        s = sinks["load"]
        n, nrcpt = 40, 3
        errors = []

        def load():
            try:
                with smtplib.SMTP("127.0.0.1", bw.private_port,
                                  timeout=30) as c:
                    for i in range(n):
                        rc = ["l%d.%d@load%s" % (i, k, D)
                              for k in range(nrcpt)]
                        c.sendmail("a@origin.example", rc,
                                   "Subject: load-%d\r\n\r\nhi\r\n" % i)
                        time.sleep(0.1)
            except Exception as e:      # reported below
                errors.append(repr(e))

        th = threading.Thread(target=load, daemon=True)
        th.start()
        bwtest.wait_for(lambda: s.count() >= 10, 60,
                        what="load under way")
        before = s.count()
        bw.write_config(config_text(bw, ports, load_rcpts=3,
                                    load_per_conn=4))
        bw.bwctl("config", "reload")
        th.join(60)
        assert not th.is_alive() and not errors, errors
        bwtest.wait_for(lambda: len({a for m in s.messages
                                     for a in m.rcpts}) == n * nrcpt, 90,
                        what="%d recipients at load" % (n * nrcpt))
        bwtest.wait_for(lambda: len(status_lines(bw, "load" + D, "sent"))
                        == n * nrcpt, 30, what="every recipient sent")
        assert not status_lines(bw, "load" + D, "deferred")
        assert not status_lines(bw, "load" + D, "bounced")
        counts = [len(m.rcpts) for m in s.messages]
        assert max(counts[:before]) == 2, counts
        assert max(counts) == 3, counts
        assert max(s.per_session()) <= 4, s.per_session()
        assert s.max_active <= 2, s.max_active
    t.run("reload under load: recipients per message 2 -> 3 and messages "
          "per connection 3 -> 4, nothing deferred, bounced or lost",
          reload_under_load)


if __name__ == "__main__":
    main()
