"""The issuer's key set over real HTTP on loopback: a rotated key is picked up, an endpoint that fails
makes the following requests fail fast with AuthUnavailable, never Unauthorized."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from local_runner.issuer import LocalIssuer
from upload_api import auth
from upload_api.auth import AuthSettings, AuthUnavailable, TokenVerifier


class KeyServer:
    """Serves whatever ``jwks`` holds (None: a 500), and counts the fetches."""

    def __init__(self) -> None:
        self.jwks: str | None = None
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = (outer.jwks or "").encode()
                self.send_response(200 if outer.jwks else 500)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.close()


def _verifier(issuer: LocalIssuer, url: str) -> TokenVerifier:
    return TokenVerifier(AuthSettings(issuer=issuer.issuer, audience=issuer.audience, jwks_url=url))


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    keys: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "REFRESH_COOLDOWN_SECONDS", 0)  # 30 s in service
    old, new = LocalIssuer(), LocalIssuer()
    keys.jwks = old.jwks_json
    verifier = _verifier(old, keys.url)
    assert verifier.owner(f"Bearer {old.token('alice')}") == "alice"
    assert verifier.owner(f"Bearer {old.token('alice')}") == "alice"
    assert keys.fetches == 1  # cached

    keys.jwks = new.jwks_json  # the issuer rotated its key
    assert verifier.owner(f"Bearer {new.token('bob')}") == "bob"
    assert keys.fetches == 2


def test_a_failing_key_endpoint_is_unavailable_and_then_fails_fast(keys: KeyServer) -> None:
    issuer = LocalIssuer()
    keys.jwks = None  # 500
    verifier = _verifier(issuer, keys.url)
    with pytest.raises(AuthUnavailable):
        verifier.owner(f"Bearer {issuer.token('alice')}")
    fetched = keys.fetches
    started = time.monotonic()
    with pytest.raises(AuthUnavailable):
        verifier.owner(f"Bearer {issuer.token('alice')}")
    assert keys.fetches == fetched  # inside the back-off: no new fetch
    assert time.monotonic() - started < auth.UNAVAILABLE_BACKOFF_SECONDS


def test_a_cached_key_keeps_working_while_the_endpoint_is_down(
    keys: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed refresh (a token naming an unknown key, or the key set expiring) must not black out
    the keys already known: their tokens verify; only an unknown key is unavailable."""
    monkeypatch.setattr(auth, "REFRESH_COOLDOWN_SECONDS", 0)
    known = LocalIssuer()
    keys.jwks = known.jwks_json
    verifier = _verifier(known, keys.url)
    assert verifier.owner(f"Bearer {known.token('alice')}") == "alice"
    keys.jwks = None  # the endpoint fails from now on
    rotated = LocalIssuer(issuer=known.issuer, audience=known.audience)
    with pytest.raises(AuthUnavailable):
        verifier.owner(f"Bearer {rotated.token('bob')}")  # unknown key: the refresh fails
    # inside the back-off, and after it: the known key still verifies
    assert verifier.owner(f"Bearer {known.token('alice')}") == "alice"
    monkeypatch.setattr(auth, "UNAVAILABLE_BACKOFF_SECONDS", 0)
    assert verifier.owner(f"Bearer {known.token('carol')}") == "carol"
