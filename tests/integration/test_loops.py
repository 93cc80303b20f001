#!/usr/bin/python3
"""Mail that would loop back to this gateway, and DNS answers built to hurt
the resolution, through the whole relay (every real daemon).

dnscached asks ldns-testns serving tests/dns/loops.data.  Besides the usual
two listeners on 127.0.0.1, the gateway listens on 127.0.6.1 port 25 (the
MX "self.loops.test") and on the wildcard 0.0.0.0 at a free port, both
relaying for 127.0.0.0/8: without loop detection, mail handed to either
comes straight back in and goes round for ever.  Destination MX hosts are
Postfix's smtp-sink on 127.0.6.x port 25 (root is needed for port 25),
and a small scripted server that answers EHLO with our hostname.

Cases: a route to our own private listener; a route by name to an address
our wildcard listener covers; an MX that is our listener; a next hop that
greets with our hostname (smtp-sink -h), one that answers EHLO with it;
we are the best MX (a worse one exists) -> each of those bounces with
5.4.6 "mail for D loops back to myself", the DSN reaches the sender and no
message is received a second time.  We are a backup MX (20) and the
primary (10) works -> delivered to it; the primary is down -> deferred,
not looped, and delivered once it is back; a backup MX that greets with
our name while the primary is down -> deferred; the primary has no
address -> deferred 4.4.4 "unable to find primary relay".  DNS: a CNAME
loop, a chain of 10 CNAMEs (over the limit of 8), an MX host whose
address is a CNAME loop -> deferred (4.4.3), the message still queued,
bwctl show domain names the DNS error; 40 MX records with the best
preference last in wire order -> the best one gets the mail.
"""

import os
import re
import socket
import threading
import time

import bwtest
import peers
import test_relay as R

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "loops.data")
D = ".loops.test"
HOSTNAME = "mx.test.example"        # bwtest.default_config's hostname
SELF_ADDR = "127.0.6.1"

t = bwtest.TAP()


class EhloSelf(threading.Thread):
    """Greets with another name, then answers EHLO and HELO with ours
    (a peer that hands everything back to us, or a proxy in front of us);
    accepts mail if it ever gets that far."""

    def __init__(self, addr, port=25):
        super().__init__(daemon=True)
        self.mails = 0
        self.sessions = 0
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, port))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.sessions += 1
            threading.Thread(target=self.session, args=(c,),
                             daemon=True).start()

    def session(self, c):
        c.settimeout(10)
        f = c.makefile("rwb")

        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        try:
            reply("220 other.example ESMTP")
            for _ in range(50):
                line = f.readline(4096)
                if not line:
                    return
                verb = line.decode(errors="replace").split(" ")[0].upper()
                verb = verb.strip()
                if verb == "EHLO":
                    reply("250-%s\r\n250-PIPELINING\r\n250 8BITMIME" %
                          HOSTNAME)
                elif verb == "HELO":
                    reply("250 %s" % HOSTNAME)
                elif verb == "DATA":
                    reply("354 go ahead")
                    while True:
                        ln = f.readline(65536)
                        if not ln or ln == b".\r\n":
                            break
                    self.mails += 1
                    reply("250 2.0.0 ok")
                elif verb == "QUIT":
                    reply("221 2.0.0 bye")
                    return
                else:
                    reply("250 2.0.0 ok")
        except OSError:
            return
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.join(5)
        self.ls.close()


def config_text(bw, nsport, wild_port):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(nsport)d
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 5s
route routeloop.loops.test -> [127.0.0.1]:%(private)d
route wildloop.loops.test -> wild.loops.test:%(wild)d

bounce_profile default {
    retry_initial 1s
    retry_max 2s
    max_age 1h
}
""" % {"nsport": nsport, "private": bw.private_port, "wild": wild_port}
    listeners = """
