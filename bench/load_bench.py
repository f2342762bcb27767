"""Load on loopback, bounded (a fixed time per cell, then it stops): the API on both runtimes and an
end-to-end burst through the whole local pipeline.

1. The Fargate path: the container's app under uvicorn (``--workers 1`` and ``2``, and ``2`` with
   TCP_NODELAY restored: see ``nodelay.py``), N concurrent
   clients, each looping ``POST /v1/uploads`` (20 items) then ``GET /v1/batches/{id}``; requests/s and
   p50/p99 per route. The backing services are the emulator (moto over HTTP), so its speed is in every
   figure: these are relative numbers, for choosing a worker count, not AWS latencies.
2. The Lambda path: the same requests through the Lambda handler (Mangum) in-process, one at a time:
   per-invocation latency.
3. A burst: ``--burst`` uploads (generated photos, posts of 20, five clients at once) through the local pipeline
   with its parallel worker: images per second, upload->done p50/p99, and proof that nothing was lost
   (every accepted upload ready or rejected, none pending, the DLQ empty).
   With ``--faults RATE`` a share of the worker's and housekeeping's S3, DynamoDB and EventBridge
   requests fail (``local_runner.faults``) and one worker process is killed mid-batch; then the DLQ is
   redriven once, and the run reports ready/rejected/pending/dead-lettered before and after, and
   whether every image's event is on the bus.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from local_runner.demo import run_client
from local_runner.emulator import REGION, LocalAws, local_session
from local_runner.inputs import camera_jpeg
from local_runner.issuer import LocalIssuer
from local_runner.pipeline import local_pipeline
from photo_contract.runtime import ApiEnvironment
from photo_pipeline_cdk.config import environment_config

BENCH = Path(__file__).resolve().parent
ITEMS = [{"content_type": "image/jpeg", "size_bytes": 2_000_000, "filename": f"p{i}.jpg"} for i in range(20)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def api_environment(aws: LocalAws, issuer: LocalIssuer) -> dict[str, str]:
    resources = aws.resources
    assert resources is not None
    env = ApiEnvironment(
        uploads_bucket=resources.uploads_bucket,
        media_bucket=resources.media_bucket,
        registry_table=resources.registry_table,
        event_bus_name=resources.event_bus_name,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        jwks_json=issuer.jwks_json,
        region=REGION,
        endpoint_url=resources.endpoint,
        quota_table=resources.quota_table,
        forms_per_minute=1_000_000,  # the load is the point here, not the per-owner cap
    ).to_env()
    session = local_session()
    credentials = session.get_credentials()
    assert credentials is not None
    return {
        **os.environ,
        **env,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_DEFAULT_REGION": REGION,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def uvicorn_server(env: dict[str, str], workers: int, *, nodelay: bool = False) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "upload_api.server:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    if nodelay:  # the same server, with uvicorn's own protocol class told to set TCP_NODELAY
        command = [
            sys.executable, "-c",
            "import uvicorn, nodelay; uvicorn.run('upload_api.server:app_from_env', factory=True, "
            f"host='127.0.0.1', port={port}, workers={workers}, log_level='warning', "
            "http=nodelay.NoDelayH11Protocol)",
        ]  # fmt: skip
        env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def drive(url: str, tokens: list[str], seconds: float, scenario: str) -> dict[str, list[float]]:
    """Each client loops its scenario until the time is up: ``healthz`` (the framework's floor),
    ``unauthorized`` (a POST without a token: what a rejected request costs), ``upload`` (POST 20
    items, then read the batch: DynamoDB, i.e. the emulator, in the loop)."""
    latencies: dict[str, list[float]] = {}
    errors = 0
    deadline = time.monotonic() + seconds

    def timed(route: str, started: float) -> None:
        latencies.setdefault(route, []).append(time.perf_counter() - started)

    async def client(token: str) -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"} if scenario == "upload" else {}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                if scenario == "healthz":
                    reply = await http.get("/healthz")
                    timed("GET /healthz", start)
                    errors += reply.status_code != 200
                elif scenario == "unauthorized":
                    reply = await http.post("/v1/uploads", json={"items": ITEMS})
                    timed("POST /v1/uploads, no token (401)", start)
                    errors += reply.status_code != 401
                else:
                    reply = await http.post("/v1/uploads", json={"items": ITEMS})
                    timed("POST /v1/uploads (20 items)", start)
                    if reply.status_code not in (200, 201):
                        errors += 1
                        continue
                    start = time.perf_counter()
                    status = await http.get(f"/v1/batches/{reply.json()['batch_id']}")
                    timed("GET /v1/batches/{id}", start)
                    errors += status.status_code != 200

    await asyncio.gather(*(client(t) for t in tokens))
    latencies["errors"] = [float(errors)]
    return latencies


def api_load(seconds: float) -> list[dict[str, Any]]:
    config = environment_config("dev")
    issuer = LocalIssuer()
    aws = LocalAws(config)
    aws.start()
    rows = []
    try:
        env = api_environment(aws, issuer)
        for workers, nodelay in ((1, False), (2, False), (2, True)):
            runtime = f"uvicorn, {workers} worker{'s' if workers > 1 else ''}" + (
                ", TCP_NODELAY" if nodelay else ""
            )
            with uvicorn_server(env, workers, nodelay=nodelay) as url:
                for scenario in ("healthz", "unauthorized", "upload"):
                    for clients in (4, 8):
                        tokens = [issuer.token(f"load-{workers}-{clients}-{i}") for i in range(clients)]
                        result = asyncio.run(drive(url, tokens, seconds, scenario))
                        errors = int(result.pop("errors")[0])
                        for route, values in result.items():
                            rows.append(
                                {
                                    "runtime": runtime,
                                    "clients": clients,
                                    "route": route,
                                    "requests_per_second": round(len(values) / seconds, 1),
                                    "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                                    "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                                    "errors": errors,
                                }
                            )
                            print(json.dumps(rows[-1]), flush=True)
    finally:
        aws.stop()
    return rows


def lambda_latency(
    env: dict[str, str], issuer: LocalIssuer, *, seconds: float, count: int = 100
) -> list[dict[str, Any]]:
    """The Lambda path in-process: Mangum over the same app, one invocation at a time, ``count`` of them
    or as many as fit in ``seconds``."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from mangum import Mangum
        from upload_api.settings import ApiSettings
        from upload_api.wiring import build_app

        handler = Mangum(build_app(ApiSettings.from_env(os.environ)), lifespan="off")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    token = issuer.token("lambda-load")
    body = json.dumps({"items": ITEMS})
    times = []
    errors = 0
    deadline = time.monotonic() + seconds
    while len(times) < count and time.monotonic() < deadline:
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": "/v1/uploads", "rawQueryString": "",
            "headers": {"authorization": f"Bearer {token}", "content-type": "application/json",
                        "content-length": str(len(body))},
            "requestContext": {"http": {"method": "POST", "path": "/v1/uploads", "sourceIp": "127.0.0.1",
                                        "protocol": "HTTP/1.1", "userAgent": "load"},
                               "requestId": "r", "stage": "$default", "accountId": "1", "apiId": "a",
                               "domainName": "d", "domainPrefix": "d", "time": "t", "timeEpoch": 0},
            "body": body, "isBase64Encoded": False,
        }  # fmt: skip
        start = time.perf_counter()
        response = handler(event, None)  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
        errors += response["statusCode"] not in (200, 201)
    row = {
        "runtime": "Lambda handler (Mangum), in-process",
        "clients": 1,
        "route": "POST /v1/uploads",
        "requests_per_second": round(len(times) / sum(times), 1),
        "p50_ms": round(percentile(times, 0.5) * 1000, 1),
        "p99_ms": round(percentile(times, 0.99) * 1000, 1),
        "errors": errors,
    }
    print(json.dumps(row), flush=True)
    return [row]


