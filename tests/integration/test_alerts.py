#!/usr/bin/python3
"""Alerts (issue 13): every kind raised and cleared, the mail received.

All five daemons; one smtp-sink on 127.0.35.1 takes the mail of d.test
and the alert mail (alert_mail_to ops@admin.test, admin.test routed to
the sink); down.test is routed to 127.0.35.2, where nothing listens until
the case starts a second sink there.  alert_check_interval 1s,
alert_repeat_interval 6s.

Cases: recipients waiting for one destination, in all queues and the
oldest message (a suspended destination) raised, told again no more often
than the interval, cleared after resume; free space of the spool
(threshold raised and lowered by reload); a destination down and up again
(QUEUE_EVENT); a deliverd worker and dnscached killed by pid and started
again; bwctl show alerts in text and JSON; the mail's shape.  Latency p95
needs the monitor's sampler: skipped until it measures latency.
"""

import email
import os
import re
import smtplib
import time

import bwtest
import peers

D = "d.test"
ADMIN = "ops@admin.test"
SINK_ADDR = "127.0.35.1"
DOWN_ADDR = "127.0.35.2"
REPEAT = 6
t = bwtest.TAP()


def config_text(bw, sink_port, down_port, disk_free="0"):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
deliver_timeout_connect 2s
alert_check_interval 1s
alert_repeat_interval %(repeat)ds
alert_mail_to %(admin)s
alert_mail_from alerts@mx.test.example
alert_domain_queued 2
alert_work_queue 4
alert_oldest_age 3s
alert_disk_free %(disk)s
route admin.test -> [%(sink)s]:%(sport)d
route %(d)s -> [%(sink)s]:%(sport)d
route down.test -> [%(down)s]:%(dport)d
bounce_profile fast {
    retry_initial 1s
    retry_max 2s
    max_age 1h
    domains down.test
}
""" % {"dns": bwtest.free_port(), "repeat": REPEAT, "admin": ADMIN,
       "disk": disk_free, "sink": SINK_ADDR, "sport": sink_port, "d": D,
       "down": DOWN_ADDR, "dport": down_port}
    return bwtest.default_config(bw, extra=extra)


def send(bw, rcpt, subject="alert test"):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
        s.sendmail("sender@origin.example", [rcpt],
                   "Subject: %s\r\n\r\nhello\r\n" % subject)


def alert_mails(sink):
    """(mtime, headers of X-Breakwater-Alert, message) of every alert
    mail at the sink, oldest first."""
    out = []
    for f in sink.files():
        try:
            with open(f, errors="replace") as fh:
                text = fh.read()
            mtime = os.stat(f).st_mtime
        except FileNotFoundError:
            continue
        if "X-Rcpt-Args: <%s>" % ADMIN not in text:
            continue
        notes = re.findall(r"^X-Breakwater-Alert: (.*?)\r?$", text, re.M)
        if not notes:
            continue        # smtp-sink is still writing it
        out.append((mtime, notes, text))
    return sorted(out, key=lambda x: x[0])


def wait_notice(sink, notice, timeout=20):
    """The first alert mail that carries notice ("raised domain_down
    default/down.test")."""
    def find():
        for m in alert_mails(sink):
            if notice in m[1]:
                return m
        return None
    return bwtest.wait_for(find, timeout, what="alert mail: %s (have %r)" % (
        notice, [m[1] for m in alert_mails(sink)]))


def alerts(bw):
    return bw.bwctl("show", "alerts", json_out=True)


def find_alert(bw, kind, subject=""):
    for a in alerts(bw)["alerts"]:
        if a["kind"] == kind and a["subject"] == subject:
            return a
    return None


def main():
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("alerts", "smtp-sink not installed")
        t.done()
    down_port = bwtest.free_port()
    with bwtest.Breakwater("alerts") as bw:
        sink = peers.Sink(bw.base, SINK_ADDR, bwtest.free_port())
        sinks = [sink]
        try:
            bw.write_config(config_text(bw, sink.port, down_port))
            bw.start()
            run_cases(bw, sink, sinks, down_port)
        finally:
            for s in sinks:
                s.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sink, sinks, down_port):
    subj = "default/" + D

    def queue_alerts():
        bw.bwctl("suspend", D)
        t0 = time.time()
        for i in range(5):
            send(bw, "r%d@%s" % (i, D), "held %d" % i)
        for n in ("raised domain_queued " + subj, "raised work_queue",
                  "raised oldest_age"):
            wait_notice(sink, n)
        a = find_alert(bw, "domain_queued", subj)
        assert a and a["state"] == "active", a
        assert a["value"] == 5 and a["threshold"] == 2, a
        # the syslog line (stderr under -d), one per raise
        log = bw.log("controld")
        assert re.search(r"alert raised kind=domain_queued subject=%s "
                         r"value=5 threshold=2" % re.escape(subj), log), \
            bw.log_tail("controld")
        # it lasts: told again, no more often than alert_repeat_interval
        wait_notice(sink, "repeated domain_queued " + subj,
                    timeout=REPEAT + 10)
        time.sleep(REPEAT + 2)
        elapsed = time.time() - t0
        told = [m[0] for m in alert_mails(sink)
                if any(n.endswith("domain_queued " + subj) for n in m[1])]
        assert 2 <= len(told) <= 1 + elapsed / REPEAT, (told, elapsed)
        gaps = [b - a for a, b in zip(told, told[1:])]
        assert all(g >= REPEAT - 1.5 for g in gaps), gaps
        a = find_alert(bw, "domain_queued", subj)
        assert a["notices"] == len(told), (a, told)
        # the text listing
        r = bw.bwctl("show", "alerts")
        assert re.search(r"^KIND\s+SUBJECT\s+STATE\s+SINCE\s+NOTICES\s+WHAT",
                         r.stdout, re.M), r.stdout
        assert re.search(r"^domain_queued\s+%s\s+active\s" % re.escape(subj),
                         r.stdout, re.M), r.stdout
        assert "mail from alerts@mx.test.example to %s" % ADMIN in \
            r.stdout, r.stdout
        # delivered: every one of them ends, told once
        bw.bwctl("resume", D)
        for n in ("cleared domain_queued " + subj, "cleared work_queue",
                  "cleared oldest_age"):
            wait_notice(sink, n)
        a = find_alert(bw, "domain_queued", subj)
        assert a["state"] == "cleared" and a["cleared"] is not None, a
        j = alerts(bw)
        assert j["mail_to"] == [ADMIN], j
        assert j["mail_from"] == "alerts@mx.test.example", j
        assert j["mails"] >= 3, j
    t.run("recipients for one destination, in all, the oldest message: "
          "raised, repeated no more often than the interval, cleared",
          queue_alerts)

    def mail_shape():
        _, notes, text = wait_notice(sink, "raised domain_queued " + subj)
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        msg = email.message_from_string(text)
        assert msg["From"] == "Breakwater alerts <alerts@mx.test.example>", \
            msg["From"]
        assert msg["Auto-Submitted"] == "auto-generated", msg
        assert msg["To"] == ADMIN, msg["To"]
        assert "[mx.test.example]" in msg["Subject"], msg["Subject"]
        # the null sender: never bounced itself
        assert re.search(r"^X-Mail-Args: <>", text, re.M), text[:400]
        assert "RAISED   domain_queued %s: 5 recipients waiting, " \
               "threshold 2" % subj in body, body
        q = bw.log("queued")
        assert re.search(r"[0-9A-F]{16} alert mail to=<%s> gateway=default"
                         % re.escape(ADMIN), q), bw.log_tail("queued")
    t.run("the alert mail: From, To, Subject, Auto-Submitted, one line "
          "per event; queued logs it", mail_shape)

    def disk_free():
        # a threshold above any disk, then off again: raised, cleared
        bw.write_config(config_text(bw, sink.port, down_port, "1048576g"))
        bw.bwctl("config", "reload")
        wait_notice(sink, "raised disk_free")
        a = find_alert(bw, "disk_free")
        assert a["state"] == "active" and a["value"] > 0, a
        assert a["detail"] == bw.spooldir, a
        bw.write_config(config_text(bw, sink.port, down_port))
        bw.bwctl("config", "reload")
        wait_notice(sink, "cleared disk_free")
    t.run("free space of the spool below the threshold: raised, cleared",
          disk_free)

    def domain_down():
        dsubj = "default/down.test"
        send(bw, "x@down.test", "down")
        m = wait_notice(sink, "raised domain_down " + dsubj)
        a = find_alert(bw, "domain_down", dsubj)
        assert a["state"] == "active", a
        assert re.search(r"ALERT: domain_down %s" % re.escape(dsubj),
                         m[2]), m[2][:600]
        # something listens now: the probe gets through, the queue is up
        s2 = peers.Sink(bw.base, DOWN_ADDR, down_port)
        sinks.append(s2)
        bw.bwctl("retry", "down.test")
        bwtest.wait_for(lambda: s2.count() >= 1, 20, what="down.test mail")
        wait_notice(sink, "cleared domain_down " + dsubj)
    t.run("a destination down (QUEUE_EVENT): raised; up again: cleared",
          domain_down)

    def restarts():
        st = bw.bwctl("status", json_out=True)
        pids = {p["name"]: p["pid"] for p in st["processes"]}
        worker = pids["deliverd[0]"]
        os.kill(worker, 9)
        wait_notice(sink, "raised daemon_restart deliverd[0]")
        a = find_alert(bw, "daemon_restart", "deliverd[0]")
        assert a["detail"].endswith("was %d" % worker), a
        bw.kill("dnscached")
        bw.start_one("dnscached")
        bw.wait_ready(["dnscached"])
        wait_notice(sink, "raised daemon_restart dnscached")
        # quiet for the interval: over
        wait_notice(sink, "cleared daemon_restart deliverd[0]",
                    timeout=REPEAT + 15)
        wait_notice(sink, "cleared daemon_restart dnscached",
                    timeout=REPEAT + 15)
    t.run("a deliverd worker and dnscached killed by pid: raised when each "
          "links again, cleared after a quiet interval", restarts)

    t.skip("latency_p95", "delivery latency is measured by the monitor's "
           "sampler, not here yet")

    def all_told_once():
        # every kind raised was cleared, and each end told once
        mails = alert_mails(sink)
        notes = [n for m in mails for n in m[1]]
        for n in notes:
            if n.startswith("cleared "):
                assert notes.count(n) == 1 or \
                    n.startswith("cleared daemon_restart"), (n, notes)
        j = alerts(bw)
        assert j["active"] == 0, j
        assert j["mail_errors"] == 0 and j["mails_dropped"] == 0, j
    t.run("nothing active at the end; no mail refused or dropped",
          all_told_once)


if __name__ == "__main__":
    main()
