#!/usr/bin/python3
"""DANE for outbound SMTP (RFC 7672) behind a real validating resolver.

NSD serves two zones written by the test on a loopback port: dane.test,
signed with ldns-signzone (its DS is Unbound's trust anchor), and
plain.test, unsigned (insecure: no anchor above it).  Unbound validates,
with both zones as stub zones on NSD; dnscached asks Unbound
(dns_servers 127.0.0.1:PORT, dns_upstream_validates yes).

dnscached: a DNSSEC question (BW_DNS_QF_DNSSEC) of the signed zone is
answered BW_DNS_ANSF_SECURE, of the unsigned one not; the same question
without the flag is never secure and is cached apart; an answer of a
zone signed with another key than the anchor (bogus) is SERVFAIL; a TLSA
record of absurd size (3 1 0 with 8 KB of data) comes back cut and
flagged, logged once however often it is asked; with
dns_upstream_validates no (a reload) nothing is secure.

Delivery (destinations under tls dane; MX hosts at 127.0.23.x:25, TLS
receivers with certificates made by the test): a matching DANE-EE record
(3 1 1 of the receiver's key) delivers with verify=dane-ee; a DANE-TA
record (2 0 1 of the test CA) delivers with verify=dane-ta; a
mismatching record defers (the message stays queued, the reason
logged); DANE-EE ignores the certificate's names, DANE-TA checks them
(the MX host or the next-hop domain); an unsigned zone falls back to
opportunistic TLS; TLSA present but no STARTTLS offered defers; the
absurd TLSA record leaves the host with no usable record: TLS without
authentication (RFC 7672 2.2), and the other domains deliver meanwhile;
a bogus zone defers; a secure host whose TLSA lookup fails (a CNAME
into the bogus zone) is never connected to and the message defers 4.7.5.
"""

import os
import re
import smtplib
import subprocess
import time

import bwtest
import peers
import tlsrecv
from test_dns import DnsClient

T_A, T_MX, T_TLSA = 1, 15, 52
QF_DNSSEC = 0x0001
ANSF_CACHED, ANSF_SECURE = 0x02, 0x04
RRF_TRUNCATED = 0x01
BIG_TLSA_OCTETS = 8192
NET = "127.0.23."       # this test's fixed addresses (out-spec.md)

t = bwtest.TAP()


# ---- zones, keys and certificates ----

def openssl(*args, inp=None):
    return subprocess.run(["openssl"] + list(args), input=inp,
                          capture_output=True, check=True, timeout=60).stdout


def make_pki(d):
    """A test CA and one server certificate (every MX name of the test in
    its subjectAltName), chain file = server + CA.  Returns a dict of
    paths and the TLSA digests: ee (3 1 1: SHA-256 of the server's
    SubjectPublicKeyInfo), ta (2 0 1: SHA-256 of the CA certificate)."""
    p = {k: os.path.join(d, k) for k in
         ("ca.key", "ca.crt", "srv.key", "srv.csr", "srv.crt", "chain.pem",
          "ext.cnf")}
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", p["ca.key"],
            "-out", p["ca.crt"], "-days", "2", "-subj", "/CN=Breakwater "
            "test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(p["ext.cnf"], "w") as f:
        f.write("subjectAltName=DNS:mx-ee.dane.test,DNS:mx-ta.dane.test,"
                "DNS:mx-bad.dane.test,DNS:mx-big.dane.test,"
                "DNS:mx-notls.dane.test,DNS:mx.plain.test\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", p["srv.key"], "-out", p["srv.csr"],
            "-subj", "/CN=mx-ee.dane.test")
    openssl("x509", "-req", "-in", p["srv.csr"], "-CA", p["ca.crt"],
            "-CAkey", p["ca.key"], "-CAcreateserial", "-days", "2",
            "-extfile", p["ext.cnf"], "-out", p["srv.crt"])
    with open(p["chain.pem"], "w") as f:
        for k in ("srv.crt", "ca.crt"):
            with open(p[k]) as c:
                f.write(c.read())
    spki = openssl("pkey", "-in", p["srv.key"], "-pubout", "-outform",
                   "DER")
    p["ee"] = openssl("dgst", "-sha256", "-r", inp=spki).split()[0].decode()
    cader = openssl("x509", "-in", p["ca.crt"], "-outform", "DER")
    p["ta"] = openssl("dgst", "-sha256", "-r", inp=cader).split()[0].decode()
    return p


