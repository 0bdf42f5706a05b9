#!/usr/bin/env bash
# The harness judges with its own codec and address helpers (harness/oracle.h): the oracle's
# library defines only renamed symbols, and no harness library calls the stack's codec.c or
# addr.c directly (a function added to codec.h or addr.h but not to oracle.h would).
set -euo pipefail
stack=$1 oracle=$2
shift 2
# (AddressSanitizer adds an __odr_asan.NAME indicator beside each global variable.)
unrenamed=$(nm -g --defined-only "$oracle" | awk 'NF == 3 && $3 !~ /^(__odr_asan\.)?coapmx_oracle_/ { print $3 }')
[ -z "$unrenamed" ] || { echo "not renamed in harness/oracle.h: $unrenamed"; exit 1; }
judged=$(nm -g --defined-only "$stack" |
  awk '/^(codec|addr)\.c\.o:$/ { on = 1; next } /:$/ { on = 0 } on && NF == 3 { print $3 }' | sort -u)
[ -n "$judged" ] || { echo "no symbols of codec.c.o or addr.c.o in $stack"; exit 1; }
# iut_inproc.c.o is exempt: the driver of our transports, it reads requests as their
# application would, with the stack's codec (CMakeLists.txt).
called=$(nm -u "$@" | awk '/:$/ { member = $1 } member != "iut_inproc.c.o:" && NF == 2 { print $2 }' | sort -u)
shared=$(comm -12 <(echo "$judged") <(echo "$called"))
[ -z "$shared" ] || { echo "the harness calls the stack's own (add to harness/oracle.h): $shared"; exit 1; }
echo "oracle: $(nm -g --defined-only "$oracle" | awk 'NF == 3' | wc -l) symbols, all renamed; the harness calls none of the stack's $(echo "$judged" | wc -l)"
