"""Presigned POSTs, judged by decoding their policy and by the S3 policy oracle (moto checks nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from photo_contract import ImageKeys
from upload_api.presign import PresignedUpload, UploadRules, presign_client, presign_upload

from tests.upload_api.post_policy import decode_policy, evaluate

BUCKET = "photo-uploads"
SECRET = "test-secret-key-not-real"
RULES = UploadRules(max_bytes=5 * 1024 * 1024, expires_seconds=600)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    yield presign_client(region="eu-west-1")


DECLARED = 1000


def _form(s3: Any, content_type: str = "image/jpeg", size_bytes: int = DECLARED) -> PresignedUpload:
    return presign_upload(
        s3, bucket=BUCKET, owner="alice", content_type=content_type, size_bytes=size_bytes, rules=RULES
    )


def _judge(fields: dict[str, str], size: int = DECLARED, now: datetime | None = None) -> str:
    verdict = evaluate(fields, bucket=BUCKET, file_size=size, now=now or datetime.now(UTC), secret_key=SECRET)
    return "accepted" if verdict.accepted else verdict.reason


def test_policy_pins_key_type_size_expiry_and_sigv4(s3: Any) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    upload = _form(s3)
    after = datetime.now(UTC)
    policy = decode_policy(upload.fields)
    conditions = policy["conditions"]
    assert {"key": upload.key} in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", DECLARED, DECLARED] in conditions  # the declared size, exactly
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before < expiration <= after + timedelta(minutes=15)
    assert upload.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "AWSAccessKeyId" not in upload.fields  # no SigV2 fallback
    assert upload.url == f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/"  # regional endpoint


def test_the_form_as_issued_is_accepted(s3: Any) -> None:
    assert _judge(_form(s3).fields) == "accepted"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"size": RULES.max_bytes + 1}, "outside"),
        ({"size": 0}, "outside"),
        ({"size": DECLARED + 1}, "outside"),  # one byte more than declared
        ({"size": DECLARED - 1}, "outside"),
        ({"field": ("Content-Type", "text/html")}, "content-type must be"),
        ({"field": ("key", "uploads/alice/../bob/x.jpg")}, "key must be"),
        ({"field": ("key", "uploads/bob/00000000000000000000000000000001.jpg")}, "key must be"),
        ({"field": ("x-amz-meta-evil", "1")}, "fields not in the policy"),
        ({"after_expiry": True}, "expired"),
        ({"tamper_policy": True}, "signature does not match"),
    ],
)
def test_the_oracle_refuses_what_s3_would_refuse(s3: Any, change: dict[str, Any], expected: str) -> None:
    fields = dict(_form(s3).fields)
    if "field" in change:
        name, value = change["field"]
        fields[name] = value
    if change.get("tamper_policy"):
        import base64
        import json

        policy = decode_policy(fields)
        policy["conditions"] = [
            c for c in policy["conditions"] if not isinstance(c, list)
        ]  # drop the size cap
        fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    now = datetime.now(UTC)
    if change.get("after_expiry"):
        # boto3 signs with the wall clock, so "too late" is judged against the policy's own expiration.
        expiration = datetime.fromisoformat(decode_policy(fields)["expiration"].replace("Z", "+00:00"))
        now = expiration + timedelta(seconds=1)
    verdict = _judge(fields, size=change.get("size", DECLARED), now=now)
    assert expected in verdict.lower()


def test_disallowed_content_type_is_never_signed(s3: Any) -> None:
    with pytest.raises(ValueError, match="not accepted"):
        _form(s3, content_type="image/svg+xml")


@pytest.mark.parametrize("size_bytes", [0, RULES.max_bytes + 1])
def test_a_size_outside_the_rules_is_never_signed(s3: Any, size_bytes: int) -> None:
    with pytest.raises(ValueError, match="size must be"):
        _form(s3, size_bytes=size_bytes)


@pytest.mark.parametrize("seconds", [0, 901])
def test_expiry_is_capped_at_fifteen_minutes(seconds: int) -> None:
    with pytest.raises(ValueError, match=r"upload expiry must be 1\.\.900"):
        UploadRules(max_bytes=1, expires_seconds=seconds)


@settings(max_examples=200, deadline=None)
@given(
    owner=st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True),
    content_type=st.sampled_from(sorted(RULES.content_types)),
)
def test_keys_always_follow_the_server_pattern(owner: str, content_type: str) -> None:
    fake = _FakeS3()
    upload = presign_upload(
        fake, bucket=BUCKET, owner=owner, content_type=content_type, size_bytes=1, rules=RULES
    )
    parsed = ImageKeys.parse_source(upload.key)
    assert parsed is not None and parsed.owner == owner
    assert upload.key.startswith(f"uploads/{owner}/")
    assert len(upload.key.encode()) <= 1024


class _FakeS3:
    def generate_presigned_post(self, **kwargs: Any) -> dict[str, Any]:
        return {"url": "http://fake/", "fields": {"key": kwargs["Key"]}}


@pytest.mark.parametrize("owner", ["../bob", "alice/../../x", "", "a" * 129, "alice bob", "ålice"])
def test_hostile_owner_never_becomes_a_path(owner: str) -> None:
    with pytest.raises(ValueError, match="owner"):
        presign_upload(
            _FakeS3(), bucket=BUCKET, owner=owner, content_type="image/jpeg", size_bytes=1, rules=RULES
        )


def test_form_uploads_over_real_http_to_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto proves the form is well-formed multipart S3 accepts; the oracle above proves the rules."""
    import httpx
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = presign_client(region="us-east-1", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        body = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
        upload = presign_upload(
            client, bucket=BUCKET, owner="alice", content_type="image/png", size_bytes=len(body), rules=RULES
        )
        assert evaluate(
            upload.fields, bucket=BUCKET, file_size=len(body), now=datetime.now(UTC), secret_key=SECRET
        ).accepted

        response = httpx.post(upload.url, data=upload.fields, files={"file": ("x.png", body, "image/png")})

        assert response.status_code in (200, 204), response.text
        head = client.head_object(Bucket=BUCKET, Key=upload.key)
        assert head["ContentType"] == "image/png" and head["ContentLength"] == len(body)
    finally:
        server.stop()
