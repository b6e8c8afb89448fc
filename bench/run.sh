#!/usr/bin/env bash
# tokenmint benchmark (issue 5): one command, `bash bench/run.sh`, documented in BENCHMARKS.md.
#
# Builds the release binary, installs a load generator if missing (wrk from Debian's packages,
# else oha from crates.io), then for each backend (PostgreSQL in a throwaway cluster with durable
# settings, then SQLite in a temporary file):
#   1. `tokenmint migrate`, then seeds through the CLI: an ES256 client with a secret, an RS256
#      client, a production API key, a service account with a self-signed RSA certificate, an
#      API group;
#   2. starts `tokenmint serve` in production mode and records the time to the first 200 of
#      /readyz; seeds through the HTTP API: an access request (HTTP Basic), its approval (admin
#      API), JWT credentials (HTTP Basic); checks every route once;
#   3. PostgreSQL only: brings the tables the token routes write to their steady state (see
#      settle_postgres);
#   4. drives /healthz (the ceiling) and every token route for BENCH_SECONDS at each concurrency,
#      then the peer's token endpoint (below), sampling the service's peak RSS, and prints one
#      table per backend, followed by each token route's ratio to the peer and to /healthz, also
#      written as markdown to bench/results/<date>-<backend>.md.
# The peer (issue 25): node oidc-provider (bench/peer/, npm ci'd into target/bench-peer) issuing
# ES256 JWT access tokens to one client with client_credentials, in memory, started once before
# the runs on the same machine.
# Everything it starts is stopped, and its temporary files removed, on exit. Its functions live in
# bench/lib/, one file per subject (the cluster, the service, the peer, seeding, routes, load,
# the account of each run, the report); this file holds the settings, the globals and the loop.
#
# Settings (environment):
#   BENCH_SECONDS=20            duration of each run
#   BENCH_BACKENDS=postgres,sqlite
#   BENCH_CONCURRENCY="32 128"  connections, one round of runs each
#   BENCH_THREADS=2             load-generator threads
#   BENCH_ROUTES="auth_jwt token_create clients_authorization authtoken sign_in oauth_token"
#                               (healthz always runs first; auth_jwt_rs256 and auth_jwt_quota,
#                               a client whose every token is counted against a quota, are also
#                               available)
#   BENCH_ASSERTION_RATE=3000   sign_in: assertions signed per second of run, times 1.5
#   BENCH_LOADGEN=wrk|oha       force a load generator (default: wrk if it can be had)
#   BENCH_WRAPPER               a command prefix for `tokenmint serve`, for profiling, e.g.
#                               "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out"
#   BENCH_RSS_LIMIT_MB          the service is killed (and restarted for the next run) when its
#                               RSS passes this; default: half of the machine's memory
#   BENCH_PREFILL_ROWS          PostgreSQL: rows written and deleted before the runs so that
#                               new records reuse their space (settle_postgres); default: about
#                               what the runs will write; 0 skips it
#   OPENSSL_ia32cap             passed on to the service like the rest of the environment (aws-lc's
#                               CPU-feature override; ":~0x8" is the tuning docs/operations.md's "Deployment"
#                               describes for AMD EPYC); recorded in the results' command line
#   PG_BIN                      PostgreSQL server binaries (else pg_config --bindir, then
#                               /usr/lib/postgresql/*/bin)
#   BENCH_PEER=auto|1|0         measure the peer too; auto: when node and npm are there (and its
#                               packages install), else skipped with a line saying why
#   BENCH_PEER_WORKERS=1        the peer's processes (node:cluster workers when more than 1)
#   BENCH_DURABLE=1|0|both      0: PostgreSQL with fsync, synchronous_commit and
#                               full_page_writes off, the bound durability is paid against;
#                               both: every token route runs durable, then again with those
#                               three off (reloaded on the same cluster), and the table says
#                               what durability cost
#   BENCH_DURABLE_ROUNDS=1      BENCH_DURABLE=both: pairs of runs (durable, then not) per route;
#                               each pair's ratios are printed, then their medians
#   BENCH_PG_SETTINGS           more PostgreSQL settings, space-separated, for a diagnosis, e.g.
#                               "shared_preload_libraries=pg_stat_statements" (then each run
#                               also prints its statements by total time) or auto_explain's
#   BENCH_WALDUMP=0|1           1: after each PostgreSQL run, `pg_waldump --stats=record` of the
#                               WAL the run wrote (which records, how many bytes, how much of it
#                               full-page images), printed and kept in target/bench-waldump/
# After each run a second table says where the machine's time went: its idle and stolen share,
# the service's and PostgreSQL's CPU per token (from /proc), the rest (load generator, kernel
# threads), and PostgreSQL's commits, WAL bytes and mean WAL flush (pg_stat_wal).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LUA_DIR="$ROOT/bench"
RESULTS_DIR="$ROOT/bench/results"
BIN="$ROOT/target/release/tokenmint"

