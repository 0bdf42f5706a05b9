#!/usr/bin/env bash
# Nothing of ours is left behind: not by a crashing cell, not by a runner killed mid-cell.
# Uses the self-check binary's deliberately broken transports (mutant-crashes, mutant-hangs).
set -euo pipefail
selfcheck=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ours() { ip netns list 2>/dev/null | grep -c "^cmx$1" || true; }

# 1. Crashing cells on every lane: reported as errors with the signal, and cleaned up.
set +e
"$selfcheck" run --transport mutant-crashes N1-hostinfo-v4 --report "$work/crash" --quiet
rc=$?
set -e
[ $rc -eq 1 ] || fail "crashing cells should fail the run (exit 1), got $rc"
grep -q "crashed with signal 6" "$work/crash/summary.md" || fail "the crash is not reported"
echo "crashing cells reported: $(grep -c 'crashed with signal 6' "$work/crash/junit.xml") in junit.xml"

# 2. A runner killed while its cell hangs: the cell dies with it (parent-death signal), and the
#    next run removes the namespaces and scratch directories it left.
lane_netns=$( [ "$(id -u)" -eq 0 ] && echo yes || echo no )
cell=mutant-hangs/N2-hostinfo-v6/v6@swrap
[ $lane_netns = yes ] && cell=mutant-hangs/N2-hostinfo-v6/v6@netns
"$selfcheck" run --exact "$cell" --timeout 60 --report "$work/hang" --quiet &
runner=$!
# Wait (bounded) until the hung cell runs: its output names the scenario.
for _ in $(seq 200); do
  grep -qs "hostinfo" "$work"/hang/cells/*/output.txt && break
  sleep 0.05
done
grep -qs "hostinfo" "$work"/hang/cells/*/output.txt || fail "the hanging cell never started"
kill -9 $runner
wait $runner 2>/dev/null || true
left_dirs=$( (compgen -G "/tmp/coapmx-${runner}x*" || true) | wc -l)
left_ns=$(ours "${runner}x")
echo "after killing runner $runner: $left_ns namespaces and $left_dirs scratch dirs left"
[ $lane_netns = no ] || [ "$left_ns" -ge 1 ] || fail "expected the dead runner's namespaces to remain until reaped"
for _ in $(seq 100); do
  pgrep -f "__cell $cell" >/dev/null || break
  sleep 0.05
done
! pgrep -f "__cell $cell" >/dev/null || fail "the hung cell outlived its runner"
"$selfcheck" run --transport mutant-crashes --exact mutant-crashes/N1-hostinfo-v4/v4@swrap \
  --report "$work/reap" --quiet >/dev/null || true
[ "$(ours "${runner}x")" -eq 0 ] || fail "namespaces of the dead runner were not reaped"
! compgen -G "/tmp/coapmx-${runner}x*" >/dev/null || fail "scratch dirs of the dead runner were not reaped"
[ "$(ip -o link show 2>/dev/null | grep -c ' cmx-')" -eq 0 ] || fail "a veth of ours is left in the root namespace"
echo "the next run reaped everything the dead runner left"
