#!/usr/bin/python3
"""Empty queues are forgotten after queue_idle_forget, others are kept.

All five daemons; routes send 30 domains to one smtp-sink and one domain to
a dead port.  queue_idle_forget is 1s here (default 10m).

Cases: one message to each of 30 domains is delivered and their queues
are then forgotten (bwctl status: queues_in_memory falls, queues_forgotten
counts them); a domain that is down keeps its queue, its state and its
retry; a suspended domain keeps its queue; mail to a forgotten domain
creates its queue again and is delivered.
"""

import smtplib

import bwtest
import peers

N = 30
D = ".idle.test"
t = bwtest.TAP()


def config_text(bw, sink_port, dead_port):
    routes = "".join("route d%d%s -> [127.0.0.1]:%d\n" % (i, D, sink_port)
                     for i in range(N))
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
deliver_idle_keep 1s
deliver_timeout_connect 2s
queue_idle_forget 1s
%(routes)sroute down%(d)s -> [127.0.0.1]:%(dead)d
route held%(d)s -> [127.0.0.1]:%(sink)d
bounce_profile slow {
    retry_initial 1m
    retry_max 1m
    max_age 1h
    domains down%(d)s
}
""" % {"dns": bwtest.free_port(), "routes": routes, "d": D,
       "dead": dead_port, "sink": sink_port}
    return bwtest.default_config(bw, extra=extra)


def send(bw, rcpt):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
        s.sendmail("idle@origin.example", [rcpt],
                   "Subject: idle\r\n\r\nhello\r\n")


def main():
    peers.main_with_sink(
        t, "idle",
        lambda bw, port: config_text(bw, port, bwtest.free_port()),
        run_cases)


def run_cases(bw, sink):
    def forgotten():
        bw.bwctl("suspend", "held" + D)
        send(bw, "x@down" + D)
        for i in range(N):
            send(bw, "x@d%d%s" % (i, D))
        bwtest.wait_for(lambda: sink.count() >= N, 30,
                        what="%d messages at the sink" % N)
        bwtest.wait_for(
            lambda: bw.counters("queued").get("queues_forgotten", 0) >= N, 15,
            what="%d queues forgotten (%s)" % (N, bw.counters("queued")))
        c = bw.counters("queued")
        # left: down.idle.test (down, one message) and held (suspended):
        # neither may go, nothing of the 30 may stay
        assert 2 <= c["queues_in_memory"] <= 3, c
        q = bw.bwctl("show", "domain", "down" + D, json_out=True)
        states = [x.get("state") for x in q.get("queue", [])]
        assert "down" in states, q
        h = bw.bwctl("show", "domain", "held" + D, json_out=True)
        assert "suspended" in [x.get("state") for x in h.get("queue", [])], h
    t.run("30 delivered domains are forgotten; a down and a suspended "
          "domain keep their queues", forgotten)

    def comes_back():
        before = sink.count()
        send(bw, "again@d0" + D)
        bwtest.wait_for(lambda: sink.count() > before, 20,
                        what="the message to a forgotten domain")
        assert bw.counters("queued")["queues_in_memory"] >= 1
    t.run("mail to a forgotten domain makes a new queue and is delivered",
          comes_back)


if __name__ == "__main__":
    main()
