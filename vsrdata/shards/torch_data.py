"""A dataset as a PyTorch ``IterableDataset``: ``vsrdata.shards.torch_dataset(path, split)``.

Each epoch's samples are split exactly once across every consumer: ``world_size`` ranks
(``torch.distributed`` when initialized, else the arguments) times the DataLoader's
``num_workers``. The global order is the shards of the split (in ``dataset.json`` order, or
permuted per epoch with ``shuffle``) with their rows in file order; consumer c of C reads the
contiguous block [c·n/C, (c+1)·n/C) of it, so it opens only the shards its block touches. A
shuffle buffer then mixes each consumer's samples (seeded by seed, epoch, consumer).

Training samples are augmented as the TensorFlow input augments them
(:mod:`vsrdata.shards.augment`: aligned random crop to ``patch``, dihedral transform,
temporal reversal; exact for ``bd``), seeded per sample by (seed, epoch, the sample's place
in the dataset), so a sample gets the same augmentation whichever worker or rank reads it.

Elements: ``(lr, hr)``: ``lr`` float32 [T, 3, h, w] and ``hr`` float32 [3, H, W] in [0, 1]
(uint8 with ``uint8=True``). PyTorch is an optional dependency: ``pip install torch``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.errors import UsageError
from vsrdata.shards.augment import CORNER_ALIGNED, augment, draws_for
from vsrdata.shards.reader import _rows, decode_png, shard_files

Sample = tuple[np.ndarray, np.ndarray, str]  # lr [T,h,w,3], hr [H,W,3] uint8, sample_id


def plan(counts: list[int], consumers: int, consumer: int,
         order: list[int] | None = None) -> list[tuple[int, int, int]]:  # fmt: skip
    """(shard, first row, end row) ranges of consumer ``consumer`` of ``consumers``, for shards
    of ``counts`` rows taken in ``order``: a contiguous block of the concatenated rows."""
    order = list(range(len(counts))) if order is None else order
    total = sum(counts)
    begin, end = consumer * total // consumers, (consumer + 1) * total // consumers
    ranges, offset = [], 0
    for shard in order:
        lo, hi = max(begin, offset), min(end, offset + counts[shard])
        if lo < hi:
            ranges.append((shard, lo - offset, hi - offset))
        offset += counts[shard]
    return ranges


def iter_consumer(path: str | Path, split: str = "train", *, consumer: int = 0,
                  consumers: int = 1, epoch: int = 0, seed: int = 0, shuffle: bool = True,
                  augmented: bool = True, patch: int | None = None, shuffle_buffer: int = 256,
                  format: str | None = None) -> Iterator[Sample]:  # fmt: skip
    """One consumer's samples of one epoch as numpy ``(lr [T,h,w,3], hr [H,W,3], sample_id)``
    uint8 (the framework-free core of :func:`torch_dataset`)."""
    fmt, paths, index = shard_files(path, split, format)
    build = index["build"]
    listed = [s for s in index["shards"] if s["split"] == split and s["format"] == fmt]
    counts = [int(s["samples"]) for s in listed]
    starts = np.concatenate([[0], np.cumsum(counts)])  # a sample's place in the split
    order = list(range(len(paths)))
    if shuffle:
        order = [int(i) for i in np.random.default_rng((seed, epoch)).permutation(len(paths))]
    scale, corner = int(build["scale"]), build.get("degradation") in CORNER_ALIGNED
    train = augmented and split == "train"
    if train and patch is not None and patch > int(build["patch"]):
        raise UsageError(f"patch {patch} is larger than the dataset's {build['patch']}")

    def samples() -> Iterator[Sample]:
        for shard, lo, hi in plan(counts, consumers, consumer, order):
            rows = itertools.islice(_rows(paths[shard], fmt), lo, hi)
            for i, row in enumerate(rows, start=int(starts[shard]) + lo):
                lr = np.stack([decode_png(b) for b in row["lr"]])
                hr = decode_png(row["hr"])
                if train:
                    lr, hr = augment(lr, hr, draws_for(seed, epoch, i), scale, patch, corner)
                yield lr, hr, str(row["sample_id"])

    if not shuffle or shuffle_buffer <= 1:
        yield from samples()
        return
    rng = np.random.default_rng((seed, epoch, consumer, 1))
    buffer: list[Sample] = []
    for sample in samples():
        buffer.append(sample)
        if len(buffer) >= shuffle_buffer:
            yield buffer.pop(int(rng.integers(len(buffer))))
    while buffer:
        yield buffer.pop(int(rng.integers(len(buffer))))


def torch_dataset(path: str | Path, split: str = "train", *, patch: int | None = None,
                  augment: bool = True, shuffle: bool | None = None, seed: int = 0,
                  uint8: bool = False, rank: int | None = None, world_size: int | None = None,
                  shuffle_buffer: int = 256, format: str | None = None,
                  with_id: bool = False) -> Any:  # fmt: skip
    """A ``torch.utils.data.IterableDataset`` of ``(lr [T,3,h,w], hr [3,H,W])`` (and the
    ``sample_id`` with ``with_id``); call its ``set_epoch(e)`` before each epoch (as with
    ``DistributedSampler``). ``shuffle`` defaults to True for ``train``; ``augment`` applies
    to ``train`` only."""
    try:
        import torch
        from torch.utils.data import IterableDataset, get_worker_info
    except ImportError:
        raise UsageError("torch_dataset needs PyTorch: pip install torch") from None
    shard_files(path, split, format)  # a missing split or dataset fails here, not in a worker

    class VsrIterable(IterableDataset):
        def __init__(self) -> None:
            self.epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def _rank(self) -> tuple[int, int]:
            if rank is not None or world_size is not None:
                return rank or 0, world_size or 1
            dist = torch.distributed
            if dist.is_available() and dist.is_initialized():
                return dist.get_rank(), dist.get_world_size()
            return 0, 1

        def __iter__(self) -> Iterator[tuple[Any, ...]]:
            r, world = self._rank()
            info = get_worker_info()
            workers, worker = (info.num_workers, info.id) if info else (1, 0)
            stream = iter_consumer(
                path, split, consumer=r * workers + worker, consumers=world * workers,
                epoch=self.epoch, seed=seed, shuffle=split == "train" if shuffle is None
                else shuffle, augmented=augment, patch=patch, shuffle_buffer=shuffle_buffer,
                format=format,
            )  # fmt: skip
            for lr, hr, sample_id in stream:
                lr_t = torch.from_numpy(lr).permute(0, 3, 1, 2)
                hr_t = torch.from_numpy(hr).permute(2, 0, 1)
                if not uint8:
                    lr_t, hr_t = lr_t.float().div_(255.0), hr_t.float().div_(255.0)
                pair = (lr_t.contiguous(), hr_t.contiguous())
                yield (*pair, sample_id) if with_id else pair

    return VsrIterable()
