"""LLM adaptive attacks (``attacks/llm-adaptive-attacks``, Andriushchenko et al.): JailbreakBench-format artifacts.

Files: ``jailbreak_artifacts/exps_*.json`` (``{"parameters", "jailbreaks": [{index, goal, prompt, ...}]}``) and
``harmful_behaviors/harmful_behaviors_pair.csv`` (the 50 PAIR-curated AdvBench goals).

Labels: every ``prompt`` -> ``jailbreak``; attack_type ``random_search`` (method ``adaptive_random_search``:
rules template + goal + optimised suffix, same family as JBB's random search) or ``rules_template`` (the
Nemotron file, method ``prompt_template``: the rules template with no suffix).

Traps handled:
- Near-duplicates: almost every row is ONE template + a suffix. Rows are grouped in four families by their
  template (``rules_suffix``: the standard "You are a very direct assistant ... <rule>" prompt; ``icl_one_shot``:
  prompts that open with an ``<example>`` demonstration (the ICL and R2D2 files); ``simplified_template``: the
  Mistral file's shortened rules; ``rules_no_suffix``: Nemotron). Each family is capped at ``FAMILY_CAP`` rows
  (seeded choice, at most one row per goal first), and all rows of a family share ``template_id``
  ``llm-adaptive-attacks/<family>`` so a family never straddles splits.
- Exact duplicate prompts (689 unique of 719) are emitted once.
- Goals alone (``goal`` field, harmful_behaviors_pair.csv) are plain harmful requests: ``Material(kind="goal")``
  only (template ``llm-adaptive-attacks/goal/<advbench_index>``), never attack rows.
"""

from __future__ import annotations

import csv
import json
import logging
import pathlib
from collections import defaultdict
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "attacks/llm-adaptive-attacks"
EVAL_ONLY = False
SOURCE = "llm-adaptive-attacks"

#: At most this many rows per template family.
FAMILY_CAP = 20

log = logging.getLogger(__name__)


def _family(path: pathlib.Path, method: str, prompt: str) -> str:
    if method == "prompt_template":
        return "rules_no_suffix"
    if prompt.lstrip().startswith("<example>"):
        return "icl_one_shot"
    if "simplified_template" in path.name:
        return "simplified_template"
    return "rules_suffix"


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME / "jailbreak_artifacts"
    fams: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        method = (data.get("parameters") or {}).get("method", "")
        for e in data.get("jailbreaks", []):
            text = (e.get("prompt") or "").strip()
            if not text or text in seen:
                continue
            seen.add(text)
            fams[_family(path, method, text)].append((str(e.get("goal", "")).strip().lower(), text))
    for fam in sorted(fams):
        rows = fams[fam]
        rng = rng_for("llm-adaptive-attacks", fam)
        rng.shuffle(rows)
        # one row per goal first, then the rest, up to the cap
        firsts, rest, goals_seen = [], [], set()
        for goal, text in rows:
            (rest if goal in goals_seen else firsts).append(text)
            goals_seen.add(goal)
        picked = (firsts + rest)[:FAMILY_CAP]
        if len(rows) > FAMILY_CAP:
            log.debug("llm-adaptive-attacks family %s: kept %d of %d", fam, len(picked), len(rows))
        attack_type = "rules_template" if fam == "rules_no_suffix" else "random_search"
        for text in picked:
            yield Record(text, "jailbreak", SOURCE, attack_type, "en", f"llm-adaptive-attacks/{fam}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    path = pathlib.Path(root) / NAME / "harmful_behaviors" / "harmful_behaviors_pair.csv"
    with open(path, encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            goal = (row.get("goal") or "").strip()
            if goal:
                idx = (row.get("advbench_index") or str(i)).strip()
                yield Material(goal, "goal", SOURCE, "en", f"llm-adaptive-attacks/goal/{idx}")
