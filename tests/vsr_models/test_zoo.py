"""Every registered model, by the same tests: exact sizes, the .keras round trip with its
manifest and the registered tile overlap, and a few steps that lower the loss (the window and
the output shape at every scale: test_models.py).

Registering a model puts it here; a model missing from :data:`COUNTS` fails the first test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tests.helpers import LIGHT_OPTIONS, PLAIN_TILES, SAME_CODE_AS  # noqa: E402
from vsrdata.evaluate.infer import KerasUpscaler  # noqa: E402
from vsrdata.vsr_models.config import Optimization  # noqa: E402
from vsrdata.vsr_models.distribute import DistributedStep, make_strategy  # noqa: E402
from vsrdata.vsr_models.manifest import read_manifest, save_model  # noqa: E402
from vsrdata.vsr_models.registry import names, spec  # noqa: E402

RNG = np.random.default_rng(12)

# name -> {scale: (trainable parameters, weights only: convolution and dense kernels)}, each
# derived from the architecture in the model's docstring (and the papers' figures)
COUNTS: dict[str, dict[int, tuple[int, int]]] = {
    "duf-16l": {4: (1_900_640, 1_894_080)},
    "duf-28l": {4: (2_118_432, 2_107_072)},
    "duf-52l": {4: (5_821_952, 5_789_376)},
    "srcnn": {2: (8_129, 8_032), 3: (8_129, 8_032), 4: (8_129, 8_032)},
    "espcn": {2: (21_284, 21_184), 3: (22_729, 22_624), 4: (24_752, 24_640)},
    "vdsr": {4: (665_921, 664_704)},
    "tsrcnn-small": {4: (51_203, 51_104)},
    "tsrcnn-large": {4: (222_723, 222_528)},
    "carn": {4: (1_111_875, 1_109_376)},
    "carn-m": {4: (294_147, 292_224)},
    # + 1,216 PReLU slopes, one per channel (1,549,443 without them)
    "srresnet": {4: (1_550_659, 1_542_528)},
    "srgan": {4: (1_550_659, 1_542_528)},  # the generator (the discriminator: test_srgan.py)
    # + 1,025 biases and the 16 ensemble weights
    "drcn": {2: (1_775_121, 1_774_080), 4: (1_775_121, 1_774_080)},
    # motion compensation 32,880 + 20,384 weights and 192 biases, shared by both neighbours;
    # ESPCN on 3 stacked frames: 4,800 + 18,432 + 4,608·r²/16 weights, 112 biases at ×4
    "vespcn": {2: (77_876, 77_544), 4: (81_344, 81_000)},
    "tiny-test": {2: (1_236, 1_192)},
    "tiny-fixed": {2: (1_236, 1_192)},
}
# alternative configurations the papers count too
OPTION_COUNTS = [
    ("srcnn", {"mapping": 5}, 3, (57_281, 57_184)),
    ("vdsr", {"depth": 12}, 4, (370_497, 369_792)),
    ("vdsr", {"depth": 12, "batch_norm": True}, 4, (371_777, 369_792)),
    ("tsrcnn-small", {"neighbours": 2}, 4, (82_307, 82_208)),
    # 12 blocks fewer, 74,176 each: 2 × (3·3·64·64 + 64) + 2 BN × 128 + 64 slopes
    ("srresnet", {"blocks": 4}, 4, (660_547, 657_792)),
]


DISTINCT = [n for n in names() if n not in SAME_CODE_AS]
# DUF-16L's round trip and exact tiles have their own tests (test_models, test_eval)
TILED = [n for n in DISTINCT if n != "duf-16l"]
LIGHT = LIGHT_OPTIONS


def sizes(model: keras.Model) -> tuple[int, int]:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    kernels = sum(int(np.prod(w.shape)) for w in model.trainable_weights
                  if w.path.endswith("kernel"))  # fmt: skip
    return trainable, kernels


def window(name: str, h: int = 8, w: int = 10, batch: int = 1, **options: object) -> np.ndarray:
    frames = spec(name).window(options)
    return RNG.random((batch, frames, h, w, 3), dtype=np.float32)


@pytest.mark.parametrize("name", names())
def test_parameter_counts(name: str) -> None:
    assert name in COUNTS, f"{name}: add its parameter counts to COUNTS"
    for scale, expected in COUNTS[name].items():
        assert sizes(spec(name).build(scale)) == expected, (name, scale)


@pytest.mark.parametrize(("name", "options", "scale", "expected"), OPTION_COUNTS)
def test_parameter_counts_of_the_ablations(
    name: str, options: dict[str, object], scale: int, expected: tuple[int, int]
) -> None:
    assert sizes(spec(name).build(scale, options=options)) == expected


@pytest.mark.parametrize("name", TILED)
def test_keras_round_trip_with_manifest_and_tiles(name: str, tmp_path: Path) -> None:
    """Saved and loaded, the model gives the same output and tiles by its registered radius.
    A network whose reach cannot be followed layer by layer (VESPCN's learned warp) tiles
    with that overlap to the whole frame's output; the others' exact tiles are
    test_tiling.py's."""
    options = LIGHT.get(name)
    model = spec(name).build(2, options=options)
    path = save_model(model, tmp_path / "m.keras", spec(name).identity(2, options))
    loaded = KerasUpscaler(str(path), name=name, tile=16)
    assert (loaded.scale, loaded.frames) == (2, spec(name).window())
    assert loaded.overlap == spec(name).radius
    assert read_manifest(path)["model"] == name
    x = (window(name, 26, 28)[0] * 255).astype(np.uint8)
    loaded.tile = 0  # the same upscaler on the whole frame
    whole = loaded.float_output(x)
    np.testing.assert_allclose(whole, KerasUpscaler(model).float_output(x), atol=1e-5)
    if name in PLAIN_TILES:
        loaded.tile = 16
        assert loaded.exact_tiles() is None
        np.testing.assert_allclose(loaded.float_output(x), whole, atol=2e-5)
    longer = np.concatenate([x[:1], x, x[-1:]])  # a longer window: its centre frames are read
    np.testing.assert_array_equal(loaded(longer), loaded(x))


@pytest.mark.parametrize("name", [n for n in names() if spec(n).trainable])
def test_both_presets_configure_every_model(name: str, tmp_path: Path) -> None:
    """``--preset paper`` is the model's recipe; ``--preset cpu-quick`` keeps the model and
    gives it patches its strided layers and losses accept (its training: bench/zoo.py runs
    it for every model)."""
    from vsrdata.vsr_models.config import TrainConfig

    recipe = spec(name).recipe
    assert recipe is not None
    where = {"dataset": str(tmp_path), "out": str(tmp_path / "run"), "model": name}
    if recipe.loss == "vgg54":  # a file that exists: the weights are read when training
        where["vgg_weights"] = __file__
    paper = TrainConfig.from_options(preset="paper", **where)
    assert (paper.optimization().loss, paper.optimizer, paper.lr, paper.batch_size) == (
        recipe.loss, recipe.optimizer, recipe.lr, recipe.batch_size)  # fmt: skip
    quick = TrainConfig.from_options(preset="cpu-quick", **where)
    assert quick.model == name and quick.patch is not None
    assert quick.patch % spec(name).align == 0
    assert quick.optimization().loss == recipe.loss


@pytest.mark.parametrize("name", DISTINCT)
def test_a_few_steps_lower_the_loss(name: str) -> None:
    """Every model trains: 20 Adam steps on one fixed batch at least halve its loss (measured
    with seeds 0, 1, 2: the last five steps' best is 0.001-0.31 of the first loss)."""
    keras.utils.set_random_seed(0)  # the initial weights do not depend on the tests before
    step = DistributedStep(make_strategy("one-device"), name, 2, 2, learning_rate=2e-3,
                           optimization=Optimization("mse"),
                           model_options=LIGHT.get(name))  # fmt: skip
    x = tf.constant(window(name, 8, 8, batch=2))
    hr = tf.image.resize(x[:, x.shape[1] // 2], (16, 16), method="bicubic")
    hr = tf.clip_by_value(hr + 0.05 * tf.sin(hr * 40.0), 0.0, 1.0)  # detail bicubic lacks
    losses = [float(step(x, hr)) for _ in range(20)]
    assert np.all(np.isfinite(losses)) and min(losses[-5:]) < 0.5 * losses[0], losses


def test_luma_models_keep_bicubic_chroma_and_learn_luma() -> None:
    from vsrdata.vsr_models.layers import BicubicUpsampling, RgbToY

    model = spec("espcn").build(3)
    x = window("espcn", 9, 11)
    out = model(x)
    bicubic = BicubicUpsampling(3)(x[:, 0])
    to_ycbcr = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0],
                         [112.0, -93.786, -18.214]]) / 255.0  # fmt: skip
    chroma = lambda img: np.asarray(img, np.float64) @ to_ycbcr[1:].T  # noqa: E731
    np.testing.assert_allclose(chroma(out), chroma(bicubic), atol=1e-5)
    net = model.get_layer("shuffle").output
    luma = keras.Model(model.input, net)(x)
    np.testing.assert_allclose(RgbToY()(out), luma, atol=1e-5)


