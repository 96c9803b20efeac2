"""HR -> LR degradations of the video super-resolution literature.

Both degradations are separable linear resamplings: along each image axis, output sample
``i`` is a weighted sum of a few input samples, ``out[i] = sum_k W[i, k] * in[J[i, k]]``.
They differ only in the weights ``W`` and indices ``J`` (the boundary rule lives in ``J``),
so one engine (:func:`_resample_axis`) applies both, computing only the kept samples.

``bd`` (blur + decimate), as in DUF (Jo et al., CVPR 2018) and its official code:
    LR = (HR ⊛ G)[0::s, 0::s]
    G is the 13×13 Gaussian made by smoothing a centred delta with sigma = 0.4·s (1.6 for ×4);
    like ``scipy.ndimage.gaussian_filter`` it is truncated at radius int(4·sigma + 0.5) and
    normalised, so G = g gᵀ with g[k] ∝ exp(-k² / (2 sigma²)), |k| <= min(6, radius).
    The border is reflect-padded by 6 pixels without repeating the edge
    (``tf.pad(mode="REFLECT")``, OpenCV ``BORDER_REFLECT_101``), and every s-th pixel is kept
    starting at (0, 0).

``bi`` (bicubic with antialiasing), MATLAB ``imresize(HR, 1/s, 'bicubic')``:
    cubic kernel with a = -0.5 (Keys 1981), stretched by 1/scale when shrinking
    (h(x) = scale·cubic(scale·x), support 4/scale); output pixel i (1-based) maps to input
    coordinate u = i/scale + 0.5·(1 - 1/scale); weights are normalised to sum to 1; indices
    outside the image mirror symmetrically with the edge repeated (MATLAB's ``symmetric``).
    The dimension with the smaller scale goes first (rows first when equal), and, like
    MATLAB's ``imresizemex``, uint8 input is rounded to uint8 after each 1-D pass.

Every LR result is rounded half away from zero and clipped to uint8, as it would be stored.
Inputs are uint8 RGB (or grey) arrays H×W(×C); outputs are uint8 (H/s)×(W/s)(×C).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from vsrdata.common.constants import SCALES
from vsrdata.common.images import round_uint8

__all__ = ["DEGRADATIONS", "SCALES", "bd_kernel", "cubic", "degrade", "degrade_region", "imresize"]

BD_KERNEL_SIZE = 13


# --------------------------------------------------------------------------------------------
# Helpers: index rules and the separable resampling engine.


def _reflect101(idx: np.ndarray, n: int) -> np.ndarray:
    """Mirror indices into [0, n) without repeating the edge: -1 -> 1, n -> n-2."""
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * n - 2
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def _symmetric(idx: np.ndarray, n: int) -> np.ndarray:
    """Mirror indices into [0, n) repeating the edge: -1 -> 0, n -> n-1 (MATLAB's aux rule)."""
    period = 2 * n
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - 1 - idx, idx)


