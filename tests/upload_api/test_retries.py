"""A post a phone can retry, on both runtimes: an Idempotency-Key answers its retries with the same batch
(quota spent once, fresh forms only for the photos not yet there), refuses another body and a request
still in flight, and expires; a declared MD5 is bound into the form and checked by the worker; the same
photo posted again by its owner is copied inside S3, not uploaded, and each copy is its own image."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from local_runner.inputs import camera_jpeg
from local_runner.issuer import LocalIssuer
from photo_contract.idempotency import IdempotencyKeys, fingerprint
from resize_worker.process import ProcessOutcome, ProcessStatus
from upload_api.models import UploadRequest
from upload_api.settings import ApiSettings

from tests.upload_api.conftest import SECRET, TABLE, UPLOADS, HttpRuntime, LambdaRuntime, Runtime
from tests.upload_api.post_policy import evaluate

RETRY_QUOTA_TABLE = "api-retry-quota"
FORMS_PER_MINUTE = 20


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _fingerprint(body: str) -> str:
    """As the API takes it: the parsed request, defaults filled in."""
    return fingerprint(UploadRequest.model_validate_json(body).model_dump(mode="json"))


def _body(*items: dict[str, Any]) -> str:
    return json.dumps({"items": list(items)})


def _jpeg_item(data: bytes, *, md5: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"content_type": "image/jpeg", "size_bytes": len(data)}
    if md5:
        item["content_md5"] = _md5(data)
    return item


def _post(api: Runtime, token: str, body: str, key: str | None = None) -> Any:
    return api.call(
        "POST", "/v1/uploads", token=token, body=body, headers={"Idempotency-Key": key} if key else None
    )


def _upload(ticket: dict[str, Any], data: bytes) -> None:
    posted = httpx.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("p", data)})
    assert posted.status_code in (200, 204), posted.text


@pytest.fixture(scope="module")
def quota_runtimes(settings: ApiSettings, s3_endpoint: str) -> Iterator[dict[str, Runtime]]:
    boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint).create_table(
        TableName=RETRY_QUOTA_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    limited = settings.with_contract(quota_table=RETRY_QUOTA_TABLE, forms_per_minute=FORMS_PER_MINUTE)
    http = HttpRuntime(limited)
    yield {"lambda": LambdaRuntime(limited), "http": http}
    http.stop()


@pytest.fixture(scope="module")
def keys(s3_endpoint: str) -> IdempotencyKeys:
    return IdempotencyKeys(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint), TABLE)


@pytest.fixture
def owner(issuer: LocalIssuer) -> tuple[str, str]:
    name = f"retry-{uuid.uuid4().hex[:10]}"
    return name, issuer.token(name)


# --- Idempotency-Key ----------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_the_same_key_and_body_is_one_batch_and_spends_the_quota_once(
    quota_runtimes: dict[str, Runtime], owner: tuple[str, str], runtime: str
) -> None:
    api, (_, token) = quota_runtimes[runtime], owner
    if time.time() % 60 > 50:  # all calls inside one quota window
        time.sleep(61 - time.time() % 60)
    body = _body(*[{"content_type": "image/jpeg", "size_bytes": 1000 + i} for i in range(FORMS_PER_MINUTE)])
    key = str(uuid.uuid4())
    first = _post(api, token, body, key)
    again = _post(api, token, json.dumps(json.loads(body), indent=2), f'"{key}"')  # spacing, quoting: same
    assert first.status == again.status == 200, (first.body, again.body)
    assert again.body["batch_id"] == first.body["batch_id"]
    assert [t["image_id"] for t in again.body["uploads"]] == [t["image_id"] for t in first.body["uploads"]]
    assert again.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    assert all(t["needs_upload"] and t["upload"] for t in again.body["uploads"])  # nothing arrived yet
    # The first call took the whole minute's budget; had the retry spent it again, it would be 429.
    refused = _post(api, token, _body({"content_type": "image/jpeg", "size_bytes": 1000}))
    assert (refused.status, refused.body["code"]) == (429, "rate_limited")


def test_a_retry_gets_forms_only_for_the_photos_not_yet_uploaded(
    api: Runtime, owner: tuple[str, str]
) -> None:
    _, token = owner
    arrived, missing = (camera_jpeg(f"r{i}.jpg", (320, 240)).data for i in range(2))
    body, key = _body(_jpeg_item(arrived), _jpeg_item(missing)), str(uuid.uuid4())
    first = _post(api, token, body, key).body
    _upload(first["uploads"][0], arrived)
    again = _post(api, token, body, key).body
    assert [t["needs_upload"] for t in again["uploads"]] == [False, True]
    assert again["uploads"][0]["upload"] is None and again["uploads"][0]["expires_at"] is None
    fresh = again["uploads"][1]["upload"]
    assert fresh["fields"]["key"] == first["uploads"][1]["upload"]["fields"]["key"]  # same image, new form
    _upload(again["uploads"][1], missing)


def test_the_same_key_with_another_body_is_refused(api: Runtime, owner: tuple[str, str]) -> None:
    _, token = owner
    key = str(uuid.uuid4())
    assert _post(api, token, _body({"content_type": "image/jpeg", "size_bytes": 1000}), key).status == 200
    other = _post(api, token, _body({"content_type": "image/jpeg", "size_bytes": 1001}), key)
    assert (other.status, other.body["code"]) == (422, "idempotency_key_reused")


def test_keys_are_per_owner(api: Runtime, issuer: LocalIssuer, owner: tuple[str, str]) -> None:
    _, token = owner
    key, body = str(uuid.uuid4()), _body({"content_type": "image/jpeg", "size_bytes": 1000})
    mine = _post(api, token, body, key).body
    theirs = _post(api, issuer.token(f"retry-{uuid.uuid4().hex[:10]}"), body, key)
    assert theirs.status == 200 and theirs.body["batch_id"] != mine["batch_id"]


def test_a_request_racing_one_in_flight_with_the_same_key_gets_409(
    api: Runtime, keys: IdempotencyKeys, owner: tuple[str, str]
) -> None:
    """The other request's state, held in the store exactly as a running request holds it."""
    name, token = owner
    key, body = str(uuid.uuid4()), _body({"content_type": "image/jpeg", "size_bytes": 1000})
    keys.claim(name, key, body_fingerprint=_fingerprint(body), batch_id="f" * 32, now=time.time())
    racing = _post(api, token, body, key)
    assert (racing.status, racing.body["code"]) == (409, "idempotency_key_in_flight")
    assert racing.headers["retry-after"] == "1"


