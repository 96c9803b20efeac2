"""The CLI as a user runs it: synth, build, info, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

from vsrdata import __version__


def vsrdata(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vsrdata.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_synth_writes_decodable_clips_with_sidecars(tmp_path: Path) -> None:
    res = vsrdata("synth", str(tmp_path / "a"), "--clips", "4", "--seconds", "1",
                  "--size", "160x120", "--seed", "3", "--cuts", "1")  # fmt: skip
    assert res.returncode == 0, res.stderr
    videos = sorted((tmp_path / "a").rglob("*.mp4"))
    assert {v.parent.name for v in videos} == {"pan", "zoom", "rotate", "objects"}
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        n = 0
        while cap.read()[0]:
            n += 1
        meta = json.loads(video.with_suffix(".motion.json").read_text())
        assert n == meta["frames"] == 25 and len(meta["motion_boxes"]) == 25
        assert meta["cuts"] == [12] and meta["size"] == [160, 120]
        assert cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 160
    again = vsrdata("synth", str(tmp_path / "b"), "--clips", "4", "--seconds", "1",
                    "--size", "160x120", "--seed", "3", "--cuts", "1")  # fmt: skip
    assert again.returncode == 0
    for video in videos:
        twin = tmp_path / "b" / video.relative_to(tmp_path / "a")
        assert twin.read_bytes() == video.read_bytes(), "same seed, same bytes"


def test_synth_rejects_odd_sizes(tmp_path: Path) -> None:
    res = vsrdata("synth", str(tmp_path), "--size", "161x120")
    assert res.returncode == 2 and "even" in res.stderr and "Traceback" not in res.stderr


def test_build_then_info(clips_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    args = ["--patch", "16", "--split", "0.5,0.25,0.25", "--format", "parquet", "--group-size", "4"]
    res = vsrdata("build", str(clips_dir), "--out", str(out), "--workers", "2", *args)
    assert res.returncode == 0, res.stderr
    assert "samples by split and category" in res.stdout and "frames/s" in res.stdout
    assert "frames" in res.stderr  # the progress bars
    assert not list(out.rglob("*.tfrecord"))
    info = vsrdata("info", str(out))
    assert info.returncode == 0, info.stderr
    for word in ("train", "val", "test", "pan", "zoom", "rotate", "objects", "parquet"):
        assert word in info.stdout
    again = vsrdata("build", str(clips_dir), "--out", str(out), *args)
    assert again.returncode == 0 and "resuming: 4 of 4 units done" in again.stderr


def test_info_on_a_folder_that_is_no_dataset(tmp_path: Path) -> None:
    res = vsrdata("info", str(tmp_path))
    assert res.returncode == 1
    assert "not a vsrdata dataset" in res.stderr and "Traceback" not in res.stderr


def test_version_and_help() -> None:
    assert __version__ in vsrdata("--version").stdout
    res = vsrdata("--help")
    assert res.returncode == 0
    for command in ("synth", "build", "info"):
        assert command in res.stdout
