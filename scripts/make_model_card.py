"""Write the model card and the README's results block from the files the project's commands wrote.

Reads (every number in the outputs comes from one of these):
  models/<name>/config.json (calibration included), export_report.json, training_metrics.jsonl, training.json
  docs/eval/results.json   `tinyguardrail eval` (the model, the previous version and the peers on every suite)
  docs/bench.json          `tinyguardrail bench` (the model and the previous version back to back)
  docs/parity.json         `python -m tinyguardrail.export.parity`
  docs/data-stats.json     copy of build/data/stats.json
  docs/ablations/v07/      the GPU runs (scripts/summarize_runs.py summarises them in docs/ablations.md)
Writes: models/<name>/MODEL_CARD.md and the block between the results markers of README.md.

    python scripts/make_model_card.py --model models/tinyguardrail-v0.17 --baseline tinyguardrail-v0.16,tinyguardrail-v0.6
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

#: (suite, metric, row title, target) of the headline table: OOD-dev first, then the report sets.
HEADLINE = (
    ("ood_dev", "pint_score", "OOD-dev score (PINT-style; thresholds were chosen on this suite)", ""),
    ("ood_dev", "recall_at_1pct_fpr", "OOD-dev attack recall at 1% FPR", "≥ 95%"),
    ("notinject", "benign_fpr", "NotInject false-positive rate (report)", "≤ 3% (issue: ≤ 8%)"),
    ("wildguard", "benign_fpr", "WildGuard benign false-positive rate (report)", "≤ 10%"),
    ("bipia_test", "attack_recall", "BIPIA test attack recall (report)", "≥ 85%"),
    ("jbb_pair", "attack_recall", "JailbreakBench PAIR recall, held out by method and goal (report)", "≥ 90%"),
    ("garak_ml", "attack_recall", "garak-multilingual recall (report)", "≥ 80%"),
    ("bastion", "pint_score", "bastioncorpus score (report)", ""),
    ("transforms", "pint_score", "independent 2025 transforms score (report)", ""),
    ("test", "balanced_accuracy", "in-distribution test, binary balanced accuracy", ""),
)


def load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def num(x, fmt="{:.2f}") -> str:
    return "–" if x is None else fmt.format(x)


def shipped_bytes(cfg: dict, export: dict | None) -> int:
    if export and export.get("shipped_bytes"):
        return int(export["shipped_bytes"])
    for v in (export or {}).get("variants", []):
        if v.get("variant") == cfg.get("quantization"):
            return int(v["bytes"])
    return 0


def provenance(results: dict) -> list[str]:
    """The report's lines on which model was trained on the scored data build (``eval.report.provenance_lines``)."""
    from tinyguardrail.eval.report import provenance_lines

    return provenance_lines(results)


def bench_row(bench: dict | None, config: str) -> dict | None:
    """The bench row of a configuration: ``shipped``, or ``baseline`` for the ``--baseline-model`` row."""
    return next((r for r in (bench or {}).get("results", []) if r.get("config") == config
                 or (config == "baseline" and str(r.get("config", "")).startswith("baseline:"))), None)


def transform_minimum(result: dict) -> tuple[str, float] | None:
    """The transform with the lowest detection (all shapes pooled) in the transforms suite."""
    from tinyguardrail.eval.report import rates_by

    rates = rates_by(result.get("cells", {}), lambda cell: cell.split("/", 1)[0])
    return min(rates.items(), key=lambda kv: kv[1]) if rates else None


def headline_table(results: dict, primary: str, baselines: list[str], bench: dict | None, cfg: dict,
                   export: dict | None) -> list[str]:
    systems = results["systems"]
    cols = [primary] + [b for b in baselines if b in systems]
    pad = " |" * (len(cols) - 1)
    out = ["| metric | " + " | ".join(cols) + " | target |", "|---" * (len(cols) + 2) + "|"]
    for suite, metric, title, target in HEADLINE:
        vals = [pct(systems[c]["suites"].get(suite, {}).get(metric)) for c in cols]
        out.append(f"| {title} | " + " | ".join(vals) + f" | {target} |")
    mins = [transform_minimum(systems[c]["suites"].get("transforms", {})) for c in cols]
    out.append("| lowest independent transform detection | "
               + " | ".join(f"{pct(m[1])} ({m[0]})" if m else "–" for m in mins) + " | ≥ 95% |")
    out.append(f"| parameters | {cfg.get('parameters', 0) / 1e6:.1f}M |" + pad + " ≤ 60M |")
    out.append(f"| INT8 ONNX on disk (all graphs) | {shipped_bytes(cfg, export) / 1e6:.1f} MB |" + pad + " ≤ 35 MB |")
    shipped, base = bench_row(bench, "shipped"), bench_row(bench, "baseline")
    if shipped:  # the bench runs the shipped model and one baseline (--baseline-model): the others get "–"
        base_name = str((base or {}).get("config", "")).removeprefix("baseline: ")
        cells = [shipped] + [base if c == base_name else None for c in cols[1:]]
        out.append("| CPU latency p50 / p95, batch 1, 1 thread (docs/bench.md) | "
                   + " | ".join(f"{num(r['latency_ms']['p50'])} / {num(r['latency_ms']['p95'])} ms" if r else "–"
                                for r in cells) + " | p95 ≤ 15 ms (goal 8) |")
        out.append("| CPU throughput, batched, 2 cores | "
                   + " | ".join(f"{num(r['throughput_texts_per_s'], '{:.0f}')} texts/s" if r else "–" for r in cells)
                   + " | ≥ 300 /s |")
    return out


