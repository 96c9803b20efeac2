"""ESPCN: convolutions on the LR frame, then one sub-pixel shuffle to the HR grid.

Shi, Caballero, Huszár, Totz, Aitken, Bishop, Rueckert, Wang, "Real-Time Single Image and
Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016:
on luma, 5×5×64 tanh, 3×3×32 tanh, 3×3×r², then the periodic shuffle to [H·r, W·r, 1]
("same" zero padding, as the paper's full-size LR feature maps). Parameters: 24,752 at ×4,
22,729 at ×3, 21,284 at ×2.

With one output channel, TensorFlow's ``depth_to_space`` and PyTorch's ``pixel_shuffle``
order the r² channels the same way (dy·r + dx), so weights port without a permutation.
"""

from __future__ import annotations

from typing import Any

from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

PAPER = Paper("Shi, Caballero, Huszár, Totz, Aitken, Bishop, Rueckert, Wang",
              "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
              "Convolutional Neural Network", "CVPR", 2016)  # fmt: skip


def espcn(y: Any, scale: int = 4) -> Any:
    """[B, 1, h, w, 1] LR luma -> [B, h·r, w·r, 1]."""

    from vsrdata.vsr_models.layers import CentreFrame, Conv2D, DepthToSpace

    x = CentreFrame(name="frame")(y)
    x = Conv2D(64, 5, padding="same", activation="tanh", name="conv1")(x)
    x = Conv2D(32, 3, padding="same", activation="tanh", name="conv2")(x)
    x = Conv2D(scale * scale, 3, padding="same", name="conv3")(x)
    return DepthToSpace(scale, name="shuffle")(x)


SPECS = [
    ModelSpec(
        "espcn", espcn, 1, PAPER, colour="y", upsampling="post", radius=2 + 1 + 1,
        # the paper: learning rate 0.01 lowered to 1e-4 as the loss stalls, 17r×17r HR
        # sub-images, MSE; the optimizer is not named (SGD here)
        recipe=Recipe(loss="mse", optimizer="sgd", momentum=0.9, lr=0.01, schedule="step",
                      decay_epochs=30.0, decay_factor=0.1, batch_size=16, patch=17,
                      epochs=90.0, note="a step schedule 0.01 -> 1e-4 in place of the paper's "
                                        "stall-triggered decay"),
    )
]  # fmt: skip
