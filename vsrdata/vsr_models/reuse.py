"""DUF's per-frame work shared between the sliding windows of a clip.

Upscaling a clip runs DUF once per output frame on the 7 frames around it, so window t and
window t + 1 share 6 frames. The network's first layers look at one frame at a time (the
1×3×3 stem, every dense block's batch norms, ReLUs and 1×1×1 convolution) or at a few
neighbouring frames (each dense block's 3×3×3 convolution, zero padded in time), so much of
what window t computes, window t + 1 computes again:

- the stem and the first dense block's 1×1×1 convolution of a frame are the same in every
  window that holds it;
- a 3×3×3 convolution's output at a position depends on the input at that position and its
  two neighbours (zero at the window's ends), so after dense block ``i`` a position's features
  depend on the ``i`` frames either side of it and on where the window ends, if it ends
  within those: they are the same wherever those frames stand at the same offsets from the
  same window end (or from none).

Every per-frame tensor here is therefore kept under a key that says exactly what it depends
on: for each position within its reach, a digest of that frame's pixels, or None where the
position is past the window's end (zero padding). A later window that holds the same frames at
the same offsets finds the tensor instead of computing it. The digests are of the uint8 frames
a window is made of, so this needs nothing from the caller: any sequence of windows gains where
consecutive ones overlap, and a window that shares nothing runs as a whole one does.

A 3×3×3 convolution ``out[p] = W0·x[p-1] + W1·x[p] + W2·x[p+1] + b`` is computed as its three
taps: one 1×3×3 convolution of a frame with the three time slices of the kernel side by side
(3·G outputs), kept per frame, and summed per output position. From the fourth dense block
on (16L: from its first reduction block) nothing is shared between windows, and the rest of
the network (the later dense blocks, the blocks that trim time, the heads, the dynamic
filtering) runs as it is, on the 7 positions' features.

In a clip's steady state a DUF-16L window computes anew 5 of the 7 positions of the third
dense block, 3 of the second's, and one of the first block's and the stem's: 20% fewer
multiply-adds (3.87 of 4.86 million per LR pixel). DUF-28L and 52L gain less (their first
three blocks have 16 channels of growth, and there are more blocks after them). The outputs
are the whole network's to float32 rounding (the three taps are summed in another order).

What one window keeps for the next is 64 channels of the stem and 96 + 32 per shared block,
at 7 positions: 3,136 float32 values per LR pixel (325 MB for a 144×180 frame); each window
drops what it did not use. This is for whole frames: a tiled frame runs as before.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

FRAMES = 7
Key = tuple[Any, ...]


def _layer(model: Any, name: str) -> Any:
    try:
        return model.get_layer(name)
    except ValueError:
        return None


# a position's features after dense block i depend on the i frames either side of it: from
# block FRAMES // 2 on, every position's reach holds the whole window or a window end, which no
# other window of a clip shares, so only the blocks before it are worth keeping per frame
SHARED_BLOCKS = FRAMES // 2


def _shared_blocks(model: Any) -> int:
    """How many of the (folded) DUF ``model``'s first same-padded dense blocks run per frame
    here: up to :data:`SHARED_BLOCKS` (0: not DUF-shaped)."""
    import keras

    if _layer(model, "stem") is None or _layer(model, "reduce1_bn1") is None:
        return 0
    if tuple(model.input_shape[1:2]) != (FRAMES,) or len(model.input_shape) != 5:
        return 0
    blocks = 0
    while blocks < SHARED_BLOCKS and _layer(model, f"dense{blocks + 1}_conv2") is not None:
        blocks += 1
    for i in range(1, blocks + 1):
        conv2 = _layer(model, f"dense{i}_conv2")
        conv1 = _layer(model, f"dense{i}_conv1")
        if not isinstance(conv2, keras.layers.Conv3D) or tuple(conv2.kernel_size) != (3, 3, 3):
            return 0
        if conv2.padding != "same" or conv2.activation is not keras.activations.linear:
            return 0
        if conv2.compute_dtype != "float32":  # a mixed-precision model runs as it is
            return 0
        if not isinstance(conv1, keras.layers.Conv3D) or tuple(conv1.kernel_size) != (1, 1, 1):
            return 0
    return blocks


def _tensor_of(model: Any, layer_name: str) -> Any:
    """The Keras tensor the layer ``layer_name`` reads (its first input)."""
    for node in (n for level in model._nodes_by_depth.values() for n in level):
        if node.operation.name == layer_name:
            return node.input_tensors[0]
    raise KeyError(layer_name)


def _run_from(model: Any, given: dict[int, Any]) -> Any:
    """The model's output with the tensors in ``given`` (``id`` of a Keras tensor -> value)
    taken as they are: only the nodes between them and the output run."""
    needed: set[int] = set()
    producer = {id(t): node for level in model._nodes_by_depth.values() for node in level
                for t in node.outputs}  # fmt: skip
    stack = [id(t) for t in model.outputs]
    while stack:
        tid = stack.pop()
        if tid in given or tid in needed:
            continue
        needed.add(tid)
        stack.extend(id(t) for t in producer[tid].input_tensors)
    values = dict(given)
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if not any(id(t) in needed for t in node.outputs):
                continue
            known = {id(t): values[id(t)] for t in node.input_tensors}
            args, kwargs = node.arguments.fill_in(known)
            kwargs.pop("training", None)
            (out,) = node.outputs
            values[id(out)] = node.operation(*args, **kwargs)
    (output,) = model.outputs
    return values[id(output)]


def _digest(frame: np.ndarray) -> bytes:
    """A frame's key: a 128-bit digest of its shape and pixels."""
    digest = hashlib.blake2b(str(frame.shape).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(frame).tobytes())
    return digest.digest()


