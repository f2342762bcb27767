"""Container entry point: the same app under uvicorn, shutting down gracefully on SIGTERM.

uvicorn stops accepting on SIGTERM, lets in-flight requests finish (at most ``GRACEFUL_SECONDS``,
well inside ECS's 30 s stop timeout), then exits 0.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn
from photo_contract.runtime import SERVER_KEEP_ALIVE_SECONDS, container_port

from upload_api.settings import ApiSettings
from upload_api.wiring import build_app

GRACEFUL_SECONDS = 20


def app_from_env() -> Any:
    """The app from the environment: also a factory for ``uvicorn --factory --workers N``."""
    return build_app(ApiSettings.from_env(os.environ))


def main() -> None:
    app = app_from_env()
    # uvicorn handles SIGTERM itself, then restores this handler and re-raises the signal once the
    # graceful shutdown is done: by then the work is finished, so the exit is a clean 0, not 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "0.0.0.0"),  # noqa: S104 - a container listens on its own interface
        port=container_port(os.environ),
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=True,
        forwarded_allow_ips="*",  # only the ALB can reach the task
        access_log=False,
        # Longer than the ALB's idle timeout, so the ALB, not the server, closes idle connections.
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
