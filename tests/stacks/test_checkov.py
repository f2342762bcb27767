"""checkov on every environment's synthesized templates: a finding fails the suite unless it is accepted,
with its reason, in checkov_accepted.toml (and an acceptance that matches nothing fails too)."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.conftest import REPO

pytestmark = pytest.mark.slow  # checkov over full synths

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
ACCEPTED: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).with_name("checkov_accepted.toml")).read_text()
)["accepted"]


def _findings(assembly: Path) -> list[tuple[str, str, str]]:
    """(check id, resource, template file) of every failed check."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test` (its setup installs checkov)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(assembly),
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: findings (judged below)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return [
        (failed["check_id"], failed["resource"], Path(failed["file_path"]).name)
        for report in reports
        for failed in report["results"]["failed_checks"]
    ]


def _acceptance(check: str, resource: str) -> dict[str, Any] | None:
    for entry in ACCEPTED:
        if entry["check"] == check and any(resource.startswith(prefix) for prefix in entry["resources"]):
            return entry
    return None


@pytest.fixture(scope="module")
def findings(assemblies: dict[str, Path]) -> dict[str, list[tuple[str, str, str]]]:
    return {env: _findings(path) for env, path in assemblies.items()}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_checkov_finding_is_accepted_with_a_reason(
    findings: dict[str, list[tuple[str, str, str]]], env: str
) -> None:
    unexplained = [f for f in findings[env] if _acceptance(f[0], f[1]) is None]
    assert not unexplained, f"checkov findings in {env} not in checkov_accepted.toml: {unexplained}"


def test_every_acceptance_still_matches_a_finding(findings: dict[str, list[tuple[str, str, str]]]) -> None:
    everything = [f for env_findings in findings.values() for f in env_findings]
    for entry in ACCEPTED:
        assert len(entry["reason"]) > 30, entry
        for prefix in entry["resources"]:
            assert any(check == entry["check"] and res.startswith(prefix) for check, res, _ in everything), (
                f"stale acceptance: {entry['check']} on {prefix} no longer fires"
            )


def test_checkov_really_checks(tmp_path: Path) -> None:
    """The harness sees a finding when there is one: a bucket without encryption or public-access block."""
    template = {
        "Resources": {
            "Open": {"Type": "AWS::S3::Bucket", "Properties": {}},
        }
    }
    (tmp_path / "Open.template.json").write_text(json.dumps(template))
    checks = {check for check, _, _ in _findings(tmp_path)}
    assert "CKV_AWS_53" in checks  # block public ACLs
    assert _acceptance("CKV_AWS_53", "AWS::S3::Bucket.Open") is None


def test_every_acceptance_names_its_resources() -> None:
    """A bare type prefix ("AWS::Lambda::Function.") would accept every future function unseen."""
    for entry in ACCEPTED:
        for prefix in entry["resources"]:
            kind, _, name = prefix.partition(".")
            assert kind.startswith("AWS::") and len(name) >= 8, (entry["check"], prefix)
