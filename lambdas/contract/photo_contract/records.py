"""The manifest (written last: the completion marker) and the rejection record, as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class VariantRecord:
    name: str
    key: str
    width: int
    height: int
    content_type: str
    size_bytes: int


@dataclass(frozen=True, kw_only=True)
class Manifest:
    image_id: str
    owner: str
    source_key: str
    source_etag: str
    source_format: str
    width: int
    height: int
    variants: tuple[VariantRecord, ...]
    processed_at: str

    def to_json(self) -> bytes:
        return json.dumps({"schema": SCHEMA_VERSION, "status": "ready", **asdict(self)}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw: dict[str, Any] = json.loads(data)
        raw.pop("schema", None)
        raw.pop("status", None)
        raw["variants"] = tuple(VariantRecord(**v) for v in raw["variants"])
        return cls(**raw)


@dataclass(frozen=True, kw_only=True)
class Rejection:
    image_id: str
    owner: str
    source_key: str
    source_etag: str
    reason: str
    detail: str
    rejected_at: str

    def to_json(self) -> bytes:
        return json.dumps({"schema": SCHEMA_VERSION, "status": "rejected", **asdict(self)}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Rejection:
        raw: dict[str, Any] = json.loads(data)
        raw.pop("schema", None)
        raw.pop("status", None)
        return cls(**raw)
