#!/usr/bin/python3
"""MTA-STS (RFC 8461) in deliverd, with every real daemon.

dnscached asks ldns-testns serving tests/dns/mtasts.data (MX, the
_mta-sts TXT records, mta-sts.DOMAIN addresses).  The policies come from
a Python HTTPS server (http.server + ssl) on 127.0.24.2:443 with a
certificate for the mta-sts.* names signed by a test CA made here, given
to the destinations as tls_ca_file; 127.0.24.3:443 accepts connections
and never answers.  The MX hosts are aiosmtpd receivers on 127.0.24.x:25
(STARTTLS with a certificate by the same CA where a case needs it).

Cases: enforce blocks an MX the policy does not list (the message waits,
a log line names the host); enforce with a listed MX and a valid
certificate delivers over verified TLS (verify=sts); testing mode
delivers and logs what enforce would refuse; a new id in the TXT record
makes a new fetch, and a failed refresh keeps the cached policy.  Bad
input: a policy that is an HTML page, a policy over 64 KiB, a redirect,
an HTTPS certificate without the mta-sts name, an HTTPS server that never
answers (bounded by the fetch timeout, logged once, the domain delivered
as without a policy, another domain delivered meanwhile).  Fixed
addresses in 127.0.24.0/24 only (root binds ports 25 and 443).
"""

import http.server
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import bwtest
import peers

ZONE = os.path.join(bwtest.SRCDIR, "tests", "dns", "mtasts.data")
HTTPS_ADDR = "127.0.24.2"
HANG_ADDR = "127.0.24.3"
MX = {"good": "127.0.24.11", "block": "127.0.24.12",
      "testing": "127.0.24.13", "hang": "127.0.24.14",
      "html": "127.0.24.15", "big": "127.0.24.16",
      "change": "127.0.24.17", "plain": "127.0.24.18",
      "redir": "127.0.24.19", "badcert": "127.0.24.20",
      "untrusted": "127.0.24.21", "notls": "127.0.24.22"}
TLS_MX = ("good", "change")     # certificates by the test CA
OTHER_CA_MX = ("untrusted",)    # by a CA the destination does not trust
FETCH_MS = 10000        # DLV_STS_FETCH_MS
MX_AGE = 6              # the agent resolves again: past the MX TTL (1 s,
                        # 5 s in dnscached's cache) and deliver_idle_keep

t = bwtest.TAP()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)


def make_ca(d):
    """A test CA and a function issuing certificates for some names."""
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cakey,
            "-out", ca, "-days", "30", "-subj", "/CN=Breakwater STS test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(tag, names):
        key = os.path.join(d, tag + ".key")
        csr = os.path.join(d, tag + ".csr")
        cert = os.path.join(d, tag + ".pem")
        ext = os.path.join(d, tag + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" %
                    ",".join("DNS:" + n for n in names))
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=" + names[0])
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                "-CAcreateserial", "-out", cert, "-days", "30",
                "-extfile", ext)
        return cert, key
    return ca, issue


