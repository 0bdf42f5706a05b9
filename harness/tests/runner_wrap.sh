#!/usr/bin/env bash
# `coapmx run --wrap CMD` runs each cell under CMD, and a cell that reports pass but then exits
# with the checkers' code 99 (a sanitizer's leak report, valgrind's error exit) is an error.
set -euo pipefail
if [ "${1:-}" = --as-checker ]; then
  # The wrapper: runs the cell, then fails the way valgrind does after a clean-looking run.
  shift
  "$@" || true
  exit 99
fi
coapmx=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cell=simple6/S1-sockets-at-open/v4@swrap
"$coapmx" run --exact "$cell" --report "$work/plain" --quiet
rc=0
out=$("$coapmx" run --exact "$cell" --report "$work/wrapped" --wrap "$0 --as-checker") || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || { echo "expected exit code 1, got $rc"; exit 1; }
grep -q "exited with code 99 after reporting pass" <<<"$out"
