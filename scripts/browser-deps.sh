#!/usr/bin/env bash
# Installs the real browser of the browser tests (tests/browser): Debian's chromium and
# its matching chromedriver, only when missing. Nothing is downloaded outside apt.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
