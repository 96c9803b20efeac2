"""Continued and category-specific training: ``--init`` and ``--categories``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from vsrdata.common.progress import Event, Metrics  # noqa: E402
from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.shards.index import load_index  # noqa: E402
from vsrdata.shards.reader import read  # noqa: E402
from vsrdata.vsr_models.config import TrainConfig  # noqa: E402
from vsrdata.vsr_models.data import choose_categories, training_stream  # noqa: E402
from vsrdata.vsr_models.losses import huber_per_example  # noqa: E402
from vsrdata.vsr_models.manifest import read_manifest  # noqa: E402
from vsrdata.vsr_models.train import train  # noqa: E402

TINY = {"batch_size": 2, "patch": 8, "val_samples": 4, "val_every": 100, "calibrate_batches": 1}


def test_init_starts_from_the_given_weights(built: Path, tmp_path: Path) -> None:
    first = train(TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "a"),
                                           model="tiny-test", model_options={"width": 6},
                                           steps=3, seed=1, **TINY))  # fmt: skip
    initial = tmp_path / "a" / "model.keras"
    # the model, its options and the scale come from the file's manifest
    config = TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "b"),
                                      init=str(initial), steps=2, seed=7,
                                      categories=("pan",), **TINY)  # fmt: skip
    assert (config.model, config.model_options, config.scale) == ("tiny-test", {"width": 6}, 4)
    losses: list[float] = []

    def seen(event: Event) -> None:
        if isinstance(event, Metrics) and event.series == "train":
            losses.append(event.values["loss"])

    train(config, seen)
    # the first step's loss is the initial model's on the run's first batch (training mode:
    # the step's forward pass normalizes with the batch's statistics)
    from vsrdata.vsr_models.manifest import load_model

    lr, hr = next(iter(training_stream(built, 2, seed=7, patch=8, categories=("pan",))))
    expected = float(tf.reduce_mean(huber_per_example(hr, load_model(initial)(lr, training=True))))
    assert losses[0] == pytest.approx(expected, rel=1e-5)

    again = train(config)  # the same command again: the run is found complete, not refused
    assert (again.resumed_from, again.steps) == (2, 2)

    manifest = read_manifest(tmp_path / "b" / "model.keras")
    assert manifest is not None and manifest["categories"] == ["pan"]
    init = manifest["init"]
    assert init["path"] == str(initial) and init["model"] == "tiny-test"
    assert init["steps"] == first.steps == 3 and len(init["sha256"]) == 64

    with pytest.raises(UsageError, match=r"does not fit tiny-test .*width.*: weight 0 is"):
        train(TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "c"),
                                       init=str(initial), model="tiny-test",
                                       model_options={"width": 8}, steps=1, **TINY))  # fmt: skip


def fingerprints(images: list[np.ndarray]) -> list[int]:
    """Pixel sums: the same for a patch however it is flipped, rotated or transposed."""
    return sorted(int(np.round(np.sum(np.asarray(x, np.float64)))) for x in images)


def test_categories_keep_only_those_samples(built: Path) -> None:
    index = load_index(built)
    known = sorted(index["categories"])
    assert choose_categories(index, (), ()) is None  # every category: no filter
    assert choose_categories(index, (), (known[0],)) == tuple(known[1:])
    with pytest.raises(UsageError, match=f"no category 'sky'; it has {', '.join(known)}"):
        choose_categories(index, ("sky",))
    with pytest.raises(UsageError, match="leave no category"):
        choose_categories(index, (known[0],), (known[0],))

    chosen = (known[1], known[2])
    wanted = [hr.numpy() for _, hr, meta in read(built, "train", with_metadata=True)
              if meta["category"].numpy().decode() in chosen]  # fmt: skip
    # one epoch of the stream (no crop: whole stored patches, flipped and rotated at random)
    stream = training_stream(built, 1, seed=3, categories=chosen)
    epoch = [hr[0].numpy() * 255.0 for _, hr in stream.take(len(wanted))]
    counts = index["splits"]["train"]["categories"]
    assert len(wanted) == sum(counts[c]["samples"] for c in chosen) > 0
    assert fingerprints(epoch) == fingerprints(wanted)
