"""Another CDK app — with its own `stacks` package — installs the construct library's built wheel
(`python -m build`) into a clean virtualenv, and both its own app and the docs' example synthesize."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # pip-installs the project into a fresh virtualenv


def test_foreign_app_imports_the_resize_pipeline_and_synthesizes(
    tmp_path: Path, installed_wheel: Path
) -> None:
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
    python = installed_wheel
    out = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(out)}
    result = subprocess.run(
        [str(python), "app.py"],
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


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel as `python -m build` makes it, pip-installed with the pins into a fresh virtualenv
    (one for the module: the install is most of the time)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("photo_pipeline-*-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "photo_pipeline_cdk/stacks.py" in names and "photo_contract/runtime.py" in names
    assert not any(n.startswith(("photo_ops/", "tests/", "local_runner/")) for n in names)
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
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin" / "python"


def test_the_docs_example_synthesizes_against_the_installed_wheel(
    tmp_path: Path, installed_wheel: Path
) -> None:
    from tests.stacks.test_constructs_doc import example_app

    python = installed_wheel
    app = tmp_path / "docs-app"
    app.mkdir()
    (app / "app.py").write_text(example_app())
    out = tmp_path / "docs-out"
    result = subprocess.run(
        [str(python), "app.py"],
        cwd=app,
        env={**os.environ, "CDK_OUTDIR": str(out)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resize_worker.handler.lambda_handler" in (out / "MyMedia.template.json").read_text()


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
    assert "photo_pipeline_cdk.constructs.resize.ResizePipeline" in result.stdout, result.stdout


def test_reading_the_config_does_not_start_jsii() -> None:
    code = (
        "import sys, photo_pipeline_cdk, photo_pipeline_cdk.config\n"
        "photo_pipeline_cdk.environment_config('dev')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'aws_cdk')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
