"""`make preflight`: every example value of the committed config is a ✗ with its fix; a config with real
values is all ✓ offline; with credentials (moto) it checks the account; synth refuses placeholders."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from photo_contract.signing import CdnSigningKey
from photo_ops import preflight
from photo_pipeline_cdk.config import ENVIRONMENTS, EnvironmentConfig

PROD = ENVIRONMENTS["prod"]
ACCOUNT = "210987654321"


def filled_in(config: EnvironmentConfig) -> EnvironmentConfig:
    """Prod as an operator would leave it: their account, domains, certificates and addresses."""
    fargate = dataclasses.replace(
        config.api.fargate, certificate_arn=f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/0b1c2d3e-api"
    )
    cdn = dataclasses.replace(
        config.cdn,
        domain_names=("media.snapgram.io",),
        certificate_arn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/4f5e6d7c-media",
    )
    return dataclasses.replace(
        config,
        account=ACCOUNT,
        cors_allowed_origins=("https://app.snapgram.io",),
        alarm_emails=("oncall@snapgram.io",),
        cdn=cdn,
        api=dataclasses.replace(config.api, fargate=fargate),
    )


def _lines(config: EnvironmentConfig, session: Any = None, **kwargs: Any) -> tuple[int, list[str]]:
    out: list[str] = []
    status = preflight.run(config, session=session, out=out.append, **kwargs)
    return status, "\n".join(out).splitlines()


def test_the_committed_prod_config_fails_with_a_fix_for_each_placeholder() -> None:
    status, lines = _lines(PROD)
    assert status == 1
    failed = [line for line in lines if line.startswith("✗")]
    for path in (
        "cdn.domain_names[0]",
        "cdn.certificate_arn",
        "api.fargate.certificate_arn",
        "alarm_emails[0]",
        "cors_allowed_origins[0]",
    ):
        assert any(line.startswith(f"✗ {path} = ") for line in failed), path
    assert any("account is not pinned" in line for line in failed)
    fixes = [line for line in lines if line.strip().startswith("fix:")]
    assert len(fixes) == len(failed) and all('ENVIRONMENTS["prod"]' in f for f in fixes)


def test_a_filled_in_config_passes_every_offline_check() -> None:
    status, lines = _lines(filled_in(PROD))
    assert status == 0, "\n".join(lines)
    assert not [line for line in lines if line.startswith("✗")]
    assert any(line.startswith("✓ CloudFront certificate is in us-east-1") for line in lines)
    assert any(line.startswith("✓ load balancer certificate is in eu-west-1") for line in lines)


def test_a_load_balancer_certificate_in_another_region_is_refused() -> None:
    config = filled_in(PROD)
    elsewhere = dataclasses.replace(
        config.api.fargate, certificate_arn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0b1c2d3e-api"
    )
    config = dataclasses.replace(config, api=dataclasses.replace(config.api, fargate=elsewhere))
    status, lines = _lines(config)
    assert (
        status == 1
        and "✗ load balancer certificate is in us-east-1 (the environment's region is eu-west-1)" in lines
    )


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        yield boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1")


def _deploy_storage(session: boto3.session.Session, *, confirmed: bool) -> str:
    sns = session.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@snapgram.io")
    if not confirmed:
        # moto confirms e-mail subscriptions at once; SES-less AWS waits for the click.
        import moto.sns.models as models

        backend = models.sns_backends[ACCOUNT]["eu-west-1"]
        backend.subscriptions[subscription["SubscriptionArn"]].arn = "PendingConfirmation"
    session.client("ecr").create_repository(repositoryName="api-images")
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"ApiRepositoryName": {"Value": "api-images"}, "AlarmTopicArn": {"Value": topic}},
    }
    session.client("cloudformation").create_stack(
        StackName=f"{PROD.stack_prefix}-storage", TemplateBody=json.dumps(template)
    )
    return topic


def test_with_credentials_it_checks_bootstrap_image_and_subscriptions(account: boto3.session.Session) -> None:
    for region in ("eu-west-1", "us-east-1"):
        account.client("ssm", region_name=region).put_parameter(
            Name=preflight.BOOTSTRAP_VERSION_PARAMETER, Value="21", Type="String"
        )
    _deploy_storage(account, confirmed=True)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    account.client("ecr").put_image(
        repositoryName="api-images", imageManifest=json.dumps(manifest), imageTag="abc123"
    )
    status, lines = _lines(filled_in(PROD), account, image_tag="abc123")
    assert status == 0, "\n".join(lines)
    assert any(line.startswith(f"✓ credentials are for account {ACCOUNT}") for line in lines)
    assert "✓ CDK bootstrap version in us-east-1 is 21 (at least 6)" in lines
    assert "✓ image api-images:abc123 is in ECR" in lines
    assert "✓ alarm subscriptions confirmed (1 of 1)" in lines


def test_with_credentials_each_gap_is_a_cross(account: boto3.session.Session) -> None:
    account.client("ssm", region_name="eu-west-1").put_parameter(
        Name=preflight.BOOTSTRAP_VERSION_PARAMETER, Value="5", Type="String"
    )
    _deploy_storage(account, confirmed=False)
    status, lines = _lines(filled_in(PROD), account, image_tag="not-pushed")
    assert status == 1
    crosses = [line for line in lines if line.startswith("✗")]
    assert crosses == [
        "✗ CDK bootstrap version in eu-west-1 is 5 (at least 6)",
        "✗ CDK is bootstrapped in us-east-1",
        "✗ image api-images:not-pushed is in ECR",
        "✗ alarm subscriptions confirmed (0 of 1)",
    ]
    assert f"fix: npx cdk bootstrap aws://{ACCOUNT}/us-east-1" in "\n".join(lines)


def test_credentials_of_another_account_are_a_cross(account: boto3.session.Session) -> None:
    config = dataclasses.replace(filled_in(PROD), account="123456789013")
    status, lines = _lines(config, account)
    assert status == 1 and any(line.startswith(f"✗ credentials are for account {ACCOUNT}") for line in lines)


def test_make_preflight_on_the_committed_prod_config_exits_non_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "photo_ops.preflight", "--env", "prod", "--offline"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "✗ cdn.certificate_arn = 'arn:aws:acm:us-east-1:111122223333:certificate/example-prod-media'"
        in result.stdout
    )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_synth_refuses_placeholders_with_the_preflight_message(env: str, tmp_path: Path) -> None:
    from tests.stacks.conftest import cdk_cli

    result = cdk_cli("synth", "-c", f"env={env}", "-c", "image_tag=x", "-q", "-o", str(tmp_path))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{env} is not ready to deploy (make preflight ENV={env})" in output
    assert "✗ api.fargate.certificate_arn" in output and "-c allow_placeholders=true" in output


def test_in_signed_mode_the_signing_key_secret_must_hold_a_private_key(
    account: boto3.session.Session,
) -> None:
    for region in ("eu-west-1", "us-east-1"):
        account.client("ssm", region_name=region).put_parameter(
            Name=preflight.BOOTSTRAP_VERSION_PARAMETER, Value="21", Type="String"
        )
    topic = account.client("sns").create_topic(Name="alarms")["TopicArn"]
    account.client("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@snapgram.io")
    secrets = account.client("secretsmanager")
    secret_id = secrets.create_secret(Name="signing-key", SecretString="generated-placeholder")["ARN"]
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "ApiRepositoryName": {"Value": "api-images"},
            "AlarmTopicArn": {"Value": topic},
            "CdnSigningSecretArn": {"Value": secret_id},
            "CdnSigningKeyIds": {"Value": "K1OLDKEY,K2NEWKEY"},
        },
    }
    account.client("cloudformation").create_stack(
        StackName=f"{PROD.stack_prefix}-storage", TemplateBody=json.dumps(template)
    )
    unsigned = filled_in(PROD)
    signed = dataclasses.replace(
        unsigned,
        cdn=dataclasses.replace(
            unsigned.cdn,
            access="signed",
            public_keys=("-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----",),
        ),
        api=dataclasses.replace(
            unsigned.api, fargate=dataclasses.replace(unsigned.api.fargate, enabled=False)
        ),
    )
    status, lines = _lines(signed, account)
    assert status == 1 and any(
        line.startswith("✗ the signing key secret names a key pair and holds its private key")
        for line in lines
    )
    pem = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"
    # A key pair the group does not hold (a typo, or a key already revoked) is refused too.
    stray = CdnSigningKey(key_pair_id="K9REVOKED", private_key_pem=pem)
    secrets.put_secret_value(SecretId=secret_id, SecretString=stray.to_secret())
    status, lines = _lines(signed, account)
    assert status == 1 and "✗ the signing key secret names a key of the key group (K9REVOKED)" in lines
    active = CdnSigningKey(key_pair_id="K2NEWKEY", private_key_pem=pem)
    secrets.put_secret_value(SecretId=secret_id, SecretString=active.to_secret())
    status, lines = _lines(signed, account)
    assert status == 0, "\n".join(lines)
    assert "✓ the signing key secret names a key of the key group (K2NEWKEY)" in lines
