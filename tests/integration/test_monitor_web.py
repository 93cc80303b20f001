#!/usr/bin/python3
"""The monitor's pages in a real browser (issue 13): headless Chromium
(Debian package chromium) loads every page of a running suite with mail
flowing, logged in by HTTP Basic in the URL, reads the rendered DOM
(--dump-dom) and checks its figures against bwctl --json and the sink's
count; a screenshot of each page is kept as a test artefact
(BUILDDIR/tests/artefacts/monitor/*.png).  Also: every page answers JSON;
a page without login is refused; a forged action (no CSRF token) and an
action by a user without "act" are refused; a button's dry run and its
confirmation act on a message, driven over the DevTools protocol.

Addresses: 127.0.34.0/24 (monitor .1, sink .2, a dead next hop .3)."""

import base64
import hashlib
import html.parser
import http.client
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bwtest  # noqa: E402
import headless  # noqa: E402
import peers  # noqa: E402

ADDR = "127.0.34.1"
SINK_ADDR = "127.0.34.2"
DEAD_ADDR = "127.0.34.3"
D = ".web.test"
OK_DOM = "ok" + D           # delivered to the sink
SLOW_DOM = "slow" + D       # next hop refuses: deferred, stays queued
HELD_DOM = "held" + D       # suspended: stays queued, for the actions
USERS = {"alice": ("alice-web-pw", "act"), "bob": ("bob-web-pw", "view")}
ITER = 1000
N_OK = 40                   # smtp-source messages to the sink
N_SLOW = 3
N_HELD = 3
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
ARTEFACTS = os.path.join(bwtest.BUILDDIR, "tests", "artefacts", "monitor")
PAGE_WAIT = 40              # seconds: a figure catching up with the sample

t = bwtest.TAP()


def pw_line(user, password, rights):
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITER)
    return "%s:$pbkdf2-sha256$%d$%s$%s:%s\n" % (
        user, ITER, base64.b64encode(salt).decode(),
        base64.b64encode(key).decode(), rights)


def write_passwd(bw):
    d = os.path.join(bw.base, "etc")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "monitor.passwd"), "w") as f:
        for u, (p, r) in USERS.items():
            f.write(pw_line(u, p, r))


def have_limit(name):
    with open(os.path.join(bwtest.SRCDIR, "common", "config_limits.c")) as f:
        return '"%s"' % name in f.read()


def config_text(bw, sink_port, mon_port):
    extra = """monitor_listen %(addr)s:%(mon)d
deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
deliver_timeout_connect 2s
route %(ok)s -> [%(sink)s]:%(sport)d
route %(held)s -> [%(sink)s]:%(sport)d
route %(slow)s -> [%(dead)s]:%(dport)d
""" % {"addr": ADDR, "mon": mon_port, "dns": bwtest.free_port(),
       "ok": OK_DOM, "held": HELD_DOM, "slow": SLOW_DOM, "sink": SINK_ADDR,
       "sport": sink_port, "dead": DEAD_ADDR, "dport": bwtest.free_port()}
    if have_limit("monitor_sample_interval"):
        extra += "monitor_sample_interval 1s\n"
    return bwtest.default_config(bw, extra=extra)


# -- HTTP without a browser ------------------------------------------------

def http_req(port, method, path, headers=None, body=None, timeout=15):
    c = http.client.HTTPConnection(ADDR, port, timeout=timeout,
                                   source_address=(ADDR, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def basic(user):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, USERS[user][0])).encode()).decode()}


def get_json(port, path, user="bob"):
    sep = "&" if "?" in path else "?"
    st, data = http_req(port, "GET", path + sep + "format=json",
                        basic(user))
    assert st == 200, (path, st, data[:300])
    return json.loads(data)


# -- the rendered DOM ---------------------------------------------------------

