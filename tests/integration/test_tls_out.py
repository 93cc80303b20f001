#!/usr/bin/python3
"""Outbound TLS policy of deliverd against real receivers.

Every daemon runs; dnscached asks ldns-testns, which serves a zone this
test writes (MX hosts on 127.0.22.x port 25, root needed).  The receivers
are small threaded SMTP servers in this file (Python's ssl module, so they
speak STARTTLS with certificates the test makes with the openssl CLI: a
test CA, leaf certificates for the MX names, one for a wrong name, one
signed by a second CA nobody trusts, a wildcard); each records whether the
client sent STARTTLS, the TLS version it got and the mail.

Cases (the tls keyword per destination block, tls_ca_file the test CA):
  may:      delivers over TLS, the delivery log line names version, cipher
            and verify=none; a receiver without STARTTLS gets the mail in
            clear and the line says tls=none.
  none:     the receiver offers STARTTLS and never sees it.
  encrypt:  a receiver without STARTTLS gets no MAIL; the message stays
            queued, deferred 4.7.5 with the reason in the log, bwctl show
            message and show domain; a receiver with a self-signed
            certificate gets the mail (verify=none).
  verify:   the right name signed by tls_ca_file delivers with verify=ok, a
            wildcard certificate too (RFC 6125); a wrong name and an
            untrusted CA defer with the reason; a first MX with a wrong
            name is skipped for the second.
  bad input: a receiver that says 220 to STARTTLS and then never answers
            the ClientHello (bounded by deliver_timeout_command, one log
            line, then plaintext at may), one that sends SMTP text instead
            of a ServerHello (at encrypt: the host fails, the message is
            deferred, never sent in clear).
  status:   the TLS failure counters by kind in bwctl status.
  reload:   the CA file rewritten (the second CA added) and bwctl config
            reload: the deferred message goes out with verify=ok.
"""

import os
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import bwtest
import peers

TESTNS = peers.TESTNS
D = ".tls.test"
NET = "127.0.22."

t = bwtest.TAP()


# -- certificates -------------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
            "-out", crt, "-days", "2", "-subj", "/CN=%s test CA" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def make_leaf(d, tag, dns, ca):
    """A certificate for the DNS name dns signed by ca (crt, key)."""
    key = os.path.join(d, tag + ".key")
    csr = os.path.join(d, tag + ".csr")
    crt = os.path.join(d, tag + ".pem")
    ext = os.path.join(d, tag + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % dns)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=%s" % dns)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key


# -- receivers ----------------------------------------------------------------

