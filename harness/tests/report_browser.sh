#!/usr/bin/env bash
# report/index.html in a real browser: a report with failed cells (a deliberately wrong
# transport, beside a right one), opened in Debian's headless Chromium by
# harness/tests/browser/report_browser.js. The page and its screenshot stay in
# build/report-browser/ for CI to publish.
set -euo pipefail
selfcheck=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
# A machine without them skips, saying so (exit 77); scripts/setup installs both.
[ -x /usr/bin/chromium ] || { echo "skip: /usr/bin/chromium is not installed (Debian: chromium)"; exit 77; }
[ -d "$here/browser/node_modules/playwright-core" ] ||
  { echo "skip: playwright-core is not installed (scripts/setup: npm ci in harness/tests/browser)"; exit 77; }
rm -rf "$out"
# mutant-netloc-ip names remotes by IP: it fails N3 and passes the rest (F1, S3 here).
"$selfcheck" run 'mutant-netloc-ip/N3-netloc-name/*@swrap' 'mutant-netloc-ip/F1-*@swrap' \
  'mutant-netloc-ip/S3-*@swrap' --report "$out" --quiet -j 2 >/dev/null || true
[ -s "$out/index.html" ] || { echo "no $out/index.html"; exit 1; }
node "$here/browser/report_browser.js" "$out" /usr/bin/chromium
