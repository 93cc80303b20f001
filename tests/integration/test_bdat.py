#!/usr/bin/python3
"""CHUNKING and BINARYMIME (RFC 3030), in and out, with every daemon.

Clients are raw sockets (smtplib has no BDAT).  smtpd's private listener
relays over routes to scripted next hops (chunksink.py: Postfix's
smtp-sink offers no CHUNKING): chunk.test offers PIPELINING, CHUNKING and
BINARYMIME; probe.test the same and notes whether BDAT came pipelined with
MAIL; nopipe.test CHUNKING and BINARYMIME without PIPELINING; plain.test
none of them (DATA); chunkonly.test CHUNKING without BINARYMIME.  Senders
are at origin.test, routed to chunk.test's host, where DSNs arrive.
message_size_limit is 1m, deliver_bdat_chunk_size 16k.

Inbound cases (each checks the replies, that a NOOP afterwards gets 250,
and that accepted messages reach the next hop byte for byte behind the one
Received: header smtpd adds): several chunks pipelined in one write; LAST
on a non-empty chunk; BDAT 0 LAST; chunk edges inside CRLF, inside a
header line and around a "." line; a binary body (BODY=BINARYMIME, every
octet value, bare CR and LF, NUL, "\\r\\n.\\r\\n"); BODY=BINARYMIME with
DATA (503); BDAT sizes that are not numbers (501), in and out of a
transaction; a chunk over message_size_limit and a running total over it
(552, octets read and discarded, chunks after it 503); BDAT mixed with
DATA (503) and RSET between chunks; BDAT before MAIL and without RCPT
(octets discarded, never read as commands); a bare LF, and a bare CR at a
chunk's edge (554 5.6.11); hopcount_limit Received: fields across two
chunks (554 5.4.6); a last line without CRLF (stored with one);
900 kB in 100 kB chunks; queued stopped while 24 sessions send 1 MB
chunks (smtpd pauses its readers, counter data_pauses, and takes every
message once queued runs); the whole-data deadline over several chunks
(a second, small instance with smtpd_timeout_data_total 10s).

Outbound: BDAT to a next hop with CHUNKING (chunks of 16k, LAST on the
last, the first one pipelined with MAIL and RCPT); one chunk at a time to
one without PIPELINING; DATA (dot-stuffed) to one without CHUNKING; a
BINARYMIME message to a next hop without BINARYMIME, or without CHUNKING,
bounces 5.6.3 to its sender.  TLS: a message received over STARTTLS
carries the protocol and cipher in its Received: line at the next hop, the
same line for DATA and BDAT.
"""

import re
import signal
import ssl
import threading
import time

import bwtest
import chunksink

t = bwtest.TAP()

SIZE_LIMIT = 1024 * 1024
CHUNK_OUT = 16 * 1024
SENDER = "s@origin.test"
RECEIVED_RX = re.compile(rb"\AReceived: from [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)+\Z")


SMTPD_WORKERS = 2


def config_text(bw, sinks, cert, key):
    routes = "".join("route %s -> [127.0.0.1]:%d\n" % (d, s.port)
                     for d, s in sorted(sinks.items()))
    return bwtest.default_config(bw, extra="""deliverd_workers 1
smtpd_workers %(smtpd_workers)d
dns_servers 127.0.0.1:%(dns)d
deliver_idle_keep 1s
deliver_bdat_chunk_size %(chunk)d
message_size_limit %(limit)d
tls_cert %(cert)s
tls_key %(key)s
%(routes)sroute origin.test -> [127.0.0.1]:%(origin)d
""" % {"dns": bwtest.free_port(), "chunk": CHUNK_OUT, "limit": SIZE_LIMIT,
       "smtpd_workers": SMTPD_WORKERS,
       "cert": cert, "key": key, "routes": routes,
       "origin": sinks["chunk.test"].port}) + """
listener starttls {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    tls starttls
}
""" % bw.starttls_port


# -- helpers -------------------------------------------------------------