def test_a_key_whose_request_died_is_taken_over_with_the_batch_id_it_chose(
    api: Runtime, keys: IdempotencyKeys, owner: tuple[str, str]
) -> None:
    name, token = owner
    key, body = str(uuid.uuid4()), _body({"content_type": "image/jpeg", "size_bytes": 1000})
    chosen = uuid.uuid4().hex
    a_minute_ago = time.time() - 60  # its 30-second lease has lapsed
    keys.claim(name, key, body_fingerprint=_fingerprint(body), batch_id=chosen, now=a_minute_ago)
    taken = _post(api, token, body, key)
    assert taken.status == 200 and taken.body["batch_id"] == chosen


def test_keys_expire(api: Runtime, s3_endpoint: str, owner: tuple[str, str]) -> None:
    name, token = owner
    key = str(uuid.uuid4())
    first = _post(api, token, _body({"content_type": "image/jpeg", "size_bytes": 1000}), key).body
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint)
    stored = [
        i
        for i in dynamodb.scan(TableName=TABLE)["Items"]
        if i["pk"]["S"] == f"owner#{name}" and i["sk"]["S"].startswith("idempotency#")
    ]
    assert len(stored) == 1 and key not in json.dumps(stored)  # only the key's digest is kept
    expires = int(stored[0]["expires_at"]["N"])
    assert abs(expires - (time.time() + 24 * 3600)) < 120  # 24 hours, by TTL
    dynamodb.update_item(  # a day later (DynamoDB's sweeper may take longer: the claim checks the time)
        TableName=TABLE,
        Key={"pk": stored[0]["pk"], "sk": stored[0]["sk"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    reused = _post(api, token, _body({"content_type": "image/jpeg", "size_bytes": 2000}), key)
    assert reused.status == 200 and reused.body["batch_id"] != first["batch_id"]


@pytest.mark.parametrize("header", ["", '""', "a\tb", "x" * 256])
def test_a_malformed_key_is_refused(api: Runtime, owner: tuple[str, str], header: str) -> None:
    reply = api.call(
        "POST",
        "/v1/uploads",
        token=owner[1],
        body=_body({"content_type": "image/jpeg", "size_bytes": 1000}),
        headers={"Idempotency-Key": header},
    )
    assert reply.status in (400, 422) and reply.body["code"] in ("invalid_idempotency_key", "invalid_request")


# --- checksums ----------------------------------------------------------------------------------


def test_a_declared_md5_is_bound_into_the_form(api: Runtime, owner: tuple[str, str]) -> None:
    photo = camera_jpeg("md5.jpg", (320, 240)).data
    ticket = _post(api, owner[1], _body(_jpeg_item(photo))).body["uploads"][0]
    fields = ticket["upload"]["fields"]
    assert fields["Content-MD5"] == _md5(photo)
    now = datetime.now(UTC)
    judge: Callable[[bytes], Any] = lambda data: evaluate(  # noqa: E731
        fields, bucket=UPLOADS, file_size=len(data), now=now, secret_key=SECRET, content=data
    )
    assert judge(photo).accepted
    other = bytes([photo[0] ^ 1]) + photo[1:]  # same size, one bit off
    verdict = judge(other)
    assert not verdict.accepted and "BadDigest" in verdict.reason
    forged = {**fields, "Content-MD5": _md5(other)}  # the client cannot swap the checksum either
    assert not evaluate(forged, bucket=UPLOADS, file_size=len(other), now=now, content=other).accepted


def test_the_worker_rejects_a_stored_object_that_is_not_the_declared_bytes(
    api: Runtime, s3: Any, worker: Callable[[str], ProcessOutcome], owner: tuple[str, str]
) -> None:
    photo, impostor = (camera_jpeg(f"{n}.jpg", (320, 240)).data for n in ("meant", "stored"))
    ticket = _post(api, owner[1], _body(_jpeg_item(photo))).body["uploads"][0]
    key = ticket["upload"]["fields"]["key"]
    s3.put_object(Bucket=UPLOADS, Key=key, Body=impostor, ContentType="image/jpeg")  # what S3 would refuse
    outcome = worker(key)
    assert outcome.status is ProcessStatus.REJECTED and outcome.detail == "checksum_mismatch"
    image = api.call("GET", ticket["status_url"], token=owner[1]).body
    assert (image["status"], image["reason"]) == ("rejected", "checksum_mismatch")


# --- the same photo again -----------------------------------------------------------------------


def test_the_same_photo_posted_again_is_copied_and_each_copy_is_its_own_image(
    api: Runtime,
    s3: Any,
    worker: Callable[[str], ProcessOutcome],
    issuer: LocalIssuer,
    owner: tuple[str, str],
) -> None:
    _, token = owner
    photo = camera_jpeg("again.jpg", (640, 480)).data
    first = _post(api, token, _body(_jpeg_item(photo))).body["uploads"][0]
    _upload(first, photo)  # uploaded, not yet processed: pending counts too
    second = _post(api, token, _body(_jpeg_item(photo))).body["uploads"][0]
    assert second["needs_upload"] is False and second["upload"] is None
    assert second["image_id"] != first["image_id"]
    for ticket in (first, second):
        source = f"uploads/{owner[0]}/{ticket['image_id']}.jpg"
        assert s3.get_object(Bucket=UPLOADS, Key=source)["Body"].read() == photo
        assert worker(source).status is ProcessStatus.READY
    # A third post, after the first is ready, is copied as well.
    third = _post(api, token, _body(_jpeg_item(photo))).body["uploads"][0]
    assert third["needs_upload"] is False
    # Deleting either leaves the other whole.
    assert api.call("DELETE", first["status_url"], token=token).status in (200, 202, 204)
    kept = api.call("GET", second["status_url"], token=token).body
    assert kept["status"] == "ready" and kept["variants"]
    assert all(httpx.get(v["url"]).status_code == 200 for v in kept["variants"])
    # Without the first image, the next re-post copies from one still alive.
    assert _post(api, token, _body(_jpeg_item(photo))).body["uploads"][0]["needs_upload"] is False

    # Another owner with the same bytes learns nothing and uploads as usual.
    stranger = _post(api, issuer.token(f"retry-{uuid.uuid4().hex[:10]}"), _body(_jpeg_item(photo)))
    assert stranger.body["uploads"][0]["needs_upload"] is True and stranger.body["uploads"][0]["upload"]


def test_an_item_without_a_checksum_or_with_another_size_is_uploaded(
    api: Runtime, owner: tuple[str, str]
) -> None:
    _, token = owner
    photo = camera_jpeg("sized.jpg", (320, 240)).data
    first = _post(api, token, _body(_jpeg_item(photo))).body["uploads"][0]
    _upload(first, photo)
    unchecked = _post(api, token, _body(_jpeg_item(photo, md5=False))).body["uploads"][0]
    resized = {**_jpeg_item(photo), "size_bytes": len(photo) + 1}
    other_size = _post(api, token, _body(resized)).body["uploads"][0]
    assert unchecked["needs_upload"] and other_size["needs_upload"]


def test_upload_config_tells_a_phone_what_to_send(api: Runtime, owner: tuple[str, str]) -> None:
    config = api.call("GET", "/v1/upload-config", token=owner[1]).body
    assert config["max_items"] == 20 and "image/jpeg" in config["content_types"]
    # The feed's widest variant is 1080 px, its widest aspect 1.91:1, the margin 1.5.
    assert config["useful_source"] == {"width": 1620, "height": 849}
    assert config["idempotency_key_hours"] == 24
    assert api.call("GET", "/v1/upload-config").status == 401


def test_a_key_whose_request_died_after_its_batch_landed_answers_that_batch(
    api: Runtime, s3_endpoint: str, owner: tuple[str, str]
) -> None:
    name, token = owner
    key, body = str(uuid.uuid4()), _body({"content_type": "image/jpeg", "size_bytes": 1000})
    first = _post(api, token, body, key).body
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint)
    (stored,) = [
        i
        for i in dynamodb.scan(TableName=TABLE)["Items"]
        if i["pk"]["S"] == f"owner#{name}" and i["sk"]["S"].startswith("idempotency#")
    ]
    dynamodb.update_item(  # as the request left it had it died after the batch, before marking it done
        TableName=TABLE,
        Key={"pk": stored["pk"], "sk": stored["sk"]},
        UpdateExpression="SET #state = :in_flight, lease_until = :lapsed",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":in_flight": {"S": "in_flight"},
            ":lapsed": {"N": str(int(time.time()) - 1)},
        },
    )
    resumed = _post(api, token, body, key)
    assert resumed.status == 200 and resumed.body["batch_id"] == first["batch_id"]
    assert resumed.headers.get("idempotent-replayed") == "true"
    assert [t["image_id"] for t in resumed.body["uploads"]] == [t["image_id"] for t in first["uploads"]]
