"""Batch norm folded into the convolution before it, or fused with the ReLU after it
(inference): the same outputs, fewer passes."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from vsrdata.vsr_models import build_model  # noqa: E402
from vsrdata.vsr_models.fold import NormRelu, fold_batch_norm, frozen  # noqa: E402
from vsrdata.vsr_models.layers import BatchNorm  # noqa: E402


def batch_norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [x for x in model.layers if isinstance(x, keras.layers.BatchNormalization)]


def randomize_statistics(model: keras.Model, seed: int = 5) -> None:
    """Moving statistics and affine parameters far from the initial identity, so that a
    batch norm left out or applied twice changes the output by O(1). The same values for the
    same model and seed, whatever ran before (no shared random state between tests)."""
    rng = np.random.default_rng(seed)
    for bn in batch_norms(model):
        c = bn.moving_mean.shape[0]
        if bn.scale:
            bn.gamma.assign(rng.uniform(0.5, 1.5, c))
        if bn.center:
            bn.beta.assign(rng.normal(0, 0.2, c))
        bn.moving_mean.assign(rng.normal(0, 0.5, c))
        bn.moving_variance.assign(rng.uniform(0.2, 3.0, c))


@pytest.mark.parametrize(
    ("name", "options", "frames", "folds", "with_relu"),
    [("duf-16l", {}, 7, 6, 7), ("srresnet", {}, 1, 33, 0),
     ("vdsr", {"batch_norm": True}, 1, 18, 0)],
)  # fmt: skip
def test_folded_model_is_the_same_function(
    name: str, options: dict[str, bool], frames: int, folds: int, with_relu: int
) -> None:
    """Outputs equal to float32 rounding. The bound comes from the model itself: the same
    network built in float64 with the same weights is the reference, and the folded model
    may be off it by at most twice what the unfolded float32 model is, plus 1e-7 of the
    range. Each folded layer rounds its weights once instead of rounding the normalized
    activations, so its error is of the same kind and size (measured: 0.82 to 1.30 times
    the unfolded model's over five draws of statistics and inputs for each of the three
    models; VDSR's 20 layers with such statistics amplify rounding to 1e-5 of the range,
    where a fixed 1e-5 bound once failed); a batch norm skipped or applied twice is off by
    O(1). Everything here is seeded per test, so the outcome does not depend on test order."""
    model = build_model(name, 4, **options)
    randomize_statistics(model)
    before = [np.array(w) for w in model.get_weights()]
    folded = fold_batch_norm(model)
    # DUF: six batch norms go into their convolutions, the seven that read the concatenated
    # features take the ReLU after them
    assert len(batch_norms(model)) - len(batch_norms(folded)) == folds + with_relu
    assert sum(isinstance(x, NormRelu) for x in folded.layers) == with_relu
    assert not folded.trainable and model.trainable
    rng = np.random.default_rng(6)
    x = rng.random((2, frames, 12, 16, 3), dtype=np.float32)
    if name == "vdsr":  # VDSR takes the bicubic-upsampled luma (at 24×32 the ratio below
        # measured 0.82-1.15 over four draws, as at 48×64, for a quarter of the time)
        x = rng.random((1, 1, 24, 32, 1), dtype=np.float32)
    keras.config.set_dtype_policy("float64")
    try:
        double = build_model(name, 4, **options)
    finally:
        keras.config.set_dtype_policy("float32")
    double.set_weights([w.astype(np.float64) for w in before])
    exact = np.asarray(double(x.astype(np.float64), training=False))
    want = np.asarray(model(x, training=False))
    got = np.asarray(folded(x, training=False))
    rounding = float(np.abs(want - exact).max())
    assert 0 < rounding < 1e-3 * float(np.abs(exact).max())  # a float32 model, and a sane one
    assert float(np.abs(got - exact).max()) <= 2 * rounding + 1e-7 * float(np.abs(exact).max())
    # the original model is untouched and still trains with its own batch norms
    for w, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(np.asarray(w), b)


def test_only_what_nothing_else_reads_is_folded_or_fused() -> None:
    inp = keras.Input((8, 8, 4))
    a = keras.layers.Conv2D(4, 3, padding="same", name="shared_output")(inp)
    b = keras.layers.BatchNormalization(name="bn_a")(a)
    c = keras.layers.Add()([a, b])  # ``a`` is read twice: folding would change ``c``
    d = keras.layers.Conv2D(4, 1, activation="relu", name="activated")(c)
    e = keras.layers.BatchNormalization(name="bn_d")(d)  # a ReLU sits between conv and BN
    f = keras.layers.Conv2D(4, 1, use_bias=False, name="plain")(e)
    g = keras.layers.BatchNormalization(name="bn_f", center=False)(f)
    h = keras.layers.ReLU()(BatchNorm(name="bn_relu")(g))  # fused with its ReLU
    k = keras.layers.ReLU(max_value=6.0)(BatchNorm(name="bn_relu6")(h))  # not a plain ReLU
    model = keras.Model(inp, k)
    randomize_statistics(model)
    folded = fold_batch_norm(model)
    assert [bn.name for bn in batch_norms(folded)] == ["bn_a", "bn_d", "bn_relu6"]
    assert [x.name for x in folded.layers if isinstance(x, NormRelu)] == ["bn_relu"]
    x = np.random.default_rng(7).random((2, 8, 8, 4), dtype=np.float32)
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(folded(x)), want, atol=1e-5 * np.abs(want).max())


def test_a_model_without_batch_norm_is_returned_as_is() -> None:
    model = build_model("espcn", 4)
    assert fold_batch_norm(model) is model


def test_frozen_holds_the_weights_as_constants() -> None:
    """One graph for every frame size, the same outputs, no variable read (what lets oneDNN
    keep each kernel reordered: CARN's grouped and plain convolutions alike), and the weights
    as they were when it was made."""
    import tensorflow as tf

    model = build_model("carn-m", 2)
    signature = [tf.TensorSpec((None, 1, None, None, 3))]
    run = frozen(lambda x: model(x, training=False), signature, model.weights)
    ops = {op.type for op in run.graph.get_operations()}
    assert not ops & {"ReadVariableOp", "VarHandleOp", "ResourceGather"}, ops
    rng = np.random.default_rng(0)
    for size in ((9, 11), (16, 8)):
        x = rng.random((1, 1, *size, 3), dtype=np.float32)
        want = np.asarray(model(x, training=False))
        got = np.asarray(run(x))
        assert got.shape == want.shape == (1, size[0] * 2, size[1] * 2, 3)
        # the same convolutions, possibly by other kernels: float32 rounding, a few ulps
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())
    before = np.asarray(run(x))
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    np.testing.assert_array_equal(np.asarray(run(x)), before)


def test_upscalers_read_no_variable() -> None:
    """DUF's upscaler graph and its exact tiles' graph (batch norms folded, or fused into one
    layer that keeps its own) read every weight as a constant."""
    from vsrdata.evaluate.infer import KerasUpscaler

    up = KerasUpscaler(build_model("duf-16l", 2), tile=16)
    up(np.zeros((7, 16, 16, 3), np.uint8))  # one tile: the whole graph
    up(np.zeros((7, 20, 20, 3), np.uint8))  # four: the tiles' graph
    tiles = up.exact_tiles()
    assert tiles is not None and up._graph is not None
    for graph in (up._graph.graph, tiles.forward.graph):
        assert "ReadVariableOp" not in {op.type for op in graph.get_operations()}
