#!/usr/bin/python3
"""bwctl queue verify / repair / quarantine / release / delete, through
every daemon, with damage made on purpose.

Messages go to a suspended domain (so they stay queued).  verify on the
intact spool is clean, also while more mail is being accepted.  Then, with
queued stopped, three things are damaged: a byte of one message's body in
its segment file, the piece record (body.db, the index of where a body
piece is) of a second message, and an index entry (domidx.db) naming a
message that does not exist; the records are edited with Berkeley DB's
own db5.3_dump / db5.3_load.  verify reports exactly those queue ids (exit
status 3, text and --json); repair quarantines the two messages (one log
line each) and removes the orphan entry; verify is clean again; the other
messages are delivered once the domain is resumed and the quarantined ones
are not; a quarantined message can be released (it goes back to its
queue) or deleted.
"""

import json
import os
import re
import shutil
import smtplib
import subprocess
import threading

import bwtest
import peers

D = "verify.test"
DB_DUMP = shutil.which("db5.3_dump") or "/usr/bin/db5.3_dump"
DB_LOAD = shutil.which("db5.3_load") or "/usr/bin/db5.3_load"
t = bwtest.TAP()


def config_text(bw, sink_port):
    extra = """deliverd_workers 1
queue_segment_size 1m
dns_servers 127.0.0.1:%(dns)d
route %(d)s -> [127.0.0.1]:%(port)d
route origin.example -> [127.0.0.1]:%(port)d
""" % {"d": D, "port": sink_port, "dns": bwtest.free_port()}
    return bwtest.default_config(bw, extra=extra)


