"""`make demo` and `make serve` as a user runs them: quiet, narrow, and working from a plain clone."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # whole demo runs in a subprocess


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{REPO / 'node_modules' / '.bin'}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_demo_without_the_corpus_makes_its_own_inputs_quietly(tmp_path: Path) -> None:
    result = _run(
        "local_runner.demo", "--corpus", str(tmp_path / "no-corpus"), "--out", str(tmp_path), timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "19 images made here" in out
    assert "19 ready (of 19 expected), 1 rejected (of 1 expected)" in out
    # The lifecycle an app sees: the post in one call, a delete, and the events the bus carried.
    assert re.search(r"GET /v1/batches/[0-9a-f]{32}: 20 images in one call \(19 ready, 1 rejected\)", out)
    assert re.search(r"DELETE /v1/images/[0-9a-f]{32}.*: 204, then GET: 404", out)
    assert (
        "events on the bus: 19 Image Alternates Added, 1 Image Deleted, 19 Image Ready, 1 Image Rejected"
        in out
    )
    assert "upload→ready: median" in out and "upload→all formats: median" in out
    # The emulator's per-request log went to its file, not to the user.
    assert "HTTP/1.1" not in out + result.stderr
    request_log = (tmp_path / "emulator.log").read_text()
    assert "HTTP/1.1" in request_log
    # Regression: the log once stopped after the layout requests (uvicorn closed its file handler);
    # the 20 presigned POSTs go to the uploads bucket after the API has started.
    assert len(re.findall(r"POST /photo-pipeline-dev-\d+-uploads HTTP/1.1", request_log)) >= 20
    assert max(len(line) for line in out.splitlines()) <= 100
    assert (tmp_path / "contact-sheet.png").stat().st_size > 10_000


def test_serve_on_a_busy_port_fails_at_once_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = _run("local_runner.serve", "--port", str(port), timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"make serve: port {port} on 127.0.0.1 is in use: choose another (make serve PORT=8010)"
    ]
    assert elapsed < 20  # no emulator or API was started first (imports alone take a few seconds)


def test_ctrl_c_on_serve_leaves_one_line(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole foreground process group (the worker processes and the emulator too):
    after it, `make serve` says one line and nothing else."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serve = subprocess.Popen(
        [sys.executable, "-m", "local_runner.serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert serve.stdout is not None
    before: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = serve.stdout.readline()
        before.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        serve.kill()
        raise AssertionError("".join(before))
    time.sleep(1.0)  # the worker processes are up
    os.killpg(serve.pid, signal.SIGINT)
    after, _ = serve.communicate(timeout=60)
    assert serve.returncode == 0
    assert after.strip().splitlines() == ["stopped."], after
