"""The README's screenshots of ``vsrdata serve``, taken in headless Chromium (run ``make
demo`` first: the pages show its dataset, run, report and model).

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import av
import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.serve.server import Server, wait_for  # noqa: E402


def short_clip(src: Path, dst: Path, frames: int = 12, size: tuple[int, int] = (160, 90)) -> None:
    """The first frames of a demo clip at a quarter of its size (DUF takes seconds on it)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i, frame in enumerate(inp.decode(video=0)):
            if i == frames:
                break
            rgb = cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    demo = ROOT / "demo-out"
    work = ROOT / "bench-out" / "screenshots"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    (work / "models").mkdir(parents=True)
    (work / "data").mkdir()
    (work / "data" / "demo-out").symlink_to(demo)
    (work / "models" / "demo-duf16l.keras").symlink_to(demo / "run" / "best.keras")
    clip = work / "street.mp4"
    short_clip(demo / "clips" / "pan" / "pan_008.mp4", clip)
    server = Server(work / "data", "--models", str(work / "models")).start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--window-size=1200,900", "--hide-scrollbars"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        base = f"http://127.0.0.1:{server.port}"
        browser.get(base + "/")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#model option"), 30, "models")
        Select(browser.find_element(By.ID, "model")).select_by_value("demo-duf16l.keras")
        picker = browser.find_element(By.ID, "file")
        browser.execute_script("arguments[0].hidden = false;", picker)
        picker.send_keys(str(clip))
        browser.execute_script("arguments[0].hidden = true;", picker)
        browser.find_element(By.ID, "start").click()
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs tr[data-state=running]"),
                 60, "the job to run")  # fmt: skip
        time.sleep(4)
        browser.save_screenshot(str(ROOT / "docs" / "serve-upscale.png"))
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs tr[data-state=done]"),
                 300, "the job to finish")  # fmt: skip
        browser.find_element(By.XPATH, "//button[text()='view']").click()
        Select(browser.find_element(By.ID, "zoom")).select_by_value("2")
        time.sleep(1)
        browser.execute_script("document.getElementById('viewer').scrollIntoView();")
        browser.save_screenshot(str(ROOT / "docs" / "serve-side-by-side.png"))
        browser.get(base + "/train")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr"), 30, "runs")
        browser.find_element(By.XPATH, "//tr[@data-id='demo-out/run']//button").click()
        time.sleep(2)
        browser.set_window_size(1200, 1500)
        browser.save_screenshot(str(ROOT / "docs" / "serve-training.png"))
    finally:
        browser.quit()
        server.stop()


if __name__ == "__main__":
    main()
