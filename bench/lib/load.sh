# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: running the load: peak RSS, restarts, the load generators, one measured run. The settings
# and globals these functions use are at the top of run.sh.

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
  stop_pid "$SAMPLER_PID"
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

# After a run: whether process $2 (the service or the peer, named $1) has ended; if so, reaps it
# and says why in the log and in R_NOTE (the caller starts it again for the next run).
gone() {
  local name=$1 pid=$2 why
  kill -0 "$pid" 2>/dev/null && return 1
  wait "$pid" 2>/dev/null || true
  why="$name died (see its log; the kernel's OOM killer?); restarted"
  [[ -e "$WORK/rss-limit-hit" ]] &&
    why="$name killed by bench/run.sh: RSS passed BENCH_RSS_LIMIT_MB=$BENCH_RSS_LIMIT_MB; restarted"
  log "$why"
  R_NOTE="${R_NOTE:+$R_NOTE; }$why"
}

# After a run: if the service is gone, starts it again for the next run (time to ready keeps its
# first measurement).
restart_if_gone() {
  gone service "$SERVICE_PID" || return 0
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
  gone peer "$PEER_PID" || return 0
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
