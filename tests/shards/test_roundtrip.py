"""Shards round-trip through both formats, tf.data, pyarrow, pandas and HF datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from vsrdata.preprocess import degrade
from vsrdata.preprocess.windows import encode_png
from vsrdata.shards import iter_samples, load_index, read
from vsrdata.shards.schema import FIELD_NAMES, FIELDS
from vsrdata.shards.tfrecord import decode_example, encode_example, iter_records
from vsrdata.shards.writer import FORMATS, ShardSet, sha256_file

RNG = np.random.default_rng(5)


def fake_sample(i: int, frames: int = 3) -> dict[str, Any]:
    lr = [RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(frames)]
    hr = RNG.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    return {
        "sample_id": f"clip{i}/0/{i}/0", "clip_id": f"clip{i}", "source": "folder",
        "category": "cat", "license": "", "split": "train", "scale": 4, "frames": frames,
        "shot": 0, "center": i, "crop": [0, 4, 16, 20], "motion": 1.25, "texture": -3.5,
        "degradation": "bd", "lr": [encode_png(x) for x in lr], "hr": encode_png(hr),
        "lr_shape": [4, 5, 3], "hr_shape": [16, 20, 3],
    }  # fmt: skip


def test_tfrecord_codec_round_trips_and_tensorflow_agrees(tmp_path: Path) -> None:
    import tensorflow as tf

    sample = fake_sample(7)
    sample["center"] = -2  # negative int64 varints
    data = encode_example(sample)
    assert decode_example(data) == sample
    parsed = tf.train.Example.FromString(data).features.feature
    assert set(parsed) == set(FIELD_NAMES)
    assert parsed["center"].int64_list.value == [-2]
    assert parsed["motion"].float_list.value == [1.25]
    assert list(parsed["lr"].bytes_list.value) == sample["lr"]
    assert parsed["license"].bytes_list.value == [b""]


def test_shard_set_cuts_by_size_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    samples = [fake_sample(i) for i in range(5)]
    one = sum(len(b) for b in samples[0]["lr"]) + len(samples[0]["hr"])
    for fmt in ("parquet", "tfrecord"):
        shards = ShardSet(tmp_path, fmt, "train", "train-00000", shard_size=2 * one)
        for s in samples:
            shards.write(s)
        infos = shards.close()
        assert [i.samples for i in infos] == [2, 2, 1]
        for info in infos:
            path = tmp_path / info.path
            assert path.stat().st_size == info.bytes and sha256_file(path) == info.sha256
        assert not list((tmp_path / fmt).rglob("*.tmp"))
    files = [tmp_path / f"tfrecord/train/train-00000-000{i}.tfrecord" for i in range(3)]
    back = [decode_example(r) for f in files for r in iter_records(str(f))]
    assert back == samples
    table = pq.read_table(tmp_path / "parquet" / "train")
    assert table.num_rows == 5 and table.column_names == list(FIELD_NAMES)


def test_dataset_index_lists_every_shard(built: Path) -> None:
    index = load_index(built)
    assert set(index["splits"]) == {"train", "val", "test"}
    assert index["features"] == {f.name: f.kind for f in FIELDS}
    assert index["build"]["scale"] == 4 and "workers" not in index["build"]
    for shard in index["shards"]:
        path = built / shard["path"]
        assert sha256_file(path) == shard["sha256"] and path.stat().st_size == shard["bytes"]
    on_disk = {p.relative_to(built).as_posix() for p in built.rglob("*.parquet")}
    on_disk |= {p.relative_to(built).as_posix() for p in built.rglob("*.tfrecord")}
    assert on_disk == {s["path"] for s in index["shards"]}
    for name, split in index["splits"].items():
        parquet = [s for s in index["shards"] if s["split"] == name and s["format"] == "parquet"]
        assert sum(s["samples"] for s in parquet) == split["samples"]
        assert sum(c["samples"] for c in split["categories"].values()) == split["samples"]


@pytest.mark.parametrize("split", ["train", "test"])
def test_tf_data_reads_both_formats_identically(built: Path, split: str) -> None:
    elements = {}
    for fmt in ("tfrecord", "parquet"):
        ds = read(built, split, fmt, with_metadata=True)
        elements[fmt] = [(lr.numpy(), hr.numpy(), m["sample_id"].numpy()) for lr, hr, m in ds]
    a, b = elements["tfrecord"], elements["parquet"]
    assert len(a) == len(b) == load_index(built)["splits"][split]["samples"]
    for (lr1, hr1, id1), (lr2, hr2, id2) in zip(a, b, strict=True):
        assert id1 == id2
        np.testing.assert_array_equal(lr1, lr2)
        np.testing.assert_array_equal(hr1, hr2)
    lr, hr, _ = a[0]
    assert lr.dtype == np.uint8 and lr.shape[0] == 7 and lr.shape[-1] == 3
    assert hr.shape[0] == lr.shape[1] * 4 and hr.shape[1] == lr.shape[2] * 4


def test_tf_data_train_pairs_batch_with_static_shapes(built: Path) -> None:
    ds = read(built, "train").batch(4)
    lr, hr = next(iter(ds))
    assert lr.shape == (4, 7, 16, 16, 3) and hr.shape == (4, 64, 64, 3)
    assert ds.element_spec[0].shape.as_list() == [None, 7, 16, 16, 3]


def test_test_split_lr_is_the_degraded_hr(built: Path) -> None:
    sample = next(iter_samples(built, "test"))
    np.testing.assert_array_equal(sample["lr"][3], degrade(sample["hr"], "bd", 4))
    assert sample["hr"].shape[0] % 4 == 0 and sample["hr"].shape[1] % 4 == 0


def test_parquet_opens_with_pyarrow_pandas_and_hf_datasets(built: Path) -> None:
    import datasets
    import pandas as pd

    index = load_index(built)
    n_train = index["splits"]["train"]["samples"]
    df = pd.read_parquet(built / "parquet" / "train")
    assert len(df) == n_train and list(df.columns) == list(FIELD_NAMES)
    assert pq.read_table(built / "parquet" / "train").num_rows == n_train
    hf = datasets.load_dataset("parquet", data_dir=str(built / "parquet"))
    assert hf["train"].num_rows == n_train
    assert hf["validation"].num_rows == index["splits"]["val"]["samples"]
    card = datasets.load_dataset(str(built))  # through the dataset card's configs
    assert card["test"].num_rows == index["splits"]["test"]["samples"]
    assert card["val"].num_rows == index["splits"]["val"]["samples"]
    row = hf["train"][0]
    assert isinstance(row["hr"], bytes) and len(row["lr"]) == 7
    # through the card, the declared features decode the PNGs: hr an image, lr a list of them
    build = index["build"]
    sample = card["train"][0]
    side = build["patch"] * build["scale"]
    assert sample["hr"].size == (side, side) and sample["hr"].mode == "RGB"
    assert [im.size for im in sample["lr"]] == [(build["patch"], build["patch"])] * 7
    assert len(sample["crop"]) == 4 and all(isinstance(v, int) for v in sample["crop"])


def test_reader_errors_are_clear(built: Path, tmp_path: Path) -> None:
    from vsrdata.errors import DatasetError

    with pytest.raises(DatasetError, match="not a vsrdata dataset"):
        list(iter_samples(tmp_path))
    with pytest.raises(DatasetError, match="no samples in split 'holdout'"):
        list(iter_samples(built, "holdout"))
    bad = tmp_path / "old"
    bad.mkdir()
    (bad / "dataset.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(DatasetError, match="schema version 99"):
        list(iter_samples(bad))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_writes_and_reads_back_the_same_samples(tmp_path: Path, fmt: str) -> None:
    """Registering a shard format (a writer in writer.FORMATS, a reader in reader.READERS)
    puts it under this test."""
    from vsrdata.shards.reader import READERS

    assert set(READERS) == set(FORMATS)
    samples = [fake_sample(i) for i in range(3)]
    shards = ShardSet(tmp_path, fmt, "train", "u", shard_size=10**9)
    for sample in samples:
        shards.write(sample)
    shards.close()
    (info,) = shards.finished
    rows = list(READERS[fmt][0](tmp_path / info.path))
    assert [r["sample_id"] for r in rows] == [s["sample_id"] for s in samples]
    for row, sample in zip(rows, samples, strict=True):
        assert row["hr"] == sample["hr"] and list(row["lr"]) == sample["lr"]
    with pytest.raises(ValueError, match="sample fields differ from the schema"):
        ShardSet(tmp_path, fmt, "val", "u", shard_size=10**9).write({"sample_id": "x"})
