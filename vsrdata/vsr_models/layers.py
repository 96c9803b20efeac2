"""The custom Keras layers of vsrdata's models (registered for loading under ``vsrdata>``).

One module for all of them: a saved ``.keras`` file names its layers by registered name, and
loading any vsrdata model needs only this module imported. Models share them (depth-to-space,
the centre frame of a window, the fused batch norm).
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from vsrdata.common.constants import Y_OFFSET, Y_WEIGHTS
from vsrdata.common.quiet import onednn_enabled
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
    """Sub-pixel shuffle: [B, H, W, C·r²] (or [B, 1, H, W, C·r²], the frame axis dropped)
    -> [B, H·r, W·r, C].

    Channel k = (dy·r + dx)·C + c goes to output pixel (dy, dx) and channel c (TensorFlow's
    ``depth_to_space``). PyTorch's ``pixel_shuffle`` reads k = c·r² + dy·r + dx: the same for
    C = 1 (luma networks such as ESPCN), a permutation of the producing convolution's output
    channels otherwise (SRResNet, CARN, DUF's residual head) when porting weights."""

    def call(self, x: Any) -> Any:
        return tf.nn.depth_to_space(x[:, 0] if x.shape.rank == 5 else x, self.scale)


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
        if not learning:  # the moving statistics, in one op instead of four
            return self.normalize(inputs)
        shape = tf.shape(inputs)
        channels = inputs.shape[-1]
        # [B, T, H, W, C] -> [B, T·H, W, C]: the statistics span every axis but the last
        x = tf.reshape(inputs, [shape[0], -1, shape[-2], channels])
        y, mean, variance, *_ = tf.compat.v1.nn.fused_batch_norm(
            x, self.gamma, self.beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        count = tf.cast(tf.size(inputs) // channels, tf.float32)
        variance = variance * ((count - 1.0) / tf.maximum(count, 1.0))
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        return tf.cast(tf.reshape(y, shape), self.compute_dtype)

    def normalize(self, inputs: Any, relu: bool = False) -> Any:
        """Inference with the moving statistics in one fused op (on an input the fused kernel
        takes: see ``_fusable``), followed by a ReLU when asked: straight after the op, where
        TensorFlow's graph optimizer fuses the two (``_FusedBatchNormEx``), one pass instead
        of two (``vsrdata.vsr_models.fold``)."""
        shape = tf.shape(inputs)
        x = tf.reshape(inputs, [shape[0], -1, shape[-2], inputs.shape[-1]])
        y, *_ = tf.compat.v1.nn.fused_batch_norm(
            x, self.gamma, self.beta, mean=self.moving_mean, variance=self.moving_variance,
            epsilon=self.epsilon, data_format="NHWC", is_training=False,
        )  # fmt: skip
        if relu:
            y = tf.nn.relu(y)
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

    def call(self, x: Any) -> Any:
        return bicubic_upsample(x, self.scale)


def _upsample_rows(x: Any, scale: int) -> Any:
    """Upsample axis 1 of [B, H, W, C] (MATLAB's bicubic, symmetric borders)."""
    weights = phase_weights(scale)
    padded = tf.pad(x, [[0, 0], [REACH, REACH], [0, 0], [0, 0]], mode="SYMMETRIC")
    s = tf.shape(x)
    n = s[1]
    # one Slice per input offset, shared by the phases; plain slices with a shared size trace
    # in a fraction of the time of Python indexing (which packs begin, end and strides anew
    # for every slice)
    size = tf.stack([-1, n, -1, -1])
    taps = [[(k, float(w)) for k, w in enumerate(row) if w != 0.0] for row in weights]
    offsets = sorted({k for phase in taps for k, _ in phase})
    rows = {k: tf.slice(padded, [0, k, 0, 0], size) for k in offsets}
    phases = [tf.add_n([w * rows[k] for k, w in phase]) for phase in taps]
    stacked = tf.stack(phases, axis=2)  # [B, H, r, W, C]
    return tf.reshape(stacked, [s[0], n * scale, s[2], s[3]])


def bicubic_upsample(x: Any, scale: int) -> Any:
    """[B, H, W, C] -> [B, H·r, W·r, C], MATLAB ``imresize(x, r, 'bicubic')`` in float."""
    y = tf.transpose(_upsample_rows(x, scale), [0, 2, 1, 3])
    return tf.transpose(_upsample_rows(y, scale), [0, 2, 1, 3])


def luma(rgb: Any) -> Any:
    """[..., 3] RGB in [0, 1] -> [..., 1] Y in [0, 1] (BT.601 as MATLAB's ``rgb2ycbcr``)."""
    weights = tf.constant(Y_WEIGHTS, rgb.dtype)
    return tf.reduce_sum(rgb * weights, axis=-1, keepdims=True) + Y_OFFSET / 255.0


# --------------------------------------------------------------------------------------------
# The adapters :meth:`ModelSpec.build` puts around a network that works on luma or refines a
# bicubic upscale, so that every model maps RGB windows [B, T, h, w, 3] to RGB frames.


@keras.saving.register_keras_serializable(package="vsrdata")
class RgbToY(keras.layers.Layer):
    """[..., 3] RGB in [0, 1] -> [..., 1] Y in [0, 1] (BT.601 as MATLAB's ``rgb2ycbcr``)."""

    def call(self, rgb: Any) -> Any:
        return luma(rgb)


@keras.saving.register_keras_serializable(package="vsrdata")
class BicubicFrames(ScaledLayer):
    """[B, T, h, w, C] -> [B, T, h·r, w·r, C]: every frame upsampled by MATLAB's bicubic."""

    def call(self, x: Any) -> Any:
        s = tf.shape(x)
        frames = tf.reshape(x, tf.concat([[-1], s[2:]], axis=0))
        up = bicubic_upsample(frames, self.scale)
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

    def call(self, y: Any, window: Any) -> Any:
        base = bicubic_upsample(window[:, tf.shape(window)[1] // 2], self.scale)
        gain = 1.0 / sum(Y_WEIGHTS)  # 255 / 219
        return base + gain * (tf.cast(y, base.dtype) - luma(base))


@keras.saving.register_keras_serializable(package="vsrdata")
class ReflectPad(keras.layers.Layer):
    """Mirror [B, H, W, C] by ``pad`` pixels on every side (``reflect``: the edge pixel is not
    repeated), so "valid" convolutions of total reach ``pad`` return a full-size output."""

    def __init__(self, pad: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x: Any) -> Any:
        p = self.pad
        return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, shape: Any) -> Any:
        grow = [None if n is None else n + 2 * self.pad for n in shape[1:3]]
        return (shape[0], *grow, shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pad": self.pad}


@keras.saving.register_keras_serializable(package="vsrdata")
class MeanShift(keras.layers.Layer):
    """Add ``sign`` × a fixed per-channel ``mean`` (EDSR and CARN subtract the training set's
    RGB mean at the input and add it back at the output)."""

    def __init__(self, mean: tuple[float, ...], sign: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean, self.sign = tuple(float(m) for m in mean), int(sign)

    def call(self, x: Any) -> Any:
        return x + self.sign * tf.constant(self.mean, x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": list(self.mean), "sign": self.sign}


@keras.saving.register_keras_serializable(package="vsrdata")
class StackFrames(keras.layers.Layer):
    """[B, T, H, W, C] -> [B, H, W, T·C], the frames side by side on channels (frame-major:
    channel t·C + c is channel c of frame t), for networks that fuse frames at the input."""

    def call(self, x: Any) -> Any:
        s = tf.shape(x)
        frames = tf.transpose(x, [0, 2, 3, 1, 4])
        return tf.reshape(frames, [s[0], s[2], s[3], s[1] * s[4]])

    def compute_output_shape(self, shape: Any) -> Any:
        depth = None if shape[1] is None or shape[4] is None else shape[1] * shape[4]
        return (shape[0], shape[2], shape[3], depth)


@keras.saving.register_keras_serializable(package="vsrdata")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose batch of one runs, on a CPU with oneDNN, as a ``Conv3D``
    of depth 1: the same convolution. For a 2-D convolution of batch 1 TensorFlow gives oneDNN
    the weights in their plain layout and oneDNN falls back to im2col and a GEMM, 2.6× slower
    than Eigen on an AVX2 CPU (3×3, 256 -> 256 on 288×360) where the 3-D path's blocked kernel
    is 1.2× faster than Eigen (docs/benchmarks.md); batches of two or more already get it. It
    applies where the batch of one is known when the graph is traced and the weights are read
    from variables (a model called on one frame); the upscalers' graphs (``fold.frozen``) leave
    the batch open and hold the weights as constants, which gets oneDNN's blocked kernel too."""

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if (self.data_format != "channels_last" or self.groups != 1 or inputs.shape[0] != 1
                or tuple(self.dilation_rate) != (1, 1) or _backend() != "onednn"):  # fmt: skip
            return super().convolution_op(inputs, kernel)
        out = tf.nn.conv3d(
            inputs[:, None], kernel[None], strides=[1, 1, *self.strides, 1],
            padding=self.padding.upper(),
        )  # fmt: skip
        return out[:, 0]


@keras.saving.register_keras_serializable(package="vsrdata")
class GroupConv2D(keras.layers.Conv2D):
    """``Conv2D`` with ``groups`` > 1 run by TensorFlow's own grouped convolution (oneDNN on
    the CPU, cuDNN on a GPU). Keras's TensorFlow backend compiles every grouped convolution
    with XLA instead, once per input shape (a retrace per tile size in eval) and outside
    oneDNN; the result is the same (``tests/vsr_models/test_zoo.py`` checks the outputs and
    gradients against the definition: a convolution per group, concatenated)."""

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if self.data_format != "channels_last" or self.groups == 1:
            return super().convolution_op(inputs, kernel)
        conv = functools.partial(
            tf.nn.conv2d, strides=list(self.strides), padding=self.padding.upper(),
            dilations=list(self.dilation_rate), data_format="NHWC",
        )  # fmt: skip
        if _backend() != "eigen":
            return conv(inputs, kernel)
        # TensorFlow's Eigen CPU kernels have no grouped convolution (nor its gradients): with
        # oneDNN off and no GPU, one convolution per group (the kernel's output channels are
        # group-major), concatenated
        xs, ks = tf.split(inputs, self.groups, -1), tf.split(kernel, self.groups, -1)
        return tf.concat([conv(x, k) for x, k in zip(xs, ks, strict=True)], -1)


@functools.cache
def _backend() -> str:
    """Whose convolutions TensorFlow runs here: "gpu" (cuDNN) where a GPU is visible, else
    "onednn" or "eigen" (TensorFlow's own CPU kernels, with no grouped convolution)."""
    if tf.config.list_physical_devices("GPU"):
        return "gpu"
    return "eigen" if onednn_enabled() is False else "onednn"


@keras.saving.register_keras_serializable(package="vsrdata")
class WeightedSum(keras.layers.Layer):
    """Σ_d w_d·x_d over a list of same-shape tensors, with trainable weights w_d initialized
    to 1/D (DRCN's learned ensemble of its recursions' predictions)."""

    def build(self, shapes: Any) -> None:
        count = len(shapes)
        self.w = self.add_weight(
            shape=(count,), initializer=keras.initializers.Constant(1.0 / count), name="w"
        )

    def call(self, inputs: Any) -> Any:
        w = tf.cast(self.w, inputs[0].dtype)
        return tf.add_n([w[d] * x for d, x in enumerate(inputs)])


@keras.saving.register_keras_serializable(package="vsrdata")
class FrameAt(keras.layers.Layer):
    """[B, T, H, W, C] -> [B, H, W, C], the frame at ``index``."""

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def call(self, x: Any) -> Any:
        return x[:, self.index]

    def compute_output_shape(self, shape: Any) -> Any:
        return (shape[0], *shape[2:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="vsrdata")
class PadToMultiple(keras.layers.Layer):
    """Mirror [B, H, W, C] at the bottom and right up to multiples of ``multiple`` (so strided
    convolutions sample the same grid in a tile as in the whole frame)."""

    def __init__(self, multiple: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple = multiple

    def call(self, x: Any) -> Any:
        s = tf.shape(x)
        m = self.multiple
        pad_h, pad_w = (-s[1]) % m, (-s[2]) % m
        return tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="SYMMETRIC")

    def compute_output_shape(self, shape: Any) -> Any:
        return (shape[0], None, None, shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="vsrdata")
class CropTo(keras.layers.Layer):
    """[B, H', W', C] cut to the height and width of a reference [B, H, W, ...] (top left)."""

    def call(self, x: Any, like: Any) -> Any:
        s = tf.shape(like)
        return x[:, : s[1], : s[2]]

    def compute_output_shape(self, x_shape: Any, like_shape: Any) -> Any:
        return (x_shape[0], like_shape[1], like_shape[2], x_shape[3])


@keras.saving.register_keras_serializable(package="vsrdata")
class Warp(keras.layers.Layer):
    """Backward warping: out[y, x] = image[y + v, x + u] for a flow [B, H, W, 2] = (u, v) in
    pixels, bilinear, coordinates clamped to the frame (a spatial transformer's sampler).
    Differentiable in the image and the flow."""

    def call(self, image: Any, flow: Any) -> Any:
        s = tf.shape(image)
        h, w = s[1], s[2]
        dtype = flow.dtype
        gy, gx = tf.meshgrid(tf.range(h), tf.range(w), indexing="ij")
        x = tf.clip_by_value(tf.cast(gx, dtype)[None] + flow[..., 0], 0.0, tf.cast(w - 1, dtype))
        y = tf.clip_by_value(tf.cast(gy, dtype)[None] + flow[..., 1], 0.0, tf.cast(h - 1, dtype))
        x0, y0 = tf.floor(x), tf.floor(y)
        wx, wy = (x - x0)[..., None], (y - y0)[..., None]
        x0i, y0i = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
        x1i, y1i = tf.minimum(x0i + 1, w - 1), tf.minimum(y0i + 1, h - 1)
        batch = tf.broadcast_to(tf.range(s[0])[:, None, None], tf.shape(x0i))

        def at(yi: Any, xi: Any) -> Any:
            return tf.gather_nd(image, tf.stack([batch, yi, xi], axis=-1))

        image_dtype = image.dtype
        wx, wy = tf.cast(wx, image_dtype), tf.cast(wy, image_dtype)
        top = (1 - wx) * at(y0i, x0i) + wx * at(y0i, x1i)
        bottom = (1 - wx) * at(y1i, x0i) + wx * at(y1i, x1i)
        return (1 - wy) * top + wy * bottom


@keras.saving.register_keras_serializable(package="vsrdata")
class MotionLoss(keras.layers.Layer):
    """VESPCN's motion-compensation loss per example [B]: ``weight`` × (the MSE of the warped
    neighbour against the reference + ``smoothness`` × H(∂flow)), where
    H = sqrt(ε + Σ (∂x flow)² + (∂y flow)²) averaged over pixels, ε = 0.01 (the paper's
    Huber-like penalty on the flow's gradients)."""

    def __init__(self, weight: float, smoothness: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weight, self.smoothness = float(weight), float(smoothness)

    def call(self, reference: Any, warped: Any, flow: Any) -> Any:
        mse = tf.reduce_mean(tf.square(warped - reference), axis=[1, 2, 3])
        dx = flow[:, :-1, :-1] - flow[:, :-1, 1:]
        dy = flow[:, :-1, :-1] - flow[:, 1:, :-1]
        grad = tf.reduce_sum(dx * dx + dy * dy, axis=-1)
        huber = tf.reduce_mean(tf.sqrt(0.01 + grad), axis=[1, 2])
        return self.weight * (tf.cast(mse, huber.dtype) + self.smoothness * huber)

    def compute_output_shape(self, reference_shape: Any, warped_shape: Any, flow_shape: Any) -> Any:
        return (reference_shape[0],)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "weight": self.weight, "smoothness": self.smoothness}
