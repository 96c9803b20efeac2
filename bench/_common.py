"""Shared helpers for the benchmark scripts (not a test suite: run them, read the table)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.preprocess.synth import synthesize

OUT = Path(os.environ.get("VSRDATA_BENCH_OUT", "bench-out"))


def machine() -> str:
    """CPU model, core count and Python version, for the results table."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def gflops(model: Any, shape: list[int]) -> float:
    """Floating-point operations (2 per multiply-add) of one inference call on an input of
    ``shape``, in GFLOP, counted by TensorFlow's profiler on the frozen graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    fn = tf.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(
        fn.get_concrete_function(tf.TensorSpec(shape, tf.float32))
    )
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=frozen.graph, options=options).total_float_ops / 1e9


def clips(name: str, **kwargs: Any) -> Path:
    """Synthetic clips under bench-out/<name>, generated once and reused."""
    folder = OUT / name
    stamp = folder / ".params.json"
    if not stamp.exists() or json.loads(stamp.read_text()) != kwargs:
        synthesize(folder, **kwargs)
        stamp.write_text(json.dumps(kwargs))
    return folder


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def alternate(
    cases: dict[str, Callable[[], int]], rounds: int
) -> tuple[dict[str, float], dict[str, int]]:
    """Run every case once per round, alternating; (median seconds, count) per case."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for name, fn in cases.items():
            dt, counts[name] = timed(fn)
            seconds[name].append(dt)
    return {name: statistics.median(v) for name, v in seconds.items()}, counts


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(title: str, header: list[str], rows: list[list[Any]], extra: dict[str, Any]) -> None:
    """Print a markdown table and save it with the date and machine to bench-out/<title>.json."""
    print(f"\n### {title}\n")
    print(f"{date.today().isoformat()}, {machine()}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    for key, value in extra.items():
        print(f"\n{key}: {value}")
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"date": date.today().isoformat(), "machine": machine(), "header": header,
              "rows": rows, **extra}  # fmt: skip
    (OUT / f"{title.lower().replace(' ', '_')}.json").write_text(json.dumps(record, indent=2))


def randomize_statistics(model: Any, rng: np.random.Generator) -> None:
    """Batch-norm parameters and statistics away from 1 and 0, so the check sees them."""
    for layer in model.layers:
        weights = layer.get_weights()
        if len(weights) == 4:
            c = weights[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 2.0, c)])  # fmt: skip
