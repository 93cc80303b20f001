"""smtpd TLS: STARTTLS with swaks and openssl s_client, an implicit-TLS
listener, plaintext pipelined behind STARTTLS is never answered, and the
Received: header records the TLS protocol and cipher."""

import os
import re
import select
import socket
import ssl
import subprocess
import time
import warnings

import bwtest

t = bwtest.TAP()


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def check_swaks_tls(bw):
    r = bw.swaks("-tls", "--to", "user@example.org", "--from", "s@b.example",
                 "--header", "Subject: swaks tls", port=bw.starttls_port)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout, r.stdout
    m = re.search(r"queued as ([0-9A-F]{16})", r.stdout)
    assert m, r.stdout
    bw.tls_qid = m.group(1)


def check_ehlo_offers_starttls(bw):
    c = bw.raw(port=bw.starttls_port)
    assert c.reply()[0] == 220
    code, text = c.cmd("EHLO offer.example")
    assert code == 250 and "STARTTLS" in text, text
    c.cmd("QUIT")
    c.close()


def read_reply(f, deadline):
    """The lines of one SMTP reply from f, within deadline (monotonic)."""
    lines = []
    while time.monotonic() < deadline:
        if not select.select([f], [], [], 0.5)[0]:
            continue
        line = f.readline()
        if not line:
            break
        lines.append(line)
        if line[3:4] != b"-":
            break
    return b"".join(lines).decode("utf-8", "replace")


def check_s_client(bw):
    """One command at a time, each after the previous reply: smtpd refuses
    a client that pipelines behind EHLO (RFC 2920)."""
    p = subprocess.Popen(
        ["openssl", "s_client", "-starttls", "smtp", "-quiet",
         "-connect", "127.0.0.1:%d" % bw.starttls_port],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, bufsize=0)
    out = ""
    try:
        deadline = time.monotonic() + 30
        for cmd in (b"EHLO sclient.example\r\n", b"NOOP\r\n",
                    b"QUIT\r\n"):
            p.stdin.write(cmd)
            out += read_reply(p.stdout, deadline)
    finally:
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
    err = err.decode("utf-8", "replace")
    assert re.search(r"^250[ -]", out, re.M), out + err
    assert "221 2.0.0" in out, out + err
    assert "STARTTLS" not in out, "STARTTLS offered again inside TLS: " + out


def check_tls12_floor(bw):
    warnings.simplefilter("ignore", DeprecationWarning)
    ctx = client_ctx()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    raw = socket.create_connection(("127.0.0.1", bw.implicit_port), timeout=10)
    try:
        ctx.wrap_socket(raw)
    except (ssl.SSLError, OSError):
        return
    raise AssertionError("TLS 1.1 handshake succeeded")


def check_implicit(bw):
    raw = socket.create_connection(("127.0.0.1", bw.implicit_port), timeout=10)
    s = client_ctx().wrap_socket(raw)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            assert line, "closed"
            lines.append(line)
            if line[3:4] != "-":
                return int(line[:3]), "".join(lines)

    def cmd(x):
        s.sendall((x + "\r\n").encode())
        return reply()

    assert reply()[0] == 220
    code, text = cmd("EHLO implicit.example")
    assert code == 250 and "STARTTLS" not in text, text
    assert cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert cmd("RCPT TO:<x@example.org>")[0] == 250
    assert cmd("DATA")[0] == 354
    code, text = cmd("Subject: implicit\r\n\r\nbody\r\n.")
    assert code == 250 and "queued as" in text, text
    bw.implicit_qid = re.search(r"queued as ([0-9A-F]{16})", text).group(1)
    assert cmd("QUIT")[0] == 221
    s.close()


def check_starttls_injection(bw):
    raw = socket.create_connection(("127.0.0.1", bw.starttls_port), timeout=10)
    f = raw.makefile("rb")
    assert f.readline().startswith(b"220")
    raw.sendall(b"EHLO inject.example\r\n")
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            break
    raw.sendall(b"STARTTLS\r\nRSET\r\n")
    line = f.readline()
    assert line.startswith(b"220"), line
    s = client_ctx().wrap_socket(raw)
    s.settimeout(10)
    s.sendall(b"EHLO after.example\r\n")
    data = b""
    while not re.search(rb"^250 [^\r]*\r\n", data, re.M):
        chunk = s.recv(4096)
        assert chunk, "closed: %r" % data
        data += chunk
    first = data.split(b"\r\n")[0]
    # the first reply inside TLS answers EHLO, not the injected RSET
    assert first.startswith(b"250-"), data
    assert b"2.0.0 Ok" not in data, data
    s.sendall(b"QUIT\r\n")
    s.close()
    bw.wait_log("smtpd", r"discarded \d+ plaintext bytes", timeout=5)


def check_received_tls(bw):
    qid = getattr(bw, "tls_qid", None) or getattr(bw, "implicit_qid", None)
    assert qid, "no message from a TLS case"
    r = bw.bwctl("show", "message", qid, check=False)
    # The header is the first line of the stored body, in a body segment
    # file under spool/segments, written before the 250.
    found = False
    for root, _dirs, files in os.walk(bw.spooldir):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as fh:
                    blob = fh.read()
            except OSError:
                continue
            i = blob.find(b"id " + qid.encode())
            # Postfix's place: the TLS comment between from and by
            if i != -1 and b"with ESMTPS" in blob[max(0, i - 400):i] and \
                    re.search(rb"\]\)\r\n\t\(using TLSv1\.[23] with "
                              rb"cipher \S+ \(\d+/\d+ bits\)\)\r\n\tby ",
                              blob[max(0, i - 400):i]):
                found = True
    assert found, "Received: with TLS details not found; bwctl: %s" % (
        r.stdout + r.stderr)


with bwtest.Breakwater("tls") as bw:
    cert, key = bwtest.make_cert(bw.base)
    bw.starttls_port = bwtest.free_port()
    bw.implicit_port = bwtest.free_port()
    bw.write_config(bwtest.default_config(bw, extra="""
tls_cert %s
tls_key %s
""" % (cert, key)) + """
listener starttls {
    address 127.0.0.1
    port %d
    type private
    relay_networks 127.0.0.0/8
    tls starttls
}
listener implicit {
    address 127.0.0.1
    port %d
    type public
    accept_domains example.org
    tls implicit
}
""" % (bw.starttls_port, bw.implicit_port))
    # receiving only: without deliverd the messages stay queued for the
    # Received: check (example.org does not resolve here, so they would
    # bounce and leave the store at once)
    bw.start(["controld", "queued", "smtpd"])
    bw.wait_log("smtpd", r"connected to queued", timeout=20)
    t.run("EHLO offers STARTTLS", check_ehlo_offers_starttls, bw)
    if subprocess.run(["perl", "-MNet::SSLeay", "-e", "1"],
                      capture_output=True).returncode == 0:
        t.run("swaks -tls: message queued over STARTTLS", check_swaks_tls,
              bw)
    else:
        t.skip("swaks -tls: message queued over STARTTLS",
               "swaks needs Net::SSLeay (Debian libnet-ssleay-perl)")
    t.run("openssl s_client -starttls smtp", check_s_client, bw)
    t.run("implicit TLS listener takes a message", check_implicit, bw)
    t.run("TLS below 1.2 is refused", check_tls12_floor, bw)
    t.run("plaintext pipelined after STARTTLS is never answered",
          check_starttls_injection, bw)
    t.run("Received: header records TLS protocol and cipher",
          check_received_tls, bw)
t.ok(not bw.sanitizer_reports, "no sanitizer reports",
     "\n".join(bw.sanitizer_reports))
t.done()
