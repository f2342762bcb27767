"""`make demo`: the whole pipeline on loopback, acting as a client with 20 files in one API call.

19 photos from ../shared/corpus and one broken file made here (a truncated JPEG): presigned POSTs for all
20 in one request, each uploaded over HTTP, then polled until ready or rejected. Prints a table and the
wall time, writes a contact sheet, exits 0 only if every photo is ready and the broken file rejected.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from photo_pipeline_cdk.config import environment_config
from PIL import Image, ImageDraw

from local_runner.emulator import LocalResources
from local_runner.lambda_like import SubprocessLambda, build_lambda_assets, find_python
from local_runner.pipeline import LocalPipeline, local_pipeline
from local_runner.worker import Handler

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO.parent / "shared" / "corpus"
DEMO_PHOTOS = (
    *(
        f"camera/{name}"
        for name in (
            "canon-eos-5d-mk3_22mp.jpg",
            "kodak-pixpro-s1_16mp.jpg",
            "leica-t_16mp_orient8.jpg",
            "nikon-d3100_14mp.jpg",
            "oppo-r7plus_13mp_portrait.jpg",
            "samsung-galaxy-s7edge_12mp.jpg",
            "canon-eos-1000d_10mp_orient6.jpg",
            "seeding-clemens-engelhardt_16mp_progressive.jpg",
        )
    ),
    "orientation/Landscape_5.jpg",
    "orientation/Portrait_7.jpg",
    "formats/nikon-coolpix-p7000_10mp_orient6.webp",
    "formats/iphone11pro_12mp.heic",
    "formats/autumn-trees_rgba-opaque.png",
    "formats/skimage-coffee_600x400.png",
    "derived/seeding_cmyk_2400x1350.jpg",
    "derived/seeding_gray_3000x1688.jpg",
    "derived/seeding_cutout_rgba_1600x900.png",
    "derived/coffee_palette_600x400.png",
    "derived/seeding_pan_8frames_480x270.gif",
)
BROKEN_NAME = "broken-truncated.jpg"
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".heic": "image/heic",
}


@dataclass
class DemoFile:
    name: str
    data: bytes
    content_type: str
    expect_rejected: bool = False


@dataclass
class DemoResult:
    file: DemoFile
    image_id: str
    key: str
    uploaded_at: float = 0.0
    finished_at: float = 0.0
    status: str = "pending"
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.finished_at - self.uploaded_at


def demo_files(corpus: Path = CORPUS) -> list[DemoFile]:
    files = [
        DemoFile(Path(name).name, (corpus / name).read_bytes(), CONTENT_TYPES[Path(name).suffix])
        for name in DEMO_PHOTOS
    ]
    whole = (corpus / "camera" / "nikon-d3100_14mp.jpg").read_bytes()
    files.append(DemoFile(BROKEN_NAME, whole[: len(whole) * 2 // 5], "image/jpeg", expect_rejected=True))
    return files


def run_client(
    pipeline: LocalPipeline, files: list[DemoFile], *, timeout_seconds: float = 300
) -> list[DemoResult]:
    api = httpx.Client(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token()}"}, timeout=30
    )
    items = [{"content_type": f.content_type, "size_bytes": len(f.data), "filename": f.name} for f in files]
    reply = api.post("/v1/uploads", json={"items": items})
    reply.raise_for_status()
    tickets = reply.json()["uploads"]
    results = [
        DemoResult(f, t["image_id"], t["upload"]["fields"]["key"])
        for f, t in zip(files, tickets, strict=True)
    ]

    def upload(pair: tuple[DemoResult, dict[str, Any]]) -> None:
        result, ticket = pair
        posted = httpx.post(
            ticket["upload"]["url"],
            data=ticket["upload"]["fields"],
            files={"file": (result.file.name, result.file.data, result.file.content_type)},
            timeout=60,
        )
        posted.raise_for_status()
        result.uploaded_at = time.perf_counter()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(upload, zip(results, tickets, strict=True)))

    deadline = time.monotonic() + timeout_seconds
    while any(r.status == "pending" for r in results) and time.monotonic() < deadline:
        for result in results:
            if result.status != "pending":
                continue
            status = api.get(f"/v1/images/{result.image_id}")
            if status.status_code == 200 and status.json()["status"] in ("ready", "rejected"):
                result.body = status.json()
                result.status = result.body["status"]
                result.finished_at = time.perf_counter()
        _progress(results)
        time.sleep(0.25)
    print(file=sys.stderr)
    return results


def _progress(results: list[DemoResult]) -> None:
    done = sum(r.status != "pending" for r in results)
    bar = "#" * done + "." * (len(results) - done)
    sys.stderr.write(f"\r[{bar}] {done}/{len(results)} processed")
    sys.stderr.flush()


def print_table(results: list[DemoResult]) -> None:
    print(f"{'image':48} {'original':>20} {'variants':56} {'upload→done':>11}")
    for r in results:
        original = f"{len(r.file.data) // 1024} KiB"
        if r.status == "ready":
            original = f"{r.body['width']}x{r.body['height']} {original}"
            variants = ", ".join(f"{v['name']} {v['width']}x{v['height']}" for v in r.body["variants"])
        else:
            variants = f"{r.status}: {r.body.get('reason')}"
        print(f"{r.file.name:48} {original:>20} {variants:56} {r.seconds:10.2f}s")


def contact_sheet(results: list[DemoResult], out: Path) -> Path:
    """Every image's square thumbnail (or its rejection) on one sheet."""
    tile, label, columns = 150, 28, 5
    rows = (len(results) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (tile + 10) + 10, rows * (tile + label + 10) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    for index, r in enumerate(results):
        x = 10 + (index % columns) * (tile + 10)
        y = 10 + (index // columns) * (tile + label + 10)
        if r.status == "ready":
            thumb_url = next(v["url"] for v in r.body["variants"] if v["name"].startswith("thumb"))
            thumb = Image.open(io.BytesIO(httpx.get(thumb_url, timeout=30).content)).convert("RGB")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--env", default="dev", help="whose config lays out the local resources (default dev)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "demo-output")
    parser.add_argument(
        "--lambda-like",
        action="store_true",
        help="run the resize handler in a subprocess on the Lambda's Python with only the built layer",
    )
    args = parser.parse_args(argv)
    if not (CORPUS / "camera").is_dir():
        print(f"the photo corpus is not at {CORPUS}: clone photo-pipeline beside ../shared", file=sys.stderr)
        return 2
    logging.getLogger("resize").setLevel(logging.WARNING)  # the worker's per-image JSON logs: table below
    config = environment_config(args.env)
    files = demo_files()
    started = time.perf_counter()
    handler_factory = None
    if args.lambda_like:
        python = find_python(config.resize.python_version)
        if python is None:
            print(
                f"--lambda-like skipped: python{config.resize.python_version} is not installed here "
                f"(pyenv install {config.resize.python_version}); running the handler in-process",
                file=sys.stderr,
            )
        else:
            layer, task = build_lambda_assets(config)
            print(f"lambda-like: {python} with only {layer} and {task} on sys.path")

            def handler_factory(resources: LocalResources) -> Handler:
                return SubprocessLambda(
                    python=python, layer=layer, task=task, config=config, resources=resources
                )

    with local_pipeline(config, handler_factory=handler_factory) as pipeline:
        print(
            f"S3/SQS emulator {pipeline.resources.endpoint}, API {pipeline.api_url}, worker polling "
            f"{pipeline.resources.queue_url.rsplit('/', 1)[-1]}"
        )
        results = run_client(pipeline, files)
        print_table(results)
        sheet = contact_sheet(results, args.out)
    wall = time.perf_counter() - started
    ready = sum(r.status == "ready" and not r.file.expect_rejected for r in results)
    rejected = sum(r.status == "rejected" and r.file.expect_rejected for r in results)
    print(f"\n{ready} ready, {rejected} rejected as expected, of {len(results)}; contact sheet: {sheet}")
    print(f"wall time: {wall:.1f} s (servers up, 20 uploads, every variant made, servers down)")
    ok = ready == sum(not f.expect_rejected for f in files) and rejected == sum(
        f.expect_rejected for f in files
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
