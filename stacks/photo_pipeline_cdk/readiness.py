"""Whether an environment's config can deploy: no example values (account ids, domains, certificate
ARNs, e-mail addresses), certificates in the regions their users require, the account and region pinned.

The CDK app refuses to synthesize staging and prod while a check fails (``synth_refusal``);
``make preflight`` (``photo_ops.preflight``) prints them all and adds the checks that need the account.
Pure: no AWS call, no jsii.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from photo_pipeline_cdk.config import EnvironmentConfig

CONFIG_FILE = "stacks/photo_pipeline_cdk/config.py"
# AWS's documentation account ids and the reserved example domains (RFC 2606 / RFC 6761).
EXAMPLE_ACCOUNTS = frozenset({"111122223333", "123456789012", "444455556666", "555555555555", "000000000000"})
_EXAMPLE_NAME = re.compile(r"(^|[.@/])(example|invalid)(\.(com|org|net))?($|[/:])", re.I)
_ARN_ACCOUNT = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):")
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