class Receiver(threading.Thread):
    """An SMTP server on addr:25.  cert: (crt, key) offers STARTTLS with it;
    mode "stall": 220 to STARTTLS, then silence; "garbage": 220, then SMTP
    text instead of a ServerHello."""

    def __init__(self, addr, name, cert=None, mode="ok"):
        super().__init__(daemon=True)
        self.addr, self.name, self.mode = addr, name, mode
        self.ctx = None
        if cert is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert[0], cert[1])
        self.sessions = []      # {"starttls", "tls", "mails", "cmds"}
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, 25))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,),
                             daemon=True).start()

    def mails(self):
        with self.lock:
            return [m for s in self.sessions for m in s["mails"]]

    def session(self, c):
        st = {"starttls": False, "tls": None, "cipher": None, "mails": [],
              "cmds": []}
        with self.lock:
            self.sessions.append(st)
        c.settimeout(30)
        try:
            self.dialogue(c, st)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            c.close()

    def dialogue(self, c, st):
        f = c.makefile("rwb")

        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        reply("220 %s ESMTP test receiver" % self.name)
        mail, rcpts = None, []
        for _ in range(1000):
            line = f.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            st["cmds"].append(verb)
            if verb == "EHLO":
                ext = ["250-%s" % self.name, "250-PIPELINING",
                       "250-8BITMIME"]
                if self.ctx is not None and st["tls"] is None:
                    ext.append("250-STARTTLS")
                ext.append("250 ENHANCEDSTATUSCODES")
                reply("\r\n".join(ext))
            elif verb == "HELO":
                reply("250 %s" % self.name)
            elif verb == "STARTTLS" and self.ctx is not None:
                st["starttls"] = True
                reply("220 2.0.0 go ahead")
                if self.mode == "stall":
                    c.settimeout(60)
                    while c.recv(4096):     # the ClientHello, unanswered
                        pass
                    return
                if self.mode == "garbage":
                    c.recv(4096)
                    c.sendall(b"220 this is no ServerHello\r\n" * 40)
                    c.settimeout(10)
                    while c.recv(4096):
                        pass
                    return
                c = self.ctx.wrap_socket(c, server_side=True)
                st["tls"] = c.version()
                st["cipher"] = c.cipher()[0]
                f = c.makefile("rwb")
            elif verb == "MAIL":
                mail, rcpts = cmd, []
                reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                reply("250 2.1.5 ok")
            elif verb == "DATA":
                reply("354 go ahead")
                data = []
                while True:
                    ln = f.readline(65536)
                    if not ln or ln == b".\r\n":
                        break
                    data.append(ln)
                with self.lock:
                    st["mails"].append((mail, rcpts, b"".join(data)))
                reply("250 2.0.0 ok queued")
            elif verb == "RSET":
                mail, rcpts = None, []
                reply("250 2.0.0 ok")
            elif verb == "QUIT":
                reply("221 2.0.0 bye")
                return
            else:
                reply("502 5.5.1 unknown")

    def stop(self):
        self.stopping = True
        self.join(5)
        self.ls.close()


# -- the zone -----------------------------------------------------------------

def entry(qname, qtype, answer=None, authority=None):
    out = ["ENTRY_BEGIN", "MATCH opcode qtype qname", "ADJUST copy_id",
           "REPLY QR AA RD RA NOERROR", "SECTION QUESTION",
           "%s. IN %s" % (qname, qtype)]
    if answer:
        out += ["SECTION ANSWER"] + answer
    if authority:
        out += ["SECTION AUTHORITY", authority]
    return "\n".join(out + ["ENTRY_END", ""])


def zone(domains):
    """domains: {domain: [(pref, host, addr)]}: MX, A, AAAA (NODATA)."""
    soa = "tls.test. 600 IN SOA ns.tls.test. hostmaster.tls.test. 1 3600 " \
          "600 86400 60"
    text = []
    for dom, mxs in domains.items():
        text.append(entry(dom, "MX", ["%s. 300 IN MX %d %s." % (dom, p, h)
                                      for p, h, _ in mxs]))
        for _, h, a in mxs:
            text.append(entry(h, "A", ["%s. 300 IN A %s" % (h, a)]))
            text.append(entry(h, "AAAA", authority=soa))
    return "\n".join(text)


# -- helpers --------------------------------------------------------------------

def send(bw, rcpt, subject):
    msg = ("From: <s@origin.tls.test>\r\nTo: <%s>\r\nSubject: %s\r\n"
           "Message-ID: <%f@origin.tls.test>\r\n\r\nhello\r\n"
           % (rcpt, subject, time.time()))
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as c:
        c.sendmail("", [rcpt], msg)


def qid_of(bw, rcpt):
    """The queue id of the (only) message to rcpt in queued's log."""
    m = re.search(r"([0-9A-F]{16}) to=<%s>" % re.escape(rcpt),
                  bw.log("queued"))
    return m.group(1) if m else None


def line_of(bw, rcpt):
    lines = [ln for ln in bw.log("queued").splitlines()
             if "to=<%s>" % rcpt in ln]
    return lines[-1] if lines else ""


