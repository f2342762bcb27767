"""The registry against moto's DynamoDB: owner pages walk on from where they stopped, pages list newest
first, cursors are opaque and refuse what this API did not issue, the outbox index holds exactly the
unsent, an erasure job advances only from where a step found it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

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


def test_owner_pages_walk_on_from_the_last_id_one_query_each(registry: Registry) -> None:
    ids = _create(registry, "alice", 60)
    seen: list[str] = []
    after = None
    for _ in range(3):
        page, after = registry.owner_images_after("alice", after=after, limit=25)
        seen += [r.image_id for r in page]
        if after is None:
            break
    assert seen == ids and after is None  # oldest first, every item once: 25 + 25 + 10


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


def test_the_outbox_index_holds_what_is_unsent_and_nothing_else(registry: Registry) -> None:
    ids = _create(registry, "dora", 3)
    assert all(not registry.unsent(shard, before="9") for shard in "0123456789abcdef")  # pending: no event
    assert registry.mark_deleted("dora", ids[0], now=NOW, now_epoch=0).written
    flagged = [r.image_id for shard in "0123456789abcdef" for r in registry.unsent(shard, before="9")]
    assert flagged == [ids[0]]
    assert not [r for s in "0123456789abcdef" for r in registry.unsent(s, before="2026-11-29")]  # too new
    registry.event_sent("dora", ids[0], status=Status.DELETED, version=None)
    assert all(not registry.unsent(shard, before="9") for shard in "0123456789abcdef")


def test_an_erasure_job_starts_once_and_advances_only_from_where_it_was(registry: Registry) -> None:
    job, started = registry.start_erasure("erin", job_id="a" * 32, now=NOW, stale_before="2026-11-29")
    again, restarted = registry.start_erasure("erin", job_id="b" * 32, now=NOW, stale_before="2026-11-29")
    assert started and not restarted and again.job_id == job.job_id  # one job runs at a time
    assert registry.advance_erasure(job, after="1" * 32, erased=25, done=False, now=NOW, expires_at=0)
    # A duplicate step that read the job before that advance loses.
    assert not registry.advance_erasure(job, after="1" * 32, erased=25, done=False, now=NOW, expires_at=0)
    current = registry.erasure("erin")
    assert current is not None and current.erased == 25 and current.after == "1" * 32
    assert registry.advance_erasure(current, after="2" * 32, erased=3, done=True, now=NOW, expires_at=0)
    finished = registry.erasure("erin")
    assert finished is not None and finished.state.value == "done" and finished.erased == 28
    _, fresh = registry.start_erasure("erin", job_id="c" * 32, now=NOW, stale_before="2026-11-29")
    assert fresh  # a finished job makes room for a new one
    _, stale = registry.start_erasure("erin", job_id="d" * 32, now=NOW, stale_before="2026-12-01")
    assert stale  # and so does a running one nobody has advanced for an hour


class _RetriedTransactions:
    """A DynamoDB client whose TransactWriteItems lands and then is sent again, as botocore does when
    the first response is lost (a read timeout): the second attempt fails every condition. moto (like
    any emulator without DynamoDB's client token) then answers the retry with a cancellation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._client.transact_write_items(**kwargs)
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _pending(owner: str, batch_id: str) -> ImageRecord:
    return ImageRecord(
        owner=owner,
        image_id=new_image_id(),
        batch_id=batch_id,
        status=Status.PENDING,
        content_type="image/jpeg",
        declared_bytes=1,
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_batch_whose_transaction_is_replayed_after_it_landed_is_that_batch() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition("images"))
        replaying = Registry(_RetriedTransactions(dynamodb), "images")
        records = [_pending("alice", "b" * 32) for _ in range(4)]
        replaying.create_pending(records)  # was: TransactionCanceledException -> 500 internal_error
        assert [r.image_id for r in replaying.batch("alice", "b" * 32)] == sorted(r.image_id for r in records)
        # A conflict that is not our own retry still fails: a record of another batch under the same key.
        clash = [replace(records[0], batch_id="c" * 32), _pending("alice", "c" * 32)]
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            Registry(dynamodb, "images").create_pending(clash)
        assert Registry(dynamodb, "images").get("alice", clash[1].image_id) is None  # all or nothing
