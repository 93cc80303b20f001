#!/usr/bin/python3
"""The production start, as the systemd units do it, run as root.

Everything else in the suite runs the daemons in development mode (-b, the
invoking user, no chroot).  This test takes the path an administrator
takes: the system users come from the installed sysusers file
(systemd-sysusers FILE), the build is installed with `make install` into a
scratch prefix (prefix= and sysconfdir= given to make, so the units that
make install writes name the scratch binaries and config), and every daemon
is started, as root and without -b, with exactly the argv of its installed
unit's ExecStart= line, in a clean environment as systemd gives it.  The
config (at the path the units name) puts runtime_dir, chroot_dir,
spool_dir and debug_dir under the scratch directory; the runtime directory is made
root-owned 0755 beforehand, as RuntimeDirectory= does.

The daemons log to syslog when started as the units start them (no -d):
when the machine has no /dev/log (no syslog daemon, no journald), the test
listens there itself for its duration and keeps what arrives in
logs/syslog.log; stderr of each process goes to logs/PROC.stderr.

Cases: systemd-analyze verify on the installed units (offline:
SYSTEMD_UNIT_PATH names the installed unit directory, MANPATH the
installed man pages, so Documentation= is checked too); every process
(supervisors and workers) runs as its user with no supplementary group,
no capability left (CapEff, CapPrm, CapAmb zero), smtpd chrooted to
chroot_dir and the others at /; pid files hold the pids; the spool is
_bwqueue's, 0700; a message is received, queued and delivered to
smtp-sink; a message to a destination with tls verify and a tls_ca_file
is delivered over TLS to a receiver whose certificate names the route's
address literal; a message to a next hop that answers 5xx (smtp-sink -f RCPT)
produces a DSN delivered through the route of the sender's domain; a
destination block's deliver_max_recipients_per_message 2 splits a message
for 5 recipients into 3 transactions at smtp-sink; bwctl
works as root and as a member of bwadmin (setpriv), and a user outside
bwadmin is refused with a clear error; a route added to the file is
applied by `bwctl config reload` and each unit's ExecReload= line
(SIGHUP to $MAINPID) reloads its daemon alone; under continuous load from clients
that keep a ledger (X-Ledger-Id header), each daemon in turn is killed with
SIGKILL and restarted 1 s later with the same argv (Restart=on-failure,
RestartSec=1s), the others reconnect, and every message that got 250 is at
the sink at the end (duplicates allowed), and queued's per-host counts
show the load's host without a connection once the load stopped (bwctl
show senders); the monitor (controld as _bwctl) serves HTTP on loopback:
/healthz, a login with the password file (root:_bwctl 0640), /status
with the session, and the password file read again on reload; the
restarts raise daemon_restart alerts that queued (as _bwqueue) mails
through smtpd to alert_mail_to at the sink, and /metrics (as _bwctl)
shows them; a clean stop (SIGTERM) exits 0 and removes every pid file.

Skips (with the reason) when not root or when a tool is missing.
"""

import grp
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import bwtest
import tlsrecv
import peers
from scripted_smtp import ScriptedSMTP

t = bwtest.TAP()

PROCS = bwtest.START_ORDER          # controld, queued, dnscached, smtpd, deliverd
# The unit file of each process, as init/Makefile.am installs them.
UNIT = "breakwater-%s.service"
# What systemd gives a service: a clean environment with a fixed PATH.
UNIT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                    "/sbin:/bin", "LANG": "C.UTF-8"}
# Restart=on-failure, RestartSec=1s in every unit.
RESTART_SEC = 1.0
# The users of common/config.c's defaults and the sysusers file.
USERS = {"smtpd": "_bwsmtpd", "queued": "_bwqueue", "deliverd": "_bwdeliver",
         "dnscached": "_bwdns", "controld": "_bwctl"}
ADMIN_GROUP = "bwadmin"
# Test users: one in bwadmin, one outside it; made here, removed at the end.
T_ADMIN = "bwt-admin"
T_OTHER = "bwt-other"
D = ".prod.test"
SERVING = {"queued": "queued.sock", "controld": "control.sock",
           "dnscached": "dnscached.sock"}
LOAD_CLIENTS = 3
# Host access table case: a blocked network and one rated to a message a
# minute (lead fixed addresses: 127.0.27.0/24).
HAT_BLOCKED = "127.0.27.40"
HAT_RATED = "127.0.27.41"
# The monitor's address (helper http: 127.0.33.0/24); a user of its
# password file.
MON_ADDR = "127.0.33.50"
MON_USER, MON_PASS = "prodadmin", "prod monitor secret"
# Each client's pause after a 250: continuous load (about 100 messages a
# second in all), not as fast as it goes, which would starve the timing-
# sensitive tests that make check -j runs beside this one.
LOAD_PAUSE = 0.03
# Each daemon is killed once, then the load runs on until this many new
# messages got 250 (the chain works again), bounded in time.
AFTER_RESTART_ACKS = 10
AFTER_RESTART_TIMEOUT = 60
LEDGER_DRAIN_TIMEOUT = 120

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
SYSUSERS = shutil.which("systemd-sysusers") or "/usr/bin/systemd-sysusers"
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def sanitizer_build():
    """True when BW_BUILDDIR was configured with --enable-sanitizers."""
    try:
        with open(os.path.join(bwtest.BUILDDIR, "Makefile")) as f:
            return any(ln.startswith("BW_CFLAGS =") and "-fsanitize" in ln
                       for ln in f)
    except OSError:
        return False


def clean_make_env():
    """The environment for a sub-make: without the variables a running
    `make check` exports (its jobserver and command-line variables)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


class SyslogCatcher:
    """A /dev/log of our own when the machine has none: daemons started
    without -d log only to syslog.  Every datagram is appended to a file."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.lines = []
        self.lock = threading.Lock()
        if os.path.exists("/dev/log"):
            return          # a real syslog (journald, rsyslog) has them
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        os.chmod("/dev/log", 0o666)
        self.sock.settimeout(0.2)
        self.out = open(path, "a")
        self.stopping = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stopping:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            line = d.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
                self.out.write(line + "\n")
                self.out.flush()

    def text(self):
        with self.lock:
            return "\n".join(self.lines)

    def tail(self, n=30, pattern=None):
        with self.lock:
            lines = [x for x in self.lines
                     if pattern is None or re.search(pattern, x)]
        return "\n".join(lines[-n:])

    def stop(self):
        if self.sock is None:
            return
        self.stopping = True
        self.th.join(timeout=5)
        self.sock.close()
        try:
            os.unlink("/dev/log")
        except FileNotFoundError:
            pass
        self.out.close()
        self.sock = None


