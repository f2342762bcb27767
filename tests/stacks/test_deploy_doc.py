"""docs/deploy.md: every aws command it gives names the region (a profile elsewhere must not matter), and
the README points at it."""

from __future__ import annotations

import re

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
