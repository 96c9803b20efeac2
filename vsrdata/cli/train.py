"""``vsrdata train``, ``finetune``, ``models`` and ``convert-duf``: argument parsing and
display only.

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


def _names(text: str | None) -> tuple[str, ...] | None:
    """'a, b' -> ('a', 'b'); None stays None."""
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


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
    dataset: Annotated[
        str, typer.Argument(help="Dataset made by `vsrdata build` (a folder or a URL).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder (re-run to resume).")],
    model: Annotated[
        str | None,
        typer.Option(help="A trainable model (`vsrdata models`); default duf-16l or --init's."),
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(help="Start from this .keras model's weights (its model and scale too)."),
    ] = None,
    categories: Annotated[
        str | None, typer.Option(help="Train and validate on these categories only, e.g. a,b.")
    ] = None,
    exclude_categories: Annotated[
        str | None, typer.Option(help="Leave out these categories, e.g. a,b.")
    ] = None,
    model_option: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, an option of the model; repeatable.")
    ] = None,
    scale: Annotated[
        int | None, typer.Option(help=f"Upscaling factor: {_choices(SCALES)}; default 4.")
    ] = None,
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
    track: Annotated[
        str | None, typer.Option(help="Also log to: mlflow (parameters, metrics, models).")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: ./mlruns).")
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
        model_options=parse_options(model_option or []) or None, scale=scale,
        init=str(init) if init else None, categories=_names(categories),
        exclude_categories=_names(exclude_categories),
        steps=steps, epochs=epochs, time_budget=parse_duration(time_budget),
        batch_size=batch_size, patch=patch, lr=lr, loss=loss, optimizer=optimizer,
        momentum=momentum, weight_decay=weight_decay, clip_norm=clip_norm,
        vgg_weights=str(vgg_weights) if vgg_weights else None, track=track,
        tracking_uri=tracking_uri,
        schedule=schedule, warmup=warmup, ckpt_every=ckpt_every, val_every=val_every,
        val_samples=val_samples, calibrate_batches=calibrate_batches, seed=seed,
        strategy=strategy, format=format,
        devices=tuple(d.strip() for d in devices.split(",")) if devices else None,
        precision="mixed" if mixed_precision else None, jit=jit or None,
        deterministic=deterministic or None,
    )  # fmt: skip
    _train(config, cpu_devices)


@app.command()
def resume(
    run: Annotated[Path, typer.Argument(help="A run folder (holding config.json).")],
    dataset: Annotated[
        Path | None, typer.Option(help="The dataset, if it moved since the run started.")
    ] = None,
    cpu_devices: Annotated[int, typer.Option(help="Split the CPU into N logical devices.")] = 0,
) -> None:
    """Continue a stopped run with the settings in its config.json.

    As `vsrdata train` with the run's own options would; works for runs started anywhere
    (the command line, the serve page)."""
    from vsrdata.vsr_models.config import TrainConfig

    config = TrainConfig.from_run(run, dataset=str(dataset) if dataset else None)
    _train(config, cpu_devices)


def _train(config: Any, cpu_devices: int) -> None:
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


@app.command()
def finetune(
    video: Annotated[
        Path, typer.Argument(help="The video (a file or a frame folder) to learn from.")
    ],
    model: Annotated[Path, typer.Option(help="A trained .keras model (with its manifest).")],
    out_file: Annotated[Path, typer.Option("--out", help="The fine-tuned .keras model.")],
    every: Annotated[
        int | None, typer.Option(help="Take every Nth frame as HR (default: the keyframes).")
    ] = None,
    scenes: Annotated[
        int | None, typer.Option(help="Or: the middle frames of up to N shots, spread out.")
    ] = None,
    max_frames: Annotated[int, typer.Option(help="At most this many HR frames.")] = 32,
    steps: Annotated[int, typer.Option(help="Fine-tuning steps.")] = 200,
    time_budget: Annotated[
        str | None, typer.Option(help="Or stop earlier, within e.g. 90s, 4m.")
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate (default: a tenth of the recipe's).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Crops per step.")] = 4,
    patch: Annotated[int, typer.Option(help="LR crop side.")] = 16,
    degradation: Annotated[
        str | None, typer.Option(help="bd | bi (default: the model's, from its manifest).")
    ] = None,
    eval_hr: Annotated[
        Path | None,
        typer.Option(help="The video's true HR frames: score pretrained against fine-tuned."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="With --eval-hr: write the report.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the crops and augmentation.")] = 0,
) -> None:
    """Self-transfer: fine-tune a model on a video's own frames, then `vsrdata upscale` it."""
    from vsrdata.evaluate.finetune import FinetuneConfig
    from vsrdata.vsr_models.config import parse_duration

    if every is not None and scenes is not None:
        raise UsageError("give --every or --scenes, not both")
    select = "every" if every is not None else "scenes" if scenes is not None else "keyframes"
    config = FinetuneConfig(
        video=str(video), model=str(model), out=str(out_file), select=select,
        every=every or 10, scenes=scenes or 8, max_frames=max_frames, steps=steps,
        time_budget=parse_duration(time_budget), lr=lr, batch_size=batch_size, patch=patch,
        degradation=degradation, seed=seed, eval_hr=str(eval_hr) if eval_hr else None,
        report=str(report) if report else None,
    )  # fmt: skip
    config.validate()
    load_tensorflow()
    from vsrdata.evaluate.finetune import finetune as run_finetune

    stop = _stop_on_signals()
    with _TrainBars() as bars:
        result = run_finetune(config, bars, stop)
    out.print(f"fine-tuned {result.steps} steps in {result.seconds:.1f} s on {len(result.frames)} "
              f"frames ({result.selection}; loss {result.first_loss:.5f} -> "
              f"{result.last_loss:.5f}): {result.out}", soft_wrap=True)  # fmt: skip
    if result.evaluation:
        e = result.evaluation
        table = Table("", "bicubic", "pretrained", "fine-tuned", box=None)
        table.add_row(
            "PSNR-Y (dB)",
            *(f"{e[f'psnr:{m}']:.2f}" for m in ("bicubic", "pretrained", "finetuned")),
        )
        table.add_row(
            "SSIM-Y", *(f"{e[f'ssim:{m}']:.4f}" for m in ("bicubic", "pretrained", "finetuned"))
        )
        out.print(table)
        out.print(f"fine-tuning gained {e['gain_db']:+.2f} dB on {e['frames_scored']} frames")
