"""bd and bi degradations against their published definitions and MATLAB's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vsrdata.preprocess import degrade, imresize
from vsrdata.preprocess.degrade import DEGRADATIONS, SCALES, bd_kernel, degrade_region

RNG = np.random.default_rng(0)


def duf_gkern(scale: int) -> np.ndarray:
    """DUF's official kernel construction: gaussian_filter of a 13x13 delta, sigma 0.4*scale."""
    delta = np.zeros((13, 13))
    delta[6, 6] = 1.0
    return ndimage.gaussian_filter(delta, 0.4 * scale)


def bd_reference(hr: np.ndarray, scale: int) -> np.ndarray:
    """Direct 2-D correlation with reflect-101 padding, keep every scale-th pixel, round."""
    k = duf_gkern(scale)
    channels = [
        ndimage.correlate(hr[..., c].astype(np.float64), k, mode="mirror") for c in range(3)
    ]
    blurred = np.stack(channels, axis=-1)[::scale, ::scale]
    return np.clip(np.floor(blurred + 0.5), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bd_kernel_is_dufs(scale: int) -> None:
    k = bd_kernel(scale)
    assert k.shape == (13, 13)
    np.testing.assert_allclose(k, duf_gkern(scale), atol=1e-15)
    assert k.sum() == pytest.approx(1.0)


def test_bd_kernel_x4_centre_value() -> None:
    # value of the official gkern(13, 1.6) at its centre
    assert bd_kernel(4)[6, 6] == pytest.approx(0.0621745, abs=1e-7)


def test_bd_on_delta_image_gives_the_kernel() -> None:
    hr = np.zeros((96, 96, 3), np.uint8)
    hr[40, 40] = 255
    lr = degrade(hr, "bd", 4)
    k = bd_kernel(4)
    # LR pixel (i, j) sits on HR pixel (4i, 4j): it sees the delta at offset (40-4i, 40-4j)
    for i, j in [(10, 10), (10, 11), (9, 10), (11, 11), (10, 9)]:
        dy, dx = 40 - 4 * i, 40 - 4 * j
        expected = np.floor(255 * k[6 + dy, 6 + dx] + 0.5)
        assert lr[i, j, 0] == expected
    assert lr[10, 10, 0] == 16  # round(255 * 0.0621745)
    assert lr[0, 0].max() == 0 and lr.shape == (24, 24, 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bd_matches_direct_formula_on_random_images(scale: int) -> None:
    hr = RNG.integers(0, 256, size=(12 * scale, 10 * scale, 3), dtype=np.uint8)
    ours = degrade(hr, "bd", scale).astype(int)
    ref = bd_reference(hr, scale).astype(int)
    assert ours.shape == (12, 10, 3)
    # float sums in another order may land on the other side of .5 in rare pixels
    assert np.abs(ours - ref).max() <= 1
    assert (ours != ref).mean() < 0.002


def test_imresize_matches_published_matlab_values() -> None:
    m = np.arange(16, dtype=np.float64).reshape(4, 4)
    # MATLAB: imresize(M, 0.5, 'bicubic', 'Antialiasing', false)
    np.testing.assert_allclose(
        imresize(m, 0.5, "bicubic", antialiasing=False), [[2.1875, 4.3125], [10.6875, 12.8125]]
    )
    # MATLAB: imresize(M, 0.5, 'bilinear') with and without antialiasing
    np.testing.assert_allclose(imresize(m, 0.5, "bilinear"), [[3.125, 4.875], [10.125, 11.875]])
    np.testing.assert_allclose(
        imresize(m, 0.5, "bilinear", antialiasing=False), [[2.5, 4.5], [10.5, 12.5]]
    )
    # MATLAB: imresize([1 2; 3 4], [4 4], 'bilinear')
    up = imresize(np.array([[1.0, 2.0], [3.0, 4.0]]), 2, "bilinear")
    np.testing.assert_allclose(
        up,
        [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]],
    )


def test_imresize_bicubic_upsampling_interior_matches_matlab() -> None:
    # MATLAB: imresize([0 0 1 1 0], [1 10]); the last value depends on the border rule
    # (older releases replicated the edge, R2015b+ mirror it as here), so compare the rest.
    got = imresize(np.array([[0.0, 0, 1, 1, 0]]), (1, 2))[0]
    expected = [0, -0.0234375, -0.0703125, 0.203125, 0.796875, 1.09375, 1.09375, 0.796875,
                0.203125]  # fmt: skip
    np.testing.assert_allclose(got[:9], expected)
    assert got[9] == pytest.approx(-0.09375)


def test_imresize_uint8_rounds_between_passes_like_matlab() -> None:
    img = RNG.integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    once = np.clip(np.floor(imresize(img.astype(np.float64), 0.25) + 0.5), 0, 255)
    rows = np.clip(np.floor(imresize(img.astype(np.float64), (0.25, 1)) + 0.5), 0, 255)
    twice = np.clip(np.floor(imresize(rows, (1, 0.25)) + 0.5), 0, 255)
    got = imresize(img, 0.25)
    assert got.dtype == np.uint8 and got.shape == (16, 12, 3)
    np.testing.assert_array_equal(got, twice)
    assert np.abs(got.astype(int) - once.astype(int)).max() <= 1


def test_bi_is_matlab_imresize_of_the_uint8_frame() -> None:
    hr = RNG.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(degrade(hr, "bi", 4), imresize(hr, 0.25))
    np.testing.assert_array_equal(degrade(hr, "bi", 2), imresize(hr, 0.5))


@pytest.mark.parametrize("kind", DEGRADATIONS)
@pytest.mark.parametrize("scale", SCALES)
def test_every_degradation_keeps_shape_type_and_flat_colour(kind: str, scale: int) -> None:
    """The contract of a degradation: uint8 in, uint8 out at 1/scale, a flat colour stays."""
    hr = RNG.integers(0, 256, size=(12 * scale, 16 * scale, 3), dtype=np.uint8)
    lr = degrade(hr, kind, scale)
    assert lr.dtype == np.uint8 and lr.shape == (12, 16, 3)
    flat = np.empty_like(hr)
    flat[:] = (17, 128, 240)
    np.testing.assert_array_equal(degrade(flat, kind, scale), flat[:12, :16])


@pytest.mark.parametrize("kind", DEGRADATIONS)
@pytest.mark.parametrize("scale", SCALES)
def test_region_equals_crop_of_full_frame(kind: str, scale: int) -> None:
    hr = RNG.integers(0, 256, size=(20 * scale, 24 * scale, 3), dtype=np.uint8)
    full = degrade(hr, kind, scale)
    for y, x, h, w in [(0, 0, 8, 8), (4, 12, 8, 12), (12, 16, 8, 8), (0, 0, 20, 24)]:
        box = (y * scale, x * scale, h * scale, w * scale)
        np.testing.assert_array_equal(
            degrade_region(hr, kind, scale, box), full[y : y + h, x : x + w]
        )


def test_degrade_rejects_bad_arguments() -> None:
    hr = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="scale"):
        degrade(hr, "bd", 5)
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(hr, "blur", 4)
    with pytest.raises(ValueError, match="multiple"):
        degrade(np.zeros((18, 16, 3), np.uint8), "bd", 4)
    with pytest.raises(ValueError, match="uint8"):
        degrade(hr.astype(np.float32), "bd", 4)
