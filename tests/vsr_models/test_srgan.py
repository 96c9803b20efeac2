"""SRGAN: the discriminator, the VGG19 feature loss from a local weights file, the
generator/discriminator step, its checkpoints and the CLI's refusal without VGG weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from tests.helpers import run_cli  # noqa: E402
from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.vsr_models.config import Optimization, TrainConfig  # noqa: E402
from vsrdata.vsr_models.distribute import DistributedStep, make_strategy  # noqa: E402
from vsrdata.vsr_models.losses import VGG_RESCALE, per_example_loss, vgg_features  # noqa: E402

LIGHT = {"blocks": 2}  # the generator's code with fewer blocks (its count: test_zoo.py)


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """VGG19 without its top, random weights, in the legacy Keras HDF5 layout of the
    ImageNet file users download (``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(5)
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path_factory.mktemp("vgg") / "vgg19_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg)
    return path


def test_the_discriminator_is_the_papers() -> None:
    from vsrdata.vsr_models.srgan import discriminator

    hr = keras.Input((96, 96, 3))
    model = keras.Model(hr, discriminator(hr))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.strides[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    # convolutions 1,792 + 36,928 + 73,856 + 147,584 + 295,168 + 590,080 + 1,180,160 +
    # 2,359,808; batch norm 3,712; dense 6·6·512·1024 + 1024 and 1024 + 1
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 4_685_376 + 3_712 + 18_875_392 + 1_025 == 23_565_505
    assert model.output.shape == (None, 1)


def test_the_vgg_loss_reads_the_weights_file_and_compares_rescaled_features(
    vgg_file: Path,
) -> None:
    net = vgg_features(vgg_file)
    import h5py

    with h5py.File(vgg_file) as f:  # the file's weights, not fresh ones
        np.testing.assert_array_equal(f["block5_conv4"]["block5_conv4/kernel"],
                                      net.get_layer("block5_conv4").kernel)  # fmt: skip
    assert net.output.shape[-1] == 512 and not net.trainable_weights
    loss = per_example_loss("vgg54", str(vgg_file))
    rng = np.random.default_rng(2)
    a, b = (rng.random((2, 32, 32, 3), dtype=np.float32) for _ in range(2))
    caffe = lambda x: x[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68])  # noqa: E731
    fa, fb = (net(caffe(x).astype(np.float32)).numpy() for x in (a, b))
    expected = ((fa - fb) ** 2).reshape(2, -1).mean(axis=1) * VGG_RESCALE**2
    np.testing.assert_allclose(loss(a, b), expected, rtol=1e-5)
    np.testing.assert_array_equal(loss(a, a), [0.0, 0.0])
    with pytest.raises(UsageError, match="--vgg-weights"):
        per_example_loss("vgg54")
    with pytest.raises(UsageError, match="are not VGG19 weights"):
        vgg_features(Path(__file__))


def gan_step(vgg_file: Path, loss: str = "vgg54") -> DistributedStep:
    return DistributedStep(make_strategy("one-device"), "srgan", 4, 2, 1e-3,
                           optimization=Optimization(loss, vgg_weights=str(vgg_file)),
                           model_options=LIGHT, hr_patch=32)  # fmt: skip


def values(variables: list[tf.Variable]) -> list[np.ndarray]:
    return [v.numpy().copy() for v in variables]


def test_each_step_updates_the_generator_and_the_discriminator(
    vgg_file: Path, tmp_path: Path
) -> None:
    keras.utils.set_random_seed(1)
    step = gan_step(vgg_file, "mse")  # SRGAN-MSE (vgg54 in the loop: the test below)
    g0, d0 = values(step.model.trainable_variables), values(step.discriminator.trainable_variables)
    rng = np.random.default_rng(3)
    lr = tf.constant(rng.random((2, 1, 8, 8, 3), dtype=np.float32))
    hr = tf.image.resize(lr[:, 0], (32, 32), method="bicubic")
    loss = float(step(lr, hr))
    for name, before, now in (
        ("generator", g0, step.model.trainable_variables),
        ("discriminator", d0, step.discriminator.trainable_variables),
    ):
        changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before, now, strict=True)]
        assert all(changed), f"{name}: {changed.count(False)} of {len(changed)} unchanged"
    terms = {k: float(v) for k, v in step.terms.items()}
    assert set(terms) == {"content", "adversarial", "discriminator", "d_real", "d_fake"}
    assert loss == pytest.approx(terms["content"] + 1e-3 * terms["adversarial"], rel=1e-5)
    for _ in range(5):  # the discriminator learns to tell the two apart
        step(lr, hr)
    assert float(step.terms["d_real"]) > 0.5 > float(step.terms["d_fake"])

    # the checkpoint holds both networks and both optimizers
    ckpt = tf.train.Checkpoint(step=step.step, **step.checkpointed())
    saved = ckpt.save(str(tmp_path / "ckpt"))
    again = gan_step(vgg_file, "mse")
    tf.train.Checkpoint(step=again.step, **again.checkpointed()).restore(
        saved
    ).assert_existing_objects_matched()
    for a, b in zip(step.discriminator.weights, again.discriminator.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(again.d_optimizer.iterations) == int(step.d_optimizer.iterations) == 6


def test_srgan_trains_on_a_dataset(built: Path, vgg_file: Path, tmp_path: Path) -> None:
    """The training loop's run: the adversary's network and optimizer are in its checkpoints
    (restoring them: the test above), the export is the generator."""
    from vsrdata.common.progress import Metrics
    from vsrdata.vsr_models.manifest import read_manifest
    from vsrdata.vsr_models.train import train

    cfg = TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "run"), model="srgan",
                                   model_options=LIGHT, steps=2, batch_size=2, patch=8,
                                   vgg_weights=str(vgg_file), val_samples=4, val_every=100,
                                   calibrate_batches=1, seed=4)  # fmt: skip
    seen: list[Metrics] = []
    result = train(cfg, lambda e: seen.append(e) if isinstance(e, Metrics) else None)
    assert result.steps == 2 and np.isfinite(result.loss)
    assert {"discriminator", "d_real", "d_fake"} <= set(seen[0].values)  # shown per step
    variables = [name for name, _ in tf.train.list_variables(str(tmp_path / "run" / "ckpt"))]
    assert any(v.startswith("discriminator/") for v in variables)
    assert any(v.startswith("d_optimizer/") for v in variables)
    manifest = read_manifest(tmp_path / "run" / "model.keras")
    assert manifest is not None and manifest["model"] == "srgan"
    assert manifest["options"] == LIGHT


def test_the_cli_refuses_srgan_without_vgg_weights(built: Path, tmp_path: Path) -> None:
    res = run_cli("train", str(built), "--out", str(tmp_path / "r"), "--model", "srgan",
                  "--steps", "1")  # fmt: skip
    assert res.returncode == 2, res.stderr[-2000:]
    assert "--vgg-weights PATH" in res.stderr and "--loss mse" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "r").exists()
    with pytest.raises(UsageError, match="works on luma"):
        TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "y"), model="espcn",
                                 steps=1, loss="vgg54", vgg_weights=__file__)  # fmt: skip
