#!/usr/bin/python3
"""The PROXY protocol (v1 and v2) on smtpd listeners, behind a real HAProxy.

HAProxy (Debian's package) runs in the foreground (-db) with a config of
its own in the test's directory, `mode tcp`, its frontends on 127.0.0.20
(and [::1]) ports, each backend a `server` line to one of smtpd's proxy
listeners with `source 127.0.0.9` (the balancer's address, the one
`proxy_from` names) and `send-proxy` (v1) or `send-proxy-v2`; it is
stopped by its pid.  Clients connect to it from their own loopback
addresses (127.0.0.3x: a bound socket, smtplib's source_address).  Mail
goes by a route to Postfix's smtp-sink, where the Received: header shows
which address smtpd took.  Where a balancer misbehaves, the test plays
the balancer itself: a raw socket bound to 127.0.0.9.

Cases: through HAProxy, v1, v2, an IPv6 client (::1) and v2 to an
implicit-TLS listener: the message carries the client's address in
Received: (not HAProxy's), and the connect line names the client and
`proxy=127.0.0.9`; smtpd_max_connections_per_ip counts the client, not
the balancer; a header written in pieces is taken; LOCAL (v2) and UNKNOWN
(v1) keep the balancer's address; relay_networks judges the carried
address; a client that is not a balancer is served as usual, and one that
sends a PROXY header (v1 after the banner, v2 at once) gets 554 and is
closed; a malformed header, a header cut in half (smtpd_proxy_timeout), a
v2 header with an absurd length and bytes behind a v1 header are closed,
each with one log line, while another client's message goes through;
bwctl status counts them; a reload turning proxy_protocol off, then on,
applies to new connections (an open session keeps going).

As root, one case also runs smtpd as production does (test_production.py's
start: no -b, chrooted, as _bwsmtpd) behind HAProxy (production_case());
it is skipped otherwise.
"""

import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import bwtest
import peers

t = bwtest.TAP()

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
BAL = "127.0.0.9"           # HAProxy's source address towards smtpd
FE = "127.0.0.20"           # HAProxy's frontends
PROXY_TIMEOUT_MS = 2000     # smtpd_proxy_timeout of the public listener
PER_IP = 2                  # smtpd_max_connections_per_ip of it
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
D = "example.org"

RELAY_PORT = bwtest.free_port()     # private, relays for 192.0.2.0/24
TLS_PORT = bwtest.free_port()       # public, implicit TLS
FE_PORTS = {name: bwtest.free_port(FE) for name in ("v1", "v2", "tls")}
FE6_PORT = bwtest.free_port()


def config_text(bw, sink_port, proxy="yes"):
    cert, key = bwtest.make_cert(bw.base)
    return """hostname mx.test.example
route example.org -> [127.0.0.1]:%(sink)d
route elsewhere.example -> [127.0.0.1]:%(sink)d
listener public {
    address 127.0.0.1
    port %(pub)d
    type public
    accept_domains example.org
    reverse_dns no
    proxy_protocol %(proxy)s
    proxy_from %(bal)s ::1
    smtpd_proxy_timeout %(pt)dms
    smtpd_max_connections_per_ip %(perip)d
}
listener private {
    address 127.0.0.1
    port %(priv)d
    type private
    relay_networks 127.0.0.0/8
}
listener relayproxy {
    address 127.0.0.1
    port %(relay)d
    type private
    relay_networks 192.0.2.0/24
    proxy_protocol yes
    proxy_from %(bal)s
}
listener tlsproxy {
    address 127.0.0.1
    port %(tls)d
    type public
    accept_domains example.org
    reverse_dns no
    tls implicit
    tls_cert %(cert)s
    tls_key %(key)s
    proxy_protocol yes
    proxy_from %(bal)s
}
""" % {"sink": sink_port, "pub": bw.public_port, "priv": bw.private_port,
       "relay": RELAY_PORT, "tls": TLS_PORT, "bal": BAL, "proxy": proxy,
       "pt": PROXY_TIMEOUT_MS, "perip": PER_IP, "cert": cert, "key": key}


