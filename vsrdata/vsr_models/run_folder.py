"""The run folder's files: what a run is, where it got to, and what it produced.

```
runs/x/
  config.json         the TrainConfig and the dataset's fingerprint (a re-run must match)
  ckpt/               tf.train.CheckpointManager: model, optimizer, step (the data position
                      is step × global batch, see vsr_models.data.training_stream)
  logs/               TensorBoard: train/loss, train/learning_rate, val/* scalars and images
  plan.json           a --time-budget run's planned length (fixed once planned)
  history.jsonl       one line per validation
  loss.jsonl          one line per ``log_every`` steps: the mean train loss (and terms), the rate
  best.keras          the model with the best val PSNR-Y so far; best.json says which step
  model.keras         the final model
  train_report.json   written when the run ends: steps, throughput, val scores
```
Only the chief (one process per run) writes here; other workers of a multi-worker run
write their checkpoints to a scratch folder they delete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import keras

from vsrdata.common.files import read_jsonl, write_json_atomic
from vsrdata.errors import TrainingError
from vsrdata.vsr_models.config import TrainConfig
from vsrdata.vsr_models.manifest import save_model


def dataset_fingerprint(index: dict[str, Any], split: str = "train") -> str:
    """A digest of a split's shards (their sha256s), so a run notices a changed dataset."""
    digests = sorted(s["sha256"] for s in index["shards"] if s["split"] == split)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def _as_json(value: Any) -> Any:
    """``value`` as it reads back from JSON."""
    return json.loads(json.dumps(value))


class RunFolder:
    def __init__(self, root: str | Path, chief: bool = True) -> None:
        self.root = Path(root)
        self.chief = chief

    @property
    def ckpt(self) -> Path:
        return self.root / "ckpt"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def claim(self, config: TrainConfig, fingerprint: str, total_steps: int, policy: str) -> None:
        """Start a run here, or check that the run already here is this one.

        ``policy`` is the resolved dtype policy: "mixed" means float16 with loss scaling on
        a GPU and bfloat16 on a CPU, whose optimizer states do not restore into each other.
        """
        identity = {**config.identity(), "dataset": fingerprint, "policy": policy}
        if config.schedule == "cosine":
            identity["total_steps"] = total_steps  # the curve is laid out over the run
        identity = _as_json(identity)  # as config.json holds it (tuples are lists there)
        path = self.root / "config.json"
        if path.is_file():
            before = json.loads(path.read_text()).get("identity", {})
            # a field newer than the run's config.json had, at its default, is no change
            defaults = {f.name: _as_json(f.default) for f in dataclasses.fields(config)
                        if f.default is not dataclasses.MISSING}  # fmt: skip
            changed = {
                k: (before.get(k), v)
                for k, v in identity.items()
                if before.get(k, defaults.get(k)) != v
            }
            if changed:
                what = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in sorted(changed.items()))
                raise TrainingError(
                    f"{self.root} holds another run ({what}); resume it with its own settings "
                    "or train into a new --out folder"
                )
        if self.chief:
            self.root.mkdir(parents=True, exist_ok=True)
            identity_doc = {"identity": identity, "config": config.to_dict()}
            write_json_atomic(path, identity_doc, sort_keys=True)

    def planned_steps(self) -> int | None:
        """The length a --time-budget run planned for itself, once it has."""
        path = self.root / "plan.json"
        return int(json.loads(path.read_text())["total_steps"]) if path.is_file() else None

    def plan(self, total_steps: int, **why: Any) -> None:
        if self.chief:
            write_json_atomic(
                self.root / "plan.json", {"total_steps": total_steps, **why}, sort_keys=True
            )

    # -- validation history and the best model -------------------------------------------------

    def best(self) -> dict[str, Any] | None:
        path = self.root / "best.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def history(self, name: str = "history.jsonl") -> list[dict[str, Any]]:
        return read_jsonl(self.root / name)

    def rewind(self, step: int) -> None:
        """Forget validations and losses after ``step`` (a resumed run redoes those steps)."""
        if not self.chief:
            return
        for name in ("history.jsonl", "loss.jsonl"):
            kept = [h for h in self.history(name) if h["step"] <= step]
            lines = "".join(json.dumps(h, sort_keys=True) + "\n" for h in kept)
            tmp = self.root / f"{name}.tmp"
            tmp.write_text(lines)
            os.replace(tmp, self.root / name)
        best = self.best()
        if best is not None and best["step"] > step:  # from steps the resumed run redoes
            (self.root / "best.json").unlink()
            (self.root / "best.keras").unlink(missing_ok=True)

    def record(self, entry: dict[str, Any], name: str = "history.jsonl") -> None:
        if self.chief:
            with (self.root / name).open("a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

    def export(self, model: keras.Model, name: str, manifest: dict[str, Any] | None = None) -> Path:
        """Save ``model`` as ``name`` (.keras) with its manifest inside, atomically (chief
        only)."""
        path = self.root / name
        return save_model(model, path, manifest) if self.chief else path

    def mark_best(self, entry: dict[str, Any]) -> None:
        if self.chief:
            write_json_atomic(self.root / "best.json", entry, sort_keys=True)

    def report(self, data: dict[str, Any]) -> None:
        if self.chief:
            write_json_atomic(self.root / "train_report.json", data, sort_keys=True)
