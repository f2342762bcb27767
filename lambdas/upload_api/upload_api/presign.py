"""Presigned POST uploads: S3 itself enforces the key, the Content-Type, the exact size and the expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from photo_contract import CONTENT_TYPE_EXTENSIONS, ImageKeys, new_image_id
from photo_contract.runtime import DEFAULT_UPLOAD_EXPIRY_SECONDS, check_positive, check_upload_expiry

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


# Every AWS call the API makes is bounded: a slow dependency costs a request seconds, not the service.
# Worst case per call: 2 attempts x (1 s connect + 3 s read), inside Lambda's 10 s and the ALB's 60 s.
CLIENT_TIMEOUTS = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})


@dataclass(frozen=True, kw_only=True)
class UploadRules:
    max_bytes: int
    expires_seconds: int = DEFAULT_UPLOAD_EXPIRY_SECONDS
    content_types: frozenset[str] = frozenset(CONTENT_TYPE_EXTENSIONS)

    def __post_init__(self) -> None:
        check_positive("max_bytes", self.max_bytes)
        check_upload_expiry(self.expires_seconds)
        unknown = self.content_types - set(CONTENT_TYPE_EXTENSIONS)
        if unknown:
            raise ValueError(f"no key extension for content types {sorted(unknown)}")


@dataclass(frozen=True, kw_only=True)
class PresignedUpload:
    image_id: str
    key: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


def presign_client(
    *, region: str, endpoint_url: str | None = None, session: boto3.session.Session | None = None
) -> S3Client:
    """SigV4 only, on the regional endpoint: boto3 may otherwise sign POST policies with SigV2.

    A session of its own, not boto3's process-wide default (which caches the first credentials it
    finds); the local runner passes one holding its emulator credentials.
    """
    config = CLIENT_TIMEOUTS.merge(
        Config(
            signature_version="s3v4", s3={"addressing_style": "virtual" if endpoint_url is None else "path"}
        )
    )
    return (session or boto3.session.Session()).client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=config
    )


def presign_upload(
    s3: Any,
    *,
    bucket: str,
    owner: str,
    content_type: str,
    size_bytes: int,
    rules: UploadRules,
    now: datetime | None = None,
    image_id: str | None = None,
    content_md5: str | None = None,
) -> PresignedUpload:
    """A form for exactly one object: the server-chosen key under the caller's prefix, of exactly the
    declared size (so a quota counted in declared bytes means something), nothing else. With
    ``content_md5`` (base64) the form also carries ``Content-MD5``, bound by the policy: S3 checks the
    file against it and refuses other bytes (the POST Object reference documents the check)."""
    if content_type not in rules.content_types:
        raise ValueError(f"content type {content_type!r} is not accepted")
    if not 1 <= size_bytes <= rules.max_bytes:
        raise ValueError(f"size must be 1..{rules.max_bytes} bytes, got {size_bytes}")
    keys = ImageKeys.for_upload(owner=owner, image_id=image_id or new_image_id(), content_type=content_type)
    fields = {"Content-Type": content_type}
    conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", size_bytes, size_bytes]]
    if content_md5 is not None:
        fields["Content-MD5"] = content_md5
        conditions.append({"Content-MD5": content_md5})
    post = s3.generate_presigned_post(
        Bucket=bucket, Key=keys.source, Fields=fields, Conditions=conditions, ExpiresIn=rules.expires_seconds
    )
    issued = now or datetime.now(UTC)
    return PresignedUpload(
        image_id=keys.image_id,
        key=keys.source,
        url=post["url"],
        fields={str(k): str(v) for k, v in post["fields"].items()},
        expires_at=issued + timedelta(seconds=rules.expires_seconds),
    )
