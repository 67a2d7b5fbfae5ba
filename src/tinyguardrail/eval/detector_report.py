"""``tinyguardrail text-report``: pattern-detector firing rates per attack type and on benign sets.

Reads the built data set (``--data``, default ``build/data``: ``{train,validation,test,eval}.jsonl.gz`` of
``Record`` fields), groups rows by ``(label, attack_type)``, scores a seeded sample of each group with every
detector and writes ``docs/detectors.md`` (tables) and ``docs/detectors.json`` (the same figures).

A detector *fires* on a text when its score is > 0.5. Groups:

- **synthetic attacks**: rows made by ``data/synth/`` transforms (``source == "synth"``, label not benign);
- **benign twins**: the same transforms on benign text (``benign_<transform>``);
- **benign evaluation sets**: NotInject (per trigger-word level) and WildGuard benign;
- **benign encoded blobs**: hashes, JWTs, UUIDs, data URIs, hex dumps, URL-encoded strings, base64, minified code;
- **other hard negatives** (trigger words, security writing, role-play ...);
- **ordinary benign text**: every other benign row, also split by language;
- **real attacks**: non-synthetic attack rows per label.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from tinyguardrail.data.io import DEFAULT_BUILD

#: Benign attack_types of encoded-looking blobs (hard negatives of the encoding detectors).
BLOB_TYPES = ("hard_negative_base64", "hard_negative_hash", "hard_negative_jwt", "hard_negative_uuid",
              "hard_negative_data_uri", "hard_negative_hex_dump", "hard_negative_url_encoded",
              "hard_negative_minified_code", "hard_negative_git_diff")
#: Detectors that flag obfuscation (the lexicon ones flag wording, not encoding).
OBFUSCATION_DETECTORS = ("encoding", "flip", "homoglyph", "encryption", "typoglycemia", "invisible", "hidden_markup",
                         "spaced", "leetspeak", "cipher", "payload_split", "decoded_attack")
_SPLITS = ("train", "validation", "test", "eval")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD, help="built data directory (default build/data)")
    p.add_argument("--out-md", type=Path, default=Path("docs/detectors.md"))
    p.add_argument("--out-json", type=Path, default=Path("docs/detectors.json"))
    p.add_argument("--per-group", type=int, default=400, help="rows scored per group at most (seeded sample)")
    p.add_argument("--seed", type=int, default=0)


def _read_records(data: Path) -> list[dict]:
    import gzip

    rows: list[dict] = []
    found = False
    for split in _SPLITS:
        path = data / f"{split}.jsonl.gz"
        if not path.exists():
            continue
        found = True
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    d.setdefault("split", split)
                    rows.append(d)
    if not found:
        raise FileNotFoundError(f"no {{train,validation,test,eval}}.jsonl.gz under {data}: run `tinyguardrail data build`")
    return rows


def _section(r: dict) -> str:
    label, at, src = r.get("label", ""), r.get("attack_type", "none") or "none", r.get("source", "")
    if label != "benign":
        return "synthetic attacks" if src == "synth" else "real attacks"
    if at.startswith("benign_"):
        return "benign twins of the transforms"
    if at.startswith("notinject") or at == "wildguard_benign":
        return "benign evaluation sets"
    if at in BLOB_TYPES:
        return "benign encoded blobs"
    if at.startswith("hard_negative"):
        return "other hard negatives"
    return "ordinary benign text"


def _group_key(r: dict, section: str) -> str:
    if section == "real attacks":
        return r.get("label", "")
    if section == "ordinary benign text":
        return "all"
    return r.get("attack_type", "none") or "none"


def score_groups(groups: dict[tuple[str, str], list[str]], per_group: int, seed: int) -> dict:
    """Firing rates (score > 0.5) and mean scores per detector for each group."""
    from tinyguardrail.text.detectors import DETECTOR_NAMES, detect

    out: dict = {}
    rng = random.Random(seed)
    for (section, key), texts in sorted(groups.items()):
        sample = texts if len(texts) <= per_group else rng.sample(texts, per_group)
        fires = dict.fromkeys(DETECTOR_NAMES, 0)
        sums = dict.fromkeys(DETECTOR_NAMES, 0.0)
        any_obf = 0
        any_all = 0
        for t in sample:
            s = detect(t)
            fired = [n for n in DETECTOR_NAMES if s[n] > 0.5]
            for n in fired:
                fires[n] += 1
            for n in DETECTOR_NAMES:
                sums[n] += s[n]
            any_obf += any(n in OBFUSCATION_DETECTORS for n in fired)
            any_all += bool(fired)
        n = max(1, len(sample))
        out.setdefault(section, {})[key] = {
            "rows": len(texts),
            "scored": len(sample),
            "fire_rate": {k: round(v / n, 4) for k, v in fires.items()},
            "mean_score": {k: round(v / n, 4) for k, v in sums.items()},
            "any_obfuscation_detector": round(any_obf / n, 4),
            "any_detector": round(any_all / n, 4),
        }
    return out


_SECTION_ORDER = ("synthetic attacks", "benign twins of the transforms", "benign evaluation sets",
                  "benign encoded blobs", "other hard negatives", "ordinary benign text",
                  "ordinary benign text by language", "real attacks")
_SHORT = {"encoding": "enc", "flip": "flip", "homoglyph": "homo", "encryption": "crypt", "typoglycemia": "typo",
          "invisible": "invis", "hidden_markup": "hidden", "spaced": "spaced", "leetspeak": "leet",
          "cipher": "ciph", "instruction_override": "ovr", "prompt_leak": "leak", "role_markers": "role",
          "jailbreak_persona": "pers", "payload_split": "split", "decoded_attack": "dec"}


def render_markdown(result: dict) -> str:
    from tinyguardrail.text.detectors import DETECTOR_NAMES

    lines = [
        "# Pattern-detector firing rates",
        "",
        "Generated by `tinyguardrail text-report` from the built data set "
        f"(`{result['data']}`, at most {result['per_group']} rows per group, seed {result['seed']}); "
        "do not edit by hand. A detector *fires* when its score is > 0.5; cells are the percentage of rows it "
        "fires on. `any obf` = any obfuscation detector fires (all but the four lexicon detectors "
        "`ovr`, `leak`, `role`, `pers`). Score meanings: `src/tinyguardrail/text/detectors.py`.",
        "",
        "Columns: " + ", ".join(f"`{_SHORT[n]}` {n}" for n in DETECTOR_NAMES) + ".",
        "",
    ]
    head = "| group | rows | scored | any obf | " + " | ".join(_SHORT[n] for n in DETECTOR_NAMES) + " |"
    sep = "|---|---:|---:|---:|" + "---:|" * len(DETECTOR_NAMES)
    for section in _SECTION_ORDER:
        groups = result["groups"].get(section)
        if not groups:
            continue
        lines += [f"## {section}", "", head, sep]
        for key, g in groups.items():
            cells = []
            for n in DETECTOR_NAMES:
                v = 100 * g["fire_rate"][n]
                cells.append("" if v == 0 else f"{v:.1f}")
            lines.append(f"| {key} | {g['rows']} | {g['scored']} | {100 * g['any_obfuscation_detector']:.1f} | "
                         + " | ".join(cells) + " |")
        lines.append("")
    summary = result.get("summary", {})
    if summary:
        lines += ["## Summary", ""]
        for k, v in summary.items():
            lines.append(f"- {k}: {v}")
        lines.append("")
    return "\n".join(lines)


def build_report(data: Path, per_group: int, seed: int) -> dict:
    rows = _read_records(data)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        text = r.get("text")
        if not isinstance(text, str) or not text:
            continue
        section = _section(r)
        groups[(section, _group_key(r, section))].append(text)
        if section == "ordinary benign text":
            groups[("ordinary benign text by language", r.get("lang") or "und")].append(text)
        if section == "benign evaluation sets" and str(r.get("attack_type", "")).startswith("notinject"):
            groups[(section, "notinject_all")].append(text)
    # languages with few rows are noise in the per-language table
    for key in [k for k in groups if k[0] == "ordinary benign text by language" and len(groups[k]) < 50]:
        del groups[key]
    scored = score_groups(groups, per_group, seed)
    result = {"data": str(data), "per_group": per_group, "seed": seed, "threshold": 0.5, "groups": scored}
    result["summary"] = _summary(scored)
    return result


def _summary(scored: dict) -> dict:
    out: dict = {}

    def mean_any(section: str) -> float | None:
        gs = scored.get(section, {})
        if not gs:
            return None
        n = sum(g["scored"] for g in gs.values())
        return round(sum(g["any_obfuscation_detector"] * g["scored"] for g in gs.values()) / max(1, n), 4)

    for section in _SECTION_ORDER:
        v = mean_any(section)
        if v is not None:
            out[f"{section}: share of rows where an obfuscation detector fires"] = v
    bench = scored.get("benign evaluation sets", {})
    if "notinject_all" in bench:
        out["NotInject: any detector fires"] = bench["notinject_all"]["any_detector"]
    if "wildguard_benign" in bench:
        out["WildGuard benign: any detector fires"] = bench["wildguard_benign"]["any_detector"]
    return out


def run(args: argparse.Namespace) -> int:
    result = build_report(args.data, args.per_group, args.seed)
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out_md.write_text(render_markdown(result), encoding="utf-8")
    print(f"wrote {args.out_md} and {args.out_json}")
    for k, v in result["summary"].items():
        print(f"  {k}: {v}")
    return 0
