"""The WebDataset format: POSIX tar shards whose members are grouped into samples by key.

One sample is ``<key>.lr.00.png`` ... ``<key>.lr.<T-1>.png`` (the LR window), ``<key>.hr.png``
(the HR centre frame) and ``<key>.json`` (every other field of the schema, ``sample_id``
included). The key is the ``sample_id`` with every character other than letters, digits,
``_`` and ``-`` written as ``%XX``: WebDataset splits a member name at its first dot and a
sample id holds dots, slashes and colons (``synth:pan/pan_008.mp4/0/12/0``), so escaping keeps
keys unique, reversible and free of those separators. Members carry fixed metadata (mtime 0,
uid/gid 0, mode 0644), so a shard's bytes depend on its samples alone: rebuilding gives the
same sha256.

``webdataset.WebDataset(urls)`` reads these shards as they are; so does ``tar``.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from vsrdata.shards.schema import FIELD_NAMES, FIELDS, IMAGE_FIELDS

EXTENSION = "tar"


def sample_key(sample_id: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in sample_id)  # fmt: skip


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_sample(tar: tarfile.TarFile, sample: dict[str, Any]) -> None:
    key = sample_key(sample["sample_id"])
    for t, png in enumerate(sample["lr"]):
        _add(tar, f"{key}.lr.{t:02d}.png", png)
    _add(tar, f"{key}.hr.png", sample["hr"])
    fields = {f.name: _as_kind(sample[f.name], f.kind) for f in FIELDS
              if f.name not in IMAGE_FIELDS}  # fmt: skip
    _add(tar, f"{key}.json", json.dumps(fields, sort_keys=True).encode())


def _as_kind(value: Any, kind: str) -> Any:
    """A field as JSON holds it, at the schema's precision (a float32 field is the float32
    value, as Parquet and TFRecord store it)."""
    if kind == "float32":
        return float(np.float32(value))
    if kind == "int32":
        return int(value)
    if kind == "int32_list":
        return [int(v) for v in value]
    return str(value)


def open_writer(fh: BinaryIO) -> tarfile.TarFile:
    return tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT)


def iter_rows(path: Path | str) -> Iterator[dict[str, Any]]:
    """The samples of one shard as schema dicts (lr: list of PNG bytes), in shard order."""
    current: str | None = None
    parts: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, suffix = member.name.partition(".")
            if key != current and current is not None:
                yield _row(parts)
                parts = {}
            current = key
            handle = tar.extractfile(member)
            assert handle is not None
            parts[suffix] = handle.read()
    if current is not None:
        yield _row(parts)


def _row(parts: dict[str, bytes]) -> dict[str, Any]:
    row = json.loads(parts["json"])
    frames = sorted(k for k in parts if k.startswith("lr."))
    row["lr"] = [parts[k] for k in frames]
    row["hr"] = parts["hr.png"]
    return {name: row[name] for name in FIELD_NAMES}
