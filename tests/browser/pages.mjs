// tokenmint's web pages in a real browser: Debian's headless Chromium, driven by playwright-core,
// opens each page under the service's own Content-Security-Policy and checks that it renders
// with its stylesheet and without a single console error (a CSP violation is one), saves a
// screenshot, then runs axe-core on it and fails on any serious or critical violation.
//
// Run by tests/api/web_browser.rs against a running service; plain node, exits 1 on the first
// failed assertion. Inputs (environment):
//   TOKENMINT_URL      the service's base URL
//   PAGES              the paths to check without signing in, comma-separated (e.g. "/,/portal")
//   CLIENT_ID, CLIENT_SECRET   a client to sign in to the portal with, through its form; the
//                      pages behind the sign-in (PORTAL_PAGES) are then checked the same way
//   PORTAL_PAGES       the portal's paths to check once signed in, comma-separated
//   CONSOLE_PAGES      the console's paths to check once signed in with ADMIN_TOKEN
//   SECOND_URL         a second instance of the service over the same database, where the
//                      portal session continues
//   ADMIN_TOKEN, API_GROUP   reference/003's process is walked through too, in two browser
//                      contexts: the developer asks for API_GROUP, the administrator signs in to
//                      the console and approves it with a note, the developer reads the decision
//                      and generates a key and secret, which then get an AuthToken from
//                      POST /auth/authtoken
//   SCREENSHOT_DIR     where to write one PNG per page (created if missing)
//   BROWSER_DEPS       the folder holding node_modules/{playwright-core,axe-core} (npm ci here)
//   CHROMIUM           the browser binary (default /usr/bin/chromium)

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
const list = (value) => (value || '').split(',').map((p) => p.trim()).filter(Boolean);
const PAGES = list(env('PAGES'));
const PORTAL_PAGES = list(process.env.PORTAL_PAGES);
const CONSOLE_PAGES = list(process.env.CONSOLE_PAGES);
const CLIENT = { id: env('CLIENT_ID'), secret: env('CLIENT_SECRET') };
const ADMIN_TOKEN = env('ADMIN_TOKEN');
const SECOND_URL = env('SECOND_URL').replace(/\/$/, '');
const API_GROUP = env('API_GROUP');
const SCREENSHOTS = env('SCREENSHOT_DIR');
/** Generous: two shared cores, a debug build and a cold browser. */
const TIMEOUT_MS = 90_000;
/** The axe-core impacts that fail a page. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);

const require = createRequire(path.join(env('BROWSER_DEPS'), 'node_modules', '/'));
const { chromium } = require('playwright-core');
const AXE_SCRIPT = require.resolve('axe-core/axe.min.js');

mkdirSync(SCREENSHOTS, { recursive: true });

/** A file name for a path: "/" is "landing", "/portal/x" is "portal-x". */
function nameOf(pagePath) {
  const name = pagePath.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9]+/gi, '-');
  return name || 'landing';
}

/** Signs in to the portal through its form, as a developer would, in `context`. */
async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/portal`);
  await page.getByLabel('Client ID').fill(CLIENT.id);
  await page.getByLabel('Client secret').fill(CLIENT.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  try {
    await page.waitForURL(`${BASE_URL}/portal/credentials`, { timeout: 15_000 });
  } catch (error) {
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failure-sign-in.png'), fullPage: true });
    throw new Error(`sign-in did not reach the credentials page: at ${page.url()}: `
      + `${(await page.locator('main').innerText()).slice(0, 400)}`);
  }
  assert.equal(await page.locator('h1').innerText(), 'API credentials');
  assert.ok((await page.content()).indexOf(CLIENT.secret) === -1, 'the secret is never shown');
  const cookies = await context.cookies();
  const session = cookies.find((cookie) => cookie.name === 'tokenmint_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true, 'HttpOnly');
  assert.equal(session.sameSite, 'Strict', 'SameSite=Strict');
  await page.close();
}

/** Opens a page as a visitor would, under the page's own CSP: no console error, styled. */
async function visit(context, pagePath) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  const response = await page.goto(`${BASE_URL}${pagePath}`);
  assert.equal(response.status(), 200, `${pagePath} answers 200`);
  const policy = response.headers()['content-security-policy'] || '';
  assert.match(policy, /frame-ancestors 'none'/, `${pagePath}: CSP ${policy}`);
  assert.doesNotMatch(policy, /unsafe-inline/, `${pagePath}: CSP ${policy}`);
  // The stylesheet loaded under that policy: the masthead is dark, not the default transparent.
  const masthead = await page.locator('header.masthead').evaluate(
    (element) => getComputedStyle(element).backgroundColor,
  );
  assert.notEqual(masthead, 'rgba(0, 0, 0, 0)', `${pagePath}: the stylesheet applies`);
  assert.ok((await page.locator('h1').count()) === 1, `${pagePath} has one h1`);
  assert.deepEqual(errors, [], `${pagePath}: no console error (CSP violations included)`);
  const file = path.join(SCREENSHOTS, `${nameOf(pagePath)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
  await page.close();
}

