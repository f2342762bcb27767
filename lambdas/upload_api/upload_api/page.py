"""The local upload page: pick or drop up to 20 photos, upload each straight to S3, watch them resize."""

from __future__ import annotations

import json
from importlib.resources import files


def upload_page(token: str) -> str:
    template = files("upload_api").joinpath("upload.html").read_text(encoding="utf-8")
    return template.replace("__TOKEN_JSON__", json.dumps(token))
