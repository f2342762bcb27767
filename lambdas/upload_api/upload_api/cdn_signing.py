"""CloudFront signed URLs for the ``signed`` delivery mode: one custom policy per image, with a wildcard
over that image's variant prefix, so a 20-image post costs 20 RSA signatures, not 60.

botocore's ``CloudFrontSigner`` builds the policy and the URL (CloudFront's documented encoding); the
secret (which names the active key pair) is read from Secrets Manager on first use and again every five
minutes, so a key rotation needs no deploy of the API; the key is kept in memory only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from photo_contract.signing import CdnSigningKey

logger = logging.getLogger(__name__)

# A rotation rewrites the secret (photo_contract.signing); every container re-reads it this often.
REFRESH_SECONDS = 300.0

KeyLoader = Callable[[], CdnSigningKey]


def secrets_manager_key(secrets: Any, secret_id: str) -> KeyLoader:
    def load() -> CdnSigningKey:
        return CdnSigningKey.from_secret(secrets.get_secret_value(SecretId=secret_id)["SecretString"])

    return load


class CdnSigner:
    def __init__(
        self,
        *,
        load_key: KeyLoader,
        ttl_seconds: int,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self._load_key = load_key
        self._ttl = timedelta(seconds=ttl_seconds)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._signer: CloudFrontSigner | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _cloudfront_signer(self) -> CloudFrontSigner:
        with self._lock:
            stale = self._clock() - self._loaded_at >= self._refresh_seconds
            if self._signer is None or stale:
                try:
                    self._signer = _signer_for(self._load_key())
                except Exception:
                    if self._signer is None:
                        raise
                    # Keep signing with the key we have (still in the key group) while a refresh fails.
                    logger.warning(
                        "CDN signing key refresh failed; the current key stays in use", exc_info=True
                    )
                self._loaded_at = self._clock()
            return self._signer

    def query_for_prefix(self, prefix_url: str, *, now: datetime) -> str:
        """The query string (Policy, Signature, Key-Pair-Id) valid for every URL under ``prefix_url``."""
        signer = self._cloudfront_signer()
        policy = signer.build_policy(f"{prefix_url}*", now + self._ttl)
        signed = signer.generate_presigned_url(prefix_url, policy=policy)
        return signed.split("?", 1)[1]


def _signer_for(signing_key: CdnSigningKey) -> CloudFrontSigner:
    key = serialization.load_pem_private_key(signing_key.private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the CloudFront signing key must be an RSA key")

    def rsa_sign(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm

    return CloudFrontSigner(signing_key.key_pair_id, rsa_sign)
