"""Everything at once on loopback: the emulator, the API under uvicorn, the resize worker."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from photo_contract.moderation import ModerationPolicy
from photo_contract.runtime import LAMBDA_MEMORY_VARIABLE, MODERATOR_LOCAL, WorkerEnvironment
from photo_pipeline_cdk import binding
from photo_pipeline_cdk.binding import ApiResources, TokenIssuer
from photo_pipeline_cdk.config import EnvironmentConfig
from resize_worker.alternates_handler import AlternatesWorker
from resize_worker.handler import ResizeWorker, aws_services
from resize_worker.housekeeping_handler import HousekeepingWorker, housekeeping_services
from resize_worker.settings import WorkerSettings
from upload_api.settings import ApiSettings
from upload_api.wiring import build_app

from local_runner.cdn import CDN_PATH, add_local_cdn
from local_runner.emulator import (
    ALTERNATES_PRINCIPAL,
    API_PRINCIPAL,
    HOUSEKEEPING_PRINCIPAL,
    REGION,
    WORKER_PRINCIPAL,
    LocalAws,
    LocalResources,
    local_client,
    local_session,
)
from local_runner.faults import FaultInjector
from local_runner.issuer import LocalIssuer
from local_runner.page import add_upload_page
from local_runner.worker import Handler, QueueWorker
from local_runner.worker_pool import ALTERNATES, WorkerPool

DEMO_USER = "demo-user"


@dataclass
class LocalPipeline:
    aws: LocalAws
    resources: LocalResources
    api_url: str
    issuer: LocalIssuer
    worker: QueueWorker
    api_settings: ApiSettings  # what the API runs with (a second runtime can be built from it)
    housekeeping: QueueWorker  # the housekeeping function on its queue
    pool: WorkerPool | None = None  # the worker processes, when the handler runs in several
    alternates: QueueWorker | None = None  # the second step on its queue (None: one step)

    def token(self, subject: str = DEMO_USER, *, groups: tuple[str, ...] = ()) -> str:
        claims: dict[str, Any] = {"cognito:groups": list(groups)} if groups else {}
        return self.issuer.token(subject, ttl_seconds=12 * 3600, **claims)

    def events_seen(self, *, expected: int = 0, timeout_seconds: float = 5.0) -> list[dict[str, Any]]:
        """Every event the bus delivered so far to the local subscriber's queue (waits for ``expected``)."""
        sqs = self.aws.client("sqs")
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_seconds
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.resources.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.resources.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            if not messages and (len(seen) >= expected or time.monotonic() > deadline):
                return seen
            if not messages:
                time.sleep(0.1)


