"""The dataset on disk: one schema for Parquet and TFRecord shards, size-cut writers,
readers (``read`` -> tf.data, ``iter_samples`` -> plain Python) and the ``dataset.json`` index."""

from vsrdata.shards.index import load_index
from vsrdata.shards.reader import iter_samples, read

__all__ = ["iter_samples", "load_index", "read"]
