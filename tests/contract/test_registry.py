"""The registry against moto's DynamoDB: erasure pages past any number of tombstones, pages list newest
first, cursors are opaque and refuse what this API did not issue."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from photo_contract import new_image_id
from photo_contract.registry import (
    CursorError,
    ImageRecord,
    Registry,
    Status,
    decode_cursor,
    encode_cursor,
    table_definition,
)

NOW = "2026-11-30T00:00:00.000+00:00"


@pytest.fixture
def registry() -> Iterator[Registry]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition("images"))
        yield Registry(dynamodb, "images")


def _create(registry: Registry, owner: str, count: int) -> list[str]:
    ids = [new_image_id() for _ in range(count)]
    for start in range(0, count, 25):
        registry.create_pending(
            [
                ImageRecord(
                    owner=owner,
                    image_id=image_id,
                    batch_id="0" * 32,
                    status=Status.PENDING,
                    content_type="image/png",
                    declared_bytes=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
                for image_id in ids[start : start + 25]
            ]
        )
    return ids


def test_erasure_pages_past_more_tombstones_than_one_query_reads(registry: Registry) -> None:
    ids = _create(registry, "alice", 130)
    for image_id in ids[:110]:  # the first 110 erased, announced and cleaned: more than one query reads
        assert registry.mark_deleted("alice", image_id, now=NOW, now_epoch=0).written
        registry.event_sent("alice", image_id, status=Status.DELETED, version=None)
        registry.mark_cleaned("alice", image_id)
    batch, more = registry.to_erase("alice", limit=25)
    assert sorted(r.image_id for r in batch) == sorted(ids[110:]) and more is False


def test_pages_are_newest_first_and_skip_deleted(registry: Registry) -> None:
    ids = _create(registry, "bob", 8)
    registry.mark_deleted("bob", ids[5], now=NOW, now_epoch=0)
    first, after = registry.page("bob", limit=3)
    second, last = registry.page("bob", limit=3, after=after)
    assert after is not None and last is not None
    third, end = registry.page("bob", limit=3, after=last)
    listed = [r.image_id for r in first + second + third]
    assert listed == [i for i in reversed(ids) if i != ids[5]]  # 7 live ones: 3 + 3 + 1
    assert end is None


@pytest.mark.parametrize("cursor", ["", "bm9wZQ", encode_cursor("0" * 32)[:-2] + "!!", "djI6eHg"])
def test_a_cursor_this_api_did_not_issue_is_refused(cursor: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(cursor)
    assert decode_cursor(encode_cursor("f" * 32)) == "f" * 32


def test_a_cleaned_tombstone_whose_event_was_not_sent_is_erased_again(registry: Registry) -> None:
    (image_id,) = _create(registry, "dora", 1)
    assert registry.mark_deleted("dora", image_id, now=NOW, now_epoch=0).written
    registry.mark_cleaned("dora", image_id)  # cleaned, but its event never went out
    batch, _ = registry.to_erase("dora", limit=25)
    assert [r.image_id for r in batch] == [image_id]
    registry.event_sent("dora", image_id, status=Status.DELETED, version=None)
    assert registry.to_erase("dora", limit=25) == ([], False)
