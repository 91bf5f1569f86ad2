#!/usr/bin/env bash
# Installs the terminal of the CLI tests (tests/cli: a person at a real terminal):
# Debian's tmux, only when missing. Nothing is downloaded outside apt.
set -euo pipefail
if ! command -v tmux >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends tmux
fi
