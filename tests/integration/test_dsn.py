#!/usr/bin/python3
"""DSN (RFC 3461, reports RFC 3464) through every real daemon.

Destinations are SMTP routes to Postfix's smtp-sink on free loopback
ports, so no DNS is involved: dsn.test offers DSN (smtp-sink's default),
nodsn.test does not (smtp-sink -N), reject.test answers 5xx to every RCPT
(-f RCPT), origin.test is the senders' domain where our own reports land,
down.test, later.test and old.test have nothing listening until a case
starts one.

Cases: EHLO offers DSN; RET/ENVID and NOTIFY/ORCPT arrive at a next hop
that offers DSN, and no success DSN comes from us then; a next hop without
DSN gets none of them, and NOTIFY=SUCCESS gets a "relayed" DSN from us with
Original-Envelope-Id and Original-Recipient; NOTIFY=NEVER (and NOTIFY
without FAILURE) on a hard failure gets no bounce while a recipient without
NOTIFY does; RET=HDRS bounces carry no body, RET=FULL ones the message;
ENVID and ORCPT in the failure report; a delay warning after the profile's
delay_warning (3 s here), exactly once, none for NOTIFY=NEVER or
NOTIFY=FAILURE; bad parameters get 501 and the session goes on; the
parameters and the pending delay warning survive a restart of queued (stop
while the destination is down, restart, the warning comes once, then the
message is delivered with its parameters); bwctl show message shows them;
bwctl queue verify finds the new records clean; a message whose records
are rewritten in the layouts of versions 2 (before the DSN fields) and 5
(the structs before records were packed) with db5.3_dump/db5.3_load:
they load, verify clean, keep their DSN parameters and are delivered.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import time

import bwtest
import peers

t = bwtest.TAP()
DB_DUMP = shutil.which("db5.3_dump") or "/usr/bin/db5.3_dump"
DB_LOAD = shutil.which("db5.3_load") or "/usr/bin/db5.3_load"
# The stored layouts (queued.h, queued_record.c).  Version 6 packs an
# envelope or recipient: a header of numbers, then each string with its
# NUL.  Versions 1-5 stored the structs: version 2 before the DSN fields
# (QENV_REC_V2_SIZE, QRCPT_REC_V2_SIZE), version 5 the whole envelope
# struct and a recipient up to the end of its ORCPT text.
ENV_V2_SIZE = 928
RCPT_V2_SIZE = 1080
ENV_V5_SIZE = 1056
ENV_PACKED = struct.Struct("=IIqQIIIIqII")      # then 7 strings
ENV_STRS = (("sender", 256), ("helo", 256), ("client_addr", 64),
            ("client_name", 256), ("listener", 32), ("gateway", 32),
            ("envid", 101))
ENV_NUMS = ("version", "flags", "created", "size", "nrcpt", "nchunks",
            "dsn_ret", "dsn_flags", "delay_due", "scan", "pad")
RCPT_PACKED = struct.Struct("=IIIIq")           # then 5 strings
RCPT_STRS = (("rcpt", 256), ("domain", 256), ("gateway", 32),
             ("last_reply", 512), ("orcpt", 501))
RCPT_NUMS = ("version", "state", "attempts", "notify", "next_try")

def config_text(bw, ports):
    extra = """deliverd_workers 1
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 5s
route dsn.test -> [127.0.0.1]:%(dsn)d
route nodsn.test -> [127.0.0.1]:%(nodsn)d
route reject.test -> [127.0.0.1]:%(reject)d
route origin.test -> [127.0.0.1]:%(origin)d
route down.test -> [127.0.0.1]:%(down)d
route later.test -> [127.0.0.1]:%(later)d
route old.test -> [127.0.0.1]:%(old)d