class HAProxy:
    """haproxy -db with its own config: one frontend per entry of fronts,
    (name, host, port, smtpd port, "send-proxy" or "send-proxy-v2"), each
    to that smtpd listener from BAL."""

    def __init__(self, base, fronts):
        self.dir = os.path.join(base, "haproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        text = ["global", "    maxconn 200", "    nbthread 1",
                "defaults", "    mode tcp", "    timeout connect 5s",
                "    timeout client 60s", "    timeout server 60s"]
        for name, host, port, to_port, send in fronts:
            bind = "[%s]:%d" % (host, port) if ":" in host else \
                "%s:%d" % (host, port)
            text += ["frontend fe_%s" % name, "    bind %s" % bind,
                     "    default_backend be_%s" % name,
                     "backend be_%s" % name,
                     "    server smtpd 127.0.0.1:%d source %s %s" % (
                         to_port, BAL, send)]
        with open(self.cfg, "w") as f:
            f.write("\n".join(text) + "\n")
        r = subprocess.run([HAPROXY, "-c", "-f", self.cfg],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        self.log = open(os.path.join(self.dir, "haproxy.log"), "w")
        self.p = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        for name, host, port, _, _ in fronts:
            bwtest.wait_for(lambda h=host, p=port: self._up(h, p), 15,
                            what="haproxy on %s port %d" % (host, port))

    def _up(self, host, port):
        if self.p.poll() is not None:
            raise RuntimeError("haproxy exited with %s" % self.p.poll())
        return bwtest.port_open(port, host)

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=10)
        self.log.close()


# -- clients -------------------------------------------------------------

def connect(port, src, host="127.0.0.1", timeout=10):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def read_line(s, timeout=10):
    """One reply line, or b"" if the peer closed first."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n" not in buf:
        try:
            d = s.recv(1)
        except ConnectionResetError:
            return b""
        if not d:
            return buf
        buf += d
    return buf


def read_reply(s, timeout=10):
    """A whole (multi-line) reply: its last line."""
    while True:
        line = read_line(s, timeout)
        if len(line) < 4 or line[3:4] != b"-":
            return line


def until_closed(s, timeout=10):
    """Everything the server says until it closes; AssertionError if it
    keeps the connection open for timeout."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return data
            data += d
    except ConnectionResetError:
        return data
    except socket.timeout:
        raise AssertionError("still open after %ss; got %r" % (timeout,
                                                              data))


def still_open(s):
    s.setblocking(False)
    try:
        d = s.recv(1, socket.MSG_PEEK)
        return d != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def send_mail(host, port, src, tag, helo="client.example", ssl_ctx=None,
              rcpt="r@" + D):
    cls = smtplib.SMTP_SSL if ssl_ctx else smtplib.SMTP
    kw = {"context": ssl_ctx} if ssl_ctx else {}
    with cls(host, port, source_address=(src, 0), timeout=30, **kw) as c:
        c.ehlo(helo)
        c.sendmail("s@sender.example", [rcpt],
                   "Subject: %s\r\n\r\nproxy test\r\n" % tag)


# our Received: field of the message with Subject tag (peers.py)
received = peers.received


def connect_line(bw, addr, listener="public", proxy=BAL):
    rx = r"session=(\d+) connect addr=%s name=\S+ rdns=\S+ listener=%s%s " \
        r"score=" % (re.escape(addr), listener,
                     " proxy=" + re.escape(proxy) if proxy else "")
    bw.wait_log("smtpd", rx, timeout=15)
    return re.findall(rx, bw.log("smtpd"))[-1]


def refusal(bw, reason_rx, addr=BAL):
    """The disconnect line of a refused connection: its session id, after
    checking that it is the session's only line (no connect line)."""
    rx = r"session=(\d+) addr=%s disconnect reason=%s messages=0" % (
        re.escape(addr), reason_rx)
    bw.wait_log("smtpd", rx, timeout=15)
    sid = re.findall(rx, bw.log("smtpd"))[-1]
    lines = [ln for ln in bw.log("smtpd").splitlines()
             if re.search(r"\bsession=%s\b" % sid, ln)]
    assert len(lines) == 1, lines
    return sid


def smtp_session(s, tag, helo="raw.example", rcpt="r@" + D):
    """A whole message on a socket whose banner is yet to be read."""
    line = read_line(s)
    assert line.startswith(b"220 "), line
    for cmd, want in (("EHLO " + helo, b"250"),
                      ("MAIL FROM:<s@sender.example>", b"250"),
                      ("RCPT TO:<%s>" % rcpt, b"250"),
                      ("DATA", b"354")):
        s.sendall(cmd.encode() + b"\r\n")
        r = read_reply(s)
        assert r.startswith(want), (cmd, r)
    s.sendall(b"Subject: %s\r\n\r\nproxy test\r\n.\r\n" % tag.encode())
    r = read_reply(s)
    assert r.startswith(b"250"), r
    s.sendall(b"QUIT\r\n")
    read_line(s)


