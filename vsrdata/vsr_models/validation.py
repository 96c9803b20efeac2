"""Validation during training: PSNR-Y and SSIM-Y of the model and of bicubic on the val split.

Both outputs are rounded to uint8 like a saved frame, and scored with
:func:`vsrdata.evaluate.psnr` / :func:`vsrdata.evaluate.ssim` on the Y channel with a border
of ``scale`` HR pixels cropped (the crops are small; ``vsrdata eval`` applies the full
protocols to whole frames). Bicubic is MATLAB ``imresize`` of the uint8 LR centre frame,
computed once per run. Means are over samples.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from vsrdata.common.images import to_uint8
from vsrdata.common.metrics import PSNR_CAP, psnr_ssim
from vsrdata.preprocess.degrade import imresize
from vsrdata.vsr_models.data import eval_data

SHOWN = 3  # val samples drawn in TensorBoard


_FORWARD: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _training_forward(model: Any) -> Any:
    """``model(x, training=True)`` compiled once per model (traced with momentum 0)."""
    if model not in _FORWARD:
        _FORWARD[model] = tf.function(
            lambda x: model(x, training=True), reduce_retracing=True, autograph=False
        )
    return _FORWARD[model]


def recalibrate_batch_norm(model: Any, batches: Any) -> int:
    """Set every batch norm's population statistics to their mean over ``batches``.

    PreciseBN (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021): the moving averages
    kept during training trail the weights by about 1 / (1 - momentum) steps, which costs
    dB at inference early in a run. Each batch runs the model in training mode (compiled
    once) with momentum 0, which leaves each layer's batch mean and variance in its moving
    statistics; their mean over the batches, accumulated in float64, becomes the population
    statistics. Weights are untouched. Returns the batch count.
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in layers]
    sums = [[np.zeros(v.shape, np.float64) for v in (b.moving_mean, b.moving_variance)]
            for b in layers]  # fmt: skip
    count = 0
    try:
        for layer in layers:
            layer.momentum = 0.0  # read when the step is traced: moving = this batch's moments
        forward = _training_forward(model)
        for lr, _ in batches:
            forward(lr)
            for acc, layer in zip(sums, layers, strict=True):
                acc[0] += np.asarray(layer.moving_mean.numpy(), np.float64)
                acc[1] += np.asarray(layer.moving_variance.numpy(), np.float64)
            count += 1
        for acc, layer in zip(sums, layers, strict=True):
            if count:
                layer.moving_mean.assign((acc[0] / count).astype(layer.moving_mean.dtype))
                layer.moving_variance.assign((acc[1] / count).astype(layer.moving_variance.dtype))
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return count


@dataclass
class ValResult:
    """Mean val scores of the model and of bicubic, and a few images to look at."""

    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float
    samples: int
    images: np.ndarray = field(repr=False)  # [SHOWN, H, 3·W, 3] uint8: bicubic | model | GT

    @property
    def gain(self) -> float:
        return self.psnr - self.bicubic_psnr

    def as_dict(self) -> dict[str, float]:
        return {
            "psnr_y": self.psnr, "ssim_y": self.ssim, "bicubic_psnr_y": self.bicubic_psnr,
            "bicubic_ssim_y": self.bicubic_ssim, "gain_db": self.gain, "samples": self.samples,
        }  # fmt: skip


class Validator:
    """Scores a model on the first ``limit`` samples of a dataset's val split."""

    def __init__(
        self,
        dataset: str | Path,
        scale: int,
        limit: int,
        batch_size: int = 16,
        format: str | None = None,
        split: str = "val",
        frames: int | None = None,
        categories: tuple[str, ...] | None = None,
    ) -> None:
        self.scale = scale
        self.lr: list[np.ndarray] = []
        self.hr: list[np.ndarray] = []
        data = eval_data(dataset, split, batch_size, limit, format, frames, categories)
        for lr, hr in data:
            self.lr.append(lr.numpy())
            self.hr.append(to_uint8(hr.numpy()))
        centre = [to_uint8(b[:, b.shape[1] // 2]) for b in self.lr]
        self.bicubic = [np.stack([imresize(f, scale) for f in batch]) for batch in centre]
        self.bicubic_scores = self._score(self.bicubic)

    def _score(self, outputs: list[np.ndarray]) -> tuple[float, float]:
        border = self.scale
        pairs = [
            (o, g)
            for ob, gb in zip(outputs, self.hr, strict=True)
            for o, g in zip(ob, gb, strict=True)
        ]
        scores = [psnr_ssim(o, g, crop_border=border) for o, g in pairs]
        p, s = [x for x, _ in scores], [y for _, y in scores]
        return float(np.mean(np.minimum(p, PSNR_CAP))), float(np.mean(s))

    @property
    def samples(self) -> int:
        return sum(len(b) for b in self.hr)

    def __call__(self, predict: Any) -> ValResult:
        """Scores ``predict`` (float [B, T, h, w, 3] -> float [B, H, W, 3])."""
        outputs = [to_uint8(predict(tf.constant(b))) for b in self.lr]
        score, structure = self._score(outputs)
        shown = [
            np.concatenate([self.bicubic[0][i], outputs[0][i], self.hr[0][i]], axis=1)
            for i in range(min(SHOWN, len(self.hr[0])))
        ]
        return ValResult(
            psnr=score,
            ssim=structure,
            bicubic_psnr=self.bicubic_scores[0],
            bicubic_ssim=self.bicubic_scores[1],
            samples=self.samples,
            images=np.stack(shown),
        )
