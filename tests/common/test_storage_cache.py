"""The local cache of a remote dataset's shards: fetched once, verified once, refetched when
the cached copy or the index changes (a ``file://`` URL stands for the bucket)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from vsrdata.common import storage
from vsrdata.errors import DatasetError

pytest.importorskip("fsspec")


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[dict[str, str]]]:
    monkeypatch.setenv("VSRDATA_CACHE", str(tmp_path / "cache"))
    bucket = tmp_path / "bucket"
    shards = []
    for i in range(3):
        rel = f"parquet/train/shard-{i:05d}.parquet"
        data = os.urandom(50_000 + i)
        (bucket / rel).parent.mkdir(parents=True, exist_ok=True)
        (bucket / rel).write_bytes(data)
        shards.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest()})
    return f"file://{bucket}", shards


def test_a_warm_cache_is_not_hashed_again(
    remote: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, shards = remote
    hashed: list[str] = []
    real = storage.sha256_file
    monkeypatch.setattr(storage, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    fetched: list[str] = []
    fs_class = type(storage.RemoteDestination(url).fs)
    real_get = fs_class.get_file

    def counting_get(self: object, src: str, dst: str, **kwargs: object) -> object:
        fetched.append(src)
        return real_get(self, src, dst, **kwargs)

    monkeypatch.setattr(fs_class, "get_file", counting_get)
    storage.cached_shards(url, shards)  # cold: every shard fetched and hashed once
    assert len(fetched) == 3 and len(hashed) == 3
    cache = storage.cache_root(url)
    assert all((cache / s["path"]).read_bytes() == (Path(url[7:]) / s["path"]).read_bytes()
               for s in shards)  # fmt: skip
    hashed.clear()
    fetched.clear()
    storage.cached_shards(url, shards)  # warm: nothing read, nothing fetched
    assert hashed == [] and fetched == []
    # a cached copy changed behind the cache's back (new size and time): hashed, refetched
    victim = cache / shards[1]["path"]
    victim.write_bytes(b"not the shard")
    storage.cached_shards(url, shards)
    assert len(fetched) == 1 and fetched[0].endswith(shards[1]["path"])
    assert victim.read_bytes() == (Path(url[7:]) / shards[1]["path"]).read_bytes()
    hashed.clear()
    fetched.clear()
    # the record is lost (another reader's write won): one hash each, no download
    (cache / storage.VERIFIED).unlink()
    storage.cached_shards(url, shards)
    assert len(hashed) == 3 and fetched == []
    assert not list(cache.rglob("*.part")) and not list(cache.glob(".verified.json.*"))


def test_a_shard_that_changed_in_the_bucket_is_an_error(
    remote: tuple[str, list[dict[str, str]]],
) -> None:
    url, shards = remote
    storage.cached_shards(url, shards)
    changed = [{**shards[0], "sha256": "0" * 64}]  # the index names a version the bucket lacks
    with pytest.raises(DatasetError, match="does not match its sha256"):
        storage.cached_shards(url, changed)
    assert not list(storage.cache_root(url).rglob("*.part"))
