"""Batch normalization folded into the convolution before it, for inference.

At inference a batch norm is a per-channel affine map with its moving statistics,
``y = (x - mean) · gamma / sqrt(variance + eps) + beta``; when ``x`` is a convolution's output
used by nothing else, the map moves into that convolution's kernel and bias (``s = gamma /
sqrt(variance + eps)``, ``kernel · s``, ``(bias - mean) · s + beta``) and the normalization
pass over the activations disappears. An activation after the batch norm then directly follows
the convolution, where TensorFlow's graph optimizer fuses it into the oneDNN convolution
(``_FusedConv3D`` with ReLU). DUF has six such pairs (each block's 1×1×1 convolution and its
second batch norm), SRResNet and SRGAN two per residual block.

A batch norm that stays (its input is also read elsewhere, as DUF's concatenated features
are) and is followed only by a plain ReLU becomes one layer that applies the ReLU straight
after TensorFlow's fused batch-norm op, where the graph optimizer fuses the two into one
pass (``_FusedBatchNormEx``); DUF has seven.

The result is the same function up to float32 rounding (the folded weights are computed in
float64; tested to 1e-5 on DUF, SRResNet and VDSR with batch norm). It is for inference only:
its batch norms are gone or frozen, so it must never be trained (its ``trainable`` is False).

:func:`frozen` goes one step further for inference on the CPU: the traced function with every
weight a constant of its graph. oneDNN then reorders each kernel once into its blocked layout
and keeps it; a kernel read from a variable is handed over plain on every call, and for a
batch of one oneDNN then falls back to its im2col GEMM convolution (CARN: 0.24 s a 72×90
frame with variables, 0.15 s frozen, on an AVX2 CPU).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


class _Graph:
    """A functional model's nodes, how often each layer is called, and who reads each tensor
    (``None`` for the model's outputs)."""

    def __init__(self, model: Any) -> None:
        self.nodes = [node for level in model._nodes_by_depth.values() for node in level]
        self.calls = Counter(id(node.operation) for node in self.nodes)
        self.readers: dict[int, list[Any]] = {}
        for node in self.nodes:
            for t in node.input_tensors:
                self.readers.setdefault(id(t), []).append(node.operation)
        for t in model.outputs:
            self.readers.setdefault(id(t), []).append(None)

    def only_reader(self, tensor: Any) -> Any:
        """The one layer (called once) that reads ``tensor``, else None."""
        after = self.readers.get(id(tensor), [])
        if len(after) == 1 and after[0] is not None and self.calls[id(after[0])] == 1:
            return after[0]
        return None


def _foldable_pairs(graph: _Graph) -> dict[int, tuple[Any, Any]]:
    """{id(conv): (conv, batch norm)} for every convolution (no activation, called once) whose
    output only a batch norm over the last axis (called once) reads."""
    pairs = {}
    for node in graph.nodes:
        conv = node.operation
        if not isinstance(conv, CONVOLUTIONS) or graph.calls[id(conv)] != 1:
            continue
        tensor = node.outputs[0]
        bn = graph.only_reader(tensor)
        if (
            isinstance(bn, keras.layers.BatchNormalization)
            and bn.axis in (-1, len(tensor.shape) - 1)
            and conv.activation is keras.activations.linear
            and not getattr(bn, "renorm", False)
        ):  # fmt: skip
            pairs[id(conv)] = (conv, bn)
    return pairs


def _plain_relu(layer: Any) -> bool:
    return (
        isinstance(layer, keras.layers.ReLU) and layer.max_value is None
        and not layer.negative_slope and not layer.threshold
    )  # fmt: skip


def _norm_relu_pairs(graph: _Graph, folded: set[int]) -> dict[int, Any]:
    """{id(batch norm): relu} for every vsrdata batch norm (not folded, called once) whose
    output only a plain ReLU (called once) reads."""
    from vsrdata.vsr_models.layers import BatchNorm

    pairs = {}
    for node in graph.nodes:
        bn = node.operation
        if not isinstance(bn, BatchNorm) or id(bn) in folded or graph.calls[id(bn)] != 1:
            continue
        relu = graph.only_reader(node.outputs[0])
        if _plain_relu(relu):
            pairs[id(bn)] = relu
    return pairs


class NormRelu(keras.layers.Layer):
    """A batch norm at inference and the ReLU after it, in one layer (see the module)."""

    def __init__(self, bn: Any, **kwargs: Any) -> None:
        super().__init__(name=bn.name, dtype=bn.dtype_policy, **kwargs)
        self.bn = bn

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        import tensorflow as tf

        if self.bn.fused and self.bn._fusable(inputs, mask):
            return self.bn.normalize(inputs, relu=True)
        return tf.nn.relu(self.bn(inputs, training=False, mask=mask))


def _folded_weights(conv: Any, bn: Any) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.asarray(conv.kernel, np.float64)
    channels = kernel.shape[-1]
    bias = np.asarray(conv.bias, np.float64) if conv.use_bias else np.zeros(channels)
    gamma = np.asarray(bn.gamma, np.float64) if bn.scale else np.ones(channels)
    beta = np.asarray(bn.beta, np.float64) if bn.center else np.zeros(channels)
    mean = np.asarray(bn.moving_mean, np.float64)
    scale = gamma / np.sqrt(np.asarray(bn.moving_variance, np.float64) + bn.epsilon)
    return kernel * scale, (bias - mean) * scale + beta


def frozen(
    function: Callable[..., Any], signature: list[Any], variables: list[Any]
) -> Callable[..., Any]:
    """``function`` (of tensors, returning one tensor) traced once for ``signature`` (a list of
    ``tf.TensorSpec``, None for the sizes that vary) with each of ``variables`` (Keras
    variables: a model's ``weights``) read as a constant of the graph holding its value now:
    later changes to those weights are not seen. Raises what tracing raises. The result's
    ``graph`` is the traced ``tf.Graph``.

    The constants are made while tracing, under a Keras ``StatelessScope`` that maps each
    variable to its value: tracing costs what it costs anyway, where converting a traced graph's
    variables afterwards (TensorFlow's ``convert_variables_to_constants_v2``) took 1.5 s more
    for DUF-52L."""
    import tensorflow as tf

    values = [np.asarray(v.numpy()) for v in variables]

    def constant(*args: Any) -> Any:
        mapping = [(v, tf.constant(a)) for v, a in zip(variables, values, strict=True)]
        with keras.StatelessScope(state_mapping=mapping):
            return function(*args)

    traced = tf.function(constant, input_signature=signature, autograph=False)
    graph = traced.get_concrete_function()

    def call(*args: Any) -> Any:
        return graph(*(tf.convert_to_tensor(a) for a in args))

    call.graph = graph.graph  # type: ignore[attr-defined]
    return call


def fold_batch_norm(model: Any) -> Any:
    """``model`` with every foldable batch norm (see the module) moved into its convolution;
    the other layers are shared with ``model``, not copied. ``model`` itself when it has none
    or is not a functional model."""
    if not hasattr(model, "_nodes_by_depth"):
        return model
    graph = _Graph(model)
    pairs = _foldable_pairs(graph)
    folded_bns = {id(bn) for _, bn in pairs.values()}
    with_relu = _norm_relu_pairs(graph, folded_bns)
    relus = {id(relu) for relu in with_relu.values()}
    if not pairs and not with_relu:
        return model
    new_convs: dict[int, Any] = {}

    def clone(layer: Any) -> Any:
        if id(layer) in folded_bns or id(layer) in relus:  # under the layer's own precision
            return keras.layers.Identity(name=layer.name, dtype=layer.dtype_policy)
        if id(layer) in with_relu:
            return NormRelu(layer)
        if id(layer) in pairs:
            config = {**layer.get_config(), "use_bias": True}
            new_convs[id(layer)] = type(layer).from_config(config)
            return new_convs[id(layer)]
        return layer

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(layer, keras.layers.Identity):  # a removed layer's mask and training
            return layer(*args)
        return layer(*args, **kwargs)

    folded = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for key, (conv, bn) in pairs.items():
        kernel, bias = _folded_weights(conv, bn)
        new = new_convs[key]
        new.kernel.assign(kernel.astype(new.kernel.dtype))
        new.bias.assign(bias.astype(new.bias.dtype))
    folded.trainable = False
    return folded
