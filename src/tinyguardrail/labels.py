"""The four classes of the output contract (SPEC section 2), in code order."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("benign", "direct_injection", "jailbreak", "obfuscation")
LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
BENIGN, DIRECT_INJECTION, JAILBREAK, OBFUSCATION = LABELS

#: What an early exit needs: "label" (the router chooses the fast branch and the fast branch's largest class
#: probability reaches the threshold), "attack" (the router chooses the fast branch and its block-or-allow
#: probability, max(P(benign), 1 - P(benign)), reaches the threshold) or "decision" (that block-or-allow
#: probability reaches the threshold and the router does not choose the deep branch alone: its "both", learnt from
#: the class confidence, does not hold a sure decision back).
EXIT_GATES: tuple[str, ...] = ("label", "attack", "decision")
#: The gates whose confidence is the block-or-allow probability.
DECISION_GATES: tuple[str, ...] = ("attack", "decision")
