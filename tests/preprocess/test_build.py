"""The whole build: determinism across engines, resume after SIGKILL, bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import run_cli, small_config
from vsrdata.common.progress import Event, Item, Tracker
from vsrdata.errors import UsageError
from vsrdata.preprocess.build import build
from vsrdata.preprocess.synth import synth_clip
from vsrdata.preprocess.units import UNITS_DIR, split_of
from vsrdata.preprocess.video import discover
from vsrdata.shards import iter_samples, load_index


def dataset_files(root: Path) -> dict[str, bytes]:
    """Every file a reader or a user sees (not the per-run report or the work folder)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and UNITS_DIR not in p.parts and p.name != "build_report.json"
    }


def assert_same_dataset(a: Path, b: Path) -> None:
    fa, fb = dataset_files(a), dataset_files(b)
    assert sorted(fa) == sorted(fb)
    different = [name for name in fa if fa[name] != fb[name]]
    assert not different, f"files differ: {different}"


def test_splits_are_by_clip_and_deterministic(built: Path) -> None:
    index = load_index(built)
    seen: dict[str, str] = {}
    for split in index["splits"]:
        for s in iter_samples(built, split, decode=False):
            assert seen.setdefault(s["clip_id"], split) == split  # no clip in two splits
            assert split_of(s["clip_id"], (0.5, 0.25, 0.25)) == split
    ids = [s["sample_id"] for sp in index["splits"] for s in iter_samples(built, sp, decode=False)]
    assert len(ids) == len(set(ids))


