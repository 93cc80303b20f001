#!/usr/bin/python3
"""Write the hand-made seed inputs of the fuzz harnesses into
tests/fuzz/corpus/HARNESS/seed-*: real SMTP sessions and messages, real
configurations, real DNS answers (captured from ldns-testns serving the
test zones of tests/dns/), imsg frames as the daemons send them, and
replies of real servers.  Run it by hand; tools/fuzz.sh -m then minimises
each corpus (inputs that add no coverage go, the others are renamed to
their SHA-1).

    /usr/bin/python3 tests/fuzz/seeds.py [HARNESS ...]
"""

import ctypes
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("BW_SRCDIR", TOP)
os.environ.setdefault("BW_BUILDDIR", os.path.join(TOP, "build"))

import imsgproto  # noqa: E402  (the C structs and type numbers)


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def c_strings(path, table):
    """The first string literal of each row of a C table (rows start
    with '{ "'), decoded: adjacent literals joined, escapes resolved."""
    with open(path, encoding="latin-1") as f:
        text = f.read()
    body = text[text.index(table):]
    body = body[:body.index("\n};")]
    out = []
    for m in re.finditer(r'\{\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', body):
        s = b""
        for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)):
            s += decode_c(lit)
        out.append(s)
    return out


def decode_c(lit):
    out = bytearray()
    i = 0
    simple = {"n": 10, "r": 13, "t": 9, "\\": 92, '"': 34, "'": 39,
              "0": 0}
    while i < len(lit):
        c = lit[i]
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
            continue
        n = lit[i + 1]
        if n == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", lit[i + 2:])
            out.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        elif n in "01234567" and re.match(r"[0-7]{1,3}", lit[i + 1:]):
            m = re.match(r"[0-7]{1,3}", lit[i + 1:])
            out.append(int(m.group(0), 8) & 0xff)
            i += 1 + len(m.group(0))
        else:
            out.append(simple.get(n, ord(n)))
            i += 2
    return bytes(out)


# ---- fuzz_smtp_cmd -------------------------------------------------------

SESSIONS = [
    [b"EHLO client.example.org", b"MAIL FROM:<alice@example.org> SIZE=1234 BODY=8BITMIME",
     b"RCPT TO:<bob@example.net>", b"RCPT TO:<carol@example.net>", b"DATA"],
    [b"HELO [192.0.2.7]", b"MAIL FROM:<>", b"RCPT TO:<Postmaster>", b"DATA",
     b"RSET", b"NOOP", b"QUIT"],
    [b"EHLO mail.example.com", b"STARTTLS"],
    [b"EHLO x", b"MAIL FROM:<j\xc3\xb6rg@b\xc3\xbccher.example> SMTPUTF8",
     b"RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example>",
     b"RSET", b"RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>"],
    [b"ehlo client", b"mail from: <@relay.example,@r2.example:a@b.example>",
     b'rcpt to:<"john doe"@[IPv6:2001:db8::1]>', b"rcpt to:<x@[192.0.2.1]>",
     b"help", b"vrfy postmaster", b"expn staff", b"quit"],
    [b"EHLO c", b"MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159",
     b"RCPT TO:<x@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@example.org",
     b"RCPT TO:<y@example.org> NOTIFY=NEVER", b"BDAT 100", b"BDAT 0 LAST"],
    [b"EHLO c", b"MAIL FROM:<a@b.example> BODY=BINARYMIME", b"AUTH PLAIN AGZvbwBiYXI=",
     b"GET / HTTP/1.1", b"Host: example.org", b""],
    [b"EHLO c", b"MAIL FROM:<user%other.example@example.org>",
     b"RCPT TO:<host!user@example.org>", b'RCPT TO:<"user@evil.example"@example.org>'],
]


