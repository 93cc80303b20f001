#!/usr/bin/python3
"""/metrics (issue 13): controld's Prometheus text, parsed by a real
parser (prometheus_client.parser from Debian's python3-prometheus-client).

All five daemons; one smtp-sink on 127.0.35.11 takes the mail of
go.test and held.test; held.test is suspended while the test looks.  The
monitor listens on 127.0.35.12 (HTTP Basic with a password file).

Cases: after N messages delivered and M held, bwctl metrics parses; every
family has one TYPE; counters are counters named _total, gauges gauges
(the list in ctl_metric.c); smtpd's and queued's counters match the
traffic sent and delivered; the sampler's queue figures: M messages in
suspended queues, M parked, held.test among the top destinations with M
(labels gateway, domain, state), the latency histogram counting the N
deliveries (cumulative buckets, +Inf = count); an active alert
(alert_domain_queued) is a sample of breakwater_alert_active; GET
/metrics with HTTP Basic serves the same families as text/plain version
0.0.4, and refuses without a login.
"""

import base64
import hashlib
import http.client
import os
import smtplib

import bwtest
import peers

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None

SINK_ADDR = "127.0.35.11"
HTTP_ADDR = "127.0.35.12"
N, M = 6, 3
t = bwtest.TAP()


def config_text(bw, sink_port, http_port):
    extra = """deliverd_workers 1
dns_servers 127.0.0.1:%(dns)d
alert_check_interval 1s
monitor_sample_interval 1s
alert_domain_queued 2
route go.test -> [%(sink)s]:%(sport)d
route held.test -> [%(sink)s]:%(sport)d
monitor_listen %(http_addr)s:%(http)d
""" % {"dns": bwtest.free_port(), "sink": SINK_ADDR, "sport": sink_port,
       "http_addr": HTTP_ADDR, "http": http_port}
    return bwtest.default_config(bw, extra=extra)


def write_passwd(bw, user, password):
    d = os.path.join(bw.base, "etc")
    os.makedirs(d, exist_ok=True)
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    with open(os.path.join(d, "monitor.passwd"), "w") as f:
        f.write("%s:$pbkdf2-sha256$1000$%s$%s:view\n" % (
            user, base64.b64encode(salt).decode(),
            base64.b64encode(key).decode()))


def send(bw, rcpt):
    with smtplib.SMTP("127.0.0.1", bw.private_port, timeout=30) as s:
        s.sendmail("m@origin.example", [rcpt], "Subject: m\r\n\r\nhi\r\n")


def families(text):
    """{name: family}; the parser fails on a malformed line."""
    out = {}
    for f in text_string_to_metric_families(text):
        assert f.name not in out, "family %s twice" % f.name
        out[f.name] = f
    return out


def sample(fams, family, **labels):
    """The value of the first sample of the family with these labels."""
    f = fams.get(family)
    assert f is not None, "no family %s" % family
    for s in f.samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no sample of %s with %r in %r" % (
        family, labels, f.samples[:8]))


def http_get(port, path, headers=None):
    c = http.client.HTTPConnection(HTTP_ADDR, port, timeout=10,
                                   source_address=(HTTP_ADDR, 0))
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        c.close()


def main():
    if text_string_to_metric_families is None:
        t.skip("metrics", "python3-prometheus-client not installed")
        t.done()
    if not os.path.exists(peers.SMTP_SINK):
        t.skip("metrics", "smtp-sink not installed")
        t.done()
    with bwtest.Breakwater("metrics") as bw:
        write_passwd(bw, "prom", "prom-secret")
        http_port = bwtest.free_port()
        sink = peers.Sink(bw.base, SINK_ADDR, bwtest.free_port())
        try:
            bw.write_config(config_text(bw, sink.port, http_port))
            bw.start()
            run_cases(bw, sink, http_port)
        finally:
            sink.stop()
        for p in bwtest.DEFAULT_PROCS:
            t.ok(bw.running(p), "%s still running" % p, bw.log_tail(p))
    t.ok(not bw.sanitizer_reports, "no sanitizer reports",
         "\n".join(bw.sanitizer_reports))
    t.done()


