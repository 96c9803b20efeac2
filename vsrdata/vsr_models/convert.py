"""Import the official DUF release's pretrained parameters (yhjo09/VSR-DUF) into Keras.

The release ships ``params_16L_x2.h5``, ``params_16L_x3.h5``, ``params_16L_x4.h5``,
``params_28L_x4.h5`` and ``params_52L_x4.h5``: HDF5 files whose group ``params`` holds one
dataset per TensorFlow 1 variable, named by the variable's name with ``_`` doubled and
``/`` written as ``_`` (``G/Rbn1a/moving_mean:0`` is stored as ``G_Rbn1a_moving__mean:0``).
Variables of the generator, with their shapes (F the block's input channels, G the growth):

```
G/conv1/{W,b}                       stem, [1, 3, 3, 3, 64]
G/Rbn{i}a/{gamma,beta,moving_mean,moving_variance}   [F]
G/Rconv{i}a/{W,b}                   [1, 1, 1, F, F]
G/Rbn{i}b/...                       [F]
G/Rconv{i}b/{W,b}                   [3, 3, 3, F, G]      i = 1 .. blocks + 3
G/fbn1/..., G/conv2/{W,b}           final BN and 1×3×3 conv to 256
G/rconv{1,2}/{W,b}                  residual head, 256 -> 256 -> 3·r²
G/fconv{1,2}/{W,b}                  filter head, 256 -> 512 -> 25·r²
```
Conv kernels are [t, h, w, in, out] as in Keras, and the channel orders (25 taps × r² sub-
pixels for the filters, depth-to-space for the residual) are TensorFlow's, so every tensor
maps onto :func:`vsrdata.vsr_models.duf.duf_network` unchanged. The number of ``Rbn{i}a``
layers gives the variant (6: 16L, 12: 28L, 24: 52L) and ``rconv2``'s width the scale.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.errors import InputError
from vsrdata.vsr_models.duf import VARIANTS

_BN = {"gamma": 0, "beta": 1, "moving_mean": 2, "moving_variance": 3}
_CONV = {"W": 0, "b": 1}
_FIXED = {
    "conv1": "stem", "fbn1": "final_bn", "conv2": "final_conv", "rconv1": "res_conv1",
    "rconv2": "res_conv2", "fconv1": "filter_conv1", "fconv2": "filter_conv2",
}  # fmt: skip
_BLOCK = re.compile(r"R(bn|conv)(\d+)([ab])$")


def decode_key(key: str) -> str:
    """An HDF5 key of the release -> the TF1 variable name (``_`` -> ``/``, ``__`` -> ``_``)."""
    return "_".join(part.replace("_", "/") for part in key.split("__"))


def encode_name(name: str) -> str:
    """The inverse of :func:`decode_key`."""
    return name.replace("_", "__").replace("/", "_")


def _variant(blocks: int) -> str:
    for name, (dense, _) in VARIANTS.items():
        if dense == blocks:
            return name
    raise InputError(f"{blocks + 3} dense blocks match no DUF variant (16L: 6, 28L: 12, 52L: 24)")


def keras_target(variable: str, dense_blocks: int) -> tuple[str, int] | None:
    """(Keras layer name, weight index) for an official variable; None for non-weights."""
    if not variable.startswith("G/") or "filter_localexpand" in variable:
        return None
    layer, _, weight = variable[2:].removesuffix(":0").rpartition("/")
    block = _BLOCK.match(layer)
    if block:
        kind, i, half = block.group(1), int(block.group(2)), block.group(3)
        prefix = f"dense{i}" if i <= dense_blocks else f"reduce{i - dense_blocks}"
        layer = f"{prefix}_{kind}{'1' if half == 'a' else '2'}"
    elif layer in _FIXED:
        layer = _FIXED[layer]
    else:
        raise InputError(f"unexpected variable {variable!r} in the parameter file")
    table = _BN if "bn" in layer else _CONV
    if weight not in table:
        raise InputError(f"unexpected variable {variable!r} in the parameter file")
    return layer, table[weight]


def read_official(path: str | Path) -> dict[str, np.ndarray]:
    """The release's parameters by TF1 variable name."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "params" not in f:
                raise InputError(f"{path} has no 'params' group: not a DUF release file")
            return {decode_key(k): np.asarray(v[()]) for k, v in f["params"].items()}
    except OSError as exc:
        raise InputError(f"cannot read {path} as HDF5: {exc}") from None


def convert_official(path: str | Path) -> Any:
    """A Keras DUF model carrying the parameters of an official ``params_*.h5`` file."""
    params = read_official(path)
    blocks = sum(1 for name in params if re.fullmatch(r"G/Rbn\d+a/gamma:0", name)) - 3
    variant = _variant(blocks)
    head = params.get("G/rconv2/W:0")
    if head is None:
        raise InputError(f"{path} lacks G/rconv2/W: not a DUF generator")
    scale = round((head.shape[-1] / 3) ** 0.5)
    from vsrdata.vsr_models.registry import build_model

    model = build_model(variant, scale)
    slots: dict[str, list[Any]] = {layer.name: layer.get_weights() for layer in model.layers}
    filled = set()
    for name, value in params.items():
        target = keras_target(name, blocks)
        if target is None:
            continue
        layer, index = target
        expected = slots[layer][index].shape
        if value.shape != expected:
            raise InputError(f"{name} has shape {value.shape}; {variant} expects {expected}")
        slots[layer][index] = value
        filled.add(target)
    missing = [
        f"{layer}[{i}]" for layer, ws in slots.items() for i in range(len(ws))
        if (layer, i) not in filled
    ]  # fmt: skip
    if missing:
        raise InputError(f"{path} lacks parameters for {', '.join(missing[:5])}")
    for layer in model.layers:
        if slots[layer.name]:
            layer.set_weights(slots[layer.name])
    return model