class Dom(html.parser.HTMLParser):
    """What the tests read from a page: table cells by data-key (and
    data-v), figures, the text of h1, forms, and the whole text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables = {}        # data-table -> [ {key: (v, text)} ]
        self.figures = {}       # data-key -> int
        self.h1 = ""
        self.forms = []         # [ {field: value} ]
        self.series = {}        # data-series -> {sum, max, points}
        self.text = []
        self._table = []        # stack of names
        self._row = None
        self._cell = None
        self._in_h1 = False
        self._form = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table.append(a.get("data-table", ""))
            self.tables.setdefault(self._table[-1], [])
        elif tag == "tr" and self._table:
            self._row = {}
        elif tag == "td" and self._row is not None and "data-key" in a:
            self._cell = [a["data-key"], a.get("data-v"), ""]
        elif tag == "div" and "figure" in a.get("class", "") and \
                "data-v" in a:
            self.figures[a["data-key"]] = int(a["data-v"])
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "form":
            self._form = {"_action": a.get("action", "")}
        elif tag in ("input", "button") and self._form is not None and \
                a.get("name"):
            self._form[a["name"]] = a.get("value", "")
        elif tag == "g" and "data-series" in a:
            self.series[a["data-series"]] = {
                k: int(a["data-" + k]) for k in ("sum", "max", "points")}

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()
        elif tag == "tr" and self._row is not None:
            if self._row and self._table:
                self.tables[self._table[-1]].append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            k, v, txt = self._cell
            self._row[k] = (v, txt.strip())
            self._cell = None
        elif tag == "h1":
            self._in_h1 = False
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[2] += data
        if self._in_h1:
            self.h1 += data

    def alltext(self):
        return " ".join(self.text)


def url(port, path, user=None):
    cred = ""
    if user is not None:
        cred = "%s:%s@" % (user, urllib.parse.quote(USERS[user][0]))
    sep = "&" if "?" in path else "?"
    return "http://%s%s:%d%s%slogin=basic" % (cred, ADDR, port, path, sep)


class Pages:
    """Loads pages as a user, keeps a screenshot of each."""

    def __init__(self, bw, port):
        self.bw, self.port = bw, port
        self.browser = headless.Browser(bw.base)
        os.makedirs(ARTEFACTS, exist_ok=True)
        self.shots = []

    def load(self, path, name, user="alice", shot=True):
        dom = self.browser.dump_dom(url(self.port, path, user))
        if shot:
            png = os.path.join(ARTEFACTS, name + ".png")
            size = self.browser.screenshot(url(self.port, path, user), png)
            assert size > 2000, "screenshot of %s: %d bytes" % (path, size)
            self.shots.append(png)
        return Dom(dom)


# -- traffic --------------------------------------------------------------

def smtp_source(bw, n, rcpt):
    cmd = [SMTP_SOURCE, "-m", str(n), "-s", "4", "-l", "300",
           "-f", "src@origin" + D, "-t", rcpt, "-M", "source" + D,
           "127.0.0.1:%d" % bw.private_port]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.returncode, r.stdout[-300:], r.stderr[-300:])


def send_one(bw, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
        s.sendmail("one@origin" + D, [rcpt],
                   "Subject: %s\r\n\r\nhello <b>&amp;</b>\r\n" % subject)


def queue_rows(bw):
    return {(q["gateway"], q["domain"]): q
            for q in bw.bwctl("show", "queue", json_out=True)["queues"]}


def qids_of(bw, dom):
    """Queue ids of messages with a recipient at dom (list + show)."""
    out = []
    for m in bw.bwctl("list", "messages", json_out=True)["messages"]:
        j = bw.bwctl("show", "message", m["qid"], json_out=True)
        if any(r.get("domain") == dom or r.get("rcpt", "").endswith(
                "@" + dom) for r in j.get("recipients", [])):
            out.append(m["qid"])
    return out


# -- cases ------------------------------------------------------------------

def case_refused_without_login(bw, port, pages):
    st, _ = http_req(port, "GET", "/overview?format=json")
    assert st == 401, st
    st, _ = http_req(port, "GET", "/destinations",
                     {"Authorization": "Basic " + base64.b64encode(
                         b"bob:wrong").decode()})
    assert st in (401, 429), st
    # the browser without credentials gets the login form, not the page
    dom = Dom(pages.browser.dump_dom(
        "http://%s:%d/overview" % (ADDR, port)))
    assert "Overview" not in dom.h1, dom.h1
    assert any("password" in f for f in dom.forms), dom.forms


def case_overview(bw, port, pages, sink):
    if not have_limit("monitor_sample_interval"):
        # the history package is not in this tree: no sample, no points
        dom = pages.load("/overview", "overview")
        assert "No sample yet" in dom.alltext(), dom.alltext()[:500]
        j = get_json(port, "/overview")
        assert j["sample"] is None and "alerts" in j, j
        return
    def figures_caught_up():
        st = bw.counters("smtpd")
        dom = pages.load("/overview", "overview", shot=False)
        if "received" not in dom.figures:
            return None
        return dom if dom.figures["received"] == st["messages_accepted"] \
            else None
    # the sample is taken every monitor_sample_interval: wait for it
    dom = bwtest.wait_for(figures_caught_up, PAGE_WAIT,
                          what="overview's received = bwctl's")
    q = bw.counters("queued")
    assert dom.figures["delivered"] == q["rcpt_delivered"], (
        dom.figures, q["rcpt_delivered"])
    assert dom.figures["delivered"] >= sink.count() >= N_OK, (
        dom.figures["delivered"], sink.count())
    assert dom.figures["queued"] == q["queued_messages"], dom.figures
    # charts: inline SVG with the history's points
    assert "received" in dom.series and "queued" in dom.series, dom.series
    # a point is stored when its minute ends: wait for one with mail
    def charted():
        d = pages.load("/overview", "overview", shot=False)
        return d if d.series.get("received", {}).get("sum", 0) > 0 else None
    dom2 = bwtest.wait_for(charted, 75, interval=2,
                           what="a minute of history on the overview")
    assert 0 < dom2.series["received"]["sum"] <= dom.figures["received"], (
        dom2.series, dom.figures)
    pages.load("/overview", "overview")
    j = get_json(port, "/overview")
    assert j["sample"]["received"] == dom.figures["received"], j["sample"]
    assert "alerts" in j and "history" in j, list(j)


def case_destinations(bw, port, pages, sink):
    # mail flows to OK_DOM meanwhile: its figures lie between two looks
    before = queue_rows(bw)
    n_before = sink.count()
    dom = pages.load("/destinations", "destinations")
    rows = queue_rows(bw)
    n_after = sink.count()
    got = {(r["gateway"][1], r["domain"][1]): r
           for r in dom.tables["queues"]}
    for k, q in rows.items():
        if k[1] == OK_DOM:
            continue
        assert int(got[k]["messages"][0]) == q["messages"], (k, got[k], q)
        assert int(got[k]["delivered"][0]) == q["delivered"], (k, got[k], q)
        assert got[k]["state"][1] == q["state"], (k, got[k], q)
    assert [k for k in got if k[1] == SLOW_DOM], sorted(got)
    # OK_DOM's queue exists while mail for it waits (it is forgotten
    # when idle): when shown, its count lies between the two looks
    for k in [k for k in got if k[1] == OK_DOM]:
        b = before.get(k, {"delivered": 0})["delivered"]
        a = rows.get(k, {"delivered": 1 << 62})["delivered"]
        assert b <= int(got[k]["delivered"][0]) <= a, (b, got[k], a)
        assert n_before <= int(got[k]["delivered"][0]) <= n_after, (
            n_before, got[k], n_after)
    # sorted by queued (largest first), by state, by oldest
    order = [int(r["messages"][0]) for r in dom.tables["queues"]]
    assert order == sorted(order, reverse=True), order
    d2 = Dom(pages.browser.dump_dom(url(port, "/destinations?sort=state",
                                        "bob")))
    st = [r["state"][1] for r in d2.tables["queues"]]
    assert st == sorted(st), st
    d3 = Dom(pages.browser.dump_dom(url(port, "/destinations?sort=oldest",
                                        "bob")))
    ol = [int(r["oldest"][0]) for r in d3.tables["queues"]
          if r.get("oldest", (None,))[0] not in (None, "0")]
    assert ol == sorted(ol), ol
    # the JSON is bwctl's rows
    j = get_json(port, "/destinations")
    assert {(q["gateway"], q["domain"]) for q in j["queue"]["queues"]} == \
        set(rows), j
    assert "history" in j


def case_domain(bw, port, pages):
    j = bw.bwctl("show", "domain", SLOW_DOM, json_out=True)
    dom = pages.load("/domain/" + SLOW_DOM, "domain")
    assert SLOW_DOM in dom.h1, dom.h1
    text = dom.alltext()
    for h in j.get("hosts", []):
        assert h["addr"] in text, (h, text[:2000])
    assert DEAD_ADDR in text, text[:2000]
    # the act user sees the buttons, with the session's token
    ops = {f.get("op") for f in dom.forms if f["_action"] == "/action"}
    assert ops == {"delete", "hold", "release", "bounce"}, dom.forms
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.get("csrf", ""))
               for f in dom.forms if f["_action"] == "/action"), dom.forms
    pj = get_json(port, "/domain/" + SLOW_DOM)
    assert [h["addr"] for h in pj["domain"].get("hosts", [])] == \
        [h["addr"] for h in j.get("hosts", [])], (pj, j)
    # a view user does not
    dv = Dom(pages.browser.dump_dom(url(port, "/domain/" + SLOW_DOM, "bob")))
    assert not [f for f in dv.forms if f["_action"] == "/action"], dv.forms
    # charts of its counts (when controld keeps history)
    if have_limit("monitor_sample_interval"):
        assert "delivered" in dom.series and "deferred" in dom.series, \
            dom.series


def case_message(bw, port, pages, qid):
    j = bw.bwctl("show", "message", qid, json_out=True)
    dom = pages.load("/message/" + qid, "message")
    assert qid in dom.h1, dom.h1
    rc = [r["rcpt"][1] for r in dom.tables.get("recipients", [])]
    assert rc == [r["rcpt"] for r in j["recipients"]], (rc, j)
    pj = get_json(port, "/message/" + qid)
    assert pj == j, (pj, j)     # what bwctl --json shows
    # a well-formed id that is not queued (the last character changed)
    other = qid[:-1] + ("0" if qid[-1] != "0" else "1")
    st, _ = http_req(port, "GET", "/message/%s?format=json" % other,
                     basic("bob"))
    assert st == 404, st
    st, _ = http_req(port, "GET", "/message/no%3Csuch%3E", basic("bob"))
    assert st in (400, 404), st


def case_incoming(bw, port, pages):
    sj = bw.bwctl("show", "senders", "-n", "1000", json_out=True)
    dom = pages.load("/incoming", "incoming")
    rows = {r["address"][1]: r for r in dom.tables["senders"]}
    for h in sj["senders"]:
        assert int(rows[h["address"]]["messages"][0]) == h["messages"], (
            h, rows.get(h["address"]))
    # the group and band summaries add up the rows, and say so
    for name in ("senders_by_group", "senders_by_score"):
        tot = sum(int(r["messages"][0]) for r in dom.tables[name])
        assert tot == sum(h["messages"] for h in sj["senders"]), (name, tot)
    assert "no counters per sender group" in dom.alltext()
    j = get_json(port, "/incoming")
    assert {h["address"] for h in j["senders"]["senders"]} == \
        {h["address"] for h in sj["senders"]}, j
    assert "history" in j


def case_system(bw, port, pages):
    st = bw.bwctl("status", json_out=True)
    dom = pages.load("/system", "system")
    names = {p["name"] for p in st["processes"]}
    text = dom.alltext()
    for n in names:
        assert n in text, (n, text[:1500])
    assert dom.tables.get("disk"), dom.tables.keys()
    j = get_json(port, "/system")
    assert {p["name"] for p in j["processes"]} == names, j


def case_delivered_is_sink(bw, port, pages, sink):
    """After the flow: queued's delivered count on the system page is
    bwctl's and the sink's."""
    dom = pages.load("/system", "system-after", shot=False)
    q = [r for r in dom.tables["processes"] if r["name"][1] == "queued"]
    assert q, dom.tables["processes"]
    m = re.search(r"rcpt_delivered=(\d+)", q[0]["counters"][1])
    assert m, q[0]["counters"][1][:500]
    assert int(m.group(1)) == bw.counters("queued")["rcpt_delivered"] == \
        sink.count(), (m.group(1), sink.count())


def case_left_early(bw, port):
    """Browsers that leave before their pages are answered cost nothing:
    their commands are cancelled, controld serves the next one."""
    import socket
    req = ("GET /%s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: %s\r\n"
           "\r\n")
    for i in range(20):
        page = ("destinations", "system", "incoming", "overview")[i % 4]
        s = socket.create_connection((ADDR, port), timeout=5,
                                     source_address=(ADDR, 0))
        s.sendall((req % (page, ADDR, port,
                          basic("bob")["Authorization"])).encode())
        s.close()
    j = get_json(port, "/system")
    assert j["processes"], j


def case_forged_action(bw, port, qid):
    body = urllib.parse.urlencode({"op": "delete", "sel": "qid",
                                   "value": qid, "confirm": "yes"})
    h = dict(basic("alice"),
             **{"Content-Type": "application/x-www-form-urlencoded"})
    st, data = http_req(port, "POST", "/action", h, body)
    assert st == 403, (st, data[:300])
    # bob has the token of his own but not the right to act
    tok = re.search(rb'name="csrf" value="([0-9a-f]{64})"',
                    http_req(port, "GET", "/overview",
                             dict(basic("bob"), Accept="text/html"))[1])
    assert tok, "no token on bob's page"
    body2 = urllib.parse.urlencode({"op": "delete", "sel": "qid",
                                    "value": qid, "confirm": "yes",
                                    "csrf": tok.group(1).decode()})
    h2 = dict(basic("bob"),
              **{"Content-Type": "application/x-www-form-urlencoded"})
    st, data = http_req(port, "POST", "/action", h2, body2)
    assert st == 403, (st, data[:300])
    j = bw.bwctl("show", "message", qid, json_out=True)
    assert j["recipients"], j    # still queued, untouched


def case_button_acts(bw, port, pages, qid):
    """alice: the message page's hold button, its dry run, the confirm."""
    with headless.DevTools(bw.base) as dt:
        dt.navigate(url(port, "/message/" + qid, "alice"))
        dt.submit('form.act button[value="hold"]')
        dry = Dom(dt.dom())
        assert "would" in dry.h1, dry.h1
        assert qid in dry.alltext(), dry.alltext()[:1000]
        dt.screenshot(os.path.join(ARTEFACTS, "action-dry-run.png"))
        assert qid not in held(bw), held(bw)
        dt.submit('form.confirm button[value="confirm"]')
        done = Dom(dt.dom())
        dt.screenshot(os.path.join(ARTEFACTS, "action-done.png"))
    assert held(bw).get(qid) == "held", (held(bw), done.alltext()[:800])


