"""The four classes of the output contract (SPEC section 2), in code order."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("benign", "direct_injection", "jailbreak", "obfuscation")
LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
BENIGN, DIRECT_INJECTION, JAILBREAK, OBFUSCATION = LABELS
