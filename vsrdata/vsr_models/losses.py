"""Training losses.

DUF (Jo et al., CVPR 2018) trains with the Huber loss on [0, 1] pixel values with
delta = 0.01: per pixel 0.5·e² for |e| <= delta, else delta·(|e| - 0.5·delta), averaged.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

DUF_HUBER_DELTA = 0.01


def huber_per_example(y_true: Any, y_pred: Any, delta: float = DUF_HUBER_DELTA) -> Any:
    """[B] Huber losses, each the mean over one example's elements (tensors [B, ...])."""
    dtype = tf.float64 if y_pred.dtype == tf.float64 else tf.float32  # never below float32
    err = tf.abs(tf.cast(y_pred, dtype) - tf.cast(y_true, dtype))
    quadratic = tf.minimum(err, delta)
    per_element = 0.5 * quadratic**2 + delta * (err - quadratic)
    return tf.reduce_mean(tf.reshape(per_element, [tf.shape(err)[0], -1]), axis=1)


def huber(y_true: Any, y_pred: Any, delta: float = DUF_HUBER_DELTA) -> Any:
    """Mean Huber loss over all elements (equal-size examples: the mean of the above)."""
    return tf.reduce_mean(huber_per_example(y_true, y_pred, delta))


def mse_per_example(y_true: Any, y_pred: Any) -> Any:
    """[B] mean squared errors on [0, 1] pixel values (never below float32)."""
    dtype = tf.float64 if y_pred.dtype == tf.float64 else tf.float32
    err = tf.cast(y_pred, dtype) - tf.cast(y_true, dtype)
    return tf.reduce_mean(tf.reshape(err * err, [tf.shape(err)[0], -1]), axis=1)


PER_EXAMPLE = {"huber": huber_per_example, "mse": mse_per_example}


def per_example_loss(name: str) -> Any:
    """The per-example loss a recipe names (:data:`vsrdata.vsr_models.registry.LOSSES`)."""
    if name not in PER_EXAMPLE:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(PER_EXAMPLE)}")
    return PER_EXAMPLE[name]