def held(bw):
    j = bw.bwctl("show", "held", json_out=True)
    return {m["qid"]: m["state"] for m in j["messages"]}


def run(bw, sink, port):
    pages = Pages(bw, port)
    t.run("a page without login is refused",
          lambda: case_refused_without_login(bw, port, pages))
    bw.bwctl("suspend", HELD_DOM)
    smtp_source(bw, N_OK, "rcpt@" + OK_DOM)
    for i in range(N_SLOW):
        send_one(bw, "r%d@%s" % (i, SLOW_DOM), "slow %d" % i)
    for i in range(N_HELD):
        send_one(bw, "r%d@%s" % (i, HELD_DOM), "held %d" % i)
    bwtest.wait_for(lambda: sink.count() >= N_OK, 60,
                    what="%d messages at the sink" % N_OK)
    held_qids = bwtest.wait_for(
        lambda: (lambda q: q if len(q) == N_HELD else None)(
            qids_of(bw, HELD_DOM)), 20, what="held messages listed")
    # more mail while the pages load: traffic flowing
    flow = subprocess.Popen(
        [SMTP_SOURCE, "-m", "200", "-s", "1", "-l", "300", "-w", "0.2",
         "-f", "bg@origin" + D, "-t", "bg@" + OK_DOM,
         "127.0.0.1:%d" % bw.private_port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    try:
        t.run("incoming: top senders and the group sums match bwctl",
              lambda: case_incoming(bw, port, pages))
        t.run("domain page: MX hosts, buttons for act only, charts",
              lambda: case_domain(bw, port, pages))
        t.run("message page and its JSON are bwctl's",
              lambda: case_message(bw, port, pages, held_qids[0]))
        t.run("system page: every daemon, disk",
              lambda: case_system(bw, port, pages))
        t.run("destinations match bwctl show queue and the sink, sorted",
              lambda: case_destinations(bw, port, pages, sink))
    finally:
        try:
            flow.wait(timeout=60)
        except subprocess.TimeoutExpired:
            flow.kill()
            flow.wait(timeout=10)
    bwtest.wait_for(lambda: bw.counters("smtpd")["messages_accepted"] ==
                    bw.counters("queued").get("rcpt_delivered", 0) +
                    N_SLOW + N_HELD, 60, what="the flow delivered")
    t.run("system page: delivered = bwctl = the sink's count",
          lambda: case_delivered_is_sink(bw, port, pages, sink))
    t.run("overview figures match bwctl status and the sink",
          lambda: case_overview(bw, port, pages, sink))
    t.run("browsers leaving before the answer cost nothing",
          lambda: case_left_early(bw, port))
    t.run("a forged action (no CSRF token, no right) is refused",
          lambda: case_forged_action(bw, port, held_qids[1]))
    t.run("a button: dry run, confirm, the message held",
          lambda: case_button_acts(bw, port, pages, held_qids[2]))
    print("# screenshots: %s" % ", ".join(
        sorted(os.listdir(ARTEFACTS))))
    print("# artefacts in %s" % ARTEFACTS)


def main():
    if headless.chromium_path() is None:
        t.skip("monitor pages in Chromium",
               "chromium not installed (tools/install-deps.sh)")
        t.done()
    if not os.path.exists(SMTP_SOURCE) or not os.path.exists(
            peers.SMTP_SINK):
        t.skip("monitor pages in Chromium", "smtp-source/smtp-sink missing")
        t.done()
    port = bwtest.free_port()
    with bwtest.Breakwater("monweb") as bw:
        sink = peers.Sink(bw.base, SINK_ADDR, bwtest.free_port())
        try:
            write_passwd(bw)
            bw.write_config(config_text(bw, sink.port, port))
            bw.start()
            bwtest.wait_for(lambda: bwtest.port_open(port, ADDR), 10,
                            what="the monitor listening")
            run(bw, sink, port)
        finally:
            sink.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


if __name__ == "__main__":
    main()
