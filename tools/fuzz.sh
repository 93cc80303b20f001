#!/bin/sh
# Fuzz the parsers that read bytes from outside with libFuzzer (clang,
# -fsanitize=fuzzer,address,undefined): each harness of tests/fuzz/ runs
# for SECONDS (default 600), one at a time and niced, from its committed
# corpus (tests/fuzz/corpus/HARNESS/) plus a working corpus kept in
# build-fuzz/corpus/HARNESS/, with its dictionary (tests/fuzz/dict/).
# A crash, leak, timeout or sanitizer report is stored in
# tests/fuzz/crashes/HARNESS/ (the suite replays that directory once it
# is committed, see tests/fuzz/README.md).  The last lines are a summary.
#
#   tools/fuzz.sh [-m] [SECONDS] [HARNESS ...]
#
# -m: afterwards, minimise the committed corpus with -merge=1 (the
# committed inputs and the working corpus merged into the smallest set
# that keeps their coverage) and replace tests/fuzz/corpus/HARNESS/.
# SECONDS 0 fuzzes nothing (with -m: only the merge).
#
# The build is out of tree in build-fuzz/: configure CC=clang
# --enable-sanitizers --enable-fuzzing (the code instrumented with
# -fsanitize=fuzzer-no-link, the harnesses linked with -fsanitize=fuzzer).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=$top/build-fuzz
all="fuzz_smtp_cmd fuzz_smtp_data fuzz_smtp_bdat fuzz_imsg fuzz_config"
all="$all fuzz_dns fuzz_reply fuzz_proxy"
merge=0

if [ "${1:-}" = "-m" ]; then
	merge=1
	shift
fi
secs=600
case "${1:-}" in
[0-9]*) secs=$1; shift ;;
esac
harnesses=${*:-$all}
for h in $harnesses; do
	case " $all " in
	*" $h "*) ;;
	*) echo "fuzz: unknown harness $h (one of: $all)" >&2; exit 2 ;;
	esac
done

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang not found: run tools/install-deps.sh as root" >&2
	exit 2
fi

cd "$top" || exit 2
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
    [ tests/Makefile.am -nt configure ]; then
	autoreconf -fi >/dev/null 2>&1 || { echo "fuzz: autoreconf failed" >&2; exit 2; }
fi
mkdir -p "$bdir"
if [ ! -f "$bdir/Makefile" ] || [ configure -nt "$bdir/Makefile" ]; then
	echo "=== configure $bdir"
	(cd "$bdir" && "$top/configure" -q CC=clang CFLAGS="-g -O1" \
	    --enable-sanitizers --enable-fuzzing --disable-werror) ||
	    { echo "fuzz: configure failed" >&2; exit 2; }
fi
echo "=== build $bdir"
jobs=$(nproc 2>/dev/null || echo 2)
# The libraries the harnesses link, then the harnesses themselves.
if ! (cd "$bdir" && nice make -j"$jobs" -C common libbwcommon.a &&
    nice make -j"$jobs" -C smtpd libsmtpd.a &&
    nice make -j"$jobs" -C deliverd libdeliverd.a &&
    nice make -j"$jobs" -C dnscached libdnscached.a &&
    nice make -j"$jobs" -C tests $harnesses) >"$bdir/make.log" 2>&1; then
	tail -30 "$bdir/make.log"
	echo "fuzz: build failed (log: $bdir/make.log)" >&2
	exit 2
fi

# Sanitizers: stop at the first report, with a stack; leaks count.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

summary=""
failed=0
for h in $harnesses; do
	corpus=$top/tests/fuzz/corpus/$h
	crashes=$top/tests/fuzz/crashes/$h
	work=$bdir/corpus/$h
	log=$bdir/$h.log
	mkdir -p "$work" "$crashes" "$corpus"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$crashes/"
	[ -f "$top/tests/fuzz/dict/$h.dict" ] &&
	    set -- "$@" -dict="$top/tests/fuzz/dict/$h.dict"
	before=$(ls "$crashes" | wc -l)
	rc=0
	if [ "$secs" -gt 0 ]; then
		echo "=== $h: ${secs}s (log: $log)"
		(cd "$bdir/tests" && nice -n 10 "./$h" "$@" "$work" \
		    "$corpus") >"$log" 2>&1
		rc=$?
	fi
	after=$(ls "$crashes" | wc -l)
	execs=- cov=-
	if [ "$secs" -gt 0 ]; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$log" | tail -1)
		cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n \
		    's/.*cov: \([0-9]*\).* ft: \([0-9]*\).* corp: \([0-9]*\).*/cov \1 ft \2 corp \3/p')
	fi
	new=$((after - before))
	if [ "$new" -gt 0 ] || [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|artifact_prefix)' \
		    "$log" | head -5
	fi
	if [ "$merge" = 1 ]; then
		min=$bdir/merge-$h
		rm -rf "$min"
		mkdir -p "$min"
		if (cd "$bdir/tests" && nice -n 10 "./$h" -merge=1 \
		    -rss_limit_mb=2048 "$min" "$corpus" "$work") \
		    >"$bdir/$h.merge.log" 2>&1; then
			rm -f "$corpus"/*
			cp "$min"/* "$corpus"/ 2>/dev/null
		else
			echo "fuzz: merge of $h failed (log: $bdir/$h.merge.log)"
		fi
		rm -rf "$min"
	fi
	summary="$summary$(printf '%-16s %6ss %12s execs  %-28s new crashes %d  exit %d  committed corpus %d' \
	    "$h" "$secs" "${execs:-?}" "${cov:-?}" "$new" "$rc" \
	    "$(ls "$corpus" | wc -l)")
"
done
echo "=== summary"
printf '%s' "$summary"
echo "$failed of $(echo $harnesses | wc -w) harnesses found something"
[ "$failed" -eq 0 ]
