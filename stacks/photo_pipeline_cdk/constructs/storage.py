"""The stateful half: where originals and variants live."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct
from photo_contract.keys import UPLOADS_PREFIX
from photo_contract.runtime import DISCARD_TAG, REJECTED_ORIGINAL_DAYS

from photo_pipeline_cdk.nag import acknowledge


class PhotoBuckets(Construct):
    """Uploads bucket (originals, the only one that triggers work), media bucket (variants and records)
    and the access-log bucket both log to.

    All three are private (public access blocked), TLS-only and SSE-S3 encrypted. The uploads bucket is
    versioned, so even a client re-POSTing to its own key within the expiry cannot destroy an original.

    :param cors_allowed_origins: browser origins allowed to POST uploads; none (the default) means no CORS.
    :param retain: keep the buckets when the stack is deleted (prod); otherwise they are removed (and must
        be emptied first: CloudFormation refuses to delete a bucket with objects in it).
    :param abandoned_upload_days: incomplete multipart uploads and overwritten original versions are
        removed after this many days.
    :param originals_transition: move originals to this storage class after this many days (None:
        they stay in Standard). Only classes that read back at once belong here (Standard-IA,
        Intelligent-Tiering, Glacier Instant Retrieval): a reprocess reads the original synchronously.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cors_allowed_origins: Sequence[str] = (),
        retain: bool = False,
        abandoned_upload_days: int = 1,
        originals_transition: tuple[s3.StorageClass, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Access logs are delivered under a bucket policy, never an ACL (the buckets enforce owner-only
        # objects): the behaviour of this feature flag, set here so the construct does not depend on
        # the app's cdk.json (a bare App would otherwise fail the synth).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        if abandoned_upload_days < 1:
            raise ValueError(f"abandoned_upload_days must be at least 1, got {abandoned_upload_days}")
        for origin in cors_allowed_origins:
            if not origin.startswith(("https://", "http://localhost", "http://127.0.0.1")):
                raise ValueError(f"CORS origin must be https:// (or local http), got {origin!r}")
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        common: dict[str, object] = {
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": removal,
        }
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[s3.LifecycleRule(id="ExpireLogs", expiration=Duration.days(90))],
            **common,  # type: ignore[arg-type]
        )
        acknowledge(
            self.access_logs_bucket,
            **{"AwsSolutions-S1": "This is the access-log bucket; logging it to itself would loop."},
        )
        cors = (
            [
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=list(cors_allowed_origins),
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ]
            if cors_allowed_origins
            else None
        )
        self.uploads_bucket = s3.Bucket(
            self,
            "Uploads",
            versioned=True,
            cors=cors,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="uploads/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbandonedUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(abandoned_upload_days),
                    noncurrent_version_expiration=Duration.days(abandoned_upload_days),
                ),
                # A rejected image's original, once the housekeeping function has tagged it.
                s3.LifecycleRule(
                    id="RejectedOriginals",
                    tag_filters={DISCARD_TAG[0]: DISCARD_TAG[1]},
                    expiration=Duration.days(REJECTED_ORIGINAL_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                *self._originals_rules(originals_transition),
            ],
            **common,  # type: ignore[arg-type]
        )
        self.media_bucket = s3.Bucket(
            self,
            "Media",
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbandonedUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(abandoned_upload_days),
                )
            ],
            **common,  # type: ignore[arg-type]
        )
        cdk.Tags.of(self).add("photo-pipeline:data", "images")

    @staticmethod
    def _originals_rules(transition: tuple[s3.StorageClass, int] | None) -> list[s3.LifecycleRule]:
        if transition is None:
            return []
        storage_class, days = transition
        if storage_class.value in (s3.StorageClass.GLACIER.value, s3.StorageClass.DEEP_ARCHIVE.value):
            raise ValueError("originals must stay readable at once: no Glacier Flexible or Deep Archive")
        return [
            s3.LifecycleRule(
                id="OriginalsTransition",
                prefix=UPLOADS_PREFIX,
                transitions=[
                    s3.Transition(storage_class=storage_class, transition_after=Duration.days(days))
                ],
            )
        ]
