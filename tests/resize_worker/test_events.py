from __future__ import annotations

import json

import pytest
from resize_worker.events import uploaded_objects

from tests.conftest import load_event
from tests.resize_worker.conftest import s3_body


def test_keys_are_url_decoded() -> None:
    body = s3_body("uploads/alice/photo of me+you.jpg")
    assert "photo+of+me%2Byou.jpg" in body
    (obj,) = uploaded_objects(body)
    assert obj.key == "uploads/alice/photo of me+you.jpg"


def test_slashes_encoded_as_percent_2f_are_decoded() -> None:
    body = s3_body("uploads%2Falice%2Fa.jpg", encode=False)
    (obj,) = uploaded_objects(body)
    assert obj.key == "uploads/alice/a.jpg"


def test_s3_test_event_names_nothing() -> None:
    assert uploaded_objects(json.dumps(load_event("s3_test_event"))) == []


def test_removal_events_are_skipped() -> None:
    event = json.loads(s3_body("uploads/alice/a.jpg"))
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert uploaded_objects(json.dumps(event)) == []


@pytest.mark.parametrize("body", ["not json", "{}", '{"hello": 1}'])
def test_bodies_that_are_not_s3_notifications_raise(body: str) -> None:
    with pytest.raises(ValueError):
        uploaded_objects(body)
