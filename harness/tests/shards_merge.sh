#!/usr/bin/env bash
# A run split into 4 shards (run --shard K/4) and merged (report --merge) gives the report the
# unsplit run gives, cell for cell: every cell once, with the same outcome, reason and
# observed values, and the same lane agreement. Cells whose lanes disagree are among them.
set -euo pipefail
coapmx=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Our transports' cells only: on the virtual clock they repeat exactly, which a third-party
# stack's cells on the real clock do not (how many retransmissions fit a wait varies).
filters=()
for iut in simple6 udp6 simplesocketserver; do
  for row in R3- E1- N1- S6- F7-; do filters+=("$iut/$row*"); done
done

"$coapmx" run "${filters[@]}" --report "$work/whole" --quiet >/dev/null
for k in 1 2 3 4; do
  "$coapmx" run "${filters[@]}" --shard "$k/4" --report "$work/shard$k" --quiet >/dev/null
done
"$coapmx" report --merge "$work"/shard1 "$work"/shard2 "$work"/shard3 "$work"/shard4 \
  --report "$work/merged"

# name, status, reason, observed: everything but times and artefact paths
cells() { awk -F'\t' '$1 == "cell" { print $2 "\t" $8 "\t" $9 "\t" $10 }' "$1/cells.tsv"; }
total=$(cells "$work/whole" | wc -l)
[ "$total" -gt 30 ] || fail "only $total cells selected"
diff <(cells "$work/whole") <(cells "$work/merged") || fail "merged shards differ from the whole run"
split=0
for k in 1 2 3 4; do split=$((split + $(cells "$work/shard$k" | wc -l))); done
[ "$split" -eq "$total" ] || fail "the shards ran $split cells, the whole run $total"
agreement() { sed -n '/^## Lane agreement/,/^## Skipped/p' "$1/summary.md"; }
diff <(agreement "$work/whole") <(agreement "$work/merged") || fail "lane agreement differs"
grep -q "differ;" "$work/merged/summary.md" || fail "no disagreeing lanes among the cells"
diff <(grep -o 'testcase name="[^"]*"' "$work/whole/junit.xml" | sort) \
  <(grep -o 'testcase name="[^"]*"' "$work/merged/junit.xml" | sort) || fail "junit.xml differs"

# Merging a shard twice, or a directory without a report, is an error that says so.
if "$coapmx" report --merge "$work"/shard1 "$work"/shard1 --report "$work/twice" 2>"$work/err"; then
  fail "a shard merged twice was accepted"
fi
grep -q "is in two of the reports" "$work/err" || fail "unclear error: $(cat "$work/err")"
if "$coapmx" report --merge "$work"/nothing --report "$work/none" 2>"$work/err"; then
  fail "a missing report was accepted"
fi
grep -q "cells.tsv" "$work/err" || fail "unclear error: $(cat "$work/err")"
echo "4 shards merged: $total cells, the same as the whole run"
