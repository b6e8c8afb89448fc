# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: the service under test. The settings and globals these functions use are at the top of
# run.sh.

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
  stop_pid "$SERVICE_PID"
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
