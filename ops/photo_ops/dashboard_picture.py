"""A picture of an environment's dashboard layout, drawn from the synthesized template's own
``DashboardBody`` (there is no AWS console here): one box per widget where CloudWatch places it, with
its title, headings as bands, and a red line in each graph that draws an alarm threshold.

    python -m photo_ops.dashboard_picture tests/stacks/snapshots/prod/Operations.template.json docs/dashboard.png
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

CELL_WIDTH, CELL_HEIGHT = 48, 22  # pixels per CloudWatch grid unit (24 units wide)


@dataclass(frozen=True)
class Widget:
    kind: str  # "metric" or "text"
    x: int
    y: int
    width: int
    height: int
    title: str
    thresholds: int  # alarm or limit lines drawn on it


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's JSON, its CloudFormation tokens replaced by placeholders (they sit inside strings)."""
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, str):
        return dict(json.loads(body))
    parts = body["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts)))


def widgets(body: dict[str, Any]) -> list[Widget]:
    out = []
    for w in body["widgets"]:
        props = w.get("properties", {})
        title = props.get("title") or props.get("markdown", "").lstrip("# ").strip()
        lines = props.get("annotations", {}).get("horizontal", [])
        out.append(Widget(w["type"], w["x"], w["y"], w["width"], w["height"], title, len(lines)))
    return out


def draw(grid: list[Widget]) -> Image.Image:
    rows = max(w.y + w.height for w in grid)
    image = Image.new("RGB", (24 * CELL_WIDTH + 1, rows * CELL_HEIGHT + 1), "white")
    pen = ImageDraw.Draw(image)
    for w in grid:
        box = (
            w.x * CELL_WIDTH,
            w.y * CELL_HEIGHT,
            (w.x + w.width) * CELL_WIDTH,
            (w.y + w.height) * CELL_HEIGHT,
        )
        if w.kind == "text":
            pen.rectangle(box, fill="#232f3e")
            pen.text((box[0] + 8, box[1] + 5), w.title, fill="white")
            continue
        pen.rectangle(box, fill="#f4f6f8", outline="#8899aa")
        pen.text((box[0] + 6, box[1] + 4), w.title, fill="black")
        # A stand-in line chart, and the threshold line(s) in red where the widget draws them.
        left, top, right, bottom = box[0] + 10, box[1] + 24, box[2] - 10, box[3] - 10
        pen.line([(left, bottom), (left, top)], fill="#8899aa")
        pen.line([(left, bottom), (right, bottom)], fill="#8899aa")
        for index in range(w.thresholds):
            y = top + (bottom - top) * (index + 1) // (w.thresholds + 2)
            pen.line([(left, y), (right, y)], fill="#d13212", width=2)
    return image


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    template, out = Path(args[0]), Path(args[1])
    grid = widgets(dashboard_body(json.loads(template.read_text())))
    out.parent.mkdir(parents=True, exist_ok=True)
    draw(grid).save(out)
    print(
        f"{out}: {sum(w.kind == 'metric' for w in grid)} graphs in {sum(w.kind == 'text' for w in grid)} rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