SOA = """$TTL 300
@ IN SOA ns.%(o)s. hostmaster.%(o)s. 1 3600 600 86400 300
@ IN NS ns.%(o)s.
ns IN A 127.0.0.1
"""


def dane_zone(pki):
    wrong = "00" * 32
    big = "ab" * BIG_TLSA_OCTETS
    return (SOA % {"o": "dane.test"} + """
ee      IN MX 10 mx-ee.dane.test.
other   IN MX 10 mx-ee.dane.test.
ta      IN MX 10 mx-ta.dane.test.
bad     IN MX 10 mx-bad.dane.test.
notls   IN MX 10 mx-notls.dane.test.
big     IN MX 10 mx-big.dane.test.
fail    IN MX 10 mx-fail.dane.test.
eename  IN MX 10 mx-eename.dane.test.
taname  IN MX 10 mx-taname.dane.test.
mx-ee   IN A %(n)s1
mx-ta   IN A %(n)s2
mx-bad  IN A %(n)s3
mx-notls IN A %(n)s4
mx-big  IN A %(n)s5
mx-fail IN A %(n)s7
mx-eename IN A %(n)s8
mx-taname IN A %(n)s9
_25._tcp.mx-ee    IN TLSA 3 1 1 %(ee)s
_25._tcp.mx-ta    IN TLSA 2 0 1 %(ta)s
_25._tcp.mx-bad   IN TLSA 3 1 1 %(wrong)s
_25._tcp.mx-notls IN TLSA 3 1 1 %(ee)s
_25._tcp.mx-big   IN TLSA 3 1 0 %(big)s
_25._tcp.mx-fail  IN CNAME tlsa.bogus.test.
_25._tcp.mx-eename IN TLSA 3 1 1 %(ee)s
_25._tcp.mx-taname IN TLSA 2 0 1 %(ta)s
""" % {"n": NET, "ee": pki["ee"], "ta": pki["ta"], "wrong": wrong,
       "big": big})


def plain_zone():
    return SOA % {"o": "plain.test"} + """
@   IN MX 10 mx.plain.test.
mx  IN A %s6
""" % NET


def bogus_zone():
    return SOA % {"o": "bogus.test"} + """
@   IN MX 10 mx.bogus.test.
mx  IN A %s1
_25._tcp.mx IN TLSA 3 1 1 %s
tlsa IN TLSA 3 1 1 %s
""" % (NET, "00" * 32, "00" * 32)


class Dns:
    """NSD with the three zones, Unbound in front of it."""

    def __init__(self, base, pki):
        d = os.path.join(base, "dns")
        os.makedirs(d, exist_ok=True)
        zones = {}
        for origin, text in (("dane.test", dane_zone(pki)),
                             ("plain.test", plain_zone()),
                             ("bogus.test", bogus_zone())):
            path = os.path.join(d, origin + ".zone")
            with open(path, "w") as f:
                f.write("$ORIGIN %s.\n" % origin + text)
            zones[origin] = path
        zones["dane.test"], anchor = peers.sign_zone(d, "dane.test",
                                                     zones["dane.test"])
        # signed, but Unbound's anchor is another key's DS: bogus
        zones["bogus.test"], _ = peers.sign_zone(d, "bogus.test",
                                                 zones["bogus.test"])
        other = os.path.join(d, "other.zone")
        with open(other, "w") as f:
            f.write("$ORIGIN bogus.test.\n" + bogus_zone())
        _, wrong_anchor = peers.sign_zone(d, "bogus.test", other)
        self.nsd = peers.Nsd(os.path.join(d, "nsd"), zones)
        try:
            self.unbound = peers.Unbound(
                os.path.join(d, "unbound"),
                {o: self.nsd.port for o in zones}, [anchor, wrong_anchor])
        except Exception:
            self.nsd.stop()
            raise

    def stop(self):
        self.unbound.stop()
        self.nsd.stop()


