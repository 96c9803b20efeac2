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
# weight gradient here sums n = 4·7·16·16 = 7,168 terms of total magnitude below 1 (Huber
# with delta 0.01), so gradients differ by at most 1.6e-12, an Adam step by at most
# 1e4 × 1.6e-12 = 1.6e-8, and 3 steps by at most 4.8e-8. The bound 1e-6 is 20x that worst
# case; a real mismatch moves weights by about lr = 1e-3 per step (batch norm left
# unsynchronized across the two replicas: 5.3e-3 after 3 steps). Measured: 6.6e-16.
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_local_workers_train_and_agree_on_the_weights() -> None:
    import os

    script = Path(__file__).with_name("multiworker_check.py")
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    procs = []
    for i in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "3"}
        procs.append(subprocess.Popen([sys.executable, str(script), "3"], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    first, second = results
    assert first["replicas"] == second["replicas"] == 2  # one replica per worker
    assert first["step"] == second["step"] == 3
    assert first["losses"] == second["losses"] and all(v > 0 for v in first["losses"])
    assert first["digest"] == second["digest"]  # identical weights on both workers
