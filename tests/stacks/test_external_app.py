"""Another CDK app — with its own `stacks` package — installs photo-pipeline with pip and uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO


def test_foreign_app_imports_the_resize_pipeline_and_synthesizes(tmp_path: Path) -> None:
    app_dir = tmp_path / "their-app"
    (app_dir / "stacks").mkdir(parents=True)
    (app_dir / "stacks" / "__init__.py").write_text("")
    (app_dir / "stacks" / "media.py").write_text(
        textwrap.dedent(
            """
            import aws_cdk as cdk
            from aws_cdk import aws_s3 as s3
            from photo_pipeline_cdk import ResizePipeline

            class MediaStack(cdk.Stack):
                def __init__(self, scope, construct_id):
                    super().__init__(scope, construct_id)
                    uploads = s3.Bucket(self, "Uploads", enforce_ssl=True)
                    media = s3.Bucket(self, "Media", enforce_ssl=True)
                    self.pipeline = ResizePipeline(self, "Resize", uploads_bucket=uploads, media_bucket=media)
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
