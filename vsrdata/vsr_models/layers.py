"""The custom Keras layers of vsrdata's models (registered for loading under ``vsrdata>``).

One module for all of them: a saved ``.keras`` file names its layers by registered name, and
loading any vsrdata model needs only this module imported. Models share them (depth-to-space,
the centre frame of a window, the fused batch norm).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from vsrdata.common.constants import Y_OFFSET, Y_WEIGHTS
from vsrdata.preprocess.degrade import cubic

FILTER = 5  # DUF's dynamic filters are FILTER × FILTER


class ScaledLayer(keras.layers.Layer):
    """A layer configured by the upscaling factor ``scale`` (saved with the model)."""

    def __init__(self, scale: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="vsrdata")
class DynamicUpsampling(ScaledLayer):
    """Apply per-pixel dynamic filters to a frame and rearrange to the HR grid.

    Inputs: ``frame`` [B, H, W, C] and ``filters`` [B, H, W, 25, r²] (each 25-vector sums to
    1). Output [B, H·r, W·r, C] with out[b, h·r+dy, w·r+dx, c] =
    sum_t frame_patch[b, h, w, t, c] · filters[b, h, w, t, dy·r+dx], where the patch is the
    zero-padded 5×5 neighbourhood in row-major tap order (the official ``DynFilter3D``).
    """

    def call(self, frame: Any, filters: Any) -> Any:
        channels = frame.shape[-1]
        patches = tf.image.extract_patches(
            frame, sizes=[1, FILTER, FILTER, 1], strides=[1, 1, 1, 1], rates=[1, 1, 1, 1],
            padding="SAME",
        )  # fmt: skip  # [B, H, W, 25·C], ordered (ky, kx, c)
        shape = tf.shape(frame)
        patches = tf.reshape(patches, [shape[0], shape[1], shape[2], FILTER * FILTER, channels])
        out = tf.einsum("bhwtc,bhwtr->bhwrc", patches, filters)  # [B, H, W, r², C]
        out = tf.reshape(out, [shape[0], shape[1], shape[2], self.scale**2 * channels])
        return tf.nn.depth_to_space(out, self.scale)


@keras.saving.register_keras_serializable(package="vsrdata")
class CentreFrame(keras.layers.Layer):
    """[B, T, H, W, C] -> [B, H, W, C], the frame at T // 2."""

    def call(self, x: Any) -> Any:
        return x[:, x.shape[1] // 2]


@keras.saving.register_keras_serializable(package="vsrdata")
class DepthToSpace(ScaledLayer):
    """[B, 1, H, W, C·r²] -> [B, H·r, W·r, C] (drops the single frame axis)."""

    def call(self, x: Any) -> Any:
        return tf.nn.depth_to_space(x[:, 0], self.scale)


@keras.saving.register_keras_serializable(package="vsrdata")
class TapSoftmax(ScaledLayer):
    """[B, 1, H, W, 25·r²] -> [B, H, W, 25, r²], softmax over the 25 taps."""

    def call(self, x: Any) -> Any:
        shape = tf.shape(x)
        f = tf.reshape(x[:, 0], [shape[0], shape[2], shape[3], FILTER * FILTER, self.scale**2])
        return tf.nn.softmax(f, axis=3)


@keras.saving.register_keras_serializable(package="vsrdata")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras batch normalization, trained with TensorFlow's fused kernel where that is exact.

    Keras 3 normalizes with a chain of element-wise ops (moments, subtract, scale, shift) whose
    gradient is as long again; one ``FusedBatchNormV3`` (oneDNN on the CPU, cuDNN on a GPU) and
    its gradient op do the same in one pass each: 2.5× faster on [8, 7, 32, 32, 160] here. The
    statistics are the same (biased variance for normalizing and for the moving variance: the
    fused op returns the unbiased one, scaled back by (n - 1) / n). Anything the fused kernel
    cannot do exactly goes to Keras: synchronized statistics (several replicas), a mask, float64
    (the numerical checks), renorm, and axes other than the last. At inference (and for a
    frozen layer) the fused kernel normalizes with the moving statistics in one op.

    ``fused`` (not saved) turns the fused kernel off: XLA's CPU expansion of its gradient loses
    precision (gradients 1e-2 off a float64 reference where the unfused graph is within 1e-5),
    so an XLA-compiled step uses the Keras graph.
    """

    fused = True

    def _fusable(self, inputs: Any, mask: Any) -> bool:
        return bool(
            mask is None and not self.renorm and self.scale and self.center
            and self.axis in (-1, len(inputs.shape) - 1) and inputs.shape.rank in (4, 5)
            and inputs.dtype in (tf.float32, tf.float16, tf.bfloat16)
        )  # fmt: skip

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        learning = bool(training and self.trainable)
        if not (self.fused and self._fusable(inputs, mask)) or (learning and self.synchronized):
            return super().call(inputs, training=training, mask=mask)
        shape = tf.shape(inputs)
        channels = inputs.shape[-1]
        # [B, T, H, W, C] -> [B, T·H, W, C]: the statistics span every axis but the last
        x = tf.reshape(inputs, [shape[0], -1, shape[-2], channels])
        if not learning:  # the moving statistics, in one op instead of four
            y, *_ = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, data_format="NHWC", is_training=False,
            )  # fmt: skip
            return tf.cast(tf.reshape(y, shape), self.compute_dtype)
        y, mean, variance, *_ = tf.compat.v1.nn.fused_batch_norm(
            x, self.gamma, self.beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        count = tf.cast(tf.size(inputs) // channels, tf.float32)
        variance = variance * ((count - 1.0) / tf.maximum(count, 1.0))
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        return tf.cast(tf.reshape(y, shape), self.compute_dtype)


@keras.saving.register_keras_serializable(package="vsrdata")
class TrimTime(keras.layers.Layer):
    """[B, T, H, W, C] -> [B, T - 2, H, W, C], the first and last frames dropped.

    A ``tf.slice``, whose gradient is a zero pad: ``Cropping3D``'s strided slice has a generic
    gradient that cost 0.33 s of a 1.7 s DUF-16L training step here.
    """

    def call(self, x: Any) -> Any:
        shape = tf.shape(x)
        size = tf.concat([shape[:1], [shape[1] - 2], shape[2:]], axis=0)
        return tf.slice(x, [0, 1, 0, 0, 0], size)

    def compute_output_shape(self, shape: Any) -> Any:
        frames = None if shape[1] is None else shape[1] - 2
        return (shape[0], frames, *shape[2:])


def exact_dtype() -> str:
    """The dtype of the layers that must not run in low precision: float32 under a mixed
    policy (bfloat16 would quantize the input frame's pixels), else the policy's own (float32,
    or float64 when a numerical check builds the model in double precision)."""
    compute = keras.config.dtype_policy().compute_dtype
    return "float32" if compute in ("float16", "bfloat16") else str(compute)


REACH = 3  # taps on each side of the nearest input sample


def phase_weights(scale: int) -> np.ndarray:
    """[scale, 2·REACH + 1] weights of input offsets -REACH..REACH for each output phase."""
    offsets = np.arange(-REACH, REACH + 1)
    d = (np.arange(scale) + 0.5) / scale - 0.5
    w = cubic(d[:, None] - offsets[None, :])
    return w / w.sum(axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="vsrdata")
class BicubicUpsampling(ScaledLayer):
    """MATLAB-compatible bicubic upsampling of [B, H, W, C] by an integer factor."""

    def __init__(self, scale: int, **kwargs: Any) -> None:
        super().__init__(scale, **kwargs)
        self._w = phase_weights(scale).astype(np.float32)

    def _rows(self, x: Any) -> Any:
        """Upsample axis 1 of [B, H, W, C]."""
        padded = tf.pad(x, [[0, 0], [REACH, REACH], [0, 0], [0, 0]], mode="SYMMETRIC")
        n = tf.shape(x)[1]
        phases = []
        for p in range(self.scale):
            taps = [(k, float(w)) for k, w in enumerate(self._w[p]) if w != 0.0]
            phases.append(tf.add_n([w * padded[:, k : k + n] for k, w in taps]))
        stacked = tf.stack(phases, axis=2)  # [B, H, r, W, C]
        s = tf.shape(x)
        return tf.reshape(stacked, [s[0], n * self.scale, s[2], s[3]])

    def call(self, x: Any) -> Any:
        y = tf.transpose(self._rows(x), [0, 2, 1, 3])
        return tf.transpose(self._rows(y), [0, 2, 1, 3])


# --------------------------------------------------------------------------------------------
# The adapters :meth:`ModelSpec.build` puts around a network that works on luma or refines a
# bicubic upscale, so that every model maps RGB windows [B, T, h, w, 3] to RGB frames.


@keras.saving.register_keras_serializable(package="vsrdata")
class RgbToY(keras.layers.Layer):
    """[..., 3] RGB in [0, 1] -> [..., 1] Y in [0, 1] (BT.601 as MATLAB's ``rgb2ycbcr``)."""

    def call(self, rgb: Any) -> Any:
        weights = tf.constant(Y_WEIGHTS, rgb.dtype)
        return tf.reduce_sum(rgb * weights, axis=-1, keepdims=True) + Y_OFFSET / 255.0


@keras.saving.register_keras_serializable(package="vsrdata")
class BicubicFrames(ScaledLayer):
    """[B, T, h, w, C] -> [B, T, h·r, w·r, C]: every frame upsampled by MATLAB's bicubic."""

    def __init__(self, scale: int, **kwargs: Any) -> None:
        super().__init__(scale, **kwargs)
        self._bicubic = BicubicUpsampling(scale, dtype=self.dtype_policy)

    def call(self, x: Any) -> Any:
        s = tf.shape(x)
        frames = tf.reshape(x, tf.concat([[-1], s[2:]], axis=0))
        up = self._bicubic(frames)
        u = tf.shape(up)
        return tf.reshape(up, tf.concat([s[:2], u[1:]], axis=0))

    def compute_output_shape(self, shape: Any) -> Any:
        grow = [None if n is None else n * self.scale for n in shape[2:4]]
        return (shape[0], shape[1], *grow, shape[4])


@keras.saving.register_keras_serializable(package="vsrdata")
class LumaOverBicubic(ScaledLayer):
    """A network's HR luma [B, H, W, 1] with the chroma of the bicubic upscale of the window's
    centre frame [B, T, h, w, 3] -> RGB [B, H, W, 3].

    In YCbCr (BT.601) a change of Y alone moves R, G and B by the same amount, 255/219 per
    unit of Y, so the output is bicubic + (255/219)·(Y_net - Y_bicubic): its Y is the
    network's, its Cb and Cr are bicubic's, exactly (no clipping)."""

    def __init__(self, scale: int, **kwargs: Any) -> None:
        super().__init__(scale, **kwargs)
        self._bicubic = BicubicUpsampling(scale, dtype=self.dtype_policy)
        self._y = RgbToY(dtype=self.dtype_policy)

    def call(self, y: Any, window: Any) -> Any:
        base = self._bicubic(window[:, tf.shape(window)[1] // 2])
        gain = 1.0 / sum(Y_WEIGHTS)  # 255 / 219
        return base + gain * (tf.cast(y, base.dtype) - self._y(base))
