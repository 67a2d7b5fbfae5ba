"""Base-encoder comparison: MiniLM-L6 vs multilingual-e5-small vs random init, same data, same config, same budget.

Each run trains configs/base.json (only the starting point differs) on the same seeded subset of the training
split for the same number of steps, is selected on the same validation subset, and is scored by the same code
(`eval.torch_eval`) on the same test / eval subsets. Results: docs/encoder-comparison.{json,md}.

    python scripts/compare_encoders.py --train-rows 4000 --val-rows 1500 --test-rows 3000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RUNS = {
    "minilm": ["--set", 'train.pretrained_dir=".carry/base_minilm"'],
    "e5-small": ["--set", 'model.pretrained_name="e5-small"', "--set", 'train.pretrained_dir=".carry/base_e5"'],
    "random": ["--set", 'model.init="random"'],
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-rows", type=int, default=4000)
    p.add_argument("--val-rows", type=int, default=1500)
    p.add_argument("--test-rows", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", type=Path, default=Path("runs/compare"))
    p.add_argument("--docs", type=Path, default=Path("docs"))
    p.add_argument("--runs", default=",".join(RUNS))
    args = p.parse_args()
    results = {}
    for name in args.runs.split(","):
        out = args.out / name
        t0 = time.time()
        cmd = [sys.executable, "-m", "tinyguardrail", "train", "--config", "configs/base.json", "--out", str(out),
               "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--device", "cpu",
               "--max-train-rows", str(args.train_rows), "--max-val-rows", str(args.val_rows), "--no-progress",
               "--set", "train.fgsm_epsilon=0", *RUNS[name]]  # fmt: skip
        subprocess.run(cmd, check=True)
        train_s = time.time() - t0
        from tinyguardrail.eval.torch_eval import evaluate_checkpoint

        ev = evaluate_checkpoint(out / "best", Path("build/data"), "cpu", limit=args.test_rows)
        ck = json.loads((out / "best" / "checkpoint.json").read_text())
        cfg = json.loads((out / "best" / "config.json").read_text())
        results[name] = {
            "val": ck["metrics"], "headline": ev["headline"], "train_seconds": round(train_s, 1),
            "vocab_size": cfg["vocab_size"],
        }  # fmt: skip
    setup = {k: getattr(args, k) for k in ("train_rows", "val_rows", "test_rows", "epochs", "batch_size")}
    args.docs.mkdir(parents=True, exist_ok=True)
    (args.docs / "encoder-comparison.json").write_text(json.dumps({"setup": setup, "runs": results}, indent=2) + "\n")
    f = lambda x: "–" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    md = ["# Base-encoder comparison", "",
          "Written by `scripts/compare_encoders.py`. Same data subset, config (`configs/base.json`), steps and "
          f"evaluation code for every run; only the starting point differs. Setup: `{json.dumps(setup)}` "
          "(CPU budget: FGSM off). Selection uses validation balanced accuracy only.", "",
          "| start | vocab | val balanced acc | test balanced acc | test binary F1 | NotInject FPR | WildGuard FPR "
          "| JBB held-out PAIR | mean transform detection | train s |", "|---" * 10 + "|"]  # fmt: skip
    for name, r in results.items():
        h = r["headline"]
        md.append(f"| {name} | {r['vocab_size']} | {f(r['val']['balanced_accuracy'])} | {f(h['test_balanced_accuracy'])} "
                  f"| {f(h['test_binary_f1'])} | {f(h['notinject_fpr'])} | {f(h['wildguard_benign_fpr'])} "
                  f"| {f(h['jbb_holdout_detection'])} | {f(h['mean_transform_detection'])} | {r['train_seconds']} |")  # fmt: skip
    md += ["", "Reading: at a budget this small the comparison measures how fast each start adapts, not where it ends. With `new_param_lr_scale` 5, a random-init run trains every parameter at 5x the learning rate of a pretrained body, which favours it over so few steps. The full-budget comparison on the GPU is still to be run."]
    (args.docs / "encoder-comparison.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
