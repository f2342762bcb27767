"""API configuration: read from the environment once, by the entry points (Lambda, uvicorn), frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from upload_api.auth import AuthSettings
from upload_api.presign import UploadRules


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    uploads_bucket: str
    media_bucket: str
    region: str
    rules: UploadRules
    auth: AuthSettings
    variant_url_expiry_seconds: int = 3600
    public_media_base_url: str | None = None  # e.g. a CDN in front of the media bucket
    s3_endpoint_url: str | None = None  # a local S3 emulator
    # Local runs only: serve the upload page at / with this token in it. Never set by the stacks.
    upload_page_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        def need(name: str) -> str:
            try:
                return env[name]
            except KeyError:
                raise ValueError(f"environment variable {name} is required") from None

        return cls(
            uploads_bucket=need("UPLOADS_BUCKET"),
            media_bucket=need("MEDIA_BUCKET"),
            region=env.get("AWS_REGION") or need("AWS_DEFAULT_REGION"),
            rules=UploadRules(
                max_bytes=int(need("MAX_UPLOAD_BYTES")),
                expires_seconds=int(env.get("UPLOAD_EXPIRY_SECONDS", "600")),
            ),
            auth=AuthSettings(
                issuer=need("JWT_ISSUER"),
                audience=need("JWT_AUDIENCE"),
                jwks_url=env.get("JWKS_URL"),
                jwks_json=env.get("JWKS_JSON"),
            ),
            public_media_base_url=env.get("PUBLIC_MEDIA_BASE_URL") or None,
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
        )
