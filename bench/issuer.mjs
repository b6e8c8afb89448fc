// A local OpenID Connect issuer for bench/exchange.sh: an ES256 key, its discovery document and
// JWKS on 127.0.0.1, and one subject token (a Kubernetes-shaped service-account token valid for
// two hours) written to $TOKEN_FILE. Plain Node (no package). Runs until killed.
//
// Environment: PORT (listens there), TOKEN_FILE, AUDIENCE, SUBJECT.
import { createServer } from 'node:http';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-1', alg: 'ES256', use: 'sig' };
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const input = `${b64({ alg: 'ES256', kid: 'bench-1', typ: 'JWT' })}.${b64({
  iss: issuer, aud: [process.env.AUDIENCE], sub: process.env.SUBJECT,
  iat: now, nbf: now, exp: now + 7200,
})}`;
const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
writeFileSync(process.env.TOKEN_FILE, `${input}.${signature.toString('base64url')}`);

const documents = {
  '/.well-known/openid-configuration': { issuer, jwks_uri: `${issuer}/jwks` },
  '/jwks': { keys: [jwk] },
};
createServer((request, response) => {
  const body = documents[request.url];
  response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body ?? {}));
}).listen(port, '127.0.0.1', () => console.log(`issuer ${issuer}`));
