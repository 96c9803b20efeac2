"""Does a model trained on one category beat the generic model on it, and what does it lose
elsewhere? (issue 13; the recipe and the measured table: docs/category_models.md)

On the ``make demo`` dataset (four categories of synthetic motion), one run:
1. the generic model: ``vsrdata train --preset cpu-quick --model M --time-budget B``;
2. a control, the generic model trained ``B2`` seconds more on every category
   (``--init generic``), so the category models' extra training is not what is measured;
3. per category C, the generic model fine-tuned ``B2`` seconds on C alone
   (``--init generic --categories C``);
4. per category C, a model trained from scratch ``B`` seconds on C alone (``--categories C``);
5. ``vsrdata eval DATASET --by-category`` of all of them, DUF protocol, on the test clips.

    python bench/categories.py [--model espcn] [--budget 60] [--more 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import OUT, report
from zoo import demo_dataset


def run(name: str, budget: float, dataset: str, model: str, **options: Any) -> Path:
    from vsrdata.vsr_models.config import TrainConfig
    from vsrdata.vsr_models.train import train

    out = OUT / "category-runs" / name
    shutil.rmtree(out, ignore_errors=True)
    config = TrainConfig.from_options("cpu-quick", dataset=dataset, out=str(out), model=model,
                                      steps=10**9, time_budget=budget, **options)  # fmt: skip
    result = train(config)
    print(f"{name}: {result.steps} steps", flush=True)
    return out / "model.keras"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="espcn")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--more", type=float, default=30.0)
    args = parser.parse_args()
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.report import write_report
    from vsrdata.evaluate.run import EvalConfig, evaluate
    from vsrdata.shards.index import load_index

    dataset = demo_dataset()
    categories = sorted(load_index(dataset)["categories"])
    generic = run("generic", args.budget, dataset, args.model)
    models = {"generic": generic,
              "generic+more": run("generic-more", args.more, dataset, args.model,
                                  init=str(generic))}  # fmt: skip
    for c in categories:
        models[f"tuned:{c}"] = run(f"tuned-{c}", args.more, dataset, args.model,
                                   init=str(generic), categories=(c,))  # fmt: skip
        models[f"only:{c}"] = run(f"only-{c}", args.budget, dataset, args.model,
                                  categories=(c,))  # fmt: skip
    doc = evaluate(EvalConfig(dataset=dataset, models=tuple(f"{k}={v}" for k, v in models.items())),
                   make_protocol("duf"))  # fmt: skip
    write_report(doc, OUT / "category-report")
    by = {row["category"]: row for row in doc["categories"]}

    def gain(category: str, column: str) -> float:
        return float(by[category][f"psnr:{column}"] - by[category]["psnr:bicubic"])

    rows = []
    for c in categories:  # each test category: every model's gain over bicubic
        rows.append([c, *(f"{gain(c, m):+.2f}" for m in models)])
    summary = []
    for c in categories:
        for kind in ("tuned", "only"):
            own = gain(c, f"{kind}:{c}") - gain(c, "generic+more")
            others = [
                gain(o, f"{kind}:{c}") - gain(o, "generic+more") for o in categories if o != c
            ]
            summary.append([f"{kind}:{c}", f"{own:+.2f}", f"{sum(others) / len(others):+.2f}"])
    report("Category models", ["test category", *models], rows,
           {"setup": f"{args.model}, cpu-quick, {args.budget:g} s generic, {args.more:g} s more "
                     "(generic+more, tuned:C) or from scratch (only:C); PSNR-Y gain over "
                     "bicubic (dB), DUF protocol, make-demo test clips"})  # fmt: skip
    report(
        "Category models against generic+more",
        ["model", "on its own category (dB)", "elsewhere, mean (dB)"],
        summary,
        {},
    )


if __name__ == "__main__":
    main()
