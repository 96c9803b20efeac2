"""Training input: augmentation consistency, the Huber loss, dataset checks, batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.vsr_models.data import augment, check_dataset, training_data  # noqa: E402
from vsrdata.vsr_models.losses import huber  # noqa: E402


def block_mean(hr: np.ndarray, r: int) -> np.ndarray:
    h, w, c = hr.shape
    return hr.reshape(h // r, r, w // r, r, c).mean(axis=(1, 3))


def test_augmentations_keep_lr_and_hr_aligned() -> None:
    rng = np.random.default_rng(0)
    hr = rng.random((16, 16, 3))
    lr = np.stack([block_mean(hr, 4) + t for t in range(7)])  # frame t offset by t
    seen = set()
    for i in range(40):
        a_lr, a_hr = (v.numpy() for v in augment(lr, hr, tf.constant([i, 7], tf.int64)))
        np.testing.assert_allclose(a_lr[3] - 3, block_mean(a_hr, 4), atol=1e-12)
        order = tuple(np.round(a_lr[:, 0, 0, 0] - a_lr[3, 0, 0, 0]).astype(int))
        assert order in {(-3, -2, -1, 0, 1, 2, 3), (3, 2, 1, 0, -1, -2, -3)}
        seen.add((order[0], a_hr.tobytes()))
    assert len(seen) > 8  # flips, rotations and reversals all happen


def test_huber_is_the_duf_loss() -> None:
    y = tf.zeros((4,))
    e = tf.constant([0.005, -0.005, 0.03, -0.5])
    expected = np.mean(
        [0.5 * 0.005**2, 0.5 * 0.005**2, 0.01 * (0.03 - 0.005), 0.01 * (0.5 - 0.005)]
    )
    assert float(huber(y, e)) == pytest.approx(expected, rel=1e-5)


def test_dataset_must_match_the_model(built: Path) -> None:
    check_dataset(built, 4, 7)
    with pytest.raises(UsageError, match="built for x4 but the model upscales x2"):
        check_dataset(built, 2, 7)
    with pytest.raises(UsageError, match="windows of 7 frames but the model takes 5"):
        check_dataset(built, 4, 5)


def test_training_batches(built: Path) -> None:
    lr, hr = next(iter(training_data(built, "train", batch_size=3)))
    assert lr.shape == (3, 7, 16, 16, 3) and hr.shape == (3, 64, 64, 3)
    assert (
        lr.dtype == tf.float32
        and 0.0 <= float(tf.reduce_min(lr)) <= float(tf.reduce_max(lr)) <= 1.0
    )
    first = [b[0].numpy() for b in training_data(built, "train", 2, seed=5).take(3)]
    again = [b[0].numpy() for b in training_data(built, "train", 2, seed=5).take(3)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same batches
