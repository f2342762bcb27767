"""The OpenAPI document is the contract a generated client trusts: enums, bounds, formats, the headers
a client acts on, stable operation ids and tags; and the answers keep what it promises."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from local_runner.issuer import LocalIssuer
from photo_contract.registry import Status
from upload_api.errors import ErrorCode
from upload_api.presign import CONTENT_TYPE_EXTENSIONS

from tests.upload_api.conftest import MAX_BYTES, Runtime


@pytest.fixture(scope="module")
def schema(runtimes: dict[str, Runtime]) -> dict[str, Any]:
    document: dict[str, Any] = runtimes["http"].call("GET", "/openapi.json").body
    return document


def _component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = schema["components"]["schemas"][name]
    return found


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _component(schema, node["$ref"].rsplit("/", 1)[1])
    return node


def test_statuses_error_codes_and_content_types_are_enums(schema: dict[str, Any]) -> None:
    status = _resolve(schema, _component(schema, "ImageResponse")["properties"]["status"])
    assert status["enum"] == [s.value for s in Status]
    code = _resolve(schema, _component(schema, "ErrorBody")["properties"]["code"])
    assert code["enum"] == [c.value for c in ErrorCode]
    item = _component(schema, "UploadItem")["properties"]
    assert item["content_type"]["enum"] == sorted(CONTENT_TYPE_EXTENSIONS)
    assert (item["size_bytes"]["minimum"], item["size_bytes"]["maximum"]) == (1, MAX_BYTES)


def test_times_colours_and_placeholders_have_formats(schema: dict[str, Any]) -> None:
    image = _component(schema, "ImageResponse")["properties"]
    assert image["created_at"]["format"] == "date-time"
    ticket = _component(schema, "UploadTicket")["properties"]
    expires = next(v for v in ticket["expires_at"]["anyOf"] if v.get("type") == "string")
    assert expires["format"] == "date-time"
    colour = next(v for v in image["dominant_color"]["anyOf"] if v.get("type") == "string")
    assert colour["pattern"] == "^#[0-9a-f]{6}$"
    placeholder = next(v for v in image["placeholder"]["anyOf"] if v.get("type") == "string")
    assert placeholder["format"] == "byte"
    assert "fallback" in _component(schema, "Variant")["required"]


def test_operations_have_stable_ids_tags_and_the_headers_clients_act_on(schema: dict[str, Any]) -> None:
    operations = {(path, method): op for path, item in schema["paths"].items() for method, op in item.items()}
    assert {op["operationId"] for op in operations.values()} == {
        "create_uploads",
        "get_batch",
        "list_images",
        "get_image",
        "delete_image",
        "erase_my_images",
        "get_my_erasure",
        "list_held_images",
        "clear_held_image",
        "reject_held_image",
        "get_upload_config",
    }
    assert all(op["tags"] for op in operations.values())
    for op in operations.values():
        responses = op["responses"]
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "Allow" in responses["405"]["headers"]
    assert schema["servers"]


def test_a_405_says_which_methods_the_path_takes(api: Runtime, issuer: LocalIssuer) -> None:
    reply = api.call("PUT", "/v1/uploads", token=issuer.token("alice"))
    assert (reply.status, reply.body["code"]) == (405, "method_not_allowed")
    assert {k.lower(): v for k, v in reply.headers.items()}["allow"] == "POST"


def test_a_body_that_is_not_utf8_is_malformed_json(runtimes: dict[str, Runtime], issuer: LocalIssuer) -> None:
    http = runtimes["http"]
    reply = httpx.post(
        f"{http.base_url}/v1/uploads",  # type: ignore[attr-defined]
        content=b'{"items": [{"filename": "\xff\xfe"}]}',
        headers={"authorization": f"Bearer {issuer.token('alice')}", "content-type": "application/json"},
        timeout=10,
    )
    assert (reply.status_code, reply.json()["code"]) == (400, "malformed_json")


def test_a_405_names_every_method_of_the_path(api: Runtime, issuer: LocalIssuer) -> None:
    reply = api.call("PUT", "/v1/images/01a22dc962237aadd6931a2f7d05e3ec", token=issuer.token("alice"))
    assert reply.status == 405
    assert {k.lower(): v for k, v in reply.headers.items()}["allow"] == "DELETE, GET"


@pytest.mark.parametrize("size", ["2400000.0", "2400000"])
def test_an_integral_json_number_is_a_size(api: Runtime, issuer: LocalIssuer, size: str) -> None:
    body = '{"items": [{"content_type": "image/jpeg", "size_bytes": ' + size + "}]}"
    reply = api.call("POST", "/v1/uploads", token=issuer.token("size-" + size.replace(".", "-")), body=body)
    assert reply.status == 200, reply.body


def test_every_error_names_its_request_as_the_logs_do(
    runtimes: dict[str, Runtime], issuer: LocalIssuer
) -> None:
    """The Lambda runtime's id is the invocation's aws_request_id (what CloudWatch prints on each log
    line); the container makes one. Both answer it in X-Request-Id and in the error body."""
    ids = {}
    for name, runtime in runtimes.items():
        reply = runtime.call("GET", "/v1/images/" + "f" * 32, token=issuer.token("alice"))
        headers = {k.lower(): v for k, v in reply.headers.items()}
        assert reply.status == 404 and reply.body["request_id"] == headers["x-request-id"], name
        ids[name] = reply.body["request_id"]
    assert ids["lambda"] == "request-1"  # the test context's aws_request_id
    assert len(ids["http"]) == 32
    unauthenticated = runtimes["http"].call("GET", "/v1/images")
    assert unauthenticated.status == 401 and unauthenticated.body["request_id"]  # the guard's answers too


def test_the_idempotency_key_header_and_its_answers_are_documented(schema: dict[str, Any]) -> None:
    post = schema["paths"]["/v1/uploads"]["post"]
    header = next(p for p in post["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key")
    assert not header["required"] and "24 hours" in header["description"]
    assert {"409", "410", "422"} <= set(post["responses"])
    assert "Idempotent-Replayed" in post["responses"]["200"]["headers"]
    codes = set(_component(schema, "ErrorCode")["enum"])
    assert {"idempotency_key_reused", "idempotency_key_in_flight", "invalid_idempotency_key"} <= codes
