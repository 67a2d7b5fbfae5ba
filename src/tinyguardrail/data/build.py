"""``tinyguardrail data build``: every source -> one deduplicated, split, synthesised data set + report.

Order of work (each step is deterministic for a given seed):

1. Load every source (``data/sources``) into ``Record`` rows, and their building blocks (``Material``).
   Sources marked eval-only get split ``eval`` (the OOD-report sets); sources that ship splits keep them.
2. Hold out, as declared in the data config (``configs/data.json``, ``BuildConfig.ood_dev``), whole sources,
   template families and languages for the OOD-dev suite: their rows and materials get split ``ood_dev``, so no
   generator ever sees them. Hold out one whole JailbreakBench method (PAIR) *and* a seeded share of its goals:
   PAIR rows of held-out goals are the ``eval`` set, every other row of those goals (other methods, rewrites by
   other sources, the goal itself) is dropped, and PAIR rows of the other goals are dropped too.
3. Assign every other row and material a split from a seeded hash of its ``template_id`` (one template, one
   split), cap rows per template (near-duplicate families) and benign rows per source and language.
4. Remove exact duplicates, keeping the copy in the most protected split (eval > ood_dev > test > validation >
   train).
5. Synthesise, inside each of train / validation / test from that split's own rows and materials only: 2025
   obfuscation transforms of attacks, the same transforms on benign text (false-positive side), indirect
   injections in carrier documents, multilingual attacks, hard negatives. Drop any synthetic row in a held-out
   language. Then add the benign training rows mined by ``benign_trigger_words`` (off by default), which nothing
   above drew on: every other row stays as it is with or without them, but for training rows that step 6 finds
   nearly duplicating a mined validation row.
6. Drop any row that exactly or nearly duplicates a row of a more protected split (MinHash-LSH, Jaccard >= 0.8 of
   word 3-grams, every pair verified), then verify train once more. (``eval.leakcheck`` checks the result again
   with its own normalisation, containment and the synthesis materials, independently of this module.)
7. Write ``{train,validation,test,ood_dev,eval}.jsonl.gz``, ``materials.jsonl.gz`` (every building block with its
   split) plus ``stats.json`` / ``stats.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import ModuleType

from tqdm.auto import tqdm

from tinyguardrail.data.char_noise import char_noise_rows
from tinyguardrail.data.dedup import ContainmentIndex, NearDupIndex, PassageIndex, canonical, surface_key
from tinyguardrail.data.domains import neutralize_sources
from tinyguardrail.data.hard_negatives import TRIGGER_VOCABULARY
from tinyguardrail.data.io import DEFAULT_BUILD, MATERIALS_FILE, SPLIT_FILES, default_data_root, write_jsonl_gz
from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.split import SplitFractions, group_split
from tinyguardrail.data.stats import compute_stats, write_report
from tinyguardrail.forkmap import fork_map

log = logging.getLogger(__name__)

#: Lower rank = more protected. A duplicate is kept in the most protected split it occurs in.
SPLIT_RANK = {"eval": 0, "ood_dev": 1, "test": 2, "validation": 3, "train": 4}
#: Splits nothing is synthesised from and no cap or generator touches (besides the benign caps for ood_dev).
HELD_OUT_SPLITS = ("eval", "ood_dev")
DEFAULT_CONFIG = Path("configs/data.json")
ATTACK_LABELS = ("direct_injection", "jailbreak", "obfuscation")
#: Benign sources whose rows are plain sentences or short passages (not requests to an assistant, which an injected
#: document may not contain innocently): what the benign twins of indirect injections put into a carrier.
TWIN_SOURCES = ("tatoeba_laser", "xquad", "tldr_pages")
#: ``BuildConfig.benign_only_languages`` values.
BENIGN_ONLY_LANGUAGES = ("keep", "drop", "drop_but_paragraphs")


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
    holdout_jbb_goal_fraction: float = 1.0
    """Share of JailbreakBench goals (template groups) whose held-out-method rows form the eval set; every other row
    of those goals is dropped, and the held-out method's rows of the other goals too (held out by method *and* goal).
    1.0 keeps every goal of the method (then the other methods' rows of those goals are all dropped)."""
    ood_dev: dict = field(default_factory=dict)
    """Units held out whole for the OOD-dev suite: ``{"sources": [Record.source, ...], "template_prefixes": [...],
    "languages": [ISO 639-1, ...]}``. Their rows and materials go to split ``ood_dev``; nothing is trained or
    synthesised from them; synthetic rows in those languages are dropped."""
    sources_off: list = field(default_factory=list)
    """Sources (``Record.source``) left out of the build entirely (data ablations)."""
    bank_languages_on: list = field(default_factory=list)
    """Opt-in languages of the project's bank (``sources.bank.OPT_IN_LANGUAGES``) built only when named here; the
    others' ``bank`` and ``bank_more`` rows and materials are left out before anything is split or synthesised.
    ``configs/data-bank8.json`` names the eight languages of the twenty-third session; every earlier config names none
    and rebuilds its data as before. A name that is no opt-in language is an error."""
    sources_on: list = field(default_factory=list)
    """Opt-in sources (loader modules with ``OPT_IN = True``, e.g. ``security_docs``) built only when named here."""
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
    benign_trigger_words: list = field(default_factory=list)
    """Words that push held-out benign text toward "attack" (``scripts/overdefense_words.py``; whole words, any
    case): benign train / validation rows that use one and that the caps dropped are added back, up to
    ``benign_trigger_cap_per_source`` per source (``mine_benign_rows``). Empty by default."""
    near_dup_threshold: float = 0.6
    synth_per_transform: dict = field(default_factory=lambda: {"train": 700, "validation": 60, "test": 120})
    benign_synth_per_transform: dict = field(default_factory=lambda: {"train": 150, "validation": 20, "test": 60})
    indirect: dict = field(default_factory=lambda: {"train": 4000, "validation": 400, "test": 800, "eval": 600})
    agent_channel: dict = field(default_factory=lambda: {"train": 5000, "validation": 500, "test": 800})
    """Synthetic e-mails, tool outputs and web pages per split (``data.carriers``): this many injected (most with a
    lead-in of ``data.lead_ins``) and as many clean."""
    multilingual: dict = field(default_factory=lambda: {"train": 3000, "validation": 300, "test": 600})
    hard_negatives: int = 10000
    """Generated hard-negative rows (``data.hard_negatives``), spread evenly over its templates."""
    benign_paragraphs: dict = field(default_factory=lambda: {"train": 0, "validation": 0, "test": 0})
    """Benign paragraphs per split (``data.paragraphs``: 3-10 benign sentences of one non-English language joined),
    made last so the other generated rows stay as they are. Off unless the data config sets it; ``configs/data.json``
    has 4,000 / 400 / 400 since the eighth session of 2026-12-05 (chosen on OOD-dev: docs/ablations.md)."""
    max_base_chars: int = 1200
    """Base texts longer than this are not used for obfuscation transforms (they'd be unrealistic)."""
    indirect_max_per_carrier: int = 0
    """At most this many injected rows per carrier document in the ``indirect`` rows (0: no cap; ``data.indirect``)."""
    indirect_benign_share: float = 0.0
    """The share of ``indirect`` rows that get a benign twin: the same carrier document with a plain benign sentence
    of the split (``TWIN_SOURCES``) where an injection would go. Without twins the training split's four BIPIA
    e-mails carried 777 attack rows and were 4 benign ones (``scripts/label_purity_audit.py``): the documents
    became signs of the class. 0 (``configs/data.json`` and ``configs/data-v0.12.json``) keeps the old draws; ``configs/data-twins.json`` sets 1 (opt-in: a tie
    on OOD-dev that moves the carrier cells against the threshold, docs/ablations.md, fourteenth session)."""
    transform_shared_share: float = 0.0
    """The share (0 to 1) of obfuscation-transform rows, attack and benign twins alike, that are the bare encoding
    (``synth.ENCODERS``) in a label-neutral wrapper of ``synth.shared`` (a form field, a ticket, a commit, a test
    fixture, file metadata, a JSON field, ten other languages, or none) instead of the transform's own wrapper: the
    attack wrappers ask to decode and obey and the benign ones to decode for fun, so the wrapper alone told the class
    (v0.12 caught ~90% of attacks in the paper's prompt, ~50% of bare encoded payloads, ~30% inside an everyday
    message). Both classes draw from one bank with the same probabilities, so no shared wrapper tells the class. 0
    draws nothing for it and keeps the old rows (``configs/data-v0.12.json``, v0.12's and v0.13's build);
    ``configs/data.json`` sets 0.5 since tinyguardrail-v0.14 (docs/ablations.md, sixteenth session). The choice and
    the shared wrapping draw from a generator of their own (seed, split, transform), so every other row of the build
    is the one of the build without the option."""
    transform_shared_share_attack: float | None = None
    """The shared share of the attack side alone (None: ``transform_shared_share`` for both classes). The attack side
    has ~700 rows per transform and the benign twins ~150, so one share for both puts four or five shared attack rows
    beside each shared benign one, and a bare encoding leans to "attack" (sixteenth session: OOD-dev's bare benign
    encodings flagged 18.8 -> 37.5 %). ``configs/data-shared-balanced.json`` sets 0.11 beside the benign side's 0.5, so
    the shared wrappers (the bare encoding among them) hold about as many rows of each class; the other attack rows
    keep their transform's own wrapper. The draws are the same generator's (only the cut moves). Opt-in."""
    transform_shared_benign_extra: dict = field(default_factory=lambda: {"train": 0, "validation": 0, "test": 0})
    """Per split, this many more benign twins per transform, every one in a shared wrapper of ``synth.shared`` (the
    bare encoding alone or in a label-neutral context), drawn from generators of their own (seed, split, transform)
    after every other generator, so every other row of the build stays as it is. With ``transform_shared_share`` 0.5 the
    shared rows of the attack side (half of ~300-700 rows per transform after deduplication) outnumber the benign
    side's (half of ~150) three or four to one, and a bare encoding of benign text leans to "attack" (sixteenth
    session, docs/ablations.md: OOD-dev's bare benign encodings flagged 18.8 -> 37.5 %). 0 by default."""
    agent_channel_clean_extra: dict = field(default_factory=lambda: {"train": 0, "validation": 0, "test": 0})
    """Per split, this many more clean agent-channel carriers (``data.carriers.clean_carrier_rows``), with no injected
    twin, drawn from generators of their own (seed, split) after every other generator, so every other row of the
    build stays as it is. The agent channel pairs each clean carrier with an injected one, and the ``indirect`` rows
    add unpaired tool-schema injections, so two thirds of the training rows that start like JSON are attacks; OOD-dev's
    clean JSON tool outputs score P(attack) 0.49 at the median under v0.15 (nineteenth session, docs/ablations.md:
    whether more clean carriers lower that is untested). 0 by default."""
    benign_only_languages: str = "keep"
    """What to do with the train / validation rows of a language the training split holds no attack in ("keep" or
    "drop"; ``und`` is always kept). Tatoeba, xSID, the benign paragraphs and their encodings bring ~70 languages
    that no attack source writes in (Neapolitan, Galician, Asturian, Swiss German, ...), ~10k benign training rows of
    the bank8 build: a language seen only as benign is a carrier that tells the class, and several of these are close
    kin of languages the OOD-dev suite holds out (Italian, Portuguese), whose attacks v0.17 catches ~30 % of. "drop"
    leaves those rows out after synthesis and the leak pass (the test split, the held-out sets and the suites stay as
    they are, so in-distribution figures stay comparable). "drop_but_paragraphs" drops the same rows except the benign
    multi-sentence paragraphs (source ``paragraphs``), the build's only long benign prose in those languages, whose loss
    may be why "drop" lowered the carrier cells (twenty-fifth session). "keep" (the default) builds as before."""
    char_noise_share: float = 0.0
    """The share (0 to 1) of the training split's eligible non-English rows of each class (``data.char_noise.eligible``:
    prompts and sentences, not obfuscation rows, transform twins or carrier-based rows) that also enter it as a copy
    with character-level noise (letters substituted, deleted or inserted from the row's own alphabet), for transfer to
    related languages the build holds out. Drawn from a generator of its own after synthesis: every other row stays as
    it is. 0 (off) unless set; ``configs/data-charnoise.json`` sets 0.25 (eighteenth session: built, not yet trained)."""
    char_noise_rate: float = 0.1
    """Per-letter probability of a noise operation in those copies (0.1: one letter in ten)."""
    neutral_domains: int = 0
    """(0 / false: off; 1 / true: v0.12's and since, ``configs/data.json``; 2, ``configs/data-twins.json``: also the word's
    other address forms and no brand domains, and half the agent-channel carriers use such domains in their
    addresses.) The placeholder address of the project's own written attacks (``attacker.example``, which made the word
    "attacker" a sign of the class) becomes an ordinary-looking domain in their rows and materials, before anything
    is split or synthesised from them (``data.domains``). On in ``configs/data.json`` since tinyguardrail-v0.12; off in
    ``configs/data-v0.10.json``, v0.10's build."""
    independent_draws: bool = False
    """Each random step (a cap of one group, one generator of one split) draws from a generator of its own, seeded by
    the build seed and the step's name (:class:`Draws`): a training-side generator's size then changes nothing else,
    and the OOD-dev split (with the suites made from it) moves only when its own rows or the cap values do; the
    generated hard negatives of each split are made from that split's own benign texts (each split's template rows
    of its own run of the generator). Not covered: a cap value applies to every split, and a (source, language) cap
    group pools train, validation and test. False: one generator for the whole build and hard negatives made from the
    training split's benign texts for every split, as every build before this option (configs/data.json still: v0.12
    was trained without it, so that its OOD-dev suite stayed byte-identical to v0.10's)."""

    def __post_init__(self) -> None:
        if self.benign_only_languages not in BENIGN_ONLY_LANGUAGES:
            raise ValueError(f"benign_only_languages must be one of {BENIGN_ONLY_LANGUAGES}, not "
                             f"{self.benign_only_languages!r}")
        for name in ("transform_shared_share", "transform_shared_share_attack", "char_noise_share", "char_noise_rate"):
            share = getattr(self, name)
            if share is None and name == "transform_shared_share_attack":
                continue
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {share!r}")
        for name in ("transform_shared_benign_extra", "agent_channel_clean_extra"):
            extra = getattr(self, name)
            if (not isinstance(extra, dict) or not set(extra) <= {"train", "validation", "test"}
                    or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in extra.values())):
                raise ValueError(f"{name} must map train / validation / test to counts >= 0, got {extra!r}")


