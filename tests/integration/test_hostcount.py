#!/usr/bin/python3
"""Per-host counters have one owner (issue 11): queued counts, smtpd asks.

Clients connect from distinct loopback sources (127.0.0.x, the client
socket bound to it) to a listener with smtpd_max_connections_per_ip 3,
and a sender group whose policy allows 5:

- the 4th connection from one host gets 421 4.7.0, another host is not
  affected, a host of the group gets its policy's limit (and its group
  and policy in bwctl show senders); connections are given back when
  sessions end;
- bwctl show senders lists the hosts with the right counts (JSON and
  text, -n, a usage error);
- clients that talk before the banner and leave at once leave no count
  behind (their count may be answered after their session ended);
- queued's protocol as an smtpd speaks it (a fake smtpd on queued.sock):
  a message window refused with its reopen time and open again after it,
  recipients counted n at a time, a connection limit, the connections of
  a link released when the link closes, a take without a reply, and
  malformed takes and releases that drop only that link;
- smtpd killed (SIGKILL) and started again: the dead smtpd's connections
  are released, queued's totals stay, the limit holds for the new smtpd;
- queued killed and started again: smtpd takes the connections of its
  live sessions again, so the counts and the limit stay exact;
- queued down: a new connection is admitted (fail open) and counted as
  hostcount_unavailable, then counted once queued is back;
- a full table (host_counters_max_entries 16): granted, counted as
  hostcount_overflow;
- a reload to host_counters_idle_expire 1s: quiet hosts are forgotten,
  a host with a connection stays.
"""

import ctypes
import json
import os
import signal
import socket
import time

import bwtest
import hostile_peer as hp
from imsgproto import NAME_MAX, T

t = bwtest.TAP()

LIMIT = 3
FRIEND_LIMIT = 5
A, B, C, D = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
SCORE_MAX = 16
CONN, MSG, RCPT = 0, 1, 2
F_NOREPLY = 0x01


class Take(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("family", ctypes.c_uint32),
                ("addr", ctypes.c_uint8 * 16), ("kind", ctypes.c_uint32),
                ("n", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("limit", ctypes.c_int64), ("window_ms", ctypes.c_int64),
                ("group", ctypes.c_char * NAME_MAX),
                ("policy", ctypes.c_char * NAME_MAX),
                ("score", ctypes.c_char * SCORE_MAX)]


class Reply(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("granted", ctypes.c_uint32),
                ("kind", ctypes.c_uint32), ("count", ctypes.c_uint64),
                ("reopen_at", ctypes.c_int64)]


class Release(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint32), ("addr", ctypes.c_uint8 * 16),
                ("kind", ctypes.c_uint32)]


def v4(text):
    a = (ctypes.c_uint8 * 16)()
    for i, b in enumerate(socket.inet_aton(text)):
        a[i] = b
    return a


class SrcSMTP(bwtest.RawSMTP):
    """A raw SMTP client whose socket is bound to a source address."""

    def __init__(self, port, src, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(src, 0))
        self.buf = b""


def connect(bw, src):
    """(code, text, client) of a new connection's greeting."""
    c = SrcSMTP(bw.private_port, src)
    code, text = c.reply(timeout=15)
    return code, text, c


def hold(bw, src, n):
    """n greeted connections from src."""
    out = []
    for _ in range(n):
        code, text, c = connect(bw, src)
        assert code == 220, (src, code, text)
        out.append(c)
    return out


def close_all(conns):
    for c in conns:
        try:
            c.cmd("QUIT", timeout=5)
        except Exception:  # noqa: BLE001 - gone already is fine
            pass
        c.close()
    del conns[:]


def senders(bw):
    out = bw.bwctl("show", "senders", "-n", "1000", json_out=True)
    return {r["address"]: r for r in out["senders"]}


def conns_of(bw, addr):
    try:
        r = senders(bw).get(addr)
    except Exception:  # noqa: BLE001 - controld or queued not back yet
        return None
    return r["connections"] if r else 0


def wait_conns(bw, addr, n, timeout=15):
    bwtest.wait_for(lambda: conns_of(bw, addr) == n, timeout,
                    what="%s with %d connections (%r)" % (
                        addr, n, conns_of(bw, addr)))


def wait_smtpd_linked(bw, timeout=30):
    def linked():
        try:
            return bw.counters("smtpd").get("queued_up") == 1
        except Exception:  # noqa: BLE001 - controld not answering yet
            return False
    bwtest.wait_for(linked, timeout, what="smtpd linked to queued")


def queued_peer(bw):
    return hp.Peer(os.path.join(bw.rundir, "queued.sock"))


