#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_man - the man pages render without a single warning: `man
# --warnings -l PAGE` prints nothing on stderr (it exits 0 even with
# warnings) and something on stdout, in the C and the C.UTF-8 locale, 80
# columns.  Without man: a failure under CI=true, else skipped (77).
set -u
src=${INLET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
pass=0
fail=0

if ! command -v man >/dev/null 2>&1; then
	echo "missing: man (apt-get install man-db groff-base)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
tmp=$(mktemp "${TMPDIR:-/tmp}/inlet-man.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT HUP INT TERM
for page in server/inletd.8 server/inlet-relay.8 conf/inlet.conf.5; do
	for loc in C C.UTF-8; do
		err=$(LC_ALL=$loc MANWIDTH=80 man --warnings -l "$src/$page" \
		    2>&1 >"$tmp")
		rc=$?
		if [ "$rc" -eq 0 ] && [ -z "$err" ] && [ -s "$tmp" ]; then
			pass=$((pass + 1))
			echo "ok: $page ($loc)"
		else
			fail=$((fail + 1))
			echo "FAIL: $page ($loc): exit $rc"
			printf '%s\n' "$err" | sed 's/^/    /'
		fi
	done
done
echo "test_man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
