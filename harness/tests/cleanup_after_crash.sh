#!/usr/bin/env bash
# Nothing of ours is left behind: not by a crashing cell, not by a runner killed mid-cell.
# Uses the self-check binary's deliberately broken transports (mutant-crashes, mutant-hangs).
set -euo pipefail
selfcheck=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. Crashing cells on every lane: reported as errors with the signal, and cleaned up.
set +e
"$selfcheck" run --transport mutant-crashes N1-hostinfo-v4 --report "$work/crash" --quiet
rc=$?
set -e
[ $rc -eq 1 ] || fail "crashing cells should fail the run (exit 1), got $rc"
grep -q "crashed with signal 6" "$work/crash/summary.md" || fail "the crash is not reported"
echo "crashing cells reported: $(grep -c 'crashed with signal 6' "$work/crash/junit.xml") in junit.xml"

# 2. A runner killed while its cell hangs: the cell and its peer die with it (parent-death
#    signal), and so do the network namespaces only they held; the next run removes the scratch
#    directories.
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
# The namespaces the cell and its peer live in (the lane runner, the cell and its peer share
# the command line: each is a fork of the one before).
namespaces=$(for pid in $(pgrep -f -- "--exact $cell"); do readlink "/proc/$pid/ns/net"; done | sort -u)
own=$(readlink /proc/self/ns/net)
cell_namespaces=$(echo "$namespaces" | grep -vxF "$own" || true)
[ $lane_netns = no ] || [ "$(echo "$cell_namespaces" | grep -c net:)" -ge 1 ] ||
  fail "the netns cell does not run in a namespace of its own"
# Scratch directories are named by the lane runner that made them, a child of the runner.
lane_runner=$(pgrep -P $runner | head -1)
[ -n "$lane_runner" ] || fail "no lane runner under runner $runner"
kill -9 $runner
wait $runner 2>/dev/null || true
for _ in $(seq 100); do
  pgrep -f -- "--exact $cell" >/dev/null || break
  sleep 0.05
done
! pgrep -f -- "--exact $cell" >/dev/null || fail "the hung cell outlived its runner"
# Nothing refers to the cell's namespaces any more (no process in them, no descriptor of
# them), so the kernel has freed them.
for ns in $cell_namespaces; do
  if find /proc/[0-9]*/ns/net /proc/[0-9]*/fd -maxdepth 1 -lname "$ns" 2>/dev/null | grep -q .; then
    fail "namespace $ns of the dead cell is still referenced"
  fi
done
echo "after killing runner $runner: its cell, its peer and $(echo "$cell_namespaces" | grep -c net: || true) namespaces are gone"
left_dirs=$( (compgen -G "/tmp/coapmx-${lane_runner}x*" || true) | wc -l)
[ "$left_dirs" -ge 1 ] || fail "expected the dead runner's scratch directory to remain until reaped"
"$selfcheck" run --transport mutant-crashes --exact mutant-crashes/N1-hostinfo-v4/v4@swrap \
  --report "$work/reap" --quiet >/dev/null || true
! compgen -G "/tmp/coapmx-${lane_runner}x*" >/dev/null || fail "scratch dirs of the dead runner were not reaped"
[ "$(ip -o link show 2>/dev/null | grep -c ' cmx-')" -eq 0 ] || fail "a veth of ours is left in the root namespace"
! ls /run/netns 2>/dev/null | grep -q '^cmx' || fail "a named namespace of ours is left"
echo "the next run reaped everything the dead runner left"
