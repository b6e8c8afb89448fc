#!/usr/bin/env bash
# The web pages' server time on the benchmark's data (issue 21): `bash bench/pages.sh`.
#
# Uses bench/run.sh's steps: the release build, a throwaway PostgreSQL cluster with durable
# settings, the same seed (clients, an API key, a service account, JWT credentials) and its
# settle step, which leaves BENCH_LIVE_ROWS live issuance records (2.5 million by default, as
# bench/run.sh's runs have) in the current hour. Then signs in to the portal (the benchmark's ES256 client) and to the console
# (the admin token) and requests every page PAGES_REQUESTS times, one at a time, printing each
# page's status and time to first byte (p50, p95, max): on loopback that is the server's time
# plus well under 0.1 ms.
#
# Settings (environment): PAGES_REQUESTS=50, and bench/run.sh's BENCH_LIVE_ROWS, BENCH_PREFILL_ROWS
# and PG_BIN.
set -euo pipefail

# shellcheck source=bench/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
PAGES_REQUESTS="${PAGES_REQUESTS:-50}"


# Prints one line per page: the path, the statuses seen, p50, p95 and max in ms.
time_pages() {
  local jar=$1 page i
  shift
  for page in "$@"; do
    for ((i = 0; i < PAGES_REQUESTS; i++)); do
      curl -s -o /dev/null -b "$jar" -w '%{time_starttransfer} %{http_code}\n' "$BASE_URL$page"
    done | python3 -c '
import statistics, sys
page = sys.argv[1]
rows = [line.split() for line in sys.stdin if line.strip()]
ms = sorted(float(seconds) * 1000 for seconds, _ in rows)
codes = ",".join(sorted({code for _, code in rows}))
p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
print(f"| `{page}` | {codes} | {statistics.median(ms):.2f} | {p95:.2f} | {ms[-1]:.2f} |")
' "$page"
  done
}

pages_main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_release
  ensure_tools
  WORK="$(mktemp -d /tmp/tokenmint-pages.XXXXXX)"
  cd "$WORK"
  BACKEND=postgres BACKEND_NAME=PostgreSQL
  start_postgres
  serve_seeded
  settle_postgres
  curl -fs -o /dev/null -c portal.jar -H "Origin: $BASE_URL" --data-urlencode "client_id=$ES_ID" \
    --data-urlencode "client_secret=$ES_SECRET" "$BASE_URL/portal/sign-in" \
    || die "could not sign in to the portal"
  curl -fs -o /dev/null -c console.jar -H "Origin: $BASE_URL" \
    --data-urlencode "admin_token=$TOKENMINT_ADMIN_TOKEN" "$BASE_URL/console/sign-in" \
    || die "could not sign in to the console"
  local records
  records="$("$PG_BIN_DIR/psql" -X -A -t -d "$DATABASE_URL" -c 'select count(*) from issuances')"
  log "timing each page $PAGES_REQUESTS times; $records issuance records kept"
  echo "| page | status | p50 ms | p95 ms | max ms |"
  echo "| --- | --- | ---: | ---: | ---: |"
  time_pages portal.jar / /portal /portal/credentials /portal/credentials/new /portal/access \
    /portal/notifications
  time_pages console.jar /console/clients "/console/clients?q=bench" /console/clients/new \
    "/console/clients/$ES_ID" /console/access-requests /console/service-accounts \
    /console/trust-policies /console/keys \
    /console/issuances "/console/issuances?scheme=auth_jwt" "/console/issuances?client_id=$ES_ID"
}

pages_main "$@"