def session(bw, port=None):
    c = bw.raw(port=port, timeout=30)
    assert c.reply()[0] == 220
    code, text = c.cmd("EHLO client.example")
    assert code == 250, (code, text)
    return c


def expect(c, want, what, timeout=30):
    code, text = c.reply(timeout=timeout)
    assert code == want, "%s: want %d, got %d %s" % (what, want, code, text)
    return text


def in_sync(c):
    """A NOOP after the case gets its own 250, and nothing else is due."""
    expect(c, 250, "NOOP after the case")
    code, text = c.cmd("QUIT")
    assert code == 221, (code, text)
    c.close()


def bdat_bytes(chunks, last=True):
    """BDAT commands with their octets; the last chunk gets LAST."""
    out = b""
    for i, ch in enumerate(chunks):
        mark = " LAST" if last and i == len(chunks) - 1 else ""
        out += b"BDAT %d%s\r\n" % (len(ch), mark.encode()) + ch
    return out


def send_bdat(bw, rcpts, chunks, params="", port=None, c=None):
    """MAIL, RCPT and every chunk in one write; the replies checked; the
    queue id.  Leaves a NOOP pending (in_sync reads its reply)."""
    own = c is None
    if own:
        c = session(bw, port)
    batch = ("MAIL FROM:<%s>%s\r\n" % (SENDER, params)).encode()
    for r in rcpts:
        batch += b"RCPT TO:<%s>\r\n" % r.encode()
    batch += bdat_bytes(chunks)
    c.send(batch + (b"NOOP\r\n" if own else b""))
    expect(c, 250, "MAIL")
    for r in rcpts:
        expect(c, 250, "RCPT %s" % r)
    for i in range(len(chunks) - 1):
        expect(c, 250, "chunk %d" % i)
    text = expect(c, 250, "LAST chunk")
    m = re.search(r"queued as ([0-9A-F]{16})", text)
    assert m, text
    if own:
        in_sync(c)
    return m.group(1)


def arrived(sink, marker, n=1, timeout=30):
    bwtest.wait_for(lambda: len(sink.find(marker)) >= n, timeout,
                    what="%r at the next hop port %d" % (marker, sink.port))
    return sink.find(marker)


def check_exact(m, body):
    """The next hop got body exactly, behind one Received: header."""
    assert m.data.endswith(body), (
        "body differs: %r ... %r" % (m.data[:200], m.data[-200:]))
    head = m.data[:len(m.data) - len(body)]
    assert RECEIVED_RX.match(head), "more than the Received: header: %r" % head


def lines(tag, size):
    out, n = b"", 0
    while len(out) < size:
        out += b"%s line %06d %s\r\n" % (tag, n, b"y" * 60)
        n += 1
    return out


# -- inbound -------------------------------------------------------------

def check_ehlo(bw):
    c = bw.raw()
    assert c.reply()[0] == 220
    code, text = c.cmd("EHLO offer.example")
    assert code == 250, (code, text)
    for ext in ("CHUNKING", "BINARYMIME", "PIPELINING"):
        assert re.search(r"^%s$" % ext, text, re.M), (ext, text)
    c.cmd("QUIT")
    c.close()


def check_pipelined_chunks(bw, sinks):
    body = (b"Subject: bdat-pipe\r\n", b"\r\nline one\r\n", b"line two\r\n")
    send_bdat(bw, ["a@chunk.test"], list(body))
    m = arrived(sinks["chunk.test"], b"bdat-pipe")[0]
    check_exact(m, b"".join(body))
    assert m.method == "BDAT", m.method


def check_last_nonempty(bw, sinks):
    body = b"Subject: bdat-one\r\n\r\nall in one chunk\r\n"
    send_bdat(bw, ["a@chunk.test"], [body])
    check_exact(arrived(sinks["chunk.test"], b"bdat-one")[0], body)


def check_zero_last(bw, sinks):
    body = b"Subject: bdat-zero\r\n\r\nthen BDAT 0 LAST\r\n"
    send_bdat(bw, ["a@chunk.test"], [body[:10], body[10:], b""])
    check_exact(arrived(sinks["chunk.test"], b"bdat-zero")[0], body)