def seeds_smtp_cmd():
    for i, s in enumerate(SESSIONS):
        write("fuzz_smtp_cmd", "session%d" % i, b"".join(l + b"\r\n" for l in s))
    src = os.path.join(TOP, "tests", "check_smtpd_parse.c")
    lines = c_strings(src, "cmd_cases[] = {")
    lines += [b"MAIL FROM:" + a for a in c_strings(src, "mail_cases[] = {")]
    lines += [b"RCPT TO:" + a for a in c_strings(src, "rcpt_cases[] = {")]
    lines += [b"MAIL FROM:" + a for a in c_strings(src, "dsn_mail_cases[] = {")]
    lines += [b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:" + a
              for a in c_strings(src, "dsn_rcpt_cases[] = {")]
    lines += [b"RCPT TO:" + a for a in c_strings(src, "routed_cases[] = {")]
    lines += [b"BDAT " + a for a in c_strings(src, "bdat_cases[] = {")]
    for i, l in enumerate(lines):
        write("fuzz_smtp_cmd", "case%03d" % i, l + b"\r\n")
    # pipelined with a bare LF, an overlong line and an unterminated one
    write("fuzz_smtp_cmd", "mixed", b"NOOP\nRSET\r\n" + b"NOOP " + b"x" * 3000 +
          b"\r\nEHLO a\r\nMAIL FROM:<a@b")


# ---- fuzz_smtp_data ------------------------------------------------------

MESSAGE = (
    b"Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n"
    b"\tby mx.example.org with ESMTPS id 4Xyz; Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"Date: Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    b"Message-ID: <1234@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"..a line that started with a dot\r\n"
    b"...\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
    b"--b1--\r\n")


def seeds_smtp_data():
    end = b"\r\n.\r\n"
    cases = {
        "message": MESSAGE + b".\r\nQUIT\r\n",
        "empty": b".\r\n",
        "dots": b"..\r\n.x\r\n..\r\n\r\n.\r\n",
        "smuggle-lf": b"Subject: a\r\n\r\nbody\n.\nMAIL FROM:<x@y>\r\n" + end,
        "smuggle-crlf-lf": b"body\r\n.\nRCPT TO:<x@y>\r\n.\r\n",
        "smuggle-cr": b"body\r.\rDATA\r\n.\r\n",
        "smuggle-lf-crlf": b"body\n.\r\nQUIT\r\n",
        "bare-cr": b"a\rb\r\n.\r\n",
        "long-line": b"x" * 9000 + b"\r\n.\r\n",
        "long-partial": b"y" * 9000,
        "cr-at-cut": b"z" * 1000 + b"\r" + b"\n.\r\n",
        "hops": b"".join(b"Received: from h%d.example by h%d.example; "
                         b"Tue, 1 Oct 2024 10:00:00 +0000\r\n" % (i, i + 1)
                         for i in range(60)) + b"\r\nloop\r\n.\r\n",
        "folded": b"Received: from a\r\n by b\r\n\twith c\r\nX: y\r\n\r\n.\r\n",
        "unterminated": MESSAGE,
    }
    ctls = [b"\x00\x00", b"\x02\x11", b"\x03\xff", b"\x4d\x07", b"\xf1\x80",
            b"\xa6\x33"]
    for i, (name, body) in enumerate(sorted(cases.items())):
        write("fuzz_smtp_data", name, ctls[i % len(ctls)] + body)
        write("fuzz_smtp_data", name + "-b", ctls[(i + 3) % len(ctls)] + body)


# ---- fuzz_smtp_bdat ------------------------------------------------------

