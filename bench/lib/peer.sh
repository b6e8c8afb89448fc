# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: the peer, node oidc-provider. The settings and globals these functions use are at the top of
# run.sh.

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
  stop_pid "$PEER_PID"
  PEER_PID=""
}

# The routes measured after tokenmint's: the peer's, when it runs.
peer_routes() {
  if $PEER_ON; then echo peer_client_credentials; fi
}
