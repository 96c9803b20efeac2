"""Size-cut shard writers for Parquet, TFRecord and WebDataset.

A :class:`ShardSet` writes one split's samples of one work unit to a sequence of shards
``<prefix>-0000.<ext>``, ``<prefix>-0001.<ext>``, ..., starting a new shard once the current
one holds ``shard_size`` bytes of image data. Each shard is written to ``<name>.tmp`` and
renamed into place only when complete, so a killed build never leaves a partial shard under
a final name. Closing returns a :class:`ShardInfo` (samples, bytes, sha256) per shard.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from vsrdata.common.files import sha256_file
from vsrdata.shards import tfrecord, wds
from vsrdata.shards.schema import (
    FIELD_NAMES,
    IMAGE_FIELDS,
    arrow_schema,
    check_sample,
    sample_payload_bytes,
)

__all__ = ["FORMATS", "ShardInfo", "ShardSet"]

# Parquet row groups close at this many bytes of images or rows, whichever comes first: small
# enough for random access to samples and for a writer's memory not to grow with a long clip.
ROW_GROUP_BYTES = 8 * 1024 * 1024
ROW_GROUP_ROWS = 128


@dataclass(frozen=True)
class ShardInfo:
    """One finished shard, as listed in ``dataset.json``; ``path`` is relative to the dataset."""

    path: str
    format: str
    split: str
    samples: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Shard(ABC):
    """One shard file being written (to its temporary name)."""

    extension: str

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.samples = 0

    @abstractmethod
    def write(self, sample: dict[str, Any]) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


@functools.cache
def _load_conversion() -> None:
    """Run pyarrow's Python-to-Arrow conversion once, up front.

    Its first use imports optional modules (pandas, if installed: about 50 MB). Doing it
    before any frame is held keeps a build's peak memory independent of when the first row
    group happens to be written.
    """
    pa.array([b""])


class ParquetShard(Shard):
    """Parquet: images plain and uncompressed (PNG already is), other columns snappy."""

    extension = "parquet"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        _load_conversion()
        schema = arrow_schema()
        codecs = {name: ("NONE" if name in IMAGE_FIELDS else "SNAPPY") for name in FIELD_NAMES}
        plain = [name for name in FIELD_NAMES if name not in IMAGE_FIELDS]
        self._writer = pq.ParquetWriter(
            str(tmp_path),
            schema,
            compression=codecs,
            write_statistics=plain,
            use_dictionary=plain,  # hashing every PNG for a dictionary costs time and memory
        )
        self._schema = schema
        self._rows: list[dict[str, Any]] = []
        self._row_bytes = 0

    def write(self, sample: dict[str, Any]) -> None:
        self._rows.append(sample)
        self._row_bytes += sample_payload_bytes(sample)
        self.samples += 1
        if self._row_bytes >= ROW_GROUP_BYTES or len(self._rows) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows, self._row_bytes = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


class TFRecordShard(Shard):
    """TFRecord of ``tf.train.Example`` (uncompressed: PNG payloads do not compress)."""

    extension = "tfrecord"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._fh: BinaryIO = open(tmp_path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, sample: dict[str, Any]) -> None:
        tfrecord.write_record(self._fh, tfrecord.encode_example(sample))
        self.samples += 1

    def close(self) -> None:
        self._fh.close()


class WebDatasetShard(Shard):
    """WebDataset: a tar of ``<key>.lr.NN.png``, ``<key>.hr.png`` and ``<key>.json`` per
    sample (:mod:`vsrdata.shards.wds`)."""

    extension = wds.EXTENSION

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._fh: BinaryIO = open(tmp_path, "wb")  # noqa: SIM115 - closed in close()
        self._tar = wds.open_writer(self._fh)

    def write(self, sample: dict[str, Any]) -> None:
        wds.write_sample(self._tar, sample)
        self.samples += 1

    def close(self) -> None:
        self._tar.close()
        self._fh.close()


FORMATS: dict[str, type[Shard]] = {"parquet": ParquetShard, "tfrecord": TFRecordShard,
                                   "webdataset": WebDatasetShard}  # fmt: skip


class ShardSet:
    """Shards of one format for one split of one work unit, cut by size.

    Args:
        root: the dataset folder; shards go to ``root/<format>/<split>/<prefix>-NNNN.<ext>``.
        fmt: a key of :data:`FORMATS`.
        split: the split every sample belongs to.
        prefix: the file name stem shared by this set's shards (the work unit's name).
        shard_size: image bytes after which the next sample opens a new shard.
    """

    def __init__(self, root: Path, fmt: str, split: str, prefix: str, shard_size: int) -> None:
        self.root, self.fmt, self.split = root, fmt, split
        self.prefix, self.shard_size = prefix, shard_size
        self.folder = root / fmt / split
        self._shard: Shard | None = None
        self._bytes = 0
        self.finished: list[ShardInfo] = []

    def _final_path(self, part: int) -> Path:
        return self.folder / f"{self.prefix}-{part:04d}.{FORMATS[self.fmt].extension}"

    def write(self, sample: dict[str, Any]) -> None:
        check_sample(sample)  # every format gets exactly the schema's fields
        if self._shard is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._final_path(len(self.finished)).with_suffix(".tmp")
            self._shard = FORMATS[self.fmt](tmp)
        self._shard.write(sample)
        self._bytes += sample_payload_bytes(sample)
        if self._bytes >= self.shard_size:
            self._finish_shard()

    def _finish_shard(self) -> None:
        shard, self._shard, self._bytes = self._shard, None, 0
        if shard is None:
            return
        shard.close()
        final = self._final_path(len(self.finished))
        os.replace(shard.tmp_path, final)
        self.finished.append(
            ShardInfo(
                path=final.relative_to(self.root).as_posix(),
                format=self.fmt,
                split=self.split,
                samples=shard.samples,
                bytes=final.stat().st_size,
                sha256=sha256_file(final),
            )
        )

    def close(self) -> list[ShardInfo]:
        self._finish_shard()
        return self.finished

    def abort(self) -> None:
        """Drop the shard being written (its temporary file)."""
        if self._shard is not None:
            self._shard.close()
            self._shard.tmp_path.unlink(missing_ok=True)
            self._shard = None
