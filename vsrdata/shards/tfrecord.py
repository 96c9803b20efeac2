"""TFRecord files of ``tf.train.Example`` protos, written and read without TensorFlow.

Build workers write shards without importing TensorFlow (seconds of start-up and hundreds
of MB per process), and the encoding is deterministic (features in schema order), which
keeps datasets byte-identical across runs. TensorFlow reads the result natively.

Record framing (TFRecord format): ``uint64 length | uint32 masked_crc32c(length) | data |
uint32 masked_crc32c(data)``, little-endian; mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8.

Protobuf wire format of ``tf.train.Example`` (tensorflow/core/example/{example,feature}.proto):
Example{1: Features}; Features{1: repeated map entry {1: key, 2: Feature}};
Feature{1: BytesList{1: repeated bytes}, 2: FloatList{1: packed float},
3: Int64List{1: packed int64}}.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

import google_crc32c
import numpy as np

from vsrdata.shards.schema import FIELDS, Field

_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 two's complement, 10 bytes
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _feature(field: Field, value: Any) -> bytes:
    if field.kind in ("string", "bytes"):
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return _delimited(1, _delimited(1, raw))
    if field.kind == "bytes_list":
        return _delimited(1, b"".join(_delimited(1, bytes(v)) for v in value))
    if field.kind == "float32":
        return _delimited(2, _delimited(1, struct.pack("<f", float(value))))
    values = [int(value)] if field.kind == "int32" else [int(v) for v in value]
    return _delimited(3, _delimited(1, b"".join(_varint(v) for v in values)))


def encode_example(sample: dict[str, Any]) -> bytes:
    """Serialize a sample (schema fields) as a ``tf.train.Example``, features in schema order."""
    entries = b"".join(
        _delimited(1, _delimited(1, f.name.encode()) + _delimited(2, _feature(f, sample[f.name])))
        for f in FIELDS
    )
    return _delimited(1, entries)


def write_record(fh: BinaryIO, data: bytes) -> int:
    """Append one framed record; return the bytes written."""
    header = struct.pack("<Q", len(data))
    fh.write(header + struct.pack("<I", _masked_crc(header)) + data)
    fh.write(struct.pack("<I", _masked_crc(data)))
    return len(data) + 16


def iter_records(path: str) -> Iterator[bytes]:
    """The records of a TFRecord file, each checked against both of its CRCs."""
    with open(path, "rb") as fh:
        while header := fh.read(12):
            if len(header) < 12:
                raise ValueError(f"{path}: truncated record header")
            (length,) = struct.unpack("<Q", header[:8])
            if struct.unpack("<I", header[8:])[0] != _masked_crc(header[:8]):
                raise ValueError(f"{path}: corrupt record length")
            data = fh.read(length)
            crc = fh.read(4)
            if len(data) < length or len(crc) < 4:
                raise ValueError(f"{path}: truncated record")
            if struct.unpack("<I", crc)[0] != _masked_crc(data):
                raise ValueError(f"{path}: corrupt record data")
            yield data


# -- decoding (for reading without TensorFlow) ------------------------------------------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, payload) of each field of a message; varints as ints."""
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        wire = tag & 7
        if wire == 2:
            n, pos = _read_varint(buf, pos)
            yield tag >> 3, buf[pos : pos + n]
            pos += n
        elif wire == 0:
            value, pos = _read_varint(buf, pos)
            yield tag >> 3, value
        elif wire == 5:
            yield tag >> 3, buf[pos : pos + 4]
            pos += 4
        elif wire == 1:
            yield tag >> 3, buf[pos : pos + 8]
            pos += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _decode_feature(buf: bytes) -> list[Any]:
    for kind, payload in _fields(buf):
        assert isinstance(payload, bytes)
        values: list[Any] = []
        for _, item in _fields(payload):
            if kind == 1:
                values.append(item)
            elif kind == 2:  # packed floats (or one unpacked float)
                assert isinstance(item, bytes)
                values.extend(np.frombuffer(item, "<f4").tolist())
            else:
                if isinstance(item, int):
                    values.append(item)
                else:
                    pos = 0
                    while pos < len(item):
                        v, pos = _read_varint(item, pos)
                        values.append(v - (1 << 64) if v >= 1 << 63 else v)
        return values
    return []


def decode_example(data: bytes) -> dict[str, Any]:
    """Parse a ``tf.train.Example`` written by :func:`encode_example` back into a sample."""
    raw: dict[str, list[Any]] = {}
    for _, features in _fields(data):
        assert isinstance(features, bytes)
        for _, entry in _fields(features):
            assert isinstance(entry, bytes)
            parts = dict(_fields(entry))
            key, feature = parts[1], parts.get(2, b"")
            assert isinstance(key, bytes) and isinstance(feature, bytes)
            raw[key.decode()] = _decode_feature(feature)
    sample: dict[str, Any] = {}
    for f in FIELDS:
        values = raw[f.name]
        if f.kind == "string":
            sample[f.name] = values[0].decode()
        elif f.kind in ("bytes", "int32", "float32"):
            sample[f.name] = values[0]
        else:
            sample[f.name] = list(values)
    return sample
