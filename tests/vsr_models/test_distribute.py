"""Distribution strategies on a CPU split into logical devices (in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vsrdata.errors import UsageError


@pytest.mark.slow
def test_mirrored_over_two_devices_takes_the_same_steps_as_one_device() -> None:
    script = Path(__file__).with_name("strategy_check.py")
    res = subprocess.run([sys.executable, str(script), "3"], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["synced_bn"]  # batch norm spans the replicas
    assert out["diff"] < 1e-5, out
    for a, b in zip(out["losses"]["single"], out["losses"]["mirrored"], strict=True):
        assert a == pytest.approx(b, rel=1e-5)


def test_unknown_strategy_is_a_usage_error() -> None:
    from vsrdata.vsr_models.distribute import make_strategy

    with pytest.raises(UsageError, match="--strategy must be one of"):
        make_strategy("parameter-server")
