"""DRCN: one convolution applied recursively, supervised at every recursion.

Kim, Lee, Lee, "Deeply-Recursive Convolutional Network for Image Super-Resolution", CVPR
2016, on the bicubic luma:

- embedding: two 3×3 convolutions (1 -> 256 -> 256), ReLU;
- inference: one 3×3×256×256 convolution (ReLU) applied ``recursions`` times (16 in the
  paper) with the same weights, H_d = f(H_{d-1});
- reconstruction, shared by every recursion: 3×3 256 -> 256 (ReLU), 3×3 256 -> 1, plus the
  input (the skip connection): ŷ_d = g(H_d) + x;
- the output is the learned weighted sum of the D intermediate predictions, Σ w_d·ŷ_d (w_d
  initialized to 1/D).

Weights: 2,304 + 589,824 (embedding) + 589,824 (the recursive layer) + 589,824 + 2,304
(reconstruction) = 1,774,080; with 1,025 biases and the 16 ensemble weights, 1,775,121
trainable parameters.

Training with recursive supervision (:class:`~vsrdata.vsr_models.registry.Supervised`):
the loss is α·mean_d L(ŷ_d) + (1 - α)·L(ŷ), α falling from 1 to 0 (linearly over the first
half of the run here; the paper lowers it "as training goes"), plus weight decay 1e-4.
"""

from __future__ import annotations

from typing import Any

from vsrdata.common.options import Option
from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe, Supervised

PAPER = Paper("Kim, Lee, Lee", "Deeply-Recursive Convolutional Network for Image "
              "Super-Resolution", "CVPR", 2016)  # fmt: skip
WIDTH = 256


def drcn(y: Any, scale: int = 4, recursions: int = 16) -> Supervised:
    """[B, 1, H, W, 1] bicubic luma -> the ensemble [B, H, W, 1] and the D predictions."""
    import keras

    from vsrdata.vsr_models.layers import CentreFrame, Conv2D, WeightedSum

    def conv(filters: int, name: str, relu: bool = True) -> Any:
        return Conv2D(filters, 3, padding="same", activation="relu" if relu else None,
                      kernel_initializer="he_normal", name=name)  # fmt: skip

    x = CentreFrame(name="frame")(y)
    h = conv(WIDTH, "embed2")(conv(WIDTH, "embed1")(x))
    recursive = conv(WIDTH, "recursive")
    reconstruct = [conv(WIDTH, "reconstruct1"), conv(1, "reconstruct2", relu=False)]
    predictions = []
    for d in range(1, recursions + 1):
        h = recursive(h)
        r = reconstruct[1](reconstruct[0](h))
        predictions.append(keras.layers.Add(name=f"prediction{d}")([r, x]))
    return Supervised(WeightedSum(name="ensemble")(predictions), tuple(predictions))


SPECS = [
    ModelSpec(
        "drcn", drcn, 1, PAPER, colour="y", upsampling="pre",
        # 2 + 16 + 2 HR pixels of 3×3 reach: 10 LR pixels at ×2, plus the bicubic's 3
        radius=13,
        options={"recursions": Option(16, "applications of the recursive layer (D)",
                                      minimum=1, maximum=20)},
        # the paper: SGD momentum 0.9, weight decay 1e-4, learning rate 0.01 divided by 10 when
        # the validation error stalls for 5 epochs, batch 64 of 41×41 HR patches, MSE
        recipe=Recipe(loss="mse", optimizer="sgd", momentum=0.9, weight_decay=1e-4, lr=0.01,
                      schedule="step", decay_epochs=20.0, batch_size=64, patch=11,
                      epochs=80.0, supervision_decay=0.5,
                      note="a step schedule for the stall-triggered decay; α falls to 0 over "
                           "the first half of the run"),
    )
]  # fmt: skip
