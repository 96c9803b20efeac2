"""Peak memory of a build of a 10-second and a 60-second 1080p clip (goal: ratio <= 1.2).

Each build runs in a fresh process (``vsrdata build --workers 1``), which reports the peak
resident set of its own address space (VmHWM) as it exits, so nothing in this script's own
memory counts. Both the crop path (train split) and the full-frame path (test split) are
measured.

    python bench/build_memory.py
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from _common import OUT, clips, report

# Runs the CLI and, at exit, writes the process's VmHWM: the peak resident set of its own
# address space. (wait4's ru_maxrss would also count the pages a forked child shares with
# this script before exec, i.e. this script's own size.)
WRAPPER = """
import atexit, runpy, sys
path = sys.argv[1]
def _hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            open(path, 'w').write(line.split()[1])
atexit.register(_hwm)
sys.argv = ['vsrdata', *sys.argv[2:]]
runpy.run_module('vsrdata.cli', run_name='__main__')
"""


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of ``vsrdata ARGS`` run to completion in a new process."""
    report_file = OUT / "memory" / "hwm.txt"
    report_file.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cmd = [sys.executable, "-c", WRAPPER, str(report_file), *args]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build failed: {' '.join(args)}\n{done.stderr}")
    return int(report_file.read_text()) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", default="train,test", help="train, test or both")
    wanted = parser.parse_args().splits.split(",")
    rows, peaks = [], {}
    for seconds in (10, 60):
        source = clips(f"long{seconds}", clips=1, seconds=float(seconds), size=(1920, 1080),
                       seed=4, categories=("pan",))  # fmt: skip
        for split, shares in (("train", "1,0,0"), ("test", "0,0,1")):
            if split not in wanted:
                continue
            out = OUT / "memory" / f"{seconds}s-{split}"
            shutil.rmtree(out, ignore_errors=True)
            args = ["build", str(source), "--out", str(out), "--workers", "1", "--split", shares]
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
