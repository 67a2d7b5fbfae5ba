"""Lakera PINT benchmark: reader for the PINT YAML format, applied to the public 8-row example. EVALUATION ONLY.

Format (``benchmark/data/example-dataset.yaml`` and the private PINT file): a YAML list of entries
``{text: str, category: str, label: bool}``; ``label`` true = contains a prompt injection / jailbreak.
``load_pint_yaml(path)`` reads any file in this format (so whoever has the private 4,314-row file can run the same
harness on it) and maps each entry to a ``Record``:

- ``label`` false -> ``benign``;
- ``label`` true -> ``jailbreak`` when the category names a jailbreak (``"jailbreak" in category``), else
  ``direct_injection`` (PINT's prompt_injection and documents-with-embedded-injection rows);
- ``attack_type`` is the category verbatim (``prompt_injection``, ``jailbreak``, ``hard_negatives``, ``chat``,
  ``documents``, and in the example also ``short_input``, ``benign_input``, ``long_input``), so the harness can
  compute the PINT score as the mean of per-(attack_type, label is benign) accuracies;
- ``split`` ``"eval"``; ``template_id`` ``<source>/<index>``; ``lang`` from a script / stop-word guess ("und" when
  unsure: the private set mixes ~25 languages); ``source`` ``pint_example`` unless another is given.

Texts are kept exactly as written (YAML block scalars keep their newlines; only surrounding whitespace is
stripped) and are never chunked: PINT scores whole inputs, the runtime windows long ones itself. Labels given as
strings ("true"/"false", "1"/"0", "yes"/"no") are accepted; an entry without text or with an unreadable label
raises ``ValueError`` naming the entry, rather than being silently skipped.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import yaml

from tinyguardrail.data.chunking import guess_lang
from tinyguardrail.data.record import Record

NAME = "bench/pint_example"
EVAL_ONLY = True
SOURCE = "pint_example"

FILE = "example-dataset.yaml"

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _label_bool(value: object, index: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"PINT entry {index}: unreadable label {value!r}")


def pint_label(category: str, is_attack: bool) -> str:
    """Our label for a PINT (category, label) pair."""
    if not is_attack:
        return "benign"
    return "jailbreak" if "jailbreak" in category.lower() else "direct_injection"


def load_pint_yaml(path: str | pathlib.Path, source: str = SOURCE) -> list[Record]:
    """Read a PINT-format YAML file (list of ``{text, category, label}``) into eval ``Record``s."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a YAML list of {{text, category, label}} entries")
    records = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or "text" not in entry or "label" not in entry:
            raise ValueError(f"{path}: entry {i} lacks text or label")
        text = str(entry["text"] if entry["text"] is not None else "").strip()
        if not text:
            raise ValueError(f"{path}: entry {i} has an empty text")
        category = str(entry.get("category") or "uncategorized").strip()
        label = pint_label(category, _label_bool(entry["label"], i))
        records.append(
            Record(
                text=text,
                label=label,
                source=source,
                attack_type=category,
                lang=guess_lang(text, default="und"),
                template_id=f"{source}/{i}",
                split="eval",
            )
        )
    return records


def load(root: pathlib.Path) -> Iterator[Record]:
    yield from load_pint_yaml(pathlib.Path(root) / NAME / FILE)
