#!/usr/bin/env bash
# A cell's kept capture must decode as CoAP in tshark, datagram for datagram as `coapmx pcap`
# reads it (same MIDs in the same order): our captures are for Wireshark users too.
set -euo pipefail
coapmx=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cell=simple6/S3-same-authority-reuse/v4@swrap
"$coapmx" run --exact "$cell" --keep-pcaps --quiet --report "$work" >/dev/null
pcap=$(find "$work/cells" -name '*_swrap.pcap')
ours=$("$coapmx" pcap "$pcap" | grep -o 'mid=0x[0-9a-f]*' | cut -d= -f2)
theirs=$(tshark -r "$pcap" -Y coap -T fields -e coap.mid 2>/dev/null | xargs -n1 printf '0x%04x\n')
echo "coapmx pcap: $(echo $ours)"
echo "tshark:      $(echo $theirs)"
[ "$(echo "$ours" | wc -l)" -ge 4 ] || { echo "expected at least 4 CoAP datagrams"; exit 1; }
[ "$ours" = "$theirs" ] || { echo "tshark and coapmx pcap disagree"; exit 1; }
