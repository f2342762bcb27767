"""Builds the app from settings: the one place both entry points share."""

from __future__ import annotations

from typing import Any

import boto3
from fastapi import FastAPI
from photo_contract.deletion import CdnInvalidation
from photo_contract.housekeeping import HousekeepingQueue
from photo_contract.idempotency import IdempotencyKeys
from photo_contract.registry import Registry

from upload_api.app import create_app
from upload_api.auth import TokenVerifier
from upload_api.cdn_signing import CdnSigner, secrets_manager_key
from upload_api.presign import CLIENT_TIMEOUTS, presign_client
from upload_api.quota import DynamoFormQuota, FormQuota, NoQuota
from upload_api.settings import ApiSettings


def build_app(settings: ApiSettings, *, session: boto3.session.Session | None = None) -> FastAPI:
    session = session or boto3.session.Session()

    def client(name: str) -> Any:
        return session.client(  # type: ignore[call-overload]
            name,
            region_name=settings.region,
            endpoint_url=settings.contract.endpoint_url,
            config=CLIENT_TIMEOUTS,
        )

    s3 = presign_client(region=settings.region, endpoint_url=settings.contract.endpoint_url, session=session)
    dynamodb = client("dynamodb")
    quota: FormQuota = NoQuota()
    if settings.contract.quota_table is not None:
        quota = DynamoFormQuota(dynamodb, settings.contract.quota_table, settings.contract.forms_per_minute)
    signer = None
    if settings.contract.cdn_signing_secret:
        signer = CdnSigner(
            load_key=secrets_manager_key(client("secretsmanager"), settings.contract.cdn_signing_secret),
            ttl_seconds=settings.contract.cdn_url_ttl_seconds,
        )
    cdn = None
    if settings.contract.cdn_distribution_id:
        # CloudFront's API is global; its endpoint answers from us-east-1.
        cloudfront = session.client(
            "cloudfront",
            region_name="us-east-1",
            endpoint_url=settings.contract.endpoint_url,
            config=CLIENT_TIMEOUTS,
        )
        cdn = CdnInvalidation(cloudfront, settings.contract.cdn_distribution_id)
    queue_url = settings.contract.housekeeping_queue_url
    housekeeping = HousekeepingQueue(client("sqs"), queue_url) if queue_url else None
    return create_app(
        settings,
        s3=s3,
        verifier=TokenVerifier(settings.auth),
        registry=Registry(dynamodb, settings.contract.registry_table),
        idempotency=IdempotencyKeys(dynamodb, settings.contract.registry_table),
        events=client("events"),
        quota=quota,
        signer=signer,
        cdn=cdn,
        housekeeping=housekeeping,
    )
