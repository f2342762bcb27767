"""The example app of docs/constructs.md runs as written and synthesizes (the README points there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, code_block

pytestmark = pytest.mark.slow  # builds the resize function's assets

DOC = REPO / "docs" / "constructs.md"


def example_app() -> str:
    """The python block after "A complete app" in the doc."""
    return code_block(DOC, "A complete app", "python")


def test_the_docs_example_app_synthesizes(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(example_app())
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**os.environ, "CDK_OUTDIR": str(out)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((out / "MyMedia.template.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::DynamoDB::GlobalTable"} <= kinds
    assert "ResizeFunction" in template["Outputs"]
