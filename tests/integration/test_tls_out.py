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
import time

import bwtest
import peers
from tlsrecv import Receiver, make_ca, make_leaf

TESTNS = peers.TESTNS
D = ".tls.test"
NET = "127.0.22."

t = bwtest.TAP()


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
