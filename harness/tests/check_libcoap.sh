#!/usr/bin/env bash
# `coapmx check` on a real exchange: libcoap's coap-client against its coap-server (-d: dynamic
# resources, created by PUT), on socket_wrapper, captured by socket_wrapper. The verdicts are
# libcoap's own (Debian 12's 4.3.1), declared below with why: a change in libcoap or in the
# checker shows up here as a verdict that moved.
#   check_libcoap.sh COAPMX LIBSOCKET_WRAPPER.so [KEEP_DIR]
set -euo pipefail
coapmx=$(realpath "$1")
swrap=$2
keep=${3:-}
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/swrap"
export SOCKET_WRAPPER_DIR=$work/swrap

mkfifo "$work/server.log"
LD_PRELOAD=$swrap SOCKET_WRAPPER_DEFAULT_IFACE=10 \
  coap-server-notls -A 127.0.0.10 -p 5683 -d 20 -v 7 >"$work/server.log" 2>&1 &
pids+=($!)
exec 3<"$work/server.log"
ready=false
while IFS= read -r -t 5 line <&3; do
  [[ "$line" == *"created UDP  endpoint 127.0.0.10:5683"* ]] && { ready=true; break; }
done
$ready || { echo "coap-server did not come up"; exit 1; }
# keep draining the server's log so that it never blocks on a full FIFO
cat <&3 >/dev/null &
pids+=($!)

client() {
  LD_PRELOAD=$swrap SOCKET_WRAPPER_DEFAULT_IFACE=20 SOCKET_WRAPPER_PCAP_FILE=$work/libcoap.pcap \
    timeout 20 coap-client-notls -B 10 "$@" >/dev/null
}
head -c 300 /dev/zero | tr '\0' L >"$work/large.txt"
client -m put -t 0 -e hello coap://127.0.0.10/test               # CORE_03: creates /test
client -m get coap://127.0.0.10/test                             # CORE_01, CORE_10
client -m get -N coap://127.0.0.10/test                          # CORE_05
client -m put -t 0 -e small coap://127.0.0.10/large-update       # (creates it)
client -m put -t 0 -b 64 -f "$work/large.txt" coap://127.0.0.10/large-update # BLOCK_03
client -m put -t 0 -b 64 -f "$work/large.txt" coap://127.0.0.10/large        # (creates it)
client -m get -b 64 coap://127.0.0.10/large                      # BLOCK_01
client -m get coap://127.0.0.10/large                            # BLOCK_02
client -m delete coap://127.0.0.10/test                          # CORE_02
[ -n "$keep" ] && cp "$work/libcoap.pcap" "$keep/"

rc=0
"$coapmx" check "$work/libcoap.pcap" >"$work/verdicts" || rc=$?
cat "$work/verdicts"
got=$(grep -E '^TD_' "$work/verdicts" | awk '{ print $1, $2 }' | sort -u)
# libcoap 4.3.1's dynamic resources answer GET without a Content-Format (CORE_01/05/10 step 3);
# its last 2.04 of a Block1 upload carries no Block1 option (BLOCK_03, final step); it sends
# 300 bytes whole when not asked for blocks (BLOCK_02 cannot start).
want=$(sort <<'VERDICTS'
TD_COAP_BLOCK_01 PASS
TD_COAP_BLOCK_02 INCONCLUSIVE
TD_COAP_BLOCK_03 FAIL
TD_COAP_CORE_01 FAIL
TD_COAP_CORE_02 PASS
TD_COAP_CORE_03 PASS
TD_COAP_CORE_05 FAIL
TD_COAP_CORE_10 FAIL
VERDICTS
)
if [ "$got" != "$want" ]; then
  echo "FAIL: the verdicts on libcoap's capture moved"
  diff <(echo "$want") <(echo "$got") || true
  exit 1
fi
[ "$rc" = 1 ] || { echo "FAIL: exit $rc with failed TDs, expected 1"; exit 1; }
echo "libcoap client <-> server: verdicts as declared"
