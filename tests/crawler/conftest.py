"""Fixtures shared by the crawler tests: small real video files to serve."""

from __future__ import annotations

import pytest

from vsrdata.preprocess.synth import synth_clip


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, seconds, category in [("four", 4, "pan"), ("two", 2, "zoom"), ("five", 5, "objects")]:
        synth_clip(root / f"{name}.mp4", category, len(out), seconds * 25, (320, 240), 25, 0)
        out[name] = (root / f"{name}.mp4").read_bytes()
    return out
