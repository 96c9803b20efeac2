"""Upscalers: a model (or bicubic) applied to one LR window, tiled when frames are large.

An upscaler maps a uint8 window [T, h, w, 3] to the uint8 HR centre frame [h·r, w·r, 3]
(rounded like a saved frame). ``bicubic`` is MATLAB ``imresize`` of the uint8 centre frame,
the baseline of the published tables; a Keras model runs on float32 [0, 1] input.

Tiling: a frame wider or taller than ``tile`` LR pixels is cut into tiles of ``tile``
pixels, each run with extra pixels of context on the sides that have neighbours, and only the
tile's own part of the output is kept. Where every layer's reach is known
(:func:`vsrdata.vsr_models.tiling.tile_forward`: DUF and the other networks of stride-1
convolutions) each layer computes only the part of the tile its output needs, with the exact
receptive radius as context (8 LR pixels for DUF-16L): the same outputs as untiled, to
float32 rounding, at 1.16× the untiled multiply-adds for 64-pixel tiles of a 144×180 frame
instead of 1.56×. Other models (and an ``overlap`` given below the exact radius,
which trades exactness for speed) run whole on each tile with ``overlap`` pixels of context
(default: the registered bound, or :func:`receptive_radius` for a model built in memory).

Whole DUF windows share work with the windows before them (:mod:`vsrdata.vsr_models.reuse`):
consecutive windows of a clip hold 6 of the same 7 frames, and the stem and the first dense
blocks' per-frame results are kept under digests of those frames, so a clip's window
computes about 20% fewer multiply-adds than a window on its own, with the same outputs to
float32 rounding. ``reuse=False`` computes every window in full.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vsrdata.common.images import centre_frames, to_uint8
from vsrdata.errors import UsageError
from vsrdata.preprocess.degrade import imresize
from vsrdata.vsr_models.manifest import load_model, read_manifest

if TYPE_CHECKING:
    from vsrdata.vsr_models.reuse import WindowReuse
    from vsrdata.vsr_models.tiling import TileForward

TEMPORAL_PADS = ("reflect", "replicate", "zero")


def receptive_radius(model: Any) -> int:
    """An upper bound of how far (LR pixels) an output pixel looks: the spatial half-widths
    of every convolution on the longest path (all of them, for DUF's dense blocks) plus the
    reach of the final resampling (2 for DUF's 5×5 dynamic filters, 3 for bicubic)."""
    radius = 0
    for layer in model.layers:
        size = getattr(layer, "kernel_size", None)
        if size is not None:
            radius += (int(size[-1]) - 1) // 2
        name = type(layer).__name__
        radius += {"DynamicUpsampling": 2, "BicubicUpsampling": 3}.get(name, 0)
    return radius


MIN_TILE = 16


def check_tile(tile: int) -> None:
    """``--tile`` is 0 (whole frames) or at least :data:`MIN_TILE` LR pixels."""
    if tile < 0 or 0 < tile < MIN_TILE:
        raise UsageError(f"--tile is 0 (whole frames) or at least {MIN_TILE} LR pixels")


def _spec(name: str | None) -> Any:
    """The registered spec of a model name (None: no name, or not registered here)."""
    from vsrdata.vsr_models.registry import spec

    if name is None:
        return None
    try:
        return spec(name)
    except UsageError:
        return None


class Bicubic:
    """The bicubic baseline (no weights)."""

    name = "bicubic"

    def __init__(self, scale: int, frames: int = 7) -> None:
        self.scale, self.frames = scale, frames

    def __call__(self, window: np.ndarray) -> np.ndarray:
        return imresize(window[len(window) // 2], self.scale)


class KerasUpscaler:
    """A saved Keras model (``.keras``) or a built one, run on one window at a time, with its
    weights as they are when the upscaler is made. ``reuse``: a DUF model's whole windows
    share per-frame work with the windows before (see the module)."""

    def __init__(
        self, model: Any, name: str | None = None, tile: int = 0, overlap: int | None = None,
        exact_tiles: bool = True, reuse: bool = True,
    ) -> None:  # fmt: skip
        from vsrdata.vsr_models.fold import fold_batch_norm

        self.manifest: dict[str, Any] | None = None
        if isinstance(model, str | Path):
            self.manifest = read_manifest(model)
            model = load_model(model)
        self.model = model
        self.name = name or model.name
        self.frames = int(model.input_shape[1])
        known = self.manifest or {}
        if "scale" in known:
            self.scale = int(known["scale"])
        else:  # an older file: find the scale by running the model once
            probe = model(np.zeros((1, self.frames, 8, 8, 3), np.float32), training=False)
            self.scale = int(probe.shape[1]) // 8
        registered = _spec(known.get("model"))
        self._overlap_given = overlap is not None
        if overlap is None:
            overlap = receptive_radius(model) if registered is None else registered.radius
        check_tile(tile)
        if overlap < 0:
            raise UsageError(f"the tile overlap must be >= 0, got {overlap}")
        # tiles start at multiples of the model's alignment (strided layers: see ModelSpec)
        align = registered.align if registered is not None else 1
        if tile:
            tile = max(align, tile // align * align)
        overlap = -(-overlap // align) * align
        self.tile, self.overlap = tile, overlap
        # batch norms folded into their convolutions: the same function, fewer passes; the
        # weights as constants of one graph for every frame size (_graph, fold.frozen)
        inference = fold_batch_norm(model)
        self._inference = inference
        self._tiles: TileForward | None = None
        self._tiles_known = not exact_tiles  # False: the whole model on every tile
        self._share = reuse  # False: every whole window computed in full

    @functools.cached_property
    def _graph(self) -> Any:
        """The inference graph, traced on first use (an upscaler may only be asked its scale)."""
        import tensorflow as tf

        from vsrdata.vsr_models.fold import frozen

        inference = self._inference
        shape = (None, *tuple(inference.input_shape)[1:])
        return frozen(lambda x: inference(x, training=False), [tf.TensorSpec(shape, tf.float32)],
                      inference.weights)  # fmt: skip

    def _run(self, x: np.ndarray) -> Any:
        """The model's output on a float32 batch, through its frozen graph (see fold.frozen)."""
        return self._graph(x)

    @functools.cached_property
    def _reuse(self) -> WindowReuse | None:
        """DUF's per-frame work shared with the window before (made on first use), or None."""
        from vsrdata.vsr_models.reuse import WindowReuse

        return WindowReuse.of(self._inference) if self._share else None

    def _infer(self, window: np.ndarray) -> np.ndarray:
        if self._reuse is not None and window.dtype == np.uint8:
            return self._reuse(window)
        x = window[None].astype(np.float32) / 255.0
        return np.asarray(self._run(x))[0]

    def exact_tiles(self) -> TileForward | None:
        """The tile-cropped forward pass (made on first use), or None where the model's reach
        cannot be followed or a given ``overlap`` asks for less context than its exact
        radius (an approximation the caller chose)."""
        if not self._tiles_known:
            from vsrdata.vsr_models.tiling import tile_forward

            found = tile_forward(self._inference)
            short = found is not None and self._overlap_given and found.radius > self.overlap
            self._tiles = None if short else found
            self._tiles_known = True
        return self._tiles

    def float_output(self, window: np.ndarray) -> np.ndarray:
        """float32 [H, W, 3] output in [0, 1]-ish (unclipped), tiled if the frame is large.
        A window longer than the model's is cut to its centre frames."""
        window = centre_frames(window, self.frames)
        h, w = window.shape[1:3]
        if not self.tile or (h <= self.tile and w <= self.tile):
            return self._infer(window)
        exact = self.exact_tiles()
        r, t = self.scale, self.tile
        m = exact.radius if exact is not None else self.overlap
        x = window[None].astype(np.float32) / 255.0
        out = np.empty((h * r, w * r, 3), np.float32)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                ya, yb, xa, xb = max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m)
                tile = x[:, :, ya:yb, xa:xb]
                if exact is None:
                    part = np.asarray(self._run(tile))[0]
                else:  # the output starts after the context on the sides with neighbours
                    interior = np.array([ya > 0, yb < h, xa > 0, xb < w], np.int32)
                    part = np.asarray(exact.forward(tile, interior))[0]
                    ya, xa = ya + m * int(interior[0]), xa + m * int(interior[2])
                out[y0 * r : y1 * r, x0 * r : x1 * r] = part[
                    (y0 - ya) * r : (y1 - ya) * r, (x0 - xa) * r : (x1 - xa) * r
                ]
        return out

    def __call__(self, window: np.ndarray) -> np.ndarray:
        return to_uint8(self.float_output(window))


def name_models(specs: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """``(column name, spec)`` for each ``--model``: ``bicubic``, a ``.keras`` path, or
    ``NAME=PATH``.

    ``bicubic`` is the baseline every evaluation has: asking for it adds nothing. A path's
    name is its shortest suffix, from its folder and file stem on (``run/best``; a lone file
    is its stem), that no other model shares (``a/run/best`` and ``b/run/best``). The same
    path twice counts once; two models given the same NAME are an error.
    """
    unique: dict[str, tuple[str | None, str]] = {}  # resolved path -> (NAME or None, path)
    for spec in specs:
        label, sep, rest = spec.partition("=")
        explicit = bool(sep and label and rest and "/" not in label and not Path(spec).exists())
        if spec == "bicubic" and not explicit:
            continue
        entry = (label.strip(), rest) if explicit else (None, spec)
        key = str(Path(entry[1]).resolve())
        if key in unique and unique[key][0] != entry[0]:
            raise UsageError(f"{entry[1]} is given twice under different names")
        unique[key] = entry
    given = list(unique.values())
    parts = [[*Path(path).parent.parts, Path(path).stem] for _, path in given]
    taken = {"bicubic", *(label for label, _ in given if label)}

    def shortest_suffix(i: int) -> str:
        size = min(2, len(parts[i]))
        while size < len(parts[i]):
            suffix = parts[i][-size:]
            clash = any(parts[j][-size:] == suffix for j, (other, _) in enumerate(given)
                        if j != i and other is None)  # fmt: skip
            if not clash and "/".join(suffix) not in taken:
                break
            size += 1
        return "/".join(parts[i][-size:])

    result = [(label or shortest_suffix(i), path) for i, (label, path) in enumerate(given)]
    names = [n for n, _ in result]
    for name in names:
        if names.count(name) > 1 or name == "bicubic":
            raise UsageError(f"two models are named {name!r}; name them with --model NAME=PATH")
    return result


def make_upscaler(
    spec: str, scale: int, tile: int = 0, overlap: int | None = None, name: str | None = None
) -> Any:
    """``bicubic`` or the path of a ``.keras`` model (column ``name``; see :func:`name_models`)."""
    if spec == "bicubic":
        return Bicubic(scale)
    if name is None:
        ((name, spec),) = name_models([spec])
    upscaler = KerasUpscaler(spec, name=name, tile=tile, overlap=overlap)
    if upscaler.scale != scale:
        raise UsageError(
            f"{spec} upscales x{upscaler.scale} but the data is x{scale}; "
            f"use a x{scale} model or --scale {upscaler.scale}"
        )
    return upscaler


def source_index(t: int, n: int | None, pad: str) -> int | None:
    """The frame that stands at position ``t`` of a clip of ``n`` frames (None: unknown
    length, ``t`` not past the end), or None for a black frame.

    ``reflect`` mirrors without repeating the end frame (t = -1 is frame 1), ``replicate``
    repeats the end frame, ``zero`` uses black frames (the DUF release's test code).
    """
    if t >= 0 and (n is None or t < n):
        return t
    if pad == "zero":
        return None
    if pad == "replicate":
        return 0 if t < 0 else (n or 1) - 1
    if n is None:  # only the start can be reached before the length is known
        return -t
    period = 2 * (n - 1) if n > 1 else 1
    k = abs(t) % period
    return k if k < n else period - k


def _window(frame: Any, index: int, n: int | None, size: int, pad: str) -> np.ndarray:
    """The ``size`` frames centred on ``index``; ``frame(k)`` gives frame k of the clip."""
    half = size // 2
    picked = []
    for t in range(index - half, index + half + 1):
        k = source_index(t, n, pad)
        picked.append(np.zeros_like(frame(index)) if k is None else frame(k))
    return np.stack(picked)


def temporal_window(frames: list[np.ndarray], index: int, size: int, pad: str) -> np.ndarray:
    """The ``size`` frames centred on ``index``, padded past the clip's ends."""
    return _window(frames.__getitem__, index, len(frames), size, pad)


def streaming_windows(frames: Iterator[np.ndarray], size: int, pad: str) -> Iterator[np.ndarray]:
    """``temporal_window`` for every frame of a stream, holding only about ``size`` frames."""
    half = size // 2
    buffer: dict[int, np.ndarray] = {}
    done = 0

    def window(t: int, n: int | None) -> np.ndarray:
        stacked = _window(buffer.__getitem__, t, n, size, pad)
        for old in [k for k in buffer if k < t - 2 * half]:
            del buffer[old]
        return stacked

    count = 0
    for i, frame in enumerate(frames):
        buffer[i] = frame
        count = i + 1
        while done + half <= i:  # every frame the window needs has arrived
            yield window(done, None)
            done += 1
    while done < count:  # the last frames, padded now that the length is known
        yield window(done, count)
        done += 1