@contextmanager
def local_pipeline(
    config: EnvironmentConfig,
    *,
    api_port: int = 0,
    upload_page: bool = False,
    handler_factory: Callable[[LocalResources], Handler] | None = None,
    visibility_timeout_seconds: int = 30,
    request_log: Path | None = None,
    worker_processes: int | None = None,
    fault_rate: float = 0.0,
    moderation: ModerationPolicy | None = None,
) -> Iterator[LocalPipeline]:
    """``handler_factory`` replaces the in-process resize handler (the --lambda-like subprocess runner);
    the emulator's request log goes to ``request_log`` (or nowhere). The resize handler runs in
    ``worker_processes`` processes (default: the function's reserved concurrency, capped by the cores,
    as Lambda would run that many invocations at once); 1 runs it in this process. ``fault_rate``
    fails that share of the worker's and the housekeeping function's S3, DynamoDB and EventBridge
    requests (``local_runner.faults``; the API's are left alone). ``moderation`` replaces the config's
    rules; either way the local moderator stands in for Rekognition (``resize_worker.moderation``)."""
    port = _check_port(api_port) if api_port else _free_port()
    api_url = f"http://127.0.0.1:{port}"
    aws = LocalAws(config, visibility_timeout_seconds=visibility_timeout_seconds, request_log=request_log)
    resources = aws.start(extra_cors_origins=(api_url,))
    issuer = LocalIssuer()
    server: uvicorn.Server | None = None
    worker: QueueWorker | None = None
    housekeeping: QueueWorker | None = None
    pool: WorkerPool | None = None
    alternates: QueueWorker | None = None
    alternates_pool: WorkerPool | None = None
    processes = worker_processes or min(config.resize.reserved_concurrency, os.cpu_count() or 1)
    try:
        # The same contract the stacks write, read by the same readers the deployed functions use.
        api_env = binding.api_environment(
            config,
            ApiResources(
                uploads_bucket=resources.uploads_bucket,
                media_bucket=resources.media_bucket,
                registry_table=resources.registry_table,
                event_bus_name=resources.event_bus_name,
                quota_table=resources.quota_table,
                # The CDN's place: the same URL-building code, with the local stand-in as the base.
                public_media_base_url=f"{api_url}{CDN_PATH.rstrip('/')}",
                cdn_distribution_id=resources.distribution_id,
                housekeeping_queue_url=resources.housekeeping_queue_url,
            ),
            TokenIssuer(issuer=issuer.issuer, audience=issuer.audience, jwks_json=issuer.jwks_json),
            region=REGION,
            endpoint_url=resources.endpoint,
        )
        api_settings = ApiSettings.from_contract(api_env)
        app = build_app(api_settings, session=local_session(API_PRINCIPAL))
        add_local_cdn(
            app,
            s3=aws.client("s3"),
            bucket=resources.media_bucket,
            cloudfront=aws.client("cloudfront"),
            distribution_id=resources.distribution_id,
        )
        if upload_page:
            add_upload_page(app, issuer.token(DEMO_USER, ttl_seconds=12 * 3600))
        server = _start_api(app, port)
        # Lambda sets the memory variable itself; locally the config's value stands in.
        told = worker_environment(config, resources)
        told = dataclasses.replace(told, moderation=moderation or told.moderation, moderator=MODERATOR_LOCAL)
        environment = {
            **told.to_env(),
            LAMBDA_MEMORY_VARIABLE: str(config.resize.memory_mib),
        }
        handler, pool = _resize_step(resources, environment, processes, fault_rate, handler_factory)
        worker = QueueWorker(
            sqs=local_client("sqs", resources.endpoint, WORKER_PRINCIPAL),
            queue_url=resources.queue_url,
            queue_arn=resources.queue_arn,
            handler=handler,
            batch_size=config.resize.batch_size,
            concurrency=processes if handler_factory is None else 1,
        )
        if pool is not None:
            pool.wait_ready()  # the processes have imported Pillow and boto3 before the first upload
        worker.start()
        housekeeping = QueueWorker(
            sqs=local_client("sqs", resources.endpoint, HOUSEKEEPING_PRINCIPAL),
            queue_url=resources.housekeeping_queue_url,
            queue_arn=resources.housekeeping_queue_arn,
            handler=housekeeping_worker(resources, fault_rate=fault_rate).handle,
        )
        housekeeping.start()
        if config.resize.alternates is not None:
            alternates, alternates_pool = _alternates_step(
                config, resources, environment, processes, fault_rate
            )
            alternates.start()
        yield LocalPipeline(
            aws, resources, api_url, issuer, worker, api_settings, housekeeping, pool, alternates
        )
    finally:
        for poller in (worker, alternates, housekeeping):
            if poller is not None:
                poller.stop()
        for processes_of in (pool, alternates_pool):
            if processes_of is not None:
                processes_of.close()
        if server is not None:
            server.should_exit = True
            time.sleep(0.2)
        aws.stop()


def _resize_step(
    resources: LocalResources,
    environment: dict[str, str],
    processes: int,
    fault_rate: float,
    handler_factory: Callable[[LocalResources], Handler] | None,
) -> tuple[Handler, WorkerPool | None]:
    """The resize function's handler: the given factory's, in worker processes, or here."""
    if handler_factory is not None:
        return handler_factory(resources), None
    if processes > 1:
        pool = WorkerPool(
            environment=environment, endpoint=resources.endpoint, processes=processes, fault_rate=fault_rate
        )
        return pool.handler, pool
    settings = WorkerSettings.from_env(environment)
    session = local_session(WORKER_PRINCIPAL)
    if fault_rate:
        FaultInjector(fault_rate).install(session)
    services = aws_services(settings, session=session, endpoint_url=resources.endpoint)
    return _forgetting_metrics(ResizeWorker(services=services, settings=settings).handle_batch), None


