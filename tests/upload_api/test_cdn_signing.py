"""Signed delivery: URLs verified with the public key by CloudFront's documented algorithm (the policy
JSON, RSA-SHA1 over it, CloudFront's URL-safe base64), not merely produced; an expired or edited URL fails
that check; one signature covers every variant of an image; the secret names the active key pair and is
re-read every few minutes, so a rotation needs no deploy and a failed re-read keeps the current key."""

from __future__ import annotations

import base64
import fnmatch
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from local_runner.inputs import camera_jpeg
from local_runner.issuer import LocalIssuer
from photo_contract.signing import CdnSigningKey
from upload_api.cdn_signing import CdnSigner

from tests.upload_api.conftest import OUTPUTS, HttpRuntime, LambdaRuntime, Runtime

CDN = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"


def _cloudfront_b64decode(text: str) -> bytes:
    # CloudFront's URL-safe alphabet: '-' for '+', '_' for '=', '~' for '/'.
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify(url: str, public_key: rsa.RSAPublicKey, *, now: float, key_pair_id: str = KEY_PAIR_ID) -> str:
    """'ok', or why CloudFront would refuse the URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if query.get("Key-Pair-Id") != [key_pair_id]:
        return "unknown key pair"
    policy = _cloudfront_b64decode(query["Policy"][0])
    try:
        public_key.verify(
            _cloudfront_b64decode(query["Signature"][0]), policy, padding.PKCS1v15(), hashes.SHA1()
        )
    except InvalidSignature:
        return "bad signature"
    (statement,) = json.loads(policy)["Statement"]
    if not fnmatch.fnmatchcase(f"{parts.scheme}://{parts.netloc}{parts.path}", statement["Resource"]):
        return "resource not covered"
    if now >= statement["Condition"]["DateLessThan"]["AWS:EpochTime"]:
        return "expired"
    return "ok"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _active(key: rsa.RSAPrivateKey, key_pair_id: str = KEY_PAIR_ID) -> CdnSigningKey:
    return CdnSigningKey(key_pair_id=key_pair_id, private_key_pem=_pem(key))


def test_a_rotation_takes_effect_at_the_next_refresh_and_a_failed_refresh_keeps_the_current_key(
    key: rsa.RSAPrivateKey,
) -> None:
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    secret = {"value": _active(key).to_secret(), "fail": False}
    clock = {"now": 0.0}

    def load() -> CdnSigningKey:
        if secret["fail"]:
            raise ConnectionError("Secrets Manager unreachable")
        return CdnSigningKey.from_secret(str(secret["value"]))

    signer = CdnSigner(load_key=load, ttl_seconds=600, refresh_seconds=300, clock=lambda: clock["now"])
    prefix = f"{CDN}/images/alice/0123/v1/"

    def url() -> str:
        return f"{prefix}w1080.jpg?{signer.query_for_prefix(prefix, now=datetime.now(UTC))}"

    assert verify(url(), key.public_key(), now=time.time()) == "ok"
    # The operator added the new public key to the group and points the secret at it.
    secret["value"] = _active(new_key, "K3NEWKEY").to_secret()
    clock["now"] = 299.0
    assert verify(url(), key.public_key(), now=time.time()) == "ok"  # not yet re-read
    clock["now"] = 300.0
    assert verify(url(), new_key.public_key(), now=time.time(), key_pair_id="K3NEWKEY") == "ok"
    # A failing re-read keeps signing with the key in hand (still in the group) instead of failing.
    secret["fail"] = True
    clock["now"] = 700.0
    assert verify(url(), new_key.public_key(), now=time.time(), key_pair_id="K3NEWKEY") == "ok"


def test_a_secret_that_names_no_key_pair_is_refused_clearly(key: rsa.RSAPrivateKey) -> None:
    for value in (_pem(key), json.dumps({"private_key_pem": _pem(key)}), json.dumps({"key_pair_id": "K1"})):
        with pytest.raises(ValueError, match="CDN signing secret"):
            CdnSigningKey.from_secret(value)
    signer = CdnSigner(load_key=lambda: CdnSigningKey.from_secret(_pem(key)), ttl_seconds=600)
    with pytest.raises(ValueError, match="CDN signing secret"):  # no key yet: nothing to fall back on
        signer.query_for_prefix(f"{CDN}/images/a/", now=datetime.now(UTC))


def test_a_signed_url_verifies_and_edits_or_expiry_break_it(key: rsa.RSAPrivateKey) -> None:
    loads: list[int] = []
    signer = CdnSigner(load_key=lambda: loads.append(1) or _active(key), ttl_seconds=600)
    prefix = f"{CDN}/images/alice/0123/v1/"
    query = signer.query_for_prefix(prefix, now=datetime.now(UTC))
    url = f"{prefix}w1080.jpg?{query}"
    now = time.time()
    assert verify(url, key.public_key(), now=now) == "ok"
    assert verify(f"{prefix}thumb150.jpg?{query}", key.public_key(), now=now) == "ok"  # the same signature
    assert verify(url.replace("/alice/", "/bob/"), key.public_key(), now=now) == "resource not covered"
    assert verify(url, key.public_key(), now=now + 601) == "expired"
    tampered = url.replace("Policy=", "Policy=e")
    assert verify(tampered, key.public_key(), now=now) != "ok"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert verify(url, other.public_key(), now=now) == "bad signature"
    signer.query_for_prefix(f"{CDN}/images/alice/0456/v1/", now=datetime.now(UTC))
    assert loads == [1]  # the secret is not read per signature


def test_signing_a_twenty_image_post_costs_twenty_signatures(key: rsa.RSAPrivateKey) -> None:
    calls: list[bytes] = []
    signer = CdnSigner(load_key=lambda: _active(key), ttl_seconds=600)
    inner = signer._cloudfront_signer()
    original = inner.rsa_signer
    inner.rsa_signer = lambda message: calls.append(message) or original(message)
    now = datetime.now(UTC)
    for n in range(20):
        signer.query_for_prefix(f"{CDN}/images/alice/{n:04d}/v1/", now=now + timedelta(seconds=n))
    assert len(calls) == 20


@pytest.fixture(scope="module")
def signed_runtimes(settings: Any, s3_endpoint: str, key: rsa.RSAPrivateKey) -> Iterator[dict[str, Runtime]]:
    secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=s3_endpoint)
    secrets.create_secret(Name="cdn-signing-key", SecretString=_active(key).to_secret())
    signed = settings.with_contract(public_media_base_url=CDN, cdn_signing_secret="cdn-signing-key")
    http = HttpRuntime(signed)
    yield {"lambda": LambdaRuntime(signed), "http": http}
    http.stop()


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_ready_images_carry_signed_urls_that_verify(
    signed_runtimes: dict[str, Runtime],
    issuer: LocalIssuer,
    worker: Any,
    key: rsa.RSAPrivateKey,
    runtime: str,
) -> None:
    api = signed_runtimes[runtime]
    token = issuer.token(f"signed-{runtime}")
    photo = camera_jpeg("s.jpg", (800, 600)).data
    reply = api.call(
        "POST",
        "/v1/uploads",
        token=token,
        body=json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": len(photo)}]}),
    )
    ticket = reply.body["uploads"][0]
    httpx.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("s.jpg", photo)})
    worker(ticket["upload"]["fields"]["key"])
    image = api.call("GET", f"/v1/images/{ticket['image_id']}", token=token).body
    urls = [v["url"] for v in image["variants"]]
    assert len(urls) == OUTPUTS and all(u.startswith(f"{CDN}/images/") for u in urls)
    assert all(verify(u, key.public_key(), now=time.time()) == "ok" for u in urls)
    assert len({urlsplit(u).query for u in urls}) == 1  # signed once for the image