def test_stratified_splits_hold_every_category() -> None:
    from vsrdata.preprocess.units import assign_splits, stratified_counts
    from vsrdata.preprocess.video import ClipRef

    assert stratified_counts(4, (0.5, 0.25, 0.25)) == [2, 1, 1]
    assert stratified_counts(3, (0.8, 0.1, 0.1)) == [1, 1, 1]  # one each while clips suffice
    assert stratified_counts(2, (0.6, 0.2, 0.2)) == [1, 1, 0]
    assert stratified_counts(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert stratified_counts(5, (1.0, 0.0, 0.0)) == [5, 0, 0]
    clips = [ClipRef(f"{cat}/{i}.mp4", "", "video", cat) for cat in "abcd" for i in range(4)]
    cfg = small_config("src", "out", split=(0.5, 0.25, 0.25), stratify=True)
    splits = assign_splits(clips, cfg)
    for cat in "abcd":
        mine = [splits[c.clip_id] for c in clips if c.category == cat]
        assert sorted(mine) == ["test", "train", "train", "val"]
    assert assign_splits(list(reversed(clips)), cfg) == splits  # order does not matter
    plain = assign_splits(clips, small_config("src", "out", split=(0.5, 0.25, 0.25)))
    assert plain == {c.clip_id: split_of(c.clip_id, (0.5, 0.25, 0.25)) for c in clips}


def test_two_workers_give_the_same_bytes(built: Path, clips_dir: Path, tmp_path: Path) -> None:
    events: list[Event] = []
    tracker = Tracker()

    def report(event: Event) -> None:
        events.append(event)
        tracker(event)

    build(small_config(clips_dir, tmp_path / "ds", workers=2), report)
    assert_same_dataset(built, tmp_path / "ds")
    # the events came from two worker processes through a queue, and add up
    units = [e for e in events if isinstance(e, Item) and e.kind == "unit"]
    assert len(units) == len(load_index(built)["shards"]) // 2
    clips = tracker.tasks["clips"]
    assert clips.done == clips.total == len(discover(clips_dir))
    frames = tracker.tasks["frames"]
    assert frames.total is not None and frames.done == frames.total > 0
    assert {e.record["clip_id"] for e in tracker.items if e.kind == "clip"} == {
        c.clip_id for c in discover(clips_dir)
    }


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vsrdata.cli", *args]


@pytest.mark.slow
def test_resume_after_sigkill(clips_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = ["build", str(clips_dir), "--out", str(out), "--patch", "16", "--test-stride", "4",
            "--workers", "1",
            "--group-size", "1", "--split", "0.5,0.25,0.25", "--shard-size", "1GB"]  # fmt: skip
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    units = out / UNITS_DIR
    deadline = time.time() + 120
    while time.time() < deadline and len(list(units.glob("*-0*.json"))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in units.glob("*-0*.json")}
    assert 2 <= len(finished) < 10, "the kill must land mid-build"
    assert not (out / "dataset.json").exists()
    shard_times = {
        p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".parquet", ".tfrecord")
    }

    rerun = subprocess.run(_cli(*args), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stderr
    for name, mtime in finished.items():  # finished units were not redone
        assert (units / name).stat().st_mtime_ns == mtime
    index = load_index(out)
    listed = {s["path"] for s in index["shards"]}
    for path, mtime in shard_times.items():
        rel = path.relative_to(out).as_posix()
        if rel in listed and any(rel.split("/")[-1].startswith(n[:-5]) for n in finished):
            assert path.stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.tmp"))
    reference = tmp_path / "reference"
    build(small_config(clips_dir, reference, group_size=1))
    assert_same_dataset(reference, out)


def mjpeg_avi(path: Path, frames: int) -> bytes:
    """An MJPEG AVI of a textured pan (its header announces ``frames``); returns its bytes."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(frames):
        writer.write(np.roll(base, 3 * i, axis=1))
    writer.release()
    return path.read_bytes()


def with_hole(avi: bytes, first: int, last: int) -> bytes:
    """``avi`` with the JPEG data of frames ``first`` to ``last - 1`` zeroed (undecodable)."""
    starts = [i for i in range(len(avi) - 2) if avi[i : i + 3] == b"\xff\xd8\xff"]
    data = bytearray(avi)
    for k in range(first, last):
        data[starts[k] : starts[k + 1] - 16] = bytes(starts[k + 1] - 16 - starts[k])
    return bytes(data)


def _bad_inputs(root: Path, good: Path) -> None:
    """A folder where only two clips are usable."""
    cat = root / "mixed"
    cat.mkdir(parents=True)
    for name in ("pan/pan_000.mp4", "zoom/zoom_001.mp4"):
        shutil.copy(good / name, cat / Path(name).name)
    data = (good / "pan/pan_000.mp4").read_bytes()
    (cat / "empty.mp4").write_bytes(b"")
    (cat / "notes.mp4").write_text("this is not a video\n" * 50)
    (cat / "cut_short.mp4").write_bytes(data[: len(data) // 2])  # index at the end: unreadable
    (cat / "noise.mkv").write_bytes(os.urandom(20000))
    synth_clip(cat / "streamable.mp4", "pan", 3, 60, (320, 240), 25, 0, faststart=True)
    full = (cat / "streamable.mp4").read_bytes()
    (cat / "streamable.mp4").write_bytes(full[: len(full) // 2])  # decodes, then breaks off
    mjpeg = mjpeg_avi(cat / "cut.avi", 40)
    (cat / "cut.avi").write_bytes(mjpeg[: len(mjpeg) * 2 // 5])  # 40 announced, about 16 held
    (cat / "hole.avi").write_bytes(with_hole(mjpeg_avi(cat / "hole.avi", 40), 10, 26))
    synth_clip(cat / "four_frames.mp4", "pan", 4, 4, (320, 240), 25, 0)
    synth_clip(cat / "tiny.mp4", "pan", 5, 20, (64, 48), 25, 0)
    frames = root / "frames" / "broken"
    frames.mkdir(parents=True)
    for i in range(9):
        (frames / f"{i:04d}.png").write_bytes(b"not a png")
    for sidecar in root.rglob("*.motion.json"):
        sidecar.unlink()


def test_bad_inputs_are_skipped_with_reasons(clips_dir: Path, tmp_path: Path) -> None:
    _bad_inputs(tmp_path / "in", clips_dir)
    result = build(small_config(tmp_path / "in", tmp_path / "ds", split=(1.0, 0.0, 0.0)))
    reasons = {s["clip_id"]: s["reason"] for s in result.index["skipped"]}
    assert set(reasons) == {
        "mixed/empty.mp4", "mixed/notes.mp4", "mixed/cut_short.mp4", "mixed/noise.mkv",
        "mixed/hole.avi", "mixed/four_frames.mp4", "mixed/tiny.mp4", "frames/broken",
    }  # fmt: skip
    assert "empty file" in reasons["mixed/empty.mp4"]
    assert "not a readable video" in reasons["mixed/notes.mp4"]
    assert "not a readable video" in reasons["mixed/cut_short.mp4"]
    assert "not a readable video" in reasons["mixed/noise.mkv"]
    assert "a decoder error after frame 10" in reasons["mixed/hole.avi"]  # then frames 26..
    assert "too short: 4 frames" in reasons["mixed/four_frames.mp4"]
    assert "smaller than a patch" in reasons["mixed/tiny.mp4"]
    assert "unreadable frame image" in reasons["frames/broken"]
    # decodes that simply end early keep their windows, marked partial
    partial = {p["clip_id"]: p for p in result.index["partial"]}
    assert set(partial) == {"mixed/streamable.mp4", "mixed/cut.avi"}
    assert partial["mixed/cut.avi"]["announced"] == 40
    assert partial["mixed/streamable.mp4"]["announced"] == 60
    for p in partial.values():
        assert 7 <= p["frames"] < 0.9 * p["announced"]
    assert result.index["splits"]["train"]["clips"] == 4
    samples = list(iter_samples(tmp_path / "ds", "train", decode=False))
    used = {s["clip_id"] for s in samples}
    assert used == {"mixed/pan_000.mp4", "mixed/zoom_001.mp4", *partial}
    for p in partial.values():  # windows only where frames decoded
        centres = [s["center"] for s in samples if s["clip_id"] == p["clip_id"]]
        assert centres and max(centres) + 3 < p["frames"]
    report = json.loads((tmp_path / "ds" / "build_report.json").read_text())
    statuses = [c["status"] for c in report["clips"]]
    assert statuses.count("skipped") == 8 and statuses.count("partial") == 2
    info = run_cli("info", str(tmp_path / "ds"))
    assert "2 clips decoded partly" in info.stdout
    assert "mixed/cut.avi: decoded" in info.stdout and "of 40 announced frames" in info.stdout


def test_a_source_where_every_clip_is_skipped_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.mp4").write_text("not a video\n" * 20)
    res = run_cli("build", str(tmp_path / "in"), "--out", str(tmp_path / "ds"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "no clip of" in res.stderr and "notes.mp4: not a readable video" in res.stderr
    assert not (tmp_path / "ds").exists()  # no empty dataset left behind
    (tmp_path / "mine").mkdir()  # a folder the user made stays, emptied of what the build wrote
    res = run_cli("build", str(tmp_path / "in"), "--out", str(tmp_path / "mine"))
    assert res.returncode == 1 and list((tmp_path / "mine").iterdir()) == []


def test_resume_refuses_other_arguments(built: Path, clips_dir: Path) -> None:
    with pytest.raises(UsageError, match="other arguments"):
        build(small_config(clips_dir, built, scale=2))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frames", "6"], "--frames must be odd"),
        (["--scale", "5"], "--scale must be one of 2, 3, 4"),
        (["--split", "0.5,0.5"], "--split takes three"),
        (["--crop", "random"], "--crop must be one of"),
        (["--format", "hdf5"], "--format must be one of"),
        (["--shard-size", "lots"], "cannot read the size"),
    ],
)
def test_bad_arguments_fail_at_once_and_write_nothing(
    clips_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "ds"
    res = run_cli("build", str(clips_dir), "--out", str(out), *args)
    assert res.returncode == 2, res.stderr
    assert message in " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_missing_source_fails_with_usage_error(tmp_path: Path) -> None:
    res = run_cli("build", str(tmp_path / "nope"), "--out", str(tmp_path / "ds"))
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert not (tmp_path / "ds").exists()


def test_frame_folder_layout_builds_like_reds(clips_dir: Path, tmp_path: Path) -> None:
    """REDS/Vid4 layout: SOURCE/<category>/<clip>/<frame>.png, frames in name order."""
    import cv2

    from vsrdata.preprocess.video import FrameStream, discover

    video = next(r for r in discover(clips_dir) if r.clip_id.startswith("zoom/"))
    folder = tmp_path / "reds" / "train_sharp" / "000"
    folder.mkdir(parents=True)
    for i, frame in enumerate(FrameStream(video)):
        cv2.imwrite(str(folder / f"{i:08d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    result = build(small_config(tmp_path / "reds", tmp_path / "ds", split=(1.0, 0.0, 0.0),
                                crop="center", fps=24.0))  # fmt: skip
    samples = list(iter_samples(tmp_path / "ds", "train", decode=False))
    assert {s["clip_id"] for s in samples} == {"train_sharp/000"}
    assert {s["category"] for s in samples} == {"train_sharp"}
    assert result.index["build"]["fps"] == 24.0
    # 40 frames with a cut at 20: two shots of 20, centres 3, 6, ... at stride 3
    assert [s["center"] for s in samples] == [3, 6, 9, 12, 15, 23, 26, 29, 32, 35]


def test_the_frame_bar_ends_where_decoding_ended(clips_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in" / "x"
    src.mkdir(parents=True)
    shutil.copy(clips_dir / "pan" / "pan_000.mp4", src / "whole.mp4")
    avi = mjpeg_avi(src / "cut.avi", 40)
    (src / "cut.avi").write_bytes(avi[: len(avi) * 2 // 5])  # announces 40 frames, holds ~16
    tracker = Tracker()
    build(small_config(tmp_path / "in", tmp_path / "ds", split=(1.0, 0.0, 0.0)), tracker)
    bar = tracker.tasks["frames"]
    assert bar.done == bar.total == 40 + load_index(tmp_path / "ds")["partial"][0]["frames"]
