"""The README is a front door (150 lines at most) and every link in it and in docs/ leads somewhere."""

from __future__ import annotations

import re

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_readme_is_at_most_150_lines() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= 150


def test_every_relative_link_resolves() -> None:
    broken: list[str] = []
    for page in PAGES:
        for target, _ in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} → {target}")
    assert not broken


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    unlinked = [p.name for p in PAGES[1:] if f"(docs/{p.name}" not in readme]
    assert not unlinked


def test_anchors_into_docs_exist() -> None:
    for page in PAGES:
        for target, anchor in LINK.findall(page.read_text()):
            if not anchor or re.match(r"[a-z]+:", target):
                continue
            headings = re.findall(r"(?m)^#+ (.*)$", (page.parent / target).read_text())
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor[1:] in slugs, (page.name, target, anchor)
