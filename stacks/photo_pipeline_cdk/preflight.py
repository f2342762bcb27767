"""Before a deploy: what in an environment's config cannot work in AWS yet, and (with credentials) what
the account still lacks.

    make preflight ENV=prod [IMAGE_TAG=…]   # or: python -m photo_pipeline_cdk.preflight --env prod

Each line is ✓ or ✗; a ✗ says which config line or command fixes it, and the command exits 1. Offline
it checks the config: no example values (account ids, domains, certificate ARNs, e-mail addresses),
certificates in the regions their users require, the account and region pinned. With AWS credentials it
also checks the account: the credentials are the environment's, CDK is bootstrapped in every region a
stack uses, the Service stack's image tag is in ECR, the alarm subscriptions are confirmed, and in
signed mode the signing key secret holds a private key. ``cdk synth`` of staging and prod runs the
offline part and refuses placeholders (``-c allow_placeholders=true`` accepts them as examples).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from photo_pipeline_cdk.config import EnvironmentConfig, environment_config

CONFIG_FILE = "stacks/photo_pipeline_cdk/config.py"
# AWS's documentation account ids and the reserved example domains (RFC 2606 / RFC 6761).
EXAMPLE_ACCOUNTS = frozenset({"111122223333", "123456789012", "444455556666", "555555555555", "000000000000"})
_EXAMPLE_NAME = re.compile(r"(^|[.@/])(example|invalid)(\.(com|org|net))?($|[/:])", re.I)
_ARN_ACCOUNT = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):")
# The lowest CDK bootstrap version the synthesized templates accept (their manifest says 6).
MIN_BOOTSTRAP_VERSION = 6
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
CLOUDFRONT_REGION = "us-east-1"
# Environments that must be free of placeholders to synthesize (dev runs locally with its examples).
DEPLOY_CHECKED = frozenset({"staging", "prod"})


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""  # the config line or command that turns a ✗ into a ✓

    def line(self) -> str:
        return f"✓ {self.what}" if self.ok else f"✗ {self.what}\n    fix: {self.fix}"


def _values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in the config, with its path (``cdn.certificate_arn``, ``alarm_emails[0]``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _values(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _values(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _placeholder(value: str) -> str | None:
    """Why a value is an example, or None."""
    arn_account = _ARN_ACCOUNT.match(value)
    if value in EXAMPLE_ACCOUNTS or (arn_account and arn_account.group(1) in EXAMPLE_ACCOUNTS):
        return "an example account id"
    host = value.split("://", 1)[-1]
    if _EXAMPLE_NAME.search(host) or "example-" in value.rsplit("/", 1)[-1]:
        return "an example name"
    return None


def placeholder_checks(config: EnvironmentConfig) -> list[Check]:
    """One ✗ per example value left in the environment's config, or one ✓."""
    where = f'{CONFIG_FILE}, ENVIRONMENTS["{config.name}"]'
    found = [
        Check(False, f"{path} = {value!r} is {why}", f"set {path} in {where}")
        for path, value in _values(config, "")
        if path != "name" and (why := _placeholder(value))
    ]
    return found or [Check(True, "no example values in the config")]


def certificate_checks(config: EnvironmentConfig) -> list[Check]:
    checks: list[Check] = []
    where = f'{CONFIG_FILE}, ENVIRONMENTS["{config.name}"]'
    cdn = config.cdn.certificate_arn
    if cdn is not None:
        region = cdn.split(":")[3]
        checks.append(
            Check(
                region == CLOUDFRONT_REGION,
                f"CloudFront certificate is in {region} (CloudFront needs {CLOUDFRONT_REGION})",
                f"request the certificate in {CLOUDFRONT_REGION} and set cdn.certificate_arn in {where}",
            )
        )
    alb = config.api.fargate.certificate_arn if config.api.fargate.enabled else None
    if alb is not None:
        region = alb.split(":")[3]
        checks.append(
            Check(
                region == config.region,
                f"load balancer certificate is in {region} (the environment's region is {config.region})",
                f"request the certificate in {config.region} and set api.fargate.certificate_arn in {where}",
            )
        )
    return checks


def placement_checks(config: EnvironmentConfig) -> list[Check]:
    """Staging and prod name their account and region; dev may follow the credentials."""
    where = f'{CONFIG_FILE}, ENVIRONMENTS["{config.name}"]'
    if config.name not in DEPLOY_CHECKED and config.account is None:
        return [Check(True, "account and region: not pinned, your credentials' (a dev environment)")]
    account_ok = config.account is not None and re.fullmatch(r"\d{12}", config.account) is not None
    return [
        Check(
            account_ok,
            f"account is {config.account or 'not pinned (whatever the credentials point at)'}",
            f'set account="<12-digit id>" in {where}',
        ),
        Check(
            config.region is not None,
            f"region is {config.region or 'not pinned (whatever the profile says)'}",
            f'set region="<region>" in {where}',
        ),
    ]


def offline_checks(config: EnvironmentConfig) -> list[Check]:
    return [*placement_checks(config), *placeholder_checks(config), *certificate_checks(config)]


def synth_refusal(config: EnvironmentConfig) -> str | None:
    """The message synth stops with for staging and prod while a check fails (None: go ahead)."""
    if config.name not in DEPLOY_CHECKED:
        return None
    failed = [c for c in offline_checks(config) if not c.ok]
    if not failed:
        return None
    lines = "\n".join(c.line() for c in failed)
    return (
        f"{config.name} is not ready to deploy (make preflight ENV={config.name}):\n{lines}\n"
        "To synthesize with these example values anyway (tests, snapshots): -c allow_placeholders=true"
    )


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
    if config.cdn.certificate_arn:
        regions.append(CLOUDFRONT_REGION)
    for region in dict.fromkeys(regions):
        checks.append(_bootstrap_check(session, config, region))
    outputs = _stack_outputs(session, f"{config.stack_prefix}-storage")
    if outputs is None:
        deploy = f"npx cdk deploy -c env={config.name} Storage"
        checks.append(Check(False, "the storage stack is deployed", deploy))
        return checks
    if config.api.fargate.enabled:
        checks.append(_image_check(session, config, outputs.get("ApiRepositoryName", ""), image_tag))
    checks.append(_subscriptions_check(session, outputs.get("AlarmTopicArn", "")))
    if config.cdn.access == "signed":
        checks.append(_signing_key_check(session, outputs.get("CdnSigningSecretArn")))
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


def _signing_key_check(session: Any, secret_arn: str | None) -> Check:
    fix = f"aws secretsmanager put-secret-value --region {session.region_name} --secret-id {secret_arn} --secret-string file://key.pem"
    if not secret_arn:
        return Check(
            False, "the storage stack names its signing key secret (CdnSigningSecretArn)", "redeploy Storage"
        )
    value = session.client("secretsmanager").get_secret_value(SecretId=secret_arn).get("SecretString", "")
    return Check("PRIVATE KEY-----" in value, "the signing key secret holds a PEM private key", fix)


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
