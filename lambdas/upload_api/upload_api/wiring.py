"""Builds the app from settings: the one place both entry points share."""

from __future__ import annotations

import boto3
from fastapi import FastAPI

from upload_api.app import create_app
from upload_api.auth import TokenVerifier
from upload_api.presign import presign_client
from upload_api.settings import ApiSettings


def build_app(settings: ApiSettings, *, session: boto3.session.Session | None = None) -> FastAPI:
    s3 = presign_client(region=settings.region, endpoint_url=settings.s3_endpoint_url, session=session)
    return create_app(settings, s3=s3, verifier=TokenVerifier(settings.auth))
