"""API configuration: read from the environment once, by the entry points (Lambda, uvicorn), frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from photo_contract.runtime import DEFAULT_VARIANT_URL_EXPIRY_SECONDS, ApiEnvironment

from upload_api.auth import AuthSettings
from upload_api.presign import UploadRules


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """The runtime contract as the app uses it: the contract itself (``contract``: every name, limit and
    switch the stacks wrote), and what the app derives from it once: the upload rules and the token
    verification settings. Nothing is copied field by field."""

    contract: ApiEnvironment
    region: str
    rules: UploadRules
    auth: AuthSettings
    variant_url_expiry_seconds: int = DEFAULT_VARIANT_URL_EXPIRY_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        """The contract's reader (``photo_contract.runtime.ApiEnvironment``) names every variable."""
        return cls.from_contract(ApiEnvironment.from_env(env))

    @classmethod
    def from_contract(cls, read: ApiEnvironment) -> ApiSettings:
        if read.region is None:
            raise ValueError("environment variable AWS_REGION is required")
        return cls(
            contract=read,
            region=read.region,
            rules=UploadRules(max_bytes=read.max_upload_bytes, expires_seconds=read.upload_expiry_seconds),
            auth=AuthSettings(
                issuer=read.jwt_issuer,
                audience=read.jwt_audience,
                jwks_url=read.jwks_url,
                jwks_json=read.jwks_json,
                token_use=read.jwt_token_use,
            ),
        )

    def with_contract(self, **changes: Any) -> ApiSettings:
        """The same settings over a changed contract (what a test or the local harness varies)."""
        changed = ApiSettings.from_contract(replace(self.contract, **changes))
        return replace(changed, variant_url_expiry_seconds=self.variant_url_expiry_seconds)
