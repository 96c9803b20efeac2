"""Training configuration: a frozen, validated dataclass and its presets (no TensorFlow import).

Presets fill in what the command line leaves unset (explicit options always win):

- ``paper``: the chosen model's own recipe (:attr:`ModelSpec.recipe`); for DUF (Jo et al.,
  CVPR 2018): Adam, learning rate 1e-3 multiplied by 0.1 every 10 epochs, batch 16, 32×32 LR
  input patches, the Huber loss with delta 0.01; 30 epochs is our choice (three decays).
- ``cpu-quick``: about two and a half minutes on two CPU cores: DUF-16L, 400 steps of batch
  4 on 16×16 LR patches, a cosine schedule with warm-up (on a CPU, batch 4 gains more per
  second than batch 8: docs/benchmarks.md). With ``--time-budget`` the run plans fewer steps
  to fit; the demo's 2 minutes end about 2 dB above bicubic on its held-out clips.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsrdata.common.options import require_at_least
from vsrdata.errors import UsageError
from vsrdata.vsr_models import registry
from vsrdata.vsr_models.registry import LOSSES, OPTIMIZERS, SCALES, VGG_WEIGHTS_NEEDED
from vsrdata.vsr_models.tracking import require as require_tracker

SCHEDULES = ("step", "cosine", "constant")
STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")
PRECISIONS = ("float32", "mixed")
UNLIMITED_STEPS = 10**9  # the cap of a --time-budget run given no --steps or --epochs

# "paper" is each model's own recipe (ModelSpec.recipe), resolved for the chosen model
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu-quick": {
        "model": "duf-16l",
        "batch_size": 4,
        "patch": 16,
        "lr": 3e-3,
        "schedule": "cosine",
        "warmup": 10,
        "steps": 400,
        "val_every": 100,
        "ckpt_every": 100,
        "val_samples": 64,
    },
}

# Fields that define the optimisation itself: resuming with other values would splice two
# different runs together, so a changed value is refused (the rest may change on resume).
RUN_IDENTITY = (
    "model", "model_options", "scale", "batch_size", "patch", "lr", "schedule", "warmup",
    "decay_epochs", "decay_factor", "seed", "precision", "format", "shuffle_buffer", "time_budget",
    "loss", "optimizer", "momentum", "weight_decay", "clip_norm", "clip_adjustable",
    "init", "categories", "exclude_categories",
)  # fmt: skip


@dataclass(frozen=True)
class Optimization:
    """The loss and the update rule of a training step (see :class:`TrainConfig`)."""

    loss: str = "huber"
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    clip_norm: float | None = None
    clip_adjustable: float | None = None
    vgg_weights: str | None = None  # the vgg54 loss's VGG19 weights file


def init_options(path: str, given: dict[str, Any]) -> dict[str, Any]:
    """What ``--init PATH`` implies unless given: its manifest's model and scale, and its
    options when the model is the same (SRGAN may start from an SRResNet: other options
    are the new model's)."""
    from vsrdata.vsr_models.manifest import read_manifest

    if not Path(path).is_file():
        raise UsageError(f"--init {path}: no such file")
    manifest = read_manifest(path)
    if manifest is None:
        if "model" not in given:
            raise UsageError(f"--init {path} has no vsrdata manifest: give --model and --scale")
        return {}
    implied = {"model": given.get("model", manifest["model"]), "scale": manifest["scale"]}
    if implied["model"] == manifest["model"]:
        implied["model_options"] = manifest.get("options") or {}
    return implied


def parse_duration(text: str | float | None, option: str = "--time-budget") -> float | None:
    """'90s', '4m', '1.5h', '1d', '300' (seconds) -> seconds; None stays None."""
    if text is None or isinstance(text, int | float):
        return None if text is None else float(text)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*", text.lower())
    if not m:
        raise UsageError(f"{option} takes a duration like 90s, 4m or 1h, got {text!r}")
    units = {"s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    return float(m.group(1)) * units[m.group(2)]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as ``config.json`` in the run folder."""

    dataset: str
    out: str
    model: str = "duf-16l"
    model_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # the spec's options
    scale: int = 4
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 16  # the global batch, over all replicas and workers
    patch: int | None = None  # LR patch side; None = the dataset's crops as they are
    lr: float = 1e-3
    loss: str | None = None  # None: the model's recipe's (huber without a recipe)
    optimizer: str = "adam"
    momentum: float = 0.9  # sgd
    weight_decay: float = 0.0  # decoupled (w -= lr·wd·w), for every optimizer
    clip_norm: float | None = None  # global gradient norm
    clip_adjustable: float | None = None  # VDSR: each gradient element to ±θ / learning rate
    vgg_weights: str | None = None  # VGG19 notop weights for the vgg54 loss (SRGAN's)
    # a .keras model whose weights the run starts from (its model, options and scale are the
    # run's unless given)
    init: str | None = None
    categories: tuple[str, ...] = ()  # train (and validate) on these only; () = all
    exclude_categories: tuple[str, ...] = ()
    track: str | None = None  # "mlflow": log to MLflow as well as TensorBoard
    tracking_uri: str | None = None  # None: ./mlruns
    experiment: str = "vsrdata"  # the MLflow experiment
    schedule: str = "step"
    warmup: int = 0  # linear warm-up steps
    decay_epochs: float = 10.0  # step schedule: multiply by decay_factor every decay_epochs
    decay_factor: float = 0.1
    ckpt_every: int = 500
    keep_checkpoints: int = 3
    val_every: int = 500
    val_samples: int = 256
    calibrate_batches: int = 16  # PreciseBN before validation and export; 0 = off
    log_every: int = 10
    seed: int = 0
    strategy: str = "auto"
    devices: tuple[str, ...] = ()
    precision: str = "float32"
    jit: bool = False
    format: str | None = None
    shuffle_buffer: int = 1024
    deterministic: bool = False
    # seconds: the run plans its length to end (final validation and export included) within
    # this much training time; --steps/--epochs, if given, cap it
    time_budget: float | None = None
    preset: str | None = None

    @classmethod
    def from_options(cls, preset: str | None = None, **options: Any) -> TrainConfig:
        """Preset values first, then every option that is not None."""
        if preset is not None and preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        values = dict(PRESETS[preset]) if preset else {}
        given = {k: v for k, v in options.items() if v is not None}
        if given.get("init"):  # the model, its options and scale of the initial weights
            given = {**init_options(given["init"], given), **given}
        if preset == "paper":
            recipe = registry.spec(given.get("model") or cls.model).recipe
            if recipe is None:
                raise UsageError(f"{given.get('model')} has no training recipe")
            values.update(recipe.preset())
        values.update(given)
        if "steps" in options and options["steps"] is not None:
            values.pop("epochs", None)
        elif "epochs" in options and options["epochs"] is not None:
            values.pop("steps", None)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UsageError(f"unknown training options: {', '.join(sorted(unknown))}")
        for key in ("devices", "categories", "exclude_categories"):
            values[key] = tuple(values.get(key) or ())
        config = cls(preset=preset, **values)
        config.validate()
        return config

    @classmethod
    def from_run(cls, run: str | Path, dataset: str | None = None) -> TrainConfig:
        """The configuration a run folder's ``config.json`` holds, its ``out`` the folder as
        given now (and ``dataset`` replaced when it moved)."""
        path = Path(run) / "config.json"
        if not path.is_file():
            raise UsageError(f"{run} is not a run folder (no config.json)")
        values = json.loads(path.read_text())["config"]
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UsageError(f"{path}: unknown training options {', '.join(sorted(unknown))} "
                             "(written by a newer vsrdata?)")  # fmt: skip
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        values["out"] = str(run)
        if dataset is not None:
            values["dataset"] = dataset
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        spec = registry.spec(self.model)
        if self.init is not None and not Path(self.init).is_file():
            raise UsageError(f"--init {self.init}: no such file")
        if not spec.trainable:
            choices = ", ".join(registry.trainable())
            raise UsageError(f"{self.model} has nothing to train; --model is one of {choices}")
        if self.scale not in SCALES or self.scale not in spec.scales:
            raise UsageError(f"--scale must be one of {spec.scales} for {self.model}, "
                             f"got {self.scale}")  # fmt: skip
        object.__setattr__(self, "model_options", spec.resolve(self.model_options))
        if self.steps is not None and self.epochs is not None:
            raise UsageError("give one of --steps and --epochs, not both")
        if self.steps is None and self.epochs is None and self.time_budget is None:
            raise UsageError("give --steps, --epochs or --time-budget")
        if self.time_budget is not None and not self.time_budget > 0:
            raise UsageError(f"--time-budget must be positive, got {self.time_budget}")
        if self.epochs is not None and not self.epochs > 0:
            raise UsageError(f"--epochs must be positive, got {self.epochs}")
        require_at_least(self, ("steps", "batch_size", "ckpt_every", "val_every", "val_samples",
                                "log_every"))  # fmt: skip
        require_at_least(self, ("calibrate_batches",), 0)
        require_at_least(self, ("patch",), 8)  # LR pixels
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UsageError(f"--lr must be a positive number, got {self.lr}")
        if self.loss is not None and self.loss not in LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.optimization().loss == "vgg54":
            if not self.vgg_weights:
                raise UsageError(f"{self.model}: {VGG_WEIGHTS_NEEDED}")
            if not Path(self.vgg_weights).is_file():
                raise UsageError(f"--vgg-weights {self.vgg_weights}: no such file")
            if spec.colour != "rgb":
                raise UsageError(f"the vgg54 loss compares RGB images; {self.model} works on "
                                 f"luma: choose another --loss")  # fmt: skip
        if self.track is not None:
            require_tracker(self.track)
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise UsageError("--momentum must be in [0, 1) and --weight-decay at least 0")
        for name in ("clip_norm", "clip_adjustable"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"--schedule must be one of {', '.join(SCHEDULES)}")
        if self.warmup < 0 or self.decay_epochs <= 0 or not 0 < self.decay_factor <= 1:
            raise UsageError("--warmup >= 0, decay_epochs > 0 and 0 < decay_factor <= 1")
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}")

    def total_steps(self, train_samples: int) -> int:
        """--steps, or --epochs over ``train_samples`` at the global batch (rounded up); with
        only a --time-budget, no cap (the run plans its length, see vsr_models.train)."""
        if self.steps is not None:
            return self.steps
        if self.epochs is None:
            return UNLIMITED_STEPS
        return max(1, math.ceil(self.epochs * train_samples / self.batch_size))

    def optimization(self) -> Optimization:
        """The step's loss (the model's recipe's unless --loss) and update rule."""
        recipe = registry.spec(self.model).recipe
        loss = self.loss or (recipe.loss if recipe else "huber")
        return Optimization(loss, self.optimizer, self.momentum, self.weight_decay,
                            self.clip_norm, self.clip_adjustable, self.vgg_weights)  # fmt: skip

    def identity(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in RUN_IDENTITY}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["devices"] = list(self.devices)
        return d
