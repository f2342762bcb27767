"""Before a deploy: what in an environment's config cannot work in AWS yet, and (with credentials) what
the account still lacks.

    make preflight ENV=prod [IMAGE_TAG=…]   # or: python -m photo_ops.preflight --env prod

Each line is ✓ or ✗; a ✗ says which config line or command fixes it, and the command exits 1. Offline
it runs the config checks of ``photo_pipeline_cdk.readiness`` (the ones synth of staging and prod
refuses to go on without). With AWS credentials it also checks the account: the credentials are the
environment's, CDK is bootstrapped in every region a stack uses, the Service stack's image tag is in
ECR, the alarm subscriptions are confirmed, and in signed mode the signing key secret holds a private
key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from photo_contract.signing import CdnSigningKey
from photo_pipeline_cdk.binding import StackName, StorageOutput, stack_name
from photo_pipeline_cdk.config import EnvironmentConfig, environment_config
from photo_pipeline_cdk.readiness import CLOUDFRONT_REGION, Check, offline_checks

# The lowest CDK bootstrap version the synthesized templates accept (their manifest says 6).
MIN_BOOTSTRAP_VERSION = 6
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


# Credentialed checks: each takes a boto3 session in the environment's region.


def _stack_outputs(session: Any, stack_name: str) -> dict[str, str] | None:
    cloudformation = session.client("cloudformation")
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        return None
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def account_checks(session: Any, config: EnvironmentConfig, *, image_tag: str | None) -> list[Check]:
    checks: list[Check] = []
    identity = session.client("sts").get_caller_identity()
    checks.append(
        Check(
            config.account is None or identity["Account"] == config.account,
            f"credentials are for account {identity['Account']} ({identity['Arn']})",
            f"use credentials for account {config.account} (AWS_PROFILE=…)",
        )
    )
    regions = [config.region or session.region_name]
    if config.cdn.certificate_arn or config.cdn.waf_requests_per_ip_per_5_minutes is not None:
        regions.append(CLOUDFRONT_REGION)  # the certificate, and the Edge stack's web ACL
    for region in dict.fromkeys(regions):
        checks.append(_bootstrap_check(session, config, region))
    outputs = _stack_outputs(session, stack_name(config, StackName.STORAGE))
    if outputs is None:
        deploy = f"npx cdk deploy -c env={config.name} Storage"
        checks.append(Check(False, "the storage stack is deployed", deploy))
        return checks
    if config.api.fargate.enabled:
        checks.append(
            _image_check(session, config, outputs.get(StorageOutput.API_REPOSITORY_NAME, ""), image_tag)
        )
    checks.append(_subscriptions_check(session, outputs.get(StorageOutput.ALARM_TOPIC_ARN, "")))
    if config.cdn.access == "signed":
        secret = outputs.get(StorageOutput.CDN_SIGNING_SECRET_ARN)
        checks.append(_signing_key_check(session, secret, outputs.get(StorageOutput.CDN_SIGNING_KEY_IDS)))
    return checks


def _bootstrap_check(session: Any, config: EnvironmentConfig, region: str) -> Check:
    fix = f"npx cdk bootstrap aws://{config.account or '<account>'}/{region}"
    ssm = session.client("ssm", region_name=region)
    try:
        version = int(ssm.get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return Check(False, f"CDK is bootstrapped in {region}", fix)
    return Check(
        version >= MIN_BOOTSTRAP_VERSION,
        f"CDK bootstrap version in {region} is {version} (at least {MIN_BOOTSTRAP_VERSION})",
        fix,
    )


def _image_check(session: Any, config: EnvironmentConfig, repository: str, image_tag: str | None) -> Check:
    push = f"make image ENV={config.name}"
    if not image_tag:
        return Check(False, "an image tag for the Service stack is given", f"{push}, then IMAGE_TAG=<tag>")
    ecr = session.client("ecr")
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": image_tag}])
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        return Check(False, f"image {repository}:{image_tag} is in ECR", push)
    return Check(True, f"image {repository}:{image_tag} is in ECR")


def _subscriptions_check(session: Any, topic_arn: str) -> Check:
    subscriptions = session.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    pending = [s["Endpoint"] for s in subscriptions if s["SubscriptionArn"] == "PendingConfirmation"]
    return Check(
        bool(subscriptions) and not pending,
        f"alarm subscriptions confirmed ({len(subscriptions) - len(pending)} of {len(subscriptions)})",
        f"open the confirmation e-mail sent to {', '.join(pending) or 'each address'} and click its link",
    )


def _signing_key_check(session: Any, secret_arn: str | None, key_ids: str | None) -> Check:
    """The secret names a key pair of the key group and holds a private key (photo_contract.signing)."""
    fix = (
        f"aws secretsmanager put-secret-value --region {session.region_name} --secret-id {secret_arn} "
        '--secret-string \'{"key_pair_id": "<one of CdnSigningKeyIds>", "private_key_pem": "…"}\' '
        "(docs/delivery.md)"
    )
    if not secret_arn:
        return Check(
            False, "the storage stack names its signing key secret (CdnSigningSecretArn)", "redeploy Storage"
        )
    value = session.client("secretsmanager").get_secret_value(SecretId=secret_arn).get("SecretString", "")
    try:
        key = CdnSigningKey.from_secret(value)
    except ValueError as error:
        return Check(
            False, f"the signing key secret names a key pair and holds its private key ({error})", fix
        )
    in_group = key.key_pair_id in (key_ids or "").split(",")
    return Check(
        in_group,
        f"the signing key secret names a key of the key group ({key.key_pair_id})",
        fix if in_group else f"{fix}; the group holds {key_ids or 'no key'}",
    )


def run(
    config: EnvironmentConfig,
    *,
    session: Any | None,
    image_tag: str | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Print the checklist; 0 when every line is ✓."""
    checks = offline_checks(config)
    out(f"preflight for {config.name} ({config.stack_prefix})")
    for check in checks:
        out(check.line())
    if session is None or session.get_credentials() is None:
        out("· account checks skipped: no AWS credentials (bootstrap, image, subscriptions, signing key)")
    else:
        for check in account_checks(session, config, image_tag=image_tag):
            checks.append(check)
            out(check.line())
    failed = sum(not c.ok for c in checks)
    out(f"{len(checks) - failed} ✓, {failed} ✗")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--image-tag", help="the tag the Service stack will run (-c image_tag=…)")
    parser.add_argument("--offline", action="store_true", help="check the config only")
    parser.add_argument(
        "--placement", action="store_true", help="print the region and account (- if unpinned) for scripts"
    )
    args = parser.parse_args(argv)
    config = environment_config(args.env)
    if args.placement:
        print(config.region or "-", config.account or "-")
        return 0
    session = None
    if not args.offline:
        import boto3

        # The environment's region, whatever the profile says.
        session = (
            boto3.session.Session(region_name=config.region) if config.region else boto3.session.Session()
        )
    return run(config, session=session, image_tag=args.image_tag)


if __name__ == "__main__":
    sys.exit(main())
