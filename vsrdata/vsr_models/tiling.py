"""Tiles that compute only what their output needs: a model's graph run on one tile with
every spatial layer cropped to the region its output pixels depend on.

The plain way to tile a network (run the whole model on a tile plus a margin of the
receptive radius on every side, keep the middle) computes every layer over the whole margin,
although each 3×3 layer needs one pixel less of it than the one before: DUF-16L's 64-pixel
tiles of a 144×180 frame cost 1.56× the frame's multiply-adds that way, and 1.16× this way.

:func:`tile_forward` walks a functional model node by node (the order Keras runs it) and
gives each tensor the part of the tile where its values are exact, counted in LR pixels lost
on each side. A layer with spatial reach ``k`` (half its kernel; 2 for DUF's 5×5 dynamic
filters) loses ``k`` on the sides where the tile has neighbours and nothing on the sides at
the frame's border, where its zero padding is the whole frame's own; its output is cropped
to that part at once. Layers that read several tensors (concatenation, addition) crop them to
the part they share. Point-wise layers keep the part they are given. So every output pixel
is the untiled model's, to float32 rounding, and the margin a tile needs is the exact
receptive radius (the longest path's reach: 8 for DUF-16L, whose dynamic filters reach 2
into the input frame beside paths that reach 8), not the sum of all reaches.

A tile's neighbours are given at run time (``interior``: 1 for each of top, bottom, left,
right that has one), so one trace serves every tile of every frame size. A model with a
layer this module does not follow (strided, dilated or transposed convolutions, warps by a
flow, reshapes, dense layers, anything not listed here) gets ``None``, and the caller tiles
the plain way. Zero and mirror paddings before "valid" convolutions (DUF's reduction blocks,
SRCNN) are applied at the frame's border only; bicubic upsampling (reach 3) and DUF's
dynamic filters are layers of known reach like the convolutions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil
from typing import Any

import keras

# layers that compute each output pixel from the same pixel of their inputs only
POINTWISE = (
    keras.layers.BatchNormalization, keras.layers.ReLU, keras.layers.Activation,
    keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.Softmax, keras.layers.Identity,
    keras.layers.Rescaling, keras.layers.Dropout,
)  # fmt: skip
MERGES = (
    keras.layers.Concatenate, keras.layers.Add, keras.layers.Subtract,
    keras.layers.Multiply, keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum,
)  # fmt: skip
CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.Conv3D)
PADDINGS = (keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D)


Lost = tuple[Fraction, Fraction, Fraction, Fraction]
NONE = (Fraction(0),) * 4


class UnknownReachError(Exception):
    """The model has a layer whose spatial reach this module cannot follow."""


@dataclass(frozen=True)
class Part:
    """Where a tensor's values are exact: ``lost`` LR pixels (top, bottom, left, right) off
    the tile input on the sides that have neighbours; ``axis`` is the height axis, ``scale``
    the tensor's pixels per LR pixel; ``padded``: a zero or mirror padding at the frame's
    border (rows, columns) not yet taken back by the valid convolutions it feeds, in the
    tensor's own pixels."""

    value: Any
    lost: Lost
    axis: int
    scale: int = 1
    padded: tuple[int, int] = (0, 0)


def _cut(part: Part, pixels: list[int], lost: Lost, interior: Any) -> Part:
    """``part`` less ``pixels`` (its own pixels: top, bottom, left, right) on the sides that
    have neighbours, now ``lost`` LR pixels off the tile."""
    import tensorflow as tf

    if not any(pixels):
        return Part(part.value, lost, part.axis, part.scale, part.padded)
    if min(pixels) < 0:
        raise UnknownReachError("a part would grow back")
    cut = tf.constant(pixels, tf.int32) * interior  # nothing comes off at the frame's border
    rank = len(part.value.shape)
    shape = tf.shape(part.value)
    begin = [0] * rank
    size = [-1] * rank
    a = part.axis
    begin[a], begin[a + 1] = cut[0], cut[2]
    size[a] = shape[a] - cut[0] - cut[1]
    size[a + 1] = shape[a + 1] - cut[2] - cut[3]
    value = tf.slice(part.value, tf.stack(begin), tf.stack(size))
    static = list(part.value.shape)
    static[a] = static[a + 1] = None
    value.set_shape(static)  # the slice's sizes are tensors: keep the other axes known
    return Part(value, lost, part.axis, part.scale, part.padded)


