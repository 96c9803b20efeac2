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

from vsrdata.vsr_models.registry import ModelSpec

FRAMES = 7  # takes DUF-shaped windows (only the centre frame is read)
REACH = 3  # taps on each side of the nearest input sample


def build_bicubic(scale: int = 4, frames: int = FRAMES) -> Any:
    """A weightless model: [B, T, H, W, 3] -> bicubic of the centre frame [B, H·r, W·r, 3]."""
    import keras

    from vsrdata.vsr_models.layers import BicubicUpsampling, CentreFrame

    lr = keras.Input(shape=(frames, None, None, 3), name="lr")
    centre = CentreFrame(name="centre_frame")(lr)
    hr = BicubicUpsampling(scale, name="bicubic")(centre)
    return keras.Model(lr, hr, name=f"bicubic-x{scale}")


# the baseline every evaluation has; nothing to train
SPECS = [ModelSpec("bicubic", build_bicubic, FRAMES, upsampling="post", radius=REACH)]
