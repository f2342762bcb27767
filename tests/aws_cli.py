"""The real AWS CLI (its own virtualenv, `make setup`) against a moto server on loopback, with a
profile whose region is elsewhere: the project's aws commands are run as written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from tests.conftest import REPO

AWS_CLI = REPO / ".venv-awscli" / "bin" / "aws"
PROFILE_REGION = "us-west-2"  # where a careless command would look


@contextmanager
def moto_account(bin_dir: Path) -> Iterator[tuple[dict[str, str], Any]]:
    """(environment for a subprocess with the real `aws` first on PATH, a boto3 client factory), both
    talking to one moto server."""
    assert AWS_CLI.exists(), f"{AWS_CLI} is missing: make setup installs it"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "aws").exists():
        (bin_dir / "aws").symlink_to(AWS_CLI)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": PROFILE_REGION,
        "AWS_REGION": PROFILE_REGION,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }

    def client(service: str, region: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # One moto state per process: a fresh account for each use.
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    try:
        yield env, client
    finally:
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


def stack_with_outputs(client: Any, region: str, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    client("cloudformation", region).create_stack(StackName=name, TemplateBody=json.dumps(template))
