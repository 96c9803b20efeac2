"""CARN and CARN-M: cascading residual networks.

Ahn, Kang, Sohn, "Fast, Accurate, and Lightweight Super-Resolution with Cascading Residual
Network", ECCV 2018, layer for layer the authors' release (nmhkahn/CARN-pytorch), single
scale, RGB on the LR frame:

- the training set's RGB mean subtracted, a 3×3 entry convolution to 64 channels;
- three cascading blocks, each cascading three residual blocks locally: after residual
  block k the block's input and every residual output so far are concatenated and fused
  by a 1×1 convolution (+ ReLU) that feeds the next; the same cascade globally over the three
  blocks (1×1 fusions of 128, 192 and 256 channels);
- CARN's residual block: 3×3 conv, ReLU, 3×3 conv, + input, ReLU. CARN-M's efficient
  residual block: 3×3 group conv (4 groups), ReLU, 3×3 group conv, ReLU, 1×1 conv, + input,
  ReLU, and one such block shared by the three positions of each cascading block;
- the upsampler: per factor 2 (once for ×3) a 3×3 conv to 4·64 (9·64) channels, ReLU and a
  sub-pixel shuffle (group convolutions in CARN-M), then a 3×3 exit convolution to RGB and
  the mean added back.

Trainable parameters at ×4: 1,111,875 (CARN) and 294,147 (CARN-M). The published models are
multi-scale (one network, three upsamplers: 1,591,939 and 414,787); these are the
single-scale networks of the same papers' tables.
"""

from __future__ import annotations

from typing import Any

from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

PAPER = Paper("Ahn, Kang, Sohn", "Fast, Accurate, and Lightweight Super-Resolution with "
              "Cascading Residual Network", "ECCV", 2018)  # fmt: skip
RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K's, as the release subtracts it
CHANNELS = 64
GROUPS = {"carn": 1, "carn-m": 4}


def _conv(x: Any, filters: int, kernel: int, name: str, groups: int = 1, relu: bool = False) -> Any:
    from vsrdata.vsr_models.layers import GroupConv2D

    return GroupConv2D(filters, kernel, padding="same", groups=groups,
                       activation="relu" if relu else None, name=name)(x)  # fmt: skip


def _residual(x: Any, name: str) -> Any:
    import keras

    t = _conv(x, CHANNELS, 3, f"{name}_conv1", relu=True)
    t = _conv(t, CHANNELS, 3, f"{name}_conv2")
    return keras.layers.ReLU(name=f"{name}_relu")(keras.layers.Add(name=f"{name}_add")([x, t]))


class _EfficientResidual:
    """CARN-M's residual block, one set of weights however many times it is applied."""

    def __init__(self, name: str, groups: int) -> None:
        from vsrdata.vsr_models.layers import GroupConv2D

        self.convs = [
            GroupConv2D(CHANNELS, 3, padding="same", groups=groups, activation="relu",
                        name=f"{name}_group1"),
            GroupConv2D(CHANNELS, 3, padding="same", groups=groups, activation="relu",
                        name=f"{name}_group2"),
            GroupConv2D(CHANNELS, 1, name=f"{name}_pointwise"),
        ]  # fmt: skip
        self.name = name
        self.uses = 0

    def __call__(self, x: Any) -> Any:
        import keras

        t = x
        for conv in self.convs:
            t = conv(t)
        self.uses += 1
        added = keras.layers.Add(name=f"{self.name}_add{self.uses}")([x, t])
        return keras.layers.ReLU(name=f"{self.name}_relu{self.uses}")(added)


def _cascade(x: Any, units: list[Any], name: str) -> Any:
    """o_k = fuse_k(concat(input, b_1 .. b_k)), b_k = unit_k(o_{k-1}): the cascading scheme."""
    import keras

    cascade, out = x, x
    for k, unit in enumerate(units, start=1):
        cascade = keras.layers.Concatenate(name=f"{name}_cat{k}")([cascade, unit(out)])
        out = _conv(cascade, CHANNELS, 1, f"{name}_fuse{k}", relu=True)
    return out


def _upsample(x: Any, scale: int, groups: int) -> Any:
    from vsrdata.vsr_models.layers import DepthToSpace

    steps = [3] if scale == 3 else [2] * (scale // 2)
    for i, factor in enumerate(steps, start=1):
        x = _conv(x, CHANNELS * factor * factor, 3, f"up{i}_conv", groups=groups, relu=True)
        x = DepthToSpace(factor, name=f"up{i}_shuffle")(x)
    return x


def _builder(name: str) -> Any:
    groups = GROUPS[name]

    def build(lr: Any, scale: int = 4) -> Any:
        from vsrdata.vsr_models.layers import CentreFrame, MeanShift

        x = MeanShift(RGB_MEAN, -1, name="sub_mean")(CentreFrame(name="frame")(lr))
        x = _conv(x, CHANNELS, 3, "entry")
        blocks: list[Any] = []
        for b in range(1, 4):
            units: list[Any]
            if groups == 1:
                units = [lambda t, n=f"b{b}_res{k}": _residual(t, n) for k in range(1, 4)]
            else:
                shared = _EfficientResidual(f"b{b}_eres", groups)
                units = [shared] * 3
            blocks.append(lambda t, u=units, n=f"b{b}": _cascade(t, u, n))
        x = _cascade(x, blocks, "global")
        x = _upsample(x, scale, groups)
        x = _conv(x, 3, 3, "exit")
        return MeanShift(RGB_MEAN, 1, name="add_mean")(x)

    return build


# every 3×3 on the LR grid: the entry, 2 per residual block × 3 × 3 blocks, the first
# upsampling conv, and (in LR pixels, rounded up) the second and the exit
RADIUS = 1 + 18 + 1 + 1 + 1

SPECS = [
    ModelSpec(
        name, _builder(name), 1, PAPER, colour="rgb", upsampling="post", radius=RADIUS,
        # the release: Adam 1e-4 halved every 4·10⁵ steps, batch 64 of 64×64 HR patches, L1
        recipe=Recipe(loss="l1", optimizer="adam", lr=1e-4, schedule="step",
                      decay_epochs=400.0, decay_factor=0.5, batch_size=64, patch=16,
                      epochs=1200.0, note="the release's 6·10⁵ steps of DIV2K, in epochs of "
                                          "this dataset: set --steps to match"),
    )
    for name in GROUPS
]  # fmt: skip
