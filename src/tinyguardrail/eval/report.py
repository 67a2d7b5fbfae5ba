"""The evaluation report: ``docs/RESULTS.md`` (the main table), ``docs/eval/results.md`` (every suite and cell) and
PNG plots (ROC curves, recall at fixed false-positive rates, per-transform and per-language bars, accuracy against
latency), all written from ``docs/eval/results.json`` (which ``tinyguardrail eval`` writes). Nothing here computes a
metric: it only lays out what the harness measured.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

#: (suite, metric, column title, "low" when lower is better) of the main table.
MAIN_COLUMNS = (
    ("ood_dev", "pint_score", "OOD-dev score", ""),
    ("ood_dev", "recall_at_1pct_fpr", "OOD-dev recall @1% FPR", ""),
    ("ood_dev", "benign_fpr", "OOD-dev FPR", "low"),
    ("notinject", "benign_fpr", "NotInject FPR", "low"),
    ("wildguard", "benign_fpr", "WildGuard FPR", "low"),
    ("bipia_test", "pint_score", "BIPIA test score", ""),
    ("jbb_pair", "attack_recall", "PAIR recall", ""),
    ("bastion", "pint_score", "bastion score", ""),
    ("garak_ml", "attack_recall", "garak-ml recall", ""),
    ("transforms", "pint_score", "transforms score", ""),
)


def rates_by(cells: dict, group, kind: str = "attack") -> dict[str, float]:
    """Pooled accuracy of the (cell, ``kind``) groups of a suite result, regrouped by ``group(cell)`` (a name or
    None to leave the cell out): detection per transform, recall per language, ..."""
    agg: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for key, v in cells.items():
        cell, k = key.rsplit("|", 1)
        name = group(cell) if k == kind else None
        if name is not None:
            agg[name][0] += v["accuracy"] * v["n"]
            agg[name][1] += v["n"]
    return {name: s / n for name, (s, n) in agg.items() if n}


def _transform(cell: str) -> str:
    return cell.split("/", 1)[0]


def fmt(x, pct: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}" if pct else f"{x:.3g}"


def _systems(results: dict) -> list[str]:
    return list(results["systems"])


def main_table(results: dict) -> list[str]:
    head = "| system | " + " | ".join(c[2] for c in MAIN_COLUMNS) + " | p50 / p95 ms |"
    lines = [head, "|---" * (len(MAIN_COLUMNS) + 2) + "|"]
    for name in _systems(results):
        s = results["systems"][name]
        cells = [fmt(s["suites"].get(suite, {}).get(metric)) for suite, metric, _, _ in MAIN_COLUMNS]
        lat = s.get("latency", {})
        ms = f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f}" if lat else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ms} |")
    return lines


def transform_table(results: dict) -> list[str]:
    """Detection per transform (all shapes pooled) and FPR of the same encodings of benign text, per system."""
    names = _systems(results)
    det, fp = {}, {}
    for name in names:
        cells = results["systems"][name]["suites"].get("transforms", {}).get("cells", {})
        det[name] = rates_by(cells, _transform)
        fp[name] = {t: 1 - r for t, r in rates_by(cells, _transform, "benign").items()}
    lines = ["| transform | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for t in sorted({t for n in names for t in det[n]}):
        lines.append(f"| {t} | " + " | ".join(f"{fmt(det[n].get(t))} / {fmt(fp[n].get(t))}" for n in names) + " |")
    return lines


def cell_table(results: dict, suite: str) -> list[str]:
    names = _systems(results)
    keys = sorted({k for n in names for k in results["systems"][n]["suites"].get(suite, {}).get("cells", {})})
    lines = ["| cell | label | n | " + " | ".join(names) + " |", "|---" * (len(names) + 3) + "|"]
    for key in keys:
        cell, kind = key.rsplit("|", 1)
        vals = [results["systems"][n]["suites"].get(suite, {}).get("cells", {}).get(key) for n in names]
        n_rows = next((v["n"] for v in vals if v), 0)
        lines.append(f"| {cell} | {kind} | {n_rows} | " + " | ".join(fmt(v["accuracy"]) if v else "–" for v in vals) + " |")
    return lines


def provenance_lines(results: dict) -> list[str]:
    """One line per TinyGuardrail model: trained on this data build (the hold-outs and the leak check apply to it)
    or not (its numbers on these suites are not out-of-distribution evidence)."""
    out = []
    for name, prov in (results.get("provenance") or {}).items():
        same = prov.get("same_build")
        if same is True:
            out.append(f"- **{name}** was trained on this data build: the held-out units never reached its training.")
        elif same is False:
            out.append(f"- **{name}** was trained on another data build: this build's leak check does not cover its "
                       "training data, so its numbers here are out-of-distribution evidence only as far as that build "
                       "held the same units out (docs/evaluation.md says what is known of each earlier version).")
        else:
            out.append(f"- **{name}**: its `training.json` records no hash of its training split, so this run "
                       "cannot tell whether the suites' sources were in its training data (docs/evaluation.md says "
                       "what is known of earlier versions).")
    return (["**Training data of our models.**", ""] + out + [""]) if out else []


def write_results_md(results: dict, path: Path, detail_link: str = "eval/results.md") -> None:
    md = ["# Results", "",
          f"Written by `tinyguardrail eval` on {results['date']} from the data build `{results['data']}` "
          f"(suites `{results['suites']}`). Every system scored the same rows in the same run. Numbers are percentages; "
          "a *score* is PINT's: the mean over (cell, attack/benign) groups of the share of rows the system's own "
          "decision gets right. *Recall @1% FPR* uses the threshold that flags 1% of the suite's own benign rows "
          "(an oracle threshold, beside the system's real decision). Latency: one text per call, one thread, "
          f"{results.get('latency_texts', '?')} OOD-dev texts, on this machine ({results.get('machine', '')}).", "",
          "**Roles.** Thresholds, checkpoints, base encoders and data changes are chosen on the OOD-dev suite only. "
          "The other suites are reported and never used to choose anything. The held-out units, the suites and "
          "the leak check that proves none of it reached training are described in "
          "[docs/evaluation.md](evaluation.md).", ""] + provenance_lines(results) + [
          "## Main table", ""] + main_table(results)
    md += ["", "## The three weakest OOD-dev cells", ""]
    for name in _systems(results):
        weak = results["systems"][name].get("weakest_ood_dev", [])
        md.append(f"- **{name}**: " + "; ".join(f"{c} {fmt(a)}% (n={n})" for c, a, n in weak))
    md += ["", "## Independent 2025 transforms: detection / false positives on the same encodings of benign text", ""]
    md += transform_table(results)
    md += ["", f"Every cell of every suite: [{detail_link}]({detail_link}). Plots: "
           + ", ".join(f"[{p}](eval/{p})" for p in results.get("plots", [])), ""]
    path.write_text("\n".join(md) + "\n")


def write_detail_md(results: dict, path: Path) -> None:
    md = [f"# Evaluation detail ({results['date']})", "", "Accuracy per (cell, label) group: the share of attack rows "
          "flagged, or of benign rows passed. Suite-level numbers are in [../RESULTS.md](../RESULTS.md).", ""]
    for suite in results["suite_order"]:
        md += [f"## {suite}", ""]
        rows = []
        for name in _systems(results):
            r = results["systems"][name]["suites"].get(suite)
            if r:
                rows.append(f"| {name} | {r['n']} | {fmt(r.get('pint_score'))} | {fmt(r.get('attack_recall'))} | "
                            f"{fmt(r.get('benign_fpr'))} | {fmt(r.get('roc_auc'), pct=False)} | "
                            f"{fmt(r.get('recall_at_0.1pct_fpr'))} | {fmt(r.get('recall_at_1pct_fpr'))} | "
                            f"{fmt(r.get('recall_at_5pct_fpr'))} | {r.get('errors', 0)} |")
        md += ["| system | n | score | attack recall | benign FPR | ROC AUC | recall @0.1% | @1% | @5% FPR | errors |",
               "|---|---|---|---|---|---|---|---|---|---|"] + rows + [""]
        md += cell_table(results, suite) + [""]
    path.write_text("\n".join(md) + "\n")


# ------------------------------------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(results: dict, curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name, (fpr, tpr) in curves.items():
        ax.plot(np.maximum(fpr, 1e-4), tpr, label=name, lw=1.6 if name == results.get("primary") else 1)
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false-positive rate (OOD-dev benign rows, log scale)")
    ax.set_ylabel("attack recall")
    ax.set_title("OOD-dev ROC")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_recall_at_fpr(results: dict, path: Path) -> None:
    plt = _plt()
    names = _systems(results)
    keys = ("recall_at_0.1pct_fpr", "recall_at_1pct_fpr", "recall_at_5pct_fpr")
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names)), 4))
    for j, key in enumerate(keys):
        vals = [results["systems"][n]["suites"]["ood_dev"].get(key) or 0 for n in names]
        ax.bar(x + (j - 1) * 0.27, vals, 0.27, label=key.replace("recall_at_", "@").replace("pct_fpr", "% FPR"))
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("OOD-dev attack recall")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(results: dict, groups: dict[str, dict[str, float]], title: str, path: Path, goal: float | None = None) -> None:
    plt = _plt()
    names = _systems(results)
    labels = sorted(groups)
    x = np.arange(len(labels))
    w = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(labels) * max(1, len(names)) / 3), 4.2))
    for j, n in enumerate(names):
        ax.bar(x + (j - (len(names) - 1) / 2) * w, [groups[lab].get(n, 0) for lab in labels], w, label=n)
    if goal:
        ax.axhline(goal, ls="--", c="gray", lw=0.8)
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_transforms(results: dict, path: Path) -> None:
    by_system = {n: rates_by(results["systems"][n]["suites"].get("transforms", {}).get("cells", {}), _transform)
                 for n in _systems(results)}
    groups = {t: {n: r.get(t, 0.0) for n, r in by_system.items()} for t in {t for r in by_system.values() for t in r}}
    _bars(results, groups, "Independent 2025 transforms: detection (all shapes)", path, goal=0.95)


def plot_languages(results: dict, path: Path) -> None:
    """Attack recall per language: OOD-dev held-out languages, garak-multilingual and bastion languages."""
    by_system: dict[str, dict[str, float]] = {}
    for n in _systems(results):
        suites = results["systems"][n]["suites"]
        by_system[n] = {}
        for suite, prefix in (("ood_dev", "lang/"), ("garak_ml", ""), ("bastion", "")):
            cells = suites.get(suite, {}).get("cells", {})
            by_system[n] |= rates_by(cells, lambda c, p=prefix, s=suite: f"{c.rsplit('/', 1)[-1]} ({s})"
                                     if c.startswith(p) else None)
    groups = {g: {n: r.get(g, 0.0) for n, r in by_system.items()} for g in {g for r in by_system.values() for g in r}}
    _bars(results, groups, "Attack recall per language", path, goal=0.8)


def plot_accuracy_latency(results: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for n in _systems(results):
        s = results["systems"][n]
        lat, score = s.get("latency", {}).get("p50_ms"), s["suites"]["ood_dev"].get("pint_score")
        if lat and score is not None:
            ax.scatter([lat], [score], s=40)
            ax.annotate(n, (lat, score), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency per text, ms (one thread, batch 1, log scale)")
    ax.set_ylabel("OOD-dev score")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
