"""``vsrdata train`` and ``vsrdata convert-duf``: argument parsing and display only.

Registered on :data:`vsrdata.cli.app`; the logic is in :mod:`vsrdata.vsr_models`.
TensorFlow is imported inside the commands, so ``vsrdata --help`` stays fast.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from vsrdata.cli.app import Bars, _choices, app, err, load_tensorflow, out
from vsrdata.common.progress import Metrics
from vsrdata.errors import UsageError
from vsrdata.shards.writer import FORMATS
from vsrdata.vsr_models.config import PRESETS, SCHEDULES, STRATEGIES
from vsrdata.vsr_models.registry import LOSSES, OPTIMIZERS, SCALES


class _TrainBars(Bars):
    """The steps bar shows the loss; each validation prints a line."""

    def metrics(self, event: Metrics) -> None:
        v = event.values
        if event.series == "train":
            extra = f"loss {v['loss']:.5f}"
            if "discriminator" in v:  # an adversarial run (its other terms: TensorBoard)
                extra += f" D {v['discriminator']:.3f}"
            self.progress.update(self.tasks["steps"], extra=extra)
        elif event.series == "val":
            mark = "  (best)" if v["best"] else ""
            self.console.print(
                f"step {event.step}: val PSNR-Y {v['psnr_y']:.2f} dB vs bicubic "
                f"{v['bicubic_psnr_y']:.2f} ({v['gain_db']:+.2f} dB), SSIM-Y {v['ssim_y']:.4f} "
                f"vs {v['bicubic_ssim_y']:.4f}{mark}",
                soft_wrap=True,
            )


def _stop_on_signals() -> threading.Event:
    """SIGINT/SIGTERM ask the run to stop after the current step with a checkpoint."""
    stop = threading.Event()

    def request(signum: int, frame: Any) -> None:
        if stop.is_set():  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        err.print("stopping after this step (a checkpoint is saved; Ctrl-C again to abort)")
        stop.set()

    signal.signal(signal.SIGINT, request)
    signal.signal(signal.SIGTERM, request)
    return stop


@app.command()
def train(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder made by `vsrdata build`.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder (re-run to resume).")],
    model: Annotated[str, typer.Option(help="A trainable model (see `vsrdata models`).")] = (
        "duf-16l"
    ),
    model_option: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, an option of the model; repeatable.")
    ] = None,
    scale: Annotated[int, typer.Option(help=f"Upscaling factor: {_choices(SCALES)}.")] = 4,
    preset: Annotated[
        str | None, typer.Option(help=f"{_choices(PRESETS)}; options given win.")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Steps (global batches).")] = None,
    epochs: Annotated[float | None, typer.Option(help="Or: passes over train.")] = None,
    time_budget: Annotated[
        str | None,
        typer.Option(help="Or/and: plan the run to end within e.g. 90s, 4m, 1h (cap: --steps)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Global batch size.")] = None,
    patch: Annotated[int | None, typer.Option(help="LR patch side (random crop).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    loss: Annotated[
        str | None, typer.Option(help=f"{_choices(LOSSES)} (default: the model's).")
    ] = None,
    optimizer: Annotated[str | None, typer.Option(help=_choices(OPTIMIZERS))] = None,
    momentum: Annotated[float | None, typer.Option(help="SGD momentum (0.9).")] = None,
    weight_decay: Annotated[
        float | None, typer.Option(help="Decoupled weight decay (0: none).")
    ] = None,
    clip_norm: Annotated[
        float | None, typer.Option(help="Clip the global gradient norm to this.")
    ] = None,
    vgg_weights: Annotated[
        Path | None,
        typer.Option(help="VGG19 notop weights (Keras HDF5) for --loss vgg54 (SRGAN's)."),
    ] = None,
    schedule: Annotated[str | None, typer.Option(help=_choices(SCHEDULES))] = None,
    warmup: Annotated[int | None, typer.Option(help="Linear warm-up steps.")] = None,
    ckpt_every: Annotated[int | None, typer.Option(help="Checkpoint period, steps.")] = None,
    val_every: Annotated[int | None, typer.Option(help="Validation period, steps.")] = None,
    val_samples: Annotated[int | None, typer.Option(help="Val samples scored.")] = None,
    calibrate_batches: Annotated[
        int | None, typer.Option(help="Train batches for PreciseBN before validation (0: off).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of weights and data order.")] = None,
    strategy: Annotated[str, typer.Option(help=_choices(STRATEGIES))] = "auto",
    devices: Annotated[
        str | None, typer.Option(help="Devices for mirrored, e.g. /gpu:0,/gpu:1.")
    ] = None,
    cpu_devices: Annotated[
        int, typer.Option(help="Split the CPU into N logical devices (try strategies on CPU).")
    ] = 0,
    mixed_precision: Annotated[
        bool, typer.Option("--mixed-precision", help="float16 on GPUs, bfloat16 on CPUs.")
    ] = False,
    jit: Annotated[bool, typer.Option("--jit", help="Compile the step with XLA.")] = False,
    format: Annotated[
        str | None, typer.Option(help=f"Shards to read: {_choices(FORMATS)}.")
    ] = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Deterministic TensorFlow ops (slower).")
    ] = False,
) -> None:
    """Train a model on a dataset; re-running the same command resumes from its last checkpoint."""
    from vsrdata.vsr_models.config import TrainConfig, parse_duration
    from vsrdata.vsr_models.registry import parse_options

    if format is not None and format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    config = TrainConfig.from_options(
        preset=preset, dataset=str(dataset), out=str(out_dir), model=model,
        model_options=parse_options(model_option or []), scale=scale,
        steps=steps, epochs=epochs, time_budget=parse_duration(time_budget),
        batch_size=batch_size, patch=patch, lr=lr, loss=loss, optimizer=optimizer,
        momentum=momentum, weight_decay=weight_decay, clip_norm=clip_norm,
        vgg_weights=str(vgg_weights) if vgg_weights else None,
        schedule=schedule, warmup=warmup, ckpt_every=ckpt_every, val_every=val_every,
        val_samples=val_samples, calibrate_batches=calibrate_batches, seed=seed,
        strategy=strategy, format=format,
        devices=tuple(d.strip() for d in devices.split(",")) if devices else None,
        precision="mixed" if mixed_precision else None, jit=jit or None,
        deterministic=deterministic or None,
    )  # fmt: skip
    load_tensorflow()
    from vsrdata.vsr_models.distribute import split_cpu

    if cpu_devices > 1:
        split_cpu(cpu_devices)
    from vsrdata.vsr_models.train import train as run_training

    stop = _stop_on_signals()
    with _TrainBars() as bars:
        result = run_training(config, bars, stop)
    if result.stopped:
        out.print(f"stopped at step {result.steps} of {result.total_steps}; run the same "
                  "command again to resume")  # fmt: skip
        raise typer.Exit(130)
    done = f"trained {result.steps} steps into {result.run}"
    if result.steps > result.resumed_from:
        done += f" ({result.samples_per_second:.1f} samples/s)"
    out.print(f"{done}; weights sha256 {result.weights_sha256[:16]}", soft_wrap=True)
    best = result.best
    if best:
        out.print(
            f"best val PSNR-Y {best['psnr_y']:.2f} dB at step {best['step']} vs bicubic "
            f"{best['bicubic_psnr_y']:.2f} dB ({best['gain_db']:+.2f} dB): "
            f"{Path(result.run) / 'best.keras'}",
            soft_wrap=True,
        )


@app.command("convert-duf")
def convert_duf(
    params: Annotated[Path, typer.Argument(help="Official params_*L_x*.h5 of yhjo09/VSR-DUF.")],
    out_file: Annotated[Path, typer.Option("--out", help="Keras model to write (.keras).")],
) -> None:
    """Import the official DUF release's pretrained parameters as a .keras model."""
    if out_file.suffix != ".keras":
        raise UsageError(f"--out must end in .keras, got {out_file}")
    load_tensorflow()
    from vsrdata import __version__
    from vsrdata.vsr_models.convert import convert_official
    from vsrdata.vsr_models.manifest import save_model
    from vsrdata.vsr_models.registry import spec as registry_spec

    model = convert_official(params)
    name, scale = model.name.rsplit("-x", 1)
    manifest = {**registry_spec(name).identity(int(scale)), "degradation": "bd",
                "source": f"official DUF release {params.name}",
                "vsrdata": __version__}  # fmt: skip
    save_model(model, out_file, manifest)
    out.print(f"wrote {model.name} ({model.count_params():,} parameters) to {out_file}")


@app.command()
def models(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these models (default: every registered one).", show_default=False
        ),
    ] = None,
    scale: Annotated[int, typer.Option(help="Count parameters at this factor.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registered models: paper, window, colour space, upsampling, scales, size."""
    from vsrdata.vsr_models import registry

    chosen = [registry.spec(n) for n in names] if names else registry.specs()
    rows = []
    load_tensorflow()
    for spec in chosen:
        row = spec.describe()
        if scale in spec.scales:
            model = spec.build(scale)
            row["parameters"] = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        else:
            row["parameters"] = None
        rows.append(row)
    if as_json:
        out.print_json(data=rows)
        return
    table = Table("model", "paper", "frames", "colour", "upsampling", "scales",
                  f"parameters (x{scale})", box=None)  # fmt: skip
    for row in rows:
        table.add_row(
            row["name"], row["paper"] or "-", str(row["frames"]), row["colour"],
            row["upsampling"], ",".join(map(str, row["scales"])),
            f"{row['parameters']:,}" if row["parameters"] is not None else "-",
        )  # fmt: skip
    out.print(table)
    out.print("bicubic, the baseline of every eval, is MATLAB imresize of the uint8 centre frame "
              "(no model file)")  # fmt: skip
