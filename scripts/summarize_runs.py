"""Summarize the GPU runs of tinyguardrail-v0.7 (scripts/gpu_runs.py, plans/v07*.json) into docs/ablations.md.

Every number comes from the per-epoch metrics the training loop wrote on the GPU machine (copied to
docs/ablations/v07/<run>.metrics.jsonl) and from docs/ablations/v07/encoder_runtime.json (the two base-encoder
candidates exported to INT8 and scored by the runtime: ``python scripts/summarize_runs.py --runtime``). A run's score
is its best epoch's OOD-dev score at the 3 % false-positive operating point (``train.select_suite``): the epoch the
training loop kept as best/. No report set is read.

    python scripts/summarize_runs.py
    python scripts/summarize_runs.py --v09      # the full retrains of 2026-12-05 (docs/ablations/v09/), to stdout
    python scripts/summarize_runs.py --loss-table   # the loss variants of 2026-12-07 (ablations/v28/, v29/), to stdout
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tinyguardrail.eval.cli_eval import named_path

RUNS = Path("docs/ablations/v07")
#: run -> (what differs from the reference of its group, plan file, data build)
ROWS = {
    "e5": ("MoE in deep layers 2 and 4 (the issue's recipe)", "plans/v07.json", "A"),
    "e5_no_moe": ("no MoE (dense FFN)", "plans/v07.json", "A"),
    "e5_no_deep": ("MoE, no deep branch (fast branch only)", "plans/v07.json", "A"),
    "e5_no_bank": ("MoE, without the multilingual bank (its rows and what was made from them)", "plans/v07.json", "A"),
    "e5_no_moe_no_char": ("no MoE, no character CNN", "plans/v07_call2.json", "A"),
    "e5_no_moe_no_det": ("no MoE, no detector features, no pattern bank", "plans/v07_call2.json", "A"),
    "e5_no_moe_2ep": ("no MoE, 2 epochs", "plans/v07_call2.json", "A"),
    "minilm_no_moe": ("no MoE, all-MiniLM-L6-v2 base instead of multilingual-e5-small", "plans/v07_call3.json", "A"),
    "final_v07": ("the chosen recipe (MiniLM, no MoE) on the final build: shipped", "plans/v07_final.json", "B"),
}
SEEDS = {
    "e5, no MoE, 3 epochs": ["e5_no_moe", "e5_no_moe_s2", "e5_no_moe_s3"],
    "e5, no MoE, 2 epochs": ["e5_no_moe_2ep", "e5_no_moe_2ep_s2", "e5_no_moe_2ep_s3"],
    "MiniLM, no MoE, 3 epochs (final build; shipped = seed 1337)": ["final_v07", "final_v07_s2", "final_v07_s3"],
}


def best_epoch(name: str, runs: Path = RUNS) -> dict:
    hist = [json.loads(x) for x in (runs / f"{name}.metrics.jsonl").read_text().splitlines() if x.strip()]
    best = max(hist, key=lambda h: (h["select"]["pint_score"], -h["epoch"]))
    return {"epoch": best["epoch"], "epochs": len(hist), **best["select"], "val_bal": best["val"]["balanced_accuracy"],
            "val_fpr": best["val"]["benign_fpr"], "early_exit": best["val"]["early_exit_share"]}


def score_candidates(specs: list[tuple[str, Path]], data: Path) -> None:
    from collections import defaultdict

    import numpy as np

    from tinyguardrail.eval.calibrate import calibrate, runtime_scores
    from tinyguardrail.eval.ood import load_suites

    rows = load_suites(data / "suites", ["ood_dev"])["ood_dev"]
    manifest = json.loads((data / "suites" / "manifest.json").read_text())["ood_dev"]
    out = {"suite": f"{data} (ood_dev {manifest['rows']} rows, sha {manifest['sha']})", "candidates": {}}
    for name, path in specs:
        scores = runtime_scores(path, [r.text for r in rows])
        cal = calibrate(rows, scores, 0.01, 0.03)
        flags = scores >= cal["attack_threshold"] - cal["uncertain_margin"]
        cells = defaultdict(list)
        for r, f in zip(rows, flags, strict=True):
            cells[f"{r.cell}|{'attack' if r.is_attack else 'benign'}"].append(bool(f) == r.is_attack)
        cal["cells"] = {k: {"n": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(cells.items())}
        out["candidates"][name] = cal
    (RUNS / "encoder_runtime.json").write_text(json.dumps(out, indent=2) + "\n")


V09_RUNS = Path("docs/ablations/v09")
#: recipe -> (plan, runs): the full retrains of 2026-12-05, each recipe with its seeds
V09 = {
    "v0.9-full recipe (q4 base), build with the agent channel": ("plans/v09_full.json", ["v09", "v09_s2", "v09_s3"]),
    "the same, agent channel left out of train and validation": ("plans/v09_full.json", ["v09_no_agent"]),
    "base stored 8-bit (q8), vocabulary re-pruned on the current train split": ("plans/v10_q8.json", ["q8"]),
    "q8 base, pretrained token embeddings frozen (train.freeze)": ("plans/v10_q8.json", ["q8_frz", "q8_frz_s2"]),
    "q8 base, lr 5e-5": ("plans/v10_q8.json", ["q8_lr5"]),
    "v0.9-full recipe on the build with the task_prompt hard negatives": (
        "plans/v10_task.json", ["v10", "v10_s2", "v10_s3", "v10_s4"]),
}


def v09_section() -> str:
    """The table of docs/ablations.md's section on the full retrains of 2026-12-05 (runs present on disk only)."""
    md = ["| recipe | plan | runs (seeds) | OOD-dev score of each run | mean ± std | recall @1% FPR (mean) | "
          "ROC AUC (mean) |", "|---|---|---|---|---|---|---|"]
    for label, (plan, names) in V09.items():
        names = [n for n in names if (V09_RUNS / f"{n}.metrics.jsonl").exists()]
        if not names:
            continue
        rs = [best_epoch(n, V09_RUNS) for n in names]
        vals = [r["pint_score"] for r in rs]
        spread = f" ± {pct(statistics.stdev(vals))}" if len(vals) > 1 else ""
        md.append(f"| {label} | [{Path(plan).name}](../{plan}) | {len(names)} | {', '.join(pct(v) for v in vals)} | "
                  f"{pct(statistics.mean(vals))}{spread} | {pct(statistics.mean(r['recall_at_1pct_fpr'] for r in rs))} | "
                  f"{statistics.mean(r['roc_auc'] for r in rs):.3f} |")
    return "\n".join(md)


