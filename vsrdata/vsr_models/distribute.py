"""Distribution strategies and the distributed training step.

``--strategy``: ``one-device`` (the first GPU, else the CPU), ``mirrored``
(``tf.distribute.MirroredStrategy`` over the GPUs it finds, or ``--devices``), ``multi-worker``
(``MultiWorkerMirroredStrategy``, configured by ``TF_CONFIG``), and ``auto`` (mirrored when
more than one GPU is visible, multi-worker when ``TF_CONFIG`` describes a cluster). With
more than one replica the model's batch normalization is
synchronized, so its statistics are those of the global batch (the paper's batch of 16 on 8
GPUs would otherwise normalize over 2 samples).

The step computes the per-example loss (the model's recipe's, or ``--loss``; on Y for the
models that work on luma), averages it over the *global* batch
(``tf.nn.compute_average_loss``), and lets Keras' optimizer all-reduce the gradients, so N
replicas with global batch B take the same step as one device with batch B. Gradient
clipping (``--clip-norm``, VDSR's adjustable clipping) acts on the global gradient: Keras
clips each replica's partial gradient before its all-reduce, so with several replicas the
step all-reduces first, clips, and hands the optimizer each replica's share of the result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import keras
import tensorflow as tf

from vsrdata.errors import UsageError
from vsrdata.vsr_models.config import STRATEGIES, Optimization
from vsrdata.vsr_models.losses import loss_on_y, per_example_loss
from vsrdata.vsr_models.registry import spec as model_spec


def make_optimizer(opt: Optimization, learning_rate: Any) -> Any:
    """The Keras optimizer ``opt.optimizer`` at ``learning_rate`` (a float or a schedule).

    Weight decay is Keras's decoupled form for every optimizer (``w -= lr·wd·w`` each step;
    AdamW's definition, and plain SGD's L2 penalty of the same coefficient)."""
    decay = opt.weight_decay or None
    if opt.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=decay)
    if opt.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=opt.weight_decay)
    if opt.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=opt.momentum, weight_decay=decay)
    if opt.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate, weight_decay=decay)
    raise UsageError(f"unknown optimizer {opt.optimizer!r}")


def split_cpu(n: int) -> None:
    """Expose the CPU as ``n`` logical devices (tests of strategies without GPUs).

    Must run before TensorFlow initializes its devices; asking again for the same split
    changes nothing.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def make_strategy(kind: str = "auto", devices: Sequence[str] | None = None) -> Any:
    """A ``tf.distribute`` strategy for ``kind`` (see the module docstring)."""
    if kind not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {kind!r}")
    if kind == "auto" and _cluster_workers() > 1:
        kind = "multi-worker"
    if kind == "multi-worker":  # before anything initializes TensorFlow's devices
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "auto":
        kind = "mirrored" if len(gpus) > 1 or (devices and len(devices) > 1) else "one-device"
    if kind == "one-device":
        device = devices[0] if devices else ("/gpu:0" if gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device)
    if not devices and not gpus:  # a CPU split into logical devices (split_cpu)
        cpus = tf.config.list_logical_devices("CPU")
        devices = [d.name for d in cpus] if len(cpus) > 1 else None
    return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)


