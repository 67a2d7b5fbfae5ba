"""Statistics report of a built data set (JSON + Markdown)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tinyguardrail.data.record import Record
from tinyguardrail.labels import LABELS

SPLIT_ORDER = ("train", "validation", "test", "ood_dev", "eval")


def compute_stats(records: Iterable[Record], extra: dict | None = None) -> dict:
    """Counts by split x label, source, language, attack type; character-length percentiles."""
    by_split_label: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_lang: dict[str, Counter] = defaultdict(Counter)
    by_type: dict[str, Counter] = defaultdict(Counter)
    lengths: dict[str, list[int]] = defaultdict(list)
    for r in records:
        by_split_label[r.split][r.label] += 1
        by_source[r.source][r.split] += 1
        by_lang[r.lang][r.split] += 1
        by_type[f"{r.label}/{r.attack_type}"][r.split] += 1
        lengths[r.label].append(len(r.text))
    pct = {
        label: {f"p{q}": int(np.percentile(v, q)) for q in (5, 25, 50, 75, 95, 99)} | {"max": max(v), "n": len(v)}
        for label, v in lengths.items()
    }
    return {
        "split_label": {s: dict(by_split_label[s]) for s in SPLIT_ORDER if s in by_split_label},
        "source": {k: dict(v) for k, v in sorted(by_source.items())},
        "lang": {k: dict(v) for k, v in sorted(by_lang.items(), key=lambda kv: -sum(kv[1].values()))},
        "attack_type": {k: dict(v) for k, v in sorted(by_type.items())},
        "length_chars": pct,
        "n_languages": len(by_lang),
        "total": sum(sum(c.values()) for c in by_split_label.values()),
    } | (extra or {})


def _table(title: str, rows: dict[str, dict], cols: Iterable[str]) -> list[str]:
    cols = list(cols)
    out = [f"## {title}", "", "| | " + " | ".join(cols) + " | total |", "|---" * (len(cols) + 2) + "|"]
    for name, counts in rows.items():
        vals = [counts.get(c, 0) for c in cols]
        out.append(f"| {name} | " + " | ".join(str(v) for v in vals) + f" | {sum(vals)} |")
    return out + [""]


def write_report(stats: dict, out_dir: Path) -> None:
    """Write ``stats.json`` and ``stats.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    splits = [s for s in SPLIT_ORDER if s in stats["split_label"]]
    md = ["# Built data set", "", f"Total rows: {stats['total']}; languages: {stats['n_languages']}.", ""]
    md += _table("Split x label", {s: stats["split_label"][s] for s in splits}, LABELS)
    md += _table("Rows by source and split", stats["source"], splits)
    md += _table("Rows by label/attack type and split", stats["attack_type"], splits)
    md += _table("Rows by language and split", stats["lang"], splits)
    md += ["## Length in characters", "", "| label | n | p5 | p25 | p50 | p75 | p95 | p99 | max |", "|---" * 9 + "|"]
    for label, p in stats["length_chars"].items():
        md.append(
            f"| {label} | {p['n']} | {p['p5']} | {p['p25']} | {p['p50']} | {p['p75']} | {p['p95']} | {p['p99']} | {p['max']} |"
        )
    for key in ("dedup", "leakage", "synthesis", "balance", "benign_only_language_rows_dropped"):
        if key in stats:
            title = key.replace("_", " ").capitalize()
            md += ["", f"## {title}", "", "```json", json.dumps(stats[key], indent=2), "```"]
    (out_dir / "stats.md").write_text("\n".join(md) + "\n")