def policy(mode, *mx, max_age=86400):
    return ("version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join("mx: %s\r\n" % m for m in mx), max_age)).encode()


# Host -> (status, content type, body, extra headers); the cases change it.
RESPONSES = {
    "mta-sts.good.sts.test": (200, "text/plain; charset=utf-8",
                              policy("enforce", "mx.good.sts.test"), ()),
    "mta-sts.block.sts.test": (200, "text/plain",
                               policy("enforce", "mx.elsewhere.sts.test"),
                               ()),
    "mta-sts.testing.sts.test": (200, "text/plain",
                                 policy("testing", "*.elsewhere.sts.test"),
                                 ()),
    "mta-sts.change.sts.test": (200, "text/plain",
                                policy("testing", "mx.change.sts.test"), ()),
    "mta-sts.html.sts.test": (200, "text/plain",
                              b"<!DOCTYPE html>\n<html><body><h1>Welcome"
                              b"</h1></body></html>\n", ()),
    "mta-sts.big.sts.test": (200, "text/plain",
                             policy("enforce", "mx.elsewhere.sts.test") +
                             b"x-pad: " + b"y" * 100000 + b"\r\n", ()),
    "mta-sts.redir.sts.test": (301, "text/plain", b"moved\n", (
        ("Location", "https://mta-sts.good.sts.test/.well-known/"
         "mta-sts.txt"),)),
    "mta-sts.untrusted.sts.test": (200, "text/plain",
                                   policy("enforce",
                                          "mx.untrusted.sts.test"), ()),
    "mta-sts.notls.sts.test": (200, "text/plain",
                               policy("enforce", "*.notls.sts.test"), ()),
    "mta-sts.badcert.sts.test": (200, "text/plain",
                                 policy("enforce", "mx.elsewhere.sts.test"),
                                 ()),
}
FETCHES = {}
LOCK = threading.Lock()


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with LOCK:
            FETCHES[host] = FETCHES.get(host, 0) + 1
            resp = RESPONSES.get(host)
        if self.path != "/.well-known/mta-sts.txt" or resp is None:
            resp = (404, "text/plain", b"not found\n", ())
        status, ctype, body, extra = resp
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass        # deliverd stopped reading (64 KiB)
        self.close_connection = True

    def log_message(self, *a):
        pass


class PolicyServer:
    """The HTTPS policy server, in a thread."""

    def __init__(self, addr, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer((addr, 443),
                                                   PolicyHandler)
        self.srv.daemon_threads = True
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.th = threading.Thread(target=self.srv.serve_forever,
                                   kwargs={"poll_interval": 0.2},
                                   daemon=True)
        self.th.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.th.join(10)


class Receiver:
    """An MX host: aiosmtpd on addr:25, STARTTLS when given a context;
    keeps (recipients, used TLS) per message."""

    def __init__(self, addr, tls=None):
        from aiosmtpd.controller import Controller
        self.msgs = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.msgs.append((list(envelope.rcpt_tos),
                                   session.ssl is not None))
                return "250 2.0.0 Ok"

        kw = {"tls_context": tls} if tls is not None else {}
        self.c = Controller(Handler(), hostname=addr, port=25,
                            server_hostname="mx.receiver.test",
                            ready_timeout=10, **kw)
        self.c.start()

    def got(self, rcpt):
        return [m for m in self.msgs if rcpt in m[0]]

    def stop(self):
        self.c.stop()


class TestNSAt:
    """ldns-testns on a given port (to serve a changed zone there)."""

    def __init__(self, logdir, zone, port):
        self.port = port
        self.log = open(os.path.join(logdir, "testns-%d-%d.log" % (
            port, int(time.time() * 1000))), "w")
        self.p = subprocess.Popen([peers.TESTNS, "-p", str(port), zone],
                                  stdout=self.log,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        bwtest.wait_for(lambda: bwtest.port_open(port), 10,
                        what="ldns-testns on port %d" % port)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self.log.close()


def config_text(bw, nsport, ca):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(nsport)d
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 5s

bounce_profile default {
    retry_initial 1s
    retry_max 2s
    max_age 1h
}
destination *.sts.test {
    mta_sts yes
    tls_ca_file %(ca)s
}
destination plain.sts.test {
    mta_sts no
}
""" % {"nsport": nsport, "ca": ca}
    return bwtest.default_config(bw, extra=extra)


def send(bw, rcpt, subject="sts test"):
    sender = "alice@origin.example"
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nhello\r\n" %
           (sender, rcpt, subject))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        c.sendmail(sender, [rcpt], msg)


def count(bw, pattern):
    return len(re.findall(pattern, bw.log("deliverd")))


def main():
    for tool in (peers.TESTNS, "/usr/bin/openssl"):
        if not os.path.exists(tool):
            t.skip("mta-sts", "%s not installed" % tool)
            t.done()
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        t.skip("mta-sts", "python3-aiosmtpd not installed")
        t.done()
    if os.geteuid() != 0:
        t.skip("mta-sts", "needs root for ports 25 and 443")
        t.done()

    certdir = tempfile.mkdtemp(prefix="bw-sts-certs-")
    try:
        ca, issue = make_ca(certdir)
        # the policy server's certificate names every mta-sts host but one
        https_cert = issue("https", ["mta-sts.%s.sts.test" % d for d in MX
                                     if d not in ("badcert", "plain")])
        mx_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        mx_tls.load_cert_chain(*issue("mx", ["mx.%s.sts.test" % d
                                             for d in TLS_MX]))
        otherdir = os.path.join(certdir, "other")
        os.makedirs(otherdir)
        other_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        other_tls.load_cert_chain(*make_ca(otherdir)[1](
            "mx", ["mx.%s.sts.test" % d for d in OTHER_CA_MX]))

        receivers, servers = {}, []
        hang = None
        with bwtest.Breakwater("mtasts") as bw:
            ns = peers.TestNS(bw.logdir, ZONE)
            nsbox = [ns]
            try:
                servers.append(PolicyServer(HTTPS_ADDR, *https_cert))
                hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                hang.bind((HANG_ADDR, 443))
                hang.listen(16)             # never accepted, never answered
                for d, addr in MX.items():
                    receivers[d] = Receiver(addr, mx_tls if d in TLS_MX else
                                            other_tls if d in OTHER_CA_MX
                                            else None)
                bw.write_config(config_text(bw, ns.port, ca))
                r = subprocess.run([bw.binary("deliverd"), "-n", "-f",
                                    bw.config_path, "-b", bw.base],
                                   capture_output=True, text=True, timeout=30)
                if not t.ok(r.returncode == 0, "the test configuration checks",
                            r.stdout + r.stderr):
                    t.done()
                bw.start()
                run_cases(bw, receivers, nsbox, certdir)
            finally:
                for rc in receivers.values():
                    rc.stop()
                for s in servers:
                    s.stop()
                if hang is not None:
                    hang.close()
                nsbox[0].stop()
            for p in bwtest.DEFAULT_PROCS:
                t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    finally:
        shutil.rmtree(certdir, ignore_errors=True)
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, rc, nsbox, certdir):
    def delivered(d, rcpt, timeout=20):
        bwtest.wait_for(lambda: rc[d].got(rcpt), timeout,
                        what="%s at mx.%s" % (rcpt, d))
        return rc[d].got(rcpt)

    def enforce_blocks():
        send(bw, "u1@block.sts.test")
        bw.wait_log("deliverd", r"domain=block\.sts\.test gateway=\S+ "
                    r"mx=mx\.block\.sts\.test mta-sts: not used, not in the "
                    r"policy \(mode=enforce id=block1\)", timeout=20)
        bw.wait_log("deliverd", r"policy id=block1 mode=enforce "
                    r"max_age=86400 mx=mx\.elsewhere\.sts\.test \(new\)")
        time.sleep(3)       # retries come and go
        assert rc["block"].msgs == [], rc["block"].msgs
        q = [x for x in bw.bwctl("show", "queue", json_out=True)["queues"]
             if x["domain"] == "block.sts.test"]
        assert q and q[0].get("queued", q[0].get("messages", 1)) >= 1, q
        assert FETCHES.get("mta-sts.block.sts.test") == 1, FETCHES
    t.run("enforce: an MX not in the policy is not used, the message "
          "waits", enforce_blocks)

    def enforce_delivers():
        send(bw, "u2@good.sts.test")
        m = delivered("good", "u2@good.sts.test")
        assert m[0][1], "not over TLS"
        bw.wait_log("queued", r"to=<u2@good\.sts\.test>.*status=sent")
        lines = [x for p in ("queued", "deliverd")
                 for x in bw.log(p).splitlines()
                 if "to=<u2@good.sts.test>" in x and "status=sent" in x]
        assert [x for x in lines if "verify=sts" in x], lines
    t.run("enforce: a listed MX with a valid certificate delivers "
          "(verify=sts)", enforce_delivers)

    def enforce_tls_fails(d, rcpt, why):
        send(bw, rcpt)
        bw.wait_log("deliverd", why, timeout=20)
        time.sleep(3)
        assert not rc[d].got(rcpt), rc[d].msgs
        assert not re.search(r"to=<%s>.*status=sent" % re.escape(rcpt),
                             bw.log("queued"))

    for d, rcpt, why, name in (
            ("untrusted", "u20@untrusted.sts.test",
             r"relay=mx\.untrusted\.sts\.test\S* TLS verify \(mta-sts\) "
             r"not met: certificate not trusted",
             "enforce: a listed MX with a certificate of an untrusted CA is "
             "not used, the message waits"),
            ("notls", "u21@notls.sts.test",
             r"TLS required but not offered by mx\.notls\.sts\.test",
             "enforce: a listed MX without STARTTLS is not used, the "
             "message waits")):
        t.run(name, enforce_tls_fails, d, rcpt, why)

    def testing_mode():
        send(bw, "u3@testing.sts.test")
        delivered("testing", "u3@testing.sts.test")
        bw.wait_log("deliverd", r"domain=testing\.sts\.test gateway=\S+ "
                    r"mta-sts: mx=mx\.testing\.sts\.test not in the policy "
                    r"\(mode=testing id=testing1\)")
        bw.wait_log("deliverd", r"domain=testing\.sts\.test "
                    r"relay=mx\.testing\.sts\.test\S* TLS not offered, "
                    r"mta-sts-testing: delivering in plaintext anyway")
        send(bw, "u3b@testing.sts.test")
        delivered("testing", "u3b@testing.sts.test")
        assert count(bw, r"mta-sts: mx=mx\.testing\.sts\.test not in "
                     r"the policy") == 1, "logged more than once"
    t.run("testing: delivers, and logs what enforce would refuse once",
          testing_mode)

    def id_change():
        send(bw, "u4@change.sts.test")
        delivered("change", "u4@change.sts.test")
        bw.wait_log("deliverd", r"domain=change\.sts\.test mta-sts: policy "
                    r"id=change1 mode=testing")
        assert FETCHES.get("mta-sts.change.sts.test") == 1, FETCHES
        # the same id: no new fetch
        time.sleep(MX_AGE)
        bw.bwctl("dns", "flush")
        send(bw, "u4b@change.sts.test")
        delivered("change", "u4b@change.sts.test")
        assert FETCHES.get("mta-sts.change.sts.test") == 1, FETCHES
        # a new id: fetched again
        serve_zone(bw, nsbox, certdir, "id=change1", "id=change2")
        time.sleep(MX_AGE)
        bw.bwctl("dns", "flush")
        send(bw, "u5@change.sts.test")
        delivered("change", "u5@change.sts.test")
        bw.wait_log("deliverd", r"domain=change\.sts\.test mta-sts: policy "
                    r"id=change2 mode=testing .*\(new\)")
        assert FETCHES.get("mta-sts.change.sts.test") == 2, FETCHES
        # a failed refresh keeps the cached policy
        with LOCK:
            RESPONSES["mta-sts.change.sts.test"] = (500, "text/plain",
                                                    b"oops\n", ())
        serve_zone(bw, nsbox, certdir, "id=change1", "id=change3")
        time.sleep(MX_AGE)
        bw.bwctl("dns", "flush")
        send(bw, "u6@change.sts.test")
        delivered("change", "u6@change.sts.test")
        bw.wait_log("deliverd", r"domain=change\.sts\.test mta-sts: policy "
                    r"refresh failed \(https://mta-sts\.change\.sts\.test"
                    r"\[127\.0\.24\.2\]: HTTP status 500\); the cached "
                    r"policy id=change2 mode=testing stays in force")
        assert FETCHES.get("mta-sts.change.sts.test") == 3, FETCHES
    t.run("a new id in the TXT record fetches the policy again; a failed "
          "refresh keeps the cached one", id_change)

    def bad_policy(d, rcpt, why):
        send(bw, rcpt)
        delivered(d, rcpt)
        pat = (r"domain=%s\.sts\.test mta-sts: policy fetch failed \(%s.*\); "
               r"delivering as without a policy" % (d, why))
        bw.wait_log("deliverd", pat)
        assert count(bw, r"domain=%s\.sts\.test mta-sts: policy fetch "
                     r"failed" % d) == 1

    t.run("bad input: an HTML page is not a policy",
          bad_policy, "html", "u7@html.sts.test",
          r"https://mta-sts\.html\.sts\.test\[127\.0\.24\.2\]: not a "
          r"policy: line 1 is not \"key: value\"")
    t.run("bad input: a policy over 64 KiB",
          bad_policy, "big", "u8@big.sts.test",
          r"https://mta-sts\.big\.sts\.test\[127\.0\.24\.2\]: policy "
          r"body too large")
    t.run("bad input: a redirect is not followed",
          bad_policy, "redir", "u9@redir.sts.test",
          r"https://mta-sts\.redir\.sts\.test\[127\.0\.24\.2\]: HTTP "
          r"status 301 \(redirects are not followed")
    t.run("bad input: an HTTPS certificate without the mta-sts name",
          bad_policy, "badcert", "u10@badcert.sts.test",
          r"https://mta-sts\.badcert\.sts\.test\[127\.0\.24\.2\]: "
          r"certificate not valid for mta-sts\.badcert\.sts\.test")
    assert FETCHES.get("mta-sts.redir.sts.test") == 1, FETCHES
    assert "mta-sts.good.sts.test" in FETCHES

    def hanging_server():
        t0 = time.time()
        send(bw, "u11@hang.sts.test")
        time.sleep(0.5)
        send(bw, "u12@plain.sts.test")
        delivered("plain", "u12@plain.sts.test", timeout=8)
        assert not rc["hang"].got("u11@hang.sts.test"), \
            "hang delivered before its fetch timed out"
        assert time.time() - t0 < FETCH_MS / 1000.0, "plain waited"
        delivered("hang", "u11@hang.sts.test", timeout=30)
        took = time.time() - t0
        assert took >= FETCH_MS / 1000.0 - 1, took
        assert took < FETCH_MS / 1000.0 + 15, took
        bw.wait_log("deliverd", r"domain=hang\.sts\.test mta-sts: policy "
                    r"fetch failed \(https://mta-sts\.hang\.sts\.test"
                    r"\[127\.0\.24\.3\]: no complete answer within %d ms\); "
                    r"delivering as without a policy" % FETCH_MS)
        # the next message does not wait again, and nothing more is logged
        time.sleep(2)
        t1 = time.time()
        send(bw, "u13@hang.sts.test")
        delivered("hang", "u13@hang.sts.test", timeout=8)
        assert time.time() - t1 < 5, time.time() - t1
        assert count(bw, r"domain=hang\.sts\.test mta-sts: policy fetch "
                     r"failed") == 1
    t.run("bad input: an HTTPS server that never answers costs its domain "
          "one bounded timeout, logged once; another domain is delivered "
          "meanwhile", hanging_server)

    def counters():
        c = bw.counters("deliverd")
        # fetched: block good testing change(3) html big redir badcert
        # hang; failed: change3 (500) html big redir badcert hang; in
        # force: block good testing change untrusted notls
        assert c.get("mta_sts_policies") == 6, c     # + untrusted, notls
        assert c.get("mta_sts_fetches", 0) >= 11, c
        assert c.get("mta_sts_fetch_failures", 0) == 6, c
        assert c.get("mta_sts_hosts_refused", 0) >= 1, c
        assert c.get("mta_sts_lookups", 0) >= 12, c
    t.run("bwctl status: the mta_sts counters", counters)


def serve_zone(bw, nsbox, certdir, old, new):
    """Serve the zone with old replaced by new, on the same port."""
    with open(ZONE) as f:
        text = f.read()
    path = os.path.join(certdir, "zone-%s.data" % new.replace("=", "-"))
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    port = nsbox[0].port
    nsbox[0].stop()
    nsbox[0] = TestNSAt(bw.logdir, path, port)


if __name__ == "__main__":
    main()
