"""Build Lambda assets with pip on this machine: manylinux wheels for the function's architecture, no Docker.

Each asset is a set of our own projects (built into wheels from source, never copied) plus their
third-party requirements resolved for the target platform and pinned by ``constraints.txt``. Builds are
cached by a key over every input, so a second synth of the same sources costs a directory copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from photo_pipeline_cdk.config import Architecture

_BUNDLER_VERSION = "1"  # bump when the build steps change, so caches do not serve old layouts
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", "build", "dist"})


@dataclass(frozen=True, kw_only=True)
class PythonAssetSpec:
    """What goes into one asset.

    ``provided`` names distributions the function gets elsewhere (the layer), so they are left out;
    ``subdir`` is ``python`` for a layer (Lambda adds ``/opt/python`` to ``sys.path``).
    """

    projects: tuple[Path, ...]
    constraints: Path
    architecture: Architecture
    python_version: str
    provided: frozenset[str] = frozenset()
    subdir: str = ""

    def cache_key(self) -> str:
        digest = hashlib.sha256()
        for part in (_BUNDLER_VERSION, self.architecture.value, self.python_version, self.subdir):
            digest.update(part.encode() + b"\0")
        digest.update(",".join(sorted(self.provided)).encode() + b"\0")
        digest.update(self.constraints.read_bytes() if self.constraints.exists() else b"")
        for project in self.projects:
            for path in _source_files(project):
                digest.update(str(path.relative_to(project)).encode() + b"\0")
                digest.update(path.read_bytes())
        return digest.hexdigest()


def python_asset_code(spec: PythonAssetSpec, *, cache_dir: Path) -> lambda_.AssetCode:
    """Lambda code (function or layer) built from ``spec`` by the local bundler.

    The hash is the cache key: it covers every project file, the pins, the architecture and the Python
    version, so an arm64 and an x86_64 build of the same sources never share a hash. ``platform`` is set
    as well, for anyone who swaps the local bundler for the Docker one.
    """
    options = cdk.BundlingOptions(
        image=cdk.DockerImage.from_registry(f"public.ecr.aws/sam/build-python{spec.python_version}"),
        platform=spec.architecture.docker_platform,
        local=LocalPipBundler(spec, cache_dir=cache_dir),
        command=["false"],  # never reached: the local bundler always builds or raises
    )
    return lambda_.Code.from_asset(
        str(spec.projects[0]), bundling=options, asset_hash=spec.cache_key(), exclude=["**/__pycache__"]
    )


@jsii.implements(cdk.ILocalBundling)
class LocalPipBundler:
    def __init__(self, spec: PythonAssetSpec, *, cache_dir: Path) -> None:
        self._spec = spec
        self._cache_dir = cache_dir

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: Any) -> bool:
        cached = self._cache_dir / self._spec.cache_key()
        if not cached.is_dir():
            build_python_asset(self._spec, cached)
        shutil.copytree(cached, output_dir, dirs_exist_ok=True)
        return True


def build_python_asset(spec: PythonAssetSpec, destination: Path) -> None:
    """Build the asset into ``destination`` (atomically: a half-built asset is never left behind)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".build-") as work:
        wheels = Path(work) / "wheels"
        out = Path(work) / "out"
        target = out / spec.subdir if spec.subdir else out
        built = [_build_wheel(project, wheels) for project in spec.projects]
        local_names = {_dist_name(wheel) for wheel in built}
        requirements = sorted(
            str(req)
            for req in _requirements(built)
            if canonicalize_name(req.name) not in local_names | {canonicalize_name(p) for p in spec.provided}
        )
        _pip("install", "--no-deps", "--no-compile", "--target", str(target), *map(str, built))
        if requirements:
            platform_args = [arg for tag in spec.architecture.pip_platforms for arg in ("--platform", tag)]
            _pip(
                "install",
                "--no-compile",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                spec.python_version,
                *platform_args,
                "--target",
                str(target),
                "--constraint",
                str(spec.constraints),
                *requirements,
            )
        _prune(target)
        out.rename(destination)


def _build_wheel(project: Path, wheels: Path) -> Path:
    before = set(wheels.glob("*.whl")) if wheels.exists() else set()
    _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(project))
    (wheel,) = set(wheels.glob("*.whl")) - before
    return wheel


def _dist_name(wheel: Path) -> str:
    return canonicalize_name(wheel.name.split("-")[0])


def _requirements(wheels: Iterable[Path]) -> Iterable[Requirement]:
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = Parser().parsestr(archive.read(metadata_name).decode())
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is None or "extra" not in str(requirement.marker):
                yield requirement


def _prune(target: Path) -> None:
    """Nothing Lambda will not import: compiled caches, console scripts, pip's bookkeeping."""
    for path in sorted(target.rglob("*"), reverse=True):
        if path.name == "__pycache__" and path.is_dir():
            shutil.rmtree(path)
        elif path.name in ("direct_url.json", "INSTALLER", "RECORD") and path.parent.name.endswith(
            ".dist-info"
        ):
            path.unlink()
    shutil.rmtree(target / "bin", ignore_errors=True)


def _source_files(project: Path) -> list[Path]:
    return sorted(
        p
        for p in project.rglob("*")
        if p.is_file()
        and not _IGNORED_PARTS.intersection(p.relative_to(project).parts)
        and not p.name.endswith((".pyc", ".egg-info"))
        and ".egg-info" not in str(p)
    )


def _pip(*args: str) -> None:
    command: Sequence[str] = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args[:1])} failed ({result.returncode}):\n{result.stderr[-4000:]}")
