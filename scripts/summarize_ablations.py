"""Summarize the GPU component ablations and base-encoder runs (scripts/device_ablations.sh) into docs/ablations.md.

Reads (every number in the outputs comes from one of these):
  <ablations>/<run>.metrics.jsonl, ablations.log   SUITE=ablations: per-epoch validation metrics; the log gives each
                                                   run's flags, parameter count, epochs done and the data rows
  <encoders>/<run>.metrics.jsonl, ablations.log    SUITE=encoders; its MiniLM reference is the ablation suite's `full`
  <shipped>/metrics.jsonl, train.log               the v0.2 training run (same recipe, 3 epochs), for reference
  configs/base.json, scripts/device_ablations.sh   the recipe (new-parameter lr scale, batch size, lr, FGSM switch)
  docs/data-stats.json                             validation rows per class (--data-stats: the runs used the build
                                                   of 851a525, `git show 851a525:docs/data-stats.json`)
  docs/encoder-comparison.json                     the earlier small CPU comparison (scripts/compare_encoders.py)
Writes: docs/ablations.{md,json}, docs/ablations/raw/<suite>_<run>.metrics.jsonl (copies), and the GPU section at
the top of docs/encoder-comparison.md (between markers; scripts/compare_encoders.py rewrites that file without it,
so run this script after it).

    git show 851a525:docs/data-stats.json > /tmp/data-stats-851a525.json
    python scripts/summarize_ablations.py --data-stats /tmp/data-stats-851a525.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

COMMANDS = {  # what the device tool ran on one H200 (CAP: wall-clock seconds per run)
    "ablations": "SUITE=ablations DATA_DIR=.carry/data CAP=105 bash scripts/device_ablations.sh",
    "encoders": "SUITE=encoders DATA_DIR=.carry/data CAP=170 bash scripts/device_ablations.sh",
}
CLASSES = ("benign", "direct_injection", "jailbreak", "obfuscation")
BEGIN, END = "<!-- gpu-comparison: scripts/summarize_ablations.py -->", "<!-- /gpu-comparison -->"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse_log(path: Path) -> tuple[dict[str, dict], dict]:
    """Runs of an ablations.log in order ({name: change, parameters, epochs_done}) and the data line's row counts."""
    runs: dict[str, dict] = {}
    data: dict = {}
    cur = None
    for line in path.read_text().splitlines():
        if m := re.match(r"== (\S+)\s*(.*)", line):
            cur = runs.setdefault(m[1], {"change": m[2].replace("--set ", "").split(), "parameters": None})
        elif m := re.search(r"\[train\] model: ([\d,]+) parameters", line):
            cur["parameters"] = int(m[1].replace(",", ""))
        elif m := re.search(r'"(epochs_done|best_epoch)": (\d+)', line):
            cur[m[1]] = int(m[2])
        elif m := re.search(r"data: (\d+) train / (\d+) validation rows", line):
            data = {"train_rows": int(m[1]), "validation_rows": int(m[2])}
    return runs, data


def final(epochs: list[dict], epoch: int) -> dict:
    """Validation metrics and train time of one epoch (index) of a metrics.jsonl."""
    e = next(e for e in epochs if e["epoch"] == epoch)
    return {**e["val"], "train_time_s": e["train_time_s"], "fgsm": e["fgsm"], "lr_end": e["lr"]}


def delta(run: dict, ref: dict) -> dict:
    d = {k: run[k] - ref[k] for k in ("balanced_accuracy", "benign_fpr", "early_exit_share", "train_time_s")}
    d["per_class_recall"] = {c: run["per_class_recall"][c] - ref["per_class_recall"][c] for c in CLASSES}
    d["parameters"] = run["parameters"] - ref["parameters"]
    return d


def pct(x: float, nd: int = 2) -> str:
    return f"{100 * x:.{nd}f}%"


def pts(x: float, nd: int = 2) -> str:
    return f"{100 * x:+.{nd}f}"


def absp(x: float, nd: int = 2) -> str:
    return f"{100 * abs(x):.{nd}f}"


def mil(n: int) -> str:
    return f"{abs(n) / 1e6:.1f}M"


