"""Clip discovery, streaming decode (RGB, bounded memory), cuts and windows."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import sidecar, small_config
from vsrdata.errors import ClipError, UsageError
from vsrdata.preprocess.scenes import SCENE_DETECTORS, CutDetector
from vsrdata.preprocess.synth import synthesize
from vsrdata.preprocess.video import ClipRef, FrameStream, discover
from vsrdata.preprocess.windows import ClipProcessor


def write_frames(folder: Path, n: int, names: str = "im{}.png", size: int = 64) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        frame = np.zeros((size, size, 3), np.uint8)
        frame[..., 0] = 10 * i  # red channel counts frames (stored as RGB, written as BGR)
        cv2.imwrite(str(folder / names.format(i + 1)), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def test_discover_layouts(tmp_path: Path) -> None:
    (tmp_path / "walking").mkdir()
    (tmp_path / "walking" / "a.mp4").write_bytes(b"x")
    (tmp_path / "walking" / "notes.txt").write_text("not a clip")
    (tmp_path / ".hidden.mp4").write_bytes(b"x")
    write_frames(tmp_path / "vid4" / "calendar", 3)
    write_frames(tmp_path / "vid4" / "city", 3)
    clips = discover(tmp_path)
    assert [(c.clip_id, c.kind, c.category) for c in clips] == [
        ("vid4/calendar", "frames", "vid4"),
        ("vid4/city", "frames", "vid4"),
        ("walking/a.mp4", "video", "walking"),
    ]
    only = discover(tmp_path / "vid4" / "city")  # SOURCE itself a frame folder
    assert [(c.clip_id, c.kind) for c in only] == [("city", "frames")]


def test_discover_rejects_missing_source(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        discover(tmp_path / "nope")


def test_frame_folder_in_natural_name_order(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", 12)  # im1 .. im12: lexical order would put im10 second
    ref = discover(tmp_path)[0]
    reds = [int(f[0, 0, 0]) for f in FrameStream(ref)]
    assert reds == [10 * i for i in range(12)]


def test_video_frames_are_rgb(tmp_path: Path) -> None:
    path = tmp_path / "red.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for _ in range(5):
        writer.write(np.dstack([np.zeros((48, 64)), np.zeros((48, 64)), np.full((48, 64), 255)])
                     .astype(np.uint8))  # fmt: skip  # BGR red
    writer.release()
    frames = list(FrameStream(ClipRef("red.avi", str(path), "video", "x")))
    assert len(frames) == 5
    r, g, b = frames[2][24, 32]
    assert r > 200 and g < 50 and b < 50


def test_windows_never_span_a_cut(clips_dir: Path) -> None:
    cfg = small_config(clips_dir, "-", stride=1)
    half = cfg.frames // 2
    for ref in discover(clips_dir):
        cuts = sidecar(ref.path)["cuts"]
        proc = ClipProcessor(ref, cfg, "train")
        centres = [s["center"] for s in proc.samples()]
        assert proc.cuts == cuts, ref.clip_id
        assert centres
        for c in centres:
            assert not any(c - half < k <= c + half for k in cuts), (ref.clip_id, c)
        # stride 1 and no motion rejection on camera motion: every valid centre is used
        if "objects" not in ref.clip_id:
            valid = [c for c in range(half, proc.stats.frames - half)
                     if not any(c - half < k <= c + half for k in cuts)]  # fmt: skip
            assert centres == valid


def test_stride_counts_from_each_shot_start(clips_dir: Path) -> None:
    cfg = small_config(clips_dir, "-", stride=4, crop="center")
    ref = next(c for c in discover(clips_dir) if "pan" in c.clip_id)
    cut = sidecar(ref.path)["cuts"][0]
    samples = list(ClipProcessor(ref, cfg, "train").samples())
    first = [s["center"] for s in samples if s["shot"] == 0]
    second = [s["center"] for s in samples if s["shot"] == 1]
    assert first == list(range(3, cut - 3, 4))
    assert second[0] == cut + 3 and np.all(np.diff(second) == 4)


def test_memory_is_bounded_by_the_window(tmp_path: Path) -> None:
    synthesize(tmp_path, clips=1, seconds=6, size=(128, 96), seed=2, categories=("pan",))
    ref = discover(tmp_path)[0]
    for detector, bound in [("content", 7), ("adaptive", 7 + 2)]:
        cfg = small_config(tmp_path, "-", scene_detector=detector, crop="center", patch=8)
        proc = ClipProcessor(ref, cfg, "train")
        assert sum(1 for _ in proc.samples()) > 0
        assert proc.stats.frames == 150
        assert proc.stats.max_buffered <= bound


def test_test_split_keeps_whole_frames_at_a_multiple_of_the_scale(tmp_path: Path) -> None:
    synthesize(tmp_path, clips=1, seconds=0.5, size=(130, 98), seed=2, categories=("zoom",))
    ref = discover(tmp_path)[0]
    cfg = small_config(tmp_path, "-", patch=8, test_stride=1)
    samples = list(ClipProcessor(ref, cfg, "test").samples())
    assert [s["center"] for s in samples] == list(range(3, 12 - 3))  # test stride 1, 12 frames
    s = samples[0]
    assert s["crop"] == [0, 0, 96, 128] and s["hr_shape"] == [96, 128, 3]
    assert s["lr_shape"] == [24, 32, 3] and len(s["lr"]) == 7
    # the 130x98 frame's extra pixels do not leak into the LR: LR = degrade(stored HR)
    from vsrdata.preprocess import degrade
    from vsrdata.shards.reader import decode_png

    lr, hr = decode_png(s["lr"][3]), decode_png(s["hr"])
    assert (lr == degrade(hr, "bd", 4)).all()


def test_small_frames_and_short_clips_are_clip_errors(tmp_path: Path) -> None:
    write_frames(tmp_path / "tiny", 9, size=32)
    write_frames(tmp_path / "short", 5, size=96)
    cfg = small_config(tmp_path, "-")
    refs = {r.clip_id: r for r in discover(tmp_path)}
    with pytest.raises(ClipError, match="smaller than a patch"):
        list(ClipProcessor(refs["tiny"], cfg, "train").samples())
    with pytest.raises(ClipError, match="too short: 5 frames"):
        list(ClipProcessor(refs["short"], cfg, "train").samples())


def test_a_fast_textured_pan_is_not_cut(tmp_path: Path) -> None:
    """The plain content detector scores this pan (~2 px/frame) above its threshold."""
    from vsrdata.preprocess.synth import synth_clip

    synth_clip(tmp_path / "pan.mp4", "pan", 0, 75, (480, 270), 25, 0)
    ref = discover(tmp_path)[0]
    proc = ClipProcessor(ref, small_config(tmp_path, "-", crop="center"), "train")
    assert len(list(proc.samples())) == (75 - 7) // 3 + 1
    assert proc.cuts == []


@pytest.mark.parametrize("kind", sorted(SCENE_DETECTORS))
def test_every_scene_detector_finds_a_hard_cut_and_no_other(kind: str) -> None:
    """The contract of a scene detector: a hard cut between two scenes is found at its frame
    (``none`` finds nothing by definition), a slow pan within a scene is not cut."""
    rng = np.random.default_rng(11)
    scenes = [cv2.GaussianBlur(rng.integers(0, 256, (180, 360, 3), dtype=np.uint8), (0, 0), 2)
              for _ in range(2)]  # fmt: skip
    scenes[1] = 255 - scenes[1]  # another scene, another brightness
    frames = [scenes[0][:, i : i + 320] for i in range(20)]
    frames += [scenes[1][:, i : i + 320] for i in range(20)]
    detector = CutDetector(kind, fps=25.0, min_shot=5)
    cuts = {c for i, f in enumerate(frames) for c in detector.push(i, np.ascontiguousarray(f))}
    cuts |= set(detector.finish())
    assert cuts == (set() if SCENE_DETECTORS[kind] is None else {20})
