"""The training input's augmentation in numpy, for readers without TensorFlow (PyTorch).

:func:`augment` does exactly what :func:`vsrdata.vsr_models.data.augment_with_draws` does in
TensorFlow, from the same six random integers: an aligned random crop, a random dihedral
transform (flip rows, flip columns, transpose) and a random reversal in time (the centre
frame stays). ``corner`` is the ``bd`` alignment: its LR grid samples HR pixels 0, s, 2s...,
so a mirrored axis takes its HR window s - 1 pixels earlier, which needs one LR pixel of
room around the crop; without it that axis is never mirrored. Centred degradations (``bi``)
need no shift. The draws of a sample come from ``numpy.random.default_rng((seed, epoch,
index))``, so a sample is augmented the same way whichever worker or rank reads it.
"""

from __future__ import annotations

import numpy as np

DRAWS = 6
CORNER_ALIGNED = frozenset({"bd"})  # degradations whose LR grid samples HR pixels 0, s, 2s...


def draws_for(seed: int, epoch: int, index: int) -> np.ndarray:
    """The six integers (in [0, 2^30)) that augment sample ``index`` in ``epoch``."""
    return np.random.default_rng((seed, epoch, index)).integers(0, 2**30, DRAWS)


def augment(
    lr: np.ndarray, hr: np.ndarray, draws: np.ndarray, scale: int, patch: int | None = None,
    corner: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``lr`` [T, P, P, C], ``hr`` [P·s, P·s, C] -> a ``patch`` LR crop and its HR target."""
    stored = lr.shape[1]
    patch = stored if patch is None else patch
    can_mirror = not corner or patch < stored
    flips = [bool(draws[i] % 2) and can_mirror for i in (0, 1)]
    window = []
    for axis, flip in enumerate(flips):
        low = int(flip) if corner else 0
        start = low + int(draws[2 + axis]) % (stored - patch + 1 - low)
        shift = (scale - 1) * int(flip) if corner else 0
        window.append((start, start * scale - shift))
    (y, hy), (x, hx) = window
    lr = lr[:, y : y + patch, x : x + patch]
    hr = hr[hy : hy + patch * scale, hx : hx + patch * scale]
    for axis, flip in enumerate(flips):
        if flip:
            lr, hr = np.flip(lr, axis + 1), np.flip(hr, axis)
    if draws[4] % 2:
        lr, hr = lr.transpose(0, 2, 1, 3), hr.transpose(1, 0, 2)
    if draws[5] % 2:
        lr = lr[::-1]
    return np.ascontiguousarray(lr), np.ascontiguousarray(hr)
