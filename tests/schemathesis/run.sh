#!/usr/bin/env bash
# Schemathesis against the running service (issue 6, point 3): the OpenAPI document the service
# serves drives generated requests, valid and invalid, at every operation; the run fails on any
# 5xx, any response that does not match its documented schema and any undocumented status code.
#
# Installs schemathesis (pinned) into target/tmp/schemathesis-venv when missing, builds the debug
# binary, starts it in sandbox mode on a fresh SQLite database in a temporary folder (so the demo
# client, API key and service account exist), authenticates each security scheme of the document
# (admin token, the demo client's Basic credentials, a demo access token) through
# tests/schemathesis/schemathesis.toml, and stops the service on exit.
#
# Settings (environment): SCHEMATHESIS_MAX_TIME (seconds, default 90), SCHEMATHESIS_MAX_EXAMPLES
# (per operation, default 30), SCHEMATHESIS_SEED (default: random; printed for reproduction).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/schemathesis"
VERSION="4.32.5"
VENV="$ROOT/target/tmp/schemathesis-venv"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-90}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-30}"
SEED="${SCHEMATHESIS_SEED:-$RANDOM}"

log() { printf '==> %s\n' "$*" >&2; }

if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"$VERSION"* ]]; then
  log "installing schemathesis $VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" </dev/null
fi

log "building the service"
cargo build --locked --quiet --bin tokenmint

WORK="$(mktemp -d)"
SERVICE_PID=""
cleanup() {
  if [[ -n "$SERVICE_PID" ]]; then
    kill "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
export ADMIN_TOKEN="schemathesis-admin-token-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
log "starting the service at $URL (log: kept only on failure)"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  TOKENMINT_CONFIG_DIR="$ROOT/config" \
  DATABASE_URL="sqlite://$WORK/tokenmint.db" \
  TOKENMINT__SANDBOX__DATA_DIR="$WORK/data" \
  TOKENMINT_MODE=sandbox \
  TOKENMINT_LISTEN="127.0.0.1:$PORT" \
  TOKENMINT_ADMIN_TOKEN="$ADMIN_TOKEN" \
  RUST_LOG=warn \
  "$ROOT/target/debug/tokenmint" serve >"$WORK/service.log" 2>&1 </dev/null &
SERVICE_PID=$!
# HTTP through Python's standard library (no curl needed): `fetch URL [NAME:VALUE]...` prints the
# response's Authorization header, failing unless the status is 200.
fetch() {
  python3 - "$@" <<'PY'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1])
for header in sys.argv[2:]:
    name, value = header.split(":", 1)
    request.add_header(name, value.strip())
with urllib.request.urlopen(request, timeout=10) as response:
    print(response.headers.get("Authorization", ""))
PY
}
for _ in $(seq 1 600); do
  fetch "$URL/healthz" >/dev/null 2>&1 && [[ -s "$WORK/data/demo.env" ]] && break
  if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    cat "$WORK/service.log" >&2
    echo "the service exited during start-up" >&2
    exit 1
  fi
  sleep 0.2
done
fetch "$URL/healthz" >/dev/null

# The demo client's credentials and a token of it, for the client_secret_basic scheme and the
# three access_token ones.
CLIENT_ID="$(sed -n 's/^CLIENT_ID=//p' "$WORK/data/demo.env")"
CLIENT_SECRET="$(sed -n 's/^CLIENT_SECRET=//p' "$WORK/data/demo.env")"
ACCESS_TOKEN="$(fetch "$URL/auth/jwt" "client-id: $CLIENT_ID" "client-secret: $CLIENT_SECRET")"
ACCESS_TOKEN="${ACCESS_TOKEN#Bearer }"
[[ -n "$ACCESS_TOKEN" ]] || { echo "could not get a demo access token" >&2; exit 1; }
export CLIENT_ID CLIENT_SECRET ACCESS_TOKEN

log "schemathesis run: at most ${MAX_TIME}s, ${MAX_EXAMPLES} examples per operation, seed $SEED"
status=0
# Its cache (.schemathesis/) goes under target/, not into the source tree.
mkdir -p "$ROOT/target/tmp/schemathesis-run"
cd "$ROOT/target/tmp/schemathesis-run"
"$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$URL/openapi.json" \
  --url "$URL" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance \
  --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED" \
  --workers 2 --request-timeout 30 --no-color --output-truncate true \
  </dev/null || status=$?
if [[ "$status" != 0 ]]; then
  echo "---- service log (last 50 lines) ----" >&2
  tail -n 50 "$WORK/service.log" >&2
fi
exit "$status"