/** Runs axe-core on a page (injected, which the page's CSP would refuse, so this context
 * bypasses CSP) and returns the violations that fail it. */
async function audit(context, pagePath) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}${pagePath}`);
  await page.addScriptTag({ path: AXE_SCRIPT });
  const result = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  await page.close();
  for (const violation of result.violations) {
    console.log(`axe ${pagePath}: ${violation.impact} ${violation.id}: ${violation.help} `
      + `(${violation.nodes.length} node(s))`);
  }
  console.log(`axe ${pagePath}: ${result.passes.length} rules passed, `
    + `${result.violations.length} violation(s)`);
  return result.violations.filter((violation) => FAILING_IMPACTS.has(violation.impact));
}

/** Saves a screenshot of a step of the process. */
async function shot(page, name) {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

/** reference/002 in pages: a sandbox API key from the portal, shown once, that gets a JWT from
 * GET /clients/authorization. */
async function sandboxApiKey(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/portal/credentials`);
  await page.getByRole('button', { name: 'Create a sandbox API key' }).click();
  const key = (await page.locator('#new-api-key').innerText()).trim();
  assert.match(key, /^tmk_/, `an API key: ${key.slice(0, 8)}...`);
  await shot(page, 'sandbox-api-key');
  await page.getByRole('button', { name: 'I have copied the key' }).click();
  await page.waitForURL((url) => url.pathname === '/portal/credentials');
  assert.ok(!(await page.content()).includes(key), 'the key is not shown again');
  await page.close();
  const response = await fetch(`${BASE_URL}/clients/authorization?apiKey=${encodeURIComponent(key)}`);
  assert.equal(response.status, 200, 'the sandbox key gets a JWT');
  const { jwt } = await response.json();
  assert.equal(jwt.split('.').length, 3, 'a JWT');
  console.log('reference/002 in pages: sandbox API key created, JWT issued');
}

/** The developer's session, signed in on the first instance, continues on the second (cookies
 * go to every port of a host; the session lives in the shared database). */
async function sessionOnSecondInstance(context) {
  const page = await context.newPage();
  const response = await page.goto(`${SECOND_URL}/portal/credentials`);
  assert.equal(response.status(), 200, 'the second instance serves the session');
  assert.equal(await page.locator('h1').innerText(), 'API credentials');
  await shot(page, 'second-instance');
  await page.close();
}

/** A page of another site (a `data:` page, with none of our CSP) posts the sign-out form to the
 * service with the session's right CSRF token: refused, and the session goes on. */
async function crossSitePostRefused(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/portal/credentials`);
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const target = `${BASE_URL}/portal/sign-out`;
  const html = `<!DOCTYPE html><form method="post" action="${target}">`
    + `<input name="csrf" value="${csrf}"></form>`;
  await page.goto(`data:text/html,${encodeURIComponent(html)}`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === target),
    page.evaluate(() => document.forms[0].submit()),
  ]);
  assert.equal(response.status(), 403, 'a form from another site is refused');
  await page.waitForURL(target);
  const still = await page.goto(`${BASE_URL}/portal/credentials`);
  assert.equal(still.status(), 200, 'still signed in: nothing changed');
  assert.equal(await page.locator('h1').innerText(), 'API credentials');
  await page.close();
}

/** Signs in to the console with the admin token, as an administrator would, in `context`. */
async function signInConsole(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/console`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE_URL}/console/access-requests`);
  await page.close();
}

/** The administrator's side, in the console: approves the pending request with a note. */
async function approvePendingRequest(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/console/access-requests`);
  const request = page.locator('article.request', { hasText: CLIENT.id });
  await request.getByLabel('Note').fill('Approved for the reports dashboard');
  await shot(page, 'flow-2-console');
  await request.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(`${BASE_URL}/console/access-requests`);
  assert.match(await page.locator('table').innerText(), /approved/);
  await page.close();
}

