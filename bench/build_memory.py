"""Peak memory of a build of a 10-second and a 60-second 1080p clip (goal: ratio <= 1.2).

Each build runs in a fresh process (``vsrdata build --workers 1``) and its peak resident set
is read from the kernel when it exits (``wait4`` rusage), so nothing in this script's own
memory counts. Both the crop path (train split) and the full-frame path (test split) are
measured.

    python bench/build_memory.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from _common import OUT, clips, report


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a command run to completion."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed: {' '.join(args)}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", default="train,test", help="train, test or both")
    wanted = parser.parse_args().splits.split(",")
    vsrdata = [sys.executable, "-m", "vsrdata.cli"]
    rows, peaks = [], {}
    for seconds in (10, 60):
        source = clips(f"long{seconds}", clips=1, seconds=float(seconds), size=(1920, 1080),
                       seed=4, categories=("pan",))  # fmt: skip
        for split, shares in (("train", "1,0,0"), ("test", "0,0,1")):
            if split not in wanted:
                continue
            out = OUT / "memory" / f"{seconds}s-{split}"
            shutil.rmtree(out, ignore_errors=True)
            args = [*vsrdata, "build", str(source), "--out", str(out), "--workers", "1",
                    "--split", shares]  # fmt: skip
            mb, dt = peak_rss_mb(args)
            peaks[(seconds, split)] = mb
            rows.append([f"{seconds} s ({seconds * 25} frames)", split, mb, dt])
    for split in wanted:
        rows.append(["ratio 60 s / 10 s", split, peaks[(60, split)] / peaks[(10, split)], ""])
    report(
        "Build memory",
        ["clip", "split", "peak RSS (MB)", "seconds"],
        rows,
        {"clips": "synthetic 1080p H.264 pan, 25 fps; train = motion crops, test = full frames"},
    )


if __name__ == "__main__":
    main()