def config(bw, dns, validates="yes"):
    return bwtest.default_config(bw, extra="""
deliverd_workers 1
dns_servers 127.0.0.1:%d
dns_upstream_validates %s
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 3s

bounce_profile default {
    retry_initial 10m
    retry_max 10m
    max_age 1h
}

destination dane.test *.dane.test plain.test bogus.test {
    tls dane
}
""" % (dns.unbound.port, validates))


# ---- receivers ----

class Receiver(tlsrecv.Receiver):
    """tlsrecv's STARTTLS receiver on addr:25 with the server certificate
    and the CA in its chain (pki), or without STARTTLS (pki None); mails()
    pairs each mail with the TLS version of its session."""

    def __init__(self, addr, name, pki=None):
        super().__init__(addr, name, cert=None if pki is None else
                         (pki["chain.pem"], pki["srv.key"]))

    @property
    def nconn(self):
        with self.lock:
            return len(self.sessions)

    def mails(self):
        with self.lock:
            return [(s["tls"], m) for s in self.sessions
                    for m in s["mails"]]


# ---- delivery helpers ----

def send(bw, rcpt):
    msg = ("From: <s@origin.example>\r\nTo: <%s>\r\nSubject: dane\r\n"
           "Message-ID: <%f@origin.example>\r\n\r\nhello\r\n"
           % (rcpt, time.time()))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        c.sendmail("", [rcpt], msg)


def line_of(bw, rcpt):
    lines = [ln for ln in bw.log("queued").splitlines()
             if "to=<%s>" % rcpt in ln]
    return lines[-1] if lines else ""


def delivered(bw, x, rcpt, verify):
    """rcpt arrived at x over TLS, the log line names the verify word."""
    bwtest.wait_for(lambda: any(rcpt in m[1][1] for m in x.mails()), 30,
                    what="%s at %s (deliverd: %s)" % (
                        rcpt, x.name, bw.log_tail("deliverd", 8)))
    assert all(m[0] for m in x.mails() if rcpt in m[1][1]), x.mails()
    bw.wait_log("queued", r"to=<%s> .*status=sent" % re.escape(rcpt), 20)
    ln = line_of(bw, rcpt)
    assert re.search(r" tls=TLSv1\.[23] cipher=\S+ verify=%s " % verify,
                     ln), ln
    return ln


def deferred(bw, x, rcpt, reason_rx):
    """rcpt deferred with reason_rx in queued's log and bwctl show
    message, still queued; x never got a MAIL."""
    bw.wait_log("queued", r"to=<%s> .*status=deferred .*%s" % (
        re.escape(rcpt), reason_rx), 30)
    m = re.search(r"([0-9A-F]{16}) to=<%s>" % re.escape(rcpt),
                  bw.log("queued"))
    info = bw.bwctl("show", "message", m.group(1), json_out=True)
    assert info["recipients"][0]["state"] in ("queued", "deferred"), info
    assert re.search(reason_rx, info["recipients"][0]["last_reply"]), info
    if x is not None:
        assert "MAIL" not in x.commands(), x.commands()
    return line_of(bw, rcpt)


# ---- dnscached cases ----

def check_secure(c):
    a = c.lookup("_25._tcp.mx-ee.dane.test", T_TLSA, QF_DNSSEC)
    assert a["status"] == "OK" and a["flags"] & ANSF_SECURE, a
    assert a["rrs"][0][3].startswith("3 1 1 "), a
    a = c.lookup("ee.dane.test", T_MX, QF_DNSSEC)
    assert a["status"] == "OK" and a["flags"] & ANSF_SECURE, a
    a = c.lookup("mx-ee.dane.test", T_A, QF_DNSSEC)
    assert a["status"] == "OK" and a["flags"] & ANSF_SECURE, a
    # a secure denial: no TLSA record at the name
    a = c.lookup("_25._tcp.nothere.dane.test", T_TLSA, QF_DNSSEC)
    assert a["status"] == "NXDOMAIN" and a["flags"] & ANSF_SECURE, a


def check_insecure(c):
    a = c.lookup("plain.test", T_MX, QF_DNSSEC)
    assert a["status"] == "OK" and not a["flags"] & ANSF_SECURE, a
    a = c.lookup("mx.plain.test", T_A, QF_DNSSEC)
    assert a["status"] == "OK" and not a["flags"] & ANSF_SECURE, a


