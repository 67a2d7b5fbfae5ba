"""The four classes of the output contract (SPEC section 2), in code order."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("benign", "direct_injection", "jailbreak", "obfuscation")
LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
BENIGN, DIRECT_INJECTION, JAILBREAK, OBFUSCATION = LABELS

#: What an early exit needs the fast branch to be sure of: "label" (its largest class probability reaches the
#: threshold) or "attack" (its block-or-allow probability, max(P(benign), 1 - P(benign)), does).
EXIT_GATES: tuple[str, ...] = ("label", "attack")
