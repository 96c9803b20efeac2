"""Experiment tracking besides TensorBoard: ``vsrdata train --track mlflow``.

One tracked run per run folder: the MLflow run id is kept in the folder (``tracking.json``),
so a resumed training run goes on logging into the same MLflow run. Logged: every
configuration field as a parameter (and the dataset's digest), the mean training loss every
``log_every`` steps and every validation's scores as metrics at their step, and the exported
models (``best.keras``, ``model.keras``) as artifacts at the end. Only the chief of a
multi-worker run logs. MLflow is an optional extra (``pip install 'vsrdata[mlflow]'``, the
``mlflow-skinny`` client); the tracking store is ``--tracking-uri`` (a local ``mlruns/``
folder by default, or any URI MLflow accepts, such as a tracking server).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vsrdata.errors import UsageError

TRACKERS = ("mlflow",)
STATE = "tracking.json"


def _flat(config: dict[str, Any]) -> dict[str, str]:
    """Configuration fields as MLflow parameters: strings, containers as JSON."""
    out = {}
    for key, value in config.items():
        text = (
            json.dumps(value, sort_keys=True)
            if isinstance(value, dict | list | tuple)
            else str(value)
        )
        out[key] = text[:6000]  # MLflow's limit on a parameter's value
    return out


def require(kind: str) -> None:
    """Refuse an unknown tracker, or one whose package is not installed, before a run starts."""
    if kind not in TRACKERS:
        raise UsageError(f"--track must be one of {', '.join(TRACKERS)}, got {kind!r}")
    try:
        import mlflow.tracking  # noqa: F401
    except ImportError:
        raise UsageError(
            "--track mlflow needs MLflow: pip install 'vsrdata[mlflow]' (or mlflow-skinny)"
        ) from None


class MlflowTracker:
    """Logs one training run into MLflow (see the module docstring)."""

    def __init__(self, folder: Path, uri: str | None, experiment: str, run_name: str) -> None:
        require("mlflow")
        from mlflow.tracking import MlflowClient

        self.uri = uri or Path("mlruns").resolve().as_uri()
        if self.uri.startswith("file:") or "://" not in self.uri:
            # MLflow 3 keeps its folder store in maintenance and asks for this opt-in; a
            # database or a tracking server (--tracking-uri) needs none
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=self.uri)
        state_file = folder / STATE
        state = json.loads(state_file.read_text()) if state_file.is_file() else {}
        if state.get("uri") == self.uri and state.get("run_id"):
            self.run_id = state["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            self.resumed = True
        else:
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = (found.experiment_id if found is not None
                             else self.client.create_experiment(experiment))  # fmt: skip
            run = self.client.create_run(experiment_id, run_name=run_name,
                                         tags={"vsrdata.run_folder": str(folder)})  # fmt: skip
            self.run_id = run.info.run_id
            self.resumed = False
            state_file.write_text(json.dumps({"uri": self.uri, "run_id": self.run_id}))

    def log_params(self, params: dict[str, Any]) -> None:
        if self.resumed:  # already logged (and MLflow refuses to change a parameter)
            return
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in _flat(params).items()]
        for i in range(0, len(items), 100):  # MLflow's batch limit
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def log_artifact(self, path: Path) -> None:
        if path.is_file():
            self.client.log_artifact(self.run_id, str(path))

    def end(self, status: str) -> None:
        """``status``: FINISHED, KILLED (stopped to resume later) or FAILED."""
        self.client.set_terminated(self.run_id, status=status)


class NoTracker:
    """Tracking off (the default, and on every worker but the chief)."""

    def log_params(self, params: dict[str, Any]) -> None:
        pass

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        pass

    def log_artifact(self, path: Path) -> None:
        pass

    def end(self, status: str) -> None:
        pass


def make_tracker(
    kind: str | None, folder: Path, uri: str | None, experiment: str, run_name: str
) -> Any:
    if kind is None:
        return NoTracker()
    require(kind)
    return MlflowTracker(folder, uri, experiment, run_name)
