#!/usr/bin/env bash
# Installs what `make demo` needs beyond Python packages: Debian's dbus-daemon, for the
# private session bus of its brokered sign-in step. Only when missing; apt only.
set -euo pipefail
if [ ! -x /usr/bin/dbus-daemon ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dbus-daemon
fi