def check_apart(c):
    """The plain question is never secure, and is cached apart: the
    DNSSEC answer (cached above) does not answer it, nor the other way."""
    a = c.lookup("mx-ta.dane.test", T_A)
    assert a["status"] == "OK" and a["flags"] == 0, a
    a = c.lookup("mx-ta.dane.test", T_A, QF_DNSSEC)
    assert a["status"] == "OK" and a["flags"] == ANSF_SECURE, a
    a = c.lookup("mx-ta.dane.test", T_A)
    assert a["flags"] == ANSF_CACHED, a
    a = c.lookup("mx-ta.dane.test", T_A, QF_DNSSEC)
    assert a["flags"] == ANSF_CACHED | ANSF_SECURE, a


def check_bogus(c):
    a = c.lookup("_25._tcp.mx.bogus.test", T_TLSA, QF_DNSSEC)
    assert a["status"] == "SERVFAIL", a
    a = c.lookup("bogus.test", T_MX, QF_DNSSEC)
    assert a["status"] == "SERVFAIL", a


def cut_lines(bw):
    return len(re.findall(r"name=_25\._tcp\.mx-big\.dane\.test type=TLSA: "
                          r"1 record longer than", bw.log("dnscached")))


def check_big_tlsa(bw, c):
    for _ in range(5):
        a = c.lookup("_25._tcp.mx-big.dane.test", T_TLSA, QF_DNSSEC)
        assert a["status"] == "OK" and a["flags"] & ANSF_SECURE, a
        assert a["rrflags"] == [RRF_TRUNCATED], a
        assert len(a["rrs"][0][3]) < 1024, len(a["rrs"][0][3])
    bwtest.wait_for(lambda: cut_lines(bw) >= 1, 5, what="the cut logged")
    assert cut_lines(bw) == 1, bw.log("dnscached")[-2000:]
    # other lookups are served meanwhile
    a = c.lookup("_25._tcp.mx-ta.dane.test", T_TLSA, QF_DNSSEC)
    assert a["status"] == "OK" and a["flags"] & ANSF_SECURE, a


def check_not_validating(bw, dns, c):
    """dns_upstream_validates no: the AD bit is ignored, cached answers
    included (a reload takes effect at once)."""
    bw.write_config(config(bw, dns, validates="no"))
    bw.bwctl("config", "reload")
    bwtest.wait_for(lambda: c.lookup("_25._tcp.mx-ee.dane.test", T_TLSA,
                                     QF_DNSSEC)["flags"] & ANSF_SECURE == 0,
                    10, what="secure flag gone after the reload")
    a = c.lookup("ee.dane.test", T_MX, QF_DNSSEC)
    assert a["status"] == "OK" and not a["flags"] & ANSF_SECURE, a
    bw.write_config(config(bw, dns))
    bw.bwctl("config", "reload")
    bwtest.wait_for(lambda: c.lookup("ee.dane.test", T_MX,
                                     QF_DNSSEC)["flags"] & ANSF_SECURE, 10,
                    what="secure flag back after the reload")


def dns_cases(bw, dns):
    c = DnsClient(bw)
    try:
        t.run("dnscached: signed zone answers are secure", check_secure, c)
        t.run("dnscached: unsigned zone answers are not", check_insecure, c)
        t.run("dnscached: plain and DNSSEC questions cached apart",
              check_apart, c)
        t.run("dnscached: a bogus zone is SERVFAIL", check_bogus, c)
        t.run("dnscached: absurd TLSA record cut, flagged, logged once",
              check_big_tlsa, bw, c)
        t.run("dnscached: dns_upstream_validates no ignores the AD bit",
              check_not_validating, bw, dns, c)
    finally:
        c.close()


# ---- delivery cases ----