def bdat_chunks(body, sizes):
    """Chunk headers for fuzz_smtp_bdat: a size byte (0..127, or 0x80 |
    k for 32 * k), then the octets; the last chunk takes what is left."""
    out = b""
    pos = 0
    for size in sizes:
        h = size if size < 128 else 0x80 | (size // 32)
        size = size if size < 128 else (size // 32) * 32
        out += bytes([h]) + body[pos:pos + size]
        pos += size
    if pos < len(body):
        out += b"\x7f" + body[pos:]
    return out


def seeds_smtp_bdat():
    body = MESSAGE
    cases = {
        "message": bdat_chunks(body, [100, 256, 50]),
        "one": bdat_chunks(body, []),
        "crlf-split": bdat_chunks(b"a\r\nb\r\nc\r\n", [2, 1, 3]),
        "bare-lf": bdat_chunks(b"a\nb\r\n", [1, 1]),
        "bare-cr-split": bdat_chunks(b"a\rb\r\n", [2, 1]),
        "no-final-crlf": bdat_chunks(b"Subject: x\r\n\r\nno end", [5]),
        "hops": bdat_chunks(b"Received: from a\r\n" * 60 + b"\r\nx\r\n", [40, 40]),
        "long-line": bdat_chunks(b"x" * 9000 + b"\r\n", [0x80 | 100, 0x80 | 100]),
        "dots": bdat_chunks(b".\r\n..\r\n.\r\n", [3, 3]),
        "binary": bdat_chunks(bytes(range(256)) * 4, [100, 100, 0x80 | 10]),
        "zero-last": b"\x00\x00",
    }
    ctls = [b"\x00\x00\x00", b"\x02\x11\x00", b"\x03\xff\x01", b"\x4d\x07\x00",
            b"\xf1\x80\x01", b"\xa6\x33\x00"]
    for i, (name, chunks) in enumerate(sorted(cases.items())):
        write("fuzz_smtp_bdat", name, ctls[i % len(ctls)] + chunks)
        write("fuzz_smtp_bdat", name + "-b", ctls[(i + 3) % len(ctls)] + chunks)


# ---- fuzz_imsg -----------------------------------------------------------

QID_LEN, ADDR_MAX, DOMAIN_MAX = 16, 256, 255


ENVID_MAX, ORCPT_MAX = 100, 500


class MsgOpen(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("size_hint", ctypes.c_uint64),
                ("flags", ctypes.c_uint32),
                ("sender", ctypes.c_char * ADDR_MAX),
                ("helo", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("client_addr", ctypes.c_char * 64),
                ("client_name", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("listener", ctypes.c_char * 32),
                ("dsn_ret", ctypes.c_uint32),
                ("envid", ctypes.c_char * (ENVID_MAX + 1))]


class MsgRcpt(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1)),
                ("rcpt", ctypes.c_char * ADDR_MAX),
                ("notify", ctypes.c_uint32),
                ("orcpt", ctypes.c_char * (ORCPT_MAX + 1))]


class Qid(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1))]


class MsgCommit(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1)),
                ("size", ctypes.c_uint64), ("nrcpt", ctypes.c_uint32)]


class OpenReply(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("status", ctypes.c_uint32),
                ("qid", ctypes.c_char * (QID_LEN + 1))]


class DnsQuery(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("qtype", ctypes.c_uint16),
                ("flags", ctypes.c_uint16),
                ("name", ctypes.c_char * (DOMAIN_MAX + 1))]


