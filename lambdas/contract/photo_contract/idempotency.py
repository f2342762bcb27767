"""Idempotency keys for creating a batch, with the semantics of the IETF httpapi draft
"The Idempotency-Key HTTP Header Field": a client that lost the answer to ``POST /v1/uploads`` sends the
same request with the same key and gets the same batch again.

One item per (owner, key) in the registry table, kept 24 hours (TTL; an expired item is treated as
absent before DynamoDB's sweeper removes it). Its life: claimed (in flight, with a lease) -> done (names
the batch) or released (the request failed: the key may be used again). A request that died in flight
leaves a lease that lapses after ``LEASE_SECONDS``; the next retry takes the key over with the batch id
the dead one had chosen, so a batch that landed before the crash is answered, not made twice.

Only the key's SHA-256 is stored (a client may put anything in a key) and the body's fingerprint, never
the body. Imports nothing beyond the standard library; takes a boto3 DynamoDB client.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from photo_contract.registry import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, owner_key

KEY_SORT_PREFIX = "idempotency#"
KEY_RETENTION_SECONDS = 24 * 3600
# Longer than any request can run (the API's budget is seconds): a lease that lapses is a dead request.
LEASE_SECONDS = 30
MAX_KEY_LENGTH = 255


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # this request makes the batch (``batch_id``), then calls ``complete``
    REPLAY = "replay"  # the batch ``batch_id`` was made by an earlier request with this key and body
    IN_FLIGHT = "in_flight"  # a request with this key is running now
    MISMATCH = "mismatch"  # the key was used with another body


class _State(StrEnum):
    IN_FLIGHT = "in_flight"
    DONE = "done"
    RELEASED = "released"


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    batch_id: str | None = None
    # CLAIMED from a request that died: its batch may have landed before it did (a fresh claim's cannot).
    resumed: bool = False


def parse_key(header: str) -> str:
    """The header's value: a structured-field string (``"abc"``, as the draft writes it) or a bare
    token; 1..255 printable ASCII characters but the quote. Raises ValueError otherwise."""
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" and c != '"' for c in value):
        raise ValueError(f"an Idempotency-Key is 1..{MAX_KEY_LENGTH} printable ASCII characters")
    return value


def fingerprint(body: Any) -> str:
    """The request body's identity: SHA-256 of its canonical JSON (key order and spacing do not count)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def _key(self, owner: str, key: str) -> dict[str, Any]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return {PARTITION_KEY: {"S": owner_key(owner)}, SORT_KEY: {"S": KEY_SORT_PREFIX + digest}}

    def claim(self, owner: str, key: str, *, body_fingerprint: str, batch_id: str, now: float) -> Claim:
        """Take the key for a new batch ``batch_id``, or say why not (one conditional put; one read
        more when the key is taken)."""
        at = int(now)
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(owner, key),
                    "state": {"S": _State.IN_FLIGHT.value},
                    "fingerprint": {"S": body_fingerprint},
                    "batch_id": {"S": batch_id},
                    "lease_until": {"N": str(at + LEASE_SECONDS)},
                    TTL_ATTRIBUTE: {"N": str(at + KEY_RETENTION_SECONDS)},
                },
                ConditionExpression=(
                    f"attribute_not_exists({PARTITION_KEY}) OR {TTL_ATTRIBUTE} <= :now OR #state = :released"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":now": {"N": str(at)}, ":released": {"S": _State.RELEASED.value}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return self._taken(owner, key, body_fingerprint, at)
        return Claim(ClaimOutcome.CLAIMED, batch_id)

    def _taken(self, owner: str, key: str, body_fingerprint: str, at: int) -> Claim:
        item = self._db.get_item(TableName=self._table, Key=self._key(owner, key), ConsistentRead=True)
        stored = item.get("Item")
        if stored is None:  # expired and swept between the put and this read: a retry claims it
            return Claim(ClaimOutcome.IN_FLIGHT)
        if stored["fingerprint"]["S"] != body_fingerprint:
            return Claim(ClaimOutcome.MISMATCH)
        batch_id = stored["batch_id"]["S"]
        if stored["state"]["S"] == _State.DONE.value:
            return Claim(ClaimOutcome.REPLAY, batch_id)
        lease = stored["lease_until"]["N"]
        if int(lease) > at:
            return Claim(ClaimOutcome.IN_FLIGHT)
        # The request holding the key died: take its lease over, keeping the batch id it chose.
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, key),
                UpdateExpression="SET lease_until = :lease",
                ConditionExpression="#state = :in_flight AND lease_until = :old",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":lease": {"N": str(at + LEASE_SECONDS)},
                    ":old": {"N": lease},
                    ":in_flight": {"S": _State.IN_FLIGHT.value},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return Claim(ClaimOutcome.IN_FLIGHT)  # another retry took it first
        return Claim(ClaimOutcome.CLAIMED, batch_id, resumed=True)

    def complete(self, owner: str, key: str, *, batch_id: str) -> None:
        """The batch exists: every later request with this key and body is answered with it."""
        self._set_state(owner, key, _State.DONE, batch_id)

    def release(self, owner: str, key: str, *, batch_id: str) -> None:
        """The request failed before its batch was made: the key may be used again, with any body."""
        self._set_state(owner, key, _State.RELEASED, batch_id)

    def _set_state(self, owner: str, key: str, state: _State, batch_id: str) -> None:
        # A miss: another request took the lapsed lease over, and the key is its now.
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, key),
                UpdateExpression="SET #state = :state",
                ConditionExpression="#state = :in_flight AND batch_id = :batch",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":state": {"S": state.value},
                    ":in_flight": {"S": _State.IN_FLIGHT.value},
                    ":batch": {"S": batch_id},
                },
            )
