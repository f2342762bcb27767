"""docs/deploy.md: every aws command it gives names the region (a profile elsewhere must not matter), and
the README points at it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from photo_pipeline_cdk.config import ENVIRONMENTS

from tests.aws_cli import moto_account, stack_with_outputs
from tests.conftest import REPO

DOC = REPO / "docs" / "deploy.md"


def _shell_commands() -> list[str]:
    """Each command of the doc's bash blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    commands: list[str] = []
    for block in blocks:
        commands += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return commands


def test_every_aws_command_names_its_region() -> None:
    invocations = [
        part
        for command in _shell_commands()
        for part in re.split(r"\$\(|\||;|&&", command)
        if re.match(r"\s*(\w+=|\w+\(\) \{\s*)?aws ", part)
    ]
    assert len(invocations) >= 11  # the doc's aws commands: a parse that finds fewer lost some
    unpinned = [i.strip() for i in invocations if "--region" not in i]
    assert not unpinned, unpinned


def test_every_bootstrap_names_account_and_region() -> None:
    bootstraps = [c for c in _shell_commands() if "cdk bootstrap" in c]
    assert bootstraps and all(re.search(r"aws://\d{12}/[a-z]+-[a-z]+-\d", c) for c in bootstraps)


def test_the_readme_sends_deployers_to_the_checklist() -> None:
    readme = (REPO / "README.md").read_text()
    assert "(docs/deploy.md)" in readme and "make preflight" in readme


def test_the_first_user_and_token_commands_work_in_the_environments_region(tmp_path: Path) -> None:
    """Step 10 of the checklist, as written (all but its curl), with the real AWS CLI against moto; the
    pool and the stack outputs exist only in prod's region, the profile points elsewhere."""
    (block,) = [
        b for b in re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S) if "admin-initiate-auth" in b
    ]
    script = block.split("curl ", 1)[0] + '\necho "API=$API"\necho "TOKEN=$TOKEN"\n'
    prod = ENVIRONMENTS["prod"]
    region = str(prod.region)
    assert f"--region {region}" in block
    with moto_account(tmp_path / "bin") as (env, client):
        cognito = client("cognito-idp", region)
        pool = cognito.create_user_pool(PoolName="users")["UserPool"]["Id"]
        app_client = cognito.create_user_pool_client(
            UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        stack_with_outputs(
            client,
            region,
            f"{prod.stack_prefix}-storage",
            {"UserPoolId": pool, "UserPoolClientId": app_client},
        )
        stack_with_outputs(client, region, f"{prod.stack_prefix}-api", {"ApiUrl": "https://api.example"})
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert lines["API"] == "https://api.example"
    assert lines["TOKEN"].count(".") == 2  # a JWT
