"""The bicubic baseline as a Keras model: MATLAB ``imresize(centre, r, 'bicubic')`` in float.

Upsampling by an integer r, MATLAB's contributions are periodic: output ``r·m + p`` weighs
input samples ``m - 3 .. m + 3`` with weights that depend on the phase p only,
w_p[k] = cubic(d_p - k) with d_p = (p + 0.5)/r - 0.5 (Keys' cubic, a = -0.5), and reads past
the border by symmetric mirroring (``tf.pad(mode="SYMMETRIC")``, MATLAB's ``aux`` rule).
Input [B, 7, H, W, 3] in [0, 1] (only the centre frame is used); output [B, H·r, W·r, 3],
equal to :func:`vsrdata.preprocess.imresize` on float input to float32 precision.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from vsrdata.preprocess.degrade import _cubic
from vsrdata.vsr_models.duf import CentreFrame, ScaledLayer

REACH = 3  # taps on each side of the nearest input sample


def phase_weights(scale: int) -> np.ndarray:
    """[scale, 2·REACH + 1] weights of input offsets -REACH..REACH for each output phase."""
    offsets = np.arange(-REACH, REACH + 1)
    d = (np.arange(scale) + 0.5) / scale - 0.5
    w = _cubic(d[:, None] - offsets[None, :])
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


def build_bicubic(scale: int = 4, frames: int = 7) -> keras.Model:
    """A weightless model: [B, T, H, W, 3] -> bicubic of the centre frame [B, H·r, W·r, 3]."""
    lr = keras.Input(shape=(frames, None, None, 3), name="lr")
    centre = CentreFrame(name="centre_frame")(lr)
    hr = BicubicUpsampling(scale, name="bicubic")(centre)
    return keras.Model(lr, hr, name=f"bicubic-x{scale}")
