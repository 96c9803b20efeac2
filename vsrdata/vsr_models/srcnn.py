"""SRCNN and its temporal form: three convolutions on a bicubic upscale.

SRCNN (Dong, Loy, He, Tang, "Image Super-Resolution Using Deep Convolutional Networks",
ECCV 2014 / TPAMI 2016) on luma: patch extraction f1×f1×64, non-linear mapping f2×f2×32, and
reconstruction f3×f3×1, ReLU after the first two, applied to the bicubic upscale of the LR
frame. ``srcnn`` is 9-1-5 (8,032 weights, 8,129 with biases); option ``mapping=5`` gives
9-5-5 (57,184 / 57,281).

The temporal SRCNN (``tsrcnn-small``, ``tsrcnn-large``; Kappeler, Yoo, Dai, Katsaggelos,
"Video Super-Resolution With Convolutional Neural Networks", IEEE TCI 2016, as the temporal
SRCNN projects built it) stacks the bicubic upscales of 2N+1 RGB frames on channels, then
9×9×64 ReLU, 1×1×32 ReLU, 5×5×3 (small: 51,203 parameters at N = 1) or 11×11×128 ReLU,
3×3×64 ReLU, 7×7×3 (large: 222,723). No motion compensation: the network sees the frames as
they are. Option ``neighbours`` is N (1 to 3; the window is 2N+1 frames).

Borders: the papers train with "valid" convolutions and a loss on the output's centre. Here
the input is mirrored by the network's reach (6 pixels for 9-1-5, 8 for 9-5-5, 6 and 9 for
the temporal ones) before the same valid convolutions, so training and inference give a
full-size output whose border pixels see mirrored context rather than zeros; the interior is
exactly the papers' network.
"""

from __future__ import annotations

from typing import Any

from vsrdata.common.options import Option
from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

SRCNN_PAPER = Paper("Dong, Loy, He, Tang", "Image Super-Resolution Using Deep Convolutional "
                    "Networks", "TPAMI", 2016)  # fmt: skip
TSRCNN_PAPER = Paper("Kappeler, Yoo, Dai, Katsaggelos", "Video Super-Resolution With "
                     "Convolutional Neural Networks", "IEEE TCI", 2016)  # fmt: skip
# (kernel, filters) of the three layers; the last layer's filters are the output channels
TEMPORAL = {
    "tsrcnn-small": ((9, 64), (1, 32), (5, 3)),
    "tsrcnn-large": ((11, 128), (3, 64), (7, 3)),
}


def reach(layers: tuple[tuple[int, int], ...]) -> int:
    """The receptive radius of a stack of valid convolutions (pixels on each side)."""
    return sum(k // 2 for k, _ in layers)


def three_layers(x: Any, layers: tuple[tuple[int, int], ...], name: str) -> Any:
    """Mirror-pad [B, H, W, C] by the stack's reach, then valid convolutions (ReLU between)."""

    from vsrdata.vsr_models.layers import Conv2D, ReflectPad

    x = ReflectPad(reach(layers), name=f"{name}_pad")(x)
    for i, (kernel, filters) in enumerate(layers):
        last = i == len(layers) - 1
        x = Conv2D(filters, kernel, activation=None if last else "relu",
                   kernel_initializer="he_normal" if not last else "glorot_normal",
                   name=f"{name}_conv{i + 1}")(x)  # fmt: skip
    return x


def srcnn(y: Any, scale: int = 4, mapping: int = 1) -> Any:
    """[B, 1, H, W, 1] bicubic luma -> [B, H, W, 1]."""
    from vsrdata.vsr_models.layers import CentreFrame

    return three_layers(CentreFrame(name="frame")(y), ((9, 64), (mapping, 32), (5, 1)), "srcnn")


def _temporal(name: str) -> Any:
    def build(x: Any, scale: int = 4, neighbours: int = 1) -> Any:
        from vsrdata.vsr_models.layers import StackFrames

        return three_layers(StackFrames(name="stack")(x), TEMPORAL[name], name.replace("-", "_"))

    return build


def _window(neighbours: int) -> int:
    return 2 * neighbours + 1


SRCNN = ModelSpec(
    "srcnn", srcnn, 1, SRCNN_PAPER, colour="y", upsampling="pre", radius=8,
    options={"mapping": Option(1, "kernel of the mapping layer: 1 (9-1-5) or 5 (9-5-5)",
                               choices=(1, 5))},
    # the paper: plain SGD at 1e-4 (1e-5 for the last layer: one rate here), batch 128 of
    # 33×33 sub-images, MSE; its 8·10⁸ back-propagations are far more than 100 epochs
    recipe=Recipe(loss="mse", optimizer="sgd", momentum=0.0, lr=1e-4, schedule="constant",
                  batch_size=128, patch=11, epochs=100.0,
                  note="one learning rate for all layers (the paper: 1e-5 for the last)"),
)  # fmt: skip
TEMPORAL_RECIPE = Recipe(
    loss="mse", optimizer="adam", lr=1e-4, schedule="step", decay_epochs=20.0, batch_size=32,
    patch=16, epochs=60.0, note="Adam and MSE; the source project also tried 1/PSNR and DSSIM "
    "with AdamW, Adagrad and SGD (bench/zoo.py compares them)",
)  # fmt: skip
NEIGHBOURS = {"neighbours": Option(1, "N: the window is 2N+1 frames", choices=(1, 2, 3))}
SPECS = [SRCNN] + [
    ModelSpec(name, _temporal(name), 3, TSRCNN_PAPER, colour="rgb", upsampling="pre",
              radius=reach(TEMPORAL[name]), options=NEIGHBOURS, recipe=TEMPORAL_RECIPE,
              frames_option="neighbours")
    for name in TEMPORAL
]  # fmt: skip
