"""Why a model misses attacks in the OOD-dev suite's ``obfuscated/*`` cells: counts of missed attacks by cause, cell
and payload language.

    python scripts/obfuscation_misses.py v0.16=build/baselines/tinyguardrail-v0.16 v0.17=models/tinyguardrail-v0.17 \\
        --data build/data --out build/obfuscation_misses.json
    python scripts/obfuscation_misses.py --model models/tinyguardrail-v0.17 [--model2 DIR] --out FILE.json

Reads ONE file of the build: ``<data>/suites/ood_dev.jsonl.gz`` (no other suite, no report set). For every
``obfuscated/*`` row (made by ``eval.attacks2025``), the plaintext payload is recovered by inverting the row's
transforms: the wrapper (carrier sentence, neutral question, paper prompt) is matched with regexes built from
attacks2025's own templates, then ``attacks2025.decode`` undoes the transform(s) named in the row's ``origin``. The
lossy transforms (leetspeak, typoglycemia) have no inverse: their input is looked for among the suite's other rows
(leet substitution pattern, sorted inner letters), else an approximate de-leet is kept (``payloads.approximate``).

Payload language: the ``lang`` of the OOD-dev row (outside ``obfuscated/*``) whose text is the recovered payload;
when none is, a HEURISTIC (dominant non-Latin script, else a stop-word vote; ``und`` when nothing votes). The report
says how many rows used it, and how often it agrees with the suite's ``lang`` on the rows that matched one.

Each row is scored through the runtime as ``eval.harness.GuardSystem.predict`` does (``Guard.check_batch`` in batches
of ``GuardSystem.batch``; *caught* / *flagged* = ``not verdict.is_safe``), and reading by reading (the original text
and every decoded view). The per-reading scores come from the runtime's internals (``_prepare`` / ``_infer`` /
``_verdict``, in :func:`read_batch` only); the verdict rebuilt from them must equal ``check_batch``'s for every row, or
the script stops. A missed attack is put in one class (thresholds, ``min_view_confidence`` and ``views_in_band`` are
the model's own, ``guard.policy``):

- ``decoder_gap``: no reading holds the payload (>= 80 % of its words, in order; for ``payload_split`` the original
  reading does not count, its cut fragments being legible there);
- ``decoded_low``: a reading holds it, but even the best such reading scores under the uncertain band;
- ``view_in_band``: the best reading holding it is a decoded view whose P(attack) is in the uncertain band, which
  decides only when the policy has ``views_in_band`` (else a view must reach the attack threshold);
- ``set_aside``: a reading holding it reaches what it needs, yet may not decide (its decoder's confidence is under
  ``min_view_confidence``, or a whole-text view replaced the original reading).

Also per model: each missed attack's plaintext payload scored alone (how many misses a perfect decoder would recover),
per language the plaintext-alone flag rate, and which reading decided each flagged benign row. The output holds
counts and rates only, never a text of the suite or an excerpt of one. A diagnostic: nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tinyguardrail.eval import attacks2025 as A
from tinyguardrail.eval import ood
from tinyguardrail.eval.cli_eval import named_path

SUITE = "ood_dev"
CELL_PREFIX = "obfuscated/"
COVERAGE = 0.8  # a reading "holds" the payload when it has this share of the payload's words, in order
CLASSES = ("decoder_gap", "decoded_low", "view_in_band", "set_aside")
LOSSY = ("leetspeak", "typoglycemia")

# ------------------------------------------------------------------------------------------- payload recovery


def split_origin(origin: str) -> tuple[str, str | None, str]:
    """``"hex(leetspeak)/mixed"`` -> ``("hex", "leetspeak", "mixed")``; ``benign_`` prefixes dropped."""
    kind, shape = origin.rsplit("/", 1)
    kind = kind.removeprefix("benign_")
    if "(" in kind:
        outer, inner = kind[:-1].split("(")
        return outer, inner, shape
    return kind, None, shape


def _decode(name: str, enc: Any) -> str | None:
    """``attacks2025.decode``, or None for a lossy transform or an input it cannot decode."""
    try:
        out = A.decode(name, enc)
    except Exception:  # noqa: BLE001 - any failure means "not decodable as this transform"
        return None
    return out if isinstance(out, str) else None


def _template_rx(template: str, fixed: dict[str, str], capture: str) -> re.Pattern[str]:
    """``template`` as a regex: slot ``capture`` captured as ``enc``, ``fixed`` slots literal, others free."""
    out, pos = [], 0
    for m in A._SLOT.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append("(?P<enc>.*)" if m[1] == capture else re.escape(fixed[m[1]]) if m[1] in fixed else ".*?")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.S)


@functools.cache
def _wrappers(name: str, shape: str) -> tuple[re.Pattern[str], ...]:
    """The wrapper regexes of transform ``name`` in ``shape`` (sentence, neutral or paper)."""
    if shape == "sentence":
        return tuple(_template_rx(t, {}, "enc") for t in A._CARRIERS)
    if shape == "neutral":
        return tuple(_template_rx(t, {"what": A._WHAT[name]}, "enc") for t in A._NEUTRAL)
    fam = A.family(name)
    if fam == "flip":
        return tuple(_template_rx(t, {}, "enc") for t in A._FLIP_TEMPLATES)
    if fam == "codechameleon":  # the prompt holds repr() of the encrypted problem
        fixed = {"decrypt": A._CC_DECRYPT[name], "solver": A._CC_SOLVER}
        return tuple(_template_rx(t, fixed, "problem") for t in A._CC_TEMPLATES)
    return tuple(_template_rx(t, {}, "enc") for t in A._PAPER[fam])


def unwrap(text: str, name: str, shape: str) -> str:
    """The encoded part of a row: the text inside the first wrapper that matches and decodes, else the whole text
    (``bare`` rows, and ``mixed`` rows, half of which have no wrapper)."""
    if shape == "bare":
        return text
    wrapper = "paper" if shape == "mixed" else shape
    for rx in _wrappers(name, wrapper):
        m = rx.fullmatch(text)
        if m is None:
            continue
        enc = m["enc"]
        if wrapper == "paper" and A.family(name) == "codechameleon" and name not in A._CC_JSON:  # repr() of a str
            try:
                enc = ast.literal_eval(enc)
            except (ValueError, SyntaxError):
                continue
            if not isinstance(enc, str):
                continue
        if name in LOSSY or _decode(name, enc) is not None:
            return enc
    return text


def _typo_key(text: str) -> str:
    """What typoglycemia keeps of a text: first and last letters, the multiset of the inner ones."""
    return A.normalize_ws(A._SCRAMBLE_WORD.sub(lambda m: m[0][0] + "".join(sorted(m[0][1:-1])) + m[0][-1], text))


@functools.cache
def _leet_rx(base: str) -> re.Pattern[str]:
    """Every leetspeak spelling of ``base`` (attacks2025's table, any density)."""
    parts = []
    for c in base:
        opts = A._LEET.get(c.lower())
        parts.append("(?:" + "|".join(re.escape(x) for x in (c, *opts)) + ")" if opts else re.escape(c))
    return re.compile("".join(parts), re.S)


_UNLEET: dict[str, str] = {}
for _letter, _opts in A._LEET.items():
    for _opt in _opts:
        if not _opt.isalpha():  # "ph", "cl", "vv" would eat real letters
            _UNLEET.setdefault(_opt, _letter)
_UNLEET_KEYS = sorted(_UNLEET, key=len, reverse=True)


def unleet(text: str) -> str:
    """An approximate inverse of leetspeak (longest substitution first; ambiguous ones read as the earlier letter)."""
    out, i = [], 0
    while i < len(text):
        key = next((k for k in _UNLEET_KEYS if text.startswith(k, i)), None)
        out.append(_UNLEET[key] if key else text[i])
        i += len(key) if key else 1
    return "".join(out)


class Bases:
    """The suite's rows outside ``obfuscated/*``: the languages of payloads found among them, and the candidates a
    lossy transform's input is matched against."""

    def __init__(self, rows: Sequence[ood.SuiteRow]):
        self._lang: dict[str, str] = {}
        self._by_words: dict[int, list[str]] = defaultdict(list)
        self._typo: dict[str, str] = {}
        for r in rows:
            if r.cell.startswith(CELL_PREFIX):
                continue
            self._lang.setdefault(r.text, r.lang)
            self._lang.setdefault(A.normalize_ws(r.text), r.lang)
            if len(r.text) <= A.MAX_BASE_CHARS:
                self._by_words[len(r.text.split())].append(r.text)  # leetspeak keeps the whitespace
                self._typo.setdefault(_typo_key(r.text), r.text)

    def lang(self, payload: str) -> str | None:
        return self._lang.get(payload) or self._lang.get(A.normalize_ws(payload))

    def find_typo(self, scrambled: str) -> str | None:
        return self._typo.get(_typo_key(scrambled))

    def find_leet(self, leet: str) -> str | None:
        return next((t for t in self._by_words.get(len(leet.split()), ())
                     if len(t) <= len(leet) and _leet_rx(t).fullmatch(leet)), None)


class Payload(NamedTuple):
    text: str  # the plaintext the row was made from (approximate when not ``exact``)
    exact: bool


def recover(text: str, origin: str, bases: Bases) -> Payload:
    """The plaintext payload of an attacks2025 row with this ``origin`` (``attack_type/shape``)."""
    outer, inner, shape = split_origin(origin)
    enc = unwrap(text, outer, shape)
    mid = _decode(outer, enc)
    exact = mid is not None
    payload = mid = enc if mid is None else mid
    if inner is not None:
        dec = _decode(inner, mid)
        exact = exact and dec is not None
        payload = mid if dec is None else dec
    lossy = [t for t in (outer, inner) if t in LOSSY]
    if len(lossy) == 1:  # one lossy step, the others undone: the input may be among the suite's rows
        found = bases.find_leet(payload) if lossy[0] == "leetspeak" else bases.find_typo(payload)
        if found is not None:
            return Payload(found, True)
    if not exact and "leetspeak" in lossy:
        payload = unleet(payload)
    return Payload(payload, exact)


# ------------------------------------------------------------------------------------------------ language

_SCRIPT_LANG = {"DEVANAGARI": "hi", "BENGALI": "bn", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja",
                "HANGUL": "ko", "ARABIC": "ar", "CYRILLIC": "ru", "GREEK": "el", "THAI": "th"}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in {
    "en": "the and to of a in is you your for that this it with are be as on not or all me my i do what how any",
    "it": "il lo la le gli di che e è per un una non sono del della con mi ti tutte tutti come cosa questo delle nel",
    "pt": "o a os as de que e é para um uma não do da com em se você seu sua por mais como isso todas todos das dos",
    "es": "el la los las de que y es para un una no del con en se tu su por más como esto todas todos eres usted",
    "fr": "le la les de des que et est pour un une ne pas du avec en se tu vous votre sur plus comme ce toutes tous",
    "de": "der die das und zu ist ein eine nicht du sie mit für von den dem des auf ich wie alle alles was",
    "ga": "an na agus is ar le do go bhfuil tá sé sí ní mé tú a ag i ach seo sin atá",
    "gd": "an na agus is air le do gu bheil tha e i chan mi thu a ag anns ach seo sin nach",
    "sq": "të në dhe një që është për me nga nuk ju jeni si janë tani gjitha ti kjo ky por",
    "zu": "ukuthi futhi noma kodwa uma ngoba yonke zonke wena mina lokhu lapho ngithi ngicela",
}.items()}


