"""Evaluation: protocols, temporal padding, tiling, aggregation, the report, eval and upscale."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import clip_with_audio, run_cli
from vsrdata.common.progress import Tracker
from vsrdata.errors import UsageError
from vsrdata.evaluate.infer import streaming_windows, temporal_window
from vsrdata.evaluate.protocol import make_protocol
from vsrdata.evaluate.report import summarize, write_report
from vsrdata.evaluate.run import ClipResult, EvalConfig
from vsrdata.preprocess.synth import synthesize


def test_protocols() -> None:
    duf = make_protocol("duf")
    assert (duf.crop_border, duf.skip_frames) == (8, 2)
    assert [duf.scored(i, 7) for i in range(7)] == [False, False, True, True, True, False, False]
    standard = make_protocol("standard", 4)
    assert standard.crop_border == 4 and all(standard.scored(i, 3) for i in range(3))
    with pytest.raises(UsageError, match="--protocol must be one of"):
        make_protocol("vimeo")
    with pytest.raises(UsageError, match="crops 8 pixels"):
        make_protocol("duf", 4)


@pytest.mark.parametrize(
    ("pad", "expected"),
    [("reflect", [3, 2, 1, 0, 1, 2, 3]), ("replicate", [0, 0, 0, 0, 1, 2, 3]),
     ("zero", [-1, -1, -1, 0, 1, 2, 3])],
)  # fmt: skip
def test_temporal_padding(pad: str, expected: list[int]) -> None:
    frames = [np.full((2, 2, 3), 10 + i, np.uint8) for i in range(5)]
    window = temporal_window(frames, 0, 7, pad)
    assert [int(f[0, 0, 0]) - 10 if f.any() else -1 for f in window] == expected
    for n in (1, 2, 4, 9):  # streaming gives the same windows with a bounded buffer
        clip = frames[:n] if n <= 5 else frames + frames[:4]
        whole = [temporal_window(clip, t, 7, pad) for t in range(n)]
        stream = list(streaming_windows(iter(clip), 7, pad))
        assert len(stream) == n and all(
            np.array_equal(a, b) for a, b in zip(whole, stream, strict=True)
        )


def test_tiled_inference_matches_untiled() -> None:
    pytest.importorskip("tensorflow")

    from vsrdata.evaluate.infer import KerasUpscaler
    from vsrdata.vsr_models.registry import build_model

    window = np.random.default_rng(0).integers(0, 256, (7, 45, 58, 3), dtype=np.uint8)
    model = build_model("duf-16l", 2)
    upscaler = KerasUpscaler(model, tile=16)
    tiled = upscaler.float_output(window)
    upscaler.tile = 0  # the same upscaler on the whole frame
    whole = upscaler.float_output(window)
    assert whole.shape == tiled.shape == (90, 116, 3)
    assert float(np.max(np.abs(whole - tiled))) < 1e-4  # the overlap covers the radius (8)
    short = KerasUpscaler(model, tile=16, overlap=2).float_output(window)
    assert float(np.max(np.abs(whole - short))) > 1e-3  # a shorter one would not


def clip_result(cid: str, category: str, bic: list[float], duf: list[float]) -> ClipResult:
    r = ClipResult(cid, category, frame_ids=list(range(len(bic))))
    r.psnr["bicubic"], r.psnr["duf"] = bic, duf
    r.ssim["bicubic"], r.ssim["duf"] = [0.5] * len(bic), [0.75] * len(bic)
    r.flow_error.update({"bicubic": 0.2, "duf": 0.1})
    return r


def known_doc() -> dict[str, Any]:
    results = [
        clip_result("a", "pan", [20.0, 22.0], [23.0, 25.0]),  # clip means 21 / 24
        clip_result("b", "pan", [30.0, 30.0, 30.0, 30.0], [29.0] * 4),  # 30 / 29
        clip_result("c", "zoom", [25.0], [26.5]),
    ]
    config = EvalConfig(videos="v", models=("duf.keras",))
    return summarize(results, ["bicubic", "duf"], make_protocol("duf"), config, "bd", [])


def test_means_are_over_frames_then_clips() -> None:
    doc = known_doc()
    pan, zoom = doc["categories"]
    assert (pan["category"], pan["clips"], pan["frames"]) == ("pan", 2, 6)
    assert pan["psnr:bicubic"] == 25.5 and pan["psnr:duf"] == 26.5  # not the frame mean
    assert pan["gain:duf"] == 1.0 and pan["beats_bicubic:duf"] == 0.5
    assert zoom["gain:duf"] == 1.5 and zoom["beats_bicubic:duf"] == 1.0
    overall = doc["overall"]
    assert overall["psnr:duf"] == pytest.approx((24 + 29 + 26.5) / 3)
    assert overall["beats_bicubic:duf"] == pytest.approx(2 / 3)


def test_report_files_hold_the_numbers(tmp_path: Path) -> None:
    doc = known_doc()
    paths = write_report(doc, tmp_path)
    saved = json.loads(paths["json"].read_text())
    assert saved["categories"][0]["psnr:duf"] == 26.5
    assert saved["clips"][1]["per_frame"]["psnr:duf"] == [29.0] * 4
    rows = paths["csv"].read_text().splitlines()
    assert rows[0] == "clip_id,category,frame,model,psnr_y,ssim_y" and len(rows) == 1 + 2 * 7
    md = paths["md"].read_text()
    assert "| pan | 2 | 6 | 25.50 | 26.50 |" in md and "Protocol duf" in md
    page = paths["html"].read_text()
    assert "gain_by_category.png" in page and (tmp_path / "gain_by_category.png").stat().st_size
    assert (tmp_path / "000-a.psnr.png").exists()


@pytest.mark.slow
def test_eval_videos_skips_a_broken_clip(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    synthesize(clips, clips=2, seconds=0.4, size=(96, 64), seed=2)
    (clips / "pan" / "broken.mp4").write_bytes(b"\x00not a video" * 10)
    res = run_cli(
        "eval",
        "--videos",
        str(clips),
        "--report",
        str(tmp_path / "r"),
        "--protocol",
        "standard",
        "--crop-border",
        "4",
        "--by-category",
        "--scale",
        "3",
    )  # fmt: skip  (64-pixel frames are cut to 63)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "skipped pan/broken.mp4" in res.stderr
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [c["clip_id"] for c in doc["clips"]] == ["pan/pan_000.mp4", "zoom/zoom_001.mp4"]
    assert all(len(c["per_frame"]["frame"]) == 10 for c in doc["clips"])  # all frames
    assert doc["protocol"]["crop_border"] == 4 and doc["skipped"][0]["clip_id"].endswith("mp4")
    assert (tmp_path / "r" / "000-pan_pan_000.mp4.worst.0-ground_truth.crop.png").exists()


@pytest.mark.slow
def test_eval_dataset_with_a_model_and_a_scale_mismatch(built: Path, tmp_path: Path) -> None:
    """A model file's manifest gives its scale (no probe) and what it learnt: a model trained
    on ``bi`` scored on this ``bd`` dataset is scored, with a warning on the console and in
    the report."""
    pytest.importorskip("tensorflow")
    from vsrdata.vsr_models.manifest import add_manifest
    from vsrdata.vsr_models.registry import build_model

    build_model("tiny-test", 4).save(tmp_path / "duf4.keras")
    add_manifest(tmp_path / "duf4.keras", {"model": "tiny-test", "scale": 4, "frames": 7,
                                          "degradation": "bi"})  # fmt: skip
    build_model("tiny-test", 2).save(tmp_path / "duf2.keras")
    res = run_cli("eval", str(built), "--model", str(tmp_path / "duf4.keras"),
                  "--report", str(tmp_path / "r"))  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["models"] == ["bicubic", f"{tmp_path.name}/duf4"]
    assert doc["protocol"]["name"] == "duf" and doc["clips"]
    assert "trained on bi data; this data is bd" in " ".join(res.stderr.split())
    assert len(doc["warnings"]) == 1 and "trained on bi data" in doc["warnings"][0]
    assert "## Warnings" in (tmp_path / "r" / "report.md").read_text()
    from vsrdata.evaluate.report import WRITERS

    for name, _ in WRITERS.values():  # every registered report format was written
        assert (tmp_path / "r" / name).stat().st_size > 0
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.run import evaluate

    mismatch = EvalConfig(dataset=str(built), models=(str(tmp_path / "duf2.keras"),))
    with pytest.raises(UsageError, match="upscales x2 but the data is x4"):
        evaluate(mismatch, make_protocol("duf"))


def test_upscale_writes_a_video_of_the_right_size_rate_and_length(tmp_path: Path) -> None:
    from vsrdata.evaluate.upscale import probe

    src, dst = tmp_path / "in.mp4", tmp_path / "out" / "up.mp4"
    clip_with_audio(src)
    res = run_cli("upscale", str(src), str(dst), "--model", "bicubic", "--scale", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "wrote 12 frames 128x96" in res.stdout and "audio copied" in res.stdout
    info = probe(dst)
    assert (info["width"], info["height"], info["fps"]) == (128, 96, Fraction(10))
    assert info["audio"]
    import av

    with av.open(str(dst)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12
    assert not list(dst.parent.glob(".*partial*"))
    bad = run_cli("upscale", str(tmp_path / "missing.mp4"), str(dst))
    assert bad.returncode == 1 and "does not exist" in bad.stderr


def test_duf_protocol_leaves_out_the_padded_end_frames() -> None:
    from vsrdata.evaluate.infer import Bicubic
    from vsrdata.evaluate.run import Clip, score_clip

    rng = np.random.default_rng(3)
    hr = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(8)]
    lr = [f[::4, ::4] for f in hr]

    def frames() -> Any:
        for t in range(8):
            yield t, temporal_window(lr, t, 7, "reflect"), hr[t]

    seen = Tracker()
    padded = score_clip(Clip("c", "pan", frames, padded=True), [Bicubic(4)],
                        make_protocol("duf"), seen)  # fmt: skip
    assert padded.frame_ids == [2, 3, 4, 5]
    assert seen.tasks["frames"].done == seen.tasks["frames"].total == 8  # all 8 were read
    assert len(padded.psnr["bicubic"]) == 4 and set(padded.views) == {"worst", "best"}
    inside = score_clip(Clip("c", "pan", frames, padded=False), [Bicubic(4)],
                        make_protocol("duf"))  # fmt: skip
    assert inside.frame_ids == list(range(8))  # dataset windows hold no padding


def test_model_columns_are_named_by_the_shortest_unique_path_suffix(tmp_path: Path) -> None:
    from vsrdata.evaluate.infer import name_models

    named = name_models(["a/run/best.keras", "b/run/best.keras", "runs/x/model.keras",
                         "mine=c/run/best.keras", "solo.keras"])  # fmt: skip
    assert named == [("a/run/best", "a/run/best.keras"), ("b/run/best", "b/run/best.keras"),
                     ("x/model", "runs/x/model.keras"), ("mine", "c/run/best.keras"),
                     ("solo", "solo.keras")]  # fmt: skip
    # bicubic is always scored: asking for it adds nothing; the same file twice counts once
    assert name_models(["bicubic", "r/best.keras", "./r/best.keras"]) == [
        ("r/best", "./r/best.keras")
    ]
    with pytest.raises(UsageError, match="two models are named 'a'; name them with"):
        name_models(["a=x.keras", "a=y.keras"])
    with pytest.raises(UsageError, match="given twice under different names"):
        name_models(["p=x.keras", "q=x.keras"])
    odd = tmp_path / "k=v.keras"  # an existing file whose name holds '=' is a path
    odd.write_bytes(b"")
    assert name_models([str(odd)])[0][1] == str(odd)


def test_eval_of_bicubic_alone_by_name(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    synthesize(clips, clips=1, seconds=0.4, size=(96, 64), seed=2)
    res = run_cli(
        "eval",
        "--videos",
        str(clips),
        "--model",
        "bicubic",
        "--scale",
        "2",
        "--protocol",
        "standard",
        "--crop-border",
        "2",
        "--report",
        str(tmp_path / "r"),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((tmp_path / "r" / "results.json").read_text())["models"] == ["bicubic"]
    assert "Traceback" not in res.stderr


def test_an_argument_error_comes_before_any_progress_bar(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    synthesize(clips, clips=1, seconds=0.4, size=(96, 64), seed=2)
    res = run_cli("eval", "--videos", str(clips), "--model", str(tmp_path / "missing.keras"),
                  "--report", str(tmp_path / "r"))  # fmt: skip
    assert res.returncode == 1 and "missing.keras does not exist" in res.stderr
    assert "clips" not in res.stderr and "frames" not in res.stderr  # no bar was drawn


@pytest.mark.slow
def test_every_model_is_a_column_in_eval_and_upscales_a_video(tmp_path: Path) -> None:
    """Every registered model (untrained; the wiring is what is tested) is scored by one
    ``vsrdata eval`` beside the others, each reading the centre frames it needs from the
    7-frame windows the longest model asks for; one model of each kind upscales a video
    (tiling by the receptive radius: test_zoo.py)."""
    pytest.importorskip("tensorflow")
    import cv2

    from tests.helpers import LIGHT_OPTIONS
    from vsrdata.evaluate.infer import KerasUpscaler
    from vsrdata.evaluate.upscale import upscale_video
    from vsrdata.vsr_models.manifest import save_model
    from vsrdata.vsr_models.registry import names, spec

    # duf-28l/52l and srgan are duf-16l's and srresnet's code; DUF-16L's inference is tested
    # above (whole and tiled), and 7-frame windows go through eval with tiny-test
    models = [n for n in names() if n not in ("duf-16l", "duf-28l", "duf-52l", "srgan")]
    built = {n: spec(n).build(4, options=LIGHT_OPTIONS.get(n)) for n in models}
    paths = [save_model(built[n], tmp_path / "zoo" / f"{n}.keras",
                        spec(n).identity(4, LIGHT_OPTIONS.get(n))) for n in models]  # fmt: skip
    clips = tmp_path / "hr" / "pan"  # one clip: 5 frames of 96×64 (the DUF protocol scores
    # the middle one)
    clips.mkdir(parents=True)
    rng = np.random.default_rng(4)
    for i in range(5):
        frame = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
        cv2.imwrite(str(clips / f"{i:03d}.png"), frame)
    from vsrdata.evaluate.run import evaluate

    config = EvalConfig(videos=str(tmp_path / "hr"), models=tuple(str(p) for p in paths))
    doc = evaluate(config, make_protocol("duf"))  # the CLI's eval runs in the tests above
    assert doc["models"] == ["bicubic", *(f"zoo/{n}" for n in models)]
    assert all(np.isfinite(c[f"psnr:{m}"]) for c in doc["clips"] for m in doc["models"])
    src = tmp_path / "in.mp4"
    clip_with_audio(src, frames=2, size=(32, 24))  # DRCN: 1.7 s a frame at 64×48 here
    # upscale_video sees a model only through its scale and window: one model of each kind
    # (pre-upsampling, post-upsampling, temporal, recursive) stands for the rest
    kinds = [n for n in ("srcnn", "espcn", "vespcn", "drcn") if n in built]
    for name, model in ((n, built[n]) for n in kinds):  # the files' loading: the eval above
        up = KerasUpscaler(model, name=name)  # tiling: test_zoo.py
        out = upscale_video(src, tmp_path / "up" / f"{name}.mp4", up)
        assert (out["frames"], out["width"], out["height"]) == (2, 128, 96), name