DOMAINS = {
    "may" + D: [(10, "mx.may" + D, NET + "11")],
    "plain" + D: [(10, "mx.plain" + D, NET + "12")],
    "none" + D: [(10, "mx.none" + D, NET + "13")],
    "encrypt" + D: [(10, "mx.encrypt" + D, NET + "14")],
    "encok" + D: [(10, "mx.encok" + D, NET + "15")],
    "verify" + D: [(10, "mx.verify" + D, NET + "16")],
    "wrongname" + D: [(10, "mx.wrongname" + D, NET + "17")],
    "untrusted" + D: [(10, "mx.untrusted" + D, NET + "18")],
    "wild" + D: [(10, "mx.wild" + D, NET + "19")],
    "fallback" + D: [(10, "mx1.fallback" + D, NET + "20"),
                     (20, "mx2.fallback" + D, NET + "21")],
    "stall" + D: [(10, "mx.stall" + D, NET + "22")],
    "garbage" + D: [(10, "mx.garbage" + D, NET + "23")],
}


def config_text(bw, nsport, ca):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(nsport)d
deliver_idle_keep 1s
deliver_timeout_connect 2s
deliver_timeout_greeting 3s
deliver_timeout_command 3s

bounce_profile default {
    retry_initial 10m
    retry_max 10m
    max_age 1h
}