def load_config(path: Path | None, **overrides) -> BuildConfig:
    """A ``BuildConfig`` from the data config JSON (``configs/data.json``: no machine paths in it) plus overrides
    (``data_root``, ``out``, ...). Unknown keys are an error; keys starting with ``_`` are comments."""
    values = {}
    if path is not None:
        values = {k: v for k, v in json.loads(Path(path).read_text(encoding="utf-8")).items() if not k.startswith("_")}
    values |= {k: v for k, v in overrides.items() if v is not None}
    names = {f.name for f in fields(BuildConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown data config keys {unknown}; known: {sorted(names)}")
    return BuildConfig(**values)


def _rank(split: str | None) -> int:
    return SPLIT_RANK.get(split or "train", SPLIT_RANK["train"])


class Holdout:
    """Which rows and materials belong to an OOD-dev unit (``BuildConfig.ood_dev``)."""

    def __init__(self, spec: dict) -> None:
        unknown = set(spec) - {"sources", "template_prefixes", "languages"}
        if unknown:
            raise ValueError(f"unknown ood_dev keys {sorted(unknown)}")
        self.sources = frozenset(spec.get("sources", ()))
        self.prefixes = tuple(spec.get("template_prefixes", ()))
        self.languages = frozenset(spec.get("languages", ()))

    def __call__(self, item: Record | Material) -> bool:
        return (item.source in self.sources or item.lang in self.languages
                or bool(self.prefixes) and item.template_id.startswith(self.prefixes))


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


BANK_SOURCES = frozenset({"bank", "bank_more"})


def drop_bank_languages(records: list[Record], materials: list[Material],
                        cfg: BuildConfig) -> tuple[list[Record], list[Material], dict]:
    """``records`` and ``materials`` without the bank's rows in the opt-in languages that ``cfg.bank_languages_on``
    does not name; counts of what went."""
    from tinyguardrail.data.sources.bank import OPT_IN_LANGUAGES

    unknown = sorted(set(cfg.bank_languages_on) - OPT_IN_LANGUAGES)
    if unknown:
        raise ValueError(f"bank_languages_on names no opt-in bank language: {unknown}; opt-in: {sorted(OPT_IN_LANGUAGES)}")
    off = OPT_IN_LANGUAGES - frozenset(cfg.bank_languages_on)

    def gone(item: Record | Material) -> bool:
        return item.source in BANK_SOURCES and item.lang in off

    kept_rows = [r for r in records if not gone(r)]
    kept_mats = [m for m in materials if not gone(m)]
    return kept_rows, kept_mats, {"rows": len(records) - len(kept_rows), "materials": len(materials) - len(kept_mats)}


def _is_jbb(r: Record) -> bool:
    return r.source.endswith("jailbreakbench-artifacts") or r.source == "jailbreakbench"


def jbb_goal_holdout(records: Sequence[Record], cfg: BuildConfig) -> frozenset[str]:
    """The JailbreakBench goal groups (``template_id`` of its rows) held out with the method: a seeded share."""
    goals = sorted({r.template_id for r in records if _is_jbb(r)})
    return frozenset(g for g in goals if _unit_draw(g, cfg.seed) < cfg.holdout_jbb_goal_fraction)


def _unit_draw(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:holdout:{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(records: list[Record], materials: list[Material], cfg: BuildConfig) -> tuple[list, list, dict]:
    """Split of every row and material: eval-only sets and the JailbreakBench hold-out -> ``eval``; OOD-dev units ->
    ``ood_dev``; the rest by template group. Returns rows, materials and counts of what the hold-outs dropped."""
    fr = SplitFractions(cfg.validation_frac, cfg.test_frac)
    held = Holdout(cfg.ood_dev)
    all_goals = {r.template_id for r in records if _is_jbb(r)}
    held_goals = jbb_goal_holdout(records, cfg)
    dropped: Counter = Counter()
    out_r = []
    for r in records:
        if r.split != "eval" and r.template_id in all_goals:
            method_row = _is_jbb(r) and r.attack_type == cfg.holdout_jbb_method
            if method_row and r.template_id in held_goals:
                r = replace(r, split="eval", attack_type=f"jbb_holdout_{r.attack_type}")
            elif method_row or r.template_id in held_goals:
                dropped["jbb_method_or_goal_held_out"] += 1
                continue
        if r.split != "eval" and held(r):
            r = replace(r, split="ood_dev")
        if r.split is None:
            r = replace(r, split=group_split(r.template_id, cfg.seed, fr))
        out_r.append(r)
    out_m = []
    for m in materials:
        if m.split != "eval" and m.template_id in held_goals:
            dropped["jbb_goal_material_held_out"] += 1
            continue
        if m.split != "eval" and held(m):
            if m.kind == "goal":  # plain requests: no suite uses them, and they recur in other sources' attacks
                dropped["held_out_goal_material"] += 1
                continue
            m = replace(m, split="ood_dev")
        out_m.append(m if m.split is not None else replace(m, split=group_split(m.template_id, cfg.seed, fr)))
    return out_r, out_m, dict(dropped)


class Draws:
    """The build's random generators: ``draws(*step)`` is the generator of one random step. With ``independent``
    it is a generator of the step's own, seeded by the build seed and the step's name (so a step's draws do not
    depend on what other steps drew); without, the one generator every step shares, in the order they call it."""

    def __init__(self, seed: int, independent: bool = False) -> None:
        self.seed, self.independent = seed, independent
        self._shared = random.Random(seed)

    def __call__(self, *step: object) -> random.Random:
        if not self.independent:
            return self._shared
        return random.Random("\x1f".join(map(str, (self.seed, *step))))


def active_sources(sources: list, cfg: BuildConfig) -> list:
    """The loader modules a build reads: none named in ``sources_off`` (by ``NAME`` or its last part), and an opt-in
    module (``OPT_IN = True``) only when ``sources_on`` names it. A ``sources_on`` name that is no opt-in module is an
    error (a typo would otherwise build without it, silently)."""
    def named(m, names: list) -> bool:
        return m.NAME in names or m.NAME.rsplit("/", 1)[-1] in names

    opt_in = [m for m in sources if getattr(m, "OPT_IN", False)]
    unknown = [n for n in cfg.sources_on if not any(named(m, [n]) for m in opt_in)]
    if unknown:
        raise ValueError(f"sources_on names no opt-in source: {unknown}; opt-in: {sorted(m.NAME for m in opt_in)}")
    return [m for m in sources
            if not named(m, cfg.sources_off) and (not getattr(m, "OPT_IN", False) or named(m, cfg.sources_on))]


def cap_rows(records: list[Record], cfg: BuildConfig, draws: Draws) -> tuple[list[Record], dict]:
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
            rows = draws("cap", "template", rows[0].template_id).sample(rows, cfg.max_per_template)
        kept += rows
    by_src_lang: dict[tuple, list[Record]] = defaultdict(list)
    trigger_by_src: dict[tuple, list[Record]] = defaultdict(list)
    out: list[Record] = []
    for r in kept:
        if r.label == "benign" and r.split != "eval":
            if cfg.benign_trigger_cap_per_source > 0 and TRIGGER_VOCABULARY.search(r.text):
                trigger_by_src[(r.source, r.split == "ood_dev")].append(r)
            else:
                by_src_lang[(r.source, r.lang, r.split == "ood_dev")].append(r)
        else:
            out.append(r)
    kept_trigger = 0
    for key, rows in sorted(trigger_by_src.items()):
        if len(rows) > cfg.benign_trigger_cap_per_source:
            rows = draws("cap", "trigger", *key).sample(rows, cfg.benign_trigger_cap_per_source)
        kept_trigger += len(rows)
        out += rows
    dropped_benign = 0
    by_src: dict[tuple, list[Record]] = defaultdict(list)
    for (src, lang, ood), rows in sorted(by_src_lang.items()):
        if len(rows) > cfg.benign_cap_per_source_lang:
            dropped_benign += len(rows) - cfg.benign_cap_per_source_lang
            rows = draws("cap", "source_lang", src, lang, ood).sample(rows, cfg.benign_cap_per_source_lang)
        by_src[(src, ood)] += rows
    for key, rows in by_src.items():
        if len(rows) > cfg.benign_cap_per_source:
            dropped_benign += len(rows) - cfg.benign_cap_per_source
            rows = draws("cap", "source", *key).sample(rows, cfg.benign_cap_per_source)
        out += rows
    return out, {"dropped_over_template_cap": dropped_template, "dropped_over_benign_cap": dropped_benign,
                 "benign_with_trigger_vocabulary": kept_trigger}


def mine_benign_rows(records: list[Record], kept: list[Record], cfg: BuildConfig) -> list[Record]:
    """Benign train / validation rows that ``cap_rows`` dropped (``records`` its input, ``kept`` its output) and that
    use one of ``cfg.benign_trigger_words``: at most ``benign_trigger_cap_per_source`` per source, drawn with a random
    generator of their own. The build adds them after synthesis, so that the held-out splits, the suites and the
    other rows stay as they are without them (less any training row that nearly duplicates a mined validation row)."""
    if not cfg.benign_trigger_words:
        return []
    words = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, cfg.benign_trigger_words)) + r")(?!\w)", re.IGNORECASE)
    per_template = Counter(r.template_id for r in records)
    taken = {id(r) for r in kept}
    by_src: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if (id(r) not in taken and r.label == "benign" and r.split in ("train", "validation")
                and per_template[r.template_id] <= cfg.max_per_template and words.search(r.text)):
            by_src[r.source].append(r)
    rng, out = random.Random(f"{cfg.seed}:mined"), []
    for _src, rows in sorted(by_src.items()):
        out += rng.sample(rows, cfg.benign_trigger_cap_per_source) if len(rows) > cfg.benign_trigger_cap_per_source else rows
    return out


def exact_dedup(records: list[Record]) -> tuple[list[Record], dict]:
    """Keep one row per text as written (``dedup.surface_key``): the one in the most protected split (ties: first
    seen). Variants that only a skeleton tells apart (homoglyph, zero-width, punctuation) stay rows of their own here;
    across splits ``remove_leaks`` compares skeletons."""
    best: dict[str, Record] = {}
    conflicts = 0
    for r in sorted(records, key=lambda r: _rank(r.split)):
        key = surface_key(r.text)
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


def remove_leaks(records: list[Record], threshold: float, decode: bool = False) -> tuple[list[Record], dict]:
    """Drop rows that (nearly) duplicate a row of a more protected split, hold one whole, or repeat a 13-word passage
    of one (decontamination); returns kept rows and counts. ``decode``: compare what is encoded in the rows too (``dedup.readings``: an encoded copy is a copy) and
    the reversed / ROT13 forms of protected rows (``dedup.mirror_keys``)."""
    from tinyguardrail.data.dedup import mirror_keys, readings

    read = readings if decode else (lambda t: [t])
    removed: Counter = Counter()
    kept = [r for r in records if r.split == "eval"]
    # Level by level, each protected by every more protected split: eval protects ood_dev, both protect test, ...
    index = NearDupIndex(threshold=threshold)
    inside, shared = ContainmentIndex(), PassageIndex()
    exact: set[str] = set()
    owner: list[Record] = []  # index id -> protected row

    def protect(r: Record) -> None:
        for t in read(r.text):
            index.add(t)
            owner.append(r)
            exact.add(canonical(t))
            if r.source != "synth":  # a generated row's wrapper is not content; its base is protected itself
                inside.add(t)
                shared.add(t)
        if decode:
            exact.update(mirror_keys(r.text))

    def leaked(r: Record) -> bool:
        return any(canonical(t) in exact or inside.contains(t) or shared.shares(t)
                   or any(_is_leak(r, owner[i]) for i in index.query(t)) for t in read(r.text))

    for r in kept:
        protect(r)
    levels = ("ood_dev", "test", "validation", "train")
    for split in levels:
        rows = [r for r in records if r.split == split]
        # The indexes stay fixed while a level is asked about, so its rows can be asked in forked workers.
        with tqdm(total=len(rows), desc=f"near-dup {split}", unit="row", leave=False) as bar:
            flags = fork_map(lambda i, rows=rows: leaked(rows[i]), len(rows), progress=bar.update)
        level = [r for r, flag in zip(rows, flags, strict=True) if not flag]
        if len(level) < len(rows):
            removed[split] += len(rows) - len(level)
        if split != levels[-1]:  # protect the next levels only after this one is done (rows of one split may be alike)
            for r in level:
                protect(r)
        kept += level
    return kept, {f"near_dup_removed_{k}": v for k, v in removed.items()}


def remove_material_leaks(materials: list[Material], records: list[Record], threshold: float) -> tuple[list, int]:
    """Drop building blocks of train / validation that nearly duplicate, or hold whole, a row or block of a more
    protected split (an evaluation e-mail must not become a training carrier under another header)."""
    protected_rows = [r.text for r in records if r.split in ("eval", "ood_dev", "test")]
    protected_mats = [m.text for m in materials if m.split in ("eval", "ood_dev", "test")]
    index, inside, shared = NearDupIndex(threshold=threshold), ContainmentIndex(), PassageIndex()
    exact = set()
    for t in protected_rows + protected_mats:
        index.add(t)
        inside.add(t)
        shared.add(t)
        exact.add(canonical(t))
    kept = [m for m in materials if m.split not in ("train", "validation")
            or not (canonical(m.text) in exact or inside.contains(m.text) or shared.shares(m.text) or index.query(m.text))]
    return kept, len(materials) - len(kept)


def drop_held_out_languages(records: list[Record], cfg: BuildConfig) -> tuple[list[Record], int]:
    """Drop rows of train / validation / test (synthetic ones included) in a held-out language or source."""
    held = Holdout(cfg.ood_dev)
    kept = [r for r in records if r.split in HELD_OUT_SPLITS or not held(r)]
    return kept, len(records) - len(kept)


def drop_benign_only_languages(records: list[Record], cfg: BuildConfig) -> tuple[list[Record], dict[str, int]]:
    """``cfg.benign_only_languages == "drop"``: leave out the benign train / validation rows whose language has no
    attack row in the training split (``und`` kept; a language with attacks in validation alone still loses its benign
    rows there); ``"drop_but_paragraphs"`` keeps the benign paragraphs among them. Returns the rows kept and the count
    dropped per language."""
    if cfg.benign_only_languages == "keep":
        return records, {}
    attacked = {r.lang for r in records if r.split == "train" and r.label in ATTACK_LABELS} | {"und"}
    keep_sources = {"paragraphs"} if cfg.benign_only_languages == "drop_but_paragraphs" else set()

    def drop(r: Record) -> bool:
        return (r.split in ("train", "validation") and r.label not in ATTACK_LABELS and r.lang not in attacked
                and r.source not in keep_sources)

    dropped: Counter = Counter(r.lang for r in records if drop(r))
    return [r for r in records if not drop(r)], dict(sorted(dropped.items()))


def synthesize(records: list[Record], materials: list[Material], cfg: BuildConfig, draws: Draws) -> tuple[list, dict]:
    """All synthetic rows; every generator sees only rows and materials of the split it writes, and draws from
    ``draws(<generator>, <split>)``."""
    from tinyguardrail.data import carriers as agent_channel
    from tinyguardrail.data import hard_negatives as hn
    from tinyguardrail.data import indirect, multilingual, synth
    from tinyguardrail.data.paragraphs import benign_paragraphs

    out: list[Record] = []
    info: Counter = Counter()
    mats_by: dict[tuple[str, str], list[Material]] = defaultdict(list)
    for m in materials:
        mats_by[(m.split, m.kind)].append(m)
    rows_by: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        rows_by[(r.split, "attack" if r.label in ATTACK_LABELS else "benign")].append(r)

    benign_bases: dict[str, list[Record]] = {}  # per split: the benign rows the transforms' twins are made from
    benign_names = getattr(synth, "BENIGN_SAFE_TRANSFORMS", synth.TRANSFORMS)
    for split in ("train", "validation", "test"):
        short_attacks = [r for r in rows_by[(split, "attack")] if len(r.text) <= cfg.max_base_chars and r.label != "obfuscation"]
        # English harmful goals wrapped by the transform are the canonical FlipAttack / CodeChameleon input.
        goals_en = [
            Record(m.text, "jailbreak", m.source, "goal", m.lang, m.template_id, split)
            for m in mats_by[(split, "goal")]
            if m.lang == "en"
        ]
        base = short_attacks + goals_en
        benign_base = [r for r in rows_by[(split, "benign")] if 20 <= len(r.text) <= cfg.max_base_chars]
        for prefix, pool, n, names, make in (
            ("", base, cfg.synth_per_transform[split], synth.TRANSFORMS, synth.transform_records),
            ("benign_", benign_base, cfg.benign_synth_per_transform[split], benign_names, synth.benign_transform_records),
        ):  # fmt: skip
            for name in names if pool else ():
                rng = draws("synth", split, prefix + name)
                share = cfg.transform_shared_share
                if not prefix and cfg.transform_shared_share_attack is not None:
                    share = cfg.transform_shared_share_attack
                rows = make(rng.sample(pool, min(n, len(pool))), [name], rng, per_record=1, shared_share=share,
                            shared_rng=random.Random(f"{cfg.seed}:shared:{split}:{prefix}{name}") if share else None)
                out += rows
                info[f"{split}/{prefix}{name}"] += len(rows)
        benign_bases[split] = benign_base

    for split, n in cfg.indirect.items():
        payloads = mats_by[(split, "payload")]
        lead_ins = mats_by[(split, "lead_in")]  # may be empty: then payloads go in without a lead-in
        carriers = [m for (s, k), ms in mats_by.items() if s == split and k.startswith("carrier_") for m in ms]
        if payloads and carriers:
            twins = [r for r in rows_by[(split, "benign")] if r.source in TWIN_SOURCES and 20 <= len(r.text) <= 400]
            rows = indirect.compose_indirect(payloads, lead_ins, carriers, draws("indirect", split), n,
                                             max_per_carrier=cfg.indirect_max_per_carrier, benign_rows=twins,
                                             benign_share=cfg.indirect_benign_share)
            rows = [replace(r, split=split) for r in rows]
            out += rows
            info[f"{split}/indirect"] += len(rows)

    def carrier_texts(split: str) -> list[str]:  # free text of the agent channel's carriers
        return [r.text for r in rows_by[(split, "benign")] if 30 <= len(r.text) <= 600]

    carrier_domain_share = 0.5 if int(cfg.neutral_domains) >= 2 else 0.0

    for split, n in cfg.agent_channel.items():
        texts = carrier_texts(split)
        rows = agent_channel.agent_channel_rows(texts, mats_by[(split, "payload")], split, draws("agent_channel", split),
                                                n, seed=cfg.seed,
                                                domain_share=carrier_domain_share)  # fmt: skip
        out += rows
        info[f"{split}/agent_channel"] += len(rows)

    for split, n in cfg.multilingual.items():
        goals = [m for m in mats_by[(split, "goal")] if m.lang != "en"]
        hijacks = [m for m in mats_by[(split, "payload")] if m.lang != "en"]
        if goals or hijacks:
            made = multilingual.multilingual_attacks(goals, hijacks, draws("multilingual", split), n)
            rows = [replace(r, split=split) for r in made]
            out += rows
            info[f"{split}/multilingual"] += len(rows)

    fr = SplitFractions(cfg.validation_frac, cfg.test_frac)

    def base_texts(split: str) -> list[str]:  # slot material of the hard negatives
        return [r.text for r in rows_by[(split, "benign")] if len(r.text) <= 400]

    if draws.independent:  # each split from its own benign texts and generator; its templates' rows only
        made = [(r, split) for split in ("train", "validation", "test")
                for r in hn.hard_negatives(draws("hard_negatives", split), cfg.hard_negatives, base_texts(split))
                if group_split(r.template_id, cfg.seed, fr) == split]  # fmt: skip
    else:  # every split's rows from the training split's benign texts, as every build before the option
        made = [(r, group_split(r.template_id, cfg.seed, fr))
                for r in hn.hard_negatives(draws("hard_negatives"), cfg.hard_negatives, base_texts=base_texts("train"))]
    for r, split in made:
        out.append(replace(r, split=split))
        info[f"{split}/hard_negatives"] += 1

    for split, n in cfg.benign_paragraphs.items():  # last: the rows above do not move when this is turned on
        rows = benign_paragraphs(rows_by[(split, "benign")], draws("paragraphs", split), n)
        out += rows
        info[f"{split}/paragraphs"] += len(rows)

    for split, benign_base in benign_bases.items():  # after every other generator: no row above moves or is deduplicated away
        extra = cfg.transform_shared_benign_extra.get(split, 0)
        for name in benign_names if extra and benign_base else ():
            rng = random.Random(f"{cfg.seed}:shared-benign-extra:{split}:{name}")  # its own generator
            rows = synth.benign_transform_records(rng.sample(benign_base, min(extra, len(benign_base))), [name], rng,
                                                  per_record=1, shared_share=1.0, shared_rng=rng)
            out += rows
            info[f"{split}/benign_shared_{name}"] += len(rows)

    for split, n in cfg.agent_channel_clean_extra.items():  # after every other generator, as above
        if not n:
            continue
        rows = agent_channel.clean_carrier_rows(carrier_texts(split), split, random.Random(f"{cfg.seed}:agent-clean-extra:{split}"),
                                                n, seed=cfg.seed,
                                                domain_share=carrier_domain_share)
        out += rows
        info[f"{split}/agent_channel_clean_extra"] += len(rows)
    return out, dict(sorted(info.items()))


def build(cfg: BuildConfig, sources: Sequence[ModuleType] | None = None) -> dict:
    """Build the data set described by ``cfg``; returns the stats dict (also written to disk)."""
    if sources is None:
        from tinyguardrail.data.sources import all_sources

        sources = all_sources()
    if not Path(cfg.data_root).is_dir():
        raise FileNotFoundError(f"data root {cfg.data_root} is not a directory")
    draws = Draws(cfg.seed, cfg.independent_draws)
    t0 = time.perf_counter()
    sources = active_sources(sources, cfg)
    records, materials, source_info = load_sources(Path(cfg.data_root), sources)
    records, materials, bank_off = drop_bank_languages(records, materials, cfg)
    neutralized = 0
    if cfg.neutral_domains:
        records, materials, neutralized = neutralize_sources(records, materials, int(cfg.neutral_domains))
    jbb_goal_holdout_ids = jbb_goal_holdout(records, cfg)
    records, materials, holdout_info = assign_splits(records, materials, cfg)
    capped, cap_info = cap_rows(records, cfg, draws)
    mined = mine_benign_rows(records, capped, cfg)
    cap_info["benign_mined_by_trigger_words"] = len(mined)
    records, dedup_info = exact_dedup(capped)
    records, base_leaks = remove_leaks(records, cfg.near_dup_threshold)  # clean bases before synthesis
    materials, holdout_info["material_leaks_removed"] = remove_material_leaks(materials, records, cfg.near_dup_threshold)
    synthetic, synth_info = synthesize(records, materials, cfg, draws)
    if cfg.char_noise_share:
        noised = char_noise_rows(records + synthetic, cfg.char_noise_share, cfg.char_noise_rate, cfg.seed)
        synthetic += noised
        synth_info["train/char_noise"] = len(noised)
    records, dedup2 = exact_dedup(records + synthetic + mined)  # mined rows last: nothing above drew on them
    records, holdout_info["held_out_language_rows_dropped"] = drop_held_out_languages(records, cfg)
    records, leak_info = remove_leaks(records, cfg.near_dup_threshold, decode=True)
    records, benign_only_dropped = drop_benign_only_languages(records, cfg)
    by_split: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_split[r.split].append(r)
    for split in by_split:  # deterministic order, shuffled so files don't read source by source
        by_split[split].sort(key=lambda r: (r.source, r.template_id, r.text))
        random.Random(f"{cfg.seed}:{split}").shuffle(by_split[split])
    out = Path(cfg.out)
    for split, fname in SPLIT_FILES.items():
        write_jsonl_gz(out / fname, by_split.get(split, []))
    write_jsonl_gz(out / MATERIALS_FILE, sorted(materials, key=lambda m: (m.split, m.kind, m.source, m.template_id, m.text)))
    extra = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "sources_loaded": source_info,
        "holdout": holdout_info | {"jbb_goals_held_out": len(jbb_goal_holdout_ids)},
        "materials": dict(Counter(f"{m.split}/{m.kind}" for m in materials)),
        "dedup": cap_info | dedup_info | {"base_rows": base_leaks, "after_synthesis": dedup2 | leak_info},
        "synthesis": synth_info,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if cfg.neutral_domains:
        extra["neutral_domains_texts"] = neutralized
    if benign_only_dropped:
        extra["benign_only_language_rows_dropped"] = benign_only_dropped
    if bank_off["rows"] or bank_off["materials"]:
        extra["bank_opt_in_languages_left_out"] = bank_off
    stats = compute_stats(records, extra)
    write_report(stats, out)
    return stats


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None,
                   help="data config JSON: held-out units, caps, synthesis sizes (default %(default)s)")
    p.add_argument("--data-root", type=Path, default=default_data_root(), help="public data root (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_BUILD, help="output directory (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.add_argument("--sources-off", nargs="*", default=None, help="leave these sources out (data ablations)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config, data_root=args.data_root, out=args.out, seed=args.seed, sources_off=args.sources_off)
    stats = build(cfg)
    print(f"wrote {stats['total']} rows in {stats['seconds']} s to {cfg.out} ({stats['n_languages']} languages)")
    for split, counts in stats["split_label"].items():
        print(f"  {split:<10} " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"report: {cfg.out / 'stats.md'}")
    return 0
