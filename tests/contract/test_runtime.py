"""The runtime contract: what the stacks write is exactly what the functions read, defaults defined once."""

from __future__ import annotations

import pytest
from photo_contract.receipt import ReceiptPolicy
from photo_contract.runtime import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SOURCE_BYTES,
    ApiEnvironment,
    WorkerEnvironment,
    container_env,
    container_port,
)
from photo_contract.variants import VariantSpec
from photo_pipeline_cdk.config import ApiConfig, ResizeConfig
from photo_resize import ResizeOptions
from resize_worker.settings import WorkerSettings
from upload_api.settings import ApiSettings


def _api(**overrides: object) -> ApiEnvironment:
    values: dict[str, object] = {
        "uploads_bucket": "up",
        "media_bucket": "media",
        "registry_table": "images",
        "event_bus_name": "bus",
        "pending_expiry_seconds": 7200,
        "cors_allowed_origins": ("https://app.example", "http://localhost:8000"),
        "expose_docs": True,
        "quota_table": "quota",
        "forms_per_minute": 40,
        "jwt_token_use": None,
        "jwt_issuer": "https://issuer.example",
        "jwt_audience": "client",
        "jwks_url": "https://issuer.example/.well-known/jwks.json",
        "max_upload_bytes": 1234,
        "upload_expiry_seconds": 300,
    }
    values.update(overrides)
    return ApiEnvironment(**values)  # type: ignore[arg-type]


def test_worker_reader_reads_what_the_writer_wrote() -> None:
    written = WorkerEnvironment(
        media_bucket="media",
        registry_table="images",
        event_bus_name="bus",
        max_source_bytes=77,
        max_pixels=99,
        variants=(VariantSpec(name="a", width=10),),
        receipt_policy=ReceiptPolicy(keep_camera=True),
    )
    assert WorkerEnvironment.from_env(written.to_env()) == written
    settings = WorkerSettings.from_env(written.to_env())
    assert settings.resize.receipt == ReceiptPolicy(keep_camera=True, keep_location=False)
    assert (settings.media_bucket, settings.max_source_bytes, settings.resize.max_pixels) == ("media", 77, 99)
    assert (settings.registry_table, settings.event_bus_name) == ("images", "bus")
    assert [v.name for v in settings.resize.variants] == ["a"]


def test_the_receipt_policy_defaults_to_keeping_neither_and_refuses_unknown_names() -> None:
    assert ReceiptPolicy.from_env("") == ReceiptPolicy()
    assert ReceiptPolicy.from_env("location, camera") == ReceiptPolicy(keep_camera=True, keep_location=True)
    with pytest.raises(ValueError, match="gps"):
        ReceiptPolicy.from_env("gps")


def test_api_reader_reads_what_the_writer_wrote() -> None:
    written = _api()
    env = written.to_env() | container_env(region="eu-west-1", port=9000)
    read = ApiEnvironment.from_env(env)
    assert read == _api(region="eu-west-1")
    settings = ApiSettings.from_env(env)
    assert (settings.rules.max_bytes, settings.rules.expires_seconds, settings.region) == (
        1234,
        300,
        "eu-west-1",
    )
    assert settings.auth.jwks_url == written.jwks_url and settings.auth.jwks_json is None
    assert (
        settings.contract.registry_table,
        settings.contract.event_bus_name,
        settings.contract.pending_expiry_seconds,
    ) == (
        "images",
        "bus",
        7200,
    )
    assert (
        settings.contract.cors_allowed_origins == written.cors_allowed_origins
        and settings.contract.expose_docs
    )
    assert (settings.contract.quota_table, settings.contract.forms_per_minute, settings.auth.token_use) == (
        "quota",
        40,
        None,
    )
    assert container_port(env) == 9000


def test_defaults_have_one_definition() -> None:
    assert (
        ResizeConfig().max_source_bytes
        == DEFAULT_MAX_SOURCE_BYTES
        == WorkerSettings(media_bucket="m", registry_table="t", event_bus_name="b").max_source_bytes
    )
    assert ResizeConfig().max_pixels == DEFAULT_MAX_PIXELS == ResizeOptions().max_pixels


def test_an_upload_expiry_over_the_cap_fails_when_the_config_is_built() -> None:
    with pytest.raises(ValueError, match="got 901"):
        ApiConfig(upload_expiry_seconds=901)
    with pytest.raises(ValueError, match="got 3600"):
        _api(upload_expiry_seconds=3600)


def test_a_missing_variable_is_named() -> None:
    env = _api().to_env()
    del env["JWT_ISSUER"]
    with pytest.raises(ValueError, match="JWT_ISSUER"):
        ApiEnvironment.from_env(env)
    with pytest.raises(ValueError, match="exactly one of jwks_url and jwks_json"):
        _api(jwks_json='{"keys": []}')
