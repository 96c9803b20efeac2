"""Self-transfer: fine-tune a trained model on a video's own frames before upscaling it.

A video repeats its content (faces, textures and scenes come back, often nearer the camera),
so a model can learn from the video itself (internal learning: ZSSR, Shocher et al., CVPR
2018; MZSR, Soh et al., CVPR 2020). :func:`finetune` takes frames of the video as HR (its
keyframes by default: the I-frames the decoder marks; or every Nth frame; or the middle frame
of shots spread over the clip), degrades them with the model's own degradation and scale (from
its manifest) into LR/HR pairs (windows of the model's length for multi-frame models, padded
by reflection at the clip's ends like ``vsrdata eval``), and trains the model on random
aligned crops of them, flipped, rotated and reversed in time like the training input
(:func:`vsrdata.vsr_models.data.crop_and_augment`), with scale jitter: each HR window also
enters shrunk by each ``jitter`` factor (area resampling) before degrading.

The result is an ordinary model file whose manifest keeps the original's fields and adds
``finetuned`` (the video, its digest, the frames taken, steps, learning rate, seconds) and
``init`` (the model it started from).

With ``eval_hr`` (a folder of the video's true HR frames, in natural name order) the
pretrained and the fine-tuned model are scored against them beside bicubic, with the same
protocol and report as ``vsrdata eval``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vsrdata import __version__
from vsrdata.common.files import sha256_file
from vsrdata.common.options import require_at_least
from vsrdata.common.progress import Advance, Metrics, Note, Reporter, Start, silent
from vsrdata.errors import InputError, UsageError

log = logging.getLogger(__name__)

SELECTIONS = ("keyframes", "every", "scenes")
JITTER = (1.0, 0.8)  # HR windows enter at these scales (1.0: as decoded)


@dataclass(frozen=True)
class FinetuneConfig:
    video: str  # a video file or a folder of frames: the LR video to upscale
    model: str  # a trained .keras model with its manifest
    out: str  # the fine-tuned .keras model
    select: str = "keyframes"  # keyframes | every | scenes
    every: int = 10  # select="every": one frame in this many
    scenes: int = 8  # select="scenes": at most this many shots, spread over the clip
    max_frames: int = 32  # at most this many HR windows (spread evenly over those selected)
    steps: int = 200
    time_budget: float | None = None  # seconds; ends the run earlier when spent
    lr: float | None = None  # None: a tenth of the model's training rate (else its recipe's)
    batch_size: int = 4
    patch: int = 16  # LR patch side (smaller when the frames are)
    jitter: tuple[float, ...] = JITTER
    degradation: str | None = None  # None: the model's (its manifest's)
    seed: int = 0
    eval_hr: str | None = None  # the true HR frames: score pretrained vs fine-tuned
    report: str | None = None  # write the eval report here

    def validate(self) -> None:
        from vsrdata.preprocess.degrade import DEGRADATIONS

        if self.select not in SELECTIONS:
            raise UsageError(f"--select must be one of {', '.join(SELECTIONS)}")
        require_at_least(self, ("every", "scenes", "max_frames", "steps", "batch_size"))
        require_at_least(self, ("patch",), 8)  # LR pixels
        if self.lr is not None and not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise UsageError(f"--time-budget must be positive, got {self.time_budget}")
        if not self.jitter or not all(0.25 <= j <= 1.0 for j in self.jitter):
            raise UsageError("jitter factors must lie in [0.25, 1]")
        if self.degradation is not None and self.degradation not in DEGRADATIONS:
            raise UsageError(f"--degradation must be one of {', '.join(DEGRADATIONS)}")
        if not Path(self.video).exists():
            raise InputError(f"{self.video} does not exist")
        if not Path(self.model).is_file():
            raise InputError(f"model {self.model} does not exist")
        if self.eval_hr is not None and not Path(self.eval_hr).is_dir():
            raise InputError(f"--eval-hr {self.eval_hr} is not a folder of frames")
        if Path(self.out).resolve() == Path(self.model).resolve():
            raise UsageError("--out must differ from --model (the original is kept)")


# -- frames ----------------------------------------------------------------------------------------


def read_rgb(path: Path) -> np.ndarray:
    """One frame image as uint8 RGB; an unreadable image is the user's input error."""
    from vsrdata.errors import ClipError
    from vsrdata.preprocess.video import read_image

    try:
        return read_image(Path(path))
    except ClipError as e:
        raise InputError(f"{e} ({path})") from e