def lambda_only(seconds: float) -> None:
    """On an emulator of its own: the API cells leave thousands of items behind, which slow moto down."""
    aws = LocalAws(environment_config("dev"))
    aws.start()
    try:
        issuer = LocalIssuer()
        lambda_latency(api_environment(aws, issuer), issuer, seconds=seconds)
    finally:
        aws.stop()


def burst(count: int, *, fault_rate: float = 0.0, two_step: bool = True) -> dict[str, Any]:
    """``count`` uploads in posts of 20, all posts at once, through the local pipeline; ``two_step``
    False: one step makes every encoding (the alternates step off)."""
    dev = environment_config("dev")
    config = dev if two_step else replace(dev, resize=replace(dev.resize, alternates=None))
    encodings = sum(len(spec.encodings) for spec in config.resize.variants)
    photos = [camera_jpeg(f"burst-{i}.jpg", (1600, 1200), hue=(i * 37) % 360) for i in range(count)]
    posts = [photos[i : i + 20] for i in range(0, count, 20)]
    # With faults a message is retried (and, after five receives, dead-lettered) sooner than with the
    # 30 s of a fault-free run; longer than any local batch still.
    visibility = 15 if fault_rate else 30
    with local_pipeline(config, fault_rate=fault_rate, visibility_timeout_seconds=visibility) as pipeline:
        killed: list[int] = []
        if fault_rate and pipeline.pool is not None:
            workers = pipeline.pool
            threading.Timer(5.0, lambda: killed.append(workers.kill_one())).start()
        start = time.perf_counter()
        from concurrent.futures import ThreadPoolExecutor

        # Five clients at a time (a post each): more made the emulator miss the API's 3 s DynamoDB
        # timeout, and the API answered 503 dependency_unavailable, as it should.
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = [
                r
                # One owner per post: one owner's forms-per-minute cap would (rightly) refuse 500 forms.
                for post in pool.map(
                    lambda n: run_client(
                        pipeline,
                        posts[n],
                        timeout_seconds=600,
                        poll_seconds=1.0,
                        owner=f"burst-{n}",
                    ),
                    range(len(posts)),
                )
                for r in post
            ]
        # The clients went on as soon as their post was ready; every format is followed in the registry.
        all_formats_at = _all_formats(pipeline, results, _owners(results, posts), encodings)
        wall = time.perf_counter() - start
        before = _statuses(pipeline, [r.image_id for r in results], owners=_owners(results, posts))
        dead = _dead_letters(pipeline)
        after = before
        if dead:  # once the cause is gone (here: the faults stop), make redrive moves them back
            _redrive(pipeline)
            after = _settle(pipeline, [r.image_id for r in results], _owners(results, posts))
        announced = {
            e["detail"]["image_id"] for e in pipeline.events_seen() if e["detail-type"] != "Image Deleted"
        }
        unsent = sum(r.event_pending for r in after.values())
        dead_after = _dead_letters(pipeline) + _dead_letters(pipeline, alternates=True)
        lacking = sum(
            r is not None and r.status.value == "ready" and len(r.variants) < encodings
            for r in after.values()
        )
    seconds = [r.seconds for r in results if r.status != "pending"]
    every = [all_formats_at[r.image_id] - r.uploaded_at for r in results if r.image_id in all_formats_at]
    last_ready = max((r.finished_at for r in results if r.status == "ready"), default=start) - start
    last_all = max(all_formats_at.values(), default=start) - start
    outcome = {
        "steps": 2 if two_step else 1,
        "uploads": count,
        "fault_rate": fault_rate,
        "worker_processes_killed": len(killed),
        "worker_pool_restarts": pipeline.pool.restarts if pipeline.pool else 0,
        "ready": sum(r.status.value == "ready" for r in before.values()),
        "rejected": sum(r.status.value == "rejected" for r in before.values()),
        "pending": sum(r.status.value == "pending" for r in before.values()),
        "dead_letters": dead,
        "after_one_redrive": {
            "ready": sum(r.status.value == "ready" for r in after.values()),
            "rejected": sum(r.status.value == "rejected" for r in after.values()),
            "pending": sum(r.status.value == "pending" for r in after.values()),
            "dead_letters": dead_after,
            "events_missing": sum(i not in announced for i in after),
            "outbox_flagged": unsent,
            "lacking_formats": lacking,
        },
        "wall_s": round(wall, 1),
        "images_per_second": round(count / wall, 1),
        "ready_per_second": round(count / last_ready, 1) if last_ready > 0 else None,
        "all_formats_per_second": round(count / last_all, 1) if last_all > 0 else None,
        "upload_to_done_p50_s": round(percentile(seconds, 0.5), 2),
        "upload_to_done_p99_s": round(percentile(seconds, 0.99), 2),
        "upload_to_all_formats_p50_s": round(percentile(every, 0.5), 2) if every else None,
        "worker_processes": pipeline.worker.concurrency,
    }
    print(json.dumps(outcome), flush=True)
    return outcome


