"""What every route works with, built once per app: settings, clients, the caller dependency, and how a
registry record becomes a response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from photo_contract.deletion import Storage
from photo_contract.housekeeping import HousekeepingQueue
from photo_contract.idempotency import IdempotencyKeys
from photo_contract.moderation import MODERATORS_GROUP
from photo_contract.registry import ImageRecord, Registry, Status

from upload_api.auth import Unauthorized
from upload_api.cdn_signing import CdnSigner
from upload_api.errors import ApiError, ErrorCode
from upload_api.guard import GROUPS_STATE_KEY, OWNER_STATE_KEY
from upload_api.images import ImageView, view
from upload_api.models import ImageResponse, PrivacyReceiptModel, Variant
from upload_api.quota import FormQuota
from upload_api.settings import ApiSettings

# Declared for the OpenAPI schema (the bearer security scheme); the verifier reads the header itself.
_BEARER = HTTPBearer(auto_error=False, description="A JWT access token from the environment's issuer.")


def _caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None
) -> str:
    """The owner the guard verified before the body was read."""
    owner = getattr(request.state, OWNER_STATE_KEY, None)
    if not isinstance(owner, str):
        raise Unauthorized("missing bearer token")
    return owner


def _moderator(request: Request, owner: Annotated[str, Depends(_caller)]) -> str:
    """A caller in the moderators group (the token's ``cognito:groups``), or 403."""
    groups: frozenset[str] = getattr(request.state, GROUPS_STATE_KEY, frozenset())
    if MODERATORS_GROUP not in groups:
        raise ApiError(403, ErrorCode.NOT_A_MODERATOR, f"review calls are for the {MODERATORS_GROUP!r} group")
    return owner


# Module level: FastAPI resolves these annotations by name.
Owner = Annotated[str, Depends(_caller)]
Moderator = Annotated[str, Depends(_moderator)]


@dataclass(frozen=True)
class ApiContext:
    settings: ApiSettings
    s3: Any
    registry: Registry
    idempotency: IdempotencyKeys
    storage: Storage
    quota: FormQuota
    signer: CdnSigner | None
    housekeeping: HousekeepingQueue | None = None  # where erasure jobs run (None: unavailable)

    def response_of(self, record: ImageRecord) -> ImageResponse:
        shown = view(
            self.s3,
            record,
            media_bucket=self.settings.contract.media_bucket,
            url_expiry_seconds=self.settings.variant_url_expiry_seconds,
            public_base_url=self.settings.contract.public_media_base_url,
            signer=self.signer,
        )
        return image_response(shown)


def image_response(shown: ImageView) -> ImageResponse:
    """A variant's first file is its own format (JPEG), the one every client can show: the fallback."""
    seen: set[str] = set()
    variants = []
    for v in shown.variants:
        variants.append(Variant(**vars(v), fallback=v.name not in seen))
        seen.add(v.name)
    return ImageResponse(
        image_id=shown.image_id,
        batch_id=shown.batch_id,
        status=Status(shown.status),
        created_at=shown.created_at,
        filename=shown.filename,
        width=shown.width,
        height=shown.height,
        reason=shown.reason,
        variants=variants,
        placeholder=shown.placeholder,
        dominant_color=shown.dominant_color,
        receipt=PrivacyReceiptModel.model_validate(shown.receipt) if shown.receipt else None,
    )
