"""The training loop: ``train(config)`` trains a DUF model on a vsrdata dataset.

One loop for every strategy (see :mod:`vsrdata.vsr_models.distribute`): a step is one global
batch; checkpoints every ``ckpt_every`` steps (model, optimizer, step; the data position is
step × global batch, so a resumed run reads exactly the batches an uninterrupted one would);
validation every ``val_every`` steps against bicubic, exporting the best model; TensorBoard
logs; a non-finite loss stops the run and leaves the last good checkpoint in place.
Re-running the same configuration into the same folder resumes from the newest checkpoint.
The layout of the run folder: :mod:`vsrdata.vsr_models.run_folder`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from vsrdata import __version__
from vsrdata.common.progress import Advance, Metrics, Note, Reporter, Start, silent
from vsrdata.errors import TrainingError, UsageError
from vsrdata.shards.index import index_sha256
from vsrdata.vsr_models.config import TrainConfig
from vsrdata.vsr_models.data import (
    check_dataset,
    choose_categories,
    split_samples,
    training_stream,
)
from vsrdata.vsr_models.distribute import DistributedStep, make_strategy, precision_policy
from vsrdata.vsr_models.manifest import load_model, provenance
from vsrdata.vsr_models.registry import build_model
from vsrdata.vsr_models.registry import spec as model_spec
from vsrdata.vsr_models.run_folder import RunFolder, dataset_fingerprint
from vsrdata.vsr_models.schedules import LearningRate
from vsrdata.vsr_models.tracking import make_tracker
from vsrdata.vsr_models.validation import Validator, ValResult, recalibrate_batch_norm

log = logging.getLogger(__name__)


# Fault injection: VSRDATA_TEST_KILL_AT_STEP=N makes the process SIGKILL itself right after
# step N (and its checkpoint, if one is due): a kill at a known point, which a test that sends
# the signal from outside cannot promise once steps take milliseconds.
_KILL_AT_STEP = int(os.environ.get("VSRDATA_TEST_KILL_AT_STEP", "0") or 0)


@dataclass
class TrainResult:
    run: str
    steps: int
    total_steps: int
    resumed_from: int
    stopped: bool  # by a stop request before total_steps
    loss: float | None  # mean over the last ``log_every`` steps
    samples_per_second: float
    last_val: dict[str, float] | None
    best: dict[str, Any] | None
    weights_sha256: str = ""  # of the trained weights (every worker of a run has the same)


def is_chief(strategy: Any) -> bool:
    """True for the one process that writes the run folder (always, without multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def weights_digest(weights: list[Any]) -> str:
    """sha256 of a model's weights (their float bytes, in order): equal digests, equal
    models, e.g. on every worker of a multi-worker run, or a resumed and a whole run."""
    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def _num_workers(strategy: Any) -> int:
    return int(getattr(strategy.extended, "_num_workers", 1) or 1)


class _Budget:
    """A --time-budget: after ``PROBE`` timed steps, the run's length is planned so that the
    steps, the validations every ``val_every`` steps and the final PreciseBN, validation and
    export fit in ``seconds`` from the first step; if the steps turn out slower, the run ends
    early at the step where the rest would no longer fit."""

    PROBE = 5  # steps timed after the first (which compiles)

    def __init__(self, seconds: float, val_every: int | None) -> None:
        self.seconds = seconds
        self.val_every = val_every  # None: no validation until the end
        self.began = time.perf_counter()
        self.first: tuple[int, float] | None = None  # (step, time) after the compiled step
        self.per_step: float | None = None
        self.final = False

    def plan(self, step: int, total: int, end_steps: float) -> int | None:
        """A new total at ``step`` (None: keep ``total``); ``end_steps`` is the cost of the
        end of the run in training steps."""
        now = time.perf_counter()
        if self.first is None:
            self.first = (step, now)
            return None
        if self.per_step is None:
            if step - self.first[0] < self.PROBE and step < total:
                return None
            self.per_step = (now - self.first[1]) / (step - self.first[0])
            left = self.seconds - (now - self.began) - end_steps * self.per_step
            # each step, plus its share of the validations on the way (each one costs about
            # what the end costs)
            share = end_steps / self.val_every if self.val_every else 0.0
            return max(step, min(total, step + int(left / (self.per_step * (1 + share)))))
        if now - self.began + (end_steps + 1) * self.per_step > self.seconds and step < total:
            self.final = True
            return step  # slower than planned: end here, within the budget
        return None


class TrainingRun:
    """State of one run; ``run()`` is the whole loop."""

    def __init__(self, config: TrainConfig, progress: Reporter, stop: threading.Event):
        self.config, self.progress, self.stop = config, progress, stop
        # the centre frames of each window the model reads
        self.frames = model_spec(config.model).window(config.model_options)
        index = check_dataset(config.dataset, config.scale, self.frames)
        # --categories / --exclude-categories (None: every sample)
        self.categories = choose_categories(index, config.categories, config.exclude_categories)
        self.train_samples = split_samples(index, "train", self.categories)
        if self.train_samples == 0:
            which = f" of {', '.join(self.categories)}" if self.categories else ""
            raise UsageError(f"{config.dataset} has no train samples{which} to train on")
        self.has_val = split_samples(index, "val", self.categories) > 0
        self.degradation = index.get("build", {}).get("degradation")
        self.dataset_sha256: str | None = None
        self.init_record = provenance(config.init) if config.init else None
        # how it was trained (a fine-tune's learning rate is a tenth of this one's)
        optimization = config.optimization()
        self.training_record = {
            "lr": config.lr, "schedule": config.schedule, "loss": optimization.loss,
            "optimizer": optimization.optimizer, "batch_size": config.batch_size,
            "patch": config.patch,
        }  # fmt: skip
        self.total = config.total_steps(self.train_samples)
        # the strategy first: multi-worker collectives must be set up before TF starts
        self.strategy = make_strategy(config.strategy, config.devices or None)
        keras.utils.set_random_seed(config.seed)
        if config.deterministic:
            tf.config.experimental.enable_op_determinism()
        if config.time_budget and _num_workers(self.strategy) > 1:
            raise UsageError(
                "--time-budget plans a run from one machine's speed, which the workers of a "
                "cluster would each measure differently; give --steps or --epochs there"
            )
        self.chief = is_chief(self.strategy)
        self.folder = RunFolder(config.out, self.chief)
        policy = precision_policy(config.precision)
        self.folder.claim(config, dataset_fingerprint(index), self.total, policy)
        self.tracker = make_tracker(
            config.track if self.chief else None, self.folder.root, config.tracking_uri,
            config.experiment, Path(config.out).name,
        )  # fmt: skip
        planned = self.folder.planned_steps()
        self.budget = None
        if config.time_budget and not planned:
            self.budget = _Budget(config.time_budget, config.val_every if self.has_val else None)
        self.total = planned or self.total
        decay = max(1, round(config.decay_epochs * self.train_samples / config.batch_size))
        schedule = LearningRate(
            config.lr, config.schedule, self.total, config.warmup, decay, config.decay_factor,
            adjustable=self.budget is not None,
        )  # fmt: skip
        self.schedule = schedule
        self.stored_patch = int(index["build"]["patch"])  # the dataset's LR crop side
        self.trainer = DistributedStep(
            self.strategy, config.model, config.scale, config.batch_size, schedule,
            config.precision, config.jit, config.model_options, config.optimization(),
            hr_patch=(config.patch or self.stored_patch) * config.scale,
        )  # fmt: skip
        # the model, its optimizer, the step, and an adversary's network and optimizer
        self.checkpoint = tf.train.Checkpoint(step=self.trainer.step, **self.trainer.checkpointed())
        scratch = None if self.chief else Path(tempfile.mkdtemp(prefix="vsrdata-worker-ckpt-"))
        self.scratch = scratch
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(scratch or self.folder.ckpt), config.keep_checkpoints
        )
        self._predict: Any = None
        self._plain: keras.Model | None = None
        self.val_seconds = 0.0  # the longest validation so far (a --time-budget's end cost)
        self._plain_step = -1
        self.writer = (
            tf.summary.create_file_writer(str(self.folder.logs))
            if self.chief
            else tf.summary.create_noop_writer()
        )

    # -- pieces ---------------------------------------------------------------------------------

    def restore(self) -> int:
        latest = tf.train.latest_checkpoint(str(self.folder.ckpt))
        if latest:
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except (tf.errors.OpError, AssertionError, ValueError) as exc:
                raise TrainingError(
                    f"cannot resume from {latest}: {str(exc).splitlines()[0]}; "
                    "train into a new --out folder"
                ) from None
            log.info("resuming %s from step %d", self.config.out, int(self.trainer.step.numpy()))
        step = int(self.trainer.step.numpy())
        self.folder.rewind(step)
        return step

    def initialize(self) -> None:
        """A new run with ``--init``: the model starts from that file's weights (an
        adversary's discriminator starts afresh)."""
        path = self.config.init
        assert path is not None
        source = load_model(path)
        theirs = source.get_weights()
        ours = self.trainer.model.weights
        have, need = [tuple(w.shape) for w in theirs], [tuple(v.shape) for v in ours]
        if have != need:
            pairs = zip(have, need, strict=False)
            first = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
            if first is None:
                where = f"{len(have)} weights against {len(need)}"
            else:
                where = f"weight {first} is {have[first]} against {need[first]}"
            raise UsageError(
                f"--init {path} ({source.name}) does not fit {self.config.model} with "
                f"{self.config.model_options or 'its default options'} at "
                f"x{self.config.scale}: {where}"
            )
        self.trainer.model.set_weights(theirs)
        log.info("initialized %s from %s", self.config.model, path)

    def save(self, step: int) -> None:
        self.manager.save(checkpoint_number=step)

    def inference_model(self, step: int) -> keras.Model:
        """The weights of ``step`` in a plain float32 model with recalibrated batch norm.

        The training model may have synchronized batch norm and a mixed-precision policy;
        this one has neither (it loads anywhere without a strategy), and its population
        statistics are recomputed under the current weights (PreciseBN, see
        :func:`recalibrate_batch_norm`) from the same train batches every time, once per step
        (the last validation and the export share it).
        """
        config = self.config
        if self._plain is not None and self._plain_step == step:
            return self._plain
        self._plain_step = step
        if self._plain is None:
            self._plain = build_model(config.model, config.scale, **config.model_options)
            plain = self._plain
            self._predict = tf.function(lambda x: plain(x, training=False), autograph=False)
        self._plain.set_weights(self.trainer.model.get_weights())
        if config.calibrate_batches:
            batches = training_stream(
                config.dataset,
                config.batch_size,
                seed=config.seed + 1,
                format=config.format,
                frames=self.frames,
                categories=self.categories,
            ).take(config.calibrate_batches)
            recalibrate_batch_norm(self._plain, batches)
        return self._plain

    def manifest(self, step: int, best: dict[str, Any] | None) -> dict[str, Any]:
        """What an exported model is and what it learnt from (see :mod:`.manifest`)."""
        config = self.config
        if self.dataset_sha256 is None:  # once per run: the index does not change under it
            self.dataset_sha256 = index_sha256(config.dataset)
        return {
            **model_spec(config.model).identity(config.scale, config.model_options),
            "degradation": self.degradation, "dataset": str(config.dataset),
            "dataset_sha256": self.dataset_sha256, "steps": step, "best": best,
            "categories": list(self.categories) if self.categories else None,
            "init": self.init_record, "training": self.training_record,
            "vsrdata": __version__,
        }  # fmt: skip

    def validate(self, validator: Validator, step: int) -> ValResult:
        began = time.perf_counter()
        try:
            return self._validate(validator, step)
        finally:
            self.val_seconds = max(self.val_seconds, time.perf_counter() - began)

    def _validate(self, validator: Validator, step: int) -> ValResult:
        model = self.inference_model(step)
        result = validator(self._predict)
        entry = {"step": step, **result.as_dict()}
        self.folder.record(entry)
        best = self.folder.best()
        is_best = best is None or result.psnr > best["psnr_y"]
        if is_best:
            self.folder.export(model, "best.keras", self.manifest(step, entry))
            self.folder.mark_best(entry)
        self.tracker.log_metrics(step, {f"val/{k}": v for k, v in result.as_dict().items()})
        with self.writer.as_default(step=step):
            for key, value in result.as_dict().items():
                tf.summary.scalar(f"val/{key}", value)
            tf.summary.image("val/bicubic | model | ground truth", result.images, max_outputs=3)
        self.progress(Metrics("val", step, {**result.as_dict(), "best": float(is_best)}))
        return result

    def replan(self, step: int) -> None:
        """Under a --time-budget, fix the run's length once its speed is known, and end it at
        this step if the budget is spent (either way the length is final: re-running the
        command finds the run complete at that step)."""
        if self.budget is None:
            return
        total = self.budget.plan(step, self.total, self.calibration_cost())
        if total is not None and total != self.total:
            self.total = total
            self.progress(Start("steps", total, done=step))
            self.schedule.set_total(total)
        if total is not None or step >= self.total:
            self.folder.plan(self.total, time_budget=self.budget.seconds,
                             seconds_per_step=self.budget.per_step)  # fmt: skip
            if self.budget.final:
                self.budget = None

    def calibration_cost(self) -> float:
        """What the end of the run (PreciseBN, a validation, the exports) costs, in training
        steps: the longest validation seen so far, or an estimate from the pixels its forward
        passes see (a forward pass costs about a third of a training step of the same size)."""
        cfg = self.config
        crop = self.stored_patch
        train_pixels = cfg.batch_size * (cfg.patch or crop) ** 2
        val = math.ceil(cfg.val_samples / 16) * 16 * crop**2 if self.has_val else 0
        estimate = (cfg.calibrate_batches * cfg.batch_size * crop**2 + val) / train_pixels / 3
        per_step = self.budget.per_step if self.budget else None
        if self.val_seconds and per_step:
            return max(estimate, self.val_seconds / per_step)
        return estimate

    def fail(self, loss: float, step: int) -> TrainingError:
        kept = tf.train.latest_checkpoint(str(self.folder.ckpt))
        where = f"the last good checkpoint {kept} is kept" if kept else "no checkpoint was saved"
        return TrainingError(
            f"the loss became {loss} at step {step}; stopping ({where}). Lower --lr, add "
            "--warmup steps, or train in float32 if --mixed-precision was on"
        )

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> TrainResult:
        config = self.config
        start = self.restore()
        if start == 0 and config.init:
            self.initialize()
        validator = (
            Validator(
                config.dataset,
                config.scale,
                config.val_samples,
                format=config.format,
                frames=self.frames,
                categories=self.categories,
            )
            if self.has_val
            else None
        )
        if validator is None:
            log.warning("%s has no val split: no validation, no best.keras", config.dataset)
        stream = training_stream(
            config.dataset, config.batch_size, seed=config.seed,
            start=start * config.batch_size, patch=config.patch, format=config.format,
            shuffle_buffer=config.shuffle_buffer, frames=self.frames,
            categories=self.categories,
        )  # fmt: skip
        batches = iter(self.trainer.distribute(stream))
        of = f" of {', '.join(self.categories)}" if self.categories else ""
        line = (
            f"{self.train_samples} train samples{of}, {self.strategy.num_replicas_in_sync} "
            f"replica(s) on {_num_workers(self.strategy)} worker(s), {self.trainer.policy}"
        )
        if start:
            line = f"resuming at step {start}; " + line
        elif config.init:
            line = f"starting from {config.init}; " + line
        if validator:
            line += f"; bicubic val PSNR-Y {validator.bicubic_scores[0]:.2f} dB"
        self.progress(Note(line))
        self.tracker.log_params(
            {**config.to_dict(), "dataset_sha256": index_sha256(config.dataset)}
        )
        self.progress(Start("steps", self.total, done=start))
        step, last_val = start, None
        recent: list[float] = []
        terms: dict[str, list[float]] = {}  # an adversarial model's loss terms, as ``recent``
        stopped, began = False, time.perf_counter()
        while step < self.total:
            self.trainer.set_supervision(step, self.total)
            loss = float(self.trainer(*next(batches)))
            step += 1
            if not math.isfinite(loss):
                raise self.fail(loss, step)
            recent = [*recent[-(config.log_every - 1) :], loss]
            self.replan(step)
            rate = float(self.schedule(step - 1))
            self.progress(Advance("steps"))
            extra = {k: float(v) for k, v in self.trainer.terms.items()}
            for key, value in extra.items():
                terms[key] = [*terms.get(key, [])[-(config.log_every - 1) :], value]
            self.progress(Metrics("train", step, {"loss": loss, "learning_rate": rate, **extra}))
            if step % config.log_every == 0:
                means = {f"train/{k}": float(np.mean(v)) for k, v in terms.items()}
                logged = {"step": step, "loss": float(np.mean(recent)), "learning_rate": rate,
                        **{k.removeprefix("train/"): v for k, v in means.items()}}  # fmt: skip
                self.folder.record(logged, "loss.jsonl")
                self.tracker.log_metrics(step, {"train/loss": float(np.mean(recent)),
                                                "train/learning_rate": rate, **means})  # fmt: skip
                with self.writer.as_default(step=step):
                    tf.summary.scalar("train/loss", float(np.mean(recent)))
                    tf.summary.scalar("train/learning_rate", rate)
                    for key, values in terms.items():
                        tf.summary.scalar(f"train/{key}", float(np.mean(values)))
            stopping = self.stop.is_set() and _num_workers(self.strategy) == 1
            if step % config.ckpt_every == 0 or step == self.total or stopping:
                self.save(step)
            if step == _KILL_AT_STEP:  # fault injection for the resume tests (see below)
                os.kill(os.getpid(), signal.SIGKILL)
            if validator and (step % config.val_every == 0 or step == self.total):
                last_val = self.validate(validator, step).as_dict()
            if stopping and step < self.total:
                stopped = True
                break
        elapsed = time.perf_counter() - began
        self.writer.flush()
        if not stopped:
            model = self.inference_model(step)
            self.folder.export(model, "model.keras", self.manifest(step, self.folder.best()))
        result = TrainResult(
            run=str(self.folder.root), steps=step, total_steps=self.total, resumed_from=start,
            stopped=stopped, loss=float(np.mean(recent)) if recent else None,
            samples_per_second=(step - start) * config.batch_size / max(elapsed, 1e-9),
            last_val=last_val, best=self.folder.best(),
            weights_sha256=weights_digest(self.trainer.model.get_weights()),
        )  # fmt: skip
        self.folder.report({**asdict(result), "config": config.to_dict()})
        for name in ("best.keras", "model.keras"):
            self.tracker.log_artifact(self.folder.root / name)
        self.tracker.end("KILLED" if stopped else "FINISHED")  # KILLED: stopped to resume
        return result

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def train(
    config: TrainConfig,
    progress: Reporter = silent,
    stop: threading.Event | None = None,
) -> TrainResult:
    """Train (or resume) the run ``config.out``; see the module docstring.

    Events: a ``Note`` on the run's set-up, ``Start("steps", total, done=first step)`` (again
    when a time budget fixes the length), per step ``Advance("steps")`` and
    ``Metrics("train", step, {loss, learning_rate})``, per validation ``Metrics("val", step,
    {psnr_y, ssim_y, bicubic_psnr_y, bicubic_ssim_y, gain_db, samples, best})``.

    ``stop``, when set, ends the run after the current step with a checkpoint, so the same
    command resumes it (single-worker runs; a multi-worker run stops with its cluster).
    """
    loop = TrainingRun(config, progress, stop or threading.Event())
    try:
        return loop.run()
    except BaseException:
        loop.tracker.end("FAILED")
        raise
    finally:
        loop.close()
