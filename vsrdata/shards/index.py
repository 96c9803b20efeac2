"""``dataset.json``: the index of a dataset, and the only way readers find shards.

It holds the schema version, the software version, the build arguments, counts and bytes
per split and per category, every shard (path relative to the dataset, format, split,
samples, bytes, sha256), every skipped clip with its reason, and every partly decodable clip
that was used (frames decoded of those announced). It is assembled from the
work units' stats files in a fixed order and holds no timings, so the same inputs and
arguments give the same bytes whatever the engine or the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from vsrdata import __version__
from vsrdata.common.storage import cached_index, is_url
from vsrdata.errors import DatasetError
from vsrdata.shards.schema import FIELDS, SCHEMA_VERSION

INDEX_NAME = "dataset.json"
SPLIT_ORDER = ("train", "val", "test")


def _counter() -> dict[str, int]:
    return {"clips": 0, "samples": 0, "bytes": 0}


def assemble_index(build_args: dict[str, Any], units: list[dict[str, Any]]) -> dict[str, Any]:
    """The dataset index from the build arguments and the units' stats (in unit order)."""
    splits: dict[str, dict[str, Any]] = {}
    shards: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    partial: list[dict[str, Any]] = []
    for unit in units:
        split = splits.setdefault(unit["split"], {**_counter(), "categories": {}, "formats": {}})
        for clip in unit["clips"]:
            if clip["status"] == "skipped":
                skipped.append({"clip_id": clip["clip_id"], "reason": clip["reason"]})
                continue
            if clip["status"] == "partial":
                partial.append({k: clip[k] for k in ("clip_id", "frames", "announced")})
            cat = split["categories"].setdefault(clip["category"], _counter())
            for counter in (split, cat):
                counter["clips"] += 1
                counter["samples"] += clip["samples"]
                counter["bytes"] += clip["bytes"]
        for shard in unit["shards"]:
            shards.append(shard)
            fmt = split["formats"].setdefault(shard["format"], {"shards": 0, "bytes": 0})
            fmt["shards"] += 1
            fmt["bytes"] += shard["bytes"]
    ordered = {name: splits[name] for name in SPLIT_ORDER if name in splits}
    for split in ordered.values():
        split["categories"] = dict(sorted(split["categories"].items()))
    totals = _counter()
    for split in ordered.values():
        for key in totals:
            totals[key] += split[key]
    return {
        "format": "vsrdata-dataset",
        "schema_version": SCHEMA_VERSION,
        "software": {"name": "vsrdata", "version": __version__},
        "build": build_args,
        "features": {f.name: f.kind for f in FIELDS},
        "totals": totals,
        "splits": ordered,
        "categories": _by_category(ordered),
        "shards": shards,
        "skipped": sorted(skipped, key=lambda s: s["clip_id"]),
        # used, but their decoding ended early: frames decoded of those announced
        "partial": sorted(partial, key=lambda s: s["clip_id"]),
    }


def _by_category(splits: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per category: totals and the same counts per split."""
    cats: dict[str, dict[str, Any]] = defaultdict(lambda: {**_counter(), "splits": {}})
    for split_name, split in splits.items():
        for name, counts in split["categories"].items():
            cats[name]["splits"][split_name] = dict(counts)
            for key in ("clips", "samples", "bytes"):
                cats[name][key] += counts[key]
    return dict(sorted(cats.items()))


def load_index(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``<root>/dataset.json``; raise DatasetError if it is missing or newer.

    The file is read and parsed once per process while it stays the same file (same inode,
    size and mtime): a command's stages (checks, the input pipeline, validation) share one
    parse. The dict is shared too: treat it as read-only."""
    return _read_index(root)[0]


def index_sha256(root: str | os.PathLike[str]) -> str:
    """sha256 of ``<root>/dataset.json``, the dataset's fingerprint (the index names every
    shard by its checksum), from the same single read as :func:`load_index`."""
    return _read_index(root)[1]


_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any], str]] = {}


def _read_index(root: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    if is_url(root):  # object storage: read through the local cache (common.storage)
        root = cached_index(str(root), INDEX_NAME)
    path = Path(root) / INDEX_NAME
    try:
        st = path.stat()
    except OSError:
        raise DatasetError(
            f"{root} is not a vsrdata dataset (no {INDEX_NAME}); "
            "build one with `vsrdata build SOURCE --out DIR`, or finish an interrupted build "
            "by running the same command again"
        ) from None
    key, resolved = (st.st_ino, st.st_size, st.st_mtime_ns), path.resolve()
    cached = _cache.get(resolved)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    data = path.read_bytes()
    try:
        index = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc}); rebuild the dataset") from None
    version = index.get("schema_version") if isinstance(index, dict) else None
    if version != SCHEMA_VERSION:
        raise DatasetError(
            f"{path} has schema version {version}; this vsrdata ({__version__}) reads version "
            f"{SCHEMA_VERSION}: rebuild the dataset or install the matching vsrdata"
        )
    digest = hashlib.sha256(data).hexdigest()
    _cache[resolved] = (key, index, digest)
    return index, digest


# schema kinds as Hugging Face feature declarations: PNG bytes decode as images (``hr`` an
# ``Image``, ``lr`` a list of them), so ``datasets`` returns PIL images and the Hub's viewer
# shows the frames
_HF_TYPES = {"string": "dtype: string", "int32": "dtype: int32", "float32": "dtype: float32",
             "bytes": "dtype: image", "bytes_list": "sequence: image",
             "int32_list": "sequence: int32"}  # fmt: skip


def _hf_features() -> list[str]:
    from vsrdata.shards.schema import FIELDS

    return [line for f in FIELDS
            for line in (f"  - name: {f.name}", f"    {_HF_TYPES[f.kind]}")]  # fmt: skip


def hf_readme(index: dict[str, Any]) -> str | None:
    """A dataset card whose YAML lets Hugging Face ``datasets`` load the Parquet splits."""
    splits = [s["split"] for s in index["shards"] if s["format"] == "parquet"]
    if not splits:
        return None
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in dict.fromkeys(splits):
        lines += [f"  - split: {split}", f"    path: parquet/{split}/*.parquet"]
    lines += ["dataset_info:", "  features:", *_hf_features()]
    lines += ["---", "", "# vsrdata dataset", ""]
    lines += [
        "HR/LR video super-resolution samples built by vsrdata "
        f"{index['software']['version']} (schema version {index['schema_version']}).",
        "`dataset.json` is the index: build arguments, counts and every shard with its sha256.",
        "",
    ]
    return "\n".join(lines)
