#!/usr/bin/env bash
# Regenerates the web pages' screenshots (shown in the README and docs/portal-and-console.md)
# from their browser test: runs tests/api/web_browser.rs (the real router, Debian's Chromium, the same checks as `cargo test`),
# then copies the pages it saved under target/tmp/web-pages/<latest run>/ into docs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo test --locked --test api web_browser
run="$(ls -td target/tmp/web-pages/run-* | head -n 1)"
for page in landing portal-credentials portal-access flow-2-console flow-4-generated console-issuances; do
  cp "$run/$page.png" "docs/$page.png"
  echo "docs/$page.png"
done
