#!/usr/bin/env bash
# `coapmx run --cells FILE` runs exactly the cells FILE names (scripts/mutate: those that reach a
# mutated line), and a name the matrix lacks, an empty list or a missing file is refused by name.
set -euo pipefail
coapmx=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' '# two cells, one of them also matched by a substring of another IUT' \
  simple6/L1-retransmission/v4@swrap '' udp6/L3-ping/v6@swrap >"$work/cells"
"$coapmx" run --cells "$work/cells" --report "$work/run" --quiet
ran=$(awk -F'\t' '$1 == "cell" { print $2 }' "$work/run/cells.tsv" | sort | tr '\n' ' ')
[ "$ran" = "simple6/L1-retransmission/v4@swrap udp6/L3-ping/v6@swrap " ] ||
  { echo "ran: $ran"; exit 1; }
refused() { # MESSAGE ARGS...: exit code 2 and the message
  local want=$1 rc=0 out
  shift
  out=$("$coapmx" run "$@" --report "$work/refused" 2>&1) || rc=$?
  [ "$rc" -eq 2 ] && grep -qF -- "$want" <<<"$out" || { echo "rc $rc, said: $out"; exit 1; }
}
printf 'simple6/L1-no-such-row/v4@swrap\n' >"$work/unknown"
refused "names a cell the matrix does not have: simple6/L1-no-such-row/v4@swrap" \
  --cells "$work/unknown"
refused "names a cell the matrix does not have on the lane chosen: simple6/L1-retransmission/v4@swrap" \
  --cells "$work/cells" --lane netns
: >"$work/empty"
refused "names no cell" --cells "$work/empty"
refused "--cells $work/missing: No such file or directory" --cells "$work/missing"
echo "runner-cells: ok"
