"""``tinyguardrail eval``: score a model on the held-out test split, every eval-only set, the 2025 attack suite
and (optionally) a PINT YAML file; write JSON + Markdown (+ PNG when matplotlib is installed).

Headline numbers (the SPEC's targets):
- held-out balanced accuracy (4 classes) and binary attack-vs-benign metrics on the test split;
- NotInject false-positive rate (all, and per trigger-word level); WildGuard-benign false-positive rate;
- detection rate per 2025 transform (test-split base attacks) and the false-positive rate of the same transforms
  applied to benign text;
- detection on the held-out JailbreakBench method, BIPIA attack strings and eval indirect injections.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import read_split
from tinyguardrail.eval.suites import evaluate_rows, pint_score, transform_suite
from tinyguardrail.labels import LABEL2ID, LABELS


def guard_predictor(guard):
    """Wrap a ``Guard`` as a predictor: texts -> (label ids, probabilities)."""

    def predict(texts):
        verdicts = guard.check_batch(list(texts))
        probs = np.array([[v.scores[name] for name in LABELS] for v in verdicts], dtype=np.float64)
        # The policy decides what is flagged; an unsafe verdict whose label is not an attack class
        # (e.g. "uncertain") counts as the most probable attack class.
        pred = np.array(
            [0 if v.is_safe else LABEL2ID.get(v.label) or int(p[1:].argmax()) + 1 for v, p in zip(verdicts, probs, strict=True)],
            dtype=np.int64,
        )
        return pred, probs

    return predict


def headline(result: dict) -> dict:
    """The few numbers a model card leads with."""
    test, ev = result["test"], result["eval"]
    by_type = ev["by_attack_type"]

    def fpr(prefix: str) -> float | None:
        rows = [(v["n"], v["flag_rate"]) for k, v in by_type.items() if k.startswith(prefix)]
        n = sum(r[0] for r in rows)
        return sum(a * b for a, b in rows) / n if n else None

    det = [v["detection"] for v in result["transforms"].values() if v["detection"] is not None]
    return {
        "test_balanced_accuracy": test["report"].get("balanced_accuracy"),
        "test_accuracy": test["report"].get("accuracy"),
        "test_binary_f1": test["report"].get("binary", {}).get("f1"),
        "test_binary_fpr": test["report"].get("binary", {}).get("fpr"),
        "test_roc_auc": test["report"].get("binary", {}).get("roc_auc"),
        "notinject_fpr": fpr("benign/notinject"),
        **{f"notinject_{lvl}_fpr": fpr(f"benign/notinject_{lvl}") for lvl in (1, 2, 3)},
        "wildguard_benign_fpr": fpr("benign/wildguard"),
        "jbb_holdout_detection": next((v["flag_rate"] for k, v in by_type.items() if "jbb_holdout" in k), None),
        "min_transform_detection": min(det) if det else None,
        "mean_transform_detection": float(np.mean(det)) if det else None,
    }


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}%" if isinstance(x, float) else str(x)


def write_markdown(result: dict, path: Path) -> None:
    h = result["headline"]
    md = [f"# Evaluation of `{result['model']}`", "",
          f"Written by `tinyguardrail eval` on {result['date']} from `{result['data']}`. Rates are shares of rows.", "",
          "## Headline", "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {_fmt(v)} |" for k, v in h.items()]
    md += ["", "## 2025 attack suite (test-split base attacks)", "",
           "| transform | detection | n | FPR of same transform on benign | n |", "|---|---|---|---|---|"]
    for t, v in result["transforms"].items():
        md.append(f"| {t} | {_fmt(v['detection'])} | {v['n_attack']} | {_fmt(v['benign_fpr'])} | {v['n_benign']} |")
    for suite in ("eval", "test"):
        md += ["", f"## {suite}: by label / attack type", "", "| group | n | flagged | kind |", "|---|---|---|---|"]
        for k, v in result[suite]["by_attack_type"].items():
            md.append(f"| {k} | {v['n']} | {_fmt(v['flag_rate'])} | {v['kind']} |")
    md += ["", "## test: by source", "", "| source | n | flagged | exact-label accuracy |", "|---|---|---|---|"]
    for k, v in result["test"]["by_source"].items():
        md.append(f"| {k} | {v['n']} | {_fmt(v['flag_rate'])} | {_fmt(v['exact_label_accuracy'])} |")
    rep = result["test"]["report"]
    md += ["", "## test: per class", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, v in rep.get("per_class", {}).items():
        md.append(f"| {name} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['f1'])} | {v['support']} |")
    if "pint" in result:
        md += ["", f"## PINT ({result['pint']['n']} rows): score {_fmt(result['pint']['score'])}"]
    path.write_text("\n".join(md) + "\n")


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = list(result["transforms"])
    det = [result["transforms"][n]["detection"] or 0 for n in names]
    fpr = [result["transforms"][n]["benign_fpr"] or 0 for n in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.55), 4))
    ax.bar(x - 0.2, det, 0.4, label="detection (attacks)")
    ax.bar(x + 0.2, fpr, 0.4, label="false positives (benign, same transform)")
    ax.axhline(0.97, ls="--", c="gray", lw=0.8, label="goal 97%")
    ax.set_xticks(x, names, rotation=60, ha="right")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"2025 attack suite: {result['model']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def evaluate_model(predict, data_dir: Path, model_name: str, pint: Path | None = None, limit: int | None = None) -> dict:
    from tinyguardrail.data import synth

    test_rows = read_split(data_dir, "test")
    eval_rows = read_split(data_dir, "eval")
    if limit:
        test_rows, eval_rows = test_rows[:limit], eval_rows[:limit]
    result = {"model": model_name, "data": str(data_dir), "date": time.strftime("%Y-%m-%d")}
    t0 = time.perf_counter()
    result["test"] = evaluate_rows(test_rows, predict)
    result["eval"] = evaluate_rows(eval_rows, predict)
    result["transforms"] = transform_suite(result["test"], test_rows, list(synth.TRANSFORMS))
    pint_rows = [r for r in eval_rows if r.source == "pint_example"]
    if pint is not None:
        from tinyguardrail.data.sources.pint_example import load_pint_yaml

        pint_rows = load_pint_yaml(pint)
        pred, _ = predict([r.text for r in pint_rows])
        result["pint"] = pint_score(pint_rows, np.asarray(pred))
    elif pint_rows:
        idx = [i for i, r in enumerate(eval_rows) if r.source == "pint_example"]
        result["pint"] = pint_score(pint_rows, result["eval"]["_pred"][idx])
    for k in ("test", "eval"):
        result[k].pop("_pred")
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["headline"] = headline(result)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    p.add_argument("--data", type=Path, default=Path("build/data"), help="built data directory")
    p.add_argument("--out", type=Path, default=Path("docs/eval"), help="output directory for JSON / Markdown / PNG")
    p.add_argument("--pint", type=Path, default=None, help="a PINT-format YAML file (e.g. the private PINT set)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="score only the first N rows of each split (smoke runs)")


def run(args: argparse.Namespace) -> int:
    from tinyguardrail.runtime.guard import Guard

    guard = Guard.load(args.model, threads=args.threads)
    name = getattr(guard, "name", None) or (args.model.name if args.model else "default")
    result = evaluate_model(guard_predictor(guard), args.data, name, args.pint, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, args.out / "eval.md")
    plot(result, args.out / "transforms.png")
    for k, v in result["headline"].items():
        print(f"{k:<28} {_fmt(v)}")
    print(f"wrote {args.out}/eval.json, eval.md")
    return 0