def check_awkward_edges(bw, sinks):
    body = (b"Subject: bdat-edges\r\nX-Long: " + b"v" * 200 + b"\r\n\r\n"
            b"before a dot line\r\n.\r\n..two dots\r\n.one dot\r\nend\r\n")
    cuts = [4, body.index(b"\r\n") + 1, body.index(b"X-Long") + 30,
            body.index(b"\r\n.\r\n") + 1, body.index(b"\r\n.\r\n") + 3,
            len(body) - 1]
    chunks, prev = [], 0
    for k in cuts:
        chunks.append(body[prev:k])
        prev = k
    chunks.append(body[prev:])
    # one copy over BDAT, one over DATA (dot-stuffed by deliverd)
    send_bdat(bw, ["a@chunk.test", "b@plain.test"], chunks)
    m = arrived(sinks["chunk.test"], b"bdat-edges")[0]
    check_exact(m, body)
    assert m.method == "BDAT"
    m = arrived(sinks["plain.test"], b"bdat-edges")[0]
    check_exact(m, body)
    assert m.method == "DATA"


def binary_body(tag):
    return (b"Subject: " + tag + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\n" +
            bytes(range(256)) * 16 + b"\n.\n\r.\r\r\n.\r\n\x00\r" +
            bytes(range(255, -1, -1)) * 3)


def check_binary(bw, sinks):
    body = binary_body(b"bdat-binary")
    chunks = [body[:1000], body[1000:4333], body[4333:]]
    qid = send_bdat(bw, ["a@chunk.test"], chunks, params=" BODY=BINARYMIME")
    m = arrived(sinks["chunk.test"], b"bdat-binary")[0]
    check_exact(m, body)
    assert "BODY=BINARYMIME" in m.mail, m.mail
    assert m.method == "BDAT"
    assert re.search(r"%s accepted .*body=binarymime" % qid,
                     bw.log("smtpd")), "no accepted line"


