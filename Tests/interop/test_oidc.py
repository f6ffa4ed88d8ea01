"""OIDC bearer tokens on the real uploader binary (issue 15 item 3), over real sockets.

A small OpenID provider (discovery document + JWKS, Python's http.server on a free port) serves
keys made here with `cryptography`; tokens are minted with PyJWT, a client library we did not
write. The uploader is started like a deployment, with UPLOADER_OIDC_* in its environment."""
import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import API_KEY

AUDIENCE = "api://mediapipeline-interop"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 100


class SigningKey:
    """An RSA (RS256) or P-256 (ES256) key and its public JWK."""

    def __init__(self, kid, kind="RS256"):
        self.kid, self.alg = kid, kind
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
            self.jwk["alg"] = "ES256"
        self.jwk.update(kid=kid, use="sig")

    def sign(self, claims, kid=None):
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": kid or self.kid})

    def public_pem(self):
        return self.private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class IdP:
    """Discovery at /.well-known/openid-configuration, the JWKS at /keys; counts requests."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.requests = {"discovery": 0, "jwks": 0}
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    idp.requests["discovery"] += 1
                    body = {"issuer": idp.issuer, "jwks_uri": idp.issuer + "/keys"}
                elif self.path == "/keys":
                    idp.requests["jwks"] += 1
                    body = {"keys": [k.jwk for k in idp.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def claims(self, **changes):
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "user-" + uuid.uuid4().hex[:8], "aud": AUDIENCE, "exp": now + 600,
                  "nbf": now - 10, "iat": now - 10, "tid": TENANT}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header, claims, secret=None):
    """A token PyJWT refuses to make: `alg: none`, or HS256 keyed with a public key (the attacks)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64url(signature)}"


@pytest.fixture
def idp():
    server = IdP([SigningKey("rsa-1"), SigningKey("ec-1", "ES256")])
    yield server
    server.close()


def oidc_stack(make_stack, idp, **settings):
    return make_stack(UPLOADER_OIDC_ISSUER=idp.issuer, UPLOADER_OIDC_AUDIENCE=AUDIENCE,
                      UPLOADER_OIDC_JWKS_REFRESH_MIN_SECONDS="2", **settings)


def upload(stack, headers):
    return requests.post(f"{stack.uploader.url}/upload", data=PNG,
                         headers={"Content-Type": "application/octet-stream", **headers}, timeout=30)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_valid_tokens_upload_and_read_their_job(make_stack, idp):
    stack = oidc_stack(make_stack, idp)
    for key in idp.keys:
        token = key.sign(idp.claims())
        r = upload(stack, bearer(token))
        assert r.status_code == 202, r.text
        job = r.json()["jobId"]
        status = requests.get(f"{stack.uploader.url}/jobs/{job}", headers=bearer(token), timeout=30)
        assert status.status_code == 200 and status.json()["status"] == "queued", status.text
    assert len(stack.raw_blobs()) == 2
    for _ in range(5):
        assert upload(stack, bearer(idp.keys[0].sign(idp.claims()))).status_code == 202
    assert idp.requests == {"discovery": 1, "jwks": 1}


