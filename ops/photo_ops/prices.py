"""The list prices the cost model reads (``prices.toml``): each with its source and the month it was
last checked against it. The model asks for every figure through :class:`Prices`, which remembers what
it was asked, so a test can find a key nothing uses; :func:`stale_keys` finds the ones past their age."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices.toml")


@dataclass(frozen=True)
class Prices:
    data: Mapping[str, Mapping[str, Any]]
    used: set[tuple[str, str]] = field(default_factory=set, compare=False, repr=False)

    def __call__(self, section: str, key: str) -> float:
        return float(self._value(section, key))

    def text(self, section: str, key: str) -> str:
        return str(self._value(section, key))

    def _value(self, section: str, key: str) -> Any:
        self.used.add((section, key))
        entry = self.data[section][key]
        if isinstance(entry, Mapping):  # the file's form: {usd | value, source, as_of}
            return entry["usd"] if "usd" in entry else entry["value"]
        return entry  # a bare number (a test's round prices)

    @property
    def hours(self) -> float:
        return float(self.data["meta"]["hours_per_month"])

    @property
    def region(self) -> str:
        return str(self.data["meta"].get("region", "?"))

    @property
    def as_of(self) -> str:
        """The oldest check of any price: what a figure made from all of them is as good as."""
        dates = [e["as_of"] for _, _, e in entries(self)]
        return min(dates) if dates else "?"


def load_prices(path: Path = PRICES) -> Prices:
    return Prices(tomllib.loads(path.read_text()))


def entries(prices: Prices) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Every (section, key, entry) of the file, meta aside."""
    return [
        (section, key, entry)
        for section, table in prices.data.items()
        if section != "meta"
        for key, entry in table.items()
        if isinstance(entry, Mapping)
    ]


def unused_keys(prices: Prices) -> list[str]:
    """Keys the model has not asked for since ``prices`` was loaded."""
    return sorted(f"{s}.{k}" for s, k, _ in entries(prices) if (s, k) not in prices.used)


def stale_keys(prices: Prices, today: date) -> list[str]:
    """Keys whose ``as_of`` month is more than ``meta.max_age_months`` before ``today``'s."""
    limit = int(prices.data["meta"]["max_age_months"])
    stale = []
    for section, key, entry in entries(prices):
        year, month = (int(part) for part in str(entry["as_of"]).split("-"))
        if (today.year - year) * 12 + today.month - month > limit:
            stale.append(f"{section}.{key} (as of {entry['as_of']})")
    return stale


def unsourced_keys(prices: Prices) -> list[str]:
    return sorted(f"{s}.{k}" for s, k, e in entries(prices) if not e.get("source") or not e.get("as_of"))
