// tokenmint AuthToken generator: generate(key, secret) and refresh(oldAuthToken).
//
// A dependency-free ES module (browsers and Node 18+, anything with fetch). The service serves it
// at GET /sdk/authtokengenerator.js with its own public URL filled in below, so
//
//   import { generate, refresh } from "https://auth.example.com/sdk/authtokengenerator.js";
//   const { authToken, expiresIn, expiresAt } = await generate(key, secret);
//   const renewed = await refresh(authToken); // once per token, even after it expired
//
// Both return a promise of {authToken, expiresIn, expiresAt} and reject with an Error whose
// `status` is the HTTP status (0 when the service could not be reached), `message` the service's
// message and `code` its error code (e.g. "invalid_credentials"). Keep the secret out of pages
// served to untrusted users: anyone who has it can generate tokens.

const BASE_URL = "__TOKENMINT_PUBLIC_URL__";

class AuthTokenError extends Error {
  constructor(status, message, code) {
    super(message);
    this.name = "AuthTokenError";
    this.status = status;
    this.code = code;
  }
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(BASE_URL + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (cause) {
    throw new AuthTokenError(0, `cannot reach ${BASE_URL}: ${cause && cause.message}`, "unreachable");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (_) {
    payload = null;
  }
  if (!response.ok) {
    const message = (payload && payload.message) || `HTTP ${response.status}`;
    throw new AuthTokenError(response.status, message, payload && payload.error);
  }
  if (!payload || typeof payload.authToken !== "string") {
    throw new AuthTokenError(response.status, "the response carries no authToken", "bad_response");
  }
  return {
    authToken: payload.authToken,
    expiresIn: payload.expiresIn,
    expiresAt: payload.expiresAt,
  };
}

/**
 * Generates a new AuthToken for a JWT credential.
 * @param {string} key the credential's key
 * @param {string} secret the credential's secret
 * @returns {Promise<{authToken: string, expiresIn: number, expiresAt: string}>}
 */
export async function generate(key, secret) {
  return post("/auth/authtoken", { key, secret });
}

/**
 * Regenerates an AuthToken, also after it expired (within the service's refresh window).
 * Each token can be refreshed once: keep the new one.
 * @param {string} oldAuthToken an AuthToken from generate or refresh
 * @returns {Promise<{authToken: string, expiresIn: number, expiresAt: string}>}
 */
export async function refresh(oldAuthToken) {
  return post("/auth/authtoken/refresh", { authToken: oldAuthToken });
}
