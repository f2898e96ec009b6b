#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium (never a downloaded browser) and
# playwright-core from npm, next to the tests that drive it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
fi
if [ ! -d tests/Edge.Tests/Browser/node_modules/playwright-core ]; then
  (cd tests/Edge.Tests/Browser && npm ci --no-audit --no-fund >&2)
fi
# The first start of a fresh chromium builds its caches (fonts); do it here, not inside a test's timeout.
timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --dump-dom about:blank >/dev/null 2>&1 || true
