"""A stand-in for the CloudFront distribution: ``GET /media/<key>`` on the local server reads the private
emulated media bucket with credentials (as CloudFront reads the real one through Origin Access Control)
and answers with the object's own Content-Type and Cache-Control. Like an edge it keeps what it served
(variants are immutable) until an invalidation of the emulated distribution covers the path: a deleted
image's URLs stop serving by the same mechanism as in AWS. The API builds variant URLs from the same
base either way, so the code that makes URLs is the code deployed."""

from __future__ import annotations

import fnmatch
import threading
from typing import Any

from botocore.exceptions import ClientError
from fastapi import FastAPI
from fastapi.responses import Response

CDN_PATH = "/media/"


class EdgeCache:
    """What the edge holds, by key, and the distribution's invalidations applied to it."""

    def __init__(self, cloudfront: Any, distribution_id: str) -> None:
        self._cloudfront = cloudfront
        self._distribution_id = distribution_id
        self._entries: dict[str, tuple[bytes, str | None, str]] = {}
        self._applied: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str | None, str] | None:
        with self._lock:
            if key not in self._entries:
                return None  # a miss goes to the origin: no invalidation can matter to it
        self._apply_invalidations()
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, entry: tuple[bytes, str | None, str]) -> None:
        with self._lock:
            self._entries[key] = entry

    def _apply_invalidations(self) -> None:
        listed = self._cloudfront.list_invalidations(DistributionId=self._distribution_id)["InvalidationList"]
        for item in listed.get("Items", []):
            if item["Id"] in self._applied:
                continue
            batch = self._cloudfront.get_invalidation(DistributionId=self._distribution_id, Id=item["Id"])
            paths = batch["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", [])
            with self._lock:
                for key in [k for k in self._entries if any(fnmatch.fnmatchcase(f"/{k}", p) for p in paths)]:
                    del self._entries[key]
                self._applied.add(item["Id"])


def add_local_cdn(app: FastAPI, *, s3: Any, bucket: str, cloudfront: Any, distribution_id: str) -> None:
    app.state.public_prefixes.add(CDN_PATH)
    edge = EdgeCache(cloudfront, distribution_id)

    @app.get(CDN_PATH + "{key:path}", include_in_schema=False)
    def media(key: str) -> Response:
        cached = edge.get(key)
        if cached is None:
            try:
                found = s3.get_object(Bucket=bucket, Key=key)
            except ClientError:
                return Response(status_code=404)
            cached = (found["Body"].read(), found.get("ContentType"), found.get("CacheControl", "no-cache"))
            edge.put(key, cached)
        body, content_type, cache_control = cached
        return Response(body, media_type=content_type, headers={"Cache-Control": cache_control})