def _taps_of_block(model: Any, i: int) -> Any:
    """Dense block ``i``'s per-frame work as one frozen graph: its batch norm and ReLU, its
    1×1×1 convolution (the second batch norm folded in) and ReLU, and the three time taps of
    its 3×3×3 convolution, returned as three tensors (the bias added to the centre tap's)."""
    import tensorflow as tf

    from vsrdata.vsr_models.fold import frozen

    norm = model.get_layer(f"dense{i}_bn1")
    conv1 = model.get_layer(f"dense{i}_conv1")
    conv2 = model.get_layer(f"dense{i}_conv2")
    kernel = np.asarray(conv2.kernel.numpy())  # [3, 3, 3, C, G]
    growth, channels = kernel.shape[-1], kernel.shape[3]
    taps = tf.constant(np.concatenate(list(kernel), axis=-1)[None])  # [1, 3, 3, C, 3·G]
    bias = np.asarray(conv2.bias.numpy()) if conv2.use_bias else np.zeros(growth)
    bias = tf.constant(bias.astype(np.float32))

    def block(x: Any) -> Any:
        t = tf.nn.relu(conv1(norm(x, training=False)))
        before, centre, after = tf.split(tf.nn.conv3d(t, taps, [1] * 5, "SAME"), 3, axis=-1)
        return before, centre + bias, after

    spec = [tf.TensorSpec((1, None, None, None, channels), tf.float32)]
    return frozen(block, spec, [*norm.weights, *conv1.weights])