RUNTIME_RECORD = (("weights", "Weights"), ("runtime", "Runtime settings"), ("runtime_selection", "Runtime selection"))
"""``training.json`` keys of a model that reuses an earlier model's weights with other runtime settings (v0.17)."""


def seed_lines(training: dict) -> list[str]:
    """The line naming each seed's score and which run the per-epoch table shows (training.json ``seeds``), for a
    model made of several runs; none for a single run."""
    seeds = training.get("seeds")
    if not isinstance(seeds, dict):
        return []
    runs = "; ".join(f"{k} {v}" for k, v in seeds.items() if k != "metric")
    return [f"- Seeds: {runs}" + (f" ({seeds['metric']})" if seeds.get("metric") else "") + "."]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("models/tinyguardrail-v0.17"))
    p.add_argument("--baseline", default="tinyguardrail-v0.16,tinyguardrail-v0.6",
                   help="comma-separated system names of earlier versions in the results (columns of the headline)")
    p.add_argument("--docs", type=Path, default=Path("docs"))
    p.add_argument("--readme", type=Path, default=Path("README.md"))
    args = p.parse_args()
    m, d = args.model, args.docs
    cfg = load(m / "config.json")
    export = load(m / "export_report.json")
    training = load(m / "training.json") or {}
    results = load(d / "eval" / "results.json")
    bench = load(d / "bench.json")
    parity = load(d / "parity.json")
    stats = load(d / "data-stats.json")
    metrics = [json.loads(x) for x in (m / "training_metrics.jsonl").read_text().splitlines() if x.strip()]
    mc, cal = cfg["model"], cfg.get("calibration", {})
    baselines = [b for b in args.baseline.split(",") if b]
    primary = results["primary"]

    card = [f"# Model card: {cfg['name']}", "",
            "Generated by `scripts/make_model_card.py` from the files named in each section; nothing typed by hand.", "",
            "## What it is", "",
            f"A {cfg['parameters'] / 1e6:.1f}M-parameter dual-branch classifier that labels text as benign, "
            "direct_injection, jailbreak or obfuscation: a threat-aware embedding (token embeddings, a character CNN, "
            f"pattern-detector features), a {mc['n_fast_layers']}-layer fast branch with a pattern bank, a router, and "
            f"a {mc['n_deep_layers']}-layer deep branch with hierarchical pooling"
            + (f" and {mc['n_experts']}-expert top-{mc['top_k']} MoE blocks" if mc.get("use_moe") else
               " (Mixture-of-Experts off: it lost on the OOD-dev suite, docs/ablations.md)")
            + f"; {mc['max_len']}-token windows. Initialised from `{mc['pretrained_name']}` (package weights, see "
            f"docs/training.md); vocabulary {mc['vocab_size']:,} pieces; exported as {cfg['quantization']} ONNX "
            "(fast and deep graphs, the character CNN as a small fp32 graph).", "",
            "## Decision thresholds (config.json, chosen on the OOD-dev suite)", "",
            f"A text is an attack (blocked) when P(attack) ≥ {num(cal.get('attack_threshold'), '{:.4f}')}; from "
            f"{num((cal.get('attack_threshold') or 0) - (cal.get('uncertain_margin') or 0), '{:.4f}')} it is "
            "*uncertain* (not safe: human review). On the OOD-dev suite these block "
            f"{pct(cal.get('ood_dev_block_rate_benign'))} and flag {pct(cal.get('ood_dev_flag_rate_benign'))} of the "
            f"benign rows, and flag {pct(cal.get('ood_dev_flag_recall'))} of the attacks "
            f"(`tinyguardrail eval calibrate --attack-fpr {cal.get('attack_fpr_target')} --flag-fpr "
            f"{cal.get('flag_fpr_target')}`). No report set was used.", "",
            f"## Headline (docs/eval/results.json, docs/bench.json, export_report.json; {', '.join(baselines)} in the same run)",
            ""]
    card += headline_table(results, primary, baselines, bench, cfg, export)
    card += [""] + provenance(results)
    card += ["", "Every suite, every cell and the offline peer detectors side by side: [docs/RESULTS.md]"
             "(../../docs/RESULTS.md). How the suites are built and kept apart from training: "
             "[docs/evaluation.md](../../docs/evaluation.md)."]
    if parity:
        v = parity["variants"].get("onnx", {})
        card += ["", f"INT8 against PyTorch on {parity['n']} test rows: label agreement {pct(v.get('label_agreement'))}, "
                 f"accuracy drop {num(v.get('accuracy_drop_points'))} points (docs/parity.json)."]
        if v.get("attack_type_accuracy") is not None:
            card += ["", f"The attack type on the same rows, INT8: of the {v['caught_attacks']} attack rows whose "
                         f"most probable class is an attack type, {pct(v['attack_type_accuracy'])} get their own "
                         f"type; four-class balanced accuracy {pct(v['balanced_accuracy'])} (the response code "
                         "reports a type for rows over the attack threshold, a subset of these)."]
    card += ["", "## Training (training.json, training_metrics.jsonl)", "",
             *[f"- {label}: {str(training[key]).rstrip('.')}." for key, label in RUNTIME_RECORD if training.get(key)],
             f"- Recipe: `recipe.json` (= `configs/{cfg['name']}.json`); trained: {training.get('gpu_plan') or training.get('where', '?')}"
             + (f"; continued from {training['parent']['model']}" if training.get("parent") else "") + ".",
             f"- Data build: `{training.get('data_build', {}).get('command', '?')}`; train split sha256 "
             f"`{training.get('data_build', {}).get('train.jsonl.gz sha256', '?')[:16]}…`.",
             f"- Selection: {training.get('selection', '')}.",
             *seed_lines(training),
             "", "| epoch | train loss | validation balanced acc | OOD-dev score @3% FPR | OOD-dev recall @3% FPR "
             "| seconds |", "|---|---|---|---|---|---|"]
    for r in metrics:
        v, s = r.get("val", {}), r.get("select", {})
        card.append(f"| {r['epoch'] + 1} | {num(r['train'].get('total'), '{:.4f}')} | {pct(v.get('balanced_accuracy'))} "
                    f"| {pct(s.get('pint_score'))} | {pct(s.get('attack_recall'))} | {r.get('time_s')} |")
    if stats:
        card += ["", "## Data (docs/data-stats.md)", "",
                 f"{stats['total']:,} rows in {stats['n_languages']} languages (`tinyguardrail data build`, "
                 "`configs/data.json`). The OOD-dev units (whole sources, the Pliny templates, 8 languages) and the "
                 "OOD-report sets never reach training: `tinyguardrail eval leakcheck`, independent of the builder, "
                 "finds no evaluation text, near-copy, encoded copy or synthesis material holding one on the training "
                 "side (it runs on the real build in `make test`). Split × label:", "",
                 "| split | benign | direct_injection | jailbreak | obfuscation |", "|---|---|---|---|---|"]
        for s, c in stats["split_label"].items():
            card.append(f"| {s} | {c.get('benign', 0)} | {c.get('direct_injection', 0)} | {c.get('jailbreak', 0)} "
                        f"| {c.get('obfuscation', 0)} |")
    if export:
        card += ["", "## Quantization variants (export_report.json)", "",
                 "| variant | MB | fast ms | deep ms | agreement with PyTorch | accuracy | max batch-vs-alone |Δp| |",
                 "|---|---|---|---|---|---|---|"]
        for v in export["variants"]:
            batch = v.get("batch_max_prob_diff")
            card.append(f"| {v['variant']} | {v['bytes'] / 1e6:.1f} | {num(v['fast_ms'])} | {num(v['deep_ms'])} "
                        f"| {pct(v.get('label_agreement'))} | {pct(v.get('accuracy'))} "
                        f"| {'–' if batch is None else f'{batch:.1e}'} |")
    weak = results["systems"][primary].get("weakest_ood_dev", [])
    card += ["", "## Known limits", "",
             "- The three weakest OOD-dev cells: " + "; ".join(f"{c} {pct(a)} (n={n})" for c, a, n in weak) + ".",
             "- The guard reads English best: the base (all-MiniLM-L6-v2) is an English uncased encoder; other "
             "languages rely on the multilingual bank, the character CNN and the pattern detectors.",
             "- Thresholds were set on the OOD-dev suite at 1% blocked / 3% flagged benign rows; a deployment with "
             "other traffic should re-calibrate on its own benign text (`tinyguardrail eval calibrate`)."]
    shipped, base = bench_row(bench, "shipped"), bench_row(bench, "baseline")
    if shipped and base:
        card.append(
            f"- Latency on long texts: p95 {num(shipped['latency_ms']['p95'])} ms against "
            f"{num(base['latency_ms']['p95'])} ms for {base['config'].removeprefix('baseline: ')} on the bench's mix "
            f"(docs/bench.md): the fast branch answers alone for "
            f"{pct(shipped.get('early_exit_share'))} of the rows against {pct(base.get('early_exit_share'))}, so "
            "most long windows also pay the deep branch.")
    (m / "MODEL_CARD.md").write_text("\n".join(card) + "\n")

    readme = args.readme.read_text()
    block = ["<!-- results:start (generated by scripts/make_model_card.py) -->", ""]
    block += headline_table(results, primary, baselines, bench, cfg, export)
    block += [""] + provenance(results) + ["<!-- results:end -->"]
    args.readme.write_text(re.sub(r"<!-- results:start.*?<!-- results:end -->", "\n".join(block), readme, flags=re.S))
    print(f"wrote {m / 'MODEL_CARD.md'} and the README results block")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
