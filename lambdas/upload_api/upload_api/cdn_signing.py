"""CloudFront signed URLs for the ``signed`` delivery mode: one custom policy per image, with a wildcard
over that image's variant prefix, so a 20-image post costs 20 RSA signatures, not 60.

botocore's ``CloudFrontSigner`` builds the policy and the URL (CloudFront's documented encoding); the
private key is read from Secrets Manager once per container, on first use, and kept in memory only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KeyLoader = Callable[[], str]  # -> the PEM of the private key


def secrets_manager_key(secrets: Any, secret_id: str) -> KeyLoader:
    def load() -> str:
        value: str = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
        return value

    return load


class CdnSigner:
    def __init__(self, *, key_pair_id: str, load_key: KeyLoader, ttl_seconds: int) -> None:
        if ttl_seconds < 1:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self._key_pair_id = key_pair_id
        self._load_key = load_key
        self._ttl = timedelta(seconds=ttl_seconds)
        self._signer: CloudFrontSigner | None = None
        self._lock = threading.Lock()

    def _cloudfront_signer(self) -> CloudFrontSigner:
        with self._lock:
            if self._signer is None:
                key = serialization.load_pem_private_key(self._load_key().encode(), password=None)
                if not isinstance(key, rsa.RSAPrivateKey):
                    raise ValueError("the CloudFront signing key must be an RSA key")

                def rsa_sign(message: bytes) -> bytes:
                    return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm

                self._signer = CloudFrontSigner(self._key_pair_id, rsa_sign)
            return self._signer

    def query_for_prefix(self, prefix_url: str, *, now: datetime) -> str:
        """The query string (Policy, Signature, Key-Pair-Id) valid for every URL under ``prefix_url``."""
        signer = self._cloudfront_signer()
        policy = signer.build_policy(f"{prefix_url}*", now + self._ttl)
        signed = signer.generate_presigned_url(prefix_url, policy=policy)
        return signed.split("?", 1)[1]
