"""Cold start of the built Lambda packages, as Lambda runs them: what each function's init costs.

The packages are the stacks' own assets built for x86_64 (the architecture this machine runs; boto3 is
added, as the real runtime provides it), run by the function's Python version (``-I -S``: nothing on
``sys.path`` but the standard library, the package and the layer), each in a new interpreter:

- bare:   ``import boto3`` + one S3 client (the floor any of our functions pays);
- bare + FastAPI: the same, then ``import fastapi, mangum`` (the floor of any FastAPI app on Lambda);
- api:    ``import upload_api.lambda_handler`` (the FastAPI app built, behind Mangum), then its first
          request: a signed-in ``POST /v1/uploads`` as an API Gateway v2 event (the token checked), with
          no items, so it ends in 422 before any call to AWS;
- worker: ``import resize_worker.handler`` and its worker built (clients made), then a batch holding
          S3's test event (parsed; nothing to fetch);
- "source only": the same package without its bytecode (``-B`` and an empty ``pycache_prefix``), which is
          what Lambda did on every cold start before the assets shipped ``__pycache__`` (its code
          directories are read-only, so nothing compiled there is ever kept).

Each round runs every probe in a shuffled order; a cell is the median of the rounds. Ratios are against
``bare`` in the same run. SnapStart is not measurable here (it restores a snapshot in AWS).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from local_runner.issuer import LocalIssuer
from local_runner.lambda_like import build_api_asset, build_lambda_assets
from photo_contract.runtime import LAMBDA_MEMORY_VARIABLE, ApiEnvironment, WorkerEnvironment
from photo_pipeline_cdk.assets.bundling import find_python
from photo_pipeline_cdk.config import environment_config

PROBE = """
import json, sys, time
start = time.perf_counter()
sys.path += {paths!r}
{setup}
ready = time.perf_counter()
{first}
done = time.perf_counter()
print(json.dumps([ready - start, done - ready]))
"""

BARE = ("import boto3\nboto3.client('s3', region_name='eu-west-1')", "pass")
# The framework's own floor: what any FastAPI app on Lambda pays before its first line of code.
FRAMEWORK = ("import boto3\nboto3.client('s3', region_name='eu-west-1')\nimport fastapi, mangum", "pass")
# The first request is a signed-in one, so it pays what every real first request does (the token's RS256
# check with cryptography), but fails validation (no items: 422) before anything would reach AWS.
API = (
    "from upload_api.lambda_handler import handler\nimport os",
    "reply = handler({'version': '2.0', 'routeKey': '$default', 'rawPath': '/v1/uploads', "
    "'rawQueryString': '', 'headers': {'authorization': 'Bearer ' + os.environ['BENCH_TOKEN'], "
    "'content-type': 'application/json'}, 'body': '{\"items\": []}', "
    "'requestContext': {'http': {'method': 'POST', 'path': '/v1/uploads', 'sourceIp': '1.2.3.4', "
    "'protocol': 'HTTP/1.1', 'userAgent': 'bench'}, 'requestId': 'r', 'stage': '$default', "
    "'accountId': '1', 'apiId': 'a', 'domainName': 'd', 'domainPrefix': 'd', 'time': 't', 'timeEpoch': 0}, "
    "'isBase64Encoded': False}, type('C', (), {'get_remaining_time_in_millis': lambda self: 30000})())\n"
    "assert reply['statusCode'] == 422, reply",
)
WORKER = (
    "from resize_worker.handler import _default_worker\nworker = _default_worker()",
    # An S3 test event (what S3 sends when a notification is set up): parsed, nothing to fetch.
    "worker.handle_batch({'Records': [{'messageId': 'm', 'receiptHandle': 'r', 'eventSource': 'aws:sqs', "
    "'eventSourceARN': 'arn:aws:sqs:eu-west-1:1:q', 'awsRegion': 'eu-west-1', 'attributes': {}, "
    "'messageAttributes': {}, 'md5OfBody': '', 'body': json.dumps({'Service': 'Amazon S3', "
    "'Event': 's3:TestEvent', 'Bucket': 'uploads'})}]})",
)


def environment() -> dict[str, str]:
    issuer = LocalIssuer()
    api = ApiEnvironment(
        uploads_bucket="uploads",
        media_bucket="media",
        registry_table="images",
        event_bus_name="bus",
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        jwks_json=issuer.jwks_json,
        region="eu-west-1",
    ).to_env()
    worker = WorkerEnvironment(media_bucket="media", registry_table="images", event_bus_name="bus").to_env()
    return {
        **os.environ,
        "BENCH_TOKEN": issuer.token("cold-start"),
        **api,
        **worker,
        LAMBDA_MEMORY_VARIABLE: "1024",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


@dataclasses.dataclass(frozen=True)
class Probe:
    code: tuple[str, str]
    paths: tuple[Path, ...]  # the package, then the layer (as /var/task, /opt/python)
    source_only: bool = False


def run(python: Path, probe: Probe, env: dict[str, str], empty_cache: Path) -> tuple[float, float]:
    script = PROBE.format(setup=probe.code[0], first=probe.code[1], paths=[str(p) for p in probe.paths])
    no_bytecode = ["-B", "-X", f"pycache_prefix={empty_cache}"] if probe.source_only else []
    out = subprocess.run(
        [str(python), "-I", "-S", *no_bytecode, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    init, first = json.loads(out.stdout.strip().splitlines()[-1])
    return float(init), float(first)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    config = environment_config("dev")
    python = find_python(config.resize.python_version)
    if python is None:
        print(f"python{config.resize.python_version} is not installed (pyenv install it)", file=sys.stderr)
        return 2
    api_package = build_api_asset(config)
    layer, worker_package = build_lambda_assets(config)
    probes = {
        "bare": Probe(BARE, (api_package,)),
        "bare + FastAPI": Probe(FRAMEWORK, (api_package,)),
        "api": Probe(API, (api_package,)),
        "api, source only": Probe(API, (api_package,), source_only=True),
        "worker": Probe(WORKER, (worker_package, layer)),
        "worker, source only": Probe(WORKER, (worker_package, layer), source_only=True),
    }
    env = environment()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in probes}
    with tempfile.TemporaryDirectory() as empty_cache:
        for _ in range(args.rounds):
            order = list(probes)
            random.shuffle(order)
            for name in order:
                times[name].append(run(python, probes[name], env, Path(empty_cache)))
    bare = statistics.median(i + f for i, f in times["bare"])
    print(
        f"cold start of the built x86_64 packages on {python.name}, medians of {args.rounds} shuffled rounds"
    )
    print(f"{'function':20} {'init ms':>8} {'first ms':>9} {'total ms':>9} {'× bare':>7}")
    for name in probes:
        init = statistics.median(i for i, _ in times[name])
        first = statistics.median(f for _, f in times[name])
        total = statistics.median(i + f for i, f in times[name])
        print(f"{name:20} {init * 1000:8.0f} {first * 1000:9.1f} {total * 1000:9.0f} {total / bare:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
