"""Training input: dataset shards -> augmented float batches, checked against the model.

Augmentations (applied identically to the LR window and its HR target): horizontal and
vertical flips, rotation by a multiple of 90°, and temporal reversal of the window (the
centre frame, and so the target, stays). Values become float32 in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf

from vsrdata.errors import UsageError
from vsrdata.shards.info import load_index
from vsrdata.shards.reader import read


def check_dataset(path: str | Path, scale: int, frames: int) -> dict[str, Any]:
    """The dataset's index, after checking it was built for this scale and window length."""
    index = load_index(path)
    build = index["build"]
    if int(build["scale"]) != scale:
        raise UsageError(
            f"{path} was built for x{build['scale']} but the model upscales x{scale}; "
            f"use --scale {build['scale']} or rebuild the dataset with --scale {scale}"
        )
    if int(build["frames"]) != frames:
        raise UsageError(
            f"{path} has windows of {build['frames']} frames but the model takes {frames}; "
            f"rebuild the dataset with --frames {frames}"
        )
    return index


def augment(lr: Any, hr: Any, seed: Any) -> tuple[Any, Any]:
    """Random flips, 90° rotation and temporal reversal from a [2]-int ``seed`` (stateless).

    ``lr`` [T, h, w, C] and ``hr`` [H, W, C], any dtype; the same transform for both.
    """
    draws = tf.random.stateless_uniform([4], seed=seed, maxval=4, dtype=tf.int32)
    flip_h, flip_v, turns, reverse = draws[0] % 2, draws[1] % 2, draws[2], draws[3] % 2

    def spatial(x: Any, width_axis: int) -> Any:
        x = tf.cond(flip_h == 1, lambda: tf.reverse(x, [width_axis]), lambda: x)
        x = tf.cond(flip_v == 1, lambda: tf.reverse(x, [width_axis - 1]), lambda: x)
        return x

    lr, hr = spatial(lr, 2), spatial(hr, 1)
    lr = tf.image.rot90(lr, k=turns)  # [T, h, w, C] is a batch of images
    hr = tf.image.rot90(hr, k=turns)
    lr = tf.cond(reverse == 1, lambda: tf.reverse(lr, [0]), lambda: lr)
    return lr, hr


def training_data(
    path: str | Path,
    split: str,
    batch_size: int,
    seed: int = 0,
    train: bool = True,
    shuffle_buffer: int = 1024,
    format: str | None = None,
) -> tf.data.Dataset:
    """Batches of (lr [B, T, h, w, 3], hr [B, H, W, 3]) float32 in [0, 1].

    Training data is shuffled, augmented (seeded per element, so a run is repeatable),
    repeated and batched with ``drop_remainder`` (static batch shapes for XLA and
    distribution); evaluation data is neither shuffled nor augmented.
    """
    ds = read(path, split, format)
    if train:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda pair, s: augment(pair[0], pair[1], s), num_parallel_calls=tf.data.AUTOTUNE
        )
    ds = ds.map(
        lambda lr, hr: (tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.batch(batch_size, drop_remainder=train).prefetch(tf.data.AUTOTUNE)
