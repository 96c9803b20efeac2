"""``--track mlflow``: a run's parameters, metrics and models, read back with MLflow's client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
# found, not imported: MLflow's import (about 1 s) is paid by the test that uses it, not by
# every worker's collection
NO_MLFLOW = importlib.util.find_spec("mlflow") is None
pytestmark = pytest.mark.skipif(NO_MLFLOW, reason="pip install 'vsrdata[mlflow]'")

from vsrdata.errors import UsageError  # noqa: E402
from vsrdata.vsr_models.config import TrainConfig  # noqa: E402
from vsrdata.vsr_models.train import train  # noqa: E402

TINY = {"model": "tiny-test", "batch_size": 2, "patch": 8, "val_samples": 4, "seed": 3,
        "calibrate_batches": 1, "val_every": 2, "log_every": 2}  # fmt: skip


def test_mlflow_holds_the_runs_parameters_metrics_and_models(built: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    run_dir = tmp_path / "run"

    def run(steps: int) -> None:
        train(TrainConfig.from_options(dataset=str(built), out=str(run_dir), steps=steps,
                                       track="mlflow", tracking_uri=uri, **TINY))  # fmt: skip

    run(4)
    client = MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "vsrdata"]
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    params = logged.data.params
    assert (params["model"], params["batch_size"], params["lr"]) == ("tiny-test", "2", "0.001")
    assert params["model_options"] == '{"width": 8}' and len(params["dataset_sha256"]) == 64
    history = client.get_metric_history(logged.info.run_id, "val/psnr_y")
    assert [m.step for m in history] == [2, 4]
    assert [m.step for m in client.get_metric_history(logged.info.run_id, "train/loss")] == [2, 4]
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"best.keras", "model.keras"} <= artifacts

    run(6)  # resumed: the same MLflow run goes on
    (again,) = client.search_runs([experiment.experiment_id])
    assert again.info.run_id == logged.info.run_id and again.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(logged.info.run_id, "val/psnr_y")]
    assert steps == [2, 4, 6]


def test_without_mlflow_the_message_says_how_to_install_it(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked with the configuration: no run folder is made."""
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(UsageError, match=r"pip install 'vsrdata\[mlflow\]'"):
        TrainConfig.from_options(dataset=str(built), out=str(tmp_path / "r"), steps=1,
                                 track="mlflow", **TINY)  # fmt: skip
    assert not (tmp_path / "r").exists()  # refused before anything starts
