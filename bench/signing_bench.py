"""What signed delivery costs the API: signing the URLs of a 20-image post, one custom policy per image
(a wildcard over its variants), against one canned signature per variant (60), medians of rounds."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from upload_api.cdn_signing import CdnSigner

CDN = "https://d111111abcdef8.cloudfront.net"
ROUNDS = 25


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    signer = CdnSigner(key_pair_id="K2JCJMDEHXQW5F", load_key=lambda: pem, ttl_seconds=3600)
    now = datetime.now(UTC)
    signer.query_for_prefix(f"{CDN}/warm/", now=now)  # the key is loaded once per container

    def per_image() -> None:
        for n in range(20):
            signer.query_for_prefix(f"{CDN}/images/alice/{n:032x}/v/", now=now)

    def per_variant() -> None:
        for n in range(20):
            for name in ("w1080", "w640", "thumb150"):
                signer.query_for_prefix(f"{CDN}/images/alice/{n:032x}/v/{name}.jpg", now=now)

    samples: dict[str, list[float]] = {"per image (20)": [], "per variant (60)": []}
    for _ in range(ROUNDS):
        order = list(samples)
        random.shuffle(order)
        for name in order:
            started = time.perf_counter()
            (per_image if name.startswith("per image") else per_variant)()
            samples[name].append((time.perf_counter() - started) * 1000)
    for name, values in samples.items():
        print(
            f"signing a 20-image post, {name} signatures: {statistics.median(values):.1f} ms (median of {ROUNDS})"
        )


if __name__ == "__main__":
    main()
