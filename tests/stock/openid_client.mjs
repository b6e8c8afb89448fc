// Node's stock OAuth 2.0 client, openid-client v6, gets a client_credentials token from
// POST /oauth/token (CONTRACT.md F) as an integrator's code would: it discovers the RFC 8414
// metadata, authenticates with client_secret_post or client_secret_basic and, with DPOP=1, binds
// the token to a fresh key with a DPoP proof (RFC 9449). jose then verifies the token against the
// service's JWKS and, with DPoP, its binding (`cnf.jkt`), and GET /v1/me must accept it.
//
// Run by tests/api/stock_clients.rs (`run_openid_client`); plain node, exits 1 with the reason
// (and the service's error body) on stderr on any failure. Inputs (environment):
//   ISSUER          the service's issuer: discovery reads its RFC 8414 document
//                   (<ISSUER>/.well-known/oauth-authorization-server), the token's `iss` is it
//   TOKEN_URL       the token endpoint the metadata must name (`token_endpoint`)
//   JWKS_URL        the JWK Set the token must verify against
//   CLIENT_ID, CLIENT_SECRET   the client's credentials
//   AUTH_METHOD     client_secret_post (default) or client_secret_basic
//   SCOPE           optional, space separated
//   DPOP            1: prove possession of a fresh ES256 key, then call GET <ISSUER>/v1/me with it
//   NODE_MODULES    the folder holding openid-client and jose (npm ci of tests/stock)
// Prints one JSON object: {token_type, expires_in, scope, header, claims}, plus me_status with
// DPOP=1; token_type as the service sent it (openid-client lower-cases it).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set`);
  return value;
};
const ISSUER = env('ISSUER');
const TOKEN_URL = env('TOKEN_URL');
const JWKS_URL = env('JWKS_URL');
const CLIENT_ID = env('CLIENT_ID');
const CLIENT_SECRET = env('CLIENT_SECRET');
const AUTH_METHOD = process.env.AUTH_METHOD || 'client_secret_post';
const SCOPE = process.env.SCOPE || undefined;
const DPOP = process.env.DPOP === '1';
/** Asymmetric only: an `alg` of none or HS* must never verify. */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

// ESM ignores NODE_PATH: find each package under NODE_MODULES, import it by file URL.
const require = createRequire(path.join(env('NODE_MODULES'), '/'));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const client = await load('openid-client');
const jose = await load('jose');

/** The service's last response to each URL, raw: its error body, and token_type as sent. */
const responses = new Map();
async function recordingFetch(url, options) {
  const response = await fetch(url, options);
  const body = await response.clone().text();
  responses.set(new URL(String(url)).href, { status: response.status, body });
  return response;
}

async function main() {
  assert.ok(['client_secret_post', 'client_secret_basic'].includes(AUTH_METHOD),
    `AUTH_METHOD must be client_secret_post or client_secret_basic, not ${AUTH_METHOD}`);
  const server = new URL(ISSUER);
  // Plain http only for a test server on this machine; openid-client refuses it otherwise.
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(server.hostname);
  const auth = AUTH_METHOD === 'client_secret_basic'
    ? client.ClientSecretBasic(CLIENT_SECRET)
    : client.ClientSecretPost(CLIENT_SECRET);
  const config = await client.discovery(server, CLIENT_ID, undefined, auth, {
    algorithm: 'oauth2', // RFC 8414's document, not OpenID Connect's
    execute: server.protocol === 'http:' && loopback ? [client.allowInsecureRequests] : [],
    [client.customFetch]: recordingFetch,
  });
  const metadata = config.serverMetadata();
  assert.equal(metadata.token_endpoint, TOKEN_URL, 'the metadata names the token endpoint');

  const keyPair = DPOP ? await client.randomDPoPKeyPair('ES256') : undefined;
  const dpop = keyPair && client.getDPoPHandle(config, keyPair);
  const tokens = await client.clientCredentialsGrant(config, SCOPE ? { scope: SCOPE } : {},
    { DPoP: dpop });
  const sent = JSON.parse(responses.get(new URL(TOKEN_URL).href).body);

  // The token is the service's: signed by a key of its JWKS, its issuer, an access token.
  const jwks = jose.createRemoteJWKSet(new URL(JWKS_URL));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    typ: 'at+jwt',
    algorithms: ALGORITHMS,
    requiredClaims: ['exp'],
  });
  const printed = {
    token_type: sent.token_type,
    expires_in: sent.expires_in,
    scope: sent.scope,
    header: protectedHeader,
    claims: payload,
  };

  if (DPOP) {
    // RFC 9449 §6.1: the token names the proof key by its RFC 7638 thumbprint.
    assert.equal(sent.token_type, 'DPoP', 'a DPoP-bound token is of type DPoP');
    const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
    assert.equal(payload.cnf?.jkt, thumbprint, 'cnf.jkt is the DPoP key\'s thumbprint');
    // §7.1: the resource request carries a new proof with `ath`, the token's hash.
    const me = new URL(`${ISSUER.replace(/\/$/, '')}/v1/me`);
    const response = await client.fetchProtectedResource(config, tokens.access_token, me, 'GET',
      undefined, undefined, { DPoP: dpop });
    assert.equal(response.status, 200, `GET ${me} with the DPoP-bound token: `
      + `${response.status} ${await response.text()}`);
    printed.me_status = response.status;
  }
  console.log(JSON.stringify(printed));
}

try {
  await main();
} catch (err) {
  const how = `${AUTH_METHOD}${DPOP ? ', DPoP' : ''}`;
  console.error(`openid-client (${how}) failed: ${err.stack || err}`);
  if (err.cause !== undefined) console.error(`cause: ${JSON.stringify(err.cause)}`);
  for (const [url, { status, body }] of responses) console.error(`${url} -> ${status} ${body}`);
  process.exit(1);
}
