"""``/v1/moderation``: the review calls, for the moderators group only (``cognito:groups``): the held
images of every owner, the longest waiting first; clear one; reject one. Each decision is recorded on the
image and is idempotent (``photo_contract.review``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from photo_contract import is_valid_image_id, is_valid_owner
from photo_contract.moderation import Decision
from photo_contract.registry import MAX_PAGE, ImageRecord
from photo_contract.review import Review, decide

from upload_api.context import ApiContext, Moderator
from upload_api.errors import ApiError, ErrorBody, ErrorCode
from upload_api.models import HeldImage, ModerationModel, ModerationQueueResponse, ReviewResponse

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["moderation"])

    @routes.get(
        "/v1/moderation/images",
        operation_id="list_held_images",
        response_model=ModerationQueueResponse,
        responses={403: {"model": ErrorBody}},
    )
    def held_images(
        _: Moderator, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20
    ) -> ModerationQueueResponse:
        return ModerationQueueResponse(images=[_held(ctx, r) for r in ctx.registry.held(limit=limit)])

    def review(owner: str, image_id: str, decision: Decision, moderator: str) -> ReviewResponse:
        if not (is_valid_owner(owner) and is_valid_image_id(image_id)):
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no image {image_id!r} of {owner!r}")
        outcome, record = decide(ctx.storage, owner, image_id, decision, moderator=moderator)
        if outcome is Review.NOT_FOUND or record is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no image {image_id!r} of {owner!r}")
        if outcome is Review.CONFLICT or record.moderation is None:
            raise ApiError(
                409,
                ErrorCode.DECISION_CONFLICT,
                f"the image is {record.status.value}, not held for a decision",
            )
        return ReviewResponse(
            owner=owner,
            image_id=image_id,
            status=record.status,
            moderation=ModerationModel.model_validate(record.moderation.to_dict()),
        )

    @routes.post(
        "/v1/moderation/images/{owner}/{image_id}/clear",
        operation_id="clear_held_image",
        response_model=ReviewResponse,
        responses=_REFUSALS,
    )
    def clear(owner: str, image_id: str, moderator: Moderator) -> ReviewResponse:
        """Publish a held image: its variants move to where the CDN serves them (Image Cleared, then
        Image Ready). Clearing a cleared image answers it again."""
        return review(owner, image_id, Decision.CLEARED, moderator)

    @routes.post(
        "/v1/moderation/images/{owner}/{image_id}/reject",
        operation_id="reject_held_image",
        response_model=ReviewResponse,
        responses=_REFUSALS,
    )
    def reject(owner: str, image_id: str, moderator: Moderator) -> ReviewResponse:
        """Reject a held image: its variants and every version of its original are removed, as a delete
        removes them (Image Rejected, reason moderation). Rejecting it again answers it again."""
        return review(owner, image_id, Decision.REJECTED, moderator)

    return routes


def _held(ctx: ApiContext, record: ImageRecord) -> HeldImage:
    shown = ctx.response_of(record)
    assert record.moderation is not None
    return HeldImage(
        owner=record.owner,
        image_id=record.image_id,
        batch_id=record.batch_id,
        held_since=record.updated_at,
        moderation=ModerationModel.model_validate(record.moderation.to_dict()),
        variants=shown.variants,
    )
