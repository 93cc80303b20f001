#!/usr/bin/python3
"""Alerts (issue 13): every kind raised and cleared, the mail received.

All five daemons; one smtp-sink on 127.0.35.1 takes the mail of d.test,
lat.test and the alert mail (alert_mail_to ops@admin.test, admin.test
routed to the sink); down.test is routed to 127.0.35.2, where nothing
listens until the case starts a second sink there; slow.test to a tarpit
on 127.0.35.3 that takes connections and never greets.
alert_check_interval and monitor_sample_interval 1s,
alert_repeat_interval 6s.

Cases: messages waiting for one destination and the oldest message (a
suspended destination) raised, told again no more often than the
interval, cleared after resume; the work queue (messages ready behind one
job that hangs at the tarpit, deliver_max_jobs_per_domain 1) raised and
cleared when the tarpit closes; free space of the spool (threshold raised
and lowered by reload); a destination down and up again (QUEUE_EVENT);
delivery latency p95 of a destination held for seconds; a deliverd worker
and dnscached killed by pid and started again; bwctl show alerts in text
and JSON; the mail's shape.
"""

import email
import os
import re
import smtplib
import socket
import time

import bwtest
import peers

D = "d.test"
ADMIN = "ops@admin.test"
SINK_ADDR = "127.0.35.1"
DOWN_ADDR = "127.0.35.2"
TARPIT_ADDR = "127.0.35.3"
REPEAT = 6
t = bwtest.TAP()


