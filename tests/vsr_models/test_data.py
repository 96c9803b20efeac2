"""Training input: augmentation consistency, the Huber loss, dataset checks, batches."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.shards.index import load_index  # noqa: E402
from vsrdata.vsr_models.data import (  # noqa: E402
    check_dataset,
    crop_and_augment,
    eval_data,
    split_samples,
    training_stream,
)
from vsrdata.vsr_models.losses import huber  # noqa: E402


def block_mean(hr: np.ndarray, r: int) -> np.ndarray:
    h, w, c = hr.shape
    return hr.reshape(h // r, r, w // r, r, c).mean(axis=(1, 3))


def corner_sample(hr: np.ndarray, r: int) -> np.ndarray:
    return hr[::r, ::r]  # LR pixel i is HR pixel i·r (the bd grid, without the blur)


@pytest.mark.parametrize(
    ("corner", "lr_of", "patch"),
    [(False, block_mean, None), (False, block_mean, 3), (True, corner_sample, 3),
     (True, corner_sample, None)],
)  # fmt: skip
def test_augmentations_keep_lr_and_hr_aligned(corner: bool, lr_of: Any, patch: int | None) -> None:
    """Every transform keeps LR = degrade(HR) exactly, for centred and corner-sampled grids."""
    rng = np.random.default_rng(0)
    hr = rng.random((20, 20, 3))
    lr = np.stack([lr_of(hr, 4) + t for t in range(7)])  # frame t offset by t
    seen = set()
    for i in range(60):
        seed = tf.constant([i, 7], tf.int64)
        a_lr, a_hr = (np.asarray(v) for v in crop_and_augment(lr, hr, seed, 4, patch, corner))
        assert a_lr.shape == (7, patch or 5, patch or 5, 3) and a_hr.shape[0] == 4 * (patch or 5)
        np.testing.assert_allclose(a_lr[3] - 3, lr_of(a_hr, 4), atol=1e-12)
        order = tuple(np.round(a_lr[:, 0, 0, 0] - a_lr[3, 0, 0, 0]).astype(int))
        assert order in {(-3, -2, -1, 0, 1, 2, 3), (3, 2, 1, 0, -1, -2, -3)}
        seen.add((order[0], a_hr.tobytes()))
    # flips, transposes, crops and reversals all happen; corner grids without room for
    # the shift are only transposed (2 × 2 variants)
    assert len(seen) == 4 if corner and patch is None else len(seen) > 12


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
    check_dataset(built, 4, 3)  # a model of fewer frames reads the centre ones
    with pytest.raises(UsageError, match="windows of 7 frames but the model takes 9"):
        check_dataset(built, 4, 9)
    lr, _ = next(iter(training_stream(built, batch_size=2, frames=3)))
    full, _ = next(iter(training_stream(built, batch_size=2)))
    assert lr.shape[1] == 3
    np.testing.assert_array_equal(lr[:, 1], full[:, 3])  # the same centre frame and crop


def test_training_batches(built: Path) -> None:
    lr, hr = next(iter(training_stream(built, batch_size=3)))
    assert lr.shape == (3, 7, 16, 16, 3) and hr.shape == (3, 64, 64, 3)
    assert (
        lr.dtype == tf.float32
        and 0.0 <= float(tf.reduce_min(lr)) <= float(tf.reduce_max(lr)) <= 1.0
    )


@pytest.mark.parametrize("fmt", ["tfrecord", "parquet"])
def test_stream_resumes_exactly_where_it_stopped(built: Path, fmt: str) -> None:
    """Starting at sample k gives the tail of the stream from 0, across epoch boundaries."""
    n = split_samples(load_index(built), "train")
    batches = (n + 5) // 2 + 2  # runs into the second epoch
    whole = [b[0].numpy() for b in training_stream(built, 2, seed=5, format=fmt).take(batches)]
    again = [b[0].numpy() for b in training_stream(built, 2, seed=5, format=fmt).take(3)]
    for a, b in zip(whole, again, strict=False):
        np.testing.assert_array_equal(a, b)  # same seed, same batches
    k = batches - 4
    tail = [
        b[0].numpy()
        for b in training_stream(built, 2, seed=5, start=2 * k, format=fmt).take(batches - k)
    ]
    for a, b in zip(whole[k:], tail, strict=True):
        np.testing.assert_array_equal(a, b)
    other = next(iter(training_stream(built, 2, seed=6, format=fmt)))[0].numpy()
    assert not np.array_equal(other, whole[0])


def test_epochs_visit_every_sample_once(built: Path) -> None:
    n = split_samples(load_index(built), "train")
    ds = training_stream(built, 1, seed=3).unbatch().take(2 * n)
    hr = [x[1].numpy() for x in ds]
    # augmentation changes pixels, not their multiset: compare sorted pixel sums per epoch
    sums = [sorted(int(np.rint(h * 255).sum()) for h in hr[e * n : (e + 1) * n]) for e in (0, 1)]
    assert sums[0] == sums[1] and len(set(sums[0])) > 1


def test_patch_larger_than_the_crops_is_refused(built: Path) -> None:
    with pytest.raises(UsageError, match="larger than the dataset's 16×16"):
        training_stream(built, 2, patch=32)


def test_eval_data_in_dataset_order(built: Path) -> None:
    a = [b[1].numpy() for b in eval_data(built, "val", 4, limit=6)]
    b = [b[1].numpy() for b in eval_data(built, "val", 4, limit=6)]
    assert sum(len(x) for x in a) == 6
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_training_run_reads_dataset_json_once(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks, the input pipeline, validation and the manifest's fingerprint share one
    read of the index; a rewritten index is read again."""
    import shutil

    from vsrdata.shards.index import index_sha256
    from vsrdata.vsr_models.validation import Validator

    dataset = tmp_path / "ds"
    shutil.copytree(built, dataset)
    reads: list[Path] = []
    read_bytes = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self.name == "dataset.json":
            reads.append(self)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    index = check_dataset(dataset, 4, 7)
    next(iter(training_stream(dataset, 2, seed=0, patch=8)))
    Validator(dataset, 4, limit=2)
    digest = index_sha256(dataset)
    assert len(reads) == 1 and load_index(dataset) is index
    assert digest == hashlib.sha256((dataset / "dataset.json").read_bytes()).hexdigest()
    (dataset / "dataset.json").write_text(json.dumps({**index, "note": "rebuilt"}))
    assert load_index(dataset)["note"] == "rebuilt" and index_sha256(dataset) != digest
