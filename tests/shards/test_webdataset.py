"""``--format webdataset``: tar shards in the same units, with the same determinism, index and
checksums as the other formats, read back by the ``webdataset`` package itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import small_config
from vsrdata.common.files import sha256_file
from vsrdata.shards.index import load_index
from vsrdata.shards.reader import iter_samples
from vsrdata.shards.wds import sample_key


@pytest.fixture(scope="module")
def two_builds(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from vsrdata.preprocess.build import build

    source = tmp_path_factory.mktemp("wds-src")
    for clip in sorted(clips_dir.rglob("*.mp4"))[:4]:  # four clips: every split gets some
        (source / clip.parent.name).mkdir(exist_ok=True)
        (source / clip.parent.name / clip.name).symlink_to(clip)
    outs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(f"wds-{name}") / "ds"
        build(small_config(source, out, formats=("parquet", "webdataset"), split=(0.5, 0.25, 0.25)))
        outs.append(out)
    return outs[0], outs[1]


def test_webdataset_shards_read_back_with_the_webdataset_package(
    two_builds: tuple[Path, Path],
) -> None:
    import webdataset

    root = two_builds[0]
    index = load_index(root)
    tars = [s for s in index["shards"] if s["format"] == "webdataset"]
    assert tars and all(s["path"].startswith("webdataset/") and s["path"].endswith(".tar")
                        for s in tars)  # fmt: skip
    for shard in tars:
        assert sha256_file(root / shard["path"]) == shard["sha256"]
    for split in index["splits"]:
        expected = list(iter_samples(root, split, format="parquet", decode=False))
        urls = [str(root / s["path"]) for s in tars if s["split"] == split]
        got = list(webdataset.WebDataset(urls, shardshuffle=False))
        assert [g["__key__"] for g in got] == [sample_key(e["sample_id"]) for e in expected]
        for g, e in zip(got, expected, strict=True):
            fields = json.loads(g["json"])
            assert fields["sample_id"] == e["sample_id"] and fields["crop"] == list(e["crop"])
            assert g["hr.png"] == e["hr"]
            assert [g[f"lr.{t:02d}.png"] for t in range(e["frames"])] == list(e["lr"])
        assert list(iter_samples(root, split, format="webdataset", decode=False)) == expected


def test_webdataset_shards_are_byte_identical_across_builds(two_builds: tuple[Path, Path]) -> None:
    a, b = (load_index(r) for r in two_builds)
    shards = [(s["path"], s["sha256"]) for s in a["shards"] if s["format"] == "webdataset"]
    assert shards == [(s["path"], s["sha256"]) for s in b["shards"]
                      if s["format"] == "webdataset"]  # fmt: skip


def test_tf_data_reads_webdataset_as_it_reads_parquet(two_builds: tuple[Path, Path]) -> None:
    import numpy as np

    from vsrdata.shards.reader import read

    root = two_builds[0]
    for fmt_a, fmt_b in (("parquet", "webdataset"),):
        pairs = zip(read(root, "train", fmt_a).as_numpy_iterator(),
                    read(root, "train", fmt_b).as_numpy_iterator(), strict=True)  # fmt: skip
        for (lr_a, hr_a), (lr_b, hr_b) in pairs:
            assert np.array_equal(lr_a, lr_b) and np.array_equal(hr_a, hr_b)


def test_sample_keys_have_no_webdataset_separators() -> None:
    key = sample_key("synth:pan/pan_008.mp4/0/12/0")
    assert "." not in key and "/" not in key and ":" not in key
    assert key == "synth%3Apan%2Fpan_008%2Emp4%2F0%2F12%2F0"
    assert sample_key("é") == "%C3%A9"
