"""Run as one worker of a local two-worker cluster (TF_CONFIG set by the test).

Each worker trains DUF-16L (x2, tiny inputs) for a few steps with MultiWorkerMirroredStrategy
on the same global batches and prints its step count and a digest of its weights as JSON.
"""

import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from vsrdata.vsr_models.distribute import DistributedStep, make_strategy

STEPS, BATCH = int(sys.argv[1]), 4
strategy = make_strategy("multi-worker")
keras.utils.set_random_seed(1)
rng = np.random.default_rng(0)
lr = rng.random((STEPS * BATCH, 7, 8, 8, 3), dtype=np.float32)
hr = rng.random((STEPS * BATCH, 16, 16, 3), dtype=np.float32)
data = tf.data.Dataset.from_tensor_slices((lr, hr)).batch(BATCH)
step = DistributedStep(strategy, "duf-16l", 2, BATCH)
losses = [float(step(x, y)) for x, y in step.distribute(data)]
weights = step.model.get_weights()
digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in weights))
print(
    json.dumps(
        {
            "replicas": strategy.num_replicas_in_sync,
            "step": int(step.step.numpy()),
            "losses": losses,
            "digest": digest.hexdigest(),
            "first": float(weights[0].ravel()[0]),
        }
    )
)