def take(p, reqid, addr, kind, n=1, limit=0, window=0, flags=0,
         group=b"", policy=b"", score=b"", wait=True):
    p.send(T["HOSTCOUNT_TAKE"], Take(reqid, 4, v4(addr), kind, n, flags,
                                     limit, window, group, policy, score))
    if not wait:
        return None
    mtype, _, payload = p.recv(timeout=10)
    assert mtype == T["HOSTCOUNT_REPLY"], mtype
    r = Reply.from_buffer_copy(payload)
    assert r.reqid == reqid and r.kind == kind, (r.reqid, r.kind)
    return r


# ---- cases ----------------------------------------------------------------

def check_limit(bw):
    before = bw.counters("smtpd").get("limit_closes", 0)
    conns = hold(bw, A, LIMIT)
    try:
        code, text, c = connect(bw, A)
        c.close()
        assert code == 421 and "Too many connections" in text, (code, text)
        assert "4.7.0" in text, text
        other = hold(bw, B, 1)
        s = senders(bw)
        assert s[A]["connections"] == LIMIT, s[A]
        assert s[A]["connections_total"] == LIMIT, s[A]
        assert s[A]["refused"] == 1, s[A]
        assert s[A]["policy"] == "plain", s[A]
        assert s[B]["connections"] == 1, s[B]
        # the limit is the host's policy's, the labels its group's
        assert (s[B]["group"], s[B]["policy"], s[B]["score"]) == \
            ("FRIENDS", "friendly", "none"), s[B]
        other += hold(bw, B, FRIEND_LIMIT - 1)
        code, text, c = connect(bw, B)
        c.close()
        assert code == 421, (code, text)
        close_all(other)
    finally:
        close_all(conns)
    assert bw.counters("smtpd")["limit_closes"] == before + 2
    q = bw.counters("queued")
    assert q["hostcount_refusals"] >= 1 and q["hostcount_hosts"] >= 2, q
    assert "refused: 3 connections from this host (limit 3)" in \
        bw.log("smtpd")


def check_release(bw):
    wait_conns(bw, A, 0)
    wait_conns(bw, B, 0)
    conns = hold(bw, A, LIMIT)      # all three again
    try:
        assert senders(bw)[A]["connections_total"] == 2 * LIMIT
    finally:
        close_all(conns)
    wait_conns(bw, A, 0)


def check_show_text(bw):
    conns = hold(bw, C, 1)
    try:
        r = bw.bwctl("show", "senders")
        assert "ADDRESS" in r.stdout and C in r.stdout and A in r.stdout, \
            r.stdout
        # the host with a connection now comes first
        assert r.stdout.splitlines()[1].split()[0] == C, r.stdout
        r = bw.bwctl("show", "senders", "-n", "1", "--json")
        one = json.loads(r.stdout)
        assert len(one["senders"]) == 1, one
        assert one["senders"][0]["address"] == C, one
        assert one["hosts"] >= 3, one
        for bad in (["-n", "0"], ["-n", "1001"], ["-n"], ["extra"]):
            r = bw.bwctl("show", "senders", *bad, check=False)
            assert r.returncode == 2 and "usage" in r.stderr, (bad, r)
    finally:
        close_all(conns)


def check_gone_before_answer(bw):
    """Clients that talk at once and leave: their sessions end while the
    count may still be on its way (a grant then is released at once);
    either way no connection is left counted."""
    e = "127.0.0.6"
    socks = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", bw.private_port), 10,
                                     source_address=(e, 0))
        c.sendall(b"EHLO early.example\r\n")
        socks.append(c)
    for c in socks:
        c.close()
    wait_conns(bw, e, 0)
    assert senders(bw)[e]["connections_total"] <= 20
    c = bw.counters("smtpd")
    assert c["hostcount_pending"] == 0, c
    print("# %d of 20 counts answered after their session ended" %
          c["hostcount_late_releases"])


