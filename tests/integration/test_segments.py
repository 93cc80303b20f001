#!/usr/bin/python3
"""Message bodies in segment files (spool/segments), through every daemon.

smtpd takes the mail (smtplib on the private listener), queued writes the
body in 64 KiB pieces to segment files, deliverd relays it over a route to
Postfix's smtp-sink, which dumps every message to a file.

Cases: bodies of 1 KiB to 300 KiB arrive byte for byte (every line
checked); once delivered, the pieces are released and the segment space is
free again (allocated blocks, bwctl status); a session dropped in the
middle of DATA leaves no piece; after kill -9 of queued, a message whose
piece was damaged on disk is found by the start-up check and removed with
one log line, the others are delivered intact, and the space of a body
that was being received at the crash is freed; emptied segments are kept
as spares (queue_segment_spares, default 2) and the next segment is a
spare's file, renamed (same inode), its old bytes overwritten.
"""

import os
import random
import re
import smtplib
import socket
import subprocess
import time

import bwtest
import peers

D = "seg.test"
t = bwtest.TAP()


def config_text(bw, sink_port):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
deliver_idle_keep 1s
queue_segment_size 1m
route %(d)s -> [127.0.0.1]:%(port)d
route origin.example -> [127.0.0.1]:%(port)d
""" % {"d": D, "port": sink_port, "dns": bwtest.free_port()}
    return bwtest.default_config(bw, extra=extra)


def body_lines(tag, size):
    """Lines of about size bytes, each naming tag and its number, with
    random text so that a misplaced piece cannot look right.  Some start
    with one or two dots: smtplib stuffs them, smtpd unstuffs, deliverd
    stuffs again, the sink unstuffs."""
    rnd = random.Random(tag)
    out, n, total = [], 0, 0
    while total < size:
        line = "%s%s %06d %s" % (
            ".." if n % 101 == 7 else "." if n % 37 == 5 else "", tag, n,
            "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                    for _ in range(60)))
        out.append(line)
        total += len(line) + 2
        n += 1
    return out


def send(bw, tag, size):
    """One message to rcpt@D: (qid, body lines)."""
    lines = body_lines(tag, size)
    msg = ("From: seg@origin.example\r\nTo: rcpt@%s\r\nSubject: %s\r\n\r\n"
           % (D, tag)) + "\r\n".join(lines) + "\r\n"
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=60) as s:
        s.ehlo("client.example")
        s.mail("seg@origin.example")
        s.rcpt("rcpt@" + D)
        code, resp = s.data(msg.encode())
    assert code == 250, (code, resp)
    m = re.search(rb"queued as ([0-9A-Fa-f]+)", resp)
    assert m, resp
    return m.group(1).decode(), lines


def arrived(sink, tag):
    """The lines of tag's message at the sink, or None."""
    for text in sink.messages():
        if re.search(r"^Subject: %s\r?$" % re.escape(tag), text, re.M):
            return [ln.rstrip("\r") for ln in text.split("\n")
                    if ln.lstrip(".").startswith(tag + " ")]
    return None


def segdir(bw):
    return os.path.join(bw.spooldir, "segments")


def seg_files(bw):
    d = segdir(bw)
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if re.fullmatch(r"[0-9a-f]{8}", f))


def seg_allocated(bw):
    return sum(os.stat(f).st_blocks * 512 for f in seg_files(bw))


def spare_files(bw):
    d = segdir(bw)
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if re.fullmatch(r"spare-[0-9a-f]{8}", f))


def restart_queued(bw):
    bw.start_one("queued")
    bw.wait_ready(["controld", "queued", "smtpd", "deliverd"])


def main():
    peers.main_with_sink(t, "segments", config_text, run_cases)


