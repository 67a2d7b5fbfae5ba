"""The 16-bit response code of a verdict (SPEC section 2): encode, decode, nothing else.

Layout (bit 0 is the least significant bit)::

    bits 15-12   bits 11-8   bits 7-4     bits 3-0
    +----------+-----------+------------+-------------+
    |  action  |  severity | confidence | attack type |
    +----------+-----------+------------+-------------+

| bits  | field       | values                                                                          |
|-------|-------------|---------------------------------------------------------------------------------|
| 0-3   | attack type | 0 benign, 1 direct injection, 2 jailbreak, 3 obfuscation, 4-14 reserved,        |
|       |             | 15 uncertain (defer to a slower check)                                          |
| 4-7   | confidence  | round(max class probability x 15), rounding halves up: 0 (none) .. 15 (certain) |
| 8-11  | severity    | round(severity x 15), halves up: 0 (harmless) .. 15 (most severe)               |
| 12-15 | action      | 0 allow, 1 allow and log, 2 human review, 3 block, 4-15 reserved                |

``code & 0xF == 0`` means safe (benign). Every other attack type, *uncertain* included, is not safe.

Worked examples:

- ``0x00F0`` = 240: attack type 0 (benign), confidence 15, severity 0, action 0 (allow). Safe.
- ``0x3DE1`` = 15841: attack type 1 (direct injection), confidence 14 (max prob ~0.93), severity 13, action 3
  (block). ``15841 & 0xF == 1``: not safe.
- ``0x2878`` = 10360: attack type 8 is reserved, so :func:`decode` raises ``ValueError``.
- ``0x2A8F`` = 10895: attack type 15 (uncertain), confidence 8, severity 10, action 2 (human review).

The same table, with snippets for JavaScript, Go and C, is in ``docs/response-codes.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: attack-type field value -> name (4-14 are reserved).
ATTACK_TYPES: dict[int, str] = {
    0: "benign",
    1: "direct_injection",
    2: "jailbreak",
    3: "obfuscation",
    15: "uncertain",
}
#: action field value -> name (4-15 are reserved).
ACTIONS: dict[int, str] = {0: "allow", 1: "allow_and_log", 2: "human_review", 3: "block"}

UNCERTAIN = 15
_ATTACK_IDS = {name: value for value, name in ATTACK_TYPES.items()}
_ACTION_IDS = {name: value for value, name in ACTIONS.items()}


def level(p: float) -> int:
    """Map a value in [0, 1] to the 0-15 scale: ``round(p * 15)`` with halves rounded up (as JavaScript's
    ``Math.round``), so every language computes the same level. Values outside [0, 1] are clipped; NaN -> ValueError."""
    p = float(p)
    if p != p:  # NaN
        raise ValueError("level() got NaN")
    p = min(1.0, max(0.0, p))
    return int(p * 15 + 0.5)


def _field(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value <= 15:
        raise ValueError(f"{name} must be in 0..15, got {value}")
    return value


@dataclass(frozen=True)
class ResponseCode:
    """A decoded response code. All fields are 4-bit integers; construction validates them.

    Args:
        attack_type: 0 benign, 1 direct injection, 2 jailbreak, 3 obfuscation, 15 uncertain.
        confidence: 0-15, ``round(max probability x 15)``.
        severity: 0-15.
        action: 0 allow, 1 allow and log, 2 human review, 3 block.
    """

    attack_type: int
    confidence: int
    severity: int
    action: int

    def __post_init__(self) -> None:
        _field(self.attack_type, "attack_type")
        _field(self.confidence, "confidence")
        _field(self.severity, "severity")
        _field(self.action, "action")
        if self.attack_type not in ATTACK_TYPES:
            raise ValueError(f"attack_type {self.attack_type} is reserved (valid: {sorted(ATTACK_TYPES)})")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action} is reserved (valid: {sorted(ACTIONS)})")

    @property
    def label(self) -> str:
        """Name of the attack type: ``benign``, ``direct_injection``, ``jailbreak``, ``obfuscation``, ``uncertain``."""
        return ATTACK_TYPES[self.attack_type]

    @property
    def action_name(self) -> str:
        """Name of the action: ``allow``, ``allow_and_log``, ``human_review``, ``block``."""
        return ACTIONS[self.action]

    @property
    def is_safe(self) -> bool:
        return self.attack_type == 0

    def to_int(self) -> int:
        return self.attack_type | (self.confidence << 4) | (self.severity << 8) | (self.action << 12)

    def __int__(self) -> int:
        return self.to_int()


def encode(attack_type: int | str, confidence: int, severity: int, action: int | str) -> int:
    """Pack the four fields into the 16-bit integer.

    ``attack_type`` and ``action`` may be given by value or by name (``"jailbreak"``, ``"block"``);
    ``confidence`` and ``severity`` are 0-15 levels (use :func:`level` to convert a probability).

    >>> hex(encode("direct_injection", 14, 13, "block"))
    '0x3de1'
    """
    if isinstance(attack_type, str):
        if attack_type not in _ATTACK_IDS:
            raise ValueError(f"unknown attack type {attack_type!r} (valid: {sorted(_ATTACK_IDS)})")
        attack_type = _ATTACK_IDS[attack_type]
    if isinstance(action, str):
        if action not in _ACTION_IDS:
            raise ValueError(f"unknown action {action!r} (valid: {sorted(_ACTION_IDS)})")
        action = _ACTION_IDS[action]
    return ResponseCode(attack_type, confidence, severity, action).to_int()


def decode(code: int) -> ResponseCode:
    """Unpack a 16-bit response code. Raises ``ValueError`` for integers outside 0..65535 and for reserved
    attack-type or action values, ``TypeError`` for non-integers.

    >>> decode(0x3DE1)
    ResponseCode(attack_type=1, confidence=14, severity=13, action=3)
    """
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"a response code is an int, got {type(code).__name__}")
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"a response code is a 16-bit unsigned integer, got {code}")
    return ResponseCode(code & 0xF, (code >> 4) & 0xF, (code >> 8) & 0xF, (code >> 12) & 0xF)


def is_safe(code: int) -> bool:
    """``code & 0xF == 0``: True for benign verdicts (uncertain and every attack type are not safe)."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"a response code is an int, got {type(code).__name__}")
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"a response code is a 16-bit unsigned integer, got {code}")
    return code & 0xF == 0


def format_code(code: int) -> str:
    """``0x3DE1 (0011 1101 1110 0001)``: hex and the four 4-bit fields in binary, most significant first."""
    bits = f"{code:016b}"
    return f"0x{code:04X} ({' '.join(bits[i:i + 4] for i in range(0, 16, 4))})"
