"""Summed-area scoring, crop selection, and motion crops on clips with known motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import sidecar, small_config
from vsrdata.motion.crops import CROP_MODES, CropSpec, WindowScorer
from vsrdata.motion.flow import FLOW_METHODS, FlowEstimator, flow_factor, small_grey
from vsrdata.preprocess.video import discover
from vsrdata.preprocess.windows import ClipProcessor

RNG = np.random.default_rng(3)


def test_box_means_match_brute_force() -> None:
    motion = RNG.random((30, 40)).astype(np.float32)
    grey = RNG.integers(0, 256, (30, 40), dtype=np.uint8)
    scorer = WindowScorer(motion, grey, factor=2, hr_size=(60, 80), scale=4)
    m, t = scorer.maps(16, 12)  # HR box 16x12 -> small 8x6
    assert m.shape == (30 - 8 + 1, 40 - 6 + 1)
    for y, x in [(0, 0), (5, 7), (22, 34)]:
        assert m[y, x] == pytest.approx(motion[y : y + 8, x : x + 6].mean(), rel=1e-6)
        assert t[y, x] == pytest.approx(grey[y : y + 8, x : x + 6].astype(float).std(), rel=1e-6)
    one = scorer.crop(10, 14, 16, 12)
    assert one.motion == pytest.approx(motion[5:13, 7:13].mean(), rel=1e-6)


def test_motion_crops_are_the_top_non_overlapping_boxes() -> None:
    motion = np.zeros((64, 64), np.float32)
    motion[40:56, 4:20] = 3.0  # strongest
    motion[4:20, 40:56] = 2.0
    grey = RNG.integers(0, 256, (64, 64), dtype=np.uint8)
    scorer = WindowScorer(motion, grey, factor=1, hr_size=(64, 64), scale=4)
    crops = CROP_MODES["motion"](scorer, CropSpec(16, count=3, min_motion=1.0))
    assert [(c.y, c.x) for c in crops[:2]] == [(40, 4), (4, 40)]
    assert len(crops) == 2  # the third best has mean motion < 1
    assert not crops[0].overlaps(crops[1])
    assert all(c.y % 4 == 0 and c.x % 4 == 0 for c in crops)


def test_flat_regions_fail_the_texture_threshold() -> None:
    motion = np.ones((32, 32), np.float32)
    grey = np.full((32, 32), 128, np.uint8)
    scorer = WindowScorer(motion, grey, factor=1, hr_size=(32, 32), scale=2)
    assert CROP_MODES["motion"](scorer, CropSpec(8, min_motion=0.5, min_texture=1.0)) == []
    assert len(CROP_MODES["center"](scorer, CropSpec(8))) == 1


def test_center_and_full_crops() -> None:
    scorer = WindowScorer(
        np.zeros((27, 40), np.float32), np.zeros((27, 40), np.uint8), 4, (108, 160), 4
    )
    (c,) = CROP_MODES["center"](scorer, CropSpec(64))
    assert (c.y, c.x, c.h, c.w) == (20, 48, 64, 64)
    (f,) = CROP_MODES["full"](scorer, CropSpec(64))
    assert (f.y, f.x, f.h, f.w) == (0, 0, 108, 160)


@pytest.mark.parametrize("method", sorted(FLOW_METHODS))
def test_flow_magnitude_of_a_known_shift(method: str) -> None:
    y, x = np.mgrid[0:120, 0:160]
    img = (127 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)).astype(np.uint8)
    shifted = np.roll(img, 2, axis=1)
    mag = FlowEstimator(method, factor=3).magnitude(img, shifted)
    # 2 small pixels per frame = 6 HR pixels per frame, away from the wrapped border
    assert np.median(mag[20:-20, 20:-20]) == pytest.approx(6.0, abs=0.6)
    still = FlowEstimator(method, factor=3).magnitude(img, img)
    assert np.median(still) < 0.1  # no motion, no flow


@pytest.mark.parametrize("mode", sorted(CROP_MODES))
@pytest.mark.parametrize(("hr_size", "scale", "size"), [((108, 160), 4, 64), ((60, 90), 3, 24)])
def test_every_crop_mode_gives_aligned_crops_inside_the_frame(
    mode: str, hr_size: tuple[int, int], scale: int, size: int
) -> None:
    """The contract of a crop mode: crops inside the frame, on the LR grid (multiples of the
    scale), of the asked size (or the whole usable frame), none overlapping, at most count."""
    factor = 2
    small = (hr_size[0] // factor, hr_size[1] // factor)
    motion = RNG.random(small).astype(np.float32) * 4
    grey = RNG.integers(0, 256, small, dtype=np.uint8)
    scorer = WindowScorer(motion, grey, factor, hr_size, scale)
    crops = CROP_MODES[mode](scorer, CropSpec(size, count=3))
    assert 1 <= len(crops) <= 3
    for i, c in enumerate(crops):
        assert c.y % scale == 0 and c.x % scale == 0 and c.h % scale == 0 and c.w % scale == 0
        assert c.y >= 0 and c.y + c.h <= hr_size[0] and c.x >= 0 and c.x + c.w <= hr_size[1]
        assert (c.h, c.w) == (size, size) or (c.y, c.x) == (0, 0)
        assert not any(c.overlaps(o) for o in crops[i + 1 :])


def test_flow_factor_keeps_crops_resolvable() -> None:
    assert flow_factor(1080, 1920, 128) == 5
    assert flow_factor(240, 320, 64) == 1
    assert flow_factor(2160, 3840, 64) == 4  # bounded by the crop, not the frame
    rgb = RNG.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    assert small_grey(rgb, 5).shape == (216, 384)


def _overlap(crop: list[int], boxes: list[list[int]]) -> float:
    """Largest share of the crop's area covered by one ground-truth box [x, y, w, h]."""
    y, x, h, w = crop
    best = 0.0
    for bx, by, bw, bh in boxes:
        iw = max(0, min(x + w, bx + bw) - max(x, bx))
        ih = max(0, min(y + h, by + bh) - max(y, by))
        best = max(best, iw * ih / (w * h))
    return best


def test_motion_crops_land_on_moving_objects_where_center_misses(objects_dir: Path) -> None:
    for ref in discover(objects_dir):
        truth = sidecar(ref.path)["motion_boxes"]
        scores = {}
        for mode in ("motion", "center"):
            cfg = small_config(objects_dir, "-", crop=mode)
            samples = list(ClipProcessor(ref, cfg, "train").samples())
            assert samples, f"{ref.clip_id}: no {mode} samples"
            scores[mode] = np.mean([_overlap(s["crop"], truth[s["center"]]) for s in samples])
        assert scores["motion"] >= 0.7, (ref.clip_id, scores)
        assert scores["center"] <= 0.2, (ref.clip_id, scores)
