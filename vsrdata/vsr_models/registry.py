"""Model registry: ``build_model(name, scale)``; CLI choices come from :data:`MODELS`.

Importing this module does not import TensorFlow (the CLI lists the names at start-up);
a model's module is imported when it is built. A new model adds one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from vsrdata.errors import UsageError

# name -> (module, builder, fixed keyword arguments)
MODELS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "duf-16l": ("vsrdata.vsr_models.duf", "build_duf", {"name": "duf-16l"}),
    "duf-28l": ("vsrdata.vsr_models.duf", "build_duf", {"name": "duf-28l"}),
    "duf-52l": ("vsrdata.vsr_models.duf", "build_duf", {"name": "duf-52l"}),
    "bicubic": ("vsrdata.vsr_models.bicubic", "build_bicubic", {}),
}
TRAINABLE = tuple(name for name in MODELS if name != "bicubic")
SCALES = (2, 3, 4)


def build_model(name: str, scale: int = 4, **options: Any) -> Any:
    """A ``keras.Model`` taking [B, 7, H, W, 3] float32 in [0, 1], returning [B, H·r, W·r, 3]."""
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if scale not in SCALES:
        raise UsageError(f"scale must be one of {SCALES}, got {scale}")
    module, builder, fixed = MODELS[name]
    return getattr(importlib.import_module(module), builder)(scale=scale, **fixed, **options)
