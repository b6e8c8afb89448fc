# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: where the machine's time went during each run. The settings and globals these functions use
# are at the top of run.sh.

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
