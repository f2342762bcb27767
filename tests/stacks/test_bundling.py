"""Lambda assets built by pip on this machine, for the function's architecture."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from photo_pipeline_cdk.assets.bundling import (
    PythonAssetSpec,
    build_python_asset,
    find_python,
    lock_requirements,
    lock_wheel_hashes,
)
from photo_pipeline_cdk.assets.sources import runtime_sources
from photo_pipeline_cdk.config import Architecture

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # builds Lambda assets with pip

SRC = runtime_sources()


def _layer(architecture: Architecture, python: str = "3.13") -> PythonAssetSpec:
    return PythonAssetSpec(
        projects=(SRC.resize_core, SRC.contract),
        constraints=SRC.constraints,
        architecture=architecture,
        python_version=python,
        subdir="python",
        hashes=SRC.wheel_hashes,
    )


def test_arm64_and_x86_64_never_share_a_hash() -> None:
    assert _layer(Architecture.ARM_64).cache_key() != _layer(Architecture.X86_64).cache_key()
    assert _layer(Architecture.ARM_64, "3.12").cache_key() != _layer(Architecture.ARM_64).cache_key()


def test_source_edit_changes_the_hash_but_pycache_does_not(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(SRC.contract, project, ignore=shutil.ignore_patterns("__pycache__"))
    spec = PythonAssetSpec(
        projects=(project,),
        constraints=SRC.constraints,
        architecture=Architecture.ARM_64,
        python_version="3.13",
    )
    before = spec.cache_key()
    (project / "photo_contract" / "__pycache__").mkdir()
    (project / "photo_contract" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert spec.cache_key() == before
    (project / "photo_contract" / "keys.py").write_text("# edited\n", encoding="utf-8")
    assert spec.cache_key() != before


def _python(version: str) -> Path:
    found = find_python(version)
    if found is None:
        pytest.skip(
            f"python{version} is not installed (pyenv install {version}) — cannot run the layer on it"
        )
    return found


def test_find_python_answers_for_the_version_asked_or_none() -> None:
    assert find_python("3.99") is None
    found = find_python("3.11")  # the interpreter running these tests is a 3.11
    assert found is not None
    probe = [str(found), "-c", "import sys; print(sys.version_info[:2])"]
    assert subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip() == "(3, 11)"


def test_x86_64_layer_imports_and_resizes_on_the_lambda_python(tmp_path: Path, corpus: Path) -> None:
    layer = tmp_path / "layer"
    build_python_asset(_layer(Architecture.X86_64), layer)
    # Bytecode for the runtime's Python only, named as Lambda mounts the layer (/opt/python/...).
    caches = list(layer.rglob("*.pyc"))
    assert caches
    assert all(".cpython-313." in p.name for p in caches)
    assert all(p.parent.name == "__pycache__" for p in caches)
    core = layer / "python" / "photo_resize" / "__pycache__" / "core.cpython-313.pyc"
    assert b"/opt/python/photo_resize/core.py" in core.read_bytes()  # where Lambda mounts a layer
    photo = corpus / "camera" / "canon-eos-1000d_10mp_orient6.jpg"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:] = [p for p in sys.path if "site-packages" not in p] + [{str(layer / "python")!r}]
        from photo_resize import resize_image, ResizeOptions
        import PIL, photo_resize
        assert PIL.__file__.startswith({str(layer)!r}), PIL.__file__
        result = resize_image(open({str(photo)!r}, "rb").read(), ResizeOptions())
        print(sys.version_info[:2], [(v.name, v.format.value, v.width, v.height) for v in result.variants])
        """
    )
    # -I: isolated (no user site, no PYTHONPATH); -S: no site-packages. Only the layer, as /opt/python.
    # -B: write nothing, as in Lambda's read-only /opt; -v: say where each module's code came from.
    result = subprocess.run(
        [str(_python("3.13")), "-I", "-S", "-B", "-v", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "(3, 13)" in result.stdout
    # Every module of the layer that ran came from its shipped bytecode; none was compiled from source.
    loaded = [line for line in result.stderr.splitlines() if line.startswith("# code object from")]
    from_layer = [line for line in loaded if str(layer) in line]
    assert any("/photo_resize/__pycache__/core.cpython-313.pyc" in line for line in from_layer)
    assert any("/PIL/__pycache__/Image.cpython-313.pyc" in line for line in from_layer)
    assert all(".pyc" in line for line in from_layer)
    assert "('w1080', 'jpeg', 1080, 1350)" in result.stdout  # portrait (EXIF rotation applied), 4:5 crop
    assert "('w1080', 'avif', 1080, 1350)" in result.stdout  # the layer's Pillow wheel encodes AVIF


def test_function_asset_leaves_out_what_the_layer_and_runtime_provide(tmp_path: Path) -> None:
    spec = PythonAssetSpec(
        projects=(SRC.resize_worker,),
        constraints=SRC.constraints,
        architecture=Architecture.ARM_64,
        python_version="3.13",
        provided=frozenset(
            {"boto3", "botocore", "s3transfer", "photo-pipeline-resize-core", "photo-pipeline-contract"}
        ),
    )
    out = tmp_path / "fn"
    build_python_asset(spec, out)
    names = {p.name for p in out.iterdir()}
    assert {"resize_worker", "aws_lambda_powertools"} <= names
    # Compiled with the runtime's Python, with the file names Lambda will show in tracebacks.
    compiled = out / "resize_worker" / "__pycache__" / "handler.cpython-313.pyc"
    assert b"/var/task/resize_worker/handler.py" in compiled.read_bytes()
    assert not names & {"PIL", "photo_resize", "photo_contract", "boto3", "botocore"}


def test_repository_sources_are_found() -> None:
    assert SRC.root == REPO


def _needs_annotated_types(tmp_path: Path) -> Path:
    project = tmp_path / "needs_types"
    (project / "needs_types").mkdir(parents=True)
    (project / "needs_types" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "needs-types"
            version = "0"
            dependencies = ["annotated-types"]
            """
        )
    )
    return project


def test_a_wheel_whose_bytes_differ_from_the_lock_fails_the_build(tmp_path: Path) -> None:
    """pip --require-hashes against wheel-hashes.txt: a replaced file on the index fails the synth."""
    project = _needs_annotated_types(tmp_path)
    lock = SRC.wheel_hashes.read_text()
    assert "annotated-types==" in lock

    def spec(hashes: Path) -> PythonAssetSpec:
        return PythonAssetSpec(
            projects=(project,),
            constraints=SRC.constraints,
            architecture=Architecture.ARM_64,
            python_version="3.13",
            hashes=hashes,
        )

    build_python_asset(spec(SRC.wheel_hashes), tmp_path / "good")
    assert (tmp_path / "good" / "annotated_types").is_dir()
    tampered = tmp_path / "tampered.txt"
    start = lock.index("annotated-types==")
    digest = lock.index("sha256:", start) + len("sha256:")
    tampered.write_text(lock[:digest] + ("0" if lock[digest] != "0" else "1") + lock[digest + 1 :])
    with pytest.raises(RuntimeError, match=r"(?s)Expected sha256.*Got"):
        build_python_asset(spec(tampered), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_the_committed_wheel_hashes_match_the_constraints(tmp_path: Path) -> None:
    """A pin changed without make lock-wheels fails here (and the synth), not in a deploy."""
    fresh = tmp_path / "wheel-hashes.txt"
    lock_wheel_hashes(
        [SRC.contract, SRC.resize_core, SRC.resize_worker, SRC.upload_api],
        constraints=SRC.constraints,
        python_versions=["3.13"],
        destination=fresh,
    )
    assert fresh.read_text() == SRC.wheel_hashes.read_text(), "run make lock-wheels"
    image = tmp_path / "requirements.txt"
    lock_requirements(
        [(SRC.contract, ""), (SRC.upload_api, "[server]")],
        constraints=SRC.constraints,
        architecture=Architecture.ARM_64,
        python_version="3.13",
        destination=image,
    )
    assert image.read_text() == (REPO / "containers" / "api" / "requirements.txt").read_text(), (
        "run make lock-wheels"
    )
