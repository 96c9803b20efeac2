"""Distribution strategies on a CPU split into logical devices (in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vsrdata.errors import UsageError

# Why float64, and where the bound comes from. One device and two replicas compute the same
# sums in different orders (batch-norm statistics, the loss mean, the gradient all-reduce).
# In float32 that difference (u = 2^-24 per operation) reaches weights whose gradient is near
# zero through Adam, whose update lr·g/(|g| + eps) has slope up to lr/eps = 1e4: measured
# weight differences of 8e-5 after 3 steps, by chance above any fixed bound one could pick.
# In float64 (u = 2^-53 = 1.1e-16), a sum of n terms in two orders differs by at most
# 2(n - 1)·u·sum|terms| (Higham, Accuracy and Stability of Numerical Algorithms, 4.2); a
# weight gradient here sums at most n = 4·7·16·16 = 7,168 terms of total magnitude below 1
# (Huber with delta 0.01), so gradients differ by at most 1.6e-12, an Adam step by at most
# 1e4 × 1.6e-12 = 1.6e-8, and 3 steps by at most 4.8e-8. The bound 1e-6 is 20x that worst
# case; a real mismatch moves weights by about lr = 1e-3 per step (batch norm left
# unsynchronized across the two replicas, UNSYNCHRONIZED_BN=1: 1.9e-3 after 3 steps with the
# tests' tiny model, 5.3e-3 with DUF-16L). Measured: 2.0e-15 (tiny model), 6.6e-16 (DUF-16L).
STEPS = 3
BOUND = 1e-6


@pytest.mark.slow
def test_mirrored_over_two_devices_takes_the_same_steps_as_one_device() -> None:
    script = Path(__file__).with_name("strategy_check.py")
    res = subprocess.run([sys.executable, str(script), str(STEPS), "float64"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["synced_bn"]  # batch norm spans the replicas
    assert out["dtypes"] == ["float64"]  # every weight, the float32-pinned layers included
    assert out["moved"] > 1e-3  # the steps did change the weights
    assert out["diff"] < BOUND, out
    for a, b in zip(out["losses"]["single"], out["losses"]["mirrored"], strict=True):
        assert a == pytest.approx(b, rel=1e-12, abs=0)


def test_unknown_strategy_is_a_usage_error() -> None:
    from vsrdata.vsr_models.distribute import make_strategy

    with pytest.raises(UsageError, match="--strategy must be one of"):
        make_strategy("parameter-server")


@pytest.mark.slow
def test_cli_trains_mirrored_over_two_logical_cpus(built: Path, tmp_path: Path) -> None:
    run = tmp_path / "mirrored"
    cmd = [sys.executable, "-m", "vsrdata", "train", str(built), "--out", str(run),
           "--model", "tiny-test", "--cpu-devices", "2", "--strategy", "mirrored", "--steps", "3",
           "--batch-size", "4",
           "--patch", "8", "--val-every", "2", "--ckpt-every", "2", "--val-samples", "4",
           "--calibrate-batches", "2"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "2 replica(s) on 1 worker(s)" in res.stderr
    assert "trained 3 steps" in res.stdout and "best val PSNR-Y" in res.stdout
    report = json.loads((run / "train_report.json").read_text())
    assert report["steps"] == 3 and report["config"]["strategy"] == "mirrored"
    assert (run / "ckpt" / "ckpt-3.index").exists() and (run / "best.keras").exists()
    assert (run / "model.keras").exists()
