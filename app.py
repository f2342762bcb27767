#!/usr/bin/env python3
"""The CDK app: the only place that reads which environment to build (``-c env=dev|staging|prod``)."""

import dataclasses
import sys
from pathlib import Path

import aws_cdk as cdk
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE
from photo_pipeline_cdk.config import environment_config
from photo_pipeline_cdk.nag import add_nag_checks
from photo_pipeline_cdk.readiness import synth_refusal
from photo_pipeline_cdk.stacks import build_photo_pipeline


def main() -> None:
    app = cdk.App()
    try:
        config = environment_config(app.node.try_get_context("env"))  # cdk bootstrap needs it too
    except ValueError as exc:
        sys.exit(f"photo-pipeline: {exc}")
    # Staging and prod do not synthesize with example values unless told they are examples.
    if str(app.node.try_get_context("allow_placeholders")).lower() != "true":
        refusal = synth_refusal(config)
        if refusal:
            sys.exit(f"photo-pipeline: {refusal}")
    image_tag = app.node.try_get_context("image_tag")
    if image_tag:
        fargate = dataclasses.replace(config.api.fargate, image_tag=str(image_tag))
        config = dataclasses.replace(config, api=dataclasses.replace(config.api, fargate=fargate))
    if config.api.fargate.enabled and not config.api.fargate.image_tag:
        print(
            f"photo-pipeline: {config.name} runs the API on Fargate too, but no image tag was given, so the "
            "Service stack is left out. Push an image (make image ENV=...), then add -c image_tag=<tag>.",
            file=sys.stderr,
        )
    cache = app.node.try_get_context("asset_cache_dir")
    build_photo_pipeline(app, config, asset_cache_dir=Path(cache) if cache else DEFAULT_ASSET_CACHE)
    add_nag_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
