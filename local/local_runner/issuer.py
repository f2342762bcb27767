"""A local token issuer for tests, the demo and `make serve`: a fresh RSA key pair, its JWKS, and access
tokens shaped like Cognito's (``token_use``, ``client_id``).

It only mints tokens; verification goes through ``auth.TokenVerifier`` exactly as in AWS.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "https://photo-pipeline.local/issuer"
LOCAL_AUDIENCE = "photo-pipeline-local"


class LocalIssuer:
    def __init__(self, *, issuer: str = LOCAL_ISSUER, audience: str = LOCAL_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex

    @property
    def jwks_json(self) -> str:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": self._kid, "use": "sig", "alg": "RS256"})
        return json.dumps({"keys": [public]})

    def token(
        self, subject: str, *, ttl_seconds: int = 3600, audience: str | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": subject,
            # Shaped like a Cognito access token: the app client in client_id, no aud.
            "client_id": audience or self.audience,
            "token_use": "access",
            "iat": now,
            "exp": now + ttl_seconds,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self._kid})