def run_cases(bw, sink):
    sent = {}

    def round_trip():
        for i, size in enumerate((1024, 65536, 65537, 70000, 300 * 1024)):
            tag = "rt%d" % i
            sent[tag] = send(bw, tag, size)[1]
        # smtp-sink writes its file as the message arrives: wait for all
        bwtest.wait_for(lambda: all(arrived(sink, g) == ls
                                    for g, ls in sent.items()), 30,
                        what="5 complete messages at the sink")
        for tag, lines in sent.items():
            got = arrived(sink, tag)
            assert got == lines, "%s: %d lines sent, %d arrived, first " \
                "difference at %s" % (tag, len(lines), len(got), next(
                    (i for i, (a, b) in enumerate(zip(lines, got))
                     if a != b), min(len(lines), len(got))))
    t.run("bodies of 1 KiB to 300 KiB arrive byte for byte, leading dots "
          "included", round_trip)

    def space_returns():
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 20,
                        what="body_pieces 0 (%s)" % bw.counters("queued"))
        c = bw.counters("queued")
        assert c.get("body_bytes") == 0, c
        assert len(seg_files(bw)) <= 1, seg_files(bw)
        # the current segment's blocks go with the deferred punch, 10 s
        # after the first of them was released
        bwtest.wait_for(lambda: seg_allocated(bw) < 64 * 1024, 25,
                        what="segment blocks freed")
    t.run("delivered: pieces released, segment space free again",
          space_returns)

    def spares_reused():
        # 1 MiB segments, about 200 KiB a message, held in the queue: four
        # full segments and the current one
        bw.bwctl("suspend", D)
        first = {}
        for i in range(20):
            first["sp%d" % i] = send(bw, "sp%d" % i, 200 * 1024)[1]
        held = {os.stat(f).st_ino for f in seg_files(bw)}
        assert len(held) >= 5, seg_files(bw)
        bw.bwctl("resume", D)
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 30,
                        what="first batch delivered (%s)" % bw.counters("queued"))
        # four emptied, not current: two kept, the others removed
        spares = spare_files(bw)
        assert len(spares) == 2, (spares, os.listdir(segdir(bw)))
        inodes = {os.stat(f).st_ino for f in spares}
        assert inodes <= held, (inodes, held)
        bw.bwctl("suspend", D)
        second = {}
        for i in range(8):
            second["sq%d" % i] = send(bw, "sq%d" % i, 200 * 1024)[1]
        # the next segments are the spares' files
        taken = [f for f in seg_files(bw) if os.stat(f).st_ino in inodes]
        assert taken, (seg_files(bw), spare_files(bw))
        bw.bwctl("resume", D)
        want = dict(first, **second)
        bwtest.wait_for(lambda: all(arrived(sink, g) == ls
                                    for g, ls in want.items()), 60,
                        what="28 complete messages at the sink")
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 30,
                        what="second batch delivered")
        assert len(spare_files(bw)) <= 2, spare_files(bw)
    t.run("emptied segments are kept as two spares and reused as the next "
          "segments (same inode); bodies written over old ones arrive "
          "byte for byte", spares_reused)

    def dropped_in_data():
        s = socket.create_connection(("127.0.0.1", bw.private_port), 10)
        f = s.makefile("rb")

        def reply():
            ln = f.readline()
            while ln[3:4] == b"-":
                ln = f.readline()
            return ln
        reply()
        for cmd in (b"EHLO client.example", b"MAIL FROM:<seg@origin.example>",
                    b"RCPT TO:<rcpt@" + D.encode() + b">", b"DATA"):
            s.sendall(cmd + b"\r\n")
            r = reply()
            assert r[:1] in (b"2", b"3"), (cmd, r)
        chunk = ("x" * 78 + "\r\n").encode() * 400
        for _ in range(10):     # about 320 KiB: several pieces written
            s.sendall(chunk)
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces", 0) >= 2,
                        10, what="pieces written during DATA")
        f.close()       # the file object holds the socket open too
        s.close()
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 20,
                        what="pieces released after the drop (%s)" %
                        bw.counters("queued"))
        assert bw.counters("queued").get("body_bytes") == 0
    t.run("a session dropped during DATA leaves no piece", dropped_in_data)

    def crash_damaged():
        bw.bwctl("suspend", D)
        # a fresh segment for this run: the first message sent is at
        # offset 0 of the newest segment
        bw.kill("queued")
        restart_queued(bw)
        victim, _ = send(bw, "victim", 100 * 1024)
        keep = {}
        for i in range(3):
            tag = "keep%d" % i
            keep[tag] = send(bw, tag, 90 * 1024)
        # a body being received when queued dies
        s = socket.create_connection(("127.0.0.1", bw.private_port), 10)
        f = s.makefile("rb")
        f.readline()
        for cmd in (b"HELO client.example", b"MAIL FROM:<seg@origin.example>",
                    b"RCPT TO:<rcpt@" + D.encode() + b">", b"DATA"):
            s.sendall(cmd + b"\r\n")
            f.readline()
        s.sendall(("y" * 78 + "\r\n").encode() * 3000)    # 240 KiB
        # victim 2 pieces, kept 3 x 2, the open message 3 so far
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces", 0) >= 11,
                        10, what="the open message's pieces written")
        newest = seg_files(bw)[-1]
        bw.kill("queued")
        f.close()
        s.close()
        with open(newest, "r+b") as fh:     # the victim's first piece
            fh.seek(100)
            b = fh.read(1)
            fh.seek(100)
            fh.write(bytes([b[0] ^ 0xff]))
        restart_queued(bw)
        log = bw.log("queued")
        assert re.search(r"%s store: body incomplete: message removed" %
                         victim, log), bw.log_tail("queued", 20)
        lst = bw.bwctl("list", "messages", json_out=True)
        qids = {m["qid"] for m in lst["messages"]}
        assert victim not in qids, lst
        for tag, (qid, _lines) in keep.items():
            assert qid in qids, (tag, qid, lst)
        c = bw.counters("queued")
        assert c.get("body_crc_errors", 0) >= 1, c
        # only the kept messages' pieces hold space: the open message's
        # and the victim's were freed by the start-up recovery
        alloc = seg_allocated(bw)
        assert alloc <= c["body_bytes"] + 4096 * c["body_pieces"], \
            (alloc, c)
        bw.bwctl("resume", D)
        bwtest.wait_for(lambda: all(arrived(sink, g) == ls for g, (_q, ls)
                                    in keep.items()), 30,
                        what="kept messages complete at the sink")
        for tag, (_qid, lines) in keep.items():
            assert arrived(sink, tag) == lines, tag
        time.sleep(1)
        assert arrived(sink, "victim") is None, "the damaged body was sent"
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 20,
                        what="body_pieces 0 after the drain")
    t.run("kill -9 of queued: a damaged body is found at start and "
          "removed, the others arrive intact, orphan space is freed",
          crash_damaged)

    def damaged_at_delivery():
        bw.bwctl("suspend", D)
        before = bw.counters("queued")
        qid, lines = send(bw, "rot", 150 * 1024)
        # flip a byte of its second piece in the live segment file
        needle = lines[len(lines) * 3 // 4].encode()
        for path in reversed(seg_files(bw)):
            with open(path, "r+b") as fh:
                data = fh.read()
                at = data.find(needle)
                if at >= 0:
                    fh.seek(at + 20)
                    fh.write(b"#")
                    break
        else:
            raise AssertionError("the body is in no segment file")
        bw.bwctl("resume", D)
        bw.wait_log("queued", r"%s dispatch: body damaged in the queue" %
                    qid, 20)
        dsn = bwtest.wait_for(
            lambda: [m for m in sink.messages()
                     if "multipart/report" in m and qid in m], 30,
            what="a DSN for %s" % qid)
        assert "Status: 5.3.0" in dsn[0], dsn[0][:3000]
        c = bw.counters("queued")
        assert c["body_crc_errors"] > before.get("body_crc_errors", 0), c
        assert not arrived(sink, "rot"), "the damaged body was sent"
        bwtest.wait_for(lambda: bw.counters("queued").get("body_pieces") == 0, 20,
                        what="body_pieces 0 after the bounce")
    t.run("a piece damaged on disk is found at delivery: the message "
          "bounces with 5.3.0, nothing of it is sent", damaged_at_delivery)

    def config_check():
        r = subprocess.run([bw.binary("queued"), "-n", "-f", bw.config_path,
                            "-b", bw.base], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
    t.run("queue_segment_size in the configuration checks", config_check)


if __name__ == "__main__":
    main()
