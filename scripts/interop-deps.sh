#!/usr/bin/env bash
# Installs the npm packages of the interop OpenID provider (node-oidc-provider).
set -euo pipefail
cd "$(dirname "$0")/../tests/interop/provider"
if [ ! -d node_modules/oidc-provider ] || [ package.json -nt node_modules/.stamp ]; then
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.stamp
fi
