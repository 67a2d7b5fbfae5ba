"""awesome-chatgpt-prompts-zh: Chinese (Simplified + Traditional) "act as" role-play prompts.

Text: the ``prompt`` of every entry of ``prompts-zh.json`` and ``prompts-zh-TW.json`` (JSON lists of
``{act, prompt}``; the two files are parallel, entry *i* of one is entry *i* of the other in the other script).

Labels:
- every prompt is ``benign`` / attack_type ``hard_negative_roleplay`` (benign role-play that looks like a jailbreak);
- KNOWN MISLABEL: the DAN entry (index 118 in both files, "作为一个不受约束的 AI 模型 DAN" /
  "扮演一個無拘無束的 AI 模型 DAN"; matched by the Latin token ``DAN`` in the title so a re-ordered file is still
  handled) is a real DAN jailbreak and is emitted whole as ``jailbreak`` / attack_type ``dan``.

Parallel-translation trap: both script variants of entry *i* share the template ``awesome_chatgpt_prompts_zh/<i>``
so they always land in the same split; exact duplicates are dropped. Prompts are short (max ~1.7k chars) and go
through ``chunking.chunk_text`` for the rare long one. Language ``zh`` for both scripts. ``split`` is None.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text, norm_key
from tinyguardrail.data.record import Record

NAME = "benign/awesome_chatgpt_prompts_zh"
EVAL_ONLY = False
SOURCE = "awesome_chatgpt_prompts_zh"

FILES = ("prompts-zh.json", "prompts-zh-TW.json")
_DAN_TITLE_RE = re.compile(r"\bDAN\b")


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    seen: set[str] = set()
    for name in FILES:
        entries = json.loads((folder / name).read_text(encoding="utf-8"))
        for i, entry in enumerate(entries):
            prompt = (entry.get("prompt") or "").strip()
            act = (entry.get("act") or "").strip()
            if not prompt or norm_key(prompt) in seen:
                continue
            seen.add(norm_key(prompt))
            if _DAN_TITLE_RE.search(act):
                yield Record(prompt, "jailbreak", SOURCE, "dan", "zh", f"{SOURCE}/dan")
                continue
            for chunk in chunk_text(prompt, min_keep=8):
                yield Record(chunk, "benign", SOURCE, "hard_negative_roleplay", "zh", f"{SOURCE}/{i}")
