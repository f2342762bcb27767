"""The CDN signing secret's value: which CloudFront key pair is active, and its private key.

One owner for the format: the API signs with it, the preflight checks it, docs/delivery.md shows it.
A rotation adds the new public key to the key group, then rewrites this secret; the old public key is
removed (revoked) once every API container has re-read the secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class CdnSigningKey:
    key_pair_id: str  # the CloudFront public key id (the storage stack's CdnSigningKeyIds output)
    private_key_pem: str

    @classmethod
    def from_secret(cls, text: str) -> CdnSigningKey:
        try:
            value = json.loads(text)
            key = cls(key_pair_id=value["key_pair_id"], private_key_pem=value["private_key_pem"])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                'the CDN signing secret must be JSON {"key_pair_id": "K…", "private_key_pem": "-----BEGIN …"}'
            ) from error
        if not isinstance(key.key_pair_id, str) or not key.key_pair_id:
            raise ValueError("the CDN signing secret's key_pair_id must be a CloudFront public key id")
        if not isinstance(key.private_key_pem, str) or "PRIVATE KEY-----" not in key.private_key_pem:
            raise ValueError("the CDN signing secret's private_key_pem must be a PEM private key")
        return key

    def to_secret(self) -> str:
        return json.dumps({"key_pair_id": self.key_pair_id, "private_key_pem": self.private_key_pem})
