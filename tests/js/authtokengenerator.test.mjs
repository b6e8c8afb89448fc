// The AuthToken generator module under Node's test runner, against a running tokenmint.
//
// Started by tests/api/authtoken/generator_js.rs (`cargo test`), which arranges an approved JWT
// credential and passes: TOKENMINT_SDK_URL (the module's URL on the service), AUTHTOKEN_KEY and
// AUTHTOKEN_SECRET. The module is fetched from the service, exactly as a page would load it, and
// imported through a data: URL.

import { test, before } from "node:test";
import assert from "node:assert/strict";

const { TOKENMINT_SDK_URL, AUTHTOKEN_KEY, AUTHTOKEN_SECRET } = process.env;

let generator;

before(async () => {
  assert.ok(TOKENMINT_SDK_URL && AUTHTOKEN_KEY && AUTHTOKEN_SECRET,
    "set TOKENMINT_SDK_URL, AUTHTOKEN_KEY and AUTHTOKEN_SECRET (cargo test does)");
  const response = await fetch(TOKENMINT_SDK_URL);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/javascript/);
  const source = await response.text();
  generator = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
});

function assertAuthToken(result) {
  assert.equal(typeof result.authToken, "string");
  assert.equal(result.authToken.split(".").length, 3);
  assert.equal(typeof result.expiresIn, "number");
  assert.ok(result.expiresIn > 0);
  assert.ok(!Number.isNaN(Date.parse(result.expiresAt)));
}

test("the module exports exactly generate and refresh", () => {
  assert.deepEqual(Object.keys(generator).sort(), ["generate", "refresh"]);
});

test("generate returns an AuthToken for a valid key and secret", async () => {
  assertAuthToken(await generator.generate(AUTHTOKEN_KEY, AUTHTOKEN_SECRET));
});

test("generate rejects a wrong secret with status 401 and the service's message", async () => {
  await assert.rejects(generator.generate(AUTHTOKEN_KEY, "wrong-secret"), (error) => {
    assert.ok(error instanceof Error);
    assert.equal(error.status, 401);
    assert.equal(error.code, "invalid_credentials");
    assert.match(error.message, /invalid/);
    return true;
  });
});

test("refresh returns a new AuthToken for one from generate", async () => {
  const first = await generator.generate(AUTHTOKEN_KEY, AUTHTOKEN_SECRET);
  const renewed = await generator.refresh(first.authToken);
  assertAuthToken(renewed);
  assert.notEqual(renewed.authToken, first.authToken);
});

test("refreshing the same AuthToken twice is rejected the second time", async () => {
  const { authToken } = await generator.generate(AUTHTOKEN_KEY, AUTHTOKEN_SECRET);
  await generator.refresh(authToken);
  await assert.rejects(generator.refresh(authToken), (error) => {
    assert.equal(error.status, 401);
    assert.match(error.message, /already refreshed/);
    return true;
  });
});
