"""The training loop: resume after a kill, graceful stop, NaN stop, run identity, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from vsrdata.common.progress import Event, Metrics, Start  # noqa: E402
from vsrdata.errors import TrainingError  # noqa: E402
from vsrdata.vsr_models.config import TrainConfig  # noqa: E402
from vsrdata.vsr_models.distribute import DistributedStep  # noqa: E402
from vsrdata.vsr_models.train import train  # noqa: E402

# The plumbing tests (resume, stop, strategies, workers, budgets) train the tests' own tiny
# model (tests/tiny_model.py); the test that a short run learns trains DUF-16L.
TINY = {"model": "tiny-test", "batch_size": 2, "patch": 8, "val_samples": 4, "val_every": 100,
        "seed": 3, "calibrate_batches": 2}  # fmt: skip
FAST_CLI = ["--model", "tiny-test", "--calibrate-batches", "2"]  # PreciseBN over 2 batches


def config(dataset: Path, out: Path, **options: Any) -> TrainConfig:
    return TrainConfig.from_options(dataset=str(dataset), out=str(out), **{**TINY, **options})


def cli(*args: str, **kwargs: Any) -> Any:
    cmd = [sys.executable, "-m", "vsrdata", "train", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # fmt: skip


def weights(path: Path) -> list[np.ndarray]:
    import keras

    import vsrdata.vsr_models.layers  # noqa: F401  (registers the layers)

    return keras.models.load_model(path).get_weights()


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(built: Path, tmp_path: Path) -> None:
    args = ["--steps", "6", "--batch-size", "2", "--patch", "8", "--ckpt-every", "2",
            "--val-every", "100", "--val-samples", "4", "--seed", "3",
            "--deterministic", *FAST_CLI]  # fmt: skip
    whole = cli(str(built), "--out", str(tmp_path / "whole"), *args)
    _, err = whole.communicate(timeout=600)
    assert whole.returncode == 0, err[-2000:]

    # SIGKILL after step 4's checkpoint, from inside (a signal sent from outside could arrive
    # after the tiny model's last step)
    killed = cli(str(built), "--out", str(tmp_path / "killed"), *args,
                 env={**os.environ, "VSRDATA_TEST_KILL_AT_STEP": "4"})  # fmt: skip
    killed.communicate(timeout=600)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "killed" / "ckpt" / "ckpt-4.index").exists()
    assert not (tmp_path / "killed" / "model.keras").exists()

    again = cli(str(built), "--out", str(tmp_path / "killed"), *args)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    assert "resuming at step" in err
    report = json.loads((tmp_path / "killed" / "train_report.json").read_text())
    assert report["steps"] == 6 and report["resumed_from"] == 4
    for a, b in zip(weights(tmp_path / "whole" / "model.keras"),
                    weights(tmp_path / "killed" / "model.keras"), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    # the exported model says what it is and what it learnt from
    import hashlib

    from vsrdata import __version__
    from vsrdata.vsr_models.manifest import read_manifest

    manifest = read_manifest(tmp_path / "killed" / "model.keras")
    assert manifest is not None
    assert (manifest["model"], manifest["scale"], manifest["frames"]) == ("tiny-test", 4, 7)
    assert manifest["options"] == {"width": 8} and manifest["degradation"] == "bd"
    index = (built / "dataset.json").read_bytes()
    assert manifest["dataset_sha256"] == hashlib.sha256(index).hexdigest()
    assert manifest["steps"] == 6 and manifest["vsrdata"] == __version__


class StopAt:
    """A progress reporter that records the run's steps and validations, and asks the run
    to stop after step ``at``."""

    def __init__(self, step: int, stop: threading.Event) -> None:
        self.at, self.stop = step, stop
        self.steps: list[tuple[int, float, float]] = []
        self.vals: list[tuple[int, dict[str, float]]] = []
        self.starts: list[Start] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Start):
            self.starts.append(event)
        elif isinstance(event, Metrics) and event.series == "train":
            self.steps.append((event.step, event.values["loss"], event.values["learning_rate"]))
            if event.step == self.at:
                self.stop.set()
        elif isinstance(event, Metrics) and event.series == "val":
            self.vals.append((event.step, dict(event.values)))


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = DistributedStep.__call__
    calls = []

    def poisoned(self: Any, lr: Any, hr: Any) -> Any:
        loss = real(self, lr, hr)
        calls.append(1)
        return tf.constant(float("nan")) if len(calls) == 3 else loss

    monkeypatch.setattr(DistributedStep, "__call__", poisoned)
    with pytest.raises(TrainingError, match=r"loss became nan at step 3.*ckpt-2 is kept"):
        train(config(built, tmp_path / "run", steps=6, ckpt_every=2))
    kept = tf.train.latest_checkpoint(str(tmp_path / "run" / "ckpt"))
    assert kept.endswith("ckpt-2")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_schedules() -> None:
    from vsrdata.vsr_models.schedules import LearningRate

    step = LearningRate(1e-3, "step", 100, decay_steps=10, decay_factor=0.1)
    assert [float(step(s)) for s in (0, 9, 10, 25)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-5])
    cosine = LearningRate(1e-3, "cosine", 110, warmup=10)
    rates = [float(cosine(s)) for s in (0, 4, 9, 10, 60, 110)]
    assert rates == pytest.approx([1e-4, 5e-4, 1e-3, 1e-3, 5e-4, 0.0], abs=1e-9)


def test_presets_and_explicit_options() -> None:
    cfg = TrainConfig.from_options("paper", dataset="d", out="o")
    assert (cfg.batch_size, cfg.patch, cfg.schedule, cfg.lr) == (16, 32, "step", 1e-3)
    assert cfg.total_steps(1600) == 3000  # 30 epochs of 100 steps
    cfg = TrainConfig.from_options("paper", dataset="d", out="o", steps=7, batch_size=4)
    assert (cfg.steps, cfg.epochs, cfg.batch_size) == (7, None, 4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"model": "tiny-fixed", "steps": 1},
            "tiny-fixed has nothing to train; --model is one of duf-16l",
        ),
        ({}, "give --steps, --epochs or --time-budget"),
        ({"time_budget": 0}, "--time-budget must be positive"),
        ({"steps": 1, "schedule": "linear"}, "--schedule must be one of"),
        ({"steps": 0}, "--steps must be at least 1, got 0"),
        ({"steps": 1, "patch": 4}, "--patch must be at least 8, got 4"),
        ({"steps": 1, "strategy": "tpu"}, "--strategy must be one of"),
        ({"steps": 1, "scale": 8}, "--scale must be one of"),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, Any], message: str) -> None:
    from vsrdata.errors import UsageError

    with pytest.raises(UsageError, match=message):
        TrainConfig.from_options(dataset="d", out="o", **options)


def test_time_budget_is_refused_on_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    from vsrdata.errors import UsageError
    from vsrdata.vsr_models import train as train_module

    class Cluster:  # stands in for a MultiWorkerMirroredStrategy of two workers
        extended = type("E", (), {"_num_workers": 2})()

    monkeypatch.setattr(train_module, "make_strategy", lambda *a: Cluster())
    monkeypatch.setattr(train_module, "check_dataset", lambda *a: {"splits": {
        "train": {"samples": 8}, "val": {"samples": 4}}, "build": {"patch": 16}})  # fmt: skip
    cfg = TrainConfig.from_options(dataset="d", out="o", time_budget=60.0)
    with pytest.raises(UsageError, match="give --steps or --epochs there"):
        train(cfg)


def test_cli_refuses_a_dataset_of_another_scale(built: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user has
    proc = cli(str(built), "--out", str(tmp_path / "r"), "--scale", "2", "--steps", "1", env=env)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "built for x4 but the model upscales x2" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    # TensorFlow loaded (the check needs it), and none of its start-up notices reached the user
    for noise in ("absl::InitializeLog", "cuda", "oneDNN", "I0000", "E0000"):
        assert noise not in err, err


class Recorder(StopAt):
    def __init__(self) -> None:
        super().__init__(-1, threading.Event())


@pytest.mark.slow
def test_a_stopped_run_resumes_and_a_short_run_beats_bicubic(built: Path, tmp_path: Path) -> None:
    """Stop at step 50 (a checkpoint, no export), resume with the same configuration to 120
    (validations at 60 and 120), and the run has learnt: the loss halved, val PSNR-Y above
    bicubic. SRCNN learns the most here in the least time (+6.0 dB at step 120 on this data
    in 6 s; CARN-M +3.1 dB in 12 s; DUF-16L +4.4 dB in 42 s)."""
    cfg = config(built, tmp_path / "run", model="srcnn", steps=120, batch_size=4, patch=16,
                 lr=3e-3,
                 schedule="cosine", warmup=10, val_every=60, val_samples=64, ckpt_every=1000,
                 calibrate_batches=4)  # fmt: skip
    stop = threading.Event()
    before = StopAt(50, stop)
    first = train(cfg, before, stop)
    assert first.stopped and first.steps == 50
    assert (tmp_path / "run" / "ckpt" / "ckpt-50.index").exists()
    assert not (tmp_path / "run" / "model.keras").exists()

    seen = Recorder()
    result = train(cfg, seen)
    assert not result.stopped and (result.resumed_from, result.steps) == (50, 120)
    assert seen.starts == [Start("steps", 120, done=50)]
    assert [s for s, _, _ in seen.steps] == list(range(51, 121))
    assert [s for s, _ in seen.vals] == [60, 120]  # every val_every steps and at the end
    history = [json.loads(x) for x in (tmp_path / "run" / "history.jsonl").open()]
    assert [h["step"] for h in history] == [60, 120]
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["psnr_y"] == max(h["psnr_y"] for h in history)
    for name in ("best.keras", "model.keras", "train_report.json", "config.json"):
        assert (tmp_path / "run" / name).is_file()
    assert any((tmp_path / "run" / "logs").iterdir())  # TensorBoard events

    losses = [loss for _, loss, _ in before.steps + seen.steps]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:10])
    _, val = seen.vals[-1]
    assert val["psnr_y"] > val["bicubic_psnr_y"] + 0.5, val
    assert result.best is not None and result.best["gain_db"] == pytest.approx(best["gain_db"])

    with pytest.raises(TrainingError, match=r"holds another run .*lr: 0\.003 -> 0\.01"):
        train(config(built, tmp_path / "run", model="srcnn", steps=120, batch_size=4,
                     patch=16, lr=0.01,
                     schedule="cosine", warmup=10))  # fmt: skip


def test_mixed_precision_keeps_float32_weights_and_output() -> None:
    from vsrdata.vsr_models.distribute import make_strategy

    step = DistributedStep(make_strategy("one-device"), "duf-16l", 2, 2, precision="mixed")
    assert step.policy == "mixed_bfloat16"  # no GPU here: bfloat16, no loss scaling
    conv = step.model.get_layer("stem")
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    x = tf.random.uniform([2, 7, 6, 6, 3])
    assert step.model(x).dtype == tf.float32
    assert np.isfinite(float(step(x, tf.random.uniform([2, 12, 12, 3]))))
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


@pytest.mark.slow
def test_xla_step_matches_the_plain_step() -> None:
    """XLA compiles the same loss and gradients. Gradients, not the weights after an Adam
    step: Adam's first update is lr·g/(|g| + 1e-7), about ±lr for every |g| >> 1e-7 whatever
    its size, so gradients that batch norm's backward pass leaves near zero by cancellation
    move by up to 2·lr in one step and the weights cannot be compared closer than that.

    Each gradient tensor g is compared in L2 norm: |g_xla - g| <= 1e-3·|g| + 1e-5·L, L the
    largest tensor's norm. Measured: 2e-6 relative for every tensor (and the same against a
    float64 reference); XLA's fused batch-norm gradient, when it was used, was 1e-2 off. The
    floor is for the bias before a batch norm, whose exact gradient is 0 and whose computed
    one is rounding noise (3.6e-7·L here, 1e-8·L in DUF-16L)."""
    import keras

    from vsrdata.vsr_models.distribute import make_strategy

    x = tf.random.stateless_uniform([2, 7, 6, 6, 3], seed=[1, 2])
    y = tf.random.stateless_uniform([2, 12, 12, 3], seed=[3, 4])
    steps = []
    for jit in (False, True):
        keras.utils.set_random_seed(5)
        steps.append(DistributedStep(make_strategy("one-device"), "tiny-test", 2, 2, jit=jit))
    steps[1].model.set_weights(steps[0].model.get_weights())
    (loss0, grads0), (loss1, grads1) = (s._gradients(x, y) for s in steps)
    assert float(loss0) == pytest.approx(float(loss1), rel=1e-5)
    norms = [float(np.linalg.norm(g)) for g in grads0]
    largest = max(norms)
    for a, b, norm in zip(grads0, grads1, norms, strict=True):
        assert float(np.linalg.norm(np.asarray(b) - np.asarray(a))) <= 1e-3 * norm + 1e-5 * largest
    losses = [float(s(x, y)) for s in steps]  # and the compiled step runs and updates
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert int(steps[1].step.numpy()) == 1


@pytest.mark.slow
def test_cli_trains_with_two_local_workers(built: Path, tmp_path: Path) -> None:
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = tmp_path / "multi"
    procs = []
    for i in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        procs.append(cli(str(built), "--out", str(run), "--steps", "3", "--batch-size", "4",
                         "--patch", "8", "--val-every", "3", "--val-samples", "4", *FAST_CLI,
                         env={**os.environ, "TF_CONFIG": tf_config}))  # fmt: skip
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    assert all("2 replica(s) on 2 worker(s)" in err for _, err in outputs)
    digests = [out.split("weights sha256 ")[1].split()[0] for out, _ in outputs]
    assert len(digests[0]) == 16 and digests[0] == digests[1]  # the workers agree
    report = json.loads((run / "train_report.json").read_text())  # written by the chief
    assert report["steps"] == 3 and (run / "model.keras").exists()
    assert sorted(p.name for p in (run / "ckpt").iterdir() if p.suffix == ".index") == [
        "ckpt-3.index"
    ]


def test_resume_forgets_validations_of_redone_steps(tmp_path: Path) -> None:
    from vsrdata.vsr_models.run_folder import RunFolder

    folder = RunFolder(tmp_path)
    for step in (100, 200, 300):
        folder.record({"step": step, "psnr_y": 20.0 + step / 100})
    folder.mark_best({"step": 300, "psnr_y": 23.0})
    (tmp_path / "best.keras").write_bytes(b"model of step 300")
    folder.rewind(250)  # resumed from the checkpoint of step 250
    assert [h["step"] for h in folder.history()] == [100, 200]
    assert folder.best() is None and not (tmp_path / "best.keras").exists()
    folder.mark_best({"step": 200, "psnr_y": 22.0})
    folder.rewind(200)
    assert folder.best() == {"step": 200, "psnr_y": 22.0}


def fake_clock(monkeypatch: pytest.MonkeyPatch, step_seconds: Any) -> Any:
    """Make the training loop's clock move only with training steps: step ``k`` (from 1)
    takes ``step_seconds(k)`` seconds. Returns the clock (``clock.now``, starting at 100)."""
    import types

    import vsrdata.vsr_models.train as train_module

    clock = types.SimpleNamespace(now=100.0, steps=0)
    real = DistributedStep.__call__

    def timed(self: Any, lr: Any, hr: Any) -> Any:
        clock.steps += 1
        clock.now += step_seconds(clock.steps)
        return real(self, lr, hr)

    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    monkeypatch.setattr(DistributedStep, "__call__", timed)
    return clock


@pytest.mark.slow
def test_time_budget_plans_the_run_and_a_rerun_finds_it_complete(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_clock(monkeypatch, lambda k: 1.0)
    cfg = config(built, tmp_path / "run", time_budget=30.0, schedule="cosine", warmup=2,
                 calibrate_batches=2)  # fmt: skip
    seen = Recorder()
    result = train(cfg, seen)
    # planned after step 6 (the clock at 106, 1 s per step measured over steps 2-6). The end
    # is estimated from the pixels its forward passes see: 2 PreciseBN batches of 2 and one
    # val batch of 16, on the dataset's 16x16 crops, against training batches of 2 on 8x8:
    # (2*2*256 + 16*256) / (2*64) / 3 = 13.33 steps. So 30 - 6 - 13.33 = 10.67 s remain, at
    # 1 + 13.33/100 s per step (a share of the validation every 100 steps): 9 more, 15 in all
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["total_steps"] == result.steps == result.total_steps == 15
    assert plan["seconds_per_step"] == pytest.approx(1.0)
    assert [s for s, _, _ in seen.steps] == list(range(1, result.steps + 1))
    assert seen.starts[-1] == Start("steps", 15, done=seen.starts[-1].done)  # the bar's new end
    assert seen.steps[-1][2] < 0.02 * cfg.lr  # the cosine was laid out over the planned run
    assert result.best is not None and (tmp_path / "run" / "model.keras").is_file()

    again = train(cfg, Recorder())  # the same command: the run is complete
    assert (again.resumed_from, again.steps) == (result.steps, result.steps)


@pytest.mark.slow
def test_time_budget_ends_early_when_steps_turn_slower(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # planned at 1 s per step, then 4 s per step from step 7
    clock = fake_clock(monkeypatch, lambda k: 1.0 if k <= 6 else 4.0)
    cfg = config(built, tmp_path / "run", time_budget=30.0, calibrate_batches=2)
    result = train(cfg, Recorder())
    # planned for 15 steps at 1 s; at 4 s per step from step 7, after step 9 (the clock at
    # 118) the end and one more step (14.33 s at the planned speed) no longer fit: it ends there
    assert not result.stopped and result.steps == 9
    assert clock.now - 100.0 <= 30.0
    assert json.loads((tmp_path / "run" / "plan.json").read_text())["total_steps"] == result.steps
    assert (tmp_path / "run" / "model.keras").is_file()
