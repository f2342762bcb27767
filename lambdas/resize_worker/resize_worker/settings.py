"""Worker configuration, read from the environment once, at the entry point, and passed down frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from photo_contract.budget import memory_budget_bytes, worst_image_seconds
from photo_contract.moderation import ModerationPolicy
from photo_contract.runtime import DEFAULT_MAX_SOURCE_BYTES, MODERATOR_REKOGNITION, WorkerEnvironment
from photo_resize import ResizeOptions


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    media_bucket: str
    registry_table: str
    event_bus_name: str
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    cache_control: str = "public, max-age=31536000, immutable"
    resize: ResizeOptions = field(default_factory=ResizeOptions)
    # Start an image only with at least this much time left (None: no check): the slowest legal image.
    time_reserve_seconds: float | None = None
    housekeeping_queue_url: str | None = None  # where unused originals are sent to be settled
    moderation: ModerationPolicy = field(default_factory=ModerationPolicy)  # no rules: off
    moderator: str = MODERATOR_REKOGNITION
    alternates_queue_url: str | None = None  # set: two steps (the JPEGs here, the alternates there)

    def __post_init__(self) -> None:
        if not self.media_bucket:
            raise ValueError("media_bucket is required")
        if self.max_source_bytes < 1:
            raise ValueError(f"max_source_bytes must be positive, got {self.max_source_bytes}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WorkerSettings:
        """The contract's reader (``photo_contract.runtime.WorkerEnvironment``) names every variable."""
        read = WorkerEnvironment.from_env(env)
        memory = read.memory_mib
        return cls(
            media_bucket=read.media_bucket,
            registry_table=read.registry_table,
            event_bus_name=read.event_bus_name,
            max_source_bytes=read.max_source_bytes,
            resize=ResizeOptions(
                variants=read.variants,
                max_pixels=read.max_pixels,
                memory_budget_bytes=memory_budget_bytes(memory, read.max_source_bytes) if memory else None,
                receipt=read.receipt_policy,
            ),
            time_reserve_seconds=worst_image_seconds(memory) if memory else None,
            housekeeping_queue_url=read.housekeeping_queue_url,
            moderation=read.moderation,
            moderator=read.moderator,
            alternates_queue_url=read.alternates_queue_url,
        )
