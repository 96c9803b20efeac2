"""Learning-rate schedules of ``vsrdata train`` (``--schedule step|cosine|constant``)."""

from __future__ import annotations

import math
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="vsrdata")
class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then ``step`` (× factor every ``decay_steps``), ``cosine`` (to 0 at
    ``total_steps``) or ``constant``; a function of the optimizer's step count only, so a
    resumed run continues on the same curve.

    ``adjustable`` keeps the total in a variable that :meth:`set_total` may change after the
    step is compiled: a ``--time-budget`` run learns its length from its first steps' speed.
    """

    def __init__(
        self,
        base: float,
        schedule: str,
        total_steps: int,
        warmup: int = 0,
        decay_steps: int = 1,
        decay_factor: float = 0.1,
        adjustable: bool = False,
    ) -> None:
        self.base, self.schedule, self.total_steps = base, schedule, total_steps
        self.warmup, self.decay_steps, self.decay_factor = warmup, decay_steps, decay_factor
        self._total: Any = None
        if adjustable:
            import tensorflow as tf

            self._total = tf.Variable(float(total_steps), trainable=False, name="total_steps")

    def set_total(self, total_steps: int) -> None:
        """Lay the curve out over ``total_steps`` from now on (an ``adjustable`` schedule)."""
        if self._total is None:
            raise ValueError("this schedule's length is fixed (adjustable=False)")
        self.total_steps = total_steps
        self._total.assign(float(total_steps))

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        step = ops.cast(step, "float32")
        if self.schedule == "step":
            rate = self.base * ops.power(self.decay_factor, ops.floor(step / self.decay_steps))
        elif self.schedule == "cosine":
            total = self.total_steps if self._total is None else self._total
            span = ops.maximum(1.0, ops.cast(total, "float32") - self.warmup)
            progress = ops.clip((step - self.warmup) / span, 0.0, 1.0)
            rate = self.base * 0.5 * (1.0 + ops.cos(math.pi * progress))
        else:
            rate = ops.convert_to_tensor(self.base, "float32")
        if self.warmup:
            rate = rate * ops.minimum(1.0, (step + 1.0) / self.warmup)
        return rate

    def get_config(self) -> dict[str, Any]:
        return {
            "base": self.base, "schedule": self.schedule, "total_steps": self.total_steps,
            "warmup": self.warmup, "decay_steps": self.decay_steps,
            "decay_factor": self.decay_factor,
        }  # fmt: skip
