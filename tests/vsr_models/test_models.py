"""The registered models: windows, scales and shapes, the dynamic filtering step, bicubic
(parameter counts: test_zoo.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.preprocess import imresize  # noqa: E402
from vsrdata.vsr_models import build_model, names  # noqa: E402
from vsrdata.vsr_models.layers import BicubicUpsampling, DynamicUpsampling  # noqa: E402

RNG = np.random.default_rng(11)


def trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def direct_dynamic_filter(frame: np.ndarray, filters: np.ndarray, r: int) -> np.ndarray:
    """The definition, as loops: zero-padded 5x5 neighbourhood times each sub-pixel's filter."""
    b, h, w, c = frame.shape
    padded = np.pad(frame, ((0, 0), (2, 2), (2, 2), (0, 0)))
    out = np.zeros((b, h * r, w * r, c))
    for i in range(h):
        for j in range(w):
            patch = padded[:, i : i + 5, j : j + 5].reshape(b, 25, c)
            for dy in range(r):
                for dx in range(r):
                    f = filters[:, i, j, :, dy * r + dx]  # [b, 25]
                    out[:, i * r + dy, j * r + dx] = np.einsum("bt,btc->bc", f, patch)
    return out


def test_dynamic_filtering_matches_the_loop() -> None:
    r = 3
    frame = RNG.random((2, 5, 6, 3), dtype=np.float32)
    logits = RNG.normal(size=(2, 5, 6, 25, r * r))
    filters = np.exp(logits) / np.exp(logits).sum(axis=3, keepdims=True)
    got = DynamicUpsampling(r)(frame, filters.astype(np.float32)).numpy()
    np.testing.assert_allclose(got, direct_dynamic_filter(frame, filters, r), atol=1e-5)


def test_centre_tap_filters_are_nearest_neighbour_upsampling() -> None:
    r = 4
    frame = RNG.random((1, 6, 7, 3), dtype=np.float32)
    filters = np.zeros((1, 6, 7, 25, r * r), np.float32)
    filters[:, :, :, 12, :] = 1.0  # softmax that picks the centre tap
    got = DynamicUpsampling(r)(frame, filters).numpy()
    nearest = frame.repeat(r, axis=1).repeat(r, axis=2)
    np.testing.assert_allclose(got, nearest, atol=1e-6)


def test_bicubic_layer_is_matlab_imresize() -> None:
    """The in-graph bicubic of the models that refine a bicubic upscale is the baseline's
    MATLAB imresize, to float32 precision."""
    x = RNG.random((1, 9, 11, 3), dtype=np.float32)
    for r in (2, 3, 4):
        got = BicubicUpsampling(r)(x).numpy()[0]
        np.testing.assert_allclose(got, imresize(x[0].astype(np.float64), r), atol=1e-5)


def test_keras_format_round_trip(tmp_path: Path) -> None:
    model = build_model("duf-16l", 2)
    x = RNG.random((1, 7, 6, 6, 3), dtype=np.float32)
    model.save(tmp_path / "duf.keras")
    again = keras.models.load_model(tmp_path / "duf.keras")
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), atol=1e-6)


def test_unknown_model_or_scale() -> None:
    with pytest.raises(UsageError, match="unknown model"):
        build_model("edvr")
    with pytest.raises(UsageError, match="scale"):
        build_model("duf-16l", 5)


def test_registry_lists_every_duf_variant_and_imports_no_tensorflow() -> None:
    import subprocess
    import sys

    from vsrdata.vsr_models.duf import VARIANTS
    from vsrdata.vsr_models.registry import trainable

    assert set(VARIANTS) <= set(trainable())
    code = "import sys, vsrdata.vsr_models; print('tensorflow' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False"


