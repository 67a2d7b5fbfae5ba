"""How class probabilities become a label, a response code and a suggested action.

The model gives per-class probabilities ``p`` (benign, direct_injection, jailbreak, obfuscation) and a severity in
[0, 1]. With ``P(attack) = 1 - p[benign]`` and ``top`` the most probable *attack* class:

1. **attack** when ``P(attack) >= threshold(top)`` (``class_thresholds[top]`` if set, else ``attack_threshold``);
   the label is ``top``.
2. **uncertain** (code attack type 15) when ``threshold(top) - uncertain_margin <= P(attack) < threshold(top)``:
   not called an attack, not safe either; the suggested action is human review (defer to a slower check).
3. **benign** otherwise.

Actions (code bits 12-15):

- benign -> ``allow``; ``allow_and_log`` when ``P(attack) >= log_threshold`` or a pattern detector fired.
- uncertain -> ``human_review``.
- attack -> ``block``; ``human_review`` instead when the confidence (max probability) is below
  ``review_below_confidence`` or the severity level (0-15) is below ``review_below_severity``.

A decoded view (Base64, reversed text, ...) decides the verdict only when it is *reliable*: its decoder's
confidence is at least ``min_view_confidence`` and its own ``P(attack)`` reaches the attack threshold (a view can
raise an alarm, never lower one). The original text always counts, except with a model's opt-in
``whole_view_confidence`` (``runtime.guard``): then a sure first-level view without a separate payload decides in place
of the original reading, benign or not.

Defaults are in the dataclass; a model's ``config.json`` may carry ``"policy"`` (any of these fields) and/or
``"thresholds"`` (``{"attack": 0.946, "jailbreak": 0.6, ...}``, calibrated on the OOD-dev suite by
``tinyguardrail eval calibrate``), applied by :meth:`Policy.from_config`.

Tuning: a policy passed to ``Guard.load(policy=...)`` is laid *on top of* the model's (:meth:`Policy.on_top_of`):
only the fields given to its constructor change, every other field keeps the model's calibrated value. So
``Guard.load(policy=Policy(log_threshold=0.3))`` keeps the model's attack threshold. A given field is replaced
whole, ``class_thresholds`` included. To replace everything, give every field (``Policy(**Policy().to_dict())``
is the plain defaults); ``dataclasses.replace(guard.policy, ...)`` also gives a complete policy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinyguardrail.codes import level
from tinyguardrail.labels import LABELS

ATTACK_LABELS: tuple[str, ...] = LABELS[1:]
UNCERTAIN_LABEL = "uncertain"


@dataclass(frozen=True)
class Decision:
    """What :meth:`Policy.decide` returns for one set of probabilities."""

    label: str  # one of LABELS or "uncertain"
    attack_type: int  # code bits 0-3: 0-3, or 15 for uncertain
    action: str  # allow / allow_and_log / human_review / block
    p_attack: float
    confidence: float
    severity_level: int


def _as_list(probs: Mapping[str, float] | Any) -> list[float]:
    """A probability vector as a list in ``LABELS`` order (from a mapping by label or a sequence)."""
    return [float(probs[name]) for name in LABELS] if isinstance(probs, Mapping) else [float(x) for x in probs]


@dataclass(frozen=True)
class Policy:
    """Thresholds and the mapping to actions. All probabilities are in [0, 1].

    Args:
        attack_threshold: call an attack when ``P(attack) = 1 - P(benign)`` reaches this (default 0.5).
        class_thresholds: per attack class override of ``attack_threshold``, keyed by label
            (``{"jailbreak": 0.6}``), applied when that class is the most probable attack class.
        uncertain_margin: width of the band just below the threshold that yields *uncertain* (code 15, human
            review) instead of benign; 0 turns the band off (default 0.1).
        log_threshold: benign verdicts with ``P(attack)`` at or above this are ``allow_and_log`` (default 0.2).
        log_on_detector: benign verdicts on which a pattern detector fired are ``allow_and_log`` (default True).
        review_below_confidence: attacks whose confidence (max probability) is below this get ``human_review``
            instead of ``block`` (default 0.0: always block).
        review_below_severity: attacks whose severity level (0-15) is below this get ``human_review`` instead of
            ``block`` (default 0: always block).
        detector_fire_threshold: a pattern-detector score at or above this counts as *fired* (default 0.5).
        min_view_confidence: decoded views whose decoder confidence is below this never decide (default 0.5).
        views_in_band: a decoded view may decide when its ``P(attack)`` reaches the uncertain band, not only the
            attack threshold (default False: a view must call an attack to decide).
    """

    attack_threshold: float = 0.5
    class_thresholds: Mapping[str, float] = field(default_factory=dict)
    uncertain_margin: float = 0.1
    log_threshold: float = 0.2
    log_on_detector: bool = True
    review_below_confidence: float = 0.0
    review_below_severity: int = 0
    detector_fire_threshold: float = 0.5
    min_view_confidence: float = 0.5
    views_in_band: bool = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Policy:
        # Record which fields the caller gave (``__new__`` sees the constructor's arguments), so that
        # :meth:`on_top_of` can tell "left at the default" from "set to a value equal to the default".
        self = super().__new__(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        object.__setattr__(self, "_given", frozenset(names[: len(args)]) | frozenset(kwargs))
        return self

    def __post_init__(self) -> None:
        for name in ("attack_threshold", "uncertain_margin", "log_threshold", "review_below_confidence",
                     "detector_fire_threshold", "min_view_confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"Policy.{name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.views_in_band, bool):
            raise ValueError(f"Policy.views_in_band must be true or false, got {self.views_in_band!r}")
        if self.attack_threshold <= 0.0:
            raise ValueError("Policy.attack_threshold must be > 0 (0 would call every text an attack)")
        if not isinstance(self.review_below_severity, int) or not 0 <= self.review_below_severity <= 16:
            raise ValueError(f"Policy.review_below_severity must be an int in 0..16, got {self.review_below_severity!r}")
        bad = set(self.class_thresholds) - set(ATTACK_LABELS)
        if bad:
            raise ValueError(f"Policy.class_thresholds: unknown labels {sorted(bad)} (valid: {list(ATTACK_LABELS)})")
        for name, value in self.class_thresholds.items():
            if not 0.0 < float(value) <= 1.0:
                raise ValueError(f"Policy.class_thresholds[{name!r}] must be in (0, 1], got {value!r}")
        # a plain dict inside a frozen dataclass would still be mutable: copy it
        object.__setattr__(self, "class_thresholds", dict(self.class_thresholds))

    @property
    def given_fields(self) -> frozenset[str]:
        """The fields passed to the constructor; the others hold the dataclass defaults."""
        return getattr(self, "_given", frozenset(f.name for f in dataclasses.fields(self)))

    def on_top_of(self, base: Policy) -> Policy:
        """``base`` with this policy's given fields (:attr:`given_fields`) replacing its own: what ``Guard.load``
        does with a caller's policy and the model's calibrated one. A field is replaced whole: a given
        ``class_thresholds`` replaces the model's mapping (extend it with ``{**guard.policy.class_thresholds, ...}``)."""
        return dataclasses.replace(base, **{name: getattr(self, name) for name in self.given_fields})

    def threshold(self, label: str) -> float:
        """The ``P(attack)`` threshold that applies when ``label`` is the most probable attack class."""
        return float(self.class_thresholds.get(label, self.attack_threshold))

    def decide(self, probs: Mapping[str, float] | Any, severity: float, detector_fired: bool = False) -> Decision:
        """Label, code attack type and action for one probability vector (mapping by label, or a sequence in
        ``LABELS`` order) and a severity in [0, 1]."""
        p = _as_list(probs)
        if len(p) != len(LABELS) or any(math.isnan(x) for x in p):
            raise ValueError(f"expected {len(LABELS)} probabilities, got {p!r}")
        p_attack, top, strength = self._strength(p)
        confidence = max(p)
        sev = level(severity)
        if strength == 2:
            label, attack_type = LABELS[top], top
            review = confidence < self.review_below_confidence or sev < self.review_below_severity
            action = "human_review" if review else "block"
        elif strength == 1:
            label, attack_type, action = UNCERTAIN_LABEL, 15, "human_review"
        else:
            label, attack_type = LABELS[0], 0
            noted = p_attack >= self.log_threshold or (self.log_on_detector and detector_fired)
            action = "allow_and_log" if noted else "allow"
        return Decision(label, attack_type, action, p_attack, confidence, sev)

    def _strength(self, p: list[float]) -> tuple[float, int, int]:
        """``P(attack)``, the most probable attack class and the decision's strength: 2 attack, 1 uncertain, 0 benign."""
        p_attack = 1.0 - p[0]
        top = max(range(1, len(LABELS)), key=lambda i: p[i])
        threshold = self.threshold(LABELS[top])
        if p_attack >= threshold:
            return p_attack, top, 2
        if self.uncertain_margin > 0 and p_attack >= threshold - self.uncertain_margin:
            return p_attack, top, 1
        return p_attack, top, 0

    def decision_level(self, probs: Any) -> int:
        """2 when these probabilities call an attack, 1 when they fall in the uncertain band, else 0: how strongly a
        reading decides (:meth:`decide`'s branches). Without per-class thresholds it grows with ``P(attack)``."""
        return self._strength(_as_list(probs))[2]

    def is_attack(self, probs: Any, band: bool = False) -> bool:
        """Whether these probabilities reach the attack threshold (used to decide if a decoded view is reliable);
        with ``band``, whether they reach the uncertain band below it."""
        return self.decision_level(probs) >= (1 if band else 2)

    def view_decides(self, probs: Any) -> bool:
        """Whether a decoded view with these probabilities may decide the verdict (``views_in_band``)."""
        return self.is_attack(probs, band=self.views_in_band)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        """Build the policy a model directory's ``config.json`` asks for (its ``policy`` and ``thresholds`` keys,
        both optional). Unknown keys raise ``ValueError``: a policy that silently drops a setting is worse than none."""
        kwargs: dict[str, Any] = {}
        policy = config.get("policy") or {}
        if not isinstance(policy, Mapping):
            raise ValueError("config.json 'policy' must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(policy) - known
        if unknown:
            raise ValueError(f"config.json 'policy' has unknown keys {sorted(unknown)} (valid: {sorted(known)})")
        kwargs.update(policy)
        thresholds = config.get("thresholds") or {}
        if not isinstance(thresholds, Mapping):
            raise ValueError("config.json 'thresholds' must be an object")
        per_class = dict(kwargs.get("class_thresholds", {}))
        for key, value in thresholds.items():
            if key == "attack":
                kwargs["attack_threshold"] = float(value)
            elif key in ATTACK_LABELS:
                per_class[key] = float(value)
            else:
                raise ValueError(f"config.json 'thresholds' has unknown key {key!r} (valid: 'attack', {list(ATTACK_LABELS)})")
        if per_class:
            kwargs["class_thresholds"] = per_class
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["class_thresholds"] = dict(self.class_thresholds)
        return out