def _alternates_step(
    config: EnvironmentConfig,
    resources: LocalResources,
    environment: dict[str, str],
    processes: int,
    fault_rate: float,
) -> tuple[QueueWorker, WorkerPool | None]:
    """The alternates function on its queue, as its principal: in processes of a lower priority when
    the first step runs in several (so JPEGs never wait behind AVIF on a few cores), else here."""
    assert config.resize.alternates is not None
    pool = None
    handler: Handler
    if processes > 1:
        pool = WorkerPool(
            environment=environment,
            endpoint=resources.endpoint,
            processes=processes,
            fault_rate=fault_rate,
            kind=ALTERNATES,
        )
        handler = pool.handler
    else:
        settings = WorkerSettings.from_env(environment)
        session = local_session(ALTERNATES_PRINCIPAL)
        if fault_rate:
            FaultInjector(fault_rate).install(session)
        services = aws_services(settings, session=session, endpoint_url=resources.endpoint, first_step=False)
        handler = _forgetting_metrics(AlternatesWorker(services=services, settings=settings).handle_batch)
    worker = QueueWorker(
        sqs=local_client("sqs", resources.endpoint, ALTERNATES_PRINCIPAL),
        queue_url=resources.alternates_queue_url,
        queue_arn=resources.alternates_queue_arn,
        handler=handler,
        batch_size=config.resize.alternates.batch_size,
        concurrency=processes,
    )
    if pool is not None:
        pool.wait_ready()
    return worker, pool


def _forgetting_metrics(handle: Handler) -> Handler:
    """Lambda's decorator flushes the worker's metrics after each invocation; locally they are dropped
    (Powertools would print them itself once 100 values piled up, disabled or not)."""
    from resize_worker import alternates_handler
    from resize_worker.handler import metrics

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        try:
            return handle(event)
        finally:
            metrics.clear_metrics()
            alternates_handler.metrics.clear_metrics()

    return handler


def worker_environment(config: EnvironmentConfig, resources: LocalResources) -> WorkerEnvironment:
    """What the resize stack tells the function (``binding.worker_environment``), with local names."""
    return binding.worker_environment(
        config,
        media_bucket=resources.media_bucket,
        registry_table=resources.registry_table,
        event_bus_name=resources.event_bus_name,
        housekeeping_queue_url=resources.housekeeping_queue_url,
        alternates_queue_url=resources.alternates_queue_url,
    )


def housekeeping_worker(resources: LocalResources, *, fault_rate: float = 0.0) -> HousekeepingWorker:
    """The housekeeping function's handler as the stacks configure it, on the emulator, as its principal."""
    env = binding.housekeeping_environment(
        uploads_bucket=resources.uploads_bucket,
        media_bucket=resources.media_bucket,
        registry_table=resources.registry_table,
        event_bus_name=resources.event_bus_name,
        queue_url=resources.housekeeping_queue_url,
        cdn_distribution_id=resources.distribution_id,
        endpoint_url=resources.endpoint,
    )
    session = local_session(HOUSEKEEPING_PRINCIPAL)
    if fault_rate:
        FaultInjector(fault_rate).install(session)
    return HousekeepingWorker(housekeeping_services(env, session=session))


def _start_api(app: Any, port: int) -> uvicorn.Server:
    # log_config=None: uvicorn's own dictConfig would close every logging handler of the process,
    # the emulator's request-log file included (it then silently dropped everything after startup).
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="api", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    return server


class PortInUseError(RuntimeError):
    pass


def _check_port(port: int) -> int:
    """Fail before anything starts, in one line, rather than after the emulator is up."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUseError(
                f"port {port} on 127.0.0.1 is in use: choose another (make serve PORT=8010)"
            ) from None
    return port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