def delivery_cases(bw, rx):
    def ee():
        delivered(bw, rx["ee"], "u@ee.dane.test", "dane-ee")

    def ta():
        delivered(bw, rx["ta"], "u@ta.dane.test", "dane-ta")

    def mismatch():
        ln = deferred(bw, rx["bad"], "u@bad.dane.test", "TLSA mismatch")
        assert "verify=fail" in ln or "tls=" in ln, ln

    def insecure():
        # unsigned zone: no DANE, opportunistic TLS (RFC 7672 2.2)
        delivered(bw, rx["plain"], "u@plain.test", "none")

    def notls():
        deferred(bw, rx["notls"], "u@notls.dane.test", "not offered")

    def big():
        # the absurd record is unusable, the TLSA RRset secure: TLS
        # without authentication (RFC 7672 2.2), and others go meanwhile
        delivered(bw, rx["big"], "u@big.dane.test", "none")
        delivered(bw, rx["ee"], "u@other.dane.test", "dane-ee")
        n = len(re.findall(r"host=mx-big\.dane\.test: 1 TLSA record not "
                           r"usable \(too large\)", bw.log("deliverd")))
        assert n == 1, bw.log("deliverd")[-3000:]

    def ee_names():
        # DANE-EE: the key is the identity; the certificate does not
        # name mx-eename (RFC 7672 3.1.1)
        delivered(bw, rx["eename"], "u@eename.dane.test", "dane-ee")

    def ta_names():
        # DANE-TA: the chain is the CA's, but the certificate names
        # neither mx-taname nor taname.dane.test (3.2.2)
        deferred(bw, rx["taname"], "u@taname.dane.test",
                 "TLSA|name mismatch")

    def bogus():
        deferred(bw, None, "u@bogus.test", "SERVFAIL")

    def tlsa_fails():
        # a secure host whose TLSA lookup fails (the CNAME leads into
        # the bogus zone): not used at all, never without DANE
        ln = deferred(bw, rx["fail"], "u@fail.dane.test",
                      r"TLSA lookup for _25\._tcp\.mx-fail\.dane\.test "
                      r"failed \(servfail\)")
        assert "dsn=4.7.5" in ln, ln
        assert rx["fail"].nconn == 0, rx["fail"].commands()

    for rcpt in ("u@ee.dane.test", "u@ta.dane.test", "u@bad.dane.test",
                 "u@plain.test", "u@notls.dane.test", "u@big.dane.test",
                 "u@other.dane.test", "u@bogus.test", "u@fail.dane.test",
                 "u@eename.dane.test", "u@taname.dane.test"):
        send(bw, rcpt)
    t.run("DANE-EE (3 1 1) matches: delivered, verify=dane-ee", ee)
    t.run("DANE-TA (2 0 1 of the CA) matches: delivered, verify=dane-ta",
          ta)
    t.run("mismatching TLSA: deferred, reason logged, no MAIL", mismatch)
    t.run("unsigned zone: opportunistic TLS, verify=none", insecure)
    t.run("TLSA present, no STARTTLS offered: deferred, never plaintext",
          notls)
    t.run("absurd TLSA record: unusable, logged once, encrypt; other "
          "domains deliver", big)
    t.run("DANE-EE ignores the certificate's names", ee_names)
    t.run("DANE-TA checks them: a name not in the certificate defers",
          ta_names)
    t.run("bogus zone: deferred", bogus)
    t.run("TLSA lookup of a secure host fails: host not used, deferred",
          tlsa_fails)


def main():
    missing = peers.dnssec_tools_missing()
    if missing:
        t.skip("DANE", "%s not installed" % missing)
        t.done()
    if os.geteuid() != 0:
        t.skip("DANE", "needs root for MX hosts on port 25")
        t.done()
    recv = []
    with bwtest.Breakwater("dane") as bw:
        pki = make_pki(bw.base)
        dns = Dns(bw.base, pki)
        try:
            for k, n, host, tls in (("ee", "1", "mx-ee.dane.test", True),
                                    ("ta", "2", "mx-ta.dane.test", True),
                                    ("bad", "3", "mx-bad.dane.test", True),
                                    ("notls", "4", "mx-notls.dane.test",
                                     False),
                                    ("big", "5", "mx-big.dane.test", True),
                                    ("plain", "6", "mx.plain.test", True),
                                    ("fail", "7", "mx-fail.dane.test",
                                     True),
                                    ("eename", "8", "mx-eename.dane.test",
                                     True),
                                    ("taname", "9", "mx-taname.dane.test",
                                     True)):
                recv.append((k, Receiver(NET + n, host,
                                         pki if tls else None)))
            rx = dict(recv)
            bw.write_config(config(bw, dns))
            bw.start()
            dns_cases(bw, dns)
            delivery_cases(bw, rx)
        finally:
            for _, x in recv:
                x.stop()
            dns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
