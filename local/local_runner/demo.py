"""`make demo`: the whole pipeline on loopback, acting as a client with 20 files in one API call.

19 photos (from ../shared/corpus, or made here when it is absent) and one broken file (a truncated JPEG):
presigned POSTs for all 20 in one request, each uploaded over HTTP, then polled until ready or
rejected. Prints a table and the wall time, writes a contact sheet, exits 0 only if every photo is
ready and the broken file rejected.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import io
import logging
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from photo_contract.moderation import DEFAULT_POLICY, MODERATORS_GROUP
from photo_pipeline_cdk.config import environment_config
from PIL import Image, ImageDraw
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from local_runner import marked
from local_runner.emulator import LocalResources
from local_runner.inputs import CORPUS, REPO, DemoFile, demo_files, held_jpeg
from local_runner.pipeline import DEMO_USER, LocalPipeline, local_pipeline
from local_runner.worker import Handler

MAX_COLUMNS = 100
__all__ = ["DemoFile", "DemoResult", "demo_files", "main", "run_client"]


@dataclass
class DemoResult:
    file: DemoFile
    image_id: str
    key: str
    uploaded_at: float = 0.0
    finished_at: float = 0.0
    status: str = "pending"
    body: dict[str, Any] = field(default_factory=dict)
    batch_id: str = ""
    all_formats_at: float = 0.0  # when its last alternate (AVIF) was listed too

    @property
    def seconds(self) -> float:
        return self.finished_at - self.uploaded_at

    @property
    def all_formats_seconds(self) -> float | None:
        return self.all_formats_at - self.uploaded_at if self.all_formats_at else None


def run_client(
    pipeline: LocalPipeline,
    files: list[DemoFile],
    *,
    timeout_seconds: float = 300,
    console: Console | None = None,
    # A client's cadence: each poll is an API request and a registry query, on the same two cores as the
    # workers (at 0.1 s the polling alone made the last image 0.6 s later).
    poll_seconds: float = 0.25,
    owner: str = DEMO_USER,
    until: tuple[str, ...] = ("ready", "rejected"),
    all_formats: int = 0,
) -> list[DemoResult]:
    """One post of ``files``: the forms, the uploads, then polling the batch until each image's status
    is one of ``until`` and (``all_formats``: the spec's number of files) each ready one lists them all."""
    api = httpx.Client(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token(owner)}"}, timeout=30
    )
    # As a phone should: each photo's MD5 (S3 refuses other bytes; a photo already uploaded is copied
    # on the server instead), and one Idempotency-Key for the post, reused if the answer is lost.
    items = [
        {
            "content_type": f.content_type,
            "size_bytes": len(f.data),
            "filename": f.name,
            "content_md5": md5_of(f.data),
        }
        for f in files
    ]
    answer = post_batch(api, items)
    tickets = answer["uploads"]
    batch_id = answer["batch_id"]
    results = [
        DemoResult(f, t["image_id"], t["upload"]["fields"]["key"] if t["upload"] else "", batch_id=batch_id)
        for f, t in zip(files, tickets, strict=True)
    ]

    def upload(pair: tuple[DemoResult, dict[str, Any]]) -> None:
        result, ticket = pair
        if not ticket["needs_upload"]:  # copied on the server: no bytes from this client
            result.uploaded_at = time.perf_counter()
            return
        posted = httpx.post(
            ticket["upload"]["url"],
            data=ticket["upload"]["fields"],
            files={"file": (result.file.name, result.file.data, result.file.content_type)},
            timeout=60,
        )
        posted.raise_for_status()
        result.uploaded_at = time.perf_counter()

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=40),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=console is None,
    )
    with progress:
        uploading = progress.add_task("uploaded ", total=len(results))
        processing = progress.add_task("processed", total=len(results))
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(upload, zip(results, tickets, strict=True)):
                progress.advance(uploading)
        deadline = time.monotonic() + timeout_seconds
        by_id = {r.image_id: r for r in results}

        def waiting() -> bool:
            lacking = [r for r in results if r.status == "ready" and not r.all_formats_at]
            return any(r.status == "pending" for r in results) or (all_formats > 0 and bool(lacking))

        while waiting() and time.monotonic() < deadline:
            # One call for the whole post: GET /v1/batches/{batch_id}.
            batch = api.get(f"/v1/batches/{batch_id}")
            batch.raise_for_status()
            now = time.perf_counter()
            for image in batch.json()["images"]:
                result = by_id[image["image_id"]]
                if result.status == "pending" and image["status"] in until:
                    result.body, result.status = image, image["status"]
                    result.finished_at = now
                    progress.advance(processing)
                if result.status == "ready" and not result.all_formats_at:
                    result.body = image
                    if len(image["variants"]) >= all_formats:
                        result.all_formats_at = now
            time.sleep(poll_seconds)
    return results


