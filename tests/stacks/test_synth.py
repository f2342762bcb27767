"""The CI gate: all environments synthesize offline, cdk-nag and cfn-lint pass, snapshots hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from photo_pipeline_cdk.assets.bundling import find_python
from photo_pipeline_cdk.config import DEFAULT_PYTHON_VERSION

from tests.conftest import REPO
from tests.stacks.conftest import ENVIRONMENTS, cdk_cli
from tests.stacks.snapshots import drift

pytestmark = pytest.mark.slow  # synthesizes every environment with the real CDK CLI

NO_AWS = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_templates_match_the_committed_snapshots(assemblies: dict[str, Path], env: str) -> None:
    text = drift(env, assemblies[env])
    assert text == "", f"templates drifted; review with `make diff ENV={env}`, then `make snapshots`:\n{text}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_finds_no_errors(assemblies: dict[str, Path], env: str) -> None:
    paths = sorted(str(p) for p in assemblies[env].glob("*.template.json"))
    assert len(paths) >= 2
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--config-file",
            str(REPO / ".cfnlintrc.yaml"),
            *paths,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cdk_nag_ran_and_found_nothing_unacknowledged(assemblies: dict[str, Path], env: str) -> None:
    report = json.loads((assemblies[env] / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert set(plugins) >= {"AwsSolutions", "Serverless"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []
        for acknowledged in plugin["suppressedViolations"]:
            # Every acknowledgment names its rule and gives a reason.
            assert acknowledged["ruleName"] in acknowledged["acknowledgedId"]
            assert len(acknowledged["reason"]) > 20


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_synth_lists_no_unconfigured_feature_flags(assemblies: dict[str, Path], env: str) -> None:
    log = (assemblies[env] / "synth.log").read_text()
    assert "feature flags are not configured" not in log, log[-2000:]


def test_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    """The nag gate must be able to fail: an app with an unencrypted, unlogged bucket is refused."""
    app = tmp_path / "app.py"
    app.write_text(
        "import aws_cdk as cdk\n"
        "from aws_cdk import aws_s3 as s3\n"
        "from photo_pipeline_cdk.nag import add_nag_checks\n"
        "app = cdk.App()\n"
        "stack = cdk.Stack(app, 'Bad')\n"
        "s3.Bucket(stack, 'Open')\n"
        "add_nag_checks(app)\n"
        "app.synth()\n"
    )
    result = cdk_cli("synth", "-q", "--app", f"{sys.executable} {app}", "-o", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "AwsSolutions-S1" in result.stdout + result.stderr


def test_unknown_environment_fails_with_the_known_names() -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env={**NO_AWS, "CDK_CONTEXT_JSON": json.dumps({"env": "qa"}), "CDK_OUTDIR": "/tmp/photo-pipeline-qa"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "unknown environment 'qa'" in result.stderr and "dev, staging, prod" in result.stderr


def test_resize_layer_is_aarch64_on_arm64(assemblies: dict[str, Path]) -> None:
    imaging = list(assemblies["dev"].glob("asset.*/python/PIL/_imaging.cpython-313-*.so"))
    assert len(imaging) == 1, imaging
    header = imaging[0].read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64


def test_assets_ship_bytecode_of_the_runtimes_python_only(assemblies: dict[str, Path]) -> None:
    """Every module compiled once, by the Lambda runtime's Python (3.13), beside its source: nothing
    compiled by the machine that ran synth, nothing missing (Lambda could not write it)."""
    expected = f"cpython-{DEFAULT_PYTHON_VERSION.replace('.', '')}"
    if find_python(DEFAULT_PYTHON_VERSION) is None:
        pytest.skip(f"python{DEFAULT_PYTHON_VERSION} is not installed here: synth ships source only")
    for assembly in assemblies.values():
        for asset in assembly.glob("asset.*"):
            compiled = list(asset.rglob("*.pyc"))
            sources = [p for p in asset.rglob("*.py") if p.parent.name != "__pycache__"]
            if not sources:
                continue  # a Docker image context or a non-Python asset
            assert compiled, asset
            assert {p.name.split(".")[1] for p in compiled} == {expected}, asset
            assert all(p.parent.name == "__pycache__" for p in compiled)
            for source in sources:
                assert (source.parent / "__pycache__" / f"{source.stem}.{expected}.pyc").is_file(), source


def test_api_function_asset_holds_no_local_only_piece(assemblies: dict[str, Path]) -> None:
    apis = [p.parent for p in assemblies["dev"].glob("asset.*/upload_api/app.py")]
    assert len(apis) == 1, apis
    shipped = {p.name for p in apis[0].rglob("*") if p.is_file()}
    assert "upload.html" not in shipped
    assert not list(apis[0].glob("local_runner*")) and not list(apis[0].glob("moto*"))
    assert "LocalIssuer" not in "".join(p.read_text() for p in apis[0].glob("upload_api/*.py"))
