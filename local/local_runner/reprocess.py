"""`make reprocess ENV=dev` (dev runs locally by default; `LOCAL=1` for any environment): re-make every
original's variants with the environment's current spec, on the local pipeline of a running
`make serve`.

The same per-item code as the Distributed Map in AWS (``resize_worker.reprocess.reprocess_item``), fed
the same item shape from a listing of the emulated uploads bucket, with the configured concurrency and
failure tolerance. Results go under ``reports/reprocess/`` of a reports bucket of its own, as the Map
writes them in AWS. Without a running `make serve` there is
nothing to reprocess: it says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photo_contract import UPLOADS_PREFIX
from photo_contract.keys import REPROCESS_REPORTS_PREFIX
from photo_contract.runtime import LAMBDA_MEMORY_VARIABLE
from photo_pipeline_cdk.config import EnvironmentConfig, environment_config
from resize_worker.handler import aws_services
from resize_worker.process import Services
from resize_worker.reprocess import ReprocessRequest, reprocess_item
from resize_worker.settings import WorkerSettings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from local_runner.emulator import (
    REPROCESS_PRINCIPAL,
    REPROCESSING_MAP_PRINCIPAL,
    LocalResources,
    local_client,
    local_session,
)
from local_runner.inputs import REPO
from local_runner.pipeline import worker_environment

SERVE_STATE = REPO / "demo-output" / "serve.json"  # written by `make serve` while it runs


@dataclass
class RunSummary:
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, error)
    items: int = 0
    report_key: str = ""

    @property
    def failure_percentage(self) -> float:
        return 100.0 * len(self.failures) / self.items if self.items else 0.0


def listing_items(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The Distributed Map S3 listing reader's item shape (LastModified in epoch seconds)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield {
                "Key": obj["Key"],
                "Etag": obj["ETag"],
                "LastModified": obj["LastModified"].timestamp(),
                "Size": obj["Size"],
            }


def run(
    services: Services,
    settings: WorkerSettings,
    *,
    bucket: str,
    prefix: str,
    reports_bucket: str,
    request: ReprocessRequest,
    max_concurrency: int,
    on_item: Callable[[dict[str, str]], None] = lambda _: None,
    map_s3: Any | None = None,
) -> RunSummary:
    """Every listed original through ``reprocess_item``, at most ``max_concurrency`` at once (threads:
    Pillow and boto3 release the GIL). An item that raises is a failure, as in the Map. ``map_s3`` is
    the state machine's own S3 client (its role lists the bucket and writes the results; the item
    function's role does neither); the item function's client when not given."""
    map_s3 = map_s3 or services.s3
    items = list(listing_items(map_s3, bucket, prefix))
    summary = RunSummary(items=len(items))
    rows: list[dict[str, str]] = []
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
        futures = {
            pool.submit(reprocess_item, services, settings, bucket=bucket, item=item, request=request): item
            for item in items
        }
        for future in as_completed(futures):
            key = futures[future]["Key"]
            try:
                row = future.result()
            except Exception as exc:  # counted against the tolerance, like a failed Map item
                row = {"key": key, "status": "failed", "detail": f"{type(exc).__name__}: {exc}"}
                summary.failures.append((key, row["detail"]))
            summary.counts[row["status"]] += 1
            rows.append(row)
            on_item(row)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    summary.report_key = f"{REPROCESS_REPORTS_PREFIX}{run_id}/results.json"
    map_s3.put_object(
        Bucket=reports_bucket,
        Key=summary.report_key,
        Body=json.dumps(sorted(rows, key=lambda r: r["key"]), indent=1).encode(),
        ContentType="application/json",
    )
    return summary


def local_worker(config: EnvironmentConfig, resources: LocalResources) -> tuple[Services, WorkerSettings]:
    settings = WorkerSettings.from_env(
        {
            **worker_environment(config, resources).to_env(),
            LAMBDA_MEMORY_VARIABLE: str(config.resize.memory_mib),
        }
    )
    session = local_session(REPROCESS_PRINCIPAL)
    return aws_services(
        settings, session=session, endpoint_url=resources.endpoint, first_step=False
    ), settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--owner", help="only this owner's originals")
    parser.add_argument("--before", help="only originals uploaded before this ISO time, e.g. 2026-11-01")
    parser.add_argument("--dry-run", action="store_true", help="report what would be re-made, change nothing")
    parser.add_argument("--state", type=Path, default=SERVE_STATE, help="the running make serve's resources")
    args = parser.parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    if not args.state.exists():
        console.print(f"no local pipeline is running ({args.state} missing): start `make serve` first")
        return 2
    config = environment_config(args.env)
    resources = LocalResources(**json.loads(args.state.read_text()))
    services, settings = local_worker(config, resources)
    request = ReprocessRequest(
        before=datetime.fromisoformat(args.before).astimezone(UTC) if args.before else None,
        dry_run=args.dry_run,
    )
    prefix = f"{UPLOADS_PREFIX}{args.owner}/" if args.owner else UPLOADS_PREFIX
    concurrency = min(config.resize.reprocess_concurrency, os.cpu_count() or 1)
    map_s3 = local_client("s3", resources.endpoint, REPROCESSING_MAP_PRINCIPAL)
    total = sum(1 for _ in listing_items(map_s3, resources.uploads_bucket, prefix))
    with Progress(
        TextColumn("reprocess"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("items", total=total)
        summary = run(
            services,
            settings,
            bucket=resources.uploads_bucket,
            prefix=prefix,
            reports_bucket=resources.reports_bucket,
            request=request,
            max_concurrency=concurrency,
            on_item=lambda _: progress.advance(task),
            map_s3=map_s3,
        )
    console.print(
        ", ".join(f"{n} {status}" for status, n in sorted(summary.counts.items())) or "nothing listed"
    )
    for key, error in summary.failures[:10]:
        console.print(f"  failed: {key}: {error}")
    console.print(f"results: s3://{resources.reports_bucket}/{summary.report_key}")
    tolerated = config.resize.reprocess_tolerated_failure_percentage
    if summary.failure_percentage > tolerated:
        console.print(f"[red]{summary.failure_percentage:.1f}% failed, over the tolerated {tolerated}%[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
