"""The image registry: one DynamoDB item per image, the single source of truth for its state. The API
and the worker both go through this module, so the keys, the item layout and every state transition
have one owner. It takes a boto3 DynamoDB client and imports nothing beyond the standard library.

Keys (access pattern -> key condition):

- an image of an owner:   GetItem   pk = "owner#<owner>", sk = "image#<image id>"
- an owner's images, newest first (ids sort by time):
                          Query     pk = "owner#<owner>", sk begins_with "image#", descending
- a batch (one post):     Query     index "batch": batch_pk = "<owner>#<batch id>"
  (the owner is part of the batch key, so another owner's batch id finds nothing)

Transitions, each one conditional write:

- (none) -> pending       all items of a request in one TransactWriteItems, each attribute_not_exists
- pending|ready|rejected -> ready|rejected   only for another variants version (source ETag + spec)
                          of a source no older than the recorded one (a duplicate event is a no-op, a
                          changed spec re-processes, an older upload finishing late loses), never from
                          deleted
- any -> deleted          the item stays as a tombstone (content removed, expires by TTL): a deleted
                          image can never become ready again, and a repeated delete is recognised
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from photo_contract.keys import is_valid_image_id
from photo_contract.records import VariantRecord

PARTITION_KEY = "pk"
SORT_KEY = "sk"
BATCH_INDEX = "batch"
BATCH_KEY = "batch_pk"
TTL_ATTRIBUTE = "expires_at"
MAX_PAGE = 100
DELETED_RETENTION_SECONDS = 30 * 24 * 3600  # a tombstone answers repeated deletes for a month


def table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the registry (the local emulator and tests; the stacks declare the
    same keys and index with CDK from these constants)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": BATCH_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BATCH_INDEX,
                "KeySchema": [
                    {"AttributeName": BATCH_KEY, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


class Status(StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"
    DELETED = "deleted"


def owner_key(owner: str) -> str:
    return f"owner#{owner}"


def image_key(image_id: str) -> str:
    return f"image#{image_id}"


def batch_key(owner: str, batch_id: str) -> str:
    return f"{owner}#{batch_id}"


@dataclass(frozen=True, kw_only=True)
class ImageRecord:
    owner: str
    image_id: str
    batch_id: str
    status: Status
    content_type: str
    declared_bytes: int
    created_at: str
    updated_at: str
    filename: str | None = None
    source_etag: str | None = None  # the source version the variants were made from
    version: str | None = None  # variants_version(source_etag, spec): names the variant keys
    source_modified: str | None = None
    source_format: str | None = None
    width: int | None = None
    height: int | None = None
    variants: tuple[VariantRecord, ...] = ()
    placeholder: str | None = None  # ThumbHash, base64: painted before any variant arrives
    dominant_color: str | None = None  # "#rrggbb"
    reason: str | None = None
    detail: str | None = None
    event_pending: bool = False  # the transition's event is not yet on the bus (outbox)
    cleaned: bool = True  # deleted: every object is gone (False until the API's cleanup finished)
    expires_at: int | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            PARTITION_KEY: {"S": owner_key(self.owner)},
            SORT_KEY: {"S": image_key(self.image_id)},
            BATCH_KEY: {"S": batch_key(self.owner, self.batch_id)},
            "owner": {"S": self.owner},
            "image_id": {"S": self.image_id},
            "batch_id": {"S": self.batch_id},
            "status": {"S": self.status.value},
            "content_type": {"S": self.content_type},
            "declared_bytes": {"N": str(self.declared_bytes)},
            "created_at": {"S": self.created_at},
            "updated_at": {"S": self.updated_at},
            "event_pending": {"BOOL": self.event_pending},
            "cleaned": {"BOOL": self.cleaned},
        }
        for name in (
            "filename",
            "source_etag",
            "version",
            "source_modified",
            "source_format",
            "reason",
            "detail",
        ):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": value}
        for name in ("width", "height", "expires_at"):
            value = getattr(self, name)
            if value is not None:
                item[name if name != "expires_at" else TTL_ATTRIBUTE] = {"N": str(value)}
        if self.variants:
            item["variants"] = {"L": [_variant_item(v) for v in self.variants]}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ImageRecord:
        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        def number(name: str) -> int | None:
            return int(item[name]["N"]) if name in item else None

        return cls(
            owner=item["owner"]["S"],
            image_id=item["image_id"]["S"],
            batch_id=item["batch_id"]["S"],
            status=Status(item["status"]["S"]),
            content_type=item["content_type"]["S"],
            declared_bytes=int(item["declared_bytes"]["N"]),
            created_at=item["created_at"]["S"],
            updated_at=item["updated_at"]["S"],
            filename=text("filename"),
            source_etag=text("source_etag"),
            version=text("version"),
            source_modified=text("source_modified"),
            source_format=text("source_format"),
            width=number("width"),
            height=number("height"),
            variants=tuple(_variant_record(v["M"]) for v in item.get("variants", {}).get("L", [])),
            placeholder=text("placeholder"),
            dominant_color=text("dominant_color"),
            reason=text("reason"),
            detail=text("detail"),
            event_pending=item.get("event_pending", {}).get("BOOL", False),
            cleaned=item.get("cleaned", {}).get("BOOL", True),
            expires_at=number(TTL_ATTRIBUTE),
        )


def _variant_item(v: VariantRecord) -> dict[str, Any]:
    return {
        "M": {
            "name": {"S": v.name},
            "key": {"S": v.key},
            "width": {"N": str(v.width)},
            "height": {"N": str(v.height)},
            "content_type": {"S": v.content_type},
            "size_bytes": {"N": str(v.size_bytes)},
        }
    }


def _variant_record(m: dict[str, Any]) -> VariantRecord:
    return VariantRecord(
        name=m["name"]["S"],
        key=m["key"]["S"],
        width=int(m["width"]["N"]),
        height=int(m["height"]["N"]),
        content_type=m["content_type"]["S"],
        size_bytes=int(m["size_bytes"]["N"]),
    )


@dataclass(frozen=True)
class Transition:
    """A transition's result: whether it was written, and the item as it was before (if any)."""

    written: bool
    previous: ImageRecord | None = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """What the worker made of one source version."""

    status: Status  # READY or REJECTED
    source_etag: str
    version: str  # variants_version(source_etag, spec)
    source_modified: str
    source_format: str | None = None
    width: int | None = None
    height: int | None = None
    variants: tuple[VariantRecord, ...] = field(default_factory=tuple)
    placeholder: str | None = None
    dominant_color: str | None = None
    reason: str | None = None
    detail: str | None = None


