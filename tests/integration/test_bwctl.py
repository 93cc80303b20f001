#!/usr/bin/python3
"""bwctl against the running suite: status (every process, pids), show
queue, show message, list messages, in text and --json; errors (unknown
command, unknown queue id, queued or controld down, a stalled queued);
several bwctl at once; hostile clients on the control socket."""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import bwtest
from imsgproto import HDR, take_frame

WORKERS = 2
CTL_TIMEOUT_S = 3
BWCTL = os.path.join(bwtest.BUILDDIR, "ctl", "bwctl")
QID_RE = re.compile(r"queued as ([0-9A-F]{16})")

# imsg framing (common/imsg.h, imsg_catalog.h), native byte order.
HELLO = struct.Struct("=IIII")          # version, role, pid, worker
IMSG_VERSION, TYPES = bwtest.imsg_catalog()
ROLE_BWCTL = 1 << 5
T_HELLO, T_CTL_CMD, T_CTL_OUTPUT, T_CTL_DONE = (
    TYPES["BW_IMSG_" + n] for n in ("HELLO", "CTL_CMD", "CTL_OUTPUT", "CTL_DONE"))


def catalog_define(name):
    """A #define of common/imsg_catalog.h, so that the frames follow it."""
    with open(os.path.join(bwtest.SRCDIR, "common", "imsg_catalog.h")) as f:
        return int(re.search(r"#define\s+%s\s+(\d+)" % name,
                             f.read()).group(1))


CTL_ARGC_MAX = catalog_define("BW_CTL_ARGC_MAX")
CTL_ARG_MAX = catalog_define("BW_CTL_ARG_MAX")

t = bwtest.TAP()


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def status(bw):
    return {p["name"]: p for p in bw.bwctl("status", json_out=True)
            ["processes"]}


def expected_names():
    return ["controld", "queued", "dnscached"] + \
        ["%s[%d]" % (d, i) for d in ("smtpd", "deliverd")
         for i in range(WORKERS)]


def all_up(bw):
    procs = status(bw)
    return all(n in procs and procs[n]["state"] == "up"
               for n in expected_names()) and procs


def send(bw, rcpts, sender="alice@sender.example", port=None):
    args = ["--from", sender, "--ehlo", "client.test.example"]
    args += ["--to", ",".join(rcpts)]  # swaks keeps only the last --to
    r = bw.swaks(*args, port=port)
    m = QID_RE.search(r.stdout)
    assert r.returncode == 0 and m, (r.returncode, r.stdout[-2000:],
                                     r.stderr[-500:])
    return m.group(1)


def raw_client(bw):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(bw.rundir, "control.sock"))
    return s


def frame(type_, payload, peerid=0):
    return HDR.pack(type_, len(payload), peerid, os.getpid(), 0) + payload


def hello():
    return frame(T_HELLO, HELLO.pack(IMSG_VERSION, ROLE_BWCTL, os.getpid(), 0))


def ctl_cmd(args, version=IMSG_VERSION, flags=0, argc=None, raw_argv=None):
    argv = raw_argv if raw_argv is not None else b"".join(
        a.encode().ljust(CTL_ARG_MAX, b"\0") for a in args)
    argv = argv.ljust(CTL_ARGC_MAX * CTL_ARG_MAX, b"\0")
    return frame(T_CTL_CMD, struct.pack(
        "=III", version, flags, len(args) if argc is None else argc) + argv)


def read_answer(s, timeout=10):
    """(exitcode, text) of one answer; (None, text) if the peer closed."""
    buf, text = b"", b""
    deadline = time.monotonic() + timeout
    while True:
        while True:
            f, buf = take_frame(buf)
            if f is None:
                break
            type_, _peerid, payload = f
            if type_ == T_CTL_OUTPUT:
                text += payload
            elif type_ == T_CTL_DONE:
                return struct.unpack("=i", payload)[0], text.decode()
        left = deadline - time.monotonic()
        assert left > 0, "no answer"
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            return None, text.decode()
        buf += d


def check_status_text(bw):
    r = bw.bwctl("status")
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["PROCESS", "STATE", "PID", "UPTIME"], \
        lines[0]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    for n in ("controld", "queued", "dnscached"):
        assert rows[n][1] == "up", rows[n]
        assert int(rows[n][2]) == bw.pid(n), (n, rows[n], bw.pid(n))
    for d in ("smtpd", "deliverd"):
        for i in range(WORKERS):
            row = rows["%s[%d]" % (d, i)]
            assert row[1] == "up", row
            assert ppid(int(row[2])) == bw.pid(d), row
    assert "requests=" in " ".join(rows["controld"]), rows["controld"]


