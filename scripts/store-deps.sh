#!/usr/bin/env bash
# Installs the real servers of the store tests (tests/stores): Debian's redis-server, and
# a D-Bus session bus with gnome-keyring for the Secret Service, only when missing.
# Nothing is downloaded outside apt.
set -euo pipefail
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/dbus-daemon ] || need+=(dbus-daemon)
[ -x /usr/bin/gnome-keyring-daemon ] || need+=(gnome-keyring)
[ -x /usr/bin/secret-tool ] || need+=(libsecret-tools)  # libsecret itself, as the oracle
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
