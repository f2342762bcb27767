"""The image registry: one DynamoDB item per image, the single source of truth for its state. The API
and the worker both go through this module, so the keys, the item layout and every state transition
have one owner. It takes a boto3 DynamoDB client and imports nothing beyond the standard library.

Keys (access pattern -> key condition):

- an image of an owner:   GetItem   pk = "owner#<owner>", sk = "image#<image id>"
- an owner's images, newest first (ids sort by time):
                          Query     pk = "owner#<owner>", sk begins_with "image#", descending
- a batch (one post):     Query     index "batch": batch_pk = "<owner>#<batch id>"
  (the owner is part of the batch key, so another owner's batch id finds nothing)
- held for review (sparse): Query     index "held": held_shard = "held", oldest first by updated_at
                          (only items whose status is held are in it)
- unsent events (outbox): Query     index "outbox": outbox_shard = "<last hex digit of the id>",
                          updated_at < cutoff (sparse: only items whose event is unsent are in it)
- an owner's erasure job: GetItem   pk = "owner#<owner>", sk = "erasure"
- an owner's originals by content (sparse): Query index "content": content_pk =
                          "<owner>#<MD5>#<bytes>" (only live items whose upload declared its MD5)
- an idempotency key:     GetItem   pk = "owner#<owner>", sk = "idempotency#<key digest>"
                          (``photo_contract.idempotency``)

Transitions, each one conditional write:

- (none) -> pending       all items of a request in one TransactWriteItems, each attribute_not_exists
- pending|ready|rejected -> ready|rejected   the first source recorded is the image's for good (an
                          image id is processed once: a form posted again is discarded unread); after
                          that only another variants version of that same source (a changed spec
                          re-processes; a duplicate event is a no-op), never from deleted
- pending -> held          moderation's verdict (the variants wait under held/); after a review,
  held -> ready|rejected  conditional on held and the version reviewed (``decide``)
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

from photo_contract.alternates import AlternatesState
from photo_contract.keys import is_valid_image_id
from photo_contract.moderation import Decision, ModerationRecord
from photo_contract.receipt import PrivacyReceipt
from photo_contract.records import VariantRecord

PARTITION_KEY = "pk"
SORT_KEY = "sk"
BATCH_INDEX = "batch"
BATCH_KEY = "batch_pk"
OUTBOX_INDEX = "outbox"
OUTBOX_KEY = "outbox_shard"  # set while the item's event is unsent, removed once it is on the bus
OUTBOX_SORT_KEY = "updated_at"
HELD_INDEX = "held"
HELD_KEY = "held_shard"  # set while the image is held for review: the moderators' queue
HELD_SHARD = "held"
CONTENT_INDEX = "content"
CONTENT_KEY = "content_pk"  # set while a live image's upload declared its checksum: a re-post finds it
# What the content index carries: enough to name the original, not the receipt or the variants.
CONTENT_PROJECTION = (
    "owner",
    "image_id",
    "batch_id",
    "status",
    "content_type",
    "declared_bytes",
    "created_at",
    "updated_at",
    "content_md5",
)
OUTBOX_SHARDS = "0123456789abcdef"  # an image id's last hex digit: writes spread over 16 partitions
ERASURE_SORT_KEY = "erasure"
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
            {"AttributeName": OUTBOX_KEY, "AttributeType": "S"},
            {"AttributeName": OUTBOX_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": HELD_KEY, "AttributeType": "S"},
            {"AttributeName": CONTENT_KEY, "AttributeType": "S"},
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
            },
            {
                "IndexName": OUTBOX_INDEX,
                "KeySchema": [
                    {"AttributeName": OUTBOX_KEY, "KeyType": "HASH"},
                    {"AttributeName": OUTBOX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": HELD_INDEX,
                "KeySchema": [
                    {"AttributeName": HELD_KEY, "KeyType": "HASH"},
                    {"AttributeName": OUTBOX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": CONTENT_INDEX,
                "KeySchema": [
                    {"AttributeName": CONTENT_KEY, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(CONTENT_PROJECTION)},
            },
        ],
    }


class Status(StrEnum):
    PENDING = "pending"
    HELD = "held"  # made, waiting for a moderator; served to nobody but its owner
    READY = "ready"
    REJECTED = "rejected"
    DELETED = "deleted"


def owner_key(owner: str) -> str:
    return f"owner#{owner}"


def image_key(image_id: str) -> str:
    return f"image#{image_id}"


def batch_key(owner: str, batch_id: str) -> str:
    return f"{owner}#{batch_id}"


def content_key(owner: str, content_md5: str, size_bytes: int) -> str:
    return f"{owner}#{content_md5}#{size_bytes}"


def outbox_shard(image_id: str) -> str:
    return image_id[-1]


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
    content_md5: str | None = None  # base64 MD5 the upload declared (S3 checked it on POST)
    source_etag: str | None = None  # the source version the variants were made from
    version: str | None = None  # variants_version(source_etag, spec): names the variant keys
    source_modified: str | None = None
    source_format: str | None = None
    width: int | None = None
    height: int | None = None
    variants: tuple[VariantRecord, ...] = ()
    placeholder: str | None = None  # ThumbHash, base64: painted before any variant arrives
    dominant_color: str | None = None  # "#rrggbb"
    receipt: PrivacyReceipt | None = None  # what the original carried and the variants do not
    moderation: ModerationRecord | None = None  # the verdict, and a moderator's decision
    # The worker's wall time from reading the original to the last variant written: what Lambda bills
    # for this image (the registry write aside); with variants' sizes, a consumer's cost per owner.
    processing_ms: int | None = None
    # Two-step images: where their alternates are (photo_contract.alternates); None: made in one step.
    alternates: AlternatesState | None = None
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
            "content_md5",
            "source_etag",
            "version",
            "source_modified",
            "source_format",
            "alternates",
            "reason",
            "detail",
        ):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": value}
        for name in ("width", "height", "processing_ms", "expires_at"):
            value = getattr(self, name)
            if value is not None:
                item[name if name != "expires_at" else TTL_ATTRIBUTE] = {"N": str(value)}
        if self.variants:
            item["variants"] = {"L": [_variant_item(v) for v in self.variants]}
        if self.receipt is not None:
            item["receipt"] = {"S": self.receipt.to_json()}
        if self.moderation is not None:
            item["moderation"] = {"S": self.moderation.to_json()}
        if self.event_pending:
            item[OUTBOX_KEY] = {"S": outbox_shard(self.image_id)}
        if self.content_md5 is not None and self.status is not Status.DELETED:
            item[CONTENT_KEY] = {"S": content_key(self.owner, self.content_md5, self.declared_bytes)}
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
            content_md5=text("content_md5"),
            source_etag=text("source_etag"),
            version=text("version"),
            source_modified=text("source_modified"),
            source_format=text("source_format"),
            width=number("width"),
            height=number("height"),
            processing_ms=number("processing_ms"),
            alternates=AlternatesState(item["alternates"]["S"]) if "alternates" in item else None,
            variants=tuple(_variant_record(v["M"]) for v in item.get("variants", {}).get("L", [])),
            placeholder=text("placeholder"),
            dominant_color=text("dominant_color"),
            receipt=PrivacyReceipt.from_json(item["receipt"]["S"]) if "receipt" in item else None,
            moderation=ModerationRecord.from_json(item["moderation"]["S"]) if "moderation" in item else None,
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
    receipt: PrivacyReceipt | None = None
    moderation: ModerationRecord | None = None
    processing_ms: int | None = None
    alternates: AlternatesState | None = None  # PENDING: a second step makes them (the rest: None)
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class Decided:
    """A moderator's decision on a held image: the moderation record with it, and for a clearing the
    variants at their served keys."""

    moderation: ModerationRecord
    variants: tuple[VariantRecord, ...] = ()


class ErasureState(StrEnum):
    RUNNING = "running"
    DONE = "done"


ERASURE_STALE_SECONDS = 3600  # a running job untouched this long lost its message: a new request restarts it


@dataclass(frozen=True, kw_only=True)
class ErasureJob:
    """An owner's account erasure: one item beside their images, advanced a page at a time."""

    owner: str
    job_id: str
    state: ErasureState
    started_at: str
    updated_at: str
    erased: int = 0  # images tombstoned and cleaned by this job
    after: str | None = None  # the last image id the job has passed

    def to_item(self, *, expires_at: int | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {
            PARTITION_KEY: {"S": owner_key(self.owner)},
            SORT_KEY: {"S": ERASURE_SORT_KEY},
            "owner": {"S": self.owner},
            "job_id": {"S": self.job_id},
            "job_state": {"S": self.state.value},
            "started_at": {"S": self.started_at},
            "updated_at": {"S": self.updated_at},
            "erased": {"N": str(self.erased)},
        }
        if self.after is not None:
            item["after"] = {"S": self.after}
        if expires_at is not None:
            item[TTL_ATTRIBUTE] = {"N": str(expires_at)}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ErasureJob:
        return cls(
            owner=item["owner"]["S"],
            job_id=item["job_id"]["S"],
            state=ErasureState(item["job_state"]["S"]),
            started_at=item["started_at"]["S"],
            updated_at=item["updated_at"]["S"],
            erased=int(item["erased"]["N"]),
            after=item["after"]["S"] if "after" in item else None,
        )


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
        """All or nothing: a client never sees half a batch (TransactWriteItems takes up to 100).

        Idempotent: when a retried call (botocore retries a timed-out transaction) finds every record
        already there, written by this very batch, the first attempt landed and this one succeeds too.
        DynamoDB's client token would cover that for 10 minutes, but not every emulator honours it, and
        the check costs reads only on the failure path."""
        try:
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
        except self._db.exceptions.TransactionCanceledException as error:
            if not self._landed(records, error.response.get("CancellationReasons", [])):
                raise

    def _landed(self, records: list[ImageRecord], reasons: list[dict[str, Any]]) -> bool:
        """Every Put failed its condition, and each stored record is this batch's."""
        if len(reasons) != len(records) or any(r.get("Code") != "ConditionalCheckFailed" for r in reasons):
            return False
        for record in records:
            stored = self.get(record.owner, record.image_id)
            if stored is None or (stored.batch_id, stored.created_at) != (record.batch_id, record.created_at):
                return False
        return True

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

    def same_content(self, owner: str, *, content_md5: str, size_bytes: int) -> list[ImageRecord]:
        """This owner's live images whose upload declared these bytes (MD5 and size), oldest first: an
        original a re-post can be copied from. The index is eventually consistent (a post a moment ago
        may be missing: it then uploads as usual) and another owner's images are never in the answer."""
        response = self._db.query(
            TableName=self._table,
            IndexName=CONTENT_INDEX,
            KeyConditionExpression=f"{CONTENT_KEY} = :content",
            ExpressionAttributeValues={":content": {"S": content_key(owner, content_md5, size_bytes)}},
            Limit=MAX_PAGE,
        )
        found = (ImageRecord.from_item(i) for i in response["Items"])
        return [r for r in found if r.owner == owner and r.status in (Status.PENDING, Status.READY)]

    def page(
        self, owner: str, *, limit: int, after: str | None = None
    ) -> tuple[list[ImageRecord], str | None]:
        """Up to ``limit`` of an owner's live images, newest first, and the id to continue after."""
        found: list[ImageRecord] = []
        start = self._key(owner, after) if after else None
        while len(found) <= limit:
            response = self._db.query(
                **self._owner_query(owner, limit=min(MAX_PAGE, limit - len(found) + 1), newest_first=True),
                FilterExpression="#status <> :deleted",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":owner": {"S": owner_key(owner)},
                    ":image": {"S": "image#"},
                    ":deleted": {"S": Status.DELETED.value},
                },
                **({"ExclusiveStartKey": start} if start else {}),
            )
            found += [ImageRecord.from_item(i) for i in response["Items"]]
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        page = found[:limit]
        more = len(found) > limit or start is not None
        return page, (page[-1].image_id if more and page else None)

    def owner_images_after(
        self, owner: str, *, after: str | None, limit: int
    ) -> tuple[list[ImageRecord], str | None]:
        """One read: up to ``limit`` of an owner's items oldest first, tombstones included, after the id
        ``after``; and the id to continue after (None: the owner's items end here). An erasure walks
        these pages, so every page costs the same however many images came before."""
        response = self._db.query(
            **self._owner_query(owner, limit=limit, newest_first=False),
            ExpressionAttributeValues={":owner": {"S": owner_key(owner)}, ":image": {"S": "image#"}},
            **({"ExclusiveStartKey": self._key(owner, after)} if after else {}),
        )
        records = [ImageRecord.from_item(i) for i in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return records, (records[-1].image_id if last and records else None)

    def _owner_query(self, owner: str, *, limit: int, newest_first: bool) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "KeyConditionExpression": f"{PARTITION_KEY} = :owner AND begins_with({SORT_KEY}, :image)",
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }

    def unsent(self, shard: str, *, before: str, limit: int = MAX_PAGE) -> list[ImageRecord]:
        """Items of one outbox shard whose event is still unsent since before ``before`` (the outbox
        sweeper's read; a newer flag belongs to a writer still at work)."""
        response = self._db.query(
            TableName=self._table,
            IndexName=OUTBOX_INDEX,
            KeyConditionExpression=f"{OUTBOX_KEY} = :shard AND {OUTBOX_SORT_KEY} < :before",
            ExpressionAttributeValues={":shard": {"S": shard}, ":before": {"S": before}},
            Limit=limit,
        )
        return [ImageRecord.from_item(i) for i in response["Items"]]

    # --- account erasure ------------------------------------------------------------------------

    def start_erasure(
        self, owner: str, *, job_id: str, now: str, stale_before: str
    ) -> tuple[ErasureJob, bool]:
        """A new job unless one is running (and not stale): (the job that runs, whether it is new)."""
        job = ErasureJob(
            owner=owner, job_id=job_id, state=ErasureState.RUNNING, started_at=now, updated_at=now
        )
        try:
            self._db.put_item(
                TableName=self._table,
                Item=job.to_item(),
                ConditionExpression="attribute_not_exists(pk) OR job_state = :done OR updated_at < :stale",
                ExpressionAttributeValues={
                    ":done": {"S": ErasureState.DONE.value},
                    ":stale": {"S": stale_before},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            current = self.erasure(owner)
            if current is None:  # finished and expired in between: start again
                return self.start_erasure(owner, job_id=job_id, now=now, stale_before=stale_before)
            return current, False
        return job, True

    def erasure(self, owner: str) -> ErasureJob | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={PARTITION_KEY: {"S": owner_key(owner)}, SORT_KEY: {"S": ERASURE_SORT_KEY}},
            ConsistentRead=True,
        )
        return ErasureJob.from_item(item["Item"]) if "Item" in item else None

    def advance_erasure(
        self, job: ErasureJob, *, after: str | None, erased: int, done: bool, now: str, expires_at: int
    ) -> bool:
        """Move the job past a page, only from where this step found it (a duplicate step loses)."""
        advanced = ErasureJob(
            owner=job.owner,
            job_id=job.job_id,
            state=ErasureState.DONE if done else ErasureState.RUNNING,
            started_at=job.started_at,
            updated_at=now,
            erased=job.erased + erased,
            after=after,
        )
        values: dict[str, Any] = {":job": {"S": job.job_id}, ":running": {"S": ErasureState.RUNNING.value}}
        condition = "job_id = :job AND job_state = :running AND "
        if job.after is None:
            condition += "attribute_not_exists(#after)"
        else:
            condition += "#after = :after"
            values[":after"] = {"S": job.after}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=advanced.to_item(expires_at=expires_at if done else None),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#after": "after"},
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def mark_deleted(self, owner: str, image_id: str, *, now: str, now_epoch: int) -> Transition:
        """Tombstone the image (content removed, cleanup pending); a repeat on a tombstone is allowed
        (the cleanup can be re-run) and reported with ``written=False``."""
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression=(
                    "SET #status = :deleted, updated_at = :now, cleaned = :false, event_pending = :true, "
                    f"{OUTBOX_KEY} = :shard, {TTL_ATTRIBUTE} = :expires REMOVE variants, width, height, filename, reason, detail, "
                    "placeholder, dominant_color, receipt, moderation, held_shard, content_md5, content_pk"
                ),
                ConditionExpression="attribute_exists(pk) AND #status <> :deleted",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":deleted": {"S": Status.DELETED.value},
                    ":now": {"S": now},
                    ":false": {"BOOL": False},
                    ":true": {"BOOL": True},
                    ":expires": {"N": str(now_epoch + DELETED_RETENTION_SECONDS)},
                    ":shard": {"S": outbox_shard(image_id)},
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
        """pending -> ready/rejected for the first source; then only a new spec of that same source;
        never from deleted."""
        values: dict[str, Any] = {
            ":status": {"S": done.status.value},
            ":deleted": {"S": Status.DELETED.value},
            ":etag": {"S": done.source_etag},
            ":version": {"S": done.version},
            ":modified": {"S": done.source_modified},
            ":now": {"S": now},
            ":true": {"BOOL": True},
            ":shard": {"S": outbox_shard(image_id)},
        }
        sets = [
            "#status = :status",
            "source_etag = :etag",
            "version = :version",
            "source_modified = :modified",
            "updated_at = :now",
            "event_pending = :true",
            f"{OUTBOX_KEY} = :shard",
        ]
        removes = [TTL_ATTRIBUTE]
        for name in ("source_format", "placeholder", "dominant_color", "alternates", "reason", "detail"):
            value = getattr(done, name)
            if value is not None:
                values[f":{name}"] = {"S": str(value)}
                sets.append(f"{name} = :{name}")
            else:
                removes.append(name)
        for name in ("width", "height", "processing_ms"):
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
        for name in ("receipt", "moderation"):
            value = getattr(done, name)
            if value is not None:
                values[f":{name}"] = {"S": value.to_json()}
                sets.append(f"{name} = :{name}")
            else:
                removes.append(name)
        if done.status is Status.HELD:
            values[":held"] = {"S": HELD_SHARD}
            sets.append(f"{HELD_KEY} = :held")
        else:
            removes.append(HELD_KEY)
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                ConditionExpression=(
                    "attribute_exists(pk) AND #status <> :deleted AND (attribute_not_exists(source_etag) "
                    "OR (source_etag = :etag AND version <> :version))"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return Transition(False)
        return Transition(True, ImageRecord.from_item(response["Attributes"]))

    # --- the second step: alternates ----------------------------------------------------------------

    def add_alternates(
        self,
        owner: str,
        image_id: str,
        *,
        version: str,
        status: Status,
        variants: tuple[VariantRecord, ...],
        now: str,
    ) -> Transition:
        """A two-step image's variants with its alternates among them (``variants``: the whole list,
        in the spec's order), only while it is still at ``version`` in ``status`` with its alternates
        pending: a delete, a spec change, a moderator's decision or a duplicate make it lose (so the
        list the caller read is the list it extends). Marks them made; :meth:`alternates_announced`
        once the event is out."""
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression="SET variants = :variants, alternates = :made, updated_at = :now",
                ConditionExpression="version = :version AND #status = :status AND alternates = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":variants": {"L": [_variant_item(v) for v in variants]},
                    ":made": {"S": AlternatesState.MADE.value},
                    ":pending": {"S": AlternatesState.PENDING.value},
                    ":version": {"S": version},
                    ":status": {"S": status.value},
                    ":now": {"S": now},
                },
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return Transition(False)
        return Transition(True, ImageRecord.from_item(response["Attributes"]))

    def alternates_announced(self, owner: str, image_id: str, *, version: str) -> None:
        """made -> done, for this version only (a later transition owns the record otherwise)."""
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression="SET alternates = :done",
                ConditionExpression="version = :version AND alternates = :made",
                ExpressionAttributeValues={
                    ":done": {"S": AlternatesState.DONE.value},
                    ":made": {"S": AlternatesState.MADE.value},
                    ":version": {"S": version},
                },
            )

    # --- moderation ----------------------------------------------------------------------------

    def held(self, *, limit: int) -> list[ImageRecord]:
        """Up to ``limit`` held images of every owner, the longest waiting first (the moderators' queue:
        a decided image leaves the index, so the next call starts where the work is)."""
        response = self._db.query(
            TableName=self._table,
            IndexName=HELD_INDEX,
            KeyConditionExpression=f"{HELD_KEY} = :held",
            ExpressionAttributeValues={":held": {"S": HELD_SHARD}},
            Limit=limit,
        )
        return [ImageRecord.from_item(i) for i in response["Items"]]

    def decide(
        self, owner: str, image_id: str, *, version: str, outcome: Decided, now: str
    ) -> tuple[bool, ImageRecord | None]:
        """held -> ready (cleared: ``outcome.variants`` are the served keys) or rejected, only while the
        image is held at the version reviewed. (written, the record now); a decision already taken
        answers (False, record) so the caller can tell a repeat from a conflict."""
        moderation = outcome.moderation
        values: dict[str, Any] = {
            ":held": {"S": Status.HELD.value},
            ":version": {"S": version},
            ":now": {"S": now},
            ":true": {"BOOL": True},
            ":shard": {"S": outbox_shard(image_id)},
            ":moderation": {"S": moderation.to_json()},
        }
        sets = [
            "#status = :status",
            "moderation = :moderation",
            "updated_at = :now",
            "event_pending = :true",
            f"{OUTBOX_KEY} = :shard",
        ]
        removes = [HELD_KEY]
        if moderation.decision is Decision.CLEARED:
            values[":status"] = {"S": Status.READY.value}
            values[":variants"] = {"L": [_variant_item(v) for v in outcome.variants]}
            sets.append("variants = :variants")
        else:
            values[":status"] = {"S": Status.REJECTED.value}
            values[":reason"] = {"S": "moderation"}
            sets.append("reason = :reason")
            removes.append("variants")
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(owner, image_id),
                UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                ConditionExpression="#status = :held AND version = :version",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False, self.get(owner, image_id)
        return True, self.get(owner, image_id)

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
                UpdateExpression=f"SET event_pending = :false REMOVE {OUTBOX_KEY}",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
