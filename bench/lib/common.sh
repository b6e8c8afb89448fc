# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: small helpers, cleanup on exit, and the tools the run needs. The settings and globals these
# functions use are at the top of run.sh.

# ---------------------------------------------------------------------------------------------
# Small helpers

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# Floating-point arithmetic: `calc '<awk expression>'`.
calc() { awk "BEGIN { printf \"%s\", ($1) }" </dev/null; }

# Stops process $1 (if any) with SIGTERM and waits for it.
stop_pid() {
  [[ -n "$1" ]] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

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
