"""The curl session of docs/local.md, run as written against a running `make serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, code_block

pytestmark = pytest.mark.slow  # the servers in a subprocess, a whole post

DOC = REPO / "docs" / "local.md"


def session_block() -> str:
    return code_block(DOC, "## A curl session against `make serve`", "bash")


def test_the_docs_curl_session_posts_lists_and_deletes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = subprocess.Popen(
        [sys.executable, "-m", "local_runner.serve", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert serve.stdout is not None
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops everything" not in serve.stdout.readline():
            assert time.monotonic() < deadline and serve.poll() is None, "make serve did not start"
        session = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", session_block()],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        serve.communicate(timeout=60)
    assert session.returncode == 0, session.stdout + session.stderr
    lines = session.stdout.strip().splitlines()
    assert lines[-2:] == ["DELETE 204", "GET after delete 404"], session.stdout
    assert lines[-4].startswith("ready ['w1080'"), session.stdout
