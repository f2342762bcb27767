"""The resize handler in worker processes, as Lambda runs concurrent invocations: each process builds
its own worker from the same environment the function would get (its own clients, nothing shared but
the emulator's endpoint), and each SQS batch runs in whichever process is free."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

_worker: Any = None  # one ResizeWorker (or AlternatesWorker) per process
RESIZE = "resize"
ALTERNATES = "alternates"  # the second step; its processes run at a lower priority (below)
# On a machine of a few cores the first step (a photo's JPEGs: what makes it ready) must not wait
# behind AVIF encoding, as in AWS where each step has its own function and concurrency.
ALTERNATES_NICENESS = 10


def _start(environment: dict[str, str], endpoint: str, fault_rate: float = 0.0, kind: str = RESIZE) -> None:
    global _worker
    # Ctrl-C reaches the whole process group; the parent shuts the pool down, so a worker ignores it
    # (otherwise each one prints a KeyboardInterrupt traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("resize").setLevel(logging.WARNING)
    logging.getLogger("alternates").setLevel(logging.WARNING)
    from resize_worker.alternates_handler import AlternatesWorker
    from resize_worker.handler import ResizeWorker, aws_services
    from resize_worker.settings import WorkerSettings

    from local_runner.emulator import ALTERNATES_PRINCIPAL, WORKER_PRINCIPAL, local_session
    from local_runner.faults import FaultInjector

    settings = WorkerSettings.from_env(environment)
    session = local_session(ALTERNATES_PRINCIPAL if kind == ALTERNATES else WORKER_PRINCIPAL)
    if fault_rate:
        FaultInjector(fault_rate).install(session)
    if kind == ALTERNATES:
        os.nice(ALTERNATES_NICENESS)
        services = aws_services(settings, session=session, endpoint_url=endpoint, first_step=False)
        _worker = AlternatesWorker(services=services, settings=settings)
    else:
        services = aws_services(settings, session=session, endpoint_url=endpoint)
        _worker = ResizeWorker(services=services, settings=settings)


def _handle(event: dict[str, Any]) -> dict[str, Any]:
    from resize_worker import alternates_handler, handler

    result: dict[str, Any] = _worker.handle_batch(event)
    # Lambda's decorator flushes the metrics after each invocation; here they would pile up until
    # Powertools prints them itself at 100 values (it does so even when metrics are disabled).
    handler.metrics.clear_metrics()
    alternates_handler.metrics.clear_metrics()
    return result


def _ready() -> int:
    return os.getpid()


class WorkerPool:
    """``handler(event)`` runs a batch in a free worker process and returns its response. Started with
    ``processes`` workers already importing (so the first upload does not wait for Pillow and boto3).
    A worker process that dies (``kill_one``, or a crash) fails the batches in flight, as a Lambda
    invocation killed mid-batch does (SQS delivers their messages again), and a new pool takes over.
    ``fault_rate``: the share of the workers' S3, DynamoDB and EventBridge requests that fail
    (``local_runner.faults``)."""

    def __init__(
        self,
        *,
        environment: dict[str, str],
        endpoint: str,
        processes: int,
        fault_rate: float = 0.0,
        kind: str = RESIZE,
    ) -> None:
        self._args = (environment, endpoint, fault_rate, kind)
        self.processes = processes
        self.restarts = 0
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._warming = [self._pool.submit(_ready) for _ in range(processes)]

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs the emulator's and the API's threads.
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=self._args,
        )

    def handler(self, event: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool
        try:
            return pool.submit(_handle, event).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:  # the first to notice replaces it
                    self._pool = self._new_pool()
                    self.restarts += 1
            raise

    def kill_one(self) -> int:
        """SIGKILL one worker process (as Lambda's runtime would be killed mid-batch); its pid."""
        processes = list(getattr(self._pool, "_processes", {}).values())
        if not processes:
            raise RuntimeError("no worker process to kill")
        processes[0].kill()
        return int(processes[0].pid)

    def wait_ready(self) -> set[int]:
        return {f.result() for f in self._warming}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
