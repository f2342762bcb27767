"""The housekeeping queue's messages: one owner for their shape, written by the API and the worker, read
by the housekeeping function (a principal that never parses image bytes, and the only one besides the
API's delete that may remove an original's versions)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from photo_contract.keys import is_valid_image_id, is_valid_owner


class Task(StrEnum):
    SETTLE = "settle"  # one image's original against its record: remove what no record keeps
    ERASE = "erase"  # one page of an owner's erasure job, then the next page's message
    SWEEP_ORIGINALS = "sweep-originals"  # a page of the uploads bucket, settling each original
    SWEEP_OUTBOX = "sweep-outbox"  # every record whose event is still unsent


class BadTaskError(ValueError):
    pass


@dataclass(frozen=True)
class HousekeepingTask:
    task: Task
    owner: str | None = None
    image_id: str | None = None
    job_id: str | None = None
    after: str | None = None  # where a paged task continues (an image id, or an S3 key)

    def __post_init__(self) -> None:
        needs = {Task.SETTLE: ("owner", "image_id"), Task.ERASE: ("owner", "job_id")}.get(self.task, ())
        for name in needs:
            if not getattr(self, name):
                raise BadTaskError(f"a {self.task.value} task needs {name}")
        if self.owner is not None and not is_valid_owner(self.owner):
            raise BadTaskError("not an owner id")
        if self.image_id is not None and not is_valid_image_id(self.image_id):
            raise BadTaskError("not an image id")

    def to_body(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True)

    @classmethod
    def from_body(cls, body: str | dict[str, Any]) -> HousekeepingTask:
        data = json.loads(body) if isinstance(body, str) else body
        try:
            return cls(
                task=Task(data["task"]),
                **{k: str(data[k]) for k in ("owner", "image_id", "job_id", "after") if data.get(k)},
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise BadTaskError(f"not a housekeeping task: {exc}") from exc


@dataclass(frozen=True)
class HousekeepingQueue:
    """Where tasks are sent (an SQS client and the queue's URL)."""

    sqs: Any
    queue_url: str

    def send(self, task: HousekeepingTask) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=task.to_body())

    def settle(self, owner: str, image_id: str) -> None:
        self.send(HousekeepingTask(Task.SETTLE, owner=owner, image_id=image_id))
