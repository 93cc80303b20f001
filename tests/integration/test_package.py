#!/usr/bin/python3
"""The Debian package: built, unpacked into a scratch root, and checked
against what the units and the code expect.  Run as root (CI does).

`make deb` (DEB_BUILD_OPTIONS=nocheck: the unit tests run elsewhere in
the suite) builds the .deb from a copy of the distribution tree; the
package is unpacked with dpkg-deb -x (files) and -e (control files and
maintainer scripts) into a scratch root.  Nothing is installed on the
machine: the maintainer scripts run with DPKG_ROOT set to the scratch root
and with every command that would touch the machine (install, adduser,
addgroup, getent, deb-systemd-helper, deb-systemd-invoke, systemctl)
replaced by a stub that logs its arguments; systemd-sysusers is the real
one, and writes the users into the scratch root's /etc.

Cases: the package builds (time printed); it holds the daemons in
/usr/libexec/breakwater, bwctl in /usr/sbin, the units and target in
/lib/systemd/system (or /usr/lib), the sysusers file, both man pages, the
config as a conffile and the commented example under /usr/share/doc;
every unit's ExecStart binary is in the package and executable, and the
config path the units use is the package's conffile, which bwctl (the
package's own) finds valid; the units' RuntimeDirectory is the default
runtime_dir; the users and group of the sysusers file are exactly the
default users and admin_group of common/config.c, _bwqueue's home is the
default spool_dir, and systemd-sysusers --root creates them; postinst
configure, with systemd-sysusers: calls it, makes the spool _bwqueue's
0700 and the monitor's directory _bwctl's 0700, and enables
breakwater.target; without it: addgroup/adduser with the sysusers file's
names, homes and shells; postrm purge removes the spool,
/var/log/breakwater (domain debug's transcripts) and /var/lib/breakwater
(the monitor's history);
lintian reports no error; the changelog's version is configure's.

Skips (with the reason) when not root, or when dpkg-buildpackage,
debhelper or lintian is missing.
"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import bwtest

t = bwtest.TAP()

PROCS = bwtest.START_ORDER
BUILD_TIMEOUT = 600
# Only the package's own files: no maintainer script or stub may reach
# the machine's.
STUBS = ["install", "adduser", "addgroup", "getent", "deb-systemd-helper",
         "deb-systemd-invoke", "systemctl"]


def sanitizer_build():
    """True when BW_BUILDDIR was configured with --enable-sanitizers."""
    try:
        with open(os.path.join(bwtest.BUILDDIR, "Makefile")) as f:
            return any(ln.startswith("BW_CFLAGS =") and "-fsanitize" in ln
                       for ln in f)
    except OSError:
        return False


def clean_make_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    env["DEB_BUILD_OPTIONS"] = "nocheck"
    return env


def code_defaults():
    """The default users, admin group, runtime and spool dirs of
    common/config.c."""
    with open(os.path.join(bwtest.SRCDIR, "common", "config.c")) as f:
        text = f.read()
    users = dict(re.findall(
        r'strlcpy\(cfg->user_(\w+),\s*"([^"]+)"', text))
    defs = dict(re.findall(r'#define\s+CONFIG_DEF_(\w+)\s+"([^"]*)"', text))
    assert set(users) == set(PROCS), users
    return users, defs


def sysusers_entries(path):
    """[(type, name, gecos, home, shell)] of a sysusers file."""
    out = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            w = shlex.split(line)
            w += ["-"] * (6 - len(w))
            out.append((w[0], w[1], w[3], w[4], w[5]))
    return out


class Package:
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="bw-pkg-")
        self.root = os.path.join(self.base, "root")
        self.stubs = os.path.join(self.base, "stubs")
        self.log = os.path.join(self.base, "stub.log")
        self.deb = None
        self.files = []

    def build(self):
        t0 = time.monotonic()
        # niced: the compiler must not starve the timing-sensitive tests
        # that make check -j runs beside this one
        r = subprocess.run(["nice", "-n", "10", "make", "-C",
                            bwtest.BUILDDIR, "deb"],
                           capture_output=True, text=True,
                           timeout=BUILD_TIMEOUT, env=clean_make_env(),
                           stdin=subprocess.DEVNULL)
        with open(os.path.join(self.base, "build.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        assert r.returncode == 0, (r.stdout[-3000:] + r.stderr[-3000:])
        debdir = os.path.join(bwtest.BUILDDIR, "deb")
        debs = [x for x in os.listdir(debdir)
                if re.match(r"breakwater_.*\.deb$", x)]
        assert len(debs) == 1, debs
        self.deb = os.path.join(debdir, debs[0])
        print("# make deb: %.0f s, %s (%d bytes)" % (
            time.monotonic() - t0, debs[0], os.path.getsize(self.deb)))

    def unpack(self):
        os.makedirs(self.root)
        for opt, dest in (("-x", self.root),
                          ("-e", os.path.join(self.root, "DEBIAN"))):
            subprocess.run(["dpkg-deb", opt, self.deb, dest], check=True,
                           timeout=120, capture_output=True)
        r = subprocess.run(["dpkg-deb", "-c", self.deb], check=True,
                           timeout=60, capture_output=True, text=True)
        # "drwxr-xr-x root/root 0 2026-12-03 11:00 ./usr/" -> /usr
        self.files = [ln.split(None, 5)[5].split(" -> ")[0][1:].rstrip("/")
                      for ln in r.stdout.splitlines()]

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def unitdir(self):
        for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
            if os.path.isdir(self.path(d)):
                return d
        raise AssertionError("no unit directory in the package")

    def units(self):
        d = self.unitdir()
        return {p: os.path.join(d, "breakwater-%s.service" % p)
                for p in PROCS}

    def unit_lines(self, unit):
        with open(self.path(unit)) as f:
            return [ln.strip() for ln in f]

    def unit_value(self, unit, key):
        vals = [ln[len(key) + 1:] for ln in self.unit_lines(unit)
                if ln.startswith(key + "=")]
        assert len(vals) == 1, (unit, key, vals)
        return vals[0]

    # -- maintainer scripts with stubs -------------------------------
    def make_stubs(self, with_sysusers):
        shutil.rmtree(self.stubs, ignore_errors=True)
        os.makedirs(self.stubs)
        for name in STUBS:
            body = 'echo "%s $*" >> "%s"\n' % (name, self.log)
            if name == "getent":
                body += "exit 2\n"      # nobody exists yet
            elif name == "install":
                body += 'for a; do last=$a; done; mkdir -p "$last"\n'
            self._stub(name, body)
        if with_sysusers:
            real = shutil.which("systemd-sysusers")
            self._stub("systemd-sysusers", 'echo "systemd-sysusers $*" >> '
                       '"%s"\nexec %s "$@"\n' % (self.log, real))
        # what the scripts may use beside the stubs; nothing else is found
        for tool in ("grep", "rm", "mkdir"):
            os.symlink(shutil.which(tool), os.path.join(self.stubs, tool))

    def _stub(self, name, body):
        p = os.path.join(self.stubs, name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)

    def run_script(self, script, *args):
        if os.path.exists(self.log):
            os.unlink(self.log)
        env = {"PATH": self.stubs, "DPKG_ROOT": self.root,
               "DPKG_MAINTSCRIPT_PACKAGE": "breakwater",
               "DPKG_MAINTSCRIPT_NAME": script}
        r = subprocess.run(["/bin/sh", "-e", self.path("DEBIAN/" + script)] +
                           list(args), env=env, capture_output=True,
                           text=True, timeout=120, cwd=self.base)
        assert r.returncode == 0, "%s %s: rc=%d\n%s%s" % (
            script, args, r.returncode, r.stdout, r.stderr)
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


# -- cases -------------------------------------------------------------------

def check_files(pkg):
    f = set(pkg.files)
    want = ["/usr/libexec/breakwater/" + p for p in PROCS] + [
        "/usr/sbin/bwctl", "/usr/lib/sysusers.d/breakwater.conf",
        "/etc/breakwater/breakwater.conf",
        "/usr/share/man/man5/breakwater.conf.5.gz",
        "/usr/share/man/man8/bwctl.8.gz",
        "/usr/share/doc/breakwater/examples/breakwater.conf.example",
        "/usr/share/doc/breakwater/copyright",
        pkg.unitdir() + "/breakwater.target"] + list(pkg.units().values())
    missing = [x for x in want if x not in f]
    assert not missing, "not in the package: %r" % missing
    # nothing under /usr/local, nothing from the build tree
    stray = [x for x in f if x.startswith("/usr/local") or "/build" in x]
    assert not stray, stray
    with open(pkg.path("DEBIAN/conffiles")) as fh:
        conffiles = fh.read().split()
    assert conffiles == ["/etc/breakwater/breakwater.conf"], conffiles


def check_units(pkg):
    confs = set()
    for proc, unit in pkg.units().items():
        argv = shlex.split(pkg.unit_value(unit, "ExecStart"))
        exe = pkg.path(argv[0])
        assert os.path.isfile(exe) and os.access(exe, os.X_OK), \
            "%s: ExecStart %s not in the package" % (unit, argv[0])
        assert argv[0] == "/usr/libexec/breakwater/" + proc, argv
        assert "-b" not in argv, argv
        confs.add(argv[argv.index("-f") + 1])
        assert pkg.unit_value(unit, "RuntimeDirectory") == "breakwater"
        assert "PartOf=breakwater.target" in pkg.unit_lines(unit), unit
    assert confs == {"/etc/breakwater/breakwater.conf"}, confs
    _, defs = code_defaults()
    assert defs["RUNTIME_DIR"] == "/run/breakwater", defs
    target = pkg.unit_lines(pkg.unitdir() + "/breakwater.target")
    wants = " ".join(ln[len("Wants="):] for ln in target
                     if ln.startswith("Wants=")).split()
    for proc in PROCS:
        assert "breakwater-%s.service" % proc in wants, (proc, wants)


def check_config(pkg):
    """The package's conffile is valid for the package's bwctl."""
    r = subprocess.run([pkg.path("/usr/sbin/bwctl"), "config", "check",
                        pkg.path("/etc/breakwater/breakwater.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def check_sysusers(pkg):
    users, defs = code_defaults()
    ents = sysusers_entries(pkg.path("/usr/lib/sysusers.d/breakwater.conf"))
    u = {e[1]: e for e in ents if e[0] == "u"}
    g = {e[1] for e in ents if e[0] == "g"}
    assert set(u) == set(users.values()), (sorted(u), users)
    assert g == {defs["ADMIN_GROUP"]}, (g, defs)
    assert u[users["queued"]][3] == defs["SPOOL_DIR"], u[users["queued"]]
    # the real systemd-sysusers, into the scratch root only
    r = subprocess.run(["systemd-sysusers", "--root=" + pkg.root,
                        "breakwater.conf"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    with open(pkg.path("/etc/passwd")) as f:
        made = {ln.split(":")[0] for ln in f}
    with open(pkg.path("/etc/group")) as f:
        groups = {ln.split(":")[0] for ln in f}
    assert set(users.values()) <= made, made
    assert defs["ADMIN_GROUP"] in groups, groups


def check_postinst_sysusers(pkg):
    for p in ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"):
        if os.path.exists(pkg.path(p)):
            os.unlink(pkg.path(p))
    pkg.make_stubs(with_sysusers=True)
    log = pkg.run_script("postinst", "configure")
    spool = pkg.path("/var/spool/breakwater")
    assert "systemd-sysusers --root=%s breakwater.conf" % pkg.root in log, \
        log
    assert "install -d -o _bwqueue -g _bwqueue -m 0700 %s" % spool in log, \
        log
    monitor = pkg.path("/var/lib/breakwater/monitor")
    assert "install -d -o _bwctl -g _bwctl -m 0700 %s" % monitor in log, \
        log
    assert any(re.match(r"deb-systemd-helper enable '?breakwater.target", x)
               for x in log), log
    # only the target is enabled: it Wants= the services
    assert not any("enable" in x and ".service" in x for x in log), log
    # the users landed in the scratch root, made by the postinst
    with open(pkg.path("/etc/passwd")) as f:
        assert "_bwqueue:" in f.read()
    assert os.path.isdir(spool)


def check_postinst_adduser(pkg):
    pkg.make_stubs(with_sysusers=False)
    log = pkg.run_script("postinst", "configure")
    ents = sysusers_entries(pkg.path("/usr/lib/sysusers.d/breakwater.conf"))
    for typ, name, gecos, home, shell in ents:
        if typ == "g":
            assert "addgroup --system --quiet %s" % name in log, (name, log)
        else:
            want = ("adduser --system --quiet --group --gecos %s --home %s "
                    "--no-create-home --shell %s %s" % (gecos, home, shell,
                                                        name))
            assert want in log, (want, log)
    assert not any(x.startswith("systemd-sysusers") for x in log), log


def check_postrm(pkg):
    spool = pkg.path("/var/spool/breakwater")
    os.makedirs(spool, exist_ok=True)
    debug = pkg.path("/var/log/breakwater/debug")
    os.makedirs(debug, exist_ok=True)
    with open(os.path.join(debug, "example.org.log"), "w") as f:
        f.write("transcript\n")
    pkg.make_stubs(with_sysusers=False)
    pkg.run_script("postrm", "remove")
    assert os.path.isdir(spool), "remove must keep the queue"
    assert os.path.isdir(debug), "remove must keep the transcripts"
    monitor = pkg.path("/var/lib/breakwater/monitor")
    os.makedirs(monitor, exist_ok=True)
    pkg.run_script("postrm", "purge")
    assert not os.path.exists(monitor), "purge keeps the monitor's history"
    assert not os.path.exists(spool), "purge keeps the queue"
    assert not os.path.exists(pkg.path("/var/log/breakwater")), \
        "purge keeps the debug transcripts"


def check_lintian(pkg):
    r = subprocess.run(["lintian", "--no-tag-display-limit", pkg.deb],
                       capture_output=True, text=True, timeout=600)
    tags = [ln for ln in r.stdout.splitlines() if re.match(r"[EWIPX]: ", ln)]
    for ln in tags:
        print("# lintian: " + ln)
    errors = [ln for ln in tags if ln.startswith("E: ")]
    assert not errors, "\n".join(errors)
    assert r.returncode in (0, 2), r.stdout + r.stderr   # 2: warnings


def check_version(pkg):
    with open(os.path.join(bwtest.SRCDIR, "debian", "changelog")) as f:
        m = re.match(r"breakwater \(([^)-]+)(-[^)]*)?\)", f.readline())
    with open(os.path.join(bwtest.SRCDIR, "configure.ac")) as f:
        v = re.search(r"AC_INIT\(\[breakwater\],\s*\[([^]]+)\]", f.read())
    assert m and v and m.group(1) == v.group(1), (m and m.group(1),
                                                  v and v.group(1))


def missing_tools():
    for tool in ("dpkg-buildpackage", "dpkg-deb", "dh", "lintian",
                 "systemd-sysusers", "make"):
        if shutil.which(tool) is None:
            return "%s not installed (tools/install-deps.sh)" % tool
    return None


def run_cases(pkg):
    if not t.run("make deb builds the package", pkg.build):
        return
    if not t.run("dpkg-deb unpacks it into a scratch root", pkg.unpack):
        return
    t.run("binaries, units, target, sysusers file, man pages, conffile and "
          "example are in the package", check_files, pkg)
    t.run("every unit's ExecStart binary and config are the package's",
          check_units, pkg)
    t.run("the conffile passes the package's bwctl config check",
          check_config, pkg)
    t.run("sysusers: the users and group of common/config.c, created by "
          "systemd-sysusers in the scratch root", check_sysusers, pkg)
    t.run("postinst: systemd-sysusers, spool _bwqueue 0700, "
          "breakwater.target enabled", check_postinst_sysusers, pkg)
    t.run("postinst without systemd-sysusers: the same users with adduser",
          check_postinst_adduser, pkg)
    t.run("postrm: remove keeps the spool and debug transcripts, purge "
          "deletes them", check_postrm,
          pkg)
    t.run("lintian reports no error", check_lintian, pkg)
    t.run("debian/changelog's version is configure's", check_version, pkg)


def main():
    if os.environ.get("BW_IN_DEB_BUILD"):
        t.skip("Debian package", "running inside a package build")
        t.done()
    if os.geteuid() != 0:
        t.skip("Debian package", "needs root (dpkg-buildpackage, "
               "systemd-sysusers --root); CI runs as root")
        t.done()
    why = missing_tools()
    if why:
        t.skip("Debian package", why)
        t.done()
    if sanitizer_build():
        t.skip("Debian package", "built from the distribution tree with "
               "Debian's flags, the same in every build directory: tested "
               "in the normal build only")
        t.done()
    pkg = Package()
    try:
        run_cases(pkg)
    finally:
        shutil.rmtree(os.path.join(bwtest.BUILDDIR, "deb"),
                      ignore_errors=True)
        if os.environ.get("BW_KEEP"):
            print("# kept %s" % pkg.base)
        else:
            shutil.rmtree(pkg.base, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