def unit_reload(unitdir, proc, mainpid):
    """The argv of the unit's ExecReload= line with $MAINPID put in."""
    path = os.path.join(unitdir, UNIT % proc)
    with open(path) as f:
        lines = [ln.strip() for ln in f if ln.startswith("ExecReload=")]
    assert len(lines) == 1, "%s: %d ExecReload= lines" % (path, len(lines))
    return [str(mainpid) if w in ("$MAINPID", "${MAINPID}") else w
            for w in shlex.split(lines[0][len("ExecReload="):])]


def unit_exec(unitdir, proc):
    """The argv of the unit's ExecStart= line (one line, no prefix such as
    '-' or '+': ours have none, and the test says so if that changes).
    The unit must also say what check_restarts does in its place:
    Restart=on-failure, RestartSec=1s."""
    path = os.path.join(unitdir, UNIT % proc)
    with open(path) as f:
        lines = [ln.strip() for ln in f]
    execs = [ln for ln in lines if ln.startswith("ExecStart=")]
    assert len(execs) == 1, "%s: %d ExecStart= lines" % (path, len(execs))
    argv = shlex.split(execs[0][len("ExecStart="):])
    assert argv and argv[0].startswith("/"), "%s: %r" % (path, argv)
    for want in ("Restart=on-failure", "RestartSec=%gs" % RESTART_SEC):
        assert want in lines, "%s: no %s" % (path, want)
    return argv


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def session_pids(sid):
    """Every live process whose session is sid (a daemon and its workers:
    each daemon is started in a session of its own)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        # fields[0] is the state, [3] the session
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(d))
    return sorted(out)


class Production:
    """The installed suite, started as the units start it."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="bw-prod-")
        # the daemons' users walk through here to their files
        os.chmod(self.base, 0o755)
        self.logdir = os.path.join(self.base, "logs")
        os.makedirs(self.logdir)
        self.prefix = os.path.join(self.base, "inst", "usr")
        self.sysconfdir = os.path.join(self.base, "inst", "etc")
        self.unitdir = os.path.join(self.prefix, "lib", "systemd", "system")
        self.rundir = os.path.join(self.base, "run", "breakwater")
        self.chroot = self.rundir
        self.spool = os.path.join(self.base, "spool")
        self.monitor = os.path.join(self.base, "monitor")
        self.port = bwtest.free_port()
        self.hat_port = bwtest.free_port()  # public, with a host table
        self.mon_port = bwtest.free_port()  # the monitor's HTTP
        self.mon_passwd = None
        self.procs = {}
        self.errs = {}
        self.argv = {}
        self.syslog = None
        self.config_path = None

    def install(self):
        r = subprocess.run(
            ["make", "-C", bwtest.BUILDDIR, "install", "prefix=" + self.prefix,
             "sysconfdir=" + self.sysconfdir], capture_output=True, text=True,
            timeout=300, env=clean_make_env(), stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        for p in PROCS:
            self.argv[p] = unit_exec(self.unitdir, p)
        # the config path the units name (one for all of them)
        confs = {a[a.index("-f") + 1] for a in self.argv.values()
                 if "-f" in a}
        assert len(confs) == 1, confs
        self.config_path = confs.pop()
        assert self.config_path.startswith(self.sysconfdir + "/"), \
            self.config_path

    def write_config(self, sink_port, reject_port, tls_port, tls_ca,
                     dead_port):
        os.makedirs(os.path.dirname(self.config_path), exist_ok=True)
        # RuntimeDirectory=breakwater, RuntimeDirectoryMode=0755: root's
        os.makedirs(self.rundir, mode=0o755)
        os.chmod(os.path.dirname(self.rundir), 0o755)
        text = """# test_production: every path under %(base)s
hostname mx%(d)s
runtime_dir %(run)s
chroot_dir %(chroot)s
spool_dir %(spool)s
debug_dir %(debug)s
monitor_dir %(monitor)s
monitor_sample_interval 1s
alert_check_interval 1s
alert_mail_to ops@ok%(d)s
alert_mail_from alerts@mx%(d)s
admin_group %(admin)s
monitor_listen %(mon_addr)s:%(mon_port)d
monitor_password_file %(mon_passwd)s
deliverd_workers 2
dns_servers 127.0.0.1:%(dns)d
deliver_timeout_connect 5s
deliver_idle_keep 1s
route ok%(d)s -> [127.0.0.1]:%(sink)d
route sender%(d)s -> [127.0.0.1]:%(sink)d
route reject%(d)s -> [127.0.0.1]:%(reject)d
route split%(d)s -> [127.0.0.1]:%(sink)d
route tlsverify%(d)s -> [127.0.0.1]:%(tls)d
route dead%(d)s -> [127.0.0.1]:%(dead)d
bounce_profile dead {
    retry_initial 1s
    retry_max 2s
    max_age 1h
    domains dead%(d)s
}
destination split%(d)s {
    deliver_max_recipients_per_message 2
}
destination tlsverify%(d)s {
    tls verify
    tls_ca_file %(tls_ca)s
}
listener private {
    address 127.0.0.1
    port %(port)d
    type private
    relay_networks 127.0.0.0/8
}
policy blocked {
    behaviour reject
}
policy onepermin {
    behaviour accept
    smtpd_max_messages_per_minute 1
}
policy default {
    behaviour accept
}
sender_group BLOCKED {
    policy blocked
    network %(hat_blocked)s
}
sender_group ONEPERMIN {
    policy onepermin
    network %(hat_rated)s
}
listener public {
    address 127.0.0.1
    port %(hat_port)d
    type public
    reverse_dns no
    accept_domains ok%(d)s
    sender_groups BLOCKED ONEPERMIN
    default_policy default
}
""" % {"base": self.base, "d": D, "run": self.rundir, "chroot": self.chroot,
            "spool": self.spool, "debug": os.path.join(self.base, "log",
                                                       "debug"),
            "monitor": self.monitor,
            "admin": ADMIN_GROUP, "dns": bwtest.free_port(),
            "sink": sink_port, "reject": reject_port, "port": self.port,
            "tls": tls_port, "tls_ca": tls_ca, "dead": dead_port,
            "hat_port": self.hat_port, "hat_blocked": HAT_BLOCKED,
            "hat_rated": HAT_RATED, "mon_addr": MON_ADDR,
            "mon_port": self.mon_port,
            "mon_passwd": self.mon_passwd_path()}
        with open(self.config_path, "w") as f:
            f.write(text)
        os.chmod(self.config_path, 0o644)
        self.write_mon_passwd([(MON_USER, MON_PASS)])

    def mon_passwd_path(self):
        return os.path.join(os.path.dirname(self.config_path),
                            "monitor.passwd")

    def write_mon_passwd(self, users):
        """The monitor's password file as an admin keeps it: root's,
        readable by controld's group only."""
        path = self.mon_passwd_path()
        with open(path, "w") as f:
            for user, password in users:
                r = subprocess.run(self.bwctl_argv("passwd", user, "view"),
                                   input=password + "\n", text=True,
                                   capture_output=True, timeout=60)
                assert r.returncode == 0, r.stderr
                f.write(r.stdout)
        os.chown(path, 0, grp.getgrnam(USERS["controld"]).gr_gid)
        os.chmod(path, 0o640)

    # -- processes, as systemd runs them --------------------------------
    def start_one(self, proc):
        assert not self.running(proc), "%s already running" % proc
        err = open(os.path.join(self.logdir, proc + ".stderr"), "a")
        self.errs[proc] = err
        env = dict(UNIT_ENV)
        if sanitizer_build():
            # Not part of production: LeakSanitizer reads /proc/PID/task
            # at exit, and the chroot has no /proc (smtpd would exit 1).
            # smtpd's leaks are checked by the development-mode tests.
            env["ASAN_OPTIONS"] = "detect_leaks=%d" % (proc != "smtpd")
            env["UBSAN_OPTIONS"] = "print_stacktrace=1"
        self.procs[proc] = subprocess.Popen(
            self.argv[proc], stdin=subprocess.DEVNULL, stdout=err,
            stderr=subprocess.STDOUT, env=env, cwd="/",
            start_new_session=True)
        return self.procs[proc]

    def start(self):
        for p in PROCS:
            self.start_one(p)
        for p in PROCS:
            self.wait_ready(p)
        # before that, MAIL gets 451 (smtpd's link to queued still backs off)
        bwtest.wait_for(lambda: all_linked(self), 30,
                        what="every daemon linked (bwctl status)")

    def running(self, proc):
        p = self.procs.get(proc)
        return p is not None and p.poll() is None

    def pid(self, proc):
        return self.procs[proc].pid

    def stderr_text(self, proc):
        try:
            with open(os.path.join(self.logdir, proc + ".stderr"),
                      errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def diag(self, proc):
        log = self.syslog.tail(20, r"breakwater/%s\b" % proc) \
            if self.syslog else ""
        return "stderr:\n%s\nsyslog:\n%s" % (
            self.stderr_text(proc)[-2000:], log)

    def pidfile(self, proc):
        return os.path.join(self.rundir, proc, proc + ".pid")

    def ready(self, proc):
        if not self.running(proc):
            raise RuntimeError("%s exited with %s\n%s" % (
                proc, self.procs[proc].poll(), self.diag(proc)))
        if proc == "smtpd":
            ok = bwtest.port_open(self.port)
        elif proc in SERVING:
            ok = os.path.exists(os.path.join(self.rundir, SERVING[proc]))
        else:
            ok = True
        if proc == "deliverd":
            # the supervisor and its two workers
            ok = len(session_pids(self.pid(proc))) >= 3
        return ok and os.path.exists(self.pidfile(proc)) and \
            self.dropped(proc)

    def dropped(self, proc):
        """Every process of proc runs as its user (the drop is done)."""
        uid = pwd.getpwnam(USERS[proc]).pw_uid
        for pid in session_pids(self.pid(proc)):
            try:
                if int(proc_status(pid)["Uid"][0]) != uid:
                    return False
            except (OSError, KeyError):
                return False
        return True

    def wait_ready(self, proc, timeout=30):
        bwtest.wait_for(lambda: self.ready(proc), timeout,
                        what="%s ready\n%s" % (proc, self.diag(proc)))

    def stop_proc(self, proc, sig, timeout=20):
        """Signal the main process, wait for it, then for the rest of its
        session (as systemd does with the unit's control group): what is
        still there after timeout gets SIGKILL.  Returns the exit status."""
        p = self.procs.get(proc)
        if p is None or p.poll() is not None:
            return None
        sid = p.pid
        os.kill(p.pid, sig)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            rc = p.wait(timeout=10)
        deadline = time.monotonic() + timeout
        while session_pids(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in session_pids(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        bwtest.wait_for(lambda: not session_pids(sid), 10,
                        what="%s's processes gone" % proc)
        return rc

    def stop_all(self):
        rcs = {}
        for p in reversed(PROCS):
            rcs[p] = self.stop_proc(p, signal.SIGTERM)
        for f in self.errs.values():
            f.close()
        self.errs = {}
        return rcs

    # -- clients -----------------------------------------------------------
    def bwctl_argv(self, *args):
        return [os.path.join(self.prefix, "sbin", "bwctl"), "-f",
                self.config_path] + list(args)

    def bwctl(self, *args, user=None, timeout=30):
        cmd = self.bwctl_argv(*args)
        if user is not None:
            cmd = [SETPRIV, "--reuid=" + user, "--regid=" + user,
                   "--init-groups", "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              cwd="/")


def make_test_users():
    """T_ADMIN in bwadmin, T_OTHER outside it; the names made here."""
    made = []
    for name, groups in ((T_ADMIN, [ADMIN_GROUP]), (T_OTHER, [])):
        try:
            pwd.getpwnam(name)
        except KeyError:
            cmd = ["useradd", "--system", "--no-create-home", "--user-group",
                   "--shell", "/usr/sbin/nologin", "--home-dir",
                   "/nonexistent"]
            if groups:
                cmd += ["--groups", ",".join(groups)]
            subprocess.run(cmd + [name], check=True, timeout=60,
                           capture_output=True)
            made.append(name)
    assert T_ADMIN in grp.getgrnam(ADMIN_GROUP).gr_mem
    assert T_OTHER not in grp.getgrnam(ADMIN_GROUP).gr_mem
    return made


def remove_test_users(names):
    for name in names:
        subprocess.run(["userdel", name], timeout=60, capture_output=True)


# -- cases -------------------------------------------------------------------

def check_sysusers(bw):
    """The installed sysusers file creates the users of the config's
    defaults and the admin group; a second run changes nothing."""
    f = os.path.join(bw.prefix, "lib", "sysusers.d", "breakwater.conf")
    assert os.path.exists(f), f
    for _ in range(2):
        r = subprocess.run([SYSUSERS, f], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
    for u in USERS.values():
        pw = pwd.getpwnam(u)
        assert pw.pw_uid != 0 and pw.pw_shell.endswith("nologin"), pw
    grp.getgrnam(ADMIN_GROUP)
    uids = {pwd.getpwnam(u).pw_uid for u in USERS.values()}
    assert len(uids) == len(USERS), "users share a uid: %r" % uids


def check_verify(bw):
    units = sorted(x for x in os.listdir(bw.unitdir)
                   if x.startswith("breakwater"))
    assert len(units) == len(PROCS) + 1, units
    env = dict(os.environ)
    env["SYSTEMD_UNIT_PATH"] = bw.unitdir + ":"
    env["MANPATH"] = os.path.join(bw.prefix, "share", "man")
    r = subprocess.run([ANALYZE, "verify"] + units, cwd=bw.unitdir, env=env,
                       capture_output=True, text=True, timeout=120)
    # a setting systemd cannot parse is only a warning ("ignoring"): any
    # output at all fails the case
    assert r.returncode == 0 and not r.stdout.strip() and \
        not r.stderr.strip(), "rc=%d\n%s%s" % (r.returncode, r.stdout,
                                               r.stderr)


def check_processes(bw):
    for proc in PROCS:
        pw = pwd.getpwnam(USERS[proc])
        pids = session_pids(bw.pid(proc))
        assert bw.pid(proc) in pids, (proc, pids)
        for pid in pids:
            st = proc_status(pid)
            what = "%s pid %d" % (proc, pid)
            assert st["Uid"] == [str(pw.pw_uid)] * 4, (what, st["Uid"])
            assert st["Gid"] == [str(pw.pw_gid)] * 4, (what, st["Gid"])
            assert st.get("Groups", []) in ([], [str(pw.pw_gid)]), \
                (what, st.get("Groups"))
            for cap in ("CapEff", "CapPrm", "CapAmb"):
                assert int(st[cap][0], 16) == 0, (what, cap, st[cap])
            root = os.readlink("/proc/%d/root" % pid)
            want = bw.chroot if proc == "smtpd" else "/"
            assert root == want, (what, "root", root, want)


def check_pidfiles(bw):
    for proc in PROCS:
        with open(bw.pidfile(proc)) as f:
            assert int(f.read().strip()) == bw.pid(proc), proc
        st = os.stat(os.path.dirname(bw.pidfile(proc)))
        assert st.st_uid == pwd.getpwnam(USERS[proc]).pw_uid, proc
    st = os.stat(bw.rundir)
    assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o755, oct(st.st_mode)


def check_spool(bw):
    qu = pwd.getpwnam(USERS["queued"]).pw_uid
    st = os.stat(bw.spool)
    assert st.st_uid == qu and (st.st_mode & 0o777) == 0o700, \
        (st.st_uid, oct(st.st_mode))
    for dirpath, dirnames, filenames in os.walk(bw.spool):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            assert os.lstat(p).st_uid == qu, "%s not _bwqueue's" % p


def check_monitor_dir(bw):
    """monitor_dir is _bwctl's (made as root before the drop); bwctl
    redirect writes its table there as _bwctl."""
    cu = pwd.getpwnam(USERS["controld"]).pw_uid
    st = os.stat(bw.monitor)
    assert st.st_uid == cu and (st.st_mode & 0o777) == 0o700, \
        (st.st_uid, oct(st.st_mode))
    r = bw.bwctl("redirect", "held" + D, "[127.0.0.1]:2525")
    assert r.returncode == 0, r.stdout + r.stderr
    path = os.path.join(bw.monitor, "redirect")
    assert os.stat(path).st_uid == cu, "the redirect table is not _bwctl's"
    with open(path) as f:
        assert "held%s [127.0.0.1] 2525" % D in f.read()
    r = bw.bwctl("redirect", "held" + D, "off")
    assert r.returncode == 0 and "no domain is redirected" in r.stdout, \
        r.stdout + r.stderr


def check_monitor_history(bw):
    """controld, as _bwctl, writes its history in monitor_dir (it was
    killed and restarted since: the history was opened again)."""
    cu = pwd.getpwnam(USERS["controld"]).pw_uid

    def stored():
        r = bw.bwctl("show", "history", "delivered", "--json")
        assert r.returncode == 0, r.stderr
        h = json.loads(r.stdout)
        return h if h["sum"] > 0 else None
    h = bwtest.wait_for(stored, 75, interval=1,
                        what="deliveries in the history")
    assert h["series"] == "queued.rcpt_delivered", h
    names = os.listdir(bw.monitor)
    assert "hist.db" in names and "names.db" in names, names
    for n in names:
        p = os.path.join(bw.monitor, n)
        assert os.lstat(p).st_uid == cu, "%s not _bwctl's" % p


def sink_ids(sink):
    out = []
    for m in sink.messages():
        out += re.findall(r"^X-Ledger-Id: (\S+)", m, re.M)
    return out


def check_delivered(bw, sink):
    r = subprocess.run(
        [bwtest.SWAKS, "--server", "127.0.0.1", "--port", str(bw.port),
         "--from", "someone@sender" + D, "--to", "rcpt@ok" + D,
         "--add-header", "X-Ledger-Id: swaks-1", "--timeout", "30"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    m = re.search(r"<-\s+250 .*queued as (\S+)", r.stdout)
    assert r.returncode == 0 and m, r.stdout[-2000:] + r.stderr
    bwtest.wait_for(lambda: "swaks-1" in sink_ids(sink), 30,
                    what="the message at the sink\n%s" % bw.diag("deliverd"))


def check_bounce(bw, sink):
    with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
        s.sendmail("bouncer@sender" + D, ["nobody@reject" + D],
                   "Subject: will bounce\r\nX-Ledger-Id: bounce-1\r\n\r\n"
                   "rejected by the next hop\r\n")

    def dsn():
        for m in sink.messages():
            if re.search(r"^X-Rcpt-Args: <bouncer@sender%s>" % re.escape(D),
                         m, re.M) and "multipart/report" in m:
                return m
        return None
    m = bwtest.wait_for(dsn, 60, what="the DSN at the sender's domain\n%s" %
                        bw.diag("queued"))
    assert "nobody@reject" + D in m, m[:2000]
    assert re.search(r"^Action: failed", m, re.M | re.I), m[:3000]


def check_neighbor_retry(bw, dead):
    """A destination that answers 421 to every connection, under a 1-2 s
    profile: two refusals pause it (10 s), the next probe waits for the
    pause's end; bwctl retry (controld -> queued -> DLV_RETRY -> the
    worker, each as its own user) ends the pause: a connection at once."""
    with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
        s.sendmail("x@sender" + D, ["someone@dead" + D],
                   "Subject: for a dead destination\r\n\r\nwaits\r\n")
    pat = re.compile(r"breakwater/deliverd\S*: \S+ domain=dead%s "
                     r"gateway=default: probe waits" % re.escape(D))
    bwtest.wait_for(lambda: pat.search(bw.syslog.text()), 30,
                    what="a probe waiting for the pause (attempts %d)\n%s" %
                    (len(dead.attempts), bw.diag("deliverd")))
    before = len(dead.attempts)
    r = bw.bwctl("retry", "dead" + D)
    assert r.returncode == 0, r.stdout + r.stderr
    bwtest.wait_for(lambda: len(dead.attempts) > before, 3,
                    what="a connection right after bwctl retry\n%s" %
                    bw.diag("deliverd"))
    assert re.search(r"domain=dead%s gateway=default: retry requested, Good "
                     r"Neighbor pause ended" % re.escape(D),
                     bw.syslog.text()), bw.diag("deliverd")


def check_bwctl(bw):
    r = bw.bwctl("status")
    assert r.returncode == 0 and "queued" in r.stdout, r.stdout + r.stderr
    r = bw.bwctl("status", user=T_ADMIN)
    assert r.returncode == 0 and "queued" in r.stdout, \
        "as %s: rc=%d %s%s" % (T_ADMIN, r.returncode, r.stdout, r.stderr)
    r = bw.bwctl("show", "queue", user=T_ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    r = bw.bwctl("status", user=T_OTHER)
    assert r.returncode != 0 and not r.stdout.strip(), \
        "as %s: rc=%d %s" % (T_OTHER, r.returncode, r.stdout)
    err = r.stderr.strip()
    assert re.search(r"permission denied", err, re.I) and \
        ADMIN_GROUP in err, "unclear refusal: %r" % err


def mon_request(bw, method, path, headers=None, body=None):
    c = http.client.HTTPConnection(MON_ADDR, bw.mon_port, timeout=30,
                                   source_address=(MON_ADDR, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("Set-Cookie") or "", r.read()
    finally:
        c.close()


def mon_login(bw, user, password):
    body = urllib.parse.urlencode({"user": user, "password": password})
    st, cookie, data = mon_request(bw, "POST", "/login", {
        "Content-Type": "application/x-www-form-urlencoded"}, body)
    assert st == 303 and cookie.startswith("bwmon="), (st, cookie, data)
    return {"Cookie": cookie.split(";")[0]}


def check_monitor(bw):
    """controld, as _bwctl, serves the monitor with the root:_bwctl 0640
    password file."""
    ctl = pwd.getpwnam(USERS["controld"])
    st = os.stat(bw.mon_passwd_path())
    assert st.st_uid == 0 and st.st_gid == ctl.pw_gid and \
        (st.st_mode & 0o777) == 0o640, (st.st_uid, st.st_gid, oct(st.st_mode))
    code, _, data = mon_request(bw, "GET", "/healthz")
    assert code == 200 and data == b"ok\n", (code, data)
    code, _, _ = mon_request(bw, "GET", "/status?format=json")
    assert code == 401, code
    cookie = mon_login(bw, MON_USER, MON_PASS)
    code, _, data = mon_request(bw, "GET", "/status?format=json", cookie)
    assert code == 200, code
    names = {p["name"]: p["state"] for p in json.loads(data)["processes"]}
    assert names.get("queued") == "up" and names.get("controld") == "up", \
        names
    # a user added to the file: read again, as _bwctl, on reload
    bw.write_mon_passwd([(MON_USER, MON_PASS), ("second", "second pw")])
    r = bw.bwctl("config", "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    mon_login(bw, "second", "second pw")


def all_linked(bw):
    """bwctl status (through controld) lists every process up, and every
    smtpd and deliverd worker (one per core: the default) with its links
    to queued and dnscached up: every daemon reconnected."""
    r = bw.bwctl("--json", "status")
    if r.returncode != 0:
        return False
    seen = {p["name"]: p for p in json.loads(r.stdout).get("processes", [])}
    cores = os.cpu_count() or 1
    want = ["controld", "queued", "dnscached"] + \
        ["smtpd[%d]" % i for i in range(cores)] + \
        ["deliverd[%d]" % i for i in range(cores)]
    for name in want:
        p = seen.get(name)
        if p is None or p.get("state") != "up":
            return False
        c = p.get("counters", {})
        if name != "controld" and name.split("[")[0] in ("smtpd",
                                                          "deliverd"):
            if c.get("queued_up") != 1:
                return False
        # smtpd reaches dnscached.sock from inside its chroot
        if name.split("[")[0] in ("smtpd", "deliverd") and \
                c.get("dnscached_up") != 1:
            return False
    return True


def generations(bw):
    r = bw.bwctl("--json", "status")
    assert r.returncode == 0, r.stderr
    return {p["name"]: p.get("counters", {}).get("config_generation")
            for p in json.loads(r.stdout).get("processes", [])}


def check_reload(bw, sink):
    """A route added to the file: bwctl config reload applies it in every
    process (smtpd chrooted, all of them without root), then each unit's
    ExecReload= (SIGHUP) reloads its daemon alone; deliverd uses the
    route."""
    with open(bw.config_path, "a") as f:
        f.write("route new%s -> [127.0.0.1]:%d\n" % (D, sink.port))
    before = generations(bw)
    r = bw.bwctl("config", "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    after = generations(bw)
    cores = os.cpu_count() or 1
    want = {"controld", "queued", "dnscached"} | \
        {"%s[%d]" % (d, i) for d in ("smtpd", "deliverd")
         for i in range(cores)}
    assert set(after) == set(before) == want, (after, want)
    for name, g in after.items():
        assert g == before[name] + 1, (name, before, after, r.stdout)
    for proc in PROCS:
        before = generations(bw)
        argv = unit_reload(bw.unitdir, proc, bw.pid(proc))
        subprocess.run(argv, check=True, timeout=30, env=dict(UNIT_ENV))
        mine = [n for n in before if n.split("[")[0] == proc]
        bwtest.wait_for(
            lambda: all(generations(bw)[n] == before[n] + 1 for n in mine),
            20, what="%s reloaded by %s\n%s" % (proc, " ".join(argv),
                                                 bw.diag(proc)))
        now = generations(bw)
        others = [n for n in before if n not in mine]
        assert all(now[n] == before[n] for n in others), (proc, before, now)
    with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
        s.sendmail("reload@sender" + D, ["x@new" + D],
                   "Subject: new route\r\nX-Ledger-Id: reload-1\r\n\r\n"
                   "after the reload\r\n")
    bwtest.wait_for(lambda: "reload-1" in sink_ids(sink), 30,
                    what="mail on the route added by reload\n%s" %
                    bw.diag("deliverd"))


class Load:
    """Clients sending one message per connection, LOAD_PAUSE apart, each
    with an X-Ledger-Id; every id that got 250 goes into the ledger."""

    def __init__(self, port, n=LOAD_CLIENTS):
        self.port = port
        self.acked = []
        self.failed = 0
        self.errors = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.ths = [threading.Thread(target=self._run, args=(i,), daemon=True)
                    for i in range(n)]
        for th in self.ths:
            th.start()

    def _run(self, i):
        seq = 0
        while not self.stopping:
            seq += 1
            mid = "load-%d-%d" % (i, seq)
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                    s.sendmail("load@sender" + D, ["load@ok" + D],
                               "Subject: load\r\nX-Ledger-Id: %s\r\n\r\n"
                               "%s\r\n" % (mid, "x" * 200))
                with self.lock:
                    self.acked.append(mid)
                time.sleep(LOAD_PAUSE)
            except (OSError, smtplib.SMTPException) as e:
                kind = type(e).__name__
                code = getattr(e, "smtp_code", None)
                if code is None and isinstance(e, smtplib.SMTPRecipientsRefused):
                    code = list(e.recipients.values())[0][0]
                if code is not None:
                    kind += " %s" % code
                with self.lock:
                    self.failed += 1
                    self.errors[kind] = self.errors.get(kind, 0) + 1
                time.sleep(0.1)

    def count(self):
        with self.lock:
            return len(self.acked)

    def stop(self):
        self.stopping = True
        for th in self.ths:
            th.join(timeout=60)


def check_restarts(bw, sink):
    load = Load(bw.port)
    notes = []
    try:
        bwtest.wait_for(lambda: load.count() >= AFTER_RESTART_ACKS, 30,
                        what="load flowing")
        for proc in PROCS:
            old = bw.pid(proc)
            t0 = time.monotonic()
            rc = bw.stop_proc(proc, signal.SIGKILL)
            assert rc == -signal.SIGKILL, (proc, rc)
            time.sleep(RESTART_SEC)
            bw.start_one(proc)
            bw.wait_ready(proc)
            t_ready = time.monotonic() - t0
            bwtest.wait_for(lambda: all_linked(bw), AFTER_RESTART_TIMEOUT,
                            what="every daemon reconnected after %s's "
                                 "restart: %s" % (proc, bw.bwctl(
                                     "status").stdout))
            t_linked = time.monotonic() - t0
            n = load.count()
            bwtest.wait_for(
                lambda: load.count() >= n + AFTER_RESTART_ACKS,
                AFTER_RESTART_TIMEOUT,
                what="mail accepted again after %s's restart (%d acked, "
                     "errors %r)\n%s" % (proc, load.count(), load.errors,
                                         bw.diag(proc)))
            notes.append("%s: pid %d -> %d; from SIGKILL: ready after "
                         "%.1f s, every link up after %.1f s; %d acked so "
                         "far" % (proc, old, bw.pid(proc), t_ready, t_linked,
                                  load.count()))
    finally:
        load.stop()
    acked = set(load.acked)

    def missing():
        return acked - set(sink_ids(sink))
    try:
        bwtest.wait_for(lambda: not missing(), LEDGER_DRAIN_TIMEOUT,
                        what="every 250'd message at the sink")
    except TimeoutError:
        pass
    got = sink_ids(sink)
    load_got = [x for x in got if x.startswith("load-")]
    lost = missing()
    for n in notes:
        print("# " + n)
    # delivered but never 250'd: committed while the reply was lost (a
    # kill between commit and reply); the client retries, so allowed
    print("# ledger: %d accepted (250), %d attempts failed %r; at the sink: "
          "%d load messages, %d distinct, %d duplicates, %d delivered "
          "without a 250, %d missing" % (
              len(acked), load.failed, load.errors, len(load_got),
              len(set(load_got)), len(load_got) - len(set(load_got)),
              len(set(load_got) - acked), len(lost)))
    assert not lost, "lost after 250: %s" % sorted(lost)[:20]


def check_alerts_metrics(bw, sink):
    """The restarts raised daemon_restart alerts: queued (as _bwqueue)
    mailed them through smtpd's own queue to alert_mail_to at the sink;
    /metrics (controld as _bwctl) counts them and every process."""
    def alert_notices():
        out = []
        for m in sink.messages():
            if "ops@ok" + D in m:
                out += re.findall(r"^X-Breakwater-Alert: (.*?)\r?$", m,
                                  re.M)
        return out
    for proc in ("queued", "smtpd", "dnscached"):
        bwtest.wait_for(lambda proc=proc: any(
            n.startswith("raised daemon_restart " + proc)
            for n in alert_notices()), 60,
            what="alert mail for %s's restart (have %r)\n%s" % (
                proc, alert_notices(), bw.diag("queued")))
    cookie = mon_login(bw, MON_USER, MON_PASS)
    code, _, data = mon_request(bw, "GET", "/metrics", cookie)
    assert code == 200, (code, data[:300])
    text = data.decode()
    restarts = re.findall(r'^breakwater_alert_active\{[^}]*kind='
                          r'"daemon_restart"[^}]*\} (\S+)$', text, re.M)
    procs = set(re.findall(r'^breakwater_process_\w+\{[^}]*name="'
                           r'([^"\[]+)', text, re.M))
    assert procs >= {"queued", "smtpd", "dnscached", "deliverd"}, procs
    assert restarts, "no daemon_restart series in /metrics"
    print("# alert mails: %r; /metrics: %d daemon_restart series, "
          "processes up %s" % (alert_notices()[:6], len(restarts),
                               sorted(procs)))


def check_senders(bw):
    """The per-host counts are queued's: after every daemon was killed and
    restarted under load, the load's host holds no connection once the
    load stopped (a leaked count would refuse it some day), and bwctl
    show senders answers a bwadmin member."""
    def row():
        r = bw.bwctl("--json", "show", "senders", user=T_ADMIN)
        assert r.returncode == 0, r.stdout + r.stderr
        rows = {x["address"]: x for x in json.loads(r.stdout)["senders"]}
        return rows.get("127.0.0.1")
    bwtest.wait_for(lambda: (row() or {}).get("connections") == 0, 30,
                    what="127.0.0.1 without connections: %r" % (row(),))
    assert row()["connections_total"] > 0, row()


def check_hat(bw, sink):
    """The host access table works in the chrooted, unprivileged smtpd
    (its config comes through a descriptor): a blocked network gets 554,
    a rated one 421 at its second MAIL in a minute (the count is queued's,
    across processes), any other host's mail is delivered."""
    c = bwtest.RawSMTP(bw.hat_port, source=HAT_BLOCKED)
    try:
        code, text = c.reply()
        assert code == 554, (code, text)
    finally:
        c.close()
    with smtplib.SMTP("127.0.0.1", bw.hat_port, timeout=30,
                      source_address=(HAT_RATED, 0)) as s:
        s.ehlo("rated.example")
        s.sendmail("a@sender" + D, ["hat1@ok" + D],
                   "Subject: hat rated one\r\n\r\nhello\r\n")
        code, text = s.mail("a@sender" + D)
        assert code == 421, (code, text)
        assert b"try again at" in text, text
    with smtplib.SMTP("127.0.0.1", bw.hat_port, timeout=30) as s:
        s.sendmail("a@sender" + D, ["hat2@ok" + D],
                   "Subject: hat default\r\n\r\nhello\r\n")
    for tag in ("hat rated one", "hat default"):
        bwtest.wait_for(lambda tag=tag: any(
            "Subject: " + tag in m for m in sink.messages()), 30,
            what="%r at the sink" % tag)


def check_dest_split(bw, sink):
    """A destination limit in production (deliverd unprivileged, config
    through its own open): 5 recipients, 2 per message, arrive at
    smtp-sink as three transactions of 2, 2 and 1."""
    rcpts = ["s%d@split%s" % (i, D) for i in range(5)]
    with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
        s.sendmail("a@sender" + D, rcpts,
                   "Subject: dest split\r\n\r\nfive recipients\r\n")

    def split():
        got = [re.findall(r"^X-Rcpt-Args: <([^>]*)>", m, re.M)
               for m in sink.messages() if "Subject: dest split" in m]
        return got if sum(len(g) for g in got) == 5 else None
    got = bwtest.wait_for(split, 30, what="the 5 recipients at the sink\n%s"
                          % bw.diag("deliverd"))
    assert sorted(len(g) for g in got) == [1, 2, 2], got
    assert sorted(a for g in got for a in g) == rcpts, got


def tls_receiver(bw):
    """A STARTTLS receiver on 127.0.0.1 with a certificate for that
    address (IP SAN) from a test CA in a file only the config names."""
    d = os.path.join(bw.base, "tls")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ca = tlsrecv.make_ca(d, "ca")
    cert = tlsrecv.make_leaf(d, "leaf", "127.0.0.1", ca, ip="127.0.0.1")
    os.chmod(ca[0], 0o644)
    return tlsrecv.Receiver("127.0.0.1", "tls.prod.example", cert,
                            port=bwtest.free_port()), ca[0]


def check_tls_verify(bw, rx):
    """tls verify with a tls_ca_file that deliverd, unprivileged, reads
    at start; a route to an address literal: the certificate's IP SAN."""
    with smtplib.SMTP("127.0.0.1", bw.port, timeout=30) as s:
        s.sendmail("a@sender" + D, ["v@tlsverify" + D],
                   "Subject: tls verify\r\n\r\nover TLS\r\n")
    bwtest.wait_for(lambda: rx.mails(), 30, what="the message at the TLS "
                    "receiver\n%s" % bw.diag("deliverd"))
    s = rx.sessions[-1]
    assert s["starttls"] and s["tls"], rx.sessions
    if bw.syslog.sock is not None:      # our /dev/log: the line of record
        bwtest.wait_for(lambda: re.search(
            r"to=<v@tlsverify\S*> .* tls=TLSv1\.[23] cipher=\S+ verify=ok ",
            bw.syslog.text()), 10, what="verify=ok in queued's line")


def check_clean_stop(bw):
    rcs = bw.stop_all()
    bad = {p: rc for p, rc in rcs.items() if rc != 0}
    assert not bad, "exit status %r\n%s" % (
        bad, "\n".join(bw.diag(p) for p in bad))
    left = [bw.pidfile(p) for p in PROCS if os.path.exists(bw.pidfile(p))]
    assert not left, "pid files left after a clean stop: %r" % left


def scan_sanitizers(bw):
    out = []
    for p in PROCS:
        for line in bw.stderr_text(p).splitlines():
            if bwtest.SANITIZER_PATTERNS.search(line):
                out.append("%s: %s" % (p, line))
    return out


def missing_tools():
    for tool in (SYSUSERS, ANALYZE, SETPRIV, peers.SMTP_SINK, bwtest.SWAKS):
        if not os.path.exists(tool):
            return "%s not installed" % tool
    for tool in ("useradd", "userdel", "make"):
        if shutil.which(tool) is None:
            return "%s not installed" % tool
    return None


def run_cases(bw, state):
    """The cases in order; returns early when the rest cannot run."""
    if not t.run("make install into a scratch prefix", bw.install):
        return
    if not t.run("systemd-sysusers creates the users from the installed "
                 "file, twice", check_sysusers, bw):
        return
    state["users"] = make_test_users()
    t.run("systemd-analyze verify passes on the installed units",
          check_verify, bw)
    sink = state["sink"] = peers.Sink(bw.base, "127.0.0.1", bwtest.free_port())
    reject = state["reject"] = peers.Sink(
        bw.base, "127.0.0.1", bwtest.free_port(), extra=["-f", "RCPT"],
        tag="-reject")
    rx, tls_ca = tls_receiver(bw)
    state["tls"] = rx
    dead = state["dead"] = ScriptedSMTP("127.0.0.1", name="dead" + D,
                                        greet_421_all=True)
    bw.write_config(sink.port, reject.port, rx.ls.getsockname()[1], tls_ca,
                    dead.port)
    bw.syslog = SyslogCatcher(os.path.join(bw.logdir, "syslog.log"))
    if not t.run("every daemon starts as root from its unit's ExecStart "
                 "(%s)" % " ".join(bw.argv["queued"]), bw.start):
        return
    t.run("each process runs as its user, no capabilities, smtpd "
          "chrooted, the others at /", check_processes, bw)
    t.run("pid files hold the pids, in directories of the daemons' users",
          check_pidfiles, bw)
    t.run("a message is received, queued and delivered", check_delivered,
          bw, sink)
    t.run("the spool is _bwqueue's, 0700", check_spool, bw)
    t.run("monitor_dir is _bwctl's, 0700, and bwctl redirect keeps its "
          "table there", check_monitor_dir, bw)
    t.run("host access table in production: 554 to a blocked network, 421 "
          "past a policy's messages per minute, others delivered",
          check_hat, bw, sink)
    t.run("destination limit in production: 5 recipients at 2 per "
          "message arrive as 3 transactions", check_dest_split, bw, sink)
    t.run("TLS verify in production: deliverd reads tls_ca_file as its "
          "user, a route literal checked against the IP SAN, verify=ok",
          check_tls_verify, bw, state["tls"])
    t.run("5xx at the next hop: a DSN goes to the sender's domain",
          check_bounce, bw, sink)
    t.run("Good Neighbor in production: a probe waits out the pause of a "
          "destination that 421s everything; bwctl retry reaches deliverd "
          "(DLV_RETRY) and ends it", check_neighbor_retry, bw, dead)
    t.run("bwctl works as root and as a bwadmin member; others are "
          "refused with a clear error", check_bwctl, bw)
    t.run("the monitor: controld as _bwctl serves HTTP on loopback with a "
          "login from the root:_bwctl 0640 password file, read again on "
          "reload", check_monitor, bw)
    t.run("bwctl config reload and each unit's ExecReload (SIGHUP) reach "
          "the daemons; a route added is used", check_reload, bw, sink)
    t.run("each daemon killed (SIGKILL) and restarted under load: every "
          "250'd message is delivered", check_restarts, bw, sink)
    t.run("after the restarts: users, capabilities and roots unchanged",
          check_processes, bw)
    t.run("after the restarts: pid files rewritten", check_pidfiles, bw)
    t.run("after the restarts: bwctl by group as before", check_bwctl, bw)
    t.run("after the restarts: the per-host connection counts are exact "
          "(bwctl show senders)", check_senders, bw)
    t.run("alerts in production: the restarts mailed as daemon_restart "
          "alerts through Breakwater to the sink; /metrics as _bwctl",
          check_alerts_metrics, bw, sink)
    t.run("controld as _bwctl writes its history in monitor_dir, its own "
          "(0700)", check_monitor_history, bw)
    t.run("a clean stop (SIGTERM) exits 0 and removes the pid files",
          check_clean_stop, bw)
    reports = scan_sanitizers(bw)
    t.ok(not reports, "no sanitizer reports", "\n".join(reports))


def stop_production(tap, bw, sink=None):
    """End a production case another test ran on this harness: every
    daemon stopped by pid (SIGTERM), its stderr files closed, the sink
    stopped, one result for the sanitizers, the scratch tree removed
    (kept with BW_KEEP)."""
    for proc in PROCS:
        try:
            bw.stop_proc(proc, signal.SIGTERM)
        except Exception:  # noqa: BLE001 - cleaning up regardless
            pass
    for f in bw.errs.values():
        f.close()
    if sink is not None:
        sink.stop()
    reports = [ln for proc in PROCS
               for ln in bw.stderr_text(proc).splitlines()
               if bwtest.SANITIZER_PATTERNS.search(ln)]
    tap.ok(not reports, "production: no sanitizer reports",
           "\n".join(reports))
    if not os.environ.get("BW_KEEP"):
        shutil.rmtree(bw.base, ignore_errors=True)


def main():
    if os.geteuid() != 0:
        t.skip("production start", "needs root (system users, chroot, "
               "privilege drop); CI runs as root")
        t.done()
    why = missing_tools()
    if why:
        t.skip("production start", why)
        t.done()
    bw = Production()
    state = {"users": [], "sink": None, "reject": None, "tls": None,
             "dead": None}
    try:
        run_cases(bw, state)
    finally:
        for p in PROCS:
            try:
                bw.stop_proc(p, signal.SIGKILL)
            except Exception:  # noqa: BLE001 - cleaning up regardless
                pass
        for s in (state["sink"], state["reject"], state["tls"],
                  state["dead"]):
            if s is not None:
                s.stop()
        if bw.syslog is not None:
            bw.syslog.stop()
        remove_test_users(state["users"])
        if os.environ.get("BW_KEEP"):
            print("# kept %s" % bw.base)
        else:
            shutil.rmtree(bw.base, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
