"""The worker's memory and time budget: the worst legal image of each format, each through the worker
path (``process_object``: fetch, checks, decode, every variant, writes) in a fresh process.

A legal image is one the worker accepts: within the pixel cap (50 MP), the byte cap (25 MiB) and each
format's own size limits. The worst of each format is the shape and mode that makes the decoded frame
largest: full-resolution decodes (no DCT scaling: a tall strip whose feed variant is its own width),
alpha, CMYK, and a non-sRGB ICC profile that forces a colour conversion. The images are generated here,
so the benchmark needs nothing but the repository.

Each probe reports the process's peak RSS (VmHWM: what Lambda's memory limit counts, baseline included)
and the CPU seconds of the processing alone. The table puts them next to every environment's memory and
timeout: Lambda gives a function one vCPU per 1,769 MB, so a 1,024 MB function runs the same CPU work
about 1.7x slower than a core of its own. The probes stand in a dictionary for S3 and
small stubs for the registry and the bus (the S3 client is created, so boto3's footprint is counted; no
request leaves the process).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photo_contract.budget import working_set_bytes
from PIL import Image, ImageChops, ImageCms

MIB = 1024 * 1024
# Lambda: 1 vCPU at 1,769 MB, proportionally less below (AWS Lambda developer guide, "memory").
LAMBDA_MB_PER_VCPU = 1769
PIXEL_CAP = 50_000_000


def _wide_gamut_profile() -> bytes:
    """An RGB profile the core does not take for sRGB, so it converts (the cost of a Display P3 photo)."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return srgb.replace("sRGB".encode("utf-16-be"), "WRGB".encode("utf-16-be"))


def _texture(width: int, height: int, mode: str) -> Image.Image:
    """Smooth gradients with mild noise: compresses under the byte cap yet is not a flat fill."""
    noise = Image.effect_noise((width, height), 3).point(lambda v: v // 32)
    gradient = Image.linear_gradient("L")
    bands = []
    for index in range(len(mode)):
        band = gradient.rotate(90 * index).resize((width, height), Image.Resampling.BILINEAR)
        bands.append(ImageChops.add(band, noise))
    return Image.merge(mode, bands)


def _jpeg_cmyk_strip() -> bytes:
    # 1080 wide: the feed's 1080 variant is the whole frame, so no DCT scaling helps.
    width, height = 1080, PIXEL_CAP // 1080
    image = _texture(width, height, "CMYK")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, progressive=True, icc_profile=None)
    return out.getvalue()


def _png_rgba_icc_strip() -> bytes:
    width, height = 1080, PIXEL_CAP // 1080
    image = _texture(width, height, "RGBA")
    out = io.BytesIO()
    image.save(out, "PNG", icc_profile=_wide_gamut_profile(), compress_level=6)
    return out.getvalue()


def _webp_rgba_icc() -> bytes:
    side = math.isqrt(PIXEL_CAP)  # WebP allows 16,383 px a side: the largest legal frame is square-ish
    image = _texture(side, side, "RGBA")
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True, quality=0, method=0, icc_profile=_wide_gamut_profile())
    return out.getvalue()


def _gif_strip() -> bytes:
    width, height = 1080, PIXEL_CAP // 1080
    image = _texture(width, height, "RGB").quantize(256)
    out = io.BytesIO()
    image.save(out, "GIF")
    return out.getvalue()


def _heic_alpha() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    side = math.isqrt(PIXEL_CAP)
    image = _texture(side, side, "RGBA")
    out = io.BytesIO()
    image.save(out, "HEIF", quality=60)
    return out.getvalue()


WORST: dict[str, tuple[str, Callable[[], bytes]]] = {
    "jpeg": ("50 MP CMYK progressive, 1080 px wide", _jpeg_cmyk_strip),
    "png": ("50 MP RGBA + wide-gamut ICC, 1080 px wide", _png_rgba_icc_strip),
    "webp": ("50 MP RGBA + wide-gamut ICC, square", _webp_rgba_icc),
    "gif": ("50 MP palette, 1080 px wide", _gif_strip),
    "heic": ("50 MP RGBA, square", _heic_alpha),
}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


@dataclass(frozen=True)
class Probe:
    label: str
    peak_mib: float
    cpu_seconds: float
    outcome: str
    source_mib: float


def _probe(path: Path | None, memory_mib: int | None) -> dict[str, Any]:
    """Run in a fresh interpreter: one image through the worker path, then report."""
    command = [sys.executable, __file__, "--probe", str(path or "")]
    if memory_mib is not None:
        command += ["--memory-mib", str(memory_mib)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


class _DictS3:
    """The few S3 calls process_object makes, on a dictionary."""

    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        from datetime import UTC, datetime

        data = self.objects[(Bucket, Key)]
        return {
            "ETag": '"etag-1"',
            "ContentLength": len(data),
            "LastModified": datetime(2026, 1, 1, tzinfo=UTC),
        }

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        from botocore.exceptions import ClientError

        if (Bucket, Key) not in self.objects:
            error = {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}
            raise ClientError(error, "GetObject")  # type: ignore[arg-type]
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.objects[(Bucket, Key)] = Body
        return {}

    def delete_objects(self, **_: Any) -> dict[str, Any]:
        return {}


class _PendingRegistry:
    """The registry calls process_object makes, for one pending image (no DynamoDB in the probe)."""

    def get(self, owner: str, image_id: str) -> Any:
        from photo_contract.registry import ImageRecord, Status

        now = "2026-01-01T00:00:00+00:00"
        return ImageRecord(
            owner=owner,
            image_id=image_id,
            batch_id=image_id,
            status=Status.PENDING,
            content_type="image/png",
            declared_bytes=1,
            created_at=now,
            updated_at=now,
        )

    def complete(self, *_: Any, **__: Any) -> Any:
        from photo_contract.registry import Transition

        return Transition(True)

    def event_sent(self, *_: Any, **__: Any) -> None:
        return None


class _Bus:
    def put_events(self, **_: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{}]}


