"""The API's request and response bodies: what the OpenAPI document and a generated client see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from photo_contract.receipt import Removed
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
    content_md5: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9+/]{22}==$",
        examples=["1B2M2Y8AsgTpgAmY7PhCfg=="],
        description="The file's MD5, base64 (as S3's Content-MD5). The form then binds it, so S3 refuses "
        "other bytes; and a photo this caller already uploaded (same MD5 and size) is copied on the "
        "server instead of uploaded again (its ticket says needs_upload: false).",
    )

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
    needs_upload: bool = Field(
        description="false: nothing to send (the same photo was copied on the server, or a retried "
        "request's photo has already arrived); follow status_url as for any other."
    )
    upload: PresignedPost | None = Field(description="The form to POST the file with; null when not needed.")
    expires_at: datetime | None = Field(description="When the form stops working; null without a form.")
    status_url: str


class UploadResponse(BaseModel):
    batch_id: str
    uploads: list[UploadTicket]


class UsefulSourceModel(BaseModel):
    """The smallest picture that loses nothing: scaled down proportionally until it is ``width`` wide
    or ``height`` tall, whichever comes first, a photo makes the same variants (with headroom for larger
    ones later). Scale factor: min(1, max(width / photo width, height / photo height))."""

    width: int = Field(examples=[1620])
    height: int = Field(examples=[849])


class UploadConfigResponse(BaseModel):
    """What a client should know before asking for forms."""

    max_items: int = Field(description="Photos per post.")
    max_bytes: int = Field(description="The largest file accepted.")
    max_batch_bytes: int = Field(description="The largest post, all its files together.")
    content_types: list[str]
    useful_source: UsefulSourceModel
    idempotency_key_hours: int = Field(description="How long an Idempotency-Key answers its retries.")


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


class ProvenanceModel(BaseModel):
    """What the original said about its own making, read before it was stripped. Not verified: a C2PA
    manifest's signature is not checked, and any of these can be forged or removed before upload."""

    c2pa_manifest: bool = Field(description="A C2PA manifest store (JUMBF) was present.")
    claim_generator: str | None = Field(description="The manifest's claim generator, where plain to read.")
    digital_source_type: str | None = Field(
        description="IPTC digital source type, from XMP or the manifest.",
        examples=["trainedAlgorithmicMedia"],
    )
    declares_ai: bool = Field(description="The source type declares a picture made by a trained model.")


class PrivacyReceiptModel(BaseModel):
    """What the original carried that no variant does, and what the record keeps as data."""

    removed: list[Removed] = Field(
        description="Kinds of metadata found in the original and written into no variant."
    )
    taken_at: str | None = Field(
        description="DateTimeOriginal, ISO 8601; with its UTC offset where the camera recorded one.",
        examples=["2020-05-04T18:39:11-04:00"],
    )
    orientation_applied: int = Field(
        ge=1, le=8, description="The EXIF orientation the pixels were turned by (1: none)."
    )
    colour_profile_converted: str | None = Field(description="The colour profile converted to sRGB from.")
    camera_make: str | None = Field(description="Only where the environment keeps the camera.")
    camera_model: str | None = None
    location: list[float] | None = Field(
        description="[latitude, longitude]; only where the environment opts in.", min_length=2, max_length=2
    )
    provenance: ProvenanceModel


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
    receipt: PrivacyReceiptModel | None = Field(default=None, description="Set once the image is ready.")


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


class ModerationLabelModel(BaseModel):
    name: str = Field(examples=["Graphic Violence"])
    parent: str = Field(description="The label's parent in Rekognition's taxonomy; empty at the top.")
    confidence: float = Field(ge=0, le=100)


class ModerationModel(BaseModel):
    """What moderation said of the image and, after a review, who decided what and when."""

    action: Literal["hold", "reject"] | None = Field(description="The rules' verdict; null: it passed.")
    labels: list[ModerationLabelModel] = Field(description="The labels that matched a rule.")
    model: str = Field(description="The moderation model's version.")
    decision: Literal["cleared", "rejected"] | None = None
    decided_by: str | None = Field(default=None, description="The moderator's owner id.")
    decided_at: str | None = None


class HeldImage(BaseModel):
    owner: str
    image_id: str
    batch_id: str
    held_since: str = Field(description="When the image was held (its last change).")
    moderation: ModerationModel
    variants: list[Variant] = Field(description="Preview URLs, valid for 5 minutes; never CDN URLs.")


class ModerationQueueResponse(BaseModel):
    images: list[HeldImage] = Field(description="Held images, the longest waiting first.")


class ReviewResponse(BaseModel):
    owner: str
    image_id: str
    status: Status = Field(description="ready once cleared, rejected once rejected.")
    moderation: ModerationModel
