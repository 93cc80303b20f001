#!/usr/bin/python3
"""dnscached against a real DNS server on loopback (ldns-testns serving
tests/dns/zone.data): MX with several preferences, A, AAAA, TXT, PTR, TLSA,
null MX, CNAME, NXDOMAIN and NODATA cached (the second query does not go
upstream), a truncated UDP answer retried over TCP, SERVFAIL, garbage
answers, a server that never answers (TIMEOUT, then the second upstream
answers), coalescing of identical concurrent queries, bad queries, and
bwctl show dns / dns flush.  Queries go through a small imsg client that
connects to dnscached.sock as smtpd."""

import ctypes
import os
import re
import socket
import time

import bwtest
import peers
from imsgproto import (DOMAIN_MAX, HDR, IMSG_VERSION, ROLE, TYPES, Hello,
                       take_frame)

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "zone.data")
TESTNS = peers.TESTNS

RR_MAX = 32
RDATA_TEXT_MAX = 1024
T_A, T_PTR, T_MX, T_TXT, T_AAAA, T_TLSA = 1, 12, 15, 16, 28, 52
STATUS = ["OK", "NXDOMAIN", "NODATA", "SERVFAIL", "TIMEOUT", "FORMERR",
          "CNAME_LOOP"]
ANSF_CACHED = 0x02

t = bwtest.TAP()


class Query(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("qtype", ctypes.c_uint16),
                ("flags", ctypes.c_uint16),
                ("name", ctypes.c_char * (DOMAIN_MAX + 1))]


