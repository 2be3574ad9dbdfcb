#!/usr/bin/env python3
"""Writes tests/vectors/presets/plaid.json: one Plaid webhook, signed as Plaid's docs describe.

https://plaid.com/docs/api/webhooks/webhook-verification/ : the `Plaid-Verification` header is
a JWT signed with ES256 whose header names the key (`kid`); its payload holds `iat` and
`request_body_sha256` (hex SHA-256 of the raw body). The key is the JWK that
/webhook_verification_key/get returns. Everything here is made with PyJWT and `cryptography`
(an implementation independent of hookgate's), and checked back with PyJWT the way Plaid's own
sample code does (algorithms=["ES256"], iat within 5 minutes, constant-time digest compare).
Each run makes a new key, so the file changes; any run's output is a valid vector.

    pip install --target /tmp/py pyjwt cryptography
    PYTHONPATH=/tmp/py python3 tests/vectors/make/make_plaid.py
"""
import base64, hashlib, hmac, json, os

import cryptography
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

OUT = os.path.join(os.path.dirname(__file__), "..", "presets", "plaid.json")
NOW = 1_700_000_000
KID = "bfbd5111-8e33-4643-8ced-b2e642a72f3c"  # the kid of Plaid's documented example header


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(private_key, kid):
    numbers = private_key.public_key().public_numbers()
    # Member order and the created_at / expired_at members as Plaid's endpoint returns them.
    return json.dumps({
        "alg": "ES256", "created_at": NOW - 86_400, "crv": "P-256", "expired_at": None,
        "kid": kid, "kty": "EC", "use": "sig",
        "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
    }, separators=(",", ":"))


# A webhook body as Plaid sends it: pretty-printed JSON, verified byte for byte.
body = json.dumps({
    "environment": "sandbox",
    "error": None,
    "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
    "webhook_code": "DEFAULT_UPDATE",
    "webhook_type": "TRANSACTIONS",
    "new_transactions": 3,
}, indent=2)

key = ec.generate_private_key(ec.SECP256R1())
claims = {"iat": NOW, "request_body_sha256": hashlib.sha256(body.encode()).hexdigest()}
token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})
secret = jwk(key, KID)
# The wrong key: another P-256 key published under the same kid.
wrong_secret = jwk(ec.generate_private_key(ec.SECP256R1()), KID)

# Checked back as Plaid's sample verifier does.
header = jwt.get_unverified_header(token)
assert header["alg"] == "ES256" and header["kid"] == KID, header
decoded = jwt.decode(token, jwt.PyJWK(json.loads(secret)).key, algorithms=["ES256"],
                     options={"verify_iat": False})
assert decoded["iat"] >= NOW - 5 * 60
assert hmac.compare_digest(decoded["request_body_sha256"], hashlib.sha256(body.encode()).hexdigest())
try:
    jwt.decode(token, jwt.PyJWK(json.loads(wrong_secret)).key, algorithms=["ES256"],
               options={"verify_iat": False})
    raise SystemExit("verified under the wrong key")
except jwt.InvalidSignatureError:
    pass

vector = {
    "preset": "plaid",
    "source": "docs",
    "docs": "https://plaid.com/docs/api/webhooks/webhook-verification/",
    "secret": secret,
    "method": "POST",
    "url": "/webhooks/plaid",
    "headers": {"Plaid-Verification": token},
    "body": body,
    "now": NOW,
    "expected_event_id": None,
    "note": "Plaid bodies carry no delivery id: the id is the digest of the (low-s) signature",
    "wrong_secret": wrong_secret,
    "made_with": f"PyJWT {jwt.__version__}, cryptography {cryptography.__version__}",
}
with open(OUT, "w") as f:
    json.dump(vector, f, indent=2)
    f.write("\n")
print("wrote", os.path.normpath(OUT))
