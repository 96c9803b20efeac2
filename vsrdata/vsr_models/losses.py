"""Training losses, per example, on [0, 1] pixel values (computed in at least float32).

- ``huber``: DUF's (Jo et al., CVPR 2018), delta = 0.01: per pixel 0.5·e² for |e| <= delta,
  else delta·(|e| - 0.5·delta), averaged.
- ``mse``, ``l1``: the mean squared and absolute errors.
- ``charbonnier``: sqrt(e² + eps²) averaged, eps = 1e-3 (LapSRN, EDVR).
- ``inv-psnr``: 1 / PSNR (dB) of each example, PSNR = 10·log10(1 / MSE); a loss a temporal
  SRCNN project trained with; it weighs every example's improvement by its current quality.
- ``dssim``: 1 - SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, data
  range 1), the mean over channels; needs targets of at least 11×11 pixels.

Models that work on luma (``ModelSpec.colour == "y"``) are trained on Y of their output and
of the target (:func:`loss_on_y`): their Cb/Cr come from bicubic and carry no gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from vsrdata.vsr_models.layers import luma

DUF_HUBER_DELTA = 0.01
CHARBONNIER_EPS = 1e-3
PSNR_FLOOR_MSE = 1e-10  # a perfect example would make 1/PSNR's gradient undefined


def _error(y_true: Any, y_pred: Any) -> Any:
    dtype = tf.float64 if y_pred.dtype == tf.float64 else tf.float32  # never below float32
    return tf.cast(y_pred, dtype) - tf.cast(y_true, dtype)


def _mean(per_element: Any) -> Any:
    return tf.reduce_mean(tf.reshape(per_element, [tf.shape(per_element)[0], -1]), axis=1)


def huber_per_example(y_true: Any, y_pred: Any, delta: float = DUF_HUBER_DELTA) -> Any:
    """[B] Huber losses, each the mean over one example's elements (tensors [B, ...])."""
    err = tf.abs(_error(y_true, y_pred))
    quadratic = tf.minimum(err, delta)
    return _mean(0.5 * quadratic**2 + delta * (err - quadratic))


def huber(y_true: Any, y_pred: Any, delta: float = DUF_HUBER_DELTA) -> Any:
    """Mean Huber loss over all elements (equal-size examples: the mean of the above)."""
    return tf.reduce_mean(huber_per_example(y_true, y_pred, delta))


def mse_per_example(y_true: Any, y_pred: Any) -> Any:
    err = _error(y_true, y_pred)
    return _mean(err * err)


def l1_per_example(y_true: Any, y_pred: Any) -> Any:
    return _mean(tf.abs(_error(y_true, y_pred)))


def charbonnier_per_example(y_true: Any, y_pred: Any) -> Any:
    err = _error(y_true, y_pred)
    return _mean(tf.sqrt(err * err + CHARBONNIER_EPS**2))


def inv_psnr_per_example(y_true: Any, y_pred: Any) -> Any:
    mse = tf.maximum(mse_per_example(y_true, y_pred), PSNR_FLOOR_MSE)
    psnr = -10.0 * tf.math.log(mse) / tf.math.log(tf.constant(10.0, mse.dtype))
    return 1.0 / psnr


def dssim_per_example(y_true: Any, y_pred: Any) -> Any:
    dtype = tf.float64 if y_pred.dtype == tf.float64 else tf.float32
    return 1.0 - tf.image.ssim(
        tf.cast(y_true, dtype), tf.cast(y_pred, dtype), max_val=1.0,
        filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
    )  # fmt: skip


PER_EXAMPLE: dict[str, Callable[[Any, Any], Any]] = {
    "huber": huber_per_example,
    "mse": mse_per_example,
    "l1": l1_per_example,
    "charbonnier": charbonnier_per_example,
    "inv-psnr": inv_psnr_per_example,
    "dssim": dssim_per_example,
}
LOSSES = tuple(PER_EXAMPLE)


def per_example_loss(name: str) -> Callable[[Any, Any], Any]:
    """The per-example loss ``name`` (one of :data:`LOSSES`)."""
    if name not in PER_EXAMPLE:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(PER_EXAMPLE)}")
    return PER_EXAMPLE[name]


def loss_on_y(loss: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``loss`` computed on Y of the target and of the prediction."""

    def on_y(y_true: Any, y_pred: Any) -> Any:
        return loss(luma(tf.cast(y_true, tf.float32)), luma(tf.cast(y_pred, tf.float32)))

    return on_y