def check_status_json(bw):
    procs = status(bw)
    for n in ("controld", "queued", "dnscached"):
        p = procs[n]
        assert p["state"] == "up" and p["pid"] == bw.pid(n), p
        assert isinstance(p["uptime"], int) and 0 <= p["uptime"] < 600, p
        assert isinstance(p["counters"], dict), p
    for d in ("smtpd", "deliverd"):
        for i in range(WORKERS):
            p = procs["%s[%d]" % (d, i)]
            assert p["state"] == "up" and ppid(p["pid"]) == bw.pid(d), p
            assert isinstance(p["uptime"], int) and \
                0 <= p["uptime"] < 600, p
            assert p["counters"]["queued_up"] == 1, p
    assert "messages_accepted" in procs["queued"]["counters"], procs["queued"]
    assert "connections" in procs["smtpd[0]"]["counters"], procs["smtpd[0]"]
    names = [p["name"] for p in
             bw.bwctl("status", json_out=True)["processes"]]
    assert names[0] == "controld", names


def check_queue_empty(bw):
    r = bw.bwctl("show", "queue")
    assert "empty" in r.stdout, r.stdout
    doc = bw.bwctl("show", "queue", json_out=True)
    assert doc["queues"] == [] and doc["total"] == {
        "queues": 0, "messages": 0}, doc


QIDS = {}


def send_messages(bw):
    QIDS["org1"] = send(bw, ["a@example.org"])
    QIDS["org2"] = send(bw, ["b@example.org"])
    QIDS["multi"] = send(bw, ["c@example.org", "d@Example.NET"],
                         sender="bob@sender.example")
    QIDS["net"] = send(bw, ["e@example.net"])
    QIDS["com"] = send(bw, ["f@example.com"])


def check_queue_text(bw):
    lines = bw.bwctl("show", "queue").stdout.splitlines()
    assert lines[0].split() == ["GATEWAY", "DOMAIN", "STATE", "QUEUED",
                                "OLDEST", "ACTIVE", "CONNS/LIMIT",
                                "DELIVERED", "HARD", "SOFT", "LAST",
                                "ERROR"], lines[0]
    rows = [l.split() for l in lines[1:4]]
    assert [(r[1], r[3]) for r in rows] == [
        ("example.org", "3"), ("example.net", "2"), ("example.com", "1")], \
        lines
    assert all(r[0] == "default" and r[2] == "active" for r in rows), rows
    assert re.search(r"total: 3 queues, 5 messages", lines[4]), lines


def check_queue_json(bw):
    doc = bw.bwctl("show", "queue", json_out=True)
    q = {e["domain"]: e for e in doc["queues"]}
    assert set(q) == {"example.org", "example.net", "example.com"}, doc
    assert [e["domain"] for e in doc["queues"]] == [
        "example.org", "example.net", "example.com"], doc
    assert q["example.org"]["messages"] == 3, doc
    assert q["example.net"]["messages"] == 2, doc
    assert q["example.com"]["messages"] == 1, doc
    now = time.time()
    for e in doc["queues"]:
        assert e["gateway"] == "default" and e["state"] == "active", e
        assert now - 300 < e["oldest"] <= now + 1, e
        assert 0 <= e["oldest_age"] < 300, e
    assert doc["total"] == {"queues": 3, "messages": 5}, doc


def check_message_text(bw):
    out = bw.bwctl("show", "message", QIDS["multi"]).stdout
    assert QIDS["multi"] in out, out
    assert "<bob@sender.example>" in out, out
    assert "c@example.org" in out and "d@Example.NET" in out, out
    assert "client.test.example" in out and "127.0.0.1" in out, out
    # Queue ids are accepted in lower case too.
    out2 = bw.bwctl("show", "message", QIDS["multi"].lower()).stdout
    assert QIDS["multi"] in out2, out2


def check_message_json(bw):
    m = bw.bwctl("show", "message", QIDS["multi"], json_out=True)
    assert m["qid"] == QIDS["multi"], m
    assert m["sender"] == "bob@sender.example", m
    assert m["nrcpt"] == 2 and len(m["recipients"]) == 2, m
    assert m["size"] > 0 and m["body_stored"] == m["size"], m
    assert m["listener"] == "private" and m["client_addr"] == "127.0.0.1", m
    assert m["helo"] == "client.test.example", m
    assert m["gateway"] == "default", m
    assert abs(time.time() - m["created"]) < 300, m
    r = {x["rcpt"]: x for x in m["recipients"]}
    assert r["c@example.org"]["domain"] == "example.org", r
    assert r["d@Example.NET"]["domain"] == "example.net", r
    for x in m["recipients"]:
        assert x["state"] == "queued" and x["attempts"] == 0, x
        assert isinstance(x["last_reply"], str), x


