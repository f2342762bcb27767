"""The CDN as synthesized, per environment: Origin Access Control to a private media bucket, HTTPS only,
a cache policy that ignores query strings, cookies and headers, the response-headers policy, and the API
told to build CloudFront URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_pipeline_cdk.config import ENVIRONMENTS

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
ENVS = ["dev", "staging", "prod"]


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = _resources(template, kind)
    return resource["Properties"]


@pytest.mark.parametrize("env", ENVS)
def test_the_distribution_reads_the_private_media_bucket_through_oac(templates: Templates, env: str) -> None:
    storage = templates[env]["Storage"]
    config = _one(storage, "AWS::CloudFront::Distribution")["DistributionConfig"]
    (origin,) = config["Origins"]
    assert "MediaBucket" in json.dumps(origin["DomainName"]) or "Media" in json.dumps(origin["DomainName"])
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert "OriginAccessControlId" in origin
    oac = _one(storage, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    # The bucket stays private: only the distribution's service principal, for GetObject, on its ARN.
    policies = [
        s
        for p in _resources(storage, "AWS::S3::BucketPolicy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    (statement,) = policies
    assert statement["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in json.dumps(statement["Condition"])
    for bucket in _resources(storage, "AWS::S3::Bucket"):
        assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True


@pytest.mark.parametrize("env", ENVS)
def test_https_only_and_an_immutable_cache(templates: Templates, env: str) -> None:
    storage = templates[env]["Storage"]
    config = _one(storage, "AWS::CloudFront::Distribution")["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert (
        config["PriceClass"]
        == {"PRICE_CLASS_100": "PriceClass_100", "PRICE_CLASS_ALL": "PriceClass_All"}[
            ENVIRONMENTS[env].cdn.price_class
        ]
    )
    assert ("Logging" in config) == ENVIRONMENTS[env].cdn.logging
    cache = _one(storage, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    keys = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert keys["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert cache["DefaultTTL"] == cache["MaxTTL"] == 365 * 24 * 3600


@pytest.mark.parametrize("env", ENVS)
def test_the_response_headers_policy(templates: Templates, env: str) -> None:
    policy = _one(templates[env]["Storage"], "AWS::CloudFront::ResponseHeadersPolicy")[
        "ResponseHeadersPolicyConfig"
    ]
    security = policy["SecurityHeadersConfig"]
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    (corp,) = policy["CustomHeadersConfig"]["Items"]
    assert (corp["Header"], corp["Value"]) == ("Cross-Origin-Resource-Policy", "cross-origin")
    origins = policy["CorsConfig"]["AccessControlAllowOrigins"]["Items"]
    assert origins == list(ENVIRONMENTS[env].cors_allowed_origins)


@pytest.mark.parametrize("env", ENVS)
def test_the_api_builds_cdn_urls(templates: Templates, env: str) -> None:
    functions = [
        f
        for f in _resources(templates[env]["Api"], "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "upload_api.lambda_handler.handler"
    ]
    (function,) = functions
    base = function["Properties"]["Environment"]["Variables"]["PUBLIC_MEDIA_BASE_URL"]
    assert "MediaBaseUrl" in json.dumps(base)