def check_binary_data(bw):
    c = session(bw)
    c.send("MAIL FROM:<%s> BODY=BINARYMIME\r\nRCPT TO:<a@chunk.test>\r\n"
           "DATA\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    text = expect(c, 503, "DATA with BODY=BINARYMIME")
    assert "5.6.1" in text, text
    c.send("RSET\r\nNOOP\r\n")
    expect(c, 250, "RSET")
    in_sync(c)


def check_bad_size(bw, sinks):
    c = session(bw)
    for arg in ("abc", "10 FIRST", "", "-5", "1e3", "12 LAST x",
                "99999999999999999999999"):
        code, text = c.cmd(("BDAT " + arg).strip())
        assert code == 501, (arg, code, text)
    # in a transaction: the message is dropped, its chunks after are 503
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    c.send(bdat_bytes([b"Subject: bdat-badsize\r\n"], last=False) +
           b"BDAT x LAST\r\n" + bdat_bytes([b"\r\nabc\r\n"]) + b"NOOP\r\n")
    expect(c, 250, "first chunk")
    expect(c, 501, "BDAT x LAST")
    expect(c, 503, "a chunk after the malformed BDAT")
    in_sync(c)
    assert not sinks["chunk.test"].find(b"bdat-badsize")


def big_lines(n):
    line = b"x" * 998 + b"\r\n"
    return line * (n // len(line)) + b"z" * (n % len(line) - 2) + b"\r\n"


def check_over_limit(bw, sinks):
    c = session(bw)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    c.send(bdat_bytes([b"Subject: bdat-huge\r\n\r\n" +
                       big_lines(SIZE_LIMIT + 200000)]) + b"NOOP\r\n")
    text = expect(c, 552, "one chunk over the limit", timeout=60)
    assert "5.3.4" in text, text
    expect(c, 250, "NOOP right after the discarded chunk")
    code, text = c.cmd("RCPT TO:<a@chunk.test>")
    assert code == 503, ("the transaction is gone", code, text)
    # the running total: 600k + 600k, and a chunk after the failed one
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    half = big_lines(600000)
    c.send(bdat_bytes([b"Subject: bdat-total\r\n\r\n" + half, half],
                      last=False) + bdat_bytes([b"end\r\n"]) + b"NOOP\r\n")
    expect(c, 250, "first 600k", timeout=60)
    expect(c, 552, "second 600k: the running total", timeout=60)
    expect(c, 503, "the LAST chunk after the failed one")
    in_sync(c)
    assert not sinks["chunk.test"].find(b"bdat-huge")
    assert not sinks["chunk.test"].find(b"bdat-total")


def check_mixed(bw, sinks):
    c = session(bw)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    c.send(bdat_bytes([b"Subject: bdat-mixed\r\n"], last=False))
    expect(c, 250, "chunk")
    code, text = c.cmd("DATA")
    assert code == 503 and "5.5.1" in text, (code, text)
    assert c.cmd("RSET")[0] == 250
    # RSET dropped the chunk: a LAST chunk now has no transaction
    c.send(bdat_bytes([b"\r\nrest\r\n"]))
    expect(c, 503, "chunk after RSET")
    # DATA and BDAT may follow each other in one session
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\nDATA\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    expect(c, 354, "DATA")
    code, text = c.cmd("Subject: data-after-bdat\r\n\r\nbody\r\n.")
    assert code == 250 and "queued as" in text, (code, text)
    qid = send_bdat(bw, ["a@chunk.test"],
                    [b"Subject: bdat-after-data\r\n\r\nx\r\n"], c=c)
    assert qid
    c.send("NOOP\r\n")
    in_sync(c)
    arrived(sinks["chunk.test"], b"data-after-bdat")
    arrived(sinks["chunk.test"], b"bdat-after-data")
    assert not sinks["chunk.test"].find(b"bdat-mixed")


def check_no_transaction(bw):
    c = session(bw)
    # the octets are two NOOPs: discarded, never run
    c.send("BDAT 12\r\nNOOP\r\nNOOP\r\nNOOP\r\n")
    text = expect(c, 503, "BDAT before MAIL")
    assert "5.5.1" in text, text
    expect(c, 250, "the one NOOP outside the chunk")
    c.send("MAIL FROM:<%s>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    c.send(bdat_bytes([b"NOOP\r\n"]) + b"NOOP\r\n")
    text = expect(c, 554, "BDAT without a recipient")
    in_sync(c)


def check_bare_lf(bw, sinks):
    c = session(bw)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER +
           "BDAT 31 LAST\r\nSubject: bdat-barelf\r\n\r\nbad\nx\r\nNOOP\r\n")
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    text = expect(c, 554, "bare LF")
    assert "5.6.11" in text, text
    expect(c, 250, "NOOP")
    # a CR at the end of one chunk, no LF at the start of the next
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    c.send(bdat_bytes([b"Subject: bdat-barecr\r"], last=False) +
           bdat_bytes([b"x\r\n"], last=False) + bdat_bytes([b"\r\n"]) +
           b"NOOP\r\n")
    expect(c, 250, "chunk ending in CR")
    text = expect(c, 554, "next chunk without LF")
    assert "5.6.11" in text, text
    expect(c, 503, "LAST after the refused chunk")
    in_sync(c)
    assert not sinks["chunk.test"].find(b"bdat-barelf")
    assert not sinks["chunk.test"].find(b"bdat-barecr")


def check_hops(bw, sinks):
    """BDAT text passes the same hop count as DATA: 50 Received: fields
    (hopcount_limit's default), a chunk edge inside one of their names."""
    head = b"".join(b"Received: from hop%d.example by x; "
                    b"Thu, 1 Jan 2026 00:00:00 +0000\r\n" % i
                    for i in range(50))
    body = head + b"Subject: bdat-loop\r\n\r\nlooping\r\n"
    cut = head.index(b"Received", 40 * 60) + 4
    c = session(bw)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    c.send(bdat_bytes([body[:cut], body[cut:]]) + b"NOOP\r\n")
    expect(c, 250, "first chunk, 40-odd Received: fields")
    text = expect(c, 554, "the chunk reaching hopcount_limit")
    assert "5.4.6" in text, text
    in_sync(c)
    assert not sinks["chunk.test"].find(b"bdat-loop")


def check_no_final_crlf(bw, sinks):
    body = b"Subject: bdat-noeol\r\n\r\nno line end at the end"
    send_bdat(bw, ["a@chunk.test"], [body[:25], body[25:]])
    check_exact(arrived(sinks["chunk.test"], b"bdat-noeol")[0],
                body + b"\r\n")


def check_large(bw, sinks):
    body = b"Subject: bdat-large\r\n\r\n" + lines(b"large", 900000)
    chunks = [body[i:i + 100000] for i in range(0, len(body), 100000)]
    send_bdat(bw, ["a@nopipe.test"], chunks)
    sink = sinks["nopipe.test"]
    m = arrived(sink, b"bdat-large", timeout=60)[0]
    check_exact(m, body)
    # out: chunks of 16k, one at a time (no PIPELINING there)
    assert m.method == "BDAT"
    assert len(m.chunks) == (len(m.data) + CHUNK_OUT - 1) // CHUNK_OUT, \
        m.chunks
    assert all(s == CHUNK_OUT and not last for s, last in m.chunks[:-1])
    assert m.chunks[-1][1], m.chunks[-1]
    assert not any(sink.more_after_chunk), \
        "a chunk was sent before the previous one was answered"


def check_backpressure(bw, sinks):
    """queued stopped while 18 sessions per smtpd worker send 1 MB chunks:
    a worker stops reading (data_pauses) instead of buffering everything
    (at 16 MB unsent to queued, SMTPD_QUEUE_WPENDING_MAX; one worker has
    at least 18 of the sessions); once queued runs again every message
    is taken and relayed intact."""
    n, size = 18 * SMTPD_WORKERS, 1000000
    conns, bodies = [], []
    for i in range(n):
        c = session(bw)
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\n" % SENDER)
        expect(c, 250, "MAIL")
        expect(c, 250, "RCPT")
        conns.append(c)
        bodies.append(b"Subject: bp-%02d\r\n\r\n" % i +
                      lines(b"bp%02d" % i, size - 40))
    before = bw.counters("smtpd").get("data_pauses", 0)
    senders = []
    bw.send_signal("queued", signal.SIGSTOP)
    try:
        for c, body in zip(conns, bodies):
            th = threading.Thread(target=c.send, args=(bdat_bytes([body]),),
                                  daemon=True)
            th.start()
            senders.append(th)
        bwtest.wait_for(lambda: bw.counters("smtpd").get("data_pauses", 0)
                        > before, 30, what="smtpd pausing its readers")
    finally:
        bw.send_signal("queued", signal.SIGCONT)
    for th in senders:
        th.join(60)
        assert not th.is_alive(), "a client could not send its chunk"
    for c in conns:
        expect(c, 250, "LAST chunk after queued came back", timeout=60)
        c.send("NOOP\r\n")
        in_sync(c)
    for i, body in enumerate(bodies):
        check_exact(arrived(sinks["chunk.test"], b"bp-%02d\r\n" % i,
                            timeout=60)[0], body)


def check_deadline():
    """The whole-data deadline runs from the first chunk to LAST, across
    the commands between chunks (smtpd_timeout_data_total 10s here)."""
    with bwtest.Breakwater("bdatdl") as bw2:
        bw2.write_config(bwtest.default_config(
            bw2, extra="smtpd_timeout_data_total 10s\n"))
        bw2.start(["controld", "queued", "smtpd"])
        bw2.wait_log("smtpd", r"connected to queued", timeout=20)
        c = session(bw2)
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@example.org>\r\n" % SENDER)
        expect(c, 250, "MAIL")
        expect(c, 250, "RCPT")
        c.send(bdat_bytes([b"Subject: slow\r\n"], last=False))
        expect(c, 250, "first chunk")
        t0 = time.monotonic()
        code = 250
        while code == 250 and time.monotonic() - t0 < 20:
            time.sleep(1)
            code, text = c.cmd("NOOP")
        took = time.monotonic() - t0
        assert code == 421 and "took too long" in text, (code, text)
        assert 8 <= took <= 15, took
        assert c.closed()
        c.close()
    assert not bw2.sanitizer_reports, bw2.sanitizer_reports


# -- outbound ------------------------------------------------------------

def check_out_pipelined(bw, sinks):
    sink = sinks["probe.test"]
    small = b"Subject: out-small\r\n\r\nsmall\r\n"
    send_bdat(bw, ["a@probe.test"], [small])
    m = arrived(sink, b"out-small")[0]
    check_exact(m, small)
    assert len(m.chunks) == 1 and m.chunks[0][1], m.chunks
    assert sink.bdat_with_mail == [True], \
        "BDAT not pipelined with MAIL: %s" % sink.bdat_with_mail
    big = b"Subject: out-big\r\n\r\n" + lines(b"big", 50000)
    send_bdat(bw, ["a@probe.test"], [big])
    m = arrived(sink, b"out-big")[0]
    check_exact(m, big)
    sizes = [s for s, _ in m.chunks]
    assert sizes[:-1] == [CHUNK_OUT] * (len(sizes) - 1), sizes
    assert [last for _, last in m.chunks] == [False] * (len(sizes) - 1) + \
        [True], m.chunks


def check_out_data(bw, sinks):
    body = (b"Subject: out-data\r\n\r\n.leading dot\r\n..two\r\n.\r\n"
            b"end\r\n")
    c = session(bw)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@plain.test>\r\nDATA\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    expect(c, 354, "DATA")
    stuffed = re.sub(rb"(?m)^\.", b"..", body)
    c.send(stuffed + b".\r\nNOOP\r\n")
    expect(c, 250, "end of data")
    in_sync(c)
    m = arrived(sinks["plain.test"], b"out-data")[0]
    assert m.method == "DATA"
    check_exact(m, body)
    cmds = sinks["plain.test"].commands
    assert not any(x.startswith("BDAT") for x in cmds), cmds


def check_binary_bounce(bw, sinks):
    for dom in ("plain.test", "chunkonly.test"):
        tag = b"bin-bounce-" + dom.encode()
        # RET=FULL: a binary body cannot go inside the report, so the
        # report returns the headers (RFC 3461 4.3) and stays text
        qid = send_bdat(bw, ["r@" + dom], [binary_body(tag)],
                        params=" BODY=BINARYMIME RET=FULL")
        dsn = [m for m in arrived(sinks["chunk.test"], qid.encode())
               if b"multipart/report" in m.data]
        assert any(b"5.6.3" in m.data and m.rcpts == [SENDER]
                   for m in dsn), [m.data[:600] for m in dsn]
        for m in dsn:
            assert b"text/rfc822-headers" in m.data, m.data[:1200]
            assert b"message/rfc822" not in m.data, m.data[:1200]
            assert bytes(range(256)) not in m.data, "binary body returned"
            assert "BINARYMIME" not in m.mail, m.mail
        assert not sinks[dom].find(tag), "binary message went to " + dom
    bw.wait_log("queued", r"to=<r@chunkonly\.test>.*dsn=5\.6\.3.*"
                r"status=bounced")


# -- TLS -----------------------------------------------------------------

def check_received_tls(bw, sinks):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = session(bw, port=bw.starttls_port)
    assert c.cmd("STARTTLS")[0] == 220
    c.sock = ctx.wrap_socket(c.sock)
    c.buf = b""
    assert c.cmd("EHLO tls.example")[0] == 250
    send_bdat(bw, ["a@chunk.test"], [b"Subject: tls-bdat\r\n\r\nx\r\n"], c=c)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<a@chunk.test>\r\nDATA\r\n" % SENDER)
    expect(c, 250, "MAIL")
    expect(c, 250, "RCPT")
    expect(c, 354, "DATA")
    code, text = c.cmd("Subject: tls-data\r\n\r\nx\r\n.")
    assert code == 250, (code, text)
    c.cmd("QUIT")
    c.close()
    heads = []
    for tag in (b"tls-bdat", b"tls-data"):
        m = arrived(sinks["chunk.test"], tag)[0]
        head = m.data[:m.data.index(b"Subject:")]
        assert RECEIVED_RX.match(head), head
        assert re.search(rb"\]\)\r\n\t\(using TLSv1\.[23] with cipher "
                         rb"[A-Z0-9_-]+ \(\d+/\d+ bits\)\)\r\n\tby ",
                         head), head
        heads.append(re.sub(rb"id [0-9A-F]{16}", b"id QID",
                            re.sub(rb";\r\n\t.*\r\n\Z", b"", head)))
    assert heads[0] == heads[1], "Received: differs:\n%r\n%r" % tuple(heads)


def main():
    with bwtest.Breakwater("bdat") as bw:
        cert, key = bwtest.make_cert(bw.base)
        bw.starttls_port = bwtest.free_port()
        sinks = {
            "chunk.test": chunksink.ChunkSink(),
            "probe.test": chunksink.ChunkSink(probe_pipelining=True),
            "nopipe.test": chunksink.ChunkSink(pipelining=False),
            "plain.test": chunksink.ChunkSink(chunking=False,
                                              binarymime=False),
            "chunkonly.test": chunksink.ChunkSink(binarymime=False),
        }
        try:
            bw.write_config(config_text(bw, sinks, cert, key))
            bw.start()
            t.run("EHLO offers CHUNKING and BINARYMIME", check_ehlo, bw)
            t.run("three chunks pipelined in one write",
                  check_pipelined_chunks, bw, sinks)
            t.run("LAST on a non-empty chunk", check_last_nonempty, bw,
                  sinks)
            t.run("BDAT 0 LAST ends the message", check_zero_last, bw,
                  sinks)
            t.run("chunk edges inside CRLF, a header line and a dot line; "
                  "relayed by BDAT and by DATA", check_awkward_edges, bw,
                  sinks)
            t.run("BODY=BINARYMIME: every octet stored and relayed as "
                  "received", check_binary, bw, sinks)
            t.run("BODY=BINARYMIME with DATA: 503 5.6.1", check_binary_data,
                  bw)
            t.run("BDAT sizes that are not numbers: 501, the message "
                  "dropped", check_bad_size, bw, sinks)
            t.run("a chunk over message_size_limit and a running total "
                  "over it: 552, octets discarded", check_over_limit, bw,
                  sinks)
            t.run("DATA after BDAT: 503; RSET drops the chunks; DATA and "
                  "BDAT in one session", check_mixed, bw, sinks)
            t.run("BDAT before MAIL (503) and without RCPT (554): octets "
                  "discarded, not run", check_no_transaction, bw)
            t.run("bare LF, and bare CR at a chunk edge: 554 5.6.11",
                  check_bare_lf, bw, sinks)
            t.run("hopcount_limit Received: fields in BDAT chunks: 554 "
                  "5.4.6", check_hops, bw, sinks)
            t.run("a last line without CRLF is stored with one",
                  check_no_final_crlf, bw, sinks)
            t.run("900 kB in 100 kB chunks; out one 16k chunk at a time "
                  "without PIPELINING", check_large, bw, sinks)
            t.run("queued stopped: smtpd pauses BDAT reading, then takes "
                  "every message", check_backpressure, bw, sinks)
            t.run("out: BDAT chunks of 16k, the first pipelined with MAIL",
                  check_out_pipelined, bw, sinks)
            t.run("out: DATA, dot-stuffed, to a next hop without CHUNKING",
                  check_out_data, bw, sinks)
            t.run("out: BINARYMIME to a next hop without BINARYMIME or "
                  "CHUNKING bounces 5.6.3", check_binary_bounce, bw, sinks)
            t.run("TLS: Received: names protocol and cipher, the same for "
                  "DATA and BDAT", check_received_tls, bw, sinks)
        finally:
            for s in sinks.values():
                s.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.run("the whole-data deadline covers every chunk: 421 after "
          "smtpd_timeout_data_total", check_deadline)
    t.done()


if __name__ == "__main__":
    main()