@pytest.mark.parametrize("rank", [4, 5])
def test_fused_batch_norm_is_keras_batch_norm(rank: int) -> None:
    """The fused kernel gives Keras's batch norm: outputs, gradients and the moving statistics
    (biased variance) in training, and the output at inference, to float32 rounding
    (1e-5 relative: the two sum in different orders over 2·5·6·7 values per channel)."""
    import tensorflow as tf

    from vsrdata.vsr_models.layers import BatchNorm

    shape = (2, 30, 7, 4) if rank == 4 else (2, 5, 6, 7, 4)
    x = tf.constant(RNG.normal(3.0, 2.0, shape).astype(np.float32))
    layers = [BatchNorm(momentum=0.9), BatchNorm(momentum=0.9)]
    layers[1].fused = False
    results = []
    for layer in layers:
        layer.build(x.shape)
        layer.set_weights([np.linspace(0.5, 2.0, 4), np.linspace(-1, 1, 4),
                           np.full(4, 0.5), np.full(4, 2.0)])  # fmt: skip
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.sin(x))
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append([y, *grads, *layer.non_trainable_variables, layer(x, training=False)])
    for fused, plain in zip(*results, strict=True):
        np.testing.assert_allclose(np.asarray(fused), np.asarray(plain), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", names())
def test_every_registered_model_keeps_its_spec(name: str) -> None:
    """Registering a model puts it under test: its window, scales and declared receptive
    radius hold for the network it builds, and its description is JSON."""
    import json

    from tests.helpers import LIGHT_OPTIONS, SAME_CODE_AS
    from vsrdata.evaluate.infer import receptive_radius
    from vsrdata.vsr_models.registry import spec

    s = spec(name)
    json.dumps(s.describe())
    # one scale of the models that share another's code, whose scales are all built here
    # (a DUF-52L build takes 3 s)
    for scale in s.scales[-1:] if name in SAME_CODE_AS else s.scales:
        model = s.build(scale, options=LIGHT_OPTIONS.get(name))
        assert int(model.input_shape[1]) == s.frames
        x = RNG.random((1, s.frames, 6, 5, 3), dtype=np.float32)
        out = model(x)  # RGB at the HR size, float32 whatever the network works in
        assert tuple(out.shape) == (1, 6 * scale, 5 * scale, 3) and out.dtype == "float32"
    if s.upsampling == "post" and s.frames == 7:  # DUF-like: what older files fall back on
        assert s.radius == receptive_radius(model)  # the spec and the layers agree
    # (every model's radius is checked by exact tiling in test_zoo.py)


def test_options_are_validated_and_reach_the_builder() -> None:
    from vsrdata.vsr_models.registry import parse_options, spec

    tiny = spec("tiny-test")
    assert tiny.resolve(parse_options(["width=4"])) == {"width": 4}
    assert trainable(tiny.build(2, options={"width": 4})) < trainable(tiny.build(2))
    with pytest.raises(UsageError, match="has no option depth"):
        tiny.resolve({"depth": 3})
    with pytest.raises(UsageError, match=r"option width takes an integer, got 'wide'"):
        tiny.resolve({"width": "wide"})
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_options(["width"])
    with pytest.raises(UsageError, match="no option"):
        spec("duf-16l").resolve({"width": 4})


def test_cli_lists_the_models_with_their_sizes() -> None:
    import json

    from tests.helpers import run_cli

    # two models: building all of them (DUF-52L alone takes seconds) tests nothing more
    res = run_cli("models", "tsrcnn-small", "tiny-test", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert list(rows) == ["tsrcnn-small", "tiny-test"]
    small = rows["tsrcnn-small"]
    assert (small["parameters"], small["frames"], small["colour"]) == (51_203, 3, "rgb")
    assert small["paper"] == "Kappeler et al., IEEE TCI 2016" and small["options"] == {
        "neighbours": 1}  # fmt: skip
    assert "tiny-test" in rows  # a plugin (VSRDATA_MODEL_MODULES) is listed like the rest


def test_a_plugin_that_cannot_be_imported_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from vsrdata.vsr_models import registry

    monkeypatch.setenv("VSRDATA_MODEL_MODULES", "tests.tiny_model,no_such_module_here")
    with pytest.raises(UsageError, match=r"no_such_module_here .* cannot be imported"):
        registry.names()