#: the loss variants of 2026-12-07, all on v0.16's setup (plans/v39*.json, plans/v40*.json): label -> runs
LOSS_DIRS = (Path("docs/ablations/v28"), Path("docs/ablations/v29"))
LOSS = {
    "four-class only, v0.14's (1 / 0 / all rows): `c`": ["c2", "c3", "c4", "c5"],
    "decision first, v0.16's (0.05 / 1 / all rows): `b`": ["b2", "b3", "b4", "b5"],
    "the same, rerun of seed 2: `r`": ["r2"],
    "attack type given an attack (0.25 / 1 / attack rows): `m`": ["m2", "m3", "m4", "m5", "m6"],
    "the same, 2 epochs instead of 3: `e`": ["e2", "e3", "e5"],
    "attack type given an attack (1 / 1 / attack rows): `n`": ["n2", "n3", "n5"],
}
SEEDS_OF_TABLE = ("2", "3", "4", "5", "6")


def _loss_runs() -> tuple[dict[str, dict], dict[str, float]]:
    """-> ({run: its summary entry (WiSE scores, best epoch) and metrics path}, {soup name: its score}) from the
    summaries gpu_runs.py wrote in LOSS_DIRS (a reused run repeats its first entry)."""
    runs: dict[str, dict] = {}
    soups: dict[str, float] = {}
    for d in LOSS_DIRS:
        for f in sorted(d.glob("summary_*.json")):
            summary = json.loads(f.read_text())
            for r in summary["runs"]:
                if r.get("exit") == 0 and r.get("wise") and r["name"] not in runs:  # trained or reused with scores
                    runs[r["name"]] = r | {"metrics": d / f"{r['name']}.metrics.jsonl"}
            for s in summary.get("soups", []):
                if s.get("soup_score") is not None:
                    soups[s["name"]] = s["soup_score"]
    return runs, soups


