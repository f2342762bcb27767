"""API configuration: read from the environment once, by the entry points (Lambda, uvicorn), frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from photo_contract.runtime import (
    DEFAULT_FORMS_PER_MINUTE,
    DEFAULT_PENDING_EXPIRY_SECONDS,
    DEFAULT_VARIANT_URL_EXPIRY_SECONDS,
    ApiEnvironment,
)

from upload_api.auth import AuthSettings
from upload_api.presign import UploadRules


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    uploads_bucket: str
    media_bucket: str
    registry_table: str
    event_bus_name: str
    region: str
    rules: UploadRules
    auth: AuthSettings
    variant_url_expiry_seconds: int = DEFAULT_VARIANT_URL_EXPIRY_SECONDS
    public_media_base_url: str | None = None  # e.g. a CDN in front of the media bucket
    endpoint_url: str | None = None  # a local emulator for every AWS service the API calls
    cors_allowed_origins: tuple[str, ...] = ()
    expose_docs: bool = False
    quota_table: str | None = None  # None: no per-owner cap on forms
    forms_per_minute: int = DEFAULT_FORMS_PER_MINUTE
    pending_expiry_seconds: int = DEFAULT_PENDING_EXPIRY_SECONDS
    # Signed delivery: CloudFront's public key id, the secret holding the private key, URL lifetime.
    cdn_key_pair_id: str | None = None
    cdn_signing_secret: str | None = None
    cdn_url_ttl_seconds: int = DEFAULT_VARIANT_URL_EXPIRY_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        """The contract's reader (``photo_contract.runtime.ApiEnvironment``) names every variable."""
        return cls.from_contract(ApiEnvironment.from_env(env))

    @classmethod
    def from_contract(cls, read: ApiEnvironment) -> ApiSettings:
        if read.region is None:
            raise ValueError("environment variable AWS_REGION is required")
        return cls(
            uploads_bucket=read.uploads_bucket,
            media_bucket=read.media_bucket,
            registry_table=read.registry_table,
            event_bus_name=read.event_bus_name,
            pending_expiry_seconds=read.pending_expiry_seconds,
            region=read.region,
            rules=UploadRules(max_bytes=read.max_upload_bytes, expires_seconds=read.upload_expiry_seconds),
            auth=AuthSettings(
                issuer=read.jwt_issuer,
                audience=read.jwt_audience,
                jwks_url=read.jwks_url,
                jwks_json=read.jwks_json,
                token_use=read.jwt_token_use,
            ),
            public_media_base_url=read.public_media_base_url,
            endpoint_url=read.endpoint_url,
            cors_allowed_origins=read.cors_allowed_origins,
            expose_docs=read.expose_docs,
            quota_table=read.quota_table,
            forms_per_minute=read.forms_per_minute,
            cdn_key_pair_id=read.cdn_key_pair_id,
            cdn_signing_secret=read.cdn_signing_secret,
            cdn_url_ttl_seconds=read.cdn_url_ttl_seconds,
        )
