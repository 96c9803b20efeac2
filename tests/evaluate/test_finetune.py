"""Self-transfer fine-tuning (vsrdata.evaluate.finetune): keyframes, aligned pairs, and a
measured gain under a degradation the model was not trained on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import cv2  # noqa: E402

from vsrdata.evaluate.finetune import (  # noqa: E402
    FinetuneConfig,
    VideoFrames,
    finetune,
    hr_windows,
    keyframes,
    make_pairs,
    select_frames,
)
from vsrdata.preprocess.degrade import degrade  # noqa: E402
from vsrdata.vsr_models.manifest import read_manifest  # noqa: E402

RNG = np.random.default_rng(21)


def encode(path: Path, frames: list[np.ndarray], gop: int) -> None:
    """H.264 with a keyframe exactly every ``gop`` frames (no scene-cut keyframes)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10, options={
            "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bf": "0"})  # fmt: skip
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_keyframes_are_the_decoders_i_frames(tmp_path: Path) -> None:
    frames = [RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(21)]
    encode(tmp_path / "gop.mp4", frames, gop=8)
    video = VideoFrames(tmp_path / "gop.mp4")
    assert keyframes(video) == [0, 8, 16]
    config = FinetuneConfig(video=str(tmp_path / "gop.mp4"), model=__file__, out="x.keras")
    assert select_frames(config, video) == ([0, 8, 16], "keyframes")
    # a frame folder has no picture types: every Nth frame instead
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), img)
    config = FinetuneConfig(video=str(folder), model=__file__, out="x.keras", every=5)
    assert select_frames(config, VideoFrames(folder)) == ([0, 5, 10, 15, 20], "every")


def test_scenes_are_the_middles_of_the_shots(clips_dir: Path) -> None:
    from vsrdata.preprocess.video import discover

    ref = discover(clips_dir)[0]  # 40 frames, a cut at frame 20
    config = FinetuneConfig(video=ref.path, model=__file__, out="x.keras", select="scenes")
    assert select_frames(config, VideoFrames(ref.path)) == ([10, 30], "scenes")


def test_pairs_of_a_multi_frame_model_keep_lr_and_hr_aligned(tmp_path: Path) -> None:
    frames = [RNG.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(6)]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    windows = hr_windows(VideoFrames(folder), [0, 3], 3)
    # window of frame 0 reflects at the start: frames 1, 0, 1
    np.testing.assert_array_equal(windows[0], np.stack([frames[1], frames[0], frames[1]]))
    np.testing.assert_array_equal(windows[1], np.stack(frames[2:5]))
    pairs = make_pairs(windows, "bd", 4, (1.0, 0.75))
    assert len(pairs) == 4
    lr, hr = pairs[2]  # frame 3's window at full size
    np.testing.assert_array_equal(hr, frames[3])
    for t in range(3):
        np.testing.assert_array_equal(lr[t], degrade(frames[2 + t], "bd", 4))
    lr, hr = pairs[3]  # shrunk by 3/4, to multiples of the scale, then degraded
    assert hr.shape == (48, 72, 3) and lr.shape == (3, 12, 18, 3)
    np.testing.assert_array_equal(lr[1], degrade(hr, "bd", 4))


@pytest.fixture(scope="module")
def mismatch(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(an SRCNN trained on ``bi`` data, an LR clip made with ``bd``, its true HR frames)."""
    from tests.helpers import small_config
    from vsrdata.preprocess.build import build
    from vsrdata.preprocess.video import FrameStream, discover
    from vsrdata.vsr_models.config import TrainConfig
    from vsrdata.vsr_models.train import train

    root = tmp_path_factory.mktemp("finetune")
    build(small_config(clips_dir, root / "bi", degradation="bi"))
    train(TrainConfig.from_options(dataset=str(root / "bi"), out=str(root / "run"), model="srcnn",
                                   steps=100, batch_size=4, patch=16, lr=3e-3, schedule="cosine",
                                   warmup=10, val_every=1000, val_samples=8, seed=2))  # fmt: skip
    ref = next(r for r in discover(clips_dir) if r.category == "zoom")
    hr_dir, lr_dir = root / "hr", root / "lr"
    hr_dir.mkdir()
    lr_dir.mkdir()
    for i, frame in enumerate(FrameStream(ref)):
        if i == 16:
            break
        cv2.imwrite(str(hr_dir / f"{i:03d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(lr_dir / f"{i:03d}.png"),
                    cv2.cvtColor(degrade(frame, "bd", 4), cv2.COLOR_RGB2BGR))  # fmt: skip
    return root / "run" / "model.keras", lr_dir, hr_dir


def test_finetuning_on_the_video_gains_under_a_mismatched_degradation(
    mismatch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A model trained on bicubic LR meets a Gaussian-blurred (bd) video: learning from the
    video's own frames, degraded with bd, recovers what the mismatch cost."""
    model, lr_dir, hr_dir = mismatch
    config = FinetuneConfig(video=str(lr_dir), model=str(model), out=str(tmp_path / "ft.keras"),
                            select="every", every=2, steps=60, degradation="bd",
                            eval_hr=str(hr_dir), report=str(tmp_path / "report"))  # fmt: skip
    result = finetune(config)
    e = result.evaluation
    assert e is not None and e["frames_scored"] == 12  # 16 frames, the first and last 2 left out
    assert e["gain_db"] > 0.5, e  # +3.0 dB measured (the pretrained model: +0.06 over bicubic)
    assert result.frames == list(range(0, 16, 2)) and result.last_loss < result.first_loss
    manifest = read_manifest(tmp_path / "ft.keras")
    assert manifest is not None and manifest["model"] == "srcnn"
    assert manifest["finetuned"]["video"] == str(lr_dir)
    assert manifest["finetuned"]["degradation"] == "bd" and manifest["finetuned"]["steps"] == 60
    # a tenth of the rate the model was trained at
    assert manifest["finetuned"]["lr"] == pytest.approx(manifest["training"]["lr"] / 10)
    assert manifest["init"]["path"] == str(model) and manifest["degradation"] == "bi"
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert report["models"] == ["bicubic", "pretrained", "finetuned"]


def test_cli_finetunes_and_then_upscales_past_the_video(
    mismatch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, lr_dir, _ = mismatch
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
              for p in sorted(lr_dir.iterdir())]  # fmt: skip
    encode(tmp_path / "lr.mp4", frames, gop=5)
    tuned = tmp_path / "tuned.keras"
    cmd = [sys.executable, "-m", "vsrdata", "finetune", str(tmp_path / "lr.mp4"), "--model",
           str(model), "--out", str(tuned), "--steps", "3"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "fine-tuned 3 steps" in res.stdout and "keyframes" in res.stdout
    manifest = read_manifest(tuned)
    assert manifest is not None and manifest["finetuned"]["frames"] == [0, 5, 10, 15]
    missing = [*cmd[:6], str(tmp_path / "nope.keras"), "--out", str(tmp_path / "o.keras")]
    bad = subprocess.run(missing, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr

    from vsrdata.evaluate.infer import KerasUpscaler
    from vsrdata.evaluate.upscale import upscale_video

    out = upscale_video(tmp_path / "lr.mp4", tmp_path / "up.mp4", KerasUpscaler(str(tuned)))
    assert (out["width"], out["height"]) == (frames[0].shape[1] * 4, frames[0].shape[0] * 4)
