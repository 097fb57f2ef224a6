#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_log_events - inletd(8) lists every log event and field the daemon
# emits, and nothing else.  From server/*.c: every log_event() call, its
# "event=NAME" and the keys of its LOG_*("key", ...) fields; from the
# LOGGING section of server/inletd.8: every ".B event=NAME" entry and the
# \fBkey\fR words of its paragraph.  Each event in the code must have an
# entry naming all its keys; each entry must name an event of the code,
# and each key it names must be one the code logs for that event.
set -u
src=${INLET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inlet-logev.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

# "event key" pairs (key "-" for the event alone), from the C sources:
# a call runs from "log_event" to the ";" that ends its statement.
awk '
/log_event(_fields)?\(/ { call = ""; on = 1 }
on {
	call = call $0
	if ($0 ~ /;[ \t]*$/) {
		on = 0
		if (match(call, /"event=[a-z0-9-]+"/) == 0)
			next
		ev = substr(call, RSTART + 7, RLENGTH - 8)
		print ev " -"
		rest = call
		while (match(rest, /LOG_[A-Z]+\([ \t]*"[a-z0-9_-]+"/)) {
			f = substr(rest, RSTART, RLENGTH)
			sub(/^[^"]*"/, "", f)
			sub(/"$/, "", f)
			print ev " " f
			rest = substr(rest, RSTART + RLENGTH)
		}
	}
}' "$src"/server/*.c | sort -u >"$tmp/code"

# The same pairs from the man page's LOGGING section.
awk '
/^\.SH / { in_log = ($0 == ".SH LOGGING") ; ev = ""; next }
!in_log { next }
/^\.(TP|PP)/ { ev = ""; next }
/^\.B event=/ {
	ev = $2
	sub(/^event=/, "", ev)
	gsub(/\\-/, "-", ev)
	print ev " -"
	next
}
ev != "" {
	rest = $0
	while (match(rest, /\\fB[a-z0-9_\\-]+\\f[RP]/)) {
		f = substr(rest, RSTART + 3, RLENGTH - 6)
		gsub(/\\-/, "-", f)
		print ev " " f
		rest = substr(rest, RSTART + RLENGTH)
	}
}' "$src/server/inletd.8" | sort -u >"$tmp/man"

pass=0
fail=0
n=$(grep -c ' -$' "$tmp/code")
if [ "$n" -lt 30 ]; then
	echo "FAIL: only $n events found in server/*.c: is the parser broken?"
	fail=$((fail + 1))
fi
missing=$(comm -23 "$tmp/code" "$tmp/man")
extra=$(comm -13 "$tmp/code" "$tmp/man")
if [ -z "$missing" ]; then
	pass=$((pass + 1))
	echo "ok: every event and field of server/*.c is in inletd(8)"
else
	fail=$((fail + 1))
	echo "FAIL: logged but not in inletd(8) LOGGING (event field):"
	printf '%s\n' "$missing" | sed 's/^/    /'
fi
if [ -z "$extra" ]; then
	pass=$((pass + 1))
	echo "ok: every event and field in inletd(8) is logged"
else
	fail=$((fail + 1))
	echo "FAIL: in inletd(8) LOGGING but never logged (event field):"
	printf '%s\n' "$extra" | sed 's/^/    /'
fi
echo "test_log_events: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
