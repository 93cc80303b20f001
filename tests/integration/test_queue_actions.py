#!/usr/bin/python3
"""Acting on queued mail, through every daemon: bwctl delete / undelete /
bounce / hold / release / show held, by queue id and by selector (domain,
sender, age), with --dry-run; each observed at an smtp-sink (the messages
that leave, and the DSN of a bounce).

Mail is parked with bwctl suspend.  A deleted message comes back with
undelete inside queue_undelete_window (small here) and is purged after it
(undelete then answers "expired"); nothing is acted on twice (a second
delete answers "already"); an id that does not exist gives a clear error;
a held message stays held across a restart of queued; a message in
delivery now (a next hop that accepts the connection and never greets) is
answered busy and left alone; each action is one log line with who asked.

bwctl redirect DOMAIN HOST:PORT: mail parked for a dead next hop leaves at
once for the new host; the table survives a restart of controld; off
sends new mail the configured way again.
"""

import json
import os
import re
import smtplib
import socket
import time

import bwtest
import peers

ADDR = "127.0.36.1"		# the sink and the silent next hop
D = "act.test"			# parked by suspend
W = "walk.test"			# the selector cases
SILENT = "silent.test"		# accepted, never greeted: a job in flight
ORIGIN = "origin.test"		# senders: DSNs come back to the sink
RED = "red.test"		# routed to a dead port, then redirected
MANY = "many.test"		# the walks of several steps
WINDOW_S = 6			# queue_undelete_window
t = bwtest.TAP()


def config_text(bw, sink_port, silent_port, dead_port):
    extra = """deliverd_workers 1
queue_undelete_window %(w)ds
deliver_timeout_greeting 60s
dns_servers 127.0.0.1:%(dns)d
route %(d)s -> [%(a)s]:%(port)d
route %(w2)s -> [%(a)s]:%(port)d
route %(m)s -> [%(a)s]:%(port)d
route %(o)s -> [%(a)s]:%(port)d
route %(s)s -> [%(a)s]:%(silent)d
route %(r)s -> [%(a)s]:%(dead)d
""" % {"d": D, "w2": W, "m": MANY, "o": ORIGIN, "s": SILENT, "a": ADDR, "r": RED,
       "port": sink_port, "silent": silent_port, "dead": dead_port,
       "w": WINDOW_S, "dns": bwtest.free_port()}
    return bwtest.default_config(bw, extra=extra)


def send(bw, tag, rcpt, sender="s@" + ORIGIN):
    body = "Subject: %s\r\nFrom: %s\r\n\r\nbody of %s\r\n" % (tag, sender,
                                                             tag)
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=60) as s:
        s.ehlo("client.example")
        s.mail(sender)
        s.rcpt(rcpt)
        code, resp = s.data(body.encode())
    assert code == 250, (code, resp)
    return re.search(rb"queued as ([0-9A-F]{16})", resp).group(1).decode()


def tags(sink):
    """The tags of the messages at the sink (DSNs, which return the
    headers of the message they are about, left out)."""
    return sorted(m.group(1) for m in (re.search(r"^Subject: (\S+)\r?$", x,
                                                 re.M)
                                       for x in sink.messages()
                                       if "delivery-status" not in x) if m)


def act(bw, *args):
    """(exit status, stdout + stderr) of one bwctl command."""
    r = bw.bwctl(*args, check=False)
    return r.returncode, r.stdout + r.stderr


def held(bw):
    """{qid: state} of bwctl show held --json."""
    j = bw.bwctl("show", "held", json_out=True)
    return {m["qid"]: m["state"] for m in j["messages"]}


def restart_queued(bw):
    bw.stop("queued")
    bw.start_one("queued")
    bw.wait_ready(["controld", "queued", "smtpd", "deliverd"])
    bwtest.wait_for(lambda: bw.bwctl("show", "queue", check=False)
                    .returncode == 0, 10, what="queued linked to controld")


