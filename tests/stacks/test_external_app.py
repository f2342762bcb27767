"""Another CDK app — with its own `stacks` package — installs photo-pipeline with pip and uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # pip-installs the project into a fresh virtualenv


def test_foreign_app_imports_the_resize_pipeline_and_synthesizes(tmp_path: Path) -> None:
    app_dir = tmp_path / "their-app"
    (app_dir / "stacks").mkdir(parents=True)
    (app_dir / "stacks" / "__init__.py").write_text("")
    (app_dir / "stacks" / "media.py").write_text(
        textwrap.dedent(
            """
            import aws_cdk as cdk
            from aws_cdk import aws_s3 as s3
            from photo_pipeline_cdk import ImageRegistry, ResizePipeline

            class MediaStack(cdk.Stack):
                def __init__(self, scope, construct_id):
                    super().__init__(scope, construct_id)
                    uploads = s3.Bucket(self, "Uploads", enforce_ssl=True)
                    media = s3.Bucket(self, "Media", enforce_ssl=True)
                    registry = ImageRegistry(self, "Registry", bus_name="their-images")
                    self.pipeline = ResizePipeline(
                        self,
                        "Resize",
                        uploads_bucket=uploads,
                        media_bucket=media,
                        registry_table=registry.table,
                        event_bus=registry.bus,
                    )
            """
        )
    )
    (app_dir / "app.py").write_text(
        textwrap.dedent(
            """
            import aws_cdk as cdk
            import photo_pipeline_cdk, stacks
            from stacks.media import MediaStack

            assert "site-packages" in photo_pipeline_cdk.__file__, photo_pipeline_cdk.__file__
            app = cdk.App()
            MediaStack(app, "Theirs")
            app.synth()
            print("their stacks package:", stacks.__file__)
            """
        )
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(REPO / "constraints.txt"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]

    out = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(out)}
    result = subprocess.run(
        [str(venv / "bin" / "python"), "app.py"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"their stacks package: {app_dir / 'stacks' / '__init__.py'}" in result.stdout
    template = (out / "Theirs.template.json").read_text()
    assert "resize_worker.handler.lambda_handler" in template
    assert "uploads/" in template  # the construct made its own queue + notification


def test_public_imports_are_typed_for_a_consumer(tmp_path: Path) -> None:
    """mypy in a consumer sees the real construct class, not Any, through the lazy package namespace."""
    consumer = tmp_path / "consumer.py"
    consumer.write_text("from photo_pipeline_cdk import ResizePipeline\nreveal_type(ResizePipeline)\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(consumer)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 'Revealed type is "def' in result.stdout, result.stdout + result.stderr
    assert "photo_pipeline_cdk.resize.ResizePipeline" in result.stdout, result.stdout


def test_reading_the_config_does_not_start_jsii() -> None:
    code = (
        "import sys, photo_pipeline_cdk, photo_pipeline_cdk.config\n"
        "photo_pipeline_cdk.environment_config('dev')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'aws_cdk')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
