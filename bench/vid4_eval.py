"""``vsrdata eval`` of a Vid4-sized test set with DUF-16L, end to end (issue 10).

Issue 10 measured 21 minutes for ``vsrdata eval`` of Vid4 with two DUF-16L models here. This
writes a stand-in with Vid4's layout, clip names, frame counts and frame sizes (calendar
720×576 ×41, city 704×576 ×34, foliage 720×480 ×49, walk 720×480 ×47: 171 frames; synthetic
content, so the PSNR means nothing) and times the evaluation of one DUF-16L model (random
weights, saved as a .keras file with its manifest) against bicubic, under Vid4's published
protocol, through the same ``evaluate`` that the CLI runs: reading, degrading, the model's
windows, the metrics and the report.

    python bench/vid4_eval.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import OUT, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import write_clip
from vsrdata.evaluate.benchmarks import BENCHMARKS

SIZES = {"calendar": (720, 576), "city": (704, 576), "foliage": (720, 480), "walk": (720, 480)}


def stand_in(root: Path) -> Path:
    if not (root / ".done").exists():  # the clip names and frame counts vsrdata checks
        for i, (clip, n) in enumerate(BENCHMARKS["vid4"].clips.items()):
            write_clip(root / "Vid4" / "GT" / clip, int(n or 0), size=SIZES[clip], seed=i)
        (root / ".done").write_text("")
    return root / "Vid4"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tile", type=int, default=0)
    args = parser.parse_args()
    import tensorflow as tf

    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.run import EvalConfig, evaluate
    from vsrdata.vsr_models.manifest import save_model
    from vsrdata.vsr_models.registry import build_model

    tf.config.threading.set_intra_op_parallelism_threads(os.cpu_count() or 1)
    root = stand_in(OUT / "vid4-fullsize")
    model = OUT / "duf-16l-random.keras"
    if not model.exists():
        save_model(build_model("duf-16l", 4), model, {"model": "duf-16l", "scale": 4})
    config = EvalConfig(videos=str(root), benchmark="vid4", models=(str(model),), scale=4,
                        tile=args.tile)  # fmt: skip
    start = time.perf_counter()
    doc = evaluate(config, make_protocol("standard"))
    seconds = time.perf_counter() - start
    frames = int(doc["overall"]["frames"])
    report(
        "vid4 eval",
        ["case", "frames scored", "seconds", "frames/s"],
        [["DUF-16L and bicubic, Vid4 sizes", frames, seconds, frames / seconds]],
        {"load average at start": round(os.getloadavg()[0], 2), "tile": args.tile},
    )


if __name__ == "__main__":
    main()