def _all_formats(
    pipeline: Any, results: list[Any], owners: dict[str, str], encodings: int, seconds: float = 900
) -> dict[str, float]:
    """When each ready image first listed every format (perf_counter, polled from the registry)."""
    # Complete when the client saw it ready (one step): then, not when the polling below started.
    done = {r.image_id: r.finished_at for r in results if len(r.body.get("variants", [])) >= encodings}
    waiting = [r.image_id for r in results if r.status == "ready" and r.image_id not in done]
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        statuses = _statuses(pipeline, waiting, owners=owners)
        now = time.perf_counter()
        for image_id, record in statuses.items():
            if record is not None and len(record.variants) >= encodings:
                done[image_id] = now
        waiting = [i for i in waiting if i not in done]
        time.sleep(0.5)
    return done


def _owners(results: list[Any], posts: list[list[Any]]) -> dict[str, str]:
    """Each image's owner: one owner per post (burst-<n>), posts in order."""
    owners: dict[str, str] = {}
    index = 0
    for n, post in enumerate(posts):
        for _ in post:
            owners[results[index].image_id] = f"burst-{n}"
            index += 1
    return owners


def _statuses(pipeline: Any, image_ids: list[str], *, owners: dict[str, str]) -> dict[str, Any]:
    from photo_contract.registry import Registry

    registry = Registry(pipeline.aws.client("dynamodb"), pipeline.resources.registry_table)
    return {i: registry.get(owners[i], i) for i in image_ids}


