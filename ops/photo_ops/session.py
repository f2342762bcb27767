"""The AWS session every operator command uses: the environment's region from the config (whatever
the profile says) and, where the config pins an account, credentials for that account only."""

from __future__ import annotations

from typing import Any

from photo_pipeline_cdk.config import EnvironmentConfig


class WrongAccountError(RuntimeError):
    pass


def environment_session(config: EnvironmentConfig) -> Any:
    """A boto3 session in ``config.region`` (the profile's when unpinned: dev); refuses credentials of
    another account than ``config.account`` before any command touches anything."""
    import boto3  # not at import: the CDK app reads config without boto3's start-up cost

    session = boto3.session.Session(region_name=config.region) if config.region else boto3.session.Session()
    if config.account is not None:
        caller = session.client("sts").get_caller_identity()["Account"]
        if caller != config.account:
            raise WrongAccountError(
                f"these credentials are for account {caller}; {config.name} lives in {config.account} "
                "(choose its profile: AWS_PROFILE=…)"
            )
    return session
