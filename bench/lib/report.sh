# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: the tables, the results file and the disk's flush bound. The settings and globals these
# functions use are at the top of run.sh.

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
