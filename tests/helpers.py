"""Helpers the tests share (fixtures stay in conftest.py; tests import helpers only from here)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from vsrdata.crawler.http import PoliteSession
from vsrdata.preprocess.config import BuildConfig


def sidecar(video: Path | str) -> dict[str, Any]:
    """The motion sidecar ``vsrdata synth`` writes beside a clip."""
    return json.loads(Path(video).with_suffix(".motion.json").read_text())


def small_config(source: Path | str, out: Path | str, **overrides: Any) -> BuildConfig:
    """A fast build configuration for 320x240 test clips."""
    options: dict[str, Any] = {
        "patch": 16,
        "test_stride": 4,  # whole-frame test windows: every 4th frame is plenty for tests
        "split": (0.5, 0.25, 0.25),
        "group_size": 2,
        "workers": 1,
        "shard_size": 10**9,
    }
    options.update(overrides)
    return BuildConfig(source=str(source), out=str(out), **options).validate()


class FakeTime:
    """A clock that only moves when the session sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def session(t: FakeTime, **kw: object) -> PoliteSession:
    """A crawl session on the fake clock ``t`` (no real waiting), seeded jitter."""
    return PoliteSession(sleep=t.sleep, clock=t.clock, wall=t.clock, rng=random.Random(0),
                         **kw)  # type: ignore[arg-type]  # fmt: skip


# options that make a registered model cheaper to train or run in tests while exercising the
# same code (DRCN: 16 recursions of 256 channels at HR cost 20 s a test; 4 build the same graph
# of recursion, supervision and ensemble)
LIGHT_OPTIONS: dict[str, dict[str, object]] = {"drcn": {"recursions": 4}, "srresnet": {"blocks": 4}}
