"""Distribution strategies and the distributed training step.

``--strategy``: ``one-device`` (the first GPU, else the CPU), ``mirrored``
(``tf.distribute.MirroredStrategy`` over the GPUs it finds, or ``--devices``), ``multi-worker``
(``MultiWorkerMirroredStrategy``, configured by ``TF_CONFIG``), and ``auto`` (mirrored when
more than one GPU is visible). With more than one replica the model's batch normalization is
synchronized, so its statistics are those of the global batch (the paper's batch of 16 on 8
GPUs would otherwise normalize over 2 samples).

The step computes the per-example Huber loss, averages it over the *global* batch
(``tf.nn.compute_average_loss``), and lets Keras' optimizer all-reduce the gradients, so N
replicas with global batch B take the same step as one device with batch B.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from vsrdata.errors import UsageError
from vsrdata.vsr_models.losses import huber_per_example
from vsrdata.vsr_models.registry import build_model

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")


def split_cpu(n: int) -> None:
    """Expose the CPU as ``n`` logical devices (tests of strategies without GPUs).

    Must run before TensorFlow initializes its devices.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def make_strategy(kind: str = "auto", devices: Sequence[str] | None = None) -> Any:
    """A ``tf.distribute`` strategy for ``kind`` (see the module docstring)."""
    if kind not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {kind!r}")
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "auto":
        kind = "mirrored" if len(gpus) > 1 or (devices and len(devices) > 1) else "one-device"
    if kind == "one-device":
        device = devices[0] if devices else ("/gpu:0" if gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device)
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)
    return tf.distribute.MultiWorkerMirroredStrategy()


class DistributedStep:
    """A model, its optimizer and a compiled training step under one strategy."""

    def __init__(
        self,
        strategy: Any,
        model_name: str,
        scale: int,
        global_batch: int,
        learning_rate: Any = 1e-3,
    ) -> None:
        self.strategy = strategy
        self.global_batch = global_batch
        with strategy.scope():
            sync = strategy.num_replicas_in_sync > 1
            self.model = build_model(model_name, scale, synchronized_bn=sync)
            self.optimizer = keras.optimizers.Adam(learning_rate)
            self.optimizer.build(self.model.trainable_variables)
        self._step = tf.function(self._distributed)

    def _replica_step(self, lr: Any, hr: Any) -> Any:
        with tf.GradientTape() as tape:
            pred = self.model(lr, training=True)
            loss = tf.nn.compute_average_loss(
                huber_per_example(hr, pred), global_batch_size=self.global_batch
            )
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss

    def _distributed(self, lr: Any, hr: Any) -> Any:
        losses = self.strategy.run(self._replica_step, args=(lr, hr))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    def distribute(self, dataset: tf.data.Dataset) -> Any:
        """The strategy's view of a dataset batched by the *global* batch size."""
        return self.strategy.experimental_distribute_dataset(dataset)

    def __call__(self, lr: Any, hr: Any) -> Any:
        """One step on a (distributed) batch; returns the global mean loss."""
        return self._step(lr, hr)
