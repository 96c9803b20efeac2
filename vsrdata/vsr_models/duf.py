"""DUF: video super-resolution with dynamic upsampling filters.

Jo, Oh, Kang, Kim, "Deep Video Super-Resolution Network Using Dynamic Upsampling Filters
Without Explicit Motion Compensation", CVPR 2018; layer for layer the official release
(yhjo09/VSR-DUF): input [B, 7, H, W, 3] float32 in [0, 1], output [B, H·r, W·r, 3].

1. stem: 1×3×3 conv to 64 channels (spatial zero padding);
2. dense blocks that keep the 7 frames: BN, ReLU, 1×1×1 conv (F -> F), BN, ReLU, 3×3×3 conv
   (F -> G, zero padding in time and space), concatenated to the input: 16L has 3 blocks of
   growth G = 32; 28L 9 and 52L 21 blocks of G = 16;
3. three blocks whose 3×3×3 conv is unpadded in time, each trimming one frame at both ends
   (7 -> 5 -> 3 -> 1), concatenated to the centre-cropped input;
4. BN, ReLU, 1×3×3 conv to 256, ReLU;
5. filter head: 1×1×1 convs 256 -> 512 (ReLU) -> 25·r², a softmax over the 25 taps of each
   5×5 filter; each output sub-pixel of the centre frame is its 5×5 neighbourhood (zero
   padded) weighted by its filter, arranged by depth-to-space;
6. residual head: 1×1×1 convs 256 -> 256 (ReLU) -> 3·r², depth-to-space, added.

Trainable parameters at ×4: 1,900,640 (16L), 2,118,432 (28L), 5,821,952 (52L).
"""

from __future__ import annotations

from typing import Any

from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe

FRAMES = 7
VARIANTS = {"duf-16l": (3, 32), "duf-28l": (9, 16), "duf-52l": (21, 16)}  # blocks, growth
PAPER = Paper(
    "Jo, Oh, Kang, Kim",
    "Deep Video Super-Resolution Network Using Dynamic Upsampling Filters Without Explicit "
    "Motion Compensation",
    "CVPR", 2018,
)  # fmt: skip
# Adam at 1e-3, x0.1 every 10 epochs, batch 16 of 32×32 LR patches, Huber (delta 0.01); the
# paper gives the decay period, stopping after 3 decays (30 epochs) is ours
RECIPE = Recipe(loss="huber", optimizer="adam", lr=1e-3, schedule="step", decay_epochs=10.0,
                decay_factor=0.1, batch_size=16, patch=32, epochs=30.0,
                note="30 epochs (three decays) is vsrdata's choice")  # fmt: skip
# every spatial half-width on the longest path: the stem, one 3×3 per dense block, the final
# 1×3×3, and the 5×5 dynamic filter's 2
RADIUS = {name: 1 + blocks + 3 + 1 + 2 for name, (blocks, _) in VARIANTS.items()}


def _conv(filters: int, size: Any, **kwargs: Any) -> Any:
    """A 3-D convolution initialized as in the official release: He normal weights
    (variance 2 / fan-in, truncated), zero biases."""
    import keras

    return keras.layers.Conv3D(filters, size, kernel_initializer="he_normal", **kwargs)


def _bn(name: str, synchronized: bool) -> Any:
    from vsrdata.vsr_models.layers import BatchNorm

    return BatchNorm(synchronized=synchronized, name=name)


def _block(x: Any, growth: int, name: str, trim_time: bool, synchronized: bool) -> Any:
    """BN-ReLU-1×1×1 conv-BN-ReLU-3×3×3 conv, concatenated to the (centre-cropped) input."""
    import keras

    from vsrdata.vsr_models.layers import TrimTime

    channels = x.shape[-1]
    t = _bn(f"{name}_bn1", synchronized)(x)
    t = keras.layers.ReLU()(t)
    t = _conv(channels, 1, name=f"{name}_conv1")(t)
    t = _bn(f"{name}_bn2", synchronized)(t)
    t = keras.layers.ReLU()(t)
    if trim_time:  # zero padding in space only: the time axis loses a frame at both ends
        t = keras.layers.ZeroPadding3D(((0, 0), (1, 1), (1, 1)))(t)
        t = _conv(growth, 3, name=f"{name}_conv2")(t)
        x = TrimTime()(x)
    else:  # "same" is the zero padding of the release, without a separate pad op
        t = _conv(growth, 3, padding="same", name=f"{name}_conv2")(t)
    return keras.layers.Concatenate(axis=-1)([x, t])


def duf_network(
    lr: Any, name: str = "duf-16l", scale: int = 4, synchronized_bn: bool = False
) -> Any:
    """The DUF network ``name`` (one of :data:`VARIANTS`) on the window tensor ``lr``
    [B, 7, h, w, 3]; returns the HR frame tensor [B, h·r, w·r, 3].

    ``synchronized_bn`` makes batch statistics span all replicas of a distribution strategy
    (what the training loop turns on whenever a strategy has more than one replica).
    """
    import keras

    from vsrdata.vsr_models.layers import (
        FILTER,
        CentreFrame,
        DepthToSpace,
        DynamicUpsampling,
        TapSoftmax,
        exact_dtype,
    )  # fmt: skip

    blocks, growth = VARIANTS[name]
    x = _conv(64, (1, 3, 3), padding="same", name="stem")(lr)
    for i in range(blocks):
        x = _block(x, growth, f"dense{i + 1}", False, synchronized_bn)
    for i in range(3):
        x = _block(x, growth, f"reduce{i + 1}", True, synchronized_bn)
    x = _bn("final_bn", synchronized_bn)(x)
    x = keras.layers.ReLU()(x)
    x = _conv(256, (1, 3, 3), padding="same", activation="relu", name="final_conv")(x)

    r = _conv(256, 1, activation="relu", name="res_conv1")(x)
    r = _conv(3 * scale * scale, 1, name="res_conv2")(r)
    residual = DepthToSpace(scale, name="res_depth_to_space")(r)

    f = _conv(512, 1, activation="relu", name="filter_conv1")(x)
    taps = FILTER * FILTER
    f = _conv(taps * scale * scale, 1, name="filter_conv2")(f)
    # at least float32 even under a mixed-precision policy: the softmax, the filtering of the
    # input frame (bfloat16 would quantize its pixels) and the output
    exact = exact_dtype()
    filters = TapSoftmax(scale, name="filter_softmax", dtype=exact)(f)
    centre = CentreFrame(name="centre_frame", dtype=exact)(lr)
    upsampled = DynamicUpsampling(scale, name="dynamic_upsampling", dtype=exact)(centre, filters)
    return keras.layers.Add(name="hr", dtype=exact)([upsampled, residual])


def _builder(name: str) -> Any:
    def build(lr: Any, scale: int = 4, synchronized_bn: bool = False) -> Any:
        return duf_network(lr, name, scale, synchronized_bn)

    return build


SPECS = [
    ModelSpec(
        name,
        _builder(name),
        FRAMES,
        PAPER,
        colour="rgb",
        upsampling="post",
        radius=RADIUS[name],
        batch_norm=True,
        recipe=RECIPE,
    )
    for name in VARIANTS
]
