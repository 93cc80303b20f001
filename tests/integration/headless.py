"""Headless Chromium for the monitor's page tests (Debian package chromium).

Two ways to drive it, both bounded in time and killed by pid:

- one Chromium run per page: ``dump_dom(url)`` (the DOM after scripts and
  layout, ``--dump-dom``) and ``screenshot(url, path)``.  Logging in is
  HTTP Basic in the URL (``http://user:pass@host:port/page?login=basic``):
  Chromium answers the 401 challenge with the URL's credentials for a
  top-level navigation;
- ``DevTools``: one Chromium driven over ``--remote-debugging-pipe`` (the
  DevTools protocol as NUL-separated JSON on fds 3 and 4, Python stdlib
  only), for what a single run cannot do: fill and submit the login form,
  keep the session cookie, click a button, read the page after it.

As root Chromium runs only with --no-sandbox.  Every run gets its own
--user-data-dir under the caller's directory.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

CANDIDATES = ("chromium", "chromium-browser", "chromium-headless-shell")
RUN_TIMEOUT = 45        # seconds for one Chromium run (page load + dump)
WINDOW = (1280, 1400)   # screenshot size: an overview fits


def chromium_path():
    """The Chromium binary, or None when the package is not installed."""
    for name in CANDIDATES:
        p = shutil.which(name)
        if p:
            return p
    return None


def _base_args(binary, userdir):
    args = [binary, "--headless", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars",
            "--user-data-dir=" + userdir]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def _kill_group(proc):
    """Chromium forks helpers (zygote, renderer, GPU): end its process
    group, which we made it lead, then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class Browser:
    """One Chromium run per call, each with a fresh profile under tmpdir."""

    def __init__(self, tmpdir, binary=None):
        self.binary = binary or chromium_path()
        if self.binary is None:
            raise RuntimeError("chromium is not installed")
        self.tmpdir = tmpdir
        self.runs = 0
        self.last_stderr = ""

    def _run(self, extra, url, timeout):
        self.runs += 1
        userdir = tempfile.mkdtemp(prefix="chr%d-" % self.runs,
                                   dir=self.tmpdir)
        args = _base_args(self.binary, userdir) + extra + [url]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise AssertionError("chromium did not finish %s in %ds"
                                 % (_strip_auth(url), timeout))
        finally:
            _kill_group(proc)   # helpers it may have left behind
            shutil.rmtree(userdir, ignore_errors=True)
        self.last_stderr = err.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise AssertionError("chromium exit %s on %s: %s" % (
                proc.returncode, _strip_auth(url), self.last_stderr[-500:]))
        return out

    def dump_dom(self, url, timeout=RUN_TIMEOUT):
        """The rendered DOM of url, as text."""
        return self._run(["--dump-dom"], url, timeout).decode(
            "utf-8", "replace")

    def screenshot(self, url, path, timeout=RUN_TIMEOUT, size=WINDOW):
        """A PNG of url at path; returns its size in bytes."""
        if os.path.exists(path):
            os.unlink(path)
        self._run(["--screenshot=" + path,
                   "--window-size=%d,%d" % size], url, timeout)
        if not os.path.exists(path):
            raise AssertionError("chromium wrote no screenshot of %s"
                                 % _strip_auth(url))
        return os.path.getsize(path)


def _strip_auth(url):
    """The URL without user:password@, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        if "@" in rest.split("/", 1)[0]:
            return scheme + "://" + rest.split("@", 1)[1]
    return url


class DevTools:
    """One Chromium driven over the DevTools protocol on a pipe.

        with DevTools(tmpdir) as dt:
            dt.navigate("http://127.0.0.1:8025/login")
            dt.evaluate("document.title")
    """

    def __init__(self, tmpdir, binary=None, timeout=RUN_TIMEOUT):
        self.binary = binary or chromium_path()
        if self.binary is None:
            raise RuntimeError("chromium is not installed")
        self.timeout = timeout
        self.userdir = tempfile.mkdtemp(prefix="cdp-", dir=tmpdir)
        self.proc = None
        self.next_id = 0
        self.session = None
        self.events = []
        self.rbuf = b""

    def __enter__(self):
        # fd 3: Chromium reads commands; fd 4: Chromium writes answers
        cmd_r, self.cmd_w = os.pipe()
        self.ans_r, ans_w = os.pipe()
        child_fds = (cmd_r, ans_w)

        def setup():
            # first above 4, so neither dup2 clobbers the other's source
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(ans_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        args = _base_args(self.binary, self.userdir) + [
            "--remote-debugging-pipe", "--window-size=%d,%d" % WINDOW,
            "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=setup, close_fds=False,
                                     start_new_session=True)
        for fd in child_fds:
            os.close(fd)
        os.set_blocking(self.ans_r, False)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [x for x in targets if x.get("type") == "page"]
        if page:
            tid = page[0]["targetId"]
        else:
            tid = self.call("Target.createTarget",
                            {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": tid,
                                  "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc is not None:
            try:
                os.write(self.cmd_w, json.dumps(
                    {"id": 999999, "method": "Browser.close"}).encode()
                    + b"\0")
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(self.proc)
            self.proc = None
            for fd in (self.cmd_w, self.ans_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
        shutil.rmtree(self.userdir, ignore_errors=True)

    def _read_one(self, deadline):
        while b"\0" not in self.rbuf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("DevTools: no answer in %ds"
                                     % self.timeout)
            r, _, _ = select.select([self.ans_r], [], [], left)
            if not r:
                continue
            chunk = os.read(self.ans_r, 1 << 20)
            if not chunk:
                raise AssertionError("DevTools: Chromium went away")
            self.rbuf += chunk
        msg, self.rbuf = self.rbuf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=None):
        """Send one command (to the page once attached) and wait for its
        answer; events that arrive meanwhile are kept in self.events."""
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_one(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise AssertionError("DevTools %s: %s"
                                         % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
                del self.events[:-200]    # bounded

    def wait_event(self, name, timeout=None):
        """The first event called name (kept or arriving), bounded."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == name:
                    return self.events.pop(i)
            m = self._read_one(deadline)
            if "method" in m:
                self.events.append(m)
                del self.events[:-200]

    def navigate(self, url):
        """Load url and wait for its load event."""
        self.events = [e for e in self.events
                       if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expr):
        """The value of a JavaScript expression in the page."""
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise AssertionError("DevTools evaluate: %s"
                                 % r["exceptionDetails"])
        return r["result"].get("value")

    def submit(self, selector):
        """Submit the form that holds selector and wait for the page it
        leads to."""
        self.events = [e for e in self.events
                       if e.get("method") != "Page.loadEventFired"]
        self.evaluate("document.querySelector(%s).form.requestSubmit("
                      "document.querySelector(%s))"
                      % (json.dumps(selector), json.dumps(selector)))
        self.wait_event("Page.loadEventFired")

    def dom(self):
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return os.path.getsize(path)
