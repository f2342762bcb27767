"""The prices file: every key sourced and dated, none older than the file allows, none unused by the
model (make cost over every environment and scenario asks for each one)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from photo_ops import report
from photo_ops.bill import load_scenarios
from photo_ops.prices import PRICES, Prices, load_prices, stale_keys, unsourced_keys, unused_keys

from tests.conftest import REPO

SNAPSHOTS = REPO / "tests" / "stacks" / "snapshots"


def _run_every_report(prices: Prices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "load_prices", lambda: prices)
    scenarios, _ = load_scenarios()
    for env in ("dev", "staging", "prod"):
        for name in scenarios:
            args = ["--env", env, "--templates", str(SNAPSHOTS / env), "--scenario", name]
            assert report.main([*args, "--charts", str(tmp_path)]) == 0


def test_every_price_names_its_source_and_when_it_was_checked() -> None:
    prices = load_prices()
    assert unsourced_keys(prices) == []
    assert prices.data["meta"]["region"] == "eu-west-1"


def test_no_price_is_older_than_six_months_today() -> None:
    """Fails by itself once the file ages: check the figures against their sources, then the dates."""
    assert stale_keys(load_prices(), date.today()) == []


def test_a_stale_date_is_found() -> None:
    data: dict[str, Any] = copy.deepcopy(dict(load_prices().data))
    data["lambda"]["per_million_requests"] = {**data["lambda"]["per_million_requests"], "as_of": "2026-05"}
    prices = Prices(data)
    assert stale_keys(prices, date(2026, 11, 30)) == []  # six months: still good
    assert stale_keys(prices, date(2026, 12, 1)) == ["lambda.per_million_requests (as of 2026-05)"]


def test_every_key_is_used_by_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = load_prices()
    _run_every_report(prices, tmp_path, monkeypatch)
    assert unused_keys(prices) == []


def test_an_unused_key_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PRICES.read_text() + '\n[extra]\nnothing = { usd = 1.0, source = "none", as_of = "2026-12" }\n'
    extra = tmp_path / "prices.toml"
    extra.write_text(text)
    prices = load_prices(extra)
    _run_every_report(prices, tmp_path, monkeypatch)
    assert unused_keys(prices) == ["extra.nothing"]
