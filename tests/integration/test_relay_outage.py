#!/usr/bin/python3
"""More of the whole relay with every real daemon (see test_relay.py, whose
helpers and configuration this script reuses; zone tests/dns/relay.data).

Cases: NXDOMAIN and null MX relayed through smtpd -> a DSN (5.1.2,
5.1.10) at the sender's MX at once; a DSN that its own destination
rejects is dropped, never bounced; one destination domain on two gateways
is two queues that suspend and resume together and leave from each
gateway's source address; kill -9 of queued with hundreds of deliveries in
flight: after its restart every message arrives at least once.
"""

import re
import signal
import time

import bwtest
import peers
import test_relay as R

D = R.D
t = bwtest.TAP()


def _assert(cond):
    assert cond


def main():
    R.main_with_stack(t, "relayout", "relay outage", run_cases)


def run_cases(bw, sinks):
    def sink(addr, port=25, extra=(), tag=""):
        s = peers.Sink(bw.base, addr, port, extra, tag)
        sinks.append(s)
        return s

    origin = sink("127.0.4.72")

    def dsn_for(sender):
        return [m for m in origin.messages()
                if "X-Rcpt-Args: <%s>" % sender in m]

    def permanent(domain, sender, want_status):
        t0 = time.monotonic()
        R.send(bw, ["a@" + domain, "b@" + domain], sender=sender)
        bwtest.wait_for(lambda: dsn_for(sender), 10,
                        what="DSN for %s" % domain)
        assert time.monotonic() - t0 < 8
        dsns = dsn_for(sender)
        assert len(dsns) == 1, len(dsns)
        m, status = R.dsn_parts(dsns[0])
        assert m.get_content_type() == "multipart/report"
        for r in ("a@", "b@"):
            assert re.search(r"Final-Recipient: rfc822; ?%s%s" % (
                r, re.escape(domain)), status, re.I), status
        assert status.count("Status: %s" % want_status) == 2, status
        q = R.queue_of(bw, domain)
        assert q is None or q["messages"] == 0, q
    t.run("NXDOMAIN: both recipients in one DSN, 5.1.2, at once",
          permanent, "nx" + D, "alice-nx@origin" + D, "5.1.2")
    t.run("null MX: both recipients in one DSN, 5.1.10, at once",
          permanent, "nullmx" + D, "alice-null@origin" + D, "5.1.10")

    s73 = sink("127.0.4.73", extra=["-f", "RCPT"])

    def bounce_of_bounce():
        n0 = origin.count()
        R.send(bw, ["a@nx" + D], sender="eve@badsender" + D)
        bw.wait_log("queued", r"bounce of a bounce dropped", 15)
        time.sleep(1)
        assert s73.count() == 0, s73.count()
        assert origin.count() == n0, "something bounced to the origin"
        bwtest.wait_for(lambda: all(q["messages"] == 0
                                    for q in R.queues(bw).values()), 10,
                        what="queues empty: %r" % R.queues(bw))
        # exactly one attempt at the DSN's destination, no DSN of the DSN
        log = bw.log("queued")
        lines = [ln for ln in log.splitlines()
                 if "to=<eve@badsender.relay.test>" in ln and
                 " status=" in ln]
        assert len(lines) == 1 and "status=bounced" in lines[0], lines
    t.run("a DSN rejected by the sender's MX is dropped, never bounced",
          bounce_of_bounce)

    def two_gateways():
        # nothing listens at multi's MX: both queues go down
        R.send(bw, ["a@multi" + D])
        R.send(bw, ["b@multi" + D], sender="bob@gwsender" + D)
        bwtest.wait_for(lambda: all(
            (R.queue_of(bw, "multi" + D, gw) or {}).get("state") == "down"
            for gw in ("default", "gwout")), 10,
            what="both queues of multi down")
        bw.bwctl("suspend", "multi" + D)
        q = R.queues(bw)
        for gw in ("default", "gwout"):
            assert q[(gw, "multi" + D)]["state"] == "suspended", q
            assert q[(gw, "multi" + D)]["messages"] == 1, q
        d = bw.bwctl("show", "domain", "multi" + D, json_out=True)
        # "*": the record that holds queues created later too
        assert sorted(x["gateway"] for x in d["queue"]) == [
            "*", "default", "gwout"], d
        s98 = sink("127.0.4.98")
        time.sleep(3)           # longer than the retry interval (2s)
        assert s98.count() == 0, "a suspended queue was delivered"
        bw.bwctl("resume", "multi" + D)
        # smtp-sink creates a message's file before it writes it: wait
        # for both messages' headers, not for two files
        def client_addrs():
            found = [re.search(r"X-Client-Addr: (\S+)", m)
                     for m in s98.messages()]
            return (len(found) == 2 and all(found)) and found
        found = bwtest.wait_for(client_addrs, 10,
                                what="both messages after resume")
        addrs = sorted(f.group(1) for f in found)
        assert addrs == ["127.0.0.1", "127.0.4.50"], addrs
    t.run("one domain on two gateways: two queues, both down, suspend and "
          "resume both, each leaves from its gateway's address",
          two_gateways)

    s85 = sink("127.0.4.85")

    def suspend_new_gateway():
        bw.bwctl("suspend", "healthy" + D)
        R.send(bw, ["a@healthy" + D], sender="bob@gwsender" + D)
        time.sleep(1.5)
        held = s85.count() == 0
        bw.bwctl("resume", "healthy" + D)
        bwtest.wait_for(lambda: s85.count() == 1, 10, what="delivered")
        return held
    t.run("bwctl suspend D holds mail for D arriving later on another "
          "gateway", lambda: _assert(suspend_new_gateway()))

    s96 = sink("127.0.4.96")
    n = 300

    def kill_queued():
        # deliverd stopped: the messages wait in queued, then all at once
        bw.stop("deliverd")
        R.smtp_source(bw, n, "q@qkill" + D, sessions=10, unique=True)
        bwtest.wait_for(lambda: (R.queue_of(bw, "qkill" + D) or {}).get(
            "messages") == n, 10, what="%d queued" % n)
        bw.start_one("deliverd")
        bwtest.wait_for(lambda: s96.count() >= 30, 20,
                        what="first deliveries")
        bw.kill("queued", signal.SIGKILL)
        killed_at = s96.count()
        time.sleep(0.3)
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        bwtest.wait_for(lambda: len(set(s96.rcpts())) >= n, 60,
                        what="%d distinct recipients" % n)
        assert len(set(s96.rcpts())) == n
        bwtest.wait_for(lambda: (R.queue_of(bw, "qkill" + D) or {}).get(
            "messages", 0) == 0, 15, what="qkill queue empty")
        print("# kill -9 queued at %d delivered: %d messages for %d "
              "recipients at the sink" % (killed_at, s96.count(), n))
        # smtpd submits again once queued is back
        R.send(bw, ["after@qkill" + D])
        bwtest.wait_for(lambda: "after@qkill" + D in s96.rcpts(), 10,
                        what="a message after queued's restart")
    t.run("kill -9 queued with %d deliveries in flight: after its restart "
          "every message arrives" % n, kill_queued)

    def resume_durable():
        dom = "ctl" + D
        bw.bwctl("suspend", dom)
        time.sleep(0.5)
        bw.bwctl("resume", dom)
        bw.kill("queued", signal.SIGKILL)
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        bwtest.wait_for(lambda: R.queues(bw) is not None, 10,
                        what="queued linked to controld")
        state = (R.queue_of(bw, dom) or {}).get("state", "active")
        if state != "active":
            bw.bwctl("resume", dom)
        return state == "active"
    t.run("bwctl resume is on disk when bwctl returns (kill -9 of "
          "queued right after it)", lambda: _assert(resume_durable()))

    def counters():
        c = bw.counters("queued")
        assert c.get("queued_messages") == 0, c
        assert c.get("open_messages") == 0, c
    t.run("end: nothing left in the queue", counters)


if __name__ == "__main__":
    main()
