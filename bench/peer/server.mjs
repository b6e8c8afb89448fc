// The peer bench/run.sh measures tokenmint against (issue 25): node oidc-provider issuing JWT
// access tokens to one confidential client with the client_credentials grant, as tokenmint's
// POST /oauth/token does. In memory (oidc-provider's default adapter; a JWT-format access token
// is not even stored there), production mode, no interactions, nothing logged per request.
//
// One process unless BENCH_PEER_WORKERS asks for more (node:cluster workers sharing the port);
// bench/run.sh prints the count beside its ratios. bench/run.sh copies this file next to the
// node_modules it installs in target/bench-peer, so that `import 'oidc-provider'` resolves there.
//
// Environment: PORT (listens on 127.0.0.1 there), PEER_CLIENT_ID, PEER_CLIENT_SECRET,
// PEER_SCOPE (the client's and the resource server's scope), PEER_RESOURCE (the default resource
// indicator, the tokens' `aud`), BENCH_PEER_WORKERS (default 1).
import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const env = (name) => process.env[name] ?? (() => { throw new Error(`${name} is not set`); })();
const port = Number(env('PORT'));
const workers = Number(process.env.BENCH_PEER_WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) {
  // One signing key for every worker, so that any of them issues tokens the same JWKS verifies.
  process.env.PEER_SIGNING_JWK = JSON.stringify(signingJwk());
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    console.error(`peer worker ${worker.process.pid} exited (${signal ?? code})`);
    process.exit(1);
  });
  const stop = () => { for (const worker of Object.values(cluster.workers)) worker.kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}

// An ES256 private key as a JWK, generated at start (nothing is persisted).
function signingJwk() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'peer-es256', alg: 'ES256', use: 'sig' };
}

async function serve() {
  const { default: Provider, errors } = await import('oidc-provider');
  const version = createRequire(import.meta.url)('oidc-provider/package.json').version;
  const issuer = `http://127.0.0.1:${port}`;
  const scope = env('PEER_SCOPE');
  const resource = env('PEER_RESOURCE');
  const jwk = process.env.PEER_SIGNING_JWK ? JSON.parse(process.env.PEER_SIGNING_JWK) : signingJwk();

  const provider = new Provider(issuer, {
    clients: [{
      client_id: env('PEER_CLIENT_ID'),
      client_secret: env('PEER_CLIENT_SECRET'),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope,
      id_token_signed_response_alg: 'ES256', // the one key's algorithm (RS256 by default)
    }],
    jwks: { keys: [jwk] },
    scopes: ['openid', scope], // a client's scope must be one the provider knows
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A token request without `resource` gets this one; its tokens are ES256 JWTs (RFC 9068).
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    ttl: { ClientCredentials: 30 * 60 }, // half an hour (the lifetime changes no work)
    cookies: { keys: [randomBytes(32).toString('base64url')] }, // unused by the token endpoint
  });

  const server = createServer(provider.callback());
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => {
    console.log(`peer: oidc-provider ${version} on ${issuer} (pid ${process.pid}, NODE_ENV=${process.env.NODE_ENV})`);
  });
  // Nothing to keep: stop at once, open keep-alive connections or not.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
