#!/usr/bin/env bash
# `coapmx check` gives every capture of fixtures/check the verdicts fixtures/check/expected.tsv
# declares (for each TD it matches, and matches no other TD), with exit status 1 exactly when one
# fails; every TD it knows has a PASS and a FAIL capture; input that is no capture exits 2.
set -uo pipefail
coapmx=$(realpath "$1")
dir=$(cd "$(dirname "$0")/../../fixtures/check" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
checked=0
for pcap in "$dir"/*.pcap; do
  name=${pcap##*/}
  rc=0
  "$coapmx" check "$pcap" >"$work/out" 2>"$work/err" || rc=$?
  grep -E '^TD_' "$work/out" | awk '{ print $1 "\t" $2 }' | sort >"$work/got"
  awk -F'\t' -v n="$name" '$1 == n { print $2 "\t" $3 }' "$dir/expected.tsv" | sort >"$work/want"
  if ! diff -u "$work/want" "$work/got" >"$work/diff"; then
    fail "$name: verdicts differ from expected.tsv"
    sed -n '3,$p' "$work/diff"
    cat "$work/out"
  fi
  want_rc=$(grep -q $'\tFAIL$' "$work/want" && echo 1 || echo 0)
  [ "$rc" = "$want_rc" ] || fail "$name: exit $rc, expected $want_rc"
  checked=$((checked + 1))
done
# Every TD has a capture that passes it and one that fails it.
for td in $("$coapmx" check --list | awk '{ print $1 }'); do
  for verdict in PASS FAIL; do
    grep -q $'\t'"$td"$'\t'"$verdict"'$' "$dir/expected.tsv" || fail "$td has no $verdict capture"
  done
done
# One of our own cells: simple6 pings the peer (L3), which answers with an RST.
"$coapmx" run --exact 'simple6/L3-ping/v4@swrap' --keep-pcaps --quiet --report "$work/cell" >/dev/null ||
  fail "the L3-ping cell failed"
cell_pcap=$(find "$work/cell/cells" -name '*_swrap.pcap' ! -name '*.local.pcap' | head -1)
verdict=$("$coapmx" check "$cell_pcap" | awk '/^TD_/ { print $1, $2 }' | sort -u)
[ "$verdict" = "TD_COAP_CORE_31 PASS" ] || fail "our L3-ping cell's capture: '$verdict', expected TD_COAP_CORE_31 PASS"

printf 'not a capture\n' >"$work/garbage"
for bad in "$work/garbage" "$work/missing.pcap"; do
  rc=0
  "$coapmx" check "$bad" >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "$bad: exit $rc, expected 2"
done
[ $failures = 0 ] && echo "coapmx check: $checked captures, every verdict as expected"
exit $((failures > 0))