def loss_table() -> str:
    """OOD-dev score of each seed's best epoch at WiSE alpha 0.9, and the validation per-class recall of the attack
    types at that epoch (mean over the seeds): what the type term does to the decision and to the attack type."""
    runs, soups = _loss_runs()
    md = ["| loss (type weight / decision weight / type rows) | " + " | ".join(f"seed {s}" for s in SEEDS_OF_TABLE)
          + " | mean | validation bal. acc. | injection / jailbreak / obfuscation recall |",
          "|---|" + "---|" * (len(SEEDS_OF_TABLE) + 3)]
    for label, names in LOSS.items():
        names = [n for n in names if n in runs and runs[n]["metrics"].exists()]
        scores = {n[-1]: runs[n]["wise"]["0.9"] for n in names}
        vals = []
        for n in names:
            hist = [json.loads(x) for x in runs[n]["metrics"].read_text().splitlines() if x.strip()]
            vals.append(next(h for h in hist if h["epoch"] == runs[n]["best_epoch"])["val"])
        recall = {k: statistics.mean(v["per_class_recall"][k] for v in vals)
                  for k in ("direct_injection", "jailbreak", "obfuscation")}  # fmt: skip
        cells = [label, *(pct(scores.get(s)) for s in SEEDS_OF_TABLE), pct(statistics.mean(scores.values())),
                 f"{statistics.mean(v['balanced_accuracy'] for v in vals):.3f}",
                 " / ".join(f"{x:.2f}" for x in recall.values())]
        md.append("| " + " | ".join(cells) + " |")
    md += ["", "Soups (WiSE 0.9 ingredients, scored by the loop): "
           + ", ".join(f"`{k}` {pct(v)}" for k, v in sorted(soups.items()))]
    return "\n".join(md)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/ablations.md"))
    p.add_argument("--runtime", nargs="*", metavar="NAME=MODEL_DIR", type=named_path,
                   help="first score these exported candidates through the runtime on the OOD-dev suite of --data "
                        "and write docs/ablations/v07/encoder_runtime.json (a few minutes per model on 2 cores)")
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--v09", action="store_true", help="print the table of the full retrains of 2026-12-05 and stop")
    p.add_argument("--loss-table", action="store_true", help="print the table of the loss variants of 2026-12-07 "
                   "(docs/ablations/v28/ and v29/) and stop")
    args = p.parse_args()
    if args.loss_table:
        print(loss_table())
        return 0
    if args.v09:
        print(v09_section())
        return 0
    if args.runtime:
        score_candidates(args.runtime, args.data)
    rows = {name: best_epoch(name) for name in ROWS}
    md = ["# Ablations and base encoders of tinyguardrail-v0.7 (chosen on OOD-dev)", "",
          "Written by `scripts/summarize_runs.py` from the training loop's own per-epoch metrics "
          "([docs/ablations/v07/](ablations/v07/)). One H200, several runs side by side (`scripts/gpu_runs.py` with the "
          "plan named per row); recipe `configs/tinyguardrail-v0.7.json` (512 positions, 1 fast + 4 deep layers, batch "
          "128, lr 1e-4, 3 epochs, no FGSM) unless the row says otherwise; seed 1337. The checkpoint of each run is the "
          "epoch with the best **OOD-dev score at the 3 % false-positive operating point** (the threshold that flags 3 % "
          "of the OOD-dev benign rows), computed by the training loop on the PyTorch model: texts truncated to 512 "
          "tokens, no windows, no decoded views, so these numbers are lower than the runtime's. Data build A: the "
          "build of commit 963e35e; B: the final build (A plus the fix that keeps homoglyph and zero-width obfuscation "
          "rows, which A's dedup folded into their bases).", "",
          "| run | what differs | build | best epoch | OOD-dev score | attack recall @3% FPR | recall @1% FPR | ROC AUC | "
          "validation bal. acc. |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (what, plan, build) in ROWS.items():
        r = rows[name]
        md.append(f"| `{name}` | {what} ([plan]({'../' + plan})) | {build} | {r['epoch'] + 1}/{r['epochs']} | "
                  f"{pct(r['pint_score'])} | {pct(r['attack_recall'])} | {pct(r['recall_at_1pct_fpr'])} | "
                  f"{r['roc_auc']:.3f} | {pct(r['val_bal'])} |")
    md += ["", "## Seeds (OOD-dev score of each run's best epoch)", "", "| recipe | seeds | mean ± std |", "|---|---|---|"]
    for label, names in SEEDS.items():
        vals = [best_epoch(n)["pint_score"] for n in names]
        md.append(f"| {label} | {', '.join(pct(v) for v in vals)} | {pct(statistics.mean(vals))} ± "
                  f"{pct(statistics.stdev(vals))} |")
    runtime = RUNS / "encoder_runtime.json"
    if runtime.exists():
        rt = json.loads(runtime.read_text())
        md += ["", "## The two base encoders through the runtime", "",
               f"Both candidates (`e5_no_moe` and `minilm_no_moe`, build A) exported to INT8 ONNX and scored by the runtime "
               f"(windows, decoded views) on the OOD-dev suite of {rt['suite']}, each at its own operating point: the "
               "attack threshold blocks 1 % and the uncertain band flags 3 % of the OOD-dev benign rows "
               "(`tinyguardrail eval calibrate`).", "",
               "| candidate | OOD-dev score | flagged attacks | blocked attacks | attack threshold | uncertain band |",
               "|---|---|---|---|---|---|"]
        for name, c in rt["candidates"].items():
            md.append(f"| {name} | {pct(c['ood_dev_pint_score'])} | {pct(c['ood_dev_flag_recall'])} | "
                      f"{pct(c['ood_dev_block_recall'])} | {c['attack_threshold']:.3f} | {c['uncertain_margin']:.3f} |")
        names = list(rt["candidates"])
        md += ["", "Per cell (share of rows right at each candidate's operating point; cells of 10 rows or more):", "",
               "| cell | label | n | " + " | ".join(names) + " |", "|---" * (len(names) + 3) + "|"]
        first = rt["candidates"][names[0]]["cells"]
        for key, v in first.items():
            if v["n"] >= 10:
                cell, label = key.rsplit("|", 1)
                vals = " | ".join(pct(rt["candidates"][n]["cells"][key]["accuracy"]) for n in names)
                md.append(f"| {cell} | {label} | {v['n']} | {vals} |")
    md += ["", "## What the runs say", "",
           "- **The bank** (the project's own attack and benign phrasings in 28 languages) is the largest single "
           f"gain: `e5` {pct(rows['e5']['pint_score'])} against `e5_no_bank` {pct(rows['e5_no_bank']['pint_score'])}.",
           f"- **MoE does not earn its cost**: without it {pct(rows['e5_no_moe']['pint_score'])} against "
           f"{pct(rows['e5']['pint_score'])} with it, and 7M fewer parameters; it stays implemented (`model.use_moe`) "
           "and is off in the shipped recipe.",
           f"- **The deep branch earns its cost**: {pct(rows['e5_no_deep']['pint_score'])} without it.",
           f"- **Detector features** help ({pct(rows['e5_no_moe_no_det']['pint_score'])} without them and the pattern "
           f"bank, against {pct(rows['e5_no_moe']['pint_score'])}); the **character CNN** a little "
           f"({pct(rows['e5_no_moe_no_char']['pint_score'])} without it).",
           f"- **Base encoder**: on the PyTorch models MiniLM scored {pct(rows['minilm_no_moe']['pint_score'])} and "
           f"multilingual-e5-small {pct(rows['e5_no_moe']['pint_score'])} (its three seeds: see above); the runtime "
           "comparison above decided the shipped base (the per-cell table shows where each one wins).",
           "- **Epochs**: the OOD-dev score peaks at epoch 2 of 3 more often than not while validation keeps rising: "
           "in-distribution gains past that point are not generalisation."]
    # later versions' sections (written above this one, e.g. v0.8's) are kept: this script owns the v0.7 part only
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    keep = old[: old.index(md[0])] if md[0] in old else ""
    args.out.write_text(keep + "\n".join(md) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
