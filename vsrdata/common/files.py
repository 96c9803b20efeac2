"""Files written whole or not at all, and their digests (the leaf every package may use)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written).
    The temporary name is unique (``<name>.<random>.tmp``), so processes writing the same file
    at once do not collide; the last rename wins."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, data: Any, sort_keys: bool = False) -> None:
    """``data`` as indented JSON with a final newline, atomically."""
    text = json.dumps(data, indent=2, sort_keys=sort_keys) + "\n"
    write_bytes_atomic(path, text.encode())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a JSON-lines file a live run appends to (a line being written,
    without its newline yet, is left for the next read)."""
    if not path.is_file():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]
