"""A real browser (Debian's Chromium, headless) uploads two photos through the page and sees thumbnails."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from local_runner.pipeline import LocalPipeline

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def test_page_uploads_two_photos_and_shows_their_thumbnails(
    pipeline: LocalPipeline, corpus: Path, tmp_path: Path
) -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            "Chromium and ChromeDriver are required for this test and were not found: "
            "`make setup` installs Debian's chromium and chromium-driver (apt-get, as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

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
        driver.get(f"{pipeline.api_url}/")
        photos = [
            corpus / "orientation" / "Portrait_2.jpg",
            corpus / "formats" / "skimage-chelsea_451x300.png",
        ]
        driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in photos))
        deadline = time.monotonic() + 90
        loaded = 0
        while time.monotonic() < deadline:
            loaded = driver.execute_script(
                "return [...document.querySelectorAll('img.thumb')].filter(i => i.complete && i.naturalWidth > 0).length"
            )
            if loaded == 2:
                break
            time.sleep(0.25)
        driver.save_screenshot(str(tmp_path / "upload-page.png"))
        assert loaded == 2, driver.find_element(By.ID, "grid").text
        sizes = driver.execute_script(
            "return [...document.querySelectorAll('img.thumb')].map(i => [i.naturalWidth, i.naturalHeight])"
        )
        assert sorted(map(tuple, sizes)) == [(150, 150), (150, 150)]
        assert "Portrait_2.jpg — 1200×1800" in driver.find_element(By.ID, "grid").text
    finally:
        driver.quit()