def _dead_letters(pipeline: Any, *, alternates: bool = False) -> int:
    resources = pipeline.resources
    attributes = pipeline.aws.client("sqs").get_queue_attributes(
        QueueUrl=resources.alternates_dead_letter_queue_url
        if alternates
        else resources.dead_letter_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _redrive(pipeline: Any) -> None:
    """What SQS's message move task does (make redrive starts one): every dead letter back to the queue."""
    sqs = pipeline.aws.client("sqs")
    while messages := sqs.receive_message(
        QueueUrl=pipeline.resources.dead_letter_queue_url, MaxNumberOfMessages=10
    ).get("Messages", []):
        for message in messages:
            sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody=message["Body"])
            sqs.delete_message(
                QueueUrl=pipeline.resources.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )


def _settle(
    pipeline: Any, image_ids: list[str], owners: dict[str, str], seconds: float = 300
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        statuses = _statuses(pipeline, image_ids, owners=owners)
        if all(r.status.value != "pending" for r in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per API cell")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--only", choices=("api", "lambda", "burst"), help="run one part")
    parser.add_argument("--faults", type=float, default=0.0, help="the burst's fault rate (0..1)")
    parser.add_argument(
        "--steps",
        choices=("2", "1", "both"),
        default="both",
        help="the burst with the alternates as a second step, in one step, or both side by side",
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; API cells {args.seconds:g} s each; burst of {args.burst}")
    if args.only in (None, "api"):
        api_load(args.seconds)
    if args.only in (None, "lambda"):
        lambda_only(args.seconds * 4)
    if args.only in ("api", "lambda"):
        return 0
    steps = {"2": [True], "1": [False], "both": [True, False]}[args.steps]
    random.shuffle(steps)  # side by side, in a random order (the machine is shared)
    outcomes = [burst(args.burst, fault_rate=args.faults, two_step=two) for two in steps]
    lost = 0
    for outcome in sorted(outcomes, key=lambda o: -o["steps"]):
        final = outcome["after_one_redrive"]
        lost += sum(
            final[k]
            for k in ("pending", "dead_letters", "events_missing", "outbox_flagged", "lacking_formats")
        )
        print(
            f"{outcome['steps']} step{'s' if outcome['steps'] > 1 else ''}: {outcome['ready_per_second']} ready/s, "
            f"{outcome['all_formats_per_second']} all-formats/s, upload→ready p50 {outcome['upload_to_done_p50_s']} s, "
            f"upload→all p50 {outcome['upload_to_all_formats_p50_s']} s"
        )
    print("nothing lost" if lost == 0 else f"LOST: {lost}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
