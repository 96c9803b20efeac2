"""A tiny model registered by the tests, the way any model is added to vsrdata.

Adding a model takes this one file (a builder and its ``SPECS``) and one registry line: in
vsrdata that line goes into ``vsr_models/registry.py``'s ``MODULES``; a model kept outside
the package is named by the ``vsrdata.models`` entry-point group or, as the tests do here,
by ``VSRDATA_MODEL_MODULES=tests.tiny_model`` (conftest sets it, so the CLI's subprocesses
see it too).

``tiny-test`` is the plumbing tests' network: the same inputs and outputs as DUF (7-frame RGB
windows in, the centre frame upscaled out), a batch norm (synchronized across replicas when
the strategy has several), a learnt residual over the bicubic upscale; 1,236 parameters at
x2 instead of DUF-16L's 1.9 million, so training, tracing and exporting it take a fraction of
a second and the tests of resuming, strategies, workers and time budgets stay fast.
"""

from __future__ import annotations

from typing import Any

from vsrdata.common.options import Option
from vsrdata.vsr_models.registry import ModelSpec, Recipe

FRAMES = 7


def build_tiny(lr: Any, scale: int = 4, width: int = 8, synchronized_bn: bool = False) -> Any:
    import keras

    from vsrdata.vsr_models.layers import (
        BatchNorm,
        BicubicUpsampling,
        CentreFrame,
        DepthToSpace,
        exact_dtype,
    )

    x = keras.layers.Conv3D(width, 3, padding="same", name="conv1")(lr)
    x = BatchNorm(synchronized=synchronized_bn, name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv3D(width, (FRAMES, 1, 1), name="fuse")(x)  # 7 frames -> 1
    x = keras.layers.Conv3D(3 * scale * scale, 1, name="head")(x)
    residual = DepthToSpace(scale, name="depth_to_space")(x)
    exact = exact_dtype()
    centre = CentreFrame(name="centre_frame", dtype=exact)(lr)
    base = BicubicUpsampling(scale, name="bicubic", dtype=exact)(centre)
    return keras.layers.Add(name="hr", dtype=exact)([base, residual])


SPECS = [
    ModelSpec(
        "tiny-test",
        build_tiny,
        FRAMES,
        colour="rgb",
        upsampling="post",
        radius=1 + 3,  # one 3×3 convolution, then the bicubic's reach of 3
        batch_norm=True,
        options={"width": Option(8, "channels of the hidden layers", None)},
        recipe=Recipe(
            loss="huber", lr=1e-2, schedule="constant", batch_size=4, patch=8, epochs=1.0
        ),
    ),
    # the same network without a recipe: a model for converted weights only, not trained here
    ModelSpec("tiny-fixed", build_tiny, FRAMES, upsampling="post", radius=1 + 3, batch_norm=True),
]
