"""Training losses, per example, on [0, 1] pixel values (computed in at least float32).

- ``huber``: DUF's (Jo et al., CVPR 2018), delta = 0.01: per pixel 0.5·e² for |e| <= delta,
  else delta·(|e| - 0.5·delta), averaged.
- ``mse``, ``l1``: the mean squared and absolute errors.
- ``charbonnier``: sqrt(e² + eps²) averaged, eps = 1e-3 (LapSRN, EDVR).
- ``inv-psnr``: 1 / PSNR (dB) of each example, PSNR = 10·log10(1 / MSE); a loss a temporal
  SRCNN project trained with; it weighs every example's improvement by its current quality.
- ``dssim``: 1 - SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, data
  range 1), the mean over channels; needs targets of at least 11×11 pixels.
- ``vgg54``: SRGAN's content loss (Ledig et al., CVPR 2017): the MSE between VGG19 φ5,4
  feature maps of the prediction and of the target, each map rescaled by 1/12.75 (the
  paper's factor; on the features, so the loss is 1/12.75² of the raw feature MSE, the 0.0061
  of the authors' TensorFlow code). The ImageNet weights are a local file: the Keras
  ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (or any VGG19 notop weights file
  Keras loads); images go in as Keras's VGG preprocessing has them (BGR, 0–255, ImageNet
  channel means subtracted).

Models that work on luma (``ModelSpec.colour == "y"``) are trained on Y of their output and
of the target (:func:`loss_on_y`): their Cb/Cr come from bicubic and carry no gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf

from vsrdata.errors import UsageError
from vsrdata.vsr_models.layers import luma
from vsrdata.vsr_models.registry import VGG_WEIGHTS_NEEDED

DUF_HUBER_DELTA = 0.01
CHARBONNIER_EPS = 1e-3
PSNR_FLOOR_MSE = 1e-10  # a perfect example would make 1/PSNR's gradient undefined
VGG_LAYER = "block5_conv4"  # φ5,4: after the fourth convolution's ReLU, before pool 5
VGG_RESCALE = 1.0 / 12.75
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # Keras's "caffe" preprocessing of VGG


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


def vgg_features(weights: str | Path) -> Any:
    """VGG19 up to φ5,4 with the weights in the file ``weights``, frozen: [B, H, W, 3]
    preprocessed images -> [B, H/16, W/16, 512]."""
    import keras

    path = Path(weights)
    if not path.is_file():
        raise UsageError(f"--vgg-weights {path}: no such file")
    try:
        vgg = keras.applications.VGG19(include_top=False, weights=str(path),
                                       input_shape=(None, None, 3))  # fmt: skip
    except (ValueError, OSError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--vgg-weights {path} are not VGG19 weights without the top (the "
                         f"Keras notop HDF5): {first}") from None  # fmt: skip
    net = keras.Model(vgg.input, vgg.get_layer(VGG_LAYER).output, name="vgg19_phi54")
    net.trainable = False
    return net


def vgg_feature_loss(weights: str | Path) -> Callable[[Any, Any], Any]:
    """SRGAN's ``vgg54`` content loss per example (see the module docstring); builds the
    network now (inside a distribution strategy's scope, so that it is mirrored)."""
    net = vgg_features(weights)
    mean = tf.constant(IMAGENET_MEAN_BGR, tf.float32)

    def phi(images: Any) -> Any:
        bgr = tf.cast(images, tf.float32)[..., ::-1] * 255.0 - mean
        return net(bgr, training=False) * VGG_RESCALE

    def per_example(y_true: Any, y_pred: Any) -> Any:
        err = phi(y_pred) - phi(y_true)
        return _mean(err * err)

    return per_example


PER_EXAMPLE: dict[str, Callable[[Any, Any], Any]] = {
    "huber": huber_per_example,
    "mse": mse_per_example,
    "l1": l1_per_example,
    "charbonnier": charbonnier_per_example,
    "inv-psnr": inv_psnr_per_example,
    "dssim": dssim_per_example,
}
LOSSES = (*PER_EXAMPLE, "vgg54")


def per_example_loss(name: str, vgg_weights: str | None = None) -> Callable[[Any, Any], Any]:
    """The per-example loss ``name`` (one of :data:`LOSSES`); ``vgg54`` reads
    ``vgg_weights``."""
    if name == "vgg54":
        if not vgg_weights:
            raise UsageError(VGG_WEIGHTS_NEEDED)
        return vgg_feature_loss(vgg_weights)
    if name not in PER_EXAMPLE:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return PER_EXAMPLE[name]


def loss_on_y(loss: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``loss`` computed on Y of the target and of the prediction."""

    def on_y(y_true: Any, y_pred: Any) -> Any:
        return loss(luma(tf.cast(y_true, tf.float32)), luma(tf.cast(y_pred, tf.float32)))

    return on_y
