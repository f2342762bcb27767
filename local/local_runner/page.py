"""The local upload page: pick or drop up to 20 photos, upload each straight to S3, watch them resize."""

from __future__ import annotations

import json
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def upload_page(token: str) -> str:
    """The page's HTML with a token for the demo user baked in (a local convenience, never deployed)."""
    template = files("local_runner").joinpath("upload.html").read_text(encoding="utf-8")
    return template.replace("__TOKEN_JSON__", json.dumps(token))


def add_upload_page(app: FastAPI, token: str) -> None:
    """Serve the page at ``/`` of the app the local runner built: the deployed app has no such route."""
    page = upload_page(token)
    app.state.public_paths.add("/")  # the page itself needs no token (it carries one)

    @app.get("/", include_in_schema=False)
    def upload_page_route() -> HTMLResponse:
        return HTMLResponse(page)
