#!/bin/sh
# Install, from Debian's packages only, everything Breakwater needs to build,
# run and test.  Safe to run again: it installs only what is missing.
# Postfix is installed only for its smtp-sink/smtp-source test tools and for the
# benchmarks; debconf is preseeded so that no Postfix instance is configured
# or started.  systemd (systemd-sysusers, systemd-analyze), passwd and
# util-linux (setpriv) serve the production test; debhelper, dpkg-dev,
# fakeroot and lintian build and check the Debian package (make deb,
# tests/integration/test_package.py); clang and its runtime (libFuzzer,
# sanitizers) run tools/fuzz.sh; haproxy is the load balancer in front of
# smtpd in tests/integration/test_proxy.py (PROXY protocol v1 and v2), run
# by the test itself, never as a service; unbound (a validating resolver)
# and nsd (an authoritative server for DNSSEC-signed test zones) serve the
# DANE and MTA-STS tests, python3-aiosmtpd the scripted receivers of the
# outbound tests, each started by its test, never as a service; chromium
# (headless) loads the monitor's pages in tests/integration/test_monitor_web.py.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
libssl-dev openssl libevent-dev libdb5.3-dev db5.3-util libldns-dev ldnsutils
check swaks libnet-ssleay-perl postfix python3 iproute2 procps psmisc
systemd passwd util-linux debhelper dpkg-dev fakeroot lintian
clang libclang-rt-14-dev haproxy unbound nsd python3-aiosmtpd
python3-prometheus-client chromium"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package scripts from starting any daemon (postfix).
prc=/usr/sbin/policy-rc.d
had_prc=0
[ -e "$prc" ] && had_prc=1
if [ "$had_prc" = 0 ]; then
	printf '#!/bin/sh\nexit 101\n' > "$prc"
	chmod 755 "$prc"
fi
apt-get install -y -qq --no-install-recommends $missing
[ "$had_prc" = 0 ] && rm -f "$prc"
# No Postfix instance must run: we use only its test programs.
if command -v postfix >/dev/null 2>&1; then
	postfix stop >/dev/null 2>&1 || true
fi
# Nor a system HAProxy: the proxy test starts its own.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now haproxy unbound nsd >/dev/null 2>&1 || true
fi
# Without systemd the package scripts may still have started them.
if command -v pkill >/dev/null 2>&1; then
	for d in unbound nsd; do
		pkill -x "$d" >/dev/null 2>&1 || true
	done
fi
exit 0
