"""Batch norm folded into the convolution before it, or fused with the ReLU after it
(inference): the same outputs, fewer passes."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from vsrdata.vsr_models import build_model  # noqa: E402
from vsrdata.vsr_models.fold import NormRelu, fold_batch_norm  # noqa: E402
from vsrdata.vsr_models.layers import BatchNorm  # noqa: E402

RNG = np.random.default_rng(5)


def batch_norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [x for x in model.layers if isinstance(x, keras.layers.BatchNormalization)]


def randomize_statistics(model: keras.Model) -> None:
    """Moving statistics and affine parameters far from the initial identity, so that a
    batch norm left out or applied twice changes the output by O(1)."""
    for bn in batch_norms(model):
        c = bn.moving_mean.shape[0]
        if bn.scale:
            bn.gamma.assign(RNG.uniform(0.5, 1.5, c))
        if bn.center:
            bn.beta.assign(RNG.normal(0, 0.2, c))
        bn.moving_mean.assign(RNG.normal(0, 0.5, c))
        bn.moving_variance.assign(RNG.uniform(0.2, 3.0, c))


@pytest.mark.parametrize(
    ("name", "options", "frames", "folds", "with_relu"),
    [("duf-16l", {}, 7, 6, 7), ("srresnet", {}, 1, 33, 0),
     ("vdsr", {"batch_norm": True}, 1, 18, 0)],
)  # fmt: skip
def test_folded_model_is_the_same_function(
    name: str, options: dict[str, bool], frames: int, folds: int, with_relu: int
) -> None:
    """Outputs equal to float32 rounding: each folded layer rounds its weights once instead of
    rounding the normalized activations, a few ulps (6e-8 relative) per layer, which stay far
    below 1e-5 of the output's range after the models' 20 to 40 layers; a batch norm skipped
    or applied twice would be off by O(1) with these statistics."""
    model = build_model(name, 4, **options)
    randomize_statistics(model)
    before = [np.array(w) for w in model.get_weights()]
    folded = fold_batch_norm(model)
    # DUF: six batch norms go into their convolutions, the seven that read the concatenated
    # features take the ReLU after them
    assert len(batch_norms(model)) - len(batch_norms(folded)) == folds + with_relu
    assert sum(isinstance(x, NormRelu) for x in folded.layers) == with_relu
    assert not folded.trainable and model.trainable
    x = RNG.random((2, frames, 12, 16, 3 if name != "vdsr" else 1), dtype=np.float32)
    if name == "vdsr":  # VDSR takes the bicubic-upsampled luma
        x = RNG.random((2, 1, 48, 64, 1), dtype=np.float32)
    want = np.asarray(model(x, training=False))
    got = np.asarray(folded(x, training=False))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.abs(want).max()))
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
    x = RNG.random((2, 8, 8, 4), dtype=np.float32)
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(folded(x)), want, atol=1e-5 * np.abs(want).max())


def test_a_model_without_batch_norm_is_returned_as_is() -> None:
    model = build_model("espcn", 4)
    assert fold_batch_norm(model) is model
