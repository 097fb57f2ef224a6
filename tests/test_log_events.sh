#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_log_events - inletd(8) lists every log event and field the daemon
# emits, and nothing else; inlet-relay(8) the same for inlet-relay (the
# relay_*.c modules).  From server/*.c: every log_event() call, its
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
code_pairs() {
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
}' "$@" | sort -u
}

# The same pairs from the man page's LOGGING section.
man_pairs() {
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
}' "$1" | sort -u
}

# check PAGE MIN WHAT - the pairs of $tmp/code against PAGE(8)'s LOGGING
# (server/PAGE.8); at least MIN events must have been found in WHAT.
check() {
page=$1
min=$2
what=$3
man_pairs "$src/server/$page.8" >"$tmp/man"
n=$(grep -c ' -$' "$tmp/code")
if [ "$n" -lt "$min" ]; then
	echo "FAIL: only $n events found in $what: is the parser broken?"
	fail=$((fail + 1))
fi
missing=$(comm -23 "$tmp/code" "$tmp/man")
extra=$(comm -13 "$tmp/code" "$tmp/man")
if [ -z "$missing" ]; then
	pass=$((pass + 1))
	echo "ok: every event and field of $what is in $page(8)"
else
	fail=$((fail + 1))
	echo "FAIL: logged but not in $page(8) LOGGING (event field):"
	printf '%s\n' "$missing" | sed 's/^/    /'
fi
if [ -z "$extra" ]; then
	pass=$((pass + 1))
	echo "ok: every event and field in $page(8) is logged"
else
	fail=$((fail + 1))
	echo "FAIL: in $page(8) LOGGING but never logged (event field):"
	printf '%s\n' "$extra" | sed 's/^/    /'
fi
}

pass=0
fail=0
# inlet-relay's events come from its own modules (relay_*.c), inletd's
# from all the others.
set --
for f in "$src"/server/*.c; do
	case $f in
	*/relay_*.c) ;;
	*) set -- "$@" "$f" ;;
	esac
done
code_pairs "$@" >"$tmp/code"
check inletd 30 "server/*.c but relay_*.c"
code_pairs "$src"/server/relay_*.c >"$tmp/code"
check inlet-relay 8 "server/relay_*.c"
echo "test_log_events: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
