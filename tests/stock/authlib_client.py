"""Python's stock OAuth 2.0 client, Authlib, gets a client_credentials token from POST /oauth/token.

As an integrator's code would (CONTRACT.md F): Authlib's requests session authenticates with
client_secret_basic or, given a private key, with private_key_jwt (RFC 7523 §2.2: an assertion
signed with the key, `aud` the token endpoint); then authlib.jose verifies the token against the
service's JWKS: its signature, `iss`, `exp` and the header's `typ` (`at+jwt`, RFC 9068 §2.1).

Run by tests/api/stock_clients.rs (`run_authlib`) with the venv's python; exits 1 with the reason
(and the token endpoint's status and body) on stderr on any failure. Inputs (environment):
  TOKEN_URL, JWKS_URL, ISSUER    the service's token endpoint, JWK Set and issuer
  CLIENT_ID                      the client
  CLIENT_SECRET                  client_secret_basic with this secret, or
  PRIVATE_KEY_FILE, KEY_ID, KEY_ALG   private_key_jwt: the client's private key (PEM), the `kid`
                                 it is registered under and its algorithm (ES256, RS256, EdDSA)
  SCOPE                          optional, space separated
Prints one JSON object: {"token_type", "expires_in", "scope", "header", "claims"}.
"""

import json
import os
import sys
import warnings

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import import_key

# Authlib 1.9 deprecates authlib.jose for joserfc (its own successor, removed in Authlib 2.0);
# the pinned version still has it, and the warning would only clutter stderr.
warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402

# Asymmetric only: an `alg` of none or HS* must never verify.
ALGORITHMS = ["ES256", "RS256", "EdDSA"]
# The private key's JWK key type, by its signing algorithm.
KEY_TYPES = {"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}
# Seconds for each HTTP request: two shared cores and a debug build.
TIMEOUT = 60


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"authlib_client.py: {name} must be set")
    return value


def session_for(client_id, token_url):
    """The Authlib session, with client_secret_basic or private_key_jwt."""
    key_file = os.environ.get("PRIVATE_KEY_FILE")
    if not key_file:
        return OAuth2Session(
            client_id,
            env("CLIENT_SECRET"),
            token_endpoint_auth_method="client_secret_basic",
            scope=os.environ.get("SCOPE"),
        )
    alg = env("KEY_ALG")
    with open(key_file, encoding="ascii") as pem:
        # Authlib 1.9's PrivateKeyJWT signs with joserfc: it takes a joserfc key (a bare PEM
        # string would be read as RSA).
        key = import_key(pem.read(), KEY_TYPES[alg])
    session = OAuth2Session(
        client_id,
        key,
        token_endpoint_auth_method="private_key_jwt",
        scope=os.environ.get("SCOPE"),
    )
    session.register_client_auth_method(
        PrivateKeyJWT(token_url, headers={"kid": env("KEY_ID")}, alg=alg)
    )
    return session


def verify(access_token, jwks_url, issuer):
    """The token's header and claims, once authlib.jose has checked it against the JWKS."""
    response = requests.get(jwks_url, timeout=TIMEOUT)
    response.raise_for_status()
    keys = JsonWebKey.import_key_set(response.json())
    claims = JsonWebToken(ALGORITHMS).decode(
        access_token,
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "exp": {"essential": True},
        },
    )
    claims.validate()  # iss, and exp in the future
    if claims.header.get("typ") != "at+jwt":
        raise ValueError(f"header typ is {claims.header.get('typ')!r}, not 'at+jwt'")
    return dict(claims.header), dict(claims)


def main():
    token_url, jwks_url, issuer = env("TOKEN_URL"), env("JWKS_URL"), env("ISSUER")
    session = session_for(env("CLIENT_ID"), token_url)
    # The raw response, so a refusal shows the service's status and error body.
    answered = []

    def record(response):
        answered.append(response)
        return response

    session.register_compliance_hook("access_token_response", record)
    try:
        token = session.fetch_token(
            token_url, grant_type="client_credentials", timeout=TIMEOUT
        )
        header, claims = verify(token["access_token"], jwks_url, issuer)
    except Exception as err:  # whatever failed, say what and show the response
        method = session.token_endpoint_auth_method
        sent = "".join(f"\n{token_url} -> {r.status_code} {r.text}" for r in answered)
        sys.exit(f"authlib ({method}) failed: {type(err).__name__}: {err}{sent}")
    printed = {
        "token_type": token.get("token_type"),
        "expires_in": token.get("expires_in"),
        "scope": token.get("scope"),
        "header": header,
        "claims": claims,
    }
    print(json.dumps(printed))


if __name__ == "__main__":
    main()
