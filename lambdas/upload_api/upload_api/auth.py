"""Who is calling: the subject of a verified JWT (issuer, audience, expiry, signature against JWKS).

Deployed environments verify Cognito tokens against the pool's JWKS URL (fetched once, cached); local
runs and tests verify tokens of a locally generated key pair through the same code, not a bypass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from photo_contract import is_valid_owner

ALGORITHMS = ["RS256"]


class Unauthorized(Exception):  # noqa: N818 - an HTTP verdict, rendered as 401
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None  # deployed: the issuer's JWKS endpoint
    jwks_json: str | None = None  # local: the key set itself
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        if (self.jwks_url is None) == (self.jwks_json is None):
            raise ValueError("exactly one of jwks_url and jwks_json is required")


KeyLookup = Callable[[str], Any]  # token -> verification key


def key_lookup(settings: AuthSettings) -> KeyLookup:
    if settings.jwks_url is not None:
        client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=600, timeout=5)
        return lambda token: client.get_signing_key_from_jwt(token).key
    keys = jwt.PyJWKSet.from_json(settings.jwks_json or "")

    def local(token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if key.key_id == kid:
                return key.key
        raise Unauthorized("invalid token: unknown signing key")

    return local


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: KeyLookup | None = None) -> None:
        self._settings = settings
        self._keys = keys or key_lookup(settings)

    def owner(self, authorization: str | None) -> str:
        """The verified owner id from an ``Authorization: Bearer …`` header, or Unauthorized."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("missing bearer token")
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token,
                self._keys(token),
                algorithms=ALGORITHMS,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                # Cognito access tokens carry client_id instead of aud: checked below for both.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except Unauthorized:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("invalid token: expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            # The decoder's own words ("Not enough segments", "Invalid crypto padding") help no one.
            raise Unauthorized("invalid token") from exc
        audiences = claims.get("aud", claims.get("client_id"))
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if self._settings.audience not in audiences:
            raise Unauthorized("invalid token: wrong audience")
        owner = str(claims["sub"])
        if not is_valid_owner(owner):
            raise Unauthorized("invalid token: subject is not a valid owner id")
        return owner
