"""What an exported model is: a manifest inside its ``.keras`` file (no TensorFlow import).

A ``.keras`` file is a zip archive (Keras reads its ``config.json``, ``metadata.json`` and
``model.weights.h5`` and ignores anything else); the manifest is one more entry,
``vsrdata-manifest.json``, so it travels with the file wherever the file is copied, renamed
or uploaded, which a sidecar would not. Fields:

- ``model``, ``options``: the registry name and its option values; ``scale``, ``frames``
  (window length), ``colour``, ``upsampling``: from the spec;
- ``degradation`` and ``dataset_sha256`` (of its ``dataset.json``): the data it learnt from;
- ``steps``, ``best``: the step exported and the best validation (PSNR-Y against bicubic);
- ``vsrdata``: the version that wrote it.

- ``training``: learning rate, schedule, loss, optimizer, batch and patch it was trained with;
- ``categories`` and ``init``: what a run was restricted to and started from (``vsrdata
  train --categories / --init``); ``finetuned``: the video a model was fine-tuned on
  (``vsrdata finetune``), its frames, steps and learning rate.

Older files have no manifest: :func:`read_manifest` returns None and callers fall back to
probing the model.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from vsrdata.errors import InputError

ENTRY = "vsrdata-manifest.json"


def add_manifest(path: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` into the ``.keras`` archive ``path`` (replacing an older one)."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        present = ENTRY in archive.namelist()
    if present:  # zip files cannot drop an entry: copy the others
        tmp = path.with_name(path.name + ".manifest-tmp")
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
            for item in src.infolist():
                if item.filename != ENTRY:
                    dst.writestr(item, src.read(item.filename))
        tmp.replace(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ENTRY, json.dumps(manifest, indent=2, sort_keys=True))


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of a ``.keras`` file, or None (an older file, or not a vsrdata model)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if ENTRY not in archive.namelist():
                return None
            data = json.loads(archive.read(ENTRY))
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def save_model(model: Any, path: str | Path, manifest: dict[str, Any] | None = None) -> Path:
    """Save a Keras model as ``path`` (.keras) with its manifest inside, atomically: written
    as a hidden partial file beside it, then renamed (a reader never sees half a model)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}-partial.keras")
    model.save(partial)
    if manifest is not None:
        add_manifest(partial, manifest)
    partial.replace(path)
    return path


def load_model(path: str | Path) -> Any:
    """A ``.keras`` model saved by vsrdata (its custom layers registered first)."""
    import keras

    import vsrdata.vsr_models.layers  # noqa: F401  (registers every custom layer)

    path = Path(path)
    if not path.is_file():
        raise InputError(f"model {path} does not exist (give a .keras file or 'bicubic')")
    try:
        return keras.models.load_model(path)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise InputError(f"cannot load {path} as a Keras model: {exc}") from None


def provenance(path: str | Path) -> dict[str, Any]:
    """What a model started from (``init`` in the manifest of a model trained or fine-tuned
    from it): the file, its digest, and what that file's manifest says it was."""
    from vsrdata.common.files import sha256_file

    before = read_manifest(path) or {}
    keys = ("model", "options", "scale", "dataset", "dataset_sha256", "steps", "categories")
    return {"path": str(path), "sha256": sha256_file(path),
            **{k: before[k] for k in keys if k in before}}  # fmt: skip
