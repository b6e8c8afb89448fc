#!/usr/bin/env bash
# What one issuance record costs PostgreSQL, and what each of its indexes adds (issue 25, point
# 2: "measure ... the cost of each index on the record, and keep what is cheaper"): the database
# alone, without the service, so the figures are the record's and nobody else's.
#
# Same throwaway PostgreSQL (durable settings) and release build as bench/run.sh, whose functions
# it reuses. Migrates a fresh database with `tokenmint migrate`, so the table and its indexes are
# exactly the service's, then, for each variant, drives pgbench with statements shaped like the
# service's batches (one multi-row insert of RECORD_BATCH rows with time-ordered jtis, committed
# on its own) from RECORD_CLIENTS connections for RECORD_SECONDS, and prints rows per second, WAL
# bytes per row and table-plus-index bytes per row. Variants:
#   durable             the table as migrated, synchronous_commit=on (what the service runs);
#   no fsync wait       the same with synchronous_commit=off (the bound durability is paid against);
#   without <index>     durable, with that one secondary index dropped (the unique key stays);
#   ICU en-US           durable, the same table migrated into a second database whose default
#                       collation is ICU's en-US (as many production databases' is) instead of C:
#                       the text keys (jti, client_id, scheme) then compare by collation on every
#                       index insert. Skipped when the server has no ICU collations.
# The table is emptied (TRUNCATE) and vacuumed between variants. Then examples/record_write
# compares the statement shapes a writer could send for the same batches, from a Rust client as
# the service is: the multi-row INSERT with a parameter per column and row (what it sends), an
# INSERT from unnest() with an array parameter per column, and COPY FROM STDIN.
#
# Settings (environment): RECORD_SECONDS=10, RECORD_CLIENTS=8, RECORD_BATCH=64, RECORD_ROUNDS=2
# (every variant once per round), PG_BIN. Prints one line per variant and round; nothing is
# written into the repository.
set -euo pipefail

# shellcheck source=bench/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"

RECORD_SECONDS="${RECORD_SECONDS:-10}"
RECORD_CLIENTS="${RECORD_CLIENTS:-8}"
RECORD_BATCH="${RECORD_BATCH:-64}"
RECORD_ROUNDS="${RECORD_ROUNDS:-2}"

psql_value() {
  "$PG_BIN_DIR/psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"
}

# The pgbench script: one batch of RECORD_BATCH rows as the service writes them (uuid v7-like
# jtis, so the primary key grows at its right edge as it does in the service).
write_script() {
  cat >"$WORK/record.sql" <<SQL
insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip,
                       kid, issued_at, expires_at, revocable_by_subject)
select lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
         || substr(gen_random_uuid()::text, 13),
       'bench-client-' || (g % 4), 'auth_jwt', 'bench-client-' || (g % 4), 'programs:read',
       'IC', '127.0.0.1', null, 'bench-kid',
       (extract(epoch from clock_timestamp()) * 1000)::bigint,
       (extract(epoch from clock_timestamp()) * 1000)::bigint + 3600000, false
from generate_series(1, $RECORD_BATCH) g;
SQL
}

# Runs one variant: empties the table, drives pgbench, prints its line.
run_variant() {
  local label=$1 options=${2:-}
  psql_value "truncate issuances" >/dev/null
  psql_value "vacuum (analyze) issuances" >/dev/null
  psql_value "checkpoint" >/dev/null
  local wal_before wal_after rows bytes tps
  wal_before="$(psql_value "select pg_current_wal_lsn()")"
  tps="$(PGOPTIONS="$options" "$PG_BIN_DIR/pgbench" -n -c "$RECORD_CLIENTS" -j 2 \
    -T "$RECORD_SECONDS" -f "$WORK/record.sql" "$DATABASE_URL" 2>&1 |
    awk -F'= ' '/^tps/ { split($2, a, " "); print a[1]; exit }')"
  [[ -n "$tps" ]] || die "pgbench printed no tps for $label"
  wal_after="$(psql_value "select pg_current_wal_lsn()")"
  rows="$(psql_value "select count(*) from issuances")"
  # The record is partitioned (by day of expiry): its size is its partitions'.
  bytes="$(psql_value "select sum(pg_total_relation_size(inhrelid)) from pg_inherits
    where inhparent = 'issuances'::regclass")"
  local wal
  wal="$(psql_value "select pg_wal_lsn_diff('$wal_after', '$wal_before')")"
  printf '%-52s %9s rows/s %7s WAL B/row %7s B/row on disk\n' "$label" \
    "$(calc "int($tps * $RECORD_BATCH + 0.5)")" "$(calc "int($wal / $rows + 0.5)")" \
    "$(calc "int($bytes / $rows + 0.5)")"
}

record_main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_release
  ensure_tools
  WORK="$(mktemp -d /tmp/tokenmint-record.XXXXXX)"
  cd "$WORK"
  start_postgres
  configure_service
  tm migrate >/dev/null
  # A retention pass creates the days' partitions, as the service does when it starts.
  tm retention run >/dev/null
  local icu_url=""
  if [[ "$(psql_value "select count(*) from pg_collation where collname = 'en-US-x-icu'")" == 1 ]]; then
    psql_value "create database tokenmint_icu template template0 locale_provider icu
      icu_locale 'en-US' locale 'C'" >/dev/null
    icu_url="${DATABASE_URL%/*}/tokenmint_icu"
    DATABASE_URL="$icu_url" tm migrate >/dev/null
    DATABASE_URL="$icu_url" tm retention run >/dev/null
  else
    log "no ICU collations in this server: the ICU en-US variant is skipped"
  fi
  write_script
  log "$PG_VERSION; $RECORD_CLIENTS connections, batches of $RECORD_BATCH rows, $RECORD_SECONDS s per variant"
  local round index definition
  local -a indexes=()
  mapfile -t indexes < <(psql_value "select indexname || '|' || indexdef from pg_indexes
    where tablename = 'issuances' and indexname <> 'issuances_jti_expires_key'
    order by indexname")
  # Rounds, each running every variant once, so that a drift of the machine over the runs reaches
  # every variant alike instead of the first or the last.
  (cd "$ROOT" && cargo build --release --locked --example record_write)
  for ((round = 1; round <= RECORD_ROUNDS; round++)); do
    log "round $round of $RECORD_ROUNDS"
    run_variant "durable (the table as migrated)"
    run_variant "no fsync wait (synchronous_commit=off)" "-c synchronous_commit=off"
    for index in "${indexes[@]}"; do
      definition="${index#*|}"
      # A partitioned table's index reads `ON ONLY` (the parent alone): rebuild it everywhere.
      definition="${definition/ ON ONLY / ON }"
      index="${index%%|*}"
      psql_value "drop index $index" >/dev/null
      run_variant "durable, without $index"
      psql_value "$definition" >/dev/null
    done
    if [[ -n "$icu_url" ]]; then
      DATABASE_URL="$icu_url" run_variant "durable, in a database collated ICU en-US"
    fi
    log "statement shapes, round $round of $RECORD_ROUNDS (examples/record_write)"
    RECORD_SECONDS=$RECORD_SECONDS RECORD_CLIENTS=$RECORD_CLIENTS RECORD_BATCH=$RECORD_BATCH \
      DATABASE_URL="$DATABASE_URL" "$ROOT/target/release/examples/record_write"
  done
}

record_main "$@"