def _run_probe(path_text: str, memory_mib: int | None) -> None:
    import boto3
    from resize_worker.handler import ResizeWorker  # noqa: F401 - the handler module's imports count
    from resize_worker.process import Services, process_object
    from resize_worker.settings import WorkerSettings

    boto3.client("s3", region_name="us-east-1")  # its footprint, as in Lambda
    env = {"MEDIA_BUCKET": "media", "REGISTRY_TABLE": "images", "EVENT_BUS_NAME": "bus"}
    if memory_mib is not None:
        env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(memory_mib)
    settings = WorkerSettings.from_env(env)
    outcome = "baseline"
    cpu = 0.0
    if path_text:
        path = Path(path_text)
        key = f"uploads/owner/00000000000000000000000000000001.{path.suffix.lstrip('.')}"
        s3 = _DictS3({("uploads", key): path.read_bytes()})
        services = Services(s3=s3, registry=_PendingRegistry(), events=_Bus(), bus_name="bus")  # type: ignore[arg-type]
        start = resource.getrusage(resource.RUSAGE_SELF)
        result = process_object(services, settings, bucket="uploads", key=key)
        end = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
        outcome = f"{result.status.value}{':' + result.detail if result.detail else ''}"
    peak_kib = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    print(json.dumps({"peak_mib": peak_kib / 1024, "cpu_seconds": cpu, "outcome": outcome}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--memory-mib", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per image (median taken)")
    parser.add_argument("--results", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if args.probe is not None:
        _run_probe(args.probe, args.memory_mib)
        return
    run(rounds=args.rounds, results=args.results)


def run(*, rounds: int, results: Path | None) -> None:
    from photo_pipeline_cdk.config import ENVIRONMENTS

    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, tuple[str, Path]] = {}
        for name, (label, make) in WORST.items():
            try:
                data = make()
            except (ImportError, OSError, KeyError) as exc:  # e.g. no HEIF encoder in this build
                print(f"{name}: skipped ({exc})")
                continue
            path = Path(tmp) / f"worst.{name if name != 'jpeg' else 'jpg'}"
            path.write_bytes(data)
            files[name] = (label, path)
        order = [None, *files] * rounds
        import random

        random.shuffle(order)  # interleaved so a noisy neighbour slows every image alike
        samples: dict[str | None, list[dict[str, Any]]] = {}
        for name in order:
            path = files[name][1] if name else None
            samples.setdefault(name, []).append(_probe(path, None))
        _print_table(files, samples, ENVIRONMENTS, results)


def _median(rows: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in rows)
    return values[len(values) // 2]


def _print_table(
    files: dict[str, tuple[str, Path]], samples: Any, environments: Any, results: Path | None
) -> None:
    baseline = _median(samples[None], "peak_mib")
    print(f"\nbaseline (interpreter, boto3, Powertools, Pillow imported): {baseline:.0f} MiB peak RSS")
    print("estimate: the worker's header-only estimate (photo_contract.budget) + baseline + source bytes\n")
    rows = []
    for name, (label, path) in files.items():
        with Image.open(path) as header:
            estimate = working_set_bytes(str(header.format), header.mode, header.size) / MIB
        rows.append(
            {
                "format": name,
                "image": label,
                "estimate_mib": estimate + baseline + path.stat().st_size / MIB,
                "source_mib": path.stat().st_size / MIB,
                "peak_mib": _median(samples[name], "peak_mib"),
                "cpu_seconds": _median(samples[name], "cpu_seconds"),
                "outcome": samples[name][0]["outcome"],
            }
        )
    header = (
        f"{'format':<6} {'image':<42} {'source':>8} {'estimate':>9} {'peak RSS':>9} {'CPU s':>6}  outcome"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['format']:<6} {row['image']:<42} {row['source_mib']:>6.1f}Mi {row['estimate_mib']:>7.0f}Mi "
            f"{row['peak_mib']:>7.0f}Mi "
            f"{row['cpu_seconds']:>6.2f}  {row['outcome']}"
        )
    worst_peak = max(r["peak_mib"] for r in rows)
    worst_cpu = max(r["cpu_seconds"] for r in rows)
    print(
        f"\n{'env':<8} {'memory':>7} {'margin':>8} {'worst s':>8} {'batch':>6} {'batch s':>8} {'timeout':>8}  fits"
    )
    for env, config in environments.items():
        memory = config.resize.memory_mib
        slowdown = max(1.0, LAMBDA_MB_PER_VCPU / memory)
        worst_seconds = worst_cpu * slowdown
        batch_seconds = worst_seconds * config.resize.batch_size
        fits = worst_peak < memory and batch_seconds < config.resize.timeout_seconds
        print(
            f"{env:<8} {memory:>5}MB {memory - worst_peak:>6.0f}Mi {worst_seconds:>8.1f} "
            f"{config.resize.batch_size:>6} {batch_seconds:>8.1f} {config.resize.timeout_seconds:>7}s  "
            f"{'yes' if fits else 'NO'}"
        )
    if results is not None:
        results.write_text(json.dumps({"measured": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
