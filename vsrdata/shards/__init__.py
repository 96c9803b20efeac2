"""The dataset on disk: one schema for Parquet, TFRecord and WebDataset shards, size-cut
writers, readers (``read`` -> tf.data, ``iter_samples`` -> plain Python, ``torch_dataset`` ->
a PyTorch ``IterableDataset``) and the ``dataset.json`` index."""

from vsrdata.shards.index import load_index
from vsrdata.shards.reader import iter_samples, read
from vsrdata.shards.torch_data import torch_dataset

__all__ = ["iter_samples", "load_index", "read", "torch_dataset"]
