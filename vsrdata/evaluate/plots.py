"""The report's figures (matplotlib, Agg backend), saved as PNG next to report.html."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np


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
        stem = f"{number:03d}-{_safe(cid)}"
        entry: dict[str, str] = {}
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
            images = view["images"]
            fig, axes = plt.subplots(1, len(images), figsize=(2.4 * len(images), 2.8))
            for ax, (name, img) in zip(np.atleast_1d(axes), images.items(), strict=True):
                ax.imshow(img, interpolation="nearest")
                score = view["psnr"].get(name)
                ax.set_title(name if score is None else f"{name}\n{score:.2f} dB", fontsize=8)
                ax.axis("off")
            fig.suptitle(f"{label} frame ({view['frame']})", fontsize=9)
            fig.tight_layout()
            fig.savefig(folder / f"{stem}.{label}.png", dpi=100)
            plt.close(fig)
            entry[label] = f"{stem}.{label}.png"
        figures["clips"][cid] = entry
    return figures
