"""Image quality metrics in the conventions of the published VSR tables (pure functions).

Inputs are uint8 RGB H×W×3 arrays (or H×W grey); all arithmetic is float64.

- **Y channel**: BT.601 luma as MATLAB's ``rgb2ycbcr`` on [0, 1] RGB, *not rounded*:
  Y = 16 + 65.481·R + 128.553·G + 24.966·B, so Y is on the [16, 235] scale of 255.
- **PSNR** = 10·log10(255² / MSE) over the region left after cropping ``crop_border`` pixels
  from every side; identical images give ``inf``.
- **SSIM** (Wang et al., IEEE TIP 2004): an 11×11 Gaussian window of sigma 1.5,
  C1 = (0.01·255)², C2 = (0.03·255)², evaluated where the window lies wholly inside the
  (cropped) image (MATLAB ``filter2(..., 'valid')``), averaged over those positions; without
  ``y_channel`` the mean over the three channels.

These are the definitions of the DUF evaluation code, BasicSR and the MATLAB scripts the
tables come from (with ``crop_border`` as the protocol sets it).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["flow_error", "psnr", "rgb_to_y", "ssim"]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """float64 H×W luma in [16, 235] from uint8 RGB H×W×3 (MATLAB ``rgb2ycbcr``, unrounded)."""
    return 16.0 + img.astype(np.float64) @ _Y_WEIGHTS


def _prepare(a: np.ndarray, b: np.ndarray, crop_border: int, y_channel: bool) -> tuple:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if crop_border < 0 or 2 * crop_border >= min(a.shape[:2]):
        raise ValueError(f"crop_border {crop_border} leaves nothing of a {a.shape[:2]} image")
    if y_channel and a.ndim == 3 and a.shape[2] == 3:
        x, y = rgb_to_y(a), rgb_to_y(b)
    else:
        x, y = a.astype(np.float64), b.astype(np.float64)
    if crop_border:
        x = x[crop_border:-crop_border, crop_border:-crop_border]
        y = y[crop_border:-crop_border, crop_border:-crop_border]
    return x, y


def psnr(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB between two uint8 RGB images (peak 255); ``inf`` when they are equal."""
    x, y = _prepare(a, b, crop_border, y_channel)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def _gaussian_window() -> np.ndarray:
    k = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_64F)
    return k @ k.T


_WINDOW = _gaussian_window()


def _ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    if min(x.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got {x.shape}")
    half = SSIM_WINDOW // 2
    inner = (slice(half, x.shape[0] - half), slice(half, x.shape[1] - half))

    def blur(img: np.ndarray) -> np.ndarray:  # 'valid' positions only: no border rule used
        return cv2.filter2D(img, cv2.CV_64F, _WINDOW, borderType=cv2.BORDER_REFLECT)[inner]

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    den = (mu_x**2 + mu_y**2 + _C1) * (var_x + var_y + _C2)
    return float(np.mean(num / den))


def ssim(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """Mean SSIM between two uint8 RGB images (1.0 when they are equal)."""
    x, y = _prepare(a, b, crop_border, y_channel)
    if x.ndim == 2:
        return _ssim_plane(x, y)
    return float(np.mean([_ssim_plane(x[..., c], y[..., c]) for c in range(x.shape[2])]))


def _flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return np.asarray(dis.calc(prev, nxt, None))  # type: ignore[call-overload]


def _grey(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb_to_y(img)), 0, 255).astype(np.uint8)


def flow_error(
    outputs: list[np.ndarray], truth: list[np.ndarray], crop_border: int = 0
) -> list[float]:
    """Temporal consistency: for each pair of consecutive frames, the mean end-point distance
    (HR pixels) between the optical flow of the output pair and that of the ground-truth pair.

    Flow is OpenCV DIS (medium preset) on the rounded Y channel; ``crop_border`` pixels are
    dropped from the flow fields. Flicker and temporal incoherence raise it; 0 for outputs
    that move exactly as the truth does (tOF in the spirit of TecoGAN, Chu et al. 2020).
    Returns one value per pair (``len(outputs) - 1`` values).
    """
    if len(outputs) != len(truth):
        raise ValueError(f"{len(outputs)} outputs for {len(truth)} ground-truth frames")
    grey_out = [_grey(x) for x in outputs]
    grey_gt = [_grey(x) for x in truth]
    b = crop_border
    errors = []
    for t in range(len(outputs) - 1):
        diff = _flow(grey_out[t], grey_out[t + 1]) - _flow(grey_gt[t], grey_gt[t + 1])
        if b:
            diff = diff[b:-b, b:-b]
        errors.append(float(np.mean(np.sqrt((diff**2).sum(axis=-1)))))
    return errors