def check_message_unknown(bw):
    r = bw.bwctl("show", "message", "0000000000000001", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "not found" in r.stderr, r.stderr
    assert r.stdout == "", r.stdout
    r = bw.bwctl("show", "message", "0000000000000001", json_out=True,
                 check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    r = bw.bwctl("show", "message", "not-a-qid", check=False)
    assert r.returncode == 2 and "invalid queue id" in r.stderr, \
        (r.returncode, r.stderr)


def check_list(bw):
    doc = bw.bwctl("list", "messages", json_out=True)
    assert doc["count"] == 5 and doc["truncated"] is False, doc
    qids = [m["qid"] for m in doc["messages"]]
    assert set(qids) == set(QIDS.values()), (qids, QIDS)
    for m in doc["messages"]:
        assert m["size"] > 0 and m["body_stored"] == m["size"], m
        assert m["nrcpt"] == m["rcpt_stored"] >= 1, m
    doc = bw.bwctl("list", "messages", "2", json_out=True)
    assert doc["count"] == 2 and len(doc["messages"]) == 2, doc
    assert doc["truncated"] is True, doc
    out = bw.bwctl("list", "messages").stdout
    assert all(q in out for q in QIDS.values()), out
    assert "5 messages" in out, out
    r = bw.bwctl("list", "messages", "many", check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)


def check_usage_errors(bw):
    r = bw.bwctl("frobnicate", check=False)
    assert r.returncode == 2 and "usage" in r.stderr, (r.returncode, r.stderr)
    r = bw.bwctl("show", "nonsense", check=False)
    assert r.returncode == 2 and "unknown command" in r.stderr, \
        (r.returncode, r.stderr)
    r = bw.bwctl("status", "extra", check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)
    r = subprocess.run([BWCTL], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "usage" in r.stderr, r
    r = subprocess.run([BWCTL, "help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0 and "show queue" in r.stdout, r
    r = bw.bwctl(*(["status"] + ["x"] * 9), check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)


def check_concurrent(bw):
    base = [BWCTL, "-b", bw.base, "-f", bw.config_path, "--json"]
    cmds = [["status"], ["show", "queue"], ["list", "messages"],
            ["show", "message", QIDS["org1"]]] * 4
    procs = [subprocess.Popen(base + c, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for c in cmds]
    for c, p in zip(cmds, procs):
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, (c, p.returncode, err)
        doc = json.loads(out)
        if c[0] == "status":
            assert len(doc["processes"]) >= len(expected_names()), doc
        elif c == ["show", "queue"]:
            assert doc["total"]["messages"] == 5, doc
        elif c[0] == "list":
            assert doc["count"] == 5, doc
        else:
            assert doc["qid"] == QIDS["org1"], doc


def check_version_mismatch(bw):
    s = raw_client(bw)
    s.sendall(hello() + ctl_cmd(["status"], version=IMSG_VERSION + 100))
    code, text = read_answer(s)
    s.close()
    assert code == 2, (code, text)
    assert "version" in text and text.count("\n") == 1, text


def check_hostile_clients(bw):
    # argc out of range, unterminated arguments, then a garbage frame and a
    # silent client: each affects only its own connection.
    s = raw_client(bw)
    s.sendall(hello() + ctl_cmd([], argc=1000))
    code, text = read_answer(s)
    assert code == 2, (code, text)
    s.sendall(ctl_cmd(["status"], raw_argv=b"A" * (CTL_ARGC_MAX *
                                                   CTL_ARG_MAX),
                          argc=CTL_ARGC_MAX))
    code, text = read_answer(s)
    assert code == 2 and "unknown command" in text, (code, text)
    s.close()
    silent = raw_client(bw)
    garbage = raw_client(bw)
    garbage.sendall(hello() + HDR.pack(9999, 5, 0, 0, 0) + b"xxxxx")
    code, _ = read_answer(garbage)
    assert code is None, code
    garbage.close()
    early = raw_client(bw)
    early.sendall(ctl_cmd(["status"]))          # no HELLO first
    code, _ = read_answer(early)
    assert code is None, code
    early.close()
    assert status(bw)["controld"]["state"] == "up"
    silent.close()


def check_stalled_queued(bw):
    # A stopped queued: show queue fails at the deadline, status calls it
    # unresponsive; both answer in bounded time.
    bw.send_signal("queued", signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = bw.bwctl("show", "queue", check=False)
        took = time.monotonic() - t0
        assert r.returncode == 1 and "did not answer" in r.stderr, \
            (r.returncode, r.stderr)
        assert CTL_TIMEOUT_S - 0.5 < took < CTL_TIMEOUT_S + 3, took
        t0 = time.monotonic()
        procs = status(bw)
        assert time.monotonic() - t0 < 4, "status took too long"
        assert procs["queued"]["state"] == "unresponsive", procs["queued"]
        assert procs["queued"]["pid"] == bw.pid("queued"), procs["queued"]
        assert procs["smtpd[0]"]["state"] == "up", procs["smtpd[0]"]
    finally:
        bw.send_signal("queued", signal.SIGCONT)
    bwtest.wait_for(lambda: bw.bwctl("show", "queue", check=False)
                    .returncode == 0, 10, what="queued answers again")


def check_queued_down(bw):
    assert bw.stop("queued") == 0
    r = bw.bwctl("show", "queue", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "queued is not running" in r.stderr, r.stderr
    r = bw.bwctl("show", "message", QIDS["org1"], check=False)
    assert r.returncode == 1 and "queued" in r.stderr, r.stderr
    procs = status(bw)
    assert procs["queued"]["state"] == "down", procs["queued"]
    assert procs["queued"]["pid"] is None, procs["queued"]
    out = bw.bwctl("status").stdout
    assert re.search(r"^queued\s+down\s+-", out, re.M), out
    bw.start_one("queued")
    bw.wait_ready(["queued"])
    bwtest.wait_for(lambda: all_up(bw), 15, what="all up after queued")
    assert bw.bwctl("show", "queue", json_out=True)["total"]["messages"] == 5


def check_controld_down(bw):
    bw.stop("controld")
    r = bw.bwctl("status", check=False)
    sock = os.path.join(bw.rundir, "control.sock")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith("bwctl: cannot connect to controld at %s: "
                               % sock), r.stderr
    assert r.stdout == "", r.stdout
    r = bw.bwctl("-s", "/nonexistent/control.sock", "status", check=False)
    assert r.returncode == 1 and "cannot connect to controld at " \
        "/nonexistent/control.sock: No such file" in r.stderr, r.stderr
    bw.start_one("controld")
    bw.wait_ready(["controld"])
    # Every daemon reconnects (backoff at most 5 s).
    procs = bwtest.wait_for(lambda: all_up(bw), 15,
                            what="daemons reconnected to controld")
    assert procs["controld"]["pid"] == bw.pid("controld"), procs


def check_still_running(bw):
    for p in bwtest.DEFAULT_PROCS:
        assert bw.running(p), (p, bw.log_tail(p))


# Mail must stay queued while deliverd runs: its domains are routed to a
# listener that never answers (deliverd waits for the greeting).
SILENT = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
SILENT.bind(("127.0.0.1", 0))
SILENT.listen(64)
ROUTES = "".join("route %s -> [127.0.0.1]:%d\n" % (d, SILENT.getsockname()[1])
                 for d in ("example.org", "example.net", "example.com"))

with bwtest.Breakwater("bwctl") as bw:
    bw.write_config(bwtest.default_config(
        bw, extra="deliverd_workers %d\nsmtpd_workers %d\nctl_timeout %ds\n"
        "%s" % (WORKERS, WORKERS, CTL_TIMEOUT_S, ROUTES)))
    bw.start()
    t.run("all processes come up", lambda: bwtest.wait_for(
        lambda: all_up(bw), 20, what="status all up"))
    t.run("status (text): every process up, pids match", check_status_text,
          bw)
    t.run("status --json: every process up, pids match", check_status_json,
          bw)
    t.run("show queue on an empty queue", check_queue_empty, bw)
    t.run("five messages accepted", send_messages, bw)
    t.run("show queue (text): per-domain counts, sorted", check_queue_text,
          bw)
    t.run("show queue --json", check_queue_json, bw)
    t.run("show message (text)", check_message_text, bw)
    t.run("show message --json", check_message_json, bw)
    t.run("unknown or invalid queue id", check_message_unknown, bw)
    t.run("list messages (text, --json, LIMIT)", check_list, bw)
    t.run("usage errors exit 2", check_usage_errors, bw)
    t.run("16 bwctl at once", check_concurrent, bw)
    t.run("protocol version mismatch: one line, exit 2",
          check_version_mismatch, bw)
    t.run("hostile control clients affect only themselves",
          check_hostile_clients, bw)
    t.run("stalled queued: deadline and unresponsive",
          check_stalled_queued, bw)
    t.run("queued down: clear error, exit 1", check_queued_down, bw)
    t.run("controld down: clean error; daemons reconnect",
          check_controld_down, bw)
    t.run("every daemon still running", check_still_running, bw)
    bw.stop_all()
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
t.done()