listener public {
    address 127.0.0.1
    port %(public)d
    type public
    accept_domains example.org example.net
}
listener private {
    address 127.0.0.1
    port %(private)d
    type private
    relay_networks 127.0.0.0/8
}
listener selfmx {
    address %(self)s
    port 25
    type private
    relay_networks 127.0.0.0/8
}
listener wild {
    address 0.0.0.0
    port %(wild)d
    type private
    relay_networks 127.0.0.0/8
}
""" % {"public": bw.public_port, "private": bw.private_port,
       "self": SELF_ADDR, "wild": wild_port}
    return bwtest.default_config(bw, extra=extra, listeners=listeners)


def main():
    for tool in (peers.TESTNS, peers.SMTP_SINK):
        if not os.path.exists(tool):
            t.skip("mail loops", "%s not installed" % tool)
            t.done()
    if os.geteuid() != 0:
        t.skip("mail loops", "needs root for a listener and MX hosts on "
               "port 25")
        t.done()
    sinks = []
    with bwtest.Breakwater("loops") as bw:
        ns = peers.TestNS(bw.logdir, ZONE)
        try:
            bw.write_config(config_text(bw, ns.port, bwtest.free_port()))
            bw.start()
            run_cases(bw, sinks)
        finally:
            for s in sinks:
                s.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sinks):
    def sink(addr, extra=()):
        s = peers.Sink(bw.base, addr, 25, extra)
        sinks.append(s)
        return s

    origin = sink("127.0.6.72")     # the senders' domain: DSNs land here
    sent = [0]

    def send(rcpt, sender):
        R.send(bw, [rcpt], sender=sender, subject="loop test")
        sent[0] += 1

    def accepted():
        return bw.counters("queued").get("messages_accepted", 0)

    def dsn_for(sender):
        return [m for m in origin.messages()
                if "X-Rcpt-Args: <%s>" % sender in m]

    def loop_bounced(domain, tag):
        """One message to domain: a 5.4.6 DSN at the sender, nothing
        received a second time, nothing left in the queue."""
        sender = "alice-%s@origin%s" % (tag, D)
        rcpt = "u@%s%s" % (domain, D)
        send(rcpt, sender)
        bwtest.wait_for(lambda: dsn_for(sender), 20,
                        what="a DSN for %s (accepted %d, log: %s)" % (
                            rcpt, accepted(),
                            bw.log_tail("deliverd", 5)))
        time.sleep(1.5)     # a loop would have come round by now
        dsns = dsn_for(sender)
        assert len(dsns) == 1, "%d DSNs" % len(dsns)
        m, status = R.dsn_parts(dsns[0])
        assert re.search(r"Final-Recipient: rfc822; ?%s" % re.escape(rcpt),
                         status, re.I), status
        assert re.search(r"Status: 5\.4\.6", status), status
        assert "mail for %s%s loops back to myself" % (domain, D) in \
            dsns[0], dsns[0][-1500:]
        n = accepted()
        assert n == sent[0], "received %d messages for %d sent" % (
            n, sent[0])
        q = R.queue_of(bw, domain + D)
        assert q is None or q["messages"] == 0, q
        bw.wait_log("queued", r"to=<%s> .*dsn=5\.4\.6 status=bounced" %
                    re.escape(rcpt))
        bw.wait_log("deliverd", r"[0-9A-F]+ domain=%s%s .*loops back to "
                    r"myself" % (re.escape(domain), re.escape(D)))

    t.run("a route to our own private listener: 5.4.6 bounce, received "
          "once", loop_bounced, "routeloop", "route")
    t.run("a route to an address our wildcard listener covers: 5.4.6 "
          "bounce", loop_bounced, "wildloop", "wild")
    t.run("the only MX is our own listener: 5.4.6 bounce", loop_bounced,
          "mxloop", "mx")

    greeter = sink("127.0.6.20", extra=["-h", HOSTNAME])

    def greet():
        loop_bounced("greet", "greet")
        assert greeter.count() == 0, greeter.count()
        assert re.search(r"greeted me with my own hostname",
                         bw.log("deliverd")), bw.log_tail("deliverd")
    t.run("a next hop that greets with our hostname: 5.4.6 bounce, "
          "nothing sent to it", greet)

    ehlo_self = EhloSelf("127.0.6.21")
    sinks.append(ehlo_self)

    def ehlo():
        loop_bounced("ehlo", "ehlo")
        assert ehlo_self.sessions >= 1 and ehlo_self.mails == 0
    t.run("a next hop that answers EHLO with our hostname: 5.4.6 bounce",
          ehlo)

    other40 = sink("127.0.6.40")

    def bestself():
        loop_bounced("bestself", "best")
        assert other40.count() == 0, other40.count()
    t.run("we are the best MX (a worse one exists): 5.4.6 bounce, the "
          "worse MX gets nothing", bestself)

    primary = sink("127.0.6.30")

    def backup():
        n0 = accepted()
        send("u@backup" + D, "alice-backup@origin" + D)
        bwtest.wait_for(lambda: primary.count() == 1, 15,
                        what="the message at the primary MX")
        time.sleep(1)
        assert accepted() == n0 + 1, (n0, accepted())
        assert not dsn_for("alice-backup@origin" + D)
    t.run("we are the backup MX (20), the primary (10) works: delivered "
          "to it", backup)

    def backupdown():
        n0 = accepted()
        rcpt = "u@backupdown" + D
        send(rcpt, "alice-bdown@origin" + D)
        bw.wait_log("queued", r"to=<%s> .*dsn=4\.\d+\.\d+ status=deferred"
                    % re.escape(rcpt), 15)
        time.sleep(2)
        assert accepted() == n0 + 1, "received %d, want %d" % (
            accepted(), n0 + 1)
        q = R.queue_of(bw, "backupdown" + D)
        assert q is not None and q["messages"] == 1, q
        assert not dsn_for("alice-bdown@origin" + D)
        back = sink("127.0.6.31")
        bw.bwctl("retry", "backupdown" + D)
        bwtest.wait_for(lambda: back.count() == 1, 20,
                        what="the message at the primary once it is back")
        assert accepted() == n0 + 1
    t.run("we are the backup MX and the primary is down: deferred, not "
          "looped; delivered to the primary when it is back", backupdown)

    def greetbackup():
        n0 = accepted()
        rcpt = "u@greetbackup" + D
        c0 = greeter.sessions()
        send(rcpt, "alice-gbackup@origin" + D)
        bw.wait_log("queued", r"to=<%s> .*dsn=4\.\d+\.\d+ status=deferred"
                    % re.escape(rcpt), 15)
        assert greeter.sessions() > c0, "the backup MX was not tried"
        assert greeter.count() == 0
        assert not dsn_for("alice-gbackup@origin" + D)
        assert accepted() == n0 + 1
    t.run("a backup MX that greets with our hostname while the primary is "
          "down: deferred, not bounced", greetbackup)

    def noprimary():
        n0 = accepted()
        rcpt = "u@noprimary" + D
        send(rcpt, "alice-noprimary@origin" + D)
        bw.wait_log("queued", r"to=<%s> .*dsn=4\.4\.4 status=deferred "
                    r"\(unable to find primary relay" % re.escape(rcpt), 15)
        time.sleep(1)
        assert accepted() == n0 + 1
        assert not dsn_for("alice-noprimary@origin" + D)
    t.run("we are the backup MX and the primary has no address: deferred "
          "4.4.4 (unable to find primary relay)", noprimary)

    # -- DNS ----------------------------------------------------------------
    def dns_deferred(domain, what):
        rcpt = "u@%s%s" % (domain, D)
        sender = "alice-%s@origin%s" % (domain, D)
        send(rcpt, sender)
        bw.wait_log("queued", r"to=<%s> .*dsn=4\.4\.3 status=deferred" %
                    re.escape(rcpt), 15)
        q = R.queue_of(bw, domain + D)
        assert q is not None and q["messages"] == 1, q
        d = bw.bwctl("show", "domain", domain + D, json_out=True)
        text = repr(d)
        assert what in text, text
        assert not dsn_for(sender)
        assert not re.search(r"to=<%s> .*status=bounced" % re.escape(rcpt),
                             bw.log("queued"))

    t.run("an MX answer that is a CNAME loop: deferred 4.4.3, still "
          "queued, show domain names it", dns_deferred, "cnloop", "CNAME")
    t.run("an MX answer with a chain of 10 CNAMEs: deferred 4.4.3",
          dns_deferred, "cnlong", "CNAME")
    t.run("an MX host whose address is a CNAME loop: deferred 4.4.3",
          dns_deferred, "cnhost", "CNAME")

    best40, other61 = sink("127.0.6.60"), sink("127.0.6.61")

    def mx40():
        send("u@mx40" + D, "alice-mx40@origin" + D)
        bwtest.wait_for(lambda: best40.count() + other61.count() >= 1, 20,
                        what="the message at one of the 40 MX hosts")
        assert best40.count() == 1 and other61.count() == 0, (
            best40.count(), other61.count())
        d = bw.bwctl("show", "domain", "mx40" + D, json_out=True)
        prefs = sorted(h["preference"] for h in d["hosts"])
        assert prefs and prefs[0] == 50, prefs
    t.run("40 MX records, the best last in wire order: the best one gets "
          "the mail", mx40)

    def end():
        assert accepted() == sent[0], (accepted(), sent[0])
    t.run("end: every message was received exactly once", end)


if __name__ == "__main__":
    main()