declare -A DEFAULTS=(
  [BENCH_SECONDS]=20
  [BENCH_BACKENDS]="postgres,sqlite"
  [BENCH_CONCURRENCY]="32 128"
  [BENCH_THREADS]=2
  [BENCH_ROUTES]="auth_jwt token_create clients_authorization authtoken sign_in oauth_token"
  [BENCH_ASSERTION_RATE]=3000
  [BENCH_PREFILL_ROWS]=auto
  [BENCH_LIVE_ROWS]=auto
  [BENCH_PEER]=auto
  [BENCH_PEER_WORKERS]=1
  [BENCH_DURABLE]=1
  [BENCH_WALDUMP]=0
  [BENCH_DURABLE_ROUNDS]=1
)
BENCH_SECONDS="${BENCH_SECONDS:-${DEFAULTS[BENCH_SECONDS]}}"
BENCH_BACKENDS="${BENCH_BACKENDS:-${DEFAULTS[BENCH_BACKENDS]}}"
BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-${DEFAULTS[BENCH_CONCURRENCY]}}"
BENCH_THREADS="${BENCH_THREADS:-${DEFAULTS[BENCH_THREADS]}}"
export BENCH_THREADS # also read by bench/assertions.lua
BENCH_ROUTES="${BENCH_ROUTES:-${DEFAULTS[BENCH_ROUTES]}}"
BENCH_ASSERTION_RATE="${BENCH_ASSERTION_RATE:-${DEFAULTS[BENCH_ASSERTION_RATE]}}"
BENCH_PREFILL_ROWS="${BENCH_PREFILL_ROWS:-${DEFAULTS[BENCH_PREFILL_ROWS]}}"
BENCH_LIVE_ROWS="${BENCH_LIVE_ROWS:-${DEFAULTS[BENCH_LIVE_ROWS]}}"
BENCH_PEER="${BENCH_PEER:-${DEFAULTS[BENCH_PEER]}}"
BENCH_PEER_WORKERS="${BENCH_PEER_WORKERS:-${DEFAULTS[BENCH_PEER_WORKERS]}}"
BENCH_DURABLE="${BENCH_DURABLE:-${DEFAULTS[BENCH_DURABLE]}}"
BENCH_WALDUMP="${BENCH_WALDUMP:-${DEFAULTS[BENCH_WALDUMP]}}"
BENCH_DURABLE_ROUNDS="${BENCH_DURABLE_ROUNDS:-${DEFAULTS[BENCH_DURABLE_ROUNDS]}}"
# The most issuance rows one token route writes per second here (with room): sizes the settle step.
RUN_ROWS_PER_SECOND=20000
# Longer than any latency we expect to see, so slow routes show their latency, not timeouts.
WRK_TIMEOUT_SECONDS=30
# The machine is shared: a service that runs away with memory is stopped before the kernel's
# OOM killer picks a process, possibly someone else's.
BENCH_RSS_LIMIT_MB="${BENCH_RSS_LIMIT_MB:-$(awk '/^MemTotal:/ { print int($2 / 2048) }' /proc/meminfo)}"

AS_ROOT=false
[[ "$(id -u)" == 0 ]] && AS_ROOT=true
WORK=""          # this run's temporary directory
PG_DIR=""        # the throwaway cluster's directory (owned by `postgres` when we are root)
PG_BIN_DIR=""
SERVICE_PID=""
SAMPLER_PID=""
LOAD_PID=""      # the load generator while it runs
LOADGEN=""
FLUSH_US=0       # the disk's durable-flush latency (measure_flush)
PEER_DIR="$ROOT/target/bench-peer" # the peer's packages and server, outside the work tree's files
PEER_ON=false    # the peer runs (prepare_peer decided, start_peer started it)
PEER_PID=""
PEER_URL=""
PEER_NAME=""     # "node oidc-provider 9.x.y, 1 process"
declare -A PEER_RATES=() # this backend's peer runs: tokens/s by concurrency
ACCOUNTS=()      # this backend's runs: where the machine's time went (account_end), as ROWS
DURABILITY=()    # BENCH_DURABLE=both: "label|conc|durable tokens/s|not durable tokens/s|durable busy share|not durable busy share"
LABEL_SUFFIX=""  # appended to a route's label (", fsync off" for BENCH_DURABLE=both's second run)
CLK_TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------------------------------------
# The functions, by subject (bench/lib/)

# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
# shellcheck source=bench/lib/postgres.sh
source "$ROOT/bench/lib/postgres.sh"
# shellcheck source=bench/lib/service.sh
source "$ROOT/bench/lib/service.sh"
# shellcheck source=bench/lib/peer.sh
source "$ROOT/bench/lib/peer.sh"
# shellcheck source=bench/lib/seed.sh
source "$ROOT/bench/lib/seed.sh"
# shellcheck source=bench/lib/routes.sh
source "$ROOT/bench/lib/routes.sh"
# shellcheck source=bench/lib/load.sh
source "$ROOT/bench/lib/load.sh"
# shellcheck source=bench/lib/account.sh
source "$ROOT/bench/lib/account.sh"
# shellcheck source=bench/lib/report.sh
source "$ROOT/bench/lib/report.sh"

# ---------------------------------------------------------------------------------------------
# One backend, start to finish

# Migrates and seeds the database at DATABASE_URL, starts the service (with BENCH_WRAPPER) and
# checks every route once.
serve_seeded() {
  configure_service
  log "${BACKEND_NAME:-$BACKEND}: migrate and seed"
  tm migrate >/dev/null
  seed_with_cli
  start_service
  seed_with_http
  check_routes
}

run_backend() {
  BACKEND=$1
  ROWS=() RUN_PEAK_KB=0 CEILING=0 PEER_RATES=() ACCOUNTS=() DURABILITY=()
  case "$BACKEND" in
    postgres)
      BACKEND_NAME=PostgreSQL
      start_postgres
      local settings
      printf -v settings '%s, ' "${PG_SETTINGS[@]}"
      DB_DESCRIPTION="$PG_VERSION, throwaway cluster, ${settings%, }; tables settled first (BENCHMARKS.md, step 6)" ;;
    sqlite)
      BACKEND_NAME=SQLite
      DATABASE_URL="sqlite://$WORK/bench.db"
      DB_DESCRIPTION="SQLite file in $(dirname "$WORK") (the service's own settings: WAL, synchronous=full)" ;;
    *) die "unknown backend $BACKEND (postgres or sqlite)" ;;
  esac
  serve_seeded
  [[ "$BACKEND" == postgres ]] && settle_postgres
  local connections route
  for connections in $BENCH_CONCURRENCY; do
    for route in healthz $BENCH_ROUTES $(peer_routes); do
      measure "$route" "$connections"
      if [[ "$BENCH_DURABLE" == both && "$BACKEND" == postgres && "$route" != healthz &&
        "$route" != peer_* ]]; then
        local round durable_rate durable_busy durable_label=$LABEL
        for ((round = 1; round <= BENCH_DURABLE_ROUNDS; round++)); do
          ((round == 1)) || measure "$route" "$connections"
          durable_rate=$LAST_RATE durable_busy=$LAST_BUSY
          set_durability off
          LABEL_SUFFIX=", fsync off"
          measure "$route" "$connections"
          LABEL_SUFFIX=""
          set_durability on
          DURABILITY+=("$durable_label|$connections|$durable_rate|$LAST_RATE|$durable_busy|$LAST_BUSY")
        done
      fi
    done
  done
  stop_service
  [[ "$BACKEND" == postgres ]] && stop_postgres
  print_table
  write_markdown
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_release
  ensure_tools
  ensure_load_generator
  log "load generator: $(loadgen_version)"
  WORK="$(mktemp -d /tmp/tokenmint-bench.XXXXXX)"
  cd "$WORK" # the CLI and the service write nothing into the work tree
  prepare_peer
  start_peer
  measure_flush
  local backend
  for backend in ${BENCH_BACKENDS//,/ }; do
    run_backend "$backend"
  done
}

# Sourced by bench/instructions.sh for its functions; run only when executed.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
