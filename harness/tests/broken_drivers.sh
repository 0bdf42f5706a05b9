#!/usr/bin/env bash
# Drivers that misbehave (broken_driver.c) make clear cell failures that name the IUT and what
# its driver did, never a hang or a harness crash: garbage on stdout, a crash mid-cell, silence,
# an exit with a request pending, a reply with another IUT's name, an event with a bad code, a
# remote named otherwise than its PICS claims, a driver that ignores quit, and bytes that are no
# text. Two more get through their scenario and leave something behind, which the end of every
# cell catches: a datagram sent once the driver's clock is moved on, and a socket kept after
# every endpoint is closed. Every report stays valid UTF-8 (and junit.xml valid XML), and no
# driver process or network namespace outlives its cell.
set -euo pipefail
coapmx=$1
broken=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

declare -A says=(
  [broken-garbage]="wrote a line that is not a JSON object"
  [broken-crash]="was killed by signal SIGABRT with 1 request pending"
  [broken-silent]="did not answer 'request' within"
  [broken-exit-pending]="exited with status 0 with 1 request pending"
  [broken-lies]="does not list broken-lies among the IUTs it drives"
  [broken-wrong-event]="sent a response without a valid code"
  [broken-hostinfo]="says hostinfo = no in its PICS, but named a remote as hostinfo v4.test"
  [broken-linger]="did not answer 'quit' within"
  [broken-bytes]='\\xff\\xfe bad \\x01\\x1b[31m' # as cells.tsv escapes the backslashes
  [leftover-late]="a datagram left the IUT once its clock was moved"
  [leftover-socket]="leftover-socket kept 1 UDP socket open after every endpoint was closed"
)
mkdir -p "$work/drivers/broken"
for iut in "${!says[@]}"; do
  sed -e "s|^iut = .*|iut = $iut|" -e "s|^driver = .*|driver = $broken|" -e '/^speedup/d' \
    -e '/^xfail/d' "$(dirname "$0")/../../transports/drivers/libcoap/libcoap.pics" \
    >"$work/drivers/broken/$iut.pics"
done

export COAPMX_DRIVERS_DIR=$work/drivers COAPMX_BROKEN_PIDS=$work/pids
set +e
timeout 120 "$coapmx" run 'broken-*/N1-hostinfo-v4/*' 'leftover-*/F6-unresolvable/*' --report "$work/report" --quiet >"$work/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$work/out"; fail "the run exited with $rc, not 1 (cells failed)"; }

cells() { awk -F'\t' '$1 == "cell" { print $2 "\t" $8 "\t" $9 }' "$work/report/cells.tsv"; }
lanes=$(cells | wc -l)
[ "$lanes" -ge "${#says[@]}" ] || fail "only $lanes cells ran"
for iut in "${!says[@]}"; do
  ran=0
  while IFS=$'\t' read -r name status reason; do
    ran=$((ran + 1))
    [ "$status" = fail ] || fail "$name: $status, not fail ($reason)"
    case "$reason" in
      *"${says[$iut]}"*) ;;
      *) fail "$name does not say '${says[$iut]}': $reason" ;;
    esac
    # A misbehaving driver is named; broken-bytes only reported an error in odd words, and
    # what a leftover- one leaves is the IUT's failure, not its driver's.
    [ "$iut" = broken-bytes ] && continue
    case "$iut" in leftover-*) continue ;; esac
    case "$reason" in *"the driver of $iut "*) ;; *) fail "$name does not name $iut: $reason" ;; esac
  done < <(cells | grep "^$iut/")
  [ "$ran" -gt 0 ] || fail "no cell of $iut ran"
done

# Every report format is text a reader can take (and junit.xml is XML).
for f in summary.md junit.xml results.tap cells.tsv timings.tsv; do
  iconv -f UTF-8 -t UTF-8 "$work/report/$f" >/dev/null || fail "$f is not valid UTF-8"
  if grep -qP '[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]' "$work/report/$f"; then
    fail "$f holds control characters"
  fi
done
python3 -c 'import sys, xml.etree.ElementTree as t; t.parse(sys.argv[1])' "$work/report/junit.xml" ||
  fail "junit.xml is not XML"
iconv -f UTF-8 -t UTF-8 "$work/out" >/dev/null || fail "the terminal output is not valid UTF-8"

# Nothing of any driver is left: no process, and no process in the namespaces they ran in.
[ -s "$work/pids" ] || fail "no driver recorded itself"
while read -r pid ns; do
  if kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/ns/net")" = "$ns" ]; then
    fail "driver $pid is still running"
  fi
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ns" ] || continue
    [ "$ns" = "$(readlink /proc/self/ns/net)" ] && break # the swrap lane: the host's own
    fail "process ${p#/proc/} is in the namespace $ns of a finished cell"
  done
done <"$work/pids"
echo "broken drivers: $lanes cells failed as they should; reports valid; nothing left behind"
