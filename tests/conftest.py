from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
EVENTS = Path(__file__).parent / "events"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "camera").is_dir():
        pytest.skip(f"photo corpus not found at {CORPUS} (clone photo-pipeline beside ../shared)")
    return CORPUS


def load_event(name: str) -> dict[str, Any]:
    """JSON events live once in tests/events and are loaded by name."""
    return json.loads((EVENTS / f"{name}.json").read_text())


class LambdaContext:
    """The parts of Lambda's context object the handlers read."""

    function_name = "api"
    aws_request_id = "request-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
