"""Deterministic group-level split assignment: every row sharing a ``template_id`` lands in one split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SplitFractions:
    """Fractions of template groups sent to validation and test; the rest is train."""

    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.validation < 1 and 0 <= self.test < 1 and self.validation + self.test < 1):
            raise ValueError(f"bad split fractions: validation={self.validation} test={self.test}")


def group_split(template_id: str, seed: int, fractions: SplitFractions = SplitFractions()) -> str:
    """Split of a template group, from a seeded hash of its id (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{template_id}".encode("utf-8", "surrogatepass")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < fractions.test:
        return "test"
    if u < fractions.test + fractions.validation:
        return "validation"
    return "train"
