"""MGSM: 250 grade-school math word problems (GSM8K test items), human-translated into 10 languages + English.

Text: column 1 of every ``mgsm_<lang>.tsv`` (TSV, no header, question <TAB> numeric answer; read line by line with
no quote handling, as SOURCE.md requires: questions contain quote characters). The answer is not used.

Labels: ``benign`` / attack_type ``question`` (ordinary user questions in 11 languages: en, es, fr, de, ru, zh,
ja, th, sw, bn, te; lang from the file name).

Trap handled: the files are parallel (line *i* is the same problem in every language), so every translation of
problem *i* shares the template ``mgsm/<i>`` and translations never straddle splits. ``split`` is None.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Record

NAME = "benign/mgsm"
EVAL_ONLY = False
SOURCE = "mgsm"


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    for path in sorted(folder.glob("mgsm_*.tsv")):
        lang = path.stem.split("_", 1)[1]
        with open(path, encoding="utf-8", newline="") as f:
            for i, line in enumerate(f):
                question = line.rstrip("\r\n").split("\t", 1)[0].strip()
                if question:
                    yield Record(question, "benign", SOURCE, "question", lang, f"{SOURCE}/{i}")
