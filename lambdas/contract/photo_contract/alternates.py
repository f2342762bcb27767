"""The second step's queue: one message per image whose JPEG variants are ready and whose alternates
(the spec's AVIF, WebP...) are still to be made. One owner for the message's shape: the resize worker
writes it after its ready (or held) write, the alternates function reads it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from photo_contract.keys import is_valid_image_id, is_valid_owner


class AlternatesState(StrEnum):
    """On a two-step image's record: ``pending`` (to make), ``made`` (in the record, its event not yet
    sent), ``done``. Absent: made in one step with everything else (or a spec without alternates)."""

    PENDING = "pending"
    MADE = "made"
    DONE = "done"


class BadAlternatesMessageError(ValueError):
    pass


@dataclass(frozen=True)
class AlternatesTask:
    owner: str
    image_id: str
    version: str  # the variants' version the first step recorded: a later one makes this task moot
    bucket: str  # the uploads bucket the original is in (the first step's event named it)

    def __post_init__(self) -> None:
        valid = is_valid_owner(self.owner) and is_valid_image_id(self.image_id)
        if not valid or not self.version or not self.bucket:
            raise BadAlternatesMessageError("not an alternates task")

    def to_body(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_body(cls, body: str) -> AlternatesTask:
        try:
            data: dict[str, Any] = json.loads(body)
            return cls(**{name: str(data[name]) for name in ("owner", "image_id", "version", "bucket")})
        except (KeyError, ValueError, TypeError) as exc:
            raise BadAlternatesMessageError(f"not an alternates task: {exc}") from exc


@dataclass(frozen=True)
class AlternatesQueue:
    sqs: Any
    queue_url: str

    def send(self, task: AlternatesTask) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=task.to_body())
