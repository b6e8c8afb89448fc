#!/usr/bin/env python3
"""A third-party backend's side of POST /v0/sign_in/token, written with PyJWT.

Builds a service-account assertion the way the Sign-in Service documents it (RS256, signed with
the service account's private key), exchanges it as a form body, and prints one JSON line:
{"status": <HTTP status>, "body": <response JSON>}. Exits 0 whatever the status, so the caller
judges the outcome. `--now` fixes `iat`/`exp`, so a test can pin time to the service's clock.

Usage: sign_in_assertion.py --url http://127.0.0.1:8080 --key-file key.pem \
           --service-account-id ID --sub user@example.com --now 1700000000 \
           [--scope S]... [--icn ICN] [--jti JTI]
"""

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt  # PyJWT, with the `cryptography` package for RS256

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the service's base URL")
    parser.add_argument("--key-file", required=True, help="RSA private key, PEM")
    parser.add_argument("--service-account-id", required=True)
    parser.add_argument("--sub", required=True)
    parser.add_argument("--now", type=int, required=True, help="epoch seconds for iat")
    parser.add_argument("--scope", action="append", default=[])
    parser.add_argument("--icn")
    parser.add_argument("--jti", default=None)
    args = parser.parse_args()

    token_url = args.url.rstrip("/") + "/v0/sign_in/token"
    claims = {
        "iss": args.service_account_id,
        "sub": args.sub,
        "aud": token_url,
        "iat": args.now,
        "exp": args.now + 300,
        "scopes": args.scope,
        "service_account_id": args.service_account_id,
        "jti": args.jti or uuid.uuid4().hex,
        "user_attributes": {"icn": args.icn} if args.icn else {},
    }
    with open(args.key_file, "rb") as key_file:
        private_key = key_file.read()
    assertion = jwt.encode(claims, private_key, algorithm="RS256")

    form = urllib.parse.urlencode({"grant_type": GRANT_TYPE, "assertion": assertion})
    request = urllib.request.Request(token_url, data=form.encode(), method="POST")
    # The service is local: never route through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    print(json.dumps({"status": status, "body": json.loads(body)}))


if __name__ == "__main__":
    main()