bounce_profile default {
    retry_initial 1s
    retry_max 2s
    max_age 1h
    delay_warning 0
}
bounce_profile down {
    retry_initial 1s
    retry_max 1s
    max_age 1h
    delay_warning 3s
    domains down.test
}
bounce_profile later {
    retry_initial 1h
    retry_max 1h
    max_age 1d
    delay_warning 8s
    domains later.test
}
bounce_profile old {
    retry_initial 1h
    retry_max 1h
    max_age 1d
    delay_warning 0
    domains old.test
}
""" % ports
    return bwtest.default_config(bw, extra=extra)


def send(bw, sender, rcpts, mail_params="", marker="", subject="dsn test"):
    """One message over a raw session: rcpts is a list of (address,
    RCPT parameters).  Returns the queue id."""
    c = bw.raw()
    try:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, text = c.cmd("MAIL FROM:<%s>%s" % (sender, mail_params))
        assert code == 250, (code, text)
        for addr, params in rcpts:
            code, text = c.cmd("RCPT TO:<%s>%s" % (addr, params))
            assert code == 250, (addr, params, code, text)
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n"
                           "body line %s\r\n." % (sender, rcpts[0][0],
                                                  subject, marker),
                           timeout=20)
        assert code == 250, (code, text)
        c.cmd("QUIT")
        return re.search(r"queued as (\S+)", text).group(1)
    finally:
        c.close()


def queued_back(bw):
    """After a restart of queued: controld and smtpd linked to it again."""
    def linked():
        if bw.bwctl("show", "queue", check=False).returncode != 0:
            return False
        c = bw.raw()
        try:
            c.reply()
            c.cmd("EHLO client.test")
            return c.cmd("MAIL FROM:<probe@origin.test>")[0] == 250
        finally:
            c.close()
    bwtest.wait_for(linked, 20, what="queued linked to controld and smtpd")


def db_dump(bw, name):
    """[(key bytes, value bytes)] of a database of the spool."""
    out = subprocess.run([DB_DUMP, "-h", bw.spooldir, name], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines = out.split("HEADER=END\n", 1)[1].split("DATA=END")[0].split()
    return [(bytes.fromhex(lines[i]), bytes.fromhex(lines[i + 1]))
            for i in range(0, len(lines), 2)]


def db_put(bw, name, pairs):
    """Write key/value pairs into a database of the spool (overwriting)."""
    path = os.path.join(bw.base, "load-%s.txt" % name)
    with open(path, "w") as f:
        f.write("VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n")
        for k, v in pairs:
            f.write(" %s\n %s\n" % (k.hex(), v.hex()))
        f.write("DATA=END\n")
    subprocess.run([DB_LOAD, "-h", bw.spooldir, "-f", path, name],
                   check=True, capture_output=True, timeout=60)


def unpack_record(value, head, nums, strs):
    """A packed (version 6) record as a dict."""
    f = dict(zip(nums, head.unpack_from(value)))
    assert f["version"] == 6, f
    parts = value[head.size:].split(b"\0")
    assert len(parts) == len(strs) + 1 and parts[-1] == b"", parts
    for (name, _), text in zip(strs, parts):
        f[name] = text
    return f


def field(text, size):
    assert len(text) < size, (text, size)
    return text.ljust(size, b"\0")


def legacy_envelope(value, version):
    """A packed envelope in the struct layout of version 2 or 5."""
    f = unpack_record(value, ENV_PACKED, ENV_NUMS, ENV_STRS)
    out = struct.pack("=IIqQII", version, f["flags"], f["created"],
                      f["size"], f["nrcpt"], f["nchunks"])
    out += b"".join(field(f[n], size) for n, size in ENV_STRS[:6])
    if version == 2:
        assert len(out) == ENV_V2_SIZE
        return out
    out += struct.pack("=IIq", f["dsn_ret"], f["dsn_flags"], f["delay_due"])
    out += field(f["envid"], 101) + b"\0" * 3     # to 8-byte alignment
    out += struct.pack("=II", f["scan"], 0)
    assert len(out) == ENV_V5_SIZE
    return out


def legacy_recipient(value, version):
    """A packed recipient in the struct layout of version 2 or 5."""
    f = unpack_record(value, RCPT_PACKED, RCPT_NUMS, RCPT_STRS)
    out = struct.pack("=IIIIq", version, f["state"], f["attempts"], 0,
                      f["next_try"])
    out += b"".join(field(f[n], size) for n, size in RCPT_STRS[:4])
    if version == 2:
        assert len(out) == RCPT_V2_SIZE
        return out
    return out + struct.pack("=I", f["notify"]) + f["orcpt"] + b"\0"

def reports_to(sink, sender):
    """Our reports (dumped by the origin sink) addressed to sender."""
    return [m for m in sink.messages()
            if re.search(r"^X-Rcpt-Args: <%s>" % re.escape(sender), m,
                         re.M)]


def dumped_for(sink, rcpt):
    return [m for m in sink.messages()
            if re.search(r"^X-Rcpt-Args: <%s>" % re.escape(rcpt), m, re.M)]


def header(msg, name):
    m = re.search(r"^%s: (.*)$" % re.escape(name), msg, re.M)
    return m.group(1).strip() if m else None


def main():
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("DSN", "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater("dsn") as bw:
        ports = {k: bwtest.free_port() for k in
                 ("dsn", "nodsn", "reject", "origin", "down", "later",
                  "old")}
        sinks = {}
        try:
            sinks["dsn"] = peers.Sink(bw.base, "127.0.0.1", ports["dsn"])
            sinks["nodsn"] = peers.Sink(bw.base, "127.0.0.1",
                                        ports["nodsn"], extra=["-N"])
            sinks["reject"] = peers.Sink(bw.base, "127.0.0.1",
                                         ports["reject"],
                                         extra=["-f", "RCPT"])
            sinks["origin"] = peers.Sink(bw.base, "127.0.0.1",
                                         ports["origin"])
            bw.write_config(config_text(bw, ports))
            bw.start()
            run_cases(bw, sinks, ports)
        finally:
            for s in sinks.values():
                s.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sinks, ports):
    origin = sinks["origin"]

    def ehlo():
        c = bw.raw()
        try:
            assert c.reply()[0] == 220
            code, text = c.cmd("EHLO client.test")
            assert code == 250 and "\nDSN" in text, text
        finally:
            c.close()
    t.run("EHLO offers DSN", ehlo)

    def relayed_with_dsn():
        sink = sinks["dsn"]
        sender = "a1@origin.test"
        send(bw, sender, [("x@dsn.test", " NOTIFY=SUCCESS,FAILURE "
                           "ORCPT=rfc822;orig+2Bx+40origin.test"),
                          ("y@dsn.test", "")],
             mail_params=" RET=HDRS ENVID=QQ+2B314159")
        bwtest.wait_for(lambda: len(dumped_for(sink, "x@dsn.test")) == 1,
                        15, what="message at the DSN sink")
        m = dumped_for(sink, "x@dsn.test")[0]
        margs = header(m, "X-Mail-Args")
        assert margs == "<%s> RET=HDRS ENVID=QQ+2B314159" % sender, margs
        rargs = re.findall(r"^X-Rcpt-Args: (.*)$", m, re.M)
        # the ORCPT as received, decoded and coded again: "+" must be
        # coded, "@" need not be
        assert "<x@dsn.test> NOTIFY=SUCCESS,FAILURE "\
            "ORCPT=rfc822;orig+2Bx@origin.test" in rargs, rargs
        assert "<y@dsn.test>" in rargs, rargs
        # the next hop took the request over: nothing from us
        time.sleep(2)
        assert reports_to(origin, sender) == [], "a success DSN from us"
    t.run("RET, ENVID, NOTIFY, ORCPT relayed to a next hop that offers "
          "DSN; no success DSN from us", relayed_with_dsn)

    def relayed_without_dsn():
        sink = sinks["nodsn"]
        sender = "a2@origin.test"
        send(bw, sender, [("s@nodsn.test", " NOTIFY=SUCCESS "
                           "ORCPT=rfc822;first+40origin.test"),
                          ("f@nodsn.test", " NOTIFY=FAILURE"),
                          ("n@nodsn.test", "")],
             mail_params=" RET=FULL ENVID=env-2")
        bwtest.wait_for(lambda: len(dumped_for(sink, "s@nodsn.test")) == 1,
                        15, what="message at the sink without DSN")
        m = dumped_for(sink, "s@nodsn.test")[0]
        assert header(m, "X-Mail-Args") == "<%s>" % sender, m[:400]
        for a in re.findall(r"^X-Rcpt-Args: (.*)$", m, re.M):
            assert "NOTIFY" not in a and "ORCPT" not in a, a
        bwtest.wait_for(lambda: reports_to(origin, sender), 15,
                        what="relayed DSN at the origin")
        time.sleep(1)
        reps = reports_to(origin, sender)
        assert len(reps) == 1, len(reps)
        r = reps[0]
        assert "report-type=delivery-status" in r, r[:600]
        assert re.search(r"^Original-Envelope-Id: env-2\r?$", r, re.M), r
        assert re.search(r"^Original-Recipient: rfc822;first@origin.test"
                         r"\r?$", r, re.M), r
        assert re.search(r"^Final-Recipient: rfc822; s@nodsn.test", r,
                         re.M), r
        assert r.count("Final-Recipient:") == 1, r   # f@, n@: not asked
        assert re.search(r"^Action: relayed\r?$", r, re.M), r
        assert re.search(r"^Status: 2\.\d+\.\d+\r?$", r, re.M), r
        # a success report returns headers only, whatever RET says
        assert "text/rfc822-headers" in r and "body line" not in r, r
        bw.wait_log("queued", r"bounce of=\S+ to=<%s> .* dsn=relayed" %
                    re.escape(sender), 5)
    t.run("a next hop without DSN gets no parameters; NOTIFY=SUCCESS gets "
          "a relayed DSN with Original-Envelope-Id and Original-Recipient",
          relayed_without_dsn)

    def never_on_failure():
        sender = "a3@origin.test"
        send(bw, sender, [("never@reject.test", " NOTIFY=NEVER"),
                          ("delayonly@reject.test", " NOTIFY=DELAY")])
        bw.wait_log("queued", r"bounce not sent: NOTIFY without FAILURE "
                    r"nrcpt=2", 15)
        time.sleep(1.5)
        assert reports_to(origin, sender) == [], "a bounce despite NEVER"
        # the same failure without NOTIFY does bounce (the case can fail)
        sender2 = "a3b@origin.test"
        send(bw, sender2, [("plain@reject.test", "")])
        bwtest.wait_for(lambda: reports_to(origin, sender2), 15,
                        what="bounce without NOTIFY")
        assert reports_to(origin, sender) == []
    t.run("NOTIFY=NEVER (and NOTIFY without FAILURE) on a hard failure: "
          "no bounce; without NOTIFY: a bounce", never_on_failure)

    def ret_hdrs_and_full():
        s_h, s_f = "a4h@origin.test", "a4f@origin.test"
        send(bw, s_h, [("h@reject.test", " ORCPT=rfc822;alias+40x.test")],
             mail_params=" RET=HDRS ENVID=ID-HDRS", marker="MARKER-HDRS")
        send(bw, s_f, [("f@reject.test", "")],
             mail_params=" RET=FULL ENVID=ID-FULL", marker="MARKER-FULL")
        bwtest.wait_for(lambda: reports_to(origin, s_h) and
                        reports_to(origin, s_f), 15, what="both bounces")
        rh, rf = reports_to(origin, s_h)[0], reports_to(origin, s_f)[0]
        for r in (rh, rf):
            assert re.search(r"^Action: failed\r?$", r, re.M), r
            assert re.search(r"^Status: 5\.\d+\.\d+\r?$", r, re.M), r
        assert "MARKER-HDRS" not in rh, rh
        assert "text/rfc822-headers" in rh and "message/rfc822" not in rh
        assert re.search(r"^Subject: dsn test\r?$", rh, re.M), rh
        assert "MARKER-FULL" in rf, rf
        assert "Content-Type: message/rfc822" in rf, rf
        assert re.search(r"^Original-Envelope-Id: ID-HDRS\r?$", rh, re.M)
        assert re.search(r"^Original-Recipient: rfc822;alias@x.test\r?$",
                         rh, re.M), rh
        assert re.search(r"^Original-Envelope-Id: ID-FULL\r?$", rf, re.M)
    t.run("RET=HDRS bounce has no body, RET=FULL returns the message; "
          "ENVID and ORCPT in the report", ret_hdrs_and_full)

    def delay_warning():
        s_d, s_n, s_f = ("d@origin.test", "dnever@origin.test",
                         "dfail@origin.test")
        t0 = time.monotonic()
        q_d = send(bw, s_d, [("w@down.test", " ORCPT=rfc822;w0@down.test"),
                             ("v@down.test", " NOTIFY=SUCCESS")],
                   mail_params=" ENVID=delay-1")
        q_n = send(bw, s_n, [("w@down.test", " NOTIFY=NEVER")])
        q_f = send(bw, s_f, [("w@down.test", " NOTIFY=FAILURE")])
        bwtest.wait_for(lambda: reports_to(origin, s_d), 15,
                        what="the delay warning")
        took = time.monotonic() - t0
        assert took >= 2.5, "warning after %.1fs, delay_warning is 3s" % took
        r = reports_to(origin, s_d)[0]
        assert re.search(r"^Subject: Delayed Mail", r, re.M), r[:500]
        assert re.search(r"^Action: delayed\r?$", r, re.M), r
        assert re.search(r"^Status: 4\.\d+\.\d+\r?$", r, re.M), r
        assert re.search(r"^Will-Retry-Until: ", r, re.M), r
        assert re.search(r"^Original-Envelope-Id: delay-1\r?$", r, re.M), r
        assert re.search(r"^Original-Recipient: rfc822;w0@down.test\r?$",
                         r, re.M), r
        # v@ asked for SUCCESS only: not in the warning
        assert r.count("Final-Recipient:") == 1, r
        # exactly once, while the domain stays down and is retried
        time.sleep(5)
        assert len(reports_to(origin, s_d)) == 1, \
            len(reports_to(origin, s_d))
        assert reports_to(origin, s_n) == [], "warning despite NEVER"
        assert reports_to(origin, s_f) == [], "warning despite FAILURE"
        info = bw.bwctl("show", "message", q_d, json_out=True)
        assert info["delay_warning_sent"] is True, info
        for q in (q_n, q_f):
            info = bw.bwctl("show", "message", q, json_out=True)
            assert info["delay_warning_sent"] is False, info
            assert info["delay_warning_due"] == 0, info
        c = bw.counters("queued")
        assert c.get("queued_messages", 0) >= 3, c
    t.run("a delay warning after delay_warning (3s), exactly once; none "
          "with NOTIFY=NEVER or NOTIFY=FAILURE", delay_warning)

    def bad_input():
        c = bw.raw()
        try:
            assert c.reply()[0] == 220
            assert c.cmd("EHLO client.test")[0] == 250
            code, text = c.cmd("MAIL FROM:<bad@origin.test> RET=BOTH")
            assert code == 501 and "RET" in text, (code, text)
            code, text = c.cmd("MAIL FROM:<bad@origin.test> ENVID=a+4")
            assert code == 501 and "ENVID" in text, (code, text)
            code, text = c.cmd("MAIL FROM:<bad@origin.test> ENVID=%s" %
                               ("e" * 101))
            assert code == 501 and "100" in text, (code, text)
            code, text = c.cmd("MAIL FROM:<bad@origin.test> RET=HDRS")
            assert code == 250, (code, text)
            for params, want in (
                    (" ORCPT=rfc822;a+4", "ORCPT"),
                    (" ORCPT=rfc822;a+0D+0Ab", "ORCPT"),
                    (" ORCPT=rfc822;" + "o" * 600, "500"),
                    (" NOTIFY=NEVER,SUCCESS", "NEVER"),
                    (" NOTIFY=SOMETIMES", "NOTIFY"),
                    (" NOTIFY=SUCCESS NOTIFY=FAILURE", "Duplicate")):
                code, text = c.cmd("RCPT TO:<b@dsn.test>%s" % params)
                assert code == 501 and want in text, (params, code, text)
                assert text.startswith("5.5.4"), text
            code, text = c.cmd("RCPT TO:<b@dsn.test> NOTIFY=FAILURE")
            assert code == 250, (code, text)
            assert c.cmd("DATA")[0] == 354
            code, text = c.cmd("Subject: after errors\r\n\r\nok\r\n.")
            assert code == 250 and "queued as" in text, (code, text)
            assert c.cmd("QUIT")[0] == 221
        finally:
            c.close()
        bwtest.wait_for(lambda: dumped_for(sinks["dsn"], "b@dsn.test"), 15,
                        what="the message after the errors")
        m = dumped_for(sinks["dsn"], "b@dsn.test")[0]
        assert "<b@dsn.test> NOTIFY=FAILURE" in m, m[:400]
    t.run("bad DSN parameters get 501 5.5.4 with a clear text; the session "
          "goes on", bad_input)

    def restart():
        sender = "r@origin.test"
        t0 = time.monotonic()
        qid = send(bw, sender, [("r@later.test",
                                 " NOTIFY=SUCCESS,DELAY,FAILURE "
                                 "ORCPT=rfc822;r+2Bo@later.test")],
                   mail_params=" RET=HDRS ENVID=restart+3D1")
        bwtest.wait_for(lambda: (bw.bwctl("show", "message", qid,
                                          json_out=True)["recipients"]
                                 [0]["attempts"] >= 1), 15,
                        what="first attempt at the down destination")
        bw.stop("queued")
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        queued_back(bw)
        info = bw.bwctl("show", "message", qid, json_out=True)
        assert info["dsn_ret"] == "HDRS", info
        assert info["envid"] == "restart=1", info
        assert info["delay_warning_due"] > 0, info
        r0 = info["recipients"][0]
        assert r0["notify"] == "SUCCESS,FAILURE,DELAY", r0
        assert r0["orcpt"] == "rfc822;r+o@later.test", r0
        text = bw.bwctl("show", "message", qid).stdout
        assert "ret=HDRS envid=restart=1" in text, text
        assert "notify=SUCCESS,FAILURE,DELAY orcpt=rfc822;r+o@later.test" \
            in text, text
        # the warning's index survived: it comes, once
        bwtest.wait_for(lambda: reports_to(origin, sender), 20,
                        what="the delay warning after the restart")
        assert time.monotonic() - t0 >= 7, "warning before delay_warning"
        r = reports_to(origin, sender)[0]
        assert re.search(r"^Action: delayed\r?$", r, re.M), r
        assert re.search(r"^Original-Envelope-Id: restart=1\r?$", r, re.M)
        # the destination comes back: delivered with the parameters
        later = peers.Sink(bw.base, "127.0.0.1", ports["later"])
        sinks["later"] = later
        bw.bwctl("retry", "later.test")
        bwtest.wait_for(lambda: dumped_for(later, "r@later.test"), 15,
                        what="delivery after the restart")
        m = dumped_for(later, "r@later.test")[0]
        assert header(m, "X-Mail-Args") == \
            "<%s> RET=HDRS ENVID=restart+3D1" % sender, m[:400]
        assert "<r@later.test> NOTIFY=SUCCESS,FAILURE,DELAY " \
            "ORCPT=rfc822;r+2Bo@later.test" in m, m[:400]
        time.sleep(1.5)
        # one warning; no success DSN (the next hop offers DSN)
        assert len(reports_to(origin, sender)) == 1
    t.run("parameters and the pending delay warning survive a restart of "
          "queued; delivered with them afterwards", restart)

    def show_text():
        qid = send(bw, "st@origin.test", [("s@down.test", "")])
        text = bw.bwctl("show", "message", qid).stdout
        assert "dsn:         ret=- envid=-" in text, text
        assert re.search(r"delay warning: due ", text), text
        js = bw.bwctl("show", "message", qid, json_out=True)
        assert js["dsn_ret"] == "" and js["envid"] == "", json.dumps(js)
        assert js["recipients"][0]["notify"] == "", js
    t.run("bwctl show message without DSN parameters", show_text)

    def verify_clean():
        r = bw.bwctl("--json", "queue", "verify", check=False)
        assert r.returncode == 0, (r.returncode, r.stdout[-800:])
        v = json.loads(r.stdout)
        assert v["clean"] and v["messages"] >= 3, v
    t.run("bwctl queue verify: the DSN records (recipients cut after their "
          "ORCPT) are clean", verify_clean)

    def older_layouts():
        if not os.path.exists(DB_LOAD):
            raise AssertionError("db5.3-util (db5.3_load) not installed")
        qids = {2: send(bw, "o@origin.test", [("o@old.test", "")]),
                5: send(bw, "o5@origin.test",
                        [("o5@old.test", " NOTIFY=SUCCESS,FAILURE "
                          "ORCPT=rfc822;orig5@old.test")],
                        mail_params=" RET=HDRS ENVID=old-five")}
        # one attempt made (the other waits for the domain's retry)
        bwtest.wait_for(lambda: (bw.bwctl("show", "message", qids[2],
                                          json_out=True)["recipients"]
                                 [0]["attempts"] >= 1), 15,
                        what="first attempt at old.test")
        bw.stop("queued")
        envs = dict(db_dump(bw, "messages.db"))
        rcpts = dict(db_dump(bw, "recipients.db"))
        for version, qid in qids.items():
            mine = [k for k in rcpts if k.startswith(qid.encode())]
            assert len(mine) == 1, mine
            packed = envs[qid.encode()]
            assert len(packed) < 200, len(packed)     # packed, not 1056
            db_put(bw, "messages.db",
                   [(qid.encode(), legacy_envelope(packed, version))])
            db_put(bw, "recipients.db",
                   [(mine[0], legacy_recipient(rcpts[mine[0]], version))])
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        queued_back(bw)
        envs = dict(db_dump(bw, "messages.db"))
        assert len(envs[qids[2].encode()]) == ENV_V2_SIZE
        assert len(envs[qids[5].encode()]) == ENV_V5_SIZE
        info = bw.bwctl("show", "message", qids[2], json_out=True)
        assert info["dsn_ret"] == "" and info["envid"] == "", info
        assert info["delay_warning_due"] == 0, info
        assert info["recipients"][0]["notify"] == "", info
        assert info["recipients"][0]["state"] == "queued", info
        info = bw.bwctl("show", "message", qids[5], json_out=True)
        assert info["dsn_ret"] == "HDRS" and info["envid"] == "old-five", \
            info
        assert info["sender"] == "o5@origin.test", info
        r5 = info["recipients"][0]
        assert r5["notify"] == "SUCCESS,FAILURE", r5
        assert r5["orcpt"] == "rfc822;orig5@old.test", r5
        assert r5["state"] in ("queued", "deferred"), r5
        listed = bw.bwctl("list", "messages", json_out=True)["messages"]
        assert set(qids.values()) <= {m["qid"] for m in listed}, listed
        r = bw.bwctl("--json", "queue", "verify", check=False)
        assert r.returncode == 0 and json.loads(r.stdout)["clean"], \
            r.stdout[-800:]
        old = peers.Sink(bw.base, "127.0.0.1", ports["old"])
        sinks["old"] = old
        bw.bwctl("retry", "old.test")
        for rcpt in ("o@old.test", "o5@old.test"):
            bwtest.wait_for(lambda: dumped_for(old, rcpt), 15,
                            what="the older layout's message to %s" % rcpt)
        m = dumped_for(old, "o@old.test")[0]
        assert header(m, "X-Mail-Args") == "<o@origin.test>", m[:300]
        m = dumped_for(old, "o5@old.test")[0]
        assert "ORCPT=rfc822;orig5@old.test" in header(m, "X-Rcpt-Args"), \
            m[:300]
        for qid in qids.values():
            bwtest.wait_for(lambda: bw.bwctl("show", "message", qid,
                                             check=False).returncode != 0,
                            10, what="the older message gone after delivery")
    t.run("messages in the layouts of versions 2 (before the DSN fields) "
          "and 5 (the unpacked structs) load, verify clean, are shown and "
          "delivered", older_layouts)

if __name__ == "__main__":
    main()
