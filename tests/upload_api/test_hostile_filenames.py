"""Whatever a client sends as a filename, keys follow the server pattern under the caller's prefix."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_runner.issuer import LocalIssuer

from tests.upload_api.conftest import Runtime

KEY = re.compile(r"uploads/alice/[0-9a-f]{32}\.(jpg|png|webp|gif|heic|heif)")
HOSTILE = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        ["../../../etc/passwd", "a/b/c.jpg", "..\\..\\x", "%2e%2e%2f", "x\x00.jpg", "uploads/bob/"]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filenames=st.lists(HOSTILE, min_size=1, max_size=5))
def test_keys_never_contain_what_the_client_sent(
    runtimes: dict[str, Runtime], issuer: LocalIssuer, filenames: list[str]
) -> None:
    items = [{"content_type": "image/png", "size_bytes": 10, "filename": name} for name in filenames]
    reply = runtimes["lambda"].call(
        "POST", "/v1/uploads", token=issuer.token("alice"), body=json.dumps({"items": items})
    )
    assert reply.status == 200
    for ticket in reply.body["uploads"]:
        key = ticket["upload"]["fields"]["key"]
        assert KEY.fullmatch(key), key
        assert len(key.encode()) <= 1024
