"""PSNR and SSIM in the conventions of the published tables, against the definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import correlate

from vsrdata.evaluate import psnr, psnr_ssim, rgb_to_y, ssim


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM from Wang et al. 2004 written out: 11×11 Gaussian (sigma 1.5), 'valid' region."""
    r = np.arange(-5, 6)
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(img: np.ndarray) -> np.ndarray:
        return correlate(img, w, mode="constant")[5:-5, 5:-5]

    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(m.mean())


def images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-25, 26, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_y_is_matlab_rgb2ycbcr_unrounded() -> None:
    px = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], np.uint8)
    np.testing.assert_allclose(rgb_to_y(px)[0], [235.0, 16.0, 16 + 65.481], atol=1e-12)


def test_psnr_hand_computed() -> None:
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16  # MSE = 256 / 16 = 16
    assert psnr(a, b, y_channel=False) == pytest.approx(10 * math.log10(255**2 / 16), abs=1e-12)
    assert psnr(a, a) == math.inf
    x, y = images()
    assert psnr(x, y) == psnr(y, x)
    d = rgb_to_y(x)[4:-4, 4:-4] - rgb_to_y(y)[4:-4, 4:-4]
    expected = 10 * math.log10(255**2 / np.mean(d**2))
    assert psnr(x, y, crop_border=4) == pytest.approx(expected, abs=1e-9)


def test_ssim_against_the_definition() -> None:
    x, y = images(1)
    assert ssim(x, x) == 1.0
    assert ssim(x, y) == pytest.approx(reference_ssim(rgb_to_y(x), rgb_to_y(y)), abs=1e-9)
    per_channel = np.mean([reference_ssim(x[..., c] * 1.0, y[..., c] * 1.0) for c in range(3)])
    assert ssim(x, y, y_channel=False) == pytest.approx(per_channel, abs=1e-9)
    cropped = reference_ssim(rgb_to_y(x)[3:-3, 3:-3], rgb_to_y(y)[3:-3, 3:-3])
    assert ssim(x, y, crop_border=3) == pytest.approx(cropped, abs=1e-9)


def test_bad_shapes_are_refused() -> None:
    x, y = images()
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(x, y[:-1])
    with pytest.raises(ValueError, match="leaves nothing"):
        ssim(x, y, crop_border=20)


@pytest.mark.parametrize("y_channel", [True, False])
def test_banded_scores_equal_the_whole_image_definitions(y_channel: bool) -> None:
    """Large enough for several bands on several threads: the same numbers (1e-9) as the
    definitions computed on the whole image at once."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (301, 203, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    crop = 7
    x = [rgb_to_y(a)] if y_channel else [a[..., c] * 1.0 for c in range(3)]
    y = [rgb_to_y(b)] if y_channel else [b[..., c] * 1.0 for c in range(3)]
    x = [p[crop:-crop, crop:-crop] for p in x]
    y = [p[crop:-crop, crop:-crop] for p in y]
    mse = np.mean([np.mean((p - q) ** 2) for p, q in zip(x, y, strict=True)])
    expected_psnr = 10 * math.log10(255**2 / mse)
    expected_ssim = np.mean([reference_ssim(p, q) for p, q in zip(x, y, strict=True)])
    both = psnr_ssim(a, b, crop, y_channel)
    assert both[0] == pytest.approx(expected_psnr, abs=1e-9)
    assert both[1] == pytest.approx(expected_ssim, abs=1e-9)
    assert psnr(a, b, crop, y_channel) == both[0] and ssim(a, b, crop, y_channel) == both[1]


def test_flow_error_is_zero_for_the_truth_and_grows_with_flicker() -> None:
    """0 when the outputs move as the truth does; positive for an output whose texture
    flickers; the ground truth's flows computed once (``truth_flows``) give the same values
    as computing them per column."""
    import cv2

    from vsrdata.common.metrics import flow_error, truth_flows

    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (128, 96),
                      interpolation=cv2.INTER_CUBIC)  # fmt: skip
    truth = [np.roll(base, 2 * t, axis=1) for t in range(4)]
    flicker = [np.clip(f.astype(int) + rng.integers(-40, 41, f.shape), 0, 255).astype(np.uint8)
               for f in truth]  # fmt: skip
    assert flow_error(truth, truth, 4) == [0.0, 0.0, 0.0]
    errors = flow_error(flicker, truth, 4)
    assert len(errors) == 3 and min(errors) > 0
    flows = truth_flows(truth)
    np.testing.assert_allclose(flow_error(flicker, truth, 4, flows), errors, rtol=1e-6)
    assert flow_error(truth, truth, 4, flows) == [0.0, 0.0, 0.0]
