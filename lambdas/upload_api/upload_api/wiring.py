"""Builds the app from settings: the one place both entry points share."""

from __future__ import annotations

import boto3
from fastapi import FastAPI

from upload_api.app import create_app
from upload_api.auth import TokenVerifier
from upload_api.presign import CLIENT_TIMEOUTS, presign_client
from upload_api.quota import DynamoFormQuota, FormQuota, NoQuota
from upload_api.settings import ApiSettings


def build_app(settings: ApiSettings, *, session: boto3.session.Session | None = None) -> FastAPI:
    session = session or boto3.session.Session()
    s3 = presign_client(region=settings.region, endpoint_url=settings.endpoint_url, session=session)
    quota: FormQuota = NoQuota()
    if settings.quota_table is not None:
        dynamodb = session.client(
            "dynamodb",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=CLIENT_TIMEOUTS,
        )
        quota = DynamoFormQuota(dynamodb, settings.quota_table, settings.forms_per_minute)
    return create_app(settings, s3=s3, verifier=TokenVerifier(settings.auth), quota=quota)
