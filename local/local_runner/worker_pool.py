"""The resize handler in worker processes, as Lambda runs concurrent invocations: each process builds
its own worker from the same environment the function would get (its own clients, nothing shared but
the emulator's endpoint), and each SQS batch runs in whichever process is free."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_worker: Any = None  # one ResizeWorker per process


def _start(environment: dict[str, str], endpoint: str) -> None:
    global _worker
    # Ctrl-C reaches the whole process group; the parent shuts the pool down, so a worker ignores it
    # (otherwise each one prints a KeyboardInterrupt traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("resize").setLevel(logging.WARNING)
    from resize_worker.handler import ResizeWorker, aws_services
    from resize_worker.settings import WorkerSettings

    from local_runner.emulator import WORKER_PRINCIPAL, local_session

    settings = WorkerSettings.from_env(environment)
    _worker = ResizeWorker(
        services=aws_services(settings, session=local_session(WORKER_PRINCIPAL), endpoint_url=endpoint),
        settings=settings,
    )


def _handle(event: dict[str, Any]) -> dict[str, Any]:
    from resize_worker.handler import metrics

    result: dict[str, Any] = _worker.handle_batch(event)
    # Lambda's decorator flushes the metrics after each invocation; here they would pile up until
    # Powertools prints them itself at 100 values (it does so even when metrics are disabled).
    metrics.clear_metrics()
    return result


def _ready() -> int:
    return os.getpid()


class WorkerPool:
    """``handler(event)`` runs a batch in a free worker process and returns its response. Started with
    ``processes`` workers already importing (so the first upload does not wait for Pillow and boto3)."""

    def __init__(self, *, environment: dict[str, str], endpoint: str, processes: int) -> None:
        # spawn, not fork: the parent runs the emulator's and the API's threads.
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(environment, endpoint),
        )
        self.processes = processes
        self._warming = [self._pool.submit(_ready) for _ in range(processes)]

    def handler(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._pool.submit(_handle, event).result()

    def wait_ready(self) -> set[int]:
        return {f.result() for f in self._warming}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