def guess_lang(text: str) -> str:
    """HEURISTIC language of a payload not found in the suite: a non-Latin script holding > 30 % of the letters
    decides; Latin script goes to the stop-word list with most hits (ties: the earlier list); ``und`` if none."""
    scripts = Counter(unicodedata.name(c, "?").split()[0] for c in text if c.isalpha())
    if not scripts:
        return "und"
    top, n = scripts.most_common(1)[0]
    if top in _SCRIPT_LANG and n > 0.3 * sum(scripts.values()):
        return _SCRIPT_LANG[top]
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=hits.__getitem__)
    return best if hits[best] else "und"


# ------------------------------------------------------------------------------------------------ readings

_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff])+")  # Indic vowel signs kept inside their words


def coverage(payload: str, reading: str) -> float:
    """Share of the payload's word tokens found in ``reading`` in order (matching blocks of a token diff)."""
    p = _TOKEN.findall(payload.lower())
    if not p:
        return 0.0
    sm = difflib.SequenceMatcher(None, p, _TOKEN.findall(reading.lower()), autojunk=False)
    return sum(b.size for b in sm.get_matching_blocks()) / len(p)


class Reading(NamedTuple):
    """One reading of a text by the runtime: the original (normalized) text or a decoded view."""

    name: str
    confidence: float  # the decoder's (1.0 for the original)
    kind: str  # "original", "replaced" (original set aside by a whole-text view), "whole" or "view"
    probs: np.ndarray  # class probabilities of its window with the highest P(attack)
    text: str  # its windows' texts joined: used for coverage in memory, never written out

    @property
    def p_attack(self) -> float:
        return 1.0 - float(self.probs[0])


