"""Training losses.

DUF (Jo et al., CVPR 2018) trains with the Huber loss on [0, 1] pixel values with
delta = 0.01: per pixel 0.5·e² for |e| <= delta, else delta·(|e| - 0.5·delta), averaged.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

DUF_HUBER_DELTA = 0.01


def huber(y_true: Any, y_pred: Any, delta: float = DUF_HUBER_DELTA) -> Any:
    """Mean Huber loss over all elements (float32 tensors of equal shape, values in [0, 1])."""
    err = tf.abs(tf.cast(y_pred, tf.float32) - tf.cast(y_true, tf.float32))
    quadratic = tf.minimum(err, delta)
    return tf.reduce_mean(0.5 * quadratic**2 + delta * (err - quadratic))
