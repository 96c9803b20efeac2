"""The bicubic rows of the published VSR tables, reproduced (issue 15).

For every standard test set found under ``--root`` (``Vid4/``, ``REDS4/`` or ``REDS/``,
``UDM10/``, ``SPMCS/``, ``vimeo_septuplet/``, each in its official layout; see
``vsrdata.evaluate.benchmarks``), scores bicubic with the set's published protocol and
degradation(s) and prints it beside the published row. ``--stand-ins`` first writes
synthetic frame folders in those layouts under bench-out/ (smaller frames, the real clip
names and counts where they are fixed) and scores them: that shows the whole path runs, and
its numbers are not comparable to the published ones.

    python bench/tables.py --root /data/vsr-test-sets
    python bench/tables.py --stand-ins
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import OUT, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import write_clip
from vsrdata.evaluate.benchmarks import BENCHMARKS, benchmark
from vsrdata.evaluate.protocol import make_protocol
from vsrdata.evaluate.run import EvalConfig, evaluate

# Bicubic ×4 as BasicVSR (Chan et al., CVPR 2021) Table 1 reports it: (PSNR, SSIM).
PUBLISHED = {
    ("reds4", "bi"): (26.14, 0.7292),
    ("vimeo90k-t", "bi"): (31.32, 0.8684),
    ("vid4", "bi"): (23.78, 0.6347),
    ("udm10", "bd"): (28.47, 0.8253),
    ("vimeo90k-t", "bd"): (31.30, 0.8687),
    ("vid4", "bd"): (21.80, 0.5246),
}
FOLDERS = {"vid4": ("Vid4",), "reds4": ("REDS4", "REDS"), "udm10": ("UDM10",),
           "spmcs": ("SPMCS",), "vimeo90k-t": ("vimeo_septuplet",)}  # fmt: skip


def stand_ins(root: Path) -> Path:
    """Synthetic frame folders in each set's official layout (not the sets' content)."""
    if (root / ".done").exists():
        return root
    for i, (clip, n) in enumerate(BENCHMARKS["vid4"].clips.items()):
        write_clip(root / "Vid4" / "GT" / clip, int(n or 0), size=(180, 144), seed=i)
    for i, clip in enumerate(("000", "011", "015", "020")):
        write_clip(root / "REDS" / "train_sharp" / clip, 100, size=(160, 96), seed=10 + i)
    for i in range(10):
        write_clip(root / "UDM10" / "GT" / f"clip{i:02d}", 8, size=(160, 96), seed=20 + i)
    for i in range(30):
        write_clip(root / "SPMCS" / "GT" / f"seq{i:02d}", 4, size=(160, 96), seed=40 + i)
    vimeo = root / "vimeo_septuplet"
    ids = [f"{i // 4 + 1:05d}/{i % 4 + 1:04d}" for i in range(20)]
    for i, clip in enumerate(ids):
        folder = vimeo / "sequences" / clip
        write_clip(folder, 7, size=(112, 64), seed=80 + i, name="f{:d}.png")
        for t in range(7):
            (folder / f"f{t}.png").rename(folder / f"im{t + 1}.png")
    (vimeo / "sep_testlist.txt").write_text("\n".join(ids) + "\n")
    (root / ".done").write_text("")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path)
    ap.add_argument("--stand-ins", action="store_true")
    args = ap.parse_args()
    root = stand_ins(OUT / "standin-sets") if args.stand_ins else args.root
    if root is None:
        ap.error("give --root DIR or --stand-ins")
    rows = []
    for name, folders in FOLDERS.items():
        found = next((root / f for f in folders if (root / f).is_dir()), None)
        if found is None:
            continue
        bench = benchmark(name)
        for degradation in ("bi", "bd"):
            published = PUBLISHED.get((name, degradation))
            if published is None and not (name == "spmcs" and degradation == "bi"):
                continue
            protocol = make_protocol(bench.protocols[0])
            doc = evaluate(EvalConfig(videos=str(found), benchmark=name, scale=4,
                                      degradation=degradation), protocol)  # fmt: skip
            psnr, ssim = doc["overall"]["psnr:bicubic"], doc["overall"]["ssim:bicubic"]
            frames = doc["overall"]["frames"]
            pub = f"{published[0]:.2f} / {published[1]:.4f}" if published else "-"
            delta = f"{psnr - published[0]:+.2f}" if published else "-"
            rows.append([bench.title, degradation.upper(), protocol.name, frames,
                         f"{psnr:.2f} / {ssim:.4f}", pub, delta])  # fmt: skip
    title = "bicubic rows (stand-ins)" if args.stand_ins else "bicubic rows"
    report(title, ["set", "degradation", "protocol", "frames", "vsrdata PSNR / SSIM",
                   "published", "PSNR difference"], rows,
           {"root": str(root), "stand-ins": args.stand_ins})  # fmt: skip


if __name__ == "__main__":
    main()