def check_fake_smtpd_windows(bw):
    """The API the lead wires for messages and recipients, through queued."""
    p = queued_peer(bw)
    h = "127.0.0.50"
    try:
        r = take(p, 1, h, MSG, limit=2, window=3000, group=b"grp",
                 policy=b"throttled", score=b"-2.5")
        assert (r.granted, r.count, r.reopen_at) == (1, 1, 0)
        r = take(p, 2, h, MSG, limit=2, window=3000)
        assert (r.granted, r.count) == (1, 2)
        now_ms = int(time.time() * 1000)
        r = take(p, 3, h, MSG, limit=2, window=3000)
        assert (r.granted, r.count) == (0, 2), (r.granted, r.count)
        assert now_ms - 1000 < r.reopen_at <= now_ms + 3000 + 1000, \
            (r.reopen_at, now_ms)
        reopen = r.reopen_at
        # recipients: n at a time, in their own window
        r = take(p, 4, h, RCPT, n=5, limit=3, window=60000)
        assert r.granted == 0, r.granted
        r = take(p, 5, h, RCPT, n=3, limit=3, window=60000)
        assert (r.granted, r.count) == (1, 3)
        # a connection limit of 1
        r = take(p, 6, h, CONN, limit=1)
        assert (r.granted, r.count) == (1, 1)
        r = take(p, 7, h, CONN, limit=1)
        assert (r.granted, r.count) == (0, 1)
        # no reply asked: the next frame answers the next take
        take(p, 8, h, RCPT, n=1, window=60000, flags=F_NOREPLY, wait=False)
        r = take(p, 9, h, RCPT, n=1, window=60000)
        assert r.count == 5, r.count
        s = senders(bw)[h]
        assert (s["connections"], s["messages_window"],
                s["recipients_window"], s["group"], s["policy"],
                s["score"]) == (1, 2, 5, "grp", "throttled", "-2.5"), s
        # the window reopens at the time it said
        time.sleep(max(0, reopen / 1000.0 - time.time()) + 0.2)
        r = take(p, 10, h, MSG, limit=2, window=3000)
        assert (r.granted, r.count) == (1, 1), (r.granted, r.count)
        assert senders(bw)[h]["messages"] == 3
    finally:
        p.close()
    # the link closed: its connection is released
    wait_conns(bw, h, 0)


def check_fake_smtpd_hostile(bw):
    drops = bw.counters("queued")["peers_dropped"]
    for payload, what in (
            (bytes(Take(1, 4, v4("127.0.0.60"), 7, 1, 0, 0, 0)),
             "HOSTCOUNT_TAKE"),
            (bytes(Take(1, 4, v4("127.0.0.60"), CONN, 2, 0, 0, 0)),
             "HOSTCOUNT_TAKE"),
            (bytes(Take(1, 4, v4("127.0.0.60"), MSG, 1, 0, 5, 0)),
             "HOSTCOUNT_TAKE"),
            (bytes(Take(1, 4, v4("127.0.0.60"), RCPT, 1, 0, -1, 1000)),
             "HOSTCOUNT_TAKE"),
            (bytes(Take(1, 5, v4("127.0.0.60"), CONN, 1, 0, 0, 0)),
             "HOSTCOUNT_TAKE"),
            (bytes(Release(9, v4("127.0.0.60"), CONN)), "HOSTCOUNT_RELEASE"),
            (bytes(Release(4, v4("127.0.0.60"), MSG)), "HOSTCOUNT_RELEASE")):
        p = queued_peer(bw)
        try:
            p.send(T[what], payload)
            assert p.closed(5), "queued kept a peer that sent a bad " + what
        finally:
            p.close()
    assert bw.running("queued")
    bwtest.wait_for(lambda: bw.counters("queued")["peers_dropped"] ==
                    drops + 7, 5, what="seven peers dropped")
    assert "127.0.0.60" not in senders(bw)
    # a release nobody holds is not an error
    p = queued_peer(bw)
    try:
        p.send(T["HOSTCOUNT_RELEASE"], Release(4, v4("127.0.0.61"), CONN))
        r = take(p, 1, "127.0.0.61", CONN, limit=1)
        assert r.granted == 1
    finally:
        p.close()


def check_smtpd_restart(bw):
    conns = hold(bw, A, 2)
    total = senders(bw)[A]["connections_total"]
    bw.kill("smtpd")
    for c in conns:
        c.close()
    # the dead smtpd's link closed: its connections are released
    wait_conns(bw, A, 0)
    assert senders(bw)[A]["connections_total"] == total, "totals lost"
    assert "connections released" in bw.log("queued")
    bw.start_one("smtpd")
    bw.wait_ready(["smtpd"])
    wait_smtpd_linked(bw)
    conns = hold(bw, A, LIMIT)
    try:
        code, text, c = connect(bw, A)
        c.close()
        assert code == 421, (code, text)
        assert senders(bw)[A]["connections_total"] == total + LIMIT
    finally:
        close_all(conns)
    wait_conns(bw, A, 0)


def check_queued_restart(bw):
    held = hold(bw, A, 2) + hold(bw, B, 1)
    try:
        wait_conns(bw, A, 2)
        retakes = bw.counters("smtpd").get("hostcount_retakes", 0)
        bw.kill("queued")
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        wait_smtpd_linked(bw)
        bwtest.wait_for(lambda: bw.counters("smtpd")["hostcount_retakes"]
                        >= retakes + 3, 15, what="three connections taken "
                        "again")
        wait_conns(bw, A, 2)
        wait_conns(bw, B, 1)
        # the limit counts the sessions that were open across the restart
        held += hold(bw, A, 1)
        code, text, c = connect(bw, A)
        c.close()
        assert code == 421, (code, text)
    finally:
        close_all(held)
    wait_conns(bw, A, 0)
    wait_conns(bw, B, 0)


