from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
EVENTS = Path(__file__).parent / "events"
# What a plain clone lacks, said once: these tests need real photographs the repository does not carry.
CORPUS_MISSING = (
    f"needs the photo corpus at {CORPUS}: 38 real photographs and image files (camera JPEGs of 10-22 MP, "
    "the eight EXIF orientations, WebP, HEIC, PNG, CMYK, animated GIF; origins and licences in its "
    "SOURCES.md), kept beside the project in the shared/ folder of its workspace, not in this repository. "
    "Check the project out next to shared/ to run them; everything else runs without it."
)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "camera").is_dir():
        pytest.skip(CORPUS_MISSING)
    return CORPUS


def code_block(doc: Path, after: str, language: str) -> str:
    """The first ``language`` block of ``doc`` after the text ``after``: what a test runs as written."""
    text = doc.read_text()
    match = re.search(rf"```{language}\n(.*?)```", text[text.index(after) :], re.S)
    assert match, f"{doc.name} lost its {language} block after {after!r}"
    return match.group(1)


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
