#!/usr/bin/env bash
# Instructions per request: the service's own CPU work per token, counted by valgrind's callgrind
# (issue 5: "measure with the benchmark and perf/valgrind --tool=callgrind"). Unlike tokens/s,
# the count does not move with the machine's other tenants, so two builds can be compared when
# bench/run.sh's figures drift more than the change being measured (BENCHMARKS.md, "Instructions
# per request").
#
# Same throwaway PostgreSQL (durable settings), seed and release build as bench/run.sh, whose
# functions it reuses; no settle step. Starts `tokenmint serve` under callgrind, checks every
# route once (which also fills the verified-credential cache), then for /healthz and each route
# sends INSTR_REQUESTS requests, INSTR_CONCURRENCY at a time (curl --parallel), and reads
# callgrind's instruction count for exactly those requests. Counts the service's user space only:
# not the kernel, PostgreSQL or curl. Group commit batches at most INSTR_CONCURRENCY records, so
# compare figures taken with the same settings.
#
# Settings (environment): INSTR_REQUESTS=2000, INSTR_CONCURRENCY=8, BENCH_ROUTES (as bench/run.sh),
# PG_BIN, INSTR_DUMPS (a directory: keeps each route's callgrind dump there as
# callgrind.out.<route>, for callgrind_annotate). Needs valgrind (installed from Debian's
# packages when missing and running as root). Prints one line per route.
set -euo pipefail

# shellcheck source=bench/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"

INSTR_REQUESTS="${INSTR_REQUESTS:-2000}"
INSTR_CONCURRENCY="${INSTR_CONCURRENCY:-8}"

# A curl config that sends the current route (describe_route) $1 times; sign_in gets a fresh
# assertion per request.
write_requests() {
  local count=$1 file=$2 i assertion
  local -a assertions=()
  if [[ "$LABEL" == *sign_in* ]]; then
    make_assertions "$count" "$WORK/instr-assertions.txt"
    mapfile -t assertions <"$WORK/instr-assertions.txt"
  fi
  : >"$file"
  for ((i = 0; i < count; i++)); do
    {
      echo "url = \"$BASE_URL$URL_PATH\""
      echo "request = \"$METHOD\""
      echo 'output = "/dev/null"'
      echo 'silent'
      echo 'write-out = "%{http_code}\n"'
      local header
      for header in "${HEADERS[@]}"; do [[ "$header" == -H ]] || echo "header = \"$header\""; done
      if [[ -n "$BODY_FILE" ]]; then
        echo "header = \"Content-Type: $CONTENT_TYPE\""
        echo "data-binary = \"@$BODY_FILE\""
      fi
      if ((${#assertions[@]})); then
        assertion="${assertions[$i]}"
        echo "header = \"Content-Type: $CONTENT_TYPE\""
        echo 'data-urlencode = "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer"'
        echo "data-urlencode = \"assertion=$assertion\""
      fi
      if ((i + 1 < count)); then echo next; fi
    } >>"$file"
  done
}

# The file of callgrind's last dump (written after instr-mark was touched).
last_dump() {
  local dump
  dump="$(find "$WORK" -name 'callgrind.out.*' -newer "$WORK/instr-mark" -type f | sort | tail -1)"
  [[ -n "$dump" ]] || die "callgrind wrote no dump"
  echo "$dump"
}

# Sends INSTR_REQUESTS requests to one route and prints its instructions per request.
count_route() {
  local route=$1 ok instructions dump
  describe_route "$route"
  write_requests "$INSTR_REQUESTS" "$WORK/instr-requests.conf"
  callgrind_control --zero "$SERVICE_PID" >/dev/null 2>&1
  ok="$(curl -s --parallel --parallel-immediate --parallel-max "$INSTR_CONCURRENCY" \
    -K "$WORK/instr-requests.conf" 2>/dev/null | grep -c '^2')" || true
  touch "$WORK/instr-mark"
  sleep 0.1
  callgrind_control --dump="$route" "$SERVICE_PID" >/dev/null 2>&1
  dump="$(last_dump)"
  instructions="$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")"
  if [[ -n "${INSTR_DUMPS:-}" ]]; then
    mkdir -p "$INSTR_DUMPS"
    cp "$dump" "$INSTR_DUMPS/callgrind.out.$route"
  fi
  ((ok == INSTR_REQUESTS)) || die "$LABEL: $ok of $INSTR_REQUESTS requests answered 2xx"
  printf '%-34s %12s instructions per request\n' "$LABEL" "$(calc "int($instructions / $ok + 0.5)")"
}

instructions_main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_release
  ensure_tools
  command -v valgrind >/dev/null || apt_install valgrind || die "valgrind is needed (apt-get install valgrind)"
  WORK="$(mktemp -d /tmp/tokenmint-instr.XXXXXX)"
  cd "$WORK"
  BACKEND=postgres
  start_postgres
  # Each dump names every function it mentions (callgrind otherwise names a function only in the
  # first dump that mentions it, and callgrind_annotate cannot read the later dumps alone).
  BENCH_WRAPPER="valgrind --tool=callgrind --compress-strings=no --callgrind-out-file=$WORK/callgrind.out.%p"
  serve_seeded
  log "$INSTR_REQUESTS requests per route, $INSTR_CONCURRENCY at a time, service under callgrind"
  local route
  for route in healthz $BENCH_ROUTES; do
    count_route "$route"
  done
}

instructions_main "$@"
