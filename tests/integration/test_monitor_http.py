#!/usr/bin/python3
"""The monitor's HTTP side of controld (issue 13): login by form, HTTP
Basic and client certificate; pages refused without login; CSRF; the rate
limit on wrong passwords; the bounds on headers, URLs, bodies, slow clients
and connections; TLS; the password file re-read on reload; bwctl passwd.

Clients are the standard library's http.client and ssl, and raw sockets
for what a library will not send.  Addresses: 127.0.33.0/24."""

import base64
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bwtest  # noqa: E402

ADDR = "127.0.33.1"
TLS_CLIENT = "127.0.33.2"
ITER = 1000     # the minimum: quick tests


def pw_line(user, password, rights, iterations=ITER):
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "%s:$pbkdf2-sha256$%d$%s$%s:%s\n" % (
        user, iterations, base64.b64encode(salt).decode(),
        base64.b64encode(key).decode(), rights)


USERS = {"alice": ("alice-secret", "act"), "bob": ("bob-secret", "view")}


def write_passwd(bw, users, extra=""):
    d = os.path.join(bw.base, "etc")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "monitor.passwd"), "w") as f:
        f.write("# monitor users\n\n")
        for u, (p, r) in users.items():
            f.write(pw_line(u, p, r))
        f.write(extra)


class Client:
    """One request per connection, from a chosen source address."""

    def __init__(self, port, host=ADDR, tls_ctx=None, source=ADDR):
        self.port, self.host, self.ctx, self.source = port, host, tls_ctx, \
            source

    def req(self, method, path, headers=None, body=None, source=None,
            timeout=10):
        src = (source or self.source, 0)
        if self.ctx is not None:
            c = http.client.HTTPSConnection(self.host, self.port,
                                            timeout=timeout, context=self.ctx,
                                            source_address=src)
        else:
            c = http.client.HTTPConnection(self.host, self.port,
                                           timeout=timeout,
                                           source_address=src)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, \
                data, r.msg.get_all("Set-Cookie") or []
        finally:
            c.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


def form(d):
    return urllib.parse.urlencode(d), {
        "Content-Type": "application/x-www-form-urlencoded"}


def login(cl, user, password, source=None):
    body, h = form({"user": user, "password": password, "next": "/"})
    st, hd, data, cookies = retry_busy(lambda: cl.req(
        "POST", "/login", h, body, source=source))
    if st != 303:
        raise AssertionError("login %s: %d %r" % (user, st, data[:200]))
    m = re.match(r"bwmon=([0-9a-f]{64});", cookies[0])
    assert m, cookies
    return {"Cookie": "bwmon=" + m.group(1)}, cookies[0]


def csrf_of(cl, cookie):
    st, _, data, _ = cl.req("GET", "/", dict(cookie, Accept="text/html"))
    assert st == 200, st
    m = re.search(rb'name="csrf" value="([0-9a-f]{64})"', data)
    assert m, data[:500]
    return m.group(1).decode()


def config(bw, port, extra=""):
    return bwtest.default_config(bw, extra="""
monitor_listen %s:%d
monitor_http_timeout 2s
monitor_http_max_header 2k
monitor_http_max_body 4k
monitor_http_max_connections 6
monitor_login_failures 3
%s""" % (ADDR, port, extra))


# -- cases ------------------------------------------------------------------