class WindowReuse:
    """A folded DUF model (see :func:`vsrdata.vsr_models.fold.fold_batch_norm`) run on one
    window at a time, sharing per-frame work with the windows before it (see the module).
    ``reuse = WindowReuse.of(model)`` is None for a model of another shape; ``reuse(window)``
    takes a uint8 window [7, h, w, 3] and returns the float32 output [h·r, w·r, 3]."""

    def __init__(self, model: Any, blocks: int) -> None:
        import tensorflow as tf

        from vsrdata.vsr_models.fold import frozen

        self.blocks = blocks
        self.cache: dict[Key, Any] = {}
        self.used: set[Key] = set()
        self.hits = self.misses = 0  # positions found / computed, every stage counted
        stem = model.get_layer("stem")
        frames = [tf.TensorSpec((1, None, None, None, 3), tf.float32)]
        self._stem = frozen(lambda x: stem(x), frames, stem.weights)
        self._taps = [_taps_of_block(model, i) for i in range(1, blocks + 1)]
        after = f"dense{blocks + 1}_bn1"  # the rest: later dense blocks, reductions, heads
        features = _tensor_of(model, after if _layer(model, after) is not None else "reduce1_bn1")
        (inp,) = model.inputs
        tail_spec = [tf.TensorSpec((1, FRAMES, None, None, features.shape[-1]), tf.float32),
                     tf.TensorSpec((1, FRAMES, None, None, 3), tf.float32)]  # fmt: skip
        self._tail = frozen(lambda f, x: _run_from(model, {id(features): f, id(inp): x}),
                            tail_spec, model.weights)  # fmt: skip

    @classmethod
    def of(cls, model: Any) -> WindowReuse | None:
        blocks = _shared_blocks(model)
        return cls(model, blocks) if blocks else None

    # the key of position p at temporal reach r: the digests of positions p - r ... p + r
    def _key(self, digests: list[bytes], p: int, reach: int) -> Key:
        span = range(p - reach, p + reach + 1)
        return tuple(digests[q] if 0 <= q < FRAMES else None for q in span)

    def _find(self, key: Key) -> Any:
        value = self.cache.get(key)
        if value is not None:
            self.used.add(key)
        return value

    def _keep(self, key: Key, value: Any) -> None:
        self.cache[key] = value
        self.used.add(key)

    def __call__(self, window: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        digests = [_digest(frame) for frame in window]
        x = tf.constant(window[None].astype(np.float32) / 255.0)
        self.used = set()

        def stage(name: Any, reach: int, compute: Any) -> list[Any]:
            """Each position's tensor of stage ``name``, found or computed (all missing
            positions in one call of ``compute(positions)``)."""
            keys = [(name, *self._key(digests, p, reach)) for p in range(FRAMES)]
            found = [self._find(k) for k in keys]
            missing = [p for p in range(FRAMES) if found[p] is None]
            self.hits += FRAMES - len(missing)
            self.misses += len(missing)
            if missing:
                computed = compute(missing)
                if isinstance(computed, tuple | list):  # several tensors per position
                    split = zip(*(tf.split(c, len(missing), axis=1) for c in computed), strict=True)
                else:
                    split = tf.split(computed, len(missing), axis=1)
                for p, value in zip(missing, split, strict=True):
                    found[p] = value
                    self._keep(keys[p], value)
            return found

        def frames_of(positions: list[int]) -> Any:
            return tf.gather(x, positions, axis=1)

        parts = [stage("stem", 0, lambda ps: self._stem(frames_of(ps)))]
        for i in range(self.blocks):

            def block_input(ps: list[int]) -> Any:
                return tf.concat([tf.concat([part[p] for part in parts], axis=-1) for p in ps],
                                 axis=1)  # fmt: skip

            taps = stage(("taps", i), i, lambda ps, i=i: self._taps[i](block_input(ps)))

            def out(ps: list[int], taps: list[Any] = taps) -> Any:
                sums = []
                for p in ps:  # W0·x[p-1] + W1·x[p] + b + W2·x[p+1], zero past the ends
                    terms = [taps[p][1]]
                    if p > 0:
                        terms.append(taps[p - 1][0])
                    if p + 1 < FRAMES:
                        terms.append(taps[p + 1][2])
                    sums.append(tf.add_n(terms))
                return tf.concat(sums, axis=1)

            parts.append(stage(("out", i), i + 1, out))
        features = tf.concat([tf.concat(part, axis=1) for part in parts], axis=-1)
        result = self._tail(features, x)
        for key in [k for k in self.cache if k not in self.used]:
            del self.cache[key]
        return np.asarray(result)[0]