def read_batch(guard: Any, texts: Sequence[str]) -> tuple[list[Any], list[list[Reading]]]:
    """``guard.check_batch(texts)`` and every text's readings. The ONLY use of Guard internals in this script:
    ``check_batch``'s own steps (``_prepare`` -> ``_infer`` -> ``_verdict``), with the per-reading scores kept; the
    verdicts they give must equal ``check_batch``'s, else ``RuntimeError``."""
    verdicts = guard.check_batch(list(texts))
    rows: list[Any] = []
    items = [guard._prepare(i, t, rows) for i, t in enumerate(texts)]
    probs, severity, branch = guard._infer(rows)
    out = []
    for i, (item, ref) in enumerate(zip(items, verdicts, strict=True)):
        mine = guard._verdict(item, rows, probs, severity, branch, 0.0)
        if (mine.label, mine.is_safe, mine.view, mine.window, mine.scores) != (
                ref.label, ref.is_safe, ref.view, ref.window, ref.scores):
            raise RuntimeError(f"text {i} of the batch: the verdict rebuilt from Guard._prepare/_infer/_verdict "
                               f"({mine.label}, view {mine.view}) differs from Guard.check_batch's ({ref.label}, view "
                               f"{ref.view}); the runtime changed, update read_batch()")
        readings = []
        for v, (name, conf) in enumerate(item.views if item is not None else ()):
            view_rows = [r for r in item.rows if rows[r].view == v]
            best = max(view_rows, key=lambda r: 1.0 - float(probs[r, 0]))
            kind = ("replaced" if item.whole else "original") if v == 0 else "whole" if v in item.whole else "view"
            # windows overlap, so the joined text repeats the overlaps: harmless for an in-order coverage
            readings.append(Reading(name, float(conf), kind, probs[best].copy(),
                                    " ".join(rows[r].text for r in view_rows)))
        out.append(readings)
    return verdicts, out


