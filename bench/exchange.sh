#!/usr/bin/env bash
# Token exchange at POST /oauth/token against /auth/jwt, alternated in one run (issue 22: within
# 25% with the issuer's keys cached): `bash bench/exchange.sh`.
#
# bench/run.sh's PostgreSQL, seed and settle step, with one difference: the service runs in
# sandbox mode, the only mode that accepts an issuer on loopback http (production wants https to
# a public address). bench/issuer.mjs is that issuer: an ES256 key, discovery and JWKS, and one
# Kubernetes-shaped subject token, which every request exchanges (a subject token is not single
# use). A trust policy names it for the benchmark's ES256 client. Then /auth/jwt and the exchange
# run BENCH_SECONDS each at c=32, three times alternated, and the ratio of each pair is printed.
#
# Settings (environment): BENCH_SECONDS=15, EXCHANGE_ROUNDS=3, and bench/run.sh's PG_BIN,
# BENCH_LIVE_ROWS, BENCH_PREFILL_ROWS.
set -euo pipefail

# shellcheck source=bench/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
BENCH_SECONDS="${BENCH_SECONDS_EXCHANGE:-15}"
BENCH_CONCURRENCY=32
BENCH_ROUTES="auth_jwt token_exchange"
EXCHANGE_ROUNDS="${EXCHANGE_ROUNDS:-3}"
ISSUER_PID=""

exchange_main() {
  trap 'kill "$ISSUER_PID" 2>/dev/null; cleanup' EXIT
  trap 'exit 130' INT TERM
  build_release
  ensure_tools
  ensure_load_generator
  command -v node >/dev/null || die "node is needed for bench/issuer.mjs"
  WORK="$(mktemp -d /tmp/tokenmint-exchange.XXXXXX)"
  cd "$WORK"
  BACKEND=postgres BACKEND_NAME=PostgreSQL
  ROWS=() RUN_PEAK_KB=0 CEILING=0
  start_postgres
  configure_service
  export TOKENMINT_MODE=sandbox
  tm migrate >/dev/null
  seed_with_cli
  start_service
  seed_with_http

  local port audience=tokenmint-bench subject=system:serviceaccount:bench:worker
  port="$(free_port)"
  PORT="$port" TOKEN_FILE="$WORK/subject.jwt" AUDIENCE="$audience" SUBJECT="$subject" \
    node "$ROOT/bench/issuer.mjs" >"$WORK/issuer.log" 2>&1 &
  ISSUER_PID=$!
  for _ in $(seq 1 100); do [[ -s "$WORK/subject.jwt" ]] && break; sleep 0.05; done
  [[ -s "$WORK/subject.jwt" ]] || die "the local issuer did not start: $(cat "$WORK/issuer.log")"
  jq -n --arg client "$ES_ID" --arg issuer "http://127.0.0.1:$port" --arg aud "$audience" \
    --arg sub "$subject" '{client_id: $client, issuer: $issuer, audience: $aud, subject: $sub,
      scopes: ["programs:read"], max_ttl_minutes: 60}' >"$WORK/policy.json"
  api -H "Authorization: Bearer $TOKENMINT_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$WORK/policy.json" "$BASE_URL/admin/trust-policies" >/dev/null
  printf 'grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Atoken-exchange&subject_token_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Atoken-type%%3Ajwt&subject_token=%s' \
    "$(cat "$WORK/subject.jwt")" >"$WORK/exchange.form"
  check_routes
  settle_postgres

  measure healthz 32
  local round jwt_rate
  for ((round = 1; round <= EXCHANGE_ROUNDS; round++)); do
    measure auth_jwt 32
    jwt_rate="${ROWS[-1]#*|*|}"
    jwt_rate="${jwt_rate%%|*}"
    measure token_exchange 32
    local exchange_rate="${ROWS[-1]#*|*|}"
    exchange_rate="${exchange_rate%%|*}"
    log "round $round: token exchange / auth_jwt = $(calc "sprintf(\"%.2f\", $exchange_rate / $jwt_rate)")"
  done
}

exchange_main "$@"
