# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: the throwaway PostgreSQL cluster. The settings and globals these functions use are at the
# top of run.sh.

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
