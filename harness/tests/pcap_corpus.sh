#!/usr/bin/env bash
# The hostile and odd captures of fixtures/pcap: `coapmx pcap` prints each exactly as
# fixtures/pcap/expected/NAME.txt says (stdout, stderr and exit status), every --json line is
# JSON, and tshark decodes the same CoAP messages, except where fixtures/pcap/tshark-differs.tsv
# says why not. `pcap_corpus.sh COAPMX --update` rewrites the expected files (read the diff).
set -uo pipefail
coapmx=$(realpath "$1")
update=${2:-}
corpus=$(cd "$(dirname "$0")/../../fixtures/pcap" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run NAME CAPTURE ARGS...: one run, compared with (or written to) expected/NAME.txt
run() {
  local name=$1 capture=$2
  shift 2
  local got="$work/$name.txt" rc=0
  (cd "$corpus" && "$coapmx" pcap "$@" "$capture" >"$work/out" 2>"$work/err") || rc=$?
  { cat "$work/out"; echo "--- stderr"; cat "$work/err"; echo "--- exit $rc"; } >"$got"
  if [ "$update" = --update ]; then
    cp "$got" "$corpus/expected/$name.txt"
  elif ! diff -u "$corpus/expected/$name.txt" "$got" >"$work/diff"; then
    fail "$name: output differs from expected/$name.txt"
    head -40 "$work/diff"
  fi
  if [[ " $* " == *" --json "* ]]; then cp "$work/out" "$work/$name.jsonl"; fi
}

captures=$(cd "$corpus" && ls ./*.pcap ./*.pcapng | sed 's|^\./||')
for capture in $captures; do
  run "${capture%.*}$([ "${capture##*.}" = pcapng ] && echo .pcapng)" "$capture"
  "$coapmx" pcap --json "$corpus/$capture" >"$work/$capture.jsonl" 2>/dev/null
  "$coapmx" pcap --svg "$corpus/$capture" >"$work/$capture.svg" 2>/dev/null
done
while IFS=$'\t' read -r name capture args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  # shellcheck disable=SC2086 # the arguments are words
  run "$name" "$capture" $args
done <"$corpus/variants.tsv"

# Every --json output is JSON, line by line (one interpreter for all: each start costs).
python3 -c 'import json, sys
bad = 0
for path in sys.argv[1:]:
    for n, line in enumerate(open(path), 1):
        try:
            json.loads(line)
        except ValueError as e:
            print("FAIL: %s line %d is not JSON: %s" % (path.rsplit("/", 1)[-1], n, e))
            bad += 1
sys.exit(bad > 0)' "$work"/*.jsonl || failures=$((failures + 1))
# Every --svg output is well-formed XML whose root is an <svg> (or empty: no capture at all).
python3 -c 'import sys, xml.dom.minidom
bad = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    if not text:
        continue
    try:
        root = xml.dom.minidom.parseString(text).documentElement
        assert root.tagName == "svg", root.tagName
    except Exception as e:
        print("FAIL: %s is not an SVG document: %s" % (path.rsplit("/", 1)[-1], e))
        bad += 1
sys.exit(bad > 0)' "$work"/*.svg || failures=$((failures + 1))

# Input that is no capture at all: exit 2 with a message, nothing on stdout.
printf 'this is not a capture\n' >"$work/garbage"
for bad in "$work/garbage" "$work/missing.pcap" /dev/null; do
  rc=0
  "$coapmx" pcap "$bad" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] || fail "$bad: exit $rc, expected 2"
  [ -s "$work/out" ] && fail "$bad: printed on stdout"
  grep -q "coapmx pcap: $bad: " "$work/err" || fail "$bad: no message naming the file"
done
for args in "--port 0" "--port x" "--nope" ""; do
  rc=0
  # shellcheck disable=SC2086
  "$coapmx" pcap $args "$corpus/empty.pcap" $([ -z "$args" ] && echo "$corpus/empty.pcap") \
    >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "coapmx pcap $args: exit $rc, expected 2"
done

# tshark: the same CoAP messages (MIDs in order) and the same number of frames.
if command -v tshark >/dev/null; then
  for capture in $captures; do
    ours=$("$coapmx" pcap "$corpus/$capture" 2>/dev/null | grep -o 'mid=0x[0-9a-f]*' | cut -d= -f2 | tr '\n' ' ')
    # one line per frame: its number, then the MIDs it carries (an ICMP error quotes one)
    tshark -r "$corpus/$capture" -T fields -e frame.number -e coap.mid 2>/dev/null >"$work/tshark"
    theirs=$(cut -f2 "$work/tshark" | tr ',' '\n' | grep . | xargs -r -n1 printf '0x%04x ')
    frames=$("$coapmx" pcap "$corpus/$capture" 2>/dev/null | sed -n 's/^summary: \([0-9]*\) frames.*/\1/p')
    tshark_frames=$(wc -l <"$work/tshark")
    [ "$frames" = "$tshark_frames" ] || fail "$capture: $frames frames, tshark reads $tshark_frames"
    if grep -q "^$capture	" "$corpus/tshark-differs.tsv"; then
      [ "$ours" != "$theirs" ] || fail "$capture: now agrees with tshark; take it out of tshark-differs.tsv"
    elif [ "$ours" != "$theirs" ]; then
      fail "$capture: CoAP MIDs differ from tshark's"
      echo "  coapmx: $ours"
      echo "  tshark: $theirs"
    fi
  done
else
  echo "tshark not installed: the cross-check with tshark did not run"
fi

total=$(find "$corpus/expected" -name '*.txt' | wc -l)
[ "$update" = --update ] || [ "$(ls "$work"/*.txt | wc -l)" = "$total" ] ||
  fail "expected/ holds $total files, this run made $(ls "$work"/*.txt | wc -l): remove stale ones"
[ $failures = 0 ] && echo "pcap corpus: $(echo "$captures" | wc -w) captures, $total runs, as expected"
exit $((failures > 0))