destination none%(D)s {
    tls none
}
destination encrypt%(D)s encok%(D)s garbage%(D)s {
    tls encrypt
}
destination verify%(D)s wrongname%(D)s untrusted%(D)s wild%(D)s fallback%(D)s {
    tls verify
    tls_ca_file %(ca)s
}
""" % {"nsport": nsport, "D": D, "ca": ca}
    return bwtest.default_config(bw, extra=extra)


def main():
    for tool in (TESTNS,):
        if not os.path.exists(tool):
            t.skip("outbound TLS", "%s not installed" % tool)
            t.done()
    if os.geteuid() != 0:
        t.skip("outbound TLS", "needs root for MX hosts on port 25")
        t.done()
    recv = []
    with bwtest.Breakwater("tls_out") as bw:
        certs = os.path.join(bw.base, "certs")
        os.makedirs(certs)
        ca = make_ca(certs, "ca")
        evil = make_ca(certs, "evil")
        zpath = os.path.join(bw.base, "tls.data")
        with open(zpath, "w") as f:
            f.write(zone(DOMAINS))
        ns = peers.TestNS(bw.logdir, zpath)
        try:
            def r(n, host, cert_name=None, signer=None, mode="ok",
                  tls=True):
                cert = None
                if tls:
                    cert = make_leaf(certs, host, cert_name or host,
                                     signer or ca)
                x = Receiver(NET + n, host, cert, mode)
                recv.append(x)
                return x
            rx = {
                "may": r("11", "mx.may" + D),
                "plain": r("12", "mx.plain" + D, tls=False),
                "none": r("13", "mx.none" + D),
                "encrypt": r("14", "mx.encrypt" + D, tls=False),
                "encok": r("15", "mx.encok" + D, signer=evil),
                "verify": r("16", "mx.verify" + D),
                "wrongname": r("17", "mx.wrongname" + D,
                               cert_name="other.example"),
                "untrusted": r("18", "mx.untrusted" + D, signer=evil),
                "wild": r("19", "mx.wild" + D, cert_name="*.wild" + D),
                "fb1": r("20", "mx1.fallback" + D,
                         cert_name="mx9.fallback" + D),
                "fb2": r("21", "mx2.fallback" + D),
                "stall": r("22", "mx.stall" + D, mode="stall"),
                "garbage": r("23", "mx.garbage" + D, mode="garbage"),
            }
            # tls_ca_file: the test CA; the reload case adds the other
            trust = os.path.join(certs, "trust.pem")
            with open(ca[0]) as f, open(trust, "w") as o:
                o.write(f.read())
            bw.write_config(config_text(bw, ns.port, trust))
            bw.start()
            cases(bw, rx)
            reload_case(bw, rx, trust, evil)
        finally:
            for x in recv:
                x.stop()
            ns.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def delivered(bw, x, rcpt, what):
    bwtest.wait_for(lambda: any(rcpt in m[1] for m in x.mails()), 20,
                    what="%s at %s (deliverd: %s)" % (
                        rcpt, what, bw.log_tail("deliverd", 8)))
    bw.wait_log("queued", r"to=<%s> .*status=sent" % re.escape(rcpt))
    return line_of(bw, rcpt)


def deferred(bw, rcpt, reason_rx):
    """rcpt deferred 4.7.5 with reason_rx in the log, show message and
    show domain; returns the log line."""
    bw.wait_log("queued", r"to=<%s> .*dsn=4\.7\.5 status=deferred "
                r"\(TLS policy not met: .*%s" % (re.escape(rcpt), reason_rx),
                20)
    qid = qid_of(bw, rcpt)
    m = bw.bwctl("show", "message", qid, json_out=True)
    reply = m["recipients"][0]["last_reply"]
    assert re.search(reason_rx, reply), m
    assert m["recipients"][0]["state"] == "queued", m
    dom = rcpt.split("@", 1)[1]
    d = bw.bwctl("show", "domain", dom, json_out=True)
    errs = " | ".join(h["last_error"] for h in d["hosts"])
    assert re.search(reason_rx, errs), d
    return line_of(bw, rcpt)


def cases(bw, rx):
    def may_tls():
        send(bw, "a@may" + D, "may")
        line = delivered(bw, rx["may"], "a@may" + D, "mx.may")
        s = rx["may"].sessions[0]
        assert s["starttls"] and s["tls"] in ("TLSv1.3", "TLSv1.2"), s
        assert "tls=%s cipher=%s verify=none" % (s["tls"], s["cipher"]) \
            in line, line
    t.run("may: delivered over TLS, log names version, cipher, verify=none",
          may_tls)

    def may_plain():
        send(bw, "a@plain" + D, "plain")
        line = delivered(bw, rx["plain"], "a@plain" + D, "mx.plain")
        assert " tls=none " in line, line
        assert not rx["plain"].sessions[0]["starttls"]
    t.run("may: a receiver without STARTTLS gets the mail in clear, "
          "tls=none", may_plain)

    def none():
        send(bw, "a@none" + D, "none")
        line = delivered(bw, rx["none"], "a@none" + D, "mx.none")
        assert " tls=none " in line, line
        assert all("STARTTLS" not in s["cmds"]
                   for s in rx["none"].sessions), rx["none"].sessions
    t.run("none: STARTTLS offered and never sent", none)

    def encrypt_defers():
        send(bw, "a@encrypt" + D, "encrypt")
        line = deferred(bw, "a@encrypt" + D,
                        r"TLS required but not offered by "
                        r"mx\.encrypt\.tls\.test")
        assert " tls=none " in line, line
        assert not rx["encrypt"].mails(), rx["encrypt"].mails()
        assert all("MAIL" not in s["cmds"]
                   for s in rx["encrypt"].sessions), rx["encrypt"].sessions
        bw.wait_log("deliverd", r"domain=encrypt\.tls\.test .*TLS encrypt "
                    r"\(config\) not met: TLS required but not offered")
    t.run("encrypt: no STARTTLS at the receiver -> deferred 4.7.5, stays "
          "queued, reason in log, show message, show domain",
          encrypt_defers)

    def encrypt_ok():
        send(bw, "a@encok" + D, "encok")
        line = delivered(bw, rx["encok"], "a@encok" + D, "mx.encok")
        assert re.search(r" tls=TLSv1\.[23] cipher=\S+ verify=none ",
                         line), line
    t.run("encrypt: an untrusted certificate is fine, delivered "
          "verify=none", encrypt_ok)

    def verify_ok():
        send(bw, "a@verify" + D, "verify")
        line = delivered(bw, rx["verify"], "a@verify" + D, "mx.verify")
        assert re.search(r" tls=TLSv1\.[23] cipher=\S+ verify=ok ", line), \
            line
    t.run("verify: the MX name signed by tls_ca_file -> verify=ok",
          verify_ok)

    def verify_wild():
        send(bw, "a@wild" + D, "wild")
        line = delivered(bw, rx["wild"], "a@wild" + D, "mx.wild")
        assert " verify=ok " in line, line
    t.run("verify: a wildcard certificate *.wild.tls.test -> verify=ok",
          verify_wild)

    def verify_name():
        send(bw, "a@wrongname" + D, "wrongname")
        deferred(bw, "a@wrongname" + D, r"certificate name mismatch")
        assert not rx["wrongname"].mails()
        s = rx["wrongname"].sessions[0]
        assert s["starttls"] and s["tls"], s
        assert "MAIL" not in s["cmds"], s
    t.run("verify: a wrong name defers 4.7.5 'certificate name mismatch', "
          "no MAIL sent", verify_name)

    def verify_ca():
        send(bw, "a@untrusted" + D, "untrusted")
        deferred(bw, "a@untrusted" + D, r"certificate not trusted")
        assert not rx["untrusted"].mails()
    t.run("verify: a certificate of an untrusted CA defers 4.7.5", verify_ca)

    def verify_next_mx():
        send(bw, "a@fallback" + D, "fallback")
        line = delivered(bw, rx["fb2"], "a@fallback" + D, "mx2.fallback")
        assert "mx2.fallback.tls.test" in line and " verify=ok " in line, \
            line
        assert not rx["fb1"].mails()
        assert rx["fb1"].sessions and rx["fb1"].sessions[0]["tls"], \
            rx["fb1"].sessions
    t.run("verify: a first MX with a wrong name is skipped for the next",
          verify_next_mx)

    def stall():
        t0 = time.monotonic()
        send(bw, "a@stall" + D, "stall")
        line = delivered(bw, rx["stall"], "a@stall" + D, "mx.stall")
        took = time.monotonic() - t0
        assert " tls=none " in line, line
        assert took < 15, took
        n = len(re.findall(r"relay=mx\.stall\.tls\.test\S* TLS handshake "
                           r"failed \(timeout", bw.log("deliverd")))
        assert n == 1, bw.log_tail("deliverd", 20)
        assert rx["stall"].sessions[0]["starttls"]
        assert not rx["stall"].sessions[-1]["starttls"]
    t.run("bad input: a handshake that never completes: bounded by the "
          "command timeout, logged once, then plaintext at may", stall)

    def garbage():
        send(bw, "a@garbage" + D, "garbage")
        deferred(bw, "a@garbage" + D, r"TLS handshake failed")
        assert not rx["garbage"].mails()
        assert all("MAIL" not in s["cmds"]
                   for s in rx["garbage"].sessions)
    t.run("bad input: SMTP text instead of a ServerHello at encrypt: "
          "deferred, never in clear", garbage)

    def counters():
        c = bw.counters("deliverd")
        assert c.get("tls_fail_not_offered", 0) >= 1, c
        assert c.get("tls_fail_name", 0) >= 2, c
        assert c.get("tls_fail_untrusted", 0) >= 1, c
        assert c.get("tls_fail_handshake", 0) >= 1, c
        assert c.get("tls_fallback_plaintext", 0) >= 1, c
        assert c.get("tls_sessions", 0) >= 6, c
    t.run("status: TLS failure counters by kind", counters)


def reload_case(bw, rx, trust, evil):
    def reload_ca():
        with open(evil[0]) as f, open(trust, "a") as o:
            o.write(f.read())
        bw.bwctl("config", "reload")
        bw.bwctl("retry", "untrusted" + D)
        line = delivered(bw, rx["untrusted"], "a@untrusted" + D,
                         "mx.untrusted")
        assert " verify=ok " in line, line
    t.run("reload: tls_ca_file read again by bwctl config reload (the "
          "untrusted CA added), the deferred message delivered verify=ok",
          reload_ca)


if __name__ == "__main__":
    main()