def send(bw, tag, size=100 * 1024):
    body = ("Subject: %s\r\nFrom: f@origin.example\r\n\r\n" % tag) + \
        "".join("%s line %06d abcdefghijklmnopqrstuvwxyz\r\n" % (tag, i)
                for i in range(size // 40))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=60) as s:
        s.ehlo("client.example")
        s.mail("f@origin.example")
        s.rcpt("r@" + D)
        code, resp = s.data(body.encode())
    assert code == 250, (code, resp)
    return re.search(rb"queued as ([0-9A-F]{16})", resp).group(1).decode()


def verify(bw, *what):
    """(exit status, the --json report) of bwctl queue verify|repair."""
    r = bw.bwctl("--json", "queue", *(what or ("verify",)), check=False)
    assert r.returncode in (0, 3), (r.returncode, r.stdout, r.stderr)
    return r.returncode, json.loads(r.stdout)


def delivered_tags(sink):
    return [m.group(1) for m in (re.search(r"^Subject: (\S+)\r?$", x, re.M)
                                 for x in sink.messages()) if m]


def db_dump(bw, name):
    """[(key bytes, value bytes)] of a database of the spool."""
    out = subprocess.run([DB_DUMP, "-h", bw.spooldir, name], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines = out.split("HEADER=END\n", 1)[1].split("DATA=END")[0].split()
    return [(bytes.fromhex(lines[i]), bytes.fromhex(lines[i + 1]))
            for i in range(0, len(lines), 2)]


def db_put(bw, name, pairs):
    """Write key/value pairs into a database of the spool (overwriting),
    in its environment, as db_load does."""
    path = os.path.join(bw.base, "load-%s.txt" % name)
    with open(path, "w") as f:
        f.write("VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n")
        for k, v in pairs:
            f.write(" %s\n %s\n" % (k.hex(), v.hex()))
        f.write("DATA=END\n")
    subprocess.run([DB_LOAD, "-h", bw.spooldir, "-f", path, name],
                   check=True, capture_output=True, timeout=60)


def segments(bw):
    d = os.path.join(bw.spooldir, "segments")
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if re.fullmatch(r"[0-9a-f]{8}", f))


def restart_queued(bw):
    bw.start_one("queued")
    bw.wait_ready(["controld", "queued", "smtpd", "deliverd"])
    bwtest.wait_for(lambda: bw.bwctl("show", "queue", check=False)
                    .returncode == 0, 10, what="queued linked to controld")


def run_cases(bw, sink):
    if not os.path.exists(DB_LOAD):
        t.skip("verify cases", "db5.3-util not installed")
        return
    bw.bwctl("suspend", D)
    qids = {}
    for i in range(6):
        qids["m%d" % i] = send(bw, "m%d" % i)
    # more mail after them: the six are in an older segment than the two
    # newest, which the start-up check reads (and there removes a message
    # whose body does not match, as never acknowledged)
    for i in range(20):
        send(bw, "f%d" % i)
    assert len(segments(bw)) >= 3, segments(bw)

    def clean():
        rc, v = verify(bw)
        assert rc == 0 and v["clean"], v
        assert v["messages"] == 26 and v["pieces"] == 52, v
        assert v["bytes"] > 26 * 100 * 1000, v
    t.run("verify of an intact spool: clean, every piece read", clean)

    def live():
        # verify runs in steps: submissions are served meanwhile
        got, errs = [], []

        def client():
            try:
                for i in range(10):
                    got.append(send(bw, "live%d" % i, 20 * 1024))
            except Exception as e:      # noqa: BLE001 - reported
                errs.append(e)
        th = threading.Thread(target=client, daemon=True)
        th.start()
        for _ in range(3):
            rc, v = verify(bw)
            assert rc == 0, v
        th.join(120)
        assert not th.is_alive() and not errs and len(got) == 10, errs
        rc, v = verify(bw)
        assert rc == 0 and v["messages"] == 36, v
    t.run("verify while mail is accepted: every message gets its 250, "
          "verify stays clean", live)

    victim_seg, victim_idx = qids["m1"], qids["m3"]
    ghost = "%016X" % (int(victim_idx, 16) + 7)     # no such message

    def damage():
        bw.stop("queued")
        # 1. a byte of m1's body in its segment file
        needle = b"m1 line 000500 "
        for path in segments(bw):
            with open(path, "r+b") as f:
                data = f.read()
                at = data.find(needle)
                if at >= 0:
                    f.seek(at + 3)
                    f.write(b"#")
                    break
        else:
            raise AssertionError("m1's body is in no segment")
        # 2. m3's first piece record: another CRC-32C
        recs = dict(db_dump(bw, "body.db"))
        key = victim_idx.encode() + b"\0\0\0\0"
        val = bytearray(recs[key])
        val[16] ^= 0x55     # struct qseg_ext: seg, len, off, crc
        db_put(bw, "body.db", [(key, bytes(val))])
        # 3. an index entry for a message that does not exist
        idx = [k for k, _ in db_dump(bw, "domidx.db")
               if k.endswith(victim_idx.encode())]
        assert idx, "no index entry for m3"
        db_put(bw, "domidx.db", [(idx[0][:-16] + ghost.encode(),
                                  b"\1\0\0\0")])
        restart_queued(bw)
    t.run("damage made with queued stopped (segment byte, piece record, "
          "index entry); queued starts again", damage)

    def found():
        rc, v = verify(bw)
        assert rc == 3 and not v["clean"], (rc, v)
        assert v["damaged_qids"] == sorted([victim_seg, victim_idx]), v
        assert v["orphan_qids"] == [ghost], v
        assert v["damaged"] == 2 and v["orphans"] == 1, v
        what = {r["qid"]: r["what"] for r in v["rows"]}
        assert "CRC-32C" in what[victim_seg], what
        assert "CRC-32C" in what[victim_idx], what
        r = bw.bwctl("queue", "verify", check=False)
        assert r.returncode == 3, r.returncode
        for q in (victim_seg, victim_idx, ghost):
            assert q in r.stdout, r.stdout
        assert "2 damaged messages, 1 orphan records" in r.stdout, r.stdout
    t.run("verify reports exactly the damaged queue ids (exit 3, text and "
          "--json)", found)

    def repair():
        rc, v = verify(bw, "repair")
        assert rc == 0, (rc, v)
        assert v["quarantined_qids"] == sorted([victim_seg, victim_idx]), v
        log = bw.log("queued")
        for q in (victim_seg, victim_idx):
            assert len(re.findall(r"%s quarantined by bwctl queue repair"
                                  % q, log)) == 1, log[-2000:]
        assert re.search(r"%s removed by bwctl queue repair" % ghost, log)
        lst = bw.bwctl("queue", "quarantine", json_out=True)
        assert sorted(e["qid"] for e in lst["quarantine"]) == \
            sorted([victim_seg, victim_idx]), lst
        rc, v = verify(bw)
        assert rc == 0 and v["clean"] and v["quarantined"] == 2, v
        # out of the queue, still stored
        q = bw.bwctl("show", "queue", json_out=True)
        row = [e for e in q["queues"] if e["domain"] == D][0]
        assert row["messages"] == 34, row
        for qq in (victim_seg, victim_idx):
            bw.bwctl("show", "message", qq)
    t.run("repair quarantines those two (one log line each), removes the "
          "orphan entry; verify is clean again", repair)

    def deliver():
        bw.bwctl("resume", D)
        want = {"m0", "m2", "m4", "m5"} | {"live%d" % i for i in range(10)} \
            | {"f%d" % i for i in range(20)}
        bwtest.wait_for(lambda: want <= set(delivered_tags(sink)), 60,
                        what="the intact messages at the sink")
        # every result processed: nothing of the domain left but the two
        # quarantined messages, which are in no queue
        bwtest.wait_for(lambda: not [e for e in bw.bwctl(
            "show", "queue", json_out=True)["queues"] if e["domain"] == D],
            30, what="the domain's queue empty")
        got = delivered_tags(sink)
        assert "m1" not in got and "m3" not in got, got
        assert len(got) == len(set(got)), got
    t.run("the other messages are delivered, the quarantined ones are not",
          deliver)

    def release_delete():
        bw.bwctl("queue", "delete", victim_seg)
        r = bw.bwctl("show", "message", victim_seg, check=False)
        assert r.returncode == 1, r.stdout
        bw.bwctl("suspend", D)
        bw.bwctl("queue", "release", victim_idx)
        lst = bw.bwctl("queue", "quarantine", json_out=True)
        assert lst["quarantine"] == [], lst
        q = bw.bwctl("show", "queue", json_out=True)
        row = [e for e in q["queues"] if e["domain"] == D][0]
        assert row["messages"] == 1, row
        r = bw.bwctl("queue", "delete", victim_idx, check=False)
        assert r.returncode == 1 and "not in the quarantine" in r.stderr, r
        bw.bwctl("resume", D)
        # its piece record still points at bytes that do not match: the
        # message bounces (5.3.0) instead of being sent damaged
        bw.wait_log("queued", r"%s dispatch: body damaged" % victim_idx, 30)
        assert "m3" not in delivered_tags(sink)
    t.run("delete removes a quarantined message; release puts one back in "
          "its queue (a damaged body then bounces, never sent)",
          release_delete)


def main():
    peers.main_with_sink(t, "queue-verify", config_text, run_cases)


if __name__ == "__main__":
    main()