class Answer(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("status", ctypes.c_uint32),
                ("ttl", ctypes.c_uint32), ("nrr", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("qtype", ctypes.c_uint16),
                ("reserved", ctypes.c_uint16),
                ("name", ctypes.c_char * (DOMAIN_MAX + 1))]


class RR(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint16), ("preference", ctypes.c_uint16),
                ("ttl", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("data", ctypes.c_char * RDATA_TEXT_MAX)]


class DnsClient:
    """Plays smtpd on dnscached.sock."""

    def __init__(self, bw, timeout=20):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(os.path.join(bw.rundir, "dnscached.sock"))
        self.buf = b""
        self.next_reqid = 1
        self.send(TYPES["BW_IMSG_HELLO"], bytes(Hello(
            IMSG_VERSION, ROLE["smtpd"], os.getpid(), 0)))

    def send(self, mtype, payload, peerid=0):
        self.s.sendall(HDR.pack(mtype, len(payload), peerid, os.getpid(), 0)
                       + payload)

    def query_frame(self, name, qtype, reqid, flags=0):
        q = Query(reqid, qtype, flags, name.encode() if isinstance(name, str)
                  else name)
        return HDR.pack(TYPES["BW_IMSG_DNS_QUERY"], ctypes.sizeof(q),
                        reqid & 0xffffffff, os.getpid(), 0) + bytes(q)

    def ask(self, name, qtype, flags=0):
        """Send one query (flags: BW_DNS_QF_*), return its reqid."""
        reqid = self.next_reqid
        self.next_reqid += 1
        self.s.sendall(self.query_frame(name, qtype, reqid, flags))
        return reqid

    def frame(self):
        while True:
            f, self.buf = take_frame(self.buf)
            if f is not None:
                return f
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("dnscached closed the connection")
            self.buf += chunk

    def answer(self):
        mtype, peerid, data = self.frame()
        while mtype == TYPES["BW_IMSG_HELLO"]:  # the server's own HELLO
            mtype, peerid, data = self.frame()
        assert mtype == TYPES["BW_IMSG_DNS_ANSWER"], mtype
        a = Answer.from_buffer_copy(data[:ctypes.sizeof(Answer)])
        assert peerid == a.reqid & 0xffffffff, (peerid, a.reqid)
        off = ctypes.sizeof(Answer)
        assert len(data) == off + a.nrr * ctypes.sizeof(RR), len(data)
        rrs, rrflags = [], []
        for i in range(a.nrr):
            r = RR.from_buffer_copy(data[off + i * ctypes.sizeof(RR):
                                         off + (i + 1) * ctypes.sizeof(RR)])
            rrs.append((r.type, r.preference, r.ttl, r.data.decode()))
            rrflags.append(r.flags)
        return {"reqid": a.reqid, "status": STATUS[a.status], "ttl": a.ttl,
                "flags": a.flags, "name": a.name.decode(), "rrs": rrs,
                "rrflags": rrflags}

    def lookup(self, name, qtype, flags=0):
        reqid = self.ask(name, qtype, flags)
        a = self.answer()
        assert a["reqid"] == reqid, (a, reqid)
        return a

    def close(self):
        self.s.close()


def counters(bw):
    return bw.bwctl("show", "dns", json_out=True)["counters"]


def restart_dnscached(bw, upstreams):
    args = []
    for u in upstreams:
        args += ["-r", u]
    bw.stop("dnscached")
    sock = os.path.join(bw.rundir, "dnscached.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    bw.start_one("dnscached", extra_args=args)
    bw.wait_ready(["dnscached"])
    # controld must see it before bwctl show dns works
    bwtest.wait_for(lambda: bw.bwctl("show", "dns", check=False)
                    .returncode == 0, 10, what="dnscached at controld")


def check_mx(c):
    a = c.lookup("MX.Test.", T_MX)
    assert a["status"] == "OK", a
    assert a["name"] == "mx.test", a
    got = [(p, d) for (_, p, _, d) in a["rrs"]]
    assert got == [(10, "mx1.mx.test"), (10, "mx1b.mx.test"),
                   (20, "mx2.mx.test"), (30, "mx3.mx.test")], got
    assert 290 <= a["ttl"] <= 300, a


def check_types(c):
    a = c.lookup("host.test", T_A)
    assert a["status"] == "OK" and sorted(r[3] for r in a["rrs"]) == [
        "192.0.2.1", "192.0.2.2"], a
    assert a["ttl"] <= 100, a
    a = c.lookup("host.test", T_AAAA)
    assert a["rrs"][0][3] == "2001:db8::1", a
    a = c.lookup("host.test", T_TXT)
    assert a["rrs"][0][3] == "v=spf1 -all", a
    a = c.lookup("1.2.0.192.in-addr.arpa", T_PTR)
    assert a["rrs"][0][3] == "host.test", a
    a = c.lookup("_25._tcp.mx1.mx.test", T_TLSA)
    assert a["rrs"][0][3] == "3 1 1 " + "0123456789abcdef" * 4, a
    a = c.lookup("nullmx.test", T_MX)
    assert a["status"] == "OK" and a["rrs"] == [(T_MX, 0, 300, ".")], a
    a = c.lookup("alias.test", T_MX)
    assert a["status"] == "OK" and a["rrs"][0][3] == "mx1.mx.test", a


def check_negative(bw, c):
    before = counters(bw)
    a = c.lookup("nx.test", T_MX)
    assert a["status"] == "NXDOMAIN" and a["ttl"] == 120, a
    a = c.lookup("nx.test", T_MX)
    assert a["status"] == "NXDOMAIN" and a["flags"] & ANSF_CACHED, a
    a = c.lookup("host.test", T_MX)
    assert a["status"] == "NODATA" and a["ttl"] == 120, a
    a = c.lookup("host.test", T_MX)
    assert a["status"] == "NODATA" and a["flags"] & ANSF_CACHED, a
    after = counters(bw)
    assert after["upstream_queries"] - before["upstream_queries"] == 2, (
        before, after)
    assert after["hits"] - before["hits"] == 2, (before, after)


def check_tcp(bw, c):
    before = counters(bw)
    a = c.lookup("big.test", T_MX)
    assert a["status"] == "OK" and len(a["rrs"]) == 8, a
    after = counters(bw)
    assert after["tcp_fallbacks"] - before["tcp_fallbacks"] == 1, after


def check_servfail(bw, c):
    before = counters(bw)
    a = c.lookup("broken.test", T_A)
    assert a["status"] == "SERVFAIL", a
    after = counters(bw)
    assert after["upstream_errors"] > before["upstream_errors"], after


def check_garbage(bw, c):
    before = counters(bw)
    a = c.lookup("garbage.test", T_A)
    assert a["status"] == "TIMEOUT", a
    after = counters(bw)
    assert after["malformed"] > before["malformed"], after


def check_coalesce(bw, c, c2):
    before = counters(bw)
    n = 20
    batch = b"".join(c.query_frame("slow.test", T_A, 1000 + i)
                     for i in range(n))
    c.s.sendall(batch)
    c2.s.sendall(c2.query_frame("slow.test", T_A, 5000))
    ids = sorted(c.answer()["reqid"] for _ in range(n))
    assert ids == list(range(1000, 1000 + n)), ids
    a = c2.answer()
    assert a["reqid"] == 5000 and a["rrs"][0][3] == "192.0.2.9", a
    after = counters(bw)
    assert after["upstream_queries"] - before["upstream_queries"] == 1, (
        before, after)
    assert after["coalesced"] - before["coalesced"] == n, (before, after)


def check_bad_queries(c):
    for name, qtype in (("bad..name", T_A), ("", T_A), ("a" * 70 + ".test",
                        T_A), ("host.test", 255), ("sp ace.test", T_MX),
                        (b"\xff\xfe.test", T_A)):
        a = c.lookup(name, qtype)
        assert a["status"] == "FORMERR", (name, a)
    a = c.lookup("mx.test", T_MX)
    assert a["status"] == "OK", a


def check_show_and_flush(bw, c):
    r = bw.bwctl("show", "dns")
    for k in ("queries", "hits", "misses", "coalesced", "upstream_errors",
              "cache_entries", "evictions", "tcp_fallbacks", "malformed"):
        assert re.search(r"^%s\s+\d+$" % k, r.stdout, re.M), r.stdout
    assert counters(bw)["cache_entries"] > 0
    out = bw.bwctl("dns", "flush", json_out=True)
    assert out["flushed"] > 0, out
    assert counters(bw)["cache_entries"] == 0
    before = counters(bw)
    a = c.lookup("mx.test", T_MX)
    assert a["status"] == "OK" and not a["flags"] & ANSF_CACHED, a
    assert counters(bw)["upstream_queries"] == before["upstream_queries"] + 1


def check_timeout(bw, dead):
    restart_dnscached(bw, ["127.0.0.1:%d" % dead])
    c = DnsClient(bw)
    t0 = time.time()
    a = c.lookup("mx.test", T_MX)
    assert a["status"] == "TIMEOUT", a
    assert time.time() - t0 < 15, time.time() - t0
    assert counters(bw)["timeouts"] >= 2
    c.close()


def check_failover(bw, dead, ns):
    restart_dnscached(bw, ["127.0.0.1:%d" % dead, "127.0.0.1:%d" % ns.port])
    c = DnsClient(bw)
    a = c.lookup("mx.test", T_MX)
    assert a["status"] == "OK" and len(a["rrs"]) == 4, a
    cn = counters(bw)
    assert cn["timeouts"] == 1 and cn["upstream_queries"] == 2, cn
    c.close()


def main():
    if not os.path.exists(TESTNS):
        t.skip("dnscached integration", "ldns-testns not installed")
        t.done()
    with bwtest.Breakwater("dns") as bw:
        ns = peers.TestNS(bw.logdir, ZONE, verbose=True)
        # a UDP socket that never answers
        dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        try:
            bw.start_one("controld")
            bw.wait_ready(["controld"])
            restart_dnscached(bw, ["127.0.0.1:%d" % ns.port])
            c = DnsClient(bw)
            c2 = DnsClient(bw)
            t.run("MX with several preferences, sorted", check_mx, c)
            t.run("A, AAAA, TXT, PTR, TLSA, null MX, CNAME", check_types, c)
            t.run("NXDOMAIN and NODATA cached with the SOA TTL",
                  check_negative, bw, c)
            t.run("truncated UDP answer retried over TCP", check_tcp, bw, c)
            t.run("SERVFAIL answered as SERVFAIL", check_servfail, bw, c)
            t.run("garbage answers counted and dropped", check_garbage, bw,
                  c)
            t.run("identical concurrent queries coalesced",
                  check_coalesce, bw, c, c2)
            t.run("bad queries get FORMERR, service goes on",
                  check_bad_queries, c)
            t.run("bwctl show dns and dns flush", check_show_and_flush, bw,
                  c)
            c.close()
            c2.close()
            t.run("non-answering server: TIMEOUT", check_timeout, bw,
                  dead_port)
            t.run("non-answering first server: second one answers",
                  check_failover, bw, dead_port, ns)
            t.ok(bw.running("dnscached"), "dnscached still running",
                 bw.log_tail("dnscached"))
            rc = bw.stop("dnscached")
            t.ok(rc == 0, "dnscached clean exit", "rc=%s" % rc)
            t.ok(not bw.sanitizer_reports, "no sanitizer reports",
                 "\n".join(bw.sanitizer_reports))
        finally:
            dead.close()
            ns.stop()
    t.done()


if __name__ == "__main__":
    main()
