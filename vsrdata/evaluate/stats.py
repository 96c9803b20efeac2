"""How sure a gain is: bootstrap confidence intervals and paired tests over clips.

The gain of a column over a baseline is the report's own statistic: per-frame PSNR
differences, averaged over a clip's scored frames, then over clips. Its interval comes from a
two-level (hierarchical) bootstrap, the resampling that matches that design: each replicate
draws clips with replacement and, within each drawn clip, its frames with replacement, and
takes the same mean of means; the interval is the percentile interval of the replicates
(Efron & Tibshirani 1993, ch. 13). Frames of one clip are not independent, so clips are the
units of the tests: the sign test (two-sided binomial on the clips that got better vs worse)
and the Wilcoxon signed-rank test (two-sided, exact for small untied samples) on the clips'
mean differences. A deterministic seed makes a report reproducible to the digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

REPLICATES = 10_000
CHUNK = 500  # replicates drawn at once (bounds memory on sets of thousands of clips)


def bootstrap_interval(
    per_clip: Sequence[np.ndarray], level: float = 0.95, replicates: int = REPLICATES,
    seed: int = 0,
) -> tuple[float, float, float]:  # fmt: skip
    """(mean of clip means, low, high) of per-frame differences ``per_clip`` (one array per
    clip) by the two-level percentile bootstrap."""
    clips = [np.asarray(d, dtype=np.float64) for d in per_clip]
    if not clips or any(d.size == 0 for d in clips):
        raise ValueError("every clip needs at least one scored frame")
    estimate = float(np.mean([d.mean() for d in clips]))
    rng = np.random.default_rng(seed)
    stats = np.empty(replicates)
    for start in range(0, replicates, CHUNK):
        b = min(CHUNK, replicates - start)
        # frame resampling within every clip: (clips, b) means
        means = np.stack([d[rng.integers(0, d.size, (b, d.size))].mean(axis=1) for d in clips])
        picks = rng.integers(0, len(clips), (b, len(clips)))  # clip resampling
        stats[start : start + b] = means[picks, np.arange(b)[:, None]].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return estimate, float(low), float(high)


def paired_tests(clip_differences: Sequence[float]) -> dict[str, Any]:
    """Sign and Wilcoxon signed-rank tests (two-sided) of clip mean differences against 0."""
    from scipy import stats

    d = np.asarray(clip_differences, dtype=np.float64)
    better, worse = int((d > 0).sum()), int((d < 0).sum())
    sign_p = float(stats.binomtest(better, better + worse, 0.5).pvalue) if better + worse else 1.0
    nonzero = d[d != 0]
    wilcoxon_p = float(stats.wilcoxon(nonzero).pvalue) if nonzero.size else 1.0
    return {"clips_better": better, "clips_worse": worse, "sign_p": sign_p,
            "wilcoxon_p": wilcoxon_p}  # fmt: skip


def compare(clips: Sequence[Any], model: str, baseline: str, seed: int = 0) -> dict[str, Any]:
    """Gain of ``model`` over ``baseline`` (PSNR, dB) on ``clips`` (ClipResults): estimate,
    95% interval and the paired tests."""
    per_clip = [np.asarray(c.psnr[model]) - np.asarray(c.psnr[baseline]) for c in clips]
    gain, low, high = bootstrap_interval(per_clip, seed=seed)
    return {"model": model, "baseline": baseline, "gain": gain, "ci95": [low, high],
            **paired_tests([float(d.mean()) for d in per_clip])}  # fmt: skip
