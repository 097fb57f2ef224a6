#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_units - the systemd units.  `systemd-analyze verify` must print
# nothing at all (it exits 0 even for a misspelt key, so any output is a
# failure), and `systemd-analyze security --offline=true` must rate
# inletd.service at an exposure of 2.0 or less.  verify wants ExecStart=
# to exist, so it checks a copy that points at the inletd just built.
# Without systemd-analyze: a failure under CI=true, else skipped (77).
set -u
src=${INLET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${INLET_BUILDDIR:-$(pwd)}
inletd=${INLETD:-$build/server/inletd}
max_exposure=2.0
relay=${INLET_RELAY:-$build/server/inlet-relay}
units="inletd.service inletd.socket inletd-submission.socket
inletd-submissions.socket inlet-relay.service"
pass=0
fail=0

# result NAME STATUS [OUTPUT] - count and say one check.
result() {
	if [ "$2" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok: $1"
	else
		fail=$((fail + 1))
		echo "FAIL: $1"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/    /'
	fi
	return 0
}

# verify DIR - systemd-analyze verify on the units in DIR; its output.
verify() {
	(cd "$1" && systemd-analyze verify --man=no $units 2>&1)
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "missing: systemd-analyze (apt-get install systemd)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inlet-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
mkdir "$tmp/good" "$tmp/bad"
sed "s|^ExecStart=[^ ]*|ExecStart=$inletd|" "$build/systemd/inletd.service" \
    >"$tmp/good/inletd.service"
sed "s|^ExecStart=[^ ]*|ExecStart=$relay|" \
    "$build/systemd/inlet-relay.service" >"$tmp/good/inlet-relay.service"
for u in $units; do
	case $u in
	*.service) ;;
	*) cp "$src/systemd/$u" "$tmp/good/" ;;
	esac
done

out=$(verify "$tmp/good"); rc=$?
[ -z "$out" ] || rc=1
result "systemd-analyze verify prints nothing" "$rc" "$out"

# the check itself: a misspelt key must show up as output
cp "$tmp"/good/* "$tmp/bad/"
sed 's/^NoNewPrivileges=/NoNewPrivilges=/' "$tmp/good/inletd.service" \
    >"$tmp/bad/inletd.service"
out=$(verify "$tmp/bad")
case $out in
*NoNewPrivilges*) rc=0 ;;
*) rc=1 ;;
esac
result "systemd-analyze verify reports a misspelt key" "$rc" "$out"

grep -q '^ExecStart=.*/inletd ' "$build/systemd/inletd.service" &&
    ! grep -q '@[a-z]*@' "$build/systemd/inletd.service"
result "inletd.service has its paths substituted" $?
grep -q '^ExecStart=.*/inlet-relay ' "$build/systemd/inlet-relay.service" &&
    ! grep -q '@[a-z]*@' "$build/systemd/inlet-relay.service"
result "inlet-relay.service has its paths substituted" $?

# Every program the unit runs besides inletd must be there on the
# smallest Debian system: it belongs to an Essential package.  (verify
# only sees what this machine has; /bin/kill, from procps, was missing on
# a minimal one.)
if command -v dpkg-query >/dev/null 2>&1; then
	rc=0 out=""
	for prog in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' \
	    "$build/systemd/inletd.service" \
	    "$build/systemd/inlet-relay.service" |
	    grep -v '/inletd$' | grep -v '/inlet-relay$' | sort -u); do
		pkg=$(dpkg -S "$prog" 2>/dev/null | sed -n 's/^\([^ :]*\): .*/\1/p' |
		    head -n 1)
		ess=$(dpkg-query -W -f='${Essential}' "$pkg" 2>/dev/null)
		[ "$ess" = yes ] ||
		    { rc=1; out="$out$prog (${pkg:-no package}) is not Essential
"; }
	done
	result "the unit runs only programs of Essential packages" "$rc" "$out"
fi

for svc in inletd.service inlet-relay.service; do
	out=$(systemd-analyze security --offline=true "$tmp/good/$svc" 2>&1)
	score=$(printf '%s\n' "$out" |
	    sed -n "s/.*Overall exposure level for $svc: \\([0-9.]*\\).*/\\1/p")
	awk -v s="$score" -v m="$max_exposure" \
	    'BEGIN { exit !(s != "" && s + 0 <= m + 0) }'
	result "$svc exposure ${score:-unknown} <= $max_exposure" $? "$out"
done

echo "test_units: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