def _cluster_workers() -> int:
    """Tasks in the cluster that ``TF_CONFIG`` describes (0 without one)."""
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except ValueError:
        raise UsageError("TF_CONFIG is not valid JSON") from None
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def precision_policy(precision: str) -> str:
    """The Keras dtype policy for ``--mixed-precision``: float16 compute with loss scaling on
    GPUs, bfloat16 elsewhere (CPUs and TPUs have no fast float16; bfloat16 needs no scaling).
    ``float64`` is for numerical checks (strategy equivalence tests), not for training."""
    if precision in ("float32", "float64"):
        return precision
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under the Keras dtype policy ``name``, then restore the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class DistributedStep:
    """A model, its optimizer and a compiled training step under one strategy.

    ``precision`` "mixed" computes in float16 (GPU, with dynamic loss scaling) or bfloat16
    and keeps float32 weights; the dynamic filters and the output stay float32. ``jit``
    compiles the forward and backward pass with XLA on one replica (the update stays
    outside); with several replicas the synchronized batch norm all-reduces inside the
    forward pass, which cannot sit in one XLA cluster, so XLA auto-clustering compiles the
    parts between the collectives. ``step`` counts finished steps and is
    updated inside the compiled step, so it never disagrees with the weights.
    """

    def __init__(
        self,
        strategy: Any,
        model_name: str,
        scale: int,
        global_batch: int,
        learning_rate: Any = 1e-3,
        precision: str = "float32",
        jit: bool = False,
        model_options: dict[str, Any] | None = None,
        optimization: Optimization | None = None,
        hr_patch: int | None = None,
    ) -> None:
        self.strategy = strategy
        self.global_batch = global_batch
        self.policy = precision_policy(precision)
        with strategy.scope():
            sync = strategy.num_replicas_in_sync > 1
            with dtype_policy(self.policy):
                spec = model_spec(model_name)
                net = spec.build(scale, synchronized_bn=sync, options=model_options,
                                 supervised=True)  # fmt: skip
            # deep supervision: the training graph also predicts at intermediate depths, and
            # ``model`` is its output alone (the same layers: what is checkpointed and exported)
            self.supervised = isinstance(net.output, dict)
            self._net = net
            self.model = keras.Model(net.input, net.output["output"]) if self.supervised else net
            # α, the intermediate predictions' share of the loss (the training loop sets it)
            self._deep = self.supervised and bool(net.output["intermediate"])
            self.supervision = tf.Variable(
                1.0 if self._deep else 0.0, trainable=False, name="supervision",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )  # fmt: skip
            if optimization is None:
                optimization = Optimization(spec.recipe.loss if spec.recipe else "huber")
            self.optimization = optimization
            self.supervision_decay = spec.recipe.supervision_decay if spec.recipe else 0.5
            self.learning_rate = learning_rate
            self.optimizer = self._optimizer(optimization, self.model)
            self.step = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="step",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )  # fmt: skip
            # a loss with a network of its own (vgg54) mirrors it like the model
            loss = per_example_loss(optimization.loss, optimization.vgg_weights)
            self.adversary = spec.adversary
            self.discriminator: Any = None
            self.d_optimizer: Any = None
            if self.adversary is not None:
                self._build_discriminator(hr_patch, sync, optimization)
        self._loss = loss_on_y(loss) if spec.colour == "y" else loss
        self.terms: dict[str, Any] = {}  # the last step's loss terms (global means)
        self._gradients = self._loss_and_gradients
        if self.adversary is not None:
            self._gradients = self._adversarial_gradients
        if jit:  # XLA differentiates the plain batch-norm graph more exactly than the fused op
            nets = [n for n in (self.model, self.discriminator) if n is not None]
            for layer in (layer for net in nets for layer in net.layers):
                if hasattr(layer, "fused"):
                    layer.fused = False
        if jit and not sync:
            self._gradients = tf.function(self._gradients, jit_compile=True, autograph=False)
        elif jit:  # synchronized BN all-reduces inside the forward pass: let XLA cluster around
            tf.config.optimizer.set_jit("autoclustering")
        # no Python control flow on tensors here: autograph would only cost tracing time
        self._step = tf.function(self._distributed, autograph=False)

    def _build_discriminator(self, hr_patch: int | None, sync: bool, opt: Optimization) -> None:
        """The adversary's network (its dense layer fixes the HR patch side) and its own
        optimizer: the generator's kind and learning rate, without weight decay."""
        if not hr_patch:
            raise UsageError(f"{self.model.name} trains against a discriminator, which needs "
                             "the HR patch side (DistributedStep(hr_patch=...))")  # fmt: skip
        assert self.adversary is not None
        with dtype_policy(self.policy):
            hr = keras.Input(shape=(hr_patch, hr_patch, 3), name="hr")
            builder = self.adversary.builder
            logits = builder(hr, synchronized_bn=sync)
            self.discriminator = keras.Model(hr, logits, name="discriminator")
        d_opt = Optimization(opt.loss, opt.optimizer, opt.momentum)
        self.d_optimizer = self._optimizer(d_opt, self.discriminator)

    def _optimizer(self, opt: Optimization, net: Any) -> Any:
        """``opt``'s optimizer at the step's learning rate, with loss scaling under float16,
        built for ``net``'s trainable variables."""
        optimizer = make_optimizer(opt, self.learning_rate)
        if self.policy == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(net.trainable_variables)
        return optimizer

    def checkpointed(self) -> dict[str, Any]:
        """What a checkpoint holds besides the step counter: the model and its optimizer,
        and an adversary's discriminator and optimizer."""
        out = {"model": self.model, "optimizer": self.optimizer}
        if self.discriminator is not None:
            out.update(discriminator=self.discriminator, d_optimizer=self.d_optimizer)
        return out

    def _adversarial_gradients(self, lr: Any, hr: Any) -> tuple[Any, Any]:
        """The generator's loss (content + weight × −log D(G(x))), and with its gradients
        the discriminator's (the cross-entropy of real against generated patches) and the
        loss terms, from one forward pass of each network."""
        assert self.adversary is not None
        average = lambda x: tf.nn.compute_average_loss(  # noqa: E731
            tf.cast(x, tf.float32), global_batch_size=self.global_batch
        )
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        with tf.GradientTape(persistent=True) as tape:
            sr = self.model(lr, training=True)
            real = tf.cast(self.discriminator(hr, training=True), tf.float32)[:, 0]
            fake = tf.cast(self.discriminator(sr, training=True), tf.float32)[:, 0]
            content = tf.cast(self._loss(hr, sr), tf.float32)
            fooled = bce(labels=tf.ones_like(fake), logits=fake)  # −log D(G(x))
            g_loss = average(content + self.adversary.weight * fooled)
            d_each = bce(labels=tf.ones_like(real), logits=real)
            d_each += bce(labels=tf.zeros_like(fake), logits=fake)
            d_loss = average(d_each)
            g_scaled = self.optimizer.scale_loss(g_loss)
            d_scaled = self.d_optimizer.scale_loss(d_loss)
        g_grads = tape.gradient(g_scaled, self.model.trainable_variables)
        d_grads = tape.gradient(d_scaled, self.discriminator.trainable_variables)
        terms = {
            "content": average(content), "adversarial": average(fooled),
            "discriminator": d_loss, "d_real": average(tf.sigmoid(real)),
            "d_fake": average(tf.sigmoid(fake)),
        }  # fmt: skip
        return g_loss, (g_grads, d_grads, terms)

    def _loss_and_gradients(self, lr: Any, hr: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            if self.supervised:
                out = self._net(lr, training=True)
                per_example = self._loss(hr, out["output"])
                if out["intermediate"]:  # α·mean of the intermediate losses + (1 - α)·final
                    alpha = self.supervision
                    heads = tf.add_n([self._loss(hr, h) for h in out["intermediate"]])
                    per_example = (1.0 - alpha) * per_example + alpha * heads / len(
                        out["intermediate"]
                    )
                for term in out["auxiliary"]:
                    per_example = per_example + tf.cast(term, per_example.dtype)
            else:
                per_example = self._loss(hr, self.model(lr, training=True))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)
            scaled = self.optimizer.scale_loss(loss)
        return loss, tape.gradient(scaled, self.model.trainable_variables)

    def _replica_step(self, lr: Any, hr: Any) -> dict[str, Any]:
        loss, grads = self._gradients(lr, hr)
        terms: dict[str, Any] = {}
        if self.adversary is not None:
            grads, d_grads, terms = grads
            self.d_optimizer.apply_gradients(
                zip(d_grads, self.discriminator.trainable_variables, strict=True)
            )
        grads = self._clip(grads)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return {"loss": loss, **terms}

    def _clip(self, grads: list[Any]) -> list[Any]:
        """Clip the *global* gradient (see the module docstring); unchanged without clipping."""
        opt = self.optimization
        if opt.clip_norm is None and opt.clip_adjustable is None:
            return grads
        replicas = self.strategy.num_replicas_in_sync
        if replicas > 1:
            grads = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, grads
            )
        # under float16 loss scaling the gradients are scaled: so are the thresholds
        scale = getattr(self.optimizer, "dynamic_scale", None)
        scale = tf.cast(scale, tf.float32) if scale is not None else tf.constant(1.0)
        if opt.clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, opt.clip_norm * scale)
        if opt.clip_adjustable is not None:  # VDSR: ±θ / γ at the current learning rate γ
            rate = self.learning_rate
            rate = rate(self.optimizer.iterations) if callable(rate) else rate
            bound = opt.clip_adjustable * scale / tf.cast(rate, tf.float32)
            grads = [tf.clip_by_value(g, -bound, bound) for g in grads]
        return [g / replicas for g in grads] if replicas > 1 else grads

    def _distributed(self, lr: Any, hr: Any) -> dict[str, Any]:
        shares = self.strategy.run(self._replica_step, args=(lr, hr))
        self.step.assign_add(1)
        # each replica's share is of the global mean: their sum is the mean
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in shares.items()}  # fmt: skip

    def distribute(self, dataset: tf.data.Dataset) -> Any:
        """The strategy's view of a dataset batched by the *global* batch size.

        Sharding is by data: each replica (and worker) takes its slice of every global
        batch, so N replicas see exactly the batches one device would.
        """
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def set_supervision(self, step: int, total: int) -> None:
        """α for ``step`` of a ``total``-step run: from 1 down to 0 over the model recipe's
        ``supervision_decay`` fraction of the run (a pure function of the step, so a resumed
        run continues the same curve)."""
        if self._deep:
            decay = max(1.0, self.supervision_decay * total)
            self.supervision.assign(max(0.0, 1.0 - step / decay))

    def __call__(self, lr: Any, hr: Any) -> Any:
        """One step on a (distributed) batch; returns the global mean loss (the generator's,
        for an adversarial model: its other terms are in ``terms``)."""
        out = self._step(lr, hr)
        self.terms = {k: v for k, v in out.items() if k != "loss"}
        return out["loss"]
