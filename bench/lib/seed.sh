# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: seeding the service, and settling PostgreSQL's tables before the runs. The settings and
# globals these functions use are at the top of run.sh.

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
