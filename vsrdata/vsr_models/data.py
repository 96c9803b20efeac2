"""Training input: dataset shards -> augmented float batches, checked against the model.

Augmentations (applied identically to the LR window and its HR target, keeping them
aligned to the pixel for both degradations): random crops, the 8 rotations and reflections,
and temporal reversal of the window (the centre frame, and so the target, stays). Values
become float32 in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf

from vsrdata.common.images import centre_frames
from vsrdata.errors import UsageError
from vsrdata.shards.augment import CORNER_ALIGNED
from vsrdata.shards.index import load_index
from vsrdata.shards.reader import encoded_records, read


def check_dataset(path: str | Path, scale: int, frames: int) -> dict[str, Any]:
    """The dataset's index, after checking it was built for this scale and for windows of at
    least ``frames`` (a model taking fewer frames reads the centre ones)."""
    index = load_index(path)
    build = index["build"]
    if int(build["scale"]) != scale:
        raise UsageError(
            f"{path} was built for x{build['scale']} but the model upscales x{scale}; "
            f"use --scale {build['scale']} or rebuild the dataset with --scale {scale}"
        )
    if int(build["frames"]) < frames:
        raise UsageError(
            f"{path} has windows of {build['frames']} frames but the model takes {frames}; "
            f"rebuild the dataset with --frames {frames}"
        )
    if build.get("crop") == "full":
        raise UsageError(
            f"{path} holds full frames (--crop full): training needs crops of one size; "
            "rebuild with --crop motion or --crop center"
        )
    return index


# Degradations whose LR pixel i samples HR pixel i·s (top-left aligned), not the centre of
# HR pixels i·s .. i·s + s - 1: mirroring the pair moves the sampling grid by s - 1 HR pixels


def crop_and_augment(
    lr: Any, hr: Any, seed: Any, scale: int, patch: int | None = None, corner: bool = False
) -> tuple[Any, Any]:
    """An aligned random crop and a random dihedral transform and temporal reversal.

    ``lr`` [T, P, P, C], ``hr`` [P·s, P·s, C] (any dtype); a [2]-int ``seed`` (stateless).
    Returns a ``patch``×``patch`` LR crop (all of it when None) and its HR target, both
    transposed, flipped vertically and horizontally at random (the 8 rotations and
    reflections), the window reversed in time at random (the centre frame stays).

    ``corner``: the LR grid samples HR pixels 0, s, 2s... (``bd``). Mirroring an axis then
    maps LR pixel j to HR pixel j·s + s - 1, so the HR window of a mirrored axis is taken
    s - 1 pixels earlier, which keeps the target exactly aligned; that needs one LR pixel
    of room around the crop, and without it (patch = P) that axis is never mirrored.
    Centred degradations (``bi``, MATLAB imresize) are symmetric and need no shift.
    """
    draws = tf.random.stateless_uniform([6], seed=seed, maxval=2**30, dtype=tf.int32)
    return augment_with_draws(lr, hr, draws, scale, patch, corner)


def augment_with_draws(
    lr: Any, hr: Any, draws: Any, scale: int, patch: int | None = None, corner: bool = False
) -> tuple[Any, Any]:
    """:func:`crop_and_augment` given its six random integers (``draws`` [6] int32):
    flips of rows and columns, the crop's row and column offsets, the transpose and the
    reversal in time. :func:`vsrdata.shards.augment.augment` is the same in numpy."""
    stored = lr.shape[1]
    patch = stored if patch is None else patch
    can_mirror = not corner or patch < stored
    flips = [draws[i] % 2 == 1 if can_mirror else tf.constant(False) for i in (0, 1)]
    window = []
    for axis, flip in enumerate(flips):  # 0: rows (y), 1: columns (x)
        low = tf.cast(flip, tf.int32) if corner else 0  # leave room for the shift
        start = low + draws[2 + axis] % (stored - patch + 1 - low)
        shift = (scale - 1) * tf.cast(flip, tf.int32) if corner else 0
        window.append((start, start * scale - shift))
    (y, hy), (x, hx) = window
    lr = lr[:, y : y + patch, x : x + patch]
    hr = hr[hy : hy + patch * scale, hx : hx + patch * scale]
    for axis, flip in enumerate(flips):
        lr = tf.cond(flip, lambda a=axis, v=lr: tf.reverse(v, [a + 1]), lambda v=lr: v)
        hr = tf.cond(flip, lambda a=axis, v=hr: tf.reverse(v, [a]), lambda v=hr: v)
    swap = draws[4] % 2 == 1
    lr = tf.cond(swap, lambda: tf.transpose(lr, [0, 2, 1, 3]), lambda: lr)
    hr = tf.cond(swap, lambda: tf.transpose(hr, [1, 0, 2]), lambda: hr)
    lr = tf.cond(draws[5] % 2 == 1, lambda: tf.reverse(lr, [0]), lambda: lr)
    return lr, hr


def _plain(fn: Any) -> Any:
    """``fn`` traced as written: these input functions branch with ``tf.cond`` only, so
    autograph's source rewriting would cost seconds of start-up for nothing."""
    return tf.autograph.experimental.do_not_convert(fn)


def _to_float(lr: Any, hr: Any) -> tuple[Any, Any]:
    return tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0