def run_cases(bw, sink, silent):
    bw.bwctl("suspend", D)
    bw.bwctl("suspend", W)
    q = {tag: send(bw, tag, "r@" + D) for tag in ("m1", "m2", "m3", "m4",
                                                  "m5")}

    def delete_undelete():
        rc, out = act(bw, "delete", q["m1"])
        assert rc == 0 and "deleted" in out, (rc, out)
        assert held(bw).get(q["m1"]) == "deleted", held(bw)
        bw.wait_log("queued", r"%s delete by=\"bwctl uid=\d+ pid=\d+\" "
                    r"from=<s@%s> nrcpt=1" % (q["m1"], ORIGIN), 10)
        rc, out = act(bw, "delete", q["m1"])
        assert rc == 1 and "already deleted" in out, (rc, out)
        rc, out = act(bw, "hold", q["m1"])
        assert rc == 1 and "undelete it first" in out, (rc, out)
        rc, out = act(bw, "undelete", q["m1"])
        assert rc == 0 and "undeleted" in out, (rc, out)
        assert q["m1"] not in held(bw), held(bw)
        rc, out = act(bw, "undelete", q["m1"])
        assert rc == 1 and "not deleted" in out, (rc, out)
    t.run("delete, a second delete answers already, undelete brings it "
          "back, one log line with who asked", delete_undelete)

    def not_found():
        rc, out = act(bw, "delete", "DEADBEEFDEADBEEF")
        assert rc == 1 and "not found" in out, (rc, out)
        rc, out = act(bw, "release", "DEADBEEFDEADBEEF")
        assert rc == 1 and "not found" in out, (rc, out)
        rc, out = act(bw, "delete", "not-a-qid")
        assert rc == 2 and "invalid queue id" in out, (rc, out)
        rc, out = act(bw, "hold", "--domain", D, "--sender", "a@b")
        assert rc == 2 and "one queue id or selector" in out, (rc, out)
        rc, out = act(bw, "bounce")
        assert rc == 2, (rc, out)
    t.run("an id that does not exist, or bad arguments: a clear error",
          not_found)

    def hold_restart():
        rc, out = act(bw, "hold", "--dry-run", q["m2"])
        assert rc == 0 and "would be held" in out, (rc, out)
        assert q["m2"] not in held(bw), held(bw)
        rc, out = act(bw, "hold", q["m2"])
        assert rc == 0, (rc, out)
        rc, out = act(bw, "hold", q["m2"])
        assert rc == 1 and "already held" in out, (rc, out)
        restart_queued(bw)
        assert held(bw).get(q["m2"]) == "held", held(bw)
        text = bw.bwctl("show", "held").stdout
        assert q["m2"] in text and "total: 1 held" in text, text
    t.run("hold: dry run changes nothing, a second hold answers already, "
          "held mail survives a restart of queued", hold_restart)

    def bounce():
        def dsns():
            return [m for m in sink.messages() if q["m3"] in m and
                    "delivery-status" in m and m.rstrip().endswith("--")]
        rc, out = act(bw, "bounce", q["m3"])
        assert rc == 0 and "bounced" in out, (rc, out)
        # smtp-sink makes the file before it writes it: wait for the whole
        # DSN (its last MIME boundary)
        bwtest.wait_for(lambda: dsns(), 30, what="the DSN")
        time.sleep(0.5)
        dsn = dsns()
        assert len(dsn) == 1, sink.messages()
        assert "Status: 5.0.0" in dsn[0], dsn[0]
        assert "removed from the queue by the administrator" in dsn[0], \
            dsn[0]
        assert "Final-Recipient: rfc822; r@%s" % D in dsn[0], dsn[0]
        rc, out = act(bw, "bounce", q["m3"])
        assert rc == 1 and "not found" in out, (rc, out)
    t.run("bounce: a DSN 5.0.0 to the sender at the sink, the message "
          "gone", bounce)

    def expired():
        rc, out = act(bw, "delete", q["m4"])
        assert rc == 0, (rc, out)
        bw.wait_log("queued", r"%s purged: undo window over" % q["m4"],
                    WINDOW_S + 10)
        rc, out = act(bw, "undelete", q["m4"])
        assert rc == 1 and "expired" in out, (rc, out)
        assert q["m4"] not in held(bw), held(bw)
    t.run("undelete after queue_undelete_window is refused (expired), the "
          "message purged", expired)

    def delivered():
        bw.bwctl("resume", D)
        bwtest.wait_for(lambda: set(tags(sink)) >= {"m1", "m5"}, 30,
                        what="m1 and m5 at the sink")
        time.sleep(1)
        got = tags(sink)
        assert "m2" not in got and "m4" not in got and "m3" not in got, got
        rc, out = act(bw, "release", q["m2"])
        assert rc == 0 and "released" in out, (rc, out)
        bwtest.wait_for(lambda: "m2" in tags(sink), 30, what="m2 released")
        assert held(bw) == {}, held(bw)
        rc, out = act(bw, "release", q["m2"])
        assert rc == 1 and "not found" in out, (rc, out)
    t.run("resume: the undeleted and untouched messages arrive, the held, "
          "purged and bounced ones do not; release sends the held one",
          delivered)

    def selectors():
        w = [send(bw, "w%d" % i, "r@" + W, sender="walker@" + ORIGIN)
             for i in range(3)]
        other = send(bw, "w-other", "r@" + W)
        j = bw.bwctl("--json", "hold", "--domain", W, "--dry-run").stdout
        j = json.loads(j)
        assert j["dry_run"] and j["done"] == 4, j
        assert held(bw) == {}, held(bw)
        rc, out = act(bw, "hold", "--domain", W)
        assert rc == 0 and "4 messages held" in out, (rc, out)
        assert set(held(bw)) == set(w + [other]), held(bw)
        rc, out = act(bw, "release", "--sender", "walker@" + ORIGIN)
        assert rc == 0 and "3 messages released" in out, (rc, out)
        assert set(held(bw)) == {other}, held(bw)
        rc, out = act(bw, "delete", "--sender", "<walker@%s>" % ORIGIN)
        assert rc == 0 and "3 messages deleted" in out, (rc, out)
        rc, out = act(bw, "undelete", "--domain", W)
        assert rc == 0 and "3 messages undeleted" in out, (rc, out)
        rc, out = act(bw, "delete", "--older-than", "1d")
        assert rc == 0 and "0 messages deleted" in out, (rc, out)
        rc, out = act(bw, "release", "--older-than", "0s")
        assert rc == 0 and "1 messages released" in out, (rc, out)
        bw.bwctl("resume", W)
        bwtest.wait_for(lambda: set(tags(sink)) >= {"w0", "w1", "w2",
                                                    "w-other"}, 30,
                        what="the walk.test messages at the sink")
    t.run("selectors: --domain (dry run, then hold), --sender, "
          "--older-than, each walked and counted", selectors)

    def many():
        # more messages than one step of a walk (QACT_STEP, 200): the
        # walks resume where a step ended, over every message once
        n = 450
        bw.bwctl("suspend", MANY)
        with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=60) as s:
            s.ehlo("client.example")
            for i in range(n):
                s.sendmail("many@" + ORIGIN, ["r@" + MANY],
                           b"Subject: many%d\r\n\r\nx\r\n" % i)
        j = json.loads(bw.bwctl("--json", "hold", "--sender",
                                "many@" + ORIGIN, "--dry-run").stdout)
        assert j["done"] == n and len({m["qid"] for m in j["messages"]}) \
            == n, (j["done"], j["matched"])
        j = json.loads(bw.bwctl("--json", "hold", "--domain", MANY,
                                "--limit", "300").stdout)
        assert j["done"] == 300 and j["truncated"], (j["done"], j["matched"])
        j = json.loads(bw.bwctl("--json", "hold", "--domain", MANY).stdout)
        assert j["done"] == n - 300, j["done"]
        assert len(held(bw)) == n, len(held(bw))
        rc, out = act(bw, "delete", "--domain", MANY)
        assert rc == 0 and "0 messages deleted" in out, (rc, out)
        rc, out = act(bw, "release", "--domain", MANY)
        assert rc == 0 and "%d messages released" % n in out, (rc, out)
        rc, out = act(bw, "delete", "--domain", MANY)
        assert rc == 0 and "%d messages deleted" % n in out, (rc, out)
        assert len(held(bw)) == n, len(held(bw))
        bw.wait_log("queued", r"purged: undo window over", WINDOW_S + 10)
        bwtest.wait_for(lambda: len(held(bw)) == 0, WINDOW_S + 20,
                        what="every deleted message purged")
        bw.bwctl("resume", MANY)
        time.sleep(1)
        assert not [x for x in tags(sink) if x.startswith("many")]
    t.run("walks of more messages than one step: --dry-run, --limit, "
          "hold, release, delete by domain and sender; the purge in steps",
          many)

    def busy():
        qid = send(bw, "b1", "r@" + SILENT)
        conn = silent.accept_one(30)
        assert conn is not None, "no delivery attempt to the silent host"
        try:
            rc, out = act(bw, "delete", qid)
            assert rc == 1 and "being delivered now" in out, (rc, out)
            rc, out = act(bw, "hold", qid)
            assert rc == 1 and "being delivered now" in out, (rc, out)
            assert qid not in held(bw), held(bw)
        finally:
            conn.close()
    t.run("a message in delivery now is answered busy and left alone",
          busy)


