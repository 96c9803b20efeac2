"""Reading a dataset: ``read`` gives a ``tf.data.Dataset``; ``iter_samples`` plain Python.

Both find shards through ``dataset.json`` (never by globbing) and accept either format; the
TFRecord and Parquet paths produce the same elements. The Parquet shards are ordinary
Parquet, so ``pyarrow.parquet.read_table``, ``pandas.read_parquet`` and Hugging Face
``datasets.load_dataset("parquet", data_dir=DIR + "/parquet")`` open them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import cv2
import numpy as np
import pyarrow.parquet as pq

from vsrdata.common.storage import cache_root, cached_shards, is_url
from vsrdata.errors import DatasetError, UsageError
from vsrdata.shards import tfrecord, wds
from vsrdata.shards.index import load_index
from vsrdata.shards.schema import FIELDS, IMAGE_FIELDS

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["EncodedRecords", "encoded_records", "iter_samples", "read", "shard_files"]

FORMAT_PREFERENCE = ("tfrecord", "parquet", "webdataset")  # TFRecord is native to tf.data


def shard_files(
    root: str | Path, split: str, format: str | None = None
) -> tuple[str, list[Path], dict[str, Any]]:
    """(format, shard paths, index) for one split, as listed in ``dataset.json``."""
    url = str(root) if is_url(root) else None
    index = load_index(root)
    root = cache_root(url) if url else Path(root)
    listed = [s for s in index["shards"] if s["split"] == split]
    formats = [f for f in FORMAT_PREFERENCE if any(s["format"] == f for s in listed)]
    if not listed:
        present = ", ".join(index["splits"]) or "none"
        raise DatasetError(f"{root} has no samples in split {split!r} (splits present: {present})")
    if format is None:
        format = formats[0]
    elif format not in formats:
        raise UsageError(
            f"{root} has no {format} shards for split {split!r}; available: {', '.join(formats)}"
        )
    if url:  # object storage: the shards read are fetched into (or found in) the cache
        cached_shards(url, [s for s in listed if s["format"] == format])
    paths = [root / s["path"] for s in listed if s["format"] == format]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"shards listed in dataset.json are missing: {', '.join(missing[:3])}")
    return format, paths, index


def _rows_parquet(path: Path) -> Iterator[dict[str, Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
        yield from batch.to_pylist()


def _rows_tfrecord(path: Path) -> Iterator[dict[str, Any]]:
    for record in tfrecord.iter_records(str(path)):
        yield tfrecord.decode_example(record)


def _rows(path: Path, format: str) -> Iterator[dict[str, Any]]:
    yield from READERS[format][0](path)


def decode_png(data: bytes) -> np.ndarray:
    """uint8 RGB H×W×3 from PNG bytes."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError("a sample holds an undecodable PNG; the shard is corrupt")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iter_samples(
    root: str | Path, split: str = "train", format: str | None = None, decode: bool = True
) -> Iterator[dict[str, Any]]:
    """Samples of a split as dicts of the schema, in shard order, without TensorFlow.

    With ``decode``, ``lr`` becomes a uint8 T×h×w×3 array and ``hr`` a uint8 H×W×3 array.
    """
    fmt, paths, _ = shard_files(root, split, format)
    for path in paths:
        for row in _rows(path, fmt):
            if decode:
                row["lr"] = np.stack([decode_png(b) for b in row["lr"]])
                row["hr"] = decode_png(row["hr"])
            yield row


# -- tf.data ----------------------------------------------------------------------------------


def _feature_spec(tf: Any, frames: int) -> dict[str, Any]:
    kinds = {"string": tf.string, "bytes": tf.string, "int32": tf.int64, "float32": tf.float32}
    spec = {}
    for f in FIELDS:
        if f.kind in kinds:
            spec[f.name] = tf.io.FixedLenFeature([], kinds[f.kind])
        elif f.kind == "bytes_list":
            spec[f.name] = tf.io.FixedLenFeature([frames], tf.string)
        else:
            spec[f.name] = tf.io.FixedLenFeature([f.length], tf.int64)
    return spec


