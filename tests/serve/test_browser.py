"""The upscale page in a real browser: headless Chromium (Debian's ``chromium`` with its
``chromedriver``, driven by Selenium) uploads a short clip through the file picker, follows
its progress, opens the side-by-side view and downloads the result, whose size and frame
count are checked. ``VSRDATA_SCREENSHOTS=DIR`` keeps a screenshot of each page there."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.serve.server import Server, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (make test installs them)",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(arg)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(tmp_path / "downloads"),
        "download.prompt_for_download": False,
    })  # fmt: skip
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("VSRDATA_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


@pytest.mark.slow
def test_upload_progress_side_by_side_and_download_in_chromium(
    browser: Any, tmp_path: Path, clip: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.tiny_model import build_tiny  # noqa: F401  (registers tiny-test)
    from vsrdata.vsr_models.manifest import save_model
    from vsrdata.vsr_models.registry import build_model

    models = tmp_path / "models"
    save_model(build_model("tiny-test", 4), models / "tiny.keras",
               {"model": "tiny-test", "scale": 4, "frames": 7, "dataset": "synthetic",
                "steps": 0})  # fmt: skip
    server = Server(tmp_path / "data", "--models", str(models)).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        browser.get(base + "/")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#model option"), 30, "models")
        select = Select(browser.find_element(By.ID, "model"))
        assert {o.get_attribute("value") for o in select.options} >= {"bicubic-x4", "tiny.keras"}
        select.select_by_value("tiny.keras")
        assert "trained on synthetic" in browser.find_element(By.ID, "model-info").text
        picker = browser.find_element(By.ID, "file")
        browser.execute_script("arguments[0].hidden = false;", picker)
        picker.send_keys(str(clip))
        assert clip.name in browser.find_element(By.ID, "chosen").text
        browser.find_element(By.ID, "start").click()

        seen: set[str] = set()

        def finished() -> bool:
            states = browser.execute_script(
                "return [...document.querySelectorAll('#jobs tbody tr')].map(r => r.dataset.state);"
            )
            seen.update(states)
            return bool(states) and states[0] in ("done", "failed")

        wait_for(finished, 120, "the job to finish on the page")
        row = browser.find_element(By.CSS_SELECTOR, "#jobs tbody tr")
        assert row.get_attribute("data-state") == "done", row.text
        assert seen & {"queued", "running"}  # the page showed the job before it was done
        assert row.find_element(By.CSS_SELECTOR, "td.frames").text == "12 / 12"
        screenshot(browser, "serve-upscale.png")

        row.find_element(By.XPATH, ".//button[text()='view']").click()
        width = wait_for(lambda: browser.execute_script(
            "const i = document.getElementById('img-model'); return i.complete && i.naturalWidth;"
        ), 30, "the side-by-side images")  # fmt: skip
        assert width == 256  # 64 px wide, x4
        browser.execute_script("const s = document.getElementById('slider'); s.value = 25;"
                               "s.dispatchEvent(new Event('input'));")  # fmt: skip
        clip_path = browser.find_element(By.ID, "img-bicubic").value_of_css_property("clip-path")
        assert "75%" in clip_path
        Select(browser.find_element(By.ID, "zoom")).select_by_value("2")
        assert browser.find_element(By.ID, "img-model").value_of_css_property("width") == "512px"
        screenshot(browser, "serve-side-by-side.png")

        row = browser.find_element(By.CSS_SELECTOR, "#jobs tbody tr")
        job_id = row.get_attribute("data-id")
        row.find_element(By.CSS_SELECTOR, "a.download").click()
        downloads = tmp_path / "downloads"
        path = wait_for(lambda: next((p for p in downloads.glob("*.mp4")), None) if
                        downloads.is_dir() else None, 60, "the download")  # fmt: skip
        served = server.data / "results" / f"{job_id}.mp4"
        assert path.name == "holiday_clip_x4.mp4"
        assert path.stat().st_size == served.stat().st_size > 0
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.width == 256
            assert sum(1 for _ in container.decode(video=0)) == 12

        browser.get(base + "/train")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#run-model option"), 30,
                 "the training page")  # fmt: skip
        offered = browser.find_elements(By.CSS_SELECTOR, "#run-model option")
        assert "tiny-test" in [o.text for o in offered]
        screenshot(browser, "serve-training.png")
    finally:
        server.stop()