def redirect_cases(bw, sink):
    def redirect():
        qid = send(bw, "r1", "r@" + RED)
        bw.wait_log("queued", r"%s to=<r@%s> .*status=deferred" % (qid, RED),
                    30)
        assert "r1" not in tags(sink)
        rc, out = act(bw, "redirect", RED, "[%s]:%d" % (ADDR, sink.port))
        assert rc == 0 and RED in out, (rc, out)
        # parked mail leaves at once (the queue is retried), well before
        # its next retry
        bwtest.wait_for(lambda: "r1" in tags(sink), 20,
                        what="the parked message at the redirect host")
        j = bw.bwctl("redirect", json_out=True)
        assert j["redirects"] == [{"domain": RED, "host": "[%s]" % ADDR,
                                   "port": sink.port}], j
    t.run("redirect: mail parked for a dead host goes to the new host at "
          "once", redirect)

    def persisted():
        bw.stop("controld")
        bw.start_one("controld")
        bw.wait_ready()
        j = bw.bwctl("redirect", json_out=True)
        assert [r["domain"] for r in j["redirects"]] == [RED], j
        # a new worker gets the table when it links: new mail follows it
        seen = bw.log("deliverd").count("redirect: 1 domains redirected")
        bw.stop("deliverd")
        bw.start_one("deliverd")
        bw.wait_ready()
        bwtest.wait_for(lambda: bw.log("deliverd").count(
            "redirect: 1 domains redirected") > seen, 10,
            what="the new worker told the table")
        send(bw, "r2", "r@" + RED)
        bwtest.wait_for(lambda: "r2" in tags(sink), 30,
                        what="new mail at the redirect host")
    t.run("redirect: the table survives a restart of controld and reaches "
          "a new deliverd worker", persisted)

    def off():
        rc, out = act(bw, "redirect", RED, "off")
        assert rc == 0 and "no domain is redirected" in out, (rc, out)
        qid = send(bw, "r3", "r@" + RED)
        bw.wait_log("queued", r"%s to=<r@%s> .*status=deferred" % (qid, RED),
                    30)
        assert "r3" not in tags(sink)
        rc, out = act(bw, "redirect", RED, "off")
        assert rc == 1 and "not redirected" in out, (rc, out)
        rc, out = act(bw, "redirect", RED, "bad host!")
        assert rc == 2 and "invalid host" in out, (rc, out)
        rc, out = act(bw, "redirect", "*." + RED, "[%s]" % ADDR)
        assert rc == 2 and "invalid domain" in out, (rc, out)
    t.run("redirect off: mail goes to its route again; bad arguments are "
          "refused", off)


class Silent:
    """A next hop that accepts connections and never says a word."""

    def __init__(self, addr, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(8)
        self.port = port

    def accept_one(self, timeout):
        self.sock.settimeout(timeout)
        try:
            return self.sock.accept()[0]
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


def main():
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("queue actions", "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater("queue-actions") as bw:
        sink = peers.Sink(bw.base, ADDR, bwtest.free_port())
        silent = Silent(ADDR, bwtest.free_port())
        try:
            bw.write_config(config_text(bw, sink.port, silent.port,
                                        bwtest.free_port()))
            bw.start()
            run_cases(bw, sink, silent)
            redirect_cases(bw, sink)
        finally:
            sink.stop()
            silent.close()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
