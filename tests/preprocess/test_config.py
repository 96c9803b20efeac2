"""Typed configuration: parsing, validation, unknown keys."""

from __future__ import annotations

import pytest

from vsrdata.errors import UsageError
from vsrdata.preprocess.config import BuildConfig, parse_size, parse_split


def test_parse_size_units() -> None:
    assert parse_size("256MB") == 256_000_000
    assert parse_size("1GiB") == 2**30
    assert parse_size("1.5 kb") == 1500
    assert parse_size(42) == 42
    with pytest.raises(UsageError, match="256MB"):
        parse_size("big")


def test_parse_split() -> None:
    assert parse_split("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    for bad in ("0.8,0.1", "0.5,0.5,0.5", "a,b,c", "-0.1,0.6,0.5"):
        with pytest.raises(UsageError, match="--split"):
            parse_split(bad)


def test_from_dict_rejects_unknown_keys_and_validates() -> None:
    cfg = BuildConfig.from_dict({"source": "a", "out": "b", "scale": 2, "split": "0.5,0.3,0.2"})
    assert cfg.scale == 2 and cfg.split == (0.5, 0.3, 0.2) and cfg.crop_size == 64
    with pytest.raises(UsageError, match=r"unknown build option.*scael"):
        BuildConfig.from_dict({"source": "a", "out": "b", "scael": 2})
    with pytest.raises(UsageError, match="--frames must be odd"):
        BuildConfig.from_dict({"source": "a", "out": "b", "frames": 4})
    with pytest.raises(UsageError, match="--frames >= 3"):
        BuildConfig.from_dict({"source": "a", "out": "b", "frames": 1, "crop": "motion"})
    assert BuildConfig.from_dict({"source": "a", "out": "b", "frames": 1, "crop": "center"})


def test_dataset_args_leave_out_execution_options() -> None:
    cfg = BuildConfig(source="a", out="b", workers=7, engine="ray", ray_address="x:1")
    args = cfg.dataset_args()
    assert not {"out", "workers", "engine", "ray_address"} & set(args)
    assert BuildConfig.from_dict({**args, "out": "c"}).dataset_args() == args
