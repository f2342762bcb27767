"""Cold start, in fresh processes: what a Lambda init costs for each function, next to bare boto3.

- bare:   ``import boto3`` + one S3 client (the floor any of our functions pays);
- api:    ``import upload_api.lambda_handler`` (the FastAPI app built, behind Mangum), then its first
          request (GET /healthz as an API Gateway v2 event, no network);
- worker: ``import resize_worker.handler`` and its worker built (clients made), then a batch holding
          S3's test event (parsed; nothing to fetch).

Each round runs the three in a shuffled order, each in a new interpreter (``python -c``, the same
environment variables the deployed functions get); a cell is the median of the rounds. Ratios are
against ``bare`` in the same run. SnapStart is not measurable here (it restores a snapshot in AWS).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys

from local_runner.issuer import LocalIssuer
from photo_contract.runtime import LAMBDA_MEMORY_VARIABLE, ApiEnvironment, WorkerEnvironment

PROBE = """
import json, time
start = time.perf_counter()
{setup}
ready = time.perf_counter()
{first}
done = time.perf_counter()
print(json.dumps([ready - start, done - ready]))
"""

BARE = ("import boto3\nboto3.client('s3', region_name='eu-west-1')", "pass")
API = (
    "from upload_api.lambda_handler import handler",
    "handler({'version': '2.0', 'routeKey': '$default', 'rawPath': '/healthz', 'rawQueryString': '', "
    "'headers': {}, 'requestContext': {'http': {'method': 'GET', 'path': '/healthz', 'sourceIp': '1.2.3.4', "
    "'protocol': 'HTTP/1.1', 'userAgent': 'bench'}, 'requestId': 'r', 'stage': '$default', "
    "'accountId': '1', 'apiId': 'a', 'domainName': 'd', 'domainPrefix': 'd', 'time': 't', 'timeEpoch': 0}, "
    "'isBase64Encoded': False}, type('C', (), {'get_remaining_time_in_millis': lambda self: 30000})())",
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
        **api,
        **worker,
        LAMBDA_MEMORY_VARIABLE: "1024",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def run(code: tuple[str, str], env: dict[str, str]) -> tuple[float, float]:
    script = PROBE.format(setup=code[0], first=code[1])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    init, first = json.loads(out.stdout.strip().splitlines()[-1])
    return float(init), float(first)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = environment()
    probes = {"bare": BARE, "api": API, "worker": WORKER}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in probes}
    for _ in range(args.rounds):
        order = list(probes)
        random.shuffle(order)
        for name in order:
            times[name].append(run(probes[name], env))
    bare = statistics.median(i + f for i, f in times["bare"])
    print(f"cold start in fresh processes, medians of {args.rounds} shuffled rounds")
    print(f"{'function':8} {'init ms':>8} {'first ms':>9} {'total ms':>9} {'× bare':>7}")
    for name in probes:
        init = statistics.median(i for i, _ in times[name])
        first = statistics.median(f for _, f in times[name])
        total = statistics.median(i + f for i, f in times[name])
        print(f"{name:8} {init * 1000:8.0f} {first * 1000:9.1f} {total * 1000:9.0f} {total / bare:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