def block_shuffle(ds: tf.data.Dataset, size: int, seed: Any) -> tf.data.Dataset:
    """Shuffle within consecutive blocks of ``size`` elements, statelessly from a [2] seed.

    ``Dataset.shuffle`` takes only Python seeds, which a per-epoch seed inside ``flat_map``
    is not; a block permutation mixes as far as a shuffle buffer of the same size does.
    """

    def permute(i: Any, block: Any) -> tf.data.Dataset:
        n = tf.shape(tf.nest.flatten(block)[0])[0]
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.random.experimental.stateless_fold_in(seed, i)
        )
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda x: tf.gather(x, order), block)
        )

    return ds.batch(size).enumerate().flat_map(_plain(permute))


def split_samples(
    index: dict[str, Any], split: str, categories: tuple[str, ...] | None = None
) -> int:
    """Samples of ``split`` in a dataset index (0 when absent), of ``categories`` only
    (None: all)."""
    part = index["splits"].get(split, {})
    if categories is None:
        return int(part.get("samples", 0))
    counts = part.get("categories", {})
    return sum(int(counts.get(c, {}).get("samples", 0)) for c in categories)


def choose_categories(
    index: dict[str, Any], include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> tuple[str, ...] | None:
    """The categories a run reads: ``include`` (every one when empty) less ``exclude``,
    sorted; None when that is every category of the dataset (no filtering). A name the
    dataset does not have is an error that lists the ones it has."""
    if not include and not exclude:
        return None
    known = sorted(index.get("categories", {}))
    for name in (*include, *exclude):
        if name not in known:
            raise UsageError(f"the dataset has no category {name!r}; it has "
                             f"{', '.join(known) or 'none'}")  # fmt: skip
    chosen = [c for c in (sorted(set(include)) or known) if c not in set(exclude)]
    if not chosen:
        raise UsageError("--categories and --exclude-categories leave no category to train on")
    return None if chosen == known else tuple(chosen)


def _of_categories(categories: tuple[str, ...] | None) -> Any:
    """A predicate on parsed records: its category is one of ``categories``."""
    names = tf.constant(list(categories or ()), tf.string)
    return _plain(lambda rec, *_: tf.reduce_any(tf.equal(rec["category"], names)))


def training_stream(
    path: str | Path,
    batch_size: int,
    *,
    seed: int = 0,
    start: int = 0,
    patch: int | None = None,
    format: str | None = None,
    shuffle_buffer: int = 1024,
    split: str = "train",
    frames: int | None = None,
    categories: tuple[str, ...] | None = None,
) -> tf.data.Dataset:
    """Endless shuffled, augmented batches of (lr [B, T, p, p, 3], hr [B, p·s, p·s, 3]),
    T the centre ``frames`` of the dataset's windows (all of them when None), of the samples
    of ``categories`` (all when None: see :func:`choose_categories`).

    The order is a pure function of ``seed`` and the position: epoch ``e`` shuffles the shard
    files and the records with seeds derived from (seed, e), and sample ``k`` of the run is
    augmented (and cropped to ``patch``) with the stateless seed (seed, k). So the stream that
    starts at sample ``start`` — a resumed run's step × global batch — is exactly the tail of
    the stream from 0, and resuming skips at most one epoch of *undecoded* records.
    """
    index = load_index(path)
    n = split_samples(index, split, categories)
    if n == 0:
        which = f" of {', '.join(categories)}" if categories else ""
        raise UsageError(f"{path} has no {split} samples{which} to train on")
    build = index["build"]
    scale, stored = int(build["scale"]), int(build["patch"])
    if patch is not None and patch > stored:
        raise UsageError(
            f"--patch {patch} is larger than the dataset's {stored}×{stored} LR crops; "
            f"use --patch {stored} or less, or rebuild with --patch {patch}"
        )
    first_epoch, offset = divmod(start, n)

    def epoch(e: Any) -> tf.data.Dataset:
        epoch_seed = tf.stack([tf.constant(seed, tf.int64), e])
        records, decode = encoded_records(path, split, format, file_seed=epoch_seed)
        if categories is not None:  # before shuffling: positions count the chosen samples
            records = records.filter(_of_categories(categories))
        records = block_shuffle(records, shuffle_buffer, epoch_seed)
        skip = tf.where(e == first_epoch, tf.constant(offset, tf.int64), tf.constant(0, tf.int64))
        position = tf.data.Dataset.range(e * n + skip, (e + 1) * n)
        return tf.data.Dataset.zip(records.skip(skip), position).map(
            _plain(lambda rec, k: (*decode(rec), k)), num_parallel_calls=tf.data.AUTOTUNE
        )

    corner = build.get("degradation") in CORNER_ALIGNED

    def transform(lr: Any, hr: Any, k: Any) -> tuple[Any, Any]:
        key = tf.stack([tf.constant(seed, tf.int64), k])
        lr = centre_frames(lr, frames)
        return _to_float(*crop_and_augment(lr, hr, key, scale, patch, corner))

    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(_plain(epoch))
    ds = ds.map(_plain(transform), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def eval_data(
    path: str | Path,
    split: str,
    batch_size: int,
    limit: int | None = None,
    format: str | None = None,
    frames: int | None = None,
    categories: tuple[str, ...] | None = None,
) -> tf.data.Dataset:
    """Batches of (lr, hr) float32 in [0, 1] in dataset order, the first ``limit`` samples
    (of ``categories`` only, unless None); lr holds the centre ``frames`` of each window (all
    when None)."""
    if categories is None:
        ds = read(path, split, format)
    else:  # filtered before decoding, as the training input does
        records, decode = encoded_records(path, split, format)
        ds = records.filter(_of_categories(categories)).map(decode)
    if limit is not None:
        ds = ds.take(limit)
    ds = ds.map(_plain(lambda lr, hr: _to_float(centre_frames(lr, frames), hr)))
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
