"""Tiles that compute only what their output needs (``vsrdata.vsr_models.tiling``): the same
output as the whole frame, for every registered network whose layers' reach is known."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tests.helpers import LIGHT_OPTIONS, PLAIN_TILES, SAME_CODE_AS  # noqa: E402
from vsrdata.evaluate.infer import KerasUpscaler  # noqa: E402
from vsrdata.vsr_models import build_model  # noqa: E402
from vsrdata.vsr_models.fold import fold_batch_norm  # noqa: E402
from vsrdata.vsr_models.registry import names, spec  # noqa: E402
from vsrdata.vsr_models.tiling import tile_forward  # noqa: E402

from .test_fold import randomize_statistics  # noqa: E402

# the exact receptive radii (LR pixels): DUF's paths through the dynamic filters reach 2
# into the input frame, beside the 8 (16L) of the stem, the blocks and the last 1×3×3 conv
RADIUS = {"duf-16l": 8, "duf-28l": 14, "duf-52l": 26}


@pytest.mark.parametrize("name", names())
def test_tiles_give_the_whole_frame(name: str) -> None:
    """Tiles of 16 LR pixels over an 18×34 frame at ×2: each tile has neighbours on some sides
    and the frame's border on others, every side has both kinds somewhere, and the last row and
    column are 2 pixels wide, narrower than every radius (4 to 40). Outputs equal to float32
    rounding (each tile's convolutions sum the same terms as the whole frame's, possibly in
    another order: a few ulps per layer, far below 1e-5 of the range), where a crop one pixel
    off, a missing zero padding at the border or a padding where there is a neighbour would be
    off by O(1) of the range near the seams (the batch-norm statistics are randomized so that
    none of them is an identity)."""
    model = build_model(name, 2, **LIGHT_OPTIONS.get(name, {}))  # DRCN: 4 recursions of 16
    randomize_statistics(model)
    upscaler = KerasUpscaler(model, tile=16)  # one folding for the tiles and the whole frame
    forward = upscaler.exact_tiles()
    if name in PLAIN_TILES:
        assert forward is None
        return
    assert forward is not None
    assert forward.radius <= spec(name).radius  # the registered bound holds
    if name in RADIUS:
        assert forward.radius == RADIUS[name]
    if name in SAME_CODE_AS:  # their tiles are those of the code they share (52L's: 14 s)
        return
    frames = int(model.input_shape[1])
    window = np.random.default_rng(3).integers(0, 256, (frames, 18, 34, 3), dtype=np.uint8)
    tiled = upscaler.float_output(window)
    upscaler.tile = 0  # the same upscaler on the whole frame
    whole = upscaler.float_output(window)
    assert tiled.shape == whole.shape == (36, 68, 3)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5 * float(np.abs(whole).max()))


def test_one_tile_with_neighbours_on_chosen_sides() -> None:
    """The tile function itself: context only where ``interior`` says there are neighbours,
    and the output is the tile's own pixels, without that context."""
    model = fold_batch_norm(build_model("duf-16l", 2))
    forward = tile_forward(model)
    assert forward is not None
    r = forward.radius
    x = np.random.default_rng(4).random((1, 7, 40, 44), dtype=np.float32)[..., None]
    x = np.repeat(x, 3, axis=-1) * np.array([1.0, 0.5, 0.25], np.float32)
    want = np.asarray(model(x, training=False))[0]
    # rows 8..24 with neighbours above and below, columns 0..20 at the left border with a
    # neighbour on the right
    tile = x[:, :, 8 - r : 24 + r, 0 : 20 + r]
    got = np.asarray(forward.forward(tile, np.array([1, 1, 0, 1], np.int32)))[0]
    assert got.shape == (32, 40, 3)
    np.testing.assert_allclose(got, want[16:48, 0:40], rtol=0, atol=1e-5)


def unknown_reach(kind: str) -> keras.Model:
    from vsrdata.vsr_models.layers import FrameAt

    inp = keras.Input((1, None, None, 3))
    if kind == "strided":
        x = keras.layers.Conv3D(3, (1, 3, 3), strides=(1, 2, 2), padding="same")(inp)
    elif kind == "valid":  # shrinks the whole frame: no padding before it
        x = keras.layers.Conv3D(3, (1, 3, 3), padding="valid")(inp)
    else:  # moves pixels between rows
        x = keras.layers.Reshape((1, -1, 6, 3))(inp)
    return keras.Model(inp, FrameAt(0)(x))


@pytest.mark.parametrize("kind", ["strided", "valid", "reshape"])
def test_layers_of_unknown_reach_tile_the_plain_way(kind: str) -> None:
    assert tile_forward(unknown_reach(kind)) is None


def test_an_overlap_below_the_radius_is_the_callers_choice() -> None:
    """An ``overlap`` below the exact radius runs the plain loop with that context (an
    approximation asked for); at or above it, the exact tiles; ``exact_tiles=False`` always
    the plain loop (what ``bench/tiles.py`` compares against)."""
    model = build_model("tiny-test", 2)
    exact = tile_forward(model)
    assert exact is not None and exact.radius > 0
    r = exact.radius
    assert KerasUpscaler(model, tile=16, overlap=r - 1).exact_tiles() is None
    assert KerasUpscaler(model, tile=16, overlap=r).exact_tiles() is not None
    assert KerasUpscaler(model, tile=16).exact_tiles() is not None
    assert KerasUpscaler(model, tile=16, exact_tiles=False).exact_tiles() is None
