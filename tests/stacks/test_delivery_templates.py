"""The CDN as synthesized, per environment: Origin Access Control to a private media bucket, HTTPS only,
a cache policy that ignores query strings, cookies and headers, the response-headers policy, and the API
told to build CloudFront URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_pipeline_cdk.config import ENVIRONMENTS

from tests.conftest import REPO
from tests.stacks.templates import resources, resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
ENVS = ["dev", "staging", "prod"]


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = resources(template, kind)
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
    # The bucket stays private: only the distribution's service principal, for GetObject, on its ARN
    # (and, beside it, the deny of held/ to every distribution: test_moderation_templates.py).
    policies = [
        s
        for p in resources(storage, "AWS::S3::BucketPolicy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"} and s["Effect"] == "Allow"
    ]
    (statement,) = policies
    assert statement["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in json.dumps(statement["Condition"])
    for bucket in resources(storage, "AWS::S3::Bucket"):
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
def test_an_own_domain_has_its_certificate_and_tls_1_2(templates: Templates, env: str) -> None:
    cdn = ENVIRONMENTS[env].cdn
    storage = templates[env]["Storage"]
    config = _one(storage, "AWS::CloudFront::Distribution")["DistributionConfig"]
    base = storage["Outputs"]["MediaBaseUrl"]["Value"]
    if cdn.domain_names:
        assert config["Aliases"] == list(cdn.domain_names)
        assert config["ViewerCertificate"] == {
            "AcmCertificateArn": cdn.certificate_arn,
            "MinimumProtocolVersion": "TLSv1.2_2021",
            "SslSupportMethod": "sni-only",
        }
        assert base == f"https://{cdn.domain_names[0]}"  # what the API puts in front of a key
    else:
        assert "Aliases" not in config and "ViewerCertificate" not in config
        assert "DomainName" in json.dumps(base)
    assert "MediaDistributionDomainName" in storage["Outputs"]  # where the DNS records point


def test_an_own_domain_is_configured_whole() -> None:
    from photo_pipeline_cdk.config import CdnConfig

    with pytest.raises(ValueError, match="go together"):
        CdnConfig(domain_names=("media.example.com",))
    with pytest.raises(ValueError, match="us-east-1"):
        CdnConfig(
            domain_names=("media.example.com",),
            certificate_arn="arn:aws:acm:eu-west-1:111122223333:certificate/x",
        )


@pytest.mark.parametrize("env", ENVS)
def test_the_api_builds_cdn_urls(templates: Templates, env: str) -> None:
    functions = [
        f
        for f in resources(templates[env]["Api"], "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "upload_api.lambda_handler.handler"
    ]
    (function,) = functions
    base = function["Properties"]["Environment"]["Variables"]["PUBLIC_MEDIA_BASE_URL"]
    assert "MediaBaseUrl" in json.dumps(base)


@pytest.fixture(scope="module")
def signed_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Staging switched to signed delivery, synthesized in-process with cdk-nag on."""
    from dataclasses import replace

    import aws_cdk as cdk
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from photo_pipeline_cdk.config import CdnConfig
    from photo_pipeline_cdk.nag import add_nag_checks
    from photo_pipeline_cdk.stacks import build_photo_pipeline

    old, new = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for _ in range(2)
    )
    staging = ENVIRONMENTS["staging"]
    config = replace(
        staging,
        # mid-rotation: the old key and the new one both in the group
        cdn=CdnConfig(access="signed", public_keys=(old, new), signed_url_ttl_seconds=900),
        api=replace(staging.api, fargate=replace(staging.api.fargate, image_tag="signed-test")),
    )
    out = tmp_path_factory.mktemp("signed")
    # The feature flags of cdk.json, as the CLI would pass them.
    context = json.loads((REPO / "cdk.json").read_text()).get("context", {})
    app = cdk.App(outdir=str(out), context=context)
    stacks = build_photo_pipeline(app, config)
    add_nag_checks(app)
    assembly = app.synth()
    return {stack.node.id: assembly.get_stack_by_name(stack.stack_name).template for stack in stacks}


def test_signed_mode_trusts_a_key_group_and_only_the_api_reads_the_key(signed_templates: Any) -> None:
    storage = signed_templates["Storage"]
    behavior = _one(storage, "AWS::CloudFront::Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert len(behavior["TrustedKeyGroups"]) == 1
    key_group = _one(storage, "AWS::CloudFront::KeyGroup")["KeyGroupConfig"]
    public_keys = resources_by_id(storage, "AWS::CloudFront::PublicKey")
    assert len(public_keys) == 2 and sorted(key_group["Items"], key=str) == sorted(
        ({"Ref": logical_id} for logical_id in public_keys), key=str
    )
    for public_key in public_keys.values():
        assert public_key["Properties"]["PublicKeyConfig"]["EncodedKey"].startswith(
            "-----BEGIN PUBLIC KEY-----"
        )
    # The operator learns the ids from an output; no stack imports it, so a rotation changes no import.
    key_ids = storage["Outputs"]["CdnSigningKeyIds"]
    assert "Export" not in key_ids
    assert "CdnKeyPairId" not in json.dumps(signed_templates)
    assert "PRIVATE" not in json.dumps(signed_templates)  # the private key is in no template
    _one(storage, "AWS::SecretsManager::Secret")
    readers = {
        stack
        for stack, template in signed_templates.items()
        for policy in resources(template, "AWS::IAM::Policy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in json.dumps(statement["Action"])
    }
    assert readers == {"Api", "Service"}  # the API on both runtimes, and nothing else
    functions = [
        f
        for f in resources(signed_templates["Api"], "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "upload_api.lambda_handler.handler"
    ]
    variables = functions[0]["Properties"]["Environment"]["Variables"]
    assert "CDN_KEY_PAIR_ID" not in variables  # the secret names the active key
    assert "CdnSigningSecretArn" in json.dumps(variables["CDN_SIGNING_SECRET"])
    assert variables["CDN_URL_TTL_SECONDS"] == "900"


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_media_distribution_is_behind_a_cloudfront_web_acl_with_a_per_ip_rate_rule(
    templates: Templates, env: str
) -> None:
    from photo_pipeline_cdk.config import environment_config
    from photo_pipeline_cdk.constructs.firewall import MANAGED_GROUPS, RATE_RULE

    edge = templates[env]["Edge"]
    (acl_id,) = resources_by_id(edge, "AWS::WAFv2::WebACL")
    acl = resources_by_id(edge, "AWS::WAFv2::WebACL")[acl_id]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"  # a CloudFront web ACL exists only in us-east-1: this stack's region
    rules = {r["Name"]: r for r in acl["Rules"]}
    statement = rules[RATE_RULE]["Statement"]["RateBasedStatement"]
    limit = environment_config(env).cdn.waf_requests_per_ip_per_5_minutes
    assert (rules[RATE_RULE]["Priority"], statement["AggregateKeyType"], statement["Limit"]) == (
        0,
        "IP",
        limit,
    )
    assert set(MANAGED_GROUPS) <= set(rules)
    (distribution,) = resources(templates[env]["Storage"], "AWS::CloudFront::Distribution")
    web_acl = json.dumps(distribution["Properties"]["DistributionConfig"]["WebACLId"])
    assert acl_id in web_acl and "ExportsReader" in web_acl  # the edge stack's ACL, by cross-region reference


def test_dev_has_no_edge_stack(templates: Templates) -> None:
    assert "Edge" not in templates["dev"]  # dev's region comes from the credentials: no WAF there
