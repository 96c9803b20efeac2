"""Run as a script (TensorFlow must split the CPU before anything else touches it).

Trains a model (x2, tiny inputs; the tests' ``tiny-test`` unless named) for a few steps on
one device and with MirroredStrategy over two logical CPU devices from the same initial
weights and the same global batches, in the precision given (``float64`` for the
equivalence test), then prints as JSON the largest weight difference, the largest weight
change and the losses.

Usage: ``strategy_check.py STEPS [PRECISION [MODEL]]``; ``UNSYNCHRONIZED_BN=1`` lets each
replica normalize with its own batch statistics (the negative control of the test).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from vsrdata.vsr_models.distribute import DistributedStep, make_strategy, split_cpu

split_cpu(2)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

STEPS, BATCH = int(sys.argv[1]), 4
PRECISION = sys.argv[2] if len(sys.argv) > 2 else "float32"
DTYPE = np.float64 if PRECISION == "float64" else np.float32
rng = np.random.default_rng(0)
lr = rng.random((STEPS * BATCH, 7, 8, 8, 3)).astype(DTYPE)
hr = rng.random((STEPS * BATCH, 16, 16, 3)).astype(DTYPE)
data = tf.data.Dataset.from_tensor_slices((lr, hr)).batch(BATCH)

keras.utils.set_random_seed(1)
MODEL = sys.argv[3] if len(sys.argv) > 3 else "tiny-test"
args = (MODEL, 2, BATCH, 1e-3, PRECISION)
single = DistributedStep(make_strategy("one-device", ["/cpu:0"]), *args)
mirrored = DistributedStep(make_strategy("mirrored", ["/cpu:0", "/cpu:1"]), *args)
if os.environ.get("UNSYNCHRONIZED_BN"):  # the negative control: replicas' own statistics
    for layer in mirrored.model.layers:
        if hasattr(layer, "synchronized"):
            layer.synchronized = False
initial = single.model.get_weights()
mirrored.model.set_weights(initial)

losses: dict[str, list[float]] = {"single": [], "mirrored": []}
for name, step in (("single", single), ("mirrored", mirrored)):
    for x, y in step.distribute(data):
        losses[name].append(float(step(x, y)))

pairs = zip(single.model.get_weights(), mirrored.model.get_weights(), strict=True)
diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
moved = max(
    float(np.max(np.abs(a - b))) for a, b in zip(single.model.get_weights(), initial, strict=True)
)
replicas = mirrored.strategy.num_replicas_in_sync
synced = any(getattr(layer, "synchronized", False) for layer in mirrored.model.layers)
dtypes = sorted({str(w.dtype) for w in mirrored.model.weights})
print(json.dumps({"diff": diff, "moved": moved, "replicas": replicas, "synced_bn": synced,
                  "losses": losses, "dtypes": dtypes}))  # fmt: skip