def sci(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def fast_only(run: dict) -> bool:
    return "model.use_deep_branch=false" in run["change"]


def tables(runs: dict[str, dict], ref: str, epoch: int) -> list[str]:
    head = ("| run | change | parameters | val balanced acc | benign FPR | recall: benign | direct inj. | jailbreak "
            f"| obfuscation | early-exit share | epoch-{epoch + 1} train s |")  # fmt: skip
    md = [head, "|---" * 11 + "|"]
    for name, r in runs.items():
        change = ", ".join(f"`{c}`" for c in r["change"]) or "–"
        if name == ref:
            change = "reference" + (f" (= {r['same_as']})" if "same_as" in r else "")
        ee = "– (fast only)" if fast_only(r) else pct(r["early_exit_share"], 1)
        recall = " | ".join(pct(r["per_class_recall"][c], 1) for c in CLASSES)
        md.append(f"| {name} | {change} | {r['parameters']:,} | {pct(r['balanced_accuracy'])} | "
                  f"{pct(r['benign_fpr'])} | {recall} | {ee} | {r['train_time_s']:.1f} |")  # fmt: skip
    md += ["", f"Deltas vs `{ref}` (percentage points; parameters in millions; train time in seconds):", "",
           "| run | parameters | balanced acc | benign FPR | benign | direct inj. | jailbreak | obfuscation "
           f"| epoch-{epoch + 1} train s |", "|---" * 9 + "|"]  # fmt: skip
    for name, r in runs.items():
        if name == ref:
            continue
        d = r["delta"]
        recall = " | ".join(pts(d["per_class_recall"][c], 1) for c in CLASSES)
        md.append(f"| {name} | {d['parameters'] / 1e6:+.2f}M | {pts(d['balanced_accuracy'])} | {pts(d['benign_fpr'])} "
                  f"| {recall} | {d['train_time_s']:+.1f} |")  # fmt: skip
    return md


def load_suite(folder: Path, epoch: int, raw: Path, suite: str) -> tuple[dict[str, dict], dict]:
    log, data = parse_log(folder / "ablations.log")
    runs = {}
    for name, info in log.items():
        src = folder / f"{name}.metrics.jsonl"
        if not src.exists():
            print(f"skip {suite}/{name}: no {src}")
            continue
        dst = raw / f"{suite}_{name}.metrics.jsonl"
        shutil.copyfile(src, dst)
        epochs = read_jsonl(src)
        runs[name] = {**info, **final(epochs, epoch), "epochs_in_file": len(epochs), "raw": dst.as_posix()}
    return runs, data


def recipe(config: Path, script: Path) -> dict:
    from tinyguardrail.train.loop import TrainConfig  # the defaults that apply where neither file sets a value

    train = json.loads(config.read_text())["train"]
    sh = script.read_text()
    return {
        "config": config.as_posix(),
        "batch_size": int(re.search(r"--batch-size (\d+)", sh)[1]),
        "lr": float(re.search(r"--lr ([0-9.eE+-]+)", sh)[1]),
        "new_param_lr_scale": train.get("new_param_lr_scale", TrainConfig.new_param_lr_scale),
        "fgsm_start_epoch": int(re.search(r"train\.fgsm_start_epoch=(\d+)", sh)[1]),
        "seed": train.get("seed", TrainConfig.seed),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ablations", type=Path, default=Path("runs/device/ablations"))
    p.add_argument("--encoders", type=Path, default=Path("runs/device/encoders"))
    p.add_argument("--shipped", type=Path, default=Path("runs/device/train_v02"))
    p.add_argument("--config", type=Path, default=Path("configs/base.json"))
    p.add_argument("--script", type=Path, default=Path("scripts/device_ablations.sh"))
    p.add_argument("--data-stats", type=Path, default=Path("docs/data-stats.json"))
    p.add_argument("--cpu-comparison", type=Path, default=Path("docs/encoder-comparison.json"))
    p.add_argument("--epoch", type=int, default=1, help="epoch index reported (the last of the 2-epoch runs)")
    p.add_argument("--docs", type=Path, default=Path("docs"))
    args = p.parse_args()
    raw = args.docs / "ablations" / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    abl, data = load_suite(args.ablations, args.epoch, raw, "ablations")
    enc, _ = load_suite(args.encoders, args.epoch, raw, "encoders")
    enc = {"minilm": {**abl["full"], "change": [], "same_as": "ablations/full"}, **enc}
    for runs, ref in ((abl, "full"), (enc, "minilm")):
        for name, r in runs.items():
            if name != ref:
                r["delta"] = delta(r, runs[ref])
    shipped_epochs = read_jsonl(args.shipped / "metrics.jsonl")
    shutil.copyfile(args.shipped / "metrics.jsonl", raw / "train_v02.metrics.jsonl")
    best = int(re.search(r'"best_epoch": (\d+)', (args.shipped / "train.log").read_text())[1])
    shipped = {**final(shipped_epochs, best), "best_epoch": best, "epochs": len(shipped_epochs),
               "fgsm_epochs": [e["epoch"] for e in shipped_epochs if e["fgsm"]],
               "raw": (raw / "train_v02.metrics.jsonl").as_posix()}  # fmt: skip
    val_counts = json.loads(args.data_stats.read_text())["split_label"]["validation"]
    rec = recipe(args.config, args.script)
    all_runs = [*abl.values(), *enc.values()]
    setup = {**rec, **data, "epochs": max(r["epochs_in_file"] for r in all_runs), "epoch_reported": args.epoch,
             "validation_per_class": val_counts, "commands": COMMANDS,
             "all_runs_finished": all(r.get("epochs_done") == r["epochs_in_file"] for r in all_runs),
             "fgsm_in_any_run": any(r["fgsm"] for r in all_runs)}  # fmt: skip
    suites = {"ablations": {"reference": "full", "runs": abl}, "encoders": {"reference": "minilm", "runs": enc}}
    out = {"setup": setup, "suites": suites, "shipped_v02": shipped}
    (args.docs / "ablations.json").write_text(json.dumps(out, indent=2) + "\n")

    f, d = abl["full"], {k: r["delta"] for k, r in abl.items() if k != "full"}
    cpu = json.loads(args.cpu_comparison.read_text()) if args.cpu_comparison.exists() else None
    n_jb, n_ben = val_counts["jailbreak"], val_counts["benign"]
    noise = (f"**One seed per run** (`train.seed` {rec['seed']}, the default), and we did not measure seed variance: "
             "differences of a few tenths of a point are within noise. For scale, validation has "
             f"{n_jb:,} jailbreak rows, so one jailbreak row moves that class's recall by {100 / n_jb:.2f} points and "
             f"balanced accuracy by {25 / n_jb:.2f}.")  # fmt: skip
    e5, rnd = enc["e5_small"], enc["random_init"]
    cpu_line = ""
    if cpu:
        c = cpu["runs"]
        cpu_line = (f" This reverses the earlier small CPU comparison ({cpu['setup']['train_rows']:,} training rows, "
                    f"{cpu['setup']['epochs']} epoch), where random init led on validation "
                    f"({pct(c['random']['val']['balanced_accuracy'], 1)} vs MiniLM "
                    f"{pct(c['minilm']['val']['balanced_accuracy'], 1)}); that result was confounded by "
                    f"`new_param_lr_scale` {rec['new_param_lr_scale']:g}, which trains every parameter of a random-init "
                    "model at that multiple of the learning rate, a head start over so few steps.")  # fmt: skip
    enc_reading = [
        f"- **Pretrained starts beat random init** at full budget: random init is {absp(-rnd['delta']['balanced_accuracy'])} "
        f"points lower in balanced accuracy ({pct(rnd['balanced_accuracy'])} vs {pct(enc['minilm']['balanced_accuracy'])}) "
        f"with a higher benign FPR ({pct(rnd['benign_fpr'])} vs {pct(enc['minilm']['benign_fpr'])}; its smaller "
        f"parameter count is its own, smaller vocabulary).{cpu_line}",
        f"- **e5-small ≈ MiniLM**: {pts(e5['delta']['balanced_accuracy'])} points balanced accuracy, within noise, at "
        f"{mil(e5['parameters'])} vs {mil(enc['minilm']['parameters'])} parameters (larger vocabulary); its epoch-{args.epoch + 1} "
        f"train time was {e5['train_time_s']:.1f} s vs {enc['minilm']['train_time_s']:.1f} s in this run (not "
        "profiled). At one seed this gives no reason to move from the smaller MiniLM start.",
    ]  # fmt: skip
    no_det, no_deep = abl["no_detector_feats"], abl["no_deep"]
    md = [
        "# Component ablations and base-encoder comparison (GPU, full training split)", "",
        "Written by `scripts/summarize_ablations.py` from the raw per-epoch metrics in "
        "[ablations/raw/](ablations/raw/) (numbers also in [ablations.json](ablations.json)).", "",
        "## How the runs were made", "",
        f"The training recipe of `{rec['config']}` (MiniLM-L6-initialised dual-branch model, 256 tokens; the data "
        f"build before the mined hard negatives) on the full "
        f"training split ({data['train_rows']:,} rows), scored on the validation split ({data['validation_rows']:,} "
        f"rows) by the training loop after each epoch: batch {rec['batch_size']}, lr {sci(rec['lr'])} (new parameters "
        f"×{rec['new_param_lr_scale']:g}), bf16, {setup['epochs']} epochs, no FGSM (`train.fgsm_start_epoch="
        f"{rec['fgsm_start_epoch']}`), one seed. Each run changes one thing. Two calls of the `device` tool on one "
        "NVIDIA H200 ([scripts/device_ablations.sh](../scripts/device_ablations.sh); `CAP` is each run's wall-clock "
        "cap):", "",
        "```bash", COMMANDS["ablations"], COMMANDS["encoders"], "```", "",
        ("All runs finished" if setup["all_runs_finished"] else "**Not all runs finished**")
        + f" their {setup['epochs']} epochs inside the cap. "
        f"The tables show the last epoch (index {args.epoch}, learning rate decayed to ~0). **Validation only**: the "
        "checkpoints of these runs did not come back from the GPU, so there are no test or eval-set numbers for them.",
        "",
        "## Component ablations", "",
        *tables(abl, "full", args.epoch), "",
        "`no_detector_feats` switches off both the detector-score features and the pattern bank (seeded from them). "
        "Without the deep branch the fast branch answers every row, so no early-exit share applies. Train times are "
        "single wall-clock measurements, not benchmarks: differences of a few seconds mean little.", "",
        "Reading:", "",
        f"- {noise}",
        f"- **Detector features + pattern bank clearly matter**: without them balanced accuracy drops "
        f"{absp(-d['no_detector_feats']['balanced_accuracy'])} points ({pct(f['balanced_accuracy'])} → "
        f"{pct(no_det['balanced_accuracy'])}), mostly through obfuscation recall "
        f"({pct(f['per_class_recall']['obfuscation'], 1)} → {pct(no_det['per_class_recall']['obfuscation'], 1)}).",
        f"- **MoE and char-CNN show no measurable gain on validation at this budget**: the model without MoE scores "
        f"{pts(d['no_moe']['balanced_accuracy'])} points balanced accuracy with {mil(d['no_moe']['parameters'])} fewer "
        f"parameters; without the char-CNN {pts(d['no_char_cnn']['balanced_accuracy'])} points, though benign FPR is "
        f"{absp(d['no_char_cnn']['benign_fpr'])} points higher (about {round(d['no_char_cnn']['benign_fpr'] * n_ben)} "
        f"of {n_ben:,} benign rows), which one seed cannot separate from noise.",
        f"- **The deep branch adds {absp(-d['no_deep']['balanced_accuracy'])} points** of balanced accuracy and "
        f"lowers benign FPR ({pct(no_deep['benign_fpr'])} without it, {pct(f['benign_fpr'])} with it), at the cost of "
        f"{mil(d['no_deep']['parameters'])} parameters and {abs(d['no_deep']['train_time_s']):.1f} s more training "
        f"time in epoch {args.epoch + 1}.",
        "",
        "## Base-encoder comparison", "",
        "Same settings; only the starting point differs. The MiniLM row is the ablation suite's `full` run. "
        "The earlier small CPU comparison is in [encoder-comparison.md](encoder-comparison.md).", "",
        *tables(enc, "minilm", args.epoch), "",
        "Reading (same caveat: one seed, no measured seed variance):", "", *enc_reading, "",
        "## For reference: the v0.2 training run", "",
        f"Same recipe and data but a {shipped['epochs']}-epoch schedule with FGSM in epoch index "
        f"{', '.join(map(str, shipped['fgsm_epochs']))}; the best epoch on validation balanced accuracy was index "
        f"{best}: {pct(shipped['balanced_accuracy'])} balanced accuracy, {pct(shipped['benign_fpr'])} benign FPR. Its "
        f"learning rate at that point was still {shipped['lr_end']:.1e} (the 2-epoch runs above end at ~0), so it "
        "is not a repeat of `full` and says nothing about seed variance.",
    ]  # fmt: skip
    (args.docs / "ablations.md").write_text("\n".join(md) + "\n")

    gpu = [
        BEGIN, "## Full budget on the GPU", "",
        f"Written by `scripts/summarize_ablations.py` (details and the component ablations: [ablations.md](ablations.md)). "
        f"The shipped recipe on the full training split ({data['train_rows']:,} rows), {setup['epochs']} epochs, no "
        "FGSM, one seed, one NVIDIA H200; validation split only (the checkpoints did not come back, so no test or "
        "eval-set numbers).", "",
        "| start | parameters | val balanced acc | Δ vs MiniLM | benign FPR | jailbreak recall |", "|---" * 6 + "|",
        *(f"| {n} | {r['parameters']:,} | {pct(r['balanced_accuracy'])} | "
          f"{pts(r['delta']['balanced_accuracy']) if 'delta' in r else '–'} | {pct(r['benign_fpr'])} | "
          f"{pct(r['per_class_recall']['jailbreak'], 1)} |" for n, r in enc.items()),
        "", f"- {noise}", *enc_reading, "",
        "## Earlier: small equal budget on the CPU", "",
        "Written before the GPU runs above; its last sentence predates them.", END, "",
    ]  # fmt: skip
    cmp_md = args.docs / "encoder-comparison.md"
    text = cmp_md.read_text() if cmp_md.exists() else "# Base-encoder comparison\n"
    text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n*", "", text, flags=re.S)
    title, _, rest = text.partition("\n")
    cmp_md.write_text(title + "\n\n" + "\n".join(gpu) + "\n" + rest.lstrip("\n"))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