def _crop(part: Part, lost: Lost, interior: Any) -> Part:
    """``part`` cut down to ``lost`` (each side at least as large as the part's own)."""
    pixels = [(n - o) * part.scale for n, o in zip(lost, part.lost, strict=True)]
    if any(p.denominator != 1 for p in pixels):
        raise UnknownReachError("a crop falls between pixels")
    return _cut(part, [int(p) for p in pixels], lost, interior)


def _grow(lost: Lost, reach: tuple[Fraction | int, Fraction | int]) -> Lost:
    ry, rx = Fraction(reach[0]), Fraction(reach[1])
    return (lost[0] + ry, lost[1] + ry, lost[2] + rx, lost[3] + rx)


def _widest(parts: list[Part]) -> Lost:
    lost = parts[0].lost
    for p in parts[1:]:
        lost = (max(lost[0], p.lost[0]), max(lost[1], p.lost[1]), max(lost[2], p.lost[2]),
                max(lost[3], p.lost[3]))  # fmt: skip
    return lost


def _convolution(layer: Any, part: Part, interior: Any) -> Part:
    """A stride-1 convolution loses half its kernel where the tile has neighbours; "same"
    pads at the frame's border as the whole frame does, "valid" takes its reach from a zero
    or mirror padding before it (DUF's unpadded-in-time blocks, SRCNN's mirrored input)."""
    size = tuple(int(k) for k in layer.kernel_size[-2:])
    if any(int(s) != 1 for s in layer.strides) or any(int(d) != 1 for d in layer.dilation_rate):
        raise UnknownReachError(f"{layer.name} is strided or dilated")
    if any(k % 2 == 0 for k in size) or layer.data_format != "channels_last":
        raise UnknownReachError(f"{layer.name} has an even kernel or is channels-first")
    reach = (size[0] // 2, size[1] // 2)
    padded = part.padded
    if layer.padding == "valid":
        if reach[0] > padded[0] or reach[1] > padded[1]:
            raise UnknownReachError(f"{layer.name} shrinks the whole frame")
        padded = (padded[0] - reach[0], padded[1] - reach[1])
    elif layer.padding != "same":
        raise UnknownReachError(f"{layer.name} pads {layer.padding!r}")
    axis = len(part.value.shape) - 3
    out = Part(layer(part.value), part.lost, axis, part.scale, padded)
    lost = _grow(part.lost, (Fraction(reach[0], part.scale), Fraction(reach[1], part.scale)))
    if layer.padding == "same":
        return _crop(out, lost, interior)
    # "valid": the neighbours' pixels went into the outermost outputs
    return Part(out.value, lost, axis, part.scale, padded)


def _padding(layer: Any, part: Part, interior: Any) -> Part:
    """A zero or mirror padding, applied at the frame's border only: where the tile has
    neighbours their pixels are the padding."""
    import tensorflow as tf

    from vsrdata.vsr_models.layers import ReflectPad

    if isinstance(layer, ReflectPad):
        pads, mode = (layer.pad, layer.pad), "REFLECT"
    else:
        (top, bottom), (left, right) = layer.padding[-2:]
        if (top, left) != (bottom, right):
            raise UnknownReachError(f"{layer.name} pads unevenly")
        pads, mode = (int(top), int(left)), "CONSTANT"
    border = 1 - interior
    rows, cols = pads[0] * border[:2], pads[1] * border[2:]
    widths = [[0, 0]] * len(part.value.shape)
    widths[part.axis], widths[part.axis + 1] = rows, cols
    if isinstance(layer, keras.layers.ZeroPadding3D):  # its time padding applies everywhere
        time = int(layer.padding[0][0]), int(layer.padding[0][1])
        widths[1] = list(time)
    value = tf.pad(part.value, tf.stack([tf.convert_to_tensor(w) for w in widths]), mode=mode)
    padded = (part.padded[0] + pads[0], part.padded[1] + pads[1])
    return Part(value, part.lost, part.axis, part.scale, padded)


def _pad_ring(part: Part, lost: Lost, interior: Any) -> Part:
    """``part`` grown to ``lost`` with zeros on the sides that have neighbours."""
    import tensorflow as tf

    pixels = [(o - n) * part.scale for n, o in zip(lost, part.lost, strict=True)]
    if any(p.denominator != 1 or p < 0 for p in pixels):
        raise UnknownReachError("a padding falls between pixels")
    ring = tf.constant([int(p) for p in pixels], tf.int32) * interior
    widths = [tf.zeros(2, tf.int32)] * len(part.value.shape)
    widths[part.axis], widths[part.axis + 1] = ring[:2], ring[2:]
    return Part(tf.pad(part.value, tf.stack(widths)), lost, part.axis, part.scale)


def _gather(layer: Any, parts: list[Part], reaches: list[int], axis: int, scale: int,
            interior: Any) -> Part:  # fmt: skip
    """A layer reading several inputs of the same extent, input ``i`` up to ``reaches[i]`` LR
    pixels around each output pixel (DUF's dynamic upsampling: the frame 2, its filters 0).
    Each input is cut to what the output needs plus its reach (to its own pixel grid); those
    left smaller get a ring of zeros so that all cover the same pixels, and the output's ring
    that the zeros or the layer's own border handling touched is cut off afterwards."""
    if any(p.padded != (0, 0) for p in parts):
        raise UnknownReachError(f"{layer.name} reads a padding")
    out = _widest(
        [Part(None, _grow(p.lost, (k, k)), p.axis) for p, k in zip(parts, reaches, strict=True)]
    )
    cuts = []
    for part, reach in zip(parts, reaches, strict=True):
        need = _grow(out, (-reach, -reach))  # down to the part's own pixel grid
        grid = tuple(Fraction(int(n * part.scale), part.scale) for n in need)
        cuts.append(_crop(part, grid, interior))  # type: ignore[arg-type]
    common = tuple(min(c.lost[i] for c in cuts) for i in range(4))
    values = [_pad_ring(c, common, interior).value for c in cuts]  # type: ignore[arg-type]
    return _crop(Part(layer(*values), common, axis, scale), out, interior)  # type: ignore[arg-type]


def _pointwise(layer: Any) -> bool:
    from vsrdata.vsr_models import layers as ours
    from vsrdata.vsr_models.fold import NormRelu

    if isinstance(layer, keras.layers.PReLU):  # one slope per channel, not per pixel
        return all(int(n) == 1 for n in layer.alpha.shape[:-1])
    if isinstance(layer, keras.layers.Softmax):  # over the channels only
        return layer.axis in (-1, [-1], (-1,))
    return isinstance(layer, (*POINTWISE, NormRelu, ours.TrimTime, ours.RgbToY, ours.MeanShift))


def _layer(layer: Any, inputs: list[Part], args: Any, kwargs: Any, interior: Any) -> Part:
    """One node: its output's part, from its inputs' parts."""
    from vsrdata.vsr_models import layers as ours

    first = inputs[0]
    if isinstance(layer, CONVOLUTIONS):
        return _convolution(layer, first, interior)
    if isinstance(layer, (*PADDINGS, ours.ReflectPad)):
        return _padding(layer, first, interior)
    if _pointwise(layer):
        return Part(layer(*args, **kwargs), first.lost, first.axis, first.scale, first.padded)
    if isinstance(layer, ours.DynamicUpsampling):  # frame [B, h, w, C], filters [B, h, w, ...]
        return _gather(layer, inputs, [2, 0], 1, layer.scale, interior)
    if isinstance(layer, ours.LumaOverBicubic):  # HR luma, LR window
        return _gather(layer, inputs, [0, ours.REACH], 1, layer.scale, interior)
    if isinstance(layer, ours.BicubicUpsampling | ours.BicubicFrames):
        return _gather(layer, inputs, [ours.REACH], first.axis, layer.scale, interior)
    if any(p.padded != (0, 0) for p in inputs):
        raise UnknownReachError(f"{layer.name} reads a padding")
    if isinstance(layer, (*MERGES, ours.WeightedSum)):
        if isinstance(layer, keras.layers.Concatenate) and layer.axis != -1:
            raise UnknownReachError(f"{layer.name} concatenates along axis {layer.axis}")
        if len({(p.axis, p.scale) for p in inputs}) != 1:
            raise UnknownReachError(f"{layer.name} merges tensors of different layouts")
        lost = _widest(inputs)
        values = [_crop(p, lost, interior).value for p in inputs]
        return Part(layer(values, **kwargs), lost, first.axis, first.scale)
    frames = (ours.CentreFrame, ours.FrameAt, ours.StackFrames, ours.TapSoftmax)
    if isinstance(layer, frames) and first.axis == 2:  # [B, T, H, W, ...] -> [B, H, W, ...]
        return Part(layer(first.value), first.lost, 1, first.scale)
    if isinstance(layer, ours.DepthToSpace):
        return Part(layer(first.value), first.lost, 1, first.scale * layer.scale)
    raise UnknownReachError(f"{layer.name} ({type(layer).__name__}) is not known to tile exactly")


@dataclass(frozen=True)
class TileForward:
    """A model that runs on one tile: ``forward(window, interior)`` takes the LR window
    [B, T, h, w, C] float32 (the tile and ``radius`` pixels of context on each side that has
    neighbours) and ``interior`` (int32 [4]: 1 for each of top, bottom, left, right that has
    neighbours, 0 at the frame's border) and returns the output of the tile's pixels, without
    the context on the interior sides: [B, (h - context)·r, (w - context)·r, C]."""

    forward: Callable[[Any, Any], Any]
    radius: int


def _run(model: Any, window: Any, interior: Any) -> tuple[Any, int]:
    """The model's output on ``window``, cropped to the tile's pixels, and the context (LR
    pixels) the tile loses on each side that has neighbours: the exact receptive radius."""
    parts: dict[int, Part] = {}
    (inp,) = model.inputs
    parts[id(inp)] = Part(window, NONE, len(inp.shape) - 3)
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.operation
            if isinstance(layer, keras.layers.InputLayer):
                continue
            inputs = [parts[id(t)] for t in node.input_tensors]
            values = {id(t): parts[id(t)].value for t in node.input_tensors}
            args, kwargs = node.arguments.fill_in(values)
            kwargs.pop("training", None)
            (tensor,) = node.outputs
            parts[id(tensor)] = _layer(layer, inputs, args, kwargs, interior)
    (output,) = model.outputs
    result = parts[id(output)]
    if result.padded != (0, 0) or result.axis != 1 or len(result.value.shape) != 4:
        raise UnknownReachError("the model's output is not an image")
    radius = ceil(max(result.lost))  # whole LR pixels
    return _crop(result, (Fraction(radius),) * 4, interior).value, radius


def tile_forward(model: Any) -> TileForward | None:
    """``model`` (functional, one input [B, T, H, W, C], one output [B, H·r, W·r, C]) as a
    :class:`TileForward`, or None when a layer's reach cannot be followed (see the module)."""
    import tensorflow as tf

    from vsrdata.vsr_models.fold import frozen

    if not hasattr(model, "_nodes_by_depth") or len(model.inputs) != 1:
        return None
    if len(model.outputs) != 1 or len(model.inputs[0].shape) != 5:
        return None
    frames, channels = model.inputs[0].shape[1], model.inputs[0].shape[-1]
    spec = [tf.TensorSpec((None, frames, None, None, channels), model.inputs[0].dtype),
            tf.TensorSpec((4,), tf.int32)]  # fmt: skip
    radius: list[int] = []

    def forward(window: Any, interior: Any) -> Any:
        out, reach = _run(model, window, interior)
        radius.append(reach)
        return out

    try:  # traced once, here: every tile runs this graph, its weights constants
        graph = frozen(forward, spec, model.weights)
    except UnknownReachError:
        return None
    return TileForward(graph, radius[0])
