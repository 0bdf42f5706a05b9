#!/usr/bin/env bash
# `coapmx rows --check` must notice a specification that drifted from the scenarios: rows that
# are missing, scenarios named that do not exist, rows that neither name a scenario nor say
# why, and a row listed twice.
set -euo pipefail
coapmx=$1
fixtures=$(dirname "$0")/../../fixtures/spec
out=$(mktemp)
trap 'rm -f "$out"' EXIT

expect() { grep -qF -- "$1" "$out" || { echo "missing: $1"; cat "$out"; exit 1; }; }

rc=0
"$coapmx" rows --check --spec "$fixtures/drifted.md" >"$out" 2>&1 || rc=$?
expect "row L1 is listed twice"
[ "$rc" -eq 2 ] || { echo "exit $rc for a row listed twice, expected 2"; cat "$out"; exit 1; }

sed '$d' "$fixtures/drifted.md" >"$out.md"
trap 'rm -f "$out" "$out.md"' EXIT
rc=0
"$coapmx" rows --check --spec "$out.md" >"$out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { echo "exit $rc for a drifted specification, expected 1"; cat "$out"; exit 1; }
expect "scenario R2-role-reversal: its row R2 is not in the specification"
expect "row N3 (line 6) names N3-no-such-scenario, which is no scenario"
expect "row E3 (line 7) names no scenario and does not say why"
expect "row E4 (line 8) names no scenario and does not say why"
expect "row E4 (line 8) does not list its scenario E4-oversize-datagram"
expect "disagreements between"
echo "the drift check found every planted disagreement"
