#!/usr/bin/env bash
# The console in a real browser: starts `laneface serve` (stand-in processor, so it needs no
# models: vehicles are fed through POST /api/vehicles) on a free port, then drives Debian's
# chromium with playwright-core (tests/e2e/console.mjs). Exit 77 (skipped) without chromium
# or playwright-core (scripts/setup installs both). Screenshots: OUT_DIR/*.png.
# Usage: tests/e2e/run_console_e2e.sh LANEFACE_BIN OUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:?usage: run_console_e2e.sh LANEFACE_BIN OUT_DIR}
out=${2:?usage: run_console_e2e.sh LANEFACE_BIN OUT_DIR}
chromium=${LANEFACE_CHROMIUM:-$(command -v chromium || true)}
modules="$root/.cache/e2e/node_modules"
if [ -z "$chromium" ]; then echo "console_e2e: skipped: chromium is not installed (scripts/setup)"; exit 77; fi
if [ ! -d "$modules/playwright-core" ]; then echo "console_e2e: skipped: playwright-core is not in .cache/e2e (scripts/setup)"; exit 77; fi
command -v node >/dev/null || { echo "console_e2e: skipped: node is not installed"; exit 77; }

mkdir -p "$out"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$bin" serve --processor stand-in --port 0 --data-dir "$work/data" \
  --admin-password-file "$work/admin" --web "$root/web" > "$work/serve.out" 2> "$work/serve.log" &
pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -oE 'https?://127\.0\.0\.1:[0-9]+/' "$work/serve.log" | head -n 1 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "console_e2e: serve did not start"; cat "$work/serve.log"; exit 1; }
echo "console_e2e: serving $url"
NODE_PATH="$modules" LANEFACE_URL="$url" LANEFACE_ADMIN_PASSWORD="$(cat "$work/admin")" \
  LANEFACE_CHROMIUM="$chromium" LANEFACE_SHOTS="$out" node "$root/tests/e2e/console.mjs"
