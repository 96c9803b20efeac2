"""TensorFlow's oneDNN CPU kernels on and off, for every model, alternating in one run.

TensorFlow turns oneDNN on by itself only on CPUs with AVX-512 VNNI, BF16 or AMX; vsrdata
sets ``TF_ENABLE_ONEDNN_OPTS=1`` (unless the environment says otherwise) before TensorFlow is
imported. This compares the two settings where the choice matters, for every trainable model
(``--models`` to choose): training samples/s (the model's own step, global batch 4 of 32×32 LR
patches, one device) and inference frames/s (one ``--frame`` LR window, whole). Each setting
runs in its own process (the switch is read once, at import), the order flipping each round;
the table gives the medians over ``--rounds`` and the ratio on / off (> 1: oneDNN is faster).
On a CPU where TensorFlow enables oneDNN itself both columns measure the same thing.

    python bench/onednn.py [--rounds 3] [--models a,b] [--frame 72x90]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import report

HERE = Path(__file__).resolve().parent


def worker(models: list[str], frame: tuple[int, int]) -> None:
    """One process, one setting: the rates of every model, as one JSON line on stdout."""
    from zoo import rates

    from vsrdata.common.quiet import onednn_enabled

    out = {"onednn": onednn_enabled(), "rates": {}}
    for name in models:
        _, train, infer = rates(name, 1, frame)
        out["rates"][name] = [train, infer]
        print(f"  {name}: {train:.3g} samples/s, {infer:.3g} frames/s", file=sys.stderr,
              flush=True)  # fmt: skip
    print(json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="")
    parser.add_argument("--frame", default="72x90", help="LR window, HEIGHTxWIDTH")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from vsrdata.vsr_models.registry import trainable

    models = args.models.split(",") if args.models else trainable()
    height, width = (int(v) for v in args.frame.split("x"))
    if args.worker:
        worker(models, (height, width))
        return
    runs: dict[str, list[dict[str, list[float]]]] = {"1": [], "0": []}
    seen = {}
    for round_ in range(args.rounds):
        for setting in ("1", "0") if round_ % 2 == 0 else ("0", "1"):
            print(f"round {round_ + 1}/{args.rounds}, TF_ENABLE_ONEDNN_OPTS={setting}",
                  file=sys.stderr, flush=True)  # fmt: skip
            env = os.environ | {"TF_ENABLE_ONEDNN_OPTS": setting}
            cmd = [sys.executable, str(HERE / "onednn.py"), "--worker",
                   "--models", ",".join(models), "--frame", args.frame]  # fmt: skip
            res = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, text=True, check=True)
            doc = json.loads(res.stdout.strip().splitlines()[-1])
            seen[setting] = doc["onednn"]
            runs[setting].append(doc["rates"])
    rows = []
    for name in models:
        on = [statistics.median(r[name][i] for r in runs["1"]) for i in (0, 1)]
        off = [statistics.median(r[name][i] for r in runs["0"]) for i in (0, 1)]
        rows.append([name, round(on[0], 3), round(off[0], 3), round(on[0] / off[0], 2),
                     round(on[1], 3), round(off[1], 3), round(on[1] / off[1], 2)])  # fmt: skip
    report("oneDNN on and off", ["model", "train on", "train off", "train on/off",
                                 "infer on", "infer off", "infer on/off"], rows,
           {"setup": f"batch 4 of 32x32 LR for training (samples/s); one {width}x{height} LR "
                     "window for inference (frames/s); medians over the rounds",
            "oneDNN in the worker": seen, "rounds": args.rounds})  # fmt: skip


if __name__ == "__main__":
    main()
