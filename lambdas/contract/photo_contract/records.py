"""What the registry records of each variant (photo_contract.registry holds the image record itself)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class VariantRecord:
    name: str
    key: str
    width: int
    height: int
    content_type: str
    size_bytes: int
