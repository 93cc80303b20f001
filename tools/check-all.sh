#!/bin/sh
# Build and run every test: install what is missing (Debian packages), then
# build twice -- a normal -Werror build and an ASan/UBSan build -- and run
# the unit and integration tests of both.  The last line is the totals:
# "N passed, N failed".  Exit status is non-zero when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -eq 0 ]; then
	./tools/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }
else
	./tools/install-deps.sh || true
fi

jobs=$(nproc 2>/dev/null || echo 2)
checkjobs=$((jobs * 2))
buildfail=0
logs=""

autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; autoreconf -fi; echo "0 passed, 1 failed"; exit 1; }

run_build() {	# dir, configure flags...
	dir=$1; shift
	echo "=== build $dir ($*)"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$top/configure" -q "$@" && make -j"$jobs" >make.log 2>&1); then
		echo "build in $dir failed:"
		tail -40 "$dir/make.log" 2>/dev/null
		buildfail=$((buildfail + 1))
		return 1
	fi
	echo "=== tests $dir"
	# twice the cores: the integration tests mostly wait on timers and
	# peers (a run on 2 cores used a quarter of them), and the suite
	# must stay under 15 minutes
	(cd "$dir" && make -j"$checkjobs" check >check.log 2>&1)
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL):' "$dir/check.log" | \
	    grep -vE '^PASS:' || true
	f="$dir/tests/test-suite.log"
	if [ ! -f "$f" ]; then
		echo "no test-suite.log in $dir/tests"
		buildfail=$((buildfail + 1))
		return 1
	fi
	# The failing cases with their diagnostics, then this build's totals.
	find "$dir/tests" -name '*.log' ! -name test-suite.log \
	    -exec grep -H -A12 '^not ok' {} + 2>/dev/null | head -300 || true
	logs="$logs $f"
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$f"
	# the slowest integration tests: the suite must stay under 15 min
	echo "slowest integration tests in $dir (s):"
	grep -H '^# elapsed' "$dir"/tests/integration/*.log 2>/dev/null | \
	    sed 's|^.*/\([^/]*\)\.log:# elapsed \([0-9.]*\) s|\2 \1|' | \
	    sort -rn | head -8 | sed 's/^/  /' || true
}

run_build "$top/build" || true
run_build "$top/build-asan" --enable-sanitizers || true

# shellcheck disable=SC2086
"$top/tools/tap-summary.sh" -e "$buildfail" $logs
