"""Where a dataset lives: a local folder or object storage (``s3://``, ``gs://``, any fsspec URL).

A :class:`Destination` is what a build writes through: a few whole-object operations keyed by
paths relative to the dataset's root. Every object is written under a temporary key and then
moved to its final key, so a reader never sees half an object, and the build writes each
unit's stats after its shards and ``dataset.json`` after everything: the same commit order,
and so the same resume guarantees, on a disk and in a bucket.

Reading a dataset from a URL goes through a local cache (``$VSRDATA_CACHE``, default
``~/.cache/vsrdata``): ``dataset.json`` is fetched on every open, each shard when first read
and again only when its sha256 no longer matches the index, so tf.data, PyTorch and plain
Python read the same local files whatever the dataset's home. A cached shard is hashed once:
its digest is then trusted while its size, modification time and inode stay those recorded
in the cache's ``.verified.json`` when it was checked (what ``make`` and ``rsync`` trust), so
opening a warm 100 GB cache reads no shard.

Credentials and endpoints are fsspec's (for S3: ``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``,
...); ``s3://`` needs ``s3fs`` and ``gs://`` ``gcsfs`` (``pip install 'vsrdata[cloud]'``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from vsrdata.common.files import sha256_file, write_bytes_atomic
from vsrdata.errors import DatasetError, UsageError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_url(path: Any) -> bool:
    """Whether ``path`` names object storage (a ``scheme://`` other than ``file://``)."""
    return isinstance(path, str) and bool(_URL.match(path)) and not path.startswith("file://")


class Destination:
    """A dataset root in a local folder; :class:`RemoteDestination` is the same in a bucket."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __str__(self) -> str:
        return str(self.root)

    def exists(self, rel: str = "") -> bool:
        return (self.root / rel).exists()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)

    def write_json(self, rel: str, data: Any) -> None:
        """``data`` as indented JSON with a final newline (as ``write_json_atomic`` writes)."""
        self.write_bytes(rel, (json.dumps(data, indent=2) + "\n").encode())

    def put(self, local: Path, rel: str) -> None:
        path = self.root / rel
        if Path(local).resolve() != path.resolve():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.tmp")
            shutil.copyfile(local, tmp)
            os.replace(tmp, path)

    def remove(self, rel: str) -> None:
        """Delete a file or a folder (missing: nothing to do)."""
        path = self.root / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

    def names(self, rel: str = "") -> list[str]:
        """The entries directly under ``rel`` (none when it does not exist)."""
        folder = self.root / rel
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def remove_temporaries(self) -> int:
        """Delete what killed writers left under temporary names; how many."""
        stale = [p for p in self.root.rglob("*.tmp") if p.is_file()]
        for path in stale:
            path.unlink()
        return len(stale)


class RemoteDestination(Destination):
    """A dataset root at an fsspec URL; writes go to a temporary key, then a move."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.base = _filesystem(self.url)
        self.root = Path(self.base)  # for messages only

    def __str__(self) -> str:
        return self.url

    def _key(self, rel: str) -> str:
        return f"{self.base}/{rel}".rstrip("/")

    def exists(self, rel: str = "") -> bool:
        key = self._key(rel)
        self.fs.invalidate_cache(key)  # other processes (workers) write here too
        return bool(self.fs.exists(key)) or (not rel and bool(self.names()))

    def read_bytes(self, rel: str) -> bytes:
        return bytes(self.fs.cat_file(self._key(rel)))

    def write_bytes(self, rel: str, data: bytes) -> None:
        tmp = self._key(f"{rel}.tmp-{secrets.token_hex(4)}")
        self.fs.pipe_file(tmp, data)
        self.fs.mv(tmp, self._key(rel))

    def put(self, local: Path, rel: str) -> None:
        tmp = self._key(f"{rel}.tmp-{secrets.token_hex(4)}")
        self.fs.put_file(str(local), tmp)
        self.fs.mv(tmp, self._key(rel))

    def remove(self, rel: str) -> None:
        key = self._key(rel)
        if self.fs.exists(key):
            self.fs.rm(key, recursive=True)

    def names(self, rel: str = "") -> list[str]:
        try:
            entries = self.fs.ls(self._key(rel), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def remove_temporaries(self) -> int:
        """Delete the temporary keys of writers killed between upload and move."""
        self.fs.invalidate_cache(self.base)
        stale = [k for k in self.fs.find(self.base) if ".tmp-" in k.rsplit("/", 1)[-1]]
        if stale:
            self.fs.rm(stale)
        return len(stale)


def destination(out: str | Path) -> Destination:
    return RemoteDestination(str(out)) if is_url(out) else Destination(out)


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise UsageError(
            f"{url}: object storage needs fsspec: pip install 'vsrdata[cloud]'"
        ) from None
    try:
        fs, base = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise UsageError(f"{url}: {exc} (pip install 'vsrdata[cloud]' for s3:// and gs://)"
                         ) from None  # fmt: skip
    return fs, str(base).rstrip("/")


# -- reading through a local cache ---------------------------------------------------------------


def cache_root(url: str) -> Path:
    """The local folder that mirrors the dataset at ``url``."""
    home = Path(os.environ.get("VSRDATA_CACHE") or Path.home() / ".cache" / "vsrdata")
    return home / "remote" / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


def cached_index(url: str, name: str) -> Path:
    """Fetch ``<url>/<name>`` (the index) into the cache; the cache folder."""
    remote, local = RemoteDestination(url), cache_root(url)
    try:
        data = remote.read_bytes(name)
    except FileNotFoundError:
        raise DatasetError(f"{url} is not a vsrdata dataset (no {name}); build one with "
                           f"`vsrdata build SOURCE --out {url}`") from None  # fmt: skip
    local.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(local / name, data)
    return local


VERIFIED = ".verified.json"  # in a cache folder: {shard path: [size, mtime_ns, inode, sha256]}


def _identity(path: Path, sha256: str) -> list[Any]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, sha256]


def cached_shards(url: str, shards: list[dict[str, Any]]) -> None:
    """Make the cache hold these shards (``path``, ``sha256`` from the index), fetching the
    ones it lacks or holds in another version; a download whose digest differs from the
    index is an error (the bucket changed under the index). A shard already checked and
    unchanged since (:data:`VERIFIED`) is not hashed again."""
    remote, local = RemoteDestination(url), cache_root(url)
    try:
        verified = json.loads((local / VERIFIED).read_text())
    except (OSError, ValueError):
        verified = {}
    checked = {}
    for shard in shards:
        rel, digest = shard["path"], shard["sha256"]
        path = local / rel
        if path.is_file():
            if verified.get(rel) == _identity(path, digest):
                continue
            if sha256_file(path) == digest:
                checked[rel] = _identity(path, digest)
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
        remote.fs.get_file(remote._key(rel), str(tmp))
        if sha256_file(tmp) != digest:
            tmp.unlink()
            raise DatasetError(f"{url}/{rel} does not match its sha256 in "
                               "dataset.json; the dataset changed: rebuild or re-upload "
                               "it")  # fmt: skip
        os.replace(tmp, path)
        checked[rel] = _identity(path, digest)
    if checked:  # readers in other processes may write it too: the last one wins, and an
        # entry lost that way only costs one more hash
        write_bytes_atomic(local / VERIFIED, json.dumps({**verified, **checked}).encode())
