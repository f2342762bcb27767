"""Object grants with exactly the actions a role uses.

``IBucket.grant_read``/``grant_put`` add action groups (``s3:GetObject*``, ``s3:List*``, ``s3:Abort*``)
that include tagging, legal-hold and retention actions none of our roles call. These name each action.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs


def grant_object_actions(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str, *actions: str) -> None:
    """``actions`` (e.g. ``s3:GetObject``) on the objects under ``prefix`` only."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{prefix}*")])
    )


def grant_listing(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str | None) -> None:
    """``s3:ListBucket``: under ``prefix`` when the role lists; bucket-wide (``prefix=None``) when the role
    only needs S3 to say 404 for a missing object instead of 403, which S3 decides by this permission
    without a prefix in the request (a prefix condition would turn every 404 into a 403)."""
    conditions = {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix is not None else None
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn], conditions=conditions)
    )


def grant_version_listing(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str) -> None:
    """``s3:ListBucketVersions`` under ``prefix``: finding every version of an object to delete it."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucketVersions"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    """``sqs:SendMessage`` alone (``IQueue.grant_send_messages`` adds GetQueueAttributes and GetQueueUrl,
    which a sender that is given the queue's URL never calls). The queues are SQS-managed encrypted: no
    key grant."""
    iam.Grant.add_to_principal(grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[queue.queue_arn])
