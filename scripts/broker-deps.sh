#!/usr/bin/env bash
# Installs the real peers of the broker tests (tests/broker): Debian's dbus-daemon (a
# session bus of the tests' own) and libwebkit2gtk-4.1-0, without which Microsoft's
# pymsalruntime wheel cannot even be imported on Linux. Only what is missing is
# installed; nothing is downloaded outside apt (pymsalruntime itself comes from PyPI
# through the dev extra).
set -euo pipefail
need=()
[ -x /usr/bin/dbus-daemon ] || need+=(dbus-daemon)
[ -x /usr/bin/gnome-keyring-daemon ] || need+=(gnome-keyring)
ldconfig -p | grep -q 'libwebkit2gtk-4.1.so.0' || need+=(libwebkit2gtk-4.1-0)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
