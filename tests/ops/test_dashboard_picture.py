"""The dashboard picture of docs/operations.md is drawn from the prod snapshot's own dashboard definition and is
current: redrawing it gives the committed image."""

from __future__ import annotations

import json

from photo_ops.dashboard_picture import dashboard_body, draw, widgets
from PIL import Image, ImageChops

from tests.conftest import REPO

SNAPSHOT = REPO / "tests" / "stacks" / "snapshots" / "prod" / "Operations.template.json"
PICTURE = REPO / "docs" / "dashboard.png"


def test_the_picture_is_the_snapshots_layout() -> None:
    grid = widgets(dashboard_body(json.loads(SNAPSHOT.read_text())))
    assert sum(w.kind == "text" for w in grid) == 5  # API (Lambda), API (Fargate), worker, queue, CDN
    assert all(w.title for w in grid) and all(w.x >= 0 and w.x + w.width <= 24 for w in grid)
    drawn = draw(grid)
    committed = Image.open(PICTURE).convert("RGB")
    assert drawn.size == committed.size
    assert ImageChops.difference(drawn, committed).getbbox() is None, "run: make dashboard-picture"
