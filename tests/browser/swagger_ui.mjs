// Swagger UI in a real browser: Debian's headless Chromium, driven by playwright-core, gets a token
// from each of the documented token routes and the standard one (/oauth/token) with "Try it out"
// and the demo credentials, then pastes each token into the Authorize dialog and calls GET /v1/me
// with "Try it out".
//
// Run by tests/api/swagger_browser.rs against a running sandbox service; plain node, exits 1 on
// the first failed assertion. Inputs (environment):
//   TOKENMINT_URL      the service's base URL
//   CLIENT_ID, CLIENT_SECRET, API_KEY, SERVICE_ACCOUNT_ID   the demo credentials (data/demo.env)
//   ASSERTIONS         two fresh signed assertions of the demo service account (scheme E), one
//                      a line: each is accepted once
//   SCREENSHOT_DIR     where to write one PNG per step (created if missing)
//   BROWSER_DEPS       the folder holding node_modules/playwright-core (npm ci of this folder)
//   CHROMIUM           the browser binary (default /usr/bin/chromium)
//   TAGS               the tag sections expected, in order, comma separated: each scheme's name
//                      in the scheme list's order, then the service groups
//   SECURITY_SCHEMES   the security schemes the Authorize dialog offers, in order, comma separated

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set`);
  return value;
};
const BASE_URL = env('TOKENMINT_URL').replace(/\/$/, '');
const SCREENSHOTS = env('SCREENSHOT_DIR');
const DEMO = {
  clientId: env('CLIENT_ID'),
  clientSecret: env('CLIENT_SECRET'),
  apiKey: env('API_KEY'),
  serviceAccountId: env('SERVICE_ACCOUNT_ID'),
  assertions: env('ASSERTIONS').split('\n').map((line) => line.trim()).filter(Boolean),
};
assert.ok(DEMO.assertions.length >= 2, 'ASSERTIONS holds two assertions, one a line');
const TAGS = env('TAGS').split(',');
const SECURITY_SCHEMES = env('SECURITY_SCHEMES').split(',');
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Generous: two shared cores, a debug build and a cold browser. */
const TIMEOUT_MS = 90_000;

const require = createRequire(path.join(env('BROWSER_DEPS'), 'node_modules', '/'));
const { chromium } = require('playwright-core');

mkdirSync(SCREENSHOTS, { recursive: true });
let shot = 0;
/** Saves a screenshot of `target` (the page or an element) as NN-name.png. */
async function screenshot(target, name) {
  shot += 1;
  const file = path.join(SCREENSHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await target.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

/** The claims of a JWT (not verified here: /v1/me verifies it). */
function claimsOf(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `a JWT has three parts: ${token.slice(0, 40)}...`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** The operation block of a route, by the element id Swagger UI gives it (operations-<tag>-<id>). */
function operation(page, id) {
  return page.locator(`[id="operations-${id}"]`);
}

/** Expands an operation and switches it to "Try it out". */
async function tryItOut(op) {
  await op.locator('.opblock-summary-control').click();
  await op.locator('button.try-out__btn').click();
  await op.locator('button.execute').waitFor();
}

/** Clicks Execute and returns the response Swagger UI renders: status, body text, header lines. */
async function execute(op) {
  const live = op.locator('.live-responses-table .response');
  // A response from an earlier run would be read before the new one replaces it: clear it first.
  if ((await live.count()) > 0) {
    await op.locator('button.btn-clear').click();
    await live.waitFor({ state: 'detached' });
  }
  await op.locator('button.execute').click();
  await live.waitFor();
  const status = (await live.locator('.response-col_status').innerText()).trim();
  const body = op.locator('.live-responses-table .highlight-code pre');
  const bodyText = (await body.count()) > 0 ? await body.innerText() : '';
  const headers = await live.locator('.headerline').allInnerTexts();
  const curl = await op.locator('.curl-command pre').innerText();
  return { status, bodyText, headers, curl };
}

/** A response shown with status 200; its body parsed as JSON. */
function ok200(response, route) {
  assert.equal(response.status, '200', `${route}: Swagger UI shows ${response.status}: ${response.bodyText}`);
  return response.bodyText ? JSON.parse(response.bodyText) : null;
}

/** A: POST /auth/token/create, the body example with the demo client's id and secret. */
async function tokenCreate(page) {
  const op = operation(page, 'token_create-create_token');
  await tryItOut(op);
  const textarea = op.locator('textarea.body-param__text');
  const example = JSON.parse(await textarea.inputValue());
  const body = { ...example, client_id: DEMO.clientId, client_secret: DEMO.clientSecret };
  await textarea.fill(JSON.stringify(body, null, 2));
  const response = await execute(op);
  await screenshot(op, 'A-token-create');
  const json = ok200(response, 'POST /auth/token/create');
  assert.equal(json.tokenType, 'Bearer');
  assert.deepEqual(json.scope, example.scope, 'the token carries the example scopes');
  assert.equal(json.stateAbbr, example.stateAbbr);
  const claims = claimsOf(json.jwt);
  assert.equal(claims.client_id, DEMO.clientId);
  assert.equal(claims.state, example.stateAbbr);
  return json.jwt;
}

/** B: GET or POST /auth/jwt, credentials in the client-id and client-secret headers. */
async function authJwt(page, method) {
  const op = operation(page, `auth_jwt-${method}_jwt`);
  await tryItOut(op);
  await op.locator('tr[data-param-name="client-id"] input').fill(DEMO.clientId);
  await op.locator('tr[data-param-name="client-secret"] input').fill(DEMO.clientSecret);
  const response = await execute(op);
  await screenshot(op, `B-auth-jwt-${method}`);
  const json = ok200(response, `${method.toUpperCase()} /auth/jwt`);
  assert.equal(json.tokenType, 'Bearer');
  assert.match(response.curl, new RegExp(`client-id: ${DEMO.clientId}`));
  const line = response.headers.map((h) => h.trim()).find((h) => /^authorization:/i.test(h));
  assert.ok(line, `the Authorization response header is shown: ${response.headers.join(' | ')}`);
  const match = /^authorization:\s*Bearer\s+(\S+)$/i.exec(line);
  assert.ok(match, `Authorization: Bearer <token>, got ${line}`);
  assert.equal(claimsOf(match[1]).client_id, DEMO.clientId);
  return match[1];
}

/** C: GET /clients/authorization?apiKey= with the demo API key. */
async function apiKey(page) {
  const op = operation(page, 'api_key-authorize');
  await tryItOut(op);
  await op.locator('tr[data-param-name="apiKey"] input').fill(DEMO.apiKey);
  const response = await execute(op);
  await screenshot(op, 'C-clients-authorization');
  const json = ok200(response, 'GET /clients/authorization');
  assert.equal(claimsOf(json.jwt).client_id, DEMO.clientId);
  return json.jwt;
}

/**
 * E: POST /v0/sign_in/token, with grant_type and a fresh assertion in the query string (as the
 * Sign-in Service document shows; Swagger UI also sends its JSON body example, which the query
 * beats) or in a form body (RFC 7523 §2.1, the query parameters left empty).
 */
async function signIn(page, where, assertion) {
  const op = operation(page, 'sign_in-issue_token');
  if ((await op.locator('button.execute').count()) === 0) {
    await tryItOut(op);
  }
  const query = (name) => op.locator(`tr[data-param-name="${name}"][data-param-in="query"] input`);
  if (where === 'query') {
    await query('grant_type').fill(GRANT_TYPE);
    await query('assertion').fill(assertion);
  } else {
    await query('grant_type').fill('');
    await query('assertion').fill('');
    await op.locator('select.content-type').first().selectOption('application/x-www-form-urlencoded');
    const field = (name) => op.locator(`tr[data-property-name="${name}"] input[type="text"]`);
    await field('grant_type').fill(GRANT_TYPE);
    await field('assertion').fill(assertion);
  }
  const response = await execute(op);
  await screenshot(op, `E-sign-in-token-${where}`);
  const json = ok200(response, `POST /v0/sign_in/token (${where})`);
  if (where === 'form') {
    assert.match(response.curl, /Content-Type: application\/x-www-form-urlencoded/);
    assert.ok(response.curl.includes(`assertion=${assertion}`), `the form carries the assertion: ${response.curl}`);
    assert.ok(!response.curl.includes('token?'), `no query string: ${response.curl}`);
  } else {
    assert.ok(response.curl.includes(`assertion=${assertion}`), `the query carries the assertion: ${response.curl}`);
  }
  const token = json.data.access_token;
  const claims = claimsOf(token);
  assert.equal(claims.service_account_id, DEMO.serviceAccountId);
  assert.equal(claims.version, 'V0');
  return token;
}

/**
 * F: POST /oauth/token, client_credentials with the demo client's id and secret in the form
 * (client_secret_post), as the form's fields show them.
 */
async function oauthToken(page) {
  const op = operation(page, 'oauth_token-token');
  await tryItOut(op);
  const field = (name) => op.locator(`tr[data-property-name="${name}"] input[type="text"]`);
  await field('grant_type').fill('client_credentials');
  await field('client_id').fill(DEMO.clientId);
  await field('client_secret').fill(DEMO.clientSecret);
  const response = await execute(op);
  await screenshot(op, 'F-oauth-token');
  const json = ok200(response, 'POST /oauth/token');
  assert.equal(json.token_type, 'Bearer');
  assert.equal(claimsOf(json.access_token).client_id, DEMO.clientId);
  return json.access_token;
}

/**
 * The tag sections: one a scheme, named by it, in the scheme list's order, then the service
 * groups; the admin group's description shows the header it needs as written (Markdown would
 * swallow a raw `<admin token>` as an HTML tag).
 */
async function tagSections(page) {
  const shown = await page.locator('h3.opblock-tag').evaluateAll((headings) => headings.map((h) => h.dataset.tag));
  assert.deepEqual(shown, TAGS, 'the tag sections, in order');
  const names = await page.locator('h3.opblock-tag a.nostyle span').allInnerTexts();
  assert.deepEqual(names.map((name) => name.trim()), TAGS, 'the tag headings read as the names');
  const admin = await page.locator('h3.opblock-tag[data-tag="admin"] small').innerText();
  assert.ok(admin.includes('Authorization: Bearer <admin token>'), `the admin tag says: ${admin}`);
}

/** No "Servers" selector anywhere: the document declares no servers. */
async function noServerSelector(page, when) {
  const selectors = await page.locator('.servers, .servers-title, .operation-servers').count();
  assert.equal(selectors, 0, `no server selector ${when}`);
  const labels = await page.getByText('Servers', { exact: true }).count();
  assert.equal(labels, 0, `no "Servers" label ${when}`);
}

/**
 * The Authorize dialog, opened from the top of the page: every security scheme in the expected
 * order, opened at its top with the first scheme in view and its input focused.
 */
async function authorizeDialog(page) {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  await dialog.waitFor();
  const names = await dialog.locator('.auth-container h4 code').allInnerTexts();
  assert.deepEqual(names.map((name) => name.trim()), SECURITY_SCHEMES, 'the schemes, in order');
  const content = dialog.locator('.modal-ux-content');
  assert.equal(await content.evaluate((element) => element.scrollTop), 0, 'the dialog opens at its top');
  const box = await content.boundingBox();
  const first = await dialog.locator('.auth-container h4').first().boundingBox();
  assert.ok(first.y >= box.y && first.y + first.height <= box.y + box.height,
    `the first scheme is in view: ${JSON.stringify({ first, box })}`);
  const focused = await dialog.locator('input').first().evaluate((input) => input === document.activeElement);
  assert.ok(focused, "the first scheme's input has the focus");
  await screenshot(dialog, 'authorize-dialog');
  await dialog.locator('button.close-modal').click();
  await dialog.waitFor({ state: 'detached' });
}

/** Opens Authorize, logs out of every scheme, pastes `token` into `scheme`, closes the dialog. */
async function authorize(page, scheme, token, label) {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  await dialog.waitFor();
  const logouts = dialog.locator('.auth-container button', { hasText: 'Logout' });
  while ((await logouts.count()) > 0) {
    await logouts.first().click();
  }
  const container = dialog.locator('.auth-container').filter({
    has: page.locator('h4', { hasText: new RegExp(`^${scheme}\\s*\\(`) }),
  });
  await container.locator('input').fill(token);
  await container.locator('button.authorize').click();
  await container.locator('button', { hasText: 'Logout' }).waitFor();
  await screenshot(dialog, `${label}-authorize-${scheme}`);
  await dialog.locator('button.close-modal').click();
  await dialog.waitFor({ state: 'detached' });
}

/** GET /v1/me with "Try it out" (expanded once, then executed again): the token's claims. */
async function me(page, token, sent, label) {
  const op = operation(page, 'tokens-me');
  if ((await op.locator('button.execute').count()) === 0) {
    await tryItOut(op);
  }
  const response = await execute(op);
  await screenshot(op, `${label}-v1-me`);
  const shown = ok200(response, `GET /v1/me (${label})`);
  assert.ok(response.curl.includes(sent), `the request carries ${sent}: ${response.curl}`);
  const claims = claimsOf(token);
  assert.equal(shown.jti, claims.jti, 'the claims shown are those of the pasted token');
  assert.equal(shown.sub, claims.sub);
  assert.equal(shown.client_id, DEMO.clientId);
  return shown;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  timeout: TIMEOUT_MS,
  // No sandbox (CI runs as root); no background networking: this network reaches no Google host.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
try {
  page.setDefaultTimeout(TIMEOUT_MS);
  page.setDefaultNavigationTimeout(TIMEOUT_MS);
  await page.goto(`${BASE_URL}/swagger-ui/`);
  await page.locator('[id="operations-token_create-create_token"]').waitFor();
  assert.match(await page.locator('.info .title').innerText(), /tokenmint/);
  await tagSections(page);
  await noServerSelector(page, 'on the page');
  await screenshot(page, 'swagger-ui');
  await authorizeDialog(page);

  const tokens = {
    A: await tokenCreate(page),
    'B-get': await authJwt(page, 'get'),
    'B-post': await authJwt(page, 'post'),
    C: await apiKey(page),
    E: await signIn(page, 'query', DEMO.assertions[0]),
    'E-form': await signIn(page, 'form', DEMO.assertions[1]),
    F: await oauthToken(page),
  };
  await noServerSelector(page, 'in the operations tried out');

  // Each token through the Authorize dialog, in the form its route documents: Bearer for A, B
  // and E; bare (`Authorization: <jwt>`) for C, as GET /clients/authorization's description says.
  const forms = {
    A: 'access_token', 'B-get': 'access_token', 'B-post': 'access_token', C: 'access_token_bare',
    E: 'access_token', 'E-form': 'access_token', F: 'access_token',
  };
  for (const [label, token] of Object.entries(tokens)) {
    const scheme = forms[label];
    await authorize(page, scheme, token, label);
    const sent = scheme === 'access_token' ? `Authorization: Bearer ${token}` : `Authorization: ${token}`;
    const claims = await me(page, token, sent, label);
    console.log(`${label}: GET /v1/me shows sub=${claims.sub} client_id=${claims.client_id}`);
  }
  // The third documented form, ?jwt=, through the access_token_query scheme.
  await authorize(page, 'access_token_query', tokens.A, 'A-query');
  await me(page, tokens.A, `/v1/me?jwt=${tokens.A}`, 'A-query');
  console.log('all Swagger UI steps passed');
} catch (error) {
  failed = true;
  console.error(error);
  await screenshot(page, 'failure').catch((e) => console.error(`no failure screenshot: ${e}`));
} finally {
  await browser.close();
  console.log(`screenshots: ${SCREENSHOTS}`);
}
process.exit(failed ? 1 : 0);
