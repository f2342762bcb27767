"""Where the API's container images live (the Fargate service pulls from here; `make image` pushes)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct


class ApiImageRepository(Construct):
    """The ECR repository of the API image: scan on push, immutable tags, keeps the newest 30 images.
    Exposes ``.repository``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, retain: bool = False, keep_images: int = 30
    ) -> None:
        super().__init__(scope, construct_id)
        if keep_images < 1:
            raise ValueError(f"keep_images must be at least 1, got {keep_images}")
        self.repository = ecr.Repository(
            self,
            "Repository",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(description="keep the newest images", max_image_count=keep_images)
            ],
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
