#!/usr/bin/env bash
# Installs the real servers of the store tests (tests/stores): Debian's redis-server, and
# a D-Bus session bus with gnome-keyring for the Secret Service, only when missing; and
# PyGObject with libsecret's typelib for Debian's python3, in which the tests run
# msal-extensions' own LibsecretPersistence (no compiler, no PyPI build).
# Nothing is downloaded outside apt.
set -euo pipefail
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/dbus-daemon ] || need+=(dbus-daemon)
[ -x /usr/bin/gnome-keyring-daemon ] || need+=(gnome-keyring)
[ -x /usr/bin/secret-tool ] || need+=(libsecret-tools)  # libsecret itself, as the oracle
/usr/bin/python3 -c 'import gi; gi.require_version("Secret", "1")' 2>/dev/null \
  || need+=(python3-gi gir1.2-secret-1)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