def check_healthz(cl):
    st, hd, data, _ = cl.req("GET", "/healthz")
    assert st == 200 and data == b"ok\n", (st, data)
    assert hd["content-type"].startswith("text/plain"), hd
    # HEAD: the headers of GET, no body after them
    resp = raw_request(cl.port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
    assert status_of(resp) == 200, resp
    assert resp.endswith(b"\r\n\r\n") and b"Content-Length: 3" in resp, \
        resp


def check_refused_without_login(cl):
    st, hd, _, _ = cl.req("GET", "/", {"Accept": "text/html"})
    assert st == 303 and hd["location"].startswith("/login?next="), (st, hd)
    st, hd, data, _ = cl.req("GET", "/status?format=json")
    assert st == 401, st
    assert hd["www-authenticate"].startswith("Basic "), hd
    assert json.loads(data)["status"] == 401
    st, hd, _, _ = cl.req("GET", "/status", {"Accept": "text/html"})
    assert st == 303, st
    # the challenge on request, for a browser given user:pass@ in the URL
    st, hd, _, _ = cl.req("GET", "/?login=basic", {"Accept": "text/html"})
    assert st == 401 and "www-authenticate" in hd, (st, hd)
    # a made-up cookie is no login
    st, _, _, _ = cl.req("GET", "/status?format=json",
                         {"Cookie": "bwmon=" + "ab" * 32})
    assert st == 401, st


def check_form_login(cl):
    st, hd, data, _ = cl.req("GET", "/login")
    assert st == 200 and b'name="password"' in data, st
    cookie, raw = login(cl, "alice", USERS["alice"][0])
    assert "HttpOnly" in raw and "SameSite=Strict" in raw, raw
    assert "Secure" not in raw, raw     # plain HTTP on loopback
    st, _, data, _ = cl.req("GET", "/", dict(cookie, Accept="text/html"))
    assert st == 200 and b'href="/status"' in data, (st, data[:300])
    st, _, data, _ = cl.req("GET", "/?format=json", cookie)
    j = json.loads(data)
    assert st == 200 and j["user"] == "alice" and j["act"] is True, j
    assert "/status" in j["pages"], j


def check_form_login_wrong(cl):
    body, h = form({"user": "alice", "password": "nope"})
    st, _, data, cookies = cl.req("POST", "/login", h, body,
                                  source="127.0.33.10")
    assert st == 401 and not cookies, (st, cookies)
    assert b"wrong user or password" in data, data
    body, h = form({"user": "nobody", "password": "x"})
    st, _, _, cookies = cl.req("POST", "/login", h, body,
                               source="127.0.33.11")
    assert st == 401 and not cookies, st


def check_basic(bw, cl):
    st, hd, data, _ = cl.req("GET", "/status?format=json",
                             basic("bob", USERS["bob"][0]))
    assert st == 200 and hd["content-type"] == "application/json", (st, hd)
    j = json.loads(data)
    names = sorted(p["name"] for p in j["processes"])
    want = sorted(p["name"] for p in bw.bwctl("status",
                                              json_out=True)["processes"])
    assert names == want, (names, want)
    assert set(j["processes"][0]) == {"name", "state", "pid", "started",
                                      "uptime", "counters", "info"}, j
    st, hd, data, _ = cl.req("GET", "/status", dict(
        basic("bob", USERS["bob"][0]), Accept="application/json"))
    assert st == 200 and json.loads(data)["processes"], st
    st, hd, data, _ = cl.req("GET", "/status", dict(
        basic("bob", USERS["bob"][0]), Accept="text/html"))
    assert st == 200 and hd["content-type"].startswith("text/html"), hd
    assert b"<table" in data and b">controld<" in data, data[:2000]
    st, _, _, _ = cl.req("GET", "/status", basic("bob", "wrong"),
                         source="127.0.33.12")
    assert st == 401, st
    st, _, _, _ = cl.req("GET", "/status", basic("mallory", "x"),
                         source="127.0.33.12")
    assert st == 401, st


def check_csrf(bw, cl):
    cookie, _ = login(cl, "alice", USERS["alice"][0])
    token = csrf_of(cl, cookie)
    # a forged POST: the session cookie alone
    st, _, data, _ = cl.req("POST", "/logout", cookie, "")
    assert st == 403, (st, data)
    body, h = form({"csrf": "0" * 64})
    st, _, _, _ = cl.req("POST", "/logout", dict(cookie, **h), body)
    assert st == 403, st
    # the right token from a foreign page
    body, h = form({"csrf": token})
    st, _, _, _ = cl.req("POST", "/logout", dict(
        cookie, Origin="http://evil.example", **h), body)
    assert st == 403, st
    # Basic callers need it too (a browser sends cached credentials)
    st, _, _, _ = cl.req("POST", "/logout", basic("bob", USERS["bob"][0]),
                         "")
    assert st == 403, st
    # the session still works, then the real logout ends it
    st, _, _, _ = cl.req("GET", "/?format=json", cookie)
    assert st == 200, st
    st, hd, _, _ = cl.req("POST", "/logout", dict(
        cookie, Origin="http://%s:%d" % (ADDR, cl.port), **h), body)
    assert st == 303 and hd["location"] == "/login", (st, hd)
    st, _, _, _ = cl.req("GET", "/?format=json", cookie)
    assert st == 401, st
    assert re.search(r"POST refused: missing or wrong CSRF token",
                     bw.log("controld"))


def check_methods(cl):
    auth = basic("bob", USERS["bob"][0])
    st, hd, _, _ = cl.req("DELETE", "/status", auth)
    assert st == 405 and "GET" in hd["allow"], (st, hd)
    st, hd, _, _ = cl.req("POST", "/status", auth, "")
    assert st == 405, st
    st, _, _, _ = cl.req("GET", "/nope", auth)
    assert st == 404, st
    st, _, _, _ = cl.req("GET", "/status/x", auth)
    assert st == 404, st
    st, _, _, _ = cl.req("PUT", "/healthz")
    assert st == 405, st


def check_rate_limit(bw, cl):
    src = "127.0.33.20"
    codes = []
    for i in range(6):
        if i % 2:
            st, _, _, _ = cl.req("GET", "/status",
                                 basic("alice", "guess%d" % i), source=src)
        else:
            body, h = form({"user": "alice", "password": "guess%d" % i})
            st, _, _, _ = cl.req("POST", "/login", h, body, source=src)
        codes.append(st)
    assert codes == [401, 401, 429, 429, 429, 429], codes
    # the right password from there is refused too, for the window
    st, _, _, _ = cl.req("GET", "/status", basic("alice",
                                                 USERS["alice"][0]),
                         source=src)
    assert st == 429, st
    # another address is not affected
    st, _, _, _ = cl.req("GET", "/status?format=json",
                         basic("alice", USERS["alice"][0]),
                         source="127.0.33.21")
    assert st == 200, st
    lines = [ln for ln in bw.log("controld").splitlines()
             if "addr=%s rate-limited" % src in ln]
    assert len(lines) == 1, lines


def raw_request(port, data, timeout=5):
    s = socket.create_connection((ADDR, port), timeout=timeout,
                                 source_address=(ADDR, 0))
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", resp)
    return int(m.group(1)) if m else None


def check_huge_headers(cl):
    auth = basic("bob", USERS["bob"][0])
    st, hd, _, _ = cl.req("GET", "/status", dict(auth, **{
        "X-Filler": "a" * 3000}))
    assert st == 431, st
    st, _, _, _ = cl.req("GET", "/status", dict(auth, **{
        "X-F%d" % i: "b" * 100 for i in range(30)}))
    assert st == 431, st
    # far past (four times): evhttp stops reading and answers 400 itself
    resp = raw_request(cl.port, b"GET / HTTP/1.1\r\nHost: x\r\n" +
                       b"".join(b"X-%d: %s\r\n" % (i, b"c" * 1000)
                                for i in range(200)) + b"\r\n")
    assert status_of(resp) in (400, 431) or resp == b"", resp[:100]
    st, _, _, _ = cl.req("GET", "/healthz")
    assert st == 200, st


def check_huge_url(cl):
    st, _, _, _ = cl.req("GET", "/" + "u" * 2500,
                         basic("bob", USERS["bob"][0]))
    assert st == 414, st
    resp = raw_request(cl.port, b"GET /" + b"v" * 100000 +
                       b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(resp) in (400, 414) or resp == b"", resp[:100]
    st, _, _, _ = cl.req("GET", "/healthz")
    assert st == 200, st


def check_huge_body(cl):
    body, h = form({"user": "alice", "password": "p" * 8000})
    st, _, _, _ = cl.req("POST", "/login", h, body, source="127.0.33.30")
    assert st == 413, st
    cookie, _ = login(cl, "alice", USERS["alice"][0])
    st, _, _, _ = cl.req("POST", "/logout", cookie, "x" * 10000)
    assert st == 413, st


def check_slow_client(cl):
    s = socket.create_connection((ADDR, cl.port), timeout=15,
                                 source_address=(ADDR, 0))
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # never ends
        t0 = time.monotonic()
        # others are served meanwhile
        st, _, _, _ = cl.req("GET", "/healthz")
        assert st == 200, st
        data = s.recv(4096)    # EOF when the server gives up
        took = time.monotonic() - t0
    finally:
        s.close()
    assert status_of(data) in (None, 408, 400), data
    assert 1.0 <= took <= 8, took
    # a connection that sends nothing at all
    s = socket.create_connection((ADDR, cl.port), timeout=15,
                                 source_address=(ADDR, 0))
    try:
        t0 = time.monotonic()
        data = s.recv(4096)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert 1.0 <= took <= 8, took


def check_max_connections(cl):
    held = []
    try:
        for i in range(6):
            s = socket.create_connection((ADDR, cl.port), timeout=10,
                                         source_address=(ADDR, 0))
            held.append(s)
        time.sleep(0.3)
        resp = raw_request(cl.port, b"GET /healthz HTTP/1.1\r\nHost: x"
                           b"\r\n\r\n")
        assert status_of(resp) == 503 or resp == b"", resp[:100]
    finally:
        for s in held:
            s.close()
    ok = bwtest.wait_for(lambda: cl.req("GET", "/healthz")[0] == 200, 5,
                         what="served again")
    assert ok


def check_reload(bw, cl):
    # bob goes, dave comes
    users = {"alice": USERS["alice"], "dave": ("dave-secret", "view")}
    write_passwd(bw, users)
    bw.bwctl("config", "reload")
    st, _, _, _ = cl.req("GET", "/status?format=json",
                         basic("dave", "dave-secret"))
    assert st == 200, st
    st, _, _, _ = cl.req("GET", "/status?format=json",
                         basic("bob", USERS["bob"][0]),
                         source="127.0.33.40")
    assert st == 401, st
    # a broken file: the users read before stay
    write_passwd(bw, users, extra="eve:plaintext:view\n")
    bw.bwctl("config", "reload")
    bw.wait_log("controld", r"monitor\.passwd:\d+: hash must be")
    st, _, _, _ = cl.req("GET", "/status?format=json",
                         basic("dave", "dave-secret"))
    assert st == 200, st


def check_bwctl_passwd(bw, cl):
    bwctl = os.path.join(bwtest.BUILDDIR, "ctl", "bwctl")
    r = subprocess.run([bwctl, "passwd", "carol", "act"],
                       input="carol pass phrase\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    line = r.stdout
    assert re.fullmatch(r"carol:\$pbkdf2-sha256\$\d+\$[A-Za-z0-9+/=]+\$"
                        r"[A-Za-z0-9+/=]+:act\n", line), line
    r2 = subprocess.run([bwctl, "passwd", "carol", "root"], input="x\n",
                        capture_output=True, text=True, timeout=30)
    assert r2.returncode == 2, r2
    r2 = subprocess.run([bwctl, "passwd", "ca:rol"], input="x\n",
                        capture_output=True, text=True, timeout=30)
    assert r2.returncode == 2, r2
    write_passwd(bw, {"alice": USERS["alice"]}, extra=line)
    bw.bwctl("config", "reload")
    # its real iteration count: controld hashes at most about half a second
    # a second (503, Retry-After: 1, beyond)
    st, _, data, _ = retry_busy(lambda: cl.req(
        "GET", "/?format=json", basic("carol", "carol pass phrase")))
    assert st == 200 and json.loads(data)["act"] is True, (st, data)
    st, _, _, _ = retry_busy(lambda: cl.req(
        "GET", "/?format=json", basic("carol", "carol"),
        source="127.0.33.41"))
    assert st == 401, st


def retry_busy(fn, tries=5):
    for _ in range(tries):
        r = fn()
        if r[0] != 503:
            return r
        assert r[1].get("retry-after") == "1", r[1]
        time.sleep(1.1)
    return r


# -- TLS ----------------------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki(d):
    """A CA, a server certificate and client certificates signed by it."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            ca_key, "-out", ca, "-days", "30", "-subj", "/CN=test CA")
    out = {"ca": ca}
    for name in ("server", "alice", "mallory"):
        key, csr, crt = (os.path.join(d, name + s)
                         for s in (".key", ".csr", ".pem"))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=%s" % (
                    "localhost" if name == "server" else name))
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                "-CAcreateserial", "-out", crt, "-days", "30")
        out[name] = (crt, key)
    return out


def tls_cases(t):
    with bwtest.Breakwater("monhttps") as bw:
        pki = make_pki(bw.base)
        port = bwtest.free_port()
        write_passwd(bw, USERS)
        # not loopback: TLS with the global certificate, or no start
        base_conf = bwtest.default_config(bw, extra="""
monitor_listen 0.0.0.0:%d
monitor_http_timeout 2s
""" % port)
        bw.write_config(base_conf)
        r = bw.bwctl("config", "check", check=False)
        t.ok(r.returncode != 0 and "needs TLS" in r.stdout + r.stderr,
             "a non-loopback monitor_listen without a certificate does "
             "not check", r.stdout + r.stderr)
        bw.write_config(base_conf + """
tls_cert %s
tls_key %s
monitor_client_ca %s
""" % (pki["server"][0], pki["server"][1], pki["ca"]))
        bw.start()
        bw.wait_log("controld", r"monitor: listening on 0\.0\.0\.0:%d "
                    r"\(https\)" % port)
        ctx = ssl.create_default_context(cafile=pki["ca"])
        ctx.check_hostname = False
        cl = Client(port, host=TLS_CLIENT, tls_ctx=ctx, source=TLS_CLIENT)

        def tls_basic():
            st, _, data, _ = cl.req("GET", "/healthz")
            assert st == 200 and data == b"ok\n", st
            st, _, _, _ = cl.req("GET", "/status?format=json")
            assert st == 401, st
            st, _, data, _ = cl.req("GET", "/status?format=json",
                                    basic("alice", USERS["alice"][0]))
            assert st == 200 and json.loads(data)["processes"], st
            _, raw = login(cl, "bob", USERS["bob"][0])
            assert "; Secure" in raw, raw
        t.run("TLS: healthz, Basic and a Secure session cookie", tls_basic)

        def tls_plain_refused():
            s = socket.create_connection((TLS_CLIENT, port), timeout=10,
                                         source_address=(TLS_CLIENT, 0))
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                try:
                    while len(data) < 100:
                        b = s.recv(4096)
                        if not b:
                            break
                        data += b
                except (ConnectionResetError, socket.timeout):
                    pass
            finally:
                s.close()
            assert b"ok" not in data, data
        t.run("TLS: plain HTTP on the TLS port is not served",
              tls_plain_refused)

        def client_cert():
            c2 = ssl.create_default_context(cafile=pki["ca"])
            c2.check_hostname = False
            c2.load_cert_chain(*pki["alice"])
            cc = Client(port, host=TLS_CLIENT, tls_ctx=c2, source=TLS_CLIENT)
            st, _, data, _ = cc.req("GET", "/?format=json")
            assert st == 200 and json.loads(data)["user"] == "alice", st
            c3 = ssl.create_default_context(cafile=pki["ca"])
            c3.check_hostname = False
            c3.load_cert_chain(*pki["mallory"])
            cm = Client(port, host=TLS_CLIENT, tls_ctx=c3, source=TLS_CLIENT)
            st, _, _, _ = cm.req("GET", "/?format=json")
            assert st == 401, st
        t.run("TLS: a client certificate logs in the user its CN names; "
              "one naming nobody does not", client_cert)

        def s_client():
            r = subprocess.run(
                ["openssl", "s_client", "-connect", "%s:%d" % (TLS_CLIENT,
                                                               port),
                 "-CAfile", pki["ca"], "-quiet", "-verify_return_error"],
                input=b"GET /healthz HTTP/1.0\r\n\r\n", capture_output=True,
                timeout=30)
            assert b"200 OK" in r.stdout and b"ok" in r.stdout, r
        t.run("TLS: openssl s_client verifies the server against the CA",
              s_client)
        bw.stop_all()
        t.ok(not bw.sanitizer_reports, "TLS suite: no sanitizer report",
             "\n".join(bw.sanitizer_reports))


def main():
    t = bwtest.TAP()
    with bwtest.Breakwater("monhttp") as bw:
        port = bwtest.free_port()
        write_passwd(bw, USERS)
        bw.write_config(config(bw, port))
        bw.start()
        bw.wait_log("controld", r"monitor: listening on %s:%d \(http\) "
                    r"users=2" % (re.escape(ADDR), port))
        cl = Client(port)
        t.run("healthz answers without login", check_healthz, cl)
        t.run("pages without login: redirect to /login or 401",
              check_refused_without_login, cl)
        t.run("login form with the right password: a session cookie",
              check_form_login, cl)
        t.run("login form with a wrong password: 401, no cookie",
              check_form_login_wrong, cl)
        t.run("HTTP Basic: /status as bwctl status (JSON, HTML); wrong "
              "password 401", check_basic, bw, cl)
        t.run("a POST without its CSRF token, or from another Origin: 403",
              check_csrf, bw, cl)
        t.run("methods: 405 with Allow, unknown pages 404", check_methods,
              cl)
        t.run("wrong passwords rate-limited per address: 429 and one log "
              "line", check_rate_limit, bw, cl)
        t.run("huge headers: 431 (four times the limit: 400), others still "
              "served",
              check_huge_headers, cl)
        t.run("huge URL: 414 (four times the limit: 400)", check_huge_url,
              cl)
        t.run("huge body: 413", check_huge_body, cl)
        t.run("a slow client is closed after monitor_http_timeout, others "
              "served meanwhile", check_slow_client, cl)
        t.run("monitor_http_max_connections: one more gets 503",
              check_max_connections, cl)
        t.run("password file re-read on config reload (a broken one keeps "
              "the old users)", check_reload, bw, cl)
        t.run("bwctl passwd makes a line controld accepts",
              check_bwctl_passwd, bw, cl)
        t.ok(bw.running("controld"), "controld still running")
        bw.stop_all()
        t.ok(not bw.sanitizer_reports, "no sanitizer report",
             "\n".join(bw.sanitizer_reports))
    tls_cases(t)
    t.done()


if __name__ == "__main__":
    main()
