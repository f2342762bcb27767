"""A stand-in for the CloudFront distribution: ``GET /media/<key>`` on the local server reads the private
emulated media bucket with credentials (as CloudFront reads the real one through Origin Access Control)
and answers with the object's own Content-Type and Cache-Control. The API builds variant URLs from the
same base either way, so the code that makes URLs is the code deployed."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from fastapi import FastAPI
from fastapi.responses import Response

CDN_PATH = "/media/"


def add_local_cdn(app: FastAPI, *, s3: Any, bucket: str) -> None:
    app.state.public_prefixes.add(CDN_PATH)

    @app.get(CDN_PATH + "{key:path}", include_in_schema=False)
    def media(key: str) -> Response:
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
        except ClientError:
            return Response(status_code=404)
        headers = {"Cache-Control": found.get("CacheControl", "no-cache")}
        return Response(found["Body"].read(), media_type=found.get("ContentType"), headers=headers)