/** reference/003, the developer's side, in pages: request access, read the decision, generate
 * credentials and copy them; the pair then gets an AuthToken. */
async function reference003(context, administrator) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/portal/access`);
  await page.getByLabel(API_GROUP).check();
  await page.getByLabel('Reason').fill('Monthly reports for our schools');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.waitForURL(`${BASE_URL}/portal/access`);
  assert.match(await page.locator('table').innerText(), /pending/);
  await shot(page, 'flow-1-requested');

  await approvePendingRequest(administrator);
  await page.reload();
  assert.equal(await page.locator('.nav .badge').innerText(), '1', 'one unread notification');
  await page.getByRole('link', { name: /Notifications/ }).click();
  assert.match(await page.locator('main').innerText(), /Approved for the reports dashboard/);
  await shot(page, 'flow-3-notified');
  await page.getByRole('button', { name: 'Mark as read' }).click();
  await page.waitForURL(`${BASE_URL}/portal/notifications`);
  assert.equal(await page.locator('.nav .badge').innerText(), '0');

  await page.getByRole('link', { name: 'Generate credentials' }).click();
  await page.getByLabel('Username').fill('careers-site');
  await page.getByLabel('Notes').fill('web front end');
  await page.getByLabel(API_GROUP).check();
  await page.getByRole('button', { name: 'Generate credentials' }).click();
  const key = (await page.locator('#new-key').innerText()).trim();
  const secret = (await page.locator('#new-secret').innerText()).trim();
  assert.match(key, /^[0-9a-f]{32}$/, `a key: ${key}`);
  assert.ok(secret.length >= 32, 'a secret');
  await page.getByRole('button', { name: 'Copy secret' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'copied');
  await shot(page, 'flow-4-generated');
  await page.getByRole('button', { name: 'I have copied the key and secret' }).click();
  await page.waitForURL((url) => url.pathname === '/portal/credentials');
  const listed = await page.locator('main').innerText();
  assert.match(listed, /careers-site/);
  assert.ok(!listed.includes(secret), 'the secret is not shown again');
  await page.close();

  const response = await fetch(`${BASE_URL}/auth/authtoken`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key, secret }),
  });
  assert.equal(response.status, 200, 'the generated pair gets an AuthToken');
  const { authToken } = await response.json();
  assert.equal(authToken.split('.').length, 3, 'a JWT');
  console.log('reference/003 in pages: requested, approved, notified, generated, AuthToken issued');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  timeout: TIMEOUT_MS,
  // No sandbox (CI runs as root); no background networking: this network reaches no Google host.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const visitor = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await visitor.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
  visitor.setDefaultTimeout(TIMEOUT_MS);
  const auditor = await browser.newContext({ bypassCSP: true });
  auditor.setDefaultTimeout(TIMEOUT_MS);
  const check = async (pagePath, seeing = visitor, auditing = auditor) => {
    await visit(seeing, pagePath);
    const failing = await audit(auditing, pagePath);
    assert.deepEqual(failing.map((v) => v.id), [], `${pagePath}: no serious or critical axe violation`);
  };
  for (const pagePath of PAGES) await check(pagePath);
  await signIn(visitor);
  await signIn(auditor);
  for (const pagePath of PORTAL_PAGES) await check(pagePath);
  await sandboxApiKey(visitor);
  await sessionOnSecondInstance(visitor);
  await crossSitePostRefused(visitor);
  // The administrator: another browser (contexts share no cookie), signed in to the console.
  const administrator = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  administrator.setDefaultTimeout(TIMEOUT_MS);
  const adminAuditor = await browser.newContext({ bypassCSP: true });
  adminAuditor.setDefaultTimeout(TIMEOUT_MS);
  await signInConsole(administrator);
  await signInConsole(adminAuditor);
  for (const pagePath of CONSOLE_PAGES) await check(pagePath, administrator, adminAuditor);
  await reference003(visitor, administrator);
  console.log('session continued on the second instance; cross-site form refused');
  console.log('all page checks passed');
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await browser.close();
  console.log(`screenshots: ${SCREENSHOTS}`);
}
process.exit(failed ? 1 : 0);
