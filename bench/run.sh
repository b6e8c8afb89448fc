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
# Everything it starts is stopped, and its temporary files removed, on exit.
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
# Small helpers

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# Floating-point arithmetic: `calc '<awk expression>'`.
calc() { awk "BEGIN { printf \"%s\", ($1) }" </dev/null; }

# A loopback TCP port nobody listens on.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "found no free loopback port"
}

# apt-get install, as root only; refreshes the package lists once if the first try fails.
apt_install() {
  $AS_ROOT && command -v apt-get >/dev/null || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >&2 && return 0
  apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >&2
}

cleanup() {
  local status=$?
  set +e
  [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null
  stop_sampler
  stop_service
  stop_peer
  if [[ -n "$PG_DIR" && -d "$PG_DIR/data" ]]; then
    as_postgres "$PG_BIN_DIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  fi
  [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
  if [[ -n "$WORK" && "$status" != 0 ]]; then
    rm -f "$WORK"/*.txt "$WORK"/*.json "$WORK"/*.key "$WORK"/*.db*
    log "failed; the service and load-generator logs are kept in $WORK"
  elif [[ -n "$WORK" ]]; then
    rm -rf "$WORK"
  fi
  exit "$status"
}

# ---------------------------------------------------------------------------------------------
# Tools

build_release() {
  log "cargo build --release --locked"
  (cd "$ROOT" && cargo build --release --locked)
}

ensure_tools() {
  command -v curl >/dev/null || apt_install curl || die "curl is needed"
  command -v jq >/dev/null || apt_install jq || die "jq is needed: apt-get install jq"
  command -v openssl >/dev/null || apt_install openssl || die "openssl is needed"
}

# Sets LOADGEN to wrk or oha (a path), installing one if neither is there.
ensure_load_generator() {
  local want="${BENCH_LOADGEN:-}"
  if [[ "$want" != oha ]]; then
    if command -v wrk >/dev/null || { log "installing wrk (apt-get)"; apt_install wrk; }; then
      LOADGEN=wrk
      return
    fi
    [[ "$want" == wrk ]] && die "wrk is not installed and cannot be (apt-get install wrk needs root)"
  fi
  local oha
  oha="$(command -v oha || true)"
  [[ -z "$oha" && -x "${CARGO_HOME:-$HOME/.cargo}/bin/oha" ]] && oha="${CARGO_HOME:-$HOME/.cargo}/bin/oha"
  if [[ -z "$oha" ]]; then
    log "installing oha (cargo install oha --locked)"
    cargo install oha --locked >&2 || true
    oha="$(command -v oha || true)"
    [[ -z "$oha" && -x "${CARGO_HOME:-$HOME/.cargo}/bin/oha" ]] && oha="${CARGO_HOME:-$HOME/.cargo}/bin/oha"
  fi
  [[ -n "$oha" ]] || die "no load generator: install wrk ('apt-get install wrk', as root) or oha ('cargo install oha --locked')"
  LOADGEN="$oha"
}

loadgen_version() {
  if [[ "$LOADGEN" == wrk ]]; then
    wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2
  else
    "$LOADGEN" --version 2>&1 | head -n 1
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster with durable settings

find_pg_bin() {
  local dir
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  dir="$(pg_config --bindir 2>/dev/null || true)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  done
  return 1
}

# Runs a PostgreSQL program as the `postgres` OS user when we are root (it refuses to run as
# root), from a directory that user can enter.
as_postgres() {
  if $AS_ROOT; then
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
  else
    (cd "$PG_DIR" && "$@")
  fi
}

start_postgres() {
  PG_BIN_DIR="$(find_pg_bin)" || {
    log "installing the PostgreSQL server (apt-get)"
    apt_install postgresql || die "no PostgreSQL server binaries: apt-get install postgresql, or set PG_BIN"
    PG_BIN_DIR="$(find_pg_bin)" || die "no PostgreSQL server binaries found after installing"
  }
  PG_DIR="$(mktemp -d /tmp/tokenmint-bench-pg.XXXXXX)"
  # Durable settings, then checkpoints as a write-heavy deployment spaces them (PostgreSQL's
  # defaults, 1 GB of WAL and 5 min, made one every ~70 s here and logged "checkpoints are
  # occurring too frequently"): durability is the same, recovery after a crash replays more WAL.
  # Pages a backend or autovacuum writes out are handed to the disk every 256 kB (as the
  # background writer and checkpointer already do by default) instead of waiting in the page
  # cache: an insert-triggered autovacuum of issuances dirtied ~130 MB, which the kernel wrote
  # back in one burst 30 s later, stalling the commits behind it for up to 0.2 s.
  PG_SETTINGS=(fsync=on synchronous_commit=on full_page_writes=on max_wal_size=8GB
    checkpoint_timeout=15min backend_flush_after=256kB shared_buffers=1GB)
  # The same run without durability, for the price of it (BENCH_DURABLE=0).
  [[ "$BENCH_DURABLE" == 0 ]] && PG_SETTINGS=(fsync=off synchronous_commit=off
    full_page_writes=off "${PG_SETTINGS[@]:3}")
  # Times each WAL write and flush for pg_stat_wal (the account's mean flush): a clock read
  # around each, nothing durable changes.
  PG_SETTINGS+=(track_wal_io_timing=on)
  local extra
  read -r -a extra <<<"${BENCH_PG_SETTINGS:-}"
  PG_SETTINGS+=("${extra[@]}")
  $AS_ROOT && chown postgres:postgres "$PG_DIR"
  local port
  port="$(free_port)"
  # --no-sync only skips initdb's own fsync of the new files; the server below is durable.
  as_postgres "$PG_BIN_DIR/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C \
    --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
  # In the configuration file, not on the command line, which would override the ALTER SYSTEM
  # of BENCH_DURABLE=both (set_durability).
  printf '%s\n' "${PG_SETTINGS[@]}" | as_postgres tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
  as_postgres "$PG_BIN_DIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
    start >/dev/null || { cat "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  as_postgres "$PG_BIN_DIR/createdb" -h 127.0.0.1 -p "$port" -U postgres tokenmint
  PG_VERSION="$("$PG_BIN_DIR/postgres" --version)"
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/tokenmint"
  if [[ " ${PG_SETTINGS[*]}" == *pg_stat_statements* ]]; then
    "$PG_BIN_DIR/psql" -X -q -d "$DATABASE_URL" -c "create extension pg_stat_statements" >/dev/null
  fi
}

stop_postgres() {
  [[ -n "$PG_DIR" ]] || return 0
  as_postgres "$PG_BIN_DIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
  rm -rf "$PG_DIR"
  PG_DIR=""
}

# ---------------------------------------------------------------------------------------------
# The service

tm() { "$BIN" "$@"; }

# Starts `tokenmint serve` and sets READY_MS: from process start to the first 200 of /readyz.
start_service() {
  local log_file="$WORK/service-$BACKEND.log" started deadline
  started="$(date +%s%N)"
  local wrapper=()
  read -r -a wrapper <<<"${BENCH_WRAPPER:-}"
  (cd "$WORK" && exec "${wrapper[@]}" "$BIN" serve >>"$log_file" 2>&1) &
  SERVICE_PID=$!
  deadline=$((started + 30 * 1000000000))
  until curl -fs -o /dev/null "$BASE_URL/readyz"; do
    kill -0 "$SERVICE_PID" 2>/dev/null || { cat "$log_file" >&2; die "the service exited"; }
    (($(date +%s%N) < deadline)) || { cat "$log_file" >&2; die "not ready within 30 s"; }
    sleep 0.005
  done
  READY_MS=$((($(date +%s%N) - started) / 1000000))
  log "ready in $READY_MS ms (pid $SERVICE_PID, log $log_file)"
}

stop_service() {
  [[ -n "$SERVICE_PID" ]] || return 0
  kill -TERM "$SERVICE_PID" 2>/dev/null || true
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=""
}

# The service's environment: production mode, secrets made up for this run.
configure_service() {
  export TOKENMINT_MODE=production
  export TOKENMINT_CONFIG_DIR="$ROOT/config"
  export TOKENMINT_MASTER_KEY TOKENMINT_ADMIN_TOKEN
  TOKENMINT_MASTER_KEY="$(openssl rand -base64 32)"
  TOKENMINT_ADMIN_TOKEN="$(openssl rand -hex 24)"
  TOKENMINT_LISTEN="127.0.0.1:$(free_port)"
  export TOKENMINT_LISTEN
  export DATABASE_URL
  export RUST_LOG=warn
  BASE_URL="http://$TOKENMINT_LISTEN"
  # Fixed, so that a restarted service on another port keeps its issuer and assertion audience.
  export TOKENMINT_PUBLIC_URL="$BASE_URL"
}

# ---------------------------------------------------------------------------------------------
# The peer (issue 25): node oidc-provider's client_credentials, measured in the same run

# Decides whether the peer runs (PEER_ON) and installs its packages: bench/peer/'s package.json,
# lock and server are copied to target/bench-peer (ignored by git, like all of target/) and
# `npm ci` installs there, again only when the lock changed. BENCH_PEER=1 makes a missing node or
# npm, or a failed install, an error; by default the peer is skipped with a line saying why.
prepare_peer() {
  local why=""
  case "$BENCH_PEER" in
    0) log "peer: skipped (BENCH_PEER=0)"; return ;;
    1 | auto) ;;
    *) die "BENCH_PEER is auto, 1 or 0, not $BENCH_PEER" ;;
  esac
  [[ "$BENCH_PEER_WORKERS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PEER_WORKERS is a count of processes, not $BENCH_PEER_WORKERS"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    why="node and npm are needed (apt-get install nodejs npm)"
  elif ! install_peer; then
    why="npm ci failed in ${PEER_DIR#"$ROOT/"} (its output is above)"
  fi
  if [[ -n "$why" ]]; then
    [[ "$BENCH_PEER" == 1 ]] && die "BENCH_PEER=1 but $why"
    log "peer: skipped, $why; BENCH_PEER=0 silences this"
    return
  fi
  local version
  version="$(node -p "require('$PEER_DIR/node_modules/oidc-provider/package.json').version")"
  PEER_NAME="node oidc-provider $version, $BENCH_PEER_WORKERS process$( ((BENCH_PEER_WORKERS == 1)) || echo es)"
  PEER_ON=true
}

install_peer() {
  mkdir -p "$PEER_DIR" && cp "$ROOT/bench/peer/server.mjs" "$PEER_DIR/" || return 1
  if cmp -s "$ROOT/bench/peer/package-lock.json" "$PEER_DIR/package-lock.json" &&
    [[ -e "$PEER_DIR/node_modules/oidc-provider/package.json" ]]; then
    return 0
  fi
  cp "$ROOT/bench/peer/package.json" "$ROOT/bench/peer/package-lock.json" "$PEER_DIR/" || return 1
  log "peer: npm ci (into ${PEER_DIR#"$ROOT/"})"
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund >&2) || {
    rm -f "$PEER_DIR/package-lock.json" # so that the next run tries again
    return 1
  }
}

# Starts the peer on a free loopback port with one client of its own, and waits for its
# discovery document.
start_peer() {
  $PEER_ON || return 0
  local port deadline
  port="$(free_port)"
  PEER_URL="http://127.0.0.1:$port"
  PEER_CLIENT_ID=bench-peer
  PEER_CLIENT_SECRET="$(openssl rand -hex 24)"
  # The same form as tokenmint's POST /oauth/token; the peer defaults the resource (the `aud`).
  printf 'grant_type=client_credentials&scope=programs:read' >"$WORK/peer.form"
  (cd "$WORK" && NODE_ENV=production PORT="$port" PEER_CLIENT_ID="$PEER_CLIENT_ID" \
    PEER_CLIENT_SECRET="$PEER_CLIENT_SECRET" PEER_SCOPE=programs:read \
    PEER_RESOURCE=https://api.bench.example BENCH_PEER_WORKERS="$BENCH_PEER_WORKERS" \
    exec node "$PEER_DIR/server.mjs" >>"$WORK/peer.log" 2>&1) &
  PEER_PID=$!
  deadline=$(($(date +%s) + 30))
  until curl -fs -o /dev/null "$PEER_URL/.well-known/openid-configuration"; do
    kill -0 "$PEER_PID" 2>/dev/null || { cat "$WORK/peer.log" >&2; die "the peer exited"; }
    (($(date +%s) < deadline)) || { cat "$WORK/peer.log" >&2; die "the peer was not up within 30 s"; }
    sleep 0.05
  done
  log "peer: $PEER_NAME on $PEER_URL (pid $PEER_PID, log $WORK/peer.log)"
}

stop_peer() {
  [[ -n "$PEER_PID" ]] || return 0
  kill -TERM "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=""
}

# The routes measured after tokenmint's: the peer's, when it runs.
peer_routes() {
  if $PEER_ON; then echo peer_client_credentials; fi
}

# ---------------------------------------------------------------------------------------------
# Seeding

seed_with_cli() {
  local client
  client="$(tm client create --name bench-es256 --algorithm ES256 \
    --scope programs:read --scope schools:read --scope assessment:interest \
    --scope assessment:ability --scope abilityexplorer:read --default-scope programs:read \
    --state IC --state OH --default-state IC --max-ttl-minutes 60 \
    --phone +15550100001 --email bench@example.com)"
  ES_ID="$(jq -r .client_id <<<"$client")"
  ES_SECRET="$(jq -r .client_secret <<<"$client")"
  client="$(tm client create --name bench-rs256 --algorithm RS256 \
    --scope programs:read --default-scope programs:read \
    --state IC --default-state IC --max-ttl-minutes 60 --email bench-rs@example.com)"
  RS_ID="$(jq -r .client_id <<<"$client")"
  RS_SECRET="$(jq -r .client_secret <<<"$client")"
  # Under a quota it never reaches: every one of its tokens is counted (auth_jwt_quota).
  client="$(tm client create --name bench-quota --algorithm ES256 \
    --scope programs:read --default-scope programs:read --max-ttl-minutes 60 \
    --quota-per-minute 1000000000 --quota-per-day 1000000000)"
  QUOTA_ID="$(jq -r .client_id <<<"$client")"
  QUOTA_SECRET="$(jq -r .client_secret <<<"$client")"
  API_KEY="$(tm api-key create "$ES_ID" --environment production | jq -r .api_key)"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/service-account.key" \
    -out "$WORK/service-account.pem" -days 2 -subj "/CN=tokenmint-bench" 2>/dev/null
  SERVICE_ACCOUNT_ID="$(tm service-account create --client-id "$RS_ID" \
    --description benchmark --scope programs:read --audience https://api.bench.example \
    --duration 300 --attribute icn --certificate-file "$WORK/service-account.pem" |
    jq -r .service_account_id)"
  tm api-group create --name bench-reports --scope reports:read --scope reports:export >/dev/null
}

# curl that fails on a non-2xx answer and shows its body.
api() {
  local out status
  out="$(curl -sS -w '\n%{http_code}' "$@")"
  status="${out##*$'\n'}"
  [[ "$status" == 2* ]] || die "$* -> $status: ${out%$'\n'*}"
  printf '%s' "${out%$'\n'*}"
}

seed_with_http() {
  local request_id credential
  request_id="$(api -u "$ES_ID:$ES_SECRET" -H 'Content-Type: application/json' \
    -d '{"api_groups": ["bench-reports"], "reason": "benchmark"}' \
    "$BASE_URL/v1/access-requests" | jq -r .id)"
  api -H "Authorization: Bearer $TOKENMINT_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"note": "benchmark"}' "$BASE_URL/admin/access-requests/$request_id/approve" >/dev/null
  credential="$(api -u "$ES_ID:$ES_SECRET" -H 'Content-Type: application/json' \
    -d '{"username": "bench", "notes": "benchmark", "api_groups": ["bench-reports"]}' \
    "$BASE_URL/v1/credentials")"
  CREDENTIAL_KEY="$(jq -r .key <<<"$credential")"
  CREDENTIAL_SECRET="$(jq -r .secret <<<"$credential")"

  jq -n --arg id "$ES_ID" --arg secret "$ES_SECRET" '{client_id: $id, client_secret: $secret,
    stateAbbr: "OH", tokenTime: 30, ipaddress: "string",
    scope: ["programs:read", "assessment:all"],
    user: {orgId: "org-1", orgName: "Acme High", id: "user-42"}}' >"$WORK/token_create.json"
  jq -n --arg key "$CREDENTIAL_KEY" --arg secret "$CREDENTIAL_SECRET" \
    '{key: $key, secret: $secret}' >"$WORK/authtoken.json"
  printf 'grant_type=client_credentials&scope=programs:read' >"$WORK/oauth_token.form"
}

# Signs $1 single-use assertions into $2.
make_assertions() {
  tm service-account assertion --service-account-id "$SERVICE_ACCOUNT_ID" \
    --key-file "$WORK/service-account.key" --sub bench-user@example.com \
    --scope programs:read --user-attribute icn=1012667122V019349 --count "$1" >"$2"
}

# Brings the tables the token routes write to the state they have in a service that has run for
# a while: their files hold pages freed by the retention job (rows deleted, then vacuumed), which
# new records reuse. A fresh cluster's tables instead grow by the token routes' whole write rate
# (~5 MB/s here), and PostgreSQL 15 grows a file by writing zero pages through the page cache;
# the kernel writes an inode's dirty pages back once the oldest is 30 s old
# (vm.dirty_expire_centisecs), so every ~30 s some 150 MB reach the disk at once and the durable
# commits queued behind them wait 0.1-0.4 s, which is the p99 of any run that covers one. The
# same writes also leave PostgreSQL WAL segments to recycle, as it does in production, instead of
# creating and zero-filling a new 16 MB segment every ~1.5 s (a ~22 ms stall each). So: write
# about as many rows as the runs will, delete them, VACUUM without truncating, CHECKPOINT, and
# flush the page cache, so that every run starts with nothing pending. VACUUM twice: the first
# unlinks the index pages the deletes emptied, the second (after a later transaction) records
# them as free; with one, the indexes grew ~75 MB a minute under load. It also keeps
# BENCH_LIVE_ROWS live rows, as a running service holds a token lifetime of them (see below).
# The issuance record is partitioned by day of expiry (db::partitions): its written-and-deleted
# rows (expired in 1970) pass through the default partition and only leave WAL to recycle, and
# new records fill the current days' partitions, which grow, as in a running service (retention
# drops whole days there, so no freed pages are reused).
settle_postgres() {
  local rows=$BENCH_PREFILL_ROWS routes=0 route connections
  if [[ "$rows" == auto ]]; then
    for route in $BENCH_ROUTES; do [[ "$route" == sign_in ]] || routes=$((routes + 1)); done
    connections=$(wc -w <<<"$BENCH_CONCURRENCY")
    rows=$((BENCH_SECONDS * RUN_ROWS_PER_SECOND * routes * connections))
  fi
  ((rows > 0)) || return 0
  local assertions=$((BENCH_SECONDS * BENCH_ASSERTION_RATE * $(wc -w <<<"$BENCH_CONCURRENCY")))
  # Live rows: enough that one run's inserts stay under autovacuum's insert threshold, 1,000 +
  # 20% of the table's rows (every run starts from a fresh VACUUM): 20% of them is 1.25 runs.
  local live=$BENCH_LIVE_ROWS started
  [[ "$live" == auto ]] && live=$((BENCH_SECONDS * RUN_ROWS_PER_SECOND * 25 / 4))
  started="$(date +%s)"
  "$PG_BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" \
    -v rows="$rows" -v live="$live" -v now="$(date +%s)" -v assertions="$assertions" -v client="$ES_ID" \
    -v credential="$CREDENTIAL_KEY" -v account="$SERVICE_ACCOUNT_ID" >/dev/null <<'SQL' \
    || die "could not prefill the PostgreSQL tables"
insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip,
                       kid, issued_at, expires_at)
  select gen_random_uuid()::text, :'client', 'prefill', 'prefill-' || g, 'programs:read', 'OH',
         '127.0.0.1', null, 'prefill', 1000000 + g, 2000000 + g
  from generate_series(1, :rows) g;
-- Live records, not yet expired (their expiry is a day away, so the retention job leaves them),
-- with time-ordered jtis as the service writes them.
insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip,
                       kid, issued_at, expires_at, revocable_by_subject)
  select substr(t, 1, 8) || '-' || substr(t, 9, 4) || substr(gen_random_uuid()::text, 14),
         :'client', 'live', 'live-' || g, 'programs:read', 'OH', '127.0.0.1', null, 'live',
         :now::bigint * 1000, :now::bigint * 1000 + 86400000, false
  from generate_series(1, :live) g,
       lateral (select lpad(to_hex(:now::bigint * 1000 - :live + g), 12, '0') as t) ms;
insert into authtokens (jti, credential_key, parent_jti, issued_at, expires_at)
  select gen_random_uuid()::text, :'credential', null, 1000000 + g, 2000000 + g
  from generate_series(1, :rows / 4) g;
insert into used_assertions (service_account_id, jti_digest, expires_at)
  select :'account', md5(g::text) || md5((-g)::text), 2000000 + g
  from generate_series(1, :assertions) g;
delete from issuances where scheme = 'prefill';
delete from authtokens where expires_at < 3000000;
delete from used_assertions where expires_at < 3000000;
vacuum (truncate false) issuances, authtokens, used_assertions;
-- B-tree pages emptied by the deletes are unlinked by that VACUUM but only become reusable once
-- no transaction could still need them (a later transaction id); a second VACUUM (next) then
-- records them in the free space map, as routine autovacuum does in a service that has run a
-- while.
select txid_current();
SQL
  vacuum_postgres
  log "PostgreSQL tables settled: $rows issuance rows written and deleted, $live kept, in $(($(date +%s) - started)) s"
}

# Before each run: VACUUM what the previous run wrote and CHECKPOINT (as pgbench vacuums before
# each run), so that no run inherits the previous one's maintenance: autovacuum's insert-triggered
# pass over the new rows, or a checkpoint's writes. A few seconds, outside the measured time.
vacuum_postgres() {
  "$PG_BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" >/dev/null <<'SQL' \
    || die "could not vacuum the PostgreSQL tables"
vacuum (truncate false) issuances, authtokens, used_assertions, quota_windows;
checkpoint;
SQL
  sync
}

# ---------------------------------------------------------------------------------------------
# Routes: each sets METHOD, ORIGIN (the service's BASE_URL, or the peer's), URL_PATH, HEADERS
# (array), BODY_FILE, LABEL

describe_route() {
  METHOD=GET ORIGIN="$BASE_URL" HEADERS=() BODY_FILE="" CONTENT_TYPE=""
  case "$1" in
    healthz) LABEL="GET /healthz (ceiling)" URL_PATH=/healthz ;;
    auth_jwt)
      LABEL="POST /auth/jwt" METHOD=POST URL_PATH=/auth/jwt
      HEADERS=(-H "client-id: $ES_ID" -H "client-secret: $ES_SECRET") ;;
    auth_jwt_rs256)
      LABEL="POST /auth/jwt (RS256)" METHOD=POST URL_PATH=/auth/jwt
      HEADERS=(-H "client-id: $RS_ID" -H "client-secret: $RS_SECRET") ;;
    auth_jwt_quota)
      LABEL="POST /auth/jwt (client with a quota)" METHOD=POST URL_PATH=/auth/jwt
      HEADERS=(-H "client-id: $QUOTA_ID" -H "client-secret: $QUOTA_SECRET") ;;
    token_create)
      LABEL="POST /auth/token/create" METHOD=POST URL_PATH=/auth/token/create
      BODY_FILE="$WORK/token_create.json" CONTENT_TYPE=application/json ;;
    clients_authorization)
      LABEL="GET /clients/authorization" URL_PATH="/clients/authorization?apiKey=$API_KEY" ;;
    authtoken)
      LABEL="POST /auth/authtoken" METHOD=POST URL_PATH=/auth/authtoken
      BODY_FILE="$WORK/authtoken.json" CONTENT_TYPE=application/json ;;
    sign_in)
      LABEL="POST /v0/sign_in/token (RS256)" METHOD=POST URL_PATH=/v0/sign_in/token
      CONTENT_TYPE=application/x-www-form-urlencoded ;;
    token_exchange) # set up by bench/exchange.sh (a local issuer and a trust policy)
      LABEL="POST /oauth/token (token exchange)" METHOD=POST URL_PATH=/oauth/token
      BODY_FILE="$WORK/exchange.form" CONTENT_TYPE=application/x-www-form-urlencoded ;;
    oauth_token)
      LABEL="POST /oauth/token (client_credentials)" METHOD=POST URL_PATH=/oauth/token
      HEADERS=(-H "Authorization: Basic $(printf '%s:%s' "$ES_ID" "$ES_SECRET" | base64 -w0)")
      BODY_FILE="$WORK/oauth_token.form" CONTENT_TYPE=application/x-www-form-urlencoded ;;
    peer_client_credentials) # the peer's token endpoint, as oauth_token (start_peer)
      [[ -n "$PEER_URL" ]] || die "route $1: the peer is not running (BENCH_PEER)"
      LABEL="peer: POST /token (client_credentials)" METHOD=POST ORIGIN="$PEER_URL" URL_PATH=/token
      HEADERS=(-H "Authorization: Basic $(printf '%s:%s' "$PEER_CLIENT_ID" "$PEER_CLIENT_SECRET" | base64 -w0)")
      BODY_FILE="$WORK/peer.form" CONTENT_TYPE=application/x-www-form-urlencoded ;;
    *) die "unknown route $1 (see BENCH_ROUTES in bench/run.sh)" ;;
  esac
}

# One request per route, which must succeed, before anything is measured.
check_routes() {
  local route body=()
  for route in healthz $BENCH_ROUTES $(peer_routes); do
    describe_route "$route"
    body=()
    [[ -n "$BODY_FILE" ]] && body=(-H "Content-Type: $CONTENT_TYPE" --data-binary "@$BODY_FILE")
    if [[ "$route" == sign_in ]]; then
      make_assertions 1 "$WORK/check-assertion.txt"
      body=(--data-urlencode 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer'
        --data-urlencode "assertion=$(cat "$WORK/check-assertion.txt")")
    fi
    api -X "$METHOD" "${HEADERS[@]}" "${body[@]}" "$ORIGIN$URL_PATH" >/dev/null
  done
  log "every route answers 2xx"
}

# ---------------------------------------------------------------------------------------------
# Peak RSS: VmHWM is reset before each run (clear_refs) and VmRSS polled every 100 ms. The
# poller forks nothing (it waits with `read -t` on a FIFO nobody writes to, not `sleep`): a
# process started ten times a second took about 1.5% of the machine from the service measured.

# Samples process $1 (default: the service).
start_sampler() {
  local pid="${1:-$SERVICE_PID}" out="$WORK/rss-peak-kb" limit_kb=$((BENCH_RSS_LIMIT_MB * 1024))
  SAMPLED_PID=$pid
  echo 0 >"$out"
  rm -f "$WORK/rss-limit-hit"
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null && HWM_RESET=true || HWM_RESET=false
  [[ -p "$WORK/tick" ]] || mkfifo "$WORK/tick"
  (
    # Opened for reading and writing, so that the open does not wait for a writer and a read
    # waits out its timeout.
    exec {tick}<>"$WORK/tick"
    peak=0
    while [[ -r "/proc/$pid/status" ]]; do
      while read -r key value _; do
        if [[ "$key" == VmRSS: ]] && ((value > peak)); then
          peak=$value
          echo "$peak" >"$out"
        fi
      done <"/proc/$pid/status"
      if ((peak > limit_kb)); then
        kill -KILL "$pid" 2>/dev/null
        touch "$WORK/rss-limit-hit"
        break
      fi
      read -r -t 0.1 -u "$tick" _ || true
    done
  ) &
  SAMPLER_PID=$!
}

stop_sampler() {
  [[ -n "$SAMPLER_PID" ]] || return 0
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

# Peak RSS of the last run's sampled process, kB.
sampled_peak_kb() {
  local peak hwm
  peak="$(cat "$WORK/rss-peak-kb")"
  if $HWM_RESET && [[ -r "/proc/$SAMPLED_PID/status" ]]; then
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$SAMPLED_PID/status")"
    ((hwm > peak)) && peak=$hwm
  fi
  echo "$peak"
}

# After a run: if the service is gone, says why in R_NOTE and starts it again for the next run
# (time to ready keeps its first measurement).
restart_if_gone() {
  kill -0 "$SERVICE_PID" 2>/dev/null && return 0
  wait "$SERVICE_PID" 2>/dev/null || true
  local why="service died (see its log; the kernel's OOM killer?); restarted"
  [[ -e "$WORK/rss-limit-hit" ]] &&
    why="service killed by bench/run.sh: RSS passed BENCH_RSS_LIMIT_MB=$BENCH_RSS_LIMIT_MB; restarted"
  log "$why"
  R_NOTE="${R_NOTE:+$R_NOTE; }$why"
  SERVICE_PID=""
  # A new port: the old one may still be held by the killed process's connections.
  TOKENMINT_LISTEN="127.0.0.1:$(free_port)"
  BASE_URL="http://$TOKENMINT_LISTEN"
  local first_ready_ms=$READY_MS
  start_service
  READY_MS=$first_ready_ms
}

# The same for the peer, after a peer run.
restart_peer_if_gone() {
  kill -0 "$PEER_PID" 2>/dev/null && return 0
  wait "$PEER_PID" 2>/dev/null || true
  local why="peer died (see its log); restarted"
  [[ -e "$WORK/rss-limit-hit" ]] &&
    why="peer killed by bench/run.sh: RSS passed BENCH_RSS_LIMIT_MB=$BENCH_RSS_LIMIT_MB; restarted"
  log "$why"
  R_NOTE="${R_NOTE:+$R_NOTE; }$why"
  PEER_PID=""
  start_peer
}

# Runs a command in the background and waits for it, so that a signal stops the script (and,
# through cleanup, the command) at once rather than when the command is done.
in_background() {
  "$@" &
  LOAD_PID=$!
  local status=0
  wait "$LOAD_PID" || status=$?
  LOAD_PID=""
  return "$status"
}

# ---------------------------------------------------------------------------------------------
# Where the machine's time goes during a run: CPU ticks of the whole machine (/proc/stat), of the
# service and of PostgreSQL's processes (/proc/<pid>/stat), and PostgreSQL's own counters.

# utime + stime of a process, in clock ticks (0 once it is gone).
proc_ticks() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  read -ra fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12]))
}

# The same summed over PostgreSQL's processes: the postmaster and its children (backends,
# WAL writer, checkpointer, autovacuum).
pg_ticks() {
  local postmaster pid total
  [[ "$BACKEND" == postgres ]] || { echo 0; return; }
  postmaster="$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)" || { echo 0; return; }
  total="$(proc_ticks "$postmaster")"
  for pid in $(pgrep -P "$postmaster"); do total=$((total + $(proc_ticks "$pid"))); done
  echo "$total"
}

# "total idle stolen" ticks of the whole machine since boot (idle counts iowait).
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6, $9; exit }' /proc/stat; }

# "commits|WAL bytes|WAL flushes|flush time ms|WAL insert position" of the benchmark's database
# so far, or "-".
pg_counters() {
  [[ "$BACKEND" == postgres ]] || { echo -; return; }
  "$PG_BIN_DIR/psql" -X -A -t -d "$DATABASE_URL" -c "select (select xact_commit from
    pg_stat_database where datname = current_database()), wal_bytes, wal_sync, wal_sync_time,
    pg_current_wal_insert_lsn() from pg_stat_wal" 2>/dev/null || echo -
}

# BENCH_WALDUMP=1: what the WAL between two positions holds, by record type (pg_waldump), into
# target/bench-waldump/<label>.txt, and its largest rows on stderr.
wal_dump() {
  local label=$1 from=$2 to=$3 dir="$ROOT/target/bench-waldump" file
  mkdir -p "$dir"
  file="$dir/${label//[^A-Za-z0-9_.-]/_}.txt"
  as_postgres "$PG_BIN_DIR/pg_waldump" -p "$PG_DIR/data/pg_wal" -s "$from" -e "$to" \
    --stats=record >"$file" 2>&1 || true
  {
    echo "    WAL of this run by record, the largest first (pg_waldump --stats=record; $file):"
    echo "      type, records, record bytes, full-page-image bytes, total bytes"
    # Rows: type, N, (%), record size, (%), FPI size, (%), combined size, (%).
    awk '{ row = $0; gsub(/\([^)]*\)/, "", row); n = split(row, f)
           if (n == 5 && f[2] ~ /^[0-9]+$/) print f[5], f[1], f[2], f[3], f[4] }' "$file" |
      sort -rn | head -n 12 | awk '{ printf "      %s, %s, %s, %s, %s\n", $2, $3, $4, $5, $1 }'
  } >&2
}

account_start() {
  A_MACHINE="$(machine_ticks)" A_SERVICE="$(proc_ticks "$1")" A_PG="$(pg_ticks)"
  A_COUNTERS="$(pg_counters)"
  statements_reset
}

# With pg_stat_statements loaded (BENCH_PG_SETTINGS): the statements of each run by total
# execution time (planning and commit not included), to stderr.
STATEMENTS=false
statements_reset() {
  [[ "$BACKEND" == postgres && " ${PG_SETTINGS[*]}" == *pg_stat_statements* ]] || return 0
  STATEMENTS=true
  "$PG_BIN_DIR/psql" -X -q -d "$DATABASE_URL" -c "select pg_stat_statements_reset()" >/dev/null
}
statements_print() {
  $STATEMENTS || return 0
  {
    echo "    statements by total time (pg_stat_statements): ms, calls, µs per call, rows per call, text"
    "$PG_BIN_DIR/psql" -X -A -t -F ', ' -d "$DATABASE_URL" -c "select round(total_exec_time),
      calls, round((total_exec_time * 1000 / calls)::numeric, 1), round(rows::numeric / calls, 1),
      left(regexp_replace(query, '\s+', ' ', 'g'), 90) from pg_stat_statements
      order by total_exec_time desc limit 8" | sed 's/^/      /'
  } >&2
}

# The ticks at the end of the load (the counters are read later, by account_end).
account_stop() {
  B_MACHINE="$(machine_ticks)" B_SERVICE="$(proc_ticks "$1")" B_PG="$(pg_ticks)"
}

# Appends the run's account to ACCOUNTS: machine idle and stolen shares; CPU µs per 2xx answer
# of the service (or the peer), of PostgreSQL and of everything else; PostgreSQL's commits per
# second, answers per commit, WAL bytes per answer, WAL flushes per second and their mean time. PostgreSQL publishes a
# busy backend's counters at most once a second, so they are read a second after the run.
account_end() {
  local label=$1 connections=$2 answers=$3 seconds=$4 machine=$B_MACHINE service=$B_SERVICE pg=$B_PG
  local total idle stolen total0 idle0 stolen0
  read -r total idle stolen <<<"$machine"
  read -r total0 idle0 stolen0 <<<"$A_MACHINE"
  total=$((total - total0)) idle=$((idle - idle0)) stolen=$((stolen - stolen0))
  service=$((service - A_SERVICE)) pg=$((pg - A_PG))
  local rest=$((total - idle - stolen - service - pg)) per="1000000 / $CLK_TCK / ($answers > 0 ? $answers : 1)"
  local commits=- per_commit=- wal=- flushes=- flush=- counters
  if [[ "$A_COUNTERS" != - ]]; then
    sleep 1.2
    counters="$(pg_counters)"
    if [[ "$counters" != - ]]; then
      local c0 b0 s0 t0 c1 b1 s1 t1 l0 l1
      IFS='|' read -r c0 b0 s0 t0 l0 <<<"$A_COUNTERS"
      IFS='|' read -r c1 b1 s1 t1 l1 <<<"$counters"
      [[ "$BENCH_WALDUMP" == 1 ]] && wal_dump "$label-$connections" "$l0" "$l1"
      statements_print
      commits="$(calc "int(($c1 - $c0) / $seconds + 0.5)")"
      per_commit="$(calc "($c1 - $c0) > 0 ? sprintf(\"%.1f\", $answers / ($c1 - $c0)) : \"-\"")"
      wal="$(calc "int(($b1 - $b0) / ($answers > 0 ? $answers : 1) + 0.5)")"
      flushes="$(calc "int(($s1 - $s0) / $seconds + 0.5)")"
      flush="$(calc "($s1 - $s0) > 0 ? int(($t1 - $t0) * 1000 / ($s1 - $s0) + 0.5) : \"-\"")"
    fi
  fi
  ((total > 0)) || total=1
  LAST_BUSY="$(calc "($total - $idle - $stolen) / $total")"
  ACCOUNTS+=("$label|$connections|$(calc "int(100 * $idle / $total + 0.5)")%|$(calc "int(100 * $stolen / $total + 0.5)")%|$(calc "int($service * $per + 0.5)")|$(calc "int($pg * $per + 0.5)")|$(calc "int($rest * $per + 0.5)")|$commits|$per_commit|$wal|$flushes|$flush")
  printf '    machine idle %s, stolen %s; CPU µs per answer: %s %s, PostgreSQL %s, the rest %s; %s commits/s, %s answers per commit, %s WAL B per answer, %s WAL flushes/s of %s µs\n' \
    "$(calc "int(100 * $idle / $total + 0.5)")%" "$(calc "int(100 * $stolen / $total + 0.5)")%" \
    "$([[ "$label" == peer:* ]] && echo peer || echo service)" \
    "$(calc "int($service * $per + 0.5)")" "$(calc "int($pg * $per + 0.5)")" \
    "$(calc "int($rest * $per + 0.5)")" "$commits" "$per_commit" "$wal" "$flushes" "$flush" >&2
}

# BENCH_DURABLE=both: turns PostgreSQL's durability off (fsync, synchronous_commit,
# full_page_writes) or back on, by ALTER SYSTEM and a reload of the running cluster.
set_durability() {
  local sql
  if [[ "$1" == off ]]; then
    sql="alter system set fsync = off; alter system set synchronous_commit = off; alter system set full_page_writes = off;"
  else
    sql="alter system reset fsync; alter system reset synchronous_commit; alter system reset full_page_writes;"
  fi
  "$PG_BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" >/dev/null <<SQL \
    || die "could not turn durability $1"
$sql
select pg_reload_conf();
SQL
  sleep 0.5 # every backend rereads its settings before its next statement
}

# ---------------------------------------------------------------------------------------------
# Load: each driver leaves R_OK R_SECONDS R_ERRORS R_P50_US R_P99_US R_MAX_US (and R_NOTE)

drive_wrk() {
  local route=$1 connections=$2 out="$WORK/wrk-$BACKEND-$1-$2.log" script=static.lua
  [[ "$route" == sign_in ]] && script=assertions.lua
  BENCH_METHOD="$METHOD" BENCH_BODY_FILE="$BODY_FILE" BENCH_CONTENT_TYPE="$CONTENT_TYPE" \
    BENCH_LUA_DIR="$LUA_DIR" \
    BENCH_ASSERTIONS="$WORK/assertions.txt" \
    in_background wrk -t "$BENCH_THREADS" -c "$connections" -d "${BENCH_SECONDS}s" \
    --timeout "${WRK_TIMEOUT_SECONDS}s" -s "$LUA_DIR/$script" "${HEADERS[@]}" \
    "$ORIGIN$URL_PATH" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  local line kv
  line="$(grep '^BENCH_RESULT ' "$out")" || { cat "$out" >&2; die "wrk printed no result"; }
  declare -A r=()
  for kv in ${line#BENCH_RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  R_OK=$((r[requests] - r[status_errors]))
  R_SECONDS="$(calc "${r[duration_us]} / 1000000")"
  R_ERRORS=$((r[status_errors] + r[socket_errors]))
  R_P50_US=${r[p50_us]} R_P99_US=${r[p99_us]} R_MAX_US=${r[max_us]}
  R_NOTE=""
  ((R_ERRORS == 0)) || R_NOTE="errors: ${r[status_errors]} non-2xx, ${r[socket_errors]} socket"
  line="$(grep '^BENCH_ASSERTIONS ' "$out" || true)"
  if [[ -n "$line" ]]; then
    for kv in ${line#BENCH_ASSERTIONS }; do r[${kv%%=*}]=${kv#*=}; done
    ((r[replayed] == 0)) || R_NOTE="$R_NOTE; ran out of assertions: ${r[replayed]} replays, raise BENCH_ASSERTION_RATE"
  fi
}

drive_oha() {
  local route=$1 connections=$2 out="$WORK/oha-$BACKEND-$1-$2.json" body=()
  [[ -n "$BODY_FILE" ]] && body=(-D "$BODY_FILE" -T "$CONTENT_TYPE")
  in_background "$LOADGEN" --no-tui --output-format json -z "${BENCH_SECONDS}s" -c "$connections" \
    -t "${WRK_TIMEOUT_SECONDS}s" -m "$METHOD" "${HEADERS[@]}" "${body[@]}" \
    "$ORIGIN$URL_PATH" >"$out" 2>"$out.err" || { cat "$out.err" >&2; die "oha failed"; }
  R_OK="$(jq '[.statusCodeDistribution | to_entries[] | select(.key | startswith("2")) | .value] | add // 0' "$out")"
  R_ERRORS="$(jq '([.statusCodeDistribution | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0)
    + ([.errorDistribution | to_entries[] | select(.key | test("deadline") | not) | .value] | add // 0)' "$out")"
  R_SECONDS="$(jq '.summary.total' "$out")"
  R_P50_US="$(jq '.latencyPercentiles.p50 * 1000000 | floor' "$out")"
  R_P99_US="$(jq '.latencyPercentiles.p99 * 1000000 | floor' "$out")"
  R_MAX_US="$(jq '.summary.slowest * 1000000 | floor' "$out")"
  R_NOTE=""
}

# Runs one route at one concurrency and appends its row to ROWS (the peer's rate also to
# PEER_RATES, by concurrency).
measure() {
  local route=$1 connections=$2 rate ratio peak_kb peak sampled=$SERVICE_PID
  [[ "$route" == peer_* ]] && sampled=$PEER_PID
  describe_route "$route"
  LABEL="$LABEL$LABEL_SUFFIX"
  if [[ "$route" == sign_in && "$LOADGEN" != wrk ]]; then
    # oha picks request bodies at random, and an assertion is accepted once.
    log "$BACKEND c=$connections $LABEL: skipped, needs wrk"
    ROWS+=("$LABEL|$connections|-|-|-|-|-|-|-|skipped: needs wrk (single-use assertions)")
    return
  fi
  if [[ "$route" == sign_in ]]; then
    local count=$((BENCH_ASSERTION_RATE * BENCH_SECONDS * 3 / 2))
    log "signing $count assertions"
    make_assertions "$count" "$WORK/assertions.txt"
  fi
  [[ "$BACKEND" == postgres && "$BENCH_PREFILL_ROWS" != 0 ]] && vacuum_postgres
  log "$BACKEND c=$connections $LABEL"
  start_sampler "$sampled"
  account_start "$sampled"
  if [[ "$LOADGEN" == wrk ]]; then drive_wrk "$route" "$connections"; else drive_oha "$route" "$connections"; fi
  account_stop "$sampled"
  stop_sampler
  peak_kb="$(sampled_peak_kb)"
  peak="$(calc "sprintf(\"%.0f MiB\", $peak_kb / 1024)")"
  if [[ "$route" == peer_* ]]; then
    restart_peer_if_gone
    # With cluster workers the sampled process is only their primary.
    ((BENCH_PEER_WORKERS == 1)) || peak=-
  else
    restart_if_gone
    ((peak_kb > RUN_PEAK_KB)) && RUN_PEAK_KB=$peak_kb
  fi
  rate="$(calc "$R_OK / $R_SECONDS")"
  [[ "$route" == healthz ]] && CEILING="$rate"
  [[ "$route" == peer_* ]] && PEER_RATES[$connections]="$rate"
  ratio="$(calc "$CEILING > 0 ? $rate / $CEILING : 0")"
  ROWS+=("$LABEL|$connections|$(calc "int($rate + 0.5)")|$(ms "$R_P50_US")|$(ms "$R_P99_US")|$(ms "$R_MAX_US")|$R_ERRORS|$(calc "sprintf(\"%.3f\", $ratio)")|$peak|$R_NOTE")
  printf '    %s/s, p50 %s, p99 %s, errors %s, peak RSS %s %s\n' \
    "$(calc "int($rate + 0.5)")" "$(ms "$R_P50_US")" "$(ms "$R_P99_US")" "$R_ERRORS" \
    "$peak" "$R_NOTE" >&2
  account_end "$LABEL" "$connections" "$R_OK" "$R_SECONDS"
  LAST_RATE="$rate"
  sleep 1 # let the service settle before the next run
}

ms() { calc "sprintf(\"%.2f ms\", $1 / 1000)"; }

# This run's command: the settings that differ from the defaults, then the script.
command_line() {
  local name words=()
  for name in BENCH_SECONDS BENCH_BACKENDS BENCH_CONCURRENCY BENCH_THREADS BENCH_ROUTES \
    BENCH_ASSERTION_RATE BENCH_PREFILL_ROWS BENCH_LIVE_ROWS BENCH_LOADGEN BENCH_WRAPPER \
    BENCH_PEER BENCH_PEER_WORKERS BENCH_DURABLE BENCH_DURABLE_ROUNDS BENCH_WALDUMP \
    BENCH_PG_SETTINGS OPENSSL_ia32cap; do
    [[ -n "${!name:-}" && "${!name}" != "${DEFAULTS[$name]:-}" ]] || continue
    if [[ "${!name}" == *' '* ]]; then words+=("$name=\"${!name}\""); else words+=("$name=${!name}"); fi
  done
  words+=(bash bench/run.sh)
  echo "${words[*]}"
}

# ---------------------------------------------------------------------------------------------
# Report

print_table() {
  local row
  printf '\n%s — %ss per run, %s threads, time to ready %s ms, peak RSS %s MiB\n' \
    "$BACKEND_NAME" "$BENCH_SECONDS" "$BENCH_THREADS" "$READY_MS" "$((RUN_PEAK_KB / 1024))"
  [[ "$BACKEND" == postgres ]] && ((FLUSH_US > 0)) && printf '%s\n' "$(flush_bound)"
  printf '%-34s %5s %10s %10s %10s %10s %7s %8s %9s\n' \
    route conc 'tokens/s' p50 p99 max errors 'vs ceil' 'peak RSS'
  for row in "${ROWS[@]}"; do
    IFS='|' read -r label conc rate p50 p99 max errors ratio rss note <<<"$row"
    printf '%-34s %5s %10s %10s %10s %10s %7s %8s %9s %s\n' \
      "$label" "$conc" "$rate" "$p50" "$p99" "$max" "$errors" "$ratio" "$rss" "$note"
  done
  echo
  echo "Where the machine's time went (CPU µs per answer, from /proc; PostgreSQL's counters):"
  printf '%-34s %5s %5s %6s %8s %8s %8s %9s %7s %8s %9s %7s\n' \
    route conc idle stolen service postgres rest 'commits/s' 'per c.' 'WAL B' 'flushes/s' 'flush'
  for row in "${ACCOUNTS[@]}"; do
    IFS='|' read -r label conc idle stolen service pg rest commits per_commit wal flushes flush <<<"$row"
    printf '%-34s %5s %5s %6s %8s %8s %8s %9s %7s %8s %9s %7s\n' \
      "$label" "$conc" "$idle" "$stolen" "$service" "$pg" "$rest" "$commits" "$per_commit" "$wal" "$flushes" "$flush"
  done
  echo
  durability_prices
  if $PEER_ON; then
    printf 'Against the peer: %s\n' "$(peer_description)"
    peer_ratios
    echo
  fi
}

# BENCH_DURABLE=both: one line per pair of runs (route and concurrency), its durable tokens/s
# over its tokens/s with durability off, and the same for the machine's busy share (not idle,
# not stolen): tokens/s move with the CPU time the machine's other tenants leave (the CPU µs per
# token of identical runs differ by 10-20% here), while durability's own price is the time the
# CPU waits for flushes with nothing to run, which the busy shares compare whatever the CPU's
# speed. Then, with several rounds, the medians per route and concurrency.
# `durability_prices markdown`: as a list.
durability_prices() {
  ((${#DURABILITY[@]} > 0)) || return 0
  local row label conc durable fast busy busy_fast key format='%s at c=%s: durable %s/s, fsync off %s/s: %s; busy %s%% against %s%%: %s\n'
  local -A rates=() busies=()
  local -a keys=()
  # shellcheck disable=SC2016 # backticks for markdown, not a command
  [[ "${1:-}" == markdown ]] && format='- `%s` at c=%s: durable %s/s, fsync off %s/s: %s; busy %s%% against %s%%: %s\n'
  [[ "${1:-}" == markdown ]] || echo "Durability's price (the same route back to back, durable then with fsync, synchronous_commit and full_page_writes off; tokens/s, then the machine's busy share):"
  for row in "${DURABILITY[@]}"; do
    IFS='|' read -r label conc durable fast busy busy_fast <<<"$row"
    # shellcheck disable=SC2059 # one of the two formats above
    printf -- "$format" "$label" "$conc" "$(calc "int($durable + 0.5)")" "$(calc "int($fast + 0.5)")" \
      "$(calc "$fast > 0 ? sprintf(\"%.2f of it (%+.1f%%)\", $durable / $fast, 100 * ($durable / $fast - 1)) : \"-\"")" \
      "$(calc "int(100 * $busy + 0.5)")" "$(calc "int(100 * $busy_fast + 0.5)")" \
      "$(calc "$busy_fast > 0 ? sprintf(\"%.2f\", $busy / $busy_fast) : \"-\"")"
    key="$label|$conc"
    [[ -v "rates[$key]" ]] || keys+=("$key")
    rates[$key]+="$(calc "$fast > 0 ? $durable / $fast : 0") "
    busies[$key]+="$(calc "$busy_fast > 0 ? $busy / $busy_fast : 0") "
  done
  if ((BENCH_DURABLE_ROUNDS > 1)); then
    format='%s at c=%s, median of %s pairs: tokens/s %s, busy share %s\n'
    # shellcheck disable=SC2016 # backticks for markdown, not a command
    [[ "${1:-}" == markdown ]] && format='- `%s` at c=%s, median of %s pairs: tokens/s %s, busy share %s\n'
    for key in "${keys[@]}"; do
      IFS='|' read -r label conc <<<"$key"
      # shellcheck disable=SC2059,SC2086 # one of the two formats; the ratios split into words
      printf -- "$format" "$label" "$conc" "$BENCH_DURABLE_ROUNDS" "$(median ${rates[$key]})" \
        "$(median ${busies[$key]})"
    done
  fi
  [[ "${1:-}" == markdown ]] || echo
}

# The median of numbers, to two decimals.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'
}

# What the peer is, for the report.
peer_description() {
  echo "$PEER_NAME (Node $(node --version), BENCH_PEER_WORKERS=$BENCH_PEER_WORKERS), in memory (its default adapter; a JWT access token is not stored), client_credentials with HTTP Basic, ES256 JWT access tokens, production mode, on the same machine (bench/peer/server.mjs)"
}

# One line per tokenmint token route and concurrency: its tokens/s over the peer's at the same
# concurrency, and over /healthz's (the "vs ceiling" column). `peer_ratios markdown`: as a list.
peer_ratios() {
  local row label conc rate ratio peer at="" format='%s%s: %s (%s), %s of /healthz\n'
  # shellcheck disable=SC2016 # backticks for markdown, not a command
  [[ "${1:-}" == markdown ]] && format='- `%s`%s: %s (%s), %s of /healthz\n'
  for row in "${ROWS[@]}"; do
    IFS='|' read -r label conc rate _ _ _ _ ratio _ _ <<<"$row"
    [[ "$label" == "GET /healthz"* || "$label" == peer:* || "$rate" == - ]] && continue
    (($(wc -w <<<"$BENCH_CONCURRENCY") == 1)) || at=" at c=$conc"
    peer="${PEER_RATES[$conc]:-0}"
    if [[ "$(calc "$peer > 0")" == 1 ]]; then
      peer="$(calc "sprintf(\"%.1fx\", $rate / $peer)") the peer"
    else
      peer="the peer answered nothing"
    fi
    # shellcheck disable=SC2059 # one of the two formats above
    printf -- "$format" "$label" "$at" "$peer" "$PEER_NAME" \
      "$(calc "sprintf(\"%.2f\", $ratio)")"
  done
}

write_markdown() {
  local file row commit
  file="$RESULTS_DIR/$(date -u +%Y-%m-%d)-$BACKEND.md"
  commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || commit="$commit (modified)"
  mkdir -p "$RESULTS_DIR"
  {
    echo "# tokenmint benchmark: $BACKEND_NAME"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit; command: \`$(command_line)\`"
    echo "- machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load generator on the same machine: $(loadgen_version), $BENCH_THREADS threads"
    echo "- database: $DB_DESCRIPTION"
    echo "- service: production mode, \`RUST_LOG=warn\`; time to ready (process start to the first 200 of /readyz, migrated database): **$READY_MS ms**; peak RSS over all runs: **$((RUN_PEAK_KB / 1024)) MiB**"
    [[ "$BACKEND" == postgres ]] && ((FLUSH_US > 0)) && echo "- durable-commit bound: $(flush_bound)"
    $PEER_ON && echo "- peer (the \`peer:\` rows): $(peer_description); its peak RSS is its own"
    echo "- each run: ${BENCH_SECONDS} s; tokens/s counts 2xx answers; errors are non-2xx answers plus socket errors; \"vs ceiling\" divides by /healthz at the same concurrency"
    echo
    echo "| route | conc. | tokens/s | p50 | p99 | max | errors | vs ceiling | peak RSS | note |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for row in "${ROWS[@]}"; do
      IFS='|' read -r label conc rate p50 p99 max errors ratio rss note <<<"$row"
      echo "| \`$label\` | $conc | $rate | $p50 | $p99 | $max | $errors | $ratio | $rss | $note |"
    done
    echo
    echo "Where the machine's time went: its idle and stolen (by the hypervisor) shares; CPU µs per answer of the service (of the peer in its rows), of PostgreSQL's processes and of everything else (the load generator, kernel threads), from \`/proc\`; PostgreSQL's commits per second, answers per commit, WAL bytes per answer, WAL flushes per second and their mean time (\`pg_stat_wal\`, \`track_wal_io_timing\`):"
    echo
    echo "| route | conc. | idle | stolen | service µs | PostgreSQL µs | rest µs | commits/s | answers per commit | WAL B per answer | WAL flushes/s | mean flush µs |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for row in "${ACCOUNTS[@]}"; do
      IFS='|' read -r label conc idle stolen service pg rest commits per_commit wal flushes flush <<<"$row"
      echo "| \`$label\` | $conc | $idle | $stolen | $service | $pg | $rest | $commits | $per_commit | $wal | $flushes | $flush |"
    done
    if ((${#DURABILITY[@]} > 0)); then
      echo
      echo "Durability's price (each token route back to back: durable, then with \`fsync\`, \`synchronous_commit\` and \`full_page_writes\` off, reloaded on the same cluster):"
      echo
      durability_prices markdown
    fi
    if $PEER_ON; then
      echo
      echo "Against the peer (tokens/s over the peer's at the same concurrency, and over /healthz's):"
      echo
      peer_ratios markdown
    fi
  } >"$file"
  log "wrote ${file#"$ROOT/"}"
}

# The disk's durable-flush latency, as PostgreSQL's WAL sees it: pg_test_fsync's one 8 kB write
# plus fdatasync (Linux's default wal_sync_method), in microseconds. A route that answers only
# after its record is committed cannot answer a connection faster than one flush, so with c
# connections in a closed loop it serves at most c / flush tokens per second, whatever the code
# does (Little's law); the tables print that bound beside the measured figures.
measure_flush() {
  local pg_bin out
  FLUSH_US=0
  pg_bin="$(find_pg_bin)" || return 0
  out="$("$pg_bin/pg_test_fsync" -s 2 -f "$WORK/fsync.test" 2>/dev/null || true)"
  rm -f "$WORK/fsync.test"
  FLUSH_US="$(awk '/one 8kB write/ { one = 1 } one && $1 == "fdatasync" { print int($(NF - 1)); exit }' <<<"$out")"
  FLUSH_US="${FLUSH_US:-0}"
  if ((FLUSH_US > 0)); then
    log "durable flush: $FLUSH_US µs (pg_test_fsync, fdatasync of one 8 kB write)"
  fi
}

# "at most N/s at c=C" for each concurrency, or nothing when the flush was not measured.
flush_bound() {
  ((FLUSH_US > 0)) || return 0
  local connections bounds=""
  for connections in $BENCH_CONCURRENCY; do
    bounds+="${bounds:+, }$(calc "int($connections * 1000000 / $FLUSH_US)")/s at c=$connections"
  done
  echo "one durable flush takes $FLUSH_US µs here (pg_test_fsync, fdatasync, 8 kB), so a route that waits for its commit serves at most $bounds (concurrency / flush)"
}

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
