"""`make cost ENV=… SCENARIO=…` as a user runs it: the month-1 and month-12 bill with its lines, the
delivery plans, the levers, the detail tables, under 100 columns, charts outside the tracked tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from photo_ops.report import main

from tests.conftest import REPO

SNAPSHOTS = REPO / "tests" / "stacks" / "snapshots"
PNG = b"\x89PNG\r\n\x1a\n"


def test_make_cost_prints_the_bill_of_a_scenario_in_100_columns(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "photo_ops.report", "--env", "prod",
            "--templates", str(SNAPSHOTS / "prod"), "--scenario", "growing", "--charts", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    out = result.stdout
    assert "The bill, scenario growing" in out and "month 1" in out and "month 12" in out
    for line in ("delivery", "storage", "processing", "moderation", "API runtime", "identity", "network",
                 "idle", "logs and monitoring"):  # fmt: skip
        assert f"│ {line} " in out, line
    for title in ("flat-rate plans", "The levers in the stacks", "Idle: the environment",
                  "Per million uploaded images", "The API runtime", "break-even, Lambda vs"):  # fmt: skip
        assert title in out, title
    assert "Spot" not in out  # prod runs no Spot mix, so none is drawn or tabled
    assert max(len(line) for line in out.splitlines()) <= 100
    assert (tmp_path / "cost-prod-growing-bill.png").read_bytes()[:8] == PNG
    assert (tmp_path / "cost-prod-growing.png").read_bytes()[:8] == PNG


def test_staging_shows_its_spot_mix_and_the_default_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["--env", "staging", "--templates", str(SNAPSHOTS / "staging"), "--charts", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "scenario launch" in out and "Spot mix" in out
    assert not (REPO / "docs" / "cost-staging-bill.png").exists()  # docs/ only when asked


def test_an_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--env", "dev", "--templates", str(SNAPSHOTS / "dev"), "--scenario", "viral"])
    assert "unknown scenario 'viral'" in capsys.readouterr().err