def v2_header(src, dst, sport=40000, dport=25, cmd=0x21, extra=b""):
    fam = 0x11 if "." in src else 0x21
    f = socket.AF_INET if "." in src else socket.AF_INET6
    body = socket.inet_pton(f, src) + socket.inet_pton(f, dst) + \
        sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + extra
    return V2_SIG + bytes([cmd, fam]) + len(body).to_bytes(2, "big") + body


# -- cases ---------------------------------------------------------------

def run_cases(bw, sink, hap):
    pub = bw.public_port

    def through(kind, src, host=FE):
        tag = "proxy-%s-%s" % (kind, src)
        port = FE6_PORT if kind == "v6" else FE_PORTS[kind]
        send_mail(host, port, src, tag)
        rcv = received(sink, tag)
        assert "[%s]" % src in rcv, rcv
        assert BAL not in rcv, rcv
        connect_line(bw, src)
    t.run("HAProxy send-proxy (v1): Received: and the connect line name "
          "the client, proxy=the balancer", through, "v1", "127.0.0.31")
    t.run("HAProxy send-proxy-v2 (v2): the same", through, "v2",
          "127.0.0.32")
    t.run("HAProxy on [::1], v2: an IPv6 client's address", through, "v6",
          "::1", "::1")

    def tls():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tag = "proxy-tls"
        send_mail(FE, FE_PORTS["tls"], "127.0.0.33", tag, ssl_ctx=ctx)
        rcv = received(sink, tag)
        assert "[127.0.0.33]" in rcv and "using TLS" in rcv, rcv
        connect_line(bw, "127.0.0.33", "tlsproxy")
    t.run("implicit TLS behind HAProxy (v2): the header, then the "
          "handshake; the client's address", tls)

    def per_ip():
        held = []
        try:
            for i in range(PER_IP):
                s = connect(FE_PORTS["v2"], "127.0.0.50", FE)
                held.append(s)
                assert read_line(s).startswith(b"220 ")
            s = connect(FE_PORTS["v2"], "127.0.0.50", FE)
            held.append(s)
            line = read_line(s)
            assert line.startswith(b"421 4.7.0") and \
                b"Too many connections" in line, line
            # the balancer itself holds PER_IP + 3 sessions now
            for i in range(3):
                s = connect(FE_PORTS["v2"], "127.0.0.5%d" % (i + 1), FE)
                held.append(s)
                line = read_line(s)
                assert line.startswith(b"220 "), (i, line)
            # more balancer connections than the limit, all waiting for
            # their header at once: none is refused at accept
            pend = [connect(pub, BAL) for _ in range(PER_IP + 2)]
            held += pend
            time.sleep(0.2)
            for i, s in enumerate(pend):
                s.sendall(b"PROXY TCP4 192.0.2.%d 127.0.0.1 1 25\r\n" %
                          (100 + i))
            for i, s in enumerate(pend):
                line = read_line(s)
                assert line.startswith(b"220 "), (i, line)
        finally:
            for s in held:
                s.close()
    t.run("smtpd_max_connections_per_ip counts the client behind the "
          "balancer, never the balancer", per_ip)

    def pieces():
        s = connect(pub, BAL)
        try:
            for part in (b"PROXY TCP4 ", b"192.0.2.77 127.0.0.1 ",
                         b"5555 25\r", b"\n"):
                s.sendall(part)
                time.sleep(0.1)
            smtp_session(s, "proxy-pieces")
        finally:
            s.close()
        assert "[192.0.2.77]" in received(sink, "proxy-pieces")
        s = connect(pub, BAL)
        try:
            h = v2_header("192.0.2.78", "127.0.0.1")
            s.sendall(h[:7])
            time.sleep(0.1)
            s.sendall(h[7:20])
            time.sleep(0.1)
            s.sendall(h[20:])
            smtp_session(s, "proxy-pieces2")
        finally:
            s.close()
        assert "[192.0.2.78]" in received(sink, "proxy-pieces2")
    t.run("a header written in pieces (v1, v2) is taken, then SMTP", pieces)

    def local_unknown():
        for hdr in (V2_SIG + b"\x20\x00\x00\x00", b"PROXY UNKNOWN\r\n"):
            before = len(re.findall(r"connect addr=127\.0\.0\.9 .*proxy=",
                                    bw.log("smtpd")))
            s = connect(pub, BAL)
            try:
                s.sendall(hdr)
                assert read_line(s).startswith(b"220 ")
                s.sendall(b"QUIT\r\n")
                assert read_line(s).startswith(b"221")
            finally:
                s.close()
            bwtest.wait_for(lambda: len(re.findall(
                r"connect addr=127\.0\.0\.9 name=\S+ rdns=\S+ "
                r"listener=public proxy=127\.0\.0\.9 ", bw.log("smtpd")))
                > before, 10, what="connect line of the health check")
    t.run("LOCAL (v2) and UNKNOWN (v1), a balancer's health check: the "
          "balancer's own address", local_unknown)

    def relay():
        def rcpt(src):
            s = connect(RELAY_PORT, BAL)
            try:
                s.sendall(b"PROXY TCP4 %s 127.0.0.1 40000 25\r\n" %
                          src.encode())
                assert read_line(s).startswith(b"220 ")
                for cmd in ("EHLO x.example", "MAIL FROM:<a@b.example>"):
                    s.sendall(cmd.encode() + b"\r\n")
                    assert read_reply(s).startswith(b"250")
                s.sendall(b"RCPT TO:<u@elsewhere.example>\r\n")
                r = read_reply(s)
                s.sendall(b"QUIT\r\n")
                return r
            finally:
                s.close()
        r = rcpt("192.0.2.5")
        assert r.startswith(b"250"), r
        r = rcpt("198.51.100.5")
        assert r.startswith(b"550 5.7.1"), r
    t.run("relay_networks judges the carried address, not the balancer's",
          relay)

    def direct():
        tag = "proxy-direct"
        send_mail("127.0.0.1", pub, "127.0.0.42", tag)
        assert "[127.0.0.42]" in received(sink, tag)
        connect_line(bw, "127.0.0.42", proxy=None)
    t.run("a client that is not a balancer, on the proxy listener: served "
          "as usual", direct)

    rejects = {"n": 0}

    def refused_spoof(addr):
        rx = (r"session=(\d+) addr=%s disconnect reason=PROXY header from "
              r"%s, not a balancer of listener public messages=0" % (
                  re.escape(addr), re.escape(addr)))
        bw.wait_log("smtpd", rx, timeout=15)
        assert "192.0.2.6" not in bw.log("smtpd")

    def spoof_v1():
        s = connect(pub, "127.0.0.40")
        try:
            assert read_line(s).startswith(b"220 ")
            s.sendall(b"PROXY TCP4 192.0.2.66 127.0.0.1 1 25\r\n")
            rejects["n"] += 1
            out = until_closed(s)
            assert out.startswith(b"554 5.7.1"), out
        finally:
            s.close()
        refused_spoof("127.0.0.40")
    t.run("a spoofed v1 header from a non-balancer: 554, closed, logged",
          spoof_v1)

    def spoof_v2():
        s = connect(pub, "127.0.0.41")
        try:
            s.sendall(v2_header("192.0.2.67", "127.0.0.1"))
            rejects["n"] += 1
            out = until_closed(s)
            assert b"\r\n554 5.7.1" in out or out.startswith(b"554"), out
        finally:
            s.close()
        refused_spoof("127.0.0.41")
    t.run("a spoofed v2 header sent at once by a non-balancer: 554, "
          "closed, logged", spoof_v2)

    def bad(payload, reason_rx, wait=10):
        """A balancer's bad header: closed without a reply, one line,
        while another client's message goes through HAProxy."""
        s = connect(pub, BAL)
        t0 = time.monotonic()
        rejects["n"] += 1
        try:
            s.sendall(payload)
            tag = "proxy-beside-%d" % rejects["n"]
            send_mail(FE, FE_PORTS["v1"], "127.0.0.35", tag)
            assert "[127.0.0.35]" in received(sink, tag)
            out = until_closed(s, wait)
            assert out == b"", out
        finally:
            s.close()
        refusal(bw, reason_rx)
        return time.monotonic() - t0

    t.run("a malformed v1 header: closed, one log line, another client's "
          "mail flows", bad, b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 25\r\n",
          r"PROXY header malformed: v1: a port that is not 0-65535")

    def cut():
        el = bad(b"PROXY TCP4 192.0.2", r"PROXY header not complete "
                 r"within smtpd_proxy_timeout \(18 bytes\)")
        assert PROXY_TIMEOUT_MS / 1000 - 0.1 < el < \
            PROXY_TIMEOUT_MS / 1000 + 3, el
    t.run("a header cut in half: closed after smtpd_proxy_timeout, one log "
          "line, another client's mail flows meanwhile", cut)

    def absurd():
        el = bad(V2_SIG + b"\x21\x11\xff\xff",
                 r"PROXY header malformed: v2: header longer than 1024 "
                 r"bytes")
        assert el < PROXY_TIMEOUT_MS / 1000, el
    t.run("a v2 header with an absurd length: closed at once, one log "
          "line, another client's mail flows", absurd)

    t.run("bytes behind a v1 header before the banner: closed, one log "
          "line", bad, b"PROXY TCP4 192.0.2.9 127.0.0.1 1 25\r\nEHLO x\r\n",
          r"PROXY v1 header with 8 bytes behind it before the banner "
          r"\(client 192\.0\.2\.9\)")

    def peer_closes():
        s = connect(pub, BAL)
        s.sendall(b"PROXY TCP6 2001:db8::")
        time.sleep(0.2)
        s.close()
        rejects["n"] += 1
        refusal(bw, r"PROXY header cut short: peer closed after 21 bytes")
    t.run("a balancer closing in the middle of its header: one log line",
          peer_closes)

    def counters():
        c = bw.counters("smtpd")
        assert c.get("proxy_rejects") == rejects["n"], (c, rejects)
        # every HAProxy connection, the pieces, the health checks, relay
        assert c.get("proxy_connections", 0) >= 14, c
    t.run("bwctl status: proxy_connections and proxy_rejects", counters)

    def reload_off_on():
        held = connect(FE_PORTS["v2"], "127.0.0.60", FE)
        try:
            assert read_line(held).startswith(b"220 ")
            bw.write_config(config_text(bw, sink.port, proxy="no"))
            bw.bwctl("config", "reload")
            # the balancer's address is now an ordinary client
            s = connect(pub, BAL)
            try:
                assert read_line(s).startswith(b"220 ")
                s.sendall(b"QUIT\r\n")
                read_line(s)
            finally:
                s.close()
            connect_line(bw, BAL, proxy=None)
            # the session opened before the reload goes on as it was
            held.sendall(b"NOOP\r\n")
            assert read_line(held).startswith(b"250")
            bw.write_config(config_text(bw, sink.port))
            bw.bwctl("config", "reload")
            s = connect(pub, BAL)
            try:
                s.settimeout(0.5)
                try:
                    early = s.recv(100)
                except socket.timeout:
                    early = b""
                assert early == b"", early     # waits for a header
                s.sendall(b"PROXY TCP4 192.0.2.61 127.0.0.1 1 25\r\n")
                smtp_session(s, "proxy-after-reload")
            finally:
                s.close()
            assert "[192.0.2.61]" in received(sink, "proxy-after-reload")
            through("v1", "127.0.0.62")
        finally:
            held.close()
    t.run("a reload turns proxy_protocol off, then on: new connections "
          "follow, an open session goes on", reload_off_on)


