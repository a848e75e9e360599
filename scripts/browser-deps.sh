#!/usr/bin/env bash
# Installs what the browser tests need, idempotently: Debian's Chromium and the npm packages in
# tests/browser (playwright-core only; it never downloads a browser of its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '[browser-deps] %s\n' "$*" >&2; }

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  say "installing Debian chromium"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
fi

cd "$root/tests/browser"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
fi