def _generator_dataset(
    reader: Callable[[Path], Iterator[dict[str, Any]]],
) -> Callable[[Any, Any, int, dict[str, Any], bool], Any]:
    """The tf.data reader of a format read in Python (``reader``: one file's rows): files
    interleaved, each one's rows through ``from_generator``."""

    def dataset(tf: Any, files: Any, n_files: int, spec: dict[str, Any], det: bool) -> Any:
        signature = {name: tf.TensorSpec(shape=feat.shape, dtype=feat.dtype)
                     for name, feat in spec.items()}  # fmt: skip

        def rows(path: bytes) -> Iterator[dict[str, Any]]:
            yield from reader(Path(path.decode()))

        return files.interleave(
            tf.autograph.experimental.do_not_convert(
                lambda p: tf.data.Dataset.from_generator(
                    rows, output_signature=signature, args=(p,)
                )
            ),
            cycle_length=min(4, n_files),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=det,
        )

    return dataset


def _tfrecord_dataset(
    tf: Any, files: Any, n_files: int, spec: dict[str, Any], deterministic: bool
) -> Any:
    return files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(4, n_files),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    ).map(tf.autograph.experimental.do_not_convert(lambda r: tf.io.parse_single_example(r, spec)))


# The reading side of each shard format (the writing side: writer.FORMATS, same keys):
# rows of one file as schema dicts, without TensorFlow; and a tf.data dataset of parsed
# records from a dataset of file names.
READERS: dict[str, tuple[Any, Any]] = {
    "parquet": (_rows_parquet, _generator_dataset(_rows_parquet)),
    "tfrecord": (_rows_tfrecord, _tfrecord_dataset),
    "webdataset": (wds.iter_rows, _generator_dataset(wds.iter_rows)),
}


class EncodedRecords(NamedTuple):
    """Parsed, still PNG-encoded samples, and the function that decodes one."""

    records: Any  # tf.data.Dataset
    decode: Callable[..., Any]


def encoded_records(
    path: str | Path,
    split: str = "train",
    format: str | None = None,
    *,
    file_seed: Any = None,
    deterministic: bool = True,
    with_metadata: bool = False,
) -> EncodedRecords:
    """A dataset of parsed, still PNG-encoded samples, and the function that decodes one to
    ``(lr, hr)`` (or ``(lr, hr, metadata)``).

    Shuffling and skipping records before decoding is cheap; the training input does both.
    ``file_seed`` (a [2] int tensor) shuffles the order of the shard files, statelessly.
    """
    import tensorflow as tf

    fmt, paths, index = shard_files(path, split, format)
    build = index["build"]
    frames, scale, patch = int(build["frames"]), int(build["scale"]), int(build["patch"])
    spec = _feature_spec(tf, frames)
    names = tf.constant([str(p) for p in paths])
    if file_seed is not None:
        names = tf.random.experimental.stateless_shuffle(names, seed=file_seed)
    files = tf.data.Dataset.from_tensor_slices(names)
    ds = READERS[fmt][1](tf, files, len(paths), spec, deterministic)
    full = split == "test" or build.get("crop") == "full"
    lr_shape = [frames, None, None, 3] if full else [frames, patch, patch, 3]
    hr_shape = [None, None, 3] if full else [patch * scale, patch * scale, 3]

    def decode(features: dict[str, Any]) -> tuple[Any, ...]:
        lr = tf.stack([tf.io.decode_png(features["lr"][t], channels=3) for t in range(frames)])
        hr = tf.io.decode_png(features["hr"], channels=3)
        lr, hr = tf.ensure_shape(lr, lr_shape), tf.ensure_shape(hr, hr_shape)
        if not with_metadata:
            return lr, hr
        meta = {k: v for k, v in features.items() if k not in IMAGE_FIELDS}
        return lr, hr, meta

    return EncodedRecords(ds, tf.autograph.experimental.do_not_convert(decode))


def read(
    path: str | Path,
    split: str = "train",
    format: str | None = None,
    *,
    with_metadata: bool = False,
    deterministic: bool = True,
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of ``(lr, hr)``, or ``(lr, hr, metadata)`` with ``with_metadata``.

    Args:
        path: the dataset folder (holding ``dataset.json``).
        split: ``train``, ``val`` or ``test``.
        format: ``tfrecord`` or ``parquet``; None picks TFRecord when the split has it.
        with_metadata: add a dict of the schema's other fields (ints as int64).
        deterministic: keep shard order under parallel reads and decodes.

    Elements: ``lr`` uint8 [T, h, w, 3]; ``hr`` uint8 [h·s, w·s, 3]. Crop splits have static
    shapes (h = w = the LR patch); full-frame test samples have dynamic h, w. PNG decoding
    runs in parallel (``num_parallel_calls=AUTOTUNE``).
    """
    import tensorflow as tf

    ds, decode = encoded_records(
        path, split, format, deterministic=deterministic, with_metadata=with_metadata
    )
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
