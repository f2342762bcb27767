"""The API's request and response bodies: what the OpenAPI document and a generated client see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from photo_contract.registry import Status
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

MAX_ITEMS = 20


class UploadItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The accepted types and the size bound are the environment's: the app writes them into the schema
    # (enum, minimum, maximum) and refuses others with their own codes.
    content_type: str = Field(max_length=100, examples=["image/jpeg"])
    size_bytes: int = Field(examples=[2_400_000], description="The file's exact size.")
    # Metadata only, echoed back: it never becomes part of a key.
    filename: str | None = Field(default=None, max_length=1024)

    @field_validator("size_bytes", mode="before")
    @classmethod
    def _a_json_integer(cls, value: object) -> object:
        """A JSON integer, 2400000 or 2400000.0 (JSON Schema counts both); never a string or a bool."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("size_bytes must be an integer")
        return value


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[UploadItem] = Field(min_length=1, max_length=MAX_ITEMS)


class PresignedPost(BaseModel):
    url: str = Field(description="POST the form here: every field, then the file as `file`, last.")
    fields: dict[str, str]


class UploadTicket(BaseModel):
    image_id: str
    filename: str | None
    upload: PresignedPost
    expires_at: datetime
    status_url: str


class UploadResponse(BaseModel):
    batch_id: str
    uploads: list[UploadTicket]


class Variant(BaseModel):
    name: str = Field(examples=["w1080"])
    width: int
    height: int
    content_type: str = Field(examples=["image/jpeg", "image/avif"])
    url: str
    fallback: bool = Field(
        description="True for the file every client can show (JPEG); false for an alternate format "
        "(AVIF) of the same variant, to prefer where the client supports it."
    )


class ImageResponse(BaseModel):
    image_id: str
    batch_id: str
    status: Status
    created_at: str = Field(
        json_schema_extra={"format": "date-time"}, examples=["2026-11-30T18:31:10.512+00:00"]
    )
    filename: str | None = None
    width: int | None = None
    height: int | None = None
    variants: list[Variant] = []
    reason: str | None = None
    placeholder: Annotated[str, WithJsonSchema({"type": "string", "format": "byte"})] | None = Field(
        default=None, description="ThumbHash (base64) of the whole picture."
    )
    dominant_color: str | None = Field(default=None, pattern=r"^#[0-9a-f]{6}$", examples=["#5c7a8b"])


class BatchResponse(BaseModel):
    batch_id: str
    images: list[ImageResponse]


class ImageListResponse(BaseModel):
    images: list[ImageResponse]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class ErasureResponse(BaseModel):
    """An account erasure job: it runs on the server, a page at a time, whether or not the client waits."""

    job_id: str
    state: Literal["running", "done"] = Field(description="done: every image of the caller is gone.")
    erased: int = Field(description="Images this job has deleted so far.")
    started_at: str
    updated_at: str
    status_url: str = Field(description="Where to follow the job (GET).")
