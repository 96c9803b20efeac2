"""The sample schema, shared field for field by the Parquet and TFRecord shards.

One sample is one temporal window of one crop (DESIGN.md, "Sample schema"):

| field        | type            | meaning                                                    |
|--------------|-----------------|------------------------------------------------------------|
| sample_id    | string          | ``<clip_id>/<shot>/<centre frame>/<crop index>``           |
| clip_id      | string          | ``<source>:<source_id>``, or the path in the input folder  |
| source       | string          | where the clip came from (``folder``, ``pixabay``, ...)    |
| category     | string          | content category (the clip's folder, or crawl keyword)     |
| license      | string          | normalised license id ("" when unknown)                    |
| split        | string          | ``train`` / ``val`` / ``test``                             |
| scale        | int32           | SR factor s                                                |
| frames       | int32           | window length T (odd)                                      |
| shot         | int32           | shot index within the clip (0-based)                       |
| center       | int32           | index of the centre frame within the clip (0-based)        |
| crop         | int32 × 4       | y, x, h, w of the crop in HR pixels                        |
| motion       | float32         | mean optical-flow magnitude in the crop, HR px per frame   |
| texture      | float32         | luma standard deviation of the centre crop, grey levels    |
| degradation  | string          | ``bd`` or ``bi``                                           |
| lr           | T × PNG bytes   | the LR frames of the window, uint8 RGB, (h/s)×(w/s)        |
| hr           | PNG bytes       | the HR centre frame crop, uint8 RGB, h×w                   |
| lr_shape     | int32 × 3       | (h/s, w/s, 3)                                              |
| hr_shape     | int32 × 3       | (h, w, 3)                                                  |

In TFRecord, int32 fields are ``int64_list`` features, float32 are ``float_list``, strings
and PNGs are ``bytes_list``. A change here bumps :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string | int32 | float32 | bytes | bytes_list | int32_list
    length: int | None = None  # fixed length of a list field (None: T, from the dataset)


FIELDS: tuple[Field, ...] = (
    Field("sample_id", "string"),
    Field("clip_id", "string"),
    Field("source", "string"),
    Field("category", "string"),
    Field("license", "string"),
    Field("split", "string"),
    Field("scale", "int32"),
    Field("frames", "int32"),
    Field("shot", "int32"),
    Field("center", "int32"),
    Field("crop", "int32_list", 4),
    Field("motion", "float32"),
    Field("texture", "float32"),
    Field("degradation", "string"),
    Field("lr", "bytes_list"),
    Field("hr", "bytes"),
    Field("lr_shape", "int32_list", 3),
    Field("hr_shape", "int32_list", 3),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
IMAGE_FIELDS = ("lr", "hr")

_ARROW_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "float32": pa.float32(),
    "bytes": pa.binary(),
    "bytes_list": pa.list_(pa.binary()),
    "int32_list": pa.list_(pa.int32()),
}


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a Parquet shard, with the schema version in its metadata."""
    return pa.schema(
        [pa.field(f.name, _ARROW_TYPES[f.kind], nullable=False) for f in FIELDS],
        metadata={"vsrdata.schema_version": str(SCHEMA_VERSION)},
    )


def check_sample(sample: dict[str, Any]) -> None:
    """Raise ValueError unless ``sample`` has exactly the schema's fields."""
    keys = set(sample)
    if keys != set(FIELD_NAMES):
        missing, extra = set(FIELD_NAMES) - keys, keys - set(FIELD_NAMES)
        raise ValueError(f"sample fields differ from the schema: missing {missing}, extra {extra}")


def sample_payload_bytes(sample: dict[str, Any]) -> int:
    """Bytes of image data in a sample (what dominates a shard's size)."""
    return len(sample["hr"]) + sum(len(b) for b in sample["lr"])
