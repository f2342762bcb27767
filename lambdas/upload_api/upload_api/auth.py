"""Who is calling: the subject of a verified JWT (issuer, audience, expiry, signature against JWKS).

Deployed environments verify Cognito access tokens against the pool's JWKS URL (cached, refreshed on
an unknown key id at most every ``REFRESH_COOLDOWN_SECONDS``); local runs and tests verify tokens of a
locally generated key pair through the same code, not a bypass.

An unreachable key set is not the caller's fault: it is ``AuthUnavailable`` (a 503 that tells a client
to retry), never a 401 that would log its user out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from photo_contract import is_valid_owner
from photo_contract.runtime import TOKEN_USE_ACCESS

ALGORITHMS = ["RS256"]
KEY_SET_LIFESPAN_SECONDS = 300  # rotated keys are picked up within this, or at once on an unknown kid
REFRESH_COOLDOWN_SECONDS = 30  # a flood of made-up key ids cannot turn into a flood of fetches
UNAVAILABLE_BACKOFF_SECONDS = 5  # after a failed fetch, fail fast instead of queueing behind it


class Unauthorized(Exception):  # noqa: N818 - an HTTP verdict, rendered as 401
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthUnavailable(Exception):  # noqa: N818 - an HTTP verdict, rendered as 503
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
    # Cognito marks its tokens "access" or "id"; only access tokens are meant for APIs. None: no check
    # (an external issuer that does not set the claim).
    token_use: str | None = TOKEN_USE_ACCESS
    jwks_timeout_seconds: float = 3.0

    def __post_init__(self) -> None:
        if (self.jwks_url is None) == (self.jwks_json is None):
            raise ValueError("exactly one of jwks_url and jwks_json is required")


KeyLookup = Callable[[str], Any]  # token -> verification key


class RemoteKeys:
    """The issuer's JWKS over HTTPS, with a bounded wait: one fetch at a time, the others give up
    after the fetch timeout, and a failed fetch makes the next ``UNAVAILABLE_BACKOFF_SECONDS`` fail
    fast (a stalled endpoint must not stack up every request behind it). A key once fetched keeps
    verifying while a refresh fails: only tokens naming a key never seen are unavailable."""

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self._client = jwt.PyJWKClient(
            url,
            lifespan=KEY_SET_LIFESPAN_SECONDS,
            timeout=timeout_seconds,
            cooldown_duration=REFRESH_COOLDOWN_SECONDS,
        )
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._known: dict[str, Any] = {}  # key id -> key, from the last fetches that worked

    def __call__(self, token: str) -> Any:
        kid = _key_id(token)
        if time.monotonic() < self._down_until:
            return self._known_or_unavailable(kid, "the token issuer's key set is unreachable; retry shortly")
        if not self._lock.acquire(timeout=self._timeout):
            return self._known_or_unavailable(
                kid, "the token issuer's key set is slow to answer; retry shortly"
            )
        try:
            key = self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            self._down_until = time.monotonic() + UNAVAILABLE_BACKOFF_SECONDS
            return self._known_or_unavailable(
                kid, "the token issuer's key set is unreachable; retry shortly", exc
            )
        except jwt.PyJWKClientError as exc:
            if "Unable to find a signing key" in str(exc):
                raise Unauthorized("invalid token: unknown signing key") from exc
            return self._known_or_unavailable(kid, "the token issuer's key set could not be read", exc)
        finally:
            self._lock.release()
        if kid is not None:
            self._known[kid] = key
        return key

    def _known_or_unavailable(self, kid: str | None, message: str, cause: Exception | None = None) -> Any:
        if kid is not None and kid in self._known:
            return self._known[kid]
        raise AuthUnavailable(message) from cause


def _key_id(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.DecodeError as exc:
        raise Unauthorized("invalid token") from exc
    return kid if isinstance(kid, str) else None


def key_lookup(settings: AuthSettings) -> KeyLookup:
    if settings.jwks_url is not None:
        return RemoteKeys(settings.jwks_url, timeout_seconds=settings.jwks_timeout_seconds)
    keys = jwt.PyJWKSet.from_json(settings.jwks_json or "")

    def local(token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if key.key_id == kid:
                return key.key
        raise Unauthorized("invalid token: unknown signing key")

    return local


GROUPS_CLAIM = "cognito:groups"  # Cognito's list of the user's groups, in access and id tokens


@dataclass(frozen=True)
class Caller:
    owner: str
    groups: frozenset[str] = frozenset()


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: KeyLookup | None = None) -> None:
        self._settings = settings
        self._keys = keys or key_lookup(settings)

    def owner(self, authorization: str | None) -> str:
        """The verified owner id from an ``Authorization: Bearer …`` header; Unauthorized or
        AuthUnavailable otherwise."""
        return self.caller(authorization).owner

    def caller(self, authorization: str | None) -> Caller:
        """The verified owner and their groups (``cognito:groups``)."""
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
        except (Unauthorized, AuthUnavailable):
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("invalid token: expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            # The decoder's own words ("Not enough segments", "Invalid crypto padding") help no one.
            raise Unauthorized("invalid token") from exc
        expected_use = self._settings.token_use
        if expected_use is not None and claims.get("token_use") != expected_use:
            raise Unauthorized(f"invalid token: not an {expected_use} token")
        audiences = claims.get("aud", claims.get("client_id"))
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if self._settings.audience not in audiences:
            raise Unauthorized("invalid token: wrong audience")
        owner = str(claims["sub"])
        if not is_valid_owner(owner):
            raise Unauthorized("invalid token: subject is not a valid owner id")
        groups = claims.get(GROUPS_CLAIM) or []
        return Caller(
            owner=owner, groups=frozenset(str(g) for g in groups) if isinstance(groups, list) else frozenset()
        )
