"""DUF: video super-resolution with dynamic upsampling filters.

Jo, Oh, Kang, Kim, "Deep Video Super-Resolution Network Using Dynamic Upsampling Filters
Without Explicit Motion Compensation", CVPR 2018; layer for layer the official release
(yhjo09/VSR-DUF): input [B, 7, H, W, 3] float32 in [0, 1], output [B, H·r, W·r, 3].

1. stem: 1×3×3 conv to 64 channels (spatial zero padding);
2. dense blocks that keep the 7 frames: BN, ReLU, 1×1×1 conv (F -> F), BN, ReLU, 3×3×3 conv
   (F -> G, zero padding in time and space), concatenated to the input: 16L has 3 blocks of
   growth G = 32; 28L 9 and 52L 21 blocks of G = 16;
3. three blocks whose 3×3×3 conv is unpadded in time, each trimming one frame at both ends
   (7 -> 5 -> 3 -> 1), concatenated to the centre-cropped input;
4. BN, ReLU, 1×3×3 conv to 256, ReLU;
5. filter head: 1×1×1 convs 256 -> 512 (ReLU) -> 25·r², a softmax over the 25 taps of each
   5×5 filter; each output sub-pixel of the centre frame is its 5×5 neighbourhood (zero
   padded) weighted by its filter, arranged by depth-to-space;
6. residual head: 1×1×1 convs 256 -> 256 (ReLU) -> 3·r², depth-to-space, added.

Trainable parameters at ×4: 1,900,640 (16L), 2,118,432 (28L), 5,821,952 (52L).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

FRAMES = 7
FILTER = 5  # dynamic filters are FILTER × FILTER
VARIANTS = {"duf-16l": (3, 32), "duf-28l": (9, 16), "duf-52l": (21, 16)}  # blocks, growth


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


def exact_dtype() -> str:
    """The dtype of the layers that must not run in low precision: float32 under a mixed
    policy (bfloat16 would quantize the input frame's pixels), else the policy's own (float32,
    or float64 when a numerical check builds the model in double precision)."""
    compute = keras.config.dtype_policy().compute_dtype
    return "float32" if compute in ("float16", "bfloat16") else str(compute)


def _conv(filters: int, size: Any, **kwargs: Any) -> keras.layers.Layer:
    """A 3-D convolution initialized as in the official release: He normal weights
    (variance 2 / fan-in, truncated), zero biases."""
    return keras.layers.Conv3D(filters, size, kernel_initializer="he_normal", **kwargs)


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


def _bn(name: str, synchronized: bool) -> keras.layers.Layer:
    return BatchNorm(synchronized=synchronized, name=name)


def _block(x: Any, growth: int, name: str, trim_time: bool, synchronized: bool) -> Any:
    """BN-ReLU-1×1×1 conv-BN-ReLU-3×3×3 conv, concatenated to the (centre-cropped) input."""
    channels = x.shape[-1]
    t = _bn(f"{name}_bn1", synchronized)(x)
    t = keras.layers.ReLU()(t)
    t = _conv(channels, 1, name=f"{name}_conv1")(t)
    t = _bn(f"{name}_bn2", synchronized)(t)
    t = keras.layers.ReLU()(t)
    if trim_time:  # zero padding in space only: the time axis loses a frame at both ends
        t = keras.layers.ZeroPadding3D(((0, 0), (1, 1), (1, 1)))(t)
        t = _conv(growth, 3, name=f"{name}_conv2")(t)
        x = TrimTime()(x)
    else:  # "same" is the zero padding of the release, without a separate pad op
        t = _conv(growth, 3, padding="same", name=f"{name}_conv2")(t)
    return keras.layers.Concatenate(axis=-1)([x, t])


def build_duf(name: str = "duf-16l", scale: int = 4, synchronized_bn: bool = False) -> keras.Model:
    """The DUF network ``name`` (one of :data:`VARIANTS`) for upscaling factor ``scale``.

    ``synchronized_bn`` makes batch statistics span all replicas of a distribution strategy
    (what the training loop turns on whenever a strategy has more than one replica).
    """
    blocks, growth = VARIANTS[name]
    lr = keras.Input(shape=(FRAMES, None, None, 3), name="lr")
    x = _conv(64, (1, 3, 3), padding="same", name="stem")(lr)
    for i in range(blocks):
        x = _block(x, growth, f"dense{i + 1}", False, synchronized_bn)
    for i in range(3):
        x = _block(x, growth, f"reduce{i + 1}", True, synchronized_bn)
    x = _bn("final_bn", synchronized_bn)(x)
    x = keras.layers.ReLU()(x)
    x = _conv(256, (1, 3, 3), padding="same", activation="relu", name="final_conv")(x)

    r = _conv(256, 1, activation="relu", name="res_conv1")(x)
    r = _conv(3 * scale * scale, 1, name="res_conv2")(r)
    residual = DepthToSpace(scale, name="res_depth_to_space")(r)

    f = _conv(512, 1, activation="relu", name="filter_conv1")(x)
    f = _conv(FILTER * FILTER * scale * scale, 1, name="filter_conv2")(f)
    # at least float32 even under a mixed-precision policy: the softmax, the filtering of the
    # input frame (bfloat16 would quantize its pixels) and the output
    exact = exact_dtype()
    filters = TapSoftmax(scale, name="filter_softmax", dtype=exact)(f)
    centre = CentreFrame(name="centre_frame", dtype=exact)(lr)
    upsampled = DynamicUpsampling(scale, name="dynamic_upsampling", dtype=exact)(centre, filters)
    hr = keras.layers.Add(name="hr", dtype=exact)([upsampled, residual])
    return keras.Model(lr, hr, name=f"{name}-x{scale}")
