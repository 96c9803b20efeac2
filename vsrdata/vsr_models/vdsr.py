"""VDSR: a deep stack of 3×3 convolutions learning the residual over the bicubic upscale.

Kim, Lee, Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional Networks",
CVPR 2016: on the bicubic luma, ``depth`` convolutions 3×3 ("same" zero padding, as the
paper pads every layer): 1 -> 64 ReLU, (depth - 2) × 64 -> 64 ReLU, 64 -> 1, added to the
input. At depth 20: 665,921 parameters (664,704 weights). Options: ``depth`` and
``batch_norm`` (a BN after every hidden convolution; the ablation of a VDSR project), the
paper's network being depth 20 without BN.

The paper's training: SGD with momentum 0.9 and weight decay 1e-4, learning rate 0.1 divided
by 10 every 20 epochs for 80 epochs, batch 64 of 41×41 HR patches, and adjustable gradient
clipping: each gradient element clipped to [-θ/γ, θ/γ] at learning rate γ, so no step moves
a weight by more than θ. The paper does not give θ; the recipe takes 0.01.
"""

from __future__ import annotations

from typing import Any

from vsrdata.common.options import Option
from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

PAPER = Paper("Kim, Lee, Lee", "Accurate Image Super-Resolution Using Very Deep Convolutional "
              "Networks", "CVPR", 2016)  # fmt: skip
MAX_DEPTH = 40


def vdsr(
    y: Any, scale: int = 4, depth: int = 20, batch_norm: bool = False,
    synchronized_bn: bool = False,
) -> Any:  # fmt: skip
    """[B, 1, H, W, 1] bicubic luma -> [B, H, W, 1]."""
    import keras

    from vsrdata.vsr_models.layers import BatchNorm, CentreFrame, Conv2D

    base = CentreFrame(name="frame")(y)
    x = base
    for i in range(depth - 1):
        x = Conv2D(64, 3, padding="same", kernel_initializer="he_normal",
                   name=f"conv{i + 1}")(x)  # fmt: skip
        if batch_norm and i > 0:
            x = BatchNorm(synchronized=synchronized_bn, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
    residual = Conv2D(1, 3, padding="same", name=f"conv{depth}")(x)
    return keras.layers.Add(name="residual")([base, residual])


SPECS = [
    ModelSpec(
        "vdsr", vdsr, 1, PAPER, colour="y", upsampling="pre",
        # 20 HR pixels of 3×3 reach: 10 LR pixels at ×2, plus the bicubic's 3
        radius=MAX_DEPTH // 2 + 3, batch_norm=True,
        options={
            "depth": Option(20, "convolutions, input and output layers included",
                            minimum=3, maximum=MAX_DEPTH),
            "batch_norm": Option(False, "batch norm after each hidden convolution"),
        },
        recipe=Recipe(loss="mse", optimizer="sgd", momentum=0.9, weight_decay=1e-4, lr=0.1,
                      schedule="step", decay_epochs=20.0, decay_factor=0.1, batch_size=64,
                      patch=11, epochs=80.0, clip_adjustable=0.01,
                      note="θ = 0.01 for the adjustable clipping (the paper gives none); "
                           "41×41 HR patches are 11 LR pixels at ×4 (10 at ×3, 20 at ×2)"),
    )
]  # fmt: skip