def check_queued_down(bw):
    unavailable = bw.counters("smtpd").get("hostcount_unavailable", 0)
    bw.kill("queued")
    held = []
    try:
        # smtpd is admitted without its counter owner: fail open
        held += hold(bw, D, 1)
        assert bw.counters("smtpd")["hostcount_unavailable"] == \
            unavailable + 1
        bw.start_one("queued")
        bw.wait_ready(["queued"])
        wait_smtpd_linked(bw)
        # ... and counted once queued is back
        wait_conns(bw, D, 1)
    finally:
        close_all(held)
    wait_conns(bw, D, 0)


def check_overflow(bw):
    """host_counters_max_entries is 16: 20 hosts holding a connection."""
    p = queued_peer(bw)
    try:
        for i in range(20):
            r = take(p, i + 1, "127.0.1.%d" % (i + 1), CONN)
            assert r.granted == 1
        q = bw.counters("queued")
        assert q["hostcount_hosts"] == 16, q
        assert q["hostcount_overflow"] >= 4, q
        assert q["hostcount_evicted"] >= 1, q
        # smtpd's own connections are still admitted (granted, uncounted)
        held = hold(bw, A, 1)
        close_all(held)
    finally:
        p.close()
    bwtest.wait_for(lambda: all(r["connections"] == 0 for r in
                                senders(bw).values()), 10,
                    what="every connection released")
    status = bw.bwctl("status").stdout
    for name in ("hostcount_hosts", "hostcount_takes", "hostcount_refusals",
                 "hostcount_overflow", "hostcount_unavailable"):
        assert name in status, name


def check_idle_expire(bw):
    held = hold(bw, C, 1)
    try:
        assert len(senders(bw)) == 16
        bw.write_config(config(bw, idle="1s"))
        bw.bwctl("config", "reload")
        # the quiet hosts go, the one with a connection stays
        bwtest.wait_for(lambda: list(senders(bw)) == [C], 10,
                        what="quiet hosts forgotten (%r)" % list(senders(bw)))
        assert senders(bw)[C]["connections"] == 1
        assert bw.counters("queued")["hostcount_expired"] >= 15
    finally:
        close_all(held)
    bwtest.wait_for(lambda: not senders(bw), 10,
                    what="host forgotten after its connection ended")


def config(bw, idle="2h"):
    """B is in a sender group whose policy allows it FRIEND_LIMIT."""
    return bwtest.default_config(bw, extra="""
smtpd_max_connections_per_ip %d
host_counters_max_entries 16
host_counters_idle_expire %s
policy friendly {
    behaviour accept
    smtpd_max_connections_per_ip %d
}
policy plain {
    behaviour accept
}
sender_group FRIENDS {
    policy friendly
    network %s/32
}
""" % (LIMIT, idle, FRIEND_LIMIT, B), listeners="""
listener private {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    sender_groups FRIENDS
    default_policy plain
}
""" % bw.private_port)


with bwtest.Breakwater("hostcount") as bw:
    bw.write_config(config(bw))
    bw.start()
    wait_smtpd_linked(bw)
    t.run("the 4th connection from a host gets 421, another host is not "
          "affected, a group's host has its policy's limit", check_limit, bw)
    t.run("connections are given back when sessions end", check_release, bw)
    t.run("bwctl show senders: table, -n, --json, usage errors",
          check_show_text, bw)
    t.run("clients gone before their count is answered leave no count",
          check_gone_before_answer, bw)
    t.run("queued's protocol: message window refused with its reopen time "
          "and open after it, recipients n at a time, connection limit, "
          "no-reply take, labels, release when the link closes",
          check_fake_smtpd_windows, bw)
    t.run("malformed takes and releases drop only that link",
          check_fake_smtpd_hostile, bw)
    t.run("smtpd killed and started again: its connections released, "
          "totals kept, the limit holds", check_smtpd_restart, bw)
    t.run("queued killed and started again: live sessions counted again, "
          "the limit holds", check_queued_restart, bw)
    t.run("queued down: admitted (fail open), counted once it is back",
          check_queued_down, bw)
    t.run("a full table: granted and counted as overflow", check_overflow,
          bw)
    t.run("reload to host_counters_idle_expire 1s: quiet hosts forgotten",
          check_idle_expire, bw)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