class DnsAnswer(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("status", ctypes.c_uint32),
                ("ttl", ctypes.c_uint32), ("nrr", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("qtype", ctypes.c_uint16),
                ("reserved", ctypes.c_uint16),
                ("name", ctypes.c_char * (DOMAIN_MAX + 1))]


class DnsRR(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint16), ("preference", ctypes.c_uint16),
                ("ttl", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("data", ctypes.c_char * 1024)]


class CtlCmd(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("argc", ctypes.c_uint32),
                ("argv", (ctypes.c_char * 256) * 8)]


def frame(name, payload, peerid=0, flags=0):
    payload = bytes(payload)
    return imsgproto.HDR.pack(imsgproto.T[name], len(payload), peerid, 4242,
                              flags) + payload


def hello(role):
    return frame("HELLO", imsgproto.Hello(imsgproto.IMSG_VERSION,
                                          imsgproto.ROLE[role], 4242, 0))


def seeds_imsg():
    # the control byte: role index (0 smtpd, 1 queued, 2 deliverd,
    # 3 dnscached, 4 controld, 5 bwctl), descriptors, piece sizes
    qid = b"0123456789ABCDEF"
    smtpd = hello("smtpd") + frame("MSG_OPEN", MsgOpen(
        7, 1000, 1, b"alice@example.org", b"client.example.org",
        b"192.0.2.1", b"client.example.org", b"public", 2, b"QQ314159"))
    smtpd += frame("MSG_RCPT", MsgRcpt(qid, b"bob@example.net", 6,
                                       b"rfc822;bob@example.net"))
    smtpd += frame("MSG_DATA", bytes(Qid(qid)) + b"Subject: x\r\n\r\nhi\r\n")
    smtpd += frame("MSG_COMMIT", MsgCommit(qid, 20, 1))
    smtpd += frame("MSG_ABORT", Qid(b"not-a-qid"))
    write("fuzz_imsg", "smtpd", b"\x00\x00" + smtpd)
    write("fuzz_imsg", "smtpd-pieces", b"\xc0\x05" + smtpd)
    queued = frame("MSG_OPEN_REPLY", OpenReply(7, 0, qid))
    job = imsgproto.DlvJob(1, qid, b"default", b"example.net",
                           b"alice@example.org", 20, 1700000000, 1, 0, 0,
                           1, b"QQ314159")
    queued += frame("DLV_JOB", job)
    queued += frame("DLV_RCPT", imsgproto.DlvRcpt(1, 0, b"bob@example.net", 2,
                                                  b"rfc822;bob@example.net"))
    queued += frame("DLV_BODY", struct.pack("=Q", 1) + b"Subject: x\r\n\r\nhi\r\n")
    queued += frame("DLV_END", struct.pack("=Q", 1))
    write("fuzz_imsg", "queued", b"\x01\x00" + queued)
    dlv = frame("DNS_QUERY", DnsQuery(9, 15, 0, b"Example.ORG."), peerid=3)
    dlv += frame("DLV_RESULT", imsgproto.DlvResult(
        1, 0, 0, b"2.0.0", b"mx.example.net[192.0.2.25]:25",
        b"250 2.0.0 Ok: queued as 4Xyz"))
    dlv += frame("DLV_DONE", imsgproto.DlvDone(1, 0, 1, b""))
    write("fuzz_imsg", "deliverd", b"\x02\x00" + dlv)
    rrs = [DnsRR(15, 10, 300, 0, b"mx1.example.net"),
           DnsRR(15, 20, 300, 0, b"mx2.example.net")]
    ans = bytes(DnsAnswer(9, 0, 300, 2, 0, 15, 0, b"example.net"))
    ans += b"".join(bytes(r) for r in rrs)
    write("fuzz_imsg", "dnscached", b"\x03\x00" + frame("DNS_ANSWER", ans, 3))
    bad = bytes(DnsAnswer(9, 0, 300, 5, 0, 15, 0, b"example.net")) + bytes(rrs[0])
    write("fuzz_imsg", "dnscached-badcount", b"\x03\x00" + frame("DNS_ANSWER", bad, 3))
    argv = (ctypes.c_char * 256 * 8)()
    for i, a in enumerate([b"show", b"queue", b"example.org"]):
        argv[i].value = a
    ctl = frame("CTL_CMD", CtlCmd(imsgproto.IMSG_VERSION, 1, 3, argv))
    write("fuzz_imsg", "bwctl", b"\x05\x00" + ctl)
    write("fuzz_imsg", "controld", b"\x04\x00" + frame("STATUS_REQ", b"") +
          frame("QUEUE_LIST_REQ", b"") + frame("DNS_FLUSH", b""))
    # a descriptor announced and passed, one announced and missing
    write("fuzz_imsg", "fd", b"\x08\x00" + frame("MSG_ABORT", Qid(qid), flags=1))
    write("fuzz_imsg", "fd-missing", b"\x00\x00" + frame("MSG_ABORT", Qid(qid), flags=1))
    write("fuzz_imsg", "too-long", b"\x00\x00" + imsgproto.HDR.pack(3, 70000, 0, 1, 0))
    write("fuzz_imsg", "wrong-role", b"\x00\x00" + frame("DLV_JOB", job))


# ---- fuzz_config ---------------------------------------------------------

def seeds_config():
    texts = {}
    with open(os.path.join(TOP, "etc", "breakwater.conf.example"), "rb") as f:
        texts["example"] = f.read()
    src = os.path.join(TOP, "common", "config_default.c")
    with open(src, encoding="latin-1") as f:
        text = f.read().split("bw_config_default_text[] =", 1)[1]
    texts["builtin"] = b"".join(decode_c(l) for l in
                                re.findall(r'"((?:[^"\\]|\\.)*)"', text))
    texts["bwtest"] = (
        b"hostname mx.test.example\n\nlistener public {\n    address 127.0.0.1\n"
        b"    port 2525\n    type public\n    accept_domains example.org example.net\n}\n"
        b"listener private {\n    address 127.0.0.1\n    port 2526\n    type private\n"
        b"    relay_networks 127.0.0.0/8\n}\n")
    texts["delivery"] = (
        b"gateway out {\n  helo out.example.org\n  source 192.0.2.5 2001:db8::5\n}\n"
        b"gateway bounces {\n  source 192.0.2.6\n}\n"
        b"default_gateway out\nbounce_gateway bounces\n"
        b"gateway_rule listener private out\n"
        b"gateway_rule sender_domain example.com bounces\n"
        b"gateway_rule sender alice@example.com out\n"
        b"route example.net -> mx1.example.net:2525/10 [192.0.2.9] [2001:db8::9]:26\n"
        b"bounce_profile slow {\n  retry_initial 5m\n  retry_max 4h\n  max_age 5d\n"
        b"  max_retries -1\n  domains example.net *.example.com\n}\n"
        b"default_bounce_profile slow\n"
        b"dns_servers 127.0.0.1:5353 [::1]:53\n"
        b"deliver_max_connections_per_domain 20\n")
    for name, t in texts.items():
        for mode in range(4):
            write("fuzz_config", "%s-%d" % (name, mode), bytes([mode]) + t)
    src = os.path.join(TOP, "tests", "check_config.c")
    with open(src, encoding="latin-1") as f:
        text = f.read()
    macros = dict((m.group(1), decode_c("".join(re.findall(r'"((?:[^"\\]|\\.)*)"',
                                                           m.group(2)))))
                  for m in re.finditer(r'#define\s+(\w+_OPEN)\s+((?:"(?:[^"\\]|\\.)*"\s*)+)',
                                       text))
    body = text[text.index("error_cases[] = {"):]
    body = body[:body.index("\n};")]
    n = 0
    for m in re.finditer(r'\{\s*"(?:[^"\\]|\\.)*",\s*((?:(?:\w+_OPEN|"(?:[^"\\]|\\.)*")\s*)+),', body):
        s = b""
        for tok in re.findall(r'\w+_OPEN|"(?:[^"\\]|\\.)*"', m.group(1)):
            s += macros.get(tok, b"") if tok.endswith("_OPEN") else decode_c(tok[1:-1])
        write("fuzz_config", "error%03d" % n, bytes([n & 3]) + s)
        n += 1


# ---- fuzz_dns ------------------------------------------------------------

QTYPES = {"A": 1, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52,
          "CNAME": 5, "NS": 2, "SOA": 6, "ANY": 255}


def dns_query(qid, name, qtype):
    q = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!2H", qtype, 1)


def seeds_dns():
    questions = set()
    for zone in ("zone.data", "deliver.data", "relay.data", "loops.data"):
        p = os.path.join(TOP, "tests", "dns", zone)
        if not os.path.exists(p):
            continue
        with open(p) as f:
            lines = f.read().splitlines()
        for i, l in enumerate(lines):
            if l.strip() == "SECTION QUESTION" and i + 1 < len(lines):
                parts = lines[i + 1].split()
                if len(parts) >= 3 and parts[2] in QTYPES:
                    questions.add((zone, parts[0], parts[2]))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rnd = random.Random(1)
    for zone in sorted({q[0] for q in questions}):
        proc = subprocess.Popen(["ldns-testns", "-p", str(port),
                                 os.path.join(TOP, "tests", "dns", zone)],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(2)
            for z, name, qt in sorted(questions):
                if z != zone:
                    continue
                qid = rnd.randrange(65536)
                u.sendto(dns_query(qid, name, QTYPES[qt]), ("127.0.0.1", port))
                try:
                    ans, _ = u.recvfrom(65535)
                except socket.timeout:
                    continue
                write("fuzz_dns", "%s-%s-%s" % (zone[:-5], name.rstrip("."), qt),
                      ans)
            u.close()
        finally:
            proc.terminate()
            proc.wait(10)


# ---- fuzz_reply ----------------------------------------------------------

REPLIES = {
    "postfix": b"220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n"
               b"250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
               b"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
               b"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
               b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
               b"250 2.0.0 Ok: queued as 4XyZ1k2\r\n221 2.0.0 Bye\r\n",
    "gmail": b"220 mx.google.com ESMTP a1si123 - gsmtp\r\n"
             b"250-mx.google.com at your service, [192.0.2.1]\r\n"
             b"250-SIZE 157286400\r\n250-8BITMIME\r\n250-STARTTLS\r\n"
             b"250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n"
             b"250 SMTPUTF8\r\n"
             b"550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
             b"550-5.1.1 double-checking the recipient's email address for typos or\r\n"
             b"550-5.1.1 unnecessary spaces. Learn more at\r\n"
             b"550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp\r\n",
    "exchange": b"220 EX01.example.com Microsoft ESMTP MAIL Service ready at Tue, 1 Oct 2024\r\n"
                b"250-EX01.example.com Hello [192.0.2.1]\r\n250-SIZE 37748736\r\n"
                b"250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n"
                b"250-X-ANONYMOUSTLS\r\n250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n"
                b"250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 XRDST\r\n"
                b"452 4.3.1 Insufficient system resources\r\n",
    "smtp-sink": b"220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n"
                 b"250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250-XCLIENT NAME HELO\r\n"
                 b"250-XFORWARD NAME ADDR PROTO HELO\r\n250-ENHANCEDSTATUSCODES\r\n"
                 b"250-SMTPUTF8\r\n250 DSN\r\n",
    "greylist": b"220 mx ready\r\n250 mx\r\n"
                b"451-4.7.1 Greylisted, see http://example.org/grey\n451 4.7.1 try later\n",
    "bad": b"220 ok\r\n250-a\r\n251 mismatch\r\n",
    "lf-only": b"220-hello\n220 there\n250 ok\n421 4.3.2 shutting down\n",
    "odd": b"220\r\n250-\r\n250 SIZE\r\n250 SIZE 0x10\r\n999 huh\r\n",
    "dots": b".\r\n..leading\r\n.\n\r\n.\r\n",
}


def seeds_reply():
    for name, r in REPLIES.items():
        write("fuzz_reply", name, r)


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(cmd, fam, body):
    return V2_SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body


def seeds_proxy():
    """PROXY headers as HAProxy sends them (v1 lines, v2 with TLVs)."""
    write("fuzz_proxy", "v1-tcp4",
          b"PROXY TCP4 192.0.2.7 127.0.0.1 56324 25\r\nEHLO a\r\n")
    write("fuzz_proxy", "v1-tcp6", b"PROXY TCP6 2001:db8::1 ::1 1024 25\r\n")
    write("fuzz_proxy", "v1-unknown", b"PROXY UNKNOWN\r\n")
    v4 = bytes([192, 0, 2, 9, 127, 0, 0, 1]) + struct.pack(">HH", 56314, 25)
    write("fuzz_proxy", "v2-tcp4", proxy_v2(1, 0x11, v4) + b"EHLO a\r\n")
    v6 = (bytes.fromhex("20010db8" + "00" * 11 + "05") + bytes(15) + b"\x01" +
          struct.pack(">HH", 1024, 25))
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00"
    write("fuzz_proxy", "v2-tcp6-tlv", proxy_v2(1, 0x21, v6 + tlvs))
    write("fuzz_proxy", "v2-local", proxy_v2(0, 0x00, b""))


ALL = {"fuzz_smtp_cmd": seeds_smtp_cmd, "fuzz_smtp_data": seeds_smtp_data,
       "fuzz_smtp_bdat": seeds_smtp_bdat,
       "fuzz_imsg": seeds_imsg, "fuzz_config": seeds_config,
       "fuzz_dns": seeds_dns, "fuzz_reply": seeds_reply,
       "fuzz_proxy": seeds_proxy}

if __name__ == "__main__":
    for h in sys.argv[1:] or sorted(ALL):
        ALL[h]()
