"""Self-transfer, measured honestly: what fine-tuning on a video's own frames gains (issue 13).

Two models of the same architecture are trained the same way (``--preset cpu-quick``,
``--time-budget``) on the ``make demo`` clips, one on ``bd`` data and one on ``bi``. Test
clips are synthetic HR clips the models never saw (other seeds, 640×360). Each is degraded
with ``bd`` into an LR frame folder; ``vsrdata finetune`` learns from that LR video alone
(every 4th frame as pseudo-HR, degraded once more with ``bd``) and scores the pretrained and
the fine-tuned model on the true HR frames (``--eval-hr``, DUF protocol). Two settings:
matched (the ``bd`` model on ``bd`` video: the literature predicts little gain) and
mismatched (the ``bi`` model on ``bd`` video: a large one).

    python bench/finetune.py [--model carn-m] [--budget 60] [--steps 150] [--lr R]
                             [--clips HR_CLIPS_DIR] [--retrain]
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
from _common import OUT, clips, report


def demo_build(degradation: str) -> str:
    from vsrdata.preprocess.build import build
    from vsrdata.preprocess.config import BuildConfig

    out = OUT / f"finetune-dataset-{degradation}"
    if not (out / "dataset.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        source = clips("demo-clips", clips=16, seconds=2.0, size=(320, 180), seed=0)
        build(BuildConfig(source=str(source), out=str(out), split=(0.5, 0.25, 0.25),
                          stratify=True, test_stride=6, group_size=2,
                          degradation=degradation))  # fmt: skip
    return str(out)


def trained(degradation: str, model: str, budget: float, again: bool = True) -> Path:
    from vsrdata.vsr_models.config import TrainConfig
    from vsrdata.vsr_models.train import train

    out = OUT / "finetune-runs" / f"{model}-{degradation}"
    if not again and (out / "model.keras").is_file():
        return out / "model.keras"
    shutil.rmtree(out, ignore_errors=True)
    train(TrainConfig.from_options("cpu-quick", dataset=demo_build(degradation), out=str(out),
                                   model=model, steps=10**9, time_budget=budget))  # fmt: skip
    return out / "model.keras"


def lr_clip(ref: object, folder: Path, frames: int = 40) -> tuple[Path, Path]:
    """The clip's first ``frames`` frames as HR, and their ``bd`` LR, as two frame folders."""
    from vsrdata.preprocess.degrade import degrade
    from vsrdata.preprocess.video import FrameStream

    hr_dir, lr_dir = folder / "hr", folder / "lr"
    shutil.rmtree(folder, ignore_errors=True)
    hr_dir.mkdir(parents=True)
    lr_dir.mkdir()
    for i, frame in enumerate(FrameStream(ref)):  # type: ignore[arg-type]
        if i == frames:
            break
        frame = frame[: frame.shape[0] // 4 * 4, : frame.shape[1] // 4 * 4]
        cv2.imwrite(str(hr_dir / f"{i:03d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(lr_dir / f"{i:03d}.png"),
                    cv2.cvtColor(degrade(frame, "bd", 4), cv2.COLOR_RGB2BGR))  # fmt: skip
    return lr_dir, hr_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="carn-m")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--lr", type=float, default=None, help="default: finetune's own")
    parser.add_argument("--retrain", action="store_true", help="train the two models again")
    parser.add_argument("--clips", default=None, help="HR clips (videos or frame folders, e.g. "
                        "Vid4); default: synthetic 640x360 clips")  # fmt: skip
    args = parser.parse_args()
    from vsrdata.evaluate.finetune import FinetuneConfig, finetune
    from vsrdata.preprocess.video import discover

    models = {
        "matched (bd model, bd video)": trained("bd", args.model, args.budget, args.retrain),
        "mismatched (bi model, bd video)": trained("bi", args.model, args.budget, args.retrain),
    }
    synthetic = {"clips": 4, "seconds": 1.6, "size": (640, 360), "seed": 11}
    test = Path(args.clips) if args.clips else clips("finetune-test-clips", **synthetic)
    rows = []
    for ref in discover(test):
        lr_dir, hr_dir = lr_clip(ref, OUT / "finetune-clips" / ref.clip_id)
        for setting, model in models.items():
            out = OUT / "finetune-models" / f"{ref.clip_id}-{setting.split()[0]}.keras"
            result = finetune(FinetuneConfig(video=str(lr_dir), model=str(model), out=str(out),
                                             select="every", every=4, steps=args.steps,
                                             lr=args.lr, eval_hr=str(hr_dir)))  # fmt: skip
            e = result.evaluation or {}
            rows.append([ref.clip_id, setting, f"{e['psnr:bicubic']:.2f}",
                         f"{e['psnr:pretrained']:.2f}", f"{e['psnr:finetuned']:.2f}",
                         f"{e['gain_db']:+.2f}", f"{result.seconds:.1f}"])  # fmt: skip
            print(rows[-1], flush=True)
    rate = args.lr or "a tenth of the training rate"
    report("Self-transfer fine-tuning", ["clip", "setting", "bicubic PSNR-Y", "pretrained",
                                         "fine-tuned", "gain (dB)", "fine-tune seconds"], rows,
           {"setup": f"{args.model}, cpu-quick {args.budget:g} s on the demo clips (bd or bi); "
                     f"{args.steps} fine-tuning steps (lr {rate}) on every 4th LR frame of "
                     "40-frame 640x360 clips (bd); DUF protocol on the true HR"})  # fmt: skip


if __name__ == "__main__":
    main()