def classify(policy: Any, origin: str, payload: str, readings: Sequence[Reading]) -> str:
    """The class (``CLASSES``) of a missed attack: see the module docstring."""
    split = split_origin(origin)[0] == "payload_split"
    holders = [r for r in readings if coverage(payload, r.text) >= COVERAGE
               and not (split and r.kind in ("original", "replaced"))]
    if not holders:
        return "decoder_gap"
    best = max(holders, key=lambda r: r.p_attack)
    if policy.decide(best.probs, 0.0).attack_type == 0:  # under the uncertain band: benign even if it decided
        return "decoded_low"
    if best.kind == "view" and best.confidence >= policy.min_view_confidence and not policy.view_decides(best.probs):
        return "view_in_band"
    return "set_aside"


# -------------------------------------------------------------------------------------------- per model


class Row(NamedTuple):
    cell: str
    is_attack: bool
    origin: str
    text: str
    payload: Payload
    lang: str
    lang_matched: bool


def load_rows(data: Path) -> tuple[list[Row], dict]:
    """The ``obfuscated/*`` rows of ``<data>/suites/ood_dev.jsonl.gz`` with their payloads and languages, and the
    suite-level counts (payload recovery, language sources). No other file is opened."""
    path = Path(data) / "suites" / f"{SUITE}.jsonl.gz"
    suite = ood.read_suite(path)
    bases = Bases(suite)
    rows, agree = [], Counter()
    for r in suite:
        if not r.cell.startswith(CELL_PREFIX):
            continue
        payload = recover(r.text, r.origin, bases)
        matched = bases.lang(payload.text)
        guess = guess_lang(payload.text)
        if matched is not None:
            agree[guess == matched] += 1
        rows.append(Row(r.cell, r.is_attack, r.origin, r.text, payload, matched or guess, matched is not None))
    if not rows:
        raise SystemExit(f"{path} has no {CELL_PREFIX}* rows")
    kinds = {"attacks": [r for r in rows if r.is_attack], "benign": [r for r in rows if not r.is_attack]}
    info = {
        "suite": f"{SUITE}.jsonl.gz", "rows": len(rows), "attacks": len(kinds["attacks"]),
        "benign": len(kinds["benign"]), "cells": sorted({r.cell for r in rows}),
        "payloads": {k: {"exact": sum(r.payload.exact for r in rs), "approximate": sum(not r.payload.exact for r in rs)}
                     for k, rs in kinds.items()},
        "language": {
            "matched": {k: sum(r.lang_matched for r in rs) for k, rs in kinds.items()},
            "heuristic": {k: sum(not r.lang_matched for r in rs) for k, rs in kinds.items()},
            "heuristic_agrees_on_matched": {"agree": agree[True], "n": agree[True] + agree[False]},
        },
    }
    return rows, info