def test_every_bad_token_gets_the_wrong_key_401_byte_for_byte(make_stack, idp):
    stack = oidc_stack(make_stack, idp)
    wrong_key = upload(stack, {"X-API-Key": "not-a-key"})
    assert wrong_key.status_code == 401
    rsa_key, ec_key = idp.keys
    now = int(time.time())
    outsider = SigningKey("rsa-1")  # unpublished key under a published kid
    bad = {
        "wrong audience": rsa_key.sign(idp.claims(aud="api://someone-else")),
        "wrong issuer": rsa_key.sign(idp.claims(iss=idp.issuer + "/v2.0")),
        "expired beyond skew": rsa_key.sign(idp.claims(exp=now - 90)),
        "not yet valid beyond skew": ec_key.sign(idp.claims(nbf=now + 120)),
        "no tenant": rsa_key.sign(idp.claims(tid=None)),
        "invalid tenant": rsa_key.sign(idp.claims(tid="../../etc")),
        "unknown kid": rsa_key.sign(idp.claims(), kid="no-such-key"),
        "forged signature": outsider.sign(idp.claims()),
        "alg none": handmade({"alg": "none", "kid": "rsa-1"}, idp.claims()),
        "HS256 with the public key": handmade({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, idp.claims(), rsa_key.public_pem()),
        "RS384": jwt.encode(idp.claims(), rsa_key.private, algorithm="RS384", headers={"kid": "rsa-1"}),
    }
    for reason, token in bad.items():
        r = upload(stack, bearer(token))
        assert r.status_code == 401, reason
        assert r.content == wrong_key.content, reason
        assert r.headers.get("WWW-Authenticate") == wrong_key.headers.get("WWW-Authenticate"), reason
    # within skew is fine
    assert upload(stack, bearer(rsa_key.sign(idp.claims(exp=now - 20)))).status_code == 202
    assert len(stack.raw_blobs()) == 1


def test_a_rotated_key_works_and_junk_kids_do_not_hammer_the_idp(make_stack, idp):
    stack = oidc_stack(make_stack, idp)
    old = idp.keys[0]
    assert upload(stack, bearer(old.sign(idp.claims()))).status_code == 202
    assert idp.requests["jwks"] == 1
    for i in range(15):
        assert upload(stack, bearer(old.sign(idp.claims(), kid=f"junk-{i}"))).status_code == 401
    assert idp.requests["jwks"] <= 2, idp.requests
    time.sleep(2.2)  # past UPLOADER_OIDC_JWKS_REFRESH_MIN_SECONDS since the last fetch
    new = SigningKey("rotated-2026-11", "ES256")
    idp.keys = [new]
    fetched = idp.requests["jwks"]
    r = upload(stack, bearer(new.sign(idp.claims())))
    assert r.status_code == 202, r.text
    assert idp.requests["jwks"] == fetched + 1


def test_api_keys_still_work_beside_tokens(make_stack, idp):
    stack = oidc_stack(make_stack, idp)
    assert upload(stack, {"X-API-Key": API_KEY}).status_code == 202
    assert upload(stack, bearer(API_KEY)).status_code == 202
    assert upload(stack, bearer(idp.keys[0].sign(idp.claims()))).status_code == 202
    assert len(stack.raw_blobs()) == 3


def test_required_role_and_tokens_only(make_stack, idp):
    stack = oidc_stack(make_stack, idp, UPLOADER_API_KEYS="", UPLOADER_OIDC_REQUIRED_ROLE="Media.Upload")
    key = idp.keys[0]
    assert upload(stack, {"X-API-Key": API_KEY}).status_code == 401
    assert upload(stack, bearer(key.sign(idp.claims()))).status_code == 401
    assert upload(stack, bearer(key.sign(idp.claims(roles=["Media.Read"], scp="openid")))).status_code == 401
    assert upload(stack, bearer(key.sign(idp.claims(roles=["Media.Upload"])))).status_code == 202
    assert upload(stack, bearer(key.sign(idp.claims(scp="openid Media.Upload")))).status_code == 202


def test_a_tokens_tenant_owns_its_jobs_and_metrics_name_only_listed_tenants(make_stack, idp):
    listed = "11111111-2222-3333-4444-555555555555"
    stack = oidc_stack(make_stack, idp, UPLOADER_METRICS_TENANTS=listed)
    ours = bearer(idp.keys[0].sign(idp.claims()))
    r = upload(stack, ours)
    assert r.status_code == 202, r.text
    job = r.json()["jobId"]
    # The token's tenant sees it (also with another user's token of the same tenant) and lists it;
    # another tenant's token and an API key (its own tenant) get an unknown id's 404.
    same_tenant = bearer(idp.keys[1].sign(idp.claims()))
    assert requests.get(f"{stack.uploader.url}/jobs/{job}", headers=same_tenant, timeout=30).status_code == 200
    assert [j["jobId"] for j in requests.get(f"{stack.uploader.url}/jobs", headers=ours, timeout=30).json()["jobs"]] == [job]
    for other in (bearer(idp.keys[0].sign(idp.claims(tid="other-tenant"))), {"X-API-Key": API_KEY}):
        assert requests.get(f"{stack.uploader.url}/jobs/{job}", headers=other, timeout=30).status_code == 404
        assert requests.get(f"{stack.uploader.url}/jobs", headers=other, timeout=30).json()["jobs"] == []
    assert upload(stack, bearer(idp.keys[0].sign(idp.claims(tid=listed)))).status_code == 202
    metrics = requests.get(f"{stack.uploader.url}/metrics", timeout=30).text
    tenants = set(re.findall(r'uploader_uploads_total\{[^}]*tenant="([^"]+)"', metrics))
    assert tenants == {"oidc", listed}, tenants  # TENANT is not listed: aggregated
