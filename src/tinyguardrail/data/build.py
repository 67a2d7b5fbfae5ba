"""``tinyguardrail data build``: every source -> one deduplicated, split, synthesised data set + report.

Order of work (each step is deterministic for a given seed):

1. Load every source (``data/sources``) into ``Record`` rows, and their building blocks (``Material``).
   Sources marked eval-only get split ``eval``; sources that ship splits keep them.
2. Hold out one whole JailbreakBench attack method (default PAIR) as an evaluation set.
3. Assign every other row and material a split from a seeded hash of its ``template_id`` (one template, one
   split), cap rows per template (near-duplicate families) and benign rows per source and language.
4. Remove exact duplicates, keeping the copy in the most protected split (eval > test > validation > train).
5. Synthesise, inside each split from that split's own rows and materials only: 2025 obfuscation
   transforms of attacks, the same transforms on benign text (false-positive side), indirect injections in
   carrier documents, multilingual attacks, hard negatives.
6. Drop any train (or validation) row that exactly or nearly duplicates a row of a more protected split
   (MinHash-LSH, Jaccard >= 0.8 of word 3-grams, every pair verified), then verify it once more.
7. Write ``{train,validation,test,eval}.jsonl.gz`` plus ``stats.json`` / ``stats.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType

from tqdm.auto import tqdm

from tinyguardrail.data.dedup import NearDupIndex, canonical
from tinyguardrail.data.hard_negatives import TRIGGER_VOCABULARY
from tinyguardrail.data.io import SPLIT_FILES, write_jsonl_gz
from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.split import SplitFractions, group_split
from tinyguardrail.data.stats import compute_stats, write_report

log = logging.getLogger(__name__)

#: Lower rank = more protected. A duplicate is kept in the most protected split it occurs in.
SPLIT_RANK = {"eval": 0, "test": 1, "validation": 2, "train": 3}
ATTACK_LABELS = ("direct_injection", "jailbreak", "obfuscation")


def default_data_root() -> Path:
    return Path(os.environ.get("TINYGUARDRAIL_DATA_ROOT", "../shared/data"))


@dataclass
class BuildConfig:
    """Settings of one build; saved into ``stats.json`` so a data set states how it was made."""

    data_root: Path
    out: Path
    seed: int = 1234
    validation_frac: float = 0.1
    test_frac: float = 0.1
    holdout_jbb_method: str = "pair"
    """JailbreakBench method held out whole as an evaluation set (attack_type of its rows)."""
    max_per_template: int = 40
    """At most this many rows share one template_id (near-duplicate families, filled templates)."""
    benign_cap_per_source_lang: int = 800
    """At most this many benign rows of one (source, language) before synthesis."""
    benign_cap_per_source: int = 12000
    """At most this many benign rows of one source (tatoeba alone has 90k short sentences)."""
    benign_trigger_cap_per_source: int = 1500
    """Benign rows that use attack vocabulary (``TRIGGER_VOCABULARY``: "ignore", "act as", "system prompt", ...) are
    mined hard negatives: they skip the two caps above and have this cap of their own per source, so that the
    benign side shows these words in ordinary use as often as the sources do (the over-defense failure)."""
    near_dup_threshold: float = 0.8
    synth_per_transform: dict = field(default_factory=lambda: {"train": 700, "validation": 60, "test": 120})
    benign_synth_per_transform: dict = field(default_factory=lambda: {"train": 150, "validation": 20, "test": 60})
    indirect: dict = field(default_factory=lambda: {"train": 4000, "validation": 400, "test": 800, "eval": 600})
    multilingual: dict = field(default_factory=lambda: {"train": 3000, "validation": 300, "test": 600})
    hard_negatives: int = 8000
    max_base_chars: int = 1200
    """Base texts longer than this are not used for obfuscation transforms (they'd be unrealistic)."""


def _rank(split: str | None) -> int:
    return SPLIT_RANK.get(split or "train", 3)


def load_sources(root: Path, sources: Sequence[ModuleType]) -> tuple[list[Record], list[Material], dict]:
    """Run every loader; returns rows, materials and per-source timing/counts."""
    records: list[Record] = []
    materials: list[Material] = []
    info = {}
    for mod in tqdm(sources, desc="sources", unit="src"):
        t0 = time.perf_counter()
        rows = list(mod.load(root))
        mats = list(mod.materials(root)) if hasattr(mod, "materials") else []
        if getattr(mod, "EVAL_ONLY", False):
            rows = [replace(r, split="eval") for r in rows]
            mats = [replace(m, split="eval") for m in mats]
        records += rows
        materials += mats
        info[mod.NAME] = {"rows": len(rows), "materials": len(mats), "seconds": round(time.perf_counter() - t0, 2)}
    return records, materials, info


def assign_splits(records: list[Record], materials: list[Material], cfg: BuildConfig) -> tuple[list, list]:
    fr = SplitFractions(cfg.validation_frac, cfg.test_frac)
    out_r = []
    for r in records:
        if r.source.endswith("jailbreakbench-artifacts") or r.source == "jailbreakbench":
            if r.attack_type == cfg.holdout_jbb_method:
                r = replace(r, split="eval", attack_type=f"jbb_holdout_{r.attack_type}")
        if r.split is None:
            r = replace(r, split=group_split(r.template_id, cfg.seed, fr))
        out_r.append(r)
    out_m = [m if m.split is not None else replace(m, split=group_split(m.template_id, cfg.seed, fr)) for m in materials]
    return out_r, out_m


def cap_rows(records: list[Record], cfg: BuildConfig, rng: random.Random) -> tuple[list[Record], dict]:
    """Cap rows per template and benign rows per (source, language); benign rows using attack vocabulary have a
    per-source cap of their own (``benign_trigger_cap_per_source``); eval rows are never capped."""
    by_template: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_template[r.template_id].append(r)
    kept: list[Record] = []
    dropped_template = 0
    for rows in by_template.values():
        if len(rows) > cfg.max_per_template and not any(r.split == "eval" for r in rows):
            dropped_template += len(rows) - cfg.max_per_template
            rows = rng.sample(rows, cfg.max_per_template)
        kept += rows
    by_src_lang: dict[tuple, list[Record]] = defaultdict(list)
    trigger_by_src: dict[str, list[Record]] = defaultdict(list)
    out: list[Record] = []
    for r in kept:
        if r.label == "benign" and r.split != "eval":
            if cfg.benign_trigger_cap_per_source > 0 and TRIGGER_VOCABULARY.search(r.text):
                trigger_by_src[r.source].append(r)
            else:
                by_src_lang[(r.source, r.lang)].append(r)
        else:
            out.append(r)
    kept_trigger = 0
    for _src, rows in sorted(trigger_by_src.items()):
        if len(rows) > cfg.benign_trigger_cap_per_source:
            rows = rng.sample(rows, cfg.benign_trigger_cap_per_source)
        kept_trigger += len(rows)
        out += rows
    dropped_benign = 0
    by_src: dict[str, list[Record]] = defaultdict(list)
    for (src, _lang), rows in sorted(by_src_lang.items()):
        if len(rows) > cfg.benign_cap_per_source_lang:
            dropped_benign += len(rows) - cfg.benign_cap_per_source_lang
            rows = rng.sample(rows, cfg.benign_cap_per_source_lang)
        by_src[src] += rows
    for rows in by_src.values():
        if len(rows) > cfg.benign_cap_per_source:
            dropped_benign += len(rows) - cfg.benign_cap_per_source
            rows = rng.sample(rows, cfg.benign_cap_per_source)
        out += rows
    return out, {"dropped_over_template_cap": dropped_template, "dropped_over_benign_cap": dropped_benign,
                 "benign_with_trigger_vocabulary": kept_trigger}


def exact_dedup(records: list[Record]) -> tuple[list[Record], dict]:
    """Keep one row per canonical text: the one in the most protected split (ties: first seen)."""
    best: dict[str, Record] = {}
    conflicts = 0
    for r in sorted(records, key=lambda r: _rank(r.split)):
        key = canonical(r.text)
        if not key:
            continue
        if key in best:
            conflicts += best[key].label != r.label
            continue
        best[key] = r
    return list(best.values()), {"exact_duplicates_removed": len(records) - len(best), "label_conflicts": conflicts}


def _is_leak(r: Record, other: Record) -> bool:
    """Whether ``r`` near-duplicating the protected row ``other`` is a leak. Two synthetic rows made by the same
    transform share its wrapper text by design; when their base attacks differ (different template_id; bases were
    deduplicated across splits before synthesis) the similarity is the wrapper's, not a leak."""
    twins = r.source == other.source == "synth" and r.attack_type == other.attack_type
    return not twins or r.template_id == other.template_id


def remove_leaks(records: list[Record], threshold: float) -> tuple[list[Record], dict]:
    """Drop rows that (nearly) duplicate a row of a more protected split; returns kept rows and counts."""
    removed: Counter = Counter()
    kept = [r for r in records if r.split in ("eval", "test")]
    # Level by level: eval+test protect validation; eval+test+validation protect train.
    for split in ("validation", "train"):
        index = NearDupIndex(threshold=threshold)
        exact = set()
        for r in kept:
            index.add(r.text)
            exact.add(canonical(r.text))
        for r in tqdm([r for r in records if r.split == split], desc=f"near-dup {split}", unit="row", leave=False):
            if canonical(r.text) in exact or any(_is_leak(r, kept[i]) for i in index.query(r.text)):
                removed[split] += 1
            else:
                kept.append(r)
    return kept, {f"near_dup_removed_{k}": v for k, v in removed.items()}


def verify_no_leakage(train: Sequence[Record], protected: Sequence[Record], threshold: float) -> int:
    """Number of train rows that exactly or nearly duplicate a protected row (must be 0); see ``_is_leak``."""
    index = NearDupIndex(threshold=threshold)
    exact = set()
    for r in protected:
        index.add(r.text)
        exact.add(canonical(r.text))
    leaks = 0
    for r in train:
        if canonical(r.text) in exact or any(_is_leak(r, protected[i]) for i in index.query(r.text)):
            leaks += 1
    return leaks


def synthesize(records: list[Record], materials: list[Material], cfg: BuildConfig, rng: random.Random) -> tuple[list, dict]:
    """All synthetic rows; every generator sees only rows and materials of the split it writes."""
    from tinyguardrail.data import hard_negatives as hn
    from tinyguardrail.data import indirect, multilingual, synth

    out: list[Record] = []
    info: Counter = Counter()
    mats_by: dict[tuple[str, str], list[Material]] = defaultdict(list)
    for m in materials:
        mats_by[(m.split, m.kind)].append(m)
    rows_by: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        rows_by[(r.split, "attack" if r.label in ATTACK_LABELS else "benign")].append(r)

    for split in ("train", "validation", "test"):
        short_attacks = [r for r in rows_by[(split, "attack")] if len(r.text) <= cfg.max_base_chars and r.label != "obfuscation"]
        # English harmful goals wrapped by the transform are the canonical FlipAttack / CodeChameleon input.
        goals_en = [
            Record(m.text, "jailbreak", m.source, "goal", m.lang, m.template_id, split)
            for m in mats_by[(split, "goal")]
            if m.lang == "en"
        ]
        base = short_attacks + goals_en
        for prefix, pool, n, names, make in (
            ("", base, cfg.synth_per_transform[split], synth.TRANSFORMS, synth.transform_records),
            ("benign_", [r for r in rows_by[(split, "benign")] if 20 <= len(r.text) <= cfg.max_base_chars],
             cfg.benign_synth_per_transform[split], getattr(synth, "BENIGN_SAFE_TRANSFORMS", synth.TRANSFORMS),
             synth.benign_transform_records),
        ):  # fmt: skip
            for name in names if pool else ():
                rows = make(rng.sample(pool, min(n, len(pool))), [name], rng, per_record=1)
                out += rows
                info[f"{split}/{prefix}{name}"] += len(rows)

    for split, n in cfg.indirect.items():
        payloads = mats_by[(split, "payload")]
        lead_ins = mats_by[(split, "lead_in")]  # may be empty: then payloads go in without a lead-in
        carriers = [m for (s, k), ms in mats_by.items() if s == split and k.startswith("carrier_") for m in ms]
        if payloads and carriers:
            rows = indirect.compose_indirect(payloads, lead_ins, carriers, rng, n)
            rows = [replace(r, split=split) for r in rows]
            out += rows
            info[f"{split}/indirect"] += len(rows)

    for split, n in cfg.multilingual.items():
        goals = [m for m in mats_by[(split, "goal")] if m.lang != "en"]
        hijacks = [m for m in mats_by[(split, "payload")] if m.lang != "en"]
        if goals or hijacks:
            rows = [replace(r, split=split) for r in multilingual.multilingual_attacks(goals, hijacks, rng, n)]
            out += rows
            info[f"{split}/multilingual"] += len(rows)

    base_texts = [r.text for r in rows_by[("train", "benign")] if len(r.text) <= 400]
    fr = SplitFractions(cfg.validation_frac, cfg.test_frac)
    for r in hn.hard_negatives(rng, cfg.hard_negatives, base_texts=base_texts):
        split = group_split(r.template_id, cfg.seed, fr)
        out.append(replace(r, split=split))
        info[f"{split}/hard_negatives"] += 1
    return out, dict(sorted(info.items()))


def build(cfg: BuildConfig, sources: Sequence[ModuleType] | None = None) -> dict:
    """Build the data set described by ``cfg``; returns the stats dict (also written to disk)."""
    if sources is None:
        from tinyguardrail.data.sources import all_sources

        sources = all_sources()
    if not Path(cfg.data_root).is_dir():
        raise FileNotFoundError(f"data root {cfg.data_root} is not a directory")
    rng = random.Random(cfg.seed)
    t0 = time.perf_counter()
    records, materials, source_info = load_sources(Path(cfg.data_root), sources)
    records, materials = assign_splits(records, materials, cfg)
    records, cap_info = cap_rows(records, cfg, rng)
    records, dedup_info = exact_dedup(records)
    records, base_leaks = remove_leaks(records, cfg.near_dup_threshold)  # clean bases before synthesis
    synthetic, synth_info = synthesize(records, materials, cfg, rng)
    records, dedup2 = exact_dedup(records + synthetic)
    records, leak_info = remove_leaks(records, cfg.near_dup_threshold)
    by_split: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_split[r.split].append(r)
    for split in by_split:  # deterministic order, shuffled so files don't read source by source
        by_split[split].sort(key=lambda r: (r.source, r.template_id, r.text))
        random.Random(f"{cfg.seed}:{split}").shuffle(by_split[split])
    protected = by_split["eval"] + by_split["test"] + by_split["validation"]
    leaks = verify_no_leakage(by_split["train"], protected, cfg.near_dup_threshold)
    if leaks:
        raise RuntimeError(f"{leaks} train rows duplicate protected rows after dedup: a bug in the builder")
    out = Path(cfg.out)
    for split, fname in SPLIT_FILES.items():
        write_jsonl_gz(out / fname, by_split.get(split, []))
    extra = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "sources_loaded": source_info,
        "materials": dict(Counter(f"{m.split}/{m.kind}" for m in materials)),
        "dedup": cap_info | dedup_info | {"base_rows": base_leaks, "after_synthesis": dedup2 | leak_info},
        "leakage": {"train_rows_duplicating_protected_rows": leaks, "threshold": cfg.near_dup_threshold},
        "synthesis": synth_info,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    stats = compute_stats(records, extra)
    write_report(stats, out)
    return stats


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", type=Path, default=default_data_root(), help="public data root (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("build/data"), help="output directory (default %(default)s)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--holdout-jbb-method", default="pair", help="JailbreakBench method held out for evaluation")
    p.add_argument("--hard-negatives", type=int, default=8000, help="number of generated hard negatives")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = BuildConfig(
        data_root=args.data_root, out=args.out, seed=args.seed, holdout_jbb_method=args.holdout_jbb_method,
        hard_negatives=args.hard_negatives,
    )
    stats = build(cfg)
    print(f"wrote {stats['total']} rows in {stats['seconds']} s to {cfg.out} ({stats['n_languages']} languages)")
    for split, counts in stats["split_label"].items():
        print(f"  {split:<10} " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"report: {cfg.out / 'stats.md'}")
    return 0
