"""The report's figures (matplotlib, Agg backend), saved as PNG next to report.html."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

SHOWN_CLIPS = 50  # past this many clips, figures only for those evaluate() kept views of


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def write_plots(doc: dict[str, Any], views: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Gain per category, per-frame PSNR per clip, worst/best crops; returns file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = doc["models"]
    figures: dict[str, Any] = {"clips": {}}
    learned = models[1:]
    if learned:
        fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(doc["categories"]) + 2), 3))
        names = [c["category"] for c in doc["categories"]]
        width = 0.8 / len(learned)
        for i, m in enumerate(learned):
            gains = [c[f"gain:{m}"] for c in doc["categories"]]
            ax.bar(np.arange(len(names)) + i * width, gains, width, label=m)
        ax.set_xticks(np.arange(len(names)) + width * (len(learned) - 1) / 2, names)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("PSNR-Y gain over bicubic (dB)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(folder / "gain_by_category.png", dpi=100)
        plt.close(fig)
        figures["gain"] = "gain_by_category.png"
    for number, clip in enumerate(doc["clips"]):
        cid, frames = clip["clip_id"], clip["per_frame"]
        if len(doc["clips"]) > SHOWN_CLIPS and not views.get(cid):
            continue  # a large set: only the clips the report shows get figures
        stem = f"{number:03d}-{_safe(cid)}"
        entry: dict[str, Any] = {}
        fig, ax = plt.subplots(figsize=(6, 2.6))
        for m in models:
            ax.plot(frames["frame"], frames[f"psnr:{m}"], label=m, linewidth=1)
        ax.set_xlabel("frame")
        ax.set_ylabel("PSNR-Y (dB)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(folder / f"{stem}.psnr.png", dpi=100)
        plt.close(fig)
        entry["curve"] = f"{stem}.psnr.png"
        for label, view in views.get(cid, {}).items():
            entry[label] = write_crops(view, folder, f"{stem}.{label}")
        figures["clips"][cid] = entry
    return figures


def write_crops(view: dict[str, Any], folder: Path, stem: str) -> dict[str, Any]:
    """One frame's crops, every column at native resolution, and the whole frames they come
    from (PNG, lossless); what the report shows and links to."""
    import cv2

    y, x, side = view["box"]
    crops = []
    for i, (name, full) in enumerate(view["full"].items()):
        base = f"{stem}.{i}-{_safe(name)}"
        for suffix, img in ((".crop.png", view["images"][name]), (".png", full)):
            bgr = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(folder / f"{base}{suffix}"), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        crops.append({"name": name, "psnr": view["psnr"].get(name), "crop": f"{base}.crop.png",
                      "full": f"{base}.png"})  # fmt: skip
    return {"frame": view["frame"], "box": [y, x, side], "crops": crops}
