#!/bin/sh
# Print the totals of one or more automake test-suite.log files as
# "N passed, N failed" (TAP cases of unit and integration tests together;
# FAIL, ERROR and XPASS count as failed, SKIP is reported on the line before).
# Extra failures (e.g. a build that failed) are added with -e N.
extra=0
if [ "${1:-}" = "-e" ]; then
	extra=$2
	shift 2
fi
awk -v extra="$extra" '
/^# PASS: /  { pass += $3 }
/^# SKIP: /  { skip += $3 }
/^# XFAIL: / { pass += $3 }
/^# FAIL: /  { fail += $3 }
/^# XPASS: / { fail += $3 }
/^# ERROR: / { fail += $3 }
END {
	fail += extra
	if (skip > 0)
		printf "(%d skipped)\n", skip
	printf "%d passed, %d failed\n", pass, fail
	exit fail > 0 ? 1 : 0
}' "$@" /dev/null
