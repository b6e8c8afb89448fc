# shellcheck shell=bash
# Part of bench/run.sh, sourced by it (and through it by the other bench scripts), never run on its
# own: the routes measured. The settings and globals these functions use are at the top of run.sh.

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
