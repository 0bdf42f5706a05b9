#!/usr/bin/env bash
# The stack talks to a real third-party CoAP implementation (libcoap), in both directions, on
# loopback: coapmx get (each transport) against coap-server, coap-client against coapmx serve.
set -euo pipefail
coapmx=$1
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Reads a server's log through a FIFO until a line contains the pattern, at most 5 s a line.
wait_for_line() {
  local line
  while IFS= read -r -t 5 line <&"$1"; do
    [[ "$line" == *"$2"* ]] && return 0
  done
  echo "gave up waiting for: $2" >&2
  return 1
}

mkfifo "$work/server.log" "$work/coapmx.log"
coap-server-notls -A 127.0.0.1 -p 56831 -v 7 >"$work/server.log" 2>&1 &
pids+=($!)
exec 3<"$work/server.log"
wait_for_line 3 "created UDP  endpoint 127.0.0.1:56831"
for transport in simple6 udp6; do
  out=$("$coapmx" get --transport "$transport" --timeout 5000 coap://127.0.0.1:56831/)
  echo "$transport -> libcoap: $(echo "$out" | head -1)"
  grep -q "^ACK 2.05 from 127.0.0.1:56831" <<<"$out"
  grep -q "test server made with libcoap" <<<"$out"
done

"$coapmx" serve --transport udp6 --port 56830 --for 30 2>"$work/coapmx.log" &
pids+=($!)
exec 4<"$work/coapmx.log"
wait_for_line 4 "serving"
hello=$(coap-client-notls -B 5 -m get coap://127.0.0.1:56830/hello)
whoami=$(coap-client-notls -B 5 -m get coap://127.0.0.1:56830/whoami)
local6=$(coap-client-notls -B 5 -m get 'coap://[::1]:56830/local')
echo "libcoap -> udp6: hello=$hello whoami=$whoami local=$local6"
[ "$hello" = hello ]
# A v4 client reaches the dual-stack socket and is named as a dotted quad, not v4-mapped.
[[ "$whoami" =~ ^127\.0\.0\.1:[0-9]+$ ]]
[ "$local6" = "[::1]:56830" ]
