"""A real browser (Debian's Chromium, headless) uses the upload page: thumbnails appear, a non-image is
refused alone, more than 20 files are announced, and the page says when everything is done."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from local_runner.pipeline import LocalPipeline
from PIL import Image

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            "Chromium and ChromeDriver are required for this test and were not found: "
            "`make setup` installs Debian's chromium and chromium-driver (apt-get, as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.save_screenshot(str(tmp_path / "upload-page.png"))
        driver.quit()


def _pick(driver: Any, pipeline: LocalPipeline, files: list[Path]) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{pipeline.api_url}/")
    driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in files))


def _wait_for_done(driver: Any, seconds: float = 120) -> str:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + seconds
    status = ""
    while time.monotonic() < deadline:
        status = driver.find_element(By.ID, "status").text
        if status.startswith("all done"):
            return str(status)
        time.sleep(0.25)
    raise AssertionError(f"the page never said it was done; status: {status!r}")


def test_photos_get_thumbnails_and_a_non_image_is_refused_alone(
    browser: Any, pipeline: LocalPipeline, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(camera_jpeg("portrait.jpg", (1200, 1800), orientation=2).data)
    halves = Image.new("RGB", (451, 300), (220, 30, 30))  # red left, blue right: a placeholder must show it
    halves.paste((30, 60, 220), (226, 0, 451, 300))
    square = tmp_path / "halves.png"
    halves.save(square)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")

    _pick(browser, pipeline, [portrait, notes, square])

    assert _wait_for_done(browser) == "all done: 2 ready, 0 rejected"
    loaded = browser.execute_script(
        "return [...document.querySelectorAll('img.thumb')].filter(i => i.complete && i.naturalWidth > 0)"
        ".map(i => [i.naturalWidth, i.naturalHeight])"
    )
    assert sorted(map(tuple, loaded)) == [(150, 150), (150, 150)]
    grid = browser.find_element(By.ID, "grid").text
    assert "portrait.jpg — 1200×1800" in grid
    assert "notes.txt: not a photo" in grid
    # The post filled in from the batch call, not from one status call per photo.
    api_paths = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
        ".filter(p => p.startsWith('/v1/'))"
    )
    assert any(path.startswith("/v1/batches/") for path in api_paths)
    assert not any(path.startswith("/v1/images/") for path in api_paths)

    # Each thumbnail sits on its decoded ThumbHash until it loads; the page's decoder gives back the
    # picture's layout (the halves), not just a colour.
    backgrounds = browser.execute_script(
        "return [...document.querySelectorAll('img.thumb')].map(i => i.style.backgroundImage)"
    )
    assert len(backgrounds) == 2 and all(b.startswith('url("data:image/png;base64,') for b in backgrounds)
    width, height, rgba = browser.execute_script(
        "const img = [...document.querySelectorAll('img.thumb')].find(i => i.alt === 'halves.png');"
        "const d = thumbHashToRGBA(Uint8Array.from(atob(img.dataset.placeholder), c => c.charCodeAt(0)));"
        "return [d.w, d.h, Array.from(d.rgba)];"
    )
    assert width == 32 and 20 <= height <= 24  # landscape: ThumbHash keeps the aspect approximately (451:300)
    decoded = Image.frombytes("RGBA", (width, height), bytes(rgba)).convert("RGB")
    left, right = decoded.getpixel((4, height // 2)), decoded.getpixel((27, height // 2))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0], (left, right)
    expected = halves.resize((width, height), Image.Resampling.BOX)
    error = sum(
        abs(a - b)
        for p, q in zip(decoded.get_flattened_data(), expected.get_flattened_data(), strict=True)
        for a, b in zip(p, q, strict=True)
    ) / (width * height * 3)
    assert error < 30, error  # mean absolute error per channel of a ~25-byte approximation


def test_more_than_twenty_files_are_announced_and_twenty_uploaded(
    browser: Any, pipeline: LocalPipeline, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    files = []
    for index in range(23):
        path = tmp_path / f"tiny-{index:02}.png"
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (index * 10, 80, 160)).save(buffer, "PNG")
        path.write_bytes(buffer.getvalue())
        files.append(path)

    _pick(browser, pipeline, files)

    notice = browser.find_element(By.ID, "notice").text
    assert notice == "23 photos picked: a post holds at most 20, so only the first 20 are uploaded"
    assert _wait_for_done(browser) == "all done: 20 ready, 0 rejected"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#grid .card")) == 20
