"""Build Lambda assets with pip on this machine: manylinux wheels for the function's architecture, no Docker.

Each asset is a set of our own projects (built into wheels from source, never copied) plus their
third-party requirements resolved for the target platform and pinned by ``constraints.txt``. Builds are
cached by a key over every input, so a second synth of the same sources costs a directory copy.

Assets ship bytecode compiled by the runtime's Python version. Lambda's code directories are read-only,
so a package without ``__pycache__`` is compiled from source on every cold start and never cached: for
the API that was about 1 s of a 1.5 s init (``bench/cold_start_bench.py``). The bytecode is
``unchecked-hash``: valid whatever mtimes the zip carries, and the same bytes on every build.
"""

from __future__ import annotations

import functools
import hashlib
import json
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

_BUNDLER_VERSION = "2"  # bump when the build steps change, so caches do not serve old layouts
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", "build", "dist"})


@dataclass(frozen=True, kw_only=True)
class PythonAssetSpec:
    """What goes into one asset.

    ``provided`` names distributions the function gets elsewhere (the layer), so they are left out;
    ``subdir`` is ``python`` for a layer (Lambda adds ``/opt/python`` to ``sys.path``); ``hashes`` is a
    constraints file with each third-party wheel's sha256 (``wheel-hashes.txt``, written by
    :func:`lock_wheel_hashes`): pip then refuses any file whose bytes are not those.
    """

    projects: tuple[Path, ...]
    constraints: Path
    architecture: Architecture
    python_version: str
    provided: frozenset[str] = frozenset()
    subdir: str = ""
    hashes: Path | None = None

    def cache_key(self) -> str:
        digest = hashlib.sha256()
        # Whether bytecode can be compiled here changes the content, so it changes the key.
        bytecode = "bytecode" if find_python(self.python_version) else "source-only"
        for part in (_BUNDLER_VERSION, self.architecture.value, self.python_version, self.subdir, bytecode):
            digest.update(part.encode() + b"\0")
        digest.update(",".join(sorted(self.provided)).encode() + b"\0")
        digest.update(self.constraints.read_bytes() if self.constraints.exists() else b"")
        digest.update(self.hashes.read_bytes() if self.hashes is not None else b"")
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
                *(("--constraint", str(spec.hashes), "--require-hashes") if spec.hashes else ()),
                *requirements,
            )
        _prune(target)
        _compile_bytecode(spec, out, mount="/opt" if spec.subdir else "/var/task")
        out.rename(destination)


@functools.cache
def find_python(version: str) -> Path | None:
    """An interpreter of ``version`` (``"3.13"``) on this machine, or None: on PATH, else under pyenv."""
    found = shutil.which(f"python{version}")
    candidates = [Path(found)] if found and "/shims/" not in found else []  # a shim may lack the version
    installed = Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}")
    candidates += sorted(installed, key=_patch_level, reverse=True)  # the newest patch release first
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in candidates:
        result = subprocess.run([str(candidate), "-c", probe], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip() == version:
            return candidate
    return None


def _patch_level(python: Path) -> int:
    patch = python.parents[1].name.rsplit(".", 1)[-1]  # …/versions/3.13.9/bin/python3.13 -> 9
    return int(patch) if patch.isdigit() else -1


def _compile_bytecode(spec: PythonAssetSpec, out: Path, *, mount: str) -> None:
    """Compile every module with the runtime's Python; file names as Lambda mounts them (``mount``)."""
    python = find_python(spec.python_version)
    if python is None:
        print(
            f"warning: python{spec.python_version} not found: the asset ships source only and Lambda "
            "compiles it on every cold start (pyenv install " + spec.python_version + ")",
            file=sys.stderr,
        )
        return
    command = [str(python), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    result = subprocess.run(
        [*command, "-s", str(out), "-p", mount, str(out)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"compileall failed ({result.returncode}):\n{result.stdout[-4000:]}")


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


def lock_wheel_hashes(
    projects: Sequence[Path], *, constraints: Path, python_versions: Sequence[str], destination: Path
) -> int:
    """Write ``destination``: every third-party wheel the assets of ``projects`` can install, for both
    architectures and each of ``python_versions``, pinned by ``constraints``, with its sha256 (the
    index's own, as pip reports it). Returns the number of distributions."""
    found: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="wheel-hashes-") as work:
        built = [str(_build_wheel(project, Path(work) / "wheels")) for project in projects]
        for architecture in Architecture:
            for version in python_versions:
                for pin, digests in _resolve(built, architecture, version, constraints, Path(work)).items():
                    found.setdefault(pin, set()).update(digests)
    header = "every third-party wheel a Lambda asset may install (pip --require-hashes)"
    destination.write_text(_hashed_requirements(found, header))
    return len(found)


def lock_requirements(
    requirements: Sequence[tuple[Path, str]],
    *,
    constraints: Path,
    architecture: Architecture,
    python_version: str,
    destination: Path,
) -> int:
    """Write ``destination``: the exact third-party closure of ``requirements`` (a project and its
    extras, e.g. ``"[server]"``) for one platform, with hashes, for ``pip install --require-hashes
    --no-deps -r`` (a container image). Returns the number of distributions."""
    with tempfile.TemporaryDirectory(prefix="requirements-") as work:
        built = [
            f"{_build_wheel(project, Path(work) / 'wheels')}{extras}" for project, extras in requirements
        ]
        found = _resolve(built, architecture, python_version, constraints, Path(work))
    header = f"the API image's third-party packages ({architecture.value}, Python {python_version})"
    destination.write_text(_hashed_requirements(found, header))
    return len(found)


def _resolve(
    wheels: Sequence[str], architecture: Architecture, version: str, constraints: Path, work: Path
) -> dict[str, set[str]]:
    """What pip would install for ``wheels`` on that platform: ``name==version`` -> sha256s."""
    report = work / f"report-{architecture.value}-{version}.json"
    platform_args = [arg for tag in architecture.pip_platforms for arg in ("--platform", tag)]
    _pip(
        "install",
        "--dry-run",
        "--ignore-installed",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
        *platform_args,
        "--target",
        str(work / "target"),
        "--constraint",
        str(constraints),
        "--report",
        str(report),
        *wheels,
    )
    found: dict[str, set[str]] = {}
    for item in json.loads(report.read_text())["install"]:
        info = item["download_info"]
        digest = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if digest is None or info["url"].startswith(work.as_uri()):
            continue  # our own wheels, built from source here
        pin = f"{canonicalize_name(item['metadata']['name'])}=={item['metadata']['version']}"
        found.setdefault(pin, set()).add(digest)
    return found


def _hashed_requirements(found: dict[str, set[str]], what: str) -> str:
    lines = [
        f"# The sha256 of {what}.",
        "# Generated by `make lock-wheels` from constraints.txt; regenerate it after changing a pin.",
    ]
    for pin in sorted(found):
        lines.append(" \\\n".join([pin, *(f"    --hash=sha256:{h}" for h in sorted(found[pin]))]))
    return "\n".join(lines) + "\n"
