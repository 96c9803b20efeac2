"""Model registry: ``build_model(name, scale)``; CLI choices come from :data:`MODELS`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import keras

from vsrdata.errors import UsageError
from vsrdata.vsr_models.bicubic import build_bicubic
from vsrdata.vsr_models.duf import VARIANTS, build_duf

MODELS: dict[str, Callable[..., keras.Model]] = {
    **{name: partial(build_duf, name) for name in VARIANTS},
    "bicubic": build_bicubic,
}
SCALES = (2, 3, 4)


def build_model(name: str, scale: int = 4, **options: Any) -> keras.Model:
    """A model taking [B, 7, H, W, 3] float32 in [0, 1] and returning [B, H·r, W·r, 3]."""
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if scale not in SCALES:
        raise UsageError(f"scale must be one of {SCALES}, got {scale}")
    return MODELS[name](scale=scale, **options)