def _policy_numbers(policy: Any) -> dict:
    return {"attack_threshold": policy.attack_threshold, "class_thresholds": dict(policy.class_thresholds),
            "uncertain_margin": policy.uncertain_margin, "views_in_band": policy.views_in_band,
            "min_view_confidence": policy.min_view_confidence}


def _lang_order(rows: Sequence[Row]) -> list[str]:
    n = Counter(r.lang for r in rows if r.is_attack)
    return sorted({r.lang for r in rows}, key=lambda k: (k != "en", -n[k], k))


def analyse(guard: Any, rows: Sequence[Row], batch: int = 64) -> dict:
    """Every count the report gives for one model (``guard``, a loaded ``Guard``)."""
    t0 = time.perf_counter()
    policy = guard.policy
    verdicts, readings = [], []
    for i in range(0, len(rows), batch):
        v, rd = read_batch(guard, [r.text for r in rows[i : i + batch]])
        verdicts += v
        readings += rd
    plain = []
    for i in range(0, len(rows), batch):
        plain += [not v.is_safe for v in guard.check_batch([r.payload.text for r in rows[i : i + batch]])]
    caught = [not v.is_safe for v in verdicts]  # as eval.harness.GuardSystem.predict
    cls = [classify(policy, r.origin, r.payload.text, rd) if r.is_attack and not c else None
           for r, c, rd in zip(rows, caught, readings, strict=True)]

    def zero() -> dict:
        return {"attacks": 0, "caught": 0, "missed": dict.fromkeys(CLASSES, 0), "plaintext_flagged": 0}

    cells = {c: {**zero(), "benign": 0, "benign_flagged": 0} for c in sorted({r.cell for r in rows})}
    langs = {k: zero() for k in _lang_order(rows)}
    groups = {"en": zero(), "other": zero()}
    total = {**zero(), "benign": 0, "benign_flagged": 0, "benign_plaintext_flagged": 0}
    recoverable = dict.fromkeys(CLASSES, 0)
    by_reading: dict[str, Any] = {"original": 0, "view": 0, "views": Counter()}
    for r, c, k, p, v in zip(rows, caught, cls, plain, verdicts, strict=True):
        if not r.is_attack:
            for d in (cells[r.cell], total):
                d["benign"] += 1
                d["benign_flagged"] += c
            total["benign_plaintext_flagged"] += p
            if c:
                by_reading["original" if v.view == "original" else "view"] += 1
                if v.view != "original":
                    by_reading["views"][v.view] += 1
            continue
        for d in (cells[r.cell], langs[r.lang], groups["en" if r.lang == "en" else "other"], total):
            d["attacks"] += 1
            d["caught"] += c
            d["plaintext_flagged"] += p
            if k is not None:
                d["missed"][k] += 1
        if k is not None:
            recoverable[k] += p
    by_reading["views"] = dict(sorted(by_reading["views"].items()))
    for d in (*cells.values(), *langs.values(), *groups.values(), total):
        d["missed"]["total"] = sum(d["missed"][k] for k in CLASSES)
    recoverable["total"] = sum(recoverable.values())
    return {
        "policy": _policy_numbers(policy), "rows": len(rows), "total": total, "cells": cells,
        "languages": {k: v for k, v in langs.items() if v["attacks"]}, "en_vs_other": groups,
        "recoverable_by_plaintext": recoverable, "benign_flagged_by_reading": by_reading,
        "verdicts_rebuilt": len(rows), "seconds": round(time.perf_counter() - t0, 1),
    }