def run_cases(bw, sink, http_port):
    state = {}

    def metrics():
        return families(bw.bwctl("metrics").stdout)

    def traffic():
        bw.bwctl("suspend", "held.test")
        for i in range(N):
            send(bw, "r%d@go.test" % i)
        for i in range(M):
            send(bw, "h%d@held.test" % i)
        bwtest.wait_for(lambda: sink.count() >= N, 30, what="N at the sink")

        def delivered():
            fams = metrics()
            return sample(fams, "breakwater_process_rcpt_delivered",
                          name="queued") >= N and fams
        fams = bwtest.wait_for(delivered, 20, what="rcpt_delivered N")
        state["fams"] = fams
        assert sum(s.value for s in fams[
            "breakwater_process_messages_accepted"].samples
            if s.labels["name"].startswith("smtpd[")) == N + M, \
            fams["breakwater_process_messages_accepted"].samples
        assert sample(fams, "breakwater_process_messages_accepted",
                      name="queued") == N + M
        assert sample(fams, "breakwater_process_rcpt_delivered",
                      name="queued") == N
        assert sum(s.value for s in fams[
            "breakwater_process_delivered"].samples) == N, \
            fams["breakwater_process_delivered"].samples
        assert sample(fams, "breakwater_process_queued_messages",
                      name="queued") == M
    t.run("daemon counters match the traffic: accepted N+M by smtpd and "
          "queued, N delivered, M queued", traffic)

    def types():
        fams = state["fams"]
        for name, f in fams.items():
            assert name.startswith("breakwater_"), name
            for s in f.samples:
                if f.type == "counter":
                    assert s.name == name + "_total", (name, s.name)
        for g in ("connections_active", "queued_messages", "open_messages",
                  "jobs_active", "agents", "cache_entries",
                  "daemons_connected", "alerts_active", "uptime"):
            assert fams["breakwater_process_" + g].type == "gauge", g
        for c in ("messages_accepted", "rcpt_delivered", "queries",
                  "connections", "delivered", "requests"):
            assert fams["breakwater_process_" + c].type == "counter", c
        # every process, smtpd and deliverd workers by name
        names = {s.labels["name"] for s in
                 fams["breakwater_process_uptime"].samples}
        assert {"smtpd[0]", "queued", "dnscached", "controld",
                "deliverd[0]"} <= names, names
    t.run("counters are counters (_total), gauges gauges; every process",
          types)

    def queue_figures():
        def sampled():
            fams = metrics()
            try:
                ok = (sample(fams, "breakwater_queue_messages",
                             state="suspended") == M and
                      sample(fams, "breakwater_delivery_latency_seconds",
                             le="+Inf") >= N)
            except AssertionError:
                ok = False
            return ok and fams
        fams = bwtest.wait_for(sampled, 20, what="a sample with the queues")
        assert fams["breakwater_queue_messages"].type == "gauge"
        assert sample(fams, "breakwater_queue_messages", state="active") == 0
        assert sample(fams, "breakwater_queue_queues",
                      state="suspended") == 1
        assert sample(fams, "breakwater_work_parked") == M
        assert sample(fams, "breakwater_work_ready") == 0
        assert sample(fams, "breakwater_destination_queued",
                      gateway="default", domain="held.test",
                      state="suspended") == M
        assert sample(fams, "breakwater_destination_oldest_age_seconds",
                      domain="held.test") >= 0
        assert fams["breakwater_destination_delivered"].type == "counter"
        # every destination listed is a labelled sample, and few
        assert len(fams["breakwater_destination_queued"].samples) <= 50
        h = fams["breakwater_delivery_latency_seconds"]
        assert h.type == "histogram", h.type
        buckets = [(s.labels["le"], s.value) for s in h.samples
                   if s.name.endswith("_bucket")]
        vals = [v for _, v in buckets]
        assert vals == sorted(vals), buckets
        assert buckets[-1][0] == "+Inf", buckets
        count = [s.value for s in h.samples if s.name.endswith("_count")]
        assert count == [buckets[-1][1]] and count[0] == N, (count, buckets)
        assert sample(fams, "breakwater_monitor_sample_age_seconds") <= 5
    t.run("queue figures: by state, the work queue, the top destinations "
          "(labels), the latency histogram counts the N deliveries",
          queue_figures)

    def alert():
        subj = "default/held.test"
        fams = bwtest.wait_for(
            lambda: (lambda f: f if "breakwater_alert_active" in f and
                     any(s.labels.get("subject") == subj and s.value == 1
                         for s in f["breakwater_alert_active"].samples)
                     else None)(metrics()), 15,
            what="alert active for held.test")
        assert sample(fams, "breakwater_alert_active", kind="domain_queued",
                      subject=subj) == 1
        assert fams["breakwater_alert_notices"].type == "counter"
        bw.bwctl("resume", "held.test")
        bwtest.wait_for(lambda: sink.count() >= N + M, 30,
                        what="held mail delivered")
        fams = bwtest.wait_for(
            lambda: (lambda f: f if sample(
                f, "breakwater_alert_active", kind="domain_queued",
                subject=subj) == 0 else None)(metrics()), 15,
            what="alert cleared")
        assert sample(fams, "breakwater_process_queued_messages",
                      name="queued") == 0
    t.run("an alert is breakwater_alert_active 1 while it lasts, 0 after",
          alert)

    def over_http():
        st, _, _ = http_get(http_port, "/metrics")
        assert st == 401, st
        auth = {"Authorization": "Basic " + base64.b64encode(
            b"prom:prom-secret").decode()}
        st, ctype, body = http_get(http_port, "/metrics", auth)
        assert st == 200, (st, body[:300])
        assert ctype.startswith("text/plain") and "0.0.4" in ctype, ctype
        fams = families(body.decode())
        assert sample(fams, "breakwater_process_rcpt_delivered",
                      name="queued") == N + M
        assert "breakwater_alert_active" in fams, sorted(fams)[:20]
        st, _, _ = http_get(http_port, "/metrics/x", auth)
        assert st == 404, st
    t.run("GET /metrics with HTTP Basic: the same text (0.0.4); 401 "
          "without a login", over_http)


if __name__ == "__main__":
    main()