# -- production -------------------------------------------------------------

def production_case():
    """One case against smtpd as production runs it: root, no -b, the
    argv of its unit (test_production.py's start: system users from the
    sysusers file, every daemon started as root, smtpd chrooted as
    _bwsmtpd), plus -d: the log goes to stderr, since /dev/log may be
    test_production's own catcher while it runs beside us.  HAProxy with
    send-proxy-v2 in front of a proxy listener: the message carries the
    client's address, the connect line names client and balancer, and a
    malformed header is closed with one line."""
    import test_production as tp
    why = None
    if os.geteuid() != 0:
        why = "needs root (system users, chroot, privilege drop)"
    elif not os.path.exists(tp.SYSUSERS):
        why = "%s not installed" % tp.SYSUSERS
    if why:
        t.skip("production: smtpd chrooted as _bwsmtpd behind HAProxy", why)
        return

    class ProdProxy(tp.Production):
        def __init__(self):
            super().__init__()
            self.config_path = os.path.join(self.base, "etc",
                                            "breakwater.conf")
            self.proxy_port = bwtest.free_port()
            for proc in tp.PROCS:
                self.argv[proc] = [os.path.join(bwtest.BUILDDIR,
                                                bwtest.DAEMONS[proc]),
                                   "-d", "-f", self.config_path]

        def write_config(self, sink_port, _reject_port=None):
            os.makedirs(os.path.dirname(self.config_path))
            os.makedirs(self.rundir, mode=0o755)
            os.chmod(os.path.dirname(self.rundir), 0o755)
            with open(self.config_path, "w") as f:
                f.write("""hostname mx.prod.test
runtime_dir %(run)s
chroot_dir %(run)s
spool_dir %(spool)s
debug_dir %(run)s/debug
deliverd_workers 2
dns_servers 127.0.0.1:%(dns)d
route example.org -> [127.0.0.1]:%(sink)d
listener private {
    address 127.0.0.1
    port %(port)d
    type private
    relay_networks 127.0.0.0/8
}
listener public {
    address 127.0.0.1
    port %(pport)d
    type public
    accept_domains example.org
    reverse_dns no
    proxy_protocol yes
    proxy_from %(bal)s
}
""" % {"run": self.rundir, "spool": self.spool, "dns": bwtest.free_port(),
                    "sink": sink_port, "port": self.port,
                    "pport": self.proxy_port, "bal": BAL})
            os.chmod(self.config_path, 0o644)

        def bwctl_argv(self, *args):
            return [os.path.join(bwtest.BUILDDIR, "ctl", "bwctl"), "-f",
                    self.config_path] + list(args)

    bw = ProdProxy()
    sink = hap = None
    try:
        r = subprocess.run([tp.SYSUSERS, os.path.join(
            bwtest.SRCDIR, "init", "breakwater.sysusers.conf")],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        bw.write_config(sink.port)
        bw.start()
        tp.check_processes(bw)
        fport = bwtest.free_port(FE)
        hap = HAProxy(bw.base, [("prod", FE, fport, bw.proxy_port,
                                 "send-proxy-v2")])

        def case():
            tag = "proxy-production"
            send_mail(FE, fport, "127.0.0.71", tag)
            assert "[127.0.0.71]" in received(sink, tag)
            bwtest.wait_for(lambda: re.search(
                r"connect addr=127\.0\.0\.71 .*listener=public "
                r"proxy=127\.0\.0\.9 ", bw.stderr_text("smtpd")), 15,
                what="the connect line")
            s = connect(bw.proxy_port, BAL)
            try:
                s.sendall(V2_SIG + b"\x21\x11\xff\xff")
                assert until_closed(s) == b""
            finally:
                s.close()
            rx = (r"session=(\d+) addr=127\.0\.0\.9 disconnect "
                  r"reason=PROXY header malformed: v2: header longer than "
                  r"1024 bytes")
            bwtest.wait_for(lambda: re.search(rx, bw.stderr_text("smtpd")),
                            15, what="the refusal")
            sid = re.search(rx, bw.stderr_text("smtpd")).group(1)
            n = len(re.findall(r"\bsession=%s\b" % sid,
                               bw.stderr_text("smtpd")))
            assert n == 1, n
            tp.check_processes(bw)
        t.run("production: smtpd chrooted as _bwsmtpd behind HAProxy "
              "(send-proxy-v2) takes the client's address; a malformed "
              "header is closed with one line", case)
    except Exception as e:  # noqa: BLE001 - set-up failed: one case says so
        t.ok(False, "production start for the PROXY case", "%r\n%s" % (
            e, bw.diag("smtpd")))
    finally:
        if hap is not None:
            hap.stop()
        tp.stop_production(t, bw, sink)


def main():
    for tool in (peers.SMTP_SINK, HAPROXY):
        if not os.path.exists(tool):
            t.skip("PROXY protocol", "%s not installed" % tool)
            t.done()
    with bwtest.Breakwater("proxy") as bw:
        sink = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
        hap = None
        try:
            bw.write_config(config_text(bw, sink.port))
            bw.start()
            hap = HAProxy(bw.base, [
                ("v1", FE, FE_PORTS["v1"], bw.public_port, "send-proxy"),
                ("v2", FE, FE_PORTS["v2"], bw.public_port, "send-proxy-v2"),
                ("v6", "::1", FE6_PORT, bw.public_port, "send-proxy-v2"),
                ("tls", FE, FE_PORTS["tls"], TLS_PORT, "send-proxy-v2")])
            run_cases(bw, sink, hap)
        finally:
            if hap is not None:
                hap.stop()
            sink.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    production_case()
    t.done()


if __name__ == "__main__":
    main()
