"""Committed, hash-masked snapshots of every environment's templates, and the drift check over them.

python -m tests.stacks.snapshots update ENV ASSEMBLY_DIR   # rewrite the snapshots from a synth
python -m tests.stacks.snapshots diff ENV ASSEMBLY_DIR     # print the drift as a unified diff
python -m tests.stacks.snapshots mask ASSEMBLY_DIR OUT_DIR  # a hash-masked copy, for `cdk diff --app`
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent / "snapshots"
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# A Lambda version's logical id ends in a hash of its function, asset hash included.
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def masked(template: dict[str, Any]) -> dict[str, Any]:
    """Asset hashes change with every source edit (and so does the id of the Lambda version made from
    the asset); what the snapshot guards is everything else."""
    text = _VERSION_HASH.sub(r"\1VERSION-HASH", _ASSET_HASH.sub("ASSET-HASH", json.dumps(template)))
    return json.loads(text)


def synthesized(assembly: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in assembly.glob("*.template.json")
    }


def snapshot_path(env: str, stack: str) -> Path:
    return SNAPSHOTS / env / f"{stack}.template.json"


def render(template: dict[str, Any]) -> str:
    return json.dumps(masked(template), indent=1, sort_keys=True) + "\n"


def drift(env: str, assembly: Path) -> str:
    out = []
    current = synthesized(assembly)
    committed = {p.name.removesuffix(".template.json") for p in (SNAPSHOTS / env).glob("*.template.json")}
    for stack in sorted(set(current) | committed):
        old = snapshot_path(env, stack).read_text() if stack in committed else ""
        new = render(current[stack]) if stack in current else ""
        out.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"snapshot/{env}/{stack}",
                tofile=f"synth/{env}/{stack}",
            )
        )
    return "".join(out)


def update(env: str, assembly: Path) -> None:
    target = SNAPSHOTS / env
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.template.json"):
        old.unlink()
    for stack, template in synthesized(assembly).items():
        snapshot_path(env, stack).write_text(render(template))


def mask_assembly(assembly: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(assembly, out, ignore=shutil.ignore_patterns("asset.*"))
    for path in out.glob("*.template.json"):
        path.write_text(render(json.loads(path.read_text())))


def main(argv: list[str]) -> int:
    command, env, assembly = argv[0], argv[1], Path(argv[2])
    if command == "mask":
        mask_assembly(Path(env), assembly)
        return 0
    if command == "update":
        update(env, assembly)
        return 0
    text = drift(env, assembly)
    sys.stdout.write(text or f"no drift: {env} matches its snapshot\n")
    return 1 if text else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
