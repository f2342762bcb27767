"""`make help` (and `make` alone) lists every target of the Makefile with one line each."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO


def test_every_target_has_a_line_in_make_help() -> None:
    makefile = (REPO / "Makefile").read_text()
    (phony,) = re.findall(r"^\.PHONY: (.*)$", makefile, re.M)
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    listed = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert set(listed) == set(phony.split())
    assert all(len(line.split(None, 2)) == 3 for line in listed.values())  # a description for each
    default = subprocess.run(
        ["make", "--no-print-directory"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert default.stdout == result.stdout