def _resample_axis(img: np.ndarray, axis: int, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """out[i] = sum_k w[i, k] * img[idx[i, k]] along ``axis`` (0 or 1), in float64."""
    shape = [1] * img.ndim
    shape[axis] = idx.shape[0]
    out = np.zeros((*img.shape[:axis], idx.shape[0], *img.shape[axis + 1 :]), dtype=np.float64)
    for k in range(idx.shape[1]):
        taken = np.take(img, idx[:, k], axis=axis)
        out += w[:, k].reshape(shape) * taken
    return out


# --------------------------------------------------------------------------------------------
# bd: Gaussian blur + decimation (DUF).


@functools.lru_cache(maxsize=8)
def _bd_taps(scale: int) -> np.ndarray:
    """1-D Gaussian of the DUF kernel: 13 taps, sigma = 0.4·scale, truncated like scipy."""
    sigma = 0.4 * scale
    half = BD_KERNEL_SIZE // 2
    radius = min(half, int(4.0 * sigma + 0.5))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.where(np.abs(x) <= radius, np.exp(-0.5 * (x / sigma) ** 2), 0.0)
    return g / g.sum()


def bd_kernel(scale: int) -> np.ndarray:
    """The 13×13 DUF blur kernel for ``scale`` (float64, sums to 1)."""
    g = _bd_taps(scale)
    return np.outer(g, g)


@functools.lru_cache(maxsize=64)
def _bd_plan(n_in: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    g = _bd_taps(scale)
    half = BD_KERNEL_SIZE // 2
    keep = np.nonzero(g)[0]
    centres = np.arange(0, n_in, scale)[:, None]
    idx = _reflect101(centres + (keep - half)[None, :], n_in)
    w = np.broadcast_to(g[keep], idx.shape).copy()
    return idx, w


# --------------------------------------------------------------------------------------------
# bi: MATLAB imresize, bicubic with antialiasing.


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def _triangle(x: np.ndarray) -> np.ndarray:
    """Linear interpolation kernel (MATLAB's ``triangle``), support [-1, 1]."""
    return np.clip(1.0 - np.abs(x), 0.0, None)


# method -> (kernel, support width), as in MATLAB's imresize
_KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "bicubic": (cubic, 4.0),
    "bilinear": (_triangle, 2.0),
}


@functools.lru_cache(maxsize=64)
def _imresize_plan(
    n_in: int, scale: float, method: str = "bicubic", antialiasing: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB's ``contributions(in_length, out_length, scale, kernel, width, antialiasing)``.

    Returns 0-based (indices, weights), each n_out × taps, with all-zero tap columns removed.
    """
    base, width = _KERNELS[method]
    n_out = int(np.ceil(n_in * scale - 1e-9))
    kernel = base
    if scale < 1 and antialiasing:
        kernel = lambda t: scale * base(scale * t)  # noqa: E731
        width = width / scale
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    idx1 = left[:, None] + np.arange(taps)[None, :]  # 1-based, may fall outside the image
    w = kernel(u[:, None] - idx1)
    w = w / w.sum(axis=1, keepdims=True)
    idx = _symmetric(idx1.astype(np.int64) - 1, n_in)
    used = np.any(w != 0, axis=0)
    return idx[:, used], w[:, used]


def imresize(
    img: np.ndarray,
    scale: float | tuple[float, float],
    method: str = "bicubic",
    antialiasing: bool = True,
) -> np.ndarray:
    """MATLAB-compatible ``imresize(img, scale, method, 'Antialiasing', antialiasing)``.

    Matches MATLAB R2015b and later (symmetric border; older releases replicated the edge).

    Args:
        img: H×W or H×W×C array. uint8 input gives uint8 output, rounded and saturated after
            each 1-D pass exactly as MATLAB's ``imresizemex`` does; floating input gives
            float64 output without rounding or clipping.
        scale: one factor for both axes (0.25 shrinks by 4) or (rows, columns); the output is
            ceil(H·sy) × ceil(W·sx). The axis with the smaller factor is resized first,
            rows first when equal.
        method: ``"bicubic"`` (Keys, a = -0.5) or ``"bilinear"``.
        antialiasing: stretch the kernel by 1/scale when shrinking (MATLAB's default).
    """
    sy, sx = (scale, scale) if isinstance(scale, int | float) else scale
    if sy <= 0 or sx <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if method not in _KERNELS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(_KERNELS)}")
    rows = _imresize_plan(img.shape[0], float(sy), method, antialiasing)
    cols = _imresize_plan(img.shape[1], float(sx), method, antialiasing)
    return _separable(img, rows, cols, round_each_pass=img.dtype == np.uint8, cols_first=sx < sy)


def _separable(
    img: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    cols: tuple[np.ndarray, np.ndarray],
    round_each_pass: bool,
    cols_first: bool = False,
) -> np.ndarray:
    """Resample rows and columns with (indices, weights) plans; reads only what they touch.

    uint8 results are rounded half up; with ``round_each_pass`` the intermediate is rounded
    too (MATLAB's behaviour on uint8). Float input without rounding returns float64.
    """
    (iy, wy), (ix, wx) = rows, cols
    y0, y1 = int(iy.min()), int(iy.max()) + 1
    x0, x1 = int(ix.min()), int(ix.max()) + 1
    out = img[y0:y1, x0:x1]  # gathered as stored (uint8 moves 8x less memory), summed in float64
    passes = [(0, iy - y0, wy), (1, ix - x0, wx)]
    for n, (axis, idx, w) in enumerate(reversed(passes) if cols_first else passes):
        out = _resample_axis(out, axis, idx, w)
        if round_each_pass and n == 0:
            out = round_uint8(out)
    return round_uint8(out) if img.dtype == np.uint8 else out


# --------------------------------------------------------------------------------------------
# Registry and public entry points.

# kind -> (per-axis plan for a given input length and integer scale, round after each pass)
_PLANS: dict[str, tuple[Callable[[int, int], tuple[np.ndarray, np.ndarray]], bool]] = {
    "bd": (_bd_plan, False),
    "bi": (lambda n, s: _imresize_plan(n, 1.0 / s), True),
}
DEGRADATIONS = tuple(_PLANS)


def degrade_region(
    hr: np.ndarray, kind: str, scale: int, box: tuple[int, int, int, int]
) -> np.ndarray:
    """LR of the HR region ``box = (y, x, h, w)``, exactly as if the whole frame were degraded.

    The region's LR pixels depend on HR pixels around it (and on the frame border through the
    padding rule), so cropping after degrading the full frame and calling this give the same
    bytes; this reads and computes only the region and its kernel margin. ``y, x, h, w`` must
    be multiples of ``scale``.
    """
    plan, round_each_pass = _PLANS[kind]
    y, x, h, w = box
    iy, wy = plan(hr.shape[0], scale)
    ix, wx = plan(hr.shape[1], scale)
    rows = (iy[y // scale : (y + h) // scale], wy[y // scale : (y + h) // scale])
    cols = (ix[x // scale : (x + w) // scale], wx[x // scale : (x + w) // scale])
    return _separable(hr, rows, cols, round_each_pass)


def degrade(hr: np.ndarray, kind: str = "bd", scale: int = 4) -> np.ndarray:
    """Degrade an HR image to LR with one of :data:`DEGRADATIONS` (see the module docstring).

    Args:
        hr: uint8 H×W×3 (or H×W); H and W must be multiples of ``scale``.
        kind: ``"bd"`` (DUF Gaussian blur + decimation) or ``"bi"`` (MATLAB bicubic).
        scale: 2, 3 or 4.

    Returns:
        uint8 (H/scale)×(W/scale)(×3).
    """
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {sorted(DEGRADATIONS)}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale}")
    if hr.dtype != np.uint8:
        raise ValueError(f"hr must be uint8, got {hr.dtype}")
    h, w = hr.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"HR size {w}x{h} is not a multiple of the scale {scale}")
    return degrade_region(hr, kind, scale, (0, 0, h, w))
