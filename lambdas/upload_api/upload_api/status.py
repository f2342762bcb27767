"""An image's status, from what the resize worker wrote: manifest → ready, rejection → rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from photo_contract import UPLOADS_PREFIX, Manifest, Rejection, derived_keys


@dataclass(frozen=True)
class VariantView:
    name: str
    width: int
    height: int
    content_type: str
    url: str


@dataclass(frozen=True)
class ImageStatus:
    image_id: str
    status: str  # pending | ready | rejected
    variants: tuple[VariantView, ...] = ()
    reason: str | None = None
    width: int | None = None
    height: int | None = None


def image_status(
    s3: Any,
    *,
    uploads_bucket: str,
    media_bucket: str,
    owner: str,
    image_id: str,
    url_expiry_seconds: int,
    public_base_url: str | None,
) -> ImageStatus | None:
    """None when this owner has no such image: someone else's id looks exactly like an unknown one."""
    manifest_key, rejection_key = derived_keys(owner, image_id)
    manifest = _read(s3, media_bucket, manifest_key)
    if manifest is not None:
        record = Manifest.from_json(manifest)
        views = tuple(
            VariantView(
                name=v.name,
                width=v.width,
                height=v.height,
                content_type=v.content_type,
                url=_url(s3, media_bucket, v.key, url_expiry_seconds, public_base_url),
            )
            for v in record.variants
        )
        return ImageStatus(image_id, "ready", views, width=record.width, height=record.height)
    rejection = _read(s3, media_bucket, rejection_key)
    if rejection is not None:
        return ImageStatus(image_id, "rejected", reason=Rejection.from_json(rejection).reason)
    listing = s3.list_objects_v2(
        Bucket=uploads_bucket, Prefix=f"{UPLOADS_PREFIX}{owner}/{image_id}.", MaxKeys=1
    )
    if listing.get("KeyCount", 0) > 0:
        return ImageStatus(image_id, "pending")
    return None


def _read(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _url(s3: Any, bucket: str, key: str, expiry: int, public_base_url: str | None) -> str:
    if public_base_url:
        return f"{public_base_url.rstrip('/')}/{key}"
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expiry
    )
    return url