class VideoFrames:
    """A video file (decoded with PyAV, which reports each frame's picture type) or a frame
    folder, as RGB frames with their keyframe flags; iterating again decodes again."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.fps = 25.0
        if self.path.is_dir():
            from vsrdata.preprocess.video import _frame_files

            self.files = _frame_files(self.path) or []
            if not self.files:
                raise InputError(f"{self.path} holds no frame images")
        else:
            from vsrdata.evaluate.upscale import probe

            self.files = []
            self.fps = float(probe(self.path)["fps"] or Fraction(25))

    def __iter__(self) -> Iterator[tuple[np.ndarray, bool]]:
        """(uint8 RGB frame, is a keyframe); a frame folder has no keyframes."""
        if self.files:
            for f in self.files:
                yield read_rgb(f), False
            return
        import av
        from av.video.frame import PictureType

        with av.open(str(self.path)) as container:
            for frame in container.decode(video=0):
                intra = frame.pict_type == PictureType.I  # the decoder's picture type
                yield frame.to_ndarray(format="rgb24"), bool(frame.key_frame) or intra


def keyframes(frames: VideoFrames) -> list[int]:
    """Indices of the frames the decoder marks as keyframes or intra-coded (I) pictures."""
    return [i for i, (_, key) in enumerate(frames) if key]


def shot_middles(frames: VideoFrames) -> list[int]:
    """The middle frame of every shot (cuts from the adaptive detector, as the build finds
    them)."""
    from vsrdata.preprocess.scenes import CutDetector

    detector = CutDetector("adaptive", frames.fps, min_shot=8)
    cuts: set[int] = set()
    count = 0
    for i, (rgb, _) in enumerate(frames):
        cuts.update(detector.push(i, rgb))
        count = i + 1
    cuts.update(detector.finish())
    bounds = [0, *sorted(c for c in cuts if 0 < c < count), count]
    return [(a + b) // 2 for a, b in itertools.pairwise(bounds) if b > a]


def spread(indices: list[int], limit: int) -> list[int]:
    """At most ``limit`` of ``indices``, evenly spaced (first and last kept)."""
    if len(indices) <= limit:
        return list(indices)
    picks = np.linspace(0, len(indices) - 1, limit).round().astype(int)
    return [indices[i] for i in sorted(set(picks.tolist()))]


def select_frames(config: FinetuneConfig, frames: VideoFrames) -> tuple[list[int], str]:
    """The HR frames to learn from and how they were chosen (a folder or a video without
    marked keyframes beyond the first falls back to every ``config.every``-th frame)."""
    how = config.select
    if how == "keyframes":
        chosen = keyframes(frames)
        if len(chosen) < 2:
            log.info("%s marks %d keyframe(s): taking every %dth frame", frames.path,
                     len(chosen), config.every)  # fmt: skip
            how = "every"
    if how == "every":
        count = sum(1 for _ in frames)
        chosen = list(range(0, count, config.every))
    elif how == "scenes":
        chosen = spread(shot_middles(frames), config.scenes)
    if not chosen:
        raise InputError(f"{frames.path} has no frames to learn from")
    return spread(chosen, config.max_frames), how


def hr_windows(frames: VideoFrames, chosen: list[int], size: int) -> list[np.ndarray]:
    """The ``size``-frame windows centred on the ``chosen`` frames (reflected at the ends)."""
    from vsrdata.evaluate.infer import streaming_windows

    wanted = set(chosen)
    out = []
    for t, window in enumerate(streaming_windows((f for f, _ in frames), size, "reflect")):
        if t in wanted:
            out.append(window)
    return out


def make_pairs(
    windows: list[np.ndarray], degradation: str, scale: int, jitter: tuple[float, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(LR window [T, h, w, 3], HR centre frame [h·s, w·s, 3]) uint8 pairs: each window at
    each jitter scale (area-shrunk first), cropped to a multiple of ``scale``, degraded."""
    from vsrdata.preprocess.degrade import degrade

    pairs = []
    for window in windows:
        for factor in jitter:
            h, w = window.shape[1:3]
            size = (int(w * factor) // scale * scale, int(h * factor) // scale * scale)
            if min(size) < 8 * scale:
                continue
            if factor == 1.0:
                frames = [f[: size[1], : size[0]] for f in window]
            else:
                frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in window]
            lr = np.stack([degrade(np.ascontiguousarray(f), degradation, scale) for f in frames])
            pairs.append((lr, np.ascontiguousarray(frames[len(frames) // 2])))
    if not pairs:
        raise InputError(f"the frames are smaller than 8 LR pixels at x{scale}: nothing to learn")
    return pairs


class PairSampler:
    """Endless batches of augmented crops of the pairs, a pure function of the seed: sample
    ``k`` takes its pair and a square window from a seeded generator, then the stateless
    augmentation of the training input with seed (seed, k)."""

    def __init__(
        self, pairs: list[tuple[np.ndarray, np.ndarray]], scale: int, patch: int, corner: bool,
        seed: int, align: int = 1,
    ) -> None:  # fmt: skip
        import tensorflow as tf

        from vsrdata.vsr_models.data import crop_and_augment

        self.pairs, self.scale, self.seed = pairs, scale, seed
        smallest = min(min(lr.shape[1:3]) for lr, _ in pairs)
        # a bd pair is mirrored only with one LR pixel of room around its crop
        self.side = min(patch + 1 if corner else patch, smallest)
        self.patch = min(patch, self.side - 1) if corner and self.side > 8 else self.side
        # networks with strided layers take crops of a multiple of their alignment
        self.patch = max(align, self.patch // align * align)
        side, crop = self.side, self.patch
        self._augment = tf.function(
            lambda lr, hr, key: crop_and_augment(lr, hr, key, scale, crop, corner),
            input_signature=[tf.TensorSpec([None, side, side, 3], tf.uint8),
                             tf.TensorSpec([side * scale, side * scale, 3], tf.uint8),
                             tf.TensorSpec([2], tf.int64)],
            autograph=False,
        )  # fmt: skip
        self.rng = np.random.default_rng(seed)
        self.k = 0

    def batch(self, size: int) -> tuple[Any, Any]:
        import tensorflow as tf

        lrs, hrs = [], []
        s, q = self.scale, self.side
        for _ in range(size):
            lr, hr = self.pairs[int(self.rng.integers(len(self.pairs)))]
            y = int(self.rng.integers(lr.shape[1] - q + 1))
            x = int(self.rng.integers(lr.shape[2] - q + 1))
            window = lr[:, y : y + q, x : x + q]
            target = hr[y * s : (y + q) * s, x * s : (x + q) * s]
            a, b = self._augment(window, target, tf.constant([self.seed, self.k], tf.int64))
            lrs.append(a)
            hrs.append(b)
            self.k += 1
        return tf.cast(tf.stack(lrs), tf.float32) / 255.0, tf.cast(
            tf.stack(hrs), tf.float32
        ) / 255.0


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class FinetuneResult:
    out: str
    frames: list[int]  # the video frames taken as HR (window centres)
    selection: str
    pairs: int
    steps: int
    seconds: float  # of training
    first_loss: float
    last_loss: float  # mean of the last 10 steps
    evaluation: dict[str, Any] | None = None  # with eval_hr: the eval document's summary


def finetune(
    config: FinetuneConfig, progress: Reporter = silent, stop: threading.Event | None = None
) -> FinetuneResult:
    """Fine-tune ``config.model`` on ``config.video``'s frames (see the module docstring).

    Events: ``Note`` lines on what was taken, ``Start("steps")``, per step ``Advance`` and
    ``Metrics("train", step, {loss, learning_rate})``; with ``eval_hr``, those of the eval.
    """
    config.validate()
    from vsrdata.vsr_models.config import Optimization
    from vsrdata.vsr_models.data import CORNER_ALIGNED
    from vsrdata.vsr_models.distribute import DistributedStep, make_strategy
    from vsrdata.vsr_models.manifest import load_model, provenance, read_manifest, save_model
    from vsrdata.vsr_models.registry import build_model
    from vsrdata.vsr_models.registry import spec as model_spec

    manifest = read_manifest(config.model)
    if manifest is None or "model" not in manifest:
        raise UsageError(
            f"{config.model} has no vsrdata manifest: fine-tuning needs its model, scale and "
            "degradation (models vsrdata trains have one)"
        )
    spec = model_spec(manifest["model"])
    options, scale = manifest.get("options") or {}, int(manifest["scale"])
    degradation = config.degradation or manifest.get("degradation") or "bd"
    recipe = spec.recipe
    loss = recipe.loss if recipe else "huber"
    if loss == "vgg54":  # no VGG weights here: the pixel loss SRGAN's generator starts from
        loss = "mse"
    # a tenth of the rate the model was trained at (its manifest's), else of its recipe's
    trained_at = (manifest.get("training") or {}).get("lr") or (recipe.lr if recipe else 1e-3)
    lr = config.lr or float(trained_at) / 10

    frames = VideoFrames(config.video)
    chosen, how = select_frames(config, frames)
    windows = hr_windows(frames, chosen, spec.window(options))
    pairs = make_pairs(windows, degradation, scale, config.jitter)
    sampler = PairSampler(pairs, scale, config.patch, degradation in CORNER_ALIGNED, config.seed,
                          spec.align)  # fmt: skip
    progress(Note(f"{len(chosen)} frames of {config.video} ({how}) as HR, {len(pairs)} pairs "
                  f"with jitter; {degradation} x{scale}; {sampler.patch}x{sampler.patch} LR "
                  f"patches; lr {lr:g}"))  # fmt: skip

    import keras

    keras.utils.set_random_seed(config.seed)
    step = DistributedStep(make_strategy("one-device"), spec.name, scale, config.batch_size,
                           lr, model_options=options, optimization=Optimization(loss),
                           hr_patch=sampler.patch * scale)  # fmt: skip
    original = load_model(config.model)
    step.model.set_weights(original.get_weights())
    progress(Start("steps", config.steps))
    losses: list[float] = []
    began = time.perf_counter()
    for k in range(1, config.steps + 1):
        loss_value = float(step(*sampler.batch(config.batch_size)))
        if not np.isfinite(loss_value):
            raise UsageError(f"the loss became {loss_value} at step {k}: lower --lr")
        losses.append(loss_value)
        progress(Advance("steps"))
        progress(Metrics("train", k, {"loss": loss_value, "learning_rate": lr}))
        spent = time.perf_counter() - began
        if (stop is not None and stop.is_set()) or (
            config.time_budget is not None and spent * (k + 1) / k > config.time_budget
        ):
            break
    seconds = time.perf_counter() - began

    plain = build_model(spec.name, scale, **options)
    plain.set_weights(step.model.get_weights())
    if spec.batch_norm:  # population statistics of the video's own crops (PreciseBN)
        from vsrdata.vsr_models.validation import recalibrate_batch_norm

        recalibrate_batch_norm(plain, [sampler.batch(config.batch_size) for _ in range(8)])
    result = FinetuneResult(
        out=str(config.out), frames=chosen, selection=how, pairs=len(pairs), steps=len(losses),
        seconds=seconds, first_loss=losses[0], last_loss=float(np.mean(losses[-10:])),
    )  # fmt: skip
    record = {
        "video": str(config.video), "selection": how, "frames": chosen,
        "video_sha256": sha256_file(config.video) if Path(config.video).is_file() else None,
        "steps": result.steps, "lr": lr, "loss": loss, "degradation": degradation,
        "jitter": list(config.jitter), "seconds": round(seconds, 3), "seed": config.seed,
    }  # fmt: skip
    init = provenance(config.model)
    save_model(plain, config.out, {**manifest, "finetuned": record, "init": init,
                                   "vsrdata": __version__})  # fmt: skip
    if config.eval_hr is not None:
        result.evaluation = score_against_hr(config, frames, progress)
    return result


# -- scoring on the true HR frames -----------------------------------------------------------------


def score_against_hr(
    config: FinetuneConfig, frames: VideoFrames, progress: Reporter = silent
) -> dict[str, Any]:
    """The video's frames upscaled by bicubic, the pretrained and the fine-tuned model,
    scored against the HR frames in ``config.eval_hr`` (DUF protocol: Y, 8-pixel border, the
    first and last 2 frames left out); writes ``config.report`` when given."""
    from functools import partial

    from vsrdata.evaluate.infer import Bicubic, KerasUpscaler, temporal_window
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.report import summarize, write_report
    from vsrdata.evaluate.run import Clip, EvalConfig, score_clip
    from vsrdata.preprocess.video import _frame_files

    assert config.eval_hr is not None
    models = [KerasUpscaler(config.model, name="pretrained"),
              KerasUpscaler(config.out, name="finetuned")]  # fmt: skip
    scale, size = models[0].scale, max(m.frames for m in models)
    lr = [f for f, _ in frames]
    files = _frame_files(Path(config.eval_hr)) or []
    if len(files) != len(lr):
        raise InputError(f"--eval-hr {config.eval_hr} holds {len(files)} frames but "
                         f"{config.video} has {len(lr)}")  # fmt: skip
    got = read_rgb(files[0]).shape[:2]
    if got != (lr[0].shape[0] * scale, lr[0].shape[1] * scale):
        raise InputError(f"--eval-hr frames are {got}, not x{scale} of the video's "
                         f"{lr[0].shape[:2]}")  # fmt: skip

    def windows() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for t, path in enumerate(files):
            yield t, temporal_window(lr, t, size, "reflect"), read_rgb(path)

    protocol = make_protocol("duf")
    clip = Clip(Path(config.video).stem, "video", partial(windows), padded=True)
    result = score_clip(clip, [Bicubic(scale, size), *models], protocol, progress)
    eval_config = EvalConfig(videos=str(config.eval_hr), scale=scale, frames=size)
    doc = summarize([result], ["bicubic", "pretrained", "finetuned"], protocol, eval_config,
                    "the video's own", [])  # fmt: skip
    if config.report:
        write_report(doc, config.report)
    overall = doc["overall"]
    return {key: overall[key] for key in overall if ":" in key} | {
        "gain_db": overall["psnr:finetuned"] - overall["psnr:pretrained"],
        "frames_scored": len(result.frame_ids),
    }


def result_dict(result: FinetuneResult) -> dict[str, Any]:
    return asdict(result)
