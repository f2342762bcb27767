"""One contract, two runtimes: every test runs against the Lambda handler and against uvicorn."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from local_runner.inputs import camera_jpeg
from local_runner.issuer import LocalIssuer
from photo_contract import ImageKeys

from tests.upload_api.conftest import MAX_BYTES, SECRET, UPLOADS, Runtime
from tests.upload_api.post_policy import decode_policy, evaluate


def _uploads(*items: dict[str, Any]) -> str:
    return json.dumps({"items": list(items)})


JPEG = {"content_type": "image/jpeg", "size_bytes": 1000, "filename": "me.jpg"}


def test_healthz(api: Runtime) -> None:
    assert api.call("GET", "/healthz").status == 200
    assert api.call("GET", "/healthz").body == {"status": "ok"}


def test_no_token_is_401(api: Runtime) -> None:
    reply = api.call("POST", "/v1/uploads", body=_uploads(JPEG))
    assert reply.status == 401 and reply.body["code"] == "unauthorized"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda issuer: issuer.token("alice", ttl_seconds=-120),  # expired (beyond the 30 s leeway)
        lambda issuer: issuer.token("alice", audience="someone-else"),
        lambda issuer: LocalIssuer(issuer=issuer.issuer, audience=issuer.audience).token(
            "alice"
        ),  # other key
        lambda issuer: LocalIssuer(issuer="https://evil.example", audience=issuer.audience).token("alice"),
        lambda issuer: issuer.token("../bob"),  # a subject that could not be a key segment
        lambda issuer: "not.a.jwt",
    ],
    ids=["expired", "wrong-audience", "unknown-key", "wrong-issuer", "hostile-subject", "garbage"],
)
def test_bad_tokens_are_401(api: Runtime, issuer: LocalIssuer, make_token: Any) -> None:
    reply = api.call("POST", "/v1/uploads", token=make_token(issuer), body=_uploads(JPEG))
    assert reply.status == 401
    assert reply.body["code"] == "unauthorized"
    assert reply.body["message"].startswith("invalid token")


def test_a_garbage_token_gets_a_plain_message(api: Runtime) -> None:
    reply = api.call("POST", "/v1/uploads", token="not.a.jwt", body=_uploads(JPEG))
    assert (reply.status, reply.body["message"]) == (401, "invalid token")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(api: Runtime, issuer: LocalIssuer, content_type: str) -> None:
    reply = api.call(
        "POST", "/v1/uploads", token=issuer.token("alice"), body=_uploads(JPEG), content_type=content_type
    )
    assert (reply.status, reply.body["code"]) == (415, "unsupported_media_type")


def test_a_wrong_method_is_405_with_a_code(api: Runtime, issuer: LocalIssuer) -> None:
    reply = api.call("DELETE", "/v1/uploads", token=issuer.token("alice"))
    assert (reply.status, reply.body["code"]) == (405, "method_not_allowed")


def test_the_schema_declares_the_bearer_scheme(api: Runtime) -> None:
    schema = api.call("GET", "/openapi.json").body
    schemes = schema["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    upload = schema["paths"]["/v1/uploads"]["post"]
    assert upload["security"] == [{name: []} for name in schemes]
    assert "security" not in schema["paths"].get("/healthz", {}).get("get", {})


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        (_uploads(), 422, "no_items"),
        (_uploads(*[JPEG] * 21), 422, "too_many_items"),
        (_uploads({**JPEG, "content_type": "image/svg+xml"}), 422, "unsupported_content_type"),
        (_uploads({**JPEG, "size_bytes": 0}), 422, "size_out_of_range"),
        (_uploads({**JPEG, "size_bytes": MAX_BYTES + 1}), 422, "size_out_of_range"),
        (_uploads({**JPEG, "size_bytes": "12"}), 422, "invalid_request"),
        (_uploads({**JPEG, "key": "uploads/bob/x.jpg"}), 422, "invalid_request"),
        (json.dumps({"items": "all"}), 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_code_and_nothing_signed(
    api: Runtime, issuer: LocalIssuer, body: str, status: int, code: str
) -> None:
    reply = api.call("POST", "/v1/uploads", token=issuer.token("alice"), body=body)
    assert (reply.status, reply.body["code"]) == (status, code)
    assert "uploads" not in reply.body


def test_one_bad_item_spoils_the_batch(api: Runtime, issuer: LocalIssuer) -> None:
    reply = api.call(
        "POST",
        "/v1/uploads",
        token=issuer.token("alice"),
        body=_uploads(JPEG, {**JPEG, "content_type": "text/html"}),
    )
    assert reply.status == 422 and "items[1]" in reply.body["message"]


def test_batch_of_twenty_is_signed_for_the_caller(api: Runtime, issuer: LocalIssuer) -> None:
    items = [
        {**JPEG, "content_type": ct} for ct in ("image/jpeg", "image/png", "image/webp", "image/heic")
    ] * 5
    reply = api.call("POST", "/v1/uploads", token=issuer.token("alice"), body=_uploads(*items))
    assert reply.status == 200
    tickets = reply.body["uploads"]
    assert len(tickets) == 20 and len({t["image_id"] for t in tickets}) == 20
    for ticket, item in zip(tickets, items, strict=True):
        fields = ticket["upload"]["fields"]
        keys = ImageKeys.parse_source(fields["key"])
        assert keys is not None and keys.owner == "alice" and keys.image_id == ticket["image_id"]
        assert fields["Content-Type"] == item["content_type"]
        assert ticket["filename"] == "me.jpg" and "me.jpg" not in fields["key"]
        policy = decode_policy(fields)
        size = item["size_bytes"]
        assert ["content-length-range", size, size] in policy["conditions"]  # exactly as declared
        verdict = evaluate(fields, bucket=UPLOADS, file_size=1000, now=datetime.now(UTC), secret_key=SECRET)
        assert verdict.accepted, verdict.reason


def test_upload_then_status_pending_ready_and_private(api: Runtime, issuer: LocalIssuer, worker: Any) -> None:
    photo = camera_jpeg("portrait_3.jpg", (1200, 1800), orientation=3).data
    token = issuer.token("alice")
    ticket = api.call(
        "POST",
        "/v1/uploads",
        token=token,
        body=_uploads({"content_type": "image/jpeg", "size_bytes": len(photo)}),
    ).body["uploads"][0]
    image = f"/v1/images/{ticket['image_id']}"
    pending = api.call("GET", image, token=token).body  # registered when the form was signed
    assert {k: pending[k] for k in ("image_id", "status", "width", "height", "variants", "reason")} == {
        "image_id": ticket["image_id"],
        "status": "pending",
        "width": None,
        "height": None,
        "variants": [],
        "reason": None,
    }

    posted = httpx.post(
        ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("p.jpg", photo)}
    )
    assert posted.status_code in (200, 204)
    worker(ticket["upload"]["fields"]["key"])
    ready = api.call("GET", image, token=token).body
    assert ready["status"] == "ready" and (ready["width"], ready["height"]) == (1200, 1800)
    # Every format of every variant, so a client can build a srcset / <picture> from one reply.
    assert [(v["name"], v["content_type"]) for v in ready["variants"]] == [
        ("w1080", "image/jpeg"),
        ("w1080", "image/avif"),
        ("w640", "image/jpeg"),
        ("w640", "image/avif"),
        ("thumb150", "image/jpeg"),
    ]
    for variant in (ready["variants"][4], ready["variants"][3]):  # presigned GETs, fetched over HTTP
        fetched = httpx.get(variant["url"])
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == variant["content_type"]
    assert fetched.content[4:12] == b"ftypavif"

    other = api.call("GET", image, token=issuer.token("mallory"))
    assert other.status == 404 and other.body["code"] == "not_found"


def test_rejected_image_reports_its_reason(api: Runtime, issuer: LocalIssuer, worker: Any) -> None:
    token = issuer.token("alice")
    body = b"not a jpeg"
    ticket = api.call(
        "POST", "/v1/uploads", token=token, body=_uploads({**JPEG, "size_bytes": len(body)})
    ).body["uploads"][0]
    httpx.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("x.jpg", body)})
    worker(ticket["upload"]["fields"]["key"])
    reply = api.call("GET", f"/v1/images/{ticket['image_id']}", token=token)
    assert (reply.body["status"], reply.body["reason"]) == ("rejected", "not_an_image")


@pytest.mark.parametrize("image_id", ["../../etc/passwd", "ABC", "0" * 31, "0" * 33])
def test_malformed_image_ids_are_404(api: Runtime, issuer: LocalIssuer, image_id: str) -> None:
    reply = api.call("GET", f"/v1/images/{image_id}", token=issuer.token("alice"))
    assert reply.status == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "authed"),
    [
        ("GET", "/healthz", None, False),
        ("POST", "/v1/uploads", "{not json", True),
        ("POST", "/v1/uploads", _uploads(), True),
        ("POST", "/v1/uploads", _uploads({**JPEG, "content_type": "image/bmp"}), True),
        ("POST", "/v1/uploads", _uploads(JPEG), False),
        ("GET", "/v1/images/" + "0" * 32, None, True),
        ("GET", "/nope", None, False),
    ],
)
def test_both_runtimes_answer_identically(
    runtimes: dict[str, Runtime], issuer: LocalIssuer, method: str, path: str, body: str | None, authed: bool
) -> None:
    token = issuer.token("alice") if authed else None
    lambda_reply = runtimes["lambda"].call(method, path, token=token, body=body)
    http_reply = runtimes["http"].call(method, path, token=token, body=body)

    def same_on_both(body: Any) -> Any:  # each request has its own id (test_openapi checks it)
        return {k: v for k, v in body.items() if k != "request_id"} if isinstance(body, dict) else body

    assert (lambda_reply.status, same_on_both(lambda_reply.body)) == (
        http_reply.status,
        same_on_both(http_reply.body),
    )