def post_batch(api: httpx.Client, items: list[dict[str, Any]], *, attempts: int = 5) -> dict[str, Any]:
    """POST /v1/uploads, retried with the same Idempotency-Key while the backend is busy (409 in
    flight, 429, 503), as a phone should: the retry gets the first answer, no second batch."""
    key = str(uuid.uuid4())
    for attempt in range(attempts):
        reply = api.post("/v1/uploads", json={"items": items}, headers={"Idempotency-Key": key})
        if reply.status_code not in (409, 429, 503) or attempt == attempts - 1:
            break
        time.sleep(float(reply.headers.get("Retry-After", 1)) * (attempt + 1))
    reply.raise_for_status()
    answer: dict[str, Any] = reply.json()
    return answer


def md5_of(data: bytes) -> str:
    """S3's Content-MD5: the base64 of the binary digest."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def retries(pipeline: LocalPipeline, results: list[DemoResult], console: Console) -> bool:
    """What a phone on a bad network does: the same post again with its key (the same batch, nothing to
    send), and a photo it already uploaded posted anew (copied inside S3: no upload)."""
    console.print("\n[bold]retries[/bold] (Idempotency-Key, Content-MD5)")
    api = httpx.Client(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token()}"}, timeout=30
    )
    photo = next(r for r in results if r.status == "ready").file
    item = {
        "content_type": photo.content_type,
        "size_bytes": len(photo.data),
        "content_md5": md5_of(photo.data),
    }
    key = str(uuid.uuid4())
    first = api.post("/v1/uploads", json={"items": [item]}, headers={"Idempotency-Key": key}).json()
    lost = api.post("/v1/uploads", json={"items": [item]}, headers={"Idempotency-Key": key})
    same = lost.json()["batch_id"] == first["batch_id"]
    console.print(
        f"the same post, same key: batch {'the same' if same else 'NEW'} "
        f"(Idempotent-Replayed: {lost.headers.get('idempotent-replayed')})"
    )
    again = run_client(pipeline, [photo])[0]
    ticket = first["uploads"][0]
    console.print(
        f"{photo.name} posted again: needs_upload {ticket['needs_upload']} (copied inside S3), "
        f"{again.status} in {again.seconds:.2f} s"
    )
    return same and not ticket["needs_upload"] and again.status == "ready"


def lifecycle(pipeline: LocalPipeline, batch_id: str, results: list[DemoResult], console: Console) -> bool:
    """The rest of an app's view: the post in one call, the user's images, a delete, and the events."""
    api = httpx.Client(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token()}"}, timeout=30
    )
    batch = api.get(f"/v1/batches/{batch_id}").json()["images"]
    counts_by_status = Counter(image["status"] for image in batch)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts_by_status.items()))
    console.print(f"\nGET /v1/batches/{batch_id}: {len(batch)} images in one call ({summary})")
    page = api.get("/v1/images", params={"limit": 3}).json()
    names = ", ".join(i["filename"] or i["image_id"] for i in page["images"])
    console.print(f"GET /v1/images?limit=3 (newest first): {names}", overflow="ellipsis", no_wrap=True)
    console.print(f"  next page: {'a cursor' if page['next_cursor'] else 'none'}")
    doomed = next((r for r in results if r.status == "rejected"), results[-1])
    deleted = api.delete(f"/v1/images/{doomed.image_id}")
    gone = api.get(f"/v1/images/{doomed.image_id}").status_code
    console.print(
        f"DELETE /v1/images/{doomed.image_id} ({doomed.file.name}): {deleted.status_code}, then GET: {gone}"
    )
    seen = pipeline.events_seen(expected=len(results) + 1)
    counts = Counter(e["detail-type"] for e in seen)
    console.print(f"events on the bus: {', '.join(f'{n} {kind}' for kind, n in sorted(counts.items()))}")
    ready = next((r for r in results if r.status == "ready"), None)
    if ready is not None:
        url = ready.body["variants"][0]["url"]
        console.print(
            f"variant URLs (CloudFront in AWS, the local stand-in here): {url}",
            overflow="ellipsis",
            no_wrap=True,
        )
        console.print(
            f"placeholder (ThumbHash): {ready.body['placeholder']}, average colour {ready.body['dominant_color']}"
        )
    made = sorted(e["detail"]["processing_ms"] for e in seen if e["detail-type"] == "Image Ready")
    added = sorted(e["detail"]["processing_ms"] for e in seen if e["detail-type"] == "Image Alternates Added")
    if made:
        console.print(
            f"the worker's time per image (processing_ms): JPEG step median {statistics.median(made):.0f} ms"
            + (f", alternates step median {statistics.median(added):.0f} ms" if added else "")
        )
    example = next((e for e in seen if e["detail-type"] == "Image Ready"), None)
    if example is not None:
        detail = example["detail"]
        console.print(
            f"  e.g. Image Ready: {detail['image_id']}, batch {detail['batch_id'][:8]}…, "
            f"{len({v['name'] for v in detail['variants']})} variants in {len(detail['variants'])} files"
        )
    return deleted.status_code == 204 and gone == 404 and counts.get("Image Deleted") == 1


def trust_and_safety(pipeline: LocalPipeline, results: list[DemoResult], console: Console) -> bool:
    """A second post of two: a photo the local moderator holds (strongly red: resize_worker.moderation)
    and one carrying a C2PA manifest. The held one is its owner's only until a moderator clears it.
    Then the privacy receipt of one photo of the first post."""
    console.print("\n[bold]trust and safety[/bold] (moderation on, as in staging and prod)")
    second = run_client(
        pipeline,
        [held_jpeg("held-for-review.jpg"), marked_photo()],
        timeout_seconds=60,
        until=("held", "ready"),
    )
    held, marked = second
    owner = httpx.Client(base_url=pipeline.api_url, headers=_bearer(pipeline.token()), timeout=30)
    moderator = httpx.Client(
        base_url=pipeline.api_url,
        headers=_bearer(pipeline.token("demo-moderator", groups=(MODERATORS_GROUP,))),
        timeout=30,
    )
    seen_held = owner.get(f"/v1/images/{held.image_id}").json()
    preview = (
        httpx.get(seen_held["variants"][0]["url"], timeout=30).status_code if seen_held["variants"] else 0
    )
    console.print(
        f"{held.file.name}: {seen_held['status']}; its owner sees a 5-min preview ({preview}), "
        "the CDN serves nothing"
    )
    queue = moderator.get("/v1/moderation/images").json()["images"]
    mine = next((i for i in queue if i["image_id"] == held.image_id), None)
    labels = (
        ", ".join(f"{x['name']} {x['confidence']:.0f}%" for x in mine["moderation"]["labels"])
        if mine
        else "-"
    )
    console.print(f"GET /v1/moderation/images: {len(queue)} held ({labels})")
    cleared = moderator.post(f"/v1/moderation/images/{DEMO_USER}/{held.image_id}/clear")
    again = moderator.post(f"/v1/moderation/images/{DEMO_USER}/{held.image_id}/clear")
    after = owner.get(f"/v1/images/{held.image_id}").json()
    console.print(
        f"POST …/clear: {cleared.status_code} (again: {again.status_code}, same answer), "
        f"now {after['status']}, {len(after['variants'])} CDN URLs"
    )
    origin = (marked.body.get("receipt") or {}).get("provenance", {})
    console.print(
        f"{marked.file.name}: C2PA manifest {'found' if origin.get('c2pa_manifest') else 'absent'} "
        f"(not verified), generator {origin.get('claim_generator')!r},\n"
        f"  IPTC source type {origin.get('digital_source_type')}, declares AI: {origin.get('declares_ai')}"
    )

    def telling(r: DemoResult) -> tuple[bool, int]:  # a photo whose GPS was removed, if there is one
        removed = r.body["receipt"]["removed"]
        return "gps" in removed, len(removed)

    photo = max((r for r in results if r.status == "ready"), key=telling)
    receipt = photo.body["receipt"]
    console.print(f"privacy receipt of {photo.file.name}:", overflow="ellipsis", no_wrap=True)
    console.print(f"  removed: {', '.join(receipt['removed'])}", overflow="fold")
    console.print(
        f"  kept: taken_at {receipt['taken_at']}, orientation {receipt['orientation_applied']} applied, "
        f"profile {receipt['colour_profile_converted'] or 'sRGB'}; location {receipt['location']}",
        overflow="fold",
    )
    return (
        seen_held["status"] == "held"
        and preview == 200
        and mine is not None
        and cleared.status_code == again.status_code == 200
        and cleared.json() == again.json()
        and after["status"] == "ready"
        and bool(origin.get("c2pa_manifest"))
    )


def marked_photo() -> DemoFile:
    store = marked.manifest_store(
        generator="Demo Generator/1.0 c2pa-rs/0.49", source_type="trainedAlgorithmicMedia"
    )
    return DemoFile("c2pa-generated.jpg", marked.jpeg_with_manifest(store), "image/jpeg")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def result_table(results: list[DemoResult]) -> Table:
    table = Table(title=None, box=None, pad_edge=False, header_style="bold")
    table.add_column("image", overflow="ellipsis", no_wrap=True, max_width=34)
    table.add_column("original", justify="right", no_wrap=True)
    table.add_column("variants (+formats)", overflow="fold")
    table.add_column("→ready", justify="right", no_wrap=True)
    table.add_column("→all", justify="right", no_wrap=True)
    for r in results:
        original = f"{len(r.file.data) // 1024} KiB"
        if r.status == "ready":
            original = f"{r.body['width']}x{r.body['height']} {original}"
            variants = " ".join(_variant_cells(r.body["variants"]))
        else:
            variants = f"[red]{r.status}: {r.body.get('reason')}[/red]"
        every = r.all_formats_seconds
        table.add_row(
            r.file.name, original, variants, f"{r.seconds:.2f} s", f"{every:.2f} s" if every else ""
        )
    return table


def _variant_cells(variants: list[dict[str, Any]]) -> list[str]:
    """One cell per variant, its alternates appended: "1080x1620+avif" (the record lists each format)."""
    formats: dict[tuple[str, int, int], list[str]] = {}
    for v in variants:
        formats.setdefault((v["name"], v["width"], v["height"]), []).append(v["content_type"].split("/")[1])
    return ["+".join([f"{w}x{h}", *kinds[1:]]) for (_, w, h), kinds in formats.items()]


def contact_sheet(results: list[DemoResult], out: Path) -> Path:
    """Every image's square thumbnail (or its rejection) on one sheet."""
    tile, label, columns = 150, 28, 5
    rows = (len(results) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (tile + 10) + 10, rows * (tile + label + 10) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=4) as pool:
        thumbs = list(pool.map(lambda r: _thumbnail(client, r), results))
    for index, (r, thumb) in enumerate(zip(results, thumbs, strict=True)):
        x = 10 + (index % columns) * (tile + 10)
        y = 10 + (index // columns) * (tile + label + 10)
        if thumb is not None:
            sheet.paste(thumb, (x + (tile - thumb.width) // 2, y + (tile - thumb.height) // 2))
            caption = r.file.name
        else:
            draw.rectangle((x, y, x + tile, y + tile), outline="#b00020", width=3)
            draw.line((x, y, x + tile, y + tile), fill="#b00020", width=3)
            caption = f"{r.status}: {r.body.get('reason')}"
        draw.text((x, y + tile + 4), caption[:26], fill="black")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "contact-sheet.png"
    sheet.save(path)
    return path


def _thumbnail(client: httpx.Client, result: DemoResult) -> Image.Image | None:
    if result.status != "ready":
        return None
    url = next(v["url"] for v in result.body["variants"] if v["name"].startswith("thumb"))
    return Image.open(io.BytesIO(client.get(url).raise_for_status().content)).convert("RGB")


def _lambda_like_factory(config: Any, console: Console) -> Any:
    # Imported here: building the assets needs the CDK package, which starts jsii (node) on import.
    from photo_pipeline_cdk.assets.bundling import find_python

    from local_runner.lambda_like import SubprocessLambda, build_lambda_assets

    python = find_python(config.resize.python_version)
    if python is None:
        console.print(
            f"--lambda-like skipped: python{config.resize.python_version} is not installed here "
            f"(pyenv install {config.resize.python_version}); running the handler in-process"
        )
        return None
    layer, task = build_lambda_assets(config)
    console.print(f"lambda-like: {python} with only the built layer and function package on sys.path")

    def factory(resources: LocalResources) -> Handler:
        return SubprocessLambda(python=python, layer=layer, task=task, config=config, resources=resources)

    return factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--env", default="dev", help="whose config lays out the local resources (default dev)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "demo-output")
    parser.add_argument(
        "--workers",
        type=int,
        help="resize worker processes (default: reserved concurrency, capped by the cores)",
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help="photos to use; when absent, the demo makes its own"
    )
    parser.add_argument(
        "--lambda-like",
        action="store_true",
        help="run the resize handler in a subprocess on the Lambda's Python with only the built layer",
    )
    parser.add_argument(
        "--one-step",
        action="store_true",
        help="make every format in one step (the alternates step off), to compare with the default",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch here: no EMF lines
    console = Console(width=MAX_COLUMNS, highlight=False)
    logging.getLogger("resize").setLevel(logging.WARNING)  # the worker's per-image JSON logs: table below
    logging.getLogger("housekeeping").setLevel(logging.WARNING)  # and the removals it asks for
    config = environment_config(args.env)
    if args.one_step:
        config = dataclasses.replace(config, resize=dataclasses.replace(config.resize, alternates=None))
    files, source = demo_files(args.corpus)
    console.print(f"inputs: {source}, and {sum(f.expect_rejected for f in files)} broken file")
    started = time.perf_counter()
    handler_factory = _lambda_like_factory(config, console) if args.lambda_like else None
    request_log = args.out / "emulator.log"
    with local_pipeline(
        config,
        handler_factory=handler_factory,
        request_log=request_log,
        worker_processes=args.workers,
        moderation=DEFAULT_POLICY,  # on, as in staging and prod; the local moderator stands in
    ) as pipeline:
        console.print(f"S3/SQS emulator {pipeline.resources.endpoint} (request log: {request_log})")
        console.print(f"API {pipeline.api_url}; worker polling the upload-event queue")
        pipeline_processes = pipeline.worker.concurrency
        encodings = sum(len(spec.encodings) for spec in config.resize.variants)
        results = run_client(
            pipeline, files, console=Console(stderr=True, width=MAX_COLUMNS), all_formats=encodings
        )
        console.print(result_table(results))
        sheet = contact_sheet(results, args.out)
        lifecycle_ok = lifecycle(pipeline, results[0].batch_id, results, console)
        safety_ok = trust_and_safety(pipeline, results, console)
        retries_ok = retries(pipeline, results, console)
    wall = time.perf_counter() - started
    ready = sum(r.status == "ready" and not r.file.expect_rejected for r in results)
    rejected = sum(r.status == "rejected" and r.file.expect_rejected for r in results)
    expected_ready = sum(not f.expect_rejected for f in files)
    expected_rejected = len(files) - expected_ready
    console.print(
        f"\n{ready} ready (of {expected_ready} expected), {rejected} rejected (of {expected_rejected} "
        f"expected), {len(results)} files"
    )
    console.print(f"contact sheet: {sheet}")
    done = sorted(r.seconds for r in results if r.status != "pending")
    if done:
        console.print(
            f"upload→ready: median {statistics.median(done):.2f} s, last {done[-1]:.2f} s "
            f"({pipeline_processes} worker process{'' if pipeline_processes == 1 else 'es'} a step)"
        )
    every = sorted(s for r in results if (s := r.all_formats_seconds) is not None)
    if every:
        console.print(f"upload→all formats: median {statistics.median(every):.2f} s, last {every[-1]:.2f} s")
    console.print(
        f"wall time: {wall:.1f} s (servers up, {len(files)} uploads, every variant made, servers down)"
    )
    return (
        0
        if (ready, rejected) == (expected_ready, expected_rejected)
        and lifecycle_ok
        and safety_ok
        and retries_ok
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
