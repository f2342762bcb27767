"""Variants served through CloudFront: the media bucket stays private (only the distribution reads it,
through Origin Access Control), every URL is HTTPS, and the keys are immutable, so the edge caches
each variant for a year and ignores query strings and cookies."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from photo_contract import HELD_PREFIX

from photo_pipeline_cdk.nag import acknowledge

ONE_YEAR = Duration.days(365)
LOG_RETENTION = Duration.days(90)


class MediaDistribution(Construct):
    """A CloudFront distribution in front of ``media_bucket``. Exposes ``.distribution`` and ``.base_url``
    (``https://<domain>``, what the API puts in front of a variant key).

    :param cors_allowed_origins: app origins that may read variants from scripts (CORS, and
        ``Cross-Origin-Resource-Policy: cross-origin`` lets any page embed them).
    :param price_class: CloudFront's edge footprint, e.g. ``PRICE_CLASS_100`` (Europe and North America).
    :param logging: standard access logs to a bucket of their own (kept 90 days).
    :param retain: keep the log bucket when the stack is deleted (prod).
    :param signing_public_keys: signed mode: only URLs signed with a matching private key are served
        (one key, or two while a rotation runs). The secret ``.signing_key_secret`` names the active key
        and holds its private half (set by an operator: ``{"key_pair_id", "private_key_pem"}``); grant
        readers with ``grant_signing(grantee)``. Exposes ``.key_pair_ids``, in the order given.
    :param domain_names: own names for the distribution (point their DNS at
        ``.distribution.distribution_domain_name``); ``.base_url`` then uses the first.
    :param certificate: their ACM certificate, in us-east-1 (a CloudFront rule); required with
        ``domain_names``. The minimum viewer TLS becomes 1.2.
    :param web_acl_arn: a WAFv2 web ACL of scope CLOUDFRONT (created in us-east-1, e.g. by
        ``RateLimitedWebAcl(acl_scope="CLOUDFRONT")``) in front of the distribution.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        media_bucket: s3.IBucket,
        cors_allowed_origins: Sequence[str] = (),
        price_class: cloudfront.PriceClass = cloudfront.PriceClass.PRICE_CLASS_100,
        logging: bool = True,
        retain: bool = False,
        signing_public_keys: Sequence[str] = (),
        domain_names: Sequence[str] = (),
        certificate: acm.ICertificate | None = None,
        web_acl_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if bool(domain_names) != (certificate is not None):
            raise ValueError("domain_names and certificate go together")
        self.log_bucket = self._build_log_bucket(retain) if logging else None
        self.key_group, self.signing_key_secret = self._build_signing(signing_public_keys)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="photo-pipeline variants",
            price_class=price_class,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            domain_names=list(domain_names) or None,
            certificate=certificate,
            # Only settable with an own certificate (the *.cloudfront.net one allows TLS 1.0 clients).
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            enable_logging=logging,
            log_bucket=self.log_bucket,
            log_file_prefix="cdn/" if logging else None,
            web_acl_id=web_acl_arn,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(media_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                cache_policy=self._build_cache_policy(),
                response_headers_policy=self._build_headers_policy(cors_allowed_origins),
                compress=False,  # JPEG and WebP are compressed already
                trusted_key_groups=[self.key_group] if self.key_group else None,
            ),
        )
        self._deny_held(media_bucket)
        host = domain_names[0] if domain_names else self.distribution.distribution_domain_name
        self.base_url = f"https://{host}"
        self._acknowledge_findings(own_certificate=certificate is not None)

    def _build_signing(
        self, public_key_pems: Sequence[str]
    ) -> tuple[cloudfront.KeyGroup | None, secretsmanager.Secret | None]:
        self.key_pair_ids: list[str] = []
        if not public_key_pems:
            return None, None
        # Each key's id comes from its own bytes, not its position: a rotation that drops the old key
        # leaves the new one's resource (and its key pair id, which the secret names) untouched.
        public_keys = [
            cloudfront.PublicKey(
                self,
                f"SigningPublicKey{hashlib.sha256(pem.strip().encode()).hexdigest()[:8]}",
                encoded_key=pem,
            )
            for pem in public_key_pems
        ]
        self.key_pair_ids = [key.public_key_id for key in public_keys]
        key_group = cloudfront.KeyGroup(self, "SigningKeys", items=public_keys)
        secret = secretsmanager.Secret(
            self,
            "SigningKey",
            description="photo-pipeline: the PEM private key CloudFront URLs are signed with (set by an operator)",
        )
        acknowledge(
            secret,
            **{
                "AwsSolutions-SMG4": "A CloudFront signing key is rotated by adding a key to the key group, not by a Lambda."
            },
        )
        return key_group, secret

    @staticmethod
    def _deny_held(media_bucket: s3.IBucket) -> None:
        """The origin access control may read the bucket; held images (awaiting a moderator) are in it
        too, and no distribution may serve them: an explicit deny beats the OAC's allow."""
        media_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CdnNeverServesHeldImages",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:GetObject"],
                resources=[media_bucket.arn_for_objects(f"{HELD_PREFIX}*")],
            )
        )

    def grant_signing(self, grantee: iam.IGrantable) -> None:
        if self.signing_key_secret is not None:
            grant_signing_key(grantee, self.signing_key_secret)

    def _build_log_bucket(self, retain: bool) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront's standard logging writes with an ACL: the bucket must accept object writers.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=LOG_RETENTION)],
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

    def _build_cache_policy(self) -> cloudfront.CachePolicy:
        # Variant keys name their version: nothing in a request but the path can change the answer.
        return cloudfront.CachePolicy(
            self,
            "Immutable",
            comment="photo-pipeline: immutable variant keys",
            default_ttl=ONE_YEAR,
            min_ttl=Duration.days(1),
            max_ttl=ONE_YEAR,
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
        )

    def _build_headers_policy(self, cors_allowed_origins: Sequence[str]) -> cloudfront.ResponseHeadersPolicy:
        cors = (
            cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_origins=list(cors_allowed_origins),
                access_control_max_age=Duration.days(1),
                origin_override=True,
            )
            if cors_allowed_origins
            else None
        )
        return cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="photo-pipeline: variant responses",
            cors_behavior=cors,
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Cross-Origin-Resource-Policy", value="cross-origin", override=True
                    )
                ]
            ),
        )

    def _acknowledge_findings(self, *, own_certificate: bool) -> None:
        acknowledge(
            self.distribution,
            **{
                "AwsSolutions-CFR1": "A photo feed is served worldwide; no geo restriction is wanted.",
                "AwsSolutions-CFR2": "Immutable public images behind OAC; WAF is an option per environment, not a default cost.",
            },
        )
        if not own_certificate:
            acknowledge(
                self.distribution,
                **{
                    "AwsSolutions-CFR4": "The default *.cloudfront.net certificate cannot pin a minimum TLS version; a custom domain (cdn.domain_names) sets TLS 1.2."
                },
            )
        if self.log_bucket is not None:
            acknowledge(self.log_bucket, **{"AwsSolutions-S1": "This is the CDN access-log bucket."})
        else:
            acknowledge(
                self.distribution,
                **{"AwsSolutions-CFR3": "Access logging is off in this environment's config (cdn.logging)."},
            )


def grant_signing_key(grantee: iam.IGrantable, secret: secretsmanager.ISecret) -> None:
    """What ``MediaDistribution.grant_signing`` grants, on the secret as another stack imported it."""
    secret.grant_read(grantee)
