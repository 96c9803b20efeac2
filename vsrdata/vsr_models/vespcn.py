"""VESPCN: motion compensation by a spatial transformer, then an ESPCN on the aligned frames.

Caballero, Ledig, Aitken, Acosta, Totz, Wang, Shi, "Real-Time Video Super-Resolution with
Spatio-Temporal Networks and Motion Compensation", CVPR 2017, on luma, 3 frames:

- motion compensation, one module shared by both neighbours (the paper's Table 1):
  coarse flow from (reference, neighbour): conv 5×5/2 ×24, 3×3 ×24, 5×5/2 ×24, 3×3 ×24
  (ReLU), 3×3 ×32 (tanh), a ×4 sub-pixel shuffle to 2 channels; the neighbour warped by it
  (bilinear); fine flow from (reference, neighbour, warped, coarse flow): 5×5/2 ×24, three
  3×3 ×24 (ReLU), 3×3 ×8 (tanh), a ×2 shuffle; the neighbour warped by coarse + fine;
- early fusion: the warped previous frame, the reference and the warped next frame stacked,
  then ESPCN's layers (5×5×64 tanh, 3×3×32 tanh, 3×3×r², shuffle). The paper's joint
  networks build on ESPCN with early fusion; their exact depth is not given in a form we
  can confirm, so this is the closest documented configuration: the 3-layer ESPCN of the
  same authors.

The flows are tanh × 8 LR pixels (the paper's tanh range is in coordinates it does not
state in pixels); frames are mirrored up to multiples of 4 inside the module so its strided
convolutions sample the same grid in a tile as in the whole frame (``align=4``).

Training adds, per neighbour, β·(MSE(warped, reference) + λ·H(∂flow)) with β = λ = 0.01,
H = sqrt(0.01 + |∂x flow|² + |∂y flow|²) (the paper's Huber penalty), to the SR loss.
"""

from __future__ import annotations

from typing import Any

from vsrdata.vsr_models.registry import ModelSpec, Paper, Recipe, Supervised

PAPER = Paper("Caballero, Ledig, Aitken, Acosta, Totz, Wang, Shi", "Real-Time Video "
              "Super-Resolution with Spatio-Temporal Networks and Motion Compensation",
              "CVPR", 2017)  # fmt: skip
FLOW_RANGE = 8.0  # LR pixels at tanh = ±1
BETA, LAMBDA = 0.01, 0.01


class _MotionCompensation:
    """The coarse and fine flow networks: one set of weights, applied to each neighbour."""

    def __init__(self) -> None:
        from vsrdata.vsr_models.layers import Conv2D

        def conv(n: int, k: int, name: str, stride: int = 1, act: str = "relu") -> Any:
            return Conv2D(n, k, strides=stride, padding="same", activation=act,
                          name=f"mc_{name}")  # fmt: skip

        self.coarse = [conv(24, 5, "coarse1", 2), conv(24, 3, "coarse2"),
                       conv(24, 5, "coarse3", 2), conv(24, 3, "coarse4"),
                       conv(32, 3, "coarse5", act="tanh")]  # fmt: skip
        self.fine = [conv(24, 5, "fine1", 2), conv(24, 3, "fine2"), conv(24, 3, "fine3"),
                     conv(24, 3, "fine4"), conv(8, 3, "fine5", act="tanh")]  # fmt: skip
        self.calls = 0

    def __call__(self, reference: Any, neighbour: Any) -> tuple[Any, Any]:
        """(the neighbour warped onto the reference, the flow) for [B, H, W, 1] frames."""
        import keras

        from vsrdata.vsr_models.layers import CropTo, DepthToSpace, PadToMultiple, Warp

        self.calls += 1
        n = self.calls
        x = keras.layers.Concatenate(name=f"mc_in{n}")([reference, neighbour])
        pad = PadToMultiple(4, name=f"mc_pad{n}")
        t = pad(x)
        for layer in self.coarse:
            t = layer(t)
        coarse = DepthToSpace(4, name=f"mc_coarse_shuffle{n}")(t)
        coarse = keras.layers.Rescaling(FLOW_RANGE, name=f"mc_coarse_flow{n}")(coarse)
        coarse = CropTo(name=f"mc_coarse_crop{n}")(coarse, reference)
        warped = Warp(name=f"mc_coarse_warp{n}")(neighbour, coarse)
        t = keras.layers.Concatenate(name=f"mc_fine_in{n}")([reference, neighbour, warped, coarse])
        t = PadToMultiple(4, name=f"mc_fine_pad{n}")(t)
        for layer in self.fine:
            t = layer(t)
        fine = DepthToSpace(2, name=f"mc_fine_shuffle{n}")(t)
        fine = keras.layers.Rescaling(FLOW_RANGE, name=f"mc_fine_flow{n}")(fine)
        fine = CropTo(name=f"mc_fine_crop{n}")(fine, reference)
        flow = keras.layers.Add(name=f"mc_flow{n}")([coarse, fine])
        return Warp(name=f"mc_warp{n}")(neighbour, flow), flow


def vespcn(y: Any, scale: int = 4) -> Supervised:
    """[B, 3, h, w, 1] LR luma -> [B, h·r, w·r, 1], with the motion losses for training."""
    import keras

    from vsrdata.vsr_models.layers import Conv2D, DepthToSpace, FrameAt, MotionLoss

    previous, reference, following = (FrameAt(i, name=f"frame{i}")(y) for i in range(3))
    compensate = _MotionCompensation()
    aligned, losses = [], []
    for neighbour in (previous, following):
        warped, flow = compensate(reference, neighbour)
        aligned.append(warped)
        n = len(aligned)
        losses.append(MotionLoss(BETA, LAMBDA, name=f"motion_loss{n}")(reference, warped, flow))
    x = keras.layers.Concatenate(name="early_fusion")([aligned[0], reference, aligned[1]])
    x = Conv2D(64, 5, padding="same", activation="tanh", name="sr_conv1")(x)
    x = Conv2D(32, 3, padding="same", activation="tanh", name="sr_conv2")(x)
    x = Conv2D(scale * scale, 3, padding="same", name="sr_conv3")(x)
    return Supervised(DepthToSpace(scale, name="shuffle")(x), auxiliary=tuple(losses))


SPECS = [
    ModelSpec(
        "vespcn", vespcn, 3, PAPER, colour="y", upsampling="post",
        # the flow networks' reach (strided convolutions, the shuffles, two warps of up to
        # 2 × 8 pixels) and ESPCN's 4: a multiple of the alignment
        radius=60, align=4,
        # the paper: Adam at 1e-4, MSE; batch and patch as ESPCN's
        recipe=Recipe(loss="mse", optimizer="adam", lr=1e-4, schedule="constant",
                      batch_size=16, patch=17, epochs=100.0),
    )
]  # fmt: skip