# ------------------------------------------------------------------------------------------------- report


def _frac(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "0/0"


def _missed_cells(d: dict) -> str:
    return " | ".join(str(d["missed"][k]) for k in (*CLASSES, "total"))


def to_markdown(res: dict) -> str:
    s = res["suite"]
    lang = s["language"]
    md = [f"# Missed attacks in OOD-dev's obfuscated cells ({s['rows']} rows: {s['attacks']} attacks, "
          f"{s['benign']} benign)", "",
          "Written by `python scripts/obfuscation_misses.py` (reads only `suites/ood_dev.jsonl.gz`). Counts only. "
          f"A reading *holds* the payload when it has >= {100 * res['coverage']:.0f} % of its words in order. "
          "decoder_gap: no reading holds it; decoded_low: the best reading holding it scores under the uncertain "
          "band; view_in_band: that reading is a decoded view in the uncertain band (decides only with the policy's "
          "views_in_band); set_aside: that reading may not decide (decoder confidence, whole-text view).", "",
          f"Payload language: the suite row's `lang` for {lang['matched']['attacks']} attack and "
          f"{lang['matched']['benign']} benign rows; a heuristic for {lang['heuristic']['attacks']} attack and "
          f"{lang['heuristic']['benign']} benign rows (it agrees with the suite on "
          f"{lang['heuristic_agrees_on_matched']['agree']}/{lang['heuristic_agrees_on_matched']['n']} matched rows). "
          f"Approximate payloads (lossy transform, input not found): {s['payloads']['attacks']['approximate']} "
          f"attack and {s['payloads']['benign']['approximate']} benign rows.", "",
          "## Summary", "",
          "| model | attacks caught | benign flagged | decoder_gap | decoded_low | view_in_band | set_aside | missed | "
          "misses whose plaintext alone is flagged |", "|---|---|---|---|---|---|---|---|---|"]
    models = res["models"]
    for name, m in models.items():
        t = m["total"]
        md.append(f"| {name} | {_frac(t['caught'], t['attacks'])} | {_frac(t['benign_flagged'], t['benign'])} | "
                  f"{_missed_cells(t)} | {m['recoverable_by_plaintext']['total']} |")
    md += ["", "## Per cell", "", "| model | cell | attacks caught | benign flagged | decoder_gap | decoded_low | "
           "view_in_band | set_aside | missed |", "|---|---|---|---|---|---|---|---|---|"]
    for name, m in models.items():
        for cell, d in m["cells"].items():
            md.append(f"| {name} | {cell} | {_frac(d['caught'], d['attacks'])} | "
                      f"{_frac(d['benign_flagged'], d['benign'])} | {_missed_cells(d)} |")
    md += ["", "## Attacks by payload language", "", "| model | language | attacks caught | decoder_gap | "
           "decoded_low | view_in_band | set_aside | missed | plaintext alone flagged |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, m in models.items():
        for key, d in [*m["languages"].items(), *(("all non-en", m["en_vs_other"]["other"]),)]:
            md.append(f"| {name} | {key} | {_frac(d['caught'], d['attacks'])} | {_missed_cells(d)} | "
                      f"{_frac(d['plaintext_flagged'], d['attacks'])} |")
    md += ["", "## Misses a perfect decoder would recover (plaintext alone flagged), by class", "",
           "| model | " + " | ".join((*CLASSES, "total")) + " |", "|---" * (len(CLASSES) + 2) + "|"]
    for name, m in models.items():
        rec = m["recoverable_by_plaintext"]
        md.append(f"| {name} | " + " | ".join(str(rec[k]) for k in (*CLASSES, "total")) + " |")
    md += ["", "## Flagged benign rows: the deciding reading", "",
           "| model | benign flagged | original reading | a decoded view | views | plaintext alone flagged |",
           "|---|---|---|---|---|---|"]
    for name, m in models.items():
        b, t = m["benign_flagged_by_reading"], m["total"]
        views = ", ".join(f"{k} {n}" for k, n in b["views"].items()) or "-"
        md.append(f"| {name} | {t['benign_flagged']} | {b['original']} | {b['view']} | {views} | "
                  f"{_frac(t['benign_plaintext_flagged'], t['benign'])} |")
    md += ["", "## Policies (from each model's config)", "", "| model | attack threshold | uncertain margin | "
           "views_in_band | min_view_confidence | seconds |", "|---|---|---|---|---|---|"]
    for name, m in models.items():
        p = m["policy"]
        md.append(f"| {name} | {p['attack_threshold']:.4f} | {p['uncertain_margin']:.4f} | {p['views_in_band']} | "
                  f"{p['min_view_confidence']} | {m['seconds']} |")
    return "\n".join(md) + "\n"


def parse_models(parser: argparse.ArgumentParser, a: argparse.Namespace) -> dict[str, Path]:
    models: dict[str, Path] = {}
    for flag in (a.model, a.model2):
        if flag is not None:
            models[flag.name] = flag
    for name, path in a.systems:
        models[name] = path
    if not models:
        parser.error("give a model: --model DIR or NAME=MODEL_DIR")
    return models


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("systems", nargs="*", metavar="NAME=MODEL_DIR", type=named_path)
    p.add_argument("--model", type=Path, default=None, help="a model folder (named after the folder)")
    p.add_argument("--model2", type=Path, default=None, help="a second model folder")
    p.add_argument("--data", type=Path, default=Path("build/data"), help="the build; only suites/ood_dev.jsonl.gz")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (a .md twin with the tables is written beside it)")
    a = p.parse_args(argv)
    models = parse_models(p, a)
    suite_path = a.data / "suites" / f"{SUITE}.jsonl.gz"
    if not suite_path.is_file():
        p.error(f"no OOD-dev suite at {suite_path}")
    from tinyguardrail.eval.harness import GuardSystem

    rows, info = load_rows(a.data)
    res: dict[str, Any] = {"suite": info, "coverage": COVERAGE, "classes": list(CLASSES), "models": {}}
    for name, model_dir in models.items():
        system = GuardSystem(model_dir=model_dir, threads=a.threads)
        res["models"][name] = {"model_dir": str(model_dir), **analyse(system.guard, rows, system.batch)}
        t = res["models"][name]["total"]
        print(f"{name}: attacks caught {t['caught']}/{t['attacks']}, benign flagged {t['benign_flagged']}/"
              f"{t['benign']}, missed {t['missed']} ({res['models'][name]['seconds']} s)", file=sys.stderr)
    md = to_markdown(res)
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        a.out.with_suffix(".md").write_text(md, encoding="utf-8")
        print(f"wrote {a.out} and its .md twin", file=sys.stderr)
    else:
        print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