def check_grouped_convolution() -> None:
    """GroupConv2D's outputs and gradients against the definition: a convolution per group."""
    from vsrdata.vsr_models.layers import GroupConv2D

    conv = GroupConv2D(16, 3, padding="same", groups=4)
    x = tf.constant(RNG.random((2, 9, 9, 16), dtype=np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = conv(x)
        pairs = zip(tf.split(x, 4, -1), tf.split(conv.kernel, 4, axis=-1), strict=True)
        parts = [tf.nn.conv2d(a, k, 1, "SAME") for a, k in pairs]
        ref = tf.concat(parts, -1) + conv.bias
        loss, ref_loss = tf.reduce_sum(y * y), tf.reduce_sum(ref * ref)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    wrt = [x, conv.kernel]
    for a, b in zip(tape.gradient(loss, wrt), tape.gradient(ref_loss, wrt), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_grouped_convolution_is_the_definition() -> None:
    check_grouped_convolution()


def test_grouped_convolution_without_onednn_trains() -> None:
    """With oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) TensorFlow's CPU kernels have no grouped
    convolution: GroupConv2D runs one per group, and CARN-M takes a training step. The
    user's choice is kept although vsrdata comes first (which otherwise turns oneDNN on:
    test_quiet.py), and nothing warns that oneDNN is off."""
    code = ("import vsrdata\n"
            "from tests.vsr_models.test_zoo import check_grouped_convolution, tf\n"
            "from vsrdata.common.quiet import onednn_enabled\n"
            "from vsrdata.vsr_models.registry import build_model\n"
            "assert onednn_enabled() is False\n"
            "check_grouped_convolution()\n"
            "model = build_model('carn-m', 2)  # where the notice would be given\n"
            "x = tf.random.uniform((1, 1, 12, 12, 3), seed=1)\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(model(x, training=True) ** 2)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
            "assert all(g is not None for g in grads)\n"
            "print('ok', model(x).shape)\n")  # fmt: skip
    env = os.environ | {"TF_ENABLE_ONEDNN_OPTS": "0"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split()[0] == "ok" and "oneDNN CPU kernels are off" not in res.stderr


@pytest.mark.parametrize(("batch", "stride", "padding"), [(1, 1, "same"), (1, 2, "valid"),
                                                       (2, 1, "same")])  # fmt: skip
def test_conv2d_is_keras_conv2d(batch: int, stride: int, padding: str) -> None:
    """vsrdata's Conv2D (a batch of one as a depth-1 Conv3D on a CPU with oneDNN) computes
    Keras's Conv2D: both within float32 rounding of the exact sum, n·eps·Σ|x·w| for n terms."""
    from vsrdata.common.quiet import onednn_enabled
    from vsrdata.vsr_models.layers import Conv2D

    ours = Conv2D(24, 3, strides=stride, padding=padding, activation="relu")
    theirs = keras.layers.Conv2D(24, 3, strides=stride, padding=padding, activation="relu")
    x = RNG.random((batch, 17, 15, 16), dtype=np.float32)
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    got = tf.function(ours)(tf.constant(x)).numpy()
    want = theirs(x).numpy()
    terms = 3 * 3 * 16 + 1
    abs_sum = tf.nn.conv2d(np.abs(x), np.abs(ours.kernel.numpy()), stride, padding.upper())
    bound = 2 * terms * np.finfo(np.float32).eps * (abs_sum.numpy() + np.abs(ours.bias))
    assert got.shape == want.shape and np.all(np.abs(got - want) <= bound)
    ops = {op.type for op in tf.function(ours).get_concrete_function(
        tf.TensorSpec(x.shape, tf.float32)).graph.get_operations()}  # fmt: skip
    on_cpu_with_onednn = onednn_enabled() and not tf.config.list_physical_devices("GPU")
    assert ("Conv3D" in ops) == (batch == 1 and bool(on_cpu_with_onednn))


def test_deep_supervision_scores_every_recursion_and_exports_the_output() -> None:
    """DRCN trains on α·mean(intermediate losses) + (1 - α)·(ensemble loss), α falling from 1
    to 0 over half the run; the trained weights load into the plain model in order."""
    options = {"recursions": 3}
    step = DistributedStep(make_strategy("one-device"), "drcn", 2, 2, learning_rate=1e-3,
                           model_options=options, optimization=Optimization("mse"))  # fmt: skip
    assert step.supervised and len(step._net.output["intermediate"]) == 3
    assert len(step.model.outputs) == 1
    plain = spec("drcn").build(2, options=options)
    plain.set_weights(step.model.get_weights())
    x = tf.constant(window("drcn", 8, 8, batch=2))
    np.testing.assert_allclose(plain(x), step.model(x), atol=1e-6)
    alphas = []
    for at in (0, 25, 50, 80):
        step.set_supervision(at, 100)
        alphas.append(float(step.supervision))
    assert alphas == [1.0, 0.5, 0.0, 0.0]
    hr = tf.image.resize(x[:, 0], (16, 16), method="bicubic")
    out = step._net(x, training=True)
    final, heads = out["output"], out["intermediate"]
    from vsrdata.vsr_models.layers import luma

    def mse(pred: object) -> float:  # a luma model's loss: on Y
        return float(tf.reduce_mean(tf.square(luma(pred) - luma(hr))))

    for alpha, expected in ((0.0, mse(final)), (1.0, np.mean([mse(h) for h in heads]))):
        step.supervision.assign(alpha)
        loss, _ = step._gradients(x, hr)
        assert float(loss) == pytest.approx(expected, rel=1e-4)


def test_warping_by_a_known_flow_undoes_a_translation() -> None:
    from vsrdata.vsr_models.layers import Warp

    image = RNG.random((1, 20, 24, 1), dtype=np.float32)
    shifted = np.roll(image, (1, -2), axis=(1, 2))  # content moved down 1, left 2
    flow = np.zeros((1, 20, 24, 2), np.float32)
    flow[..., 0], flow[..., 1] = -2.0, 1.0  # sample 2 to the left, 1 down: back in place
    back = Warp()(shifted, flow).numpy()
    np.testing.assert_allclose(back[:, 2:-2, 3:-3], image[:, 2:-2, 3:-3], atol=1e-6)
    half = Warp()(image, np.full((1, 20, 24, 2), 0.5, np.float32)).numpy()
    expected = (image[:, :-1, :-1] + image[:, 1:, :-1] + image[:, :-1, 1:] + image[:, 1:, 1:]) / 4
    np.testing.assert_allclose(half[:, :-1, :-1], expected, atol=1e-6)  # bilinear


def test_vespcn_motion_compensation_learns_a_known_translation() -> None:
    """Trained on its own loss alone (warp error + flow smoothness), the motion-compensation
    module of VESPCN finds the translation between two frames: the flow it predicts moves the
    neighbour back onto the reference."""
    from vsrdata.vsr_models.layers import MotionLoss
    from vsrdata.vsr_models.vespcn import BETA, LAMBDA, _MotionCompensation

    keras.utils.set_random_seed(0)  # the module's initial weights (4 seeds tried: u 1.99-2.03)
    rng = np.random.default_rng(7)
    smooth = tf.nn.avg_pool2d(rng.random((8, 40, 40, 1), dtype=np.float32), 5, 1, "SAME")
    reference = smooth[:, 4:36, 4:36]
    neighbour = tf.roll(smooth, shift=2, axis=2)[:, 4:36, 4:36]  # moved 2 px right
    ref_in, nb_in = keras.Input((None, None, 1)), keras.Input((None, None, 1))
    warped, flow = _MotionCompensation()(ref_in, nb_in)
    loss = MotionLoss(BETA, LAMBDA)(ref_in, warped, flow)
    model = keras.Model([ref_in, nb_in], [warped, flow, loss])
    optimizer = keras.optimizers.Adam(1e-2)  # at 3e-3 it stalls near u = 1 for 300 steps

    @tf.function
    def step() -> object:
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(model([reference, neighbour])[2])
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return value

    first = float(step())
    for _ in range(150):
        last = float(step())
    _, flow_out, _ = model([reference, neighbour])
    u, v = np.median(flow_out[:, 6:-6, 6:-6, 0]), np.median(flow_out[:, 6:-6, 6:-6, 1])
    assert last < 0.5 * first
    assert abs(u - 2.0) < 0.25 and abs(v) < 0.25, (u, v)  # sampling 2 px to the right
