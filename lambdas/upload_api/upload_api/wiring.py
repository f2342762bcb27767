"""Builds the app from settings: the one place both entry points share."""

from __future__ import annotations

from fastapi import FastAPI

from upload_api.app import create_app
from upload_api.auth import TokenVerifier
from upload_api.presign import presign_client
from upload_api.settings import ApiSettings


def build_app(settings: ApiSettings) -> FastAPI:
    s3 = presign_client(region=settings.region, endpoint_url=settings.s3_endpoint_url)
    return create_app(settings, s3=s3, verifier=TokenVerifier(settings.auth))
