"""DUF's per-frame work shared between a clip's sliding windows (``vsr_models.reuse``): the
outputs of the whole network on every window, and the work found where windows overlap."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from vsrdata.evaluate.infer import KerasUpscaler, temporal_window  # noqa: E402
from vsrdata.vsr_models import build_model  # noqa: E402
from vsrdata.vsr_models.reuse import WindowReuse  # noqa: E402

from .test_fold import randomize_statistics  # noqa: E402

# outputs in [0, 1]: the three taps of each 3×3×3 convolution summed in another order than
# the convolution's own, a few float32 roundings of the ~1e-7 relative each (6e-6 measured
# on a 144×180 frame)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def duf() -> KerasUpscaler:
    model = build_model("duf-16l", 2)
    randomize_statistics(model)
    return KerasUpscaler(model, reuse=False)


@pytest.mark.parametrize("pad", ["reflect", "zero"])
def test_every_window_of_a_clip_is_the_whole_networks(duf: KerasUpscaler, pad: str) -> None:
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (14, 18, 3), dtype=np.uint8) for _ in range(9)]
    frames[5] = frames[4]  # a repeated frame: the same digest at two positions
    reuse = WindowReuse.of(duf._inference)
    assert reuse is not None and reuse.blocks == 3
    for i in [*range(9), 2, 8]:  # in order, then windows whose neighbours were not the last
        window = temporal_window(frames, i, 7, pad)
        expected = duf.float_output(window)
        got = reuse(window)
        assert got.shape == expected.shape == (28, 36, 3)
        assert float(np.abs(got - expected).max()) < TOLERANCE
        assert len(reuse.cache) <= 7 * 7  # what one window uses; the rest is dropped


def test_consecutive_windows_share_what_the_module_counts(duf: KerasUpscaler) -> None:
    """In a clip's middle a window finds, per stage of 7 positions: 6 stem outputs and 6 of
    the first block's taps (frames alone), 4 of its outputs and the second block's taps (one
    frame either side, away from the window's ends), 2 of the second block's outputs and the
    third's taps, none of the third's outputs: 24 of 49."""
    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (10, 12, 3), dtype=np.uint8) for _ in range(12)]
    reuse = WindowReuse.of(duf._inference)
    assert reuse is not None
    reuse(temporal_window(frames, 5, 7, "reflect"))
    assert (reuse.hits, reuse.misses) == (0, 49)
    reuse.hits = reuse.misses = 0
    reuse(temporal_window(frames, 6, 7, "reflect"))
    assert (reuse.hits, reuse.misses) == (24, 25)
    reuse(temporal_window(frames, 6, 7, "reflect"))  # the same window again: all found
    assert (reuse.hits, reuse.misses) == (24 + 49, 25)


def test_the_upscaler_shares_work_only_for_duf_shaped_models(duf: KerasUpscaler) -> None:
    tiny = KerasUpscaler(build_model("tiny-test", 2))
    window = np.zeros((7, 10, 12, 3), np.uint8)
    assert tiny(window).shape == (20, 24, 3)
    assert tiny._reuse is None  # another network: run whole, as before
    shared = KerasUpscaler(duf.model)
    frames = [np.full((10, 12, 3), 40 * k, np.uint8) for k in range(5)]
    for i in range(5):
        window = temporal_window(frames, i, 7, "replicate")
        np.testing.assert_allclose(shared.float_output(window), duf.float_output(window),
                                   atol=TOLERANCE, rtol=0)  # fmt: skip
    assert shared._reuse is not None and shared._reuse.hits > 0


def test_a_deeper_duf_shares_its_first_three_blocks_and_runs_the_rest_whole() -> None:
    """DUF-28L: 9 dense blocks; the 4th to 9th run with the reductions, on all 7 positions."""
    model = build_model("duf-28l", 2)
    randomize_statistics(model)
    whole = KerasUpscaler(model, reuse=False)
    reuse = WindowReuse.of(whole._inference)
    assert reuse is not None and reuse.blocks == 3
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (8, 10, 3), dtype=np.uint8) for _ in range(8)]
    for i in (3, 4):
        window = temporal_window(frames, i, 7, "reflect")
        got, expected = reuse(window), whole.float_output(window)
        assert float(np.abs(got - expected).max()) < TOLERANCE
    assert (reuse.hits, reuse.misses) == (24, 49 + 25)
