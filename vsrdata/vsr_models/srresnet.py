"""SRResNet: the generator of SRGAN, trained on its own with a pixel loss.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network", CVPR 2017, RGB on the LR frame: a 9×9 convolution to 64 channels and PReLU; 16
residual blocks (3×3 conv, BN, PReLU, 3×3 conv, BN, + input); a 3×3 conv and BN added to the
output of the head (the long skip); per factor 2 a 3×3 conv to 256 channels, sub-pixel shuffle
and PReLU (×4: two; ×2: one); a 9×9 convolution to RGB.

Trainable parameters at ×4: 1,549,443 in convolutions and batch norm, plus 1,216 PReLU
slopes: the paper's PReLU is He et al.'s, one slope per channel (19 PReLUs × 64 channels;
implementations with one slope per PReLU have 19 instead), 1,550,659 in all.
"""

from __future__ import annotations

from typing import Any

from vsrdata.common.options import Option
from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

PAPER = Paper("Ledig, Theis, Huszár, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz, "
              "Wang, Shi", "Photo-Realistic Single Image Super-Resolution Using a Generative "
              "Adversarial Network", "CVPR", 2017)  # fmt: skip
BLOCKS = 16


def _prelu(x: Any, name: str) -> Any:
    import keras

    return keras.layers.PReLU(shared_axes=[1, 2], name=name)(x)  # one slope per channel


def srresnet(lr: Any, scale: int = 4, blocks: int = BLOCKS, synchronized_bn: bool = False) -> Any:
    """[B, 1, h, w, 3] -> [B, h·r, w·r, 3] (RGB in [0, 1])."""
    import keras

    from vsrdata.vsr_models.layers import BatchNorm, CentreFrame, Conv2D, DepthToSpace

    def conv(x: Any, filters: int, kernel: int, name: str) -> Any:
        return Conv2D(filters, kernel, padding="same", name=name)(x)

    def bn(x: Any, name: str) -> Any:
        return BatchNorm(synchronized=synchronized_bn, momentum=0.9, epsilon=1e-5, name=name)(x)

    head = _prelu(conv(CentreFrame(name="frame")(lr), 64, 9, "head"), "head_prelu")
    x = head
    for b in range(1, blocks + 1):
        t = _prelu(bn(conv(x, 64, 3, f"res{b}_conv1"), f"res{b}_bn1"), f"res{b}_prelu")
        t = bn(conv(t, 64, 3, f"res{b}_conv2"), f"res{b}_bn2")
        x = keras.layers.Add(name=f"res{b}_add")([x, t])
    x = bn(conv(x, 64, 3, "body_conv"), "body_bn")
    x = keras.layers.Add(name="long_skip")([head, x])
    steps = [3] if scale == 3 else [2] * (scale // 2)
    for i, factor in enumerate(steps, start=1):
        x = conv(x, 64 * factor * factor, 3, f"up{i}_conv")
        x = _prelu(DepthToSpace(factor, name=f"up{i}_shuffle")(x), f"up{i}_prelu")
    return conv(x, 3, 9, "tail")


# the 9×9 head, two 3×3 per block (at most 16), the body conv, the first upsampling conv,
# and the second and the 9×9 tail in LR pixels (rounded up)
RADIUS = 4 + 2 * BLOCKS + 1 + 1 + 1 + 2
BLOCK_OPTIONS = {
    "blocks": Option(BLOCKS, "residual blocks B (the paper's 16)", minimum=1, maximum=BLOCKS)
}

SPECS = [
    ModelSpec(
        "srresnet", srresnet, 1, PAPER, colour="rgb", upsampling="post", radius=RADIUS,
        batch_norm=True,
        options=BLOCK_OPTIONS,
        # the paper: Adam (β1 0.9) at 1e-4 for 10⁶ updates, batch 16 of 96×96 HR crops, MSE
        recipe=Recipe(loss="mse", optimizer="adam", lr=1e-4, schedule="constant",
                      batch_size=16, patch=24, epochs=1000.0,
                      note="10⁶ updates on ImageNet in the paper: set --steps to match"),
    )
]  # fmt: skip