def config_text(bw, sink_port, down_port, tarpit_port, disk_free="0"):
    extra = """deliverd_workers 1
deliver_max_jobs_per_domain 1
dns_servers 127.0.0.1:%(dns)d
deliver_timeout_connect 2s
alert_check_interval 1s
monitor_sample_interval 1s
alert_repeat_interval %(repeat)ds
alert_mail_to %(admin)s
alert_mail_from alerts@mx.test.example
alert_domain_queued 2
alert_work_queue 4
alert_oldest_age 3s
alert_latency_p95 2s
alert_disk_free %(disk)s
route admin.test -> [%(sink)s]:%(sport)d
route %(d)s -> [%(sink)s]:%(sport)d
route lat.test -> [%(sink)s]:%(sport)d
route slow.test -> [%(tarpit)s]:%(tport)d
route down.test -> [%(down)s]:%(dport)d
bounce_profile fast {
    retry_initial 1s
    retry_max 2s
    max_age 1h
    domains down.test
}
""" % {"dns": bwtest.free_port(), "repeat": REPEAT, "admin": ADMIN,
       "disk": disk_free, "sink": SINK_ADDR, "sport": sink_port, "d": D,
       "down": DOWN_ADDR, "dport": down_port, "tarpit": TARPIT_ADDR,
       "tport": tarpit_port}
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
    tarpit = socket.socket()
    tarpit.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tarpit.bind((TARPIT_ADDR, 0))
    tarpit.listen(16)
    with bwtest.Breakwater("alerts") as bw:
        sink = peers.Sink(bw.base, SINK_ADDR, bwtest.free_port())
        sinks = [sink]
        tport = tarpit.getsockname()[1]
        conf = lambda disk="0": config_text(bw, sink.port, down_port,
                                            tport, disk)
        try:
            bw.write_config(conf())
            bw.start()
            run_cases(bw, sink, sinks, conf, tarpit, tport)
        finally:
            for s in sinks:
                s.stop()
            tarpit.close()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sink, sinks, conf, tarpit, tport):
    subj = "default/" + D

    def queue_alerts():
        bw.bwctl("suspend", D)
        t0 = time.time()
        for i in range(5):
            send(bw, "r%d@%s" % (i, D), "held %d" % i)
        for n in ("raised domain_queued " + subj, "raised oldest_age"):
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
        for n in ("cleared domain_queued " + subj, "cleared oldest_age"):
            wait_notice(sink, n)
        a = find_alert(bw, "domain_queued", subj)
        assert a["state"] == "cleared" and a["cleared"] is not None, a
        j = alerts(bw)
        assert j["mail_to"] == [ADMIN], j
        assert j["mail_from"] == "alerts@mx.test.example", j
        assert j["mails"] >= 3, j
    t.run("messages for one destination, the oldest message: raised, "
          "repeated no more often than the interval, cleared", queue_alerts)

    def work_queue():
        # one job hangs at the tarpit (no greeting), the rest wait ready
        wsubj = "default/slow.test"
        for i in range(7):
            send(bw, "w%d@slow.test" % i, "slow %d" % i)
        m = wait_notice(sink, "raised work_queue")
        a = find_alert(bw, "work_queue")
        assert a["state"] == "active" and a["value"] > 4, a
        assert "RAISED   work_queue: " in m[2], m[2][-600:]
        # the tarpit hangs up: the queue is down, its messages wait for the
        # retry, none is ready
        c, _ = tarpit.accept()
        c.close()
        tarpit.close()
        wait_notice(sink, "cleared work_queue", timeout=30)
        wait_notice(sink, "raised domain_down " + wsubj)
        # a real server there now: the queue comes up and drains
        s3 = peers.Sink(bw.base, TARPIT_ADDR, tport)
        sinks.append(s3)
        bw.bwctl("retry", "slow.test")
        bwtest.wait_for(lambda: s3.count() >= 7, 30, what="slow.test mail")
        wait_notice(sink, "cleared domain_down " + wsubj)
        wait_notice(sink, "cleared domain_queued " + wsubj)
    t.run("the work queue: messages ready behind a hung job raise it; "
          "cleared when they stop being ready", work_queue)

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
        assert "RAISED   domain_queued %s: 5 waiting, " \
               "threshold 2" % subj in body, body
        q = bw.log("queued")
        assert re.search(r"[0-9A-F]{16} alert mail to=<%s> gateway=default"
                         % re.escape(ADMIN), q), bw.log_tail("queued")
    t.run("the alert mail: From, To, Subject, Auto-Submitted, one line "
          "per event; queued logs it", mail_shape)

    def disk_free():
        # a threshold above any disk, then off again: raised, cleared
        bw.write_config(conf("1048576g"))
        bw.bwctl("config", "reload")
        wait_notice(sink, "raised disk_free")
        a = find_alert(bw, "disk_free")
        assert a["state"] == "active" and a["value"] > 0, a
        assert a["detail"] == bw.spooldir, a
        bw.write_config(conf())
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
        s2 = peers.Sink(bw.base, DOWN_ADDR, int(re.search(
            r"route down.test -> \[[0-9.]+\]:(\d+)", conf()).group(1)))
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

    def latency():
        lsubj = "default/lat.test"
        n0 = sink.count()
        bw.bwctl("suspend", "lat.test")
        send(bw, "l1@lat.test", "late 1")
        send(bw, "l2@lat.test", "late 2")
        time.sleep(4)
        bw.bwctl("resume", "lat.test")
        bwtest.wait_for(lambda: sink.count() >= n0 + 2, 20,
                        what="lat.test mail")
        # one more waits: the queue stays among the busiest, seen at once
        bw.bwctl("suspend", "lat.test")
        send(bw, "l3@lat.test", "late 3")
        wait_notice(sink, "raised latency_p95 " + lsubj)
        a = find_alert(bw, "latency_p95", lsubj)
        # arrival to delivery took 4s or more: the bucket up to 5s or 15s
        assert a["value"] in (5000, 15000) and a["threshold"] == 2000, a
        # no delivery for two windows (12 samples): the alert ends
        wait_notice(sink, "cleared latency_p95 " + lsubj, timeout=40)
        bw.bwctl("delete", "--domain", "lat.test")
    t.run("delivery latency p95 of a destination over alert_latency_p95: "
          "raised; cleared when no slow delivery is left in the window",
          latency)

    def all_told_once():
        # every alert ended, and each raise has its one end, told once
        bwtest.wait_for(lambda: alerts(bw)["active"] == 0, 20,
                        what="no alert active: %r" % alerts(bw))

        def balanced():
            notes = [n for m in alert_mails(sink) for n in m[1]]
            keys = {n.split(" ", 1)[1] for n in notes}
            return all(notes.count("raised " + k) ==
                       notes.count("cleared " + k) for k in keys) and notes
        notes = bwtest.wait_for(balanced, 15, what="a clear per raise")
        assert len(notes) >= 20, notes
        j = alerts(bw)
        assert j["mail_errors"] == 0 and j["mails_dropped"] == 0, j
    t.run("nothing active at the end, one end told per raise; no mail "
          "refused or dropped",
          all_told_once)


if __name__ == "__main__":
    main()