class CursorError(ValueError):
    pass


def encode_cursor(image_id: str) -> str:
    """Opaque to clients: where the next page starts, not a DynamoDB key."""
    return base64.urlsafe_b64encode(f"v1:{image_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise CursorError("the cursor is not one this API issued") from exc
    version, _, image_id = text.partition(":")
    if version != "v1" or not is_valid_image_id(image_id):
        raise CursorError("the cursor is not one this API issued")
    return image_id


class Registry:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def _key(self, owner: str, image_id: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": owner_key(owner)}, SORT_KEY: {"S": image_key(image_id)}}

    # --- the API ----------------------------------------------------------------------------------

    def create_pending(self, records: list[ImageRecord]) -> None:
        """All or nothing: a client never sees half a batch (TransactWriteItems takes up to 100)."""
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": record.to_item(),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for record in records
            ]
        )

    def get(self, owner: str, image_id: str) -> ImageRecord | None:
        item = self._db.get_item(TableName=self._table, Key=self._key(owner, image_id), ConsistentRead=True)
        return ImageRecord.from_item(item["Item"]) if "Item" in item else None

    def batch(self, owner: str, batch_id: str) -> list[ImageRecord]:
        """Every image of a batch, in upload order (ids sort by time)."""
        response = self._db.query(
            TableName=self._table,
            IndexName=BATCH_INDEX,
            KeyConditionExpression=f"{BATCH_KEY} = :batch",
            ExpressionAttributeValues={":batch": {"S": batch_key(owner, batch_id)}},
        )
        return sorted((ImageRecord.from_item(i) for i in response["Items"]), key=lambda r: r.image_id)

    def page(
        self, owner: str, *, limit: int, after: str | None = None
    ) -> tuple[list[ImageRecord], str | None]:
        """Up to ``limit`` of an owner's live images, newest first, and the id to continue after."""
        found, more = self._owner_images(
            owner,
            want=limit,
            keep="#status <> :deleted",
            newest_first=True,
            start=self._key(owner, after) if after else None,
        )
        page = found[:limit]
        return page, (page[-1].image_id if more and page else None)

    def to_erase(self, owner: str, *, limit: int) -> tuple[list[ImageRecord], bool]:
        """Up to ``limit`` images of an owner that still hold anything (live, or deleted but not cleaned,
        or with its event unsent), and whether more may follow (finished tombstones of earlier pages are
        skipped by the filter, so a long erasure never stalls on them)."""
        found, more = self._owner_images(
            owner,
            want=limit,
            keep="#status <> :deleted OR cleaned = :false OR event_pending = :true",
            newest_first=False,
        )
        return found[:limit], more

    def _owner_images(
        self, owner: str, *, want: int, keep: str, newest_first: bool, start: dict[str, Any] | None = None
    ) -> tuple[list[ImageRecord], bool]:
        """Query an owner's images through the ``keep`` filter, page after page, until one more than
        ``want`` is found or the owner's items end; and whether more may follow."""
        found: list[ImageRecord] = []
        while len(found) <= want:
            options: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": f"{PARTITION_KEY} = :owner AND begins_with({SORT_KEY}, :image)",
                "FilterExpression": keep,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":owner": {"S": owner_key(owner)},
                    ":image": {"S": "image#"},
                    ":deleted": {"S": Status.DELETED.value},
                    **({":false": {"BOOL": False}} if ":false" in keep else {}),
                    **({":true": {"BOOL": True}} if ":true" in keep else {}),
                },
                "ScanIndexForward": not newest_first,
                "Limit": min(MAX_PAGE, want - len(found) + 1),
            }
            if start is not None:
                options["ExclusiveStartKey"] = start
            response = self._db.query(**options)
            found += [ImageRecord.from_item(i) for i in response["Items"]]
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return found, len(found) > want or start is not None

    def mark_deleted(self, owner: str, image_id: str, *, now: str, now_epoch: int) -> Transition:
        """Tombstone the image (content removed, cleanup pending); a repeat on a tombstone is allowed
        (the cleanup can be re-run) and reported with ``written=False``."""
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression=(
                    "SET #status = :deleted, updated_at = :now, cleaned = :false, event_pending = :true, "
                    f"{TTL_ATTRIBUTE} = :expires REMOVE variants, width, height, filename, reason, detail, "
                    "placeholder, dominant_color"
                ),
                ConditionExpression="attribute_exists(pk) AND #status <> :deleted",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":deleted": {"S": Status.DELETED.value},
                    ":now": {"S": now},
                    ":false": {"BOOL": False},
                    ":true": {"BOOL": True},
                    ":expires": {"N": str(now_epoch + DELETED_RETENTION_SECONDS)},
                },
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            current = self.get(owner, image_id)
            return Transition(False, current)
        return Transition(True, ImageRecord.from_item(response["Attributes"]))

    def mark_cleaned(self, owner: str, image_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=self._key(owner, image_id),
            UpdateExpression="SET cleaned = :true",
            ConditionExpression="#status = :deleted",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":true": {"BOOL": True}, ":deleted": {"S": Status.DELETED.value}},
        )

    # --- the worker -------------------------------------------------------------------------------

    def complete(self, owner: str, image_id: str, done: Completion, *, now: str) -> Transition:
        """pending/ready/rejected -> ready/rejected for a newer source version; never from deleted."""
        values: dict[str, Any] = {
            ":status": {"S": done.status.value},
            ":deleted": {"S": Status.DELETED.value},
            ":etag": {"S": done.source_etag},
            ":version": {"S": done.version},
            ":modified": {"S": done.source_modified},
            ":now": {"S": now},
            ":true": {"BOOL": True},
        }
        sets = [
            "#status = :status",
            "source_etag = :etag",
            "version = :version",
            "source_modified = :modified",
            "updated_at = :now",
            "event_pending = :true",
        ]
        removes = [TTL_ATTRIBUTE]
        for name in ("source_format", "placeholder", "dominant_color", "reason", "detail"):
            value = getattr(done, name)
            if value is not None:
                values[f":{name}"] = {"S": value}
                sets.append(f"{name} = :{name}")
            else:
                removes.append(name)
        for name in ("width", "height"):
            value = getattr(done, name)
            if value is not None:
                values[f":{name}"] = {"N": str(value)}
                sets.append(f"{name} = :{name}")
            else:
                removes.append(name)
        if done.variants:
            values[":variants"] = {"L": [_variant_item(v) for v in done.variants]}
            sets.append("variants = :variants")
        else:
            removes.append("variants")
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                ConditionExpression=(
                    "attribute_exists(pk) AND #status <> :deleted AND (attribute_not_exists(version) "
                    "OR (version <> :version AND source_modified <= :modified))"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return Transition(False)
        return Transition(True, ImageRecord.from_item(response["Attributes"]))

    def event_sent(self, owner: str, image_id: str, *, status: Status, version: str | None) -> None:
        """Clear the outbox flag, only for the transition whose event went out."""
        values: dict[str, Any] = {":false": {"BOOL": False}, ":status": {"S": status.value}}
        condition = "#status = :status"
        if version is not None:
            values[":version"] = {"S": version}
            condition += " AND version = :version"
        # A failed condition means a newer transition owns the flag now.
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression="SET event_pending = :false",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
