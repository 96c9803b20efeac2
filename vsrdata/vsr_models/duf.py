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


def _bn(name: str, synchronized: bool) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(synchronized=synchronized, name=name)


def _block(x: Any, growth: int, name: str, trim_time: bool, synchronized: bool) -> Any:
    """BN-ReLU-1×1×1 conv-BN-ReLU-3×3×3 conv, concatenated to the (centre-cropped) input."""
    channels = x.shape[-1]
    t = _bn(f"{name}_bn1", synchronized)(x)
    t = keras.layers.ReLU()(t)
    t = _conv(channels, 1, name=f"{name}_conv1")(t)
    t = _bn(f"{name}_bn2", synchronized)(t)
    t = keras.layers.ReLU()(t)
    pad = ((0, 0), (1, 1), (1, 1)) if trim_time else ((1, 1), (1, 1), (1, 1))
    t = keras.layers.ZeroPadding3D(pad)(t)
    t = _conv(growth, 3, name=f"{name}_conv2")(t)
    if trim_time:
        x = keras.layers.Cropping3D(((1, 1), (0, 0), (0, 0)))(x)
    return keras.layers.Concatenate(axis=-1)([x, t])


def build_duf(name: str = "duf-16l", scale: int = 4, synchronized_bn: bool = False) -> keras.Model:
    """The DUF network ``name`` (one of :data:`VARIANTS`) for upscaling factor ``scale``.

    ``synchronized_bn`` makes batch statistics span all replicas of a distribution strategy
    (what the training loop turns on whenever a strategy has more than one replica).
    """
    blocks, growth = VARIANTS[name]
    lr = keras.Input(shape=(FRAMES, None, None, 3), name="lr")
    x = keras.layers.ZeroPadding3D(((0, 0), (1, 1), (1, 1)))(lr)
    x = _conv(64, (1, 3, 3), name="stem")(x)
    for i in range(blocks):
        x = _block(x, growth, f"dense{i + 1}", False, synchronized_bn)
    for i in range(3):
        x = _block(x, growth, f"reduce{i + 1}", True, synchronized_bn)
    x = _bn("final_bn", synchronized_bn)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.ZeroPadding3D(((0, 0), (1, 1), (1, 1)))(x)
    x = _conv(256, (1, 3, 3), activation="relu", name="final_conv")(x)

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
