"""TaskTracker (``attacks/tasktracker``, ``task_tracker/dataset_creation/datasets/*.txt``, one item per line).

Rows and labels:
- ``jailbreaks_pair_attack.txt`` (201 lines, 168 unique): PAIR-generated jailbreaks -> ``jailbreak`` [``pair``],
  exact duplicates dropped. Rewrites matched to a JailbreakBench behaviour (``jailbreakbench.goal_matcher``) get
  ``jailbreakbench/<index>``; the rest (almost all: they target AdvBench goals) ``tasktracker/pair/<hash>``.
- ``llm_adaptive_attacks.txt`` (49 lines): lower-cased AdvBench goal + adversarial suffix -> ``jailbreak``
  [``random_search``], template ``tasktracker/adaptive/<goal>`` (one goal, one group). A line that is only a goal
  (SOURCE.md says some have no suffix; in this snapshot none) would be a plain request: skipped.
- ``saved_injections_test.txt`` (195 lines, 188 unique): delimiter + "Disregard any prior ... directives"
  sentences: standalone override instructions -> ``direct_injection`` [``instruction_override``] with split
  ``test`` (upstream keeps them for evaluation), and ``Material(kind="lead_in", split="test")``.
- ``translated_secondary_tasks.txt`` (500 lines, 483 unique): BENIGN trivia questions in de/fr/it/es/ar, the
  "secondary task" TaskTracker injects -> ``benign`` [``none``], language from the script / wording. (They are
  also in ``templates.task_pool`` for filling injection slots.)

Not rows:
- ``saved_injections.txt`` (542 lead-in sentences: "Brace yourself for the next part ..."): fragments that only
  announce an instruction, innocuous on their own -> ``Material(kind="lead_in")`` only.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record, hash_text
from tinyguardrail.data.templates import guess_lang

NAME = "attacks/tasktracker"
EVAL_ONLY = False
SOURCE = "tasktracker"
_DIR = "task_tracker/dataset_creation/datasets"


def _lines(root: pathlib.Path, name: str) -> list[str]:
    path = pathlib.Path(root) / NAME / _DIR / name
    return list(dict.fromkeys(x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()))


def _adaptive_goals(root: pathlib.Path) -> list[str]:
    import csv

    path = pathlib.Path(root) / "attacks/llm-adaptive-attacks/harmful_behaviors/harmful_behaviors_pair.csv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return sorted({(r.get("goal") or "").strip().lower() for r in csv.DictReader(f)} - {""}, key=len, reverse=True)


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import jailbreakbench

    root = pathlib.Path(root)
    match = jailbreakbench.goal_matcher(root)
    for text in _lines(root, "jailbreaks_pair_attack.txt"):
        idx = match(text)
        tid = f"jailbreakbench/{idx}" if idx is not None else f"tasktracker/pair/{hash_text(text)}"
        yield Record(text, "jailbreak", SOURCE, "pair", "en", tid)

    goals = _adaptive_goals(root)
    for text in _lines(root, "llm_adaptive_attacks.txt"):
        goal = next((g for g in goals if text.lower().startswith(g)), None)
        if goal is not None and len(text) - len(goal) < 3:
            continue  # a bare goal, not an attack
        tid = f"tasktracker/adaptive/{hash_text(goal)}" if goal else f"tasktracker/adaptive/{hash_text(text)}"
        yield Record(text, "jailbreak", SOURCE, "random_search", "en", tid)

    for text in _lines(root, "saved_injections_test.txt"):
        yield Record(
            text,
            "direct_injection",
            SOURCE,
            "instruction_override",
            "en",
            f"tasktracker/lead_in_test/{hash_text(text)}",
            split="test",
        )

    for text in _lines(root, "translated_secondary_tasks.txt"):
        lang = guess_lang(text, candidates=("de", "fr", "it", "es", "pt", "en"))
        yield Record(text, "benign", SOURCE, "none", lang, f"tasktracker/secondary/{hash_text(text)}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    for text in _lines(root, "saved_injections.txt"):
        yield Material(text, "lead_in", SOURCE, "en", f"tasktracker/lead_in/{hash_text(text)}")
    for text in _lines(root, "saved_injections_test.txt"):
        yield Material(text, "lead_in", SOURCE, "en", f"tasktracker/lead_in_test/{hash_text(text)}", split="test")
