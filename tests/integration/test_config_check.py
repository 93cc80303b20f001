#!/usr/bin/python3
"""bwctl config check: the example config and the built-in default pass, a
file with several errors reports each one as file:line (text and --json),
and the daemons' -n refuses what bwctl refuses.  Runs no daemon."""

import json
import os
import shutil
import subprocess
import tempfile

import bwtest

BWCTL = os.path.join(bwtest.BUILDDIR, "ctl", "bwctl")
EXAMPLE = os.path.join(bwtest.SRCDIR, "etc", "breakwater.conf.example")

t = bwtest.TAP()
tmp = tempfile.mkdtemp(prefix="bw-config-check-")
sanitizer_reports = []


def scan(name, text):
    for line in text.splitlines():
        if bwtest.SANITIZER_PATTERNS.search(line):
            sanitizer_reports.append("%s: %s" % (name, line))


def bwctl(*args, timeout=30):
    r = subprocess.run([BWCTL] + list(args), capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    scan("bwctl", r.stderr.decode("utf-8", "replace"))
    # Output is bytes: JSON must be valid UTF-8 by itself.
    return r.returncode, r.stdout.decode("utf-8"), \
        r.stderr.decode("utf-8", "replace")


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return path


# Line numbers matter: each bad line is checked by number.
BAD = """hostname mx.test.example
no_such_setting 1
smtpd_max_recipients 100
smtpd_max_recipients lots
listener private {
    address 127.0.0.1
    port 2525
    type private
    relay_networks 127.0.0.0/8
}
another_unknown_keyword yes
smtpd_timeout_command 10parsecs
"""
BAD_LINES = [2, 4, 11, 12]


def case_example_passes():
    assert os.path.exists(EXAMPLE), "%s is missing" % EXAMPLE
    rc, out, err = bwctl("config", "check", EXAMPLE)
    assert rc == 0, (rc, out, err)
    assert "configuration OK" in out, out


def case_example_json():
    rc, out, err = bwctl("--json", "config", "check", EXAMPLE)
    assert rc == 0, (rc, out, err)
    doc = json.loads(out)
    assert doc["ok"] is True and doc["errors"] == [], doc


def case_default_passes():
    rc, out, err = bwctl("config", "check")
    assert rc == 0, (rc, out, err)
    assert "configuration OK" in out, out
    rc, out, err = bwctl("-j", "config", "check")
    assert rc == 0 and json.loads(out)["ok"] is True, (rc, out, err)


def case_f_option_is_the_default_file():
    good = write("good.conf", bwtest.default_config(FakeBW()))
    rc, out, err = bwctl("-f", good, "config", "check")
    assert rc == 0, (rc, out, err)
    assert good in out, out
    bad = write("bad-f.conf", BAD)
    rc, out, err = bwctl("-f", bad, "config", "check")
    assert rc == 1, (rc, out, err)


def case_errors_each_reported():
    path = write("bad.conf", BAD)
    rc, out, err = bwctl("config", "check", path)
    assert rc == 1, (rc, out, err)
    text = out + err
    for line in BAD_LINES:
        assert "%s:%d: " % (path, line) in text, \
            "no error for line %d in:\n%s" % (line, text)
    assert "configuration OK" not in text, text
    # Good lines produce no error.
    for line in (1, 3, 6, 7):
        assert "%s:%d: " % (path, line) not in text, (line, text)


def case_errors_json():
    path = write("bad.conf", BAD)
    rc, out, err = bwctl("--json", "config", "check", path)
    assert rc == 1, (rc, out, err)
    doc = json.loads(out)
    assert doc["ok"] is False, doc
    assert isinstance(doc["errors"], list) and len(doc["errors"]) >= \
        len(BAD_LINES), doc
    for e in doc["errors"]:
        assert e.startswith(path + ":"), e
    lines = {int(e[len(path) + 1:].split(":", 1)[0]) for e in doc["errors"]}
    assert set(BAD_LINES) <= lines, (lines, doc)


def case_hostile_text_is_escaped():
    # Quotes, backslashes, control bytes and invalid UTF-8 in the file must
    # still give valid JSON (and valid UTF-8).
    path = write("weird.conf",
                 b'hostname mx.test.example\nbad"key\\x\x01\xff\xfe 1\n'
                 b'\xc3\xa9t\xc3\xa9 "quoted\\" \x1b[31m\n')
    rc, out, err = bwctl("--json", "config", "check", path)
    assert rc == 1, (rc, out, err)
    doc = json.loads(out)
    assert doc["ok"] is False and len(doc["errors"]) >= 1, doc
    assert any(e.startswith(path + ":2:") for e in doc["errors"]), doc


def case_missing_file():
    path = os.path.join(tmp, "does-not-exist.conf")
    rc, out, err = bwctl("config", "check", path)
    assert rc == 1, (rc, out, err)
    assert "does-not-exist.conf" in out + err, (out, err)


def case_usage():
    rc, out, err = bwctl("config", "frobnicate")
    assert rc == 2, (rc, out, err)
    rc, out, err = bwctl("config", "check", "a", "b")
    assert rc == 2, (rc, out, err)


def case_daemons_check_like_bwctl():
    good = write("good.conf", bwtest.default_config(FakeBW()))
    bad = write("bad.conf", BAD)
    for proc in ("controld", "deliverd", "dnscached"):
        binary = os.path.join(bwtest.BUILDDIR, bwtest.DAEMONS[proc])
        r = subprocess.run([binary, "-n", "-f", good, "-b", tmp],
                           capture_output=True, text=True, timeout=30)
        scan(proc, r.stderr)
        assert r.returncode == 0, (proc, r.returncode, r.stderr)
        r = subprocess.run([binary, "-n", "-f", bad, "-b", tmp],
                           capture_output=True, text=True, timeout=30)
        scan(proc, r.stderr)
        assert r.returncode != 0, (proc, r.returncode, r.stderr)
        assert "%s:2: " % bad in r.stderr, (proc, r.stderr)


class FakeBW:
    """What default_config() needs: two listener ports."""
    public_port = 2525
    private_port = 2526


t.run("example config passes", case_example_passes)
t.run("example config passes (--json)", case_example_json)
t.run("built-in default passes", case_default_passes)
t.run("-f names the file checked by default", case_f_option_is_the_default_file)
t.run("each error reported as file:line, exit 1", case_errors_each_reported)
t.run("errors as JSON with file:line", case_errors_json)
t.run("hostile bytes in the file still give valid JSON",
      case_hostile_text_is_escaped)
t.run("missing file is an error naming it", case_missing_file)
t.run("config usage errors exit 2", case_usage)
t.run("controld/deliverd/dnscached -n agree with bwctl",
      case_daemons_check_like_bwctl)

t.ok(not sanitizer_reports, "no sanitizer reports",
     "\n".join(sanitizer_reports))
shutil.rmtree(tmp, ignore_errors=True)
t.done()
