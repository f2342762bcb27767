"""The rooms of the house: runtime code under lambdas/ never reaches for infrastructure or dev tooling."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN = {"photo_pipeline_cdk", "aws_cdk", "constructs", "cdk_nag", "local_runner", "moto"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_runtime_module_imports_infrastructure_or_local_tooling() -> None:
    sources = sorted((REPO / "lambdas").rglob("*.py"))
    assert len(sources) > 15, "the runtime packages were not found"
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_roots(path) & FORBIDDEN)
        for path in sources
        if _imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_the_check_itself_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import os\nfrom photo_pipeline_cdk.config import ENVIRONMENTS\nimport aws_cdk.aws_s3\n"
    )
    assert _imported_roots(sample) & FORBIDDEN == {"photo_pipeline_cdk", "aws_cdk"}


def test_the_deployed_api_sources_hold_no_local_only_piece() -> None:
    """The API function asset and the image are built from lambdas/upload_api (+ contract, core)."""
    shipped = [p for p in (REPO / "lambdas").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    names = {p.name for p in shipped}
    assert not names & {"upload.html", "page.py", "local_issuer.py", "issuer.py"}
    text = "\n".join(p.read_text(errors="ignore") for p in shipped if p.suffix == ".py")
    assert "LocalIssuer" not in text and "upload_page" not in text


def test_the_typed_export_list_matches_the_lazy_table() -> None:
    """``photo_pipeline_cdk.__all__`` is spelled out for type checkers; it must name exactly what the
    lazy ``__getattr__`` serves (in a subprocess: resolving the names starts jsii)."""
    code = (
        "import photo_pipeline_cdk as p\n"
        "assert sorted(p.__all__) == sorted(p._EXPORTS), sorted(set(p.__all__) ^ set(p._EXPORTS))\n"
        "print(all(getattr(p, name) is not None for name in p.__all__))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "True", result.stderr[-2000:]


def _code_strings(path: Path) -> list[str]:
    """String literals that are not docstrings."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _outside_tests() -> list[Path]:
    roots = ("lambdas", "stacks", "local", "ops", "bench", "containers")
    return [p for root in roots for p in sorted((REPO / root).rglob("*.py"))] + [REPO / "app.py"]


def test_nothing_outside_tests_reads_tests() -> None:
    readers = [
        str(path.relative_to(REPO))
        for path in _outside_tests()
        if any(s == "tests" or s.startswith("tests/") or "/tests/" in s for s in _code_strings(path))
        or "tests" in _imported_roots(path)
    ]
    assert readers == []


def test_the_construct_package_holds_no_operator_command() -> None:
    """Commands (argparse, a __main__ block) live in photo_ops; the construct library other apps install
    holds constructs, stacks and what synth needs."""
    commands = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "stacks" / "photo_pipeline_cdk").rglob("*.py"))
        if "argparse" in _imported_roots(path) or "__main__" in _code_strings(path)
    ]
    assert commands == []
